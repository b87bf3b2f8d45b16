// Kafka's binary protocol on a node's listeners: a request frame's body (header, then the message)
// in, the response frame's body out. It answers from the node's metadata image, turns admin requests
// into the spec's requests, whose answers it renders back (src/kafka/admin.ts), hands KRaft's RPCs to
// the Raft layer (src/kafka/raft-messages.ts) and a broker's requests to the controller
// (src/kafka/controller-channel.ts), and opens Envelopes; it makes no protocol decision of the
// spec's. Broker listeners: ApiVersions (with KIP-511's downgrade), Metadata, DescribeCluster,
// DescribeQuorum, CreateTopics, DeleteTopics, CreatePartitions, DescribeConfigs,
// IncrementalAlterConfigs, AlterConfigs and ElectLeaders. Controller listeners: the same but Metadata,
// plus Vote, BeginQuorumEpoch, EndQuorumEpoch, Fetch, BrokerRegistration, BrokerHeartbeat,
// AlterPartition and Envelope. Every other API is absent from ApiVersions, so clients see it
// unsupported before they ask.
import { DEFAULT_BROKER_FEATURES } from "../../spec/metadata/broker.ts";
import { findTopic, type MetadataImage, partitionsOf, topicsOf } from "../../spec/metadata/image.ts";
import type { NodeRequest, NodeResponse } from "../../spec/node/node.ts";
import type {
  AddRaftVoterResponse as RaftAddVoterResponse,
  DescribeQuorumResponse as RaftDescribeQuorumResponse,
  RemoveRaftVoterResponse as RaftRemoveVoterResponse,
  RaftRequest,
  UpdateRaftVoterResponse as RaftUpdateVoterResponse,
} from "../../spec/raft/messages.ts";
import { SUPPORTED_KRAFT_VERSIONS } from "../../spec/raft/primitives.ts";
import {
  alterConfigsRequest,
  alterConfigsResponse,
  createPartitionsRequest,
  createPartitionsResponse,
  createTopicsRequest,
  createTopicsResponse,
  deleteTopicsRequest,
  deleteTopicsResponse,
  describeConfigsRequest,
  describeConfigsResponse,
  electLeadersRequest,
  electLeadersResponse,
  incrementalAlterConfigsRequest,
  incrementalAlterConfigsResponse,
} from "./admin.ts";
import { type AnyMessageCodec, decodeMessage, type MessageCodec } from "./codec.ts";
import { kafkaBrokerResponse, nodeOfClientId, specBrokerRequest } from "./controller-channel.ts";
import { errorCode, KafkaError } from "./errors.ts";
import { responseHeaderVersion } from "./frames.ts";
import {
  AddRaftVoterRequest,
  AddRaftVoterResponse,
  AlterConfigsRequest,
  AlterConfigsResponse,
  AlterPartitionRequest,
  AlterPartitionResponse,
  ApiVersionsRequest,
  ApiVersionsResponse,
  type ApiVersionsResponseData,
  BeginQuorumEpochRequest,
  BeginQuorumEpochResponse,
  BrokerHeartbeatRequest,
  BrokerHeartbeatResponse,
  BrokerRegistrationRequest,
  BrokerRegistrationResponse,
  CreatePartitionsRequest,
  CreatePartitionsResponse,
  CreateTopicsRequest,
  CreateTopicsResponse,
  DeleteTopicsRequest,
  DeleteTopicsResponse,
  DescribeClusterRequest,
  type DescribeClusterRequestData,
  DescribeClusterResponse,
  type DescribeClusterResponseData,
  DescribeConfigsRequest,
  DescribeConfigsResponse,
  DescribeQuorumRequest,
  DescribeQuorumResponse,
  type DescribeQuorumResponseData,
  ElectLeadersRequest,
  ElectLeadersResponse,
  EndQuorumEpochRequest,
  EndQuorumEpochResponse,
  EnvelopeRequest,
  type EnvelopeRequestData,
  EnvelopeResponse,
  type EnvelopeResponseData,
  FetchRequest,
  FetchResponse,
  FetchSnapshotRequest,
  FetchSnapshotResponse,
  IncrementalAlterConfigsRequest,
  IncrementalAlterConfigsResponse,
  MetadataRequest,
  MetadataResponse,
  type MetadataResponseData,
  RemoveRaftVoterRequest,
  RemoveRaftVoterResponse,
  RequestHeader,
  ResponseHeader,
  UpdateRaftVoterRequest,
  UpdateRaftVoterResponse,
  VoteRequest,
  VoteResponse,
} from "./generated/messages.ts";
import type { VoterEndpoints } from "./metadata-records.ts";
import {
  answeringOf,
  KRAFT_VERSION_FEATURE,
  type NodeEndpoint,
  raftResponseFrame,
  requestLeaderEndpoints,
  specRequest,
  updateVoterResponseFrame,
  voterChangeResponseFrame,
  type WireRaftResponse,
} from "./raft-messages.ts";
import { KafkaDecodeError, Reader, Writer, ZERO_UUID } from "./wire.ts";

/** What a node knows that the answers need. */
export interface KafkaServerContext {
  readonly clusterId: string;
  /** The listener the request came on: brokers are listed with their endpoint of that name. */
  readonly listenerName: string;
  /**
   * Whether that is a controller listener, which serves what Kafka's controller listeners serve:
   * not Metadata, and DescribeCluster names the controllers (KIP-919).
   */
  readonly controllerListener: boolean;
  /** The node's metadata image, or null before it has one. */
  readonly image: MetadataImage | null;
  /**
   * The voters and the controller endpoint this node reaches each at, with every controller listener
   * each names where known (KIP-853's voter entries), for DescribeQuorum v2 and DescribeCluster.
   */
  readonly voters: readonly {
    readonly id: number;
    readonly host: string;
    readonly port: number;
    readonly listeners?: readonly { readonly name: string; readonly host: string; readonly port: number }[];
  }[];
  readonly controllerListenerName: string;
  /** The quorum's leader as this node knows it (-1: none known): the active controller. */
  readonly leaderId: number;
  /** The kraft.version the Raft layer runs at (1: a dynamic quorum, KIP-853), finalized beside the image's. */
  readonly kraftVersion: number;
}

/**
 * What an API's handler makes of a request: an answer now, or the spec's request (spec/node routes
 * it, R148) and how to render the spec's answer.
 */
type Reply<A> =
  | { readonly answer: A }
  | {
      readonly forward: NodeRequest;
      readonly render: (response: NodeResponse) => A;
      /** The node the request speaks for (a broker's own request); absent: a client's. */
      readonly sender?: number;
    }
  | { readonly raft: RaftRequest };

type Handler<Q, A> = (request: Q, version: number, context: KafkaServerContext) => Reply<A>;

export interface Api {
  /** Each API pairs its own types; `api` checks the pairing. */
  readonly request: AnyMessageCodec;
  readonly response: AnyMessageCodec;
  readonly handle: Handler<unknown, unknown>;
}

/** An API served: its request and response codecs, and its handler, type-checked together. */
const api = <Q, A>(request: MessageCodec<Q>, response: MessageCodec<A>, handle: Handler<Q, A>): Api => ({
  request,
  response,
  // The request reaching it was decoded by `request`: its type is Q.
  handle: handle as Handler<unknown, unknown>,
});

const API_VERSIONS = api(ApiVersionsRequest, ApiVersionsResponse, (_request, version, context) => ({
  answer: {
    ...apiVersions(servedApis(context.controllerListener), KafkaError.NONE),
    ...(version >= 3 ? features(version, context.image, context.kraftVersion) : {}),
  },
}));

/**
 * ApiVersions v3+: the features this node supports and those its image has finalized, as Kafka's
 * nodes report them (`kafka-features describe` reads them). Supported: the kraft.version range a
 * leader reads before adding this node as a voter (R96), and the metadata.version range it registers
 * with; before v4 a feature whose lowest version is 0 is left out, as Kafka does. Finalized: the Raft
 * layer's kraft.version and each feature level of the image, 0 left out, under the image's offset as
 * their epoch.
 */
const features = (version: number, image: MetadataImage | null, kraftVersion: number) => ({
  supportedFeatures: [
    {
      name: KRAFT_VERSION_FEATURE,
      minVersion: SUPPORTED_KRAFT_VERSIONS.minSupportedVersion,
      maxVersion: SUPPORTED_KRAFT_VERSIONS.maxSupportedVersion,
    },
    ...DEFAULT_BROKER_FEATURES.map((f) => ({
      name: f.name,
      minVersion: f.minSupportedVersion,
      maxVersion: f.maxSupportedVersion,
    })),
  ].filter((f) => version >= 4 || f.minVersion > 0),
  finalizedFeaturesEpoch: image === null ? -1n : BigInt(image.offset),
  finalizedFeatures: [
    { name: KRAFT_VERSION_FEATURE, level: kraftVersion },
    ...(image?.features ?? []).filter((f) => f.name !== KRAFT_VERSION_FEATURE),
  ]
    .filter((f) => f.level !== 0)
    .map((f) => ({ name: f.name, maxVersionLevel: f.level, minVersionLevel: f.level })),
});
const DESCRIBE_CLUSTER = api(
  DescribeClusterRequest,
  DescribeClusterResponse,
  (request, _version, context) => ({
    answer: describeCluster(request, context),
  }),
);
// Asked of any node: a broker passes it on to the active controller, as Kafka's do (R148).
const DESCRIBE_QUORUM = api(DescribeQuorumRequest, DescribeQuorumResponse, (_request, version, context) => ({
  forward: { _tag: "DescribeQuorumAdminRequest" },
  render: (answer) => describeQuorum(answer, version, context),
}));

/** The APIs served, by key, on each kind of listener: exactly what ApiVersions advertises there. */
const byKey = (apis: readonly Api[]): ReadonlyMap<number, Api> =>
  new Map(apis.map((a) => [a.request.apiKey, a]));
/**
 * The admin APIs Kafka serves on both kinds of listener (their specs' "listeners" include
 * "controller"); whichever node receives one passes it to the active controller (R148).
 */
const ADMIN_APIS: readonly Api[] = [
  api(CreateTopicsRequest, CreateTopicsResponse, (request) => ({
    forward: createTopicsRequest(request),
    render: (answer) => createTopicsResponse(request, answer),
  })),
  api(DeleteTopicsRequest, DeleteTopicsResponse, (request, version) => ({
    forward: deleteTopicsRequest(request, version),
    render: (answer) => deleteTopicsResponse(request, version, answer),
  })),
  api(CreatePartitionsRequest, CreatePartitionsResponse, (request) => ({
    forward: createPartitionsRequest(request),
    render: (answer) => createPartitionsResponse(request, answer),
  })),
  api(DescribeConfigsRequest, DescribeConfigsResponse, (request) => ({
    forward: describeConfigsRequest(request),
    render: (answer) => describeConfigsResponse(request, answer),
  })),
  api(IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse, (request) => ({
    forward: incrementalAlterConfigsRequest(request),
    render: (answer) => incrementalAlterConfigsResponse(request, answer),
  })),
  api(AlterConfigsRequest, AlterConfigsResponse, (request) => ({
    forward: alterConfigsRequest(request),
    render: (answer) => alterConfigsResponse(request, answer),
  })),
  api(ElectLeadersRequest, ElectLeadersResponse, (request) => ({
    forward: electLeadersRequest(request),
    render: (answer) => electLeadersResponse(request, answer),
  })),
];
/**
 * KRaft's own RPCs between nodes (Vote, BeginQuorumEpoch, EndQuorumEpoch, Fetch, FetchSnapshot), on controller
 * listeners as Kafka's: the request goes to the Raft layer, which answers it (R40–R76).
 */
const raftApi = (request: AnyMessageCodec, response: AnyMessageCodec): Api =>
  api(request, response, (data) => ({ raft: specRequest(request.apiKey, data) }));
const RAFT_APIS: readonly Api[] = [
  raftApi(VoteRequest, VoteResponse),
  raftApi(BeginQuorumEpochRequest, BeginQuorumEpochResponse),
  raftApi(EndQuorumEpochRequest, EndQuorumEpochResponse),
  raftApi(FetchRequest, FetchResponse),
  raftApi(FetchSnapshotRequest, FetchSnapshotResponse),
  // KIP-853 (R95, R97): asked of a controller, answered by the leader's Raft layer.
  raftApi(AddRaftVoterRequest, AddRaftVoterResponse),
  raftApi(RemoveRaftVoterRequest, RemoveRaftVoterResponse),
  // R99: a voter's own entry rewritten, answered by the leader before the commit.
  raftApi(UpdateRaftVoterRequest, UpdateRaftVoterResponse),
];
/**
 * A broker's own requests to the controller (R112–R119, R126), on controller listeners as Kafka's:
 * for the controller, speaking for the broker they name.
 */
const brokerApi = (request: AnyMessageCodec, response: AnyMessageCodec): Api =>
  api(request, response, (data, version) => {
    const forward = specBrokerRequest(request.apiKey, data, version);
    return {
      forward,
      sender: forward.brokerId,
      render: (answer) => kafkaBrokerResponse(request.apiKey, answer),
    };
  });
const BROKER_TO_CONTROLLER_APIS: readonly Api[] = [
  brokerApi(BrokerRegistrationRequest, BrokerRegistrationResponse),
  brokerApi(BrokerHeartbeatRequest, BrokerHeartbeatResponse),
  brokerApi(AlterPartitionRequest, AlterPartitionResponse),
];
/** Envelope (KIP-590): handled by handleKafkaRequest itself, which opens it. */
const ENVELOPE_API = api(EnvelopeRequest, EnvelopeResponse, () => {
  throw new Error("an Envelope is opened by handleKafkaRequest");
});
const BROKER_APIS = byKey([
  API_VERSIONS,
  api(MetadataRequest, MetadataResponse, (request, version, context) => ({
    answer: metadata(request, version, context),
  })),
  DESCRIBE_CLUSTER,
  DESCRIBE_QUORUM,
  ...ADMIN_APIS,
]);
const CONTROLLER_APIS = byKey([
  API_VERSIONS,
  DESCRIBE_CLUSTER,
  DESCRIBE_QUORUM,
  ...ADMIN_APIS,
  ...RAFT_APIS,
  ...BROKER_TO_CONTROLLER_APIS,
  ENVELOPE_API,
]);

export const servedApis = (controllerListener: boolean): ReadonlyMap<number, Api> =>
  controllerListener ? CONTROLLER_APIS : BROKER_APIS;

/** An answer, or why the connection must close (a frame Kafka would also refuse to answer). */
export type KafkaOutcome =
  | { readonly _tag: "Answer"; readonly body: Uint8Array }
  /** A request for the spec (spec/node routes it, R148); `respond` renders its answer. */
  | {
      readonly _tag: "Forward";
      readonly request: NodeRequest;
      readonly respond: (response: NodeResponse) => Uint8Array;
      /**
       * The node the request comes from, when a node sent it: a broker's own request, or a client's
       * that a node passed on in an Envelope (R148). Absent: a client's, to be routed here.
       */
      readonly sender?: number;
    }
  /** A KRaft request for the Raft layer; `respond` renders the Raft layer's answer to it. */
  | {
      readonly _tag: "Raft";
      readonly request: RaftRequest;
      readonly correlationId: number;
      /** KIP-853: the listeners a leader's BeginQuorumEpoch or EndQuorumEpoch names for itself. */
      readonly leaderEndpoints?: VoterEndpoints;
      /** `leader`: where the leader the answer names listens (NodeEndpoints), when known. */
      readonly respond: (
        response: RaftAnswer,
        records: Uint8Array | null,
        leader?: NodeEndpoint | null,
      ) => Uint8Array;
    }
  | { readonly _tag: "Close"; readonly reason: string };

/** What the Raft layer answers a KRaft request with (a voter change's answer has no partition). */
export type RaftAnswer =
  | WireRaftResponse
  | RaftAddVoterResponse
  | RaftRemoveVoterResponse
  | RaftUpdateVoterResponse;

/** The request header's version: v2 for a flexible request version, v1 before (Kafka 4 has no v0 left here). */
const requestHeaderVersion = (served: Api, version: number): number =>
  served.request.lowestFlexibleVersion >= 0 && version >= served.request.lowestFlexibleVersion ? 2 : 1;

/** A response frame's body: the response header, then the message, in one buffer. */
const frame = <A>(
  correlationId: number,
  headerVersion: number,
  codec: MessageCodec<A>,
  value: A,
  version: number,
) => {
  const header = { correlationId };
  const w = Writer.ofSize(ResponseHeader.size(header, headerVersion) + codec.size(value, version));
  ResponseHeader.write(w, header, headerVersion);
  codec.write(w, value, version);
  return w.buffer;
};

/** Answer one request frame body. */
export const handleKafkaRequest = (body: Uint8Array, context: KafkaServerContext): KafkaOutcome => {
  if (body.length < 8) return { _tag: "Close", reason: `a request of ${body.length} bytes has no header` };
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const apiKey = view.getInt16(0);
  const apiVersion = view.getInt16(2);
  const correlationId = view.getInt32(4);
  const apis = servedApis(context.controllerListener);
  const served = apis.get(apiKey);
  if (served === undefined)
    // Kafka closes the connection on an API key it does not know; one it knows but does not serve
    // here is absent from ApiVersions, so a well-behaved client never sends it.
    return { _tag: "Close", reason: `API key ${apiKey} is not served (see ApiVersions)` };
  const { lowestVersion, highestVersion } = served.request;
  if (apiVersion < lowestVersion || apiVersion > highestVersion) {
    if (served === API_VERSIONS) {
      // KIP-511: an ApiVersions the broker cannot parse is answered in v0 with UNSUPPORTED_VERSION
      // and the versions it does speak, so the client can retry with one of them.
      const refused = apiVersions(apis, KafkaError.UNSUPPORTED_VERSION);
      return { _tag: "Answer", body: frame(correlationId, 0, ApiVersionsResponse, refused, 0) };
    }
    return {
      _tag: "Close",
      reason: `${served.request.name} v${apiVersion} is not served (${lowestVersion}-${highestVersion})`,
    };
  }
  let request: unknown;
  let reply: Reply<unknown>;
  try {
    const r = new Reader(body);
    const header = RequestHeader.read(r, requestHeaderVersion(served, apiVersion));
    request = decodeMessage(served.request, body.subarray(r.offset), apiVersion);
    if (served === ENVELOPE_API)
      return openEnvelope(request as EnvelopeRequestData, header.clientId, correlationId, context);
    // A KRaft request of a shape KRaft never sends (two partitions, say) is refused like bad bytes.
    reply = served.handle(request, apiVersion, context);
  } catch (error) {
    if (error instanceof KafkaDecodeError)
      return { _tag: "Close", reason: `${served.request.name} v${apiVersion}: ${error.message}` };
    throw error;
  }
  const headerVersion = responseHeaderVersion(served.response, apiVersion);
  const render = (value: unknown) => frame(correlationId, headerVersion, served.response, value, apiVersion);
  if ("raft" in reply) {
    const raft = reply.raft;
    const answering = answeringOf(raft);
    const leaderEndpoints = requestLeaderEndpoints(apiKey, request);
    return {
      _tag: "Raft",
      request: raft,
      correlationId,
      ...(leaderEndpoints === undefined ? {} : { leaderEndpoints }),
      respond: (response, records, leader = null) =>
        response._tag === "AddRaftVoterResponse" || response._tag === "RemoveRaftVoterResponse"
          ? voterChangeResponseFrame(apiKey, apiVersion, correlationId, response)
          : response._tag === "UpdateRaftVoterResponse"
            ? updateVoterResponseFrame(apiVersion, correlationId, response, leader)
            : raftResponseFrame(apiKey, apiVersion, correlationId, response, answering, records, leader),
    };
  }
  if ("answer" in reply) return { _tag: "Answer", body: render(reply.answer) };
  return {
    _tag: "Forward",
    request: reply.forward,
    respond: (answer) => render(reply.render(answer)),
    ...(reply.sender === undefined ? {} : { sender: reply.sender }),
  };
};

/**
 * An Envelope: a client's request a node passed on (R148). Its answer is the client's answer, rendered
 * here, inside an EnvelopeResponse; what cannot be served inside one is answered with the Envelope's
 * own error, as Kafka does.
 */
const openEnvelope = (
  envelope: EnvelopeRequestData,
  clientId: string | null,
  correlationId: number,
  context: KafkaServerContext,
): KafkaOutcome => {
  const answer = (data: EnvelopeResponseData): Uint8Array =>
    frame(correlationId, 1, EnvelopeResponse, data, 0);
  const refuse = (): KafkaOutcome => ({
    _tag: "Answer",
    body: answer({ responseData: null, errorCode: KafkaError.INVALID_REQUEST }),
  });
  const sender = nodeOfClientId(clientId);
  if (sender === null) return refuse();
  const inner = handleKafkaRequest(envelope.requestData, { ...context, controllerListener: true });
  switch (inner._tag) {
    case "Answer":
      return { _tag: "Answer", body: answer({ responseData: inner.body, errorCode: 0 }) };
    case "Forward":
      // Only a client's request travels in an Envelope: not a broker's own, nor another Envelope.
      if (inner.sender !== undefined) return refuse();
      return {
        _tag: "Forward",
        request: inner.request,
        sender,
        respond: (response) => answer({ responseData: inner.respond(response), errorCode: 0 }),
      };
    default:
      return refuse();
  }
};

const apiVersions = (apis: ReadonlyMap<number, Api>, errorCode: number): ApiVersionsResponseData => ({
  ...ApiVersionsResponse.defaults(),
  errorCode,
  apiKeys: [...apis.values()].map((a) => ({
    apiKey: a.request.apiKey,
    minVersion: a.request.lowestVersion,
    maxVersion: a.request.highestVersion,
  })),
});

/** The Raft layer's description of the quorum (R88) as Kafka's DescribeQuorumResponse. */
const describeQuorum = (
  answer: NodeResponse,
  version: number,
  context: KafkaServerContext,
): DescribeQuorumResponseData => {
  const base = DescribeQuorumResponse.defaults();
  const body = answer._tag === "AdminResponse" ? (answer.body as RaftDescribeQuorumResponse | null) : null;
  if (answer._tag !== "AdminResponse" || body === null || body?._tag !== "DescribeQuorumResponse")
    return {
      ...base,
      errorCode: errorCode(answer._tag === "AdminResponse" ? answer.errorCode : "UNKNOWN_SERVER_ERROR"),
      errorMessage: answer._tag === "AdminResponse" ? answer.errorMessage : null,
    };
  const replica = (r: RaftDescribeQuorumResponse["currentVoters"][number]) => ({
    replicaId: r.replicaId,
    replicaDirectoryId: r.replicaDirectoryId ?? ZERO_UUID,
    logEndOffset: BigInt(r.logEndOffset),
    lastFetchTimestamp: BigInt(r.lastFetchTimestamp),
    lastCaughtUpTimestamp: BigInt(r.lastCaughtUpTimestamp),
  });
  return {
    ...base,
    errorCode: errorCode(body.errorCode),
    topics: [
      {
        topicName: "__cluster_metadata",
        partitions: [
          {
            partitionIndex: 0,
            errorCode: errorCode(body.errorCode),
            errorMessage: null,
            leaderId: body.leaderId,
            leaderEpoch: body.leaderEpoch,
            highWatermark: BigInt(body.highWatermark),
            currentVoters: body.currentVoters.map(replica),
            observers: body.observers.map(replica),
          },
        ],
      },
    ],
    nodes:
      version >= 2
        ? context.voters.map((v) => ({
            nodeId: v.id,
            listeners: (
              v.listeners ?? [{ name: context.controllerListenerName, host: v.host, port: v.port }]
            ).map((l) => ({ name: l.name, host: l.host, port: l.port })),
          }))
        : [],
  };
};

/** The brokers a client can reach on this listener: unfenced unless fenced ones are asked for too. */
const reachableBrokers = (context: KafkaServerContext, includeFenced: boolean) =>
  (context.image?.brokers ?? [])
    .filter((b) => includeFenced || !b.fenced)
    .flatMap((b) => {
      const endpoint = b.endPoints.find((e) => e.name === context.listenerName) ?? b.endPoints[0];
      return endpoint === undefined
        ? []
        : [{ nodeId: b.id, host: endpoint.host, port: endpoint.port, rack: b.rack, fenced: b.fenced }];
    });

/**
 * DescribeCluster describes the brokers on a broker listener (endpoint type 1) and the controllers on
 * a controller listener (endpoint type 2, KIP-919: how `--bootstrap-controller` finds them).
 */
const describeCluster = (
  request: DescribeClusterRequestData,
  context: KafkaServerContext,
): DescribeClusterResponseData => {
  const base = DescribeClusterResponse.defaults();
  if (context.controllerListener) {
    if (request.endpointType !== 2)
      return {
        ...base,
        errorCode: KafkaError.MISMATCHED_ENDPOINT_TYPE,
        errorMessage: "a controller listener describes controllers; ask a broker listener for brokers",
        endpointType: request.endpointType,
      };
    return {
      ...base,
      endpointType: 2,
      clusterId: context.clusterId,
      controllerId: context.leaderId,
      brokers: context.voters.map((v) => ({
        brokerId: v.id,
        host: v.host,
        port: v.port,
        rack: null,
        isFenced: false,
      })),
    };
  }
  if (request.endpointType !== 1)
    return {
      ...base,
      errorCode: KafkaError.MISMATCHED_ENDPOINT_TYPE,
      errorMessage: "a broker listener describes brokers; ask a controller listener for controllers",
      endpointType: request.endpointType,
    };
  const brokers = reachableBrokers(context, request.includeFencedBrokers);
  return {
    ...base,
    endpointType: 1,
    clusterId: context.clusterId,
    controllerId: brokers.find((b) => !b.fenced)?.nodeId ?? -1,
    brokers: brokers.map((b) => ({
      brokerId: b.nodeId,
      host: b.host,
      port: b.port,
      rack: b.rack,
      isFenced: b.fenced,
    })),
  };
};

const metadata = (
  request: { readonly topics: readonly { readonly name: string | null }[] | null },
  version: number,
  context: KafkaServerContext,
): MetadataResponseData => {
  const base = MetadataResponse.defaults();
  const image = context.image;
  const brokers = reachableBrokers(context, false).map(({ nodeId, host, port, rack }) => ({
    nodeId,
    host,
    port,
    rack,
  }));
  const live = new Set(brokers.map((b) => b.nodeId));
  // v0 asks for every topic with an empty list; from v1 on, null asks for every topic.
  const all = request.topics === null || (version === 0 && request.topics.length === 0);
  // Each name once, looked up by its place in the name order: a request for a few topics costs the
  // same whatever the number of topics the image holds.
  const wanted = all
    ? []
    : [...new Set(request.topics!.map((t) => t.name).filter((n): n is string => n !== null))].sort();
  const found = wanted.map((name) => (image === null ? undefined : findTopic(image, name)));
  const listed = all ? (image === null ? [] : topicsOf(image)) : found.filter((t) => t !== undefined);
  const unknown = wanted.filter((_, i) => found[i] === undefined);
  return {
    ...base,
    brokers,
    clusterId: context.clusterId,
    // Clients reach the controller only through brokers (KIP-590): name a live broker, as Kafka does.
    controllerId: brokers[0]?.nodeId ?? -1,
    topics: [
      ...listed.map((t) => ({
        errorCode: KafkaError.NONE,
        name: t.name,
        topicId: t.topicId,
        isInternal: false,
        topicAuthorizedOperations: -2147483648,
        partitions: partitionsOf(t).map((p) => ({
          errorCode: p.leader < 0 ? KafkaError.LEADER_NOT_AVAILABLE : KafkaError.NONE,
          partitionIndex: p.partitionId,
          leaderId: p.leader,
          leaderEpoch: p.leaderEpoch,
          replicaNodes: [...p.replicas],
          isrNodes: [...p.isr],
          offlineReplicas: p.replicas.filter((r) => !live.has(r)),
        })),
      })),
      ...unknown.map((name) => ({
        errorCode: KafkaError.UNKNOWN_TOPIC_OR_PARTITION,
        name,
        topicId: "AAAAAAAAAAAAAAAAAAAAAA",
        isInternal: false,
        partitions: [],
        topicAuthorizedOperations: -2147483648,
      })),
    ],
  };
};
