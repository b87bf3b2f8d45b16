// The nondeterministic choices of a simulated cluster: which message is delivered, lost or
// duplicated, which armed timer fires, which flush completes, which node crashes or restarts, when
// a client appends. Bounds keep the space finite for the model checker; random tests use the same
// enumeration to walk it.
import type { TimerKind } from "../raft/state.ts";
import {
  type ClusterSpec,
  clientAppend,
  crash,
  deliver,
  drop,
  duplicate,
  entryEpoch,
  entryValue,
  fireTimer,
  flush,
  nodeIdOf,
  type Outcome,
  startNode,
  type World,
} from "./world.ts";

export type Action =
  | { readonly kind: "deliver"; readonly position: number }
  | { readonly kind: "drop"; readonly position: number }
  | { readonly kind: "duplicate"; readonly position: number }
  | { readonly kind: "timer"; readonly node: number; readonly timer: TimerKind }
  | { readonly kind: "flush"; readonly node: number }
  | { readonly kind: "append"; readonly node: number }
  | { readonly kind: "crash"; readonly node: number }
  | { readonly kind: "restart"; readonly node: number };

export type FaultKind = "loss" | "duplicate" | "crash";

export interface Bounds {
  /** No node may enter an epoch above this; steps that would are not taken. */
  readonly maxEpoch: number;
  /** Client values appended over the whole run. */
  readonly maxValues: number;
  /** Client values a leader appends in one epoch. */
  readonly maxValuesPerEpoch: number;
  readonly maxCrashes: number;
  readonly maxDuplicates: number;
  /** Whether any message may be lost. */
  readonly loss: boolean;
  /** unordered: any in-flight message may arrive next; ordered: first in, first out per link. */
  readonly network: "unordered" | "ordered";
  /** Fault kinds switched off for this run (swarm testing). */
  readonly disabledFaults?: readonly FaultKind[];
}

export const DEFAULT_BOUNDS: Bounds = {
  maxEpoch: 3,
  maxValues: 2,
  maxValuesPerEpoch: 1,
  maxCrashes: 1,
  maxDuplicates: 0,
  loss: true,
  network: "unordered",
};

const faultOn = (bounds: Bounds, fault: FaultKind): boolean => !(bounds.disabledFaults ?? []).includes(fault);

/** Values the leader at `index` has appended in its own epoch. */
const valuesInEpoch = (world: World, index: number, epoch: number): number => {
  let count = 0;
  for (const entry of world.nodes[index]!.entries)
    if (entryEpoch(entry) === epoch && entryValue(entry) > 0) count++;
  return count;
};

/** Positions of the messages that may be delivered next. */
const deliverable = (world: World, bounds: Bounds): number[] => {
  const positions: number[] = [];
  if (bounds.network === "unordered") {
    for (let i = 0; i < world.network.length; i++) positions.push(i);
    return positions;
  }
  const seen = new Set<number>();
  for (let i = 0; i < world.network.length; i++) {
    const e = world.network[i]!;
    const link = e.from * 4096 + e.to;
    if (!seen.has(link)) {
      seen.add(link);
      positions.push(i);
    }
  }
  return positions;
};

/** Every action enabled in `world`, in a fixed order. */
export const enabledActions = (world: World, bounds: Bounds): Action[] => {
  const actions: Action[] = [];
  for (const position of deliverable(world, bounds)) actions.push({ kind: "deliver", position });
  if (bounds.loss && faultOn(bounds, "loss")) {
    for (let position = 0; position < world.network.length; position++)
      actions.push({ kind: "drop", position });
  }
  if (world.duplicates < bounds.maxDuplicates && faultOn(bounds, "duplicate")) {
    for (let position = 0; position < world.network.length; position++)
      actions.push({ kind: "duplicate", position });
  }
  for (let node = 0; node < world.nodes.length; node++) {
    const slot = world.nodes[node]!;
    const state = slot.state;
    if (state === null) {
      actions.push({ kind: "restart", node });
      continue;
    }
    for (const timer of state.timers) actions.push({ kind: "timer", node, timer });
    if (slot.flushRequested) actions.push({ kind: "flush", node });
    if (
      state.role._tag === "Leader" &&
      world.valuesAppended < bounds.maxValues &&
      valuesInEpoch(world, node, state.epoch) < bounds.maxValuesPerEpoch &&
      !state.shuttingDown
    ) {
      actions.push({ kind: "append", node });
    }
    if (world.crashes < bounds.maxCrashes && faultOn(bounds, "crash")) actions.push({ kind: "crash", node });
  }
  return actions;
};

/** Carry out one action. */
export const applyAction = (world: World, cluster: ClusterSpec, action: Action): Outcome => {
  switch (action.kind) {
    case "deliver":
      return deliver(world, cluster, action.position);
    case "drop":
      return drop(world, cluster, action.position);
    case "duplicate":
      return duplicate(world, cluster, action.position);
    case "timer":
      return fireTimer(world, cluster, action.node, action.timer);
    case "flush":
      return flush(world, cluster, action.node);
    case "append":
      return clientAppend(world, cluster, action.node);
    case "crash":
      return { world: crash(world, action.node), steps: [] };
    case "restart":
      return startNode(world, cluster, action.node);
  }
};

/**
 * Whether a world stays inside the bounds (a state constraint, as TLC's CONSTRAINT): no epoch above
 * maxEpoch, and no pre-vote election started in maxEpoch itself, since winning it could only lead to
 * an epoch beyond the bound (as TLA+ specs guard their election timeout with the epoch bound).
 */
export const withinBounds = (world: World, bounds: Bounds): boolean => {
  for (const slot of world.nodes) {
    const state = slot.state;
    if (
      state !== null &&
      (state.epoch > bounds.maxEpoch ||
        (state.epoch === bounds.maxEpoch && state.role._tag === "Prospective"))
    ) {
      return false;
    }
    if (slot.persisted !== null && slot.persisted.epoch > bounds.maxEpoch) return false;
  }
  return true;
};

/** A readable one-line name for an action, given the world it applies to. */
export const describeAction = (world: World, action: Action): string => {
  switch (action.kind) {
    case "deliver":
    case "drop":
    case "duplicate": {
      const e = world.network[action.position]!;
      return `${action.kind} ${e.from}->${e.to} ${e.message._tag}`;
    }
    case "timer":
      return `timeout ${nodeIdOf(action.node)} ${action.timer}`;
    default:
      return `${action.kind} ${nodeIdOf(action.node)}`;
  }
};
