// The nondeterministic choices of a simulated KRaft cluster: Raft messages and timers as in the Raft
// world, plus the controller channel, session expiries, broker heartbeats, what replication tells a
// partition leader (a follower caught up or fell behind), crashes, restarts, controlled shutdowns and
// admin requests. Bounds keep the space finite for the model checker; random tests walk the same
// enumeration.

import { partitionsOf, topicsOf } from "../metadata/image.ts";
import type { NodeRequest } from "../node/node.ts";
import { isVoter } from "../raft/node.ts";
import type { TimerKind } from "../raft/state.ts";
import { type TimerClock, timerDurationMs, timerKey } from "./actions.ts";
import {
  ADMIN_ID,
  adminRequest,
  brokerInput,
  crashNode,
  deliverMetaMessage,
  deliverRaftMessage,
  describeBody,
  dropMetaMessage,
  dropRaftMessage,
  expireSession,
  fireHeartbeat,
  fireIdleTimer,
  fireRaftTimer,
  flushNode,
  forgeFrame,
  isControllerIndex,
  type MetadataClusterSpec,
  type MetadataWorld,
  type MetaOutcome,
  raftSpecOf,
  startNode,
  takeSnapshot,
  trimLog,
} from "./metadata-world.ts";
import { nodeConfig, nodeIdOf } from "./world.ts";

export type MetaAction =
  | { readonly kind: "raft-deliver"; readonly position: number }
  | { readonly kind: "raft-drop"; readonly position: number }
  /** `delay`: the timer runs out although nothing failed (a long pause); counted against maxDelays. */
  | { readonly kind: "raft-timer"; readonly node: number; readonly timer: TimerKind; readonly delay: boolean }
  | { readonly kind: "flush"; readonly node: number }
  | { readonly kind: "deliver"; readonly position: number }
  | { readonly kind: "drop"; readonly position: number }
  | { readonly kind: "session-expired"; readonly node: number; readonly brokerId: number }
  | { readonly kind: "idle"; readonly node: number }
  | { readonly kind: "heartbeat"; readonly node: number }
  | {
      readonly kind: "isr";
      readonly node: number;
      readonly topicId: string;
      readonly partitionId: number;
      readonly follower: number;
      readonly join: boolean;
    }
  | { readonly kind: "crash"; readonly node: number }
  | { readonly kind: "restart"; readonly node: number }
  | { readonly kind: "controlled-shutdown"; readonly node: number }
  | { readonly kind: "admin"; readonly to: number; readonly op: number }
  | { readonly kind: "forge"; readonly node: number }
  /** The node snapshots its committed image (R131, R77). */
  | { readonly kind: "snapshot"; readonly node: number }
  /** Retention moves the node's log start to its newest snapshot (R79, R80). */
  | { readonly kind: "trim"; readonly node: number };

export interface MetaBounds {
  /** No Raft node enters a higher epoch. */
  readonly maxEpoch: number;
  /** No node's log grows longer (bounds heartbeat-driven and idle writes). */
  readonly maxLogLength: number;
  readonly maxControllerCrashes: number;
  readonly maxBrokerCrashes: number;
  readonly maxSessionExpiries: number;
  readonly maxControlledShutdowns: number;
  /** Raft timeouts with nothing failed: a follower giving up on a live leader, a leader on live voters. */
  readonly maxDelays: number;
  /**
   * Forged frames: an answer naming another cluster (INCONSISTENT_CLUSTER_ID) that answers no request,
   * delivered to any running node (R149).
   */
  readonly maxForgedFrames?: number;
  /**
   * Snapshots (R77–R84, R131): a running node may snapshot its committed image when it has handed
   * its listener records beyond its newest snapshot, and move its log start to its newest snapshot;
   * nodes behind a leader's log start then download the snapshot and load it.
   */
  readonly snapshots?: boolean;
  /**
   * Which in-flight messages may arrive next: any (every interleaving), links (first in, first out
   * per link), or one (a fixed priority: the message to the lowest node id, then from the lowest).
   * The Raft model explores Raft message reordering in full; here "one" keeps the exploration on
   * faults and timing while every message still arrives.
   */
  readonly raftNetwork: "any" | "one";
  readonly metaNetwork: "links" | "one";
  /** Raft messages may be lost. */
  readonly raftLoss: boolean;
  /** Controller-channel messages may be lost. */
  readonly metaLoss: boolean;
  /**
   * Slow periodic events (a running broker's heartbeats, ISR changes, controlled shutdowns, admin
   * requests) happen only when no message is in flight: their periods are seconds, message delays
   * milliseconds. Faults (crashes, restarts, session expiries, delays) and a starting broker's
   * registration and first heartbeats still happen at any moment.
   */
  readonly slowEventsWhenQuiet: boolean;
  /** Requests the admin client may send, each once, to any node. */
  readonly adminOps: readonly NodeRequest[];
}

export const DEFAULT_META_BOUNDS: MetaBounds = {
  maxEpoch: 2,
  maxLogLength: 16,
  maxControllerCrashes: 0,
  maxBrokerCrashes: 1,
  maxSessionExpiries: 1,
  maxControlledShutdowns: 0,
  maxDelays: 1,
  raftNetwork: "one",
  metaNetwork: "links",
  slowEventsWhenQuiet: true,
  raftLoss: false,
  metaLoss: false,
  adminOps: [],
};

/** The position of the message that arrives first under the fixed priority (by receiver, then sender). */
const first = <T extends { readonly from: number; readonly to: number }>(network: readonly T[]): number => {
  let best = 0;
  for (let i = 1; i < network.length; i++) {
    const a = network[i]!;
    const b = network[best]!;
    if (a.to < b.to || (a.to === b.to && a.from < b.from)) best = i;
  }
  return best;
};

/** Positions of the first message on each link: links are first in, first out. */
const heads = <T extends { readonly from: number; readonly to: number }>(network: readonly T[]): number[] => {
  const seen = new Set<number>();
  const positions: number[] = [];
  network.forEach((e, i) => {
    const link = e.from * 4096 + e.to;
    if (!seen.has(link)) {
      seen.add(link);
      positions.push(i);
    }
  });
  return positions;
};

/**
 * Whether a Raft timer's expiry is worth exploring: "now" when something it waits for has failed or
 * it has something to say, "delay" when it would only fire because of a long pause, "never" when
 * firing it changes nothing but its own re-arming. The Raft model explores every timer at every
 * moment; here the timeouts that matter for the metadata layer are the ones that follow a failure.
 */
const timerNeed = (
  world: MetadataWorld,
  spec: MetadataClusterSpec,
  node: number,
  timer: TimerKind,
): "now" | "delay" | "never" => {
  const state = world.raft.nodes[node]!.state!;
  const role = state.role;
  const running = (id: number): boolean => world.raft.nodes[id - 1]?.state != null;
  switch (timer) {
    case "election": {
      // An election still waiting for answers, or a voter with a live leader to hear from, only times
      // out after a pause; one that lost, or that knows of no leader, times out now.
      if ((role._tag === "Prospective" || role._tag === "Candidate") && state.inflight.length > 0)
        return "delay";
      const leaderAlive = world.raft.nodes.some(
        (n) => n.state?.role._tag === "Leader" && n.state.epoch >= state.epoch,
      );
      return role._tag === "Unattached" && leaderAlive ? "delay" : "now";
    }
    case "retryBackoff":
      return "now";
    case "fetch": {
      const leader = role._tag === "Follower" ? role.leaderId : -1;
      const leading =
        leader > 0 &&
        world.raft.nodes[leader - 1]?.state?.role._tag === "Leader" &&
        world.raft.nodes[leader - 1]?.state?.epoch === state.epoch;
      return leading ? "delay" : "now";
    }
    case "checkQuorum": {
      if (role._tag !== "Leader") return "now";
      const live = role.voterStates.filter((v) => v.id === state.nodeId || running(v.id)).length;
      return live * 2 > spec.controllers ? "delay" : "now";
    }
    case "beginQuorumEpoch":
      return role._tag === "Leader" && role.voterStates.some((v) => v.id !== state.nodeId && !v.acknowledged)
        ? "now"
        : "never";
    case "fetchWait":
      // Parked fetches are answered early when data arrives; the timeout only tells them a new HW.
      if (role._tag !== "Leader") return "now";
      return role.parkedFetches.some(
        (p) =>
          (world.raft.nodes[p.replicaId - 1]?.state?.highWatermark ?? state.highWatermark) <
          state.highWatermark,
      )
        ? "now"
        : "never";
    case "updateVoterSet":
      // R150: an auto-joining observer asks to join; a voter's timer only re-arms itself.
      return isVoter(state) ? "never" : "now";
  }
};

/**
 * Whether a broker's heartbeat can change anything; the ones that cannot are not explored. A
 * heartbeat matters to register, to get unfenced once caught up, during controlled shutdowns, and
 * when the active controller holds a registration the broker does not know about (fenced, or
 * replaced). A running broker's routine heartbeat only re-arms its session, whose expiry the model
 * explores on its own (maxSessionExpiries).
 */
const heartbeatMatters = (
  world: MetadataWorld,
  broker: NonNullable<MetadataWorld["apps"][number]["broker"]>,
): boolean => {
  if (broker.lifecycleInflight !== null || broker.controllerId < 0) return false;
  switch (broker.lifecycle) {
    case "STARTING":
    case "PENDING_CONTROLLED_SHUTDOWN":
      return true;
    case "RECOVERY":
      return true;
    case "SHUTTING_DOWN":
      return false;
    case "RUNNING": {
      const controller = world.apps[broker.controllerId - 1]?.controller;
      if (controller == null || !controller.active) return false;
      const registration = controller.image.brokers.find((b) => b.id === broker.brokerId);
      if (registration === undefined || registration.epoch !== broker.brokerEpoch || registration.fenced)
        return true;
      const session = controller.sessions.find((x) => x.brokerId === broker.brokerId);
      const shuttingDown = controller.image.brokers.some((b) => b.inControlledShutdown && !b.fenced);
      return session === undefined || (shuttingDown && session.metadataOffset !== broker.image.offset);
    }
  }
};

/** Every action enabled in `world`, in a fixed order. */
export const enabledMetaActions = (
  world: MetadataWorld,
  spec: MetadataClusterSpec,
  bounds: MetaBounds,
): MetaAction[] => {
  const actions: MetaAction[] = [];
  const quiet =
    !bounds.slowEventsWhenQuiet || (world.raft.network.length === 0 && world.network.length === 0);
  if (bounds.raftNetwork === "any")
    world.raft.network.forEach((_, position) => {
      actions.push({ kind: "raft-deliver", position });
    });
  else if (world.raft.network.length > 0)
    actions.push({ kind: "raft-deliver", position: first(world.raft.network) });
  if (bounds.raftLoss)
    world.raft.network.forEach((_, position) => {
      actions.push({ kind: "raft-drop", position });
    });
  if (bounds.metaNetwork === "links")
    for (const position of heads(world.network)) actions.push({ kind: "deliver", position });
  else if (world.network.length > 0) actions.push({ kind: "deliver", position: first(world.network) });
  // A request's failure is its requester's own transport giving up (a timeout): it cannot be lost.
  if (bounds.metaLoss)
    world.network.forEach((e, position) => {
      if (e.body.kind !== "failed") actions.push({ kind: "drop", position });
    });
  world.raft.nodes.forEach((slot, node) => {
    const app = world.apps[node]!;
    const controller = isControllerIndex(spec, node);
    if (slot.state === null) {
      if (quiet) actions.push({ kind: "restart", node });
      return;
    }
    for (const timer of slot.state.timers) {
      const need = timerNeed(world, spec, node, timer);
      if (need === "now") actions.push({ kind: "raft-timer", node, timer, delay: false });
      else if (need === "delay" && world.delays < bounds.maxDelays)
        actions.push({ kind: "raft-timer", node, timer, delay: true });
    }
    if (slot.flushRequested) actions.push({ kind: "flush", node });
    if (app.controller !== null) {
      if (world.sessionExpiries < bounds.maxSessionExpiries) {
        for (const brokerId of app.sessionTimers) actions.push({ kind: "session-expired", node, brokerId });
      }
      if (app.idleTimer && spec.controller.noOpIntervalMs > 0) actions.push({ kind: "idle", node });
    }
    const broker = app.broker;
    if (broker !== null) {
      // A starting broker's registration and first heartbeats race with everything else.
      const starting = broker.lifecycle === "STARTING" || broker.lifecycle === "RECOVERY";
      if ((quiet || starting) && app.heartbeatTimer && heartbeatMatters(world, broker)) {
        actions.push({ kind: "heartbeat", node });
      }
      // What replication would tell this broker as a partition leader (R126, R127).
      if (quiet && broker.alterInflight === null && broker.brokerEpoch >= 0) {
        for (const topic of topicsOf(broker.image)) {
          for (const p of partitionsOf(topic)) {
            if (p.leader !== broker.brokerId) continue;
            for (const follower of p.replicas) {
              if (follower === broker.brokerId) continue;
              const other = world.apps[follower - 1]?.broker ?? null;
              const running = other !== null;
              if (!p.isr.includes(follower) && running) {
                actions.push({
                  kind: "isr",
                  node,
                  topicId: topic.topicId,
                  partitionId: p.partitionId,
                  follower,
                  join: true,
                });
              } else if (p.isr.includes(follower) && other === null) {
                actions.push({
                  kind: "isr",
                  node,
                  topicId: topic.topicId,
                  partitionId: p.partitionId,
                  follower,
                  join: false,
                });
              }
            }
          }
        }
      }
      if (quiet && world.shutdowns < bounds.maxControlledShutdowns && broker.lifecycle === "RUNNING") {
        actions.push({ kind: "controlled-shutdown", node });
      }
    }
    const crashes = controller
      ? world.controllerCrashes < bounds.maxControllerCrashes
      : world.brokerCrashes < bounds.maxBrokerCrashes;
    if (crashes) actions.push({ kind: "crash", node });
    if (world.forgedFrames < (bounds.maxForgedFrames ?? 0)) actions.push({ kind: "forge", node });
    if (bounds.snapshots === true) {
      const slot = world.raft.nodes[node]!;
      const newest = slot.snapshots[slot.snapshots.length - 1]?.endOffset ?? 0;
      const app = world.apps[node]!;
      if (slot.state !== null && app.snapshotToLoad === null && app.listenerOffset > newest)
        actions.push({ kind: "snapshot", node });
      if (slot.state !== null && newest > slot.startOffset) actions.push({ kind: "trim", node });
    }
  });
  // A client may ask any node (R148): a controller, active or not, or a broker that passes it on.
  bounds.adminOps.forEach((_, op) => {
    if (quiet && op === world.adminRequests) {
      for (let n = 0; n < spec.controllers + spec.brokers; n++)
        actions.push({ kind: "admin", to: nodeIdOf(n), op });
    }
  });
  return actions;
};

/** Carry out one action. */
export const applyMetaAction = (
  world: MetadataWorld,
  spec: MetadataClusterSpec,
  bounds: MetaBounds,
  action: MetaAction,
): MetaOutcome => {
  switch (action.kind) {
    case "raft-deliver":
      return deliverRaftMessage(world, spec, action.position);
    case "raft-drop":
      return dropRaftMessage(world, spec, action.position);
    case "raft-timer": {
      const outcome = fireRaftTimer(world, spec, action.node, action.timer);
      return action.delay
        ? { ...outcome, world: { ...outcome.world, delays: outcome.world.delays + 1 } }
        : outcome;
    }
    case "flush":
      return flushNode(world, spec, action.node);
    case "deliver":
      return deliverMetaMessage(world, spec, action.position);
    case "drop":
      return dropMetaMessage(world, spec, action.position);
    case "session-expired":
      return expireSession(world, spec, action.node, action.brokerId);
    case "idle":
      return fireIdleTimer(world, spec, action.node);
    case "heartbeat":
      return fireHeartbeat(world, spec, action.node);
    case "isr": {
      // R127: the follower's fetch carries the broker epoch the leader's image has for it (a fetch
      // from an earlier incarnation may still be on its way when the follower re-registered).
      const leaderImage = world.apps[action.node]?.broker?.image;
      const followerEpoch = leaderImage?.brokers.find((b) => b.id === action.follower)?.epoch ?? -1;
      return brokerInput(world, spec, action.node, {
        _tag: "IsrChange",
        topicId: action.topicId,
        partitionId: action.partitionId,
        follower: action.follower,
        followerEpoch,
        join: action.join,
      });
    }
    case "crash":
      return crashNode(world, spec, action.node);
    case "restart":
      return startNode(world, spec, action.node);
    case "controlled-shutdown": {
      const outcome = brokerInput(world, spec, action.node, { _tag: "BeginControlledShutdown" });
      return { ...outcome, world: { ...outcome.world, shutdowns: outcome.world.shutdowns + 1 } };
    }
    case "admin":
      return adminRequest(world, action.to, bounds.adminOps[action.op]!);
    case "forge":
      return forgeFrame(world, spec, action.node);
    case "snapshot":
      return takeSnapshot(world, spec, action.node);
    case "trim":
      return trimLog(world, spec, action.node);
  }
};

/** Whether a world stays inside the bounds (a state constraint, as in the Raft model). */
export const withinMetaBounds = (world: MetadataWorld, bounds: MetaBounds): boolean => {
  for (const slot of world.raft.nodes) {
    const state = slot.state;
    if (
      state !== null &&
      (state.epoch > bounds.maxEpoch ||
        (state.epoch === bounds.maxEpoch && state.role._tag === "Prospective"))
    )
      return false;
    if (slot.persisted !== null && slot.persisted.epoch > bounds.maxEpoch) return false;
    if (slot.entries.length > bounds.maxLogLength) return false;
  }
  return true;
};

/** A readable one-line name for an action. */
export const describeMetaAction = (world: MetadataWorld, action: MetaAction): string => {
  switch (action.kind) {
    case "raft-deliver":
    case "raft-drop": {
      const e = world.raft.network[action.position]!;
      return `${action.kind === "raft-deliver" ? "deliver" : "drop"} ${e.from}->${e.to} ${e.message._tag}`;
    }
    case "raft-timer":
      return `timeout ${nodeIdOf(action.node)} ${action.timer}${action.delay ? " (delayed)" : ""}`;
    case "deliver":
    case "drop": {
      const e = world.network[action.position]!;
      const from = e.from === ADMIN_ID ? "admin" : `${e.from}`;
      const to = e.to === ADMIN_ID ? "admin" : `${e.to}`;
      return `${action.kind} ${from}->${to}#${e.correlationId} ${describeBody(e.body)}`;
    }
    case "session-expired":
      return `session of broker ${action.brokerId} expires on controller ${nodeIdOf(action.node)}`;
    case "idle":
      return `idle timer of controller ${nodeIdOf(action.node)}`;
    case "heartbeat":
      return `heartbeat timer of broker ${nodeIdOf(action.node)}`;
    case "isr":
      return `broker ${nodeIdOf(action.node)} sees follower ${action.follower} ${action.join ? "catch up on" : "fall behind on"} partition ${action.partitionId}`;
    case "flush":
    case "crash":
    case "restart":
      return `${action.kind} ${nodeIdOf(action.node)}`;
    case "controlled-shutdown":
      return `controlled shutdown of broker ${nodeIdOf(action.node)}`;
    case "admin":
      return `admin sends op ${action.op} to node ${action.to}`;
    case "forge":
      return `a forged INCONSISTENT_CLUSTER_ID answer reaches node ${nodeIdOf(action.node)}`;
    case "snapshot":
      return `node ${nodeIdOf(action.node)} snapshots its image`;
    case "trim":
      return `node ${nodeIdOf(action.node)} moves its log start to its newest snapshot`;
  }
};

// ---- the fair schedule (liveness) ------------------------------------------------------------------

/** A metadata world on the fair schedule, with how long each armed timer has left (sorted by key). */
export interface TimedMetaWorld {
  readonly state: MetadataWorld;
  readonly timers: readonly TimerClock[];
}

/** Application timers' keys follow the Raft ones (node index × 8 + timer): 10 000 + node × 128 + … */
const APP_KEYS = 10_000;
const IDLE = 126;
const HEARTBEAT = 127;
const appKey = (node: number, slot: number): number => APP_KEYS + node * 128 + slot;

type ArmedTimer =
  | { readonly kind: "raft"; readonly node: number; readonly timer: TimerKind }
  | { readonly kind: "session"; readonly node: number; readonly brokerId: number }
  | { readonly kind: "idle" | "heartbeat"; readonly node: number };

const armedTimers = (
  world: MetadataWorld,
  spec: MetadataClusterSpec,
): (ArmedTimer & { key: number; ms: number })[] => {
  const out: (ArmedTimer & { key: number; ms: number })[] = [];
  world.raft.nodes.forEach((slot, node) => {
    if (slot.state === null) return;
    const config = nodeConfig(raftSpecOf(spec), nodeIdOf(node));
    for (const timer of slot.state.timers)
      out.push({ kind: "raft", node, timer, key: timerKey(node, timer), ms: timerDurationMs(config, timer) });
    const app = world.apps[node]!;
    for (const brokerId of app.sessionTimers)
      out.push({
        kind: "session",
        node,
        brokerId,
        key: appKey(node, brokerId),
        ms: spec.controller.sessionTimeoutMs,
      });
    if (app.idleTimer && spec.controller.noOpIntervalMs > 0)
      out.push({ kind: "idle", node, key: appKey(node, IDLE), ms: spec.controller.noOpIntervalMs });
    if (app.heartbeatTimer && app.broker !== null)
      out.push({ kind: "heartbeat", node, key: appKey(node, HEARTBEAT), ms: spec.heartbeatIntervalMs });
  });
  return out;
};

/** The fair schedule's start: every armed timer has its whole nominal duration ahead of it. */
export const startMetaClocks = (world: MetadataWorld, spec: MetadataClusterSpec): TimedMetaWorld => ({
  state: world,
  timers: armedTimers(world, spec)
    .map((t) => ({ key: t.key, remainingMs: t.ms }))
    .sort((a, b) => a.key - b.key),
});

/** The clocks after a step: timers it (re-)armed run their delay, the others have `elapsedMs` less. */
const advanceMetaClocks = (
  before: TimedMetaWorld,
  outcome: MetaOutcome,
  elapsedMs: number,
  spec: MetadataClusterSpec,
): TimedMetaWorld => {
  const set = new Map<number, number>();
  for (const step of outcome.steps) {
    if (step.layer === "raft") {
      const node = step.step.node - 1;
      for (const e of step.step.effects)
        if (e._tag === "SetTimer") set.set(timerKey(node, e.timer), e.delayMs + Math.floor(e.jitterMs / 2));
    } else if (step.layer === "controller") {
      const node = step.node - 1;
      for (const e of step.effects) {
        if (e._tag === "ArmSessionTimer") set.set(appKey(node, e.brokerId), e.delayMs);
        if (e._tag === "ArmIdleTimer") set.set(appKey(node, IDLE), e.delayMs);
      }
    } else if (step.layer === "broker") {
      for (const e of step.effects)
        if (e._tag === "ArmHeartbeatTimer") set.set(appKey(step.node - 1, HEARTBEAT), e.delayMs);
    }
  }
  const previous = new Map(before.timers.map((t) => [t.key, t.remainingMs]));
  const timers = armedTimers(outcome.world, spec).map((t) => {
    const armed = set.get(t.key);
    const left = previous.get(t.key);
    return { key: t.key, remainingMs: armed ?? (left === undefined ? t.ms : Math.max(0, left - elapsedMs)) };
  });
  timers.sort((a, b) => a.key - b.key);
  return { state: outcome.world, timers };
};

/**
 * The metadata world's fair schedule after the last fault, as the Raft world's (actions.ts,
 * fairStep): ("healed") a stopped node starts again; flushes, Raft messages and channel messages are
 * delivered first, in order; then time passes until the next timer runs out — Raft's, or a
 * controller's session and idle timers, or a broker's heartbeat — and it does.
 */
export const metaFairStep = (
  timed: TimedMetaWorld,
  spec: MetadataClusterSpec,
  suffix: "healed" | "as-is",
): {
  readonly action: MetaAction;
  readonly outcome: MetaOutcome;
  readonly elapsedMs: number;
  readonly timed: TimedMetaWorld;
} | null => {
  const world = timed.state;
  const take = (action: MetaAction, elapsedMs: number) => {
    const outcome = applyMetaAction(world, spec, DEFAULT_META_BOUNDS, action);
    return { action, outcome, elapsedMs, timed: advanceMetaClocks(timed, outcome, elapsedMs, spec) };
  };
  if (suffix === "healed") {
    const down = world.raft.nodes.findIndex((slot) => slot.state === null);
    if (down >= 0) return take({ kind: "restart", node: down }, 0);
  }
  const flushing = world.raft.nodes.findIndex((slot) => slot.state !== null && slot.flushRequested);
  if (flushing >= 0) return take({ kind: "flush", node: flushing }, 0);
  if (world.raft.network.length > 0) return take({ kind: "raft-deliver", position: 0 }, 0);
  if (world.network.length > 0) return take({ kind: "deliver", position: 0 }, 0);
  let first: (ArmedTimer & { key: number }) | undefined;
  let firstMs = Number.POSITIVE_INFINITY;
  const remaining = new Map(timed.timers.map((t) => [t.key, t.remainingMs]));
  for (const t of armedTimers(world, spec)) {
    const ms = remaining.get(t.key) ?? t.ms;
    if (ms < firstMs || (ms === firstMs && first !== undefined && t.key < first.key)) {
      first = t;
      firstMs = ms;
    }
  }
  if (first === undefined) return null;
  switch (first.kind) {
    case "raft":
      return take({ kind: "raft-timer", node: first.node, timer: first.timer, delay: false }, firstMs);
    case "session":
      return take({ kind: "session-expired", node: first.node, brokerId: first.brokerId }, firstMs);
    case "idle":
      return take({ kind: "idle", node: first.node }, firstMs);
    case "heartbeat":
      return take({ kind: "heartbeat", node: first.node }, firstMs);
  }
};
