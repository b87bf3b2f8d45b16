// The interface between the search engine and what it explores, in the style of Stateright: initial
// states, the actions enabled in a state and where each leads, a canonical encoding, and properties.
import type { WordWriter } from "./words.ts";

/** A safety property: `check` returns null when the state satisfies it, else what is wrong. */
export interface Always<S> {
  readonly kind: "always";
  readonly name: string;
  /** The spec rules the property comes from (spec/README.md). */
  readonly rules: string;
  readonly check: (state: S) => string | null;
}

/**
 * A reachability property that shows the model is not vacuous: reached when a transition raises
 * `event` (a bit of the events mask a model reports) or a state satisfies `holds`.
 */
export interface Sometimes<S> {
  readonly kind: "sometimes";
  readonly name: string;
  readonly rules: string;
  readonly event?: number;
  readonly holds?: (state: S) => boolean;
}

/**
 * A liveness property: once faults stop, the model's fair schedule (`Liveness`) from any reachable
 * state reaches a state where `goal` holds, within `withinMs` of simulated time (or the search's
 * liveness bound). `goal` returns null when it holds, else what is still missing. Properties with the
 * same `suffix` are judged together on one schedule: it must reach a state where all of them hold.
 */
export interface Eventually<S> {
  readonly kind: "eventually";
  readonly name: string;
  readonly rules: string;
  /** Which fault-free schedule judges it (a model may have several, e.g. "healed" and "as-is"). */
  readonly suffix: string;
  readonly goal: (state: S) => string | null;
  /** A tighter bound than the search's, in simulated milliseconds. */
  readonly withinMs?: number;
  /**
   * A cheap sufficient condition: when it returns true, `goal` holds in every state of the suffix's
   * fair schedule from `state`, so the schedule need not be walked. Never true otherwise.
   */
  readonly holdsThroughout?: (state: S) => boolean;
}

export type Property<S> = Always<S> | Sometimes<S> | Eventually<S>;

/** An armed timer on a fair schedule: which (a number the model chooses) and how long until it runs out. */
export interface TimerClock {
  readonly key: number;
  readonly remainingMs: number;
}

/** A state on a fair schedule, with the clock of each armed timer (sorted by key). */
export interface Timed<S> {
  readonly state: S;
  readonly timers: readonly TimerClock[];
}

/** One step of a fair, fault-free schedule. */
export interface FairStep<S> {
  readonly timed: Timed<S>;
  /** Simulated time the step took (a timer running out), in milliseconds. */
  readonly elapsedMs: number;
  readonly action: string;
  readonly details?: readonly unknown[];
  /** The step as a transcript command (see Model.command). */
  readonly command?: string;
}

/** What a model offers for liveness checking: a fair, fault-free schedule with simulated time. */
export interface Liveness<S> {
  /** What the scheduler assumes, in one sentence (printed with results). */
  readonly fairness: string;
  /** The schedule's start from `state`: every armed timer at its full nominal duration. */
  start(state: S): Timed<S>;
  /**
   * The step the schedule takes from `timed` on the given suffix (no faults, no bounds), or null when
   * nothing can happen. Deterministic. The action's name and details are only filled in when
   * `explain` is set (for counterexamples).
   */
  next(timed: Timed<S>, suffix: string, explain: boolean): FairStep<S> | null;
  /** An exact encoding of a timed state (no symmetry reduction: timer keys name nodes). */
  encode(timed: Timed<S>, writer: WordWriter): void;
}

export interface Model<S> {
  readonly name: string;
  readonly properties: readonly Property<S>[];
  initialStates(): readonly S[];
  /** How many actions `state` offers; action numbers are 0 .. count-1. */
  actionCount(state: S): number;
  /**
   * Take action `action`: the next state and the events the transition raised, or null when the
   * action leads outside the explored bounds.
   */
  step(state: S, action: number): { readonly state: S; readonly events: number } | null;
  /** The canonical encoding: symmetric states must encode identically. */
  encode(state: S, writer: WordWriter): void;
  decode(words: Int32Array, start: number, end: number): S;
  /** A one-line name of an action, for traces. */
  describeAction(state: S, action: number): string;
  /** What a trace shows of a state: one line per node. */
  describeState(state: S): readonly string[];
  /**
   * The action as a command of the model's scenario transcripts (spec/scenarios), so that a
   * counterexample can be replayed and kept as a regression test; undefined if it has none.
   */
  command?(state: S, action: number): string | undefined;
  /** Machine-readable detail of what an action did (for NDJSON traces), as plain JSON values. */
  explain?(state: S, action: number): readonly unknown[];
  /** The fair scheduler behind the model's `eventually` properties. */
  readonly liveness?: Liveness<S>;
  /** The same model with some kinds of fault switched off at random (swarm testing). */
  swarm?(random: () => number): { readonly model: Model<S>; readonly disabled: readonly string[] };
}
