// The nondeterministic choices of a simulated cluster: which message is delivered, lost or
// duplicated, which armed timer fires, which flush completes, which node crashes or restarts, when
// a client appends. Bounds keep the space finite for the model checker; random tests use the same
// enumeration to walk it.
import { latestVoterSetOffset } from "../raft/log.ts";
import {
  type NodeState,
  type RaftConfig,
  type TimerKind,
  TimerKind as TimerKindSchema,
} from "../raft/state.ts";
import { exactFilter, matchingPositions } from "./message-filter.ts";
import {
  type ClusterSpec,
  carriesRecords,
  clientAppend,
  corrupt,
  crash,
  createSnapshot,
  deleteBeforeSnapshot,
  deliver,
  drop,
  duplicate,
  entryEpoch,
  entryValue,
  fireTimer,
  flush,
  forgeEpoch,
  isClientValue,
  nodeConfig,
  nodeIdOf,
  type Outcome,
  replaceDisk,
  requestVoterChange,
  startNode,
  type World,
} from "./world.ts";

export type Action =
  | { readonly kind: "deliver"; readonly position: number }
  | { readonly kind: "drop"; readonly position: number }
  /** The message is lost and nobody notices (the fair schedule's messages to a node that stays down). */
  | { readonly kind: "vanish"; readonly position: number }
  | { readonly kind: "duplicate"; readonly position: number }
  /** The Fetch answer at `position` arrives with its last batch's epoch forged (KAFKA-18723). */
  | { readonly kind: "forge-epoch"; readonly position: number }
  | { readonly kind: "timer"; readonly node: number; readonly timer: TimerKind }
  | { readonly kind: "flush"; readonly node: number }
  /** A client write to `node` for its current epoch, or (stale) for the epoch before. */
  | { readonly kind: "append"; readonly node: number; readonly stale?: boolean }
  | { readonly kind: "crash"; readonly node: number }
  /** A bad sector on a stopped node's disk at `offset`: found and cut at its next start (R146). */
  | { readonly kind: "corrupt"; readonly node: number; readonly offset: number }
  | { readonly kind: "restart"; readonly node: number }
  /** A stopped node's disk is replaced and formatted anew: a new directory id (R100). */
  | { readonly kind: "replace-disk"; readonly node: number }
  /**
   * The state machine of `node` asks for a snapshot at its high watermark (R77), or (ahead) at its
   * log end: a state machine that got ahead of the commit, which the Raft layer must refuse.
   */
  | { readonly kind: "snapshot"; readonly node: number; readonly ahead?: boolean }
  /** Retention moves `node`'s log start to its newest snapshot (R79, R80). */
  | { readonly kind: "trim"; readonly node: number }
  /**
   * An operator asks `node` to add node `voter` to the voter set, to remove it, or to rewrite its
   * entry (R96, R97, R99).
   */
  | {
      readonly kind: "add-voter" | "remove-voter" | "update-voter";
      readonly node: number;
      readonly voter: number;
    };

export type FaultKind = "loss" | "duplicate" | "crash" | "corruption" | "disk-replacement" | "forged-epoch";

export interface Bounds {
  /** No node may enter an epoch above this; steps that would are not taken. */
  readonly maxEpoch: number;
  /** Client values appended over the whole run. */
  readonly maxValues: number;
  /** Client values a leader appends in one epoch. */
  readonly maxValuesPerEpoch: number;
  readonly maxCrashes: number;
  /** Disks the world may corrupt (one bad record each, on a stopped node). */
  readonly maxCorruptions?: number;
  /**
   * Disks the world may replace (a stopped node's, each once, formatted anew with a new directory id:
   * R100); kraft.version 1 clusters only (absent: none).
   */
  readonly maxDiskReplacements?: number;
  readonly maxDuplicates: number;
  /**
   * Fetch answers the network may deliver with their last batch's epoch raised above the leader's: a
   * flipped bit the batch CRC does not cover, or a forged answer (R66; absent: none).
   */
  readonly maxForgedEpochs?: number;
  /** Whether any message may be lost. */
  readonly loss: boolean;
  /** unordered: any in-flight message may arrive next; ordered: first in, first out per link. */
  readonly network: "unordered" | "ordered";
  /** Fault kinds switched off for this run (swarm testing). */
  readonly disabledFaults?: readonly FaultKind[];
  /**
   * Snapshots (R77–R84): any running node may snapshot at its high watermark when that is beyond its
   * newest snapshot, and move its log start to its newest snapshot. Bounded by the values committed.
   */
  readonly snapshots?: boolean;
  /**
   * Voter changes (R93–R98, kraft.version 1 clusters): operators may ask a leader to add a node its
   * voter set lacks or to remove one it holds, this many times over the run (absent: never).
   */
  readonly maxVoterChanges?: number;
  /**
   * R99: operators may also ask the leader to rewrite a voter's entry (kraft quorum
   * update-controller), counted against maxVoterChanges (absent: never).
   */
  readonly voterUpdates?: boolean;
  /**
   * A runbook of voter changes (kraft quorum plan): operators ask only for its next step, the first
   * one the leader's voter set does not yet reflect, and ask again after a step was lost (each ask
   * counts against maxVoterChanges).
   */
  readonly voterPlan?: VoterPlan;
}

/** A runbook of voter changes from the voter set `from`, one step at a time. */
export interface VoterPlan {
  readonly from: readonly number[];
  readonly steps: readonly VoterPlanStep[];
}

/** One step of a voter-change runbook: add or remove node `id`. */
export interface VoterPlanStep {
  readonly op: "add" | "remove";
  readonly id: number;
}

/** The voter ids after each step of a plan from `from`: [from, after step 1, …]. */
export const planSets = (from: readonly number[], plan: readonly VoterPlanStep[]): number[][] => {
  const sets = [[...from].sort((a, b) => a - b)];
  for (const step of plan) {
    const last = sets[sets.length - 1]!;
    sets.push(
      step.op === "add" ? [...last, step.id].sort((a, b) => a - b) : last.filter((id) => id !== step.id),
    );
  }
  return sets;
};

/** The plan's next step for a leader using voters `ids`, or undefined (done, or a set off the plan). */
export const nextPlanStep = (
  from: readonly number[],
  plan: readonly VoterPlanStep[],
  ids: readonly number[],
): VoterPlanStep | undefined => {
  const key = [...ids].sort((a, b) => a - b).join(",");
  const sets = planSets(from, plan);
  for (let k = sets.length - 1; k >= 0; k--) if (sets[k]!.join(",") === key) return plan[k];
  return undefined;
};

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
    if (entryEpoch(entry) === epoch && isClientValue(entryValue(entry))) count++;
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
  if ((world.forgedEpochs ?? 0) < (bounds.maxForgedEpochs ?? 0) && faultOn(bounds, "forged-epoch")) {
    for (let position = 0; position < world.network.length; position++)
      if (carriesRecords(world.network[position]!.message)) actions.push({ kind: "forge-epoch", position });
  }
  for (let node = 0; node < world.nodes.length; node++) {
    const slot = world.nodes[node]!;
    const state = slot.state;
    if (state === null) {
      actions.push({ kind: "restart", node });
      if (world.corruptions < (bounds.maxCorruptions ?? 0) && faultOn(bounds, "corruption")) {
        for (let offset = 0; offset < slot.durable; offset++) actions.push({ kind: "corrupt", node, offset });
      }
      if (
        slot.replaced !== true &&
        (world.diskReplacements ?? 0) < (bounds.maxDiskReplacements ?? 0) &&
        faultOn(bounds, "disk-replacement")
      )
        actions.push({ kind: "replace-disk", node });
      continue;
    }
    for (const timer of state.timers) actions.push({ kind: "timer", node, timer });
    if (slot.flushRequested) actions.push({ kind: "flush", node });
    // Clients may ask any node in any role (R87): every role but a leader must refuse. A leader's
    // writes are bounded per epoch; what other roles do with a write is the point of offering it.
    if (
      world.valuesAppended < bounds.maxValues &&
      (state.role._tag !== "Leader" || valuesInEpoch(world, node, state.epoch) < bounds.maxValuesPerEpoch)
    ) {
      actions.push({ kind: "append", node });
      // A client that has not heard of the leader's election still names the epoch before.
      if (state.role._tag === "Leader" && state.epoch > 0)
        actions.push({ kind: "append", node, stale: true });
    }
    if (world.crashes < bounds.maxCrashes && faultOn(bounds, "crash")) actions.push({ kind: "crash", node });
    if (bounds.snapshots === true) {
      const newest = slot.snapshots[slot.snapshots.length - 1]?.endOffset ?? 0;
      if (state.highWatermark > newest) actions.push({ kind: "snapshot", node });
      if (state.log.endOffset > Math.max(newest, state.highWatermark))
        actions.push({ kind: "snapshot", node, ahead: true });
      if (newest > slot.startOffset) actions.push({ kind: "trim", node });
    }
    // Operators ask leaders only: every other role's refusal is the same NOT_LEADER_OR_FOLLOWER.
    if (state.role._tag === "Leader" && (world.voterChanges ?? 0) < (bounds.maxVoterChanges ?? 0)) {
      if (bounds.voterPlan !== undefined) {
        const ask = planAsk(bounds.voterPlan, node, state);
        if (ask !== undefined) actions.push(ask);
      } else {
        // A member is offered for removal, any other node for an add (the refusals of the rest are the
        // transcripts' and vectors' to judge: they change no state).
        for (let voter = 1; voter <= world.nodes.length; voter++) {
          const member = state.voters.some((v) => v.id === voter);
          actions.push({ kind: member ? "remove-voter" : "add-voter", node, voter });
          if (member && bounds.voterUpdates === true) actions.push({ kind: "update-voter", node, voter });
        }
      }
    }
  }
  return actions;
};

/**
 * The operator following a runbook (kraft quorum plan) asks leader `node` for the plan's next step,
 * if any, once the leader has settled: no change of its own pending or being checked (R93, R96),
 * a high watermark, and its newest voter set committed. It waits for each step's answer, which
 * comes once its record is committed, and asks again after a refusal. `waitCaughtUp`: it adds a node
 * only once the leader reports it caught up (the runbook's "wait until node N is an observer with LAG
 * 0", which `kraft quorum plan --execute` checks too).
 */
const planAsk = (
  plan: VoterPlan,
  node: number,
  state: NodeState,
  waitCaughtUp = false,
): Action | undefined => {
  const role = state.role;
  if (
    role._tag !== "Leader" ||
    role.pendingVoterChange !== undefined ||
    role.addingVoter !== undefined ||
    role.highWatermark < 0 ||
    latestVoterSetOffset(state.log) >= role.highWatermark
  )
    return undefined;
  const step = nextPlanStep(
    plan.from,
    plan.steps,
    state.voters.map((v) => v.id),
  );
  if (step === undefined) return undefined;
  if (
    waitCaughtUp &&
    step.op === "add" &&
    !role.observerStates.some((o) => o.id === step.id && o.endOffset >= role.highWatermark)
  )
    return undefined;
  return { kind: step.op === "add" ? "add-voter" : "remove-voter", node, voter: step.id };
};

/** The request an operator's voter change sends (R96, R97, R99), by action and transcript command. */
export const VOTER_CHANGE_API = {
  "add-voter": "AddRaftVoter",
  "remove-voter": "RemoveRaftVoter",
  "update-voter": "UpdateRaftVoter",
} as const;

/** Carry out one action. */
export const applyAction = (world: World, cluster: ClusterSpec, action: Action): Outcome => {
  switch (action.kind) {
    case "deliver":
      return deliver(world, cluster, action.position);
    case "drop":
      return drop(world, cluster, action.position);
    case "vanish": {
      const network = world.network.slice();
      network.splice(action.position, 1);
      return { world: { ...world, network }, steps: [] };
    }
    case "duplicate":
      return duplicate(world, cluster, action.position);
    case "forge-epoch":
      return forgeEpoch(world, cluster, action.position);
    case "timer":
      return fireTimer(world, cluster, action.node, action.timer);
    case "flush":
      return flush(world, cluster, action.node);
    case "append":
      return clientAppend(world, cluster, action.node, action.stale === true ? 1 : 0);
    case "crash":
      return crash(world, cluster, action.node);
    case "corrupt":
      return { world: corrupt(world, action.node, action.offset), steps: [] };
    case "replace-disk":
      return { world: replaceDisk(world, cluster, action.node), steps: [] };
    case "restart":
      return startNode(world, cluster, action.node);
    case "snapshot":
      return createSnapshot(world, cluster, action.node, action.ahead === true);
    case "trim":
      return deleteBeforeSnapshot(world, cluster, action.node);
    case "add-voter":
    case "remove-voter":
    case "update-voter":
      return requestVoterChange(world, cluster, action.node, VOTER_CHANGE_API[action.kind], action.voter);
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

/** An action as a command of the scenario transcripts (spec/cluster/scenario.ts). */
export const commandOf = (world: World, action: Action): string => {
  switch (action.kind) {
    case "deliver":
    case "drop":
    case "duplicate":
    case "forge-epoch":
    case "vanish": {
      const e = world.network[action.position]!;
      const verb = action.kind === "vanish" ? "lose" : action.kind;
      // Identical copies (after a duplicate) are told apart by their order in flight: `@2` is the second.
      const same = matchingPositions(world.network, exactFilter(e));
      const ordinal = same.length > 1 ? ` @${same.indexOf(action.position) + 1}` : "";
      return `${verb} ${e.from}->${e.to}${e.correlationId === undefined ? "" : `#${e.correlationId}`} ${e.message._tag}${ordinal}`;
    }
    case "timer":
      return `timeout ${nodeIdOf(action.node)} ${action.timer}`;
    case "append":
      return `append ${nodeIdOf(action.node)}${action.stale === true ? " stale" : ""}`;
    case "corrupt":
      return `corrupt ${nodeIdOf(action.node)} ${action.offset}`;
    case "snapshot":
      return `snapshot ${nodeIdOf(action.node)}${action.ahead === true ? " ahead" : ""}`;
    case "add-voter":
    case "remove-voter":
    case "update-voter":
      return `${action.kind} ${nodeIdOf(action.node)} ${action.voter}`;
    default:
      return `${action.kind} ${nodeIdOf(action.node)}`;
  }
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
    case "forge-epoch": {
      const e = world.network[action.position]!;
      return `deliver ${e.from}->${e.to} ${e.message._tag} with its last batch's epoch forged (above the leader's)`;
    }
    case "vanish": {
      const e = world.network[action.position]!;
      return `lose ${e.from}->${e.to} ${e.message._tag} (node ${e.to} is down; the sender's transport keeps waiting)`;
    }
    case "timer":
      return `timeout ${nodeIdOf(action.node)} ${action.timer}`;
    case "append":
      return `append ${nodeIdOf(action.node)}${action.stale === true ? " (stale epoch)" : ""}`;
    case "replace-disk":
      return `replace ${nodeIdOf(action.node)}'s disk (formatted anew: a new directory id)`;
    case "corrupt":
      return `corrupt ${nodeIdOf(action.node)} ${action.offset}`;
    case "snapshot":
      return `snapshot ${nodeIdOf(action.node)}${action.ahead === true ? " (at its log end, ahead of the commit)" : ""}`;
    case "add-voter":
      return `an operator asks ${nodeIdOf(action.node)} to add voter ${action.voter}`;
    case "remove-voter":
      return `an operator asks ${nodeIdOf(action.node)} to remove voter ${action.voter}`;
    case "update-voter":
      return `an operator asks ${nodeIdOf(action.node)} to update voter ${action.voter}'s entry`;
    default:
      return `${action.kind} ${nodeIdOf(action.node)}`;
  }
};

// ---- the fair schedule (liveness) ------------------------------------------------------------------

/**
 * Which fault-free schedule a liveness property is judged on: "healed" restarts every crashed node
 * first and then runs without faults; "as-is" runs without faults but leaves crashed nodes down.
 */
export type Suffix = "healed" | "as-is";

/** An armed timer on the fair schedule: `key` is node index × 8 + the timer's place in TimerKind. */
export interface TimerClock {
  readonly key: number;
  readonly remainingMs: number;
}

/** A world on the fair schedule, with how long each armed timer has left (sorted by key). */
export interface TimedWorld {
  readonly state: World;
  readonly timers: readonly TimerClock[];
}

const TIMER_KINDS: readonly TimerKind[] = TimerKindSchema.literals;

export const timerKey = (node: number, timer: TimerKind): number => node * 8 + TIMER_KINDS.indexOf(timer);

const timerOfKey = (key: number): { node: number; timer: TimerKind } => ({
  node: Math.floor(key / 8),
  timer: TIMER_KINDS[key % 8]!,
});

/**
 * How long a timer runs when armed without a SetTimer to say (R31–R33, R63(d), R68): the nominal
 * duration, an election timeout with half its jitter.
 */
export const timerDurationMs = (config: RaftConfig, timer: TimerKind): number => {
  switch (timer) {
    case "retryBackoff":
      return config.retryBackoffMs;
    case "fetchWait":
      return config.fetchMaxWaitMs;
    case "beginQuorumEpoch":
      return Math.floor(config.fetchTimeoutMs / 2);
    case "election":
      return config.electionTimeoutMs + Math.floor(config.electionTimeoutMs / 2);
    case "fetch":
      return config.fetchTimeoutMs;
    case "checkQuorum":
      return Math.floor((config.fetchTimeoutMs * 3) / 2);
    case "updateVoterSet":
      return config.fetchTimeoutMs;
  }
};

/** The fair schedule's start: every armed timer has its whole nominal duration ahead of it. */
export const startClocks = (world: World, cluster: ClusterSpec): TimedWorld => {
  const timers: TimerClock[] = [];
  world.nodes.forEach((slot, node) => {
    if (slot.state === null) return;
    const config = nodeConfig(cluster, nodeIdOf(node));
    for (const timer of slot.state.timers)
      timers.push({ key: timerKey(node, timer), remainingMs: timerDurationMs(config, timer) });
  });
  timers.sort((a, b) => a.key - b.key);
  return { state: world, timers };
};

/**
 * The clocks after a step that took `elapsedMs`: a timer a SetTimer armed runs for its delay plus half
 * its jitter (the midpoint of what the shell would draw); every other armed timer has `elapsedMs` less.
 */
const advanceClocks = (
  before: TimedWorld,
  outcome: Outcome,
  elapsedMs: number,
  cluster: ClusterSpec,
): TimedWorld => {
  const set = new Map<number, number>();
  for (const step of outcome.steps) {
    const node = step.node - 1;
    for (const e of step.effects) {
      if (e._tag === "SetTimer") set.set(timerKey(node, e.timer), e.delayMs + Math.floor(e.jitterMs / 2));
    }
  }
  const previous = new Map(before.timers.map((t) => [t.key, t.remainingMs]));
  const timers: TimerClock[] = [];
  outcome.world.nodes.forEach((slot, node) => {
    if (slot.state === null) return;
    for (const timer of slot.state.timers) {
      const key = timerKey(node, timer);
      const armed = set.get(key);
      const left = previous.get(key);
      const remainingMs =
        armed ??
        (left === undefined
          ? timerDurationMs(nodeConfig(cluster, nodeIdOf(node)), timer)
          : Math.max(0, left - elapsedMs));
      timers.push({ key, remainingMs });
    }
  });
  timers.sort((a, b) => a.key - b.key);
  return { state: outcome.world, timers };
};

/**
 * The fair schedule after the last fault, a deterministic function of the timed world: a network and
 * disks that are fast next to the timeouts, timers that run out when their time is up.
 * 1. ("healed") a crashed node restarts;
 * 2. an outstanding flush completes;
 * 3. the first message in flight is delivered (no message is lost or duplicated); one to a node that
 *    stays down ("as-is") vanishes, its sender's transport still waiting;
 * 4. otherwise time passes until the next timer runs out (ties: lower node first), and it does.
 * Returns the action, what it did, the time it took and the clocks after it; null when nothing can
 * happen.
 */
export const fairStep = (
  timed: TimedWorld,
  cluster: ClusterSpec,
  suffix: Suffix,
  /**
   * 3b. A runbook's operator (kraft quorum plan): once nothing is in flight, it asks a settled
   * leader for the plan's next step (an add once the node has caught up), as long as the run has
   * made fewer than `maxAsks` asks.
   */
  operator?: { readonly plan: VoterPlan; readonly maxAsks: number },
): {
  readonly action: Action;
  readonly outcome: Outcome;
  readonly elapsedMs: number;
  readonly timed: TimedWorld;
} | null => {
  const world = timed.state;
  const take = (action: Action, elapsedMs: number) => {
    const outcome = applyAction(world, cluster, action);
    return { action, outcome, elapsedMs, timed: advanceClocks(timed, outcome, elapsedMs, cluster) };
  };
  if (suffix === "healed") {
    const down = world.nodes.findIndex((slot) => slot.state === null);
    if (down >= 0) return take({ kind: "restart", node: down }, 0);
  }
  const flushing = world.nodes.findIndex((slot) => slot.state !== null && slot.flushRequested);
  if (flushing >= 0) return take({ kind: "flush", node: flushing }, 0);
  if (world.network.length > 0) {
    const receiver = world.nodes[world.network[0]!.to - 1];
    return take(
      { kind: receiver !== undefined && receiver.state === null ? "vanish" : "deliver", position: 0 },
      0,
    );
  }
  if (operator !== undefined && (world.voterChanges ?? 0) < operator.maxAsks) {
    for (let node = 0; node < world.nodes.length; node++) {
      const state = world.nodes[node]!.state;
      const ask = state === null ? undefined : planAsk(operator.plan, node, state, true);
      if (ask !== undefined) return take(ask, 0);
    }
  }
  let first: TimerClock | undefined;
  for (const t of timed.timers) if (first === undefined || t.remainingMs < first.remainingMs) first = t;
  if (first === undefined) return null;
  const { node, timer } = timerOfKey(first.key);
  return take({ kind: "timer", node, timer }, first.remainingMs);
};
