// Role transitions (R23–R30): what each state change persists (R15), which timers it arms (R31–R33),
// what it tells the listener (R86) and what it sends on arrival.

import { mark } from "../marks.ts";
import { sendFetch } from "./fetch-follower.ts";
import { becomeLeaderEffects, failParkedFetches } from "./leader.ts";
import {
  armTimer,
  cancelTimersExcept,
  castVote,
  electsAsVoter,
  isVoterId,
  keepTimer,
  knownLeader,
  localKey,
  type Out,
  otherVoters,
} from "./node.ts";
import { NO_ID, type ReplicaKey } from "./primitives.ts";
import { sendEndQuorumEpoch } from "./quorum-epoch.ts";
import { failPendingVoterChange } from "./reconfiguration.ts";
import type { NodeState, RaftConfig, Role } from "./state.ts";
import { armUpdateVoterSet } from "./update-voter-set.ts";
import { maybeWinElection, sendVoteRequests } from "./vote.ts";

/** How an Unattached or election timer is set on entry (R31). */
export type TimerMode = "fresh" | "keep";

const persist = (out: Out, epoch: number, leaderId: number, votedKey: ReplicaKey | undefined): void => {
  out.effects.push(
    votedKey === undefined
      ? { _tag: "PersistElectionState", epoch, leaderId }
      : { _tag: "PersistElectionState", epoch, leaderId, votedKey },
  );
};

/**
 * R30: leaving a state fails what belonged to it — parked fetches of a leader — and forgets every
 * request in flight, so their late answers are dropped (R40(0)).
 */
const leave = (s: NodeState, out: Out, epoch: number, leaderId: number): NodeState => {
  if (s.role._tag === "Leader") {
    failParkedFetches(s, s.role, out, epoch, leaderId);
    failPendingVoterChange(s.role, out);
  }
  return s.inflight.length === 0 ? s : { ...s, inflight: [] };
};

const withRole = (s: NodeState, epoch: number, role: Role): NodeState => ({ ...s, epoch, role });

/** R86: tell the listener about a new epoch or a newly known leader. */
const notifyLeader = (out: Out, leaderId: number, epoch: number): void => {
  out.effects.push({ _tag: "LeaderChanged", leaderId, epoch });
};

/**
 * R23, R24, R27–R29: become Unattached in `epoch`. Durable (R15). A voter arms its election timer,
 * fresh or keeping the old one's remaining time (R31); an observer has none and looks for the leader
 * through the bootstrap voters instead (R11, R74).
 */
export const enterUnattached = (
  s: NodeState,
  config: RaftConfig,
  out: Out,
  epoch: number,
  leaderId: number,
  votedKey: ReplicaKey | undefined,
  timer: TimerMode,
): NodeState => {
  const changed = epoch !== s.epoch || leaderId !== knownLeader(s);
  // R14: the new epoch is durable before anything that names it leaves, parked answers included.
  persist(out, epoch, leaderId, votedKey);
  let next = leave(s, out, epoch, leaderId);
  next = withRole(
    next,
    epoch,
    votedKey === undefined ? { _tag: "Unattached", leaderId } : { _tag: "Unattached", leaderId, votedKey },
  );
  if (electsAsVoter(next)) {
    mark(out, timer === "fresh" ? "R31:unattached-fresh-timer" : "R31:unattached-keeps-timer");
    next = cancelTimersExcept(next, out, ["election"]);
    next =
      timer === "fresh"
        ? armTimer(next, out, "election", config.electionTimeoutMs, config.electionTimeoutMs)
        : keepTimer(next, out, "election");
  } else {
    mark(out, isVoterId(next, next.nodeId) ? "R146:recovering-voter-unattached" : "R11:observer-unattached");
    // R74: the fetch timer of an observer whose leader went quiet bounds how long it passes over it.
    next = cancelTimersExcept(next, out, next.quietLeaderId === NO_ID ? [] : ["fetch"]);
  }
  if (changed) notifyLeader(out, leaderId, epoch);
  if (!electsAsVoter(next)) next = sendFetch(next, config, out);
  return next;
};

/**
 * R24, R27: start a pre-vote election in the current epoch. Memory only (R15); keeps the known
 * leader and vote (R29); fresh election timer (R31).
 */
export const enterProspective = (s: NodeState, config: RaftConfig, out: Out): NodeState => {
  const role = s.role;
  const leaderId = role._tag === "Follower" || role._tag === "Unattached" ? role.leaderId : NO_ID;
  const votedKey = castVote(s);
  let next = leave(s, out, s.epoch, leaderId);
  next = withRole(
    next,
    s.epoch,
    votedKey === undefined
      ? { _tag: "Prospective", leaderId, granted: [s.nodeId], rejected: [] }
      : { _tag: "Prospective", leaderId, votedKey, granted: [s.nodeId], rejected: [] },
  );
  next = cancelTimersExcept(next, out, ["election"]);
  next = armTimer(next, out, "election", config.electionTimeoutMs, config.electionTimeoutMs);
  next = sendVoteRequests(next, config, out);
  return maybeWinElection(next, config, out);
};

/**
 * R24, R25: start a standard election: bump the epoch and vote for itself, durably (R15), before
 * any vote request leaves (R14).
 */
export const enterCandidate = (s: NodeState, config: RaftConfig, out: Out): NodeState => {
  const epoch = s.epoch + 1;
  persist(out, epoch, NO_ID, localKey(s));
  let next = leave(s, out, epoch, NO_ID);
  next = withRole(next, epoch, { _tag: "Candidate", granted: [s.nodeId], rejected: [] });
  next = cancelTimersExcept(next, out, ["election"]);
  next = armTimer(next, out, "election", config.electionTimeoutMs, config.electionTimeoutMs);
  notifyLeader(out, NO_ID, epoch);
  next = sendVoteRequests(next, config, out);
  return maybeWinElection(next, config, out);
};

/** R25, R54: become leader of the current epoch. Durable (R15); the rest is in leader.ts. */
export const enterLeader = (s: NodeState, config: RaftConfig, out: Out): NodeState => {
  persist(out, s.epoch, s.nodeId, localKey(s));
  let next = leave(s, out, s.epoch, s.nodeId);
  next = cancelTimersExcept(next, out, []);
  return becomeLeaderEffects(next, config, out);
};

/**
 * R23–R27: follow `leaderId` in `epoch`. Durable (R15); keeps the vote in the same epoch (R13, R29);
 * arms the fetch timer (R32) and starts fetching (R61).
 */
export const enterFollower = (
  s: NodeState,
  config: RaftConfig,
  out: Out,
  epoch: number,
  leaderId: number,
  votedKey: ReplicaKey | undefined,
): NodeState => {
  persist(out, epoch, leaderId, votedKey);
  let next = leave(s, out, epoch, leaderId);
  next = withRole(
    next,
    epoch,
    votedKey === undefined
      ? { _tag: "Follower", leaderId, hasFetchedFromLeader: false }
      : { _tag: "Follower", leaderId, votedKey, hasFetchedFromLeader: false },
  );
  if (next.quietLeaderId !== NO_ID) next = { ...next, quietLeaderId: NO_ID };
  next = cancelTimersExcept(next, out, ["fetch"]);
  next = armTimer(next, out, "fetch", config.fetchTimeoutMs);
  next = armUpdateVoterSet(next, config, out);
  if (epoch !== s.epoch || knownLeader(s) !== leaderId) notifyLeader(out, leaderId, epoch);
  return sendFetch(next, config, out);
};

/**
 * R26, R72: a leader steps down in its own epoch. Memory only (R15): a restart comes back Resigned
 * anyway (R19). It asks the other voters, best-replicated first, to start an election.
 */
export const enterResigned = (
  s: NodeState,
  config: RaftConfig,
  out: Out,
  preferredSuccessors: readonly ReplicaKey[],
): NodeState => {
  mark(out, preferredSuccessors.length > 0 ? "R26:leader-resigns" : "R26:lone-leader-resigns");
  let next = leave(s, out, s.epoch, s.nodeId);
  next = withRole(next, s.epoch, {
    _tag: "Resigned",
    unackedVoters: otherVoters(s).map((v) => v.id),
    preferredSuccessors,
  });
  next = cancelTimersExcept(next, out, ["election"]);
  next = armTimer(next, out, "election", config.electionTimeoutMs, config.electionTimeoutMs);
  return sendEndQuorumEpoch(next, config, out);
};

/**
 * R41: learn of (leaderId, epoch) from a message. A higher epoch moves this node to follow the leader
 * when it is named and reachable, else to Unattached; the same epoch with a newly known leader makes
 * it a Follower, keeping its vote (R29). The consistency check of R42 has already passed.
 */
export const maybeTransition = (
  s: NodeState,
  config: RaftConfig,
  out: Out,
  leaderId: number,
  epoch: number,
): NodeState => {
  if (epoch > s.epoch) {
    const timer: TimerMode = freshTimerOnLeave(s) ? "fresh" : "keep";
    if (leaderId >= 0 && namedLeaderReachable(s, config, leaderId)) {
      mark(out, "R41:newer-epoch-follows-leader");
      return enterFollower(s, config, out, epoch, leaderId, undefined);
    }
    mark(out, leaderId >= 0 ? "R41:newer-epoch-unreachable-leader" : "R41:newer-epoch-no-leader");
    return enterUnattached(s, config, out, epoch, leaderId >= 0 ? leaderId : NO_ID, undefined, timer);
  }
  if (epoch === s.epoch && leaderId >= 0 && leaderId !== s.nodeId) {
    if (!knowsLeaderEndpoints(s) && namedLeaderReachable(s, config, leaderId)) {
      mark(out, "R41:same-epoch-learns-leader");
      return enterFollower(s, config, out, epoch, leaderId, castVote(s));
    }
  }
  return s;
};

/**
 * R10, R21, R41: whether this node knows the leader of its epoch and how to reach it. An Unattached
 * node may carry a leader id without endpoints (R21, R27); a message naming that leader completes it.
 */
const knowsLeaderEndpoints = (s: NodeState): boolean => {
  const role = s.role;
  switch (role._tag) {
    case "Leader":
    case "Resigned":
    case "Follower":
      return true;
    case "Prospective":
      return role.leaderId >= 0;
    case "Unattached":
    case "Candidate":
      return false;
  }
};

/**
 * R21, R41: a leader can be followed when its endpoints are known. With a static voter set every
 * voter's endpoints are configured, and only voters lead.
 */
export const leaderReachable = (s: NodeState, leaderId: number): boolean =>
  s.voters.some((v) => v.id === leaderId);

/**
 * R41, R60: a leader named by a message can be followed when its endpoints are known. With
 * kraft.version 1 the messages that name a leader carry its endpoints (BeginQuorumEpoch's
 * LeaderEndpoints, the answers' NodeEndpoints), so a replica follows a leader its own voter set does
 * not hold — say, one whose uncommitted VotersRecord removed that leader, which only fetching from it
 * can truncate away (R91).
 */
export const namedLeaderReachable = (s: NodeState, config: RaftConfig, leaderId: number): boolean =>
  leaderReachable(s, leaderId) || config.kraftVersion === 1;

/**
 * R31: Unattached entered from Leader, Follower or a rejected Prospective draws a fresh timeout; from
 * Candidate, Unattached, a not-yet-rejected Prospective or Resigned it keeps the remaining time.
 */
export const freshTimerOnLeave = (s: NodeState): boolean => {
  const role = s.role;
  return role._tag === "Leader" || role._tag === "Follower";
};
