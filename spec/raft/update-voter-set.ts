// The update-voter-set period of a follower in a dynamic quorum (R34, kraft.version 1). Each time it
// runs out, a voter whose entry of the voter set differs from what it would write for itself asks the
// leader to rewrite it (UpdateRaftVoter, R99); a controller with auto-join on
// (`controller.quorum.auto.join.enable`, Kafka 4.2, KAFKA-19078) that follows as an observer asks to
// become a voter: first to remove an entry of its id with another directory id (its disk was
// replaced, R100), then to add it (R150). The leader checks these as any voter change (R93, R96, R97,
// R99); the asker only waits for the timer.
import { mark } from "../marks.ts";
import { armTimer, isVoter, type Out, sendRequest } from "./node.ts";
import { type KRaftVersionRange, type Listener, SUPPORTED_KRAFT_VERSIONS, type Voter } from "./primitives.ts";
import type { NodeState, RaftConfig } from "./state.ts";

/** Kafka's controller.quorum.request.timeout.ms default, sent as AddRaftVoter's TimeoutMs (the leader does not read it). */
const REQUEST_TIMEOUT_MS = 2000;

/**
 * R34: the period runs on a follower whose voter set lives in the log (kraft.version 1) and that has
 * listeners of its own to name; a follower arms it each time it becomes one, and again each time it
 * runs out.
 */
export const armUpdateVoterSet = (s: NodeState, config: RaftConfig, out: Out): NodeState =>
  (config.kraftVersion ?? 0) >= 1 && config.listeners !== undefined && s.role._tag === "Follower"
    ? armTimer(s, out, "updateVoterSet", config.fetchTimeoutMs)
    : s;

/** R99: the kraft.version range this node supports (what it answers ApiVersions with, R96). */
export const supportedKraftVersionsOf = (config: RaftConfig): KRaftVersionRange =>
  config.supportedKraftVersions ?? SUPPORTED_KRAFT_VERSIONS;

/** Listeners are named, one per name (Kafka's Endpoints), so their order does not count. */
const sameListeners = (a: readonly Listener[], b: readonly Listener[]): boolean =>
  a.length === b.length &&
  a.every((l) => b.some((m) => m.name === l.name && m.host === l.host && m.port === l.port));

/** R99: the entry this node would write for itself: its key, its listeners and its kraft.version range. */
export const ownEntry = (s: NodeState, config: RaftConfig): Voter => ({
  id: s.nodeId,
  ...(s.directoryId === undefined ? {} : { directoryId: s.directoryId }),
  ...(config.listeners === undefined ? {} : { listeners: config.listeners }),
  supportedKraftVersions: supportedKraftVersionsOf(config),
});

/**
 * R99: whether this voter's entry differs from the one it would write for itself: its directory id,
 * its listeners or its kraft.version range (Kafka's VoterSet.voterNodeNeedsUpdate).
 */
export const ownEntryNeedsUpdate = (s: NodeState, config: RaftConfig, entry: Voter): boolean => {
  const range = entry.supportedKraftVersions;
  const own = supportedKraftVersionsOf(config);
  return (
    entry.directoryId !== s.directoryId ||
    !sameListeners(entry.listeners ?? [], config.listeners ?? []) ||
    range?.minSupportedVersion !== own.minSupportedVersion ||
    range.maxSupportedVersion !== own.maxSupportedVersion
  );
};

/**
 * R34, R99, R150: the period ran out. One request of each kind at a time, none while shutting down;
 * the timer is armed again either way, so a refusal (another change pending, not caught up yet) or a
 * lost request is retried a period later.
 * - A voter whose entry differs from its own listeners, key or range asks the leader to rewrite it,
 *   in the epoch it follows (R99).
 * - An auto-joining observer with a directory id asks the leader to remove the entry of its id if the
 *   voter set has one (another directory id: a replaced disk), else to add it (R150).
 */
export const onUpdateVoterSetTimeout = (s: NodeState, config: RaftConfig, out: Out): NodeState => {
  const role = s.role;
  const listeners = config.listeners;
  if (role._tag !== "Follower" || listeners === undefined) return s;
  const next = armUpdateVoterSet(s, config, out);
  if (next.shuttingDown || next.directoryId === undefined) return next;
  if (isVoter(next)) {
    const entry = next.voters.find((v) => v.id === next.nodeId);
    if (entry === undefined || !ownEntryNeedsUpdate(next, config, entry)) return next;
    if (next.inflight.some((r) => r.api === "UpdateRaftVoter")) return next;
    mark(out, "R99:voter-asks-update");
    return sendRequest(next, out, role.leaderId, "UpdateRaftVoter", {
      _tag: "UpdateRaftVoterRequest",
      clusterId: config.clusterId,
      currentLeaderEpoch: next.epoch,
      voterId: next.nodeId,
      voterDirectoryId: next.directoryId,
      listeners,
      kraftVersionFeature: supportedKraftVersionsOf(config),
    });
  }
  if (config.autoJoin !== true) return next;
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
    listeners,
  });
};
