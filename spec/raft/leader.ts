// The leader's side of the protocol: taking office (R54–R56), the high watermark (R64), check quorum
// (R57), listener notification (R58) and the fetch purgatory (R63(d)).
import { mark } from "../marks.ts";
import { appendToLog, appendVotersRecord, readBatches } from "./log.ts";
import type { BeginQuorumEpochRequest, FetchResponse, LeaderChangeMessage } from "./messages.ts";
import { armTimer, cancelTimer, type Out, otherVoters, quorumSize, respond, sendRequest } from "./node.ts";
import { METADATA_PARTITION, METADATA_TOPIC_NAME, type ReplicaKey, type Voter } from "./primitives.ts";
import type { Leader, LogState, NodeState, RaftConfig, ReplicaProgress } from "./state.ts";
import { ownEntry, ownEntryNeedsUpdate } from "./update-voter-set.ts";

export const keyOf = (v: { readonly id: number; readonly directoryId?: string }): ReplicaKey =>
  v.directoryId === undefined ? { id: v.id } : { id: v.id, directoryId: v.directoryId };

/** R33: check quorum runs over 1.5 fetch timeouts. */
export const checkQuorumTimeoutMs = (config: RaftConfig): number =>
  Math.floor((config.fetchTimeoutMs * 3) / 2);

/** R33: BeginQuorumEpoch is resent every half fetch timeout. */
export const beginQuorumEpochResendMs = (config: RaftConfig): number => Math.floor(config.fetchTimeoutMs / 2);

/** R57: a voter set of one never loses its quorum (KAFKA-16144). */
export const usesCheckQuorum = (s: NodeState, config: RaftConfig): boolean =>
  config.checkQuorum && s.voters.length > 1;

/**
 * R54–R56: set up the leader state with epochStartOffset at the log end and no high watermark yet,
 * append the LeaderChange control record there (and the bootstrap voter set after it, R55), and
 * announce the epoch to the other voters.
 */
export const becomeLeaderEffects = (s: NodeState, config: RaftConfig, out: Out): NodeState => {
  const previous = s.role;
  const granting = previous._tag === "Candidate" ? previous.granted : [s.nodeId];
  const epochStartOffset = s.log.endOffset;
  const voterStates: ReplicaProgress[] = s.voters.map((v) => newProgress(v, v.id === s.nodeId));
  const leaderChange: LeaderChangeMessage = {
    _tag: "LeaderChangeMessage",
    leaderId: s.nodeId,
    voters: s.voters.map(keyOf),
    grantingVoters: s.voters.filter((v) => granting.includes(v.id)).map(keyOf),
  };
  out.effects.push({
    _tag: "AppendRecords",
    baseOffset: epochStartOffset,
    epoch: s.epoch,
    count: 1,
    control: leaderChange,
  });
  let log = appendToLog(s.log, s.epoch, 1);
  // R55, R92: a voter set that came from the bootstrap checkpoint is written into the log, so that a
  // replica whose disk names no voter (it knows only bootstrap servers) learns it by fetching (R91).
  // R99: so is the set with the leader's own entry rewritten when it differs from what the leader
  // would write for itself (its listeners moved): a leader sends no UpdateRaftVoter.
  let voters = s.voters;
  const own = s.voters.find((v) => v.id === s.nodeId);
  if (
    config.kraftVersion === 1 &&
    config.listeners !== undefined &&
    own !== undefined &&
    ownEntryNeedsUpdate(s, config, own)
  ) {
    mark(out, "R99:leader-rewrites-own-entry");
    const entry = ownEntry(s, config);
    voters = s.voters.map((v) => (v.id === s.nodeId ? entry : v));
    log = writeVotersRecord(log, s.epoch, voters, out);
  } else if (config.kraftVersion === 1 && s.log.voterSets === undefined) {
    mark(out, "R55:bootstrap-voters-written");
    log = writeVotersRecord(log, s.epoch, voters, out);
  }
  out.effects.push({ _tag: "FlushLog", offset: log.endOffset });
  let next: NodeState = {
    ...s,
    log,
    voters,
    role: {
      _tag: "Leader",
      epochStartOffset,
      highWatermark: -1,
      voterStates,
      observerStates: [],
      fetchedVoters: [],
      parkedFetches: [],
    },
  };
  if (usesCheckQuorum(next, config)) next = armTimer(next, out, "checkQuorum", checkQuorumTimeoutMs(config));
  if (otherVoters(next).length > 0) {
    next = armTimer(next, out, "beginQuorumEpoch", beginQuorumEpochResendMs(config));
    next = sendBeginQuorumEpoch(next, config, out);
  }
  return updateHighWatermark(next, config, out);
};

/** R91: the leader appends a VotersRecord of `voters` at the end of `log`; it is in force at once. */
export const writeVotersRecord = (
  log: LogState,
  epoch: number,
  voters: readonly Voter[],
  out: Out,
): LogState => {
  out.effects.push({
    _tag: "AppendRecords",
    baseOffset: log.endOffset,
    epoch,
    count: 1,
    control: { _tag: "VotersRecord", voters },
  });
  return appendVotersRecord(log, epoch, voters);
};

/** A replica the leader has not heard from yet (R63(c)): no offset known, no fetch seen. */
export const newProgress = (v: Voter, acknowledged = false): ReplicaProgress => ({
  ...keyOf(v),
  endOffset: -1,
  acknowledged,
  lastFetchTimestamp: -1,
  lastCaughtUpTimestamp: -1,
});

/** R56: announce the epoch to every other voter not heard from in this interval. */
export const sendBeginQuorumEpoch = (s: NodeState, config: RaftConfig, out: Out): NodeState => {
  const role = s.role;
  if (role._tag !== "Leader") return s;
  let next = s;
  for (const voter of role.voterStates) {
    if (voter.id === s.nodeId || voter.acknowledged) continue;
    const request: BeginQuorumEpochRequest = {
      _tag: "BeginQuorumEpochRequest",
      clusterId: config.clusterId,
      voterId: voter.id,
      topicName: METADATA_TOPIC_NAME,
      partitionIndex: METADATA_PARTITION,
      ...(voter.directoryId === undefined ? {} : { voterDirectoryId: voter.directoryId }),
      leaderId: s.nodeId,
      leaderEpoch: s.epoch,
    };
    next = sendRequest(next, out, voter.id, "BeginQuorumEpoch", request);
  }
  return next;
};

/** The leader's own end offset as the high watermark counts it: only what is flushed (R16). */
const ownEndOffset = (s: NodeState): number => s.log.flushedOffset;

/**
 * R64: the largest offset a majority of voters has reached (observers never count, the leader counts
 * only flushed records). It becomes the high watermark only if it covers a record of this epoch and
 * moves forward. R58: the first such advance is when the listener learns it leads.
 */
export const updateHighWatermark = (s: NodeState, config: RaftConfig, out: Out): NodeState => {
  const role = s.role;
  if (role._tag !== "Leader") return s;
  const own = ownEndOffset(s);
  const voterStates = role.voterStates.map((v) =>
    v.id === s.nodeId && v.endOffset !== own ? { ...v, endOffset: own } : v,
  );
  const offsets = voterStates.map((v) => v.endOffset);
  offsets.sort((a, b) => b - a);
  const candidate = offsets[quorumSize(s) - 1] ?? -1;
  if (candidate <= role.epochStartOffset || candidate <= role.highWatermark) {
    if (candidate > role.highWatermark && candidate > 0) mark(out, "R64:majority-below-epoch-start");
    return voterStates.every((v, i) => v === role.voterStates[i])
      ? s
      : { ...s, role: { ...role, voterStates } };
  }
  let next: NodeState = {
    ...s,
    highWatermark: Math.max(s.highWatermark, candidate),
    role: { ...role, voterStates, highWatermark: candidate },
  };
  out.effects.push({ _tag: "HighWatermarkUpdated", offset: candidate });
  mark(out, role.highWatermark < 0 ? "R58:first-commit-tells-listener" : "R64:high-watermark-advanced");
  if (role.highWatermark < 0) out.effects.push({ _tag: "LeaderChanged", leaderId: s.nodeId, epoch: s.epoch });
  next = completeParkedFetches(next, config, out);
  return next;
};

/** The answer a leader gives a valid fetch: everything from `fetchOffset` on (R63(c)). */
export const fetchResponseFrom = (s: NodeState, role: Leader, fetchOffset: number): FetchResponse => ({
  _tag: "FetchResponse",
  errorCode: "NONE",
  highWatermark: role.highWatermark,
  logStartOffset: s.log.startOffset,
  leaderId: s.nodeId,
  leaderEpoch: s.epoch,
  records: readBatches(s.log, fetchOffset),
});

/** R63(d): answer every parked fetch now that there is something new (records or high watermark). */
export const completeParkedFetches = (s: NodeState, _config: RaftConfig, out: Out): NodeState => {
  const role = s.role;
  if (role._tag !== "Leader" || role.parkedFetches.length === 0) return s;
  mark(out, "R63:parked-fetches-answered");
  for (const parked of role.parkedFetches) {
    respond(out, parked.replicaId, fetchResponseFrom(s, role, parked.fetchOffset), parked.correlationId);
  }
  return cancelTimer({ ...s, role: { ...role, parkedFetches: [] } }, out, "fetchWait");
};

/** R30: parked fetches of a leader that steps down are answered NOT_LEADER_OR_FOLLOWER. */
export const failParkedFetches = (
  s: NodeState,
  role: Leader,
  out: Out,
  epoch: number,
  leaderId: number,
): void => {
  if (role.parkedFetches.length > 0) mark(out, "R30:parked-fetches-refused-on-step-down");
  for (const parked of role.parkedFetches) {
    const response: FetchResponse = {
      _tag: "FetchResponse",
      errorCode: "NOT_LEADER_OR_FOLLOWER",
      highWatermark: -1,
      logStartOffset: s.log.startOffset,
      leaderId,
      leaderEpoch: epoch,
      records: [],
    };
    respond(out, parked.replicaId, response, parked.correlationId);
  }
};

/**
 * R57: a valid fetch from a voter counts toward check quorum; once enough voters fetched in this
 * interval, the interval restarts.
 */
export const recordVoterFetch = (s: NodeState, config: RaftConfig, out: Out, voterId: number): NodeState => {
  const role = s.role;
  if (role._tag !== "Leader" || !usesCheckQuorum(s, config) || voterId === s.nodeId) return s;
  const fetched = role.fetchedVoters.includes(voterId)
    ? role.fetchedVoters
    : [...role.fetchedVoters, voterId];
  const needed = quorumSize(s) - (role.voterStates.some((v) => v.id === s.nodeId) ? 1 : 0);
  if (fetched.length >= needed) {
    mark(out, "R57:check-quorum-interval-restarts");
    return armTimer(
      { ...s, role: { ...role, fetchedVoters: [] } },
      out,
      "checkQuorum",
      checkQuorumTimeoutMs(config),
    );
  }
  return fetched === role.fetchedVoters ? s : { ...s, role: { ...role, fetchedVoters: fetched } };
};

/** R72: the other voters, best replicated first, as preferred successors. */
export const preferredSuccessors = (s: NodeState, role: Leader): readonly ReplicaKey[] =>
  role.voterStates
    .filter((v) => v.id !== s.nodeId)
    .map((v, index) => ({ v, index }))
    .sort((a, b) => b.v.endOffset - a.v.endOffset || a.index - b.index)
    .map(({ v }) => keyOf(v));
