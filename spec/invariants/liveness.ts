// Liveness goals over a simulated world (R137): what a cluster must reach once faults stop. Each
// returns null when the goal holds, or a sentence saying what is still missing. The checker judges
// them on its fair schedule (spec/cluster/actions.ts, fairStep); see spec/README.md, "Liveness".

import type { MetadataWorld } from "../cluster/metadata-world.ts";
import { MOVED_CONTROLLER_PORT, nodeIdOf, type World } from "../cluster/world.ts";
import type { MetadataImage } from "../metadata/image.ts";
import { latestVoterSetOffset } from "../raft/log.ts";
import type { NodeState } from "../raft/state.ts";
import { majority } from "./cluster.ts";

/** The running leader of the highest epoch, if any. */
const currentLeader = (world: World): { index: number; state: NodeState } | null => {
  let best: { index: number; state: NodeState } | null = null;
  world.nodes.forEach((slot, index) => {
    const state = slot.state;
    if (state?.role._tag === "Leader" && (best === null || state.epoch > best.state.epoch))
      best = { index, state };
  });
  return best;
};

/**
 * EventuallyStableLeader (R137 EventuallyLeaderElected, R25, R27, R41): one leader, in the highest
 * epoch any node holds, that every other voter follows.
 */
export const stableLeader = (world: World, voters: number): string | null => {
  const leader = currentLeader(world);
  if (leader === null) return "no node leads";
  const { index, state } = leader;
  // R98: a leader its own voter set no longer holds is on its way out, not a stable leader.
  if (state.voters.length > 0 && !state.voters.some((v) => v.id === nodeIdOf(index)))
    return `leader ${nodeIdOf(index)} is not in its own voter set`;
  // R91: the voters are the leader's set (with static voters, nodes 1..voters).
  const ids =
    state.voters.length > 0 ? state.voters.map((v) => v.id) : Array.from({ length: voters }, (_, i) => i + 1);
  for (const id of ids) {
    const v = id - 1;
    if (v === index || world.nodes[v] === undefined) continue;
    const other = world.nodes[v]!.state;
    if (other === null) return `voter ${nodeIdOf(v)} is down`;
    if (
      other.epoch !== state.epoch ||
      other.role._tag !== "Follower" ||
      other.role.leaderId !== nodeIdOf(index)
    ) {
      return `voter ${nodeIdOf(v)} is ${other.role._tag} in epoch ${other.epoch}, not a follower of leader ${nodeIdOf(index)} in epoch ${state.epoch}`;
    }
  }
  return null;
};

/**
 * EventuallyWritesResolved (R137 ValuesEventuallyAcked, R64, R87): every write still in the leader's
 * log commits. Writes of an earlier leadership that are no longer in it were failed when that
 * leadership ended (the listener learned of the new leader, R86).
 */
export const writesCommitted = (world: World): string | null => {
  const leader = currentLeader(world);
  if (leader === null) return "no node leads, so no write can commit";
  const { index, state } = leader;
  const hw = state.role._tag === "Leader" ? state.role.highWatermark : -1;
  if (hw < state.log.endOffset) {
    return `leader ${nodeIdOf(index)} has records up to ${state.log.endOffset} but its high watermark is ${hw}`;
  }
  return null;
};

/**
 * EventuallyCaughtUp (R61, R66, R74, R85): every running voter and observer holds the leader's
 * committed records and knows they are committed.
 */
export const caughtUp = (world: World): string | null => {
  const leader = currentLeader(world);
  if (leader === null) return "no node leads";
  const hw = leader.state.highWatermark;
  for (let i = 0; i < world.nodes.length; i++) {
    const state = world.nodes[i]!.state;
    if (state === null || i === leader.index) continue;
    if (state.highWatermark < hw || state.log.endOffset < hw) {
      return `node ${nodeIdOf(i)} has high watermark ${state.highWatermark} and log end ${state.log.endOffset}, behind the leader's high watermark ${hw}`;
    }
  }
  return null;
};

/** How many of the voters (nodes 1..voters) are running. */
const runningVoters = (world: World, voters: number): number => {
  let running = 0;
  for (let v = 0; v < voters; v++) if (world.nodes[v]!.state !== null) running++;
  return running;
};

/**
 * Whether a majority of the voters runs: then no leader lacks a quorum, and while no node stops
 * (the as-is schedule stops none) EventuallyLeaderWithoutQuorumResigns holds throughout.
 */
export const majorityRunning = (world: World, voters: number): boolean =>
  runningVoters(world, voters) >= majority(voters);

/**
 * EventuallyLeaderWithoutQuorumResigns (R57): a leader that a majority of voters cannot reach (they
 * are down) gives up its leadership.
 */
export const leaderWithoutQuorumResigns = (world: World, voters: number): string | null => {
  for (let index = 0; index < world.nodes.length; index++) {
    const state = world.nodes[index]!.state;
    if (state?.role._tag !== "Leader") continue;
    const running = runningVoters(world, voters);
    if (running < majority(voters)) {
      return `leader ${nodeIdOf(index)} of epoch ${state.epoch} still leads with ${running} of ${voters} voters running`;
    }
  }
  return null;
};

// ---- the metadata layer (R137 with R103–R119) ----------------------------------------------------

/**
 * EventuallyActiveController (R103, R58): the Raft leader every controller follows runs the active
 * controller.
 */
export const activeControllerStable = (world: MetadataWorld, controllers: number): string | null => {
  const raft = stableLeader(world.raft, controllers);
  if (raft !== null) return raft;
  const leader = world.raft.nodes.findIndex((n) => n.state?.role._tag === "Leader");
  const controller = world.apps[leader]?.controller;
  if (controller == null || !controller.active)
    return `controller ${nodeIdOf(leader)} leads the quorum but is not active`;
  return null;
};

/**
 * EventuallyBrokersRunning (R112, R115, R116, R128): every running broker is registered, unfenced and
 * RUNNING, and has published the active controller's committed image.
 */
export const brokersRunning = (world: MetadataWorld): string | null => {
  const controller = world.apps.find((a) => a.controller?.active === true)?.controller;
  if (controller == null) return "no active controller";
  for (let i = 0; i < world.apps.length; i++) {
    const broker = world.apps[i]!.broker;
    if (broker === null || world.raft.nodes[i]!.state === null) continue;
    const registration = controller.committed.brokers.find((b) => b.id === broker.brokerId);
    if (broker.lifecycle !== "RUNNING") return `broker ${broker.brokerId} is ${broker.lifecycle}`;
    if (registration === undefined || registration.epoch !== broker.brokerEpoch)
      return `broker ${broker.brokerId} (epoch ${broker.brokerEpoch}) is not registered as that incarnation`;
    if (registration.fenced) return `broker ${broker.brokerId} is fenced`;
    // A snapshot's image is as of its last offset (R131), which may be a control record after the
    // last metadata record: the broker has the committed image if it is as far and holds the same.
    if (broker.image.offset < controller.committed.offset || !sameContent(broker.image, controller.committed))
      return `broker ${broker.brokerId} has published the image at ${broker.image.offset}, the committed one is at ${controller.committed.offset}`;
  }
  return null;
};

/** Two images hold the same cluster, whatever offsets they are as of. */
const sameContent = (a: MetadataImage, b: MetadataImage): boolean =>
  a === b || JSON.stringify({ ...a, offset: 0, epoch: 0 }) === JSON.stringify({ ...b, offset: 0, epoch: 0 });

/** EventuallyAdminAnswered (R104, R148): every request the admin client sent got an answer. */
export const adminAnswered = (world: MetadataWorld): string | null => {
  for (let id = 1; id <= world.adminRequests; id++)
    if (!world.adminAnswers.includes(id)) return `the admin client's request #${id} has no answer`;
  return null;
};

/**
 * EventuallyEntriesUpdated (R99): every node whose controller listener moved and that is a voter of the
 * leader's voter set (by its key) has its entry name the listener it is configured with, and that set
 * is committed.
 */
export const entriesUpdated = (world: World, moved: readonly number[]): string | null => {
  const leader = currentLeader(world);
  if (leader === null) return "no node leads";
  const { state } = leader;
  for (const id of moved) {
    const node = world.nodes[id - 1]?.state;
    if (node === null || node === undefined) return `node ${id} is down`;
    const entry = state.voters.find((v) => v.id === id && v.directoryId === node.directoryId);
    const port = entry?.listeners?.[0]?.port;
    if (entry !== undefined && port !== MOVED_CONTROLLER_PORT)
      return `leader ${nodeIdOf(leader.index)}'s entry of node ${id} names port ${port ?? "none"}, not its moved listener's ${MOVED_CONTROLLER_PORT}`;
  }
  if (latestVoterSetOffset(state.log) >= state.highWatermark)
    return `leader ${nodeIdOf(leader.index)}'s voter set is not committed yet`;
  return null;
};

/**
 * EventuallyAutoJoined (R150): every auto-joining node is a voter of the leader's voter set, and that
 * set is committed (its VotersRecord is below the leader's high watermark).
 */
export const autoJoined = (world: World, autoJoin: readonly number[]): string | null => {
  const leader = currentLeader(world);
  if (leader === null) return "no node leads";
  const { state } = leader;
  for (const id of autoJoin) {
    const joiner = world.nodes[id - 1]?.state;
    if (joiner === null || joiner === undefined) return `node ${id} is down`;
    if (!state.voters.some((v) => v.id === id && v.directoryId === joiner.directoryId))
      return `node ${id} is not in leader ${nodeIdOf(leader.index)}'s voter set`;
  }
  if (latestVoterSetOffset(state.log) >= state.highWatermark)
    return `leader ${nodeIdOf(leader.index)}'s voter set is not committed yet`;
  return null;
};
