// BeginQuorumEpoch (R59–R60) and EndQuorumEpoch with resignation (R71–R73).
import { mark } from "../marks.ts";
import { leaderIsConsistent, validateClusterId } from "./common.ts";
import type {
  BeginQuorumEpochRequest,
  BeginQuorumEpochResponse,
  EndQuorumEpochRequest,
  EndQuorumEpochResponse,
} from "./messages.ts";
import { armTimer, knownLeader, localKey, type Out, respond, sendRequest } from "./node.ts";
import {
  type ErrorCode,
  METADATA_PARTITION,
  METADATA_TOPIC_NAME,
  type ReplicaKey,
  replicaKeyMatches,
} from "./primitives.ts";
import type { NodeState, RaftConfig } from "./state.ts";
import { maybeTransition } from "./transitions.ts";

const quorumEpochError = (
  s: NodeState,
  config: RaftConfig,
  request: BeginQuorumEpochRequest | EndQuorumEpochRequest,
): ErrorCode | undefined => {
  // R36, R1, R37
  const clusterError = validateClusterId(config, request.clusterId);
  if (clusterError !== undefined) return clusterError;
  if (request.topicName !== METADATA_TOPIC_NAME || request.partitionIndex !== METADATA_PARTITION)
    return "INVALID_REQUEST";
  if (request.leaderEpoch < s.epoch) return "FENCED_LEADER_EPOCH";
  if (request.leaderId < 0) return "INVALID_REQUEST";
  return undefined;
};

const answer = <T extends "BeginQuorumEpochResponse" | "EndQuorumEpochResponse">(
  tag: T,
  s: NodeState,
  errorCode: ErrorCode,
) => ({ _tag: tag, errorCode, leaderId: knownLeader(s), leaderEpoch: s.epoch });

// ---- BeginQuorumEpoch --------------------------------------------------------------------------

/**
 * R60: validate, then follow the announced leader (R41); only then check that the request was meant
 * for this replica (R100).
 */
export const handleBeginQuorumEpochRequest = (
  s: NodeState,
  config: RaftConfig,
  out: Out,
  from: number,
  request: BeginQuorumEpochRequest,
  correlationId: number | undefined,
): NodeState => {
  const error = quorumEpochError(s, config, request);
  if (error !== undefined) {
    mark(out, error === "FENCED_LEADER_EPOCH" ? "R60:begin-epoch-stale" : "R60:begin-epoch-invalid");
    respond(out, from, answer("BeginQuorumEpochResponse", s, error), correlationId);
    return s;
  }
  if (!leaderIsConsistent(s, out, request.leaderId, request.leaderEpoch)) return s;
  const next = maybeTransition(s, config, out, request.leaderId, request.leaderEpoch);
  const intended =
    request.voterId < 0 ||
    (request.voterId === next.nodeId &&
      (request.voterDirectoryId === undefined ||
        next.directoryId === undefined ||
        request.voterDirectoryId === next.directoryId));
  mark(out, intended ? "R60:begin-epoch-followed" : "R100:begin-epoch-wrong-voter");
  respond(
    out,
    from,
    answer("BeginQuorumEpochResponse", next, intended ? "NONE" : "INVALID_VOTER_KEY"),
    correlationId,
  );
  return next;
};

/** R56: a voter that answered NONE has acknowledged the leader and is not asked again this interval. */
export const handleBeginQuorumEpochResponse = (
  s: NodeState,
  from: number,
  response: BeginQuorumEpochResponse,
): NodeState => {
  const role = s.role;
  if (role._tag !== "Leader" || response.errorCode !== "NONE") return s;
  const voterStates = role.voterStates.map((v) =>
    v.id === from && !v.acknowledged ? { ...v, acknowledged: true } : v,
  );
  return { ...s, role: { ...role, voterStates } };
};

// ---- EndQuorumEpoch ----------------------------------------------------------------------------

/** R72: ask every voter that has not acknowledged yet to elect a successor. */
export const sendEndQuorumEpoch = (s: NodeState, config: RaftConfig, out: Out): NodeState => {
  const role = s.role;
  if (role._tag !== "Resigned") return s;
  let next = s;
  for (const voterId of role.unackedVoters) {
    const request: EndQuorumEpochRequest = {
      _tag: "EndQuorumEpochRequest",
      clusterId: config.clusterId,
      topicName: METADATA_TOPIC_NAME,
      partitionIndex: METADATA_PARTITION,
      leaderId: s.nodeId,
      leaderEpoch: s.epoch,
      preferredCandidates: role.preferredSuccessors,
    };
    next = sendRequest(next, out, voterId, "EndQuorumEpoch", request);
  }
  return next;
};

/**
 * R72: how long a follower of a resigning leader waits before its own election: not at all when it
 * is the first preferred successor, exponentially longer further down the list, the maximum
 * election backoff when it is not listed.
 */
export const endEpochElectionBackoffMs = (
  config: RaftConfig,
  self: ReplicaKey,
  preferred: readonly ReplicaKey[],
): number => {
  const position = preferred.findIndex((candidate) => replicaKeyMatches(candidate, self));
  const max = config.electionBackoffMaxMs;
  if (position < 0) return max;
  if (position === 0) return 0;
  return Math.min(max, (max >> (preferred.length - 1)) << (position - 1));
};

export const handleEndQuorumEpochRequest = (
  s: NodeState,
  config: RaftConfig,
  out: Out,
  from: number,
  request: EndQuorumEpochRequest,
  correlationId: number | undefined,
): NodeState => {
  const error = quorumEpochError(s, config, request);
  if (error !== undefined) {
    mark(out, error === "FENCED_LEADER_EPOCH" ? "R71:end-epoch-stale" : "R71:end-epoch-invalid");
    respond(out, from, answer("EndQuorumEpochResponse", s, error), correlationId);
    return s;
  }
  if (!leaderIsConsistent(s, out, request.leaderId, request.leaderEpoch)) return s;
  let next = maybeTransition(s, config, out, request.leaderId, request.leaderEpoch);
  const role = next.role;
  if (role._tag === "Follower" && role.leaderId === request.leaderId && next.epoch === request.leaderEpoch) {
    const backoff = endEpochElectionBackoffMs(config, localKey(next), request.preferredCandidates);
    mark(out, backoff === 0 ? "R72:first-successor-stands-at-once" : "R72:successor-backs-off");
    next = armTimer(next, out, "fetch", backoff);
  }
  respond(out, from, answer("EndQuorumEpochResponse", next, "NONE"), correlationId);
  return next;
};

/** R72: a voter that answered NONE is not asked again. */
export const handleEndQuorumEpochResponse = (
  s: NodeState,
  from: number,
  response: EndQuorumEpochResponse,
): NodeState => {
  const role = s.role;
  if (role._tag !== "Resigned" || response.errorCode !== "NONE" || !role.unackedVoters.includes(from))
    return s;
  return { ...s, role: { ...role, unackedVoters: role.unackedVoters.filter((id) => id !== from) } };
};
