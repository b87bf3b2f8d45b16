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

export type Property<S> = Always<S> | Sometimes<S>;

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
  /** Machine-readable detail of what an action did (for NDJSON traces), as plain JSON values. */
  explain?(state: S, action: number): readonly unknown[];
  /** The same model with some kinds of fault switched off at random (swarm testing). */
  swarm?(random: () => number): { readonly model: Model<S>; readonly disabled: readonly string[] };
}
