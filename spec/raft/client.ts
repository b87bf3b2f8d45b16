// What the state machine and the process ask of the Raft layer: appends (R87), resignation (R87),
// graceful shutdown (R35), and the shell's report that a flush finished (R16).
import { mark } from "../marks.ts";
import { continueFetching } from "./fetch-follower.ts";
import { completeParkedFetches, preferredSuccessors, updateHighWatermark } from "./leader.ts";
import { appendToLog, markFlushed } from "./log.ts";
import { electsAsVoter, type Out } from "./node.ts";
import type { NodeState, RaftConfig } from "./state.ts";
import { enterResigned } from "./transitions.ts";

/**
 * R87: only the leader of exactly the given epoch accepts records. They are stamped with its epoch,
 * flushed, and waiting fetches are answered with them (R63(d)).
 */
export const handleClientAppend = (
  s: NodeState,
  config: RaftConfig,
  out: Out,
  epoch: number,
  count: number,
  correlationId: number | undefined,
): NodeState => {
  if (s.role._tag !== "Leader" || epoch !== s.epoch || s.shuttingDown) {
    mark(out, s.role._tag !== "Leader" ? "R87:append-refused-not-leader" : "R87:append-refused-wrong-epoch");
    out.effects.push(
      correlationId === undefined
        ? { _tag: "ClientRejected", operation: "append", errorCode: "NOT_LEADER_OR_FOLLOWER" }
        : { _tag: "ClientRejected", operation: "append", correlationId, errorCode: "NOT_LEADER_OR_FOLLOWER" },
    );
    return s;
  }
  const baseOffset = s.log.endOffset;
  mark(out, "R87:append-accepted");
  out.effects.push({ _tag: "AppendRecords", baseOffset, epoch, count });
  const log = appendToLog(s.log, epoch, count);
  out.effects.push({ _tag: "FlushLog", offset: log.endOffset });
  const lastOffset = log.endOffset - 1;
  out.effects.push(
    correlationId === undefined
      ? { _tag: "AppendAccepted", epoch, baseOffset, lastOffset }
      : { _tag: "AppendAccepted", correlationId, epoch, baseOffset, lastOffset },
  );
  return completeParkedFetches({ ...s, log }, config, out);
};

/** R87: resign(epoch) — ignored for an older epoch, refused unless leader of that epoch. */
export const handleResign = (s: NodeState, config: RaftConfig, out: Out, epoch: number): NodeState => {
  if (epoch < s.epoch) return s;
  if (s.role._tag !== "Leader" || epoch !== s.epoch) {
    mark(out, "R87:resign-refused");
    out.effects.push({ _tag: "ClientRejected", operation: "resign", errorCode: "NOT_LEADER_OR_FOLLOWER" });
    return s;
  }
  mark(out, "R87:resign-accepted");
  return enterResigned(s, config, out, preferredSuccessors(s, s.role));
};

/** R35: a leader resigns and waits for a successor; everyone else finishes when shutdownReady says so. */
export const handleShutdown = (s: NodeState, config: RaftConfig, out: Out): NodeState => {
  const next: NodeState = s.shuttingDown ? s : { ...s, shuttingDown: true };
  if (next.role._tag === "Leader") mark(out, "R35:leader-shutdown-resigns");
  return next.role._tag === "Leader"
    ? enterResigned(next, config, out, preferredSuccessors(next, next.role))
    : next;
};

/**
 * R35: shutdown completes once this node is an observer, the only voter, or knows a leader other
 * than itself (so its voters can go on without it).
 */
export const shutdownReady = (s: NodeState): boolean => {
  if (!s.shuttingDown) return false;
  if (!electsAsVoter(s) || s.voters.length === 1) return true;
  const role = s.role;
  return (
    role._tag === "Follower" ||
    (role._tag === "Unattached" && role.leaderId >= 0 && role.leaderId !== s.nodeId)
  );
};

/**
 * R16: the shell flushed the log up to `offset`. A leader may now count those records toward the
 * high watermark; a voter follower may now report them in its next fetch.
 */
export const handleLogFlushed = (s: NodeState, config: RaftConfig, out: Out, offset: number): NodeState => {
  const log = markFlushed(s.log, offset);
  if (log === s.log) return s;
  const next: NodeState = { ...s, log };
  mark(out, next.role._tag === "Leader" ? "R16:leader-flush-counts" : "R16:follower-flush-lets-fetch");
  if (next.role._tag === "Leader") return updateHighWatermark(next, config, out);
  return continueFetching(next, config, out, false);
};
