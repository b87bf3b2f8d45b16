// The Raft RPCs as the spec sees them. Field names follow Kafka's message specs (camelCase of the
// JSON names); the one-topic/one-partition nesting of the wire format is flattened into
// topicName/partitionIndex (or topicId/partition for Fetch) so R1 can still be checked here.
// Vote follows version 2 (KIP-996): Replica* field names and the PreVote flag (R43).
import * as Schema from "effect/Schema";
import {
  ErrorCode,
  Int32,
  Int64,
  KRaftVersionRange,
  Listener,
  ReplicaKey,
  Uuid,
  Voter,
} from "./primitives.ts";

/**
 * A run of records written by one leader epoch (Kafka's partitionLeaderEpoch), without payloads.
 * `voters`: the batch is one VotersRecord control record (R90, count 1) naming this voter set, which
 * every replica applies as soon as it is in its log (R91).
 */
export const RecordBatch = Schema.Struct({
  baseOffset: Int64,
  epoch: Int32,
  count: Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)),
  voters: Schema.optionalKey(Schema.Array(Voter)),
});
export type RecordBatch = typeof RecordBatch.Type;

/** R55: the control record a new leader writes at its epochStartOffset. */
export const LeaderChangeMessage = Schema.TaggedStruct("LeaderChangeMessage", {
  leaderId: Int32,
  voters: Schema.Array(ReplicaKey),
  grantingVoters: Schema.Array(ReplicaKey),
});
export type LeaderChangeMessage = typeof LeaderChangeMessage.Type;

/** R90: the voter set from this record's offset on (KIP-853, kraft.version 1). */
export const VotersRecord = Schema.TaggedStruct("VotersRecord", { voters: Schema.Array(Voter) });
export type VotersRecord = typeof VotersRecord.Type;

/** Control records the Raft layer writes itself. */
export const ControlRecord = Schema.Union([LeaderChangeMessage, VotersRecord]);
export type ControlRecord = typeof ControlRecord.Type;

const ClusterId = Schema.NullOr(Schema.String);

// ---- Vote (apiKey 52) --------------------------------------------------------------------------

/** R43: a standard vote (preVote false, epoch already bumped) or a pre-vote (current epoch). */
export const VoteRequest = Schema.TaggedStruct("VoteRequest", {
  clusterId: ClusterId,
  voterId: Int32,
  topicName: Schema.String,
  partitionIndex: Int32,
  replicaEpoch: Int32,
  replicaId: Int32,
  replicaDirectoryId: Schema.optionalKey(Uuid),
  voterDirectoryId: Schema.optionalKey(Uuid),
  lastOffsetEpoch: Int32,
  lastOffset: Int64,
  preVote: Schema.Boolean,
});
export type VoteRequest = typeof VoteRequest.Type;

/** R44 */
export const VoteResponse = Schema.TaggedStruct("VoteResponse", {
  errorCode: ErrorCode,
  leaderId: Int32,
  leaderEpoch: Int32,
  voteGranted: Schema.Boolean,
});
export type VoteResponse = typeof VoteResponse.Type;

// ---- BeginQuorumEpoch (apiKey 53) --------------------------------------------------------------

/** R59 */
export const BeginQuorumEpochRequest = Schema.TaggedStruct("BeginQuorumEpochRequest", {
  clusterId: ClusterId,
  voterId: Int32,
  topicName: Schema.String,
  partitionIndex: Int32,
  voterDirectoryId: Schema.optionalKey(Uuid),
  leaderId: Int32,
  leaderEpoch: Int32,
});
export type BeginQuorumEpochRequest = typeof BeginQuorumEpochRequest.Type;

/** R59 */
export const BeginQuorumEpochResponse = Schema.TaggedStruct("BeginQuorumEpochResponse", {
  errorCode: ErrorCode,
  leaderId: Int32,
  leaderEpoch: Int32,
});
export type BeginQuorumEpochResponse = typeof BeginQuorumEpochResponse.Type;

// ---- EndQuorumEpoch (apiKey 54) ----------------------------------------------------------------

/** R71: preferredCandidates is the v1 form of PreferredSuccessors. */
export const EndQuorumEpochRequest = Schema.TaggedStruct("EndQuorumEpochRequest", {
  clusterId: ClusterId,
  topicName: Schema.String,
  partitionIndex: Int32,
  leaderId: Int32,
  leaderEpoch: Int32,
  preferredCandidates: Schema.Array(ReplicaKey),
});
export type EndQuorumEpochRequest = typeof EndQuorumEpochRequest.Type;

/** R71 */
export const EndQuorumEpochResponse = Schema.TaggedStruct("EndQuorumEpochResponse", {
  errorCode: ErrorCode,
  leaderId: Int32,
  leaderEpoch: Int32,
});
export type EndQuorumEpochResponse = typeof EndQuorumEpochResponse.Type;

/** R77: a snapshot's id: it replaces the records below `endOffset`, the last of which `epoch` wrote. */
export const SnapshotId = Schema.Struct({ endOffset: Int64, epoch: Int32 });
export type SnapshotId = typeof SnapshotId.Type;

// ---- Fetch (apiKey 1) --------------------------------------------------------------------------

/** R61 */
export const FetchRequest = Schema.TaggedStruct("FetchRequest", {
  clusterId: ClusterId,
  replicaId: Int32,
  replicaDirectoryId: Schema.optionalKey(Uuid),
  maxWaitMs: Int32,
  topicId: Uuid,
  partition: Int32,
  currentLeaderEpoch: Int32,
  fetchOffset: Int64,
  lastFetchedEpoch: Int32,
  /**
   * R63, KIP-1166 (Fetch v18): the high watermark the replica knows (-1: none yet). Absent: the replica
   * does not send it (Kafka's "not supported"), and the leader never answers early for it.
   */
  highWatermark: Schema.optionalKey(Int64),
});
export type FetchRequest = typeof FetchRequest.Type;

/** R62: divergingEpoch is present only when the leader found a divergence. */
export const FetchResponse = Schema.TaggedStruct("FetchResponse", {
  errorCode: ErrorCode,
  highWatermark: Int64,
  logStartOffset: Int64,
  divergingEpoch: Schema.optionalKey(Schema.Struct({ epoch: Int32, endOffset: Int64 })),
  /** R63(a), R65: present only when the replica must download this snapshot first. */
  snapshotId: Schema.optionalKey(SnapshotId),
  leaderId: Int32,
  leaderEpoch: Int32,
  records: Schema.Array(RecordBatch),
});
export type FetchResponse = typeof FetchResponse.Type;

// ---- FetchSnapshot (apiKey 59) ------------------------------------------------------------------

/** R82: ask the leader for `maxBytes` of snapshot `snapshotId` from byte `position` on. */
export const FetchSnapshotRequest = Schema.TaggedStruct("FetchSnapshotRequest", {
  clusterId: ClusterId,
  replicaId: Int32,
  replicaDirectoryId: Schema.optionalKey(Uuid),
  maxBytes: Int32,
  topicName: Schema.String,
  partitionIndex: Int32,
  currentLeaderEpoch: Int32,
  snapshotId: SnapshotId,
  position: Int64,
});
export type FetchSnapshotRequest = typeof FetchSnapshotRequest.Type;

/**
 * R82: `bytes` of the snapshot from `position` on (Kafka's UnalignedRecords; the shell carries the
 * bytes themselves), out of `size` in all. On an error the snapshot fields are -1 and bytes 0.
 */
export const FetchSnapshotResponse = Schema.TaggedStruct("FetchSnapshotResponse", {
  errorCode: ErrorCode,
  leaderId: Int32,
  leaderEpoch: Int32,
  snapshotId: SnapshotId,
  size: Int64,
  position: Int64,
  bytes: Int64,
  /**
   * R91: with kraft.version 1, the VotersRecord in force at the snapshot's end, which the snapshot
   * holds (absent: the bootstrap set is). A follower that installs the snapshot takes it as its set.
   */
  voterSet: Schema.optionalKey(Schema.Struct({ offset: Int64, voters: Schema.Array(Voter) })),
});
export type FetchSnapshotResponse = typeof FetchSnapshotResponse.Type;

// ---- DescribeQuorum (apiKey 55) ----------------------------------------------------------------

/** R88 */
export const DescribeQuorumRequest = Schema.TaggedStruct("DescribeQuorumRequest", {
  topicName: Schema.String,
  partitionIndex: Int32,
});
export type DescribeQuorumRequest = typeof DescribeQuorumRequest.Type;

/** R88: one replica's progress as the leader sees it. */
export const ReplicaState = Schema.Struct({
  replicaId: Int32,
  replicaDirectoryId: Schema.optionalKey(Uuid),
  logEndOffset: Int64,
  lastFetchTimestamp: Int64,
  lastCaughtUpTimestamp: Int64,
});
export type ReplicaState = typeof ReplicaState.Type;

/** R88 */
export const DescribeQuorumResponse = Schema.TaggedStruct("DescribeQuorumResponse", {
  errorCode: ErrorCode,
  leaderId: Int32,
  leaderEpoch: Int32,
  highWatermark: Int64,
  currentVoters: Schema.Array(ReplicaState),
  observers: Schema.Array(ReplicaState),
});
export type DescribeQuorumResponse = typeof DescribeQuorumResponse.Type;

// ---- AddRaftVoter (apiKey 80), RemoveRaftVoter (apiKey 81) -------------------------------------

/** R95: add a voter; the leader answers once the new voter set is committed (R96). */
export const AddRaftVoterRequest = Schema.TaggedStruct("AddRaftVoterRequest", {
  clusterId: ClusterId,
  timeoutMs: Int32,
  voterId: Int32,
  voterDirectoryId: Uuid,
  listeners: Schema.Array(Listener),
});
export type AddRaftVoterRequest = typeof AddRaftVoterRequest.Type;

/** R95: what both voter-change APIs answer. */
const VoterChangeAnswer = { errorCode: ErrorCode, errorMessage: Schema.NullOr(Schema.String) };

/** R95 */
export const AddRaftVoterResponse = Schema.TaggedStruct("AddRaftVoterResponse", VoterChangeAnswer);
export type AddRaftVoterResponse = typeof AddRaftVoterResponse.Type;

/** R97: remove the voter with exactly this id and directory id. */
export const RemoveRaftVoterRequest = Schema.TaggedStruct("RemoveRaftVoterRequest", {
  clusterId: ClusterId,
  voterId: Int32,
  voterDirectoryId: Uuid,
});
export type RemoveRaftVoterRequest = typeof RemoveRaftVoterRequest.Type;

/** R97 */
export const RemoveRaftVoterResponse = Schema.TaggedStruct("RemoveRaftVoterResponse", VoterChangeAnswer);
export type RemoveRaftVoterResponse = typeof RemoveRaftVoterResponse.Type;

// ---- UpdateRaftVoter (apiKey 82) -----------------------------------------------------------------

/**
 * R99: a voter asks the leader to rewrite its own entry of the voter set (its listeners and supported
 * kraft.version range); the leader appends the VotersRecord and answers at once, before the commit.
 */
export const UpdateRaftVoterRequest = Schema.TaggedStruct("UpdateRaftVoterRequest", {
  clusterId: ClusterId,
  currentLeaderEpoch: Int32,
  voterId: Int32,
  voterDirectoryId: Uuid,
  listeners: Schema.Array(Listener),
  kraftVersionFeature: KRaftVersionRange,
});
export type UpdateRaftVoterRequest = typeof UpdateRaftVoterRequest.Type;

/** R99: the answer names the leader as the answering node knows it (CurrentLeader). */
export const UpdateRaftVoterResponse = Schema.TaggedStruct("UpdateRaftVoterResponse", {
  errorCode: ErrorCode,
  leaderId: Int32,
  leaderEpoch: Int32,
});
export type UpdateRaftVoterResponse = typeof UpdateRaftVoterResponse.Type;

// ---- ApiVersions (apiKey 18), as R96 uses it ----------------------------------------------------

/**
 * R96: before adding a voter the leader asks it which kraft.version range it supports (Kafka's
 * ApiVersions; the range is the kraft.version entry of its SupportedFeatures).
 */
export const ApiVersionsRequest = Schema.TaggedStruct("ApiVersionsRequest", {});
export type ApiVersionsRequest = typeof ApiVersionsRequest.Type;

/** R96: the node's kraft.version range; null when it lists no kraft.version (a node before KIP-853). */
export const ApiVersionsResponse = Schema.TaggedStruct("ApiVersionsResponse", {
  errorCode: ErrorCode,
  kraftVersion: Schema.NullOr(KRaftVersionRange),
});
export type ApiVersionsResponse = typeof ApiVersionsResponse.Type;

// ---- unions ------------------------------------------------------------------------------------

export const RaftRequest = Schema.Union([
  VoteRequest,
  BeginQuorumEpochRequest,
  EndQuorumEpochRequest,
  FetchRequest,
  FetchSnapshotRequest,
  DescribeQuorumRequest,
  AddRaftVoterRequest,
  RemoveRaftVoterRequest,
  UpdateRaftVoterRequest,
  ApiVersionsRequest,
]);
export type RaftRequest = typeof RaftRequest.Type;

export const RaftResponse = Schema.Union([
  VoteResponse,
  BeginQuorumEpochResponse,
  EndQuorumEpochResponse,
  FetchResponse,
  FetchSnapshotResponse,
  DescribeQuorumResponse,
  AddRaftVoterResponse,
  RemoveRaftVoterResponse,
  UpdateRaftVoterResponse,
  ApiVersionsResponse,
]);
export type RaftResponse = typeof RaftResponse.Type;

export const RaftMessage = Schema.Union([RaftRequest, RaftResponse]);
export type RaftMessage = typeof RaftMessage.Type;

/** The request APIs a node sends and tracks while in flight (R40(0)). */
export const RequestApi = Schema.Literals([
  "Vote",
  "BeginQuorumEpoch",
  "EndQuorumEpoch",
  "Fetch",
  "FetchSnapshot",
  // R150: an auto-joining observer's own voter changes.
  "AddRaftVoter",
  "RemoveRaftVoter",
  // R99: a voter's request to rewrite its own entry.
  "UpdateRaftVoter",
  // R96: the leader asks a voter-to-be for its kraft.version range.
  "ApiVersions",
]);
export type RequestApi = typeof RequestApi.Type;

const API_OF_MESSAGE: ReadonlyMap<string, RequestApi> = new Map(
  RequestApi.literals.flatMap((api) => [
    [`${api}Request`, api],
    [`${api}Response`, api],
  ]),
);

/** The tracked API a request or its answer belongs to (R40(0)), or null for one no node tracks. */
export const requestApiOf = (message: RaftMessage): RequestApi | null =>
  API_OF_MESSAGE.get(message._tag) ?? null;

/** Requests and responses are told apart by their names, as in Kafka's message specs. */
export const isRequest = (message: RaftMessage): message is RaftRequest => message._tag.endsWith("Request");
