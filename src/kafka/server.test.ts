import { describe, expect, it } from "vitest";
import { type MetadataImage, withTopics } from "../../spec/metadata/image.ts";
import type { VoteRequest as VoteRequestOfSpec } from "../../spec/raft/messages.ts";
import { decodeMessage, encodeMessage, type MessageCodec } from "./codec.ts";
import {
  brokerResponseCodec,
  envelopeRequest,
  kafkaBrokerRequest,
  nodeClientId,
  relayedAnswer,
  relayedBytes,
  specBrokerResponse,
} from "./controller-channel.ts";
import { KafkaError } from "./errors.ts";
import { readResponseFrame, requestFrame } from "./frames.ts";
import {
  AlterConfigsRequest,
  ApiVersionsRequest,
  ApiVersionsResponse,
  CreatePartitionsRequest,
  CreateTopicsRequest,
  CreateTopicsResponse,
  DeleteTopicsRequest,
  DeleteTopicsResponse,
  DescribeClusterRequest,
  DescribeClusterResponse,
  DescribeConfigsRequest,
  DescribeConfigsResponse,
  DescribeQuorumRequest,
  DescribeQuorumResponse,
  ElectLeadersRequest,
  ElectLeadersResponse,
  EnvelopeRequest,
  EnvelopeResponse,
  IncrementalAlterConfigsRequest,
  IncrementalAlterConfigsResponse,
  MetadataRequest,
  MetadataResponse,
  RequestHeader,
  ResponseHeader,
  VoteRequest,
  type VoteRequestData,
} from "./generated/messages.ts";
import { decodeRaftResponse, encodeRaftRequest, kafkaRequest, raftRequestSender } from "./raft-messages.ts";
import { handleKafkaRequest, type KafkaServerContext } from "./server.ts";
import { Reader } from "./wire.ts";

const TOPIC_ID = "My3je8VlLG3ShQKtBtLaYg";
const plainImage = {
  offset: 40n,
  epoch: 1,
  features: [],
  brokers: [4, 5, 6].map((id) => ({
    id,
    incarnationId: "Wtx4FqWiQmKa3mD5DS3b7A",
    epoch: BigInt(id),
    endPoints: [
      { name: "PLAINTEXT", host: "127.0.0.1", port: 19090 + id, securityProtocol: 0 },
      { name: "INTERNAL", host: `n${id}.internal`, port: 29090 + id, securityProtocol: 0 },
    ],
    features: [],
    rack: id === 6 ? "rack-b" : null,
    fenced: id === 5,
    inControlledShutdown: false,
  })),
  topics: [
    {
      name: "orders",
      topicId: TOPIC_ID,
      partitions: [
        { partitionId: 0, replicas: [4, 5], isr: [4], leader: 4, leaderEpoch: 1 },
        { partitionId: 1, replicas: [5], isr: [5], leader: -1, leaderEpoch: 2 },
      ].map((p) => ({
        ...p,
        removingReplicas: [],
        addingReplicas: [],
        leaderRecoveryState: 0,
        partitionEpoch: 3,
      })),
    },
  ],
  configs: [],
  nextProducerId: 0n,
};
const image = withTopics(plainImage as unknown as MetadataImage, plainImage.topics);

const context: KafkaServerContext = {
  clusterId: "GEvbuDUdvZm5QFSxvWEm3A",
  listenerName: "PLAINTEXT",
  controllerListener: false,
  image,
  voters: [1, 2, 3].map((id) => ({ id, host: "127.0.0.1", port: 19090 + id })),
  controllerListenerName: "CONTROLLER",
  leaderId: 2,
  kraftVersion: 0,
};

interface ReplicaAnswer {
  readonly replicaId: number;
  readonly logEndOffset: number;
  readonly lastFetchTimestamp: number;
  readonly lastCaughtUpTimestamp: number;
}

/** The spec's answer to DescribeQuorum, as the controller hands it to the Kafka layer. */
const quorumAnswer = (
  leaderId: number,
  leaderEpoch: number,
  highWatermark: number,
  currentVoters: readonly ReplicaAnswer[],
  observers: readonly ReplicaAnswer[],
) =>
  ({
    _tag: "AdminResponse",
    errorCode: "NONE",
    errorMessage: null,
    body: {
      _tag: "DescribeQuorumResponse",
      errorCode: "NONE",
      leaderId,
      leaderEpoch,
      highWatermark,
      currentVoters,
      observers,
    },
  }) as const;

/** A request frame body as a client writes it: the header, then the message. */
const request = <T>(
  codec: MessageCodec<T>,
  apiKey: number,
  version: number,
  value: T,
  headerVersion: number,
) => {
  const header = encodeMessage(
    RequestHeader,
    { requestApiKey: apiKey, requestApiVersion: version, correlationId: 42, clientId: "test" },
    headerVersion,
  );
  const body = version > codec.highestVersion ? new Uint8Array(0) : encodeMessage(codec, value, version);
  return new Uint8Array([...header, ...body]);
};

/** The answer's correlation id and message, as a client reads them. */
const answer = <T>(codec: MessageCodec<T>, body: Uint8Array, version: number, headerVersion: number) => {
  const r = new Reader(body);
  const header = ResponseHeader.read(r, headerVersion);
  return {
    correlationId: header.correlationId,
    message: decodeMessage(codec, body.subarray(r.offset), version),
  };
};

describe("Kafka's protocol on a node's listeners", () => {
  it("ApiVersions, every version: header v0, the APIs this listener serves and nothing else", () => {
    for (let version = 0; version <= ApiVersionsRequest.highestVersion; version++) {
      const outcome = handleKafkaRequest(
        request(
          ApiVersionsRequest,
          18,
          version,
          { ...ApiVersionsRequest.defaults(), clientSoftwareName: "kcat" },
          version >= 3 ? 2 : 1,
        ),
        context,
      );
      if (outcome._tag !== "Answer") throw new Error(`not answered: ${outcome._tag}`);
      const { correlationId, message } = answer(ApiVersionsResponse, outcome.body, version, 0);
      expect(correlationId).toBe(42);
      expect(message.errorCode).toBe(KafkaError.NONE);
      expect(message.apiKeys).toEqual(
        [
          ApiVersionsRequest,
          MetadataRequest,
          DescribeClusterRequest,
          DescribeQuorumRequest,
          CreateTopicsRequest,
          DeleteTopicsRequest,
          CreatePartitionsRequest,
          DescribeConfigsRequest,
          IncrementalAlterConfigsRequest,
          AlterConfigsRequest,
          ElectLeadersRequest,
        ].map((c) => ({
          apiKey: c.apiKey,
          minVersion: c.lowestVersion,
          maxVersion: c.highestVersion,
        })),
      );
    }
    const controller = handleKafkaRequest(
      request(ApiVersionsRequest, 18, 3, ApiVersionsRequest.defaults(), 2),
      {
        ...context,
        controllerListener: true,
      },
    );
    if (controller._tag !== "Answer") throw new Error(`not answered: ${controller._tag}`);
    expect(answer(ApiVersionsResponse, controller.body, 3, 0).message.apiKeys.map((a) => a.apiKey)).toEqual([
      // What Kafka's controller listeners serve: no Metadata; the admin APIs, passed to the active
      // controller (R148); KRaft's own RPCs (Vote, BeginQuorumEpoch, EndQuorumEpoch, Fetch,
      // FetchSnapshot, and KIP-853's AddRaftVoter, RemoveRaftVoter and UpdateRaftVoter); a broker's requests
      // (BrokerRegistration, BrokerHeartbeat, AlterPartition) and Envelope.
      18, 60, 55, 19, 20, 37, 32, 44, 33, 43, 52, 53, 54, 1, 59, 80, 81, 82, 62, 63, 56, 58,
    ]);
  });

  it("ApiVersions v3+: supported features (kraft.version from v4 on, since its lowest is 0), and the Raft layer's kraft.version and the image's features finalized under its offset", () => {
    const withFeatures = {
      ...context,
      image: {
        ...image,
        features: [
          { name: "metadata.version", level: 21 },
          { name: "group.version", level: 0 },
        ],
      },
    };
    const features = (version: number, ctx: KafkaServerContext) => {
      const outcome = handleKafkaRequest(
        request(ApiVersionsRequest, 18, version, ApiVersionsRequest.defaults(), version >= 3 ? 2 : 1),
        ctx,
      );
      if (outcome._tag !== "Answer") throw new Error(`not answered: ${outcome._tag}`);
      const { message } = answer(ApiVersionsResponse, outcome.body, version, 0);
      return [message.supportedFeatures, message.finalizedFeaturesEpoch, message.finalizedFeatures];
    };
    const metadataVersion = { name: "metadata.version", minVersion: 7, maxVersion: 21 };
    const finalized = [{ name: "metadata.version", maxVersionLevel: 21, minVersionLevel: 21 }];
    expect(features(2, withFeatures)).toEqual([[], -1n, []]);
    expect(features(3, withFeatures)).toEqual([[metadataVersion], 40n, finalized]);
    expect(features(4, withFeatures)).toEqual([
      [{ name: "kraft.version", minVersion: 0, maxVersion: 1 }, metadataVersion],
      40n,
      finalized,
    ]);
    // A node without an image yet (a controller that has not caught up) finalizes nothing.
    expect(features(4, { ...context, image: null })[1]).toBe(-1n);
    // A dynamic quorum's nodes run kraft.version 1 (KIP-853), finalized beside the image's features.
    expect(features(4, { ...withFeatures, kraftVersion: 1 })[2]).toEqual([
      { name: "kraft.version", maxVersionLevel: 1, minVersionLevel: 1 },
      ...finalized,
    ]);
  });

  it("KRaft's RPCs between nodes: a request in Kafka's bytes reaches the Raft layer, its answer goes back as Kafka's", () => {
    const vote: VoteRequestOfSpec = {
      _tag: "VoteRequest",
      clusterId: "c",
      voterId: 2,
      topicName: "__cluster_metadata",
      partitionIndex: 0,
      replicaEpoch: 4,
      replicaId: 1,
      lastOffsetEpoch: 3,
      lastOffset: 17,
      preVote: true,
    };
    const sent = encodeRaftRequest(vote, 77, "raft-client-1");
    expect([sent.apiKey, sent.version]).toEqual([52, 2]);
    // Only a controller listener takes it; a broker listener closes, as for any API it does not serve.
    expect(handleKafkaRequest(sent.body, context)._tag).toBe("Close");
    const outcome = handleKafkaRequest(sent.body, { ...context, controllerListener: true });
    if (outcome._tag !== "Raft") throw new Error(`not for the Raft layer: ${outcome._tag}`);
    expect(outcome.request).toEqual(vote);
    expect(outcome.correlationId).toBe(77);
    expect(raftRequestSender(outcome.request)).toBe(1);
    const granted = {
      _tag: "VoteResponse",
      errorCode: "NONE",
      leaderId: -1,
      leaderEpoch: 4,
      voteGranted: true,
    } as const;
    const body = outcome.respond(granted, null);
    expect(new DataView(body.buffer, body.byteOffset).getInt32(0)).toBe(77);
    expect(decodeRaftResponse(body, sent.apiKey, sent.version)).toEqual({
      response: granted,
      fetched: null,
      fetchedBatches: [],
      snapshotBytes: null,
      nodeEndpoints: [],
    });
    // A shape KRaft never sends (two partitions) closes the connection, naming why.
    const data = kafkaRequest(vote).data as VoteRequestData;
    const topic = data.topics[0]!;
    const twoPartitions = {
      ...data,
      topics: [{ ...topic, partitions: [topic.partitions[0]!, topic.partitions[0]!] }],
    };
    expect(
      handleKafkaRequest(request(VoteRequest, 52, 2, twoPartitions, 2), {
        ...context,
        controllerListener: true,
      }),
    ).toEqual({ _tag: "Close", reason: "VoteRequest v2: a KRaft message has 2 partitions, not 1" });
  });

  it("a broker's own requests on a controller listener: for the controller, speaking for the broker they name", () => {
    const controllerContext = { ...context, controllerListener: true };
    const heartbeat = {
      _tag: "BrokerHeartbeatRequest",
      brokerId: 4,
      brokerEpoch: 12,
      currentMetadataOffset: 30,
      wantFence: false,
      wantShutDown: true,
    } as const;
    const { codec, data } = kafkaBrokerRequest(heartbeat);
    const sent = requestFrame(codec, data, 5, nodeClientId(4));
    expect([sent.apiKey, sent.version]).toEqual([63, 2]);
    expect(handleKafkaRequest(sent.body, context)._tag).toBe("Close");
    const outcome = handleKafkaRequest(sent.body, controllerContext);
    if (outcome._tag !== "Forward") throw new Error(`not for the controller: ${outcome._tag}`);
    expect(outcome.request).toEqual(heartbeat);
    expect(outcome.sender).toBe(4);
    const answered = {
      _tag: "BrokerHeartbeatResponse",
      errorCode: "NONE",
      isCaughtUp: true,
      isFenced: false,
      shouldShutDown: true,
    } as const;
    const read = (body: Uint8Array) =>
      specBrokerResponse(63, readResponseFrame(brokerResponseCodec(63), body, sent.version));
    expect(read(outcome.respond(answered))).toEqual(answered);
    // The node's own refusal (no active controller known) carries its code in the answer's.
    expect(
      read(
        outcome.respond({
          _tag: "AdminResponse",
          errorCode: "NOT_CONTROLLER",
          errorMessage: "no",
          body: null,
        }),
      ),
    ).toEqual({
      ...answered,
      errorCode: "NOT_CONTROLLER",
      isCaughtUp: false,
      isFenced: true,
      shouldShutDown: false,
    });
  });

  it("Envelope: a client's request a node passed on is served for that node, its answer the client's bytes inside", () => {
    const controllerContext = { ...context, controllerListener: true };
    const asked = {
      ...CreateTopicsRequest.defaults(),
      topics: [{ name: "orders", numPartitions: 3, replicationFactor: 2, assignments: [], configs: [] }],
    };
    const clientBytes = request(CreateTopicsRequest, 19, 7, asked, 2);
    const envelope = (bytes: Uint8Array, clientId: string) =>
      requestFrame(EnvelopeRequest, envelopeRequest(bytes), 9, clientId).body;
    const outcome = handleKafkaRequest(envelope(clientBytes, nodeClientId(4)), controllerContext);
    if (outcome._tag !== "Forward") throw new Error(`not for the controller: ${outcome._tag}`);
    expect(outcome.sender).toBe(4);
    expect(outcome.request._tag).toBe("CreateTopicsRequest");
    const created = {
      _tag: "CreateTopicsResponse",
      topics: [
        {
          name: "orders",
          topicId: TOPIC_ID,
          errorCode: "NONE",
          errorMessage: null,
          numPartitions: 3,
          replicationFactor: 2,
        },
      ],
    } as const;
    const wrapped = outcome.respond(created as never);
    expect(new DataView(wrapped.buffer, wrapped.byteOffset).getInt32(0)).toBe(9);
    const opened = readResponseFrame(EnvelopeResponse, wrapped, 0);
    expect(opened.errorCode).toBe(0);
    // The client's answer under the client's own correlation id (42), relayed through spec/node as is.
    const inner = relayedBytes(relayedAnswer(opened.responseData!))!;
    const { correlationId, message } = answer(CreateTopicsResponse, inner, 7, 1);
    expect(correlationId).toBe(42);
    expect(message.topics.map((t) => [t.name, t.topicId, t.errorCode, t.numPartitions])).toEqual([
      ["orders", TOPIC_ID, 0, 3],
    ]);
    // Refused inside the Envelope, as Kafka does: a sender that is not a node, a broker's own request,
    // an Envelope in an Envelope, bytes that are no request.
    const refused = (body: Uint8Array) => {
      const o = handleKafkaRequest(body, controllerContext);
      if (o._tag !== "Answer") throw new Error(`not answered: ${o._tag}`);
      return readResponseFrame(EnvelopeResponse, o.body, 0);
    };
    const heartbeat = kafkaBrokerRequest({
      _tag: "BrokerHeartbeatRequest",
      brokerId: 4,
      brokerEpoch: 1,
      currentMetadataOffset: 1,
      wantFence: false,
      wantShutDown: false,
    });
    for (const body of [
      envelope(clientBytes, "kcat"),
      envelope(requestFrame(heartbeat.codec, heartbeat.data, 1, "x").body, nodeClientId(4)),
      envelope(envelope(clientBytes, nodeClientId(4)), nodeClientId(4)),
      envelope(new Uint8Array([0, 1, 2]), nodeClientId(4)),
    ])
      expect(refused(body)).toEqual({ responseData: null, errorCode: KafkaError.INVALID_REQUEST });
  });

  it("KIP-511: an ApiVersions version it does not speak is answered in v0 with UNSUPPORTED_VERSION", () => {
    const outcome = handleKafkaRequest(
      request(ApiVersionsRequest, 18, 99, ApiVersionsRequest.defaults(), 2),
      context,
    );
    if (outcome._tag !== "Answer") throw new Error(`not answered: ${outcome._tag}`);
    const { message } = answer(ApiVersionsResponse, outcome.body, 0, 0);
    expect(message.errorCode).toBe(KafkaError.UNSUPPORTED_VERSION);
    expect(message.apiKeys.map((a) => a.apiKey)).toEqual([18, 3, 60, 55, 19, 20, 37, 32, 44, 33, 43]);
  });

  it("Metadata, every version: unfenced brokers on the request's listener, topics, leaders, ISR, offline replicas", () => {
    for (let version = MetadataRequest.lowestVersion; version <= MetadataRequest.highestVersion; version++) {
      const flexible = version >= MetadataRequest.lowestFlexibleVersion;
      const all = { ...MetadataRequest.defaults(), topics: version === 0 ? [] : null };
      const outcome = handleKafkaRequest(
        request(MetadataRequest, 3, version, all, flexible ? 2 : 1),
        context,
      );
      if (outcome._tag !== "Answer") throw new Error(`not answered: ${outcome._tag}`);
      const { correlationId, message } = answer(MetadataResponse, outcome.body, version, flexible ? 1 : 0);
      expect(correlationId).toBe(42);
      expect(message.brokers.map((b) => [b.nodeId, b.host, b.port])).toEqual([
        [4, "127.0.0.1", 19094],
        [6, "127.0.0.1", 19096],
      ]);
      if (version >= 1) expect(message.brokers[1]!.rack).toBe("rack-b");
      if (version >= 2) expect(message.clusterId).toBe("GEvbuDUdvZm5QFSxvWEm3A");
      if (version >= 1) expect(message.controllerId).toBe(4);
      expect(message.topics).toHaveLength(1);
      const topic = message.topics[0]!;
      expect(topic.name).toBe("orders");
      if (version >= 10) expect(topic.topicId).toBe(TOPIC_ID);
      expect(
        topic.partitions.map((p) => [p.partitionIndex, p.errorCode, p.leaderId, p.replicaNodes, p.isrNodes]),
      ).toEqual([
        [0, KafkaError.NONE, 4, [4, 5], [4]],
        [1, KafkaError.LEADER_NOT_AVAILABLE, -1, [5], [5]],
      ]);
      if (version >= 5) expect(topic.partitions.map((p) => p.offlineReplicas)).toEqual([[5], [5]]);
      if (version >= 7) expect(topic.partitions[0]!.leaderEpoch).toBe(1);
    }
  });

  it("Metadata for named topics: an unknown one is UNKNOWN_TOPIC_OR_PARTITION, a name asked twice is answered once; another listener's endpoints", () => {
    const named = {
      ...MetadataRequest.defaults(),
      topics: [
        { topicId: "AAAAAAAAAAAAAAAAAAAAAA", name: "nosuch" },
        { topicId: "AAAAAAAAAAAAAAAAAAAAAA", name: "orders" },
        { topicId: "AAAAAAAAAAAAAAAAAAAAAA", name: "nosuch" },
        { topicId: "AAAAAAAAAAAAAAAAAAAAAA", name: "orders" },
      ],
    };
    const outcome = handleKafkaRequest(request(MetadataRequest, 3, 12, named, 2), {
      ...context,
      listenerName: "INTERNAL",
    });
    if (outcome._tag !== "Answer") throw new Error(`not answered: ${outcome._tag}`);
    const { message } = answer(MetadataResponse, outcome.body, 12, 1);
    expect(message.topics.map((t) => [t.name, t.errorCode])).toEqual([
      ["orders", KafkaError.NONE],
      ["nosuch", KafkaError.UNKNOWN_TOPIC_OR_PARTITION],
    ]);
    expect(message.brokers.map((b) => `${b.host}:${b.port}`)).toEqual([
      "n4.internal:29094",
      "n6.internal:29096",
    ]);
  });

  it("refuses what it does not serve by closing, as Kafka does, naming why", () => {
    const metadataOnController = handleKafkaRequest(
      request(MetadataRequest, 3, 12, MetadataRequest.defaults(), 2),
      {
        ...context,
        controllerListener: true,
      },
    );
    expect(metadataOnController).toEqual({
      _tag: "Close",
      reason: "API key 3 is not served (see ApiVersions)",
    });
    const unknownKey = new Uint8Array([0x00, 0x63, 0, 0, 0, 0, 0, 1, 0xff, 0xff]);
    expect(handleKafkaRequest(unknownKey, context)).toEqual({
      _tag: "Close",
      reason: "API key 99 is not served (see ApiVersions)",
    });
    expect(handleKafkaRequest(new Uint8Array([0, 18, 0]), context)).toEqual({
      _tag: "Close",
      reason: "a request of 3 bytes has no header",
    });
    const truncated = request(MetadataRequest, 3, 12, { ...MetadataRequest.defaults(), topics: null }, 2);
    const outcome = handleKafkaRequest(truncated.subarray(0, truncated.length - 2), context);
    expect(outcome._tag).toBe("Close");
    expect(outcome._tag === "Close" && outcome.reason).toMatch(/^MetadataRequest v12: /);
  });

  it("DescribeCluster, every version: the brokers (fenced ones when asked), the cluster id; controllers elsewhere", () => {
    for (let version = 0; version <= DescribeClusterRequest.highestVersion; version++) {
      const asked = { ...DescribeClusterRequest.defaults(), includeFencedBrokers: version >= 2 };
      const outcome = handleKafkaRequest(request(DescribeClusterRequest, 60, version, asked, 2), context);
      if (outcome._tag !== "Answer") throw new Error(`not answered: ${outcome._tag}`);
      const { message } = answer(DescribeClusterResponse, outcome.body, version, 1);
      expect(message).toMatchObject({ errorCode: 0, clusterId: "GEvbuDUdvZm5QFSxvWEm3A", controllerId: 4 });
      expect(message.brokers.map((b) => [b.brokerId, b.port, b.rack])).toEqual(
        version >= 2
          ? [
              [4, 19094, null],
              [5, 19095, null],
              [6, 19096, "rack-b"],
            ]
          : [
              [4, 19094, null],
              [6, 19096, "rack-b"],
            ],
      );
      if (version >= 2) expect(message.brokers.map((b) => b.isFenced)).toEqual([false, true, false]);
    }
    const controllers = handleKafkaRequest(
      request(DescribeClusterRequest, 60, 1, { ...DescribeClusterRequest.defaults(), endpointType: 2 }, 2),
      context,
    );
    if (controllers._tag !== "Answer") throw new Error(`not answered: ${controllers._tag}`);
    expect(answer(DescribeClusterResponse, controllers.body, 1, 1).message).toMatchObject({
      errorCode: 114,
      brokers: [],
    });
    // On a controller listener: the controllers, and the active one.
    const onController = handleKafkaRequest(
      request(DescribeClusterRequest, 60, 1, { ...DescribeClusterRequest.defaults(), endpointType: 2 }, 2),
      { ...context, controllerListener: true },
    );
    if (onController._tag !== "Answer") throw new Error(`not answered: ${onController._tag}`);
    const described = answer(DescribeClusterResponse, onController.body, 1, 1).message;
    expect(described).toMatchObject({ errorCode: 0, endpointType: 2, controllerId: 2 });
    expect(described.brokers.map((b) => `${b.brokerId}@${b.host}:${b.port}`)).toEqual([
      "1@127.0.0.1:19091",
      "2@127.0.0.1:19092",
      "3@127.0.0.1:19093",
    ]);
  });

  it("DescribeQuorum, every version: passed to the spec, its Raft answer as Kafka's, with the voters' endpoints in v2", () => {
    for (let version = 0; version <= DescribeQuorumRequest.highestVersion; version++) {
      const asked = {
        topics: [{ topicName: "__cluster_metadata", partitions: [{ partitionIndex: 0 }] }],
      };
      const outcome = handleKafkaRequest(request(DescribeQuorumRequest, 55, version, asked, 2), {
        ...context,
        controllerListener: true,
      });
      if (outcome._tag !== "Forward") throw new Error(`not forwarded: ${outcome._tag}`);
      expect(outcome.request).toEqual({ _tag: "DescribeQuorumAdminRequest" });
      const voter = (replicaId: number, logEndOffset: number) => ({
        replicaId,
        logEndOffset,
        lastFetchTimestamp: 1_700_000_000_000,
        lastCaughtUpTimestamp: 1_700_000_000_000,
      });
      const body = outcome.respond(
        quorumAnswer(2, 7, 40, [voter(1, 40), voter(2, 40), voter(3, 39)], [voter(4, 40)]),
      );
      const { message } = answer(DescribeQuorumResponse, body, version, 1);
      const partition = message.topics[0]!.partitions[0]!;
      expect(partition).toMatchObject({ leaderId: 2, leaderEpoch: 7, highWatermark: 40n });
      expect(partition.currentVoters.map((v) => [v.replicaId, v.logEndOffset])).toEqual([
        [1, 40n],
        [2, 40n],
        [3, 39n],
      ]);
      expect(partition.observers.map((v) => v.replicaId)).toEqual([4]);
      if (version >= 1) expect(partition.currentVoters[0]!.lastFetchTimestamp).toBe(1_700_000_000_000n);
      expect(message.nodes).toEqual(
        version >= 2
          ? [1, 2, 3].map((id) => ({
              nodeId: id,
              listeners: [{ name: "CONTROLLER", host: "127.0.0.1", port: 19090 + id }],
            }))
          : [],
      );
    }
    const refused = handleKafkaRequest(request(DescribeQuorumRequest, 55, 2, { topics: [] }, 2), context);
    if (refused._tag !== "Forward") throw new Error(`not forwarded: ${refused._tag}`);
    const body = refused.respond({
      _tag: "AdminResponse",
      errorCode: "REQUEST_TIMED_OUT",
      errorMessage: "no answer",
      body: null,
    });
    expect(answer(DescribeQuorumResponse, body, 2, 1).message).toMatchObject({
      errorCode: 7,
      errorMessage: "no answer",
    });
  });

  it("DescribeQuorum v2 names every controller listener a voter's entry lists (KIP-853)", () => {
    const listeners = [
      { name: "CONTROLLER", host: "127.0.0.1", port: 19091 },
      { name: "INTERNAL", host: "c1.internal", port: 19191 },
    ];
    const outcome = handleKafkaRequest(
      request(
        DescribeQuorumRequest,
        55,
        2,
        { topics: [{ topicName: "__cluster_metadata", partitions: [{ partitionIndex: 0 }] }] },
        2,
      ),
      {
        ...context,
        controllerListener: true,
        voters: [{ id: 1, host: "127.0.0.1", port: 19091, listeners }],
      },
    );
    if (outcome._tag !== "Forward") throw new Error(`not forwarded: ${outcome._tag}`);
    const body = outcome.respond(
      quorumAnswer(
        1,
        1,
        5,
        [{ replicaId: 1, logEndOffset: 5, lastFetchTimestamp: -1, lastCaughtUpTimestamp: -1 }],
        [],
      ),
    );
    expect(answer(DescribeQuorumResponse, body, 2, 1).message.nodes).toEqual([{ nodeId: 1, listeners }]);
  });

  it("DescribeConfigs and IncrementalAlterConfigs become the spec's requests; their answers Kafka's", () => {
    const describe = handleKafkaRequest(
      request(
        DescribeConfigsRequest,
        32,
        4,
        {
          ...DescribeConfigsRequest.defaults(),
          resources: [{ resourceType: 2, resourceName: "orders", configurationKeys: null }],
        },
        2,
      ),
      context,
    );
    if (describe._tag !== "Forward") throw new Error(`not forwarded: ${describe._tag}`);
    expect(describe.request).toEqual({
      _tag: "DescribeConfigsRequest",
      resources: [{ resourceType: 2, resourceName: "orders", configurationKeys: null }],
    });
    const described = describe.respond({
      _tag: "DescribeConfigsResponse",
      results: [
        {
          errorCode: "NONE",
          errorMessage: null,
          resourceType: 2,
          resourceName: "orders",
          configs: [
            {
              name: "cleanup.policy",
              value: "compact",
              readOnly: false,
              isDefault: false,
              configSource: 1,
              isSensitive: false,
            },
          ],
        },
      ],
    });
    expect(answer(DescribeConfigsResponse, described, 4, 1).message.results[0]!.configs).toMatchObject([
      { name: "cleanup.policy", value: "compact", configSource: 1, readOnly: false },
    ]);
    const alter = handleKafkaRequest(
      request(
        IncrementalAlterConfigsRequest,
        44,
        1,
        {
          ...IncrementalAlterConfigsRequest.defaults(),
          resources: [
            {
              resourceType: 2,
              resourceName: "orders",
              configs: [{ name: "retention.ms", configOperation: 0, value: "1000" }],
            },
          ],
        },
        2,
      ),
      context,
    );
    if (alter._tag !== "Forward") throw new Error(`not forwarded: ${alter._tag}`);
    expect(alter.request).toEqual({
      _tag: "IncrementalAlterConfigsRequest",
      validateOnly: false,
      resources: [
        {
          resourceType: 2,
          resourceName: "orders",
          configs: [{ name: "retention.ms", configOperation: 0, value: "1000" }],
        },
      ],
    });
    const altered = alter.respond({
      _tag: "IncrementalAlterConfigsResponse",
      responses: [
        { errorCode: "INVALID_CONFIG", errorMessage: "no", resourceType: 2, resourceName: "orders" },
      ],
    });
    expect(answer(IncrementalAlterConfigsResponse, altered, 1, 1).message.responses).toEqual([
      { errorCode: 40, errorMessage: "no", resourceType: 2, resourceName: "orders" },
    ]);
  });

  it("ElectLeaders: the spec's request, and its per-partition results (or its refusal for every partition)", () => {
    const asked = {
      ...ElectLeadersRequest.defaults(),
      electionType: 0,
      topicPartitions: [{ topic: "orders", partitions: [0, 1] }],
    };
    const outcome = handleKafkaRequest(request(ElectLeadersRequest, 43, 2, asked, 2), context);
    if (outcome._tag !== "Forward") throw new Error(`not forwarded: ${outcome._tag}`);
    expect(outcome.request).toEqual({
      _tag: "ElectLeadersRequest",
      electionType: 0,
      topicPartitions: [{ topic: "orders", partitions: [0, 1] }],
    });
    const body = outcome.respond({
      _tag: "ElectLeadersResponse",
      errorCode: "NONE",
      replicaElectionResults: [
        {
          topic: "orders",
          partitionResult: [
            {
              partitionId: 0,
              errorCode: "ELECTION_NOT_NEEDED",
              errorMessage: "already the preferred leader",
            },
            { partitionId: 1, errorCode: "NONE", errorMessage: null },
          ],
        },
      ],
    });
    expect(
      answer(ElectLeadersResponse, body, 2, 1).message.replicaElectionResults[0]!.partitionResult,
    ).toEqual([
      { partitionId: 0, errorCode: 84, errorMessage: "already the preferred leader" },
      { partitionId: 1, errorCode: 0, errorMessage: null },
    ]);
    const timedOut = outcome.respond({
      _tag: "AdminResponse",
      errorCode: "REQUEST_TIMED_OUT",
      errorMessage: "late",
      body: null,
    });
    expect(answer(ElectLeadersResponse, timedOut, 2, 1).message).toMatchObject({
      errorCode: 7,
      replicaElectionResults: [{ topic: "orders", partitionResult: [{ errorCode: 7 }, { errorCode: 7 }] }],
    });
  });

  it("CreateTopics becomes the spec's request, and its answer Kafka's response, whatever the version", () => {
    for (
      let version = CreateTopicsRequest.lowestVersion;
      version <= CreateTopicsRequest.highestVersion;
      version++
    ) {
      const asked = {
        ...CreateTopicsRequest.defaults(),
        topics: [
          {
            name: "orders",
            numPartitions: 3,
            replicationFactor: 2,
            assignments: [],
            configs: [{ name: "cleanup.policy", value: "compact" }],
          },
          { name: "bad name!", numPartitions: -1, replicationFactor: -1, assignments: [], configs: [] },
        ],
      };
      const outcome = handleKafkaRequest(
        request(CreateTopicsRequest, 19, version, asked, version >= 5 ? 2 : 1),
        context,
      );
      if (outcome._tag !== "Forward") throw new Error(`not forwarded: ${outcome._tag}`);
      expect(outcome.request).toEqual({
        _tag: "CreateTopicsRequest",
        validateOnly: false,
        topics: [
          {
            name: "orders",
            numPartitions: 3,
            replicationFactor: 2,
            assignments: [],
            configs: [{ name: "cleanup.policy", value: "compact" }],
          },
          { name: "bad name!", numPartitions: -1, replicationFactor: -1, assignments: [], configs: [] },
        ],
      });
      const body = outcome.respond({
        _tag: "CreateTopicsResponse",
        topics: [
          {
            name: "orders",
            topicId: TOPIC_ID,
            errorCode: "NONE",
            errorMessage: null,
            numPartitions: 3,
            replicationFactor: 2,
          },
          {
            name: "bad name!",
            topicId: null,
            errorCode: "INVALID_TOPIC_EXCEPTION",
            errorMessage: "illegal character",
            numPartitions: -1,
            replicationFactor: -1,
          },
        ],
      });
      const { correlationId, message } = answer(CreateTopicsResponse, body, version, version >= 5 ? 1 : 0);
      expect(correlationId).toBe(42);
      expect(message.topics.map((t) => [t.name, t.errorCode])).toEqual([
        ["orders", 0],
        ["bad name!", 17],
      ]);
      if (version >= 1) expect(message.topics[1]!.errorMessage).toBe("illegal character");
      if (version >= 7) expect(message.topics[0]!.topicId).toBe(TOPIC_ID);
      if (version >= 5) expect(message.topics[0]!.numPartitions).toBe(3);
      if (version >= 5)
        expect(message.topics.map((t) => t.configs)).toEqual([
          [
            {
              name: "cleanup.policy",
              value: "compact",
              readOnly: false,
              configSource: 1,
              isSensitive: false,
            },
          ],
          [],
        ]);
    }
  });

  it("a request the node could not get answered fails every topic with that error (REQUEST_TIMED_OUT)", () => {
    const asked = {
      ...CreateTopicsRequest.defaults(),
      topics: [{ name: "a", numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
    };
    const outcome = handleKafkaRequest(request(CreateTopicsRequest, 19, 7, asked, 2), context);
    if (outcome._tag !== "Forward") throw new Error(`not forwarded: ${outcome._tag}`);
    const body = outcome.respond({
      _tag: "AdminResponse",
      errorCode: "REQUEST_TIMED_OUT",
      errorMessage: "node 1 did not answer",
      body: null,
    });
    expect(answer(CreateTopicsResponse, body, 7, 1).message.topics).toMatchObject([
      { name: "a", errorCode: 7, errorMessage: "node 1 did not answer" },
    ]);
  });

  it("DeleteTopics names topics by name before v6 and by name or id from v6", () => {
    const byName = handleKafkaRequest(
      request(DeleteTopicsRequest, 20, 5, { ...DeleteTopicsRequest.defaults(), topicNames: ["orders"] }, 2),
      context,
    );
    if (byName._tag !== "Forward") throw new Error(`not forwarded: ${byName._tag}`);
    expect(byName.request).toEqual({
      _tag: "DeleteTopicsRequest",
      topics: [{ name: "orders", topicId: null }],
    });
    const byId = handleKafkaRequest(
      request(
        DeleteTopicsRequest,
        20,
        6,
        { ...DeleteTopicsRequest.defaults(), topics: [{ name: null, topicId: TOPIC_ID }] },
        2,
      ),
      context,
    );
    if (byId._tag !== "Forward") throw new Error(`not forwarded: ${byId._tag}`);
    expect(byId.request).toEqual({
      _tag: "DeleteTopicsRequest",
      topics: [{ name: null, topicId: TOPIC_ID }],
    });
    const body = byId.respond({
      _tag: "DeleteTopicsResponse",
      responses: [{ name: "orders", topicId: TOPIC_ID, errorCode: "NONE", errorMessage: null }],
    });
    expect(answer(DeleteTopicsResponse, body, 6, 1).message.responses).toEqual([
      { name: "orders", topicId: TOPIC_ID, errorCode: 0, errorMessage: null },
    ]);
  });

  it("answers before the node has an image: no brokers, no topics", () => {
    const outcome = handleKafkaRequest(
      request(MetadataRequest, 3, 12, { ...MetadataRequest.defaults(), topics: null }, 2),
      { ...context, image: null },
    );
    if (outcome._tag !== "Answer") throw new Error(`not answered: ${outcome._tag}`);
    const { message } = answer(MetadataResponse, outcome.body, 12, 1);
    expect(message).toMatchObject({ brokers: [], topics: [], controllerId: -1 });
  });
});
