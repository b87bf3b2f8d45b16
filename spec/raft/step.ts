// The reducer: one input in, the next state and the effects to carry out, in order.
import { mark } from "../marks.ts";
import {
  handleClientAppend,
  handleLogFlushed,
  handleResign,
  handleShutdown,
  shutdownReady,
} from "./client.ts";
import { handleCommonResponse } from "./common.ts";
import { continueFetching, handleFetchResponse, nextVoter } from "./fetch-follower.ts";
import { handleDescribeQuorumRequest, handleFetchRequest } from "./fetch-leader.ts";
import type { RaftInput, RequestFailed, StepResult } from "./io.ts";
import { preferredSuccessors } from "./leader.ts";
import type { RaftMessage } from "./messages.ts";
import { armTimer, isAnswerTo, newOut, type Out, takeInflight } from "./node.ts";
import {
  handleBeginQuorumEpochRequest,
  handleBeginQuorumEpochResponse,
  handleEndQuorumEpochRequest,
  handleEndQuorumEpochResponse,
  sendEndQuorumEpoch,
} from "./quorum-epoch.ts";
import {
  completeVoterChange,
  handleAddRaftVoterRequest,
  handleApiVersionsRequest,
  handleApiVersionsResponse,
  handleRemoveRaftVoterRequest,
  handleUpdateRaftVoterRequest,
} from "./reconfiguration.ts";
import {
  handleCreateSnapshot,
  handleDeleteBeforeSnapshot,
  handleFetchSnapshotRequest,
  handleFetchSnapshotResponse,
} from "./snapshot.ts";
import type { NodeState, RaftConfig } from "./state.ts";
import { handleTimerExpired } from "./timers.ts";
import { enterResigned } from "./transitions.ts";
import { handleVoteRequest, handleVoteResponse, sendVoteRequests } from "./vote.ts";

const receive = (
  s: NodeState,
  config: RaftConfig,
  out: Out,
  from: number,
  message: RaftMessage,
  correlationId: number | undefined,
  nowMs: number,
): NodeState => {
  switch (message._tag) {
    case "VoteRequest":
      return handleVoteRequest(s, config, out, from, message, correlationId);
    case "BeginQuorumEpochRequest":
      return handleBeginQuorumEpochRequest(s, config, out, from, message, correlationId);
    case "EndQuorumEpochRequest":
      return handleEndQuorumEpochRequest(s, config, out, from, message, correlationId);
    case "FetchRequest":
      return handleFetchRequest(s, config, out, from, message, correlationId, nowMs);
    case "DescribeQuorumRequest":
      return handleDescribeQuorumRequest(s, out, from, message, correlationId, nowMs);
    case "FetchSnapshotRequest":
      return handleFetchSnapshotRequest(s, config, out, from, message, correlationId);
    case "VoteResponse": {
      const common = handleCommonResponse(s, config, out, from, "Vote", message, correlationId);
      return common.proceed ? handleVoteResponse(common.state, config, out, from, message) : common.state;
    }
    case "BeginQuorumEpochResponse": {
      const common = handleCommonResponse(s, config, out, from, "BeginQuorumEpoch", message, correlationId);
      return common.proceed ? handleBeginQuorumEpochResponse(common.state, from, message) : common.state;
    }
    case "EndQuorumEpochResponse": {
      const common = handleCommonResponse(s, config, out, from, "EndQuorumEpoch", message, correlationId);
      return common.proceed ? handleEndQuorumEpochResponse(common.state, from, message) : common.state;
    }
    case "FetchResponse": {
      if (!isAnswerTo(s, from, "Fetch", correlationId)) return s;
      const common = handleCommonResponse(s, config, out, from, "Fetch", message, correlationId);
      const next = common.proceed
        ? handleFetchResponse(common.state, config, out, from, message)
        : common.state;
      // R68, R75: keep fetching; after an answer that was not NONE, only after a backoff.
      return continueFetching(next, config, out, !common.proceed);
    }
    case "FetchSnapshotResponse": {
      if (!isAnswerTo(s, from, "FetchSnapshot", correlationId)) return s;
      const common = handleCommonResponse(s, config, out, from, "FetchSnapshot", message, correlationId);
      // R83: SNAPSHOT_NOT_FOUND and POSITION_OUT_OF_RANGE are answers the download handles itself.
      const own = message.errorCode === "SNAPSHOT_NOT_FOUND" || message.errorCode === "POSITION_OUT_OF_RANGE";
      const next =
        common.proceed ||
        (own && common.state.role._tag === "Follower" && common.state.epoch === message.leaderEpoch)
          ? handleFetchSnapshotResponse(common.state, config, out, from, message)
          : common.state;
      return continueFetching(next, config, out, !common.proceed && !own);
    }
    case "AddRaftVoterRequest":
      return handleAddRaftVoterRequest(s, config, out, from, message, correlationId);
    case "RemoveRaftVoterRequest":
      return handleRemoveRaftVoterRequest(s, config, out, from, message, correlationId);
    case "UpdateRaftVoterRequest":
      return handleUpdateRaftVoterRequest(s, config, out, from, message, correlationId);
    case "ApiVersionsRequest":
      return handleApiVersionsRequest(s, config, out, from, correlationId);
    case "ApiVersionsResponse": {
      const next = takeInflight(s, from, "ApiVersions", correlationId);
      return next === undefined ? s : handleApiVersionsResponse(next, config, out, from, message);
    }
    // R150: the answer to an auto-joining observer's own request; the timer asks again if the voter
    // set still lacks it, so an answer changes nothing else. Any other answer is for a client.
    case "AddRaftVoterResponse":
    case "RemoveRaftVoterResponse": {
      const api = message._tag === "AddRaftVoterResponse" ? "AddRaftVoter" : "RemoveRaftVoter";
      const next = takeInflight(s, from, api, correlationId);
      if (next === undefined) return s;
      mark(out, message.errorCode === "NONE" ? "R150:auto-join-answered" : "R150:auto-join-refused");
      return next;
    }
    // R32, R99: the answer to this voter's own update: the period asks again if its entry still
    // differs; the leader's acceptance counts as hearing from it. Any other answer is for a tool.
    case "UpdateRaftVoterResponse": {
      const next = takeInflight(s, from, "UpdateRaftVoter", correlationId);
      if (next === undefined) return s;
      const role = next.role;
      if (message.errorCode !== "NONE") {
        mark(out, "R99:voter-update-refused");
        return next;
      }
      mark(out, "R99:voter-update-answered");
      return role._tag === "Follower" && role.leaderId === from && message.leaderEpoch === next.epoch
        ? armTimer(next, out, "fetch", config.fetchTimeoutMs)
        : next;
    }
    // Nodes never ask each other to describe the quorum; an answer is for a client.
    case "DescribeQuorumResponse":
      return s;
  }
};

/** The transport gave up on a request: try again where the protocol still wants an answer. */
const requestFailed = (s: NodeState, config: RaftConfig, out: Out, input: RequestFailed): NodeState => {
  const next = takeInflight(s, input.destination, input.api, input.correlationId);
  if (next === undefined) return s;
  switch (input.api) {
    case "Vote":
      mark(out, "R45:failed-vote-request-resent");
      return sendVoteRequests(next, config, out);
    case "EndQuorumEpoch":
      mark(out, "R72:failed-end-epoch-resent");
      return sendEndQuorumEpoch(next, config, out);
    // R75: a leaderless observer tries the next voter; everyone else retries the same node.
    case "Fetch": {
      mark(out, next.role._tag === "Unattached" ? "R75:failed-fetch-next-voter" : "R75:failed-fetch-retried");
      const moved = next.role._tag === "Unattached" ? nextVoter(next) : next;
      return continueFetching(moved, config, out, false);
    }
    // R75: a part of a snapshot that did not arrive is asked for again, after the backoff.
    case "FetchSnapshot":
      mark(out, "R83:failed-fetch-snapshot-retried");
      return continueFetching(next, config, out, false);
    // R56: the resend timer will ask again.
    case "BeginQuorumEpoch":
      mark(out, "R56:failed-begin-epoch-waits-for-resend");
      return next;
    // R150: the update-voter-set timer will ask again.
    case "AddRaftVoter":
    case "RemoveRaftVoter":
      mark(out, "R150:failed-auto-join-waits-for-timer");
      return next;
    // R99: so it will for a voter's own update.
    case "UpdateRaftVoter":
      mark(out, "R99:failed-voter-update-waits-for-timer");
      return next;
    // R96: the voter-to-be did not answer: the addition is refused.
    case "ApiVersions":
      return handleApiVersionsResponse(next, config, out, input.destination, null);
  }
};

const dispatch = (s: NodeState, input: RaftInput, config: RaftConfig, out: Out): NodeState => {
  switch (input._tag) {
    case "Received":
      return receive(s, config, out, input.from, input.message, input.correlationId, input.nowMs ?? -1);
    case "TimerExpired":
      return handleTimerExpired(s, config, out, input.timer);
    case "ClientAppend":
      return handleClientAppend(s, config, out, input.epoch, input.count, input.correlationId);
    case "LogFlushed":
      return handleLogFlushed(s, config, out, input.offset);
    case "RequestFailed":
      return requestFailed(s, config, out, input);
    case "Resign":
      return handleResign(s, config, out, input.epoch);
    case "Shutdown":
      return handleShutdown(s, config, out);
    case "CreateSnapshot":
      return handleCreateSnapshot(s, out, input.endOffset, input.size);
    case "DeleteBeforeSnapshot":
      return handleDeleteBeforeSnapshot(s, out, input.endOffset);
  }
};

/**
 * Apply one input. Pure: the same state, input and config always give the same result; nothing is
 * mutated and nothing is thrown for well-typed input.
 */
export const step = (state: NodeState, input: RaftInput, config: RaftConfig): StepResult<NodeState> => {
  const out = newOut();
  let next = dispatch(state, input, config, out);
  // R96–R98: a voter change the high watermark now covers is answered; a leader it removed resigns.
  if (next.role._tag === "Leader") {
    const completed = completeVoterChange(next, out);
    next = completed.state;
    if (completed.resign && next.role._tag === "Leader") {
      mark(out, "R98:removed-leader-resigns-once-committed");
      next = enterResigned(next, config, out, preferredSuccessors(next, next.role));
    }
  }
  // R35: a node shutting down that just won an election hands leadership on at once.
  if (next.shuttingDown && next.role._tag === "Leader") {
    mark(out, "R35:shutdown-hands-on-won-leadership");
    next = enterResigned(next, config, out, preferredSuccessors(next, next.role));
  }
  if (shutdownReady(next) && !shutdownReady(state)) mark(out, "R35:shutdown-complete");
  if (shutdownReady(next) && !shutdownReady(state)) out.effects.push({ _tag: "ShutdownComplete" });
  return { state: next, effects: out.effects, marks: out.marks };
};
