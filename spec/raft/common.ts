// Rules every request and response goes through (R36–R42).

import { mark } from "../marks.ts";
import type {
  BeginQuorumEpochResponse,
  EndQuorumEpochResponse,
  FetchResponse,
  FetchSnapshotResponse,
  RequestApi,
  VoteResponse,
} from "./messages.ts";
import { illegalState, isVoter, knownLeader, type Out, takeInflight } from "./node.ts";
import type { ErrorCode } from "./primitives.ts";
import type { NodeState, RaftConfig } from "./state.ts";
import { maybeTransition } from "./transitions.ts";

/** R36: a request naming another cluster is refused; a null cluster id is accepted. */
export const validateClusterId = (config: RaftConfig, clusterId: string | null): ErrorCode | undefined =>
  clusterId !== null && clusterId !== config.clusterId ? "INCONSISTENT_CLUSTER_ID" : undefined;

/**
 * R42: a message's claim about the leader of an epoch must agree with what this node knows; a
 * disagreement could only mean two leaders in one epoch. Resigned still counts as leader of its epoch
 * (R73). R100: a node with a directory id that is not a voter by its key may be a replaced disk whose
 * old disk led: a claim that its id leads is about that replica, and is ignored without alarm.
 */
export const leaderIsConsistent = (s: NodeState, out: Out, leaderId: number, epoch: number): boolean => {
  if (leaderId < 0 || epoch < s.epoch) return true;
  if (leaderId === s.nodeId) {
    if (epoch === s.epoch && (s.role._tag === "Leader" || s.role._tag === "Resigned")) return true;
    if (s.directoryId !== undefined && !isVoter(s)) {
      mark(out, "R100:told-its-old-disk-leads");
      return false;
    }
    mark(out, "R42:told-it-leads");
    illegalState(
      out,
      "R42",
      `told that this node ${s.nodeId} leads epoch ${epoch}, but it is ${s.role._tag} in epoch ${s.epoch}`,
    );
    return false;
  }
  if (epoch === s.epoch) {
    const local = knownLeader(s);
    if (local >= 0 && local !== leaderId) {
      mark(out, "R42:two-leaders-in-epoch");
      illegalState(
        out,
        "R42",
        `epoch ${epoch} has leader ${local} here, but a message names leader ${leaderId}`,
      );
      return false;
    }
  }
  return true;
};

type CommonResponse =
  | VoteResponse
  | BeginQuorumEpochResponse
  | EndQuorumEpochResponse
  | FetchResponse
  | FetchSnapshotResponse;

export interface CommonOutcome {
  readonly state: NodeState;
  /** Whether the API-specific handler should look at the response. */
  readonly proceed: boolean;
}

/**
 * R40: the common path every response takes before its API handler:
 * (0) only an answer to a request in flight from this state is looked at;
 * (a) an older epoch, or UNKNOWN_LEADER_EPOCH, is stale;
 * (b) a newer epoch, FENCED_LEADER_EPOCH or NOT_LEADER_OR_FOLLOWER moves this node on (R41);
 * (c) a leader named for this epoch is adopted, and only a NONE answer goes further;
 * (d) INVALID_REQUEST means one of the two sides has a bug.
 */
export const handleCommonResponse = (
  s: NodeState,
  config: RaftConfig,
  out: Out,
  from: number,
  api: RequestApi,
  response: CommonResponse,
  correlationId: number | undefined,
): CommonOutcome => {
  const taken = takeInflight(s, from, api, correlationId);
  if (taken === undefined) {
    mark(out, "R40:answer-to-nothing-in-flight");
    return { state: s, proceed: false };
  }
  const error = response.errorCode;
  if (
    response.leaderEpoch < taken.epoch ||
    error === "UNKNOWN_LEADER_EPOCH" ||
    error === "INCONSISTENT_CLUSTER_ID"
  ) {
    mark(out, error === "INCONSISTENT_CLUSTER_ID" ? "R36:answer-foreign-cluster" : "R40:stale-answer");
    return { state: taken, proceed: false };
  }
  if (!leaderIsConsistent(taken, out, response.leaderId, response.leaderEpoch))
    return { state: taken, proceed: false };
  // R74: the leader that went quiet on this observer is taken back in its epoch on its own answer,
  // not on another node's word.
  if (
    taken.role._tag === "Unattached" &&
    response.leaderEpoch === taken.epoch &&
    response.leaderId === taken.quietLeaderId &&
    from !== response.leaderId
  ) {
    mark(out, "R74:quiet-leader-not-taken-on-hearsay");
    return { state: taken, proceed: false };
  }
  if (
    response.leaderEpoch > taken.epoch ||
    error === "FENCED_LEADER_EPOCH" ||
    error === "NOT_LEADER_OR_FOLLOWER"
  ) {
    mark(out, response.leaderEpoch > taken.epoch ? "R41:answer-newer-epoch" : "R41:answer-fenced");
    return {
      state: maybeTransition(taken, config, out, response.leaderId, response.leaderEpoch),
      proceed: false,
    };
  }
  const next = maybeTransition(taken, config, out, response.leaderId, response.leaderEpoch);
  if (error === "INVALID_REQUEST") {
    mark(out, "R40:answer-invalid-request");
    illegalState(out, "R40", `replica ${from} rejected a ${api} request from this node as invalid`);
    return { state: next, proceed: false };
  }
  return { state: next, proceed: error === "NONE" || error === "UNSUPPORTED_VERSION" };
};
