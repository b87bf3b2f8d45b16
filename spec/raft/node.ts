// Small helpers over NodeState shared by every handler: identity, voter membership, timers,
// in-flight requests and the response fields every message carries (R39).
import { type Collector, newCollector } from "../marks.ts";
import type { RaftEffect } from "./io.ts";
import type { RaftMessage, RequestApi } from "./messages.ts";
import { majority, NO_ID, type ReplicaKey, replicaKeyMatches, type Voter } from "./primitives.ts";
import type { NodeState, TimerKind } from "./state.ts";

/** Effects are collected in order, with the coverage marks of the branches taken (spec/marks.ts). */
export type Out = Collector<RaftEffect>;

export const newOut = (): Out => newCollector<RaftEffect>();

export const localKey = (s: NodeState): ReplicaKey =>
  s.directoryId === undefined ? { id: s.nodeId } : { id: s.nodeId, directoryId: s.directoryId };

/** R5, R8: the voter entry matching a replica key, if any. */
export const findVoter = (voters: readonly Voter[], key: ReplicaKey): Voter | undefined => {
  for (const voter of voters) if (replicaKeyMatches(voter, key)) return voter;
  return undefined;
};

/** R8: a replica is a voter iff its key matches an entry of its latest voter set. */
export const isVoter = (s: NodeState): boolean => findVoter(s.voters, localKey(s)) !== undefined;

/**
 * R146: a voter takes part in elections (votes, stands, keeps an election timer) unless it is
 * recovering lost records; until then it looks for the leader the way an observer does (R74).
 */
export const electsAsVoter = (s: NodeState): boolean => !s.recovering && isVoter(s);

export const isVoterId = (s: NodeState, id: number): boolean => s.voters.some((v) => v.id === id);

export const otherVoters = (s: NodeState): readonly Voter[] => s.voters.filter((v) => v.id !== s.nodeId);

export const quorumSize = (s: NodeState): number => majority(s.voters.length);

/** The leader this node knows for its epoch, or -1 (R39). */
export const knownLeader = (s: NodeState): number => {
  const role = s.role;
  switch (role._tag) {
    case "Leader":
    case "Resigned":
      return s.nodeId;
    case "Follower":
    case "Unattached":
    case "Prospective":
      return role.leaderId;
    case "Candidate":
      return NO_ID;
  }
};

/** The standard vote this node cast in its epoch, if any (R13). */
export const castVote = (s: NodeState): ReplicaKey | undefined => {
  const role = s.role;
  switch (role._tag) {
    case "Unattached":
    case "Prospective":
    case "Follower":
      return role.votedKey;
    case "Candidate":
    case "Leader":
    case "Resigned":
      return localKey(s);
  }
};

// ---- timers (R31–R35) --------------------------------------------------------------------------

export const hasTimer = (s: NodeState, timer: TimerKind): boolean => s.timers.includes(timer);

/** Arm a timer with a fresh duration, replacing any running one. */
export const armTimer = (
  s: NodeState,
  out: Out,
  timer: TimerKind,
  delayMs: number,
  jitterMs = 0,
): NodeState => {
  out.effects.push({ _tag: "SetTimer", timer, delayMs, jitterMs });
  return hasTimer(s, timer) ? s : { ...s, timers: [...s.timers, timer] };
};

/**
 * R31: keep the remaining time of a running timer; a timer that already ran out (its expiry is
 * what is being handled) has no time left and fires again at once.
 */
export const keepTimer = (s: NodeState, out: Out, timer: TimerKind): NodeState =>
  hasTimer(s, timer) ? s : armTimer(s, out, timer, 0, 0);

export const cancelTimer = (s: NodeState, out: Out, timer: TimerKind): NodeState => {
  if (!hasTimer(s, timer)) return s;
  out.effects.push({ _tag: "CancelTimer", timer });
  return { ...s, timers: s.timers.filter((t) => t !== timer) };
};

/** Cancel every armed timer not in `keep`. */
export const cancelTimersExcept = (s: NodeState, out: Out, keep: readonly TimerKind[]): NodeState => {
  let next = s;
  for (const timer of s.timers) if (!keep.includes(timer)) next = cancelTimer(next, out, timer);
  return next;
};

// ---- requests in flight (R40(0)) ---------------------------------------------------------------

export const isInflight = (s: NodeState, destination: number, api: RequestApi): boolean =>
  s.inflight.some((r) => r.destination === destination && r.api === api);

/** R40(0): the in-flight request a response or failure with this correlation id belongs to. */
export const isAnswerTo = (
  s: NodeState,
  destination: number,
  api: RequestApi,
  correlationId: number | undefined,
): boolean =>
  s.inflight.some((r) => r.destination === destination && r.api === api && r.correlationId === correlationId);

/** Send a request unless one of the same API is already in flight to that destination. */
export const sendRequest = (
  s: NodeState,
  out: Out,
  destination: number,
  api: RequestApi,
  message: RaftMessage,
): NodeState => {
  if (isInflight(s, destination, api)) return s;
  const correlationId = s.nextCorrelationId;
  out.effects.push({ _tag: "Send", to: destination, message, correlationId });
  return {
    ...s,
    inflight: [...s.inflight, { destination, api, correlationId }],
    nextCorrelationId: correlationId >= 0x7fffffff ? 1 : correlationId + 1,
  };
};

/** R40(0): take the request a response answers out of flight; undefined when none matches. */
export const takeInflight = (
  s: NodeState,
  destination: number,
  api: RequestApi,
  correlationId: number | undefined,
): NodeState | undefined => {
  if (!isAnswerTo(s, destination, api, correlationId)) return undefined;
  return {
    ...s,
    inflight: s.inflight.filter(
      (r) => !(r.destination === destination && r.api === api && r.correlationId === correlationId),
    ),
  };
};

/** Answer a request with the correlation id it came with. */
export const respond = (
  out: Out,
  to: number,
  message: RaftMessage,
  correlationId: number | undefined,
): void => {
  out.effects.push(
    correlationId === undefined
      ? { _tag: "Send", to, message }
      : { _tag: "Send", to, message, correlationId },
  );
};

export const illegalState = (out: Out, rule: string, detail: string): void => {
  out.effects.push({ _tag: "IllegalState", rule, detail });
};
