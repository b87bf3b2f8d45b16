// The spec's KRaft RPCs (spec/raft/messages.ts) as Kafka's messages: Vote, BeginQuorumEpoch,
// EndQuorumEpoch and Fetch, requests and responses, both ways. The spec flattens Kafka's one topic
// and one partition (R1 is still checked: the topic and partition travel); a Fetch response's
// records travel as Kafka record batches, which the runtime makes from its log (metadata-records.ts).
// This is the translation the nodes' binary transport is built on; it makes no protocol decision.

import type {
  AddRaftVoterResponse,
  ApiVersionsResponse,
  BeginQuorumEpochRequest,
  BeginQuorumEpochResponse,
  EndQuorumEpochRequest,
  EndQuorumEpochResponse,
  FetchRequest,
  FetchResponse,
  FetchSnapshotRequest,
  FetchSnapshotResponse,
  RaftRequest,
  RaftResponse,
  RecordBatch,
  RemoveRaftVoterResponse,
  VoteRequest,
  VoteResponse,
} from "../../spec/raft/messages.ts";
import { ErrorCode } from "../../spec/raft/primitives.ts";
import type { MessageCodec } from "./codec.ts";
import { errorCode, errorName } from "./errors.ts";
import {
  CLIENT_SOFTWARE,
  type OutgoingRequest,
  readResponseFrame,
  requestFrame,
  responseFrame,
} from "./frames.ts";
import * as generated from "./generated/messages.ts";
import {
  decodeLogBatch,
  type LogItem,
  type VoterEndpoint,
  type VoterEndpoints,
  voterKey,
} from "./metadata-records.ts";
import { LOG_OVERHEAD, readRecordBatches } from "./records.ts";
import { KafkaDecodeError, KafkaEncodeError, safeNumber, ZERO_UUID } from "./wire.ts";

/** A Kafka message and the codec it goes with. */
export interface KafkaMessage {
  readonly codec: MessageCodec<unknown>;
  readonly data: unknown;
}

/** A message of `codec`, typed together. */
export const kafkaMessage = <T>(codec: MessageCodec<T>, data: T): KafkaMessage =>
  ({ codec, data }) as KafkaMessage;
const message = kafkaMessage;

/** The error codes KRaft's messages carry, as the spec names them. */
const SPEC_ERRORS: ReadonlySet<string> = new Set(ErrorCode.literals);

/** A Kafka error code as the spec names it; one the spec does not know is a decode error. */
const specError = (code: number): ErrorCode => {
  const name = errorName(code);
  if (!SPEC_ERRORS.has(name))
    throw new KafkaDecodeError(`error code ${code} (${name}) is not one KRaft answers`);
  return name as ErrorCode;
};

/** The one topic and one partition of a KRaft message, or a decode error naming what is there. */
const only = <T>(items: readonly T[], what: string): T => {
  if (items.length !== 1) throw new KafkaDecodeError(`a KRaft message has ${items.length} ${what}, not 1`);
  return items[0]!;
};

/** The one topic of a KRaft message and its one partition. */
const onlyPartition = <T extends { readonly partitions: readonly unknown[] }>(
  topics: readonly T[],
): [T, T["partitions"][number]] => {
  const topic = only(topics, "topics");
  return [topic, only(topic.partitions, "partitions")];
};

const optionalUuid = <K extends string>(key: K, value: string): { [P in K]?: string } =>
  (value === ZERO_UUID ? {} : { [key]: value }) as { [P in K]?: string };

// ---- requests ----------------------------------------------------------------------------------

/** R95, R99: a voter's listeners, copied field by field between the spec's and Kafka's shapes. */
const listenersOf = (
  listeners: readonly { readonly name: string; readonly host: string; readonly port: number }[],
) => listeners.map((l) => ({ name: l.name, host: l.host, port: l.port }));

/**
 * `leaderEndpoints`: with kraft.version 1, a leader's BeginQuorumEpoch and EndQuorumEpoch name its own
 * listeners (KIP-853's LeaderEndpoints), so a replica can follow it whatever its voter set says (R41).
 */
export const kafkaRequest = (
  request: RaftRequest,
  leaderEndpoints: readonly VoterEndpoint[] = [],
): KafkaMessage => {
  switch (request._tag) {
    case "VoteRequest":
      return message(generated.VoteRequest, {
        clusterId: request.clusterId,
        voterId: request.voterId,
        topics: [
          {
            topicName: request.topicName,
            partitions: [
              {
                partitionIndex: request.partitionIndex,
                replicaEpoch: request.replicaEpoch,
                replicaId: request.replicaId,
                replicaDirectoryId: request.replicaDirectoryId ?? ZERO_UUID,
                voterDirectoryId: request.voterDirectoryId ?? ZERO_UUID,
                lastOffsetEpoch: request.lastOffsetEpoch,
                lastOffset: BigInt(request.lastOffset),
                preVote: request.preVote,
              },
            ],
          },
        ],
      });
    case "BeginQuorumEpochRequest":
      return message(generated.BeginQuorumEpochRequest, {
        clusterId: request.clusterId,
        voterId: request.voterId,
        topics: [
          {
            topicName: request.topicName,
            partitions: [
              {
                partitionIndex: request.partitionIndex,
                voterDirectoryId: request.voterDirectoryId ?? ZERO_UUID,
                leaderId: request.leaderId,
                leaderEpoch: request.leaderEpoch,
              },
            ],
          },
        ],
        leaderEndpoints: leaderEndpoints.map((e) => ({ name: e.name, host: e.host, port: e.port })),
      });
    case "EndQuorumEpochRequest":
      return message(generated.EndQuorumEpochRequest, {
        clusterId: request.clusterId,
        topics: [
          {
            topicName: request.topicName,
            partitions: [
              {
                partitionIndex: request.partitionIndex,
                leaderId: request.leaderId,
                leaderEpoch: request.leaderEpoch,
                preferredSuccessors: [],
                preferredCandidates: request.preferredCandidates.map((c) => ({
                  candidateId: c.id,
                  candidateDirectoryId: c.directoryId ?? ZERO_UUID,
                })),
              },
            ],
          },
        ],
        leaderEndpoints: leaderEndpoints.map((e) => ({ name: e.name, host: e.host, port: e.port })),
      });
    case "FetchRequest":
      return message(generated.FetchRequest, {
        ...generated.FetchRequest.defaults(),
        clusterId: request.clusterId,
        replicaState: { replicaId: request.replicaId, replicaEpoch: -1n },
        maxWaitMs: request.maxWaitMs,
        topics: [
          {
            topic: "",
            topicId: request.topicId,
            partitions: [
              {
                ...generated.defaultFetchRequestFetchPartition(),
                partition: request.partition,
                currentLeaderEpoch: request.currentLeaderEpoch,
                fetchOffset: BigInt(request.fetchOffset),
                lastFetchedEpoch: request.lastFetchedEpoch,
                logStartOffset: -1n,
                partitionMaxBytes: 0,
                replicaDirectoryId: request.replicaDirectoryId ?? ZERO_UUID,
                // Kafka's "not supported" when the replica sends none (R63, KIP-1166).
                highWatermark:
                  request.highWatermark === undefined ? 9223372036854775807n : BigInt(request.highWatermark),
              },
            ],
          },
        ],
      });
    case "FetchSnapshotRequest":
      return message(generated.FetchSnapshotRequest, {
        clusterId: request.clusterId,
        replicaId: request.replicaId,
        maxBytes: request.maxBytes,
        topics: [
          {
            name: request.topicName,
            partitions: [
              {
                partition: request.partitionIndex,
                currentLeaderEpoch: request.currentLeaderEpoch,
                snapshotId: {
                  endOffset: BigInt(request.snapshotId.endOffset),
                  epoch: request.snapshotId.epoch,
                },
                position: BigInt(request.position),
                replicaDirectoryId: request.replicaDirectoryId ?? ZERO_UUID,
              },
            ],
          },
        ],
      });
    case "DescribeQuorumRequest":
      return message(generated.DescribeQuorumRequest, {
        topics: [{ topicName: request.topicName, partitions: [{ partitionIndex: request.partitionIndex }] }],
      });
    case "AddRaftVoterRequest":
      // R95: the spec's leader always answers once the new set is committed.
      return message(generated.AddRaftVoterRequest, {
        clusterId: request.clusterId,
        timeoutMs: request.timeoutMs,
        voterId: request.voterId,
        voterDirectoryId: request.voterDirectoryId,
        listeners: listenersOf(request.listeners),
        ackWhenCommitted: true,
      });
    case "RemoveRaftVoterRequest":
      return message(generated.RemoveRaftVoterRequest, {
        clusterId: request.clusterId,
        voterId: request.voterId,
        voterDirectoryId: request.voterDirectoryId,
      });
    // R96: the leader asks a voter-to-be for its SupportedFeatures (KIP-511's client fields, as Kafka's).
    case "ApiVersionsRequest":
      return message(generated.ApiVersionsRequest, {
        ...generated.ApiVersionsRequest.defaults(),
        ...CLIENT_SOFTWARE,
      });
    case "UpdateRaftVoterRequest":
      return message(generated.UpdateRaftVoterRequest, {
        clusterId: request.clusterId,
        currentLeaderEpoch: request.currentLeaderEpoch,
        voterId: request.voterId,
        voterDirectoryId: request.voterDirectoryId,
        listeners: listenersOf(request.listeners),
        kRaftVersionFeature: {
          minSupportedVersion: request.kraftVersionFeature.minSupportedVersion,
          maxSupportedVersion: request.kraftVersionFeature.maxSupportedVersion,
        },
      });
  }
};

/** A Kafka request of a KRaft API as the spec's; a shape KRaft never sends is a decode error. */
export const specRequest = (apiKey: number, data: unknown): RaftRequest => {
  switch (apiKey) {
    case generated.VoteRequest.apiKey: {
      const r = data as generated.VoteRequestData;
      const [topic, p] = onlyPartition(r.topics);
      const vote: VoteRequest = {
        _tag: "VoteRequest",
        clusterId: r.clusterId,
        voterId: r.voterId,
        topicName: topic.topicName,
        partitionIndex: p.partitionIndex,
        replicaEpoch: p.replicaEpoch,
        replicaId: p.replicaId,
        ...optionalUuid("replicaDirectoryId", p.replicaDirectoryId),
        ...optionalUuid("voterDirectoryId", p.voterDirectoryId),
        lastOffsetEpoch: p.lastOffsetEpoch,
        lastOffset: safeNumber(p.lastOffset, "lastOffset"),
        preVote: p.preVote,
      };
      return vote;
    }
    case generated.BeginQuorumEpochRequest.apiKey: {
      const r = data as generated.BeginQuorumEpochRequestData;
      const [topic, p] = onlyPartition(r.topics);
      const begin: BeginQuorumEpochRequest = {
        _tag: "BeginQuorumEpochRequest",
        clusterId: r.clusterId,
        voterId: r.voterId,
        topicName: topic.topicName,
        partitionIndex: p.partitionIndex,
        ...optionalUuid("voterDirectoryId", p.voterDirectoryId),
        leaderId: p.leaderId,
        leaderEpoch: p.leaderEpoch,
      };
      return begin;
    }
    case generated.EndQuorumEpochRequest.apiKey: {
      const r = data as generated.EndQuorumEpochRequestData;
      const [topic, p] = onlyPartition(r.topics);
      const end: EndQuorumEpochRequest = {
        _tag: "EndQuorumEpochRequest",
        clusterId: r.clusterId,
        topicName: topic.topicName,
        partitionIndex: p.partitionIndex,
        leaderId: p.leaderId,
        leaderEpoch: p.leaderEpoch,
        // v0 names successors by id only (PreferredSuccessors); v1 by key (PreferredCandidates).
        preferredCandidates:
          p.preferredCandidates.length > 0
            ? p.preferredCandidates.map((c) => voterKey(c.candidateId, c.candidateDirectoryId))
            : p.preferredSuccessors.map((id) => ({ id })),
      };
      return end;
    }
    case generated.FetchRequest.apiKey: {
      const r = data as generated.FetchRequestData;
      const [topic, p] = onlyPartition(r.topics);
      const fetch: FetchRequest = {
        _tag: "FetchRequest",
        clusterId: r.clusterId,
        // v15 moved the replica id into ReplicaState; before, it is the top-level field.
        replicaId: r.replicaState.replicaId >= 0 ? r.replicaState.replicaId : r.replicaId,
        ...optionalUuid("replicaDirectoryId", p.replicaDirectoryId),
        maxWaitMs: r.maxWaitMs,
        topicId: topic.topicId,
        partition: p.partition,
        currentLeaderEpoch: p.currentLeaderEpoch,
        fetchOffset: safeNumber(p.fetchOffset, "fetchOffset"),
        lastFetchedEpoch: p.lastFetchedEpoch,
        ...(p.highWatermark === 9223372036854775807n
          ? {}
          : { highWatermark: safeNumber(p.highWatermark, "highWatermark") }),
      };
      return fetch;
    }
    case generated.FetchSnapshotRequest.apiKey: {
      const r = data as generated.FetchSnapshotRequestData;
      const [topic, p] = onlyPartition(r.topics);
      const fetchSnapshot: FetchSnapshotRequest = {
        _tag: "FetchSnapshotRequest",
        clusterId: r.clusterId,
        replicaId: r.replicaId,
        ...optionalUuid("replicaDirectoryId", p.replicaDirectoryId),
        maxBytes: r.maxBytes,
        topicName: topic.name,
        partitionIndex: p.partition,
        currentLeaderEpoch: p.currentLeaderEpoch,
        snapshotId: {
          endOffset: safeNumber(p.snapshotId.endOffset, "snapshotId.endOffset"),
          epoch: p.snapshotId.epoch,
        },
        position: safeNumber(p.position, "position"),
      };
      return fetchSnapshot;
    }
    case generated.DescribeQuorumRequest.apiKey: {
      const r = data as generated.DescribeQuorumRequestData;
      const [topic, p] = onlyPartition(r.topics);
      return { _tag: "DescribeQuorumRequest", topicName: topic.topicName, partitionIndex: p.partitionIndex };
    }
    case generated.AddRaftVoterRequest.apiKey: {
      // R95: v0 has no AckWhenCommitted and acknowledges once committed, as the spec's leader does; a
      // request for an acknowledgement before the commit is answered after it all the same.
      const r = data as generated.AddRaftVoterRequestData;
      return {
        _tag: "AddRaftVoterRequest",
        clusterId: r.clusterId,
        timeoutMs: r.timeoutMs,
        voterId: r.voterId,
        voterDirectoryId: r.voterDirectoryId,
        listeners: listenersOf(r.listeners),
      };
    }
    case generated.RemoveRaftVoterRequest.apiKey: {
      const r = data as generated.RemoveRaftVoterRequestData;
      return {
        _tag: "RemoveRaftVoterRequest",
        clusterId: r.clusterId,
        voterId: r.voterId,
        voterDirectoryId: r.voterDirectoryId,
      };
    }
    case generated.UpdateRaftVoterRequest.apiKey: {
      const r = data as generated.UpdateRaftVoterRequestData;
      return {
        _tag: "UpdateRaftVoterRequest",
        clusterId: r.clusterId,
        currentLeaderEpoch: r.currentLeaderEpoch,
        voterId: r.voterId,
        voterDirectoryId: r.voterDirectoryId,
        listeners: listenersOf(r.listeners),
        kraftVersionFeature: {
          minSupportedVersion: r.kRaftVersionFeature.minSupportedVersion,
          maxSupportedVersion: r.kRaftVersionFeature.maxSupportedVersion,
        },
      };
    }
    default:
      throw new KafkaDecodeError(`API key ${apiKey} is not a KRaft request`);
  }
};

/**
 * The responses the runtime answers through this codec: DescribeQuorum goes through spec/node (R88),
 * and the voter-change answers (R95, R97) have no partition to frame them in.
 */
export type WireRaftResponse = Exclude<
  RaftResponse,
  {
    _tag:
      | "DescribeQuorumResponse"
      | "AddRaftVoterResponse"
      | "RemoveRaftVoterResponse"
      | "UpdateRaftVoterResponse"
      | "ApiVersionsResponse";
  }
>;

// ---- responses -----------------------------------------------------------------------------------

/**
 * The topic and partition a response answers for: the spec's responses do not carry them (its
 * requests do), so the caller passes those of the request it answers.
 */
export interface Answering {
  readonly topicName: string;
  readonly topicId: string;
  readonly partitionIndex: number;
}

/** A response of the spec's as Kafka's. A Fetch response's records are Kafka record batches. */
export const kafkaResponse = (
  response: WireRaftResponse,
  answering: Answering,
  records: Uint8Array | null = null,
  leader: NodeEndpoint | null = null,
): KafkaMessage => {
  // KIP-853's NodeEndpoints: where the leader the answer names listens.
  const nodeEndpoints =
    leader === null ? [] : [{ nodeId: leader.nodeId, host: leader.host, port: leader.port }];
  const partition = {
    partitionIndex: answering.partitionIndex,
    errorCode: errorCode(response.errorCode),
    leaderId: response.leaderId,
    leaderEpoch: response.leaderEpoch,
  };
  switch (response._tag) {
    case "VoteResponse":
      return message(generated.VoteResponse, {
        errorCode: 0,
        topics: [
          {
            topicName: answering.topicName,
            partitions: [{ ...partition, voteGranted: response.voteGranted }],
          },
        ],
        nodeEndpoints,
      });
    case "BeginQuorumEpochResponse":
      return message(generated.BeginQuorumEpochResponse, {
        errorCode: 0,
        topics: [{ topicName: answering.topicName, partitions: [partition] }],
        nodeEndpoints,
      });
    case "EndQuorumEpochResponse":
      return message(generated.EndQuorumEpochResponse, {
        errorCode: 0,
        topics: [{ topicName: answering.topicName, partitions: [partition] }],
        nodeEndpoints,
      });
    case "FetchResponse": {
      const defaults = generated.FetchResponse.defaults();
      return message(generated.FetchResponse, {
        ...defaults,
        nodeEndpoints: nodeEndpoints.map((e) => ({ ...e, rack: null })),
        responses: [
          {
            topic: "",
            topicId: answering.topicId,
            partitions: [
              {
                partitionIndex: answering.partitionIndex,
                errorCode: errorCode(response.errorCode),
                highWatermark: BigInt(response.highWatermark),
                lastStableOffset: -1n,
                logStartOffset: BigInt(response.logStartOffset),
                divergingEpoch:
                  response.divergingEpoch === undefined
                    ? { epoch: -1, endOffset: -1n }
                    : {
                        epoch: response.divergingEpoch.epoch,
                        endOffset: BigInt(response.divergingEpoch.endOffset),
                      },
                currentLeader: { leaderId: response.leaderId, leaderEpoch: response.leaderEpoch },
                snapshotId:
                  response.snapshotId === undefined
                    ? { endOffset: -1n, epoch: -1 }
                    : { endOffset: BigInt(response.snapshotId.endOffset), epoch: response.snapshotId.epoch },
                abortedTransactions: null,
                preferredReadReplica: -1,
                records,
              },
            ],
          },
        ],
      });
    }
    case "FetchSnapshotResponse":
      return message(generated.FetchSnapshotResponse, {
        throttleTimeMs: 0,
        errorCode: 0,
        topics: [
          {
            name: answering.topicName,
            partitions: [
              {
                index: answering.partitionIndex,
                errorCode: errorCode(response.errorCode),
                snapshotId: {
                  endOffset: BigInt(response.snapshotId.endOffset),
                  epoch: response.snapshotId.epoch,
                },
                currentLeader: { leaderId: response.leaderId, leaderEpoch: response.leaderEpoch },
                size: BigInt(response.size),
                position: BigInt(response.position),
                unalignedRecords: records ?? new Uint8Array(0),
              },
            ],
          },
        ],
        nodeEndpoints,
      });
  }
};

/** The feature whose range ApiVersions' SupportedFeatures gives for KRaft (R89, R96). */
export const KRAFT_VERSION_FEATURE = "kraft.version";

/**
 * A KRaft answer a node reads on its own requests: the partitioned ones, and an auto-joining
 * controller's own voter changes (R150).
 */
export type IncomingResponse =
  | WireRaftResponse
  | AddRaftVoterResponse
  | RemoveRaftVoterResponse
  | ApiVersionsResponse;

/** What a Fetch response carries besides the spec's fields: the records themselves. */
export interface SpecResponse {
  readonly response: IncomingResponse;
  /** A Fetch response's record batches, as Kafka bytes (null: none). */
  readonly records: Uint8Array | null;
}

/**
 * A Kafka response of a KRaft API as the spec's. `batches` reads the record batches of a Fetch
 * response into the spec's batch descriptions (baseOffset, epoch, count).
 */
export const specResponse = (
  apiKey: number,
  data: unknown,
  batches: (records: Uint8Array) => readonly RecordBatch[],
): SpecResponse => {
  switch (apiKey) {
    // R96: a voter-to-be's kraft.version range, from its SupportedFeatures.
    case generated.ApiVersionsResponse.apiKey: {
      const r = data as generated.ApiVersionsResponseData;
      const feature = r.supportedFeatures.find((f) => f.name === KRAFT_VERSION_FEATURE);
      return {
        response: {
          _tag: "ApiVersionsResponse",
          errorCode: specError(r.errorCode),
          kraftVersion:
            feature === undefined
              ? null
              : { minSupportedVersion: feature.minVersion, maxSupportedVersion: feature.maxVersion },
        },
        records: null,
      };
    }
    // R150: the answer to an auto-joining controller's own AddRaftVoter or RemoveRaftVoter.
    case generated.AddRaftVoterResponse.apiKey:
    case generated.RemoveRaftVoterResponse.apiKey: {
      const r = data as generated.AddRaftVoterResponseData;
      const fields = { errorCode: specError(r.errorCode), errorMessage: r.errorMessage };
      return {
        response:
          apiKey === generated.AddRaftVoterResponse.apiKey
            ? { _tag: "AddRaftVoterResponse", ...fields }
            : { _tag: "RemoveRaftVoterResponse", ...fields },
        records: null,
      };
    }
    case generated.VoteResponse.apiKey: {
      const r = data as generated.VoteResponseData;
      const p = onlyPartition(r.topics)[1];
      const vote: VoteResponse = {
        _tag: "VoteResponse",
        errorCode: specError(r.errorCode !== 0 ? r.errorCode : p.errorCode),
        leaderId: p.leaderId,
        leaderEpoch: p.leaderEpoch,
        voteGranted: p.voteGranted,
      };
      return { response: vote, records: null };
    }
    case generated.BeginQuorumEpochResponse.apiKey:
    case generated.EndQuorumEpochResponse.apiKey: {
      const r = data as generated.BeginQuorumEpochResponseData;
      const p = onlyPartition(r.topics)[1];
      const fields = {
        errorCode: specError(r.errorCode !== 0 ? r.errorCode : p.errorCode),
        leaderId: p.leaderId,
        leaderEpoch: p.leaderEpoch,
      };
      const response: BeginQuorumEpochResponse | EndQuorumEpochResponse =
        apiKey === generated.BeginQuorumEpochResponse.apiKey
          ? { _tag: "BeginQuorumEpochResponse", ...fields }
          : { _tag: "EndQuorumEpochResponse", ...fields };
      return { response, records: null };
    }
    case generated.FetchResponse.apiKey: {
      const r = data as generated.FetchResponseData;
      const [, p] = onlyPartition(r.responses);
      const records = p.records === null || p.records.length === 0 ? null : p.records;
      const fetch: FetchResponse = {
        _tag: "FetchResponse",
        errorCode: specError(r.errorCode !== 0 ? r.errorCode : p.errorCode),
        highWatermark: safeNumber(p.highWatermark, "highWatermark"),
        logStartOffset: safeNumber(p.logStartOffset, "logStartOffset"),
        ...(p.divergingEpoch.epoch < 0
          ? {}
          : {
              divergingEpoch: {
                epoch: p.divergingEpoch.epoch,
                endOffset: safeNumber(p.divergingEpoch.endOffset, "divergingEpoch.endOffset"),
              },
            }),
        ...(p.snapshotId.epoch < 0 && p.snapshotId.endOffset < 0n
          ? {}
          : {
              snapshotId: {
                endOffset: safeNumber(p.snapshotId.endOffset, "snapshotId.endOffset"),
                epoch: p.snapshotId.epoch,
              },
            }),
        leaderId: p.currentLeader.leaderId,
        leaderEpoch: p.currentLeader.leaderEpoch,
        records: records === null ? [] : batches(records),
      };
      return { response: fetch, records };
    }
    case generated.FetchSnapshotResponse.apiKey: {
      const r = data as generated.FetchSnapshotResponseData;
      const [, p] = onlyPartition(r.topics);
      const bytes = p.unalignedRecords;
      const fetchSnapshot: FetchSnapshotResponse = {
        _tag: "FetchSnapshotResponse",
        errorCode: specError(r.errorCode !== 0 ? r.errorCode : p.errorCode),
        leaderId: p.currentLeader.leaderId,
        leaderEpoch: p.currentLeader.leaderEpoch,
        snapshotId: {
          endOffset: safeNumber(p.snapshotId.endOffset, "snapshotId.endOffset"),
          epoch: p.snapshotId.epoch,
        },
        size: safeNumber(p.size, "size"),
        position: safeNumber(p.position, "position"),
        bytes: bytes.length,
      };
      return { response: fetchSnapshot, records: bytes.length === 0 ? null : bytes };
    }
    default:
      throw new KafkaDecodeError(`API key ${apiKey} is not a KRaft response`);
  }
};

// ---- frames between nodes ------------------------------------------------------------------------

/** The responses of the KRaft APIs a node sends, by API key. */
const RESPONSE_CODECS: ReadonlyMap<number, MessageCodec<unknown>> = new Map(
  [
    generated.VoteResponse,
    generated.BeginQuorumEpochResponse,
    generated.EndQuorumEpochResponse,
    generated.FetchResponse,
    generated.FetchSnapshotResponse,
    generated.AddRaftVoterResponse,
    generated.RemoveRaftVoterResponse,
    generated.ApiVersionsResponse,
  ].map((codec) => [codec.apiKey, codec as MessageCodec<unknown>]),
);

/**
 * A KRaft request as Kafka's request frame body, at the highest version Kafka 4.4 speaks (Vote v2,
 * BeginQuorumEpoch v1, EndQuorumEpoch v1, Fetch v18), under `correlationId`.
 */
export const encodeRaftRequest = (
  request: RaftRequest,
  correlationId: number,
  clientId: string,
  leaderEndpoints: readonly VoterEndpoint[] = [],
): OutgoingRequest => {
  const { codec, data } = kafkaRequest(request, leaderEndpoints);
  return requestFrame(codec, data, correlationId, clientId);
};

/** The node a KRaft request comes from, as the request names it. */
export const raftRequestSender = (request: RaftRequest): number => {
  switch (request._tag) {
    case "VoteRequest":
    case "FetchRequest":
    case "FetchSnapshotRequest":
      return request.replicaId;
    case "BeginQuorumEpochRequest":
    case "EndQuorumEpochRequest":
      return request.leaderId;
    case "DescribeQuorumRequest":
    case "AddRaftVoterRequest":
    case "RemoveRaftVoterRequest":
    // R99: a voter sends it for itself, but so may a tool on its behalf; answered like an operator's.
    case "UpdateRaftVoterRequest":
    // R96: any client may ask; the shell's Kafka server answers it, not the Raft layer.
    case "ApiVersionsRequest":
      return -1;
  }
};

/** The records a Fetch response brought: the spec's batches (one per epoch run) and what each offset holds. */
export interface FetchedRecords {
  readonly batches: readonly RecordBatch[];
  readonly items: readonly LogItem[];
  /** Each of Kafka's batches as it came (checked): a follower keeps them as they are, as Kafka's do. */
  readonly raw: readonly FetchedBatch[];
}

/** One record batch of a Fetch answer: its first offset, how many records it holds, its bytes. */
export interface FetchedBatch {
  readonly baseOffset: number;
  readonly count: number;
  readonly bytes: Uint8Array;
}

/**
 * Read a Fetch response's record batches (each checked against its CRC-32C) into the spec's batch
 * descriptions, one per run of one epoch as the leader's log lists them (R63), and their log items.
 * Batches must follow each other without a gap.
 */
export const readFetchedRecords = (records: Uint8Array): FetchedRecords => {
  const { batches } = readRecordBatches(records);
  const described: RecordBatch[] = [];
  const items: LogItem[] = [];
  const raw: FetchedBatch[] = [];
  const view = new DataView(records.buffer, records.byteOffset, records.byteLength);
  let position = 0;
  let end = -1;
  for (const batch of batches) {
    const baseOffset = safeNumber(batch.baseOffset, "baseOffset");
    if (end >= 0 && end !== baseOffset)
      throw new KafkaDecodeError(
        `a Fetch response's batch at offset ${baseOffset} does not follow the one ending at ${end}`,
      );
    const batchItems = decodeLogBatch(batch);
    end = baseOffset + batchItems.length;
    // Its bytes: its length field (after the base offset) counts what follows that field.
    const size = LOG_OVERHEAD + view.getInt32(position + 8);
    raw.push({ baseOffset, count: batchItems.length, bytes: records.subarray(position, position + size) });
    position += size;
    batchItems.forEach((item, i) => {
      items.push(item);
      // R91: a VotersRecord is a batch of its own that names its voter set, in force once appended.
      if (item.control?._tag === "VotersRecord") {
        described.push({
          baseOffset: baseOffset + i,
          epoch: item.epoch,
          count: 1,
          voters: item.control.voters,
        });
        return;
      }
      const last = described.at(-1);
      if (last !== undefined && last.voters === undefined && last.epoch === item.epoch)
        described[described.length - 1] = { ...last, count: last.count + 1 };
      else described.push({ baseOffset: baseOffset + i, epoch: item.epoch, count: 1 });
    });
  }
  return { batches: described, items, raw };
};

/** A KRaft response as a node receives it: the spec's message, and a Fetch response's records. */
export interface IncomingRaftResponse {
  readonly response: IncomingResponse;
  readonly fetched: readonly LogItem[] | null;
  /** The Fetch response's batches as they came (with `fetched`). */
  readonly fetchedBatches: readonly FetchedBatch[];
  /** A FetchSnapshot response's part of the snapshot (UnalignedRecords), as raw bytes. */
  readonly snapshotBytes: Uint8Array | null;
  /** KIP-853's NodeEndpoints: where the nodes the answer names listen. */
  readonly nodeEndpoints: readonly NodeEndpoint[];
}

/**
 * A response frame body to a KRaft request sent at `apiKey` and `version`: its header, then the
 * message, as the spec's. Anything KRaft never answers is a KafkaDecodeError.
 */
export const decodeRaftResponse = (
  body: Uint8Array,
  apiKey: number,
  version: number,
): IncomingRaftResponse => {
  const codec = RESPONSE_CODECS.get(apiKey);
  if (codec === undefined) throw new KafkaDecodeError(`API key ${apiKey} is not a KRaft request`);
  const data = readResponseFrame(codec, body, version);
  let fetched: readonly LogItem[] | null = null;
  let fetchedBatches: readonly FetchedBatch[] = [];
  const { response, records } = specResponse(apiKey, data, (records) => {
    const read = readFetchedRecords(records);
    fetched = read.items;
    fetchedBatches = read.raw;
    return read.batches;
  });
  const snapshotBytes = response._tag === "FetchSnapshotResponse" ? (records ?? null) : null;
  const listed = (data as { nodeEndpoints?: readonly NodeEndpoint[] }).nodeEndpoints ?? [];
  const nodeEndpoints = listed.map((e) => ({ nodeId: e.nodeId, host: e.host, port: e.port }));
  return { response, fetched, fetchedBatches, snapshotBytes, nodeEndpoints };
};

/**
 * How a node answers a KRaft request that came as Kafka's: the answer's frame body (response header
 * under the request's correlation id, then the message at the request's version), with a Fetch
 * response's records as Kafka batch bytes.
 */
export const raftResponseFrame = (
  apiKey: number,
  version: number,
  correlationId: number,
  response: WireRaftResponse,
  answering: Answering,
  records: Uint8Array | null,
  leader: NodeEndpoint | null = null,
): Uint8Array => {
  const codec = RESPONSE_CODECS.get(apiKey);
  if (codec === undefined) throw new KafkaEncodeError(`API key ${apiKey} is not a KRaft request`);
  // NodeEndpoints is in Fetch from v16 and in the other KRaft answers from v1.
  const withEndpoints = version >= (apiKey === generated.FetchResponse.apiKey ? 16 : 1) ? leader : null;
  return responseFrame(
    codec,
    kafkaResponse(response, answering, records, withEndpoints).data,
    version,
    correlationId,
  );
};

/** Where a node listens, as KRaft's answers name it (NodeEndpoints). */
export interface NodeEndpoint {
  readonly nodeId: number;
  readonly host: string;
  readonly port: number;
}

/** The leader endpoints a KRaft request carries (BeginQuorumEpoch, EndQuorumEpoch), by its leader id. */
export const requestLeaderEndpoints = (apiKey: number, data: unknown): VoterEndpoints | undefined => {
  if (
    apiKey !== generated.BeginQuorumEpochRequest.apiKey &&
    apiKey !== generated.EndQuorumEpochRequest.apiKey
  )
    return undefined;
  const r = data as generated.BeginQuorumEpochRequestData | generated.EndQuorumEpochRequestData;
  const leaderId = r.topics[0]?.partitions[0]?.leaderId;
  if (leaderId === undefined || leaderId < 0 || r.leaderEndpoints.length === 0) return undefined;
  return {
    id: leaderId,
    endpoints: r.leaderEndpoints.map((e) => ({ name: e.name, host: e.host, port: e.port })),
  };
};

/** R95, R97: the answer to an AddRaftVoter or RemoveRaftVoter request, as Kafka's frame body. */
export const voterChangeResponseFrame = (
  apiKey: number,
  version: number,
  correlationId: number,
  response: { readonly errorCode: ErrorCode; readonly errorMessage: string | null },
): Uint8Array => {
  const codec =
    apiKey === generated.AddRaftVoterResponse.apiKey
      ? (generated.AddRaftVoterResponse as MessageCodec<unknown>)
      : apiKey === generated.RemoveRaftVoterResponse.apiKey
        ? (generated.RemoveRaftVoterResponse as MessageCodec<unknown>)
        : undefined;
  if (codec === undefined) throw new KafkaEncodeError(`API key ${apiKey} is not a voter change`);
  return responseFrame(
    codec,
    { throttleTimeMs: 0, errorCode: errorCode(response.errorCode), errorMessage: response.errorMessage },
    version,
    correlationId,
  );
};

/**
 * R99: the answer to an UpdateRaftVoter request, as Kafka's frame body: the leader as the answering
 * node knows it, with its controller listener when known (Kafka's CurrentLeader; host "" and port -1
 * when not).
 */
export const updateVoterResponseFrame = (
  version: number,
  correlationId: number,
  response: { readonly errorCode: ErrorCode; readonly leaderId: number; readonly leaderEpoch: number },
  leader: NodeEndpoint | null,
): Uint8Array =>
  responseFrame(
    generated.UpdateRaftVoterResponse as MessageCodec<unknown>,
    {
      throttleTimeMs: 0,
      errorCode: errorCode(response.errorCode),
      currentLeader: {
        leaderId: response.leaderId,
        leaderEpoch: response.leaderEpoch,
        host: leader?.nodeId === response.leaderId ? leader.host : "",
        port: leader?.nodeId === response.leaderId ? leader.port : -1,
      },
    },
    version,
    correlationId,
  );

/** The topic and partition a KRaft request names, which its answer repeats. */
export const answeringOf = (request: RaftRequest): Answering =>
  request._tag === "FetchRequest"
    ? { topicName: "", topicId: request.topicId, partitionIndex: request.partition }
    : request._tag === "AddRaftVoterRequest" ||
        request._tag === "RemoveRaftVoterRequest" ||
        request._tag === "UpdateRaftVoterRequest" ||
        request._tag === "ApiVersionsRequest"
      ? { topicName: "", topicId: ZERO_UUID, partitionIndex: 0 }
      : { topicName: request.topicName, topicId: ZERO_UUID, partitionIndex: request.partitionIndex };
