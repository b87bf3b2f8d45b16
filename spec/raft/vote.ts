// Vote and pre-vote (R43–R53): sending, the receiver's validation and grant tables, and the
// election bookkeeping of Prospective and Candidate.
import { mark } from "../marks.ts";
import { validateClusterId } from "./common.ts";
import { lastEpoch, lastFlushedEpoch } from "./log.ts";
import type { VoteRequest, VoteResponse } from "./messages.ts";
import {
  armTimer,
  electsAsVoter,
  isVoterId,
  knownLeader,
  type Out,
  otherVoters,
  quorumSize,
  respond,
  sendRequest,
} from "./node.ts";
import { type ErrorCode, METADATA_PARTITION, METADATA_TOPIC_NAME, replicaKeyMatches } from "./primitives.ts";
import type { Candidate, NodeState, Prospective, RaftConfig } from "./state.ts";
import {
  enterCandidate,
  enterFollower,
  enterLeader,
  enterUnattached,
  freshTimerOnLeave,
  namedLeaderReachable,
} from "./transitions.ts";

// ---- sending (R45) -----------------------------------------------------------------------------

/**
 * R45: ask every voter that has not answered yet. A pre-vote carries the current epoch, a standard
 * vote the bumped one; both carry the sender's last epoch and log end offset (R43) — of its flushed
 * log (R16): a vote won with records a crash then takes away could elect a leader without a
 * committed record.
 */
export const sendVoteRequests = (s: NodeState, config: RaftConfig, out: Out): NodeState => {
  const role = s.role;
  if (role._tag !== "Prospective" && role._tag !== "Candidate") return s;
  const preVote = role._tag === "Prospective";
  let next = s;
  for (const voter of otherVoters(s)) {
    if (role.granted.includes(voter.id) || role.rejected.includes(voter.id)) continue;
    const request: VoteRequest = {
      _tag: "VoteRequest",
      clusterId: config.clusterId,
      voterId: voter.id,
      topicName: METADATA_TOPIC_NAME,
      partitionIndex: METADATA_PARTITION,
      replicaEpoch: s.epoch,
      replicaId: s.nodeId,
      ...(s.directoryId === undefined ? {} : { replicaDirectoryId: s.directoryId }),
      ...(voter.directoryId === undefined ? {} : { voterDirectoryId: voter.directoryId }),
      lastOffsetEpoch: lastFlushedEpoch(s.log),
      lastOffset: s.log.flushedOffset,
      preVote,
    };
    next = sendRequest(next, out, voter.id, "Vote", request);
  }
  return next;
};

// ---- election bookkeeping (R53) ----------------------------------------------------------------

type Election = Prospective | Candidate;

/** R53: won iff the granted votes reach a majority. */
const isWon = (s: NodeState, election: Election): boolean => election.granted.length >= quorumSize(s);

/** R53: lost iff even every unanswered voter granting could not reach a majority. */
const isLost = (s: NodeState, election: Election): boolean =>
  s.voters.length - election.rejected.length < quorumSize(s);

/** R22, R24, R25: a won pre-vote starts the real election; a won election makes a leader. */
export const maybeWinElection = (s: NodeState, config: RaftConfig, out: Out): NodeState => {
  const role = s.role;
  if (role._tag === "Prospective" && isWon(s, role)) {
    mark(out, "R24:prevote-won");
    return enterCandidate(s, config, out);
  }
  if (role._tag === "Candidate" && isWon(s, role)) {
    mark(out, "R25:election-won");
    return enterLeader(s, config, out);
  }
  return s;
};

/**
 * R24: a lost pre-vote returns to following the leader it knew, else to Unattached in the same epoch,
 * keeping its vote and drawing a fresh timeout (R29, R31).
 */
export const endProspective = (
  s: NodeState,
  config: RaftConfig,
  out: Out,
  role: Prospective,
  timer: "fresh" | "keep",
): NodeState => {
  if (role.leaderId >= 0 && namedLeaderReachable(s, config, role.leaderId)) {
    mark(out, "R24:prospective-back-to-leader");
    return enterFollower(s, config, out, s.epoch, role.leaderId, role.votedKey);
  }
  mark(out, "R24:prospective-back-to-unattached");
  return enterUnattached(s, config, out, s.epoch, role.leaderId, role.votedKey, timer);
};

// ---- receiving a request (R46–R51) -------------------------------------------------------------

const voteResponse = (s: NodeState, errorCode: ErrorCode, voteGranted: boolean): VoteResponse => ({
  _tag: "VoteResponse",
  errorCode,
  leaderId: knownLeader(s),
  leaderEpoch: s.epoch,
  voteGranted,
});

/** R48: the candidate's log is at least as up to date: compare epochs first, then offsets. */
const logIsUpToDate = (s: NodeState, request: VoteRequest): boolean => {
  const localEpoch = lastEpoch(s.log);
  return (
    request.lastOffsetEpoch > localEpoch ||
    (request.lastOffsetEpoch === localEpoch && request.lastOffset >= s.log.endOffset)
  );
};

/** R47, R100: the request must be meant for this replica (a v0 request names no voter). */
const isIntendedVoter = (s: NodeState, request: VoteRequest): boolean =>
  request.voterId < 0 ||
  (request.voterId === s.nodeId &&
    (request.voterDirectoryId === undefined ||
      s.directoryId === undefined ||
      request.voterDirectoryId === s.directoryId));

/** R50: the pre-vote grant table. A pre-vote never records, persists or resets anything. */
const grantsPreVote = (s: NodeState, request: VoteRequest): boolean => {
  switch (s.role._tag) {
    case "Unattached":
    case "Prospective":
    case "Candidate":
    case "Resigned":
      return logIsUpToDate(s, request);
    case "Follower":
      return !s.role.hasFetchedFromLeader && logIsUpToDate(s, request);
    case "Leader":
      return false;
  }
};

export const handleVoteRequest = (
  s: NodeState,
  config: RaftConfig,
  out: Out,
  from: number,
  request: VoteRequest,
  correlationId: number | undefined,
): NodeState => {
  // R36
  const clusterError = validateClusterId(config, request.clusterId);
  // R1, R46: the single metadata partition; offsets and epochs that cannot describe a log.
  const malformed =
    request.topicName !== METADATA_TOPIC_NAME ||
    request.partitionIndex !== METADATA_PARTITION ||
    request.lastOffset < 0 ||
    request.lastOffsetEpoch < 0 ||
    (request.preVote
      ? request.lastOffsetEpoch > request.replicaEpoch
      : request.lastOffsetEpoch >= request.replicaEpoch) ||
    request.replicaId < 0;
  const error: ErrorCode | undefined =
    clusterError ??
    (malformed ? "INVALID_REQUEST" : request.replicaEpoch < s.epoch ? "FENCED_LEADER_EPOCH" : undefined);
  if (error !== undefined) {
    mark(
      out,
      clusterError !== undefined
        ? "R36:vote-foreign-cluster"
        : malformed
          ? "R46:vote-malformed"
          : "R47:vote-stale-epoch",
    );
    respond(out, from, voteResponse(s, error, false), correlationId);
    return s;
  }

  // R47: a higher epoch is adopted durably first, even for a pre-vote.
  let next = s;
  if (request.replicaEpoch > s.epoch) {
    mark(out, request.preVote ? "R47:prevote-higher-epoch" : "R47:vote-higher-epoch");
    next = enterUnattached(
      s,
      config,
      out,
      request.replicaEpoch,
      -1,
      undefined,
      freshTimerOnLeave(s) ? "fresh" : "keep",
    );
  }
  if (!isIntendedVoter(next, request)) {
    mark(out, "R47:vote-wrong-voter");
    respond(out, from, voteResponse(next, "INVALID_VOTER_KEY", false), correlationId);
    return next;
  }

  const candidate =
    request.replicaDirectoryId === undefined
      ? { id: request.replicaId }
      : { id: request.replicaId, directoryId: request.replicaDirectoryId };

  // R146: a voter recovering records it lost grants no vote of either kind until it has them back.
  if (request.preVote) {
    const granted = !next.recovering && grantsPreVote(next, request);
    mark(
      out,
      next.recovering
        ? "R146:recovering-refuses-prevote"
        : granted
          ? "R50:prevote-granted"
          : next.role._tag === "Leader"
            ? "R50:prevote-leader-refuses"
            : next.role._tag === "Follower" && next.role.hasFetchedFromLeader
              ? "R50:prevote-follower-of-live-leader"
              : "R50:prevote-log-behind",
    );
    respond(out, from, voteResponse(next, "NONE", granted), correlationId);
    return next;
  }

  // R49: the standard-vote grant table.
  const role = next.role;
  let granted = false;
  if (next.recovering) {
    mark(out, "R146:recovering-refuses-vote");
  } else if (role._tag === "Unattached" || role._tag === "Prospective") {
    if (role.votedKey !== undefined) {
      granted = replicaKeyMatches(role.votedKey, candidate);
      mark(out, granted ? "R49:vote-same-candidate-again" : "R49:vote-already-cast");
    } else if (role.leaderId >= 0) {
      mark(out, "R49:vote-leader-known");
    } else if (!logIsUpToDate(next, request)) {
      mark(out, "R48:vote-log-behind");
    } else {
      mark(out, "R51:vote-granted");
      // R51: record the vote durably (the persist precedes the response) and reset the timer; R11:
      // an observer (asked by a candidate whose voter set names it) votes but keeps no election timer.
      out.effects.push({
        _tag: "PersistElectionState",
        epoch: next.epoch,
        leaderId: role.leaderId,
        votedKey: candidate,
      });
      next = { ...next, role: { ...role, votedKey: candidate } };
      if (electsAsVoter(next))
        next = armTimer(next, out, "election", config.electionTimeoutMs, config.electionTimeoutMs);
      granted = true;
    }
  } else {
    mark(out, "R49:vote-refused-by-role");
  }
  respond(out, from, voteResponse(next, "NONE", granted), correlationId);
  return next;
};

// ---- receiving a response (R52) ----------------------------------------------------------------

/**
 * R52: a Prospective counts the answer as a pre-vote, a Candidate as a vote. The common response
 * handling (R40) has already run and the error is NONE or UNSUPPORTED_VERSION.
 */
export const handleVoteResponse = (
  s: NodeState,
  config: RaftConfig,
  out: Out,
  from: number,
  response: VoteResponse,
): NodeState => {
  const role = s.role;
  if (role._tag !== "Prospective" && role._tag !== "Candidate") return s;
  // R24: a voter too old to understand a pre-vote: go straight to the standard election.
  if (response.errorCode === "UNSUPPORTED_VERSION") {
    if (role._tag !== "Prospective") return s;
    mark(out, "R24:prevote-unsupported-version");
    return enterCandidate(s, config, out);
  }
  if (response.errorCode !== "NONE") return s;
  // R52: answers count by the voter's id (a response names no directory id).
  if (!isVoterId(s, from)) return s;
  // Defensive: a voter is asked again only while it has not answered (R45).
  if (role.granted.includes(from) || role.rejected.includes(from)) return s;
  mark(out, response.voteGranted ? "R52:vote-grant-counted" : "R52:vote-rejection-counted");
  if (response.voteGranted) {
    const next = { ...s, role: { ...role, granted: [...role.granted, from] } };
    return maybeWinElection(next, config, out);
  }
  const updated: Election = { ...role, rejected: [...role.rejected, from] };
  const next = { ...s, role: updated };
  // R24: a lost pre-vote ends at once; R25: a lost election waits out its timer (KAFKA-18345).
  if (updated._tag === "Prospective" && isLost(next, updated)) {
    mark(out, "R24:prevote-lost");
    return endProspective(next, config, out, updated, "fresh");
  }
  if (updated._tag === "Candidate" && isLost(next, updated)) mark(out, "R25:election-lost-waits-timer");
  return next;
};
