// Properties of single steps: what a node may emit and how its state may move. The cluster world
// checks them on every effect it carries out; the runtime can assert the same on its own steps.
import type { RaftEffect } from "../raft/io.ts";
import type { RaftMessage } from "../raft/messages.ts";
import type { ReplicaKey, Voter } from "../raft/primitives.ts";
import type { ElectionState, LogState, NodeState } from "../raft/state.ts";

// These properties judge the Raft layer's code, so they do not call it: a bug in its reading of
// replica keys (R5), of who is a voter (R8) or since when (R94) must not blind them too.

/** R5: a stored key without a directory id matches that id whatever the directory. */
const keyMatches = (stored: ReplicaKey, candidate: ReplicaKey): boolean =>
  stored.id === candidate.id &&
  (stored.directoryId === undefined || stored.directoryId === candidate.directoryId);

/** R8: the node's own key matches an entry of its latest voter set. */
const isVoterNow = (s: NodeState): boolean =>
  s.voters.some((v) => v.id === s.nodeId && (v.directoryId === undefined || v.directoryId === s.directoryId));

/**
 * R94: the offset of the VotersRecord from which `id` has been a voter without a break (-1 when it is
 * one from the bootstrap set on, or when the log names no set).
 */
const voterFrom = (log: LogState, bootstrap: readonly Voter[], id: number): number => {
  const sets = log.voterSets ?? [];
  let since = -1;
  for (let k = sets.length - 1; k >= 0; k--) {
    if (!sets[k]!.voters.some((v) => v.id === id)) return since;
    since = sets[k]!.offset;
  }
  return bootstrap.some((v) => v.id === id) || sets.length === 0 ? -1 : since;
};

/** The epoch a message reports for its sender. */
export const senderEpoch = (message: RaftMessage): number => {
  switch (message._tag) {
    case "VoteRequest":
      return message.replicaEpoch;
    case "BeginQuorumEpochRequest":
    case "EndQuorumEpochRequest":
      return message.leaderEpoch;
    case "FetchRequest":
    case "FetchSnapshotRequest":
    case "UpdateRaftVoterRequest":
      return message.currentLeaderEpoch;
    case "DescribeQuorumRequest":
    case "AddRaftVoterRequest":
    case "RemoveRaftVoterRequest":
    case "AddRaftVoterResponse":
    case "RemoveRaftVoterResponse":
    case "ApiVersionsRequest":
    case "ApiVersionsResponse":
      return -1;
    default:
      return message.leaderEpoch;
  }
};

export interface EffectContext {
  readonly id: number;
  /** quorum-state as written before this effect. */
  readonly persisted: ElectionState | null;
  /** The node's records before this effect (a number per record, as the world stores them). */
  readonly entries: readonly number[];
  /** How many of those records the world has flushed to the node's disk. */
  readonly durable: number;
  /** The longest prefix ever committed, before this effect. */
  readonly committed: readonly number[];
  /** The node's state after the step. */
  readonly state: NodeState;
  /** The request being answered, when the step handles one. */
  readonly request: RaftMessage | null;
  /**
   * The node led this epoch when the step began: a leader whose step commits a change that removed
   * it and then resigns (R98) still committed as the leader.
   */
  readonly ledBefore?: boolean;
  /** The bootstrap voter set of the node's configuration (R92; absent: its current set). */
  readonly bootstrapVoters?: readonly Voter[];
}

/**
 * One effect, judged in the order the shell carries it out:
 * - PersistBeforeSend (R14, R51): nothing leaves naming an epoch not yet durable, and a granted
 *   standard vote leaves only after the vote is durable;
 * - FlushedFetchOffset (R16): a voter reports only offsets the world has flushed to its disk;
 * - MonotonicEpoch and VoteOncePerEpoch (R29, R134, R144) for quorum-state writes;
 * - NeverTruncateCommitted (R66, R144);
 * - CommittedPrefixAgreement (R145): a node that says a prefix is committed holds the committed records,
 *   and no node but a leader says more is committed than a leader ever acknowledged;
 * - NoIllegalState (R42, R66, R136);
 * - NoMessageToSelf (R74): a node asks others, never itself (a recovering voter's rotation once did).
 */
export const checkEffect = (effect: RaftEffect, ctx: EffectContext): string | null => {
  switch (effect._tag) {
    case "Send": {
      if (effect.to === ctx.id)
        return `NoMessageToSelf: node ${ctx.id} sent ${effect.message._tag} to itself (R74)`;
      const epoch = senderEpoch(effect.message);
      const durableEpoch = ctx.persisted?.epoch ?? -1;
      if (epoch > durableEpoch) {
        return `PersistBeforeSend: node ${ctx.id} sent ${effect.message._tag} for epoch ${epoch} while quorum-state holds epoch ${durableEpoch} (R14)`;
      }
      const message = effect.message;
      if (
        message._tag === "VoteResponse" &&
        message.voteGranted &&
        ctx.request?._tag === "VoteRequest" &&
        !ctx.request.preVote
      ) {
        const voted = ctx.persisted?.votedKey;
        const candidate =
          ctx.request.replicaDirectoryId === undefined
            ? { id: ctx.request.replicaId }
            : { id: ctx.request.replicaId, directoryId: ctx.request.replicaDirectoryId };
        if (
          voted === undefined ||
          ctx.persisted?.epoch !== message.leaderEpoch ||
          !keyMatches(voted, candidate)
        ) {
          return `PersistBeforeSend: node ${ctx.id} granted its vote in epoch ${message.leaderEpoch} to ${candidate.id} before quorum-state recorded it (R14, R51)`;
        }
      }
      // R16, R94: judged as a leader counts it (by key, R5: a replaced disk is not the voter it was): a voter's fetch beyond the VotersRecord that made it one
      // (before that record it fetched as an observer, and no leader counts those offsets).
      if (
        message._tag === "FetchRequest" &&
        isVoterNow(ctx.state) &&
        message.fetchOffset > voterFrom(ctx.state.log, ctx.bootstrapVoters ?? ctx.state.voters, ctx.id)
      ) {
        if (message.fetchOffset > ctx.durable) {
          return `FlushedFetchOffset: voter ${ctx.id} fetched from offset ${message.fetchOffset} but only ${ctx.durable} records are on its disk (R16)`;
        }
      }
      return null;
    }
    case "PersistElectionState": {
      const previous = ctx.persisted;
      if (previous === null) return null;
      if (effect.epoch < previous.epoch) {
        return `MonotonicEpoch: node ${ctx.id} persisted epoch ${effect.epoch} after ${previous.epoch} (R134)`;
      }
      if (effect.epoch === previous.epoch && previous.votedKey !== undefined) {
        if (effect.votedKey === undefined || !keyMatches(previous.votedKey, effect.votedKey)) {
          return `VoteOncePerEpoch: node ${ctx.id} voted for ${previous.votedKey.id} in epoch ${effect.epoch}, then persisted ${effect.votedKey === undefined ? "no vote" : `a vote for ${effect.votedKey.id}`} (R29, R144)`;
        }
      }
      if (
        effect.epoch === previous.epoch &&
        previous.leaderId >= 0 &&
        effect.leaderId !== previous.leaderId
      ) {
        return `SingleLeader: node ${ctx.id} recorded leader ${previous.leaderId} for epoch ${effect.epoch}, then ${effect.leaderId} (R134)`;
      }
      return null;
    }
    case "TruncateLog": {
      const limit = Math.min(ctx.entries.length, ctx.committed.length);
      for (let offset = effect.offset; offset < limit; offset++) {
        if (ctx.entries[offset] === ctx.committed[offset]) {
          return `NeverTruncateCommitted: node ${ctx.id} truncated to ${effect.offset}, removing committed offset ${offset} (R66, R144)`;
        }
      }
      return null;
    }
    case "HighWatermarkUpdated": {
      if (
        ctx.state.role._tag !== "Leader" &&
        ctx.ledBefore !== true &&
        effect.offset > ctx.committed.length
      ) {
        return `CommittedPrefixAgreement: node ${ctx.id} hands offsets up to ${effect.offset} to its state machine as committed, but no leader ever committed past ${ctx.committed.length} (R85, R145)`;
      }
      const limit = Math.min(effect.offset, ctx.committed.length);
      for (let offset = 0; offset < limit; offset++) {
        if (ctx.entries[offset] !== ctx.committed[offset]) {
          return `CommittedPrefixAgreement: node ${ctx.id} moved its high watermark to ${effect.offset} but differs from the committed log at offset ${offset} (R145)`;
        }
      }
      return null;
    }
    case "IllegalState":
      return `NoIllegalState: node ${ctx.id}: ${effect.rule}: ${effect.detail} (R136)`;
    default:
      return null;
  }
};

/**
 * One step of one running node: its epoch and high watermark never go back (R144), and the high
 * watermark never passes the log end.
 */
export const checkStep = (before: NodeState | null, after: NodeState): string | null => {
  if (after.highWatermark > after.log.endOffset) {
    return `HighWatermarkWithinLog: node ${after.nodeId} has high watermark ${after.highWatermark} past its log end ${after.log.endOffset} (R2)`;
  }
  if (before === null) return null;
  if (after.epoch < before.epoch) {
    return `MonotonicEpoch: node ${after.nodeId} went from epoch ${before.epoch} to ${after.epoch} (R29)`;
  }
  if (after.highWatermark < before.highWatermark) {
    return `MonotonicHighWatermark: node ${after.nodeId} moved its high watermark back from ${before.highWatermark} to ${after.highWatermark} (R144)`;
  }
  return null;
};
