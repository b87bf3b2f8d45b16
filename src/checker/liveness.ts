// Bounded liveness under a model's fair schedule (see LivenessChecker), shared by the search and its
// worker threads.
import { FingerprintMap } from "./fingerprint-map.ts";
import type { Eventually, Model, Property, Timed } from "./model.ts";
import { fingerprint, WordWriter } from "./words.ts";

/**
 * With Kafka's default timeouts an election takes at most about 2 s (an election timeout with its
 * jitter), a leader that lost its quorum resigns within 3 s (1.5 fetch timeouts), and catching up
 * takes a fetch round trip. 30 s is ten check-quorum periods: room for several failed elections after
 * the mess a fault leaves behind, and still a bug when a cluster needs more.
 */
export const DEFAULT_LIVENESS_BOUND_MS = 30_000;

/**
 * How long the goals must then hold without a break: longer than any timer that could undo them
 * (a broker session, 9 s by default, is the longest), so a cluster that only passes through its goals
 * is caught.
 */
export const DEFAULT_STABLE_MS = 10_000;

export interface TraceStep {
  /** 0 for the initial state. */
  readonly step: number;
  readonly action: string;
  readonly nodes: readonly string[];
  /** What the action did, as the model explains it (reducer inputs, effects and states). */
  readonly details?: readonly unknown[];
  /** Liveness counterexamples: this step belongs to the fault-free fair schedule after the faults. */
  readonly fair?: boolean;
  /** The step as a transcript command, when the model has one. */
  readonly command?: string;
}

/** How a liveness counterexample ends. */
export interface Stuck {
  /** "cycle": the fair schedule came back to an earlier state; "deadlock": nothing was enabled; "bound": it ran out of steps. */
  readonly how: "cycle" | "deadlock" | "bound";
  /** The trace step the schedule started from (the last step of the prefix). */
  readonly from: number;
  /** For a cycle: the trace step it returns to. */
  readonly loopsTo?: number;
}

export const firstViolation = <S>(
  properties: readonly Property<S>[],
  state: S,
): { name: string; detail: string } | null => {
  for (const p of properties) {
    if (p.kind !== "always") continue;
    const detail = p.check(state);
    if (detail !== null) return { name: p.name, detail };
  }
  return null;
};

// ---- liveness ------------------------------------------------------------------------------------

const UNKNOWN = -1;
const IN_PROGRESS = -2;
const NEVER = -3;

export interface LivenessViolation {
  readonly name: string;
  readonly detail: string;
}

/**
 * Final settle times (see LivenessChecker.distance) shared by the threads of one search: a lossy table
 * in shared memory, one slot per hash, [lock, fingerprint high, low, settle, run]. A writer takes the
 * slot's lock or skips (losing an entry only costs work), hides the key while it writes, and shows it
 * last; a reader takes the values only if the key matches before and after reading them.
 */
export class SharedSettleTable {
  private readonly words: Int32Array;
  private readonly mask: number;
  /** The run of the last successful get. */
  lastRun = 0;

  constructor(buffer: SharedArrayBuffer) {
    this.words = new Int32Array(buffer);
    this.mask = this.words.length / SETTLE_STRIDE - 1;
  }

  /** A table of 2^bits slots. */
  static buffer(bits: number): SharedArrayBuffer {
    return new SharedArrayBuffer(SETTLE_STRIDE * 4 * (1 << bits));
  }

  private slot(high: number, low: number): number {
    return ((low ^ Math.imul(high, 0x2c1b3c6d)) & this.mask) * SETTLE_STRIDE;
  }

  get(high: number, low: number): number {
    const w = this.words;
    const s = this.slot(high, low);
    if (Atomics.load(w, s + 1) !== high || Atomics.load(w, s + 2) !== low || (high | low) === 0)
      return UNKNOWN;
    const settle = Atomics.load(w, s + 3);
    const run = Atomics.load(w, s + 4);
    if (Atomics.load(w, s + 1) !== high || Atomics.load(w, s + 2) !== low) return UNKNOWN;
    this.lastRun = run;
    return settle;
  }

  set(high: number, low: number, settle: number, run: number): void {
    const w = this.words;
    const s = this.slot(high, low);
    if (Atomics.compareExchange(w, s, 0, 1) !== 0) return;
    Atomics.store(w, s + 1, 0);
    Atomics.store(w, s + 2, 0);
    Atomics.store(w, s + 3, settle);
    Atomics.store(w, s + 4, run);
    Atomics.store(w, s + 2, low);
    Atomics.store(w, s + 1, high);
    Atomics.store(w, s, 0);
  }
}

const SETTLE_STRIDE = 5;

/** How many fair schedules (suffixes) a model's liveness check walks: one shared table each. */
export const livenessSchedules = <S>(model: Model<S>): number =>
  new Set(model.properties.flatMap((p) => (p.kind === "eventually" ? [p.suffix] : []))).size;

/**
 * Bounded liveness under the model's fair schedule: from a state, the schedule (no faults, simulated
 * time) must reach, within the liveness bound (simulated ms; a property may ask for less), a state
 * from which every `eventually` goal of its suffix then holds without a break for the stability
 * window: the cluster settles, it does not just pass through. The schedule is deterministic, so for
 * each timed state (the exact encoding of state and clocks) the time to a settled window is memoized,
 * and the schedules of all states share their work. A schedule that comes back to a timed state it
 * visited goes around a loop forever: fine if the goals hold all around it, a livelock otherwise.
 */
export class LivenessChecker<S> {
  private readonly groups: {
    suffix: string;
    goals: Eventually<S>[];
    withinMs: number;
    /** time to a settled window (SETTLED_AT: the window starts here); `runs`: the goals' unbroken run. */
    memo: FingerprintMap;
    runs: FingerprintMap;
    /** Settle times other threads of the search found (only final ones, see distance). */
    shared: SharedSettleTable | undefined;
  }[] = [];
  private readonly writer = new WordWriter();
  private readonly fp = new Int32Array(2);
  private readonly model: Model<S>;
  /** Simulated milliseconds the schedule has to reach its goals. */
  readonly bound: number;
  /** Simulated milliseconds the goals must then hold without a break. */
  readonly stableMs: number;
  readonly names: string[];
  /** Steps a schedule may take at most (a net under the time bound). */
  private readonly maxSteps: number;

  constructor(
    model: Model<S>,
    boundMs: number,
    stableMs = DEFAULT_STABLE_MS,
    shared: readonly SharedArrayBuffer[] = [],
  ) {
    this.model = model;
    this.bound = boundMs;
    this.stableMs = stableMs;
    this.maxSteps = 50_000;
    for (const p of model.properties) {
      if (p.kind !== "eventually") continue;
      let group = this.groups.find((g) => g.suffix === p.suffix);
      if (group === undefined) {
        group = {
          suffix: p.suffix,
          goals: [],
          withinMs: boundMs,
          memo: new FingerprintMap(),
          runs: new FingerprintMap(),
          shared: undefined,
        };
        this.groups.push(group);
      }
      group.goals.push(p);
      if (p.withinMs !== undefined) group.withinMs = Math.min(group.withinMs, p.withinMs);
    }
    this.names = this.groups.flatMap((g) => g.goals.map((p) => p.name));
    if (shared.length > 0) {
      if (shared.length !== this.groups.length)
        throw new Error(`liveness: ${shared.length} shared tables for ${this.groups.length} schedules`);
      this.groups.forEach((g, i) => {
        g.shared = new SharedSettleTable(shared[i]!);
      });
    }
  }

  get active(): boolean {
    return this.bound > 0 && this.groups.length > 0 && this.model.liveness !== undefined;
  }

  /** Distinct timed states the fair schedules have visited. */
  get states(): number {
    let n = 0;
    for (const g of this.groups) n += g.memo.size;
    return n;
  }

  get bytes(): number {
    let n = 0;
    for (const g of this.groups) n += g.memo.bytes + g.runs.bytes;
    return n;
  }

  private unmet(goals: readonly Eventually<S>[], state: S): LivenessViolation | null {
    for (const goal of goals) {
      const missing = goal.goal(state);
      if (missing !== null) return { name: goal.name, detail: missing };
    }
    return null;
  }

  private fingerprint(timed: Timed<S>): void {
    this.writer.reset();
    this.model.liveness!.encode(timed, this.writer);
    fingerprint(this.writer.words, this.writer.length, this.fp);
  }

  /**
   * The first eventually-property the fair schedule from `state` fails, or null. (If the schedule
   * broke a safety property instead, `brokenAhead` is set and null returned.)
   */
  check(state: S): LivenessViolation | null {
    if (!this.active) return null;
    for (const group of this.groups) {
      if (group.goals.every((g) => g.holdsThroughout?.(state) === true)) continue;
      const ms = this.distance(group, this.model.liveness!.start(state));
      if (ms === NEVER || ms > group.withinMs) {
        return this.unmet(group.goals, state) ?? { name: group.goals[0]!.name, detail: "" };
      }
    }
    return null;
  }

  /** The bound a property is judged with, in simulated milliseconds. */
  boundFor(property: string): number {
    return this.groups.find((g) => g.goals.some((p) => p.name === property))?.withinMs ?? this.bound;
  }

  /**
   * Simulated milliseconds from `start` until its suffix's goals start to hold for a whole stability
   * window, along the fair schedule; NEVER if they never do. The same encoding again right after a
   * step is a stale message delivered and ignored (the encoding does not keep such messages):
   * progress, not a loop, taken without a new entry.
   */
  private distance(group: (typeof this.groups)[number], start: Timed<S>): number {
    const liveness = this.model.liveness!;
    const { memo, runs, goals, suffix } = group;
    const W = this.stableMs;
    const high: number[] = [];
    const low: number[] = [];
    const good: boolean[] = [];
    /** elapsed[i]: simulated time from chain state i to chain state i + 1. */
    const elapsed: number[] = [];
    let timed = start;
    let spent = 0;
    let taken = 0;
    // What follows the last chain state: its settle time and goal run, once known.
    let tailSettle = NEVER;
    let tailRun = 0;
    // States after this index are left unjudged (their future is not known).
    let judgedUpTo = Number.POSITIVE_INFINITY;
    let runStart = -1;
    let runTime = 0;
    // The schedule was cut off by the bound, not by what it reached: its NEVERs say only that this
    // start failed, not that the states on the way never settle, so they are not remembered (a state
    // is judged the same whichever schedule reached it first, and threads can share what is kept).
    let cutOff = false;
    for (;;) {
      this.fingerprint(timed);
      const h = this.fp[0]!;
      const l = this.fp[1]!;
      const last = high.length - 1;
      if (last < 0 || high[last] !== h || low[last] !== l) {
        let known = memo.get(h, l, UNKNOWN);
        if (known === UNKNOWN && group.shared !== undefined) {
          known = group.shared.get(h, l);
          if (known !== UNKNOWN) {
            memo.set(h, l, known);
            runs.set(h, l, group.shared.lastRun);
          }
        }
        if (known >= 0 || known === NEVER) {
          tailSettle = known;
          tailRun = runs.get(h, l, 0);
          break;
        }
        if (known === IN_PROGRESS) {
          // A loop: it repeats forever. Settled if the goals hold all around it.
          let from = high.length - 1;
          while (from >= 0 && (high[from] !== h || low[from] !== l)) from--;
          const allGood = from >= 0 && good.slice(from).every((g) => g);
          tailSettle = allGood ? 0 : NEVER;
          tailRun = allGood ? W : 0;
          break;
        }
        const holds = this.unmet(goals, timed.state) === null;
        memo.set(h, l, IN_PROGRESS);
        high.push(h);
        low.push(l);
        good.push(holds);
        elapsed.push(0);
        if (holds) {
          if (runStart < 0) {
            runStart = high.length - 1;
            runTime = 0;
          }
        } else {
          runStart = -1;
        }
      }
      if (runStart >= 0 && runTime >= W) {
        // A whole window of goals: settled from where the run began; later states stay unjudged.
        judgedUpTo = runStart;
        tailSettle = 0;
        tailRun = W;
        break;
      }
      const next = ++taken > this.maxSteps ? null : liveness.next(timed, suffix, false);
      if (next === null) {
        // Nothing can happen any more: the cluster stays as it is.
        tailSettle = good[good.length - 1] === true ? 0 : NEVER;
        tailRun = good[good.length - 1] === true ? W : 0;
        if (taken > this.maxSteps) {
          tailSettle = NEVER;
          cutOff = true;
        }
        break;
      }
      // A safety property broken on the way, beyond the search's bounds: the search may still find a
      // shorter way to it within them, so it is kept aside (the search reports it if it finds
      // nothing else) and this schedule's states stay unjudged.
      if (firstViolation(this.model.properties, next.timed.state) !== null) {
        this.brokenAhead ??= start.state;
        this.brokenCount++;
        judgedUpTo = -1;
        break;
      }
      elapsed[elapsed.length - 1]! += next.elapsedMs;
      spent += next.elapsedMs;
      if (runStart >= 0) runTime += next.elapsedMs;
      // Past the bound and a window from the start: the start has failed; the search stops there.
      if (spent > group.withinMs + W) {
        tailSettle = NEVER;
        cutOff = true;
        break;
      }
      timed = next.timed;
    }
    // Backwards: each state's goal run (capped at the window) and its time to a settled window.
    let settle = tailSettle;
    let run = tailRun;
    let result = NEVER;
    for (let i = high.length - 1; i >= 0; i--) {
      const e = elapsed[i]!;
      if (i > judgedUpTo) {
        memo.set(high[i]!, low[i]!, UNKNOWN);
        settle = UNKNOWN;
        run = 0;
        // The start too stays unjudged (a schedule that broke a safety property): not a liveness
        // verdict, so that the search goes on to the shortest way to the broken property.
        if (i === 0) result = UNKNOWN;
        continue;
      }
      if (i === judgedUpTo) {
        run = W;
        settle = 0;
      } else {
        run = good[i]! ? Math.min(W, e + run) : 0;
        settle = good[i]! && run >= W ? 0 : settle === NEVER || settle === UNKNOWN ? settle : e + settle;
      }
      if (i === 0) result = settle;
      if (cutOff && settle === NEVER) {
        memo.set(high[i]!, low[i]!, UNKNOWN);
        continue;
      }
      memo.set(high[i]!, low[i]!, settle);
      runs.set(high[i]!, low[i]!, run);
      group.shared?.set(high[i]!, low[i]!, settle, run);
    }
    if (high.length === 0) result = tailSettle;
    return result === UNKNOWN ? 0 : result;
  }

  /** A state whose fair schedule broke a safety property (see distance), taken once. */
  brokenAhead: S | undefined;
  /** How many schedules broke a safety property so far (a search thread asks whether one state's did). */
  brokenCount = 0;

  /**
   * The fair schedule from `start`, step by step, as far as it goes: until its goals settle (hold for a
   * whole window), it comes back to a timed state with a goal unmet on the way (a loop), nothing can
   * happen, it runs past the bound, or it breaks a safety property. For counterexamples; undefined
   * when the goals settle in time.
   */
  explain(start: S, property: string): Explained | undefined {
    // No property named: the schedule that broke a safety property (`brokenAhead`).
    if (property === "") {
      for (const g of this.groups) {
        const explained = this.explain(start, g.goals[0]!.name);
        if (explained?.how === "safety") return explained;
      }
      return undefined;
    }
    const liveness = this.model.liveness;
    const group = this.groups.find((g) => g.goals.some((p) => p.name === property));
    if (liveness === undefined || group === undefined) return undefined;
    const W = this.stableMs;
    const seen = new Map<string, number>();
    const steps: TraceStep[] = [];
    let timed = liveness.start(start);
    let spent = 0;
    let runSince = -1;
    let lastUnmet: LivenessViolation | null = null;
    const goodAt: boolean[] = [];
    for (let i = 0; ; i++) {
      const unmet = this.unmet(group.goals, timed.state);
      if (unmet === null) {
        if (runSince < 0) runSince = spent;
        if (spent - runSince >= W) return spent - W > group.withinMs ? tooSlow() : undefined;
      } else {
        runSince = -1;
        lastUnmet = unmet;
      }
      goodAt[i] = unmet === null;
      this.fingerprint(timed);
      const key = `${this.fp[0]}:${this.fp[1]}`;
      const earlier = seen.get(key);
      // The same encoding right after a step is an ignored stale message, not a loop.
      if (earlier !== undefined && earlier !== i - 1) {
        if (goodAt.slice(earlier).every((g) => g))
          return spent - (spent - runSince) > group.withinMs ? tooSlow() : undefined;
        return { steps, how: "cycle", loopsTo: earlier, unmet: lastUnmet!, spentMs: spent };
      }
      seen.set(key, i);
      if (spent > group.withinMs + W || i > this.maxSteps)
        return { steps, how: "bound", unmet: unmet ?? lastUnmet!, spentMs: spent };
      const next = liveness.next(timed, group.suffix, true);
      if (next === null) {
        if (unmet === null) return undefined;
        return { steps, how: "deadlock", unmet, spentMs: spent };
      }
      spent += next.elapsedMs;
      steps.push({
        step: i + 1,
        action: next.elapsedMs > 0 ? `${next.action} (+${next.elapsedMs} ms, at ${spent} ms)` : next.action,
        nodes: this.model.describeState(next.timed.state),
        ...(next.details === undefined ? {} : { details: next.details }),
        ...(next.command === undefined ? {} : { command: next.command }),
        fair: true,
      });
      const broken = firstViolation(this.model.properties, next.timed.state);
      if (broken !== null)
        return { steps, how: "safety", unmet: broken, state: next.timed.state, spentMs: spent };
      timed = next.timed;
    }
    function tooSlow(): Explained {
      return {
        steps,
        how: "bound",
        unmet: lastUnmet ?? { name: group!.goals[0]!.name, detail: "settled only after the bound" },
        spentMs: spent,
      };
    }
  }
}

export interface Explained {
  readonly steps: TraceStep[];
  readonly how: Stuck["how"] | "safety";
  readonly loopsTo?: number;
  /** The goal not reached (or, for "safety", the property broken on the way). */
  readonly unmet: LivenessViolation;
  readonly state?: unknown;
  /** Simulated time the schedule ran. */
  readonly spentMs: number;
}
