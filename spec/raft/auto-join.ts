// R150: auto-join (`controller.quorum.auto.join.enable`, Kafka 4.2, KAFKA-19078). A controller that
// follows a leader as an observer asks that leader, every fetch timeout, to make it a voter: first to
// remove an entry of its id with another directory id (its disk was replaced, R100), then to add it.
// The leader checks these as any voter change (R93, R96, R97); the asker only waits for the timer.
import { mark } from "../marks.ts";
import { armTimer, isVoter, type Out, sendRequest } from "./node.ts";
import type { NodeState, RaftConfig } from "./state.ts";

/** Kafka's controller.quorum.request.timeout.ms default, sent as AddRaftVoter's TimeoutMs (the leader does not read it). */
const REQUEST_TIMEOUT_MS = 2000;

/** R150: whether auto-join applies to this node at all: it is on and the voter set lives in the log. */
const autoJoins = (config: RaftConfig): boolean =>
  config.autoJoin !== undefined && (config.kraftVersion ?? 0) >= 1;

/** R150: a follower that auto-joins checks every fetch timeout (Kafka's update-voter-set period). */
export const armAutoJoin = (s: NodeState, config: RaftConfig, out: Out): NodeState =>
  autoJoins(config) && s.role._tag === "Follower"
    ? armTimer(s, out, "updateVoterSet", config.fetchTimeoutMs)
    : s;

/**
 * R150: the period ran out. An observer with a directory id that is not shutting down asks its leader
 * to remove the entry of its id if the voter set has one (another directory id: a replaced disk),
 * else to add it. One such request at a time; the timer is armed again either way, so a refusal
 * (another change pending, not caught up yet) or a lost request is retried a fetch timeout later.
 */
export const onUpdateVoterSetTimeout = (s: NodeState, config: RaftConfig, out: Out): NodeState => {
  const role = s.role;
  const autoJoin = config.autoJoin;
  if (role._tag !== "Follower" || autoJoin === undefined) return s;
  const next = armAutoJoin(s, config, out);
  if (isVoter(next) || next.shuttingDown || next.directoryId === undefined) return next;
  if (next.inflight.some((r) => r.api === "AddRaftVoter" || r.api === "RemoveRaftVoter")) return next;
  const stale = next.voters.find((v) => v.id === next.nodeId);
  if (stale?.directoryId !== undefined) {
    mark(out, "R150:stale-entry-removal-asked");
    return sendRequest(next, out, role.leaderId, "RemoveRaftVoter", {
      _tag: "RemoveRaftVoterRequest",
      clusterId: config.clusterId,
      voterId: next.nodeId,
      voterDirectoryId: stale.directoryId,
    });
  }
  mark(out, "R150:auto-join-asked");
  return sendRequest(next, out, role.leaderId, "AddRaftVoter", {
    _tag: "AddRaftVoterRequest",
    clusterId: config.clusterId,
    timeoutMs: REQUEST_TIMEOUT_MS,
    voterId: next.nodeId,
    voterDirectoryId: next.directoryId,
    listeners: autoJoin.listeners,
  });
};
