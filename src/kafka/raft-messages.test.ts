import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { RaftRequest } from "../../spec/raft/messages.ts";
import { METADATA_PARTITION, METADATA_TOPIC_ID, METADATA_TOPIC_NAME } from "../../spec/raft/primitives.ts";
import { decodeMessage, encodeMessage, type MessageCodec } from "./codec.ts";
import {
  BeginQuorumEpochRequest,
  FetchRequest,
  FetchResponse as FetchResponseCodec,
  UpdateRaftVoterResponse,
  VoteRequest as VoteRequestCodec,
} from "./generated/messages.ts";
import { encodeLogBatch } from "./metadata-records.ts";
import {
  decodeRaftResponse,
  kafkaRequest,
  kafkaResponse,
  raftResponseFrame,
  requestLeaderEndpoints,
  specRequest,
  specResponse,
  updateVoterResponseFrame,
  type WireRaftResponse,
} from "./raft-messages.ts";
import { readRecordBatches } from "./records.ts";
import { KafkaDecodeError } from "./wire.ts";

const DIR = "AAAAAAAAAAAAAAAAAAAABw";
const CLUSTER = "b1ackb0xC1usterIdAAAAA";

/** Through Kafka's bytes at a version and back. */
const viaBytes = (codec: MessageCodec<unknown>, data: unknown, version: number) =>
  decodeMessage(codec, encodeMessage(codec, data, version), version);

const requests: RaftRequest[] = [
  {
    _tag: "VoteRequest",
    clusterId: CLUSTER,
    voterId: 2,
    topicName: METADATA_TOPIC_NAME,
    partitionIndex: METADATA_PARTITION,
    replicaEpoch: 5,
    replicaId: 1,
    replicaDirectoryId: DIR,
    lastOffsetEpoch: 4,
    lastOffset: 120,
    preVote: true,
  },
  {
    _tag: "BeginQuorumEpochRequest",
    clusterId: null,
    voterId: 3,
    topicName: METADATA_TOPIC_NAME,
    partitionIndex: METADATA_PARTITION,
    leaderId: 1,
    leaderEpoch: 6,
  },
  {
    _tag: "EndQuorumEpochRequest",
    clusterId: CLUSTER,
    topicName: METADATA_TOPIC_NAME,
    partitionIndex: METADATA_PARTITION,
    leaderId: 1,
    leaderEpoch: 6,
    preferredCandidates: [{ id: 3 }, { id: 2, directoryId: DIR }],
  },
  {
    _tag: "FetchRequest",
    clusterId: CLUSTER,
    replicaId: 4,
    maxWaitMs: 500,
    topicId: METADATA_TOPIC_ID,
    partition: METADATA_PARTITION,
    currentLeaderEpoch: 6,
    fetchOffset: 300,
    lastFetchedEpoch: 6,
    highWatermark: 299,
  },
  {
    _tag: "FetchRequest",
    clusterId: null,
    replicaId: 2,
    replicaDirectoryId: DIR,
    maxWaitMs: 0,
    topicId: METADATA_TOPIC_ID,
    partition: METADATA_PARTITION,
    currentLeaderEpoch: 1,
    fetchOffset: 0,
    lastFetchedEpoch: -1,
  },
  {
    _tag: "UpdateRaftVoterRequest",
    clusterId: CLUSTER,
    currentLeaderEpoch: 7,
    voterId: 2,
    voterDirectoryId: DIR,
    listeners: [{ name: "CONTROLLER", host: "h2", port: 9193 }],
    kraftVersionFeature: { minSupportedVersion: 0, maxSupportedVersion: 1 },
  },
];

describe("the KRaft RPCs as Kafka's messages", () => {
  it("every request survives Kafka's bytes at the highest version, and a Fetch at v17 (no KIP-1166)", () => {
    for (const request of requests) {
      const { codec, data } = kafkaRequest(request);
      expect(specRequest(codec.apiKey, viaBytes(codec, data, codec.highestVersion))).toEqual(request);
    }
    const fetch = requests[3]!;
    const { codec, data } = kafkaRequest(fetch);
    const { highWatermark: _dropped, ...withoutHighWatermark } = fetch as Extract<
      RaftRequest,
      { _tag: "FetchRequest" }
    >;
    expect(specRequest(codec.apiKey, viaBytes(codec, data, 17))).toEqual(withoutHighWatermark);
  });

  it("Vote requests with any epochs and offsets survive the round trip (v2)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        fc.integer({ min: -1, max: 2 ** 31 - 1 }),
        fc.maxSafeNat(),
        fc.boolean(),
        (replicaEpoch, lastOffsetEpoch, lastOffset, preVote) => {
          const vote = {
            ...(requests[0] as Extract<RaftRequest, { _tag: "VoteRequest" }>),
            replicaEpoch,
            lastOffsetEpoch,
            lastOffset,
            preVote,
          };
          const { codec, data } = kafkaRequest(vote);
          expect(specRequest(codec.apiKey, viaBytes(codec, data, 2))).toEqual(vote);
        },
      ),
    );
  });

  it("responses survive Kafka's bytes; a Fetch response's records are Kafka record batches", () => {
    const answering = {
      topicName: METADATA_TOPIC_NAME,
      topicId: METADATA_TOPIC_ID,
      partitionIndex: METADATA_PARTITION,
    };
    const records = encodeLogBatch(
      7,
      [
        { epoch: 6, control: null, record: { _tag: "NoOpRecord" } },
        { epoch: 6, control: null, record: { _tag: "NoOpRecord" } },
      ],
      1_700_000_000_000,
    );
    const batches = (bytes: Uint8Array) =>
      readRecordBatches(bytes).batches.map((b) => ({
        baseOffset: Number(b.baseOffset),
        epoch: b.partitionLeaderEpoch,
        count: b.records.length,
      }));
    const responses: WireRaftResponse[] = [
      { _tag: "VoteResponse", errorCode: "NONE", leaderId: -1, leaderEpoch: 5, voteGranted: true },
      { _tag: "BeginQuorumEpochResponse", errorCode: "FENCED_LEADER_EPOCH", leaderId: 2, leaderEpoch: 7 },
      { _tag: "EndQuorumEpochResponse", errorCode: "INVALID_VOTER_KEY", leaderId: 1, leaderEpoch: 6 },
      {
        _tag: "FetchResponse",
        errorCode: "NONE",
        highWatermark: 7,
        logStartOffset: 0,
        leaderId: 1,
        leaderEpoch: 6,
        records: [{ baseOffset: 7, epoch: 6, count: 2 }],
      },
      {
        _tag: "FetchResponse",
        errorCode: "NONE",
        highWatermark: 3,
        logStartOffset: 0,
        divergingEpoch: { epoch: 4, endOffset: 5 },
        leaderId: 1,
        leaderEpoch: 6,
        records: [],
      },
    ];
    for (const response of responses) {
      const bytes = response._tag === "FetchResponse" && response.records.length > 0 ? records : null;
      const { codec, data } = kafkaResponse(response, answering, bytes);
      const back = specResponse(codec.apiKey, viaBytes(codec, data, codec.highestVersion), batches);
      expect(back.response).toEqual(response);
      expect(back.records === null ? null : Buffer.from(back.records)).toEqual(
        bytes === null ? null : Buffer.from(bytes),
      );
    }
  });

  it("an UpdateRaftVoter answer names the leader, with its listener when the node knows it (R99)", () => {
    const response = { errorCode: "NONE" as const, leaderId: 1, leaderEpoch: 7 };
    // Response header v1 (flexible versions): the correlation id and an empty tagged-field count.
    const read = (frame: Uint8Array) => decodeMessage(UpdateRaftVoterResponse, frame.subarray(4 + 1), 0);
    const known = read(updateVoterResponseFrame(0, 9, response, { nodeId: 1, host: "h1", port: 9191 }));
    expect(known).toEqual({
      throttleTimeMs: 0,
      errorCode: 0,
      currentLeader: { leaderId: 1, leaderEpoch: 7, host: "h1", port: 9191 },
    });
    const unknown = read(updateVoterResponseFrame(0, 9, { ...response, errorCode: "VOTER_NOT_FOUND" }, null));
    expect(unknown.errorCode).toBe(127);
    expect(unknown.currentLeader).toEqual({ leaderId: 1, leaderEpoch: 7, host: "", port: -1 });
  });

  it("refuses what KRaft never sends, with a decode error", () => {
    const vote = kafkaRequest(requests[0]!).data as { topics: unknown[] };
    expect(() => specRequest(VoteRequestCodec.apiKey, { ...vote, topics: [] })).toThrow(
      new KafkaDecodeError("a KRaft message has 0 topics, not 1"),
    );
    const fetch = kafkaResponse(
      {
        _tag: "FetchResponse",
        errorCode: "NONE",
        highWatermark: 1,
        logStartOffset: 0,
        leaderId: 1,
        leaderEpoch: 1,
        records: [],
      },
      { topicName: METADATA_TOPIC_NAME, topicId: METADATA_TOPIC_ID, partitionIndex: 0 },
    ).data as { errorCode: number };
    expect(() => specResponse(FetchResponseCodec.apiKey, { ...fetch, errorCode: 29 }, () => [])).toThrow(
      /error code 29 \(error 29\) is not one KRaft answers/,
    );
    expect(() => specRequest(3, {})).toThrow(new KafkaDecodeError("API key 3 is not a KRaft request"));
  });
});

describe("KIP-853's endpoints on the wire (R41, R90)", () => {
  const answering = { topicName: METADATA_TOPIC_NAME, topicId: METADATA_TOPIC_ID, partitionIndex: 0 };
  const fetchAnswer = {
    _tag: "FetchResponse" as const,
    errorCode: "NONE" as const,
    highWatermark: 3,
    logStartOffset: 0,
    leaderId: 2,
    leaderEpoch: 4,
    records: [],
  };
  const leader = { nodeId: 2, host: "10.0.0.2", port: 9093 };

  it("a leader's BeginQuorumEpoch names its listeners, which the receiver reads back", () => {
    const begin: RaftRequest = {
      _tag: "BeginQuorumEpochRequest",
      clusterId: "c",
      voterId: 1,
      topicName: METADATA_TOPIC_NAME,
      partitionIndex: 0,
      leaderId: 2,
      leaderEpoch: 4,
    };
    const listeners = [{ name: "CONTROLLER", host: "10.0.0.2", port: 9093 }];
    const { data } = kafkaRequest(begin, listeners);
    const bytes = encodeMessage(BeginQuorumEpochRequest, data as never, 1);
    const read = decodeMessage(BeginQuorumEpochRequest, bytes, 1);
    expect(requestLeaderEndpoints(BeginQuorumEpochRequest.apiKey, read)).toEqual({
      id: 2,
      endpoints: listeners,
    });
    expect(
      requestLeaderEndpoints(
        BeginQuorumEpochRequest.apiKey,
        decodeMessage(
          BeginQuorumEpochRequest,
          encodeMessage(BeginQuorumEpochRequest, kafkaRequest(begin).data as never, 1),
          1,
        ),
      ),
    ).toBeUndefined();
  });

  it("an answer names where its leader listens from the versions that carry NodeEndpoints (Fetch v16)", () => {
    const v17 = raftResponseFrame(FetchRequest.apiKey, 17, 5, fetchAnswer, answering, null, leader);
    expect(decodeRaftResponse(v17, FetchRequest.apiKey, 17).nodeEndpoints).toEqual([leader]);
    // Fetch v15 has no NodeEndpoints: the answer is sent without them rather than refused.
    const v15 = raftResponseFrame(FetchRequest.apiKey, 15, 5, fetchAnswer, answering, null, leader);
    expect(decodeRaftResponse(v15, FetchRequest.apiKey, 15).nodeEndpoints).toEqual([]);
  });
});
