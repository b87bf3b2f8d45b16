// Fetch on followers and observers (R61, R66–R68, R74–R76): what to ask for, how to apply the
// answer, truncation on divergence and the high watermark.
import { mark } from "../marks.ts";
import { appendBatch, currentVoters, endOffsetForEpoch, lastEpoch, truncateLog } from "./log.ts";
import type { FetchRequest, FetchResponse } from "./messages.ts";
import { armTimer, electsAsVoter, hasTimer, illegalState, isVoter, type Out, sendRequest } from "./node.ts";
import { METADATA_PARTITION, METADATA_TOPIC_ID } from "./primitives.ts";
import { sendFetchSnapshot, startSnapshotDownload } from "./snapshot.ts";
import type { Follower, NodeState, RaftConfig } from "./state.ts";

/**
 * R74: the rotation's first position at or after `cursor` holding a voter this node may ask: never
 * itself (a recovering voter is in the list, and so is a voter's id whose disk was replaced), and not
 * `quietLeaderId`, the voter that went quiet as its leader, while another remains to be asked.
 */
export const askablePosition = (
  s: Pick<NodeState, "voters" | "nodeId">,
  cursor: number,
  quietLeaderId: number,
): number => {
  const n = s.voters.length;
  if (n === 0) return cursor;
  const othersLeft = s.voters.some((v) => v.id !== s.nodeId && v.id !== quietLeaderId);
  for (let i = 0; i < n; i++) {
    const at = (cursor + i) % n;
    const id = s.voters[at]!.id;
    if (id !== s.nodeId && (id !== quietLeaderId || !othersLeft)) return at;
  }
  return cursor % n;
};

/** R74: the next voter in the rotation after a failed fetch or an answer that cannot be used. */
export const nextVoter = (s: NodeState): NodeState => {
  if (s.voters.length === 0) return s;
  const asked = askablePosition(s, s.bootstrapCursor, s.quietLeaderId);
  return { ...s, bootstrapCursor: askablePosition(s, asked + 1, s.quietLeaderId) };
};

/**
 * Where this node fetches from now: its leader, or for a leaderless observer (or a voter recovering
 * lost records, R146) the voter at its place in the rotation, if one other than itself (R74).
 */
const fetchTarget = (s: NodeState): number | undefined => {
  const role = s.role;
  if (role._tag === "Follower") return role.leaderId;
  if (role._tag === "Unattached" && !electsAsVoter(s) && s.voters.length > 0) {
    const id = s.voters[askablePosition(s, s.bootstrapCursor, s.quietLeaderId)]!.id;
    return id === s.nodeId ? undefined : id;
  }
  return undefined;
};

/**
 * R61: fetch from the log end with the epoch of the last record. A voter asks only once its log is
 * flushed, because the leader counts the fetch offset as durable (R16).
 */
export const sendFetch = (s: NodeState, config: RaftConfig, out: Out): NodeState => {
  const target = fetchTarget(s);
  if (target === undefined || hasTimer(s, "retryBackoff")) return s;
  if (fetchInFlight(s)) return s;
  // R66(ii): while a snapshot is being downloaded, its next part is asked for instead.
  if (s.role._tag === "Follower" && s.role.fetchingSnapshot !== undefined)
    return sendFetchSnapshot(s, config, out, s.role);
  if (isVoter(s) && s.log.flushedOffset < s.log.endOffset) {
    mark(out, "R61:fetch-waits-for-flush");
    return s;
  }
  if (s.role._tag === "Unattached") mark(out, "R74:leaderless-fetch-to-voter");
  const request: FetchRequest = {
    _tag: "FetchRequest",
    clusterId: config.clusterId,
    replicaId: s.nodeId,
    ...(s.directoryId === undefined ? {} : { replicaDirectoryId: s.directoryId }),
    maxWaitMs: config.fetchMaxWaitMs,
    topicId: METADATA_TOPIC_ID,
    partition: METADATA_PARTITION,
    currentLeaderEpoch: s.epoch,
    fetchOffset: s.log.endOffset,
    lastFetchedEpoch: lastEpoch(s.log),
    // R63 (KIP-1166): so that a leader whose high watermark moved on answers at once.
    ...(config.fetchHighWatermark === false ? {} : { highWatermark: s.highWatermark }),
  };
  return sendRequest(s, out, target, "Fetch", request);
};

/** A Fetch or FetchSnapshot of this node is on its way: one at a time (R61, R82). */
export const fetchInFlight = (s: NodeState): boolean =>
  s.inflight.some((r) => r.api === "Fetch" || r.api === "FetchSnapshot");

/**
 * Keep fetching after an answer or a failure: a follower or leaderless observer with nothing in
 * flight asks again, after the retry backoff when the last attempt went wrong (R68, R75); a
 * leaderless observer moves on to the next voter.
 */
export const continueFetching = (s: NodeState, config: RaftConfig, out: Out, failed: boolean): NodeState => {
  if (fetchTarget(s) === undefined || fetchInFlight(s) || hasTimer(s, "retryBackoff")) return s;
  let next = s;
  if (failed && s.role._tag === "Unattached") {
    mark(out, "R74:next-voter-after-failure");
    next = nextVoter(next);
  }
  if (failed) {
    mark(out, "R68:retry-after-backoff");
    return armTimer(next, out, "retryBackoff", config.retryBackoffMs);
  }
  return sendFetch(next, config, out);
};

/** R67: where to cut the log for the leader's DivergingEpoch (endOffset d, epoch e). */
export const truncationOffset = (s: NodeState, diverging: { epoch: number; endOffset: number }): number => {
  const { epoch, endOffset } = diverging;
  if (epoch === 0) return Math.min(endOffset, s.log.endOffset);
  const local = endOffsetForEpoch(s.log, epoch);
  return local.epoch === epoch ? Math.min(local.endOffset, endOffset) : local.endOffset;
};

/**
 * R66: apply the leader's NONE answer: truncate on divergence (never below the high watermark) or
 * append the records, flush them if a voter, and take the leader's high watermark (never past the
 * log end, never backwards). Either way the leader is alive: reset the fetch timer (R32).
 */
export const handleFetchResponse = (
  s: NodeState,
  config: RaftConfig,
  out: Out,
  from: number,
  response: FetchResponse,
): NodeState => {
  const role = s.role;
  if (role._tag !== "Follower" || role.leaderId !== from) return s;
  let log = s.log;
  let highWatermark = s.highWatermark;
  if (response.snapshotId !== undefined && response.divergingEpoch === undefined) {
    const started = startSnapshotDownload(s, out, role, response.snapshotId);
    const follower = started.role._tag === "Follower" ? started.role : role;
    return armTimer(
      {
        ...started,
        role: follower.hasFetchedFromLeader ? follower : { ...follower, hasFetchedFromLeader: true },
      },
      out,
      "fetch",
      config.fetchTimeoutMs,
    );
  }
  if (response.divergingEpoch !== undefined && response.divergingEpoch.epoch >= 0) {
    const offset = truncationOffset(s, response.divergingEpoch);
    if (offset < s.highWatermark) {
      mark(out, "R66:truncation-below-high-watermark");
      illegalState(
        out,
        "R66",
        `leader ${from} asks to truncate to ${offset}, below the high watermark ${s.highWatermark}`,
      );
      return s;
    }
    mark(out, "R67:truncate-on-divergence");
    out.effects.push({ _tag: "TruncateLog", offset });
    log = truncateLog(log, offset);
    if (log.voterSets !== s.log.voterSets) mark(out, "R91:truncation-reverts-voter-set");
  } else {
    const first = response.records[0];
    if (first !== undefined && first.baseOffset !== log.endOffset) mark(out, "R66:records-not-at-log-end");
    if (first !== undefined && first.baseOffset === log.endOffset) {
      const before = log.endOffset;
      for (const batch of response.records) {
        // R66 (KAFKA-18723): a batch of an epoch above the leader's, or that does not start where the
        // log ends, is no record of this leader: it and everything after it are left unappended (the
        // next fetch asks again from the log end).
        if (batch.epoch > response.leaderEpoch || batch.baseOffset !== log.endOffset) {
          mark(out, "R66:invalid-batch-not-appended");
          break;
        }
        out.effects.push({
          _tag: "AppendRecords",
          baseOffset: batch.baseOffset,
          epoch: batch.epoch,
          count: batch.count,
          ...(batch.voters === undefined ? {} : { control: { _tag: "VotersRecord", voters: batch.voters } }),
        });
        if (batch.voters !== undefined) mark(out, "R91:fetched-voter-set-in-force");
        log = appendBatch(log, batch);
      }
      if (log.endOffset > before) {
        mark(out, isVoter(s) ? "R66:voter-appends-and-flushes" : "R66:observer-appends");
        // R16: a replica that was or now is a voter flushes before it fetches again.
        if (isVoter(s) || isVoter({ ...s, voters: currentVoters(log, config.voters) }))
          out.effects.push({ _tag: "FlushLog", offset: log.endOffset });
      }
    }
    if (response.highWatermark >= 0) {
      const candidate = Math.min(response.highWatermark, log.endOffset);
      if (candidate > highWatermark) {
        mark(
          out,
          candidate < response.highWatermark
            ? "R66:high-watermark-capped-at-log-end"
            : "R66:high-watermark-taken",
        );
        highWatermark = candidate;
        out.effects.push({ _tag: "HighWatermarkUpdated", offset: candidate });
      }
    }
  }
  const follower: Follower = role.hasFetchedFromLeader ? role : { ...role, hasFetchedFromLeader: true };
  let next: NodeState = { ...s, log, highWatermark, role: follower };
  // R91: the voter set follows the log, committed or not.
  if (log.voterSets !== s.log.voterSets) next = { ...next, voters: currentVoters(log, config.voters) };
  // R146: records this node had flushed before the fetch cover its leader's high watermark, so it
  // holds everything committed again (a leader's high watermark covers all earlier epochs' commits).
  if (s.recovering && response.highWatermark >= 0 && s.log.flushedOffset >= response.highWatermark) {
    mark(out, "R146:recovery-complete");
    out.effects.push({ _tag: "RecoveryComplete" });
    next = { ...next, recovering: false };
  }
  return armTimer(next, out, "fetch", config.fetchTimeoutMs);
};
