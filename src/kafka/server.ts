// Kafka's binary protocol on a node's client listeners: a request frame's body (header, then the
// message) in, the response frame's body out. It answers from the node's metadata image, as the JSON
// image queries do (src/runtime/node.ts), and turns admin requests into the spec's requests, whose
// answers it renders back (src/kafka/admin.ts); it makes no protocol decision of the spec's. So far:
// ApiVersions (with KIP-511's downgrade), Metadata, DescribeCluster, DescribeQuorum, CreateTopics,
// DeleteTopics, CreatePartitions, DescribeConfigs, IncrementalAlterConfigs and ElectLeaders; every
// other API is absent from ApiVersions, so clients see it unsupported before they ask.
import type { MetadataImage } from "../../spec/metadata/image.ts";
import type { NodeRequest, NodeResponse } from "../../spec/node/node.ts";
import type { DescribeQuorumResponse as RaftDescribeQuorumResponse } from "../../spec/raft/messages.ts";
import {
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
import { decodeMessage, type MessageCodec } from "./codec.ts";
import { errorCode } from "./errors.ts";
import {
  ApiVersionsRequest,
  ApiVersionsResponse,
  type ApiVersionsResponseData,
  CreatePartitionsRequest,
  type CreatePartitionsRequestData,
  CreatePartitionsResponse,
  CreateTopicsRequest,
  type CreateTopicsRequestData,
  CreateTopicsResponse,
  DeleteTopicsRequest,
  type DeleteTopicsRequestData,
  DeleteTopicsResponse,
  DescribeClusterRequest,
  type DescribeClusterRequestData,
  DescribeClusterResponse,
  type DescribeClusterResponseData,
  DescribeConfigsRequest,
  type DescribeConfigsRequestData,
  DescribeConfigsResponse,
  DescribeQuorumRequest,
  DescribeQuorumResponse,
  type DescribeQuorumResponseData,
  ElectLeadersRequest,
  type ElectLeadersRequestData,
  ElectLeadersResponse,
  IncrementalAlterConfigsRequest,
  type IncrementalAlterConfigsRequestData,
  IncrementalAlterConfigsResponse,
  MetadataRequest,
  MetadataResponse,
  type MetadataResponseData,
  RequestHeader,
  ResponseHeader,
} from "./generated/messages.ts";
import { KafkaDecodeError, Reader, Writer, ZERO_UUID } from "./wire.ts";

/** Kafka's error codes the answers use (org.apache.kafka.common.protocol.Errors). */
export const KafkaError = {
  NONE: 0,
  UNKNOWN_TOPIC_OR_PARTITION: 3,
  LEADER_NOT_AVAILABLE: 5,
  UNSUPPORTED_VERSION: 35,
  INVALID_REQUEST: 42,
  MISMATCHED_ENDPOINT_TYPE: 114,
} as const;

/** What a node knows that the answers need. */
export interface KafkaServerContext {
  readonly clusterId: string;
  /** The listener the request came on: brokers are listed with their endpoint of that name. */
  readonly listenerName: string;
  /**
   * Whether that is a controller listener, which serves only what `--bootstrap-controller` needs
   * (Kafka's controller listeners do not answer Metadata).
   */
  readonly controllerListener: boolean;
  /** The node's metadata image, or null before it has one. */
  readonly image: MetadataImage | null;
  /** The voters and their controller endpoints (controller.quorum.voters), for DescribeQuorum v2. */
  readonly voters: readonly { readonly id: number; readonly host: string; readonly port: number }[];
  readonly controllerListenerName: string;
  /** The quorum's leader as this node knows it (-1: none known): the active controller. */
  readonly leaderId: number;
}

// biome-ignore lint/suspicious/noExplicitAny: the request and response types differ per API; each handler narrows its own
type AnyCodec = MessageCodec<any>;

export interface Api {
  readonly request: AnyCodec;
  readonly response: AnyCodec;
  readonly minVersion: number;
  readonly maxVersion: number;
}

const apiOf = (request: AnyCodec, response: AnyCodec): Api => ({
  request,
  response,
  minVersion: request.lowestVersion,
  maxVersion: request.highestVersion,
});

const API_VERSIONS = apiOf(ApiVersionsRequest, ApiVersionsResponse);
const METADATA = apiOf(MetadataRequest, MetadataResponse);
const DESCRIBE_QUORUM = apiOf(DescribeQuorumRequest, DescribeQuorumResponse);

/** The APIs served, by key, on each kind of listener: exactly what ApiVersions advertises there. */
const BROKER_APIS: ReadonlyMap<number, Api> = new Map([
  [ApiVersionsRequest.apiKey, API_VERSIONS],
  [MetadataRequest.apiKey, METADATA],
  [CreateTopicsRequest.apiKey, apiOf(CreateTopicsRequest, CreateTopicsResponse)],
  [DeleteTopicsRequest.apiKey, apiOf(DeleteTopicsRequest, DeleteTopicsResponse)],
  [CreatePartitionsRequest.apiKey, apiOf(CreatePartitionsRequest, CreatePartitionsResponse)],
  [DescribeClusterRequest.apiKey, apiOf(DescribeClusterRequest, DescribeClusterResponse)],
  [DescribeQuorumRequest.apiKey, DESCRIBE_QUORUM],
  [DescribeConfigsRequest.apiKey, apiOf(DescribeConfigsRequest, DescribeConfigsResponse)],
  [
    IncrementalAlterConfigsRequest.apiKey,
    apiOf(IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse),
  ],
  [ElectLeadersRequest.apiKey, apiOf(ElectLeadersRequest, ElectLeadersResponse)],
]);
const CONTROLLER_APIS: ReadonlyMap<number, Api> = new Map([
  [ApiVersionsRequest.apiKey, API_VERSIONS],
  [DescribeClusterRequest.apiKey, apiOf(DescribeClusterRequest, DescribeClusterResponse)],
  [DescribeQuorumRequest.apiKey, DESCRIBE_QUORUM],
]);

export const servedApis = (controllerListener: boolean): ReadonlyMap<number, Api> =>
  controllerListener ? CONTROLLER_APIS : BROKER_APIS;

/** An answer, or why the connection must close (a frame Kafka would also refuse to answer). */
export type KafkaOutcome =
  | {
      readonly _tag: "Answer";
      readonly body: Uint8Array;
      readonly apiKey: number;
      readonly apiVersion: number;
    }
  /** A request for the spec (spec/node routes it, R148); `respond` renders its answer. */
  | {
      readonly _tag: "Forward";
      readonly request: NodeRequest;
      readonly respond: (response: NodeResponse) => Uint8Array;
    }
  | { readonly _tag: "Close"; readonly reason: string };

/** The request header's version: v2 for a flexible request version, v1 before (Kafka 4 has no v0 left here). */
const requestHeaderVersion = (api: Api, version: number): number =>
  api.request.lowestFlexibleVersion >= 0 && version >= api.request.lowestFlexibleVersion ? 2 : 1;

/** ApiVersions answers with header v0 whatever its version (KIP-511: a client must read it before it knows). */
const responseHeaderVersion = (api: Api, version: number): number =>
  api.request === ApiVersionsRequest
    ? 0
    : api.response.lowestFlexibleVersion >= 0 && version >= api.response.lowestFlexibleVersion
      ? 1
      : 0;

const frame = (
  correlationId: number,
  headerVersion: number,
  codec: AnyCodec,
  value: unknown,
  version: number,
) => {
  const header = { correlationId };
  const headerSize = ResponseHeader.size(header, headerVersion);
  const size = headerSize + codec.size(value, version);
  const w = Writer.ofSize(size);
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
  const api = apis.get(apiKey);
  if (api === undefined)
    // Kafka closes the connection on an API key it does not know; one it knows but does not serve
    // here is absent from ApiVersions, so a well-behaved client never sends it.
    return { _tag: "Close", reason: `API key ${apiKey} is not served (see ApiVersions)` };
  if (apiVersion < api.minVersion || apiVersion > api.maxVersion) {
    if (api.request === ApiVersionsRequest) {
      // KIP-511: an ApiVersions the broker cannot parse is answered in v0 with UNSUPPORTED_VERSION
      // and the versions it does speak, so the client can retry with one of them.
      return {
        _tag: "Answer",
        apiKey,
        apiVersion: 0,
        body: frame(
          correlationId,
          0,
          ApiVersionsResponse,
          apiVersions(apis, KafkaError.UNSUPPORTED_VERSION),
          0,
        ),
      };
    }
    return {
      _tag: "Close",
      reason: `${api.request.name} v${apiVersion} is not served (${api.minVersion}-${api.maxVersion})`,
    };
  }
  let request: unknown;
  try {
    const r = new Reader(body);
    RequestHeader.read(r, requestHeaderVersion(api, apiVersion));
    request = decodeMessage(api.request, body.subarray(r.offset), apiVersion);
  } catch (error) {
    if (error instanceof KafkaDecodeError)
      return { _tag: "Close", reason: `${api.request.name} v${apiVersion}: ${error.message}` };
    throw error;
  }
  const headerVersion = responseHeaderVersion(api, apiVersion);
  const render = (value: unknown) => frame(correlationId, headerVersion, api.response, value, apiVersion);
  switch (api.request) {
    case ApiVersionsRequest:
      return { _tag: "Answer", apiKey, apiVersion, body: render(apiVersions(apis, KafkaError.NONE)) };
    case MetadataRequest:
      return {
        _tag: "Answer",
        apiKey,
        apiVersion,
        body: render(metadata(request as Parameters<typeof metadata>[0], apiVersion, context)),
      };
    case DescribeClusterRequest:
      return {
        _tag: "Answer",
        apiKey,
        apiVersion,
        body: render(describeCluster(request as DescribeClusterRequestData, context)),
      };
    case DescribeQuorumRequest:
      // Asked of any node: a broker passes it on to the active controller, as Kafka's do (R148).
      return {
        _tag: "Forward",
        request: { _tag: "DescribeQuorumAdminRequest" },
        respond: (answer) => render(describeQuorum(answer, apiVersion, context)),
      };
    case DescribeConfigsRequest: {
      const asked = request as DescribeConfigsRequestData;
      return {
        _tag: "Forward",
        request: describeConfigsRequest(asked),
        respond: (answer) => render(describeConfigsResponse(asked, answer)),
      };
    }
    case IncrementalAlterConfigsRequest: {
      const asked = request as IncrementalAlterConfigsRequestData;
      return {
        _tag: "Forward",
        request: incrementalAlterConfigsRequest(asked),
        respond: (answer) => render(incrementalAlterConfigsResponse(asked, answer)),
      };
    }
    case ElectLeadersRequest: {
      const asked = request as ElectLeadersRequestData;
      return {
        _tag: "Forward",
        request: electLeadersRequest(asked),
        respond: (answer) => render(electLeadersResponse(asked, answer)),
      };
    }
    case CreateTopicsRequest: {
      const asked = request as CreateTopicsRequestData;
      return {
        _tag: "Forward",
        request: createTopicsRequest(asked),
        respond: (answer) => render(createTopicsResponse(asked, answer)),
      };
    }
    case DeleteTopicsRequest: {
      const asked = request as DeleteTopicsRequestData;
      return {
        _tag: "Forward",
        request: deleteTopicsRequest(asked, apiVersion),
        respond: (answer) => render(deleteTopicsResponse(asked, apiVersion, answer)),
      };
    }
    case CreatePartitionsRequest: {
      const asked = request as CreatePartitionsRequestData;
      return {
        _tag: "Forward",
        request: createPartitionsRequest(asked),
        respond: (answer) => render(createPartitionsResponse(asked, answer)),
      };
    }
    default:
      return { _tag: "Close", reason: `${api.request.name} has no handler` };
  }
};

const apiVersions = (apis: ReadonlyMap<number, Api>, errorCode: number): ApiVersionsResponseData => ({
  ...ApiVersionsResponse.defaults(),
  errorCode,
  apiKeys: [...apis.entries()].map(([apiKey, api]) => ({
    apiKey,
    minVersion: api.minVersion,
    maxVersion: api.maxVersion,
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
            listeners: [{ name: context.controllerListenerName, host: v.host, port: v.port }],
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
  const wanted = all ? null : request.topics!.map((t) => t.name).filter((n): n is string => n !== null);
  const topics = image?.topics ?? [];
  const listed = wanted === null ? topics : topics.filter((t) => wanted.includes(t.name));
  const unknown = wanted === null ? [] : wanted.filter((n) => !topics.some((t) => t.name === n));
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
        partitions: t.partitions.map((p) => ({
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
