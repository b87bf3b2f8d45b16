import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { NodeResponse } from "../../spec/node/node.ts";
import { decodeMessage, encodeMessage, type MessageCodec } from "./codec.ts";
import {
  ALTER_PARTITION,
  BROKER_HEARTBEAT,
  BROKER_REGISTRATION,
  type BrokerRequest,
  type BrokerResponse,
  brokerResponseCodec,
  kafkaBrokerRequest,
  kafkaBrokerResponse,
  nodeClientId,
  nodeOfClientId,
  specBrokerRequest,
  specBrokerResponse,
} from "./controller-channel.ts";

const int32 = fc.integer({ min: -1, max: 0x7fffffff });
const int64 = fc.integer({ min: -1, max: Number.MAX_SAFE_INTEGER });
const uuid = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => Buffer.from(b).toString("base64url"));
const name = fc.string({ maxLength: 12 });
const errorCode = fc.constantFrom("NONE", "NOT_CONTROLLER", "STALE_BROKER_EPOCH", "INVALID_REQUEST");

const brokerRequest: fc.Arbitrary<BrokerRequest> = fc.oneof(
  fc.record({
    _tag: fc.constant("BrokerRegistrationRequest" as const),
    brokerId: int32,
    clusterId: name,
    incarnationId: uuid,
    listeners: fc.array(
      fc.record({
        name,
        host: name,
        port: fc.integer({ min: 0, max: 65535 }),
        securityProtocol: fc.integer({ min: 0, max: 3 }),
      }),
      { maxLength: 3 },
    ),
    features: fc.array(
      fc.record({
        name,
        minSupportedVersion: fc.integer({ min: 0, max: 30 }),
        maxSupportedVersion: fc.integer({ min: 0, max: 30 }),
      }),
      { maxLength: 3 },
    ),
    rack: fc.option(name, { nil: null }),
    previousBrokerEpoch: int64,
  }),
  fc.record({
    _tag: fc.constant("BrokerHeartbeatRequest" as const),
    brokerId: int32,
    brokerEpoch: int64,
    currentMetadataOffset: int64,
    wantFence: fc.boolean(),
    wantShutDown: fc.boolean(),
  }),
  fc.record({
    _tag: fc.constant("AlterPartitionRequest" as const),
    brokerId: int32,
    brokerEpoch: int64,
    topics: fc.array(
      fc.record({
        topicId: uuid,
        partitions: fc.array(
          fc.record({
            partitionIndex: int32,
            leaderEpoch: int32,
            newIsrWithEpochs: fc.array(fc.record({ brokerId: int32, brokerEpoch: int64 }), { maxLength: 3 }),
            leaderRecoveryState: fc.integer({ min: 0, max: 1 }),
            partitionEpoch: int32,
          }),
          { maxLength: 3 },
        ),
      }),
      { maxLength: 2 },
    ),
  }),
);

const brokerResponse: fc.Arbitrary<BrokerResponse> = fc.oneof(
  fc.record({ _tag: fc.constant("BrokerRegistrationResponse" as const), errorCode, brokerEpoch: int64 }),
  fc.record({
    _tag: fc.constant("BrokerHeartbeatResponse" as const),
    errorCode,
    isCaughtUp: fc.boolean(),
    isFenced: fc.boolean(),
    shouldShutDown: fc.boolean(),
  }),
  fc.record({
    _tag: fc.constant("AlterPartitionResponse" as const),
    errorCode,
    topics: fc.array(
      fc.record({
        topicId: uuid,
        partitions: fc.array(
          fc.record({
            partitionIndex: int32,
            errorCode,
            leaderId: int32,
            leaderEpoch: int32,
            isr: fc.array(int32, { maxLength: 3 }),
            leaderRecoveryState: fc.integer({ min: 0, max: 1 }),
            partitionEpoch: int32,
          }),
          { maxLength: 3 },
        ),
      }),
      { maxLength: 2 },
    ),
  }),
);

const API_OF: Record<BrokerResponse["_tag"], number> = {
  BrokerRegistrationResponse: BROKER_REGISTRATION,
  BrokerHeartbeatResponse: BROKER_HEARTBEAT,
  AlterPartitionResponse: ALTER_PARTITION,
};

describe("a broker's requests to the controller in Kafka's form", () => {
  it("property: a request through Kafka's bytes, at the version sent, is the request", () => {
    fc.assert(
      fc.property(brokerRequest, (request) => {
        const { codec, data } = kafkaBrokerRequest(request);
        const version = codec.highestVersion;
        const bytes = encodeMessage(codec, data, version);
        expect(specBrokerRequest(codec.apiKey, decodeMessage(codec, bytes, version), version)).toEqual(
          request,
        );
      }),
      { numRuns: 1000 },
    );
  });

  it("property: an answer through Kafka's bytes, at every version, is the answer", () => {
    fc.assert(
      fc.property(brokerResponse, (response) => {
        const apiKey = API_OF[response._tag];
        const codec = brokerResponseCodec(apiKey) as MessageCodec<unknown>;
        const data = kafkaBrokerResponse(apiKey, response as NodeResponse);
        for (let version = codec.lowestVersion; version <= codec.highestVersion; version++)
          expect(
            specBrokerResponse(apiKey, decodeMessage(codec, encodeMessage(codec, data, version), version)),
          ).toEqual(response);
      }),
      { numRuns: 500 },
    );
  });

  it("AlterPartition before v3 carries ISR ids alone: read with unchecked broker epochs (-1)", () => {
    const { codec, data } = kafkaBrokerRequest({
      _tag: "AlterPartitionRequest",
      brokerId: 1,
      brokerEpoch: 5,
      topics: [],
    });
    const v2 = {
      ...(data as object),
      topics: [
        {
          topicId: "AAAAAAAAAAAAAAAAAAAAAg",
          partitions: [
            {
              partitionIndex: 0,
              leaderEpoch: 3,
              newIsr: [1, 2],
              newIsrWithEpochs: [],
              leaderRecoveryState: 0,
              partitionEpoch: 7,
            },
          ],
        },
      ],
    };
    const read = specBrokerRequest(ALTER_PARTITION, decodeMessage(codec, encodeMessage(codec, v2, 2), 2), 2);
    expect(read).toEqual({
      _tag: "AlterPartitionRequest",
      brokerId: 1,
      brokerEpoch: 5,
      topics: [
        {
          topicId: "AAAAAAAAAAAAAAAAAAAAAg",
          partitions: [
            {
              partitionIndex: 0,
              leaderEpoch: 3,
              newIsrWithEpochs: [
                { brokerId: 1, brokerEpoch: -1 },
                { brokerId: 2, brokerEpoch: -1 },
              ],
              leaderRecoveryState: 0,
              partitionEpoch: 7,
            },
          ],
        },
      ],
    });
  });

  it("an error code the controller never answers is a decode error, naming it", () => {
    const codec = brokerResponseCodec(BROKER_HEARTBEAT);
    const data = { ...(codec.defaults() as object), errorCode: 1 };
    expect(() => specBrokerResponse(BROKER_HEARTBEAT, data)).toThrow(
      "error code 1 (error 1) is not one the controller answers",
    );
  });

  it("the node an Envelope comes from is named by its client id", () => {
    expect(nodeOfClientId(nodeClientId(7))).toBe(7);
    expect(nodeOfClientId(nodeClientId(0x7fffffff))).toBe(0x7fffffff);
    for (const other of [
      null,
      "kcat",
      "kraft-node-",
      "kraft-node--1",
      "kraft-node-4294967296",
      "kraft-node-7x",
    ])
      expect(nodeOfClientId(other)).toBeNull();
  });
});
