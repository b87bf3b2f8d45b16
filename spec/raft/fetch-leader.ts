// Fetch on the leader (R61–R65, R69–R70) and the NOT_LEADER_OR_FOLLOWER answers through which
// observers find the leader (R74). DescribeQuorum (R88) reads the same replica bookkeeping.
import { type Mark, mark, markOutcome } from "../marks.ts";
import { validateClusterId } from "./common.ts";
import {
  completeParkedFetches,
  fetchResponseFrom,
  keyOf,
  recordVoterFetch,
  updateHighWatermark,
} from "./leader.ts";
import { earliestSnapshot, endOffsetForEpoch, latestSnapshot, readBatches, voterSince } from "./log.ts";
import type {
  DescribeQuorumRequest,
  DescribeQuorumResponse,
  FetchRequest,
  FetchResponse,
  ReplicaState,
} from "./messages.ts";
import { armTimer, findVoter, knownLeader, type Out, respond } from "./node.ts";
import { type ErrorCode, METADATA_PARTITION, METADATA_TOPIC_ID, METADATA_TOPIC_NAME } from "./primitives.ts";
import type {
  Leader,
  LogState,
  NodeState,
  ParkedFetch,
  RaftConfig,
  ReplicaProgress,
  SnapshotInfo,
} from "./state.ts";

/** The branch of each reason a leader refuses a fetch (R36, R1, R63, R38). */
const FETCH_REFUSAL_MARK: Partial<Record<ErrorCode, Mark>> = {
  INCONSISTENT_CLUSTER_ID: "R36:fetch-foreign-cluster",
  INVALID_REQUEST: "R63:fetch-invalid",
  FENCED_LEADER_EPOCH: "R63:fetch-fenced-epoch",
  UNKNOWN_LEADER_EPOCH: "R63:fetch-unknown-epoch",
  NOT_LEADER_OR_FOLLOWER: "R74:fetch-to-non-leader",
};

const fetchError = (s: NodeState, errorCode: ErrorCode): FetchResponse => ({
  _tag: "FetchResponse",
  errorCode,
  highWatermark: -1,
  logStartOffset: s.log.startOffset,
  leaderId: knownLeader(s),
  leaderEpoch: s.epoch,
  records: [],
});

/** R36, R1, R63, R38: every reason a fetch is refused before the leader looks at offsets. */
const fetchRequestError = (
  s: NodeState,
  config: RaftConfig,
  request: FetchRequest,
): ErrorCode | undefined => {
  const clusterError = validateClusterId(config, request.clusterId);
  if (clusterError !== undefined) return clusterError;
  if (request.topicId !== METADATA_TOPIC_ID || request.partition !== METADATA_PARTITION)
    return "INVALID_REQUEST";
  if (
    request.maxWaitMs < 0 ||
    request.fetchOffset < 0 ||
    request.lastFetchedEpoch < 0 ||
    request.lastFetchedEpoch > request.currentLeaderEpoch
  ) {
    return "INVALID_REQUEST";
  }
  if (request.currentLeaderEpoch < s.epoch) return "FENCED_LEADER_EPOCH";
  if (request.currentLeaderEpoch > s.epoch) return "UNKNOWN_LEADER_EPOCH";
  if (s.role._tag !== "Leader") return "NOT_LEADER_OR_FOLLOWER";
  if (s.shuttingDown) return "BROKER_NOT_AVAILABLE";
  return undefined;
};

/** R69, R76: the leader's record of one replica after a valid fetch; offsets may go backwards. */
const progressAfterFetch = (
  previous: ReplicaProgress | undefined,
  request: FetchRequest,
  leaderEndOffset: number,
  nowMs: number,
): ReplicaProgress => ({
  id: request.replicaId,
  ...(request.replicaDirectoryId === undefined ? {} : { directoryId: request.replicaDirectoryId }),
  endOffset: request.fetchOffset,
  acknowledged: true,
  lastFetchTimestamp: nowMs,
  lastCaughtUpTimestamp:
    request.fetchOffset >= leaderEndOffset ? nowMs : (previous?.lastCaughtUpTimestamp ?? -1),
});

/** R63(c): record where a replica is. Voters feed check quorum and the high watermark; observers never. */
const recordReplicaFetch = (
  s: NodeState,
  config: RaftConfig,
  out: Out,
  role: Leader,
  request: FetchRequest,
  nowMs: number,
): NodeState => {
  const key = keyOf({
    id: request.replicaId,
    ...(request.replicaDirectoryId === undefined ? {} : { directoryId: request.replicaDirectoryId }),
  });
  if (request.replicaId >= 0 && findVoter(s.voters, key) !== undefined) {
    // R16, R94: a fetch from no further than the VotersRecord that made this replica a voter was sent
    // before it knew, as an observer that does not flush: its offset is not durable and counts for
    // nothing but check quorum.
    if (request.fetchOffset <= voterSince(s.log, config.voters, request.replicaId)) {
      mark(out, "R94:fetch-sent-as-observer-not-counted");
      return recordVoterFetch(s, config, out, request.replicaId);
    }
    const voterStates = role.voterStates.map((v) =>
      v.id === request.replicaId ? progressAfterFetch(v, request, s.log.endOffset, nowMs) : v,
    );
    let next: NodeState = { ...s, role: { ...role, voterStates } };
    next = recordVoterFetch(next, config, out, request.replicaId);
    return updateHighWatermark(next, config, out);
  }
  if (request.replicaId < 0) return s;
  const index = role.observerStates.findIndex((o) => o.id === request.replicaId);
  mark(out, "R63:observer-progress-recorded");
  const updated = progressAfterFetch(role.observerStates[index], request, s.log.endOffset, nowMs);
  const observerStates =
    index < 0
      ? [...role.observerStates, updated]
      : role.observerStates.map((o, i) => (i === index ? updated : o));
  return { ...s, role: { ...role, observerStates } };
};

/**
 * R63(a), R65: the snapshot a fetch must be answered with, if any: the newest one when the replica
 * asks from offset 0 while one exists (KAFKA-15078), or when it asks for what lies below the log
 * start, or ends at the log start (or before the snapshot there) in another epoch than that snapshot.
 */
export const snapshotToSend = (log: LogState, request: FetchRequest): SnapshotInfo | undefined => {
  const newest = latestSnapshot(log);
  if (newest === undefined) return undefined;
  if (request.fetchOffset === 0) return newest;
  const earliest = earliestSnapshot(log);
  if (log.startOffset === 0 || earliest === undefined) return undefined;
  return request.fetchOffset < log.startOffset ||
    (request.fetchOffset === log.startOffset && request.lastFetchedEpoch !== earliest.epoch) ||
    request.lastFetchedEpoch < earliest.epoch
    ? newest
    : undefined;
};

export const handleFetchRequest = (
  s: NodeState,
  config: RaftConfig,
  out: Out,
  from: number,
  request: FetchRequest,
  correlationId: number | undefined,
  nowMs: number,
): NodeState => {
  const error = fetchRequestError(s, config, request);
  if (error !== undefined || s.role._tag !== "Leader") {
    markOutcome(out, FETCH_REFUSAL_MARK, error ?? "NOT_LEADER_OR_FOLLOWER");
    respond(out, from, fetchError(s, error ?? "NOT_LEADER_OR_FOLLOWER"), correlationId);
    return s;
  }
  // R63(a), R65: a replica that needs records this log replaced by a snapshot (or that starts from
  // nothing while a snapshot exists) is told to download the newest snapshot first.
  const snapshot = snapshotToSend(s.log, request);
  if (snapshot !== undefined) {
    mark(out, "R65:fetch-answered-with-snapshot");
    const answer: FetchResponse = {
      ...fetchResponseFrom(s, s.role, request.fetchOffset),
      snapshotId: { endOffset: snapshot.endOffset, epoch: snapshot.epoch },
      records: [],
    };
    respond(out, from, answer, correlationId);
    return s;
  }
  // R65: a fetch from the very start of the log is always valid; otherwise the replica's last epoch
  // must end, in this log, no earlier than where the replica's log ends.
  if (!(s.log.startOffset === 0 && request.fetchOffset === 0)) {
    const end = endOffsetForEpoch(s.log, request.lastFetchedEpoch);
    if (end.epoch !== request.lastFetchedEpoch || end.endOffset < request.fetchOffset) {
      mark(out, "R65:fetch-diverging");
      const diverging: FetchResponse = {
        ...fetchResponseFrom(s, s.role, request.fetchOffset),
        divergingEpoch: { epoch: end.epoch, endOffset: end.endOffset },
        records: [],
      };
      respond(out, from, diverging, correlationId);
      return s;
    }
  }
  let next = recordReplicaFetch(s, config, out, s.role, request, nowMs);
  const role = next.role;
  if (role._tag !== "Leader") return next;
  // R63(d): answer now if there is anything to send, else park until there is.
  if (readBatches(next.log, request.fetchOffset).length > 0 || request.maxWaitMs === 0) {
    mark(out, "R63:fetch-answered-at-once");
    respond(out, from, fetchResponseFrom(next, role, request.fetchOffset), correlationId);
    return next;
  }
  // R63 (KIP-1166): the replica's high watermark is behind this leader's: the news is the answer.
  if (request.highWatermark !== undefined && request.highWatermark < role.highWatermark) {
    mark(out, "R63:stale-high-watermark-answered-at-once");
    respond(out, from, fetchResponseFrom(next, role, request.fetchOffset), correlationId);
    return next;
  }
  const parked = {
    replicaId: request.replicaId,
    ...(request.replicaDirectoryId === undefined ? {} : { replicaDirectoryId: request.replicaDirectoryId }),
    fetchOffset: request.fetchOffset,
    ...(correlationId === undefined ? {} : { correlationId }),
  };
  // A replica waits on one fetch at a time: an older one still parked is answered now (its correlation
  // id tells the replica whether it still cares), so parked fetches stay one per replica.
  const others: ParkedFetch[] = [];
  for (const p of role.parkedFetches) {
    if (p.replicaId === request.replicaId && request.replicaId >= 0) {
      mark(out, "R63:older-parked-fetch-answered");
      respond(out, p.replicaId, fetchResponseFrom(next, role, p.fetchOffset), p.correlationId);
    } else {
      others.push(p);
    }
  }
  mark(out, "R63:fetch-parked");
  next = { ...next, role: { ...role, parkedFetches: [...others, parked] } };
  if (others.length === 0) next = armTimer(next, out, "fetchWait", request.maxWaitMs);
  return next;
};

/** R63(d): the wait ran out; answer every parked fetch with whatever there is. */
export const expireParkedFetches = (s: NodeState, config: RaftConfig, out: Out): NodeState =>
  completeParkedFetches(s, config, out);

// ---- DescribeQuorum (R88) ----------------------------------------------------------------------

const replicaState = (p: ReplicaProgress, logEndOffset: number): ReplicaState => ({
  replicaId: p.id,
  ...(p.directoryId === undefined ? {} : { replicaDirectoryId: p.directoryId }),
  logEndOffset,
  lastFetchTimestamp: p.lastFetchTimestamp,
  lastCaughtUpTimestamp: p.lastCaughtUpTimestamp,
});

/**
 * R88: only the leader describes the quorum; everyone else points at the leader it knows. The leader
 * reports itself as fetched and caught up at the request's arrival, as Kafka does (KAFKA-13986).
 */
export const handleDescribeQuorumRequest = (
  s: NodeState,
  out: Out,
  from: number,
  request: DescribeQuorumRequest,
  correlationId: number | undefined,
  nowMs: number,
): NodeState => {
  const role = s.role;
  const errorCode: ErrorCode =
    request.topicName !== METADATA_TOPIC_NAME || request.partitionIndex !== METADATA_PARTITION
      ? "UNKNOWN_TOPIC_OR_PARTITION"
      : role._tag !== "Leader"
        ? "NOT_LEADER_OR_FOLLOWER"
        : "NONE";
  mark(out, errorCode === "NONE" ? "R88:quorum-described" : "R88:describe-refused");
  const response: DescribeQuorumResponse =
    role._tag === "Leader" && errorCode === "NONE"
      ? {
          _tag: "DescribeQuorumResponse",
          errorCode,
          leaderId: s.nodeId,
          leaderEpoch: s.epoch,
          highWatermark: role.highWatermark,
          currentVoters: role.voterStates.map((v) =>
            v.id === s.nodeId
              ? {
                  ...replicaState(v, s.log.endOffset),
                  ...(nowMs >= 0 ? { lastFetchTimestamp: nowMs, lastCaughtUpTimestamp: nowMs } : {}),
                }
              : replicaState(v, v.endOffset),
          ),
          observers: role.observerStates.map((o) => replicaState(o, o.endOffset)),
        }
      : {
          _tag: "DescribeQuorumResponse",
          errorCode,
          leaderId: knownLeader(s),
          leaderEpoch: s.epoch,
          highWatermark: -1,
          currentVoters: [],
          observers: [],
        };
  respond(out, from, response, correlationId);
  return s;
};
