// The node state, the persisted election state and the configuration of the Raft layer.
import * as Schema from "effect/Schema";
import { RequestApi, SnapshotId } from "./messages.ts";
import { Int32, Int64, KRaftVersionRange, Listener, ReplicaKey, Uuid, Voter } from "./primitives.ts";

// ---- the log's shape ---------------------------------------------------------------------------

/** One entry of the epoch cache: `epoch` wrote the records from `startOffset` on (R3). */
export const EpochStart = Schema.Struct({ epoch: Int32, startOffset: Int64 });
export type EpochStart = typeof EpochStart.Type;

/**
 * R77: a snapshot of the state machine: it replaces the records below `endOffset` (exclusive), the
 * last of which `epoch` wrote. `size` is its length in bytes as the shell wrote it; FetchSnapshot
 * positions are byte positions in it (R83).
 */
export const SnapshotInfo = Schema.Struct({ ...SnapshotId.fields, size: Int64 });
export type SnapshotInfo = typeof SnapshotInfo.Type;

/** R91: the voter set a VotersRecord at `offset` names, in force from that offset on. */
export const VoterSetEntry = Schema.Struct({ offset: Int64, voters: Schema.Array(Voter) });
export type VoterSetEntry = typeof VoterSetEntry.Type;

/**
 * What protocol decisions need of the log (ARCHITECTURE "The log"): its bounds, how much of it is
 * durable, which epoch wrote which offsets, and the snapshots that replace its prefix (R77–R81).
 * Payloads live with the shell (disk or checker). All end offsets are exclusive (R2). The epoch
 * cache covers only the records from startOffset on; `snapshots` (absent: none) is in ascending
 * order, and once startOffset > 0 the first one ends exactly there (R79, SnapshotAtLogStart).
 */
export const LogState = Schema.Struct({
  startOffset: Int64,
  endOffset: Int64,
  flushedOffset: Int64,
  epochs: Schema.Array(EpochStart),
  snapshots: Schema.optionalKey(Schema.Array(SnapshotInfo)),
  /**
   * R91: the VotersRecords in the log, oldest first (absent: none). Each is in force from its offset
   * as soon as it is appended, committed or not; a truncation drops those at or after the cut.
   */
  voterSets: Schema.optionalKey(Schema.Array(VoterSetEntry)),
});
export type LogState = typeof LogState.Type;

// ---- persisted election state (quorum-state, R12–R13) -----------------------------------------

/** R13: what the quorum-state file holds: the epoch, the leader if known, the vote if cast. */
export const ElectionState = Schema.Struct({
  epoch: Int32,
  leaderId: Int32,
  votedKey: Schema.optionalKey(ReplicaKey),
});
export type ElectionState = typeof ElectionState.Type;

// ---- roles (R9–R11) ----------------------------------------------------------------------------

/** R10: no leader known in this epoch; votedKey set once a standard vote was granted. */
export const Unattached = Schema.TaggedStruct("Unattached", {
  leaderId: Int32,
  votedKey: Schema.optionalKey(ReplicaKey),
});
export type Unattached = typeof Unattached.Type;

/** R10: a pre-vote election in the current epoch (KIP-996). */
export const Prospective = Schema.TaggedStruct("Prospective", {
  leaderId: Int32,
  votedKey: Schema.optionalKey(ReplicaKey),
  granted: Schema.Array(Int32),
  rejected: Schema.Array(Int32),
});
export type Prospective = typeof Prospective.Type;

/** R10: a standard election in a bumped epoch; the candidate granted itself. */
export const Candidate = Schema.TaggedStruct("Candidate", {
  granted: Schema.Array(Int32),
  rejected: Schema.Array(Int32),
});
export type Candidate = typeof Candidate.Type;

/** The leader's view of one replica (R63(c), R88). endOffset -1 = not yet known. */
export const ReplicaProgress = Schema.Struct({
  id: Int32,
  directoryId: Schema.optionalKey(Uuid),
  endOffset: Int64,
  /** R56: heard from (a fetch, or a BeginQuorumEpoch answered) in the current resend interval. */
  acknowledged: Schema.Boolean,
  lastFetchTimestamp: Int64,
  lastCaughtUpTimestamp: Int64,
});
export type ReplicaProgress = typeof ReplicaProgress.Type;

/** R63(d): a Fetch the leader holds until there is something new to say. */
export const ParkedFetch = Schema.Struct({
  replicaId: Int32,
  replicaDirectoryId: Schema.optionalKey(Uuid),
  fetchOffset: Int64,
  correlationId: Schema.optionalKey(Schema.Int),
});
export type ParkedFetch = typeof ParkedFetch.Type;

/**
 * R93, R96, R97: the voter change this leader appended and has not yet seen committed: the
 * VotersRecord's offset and who asked (answered when the high watermark passes the record).
 */
export const PendingVoterChange = Schema.Struct({
  api: Schema.Literals(["AddRaftVoter", "RemoveRaftVoter"]),
  offset: Int64,
  requesterId: Int32,
  correlationId: Schema.optionalKey(Schema.Int),
});
export type PendingVoterChange = typeof PendingVoterChange.Type;

/** R10, R54: highWatermark -1 until a record of this epoch is majority-replicated. */
export const Leader = Schema.TaggedStruct("Leader", {
  epochStartOffset: Int64,
  highWatermark: Int64,
  voterStates: Schema.Array(ReplicaProgress),
  observerStates: Schema.Array(ReplicaProgress),
  fetchedVoters: Schema.Array(Int32),
  parkedFetches: Schema.Array(ParkedFetch),
  pendingVoterChange: Schema.optionalKey(PendingVoterChange),
  /**
   * R96: the voter an AddRaftVoter names, asked for its kraft.version range (ApiVersions) and not yet
   * answered; a change pending for R93.
   */
  addingVoter: Schema.optionalKey(
    Schema.Struct({
      voter: Voter,
      requesterId: Int32,
      correlationId: Schema.optionalKey(Schema.Int),
    }),
  ),
});
export type Leader = typeof Leader.Type;

/** R83: a snapshot this follower is downloading from its leader, and how many bytes it holds. */
export const SnapshotDownload = Schema.Struct({ ...SnapshotId.fields, position: Int64 });
export type SnapshotDownload = typeof SnapshotDownload.Type;

/**
 * R10: hasFetchedFromLeader drives the pre-vote grant table (R50). fetchingSnapshot: the leader
 * answered a Fetch with a snapshot id (R66(ii)); until it is downloaded the follower sends
 * FetchSnapshot instead of Fetch. A new role drops it (a partial download is never used).
 */
export const Follower = Schema.TaggedStruct("Follower", {
  leaderId: Int32,
  votedKey: Schema.optionalKey(ReplicaKey),
  hasFetchedFromLeader: Schema.Boolean,
  fetchingSnapshot: Schema.optionalKey(SnapshotDownload),
});
export type Follower = typeof Follower.Type;

/** R10, R72: a former leader of this epoch telling the other voters to elect a successor. */
export const Resigned = Schema.TaggedStruct("Resigned", {
  unackedVoters: Schema.Array(Int32),
  preferredSuccessors: Schema.Array(ReplicaKey),
});
export type Resigned = typeof Resigned.Type;

export const Role = Schema.Union([Unattached, Prospective, Candidate, Leader, Follower, Resigned]);
export type Role = typeof Role.Type;
export type RoleName = Role["_tag"];

// ---- timers (R31–R35) --------------------------------------------------------------------------

/**
 * The timers a node can have armed. The reducer never measures time: it asks the shell to arm a
 * timer (with a jitter range the shell draws from) and is told when one expires.
 */
export const TimerKind = Schema.Literals([
  "election",
  "fetch",
  "checkQuorum",
  "beginQuorumEpoch",
  "fetchWait",
  "retryBackoff",
  /**
   * R34: the update-voter-set period: when it runs out a voter asks the leader to rewrite its entry if
   * it differs (R99), an auto-joining observer asks to become a voter (R150).
   */
  "updateVoterSet",
]);
export type TimerKind = typeof TimerKind.Type;

/** R40(0): a request this node sent and has not yet seen answered, by its correlation id. */
export const InflightRequest = Schema.Struct({ destination: Int32, api: RequestApi, correlationId: Int32 });
export type InflightRequest = typeof InflightRequest.Type;

// ---- the node ----------------------------------------------------------------------------------

export const NodeState = Schema.Struct({
  nodeId: Int32,
  directoryId: Schema.optionalKey(Uuid),
  epoch: Int32,
  role: Role,
  log: LogState,
  /** Committed end offset this process knows (exclusive); never decreases while it runs (R144). */
  highWatermark: Int64,
  /**
   * R8, R91: the latest voter set known to this node: the newest VotersRecord in its log, or the
   * bootstrap set of its configuration when the log holds none.
   */
  voters: Schema.Array(Voter),
  inflight: Schema.Array(InflightRequest),
  timers: Schema.Array(TimerKind),
  /** Observers without a known leader fetch from the voters in turn (R74). */
  bootstrapCursor: Schema.Int,
  /**
   * R74: the leader whose fetch timeout this observer saw expire, asked last and not followed on
   * another node's word until a fetch timeout has passed or it follows a leader; NO_ID otherwise.
   */
  quietLeaderId: Int32,
  /** R35: set once a graceful shutdown was requested. */
  shuttingDown: Schema.Boolean,
  /**
   * R146: this voter lost records at startup that it may have acknowledged (a corrupt log); until it
   * has caught up with a leader it neither votes nor stands for election.
   */
  recovering: Schema.Boolean,
  /** The correlation id the next request will carry (R40(0)); only ever compared for equality. */
  nextCorrelationId: Int32,
});
export type NodeState = typeof NodeState.Type;

// ---- configuration -----------------------------------------------------------------------------

/** Kafka's defaults for `controller.quorum.*` (R7). */
export const DEFAULT_TIMEOUTS = {
  electionTimeoutMs: 1000,
  electionBackoffMaxMs: 1000,
  fetchTimeoutMs: 2000,
  fetchMaxWaitMs: 500,
  retryBackoffMs: 20,
} as const;

export const RaftConfig = Schema.Struct({
  nodeId: Int32,
  directoryId: Schema.optionalKey(Uuid),
  clusterId: Schema.String,
  /**
   * R8, R92: the static voter set (`controller.quorum.voters`, kraft.version 0), or with kraft.version
   * 1 the bootstrap set (the 0-0 checkpoint), which VotersRecords in the log supersede (R91).
   */
  voters: Schema.Array(Voter),
  /** R89: the finalized kraft.version (absent: 0, static voters; 1: the voter set lives in the log). */
  kraftVersion: Schema.optionalKey(Schema.Literals([0, 1])),
  electionTimeoutMs: Schema.Int,
  electionBackoffMaxMs: Schema.Int,
  fetchTimeoutMs: Schema.Int,
  fetchMaxWaitMs: Schema.Int,
  retryBackoffMs: Schema.Int,
  /** KIP-996 pre-vote (R24); off reproduces the 3.9 transitions. */
  preVote: Schema.Boolean,
  /** KAFKA-15489 check quorum (R57). */
  checkQuorum: Schema.Boolean,
  /**
   * R63, KIP-1166: whether this node's fetches carry its high watermark (Fetch v18). Absent: they do;
   * false is a replica that speaks an older Fetch.
   */
  fetchHighWatermark: Schema.optionalKey(Schema.Boolean),
  /**
   * R99, R150: this controller's own listeners (its controller listeners, Kafka's localListeners):
   * what it names for itself in AddRaftVoter and UpdateRaftVoter, and what its entry of a dynamic voter
   * set should hold. Absent: a node with none to name (a static quorum's, a broker's Raft layer).
   */
  listeners: Schema.optionalKey(Schema.Array(Listener)),
  /**
   * R150: `controller.quorum.auto.join.enable` on a controller (Kafka 4.2): as an observer it asks the
   * leader to add it to the voters, naming its listeners. Absent: off.
   */
  autoJoin: Schema.optionalKey(Schema.Boolean),
  /**
   * R96: the kraft.version range this node supports, which it answers ApiVersions with. Absent:
   * 0 to 1 (openkraft's); a node of a release before KIP-853 supports only 0.
   */
  supportedKraftVersions: Schema.optionalKey(KRaftVersionRange),
  /** R82: FetchSnapshot's MaxBytes, the most of a snapshot one answer carries (absent: Kafka's 8 MiB). */
  fetchSnapshotMaxBytes: Schema.optionalKey(Int32),
});
export type RaftConfig = typeof RaftConfig.Type;

/** A config with Kafka's defaults, pre-vote and check quorum on. */
export const makeConfig = (
  fields: Pick<RaftConfig, "nodeId" | "clusterId" | "voters"> & Partial<RaftConfig>,
): RaftConfig => ({ ...DEFAULT_TIMEOUTS, preVote: true, checkQuorum: true, ...fields });

/** The empty log of a freshly formatted node. */
export const EMPTY_LOG: LogState = { startOffset: 0, endOffset: 0, flushedOffset: 0, epochs: [] };
