// The expensive half of a breadth-first search step, split from the cheap half so that it can run in
// worker threads: decode each state taken up, judge its liveness, take every action, encode and
// fingerprint each successor, and judge the successor's safety. The search (engine.ts) keeps the
// cheap half (the visited set, the frontier, the order of everything) on one thread and consumes the
// results in the frontier's order, so that its outcome is the same however many threads expanded.

import { DEFAULT_STABLE_MS, LivenessChecker, type LivenessViolation } from "./liveness.ts";
import type { Model } from "./model.ts";
import { fingerprintRange, WordWriter } from "./words.ts";

/** States to expand: their encodings back to back, `ends[i]` where state i's words end. */
export interface ExpandJob {
  readonly words: Int32Array;
  readonly ends: Int32Array;
  /** The successors are at the depth bound: judge their liveness now, they will not be taken up. */
  readonly successorsAtBound: boolean;
}

/** Per parent: where its successors end in `successors`, a liveness verdict (or -1), and AHEAD_HIT. */
export const PARENT_STRIDE = 3;
/** Per successor: action, fingerprint (high, low), sometimes-properties first reached, flags, verdict. */
export const SUCCESSOR_STRIDE = 6;

/** Flags of a successor. */
export const HAS_WORDS = 1;
/** Its safety verdict is in `verdicts`. */
export const UNSAFE = 2;
/** At the depth bound: its liveness verdict is in `verdicts`. */
export const STUCK = 4;
/** Its fair schedule (or the parent's) broke a safety property beyond the bounds. */
export const AHEAD_HIT = 8;

export interface Expansion {
  readonly parents: Int32Array;
  readonly successors: Int32Array;
  /** Where each successor's words end in `words` (its start is the previous end). */
  readonly wordEnds: Int32Array;
  readonly words: Int32Array;
  /** Property name and detail of each verdict, in pairs. */
  readonly verdicts: readonly string[];
  /** The expander's liveness memo: distinct timed states and bytes, so far. */
  readonly livenessStates: number;
  readonly livenessBytes: number;
}

/** A growable Int32Array. */
class Ints {
  array: Int32Array;
  length = 0;
  constructor(capacity: number) {
    this.array = new Int32Array(capacity);
  }
  push(value: number): void {
    if (this.length === this.array.length) {
      const bigger = new Int32Array(this.array.length * 2);
      bigger.set(this.array);
      this.array = bigger;
    }
    this.array[this.length++] = value;
  }
  /** A right-sized copy (transferable). */
  take(): Int32Array {
    return this.array.slice(0, this.length);
  }
}

/**
 * A lossy set of fingerprints (one slot per hash, the newest wins): what an expander has handed over,
 * or, shared with the search thread (a SharedArrayBuffer), what the visited set holds. A fingerprint
 * found here is in the visited set by the time the search consumes the successor (results are consumed
 * in the order they were produced, and the search only adds), so neither its words nor its safety are
 * needed. Lossy, so it only ever saves work. A shared slot is written as two words: a reader can see
 * half of one fingerprint and half of another, which matches a real fingerprint only by a 64-bit
 * collision, the risk every fingerprint already takes.
 */
export class FingerprintFilter {
  readonly words: Int32Array;
  private readonly mask: number;
  constructor(words: Int32Array) {
    this.words = words;
    this.mask = (words.length >> 1) - 1;
  }
  static local(bits: number): FingerprintFilter {
    return new FingerprintFilter(new Int32Array(2 << bits));
  }
  static shared(bits: number): FingerprintFilter {
    return new FingerprintFilter(new Int32Array(new SharedArrayBuffer(8 << bits)));
  }
  private slot(high: number, low: number): number {
    return ((low ^ Math.imul(high, 0x2c1b3c6d)) & this.mask) << 1;
  }
  has(high: number, low: number): boolean {
    const s = this.slot(high, low);
    // An empty slot is (0, 0): a fingerprint of (0, 0) is never found, which costs nothing.
    return this.words[s] === high && this.words[s + 1] === low && (high | low) !== 0;
  }
  add(high: number, low: number): void {
    const s = this.slot(high, low);
    this.words[s] = high;
    this.words[s + 1] = low;
  }
  get bytes(): number {
    return this.words.byteLength;
  }
}

export class Expander<S> {
  private readonly model: Model<S>;
  readonly liveness: LivenessChecker<S>;
  /** The successors' words: each is encoded here and kept if it is needed. */
  private readonly words = new WordWriter(1 << 16);
  private readonly fp = new Int32Array(2);
  /** The sometimes-properties, by bit. */
  private readonly sometimes: Model<S>["properties"][number][];
  /** Bits of the sometimes-properties this expander has reported. */
  private reported = 0;
  /** Whether the search already holds a fingerprint (main thread), or a filter of those handed over. */
  private readonly known: ((high: number, low: number) => boolean) | undefined;
  private readonly seen: FingerprintFilter | undefined;
  private readonly shared: FingerprintFilter | undefined;

  constructor(
    model: Model<S>,
    livenessBound: number,
    known?: (high: number, low: number) => boolean,
    shared?: FingerprintFilter,
    sharedLiveness: readonly SharedArrayBuffer[] = [],
  ) {
    this.model = model;
    this.liveness = new LivenessChecker(model, livenessBound, DEFAULT_STABLE_MS, sharedLiveness);
    this.sometimes = model.properties.filter((p) => p.kind === "sometimes");
    if (this.sometimes.length > 31) throw new Error("the checker supports at most 31 sometimes-properties");
    this.known = known;
    this.seen = known === undefined ? FingerprintFilter.local(18) : undefined;
    this.shared = shared;
  }

  /** The name of each sometimes-property bit. */
  get sometimesNames(): readonly string[] {
    return this.sometimes.map((p) => p.name);
  }

  private alreadyHeld(high: number, low: number): boolean {
    if (this.known !== undefined) return this.known(high, low);
    if (this.shared?.has(high, low) === true) return true;
    const seen = this.seen!;
    if (seen.has(high, low)) return true;
    seen.add(high, low);
    return false;
  }

  /** Bits of the sometimes-properties `state` (reached with `events`) reaches first for this expander. */
  private newlyReached(events: number, state: S): number {
    let bits = 0;
    for (let i = 0; i < this.sometimes.length; i++) {
      const bit = 1 << i;
      if ((this.reported & bit) !== 0) continue;
      const p = this.sometimes[i]!;
      if (p.kind !== "sometimes") continue;
      if ((p.event !== undefined && (events & p.event) !== 0) || p.holds?.(state) === true) bits |= bit;
    }
    this.reported |= bits;
    return bits;
  }

  private judge(verdicts: string[], found: LivenessViolation | null): number {
    if (found === null) return -1;
    verdicts.push(found.name, found.detail);
    return verdicts.length / 2 - 1;
  }

  expand(job: ExpandJob): Expansion {
    const { model, fp, liveness } = this;
    const count = job.ends.length;
    const parents = new Int32Array(count * PARENT_STRIDE);
    const successors = new Ints(count * 8 * SUCCESSOR_STRIDE);
    const wordEnds = new Ints(count * 8);
    const words = this.words;
    words.reset();
    const verdicts: string[] = [];
    let start = 0;
    for (let p = 0; p < count; p++) {
      const end = job.ends[p]!;
      const state = model.decode(job.words, start, end);
      start = end;
      // Liveness is judged as a state is taken up: it is in canonical form here.
      const brokenBefore = liveness.brokenCount;
      const stuck = this.judge(verdicts, liveness.check(state));
      parents[p * PARENT_STRIDE + 1] = stuck;
      parents[p * PARENT_STRIDE + 2] = liveness.brokenCount > brokenBefore ? AHEAD_HIT : 0;
      if (stuck >= 0) {
        // The search stops at this parent: its successors are never looked at.
        parents[p * PARENT_STRIDE] = successors.length / SUCCESSOR_STRIDE;
        continue;
      }
      const actions = model.actionCount(state);
      for (let action = 0; action < actions; action++) {
        const result = model.step(state, action);
        if (result === null) continue;
        const start = words.length;
        model.encode(result.state, words);
        fingerprintRange(words.words, start, words.length, fp);
        const high = fp[0]!;
        const low = fp[1]!;
        successors.push(action);
        successors.push(high);
        successors.push(low);
        successors.push(this.newlyReached(result.events, result.state));
        if (this.alreadyHeld(high, low)) {
          successors.push(0);
          successors.push(-1);
          words.length = start;
          wordEnds.push(start);
          continue;
        }
        let flags = HAS_WORDS;
        let verdict = -1;
        for (const property of model.properties) {
          if (property.kind !== "always") continue;
          const detail = property.check(result.state);
          if (detail !== null) {
            verdict = this.judge(verdicts, { name: property.name, detail });
            flags |= UNSAFE;
            break;
          }
        }
        if (verdict < 0 && job.successorsAtBound) {
          // Not taken up: judged now, on its canonical form.
          const brokenBefore = liveness.brokenCount;
          verdict = this.judge(verdicts, liveness.check(model.decode(words.words, start, words.length)));
          if (verdict >= 0) flags |= STUCK;
          if (liveness.brokenCount > brokenBefore) flags |= AHEAD_HIT;
        }
        successors.push(flags);
        successors.push(verdict);
        wordEnds.push(words.length);
      }
      parents[p * PARENT_STRIDE] = successors.length / SUCCESSOR_STRIDE;
    }
    return {
      parents,
      successors: successors.take(),
      wordEnds: wordEnds.take(),
      words: words.toArray(),
      verdicts,
      livenessStates: liveness.states,
      livenessBytes: liveness.bytes + (this.seen?.bytes ?? 0),
    };
  }
}
