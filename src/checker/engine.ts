// The search engine: breadth-first search over fingerprints (shortest counterexamples), depth-first
// search with a depth bound, and seeded random simulation with swarm testing. Plain TypeScript over
// typed arrays: no Effect data structures in the hot loop.
import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  AHEAD_HIT,
  Expander,
  type Expansion,
  FingerprintFilter,
  HAS_WORDS,
  PARENT_STRIDE,
  STUCK,
  SUCCESSOR_STRIDE,
  UNSAFE,
} from "./expand.ts";
import {
  DEFAULT_LIVENESS_BOUND_MS,
  firstViolation,
  LivenessChecker,
  livenessSchedules,
  SharedSettleTable,
  type Stuck,
  type TraceStep,
} from "./liveness.ts";
import type { Model, Property } from "./model.ts";
import { Random } from "./random.ts";
import { recipeOf } from "./recipe.ts";
import { SearchPool } from "./search-pool.ts";
import { VisitedSet } from "./visited.ts";
import { fingerprint, WordWriter } from "./words.ts";

export {
  DEFAULT_LIVENESS_BOUND_MS,
  DEFAULT_STABLE_MS,
  LivenessChecker,
  type LivenessViolation,
  type Stuck,
  type TraceStep,
} from "./liveness.ts";

export type Mode = "bfs" | "dfs" | "simulate";

export interface SearchOptions {
  readonly mode: Mode;
  /** Stop (incomplete) after this many distinct states. */
  readonly maxStates?: number;
  /** Stop (incomplete) after this many seconds. */
  readonly maxSeconds?: number;
  /** Stop (incomplete) before the process grows past this many MB of resident memory. */
  readonly maxMemoryMB?: number;
  /** bfs and dfs: depth bound (states that far are checked, not expanded); simulate: walk length. */
  readonly depth?: number;
  readonly seed?: number;
  /** simulate: run `walks` walks for each seed from the first to the last, in turn (a shard of a larger run). */
  readonly seedRange?: readonly [number, number];
  readonly walks?: number;
  /** Called every progressIntervalMs with the running statistics. */
  readonly onProgress?: (progress: Progress) => void;
  readonly progressIntervalMs?: number;
  /** Stop at the first violation (default) or keep counting states. */
  readonly now?: () => number;
  /**
   * Liveness: the simulated milliseconds the model's fair schedule has, from any state, to reach its
   * `eventually` goals (0 turns the liveness check off). Default DEFAULT_LIVENESS_BOUND_MS.
   */
  readonly livenessBound?: number;
  /**
   * bfs: threads that expand states (1: this one only). More threads change no outcome, only the
   * time; only a model built by its own factory (one with a recipe) can be rebuilt in a worker.
   */
  readonly workers?: number;
  /** bfs: the level size from which worker threads are started (smaller searches stay on one thread). */
  readonly parallelFrom?: number;
}
export interface Progress {
  readonly depth: number;
  readonly generatedStates: number;
  readonly distinctStates: number;
  readonly queue: number;
  readonly distinctPerSecond: number;
  readonly seconds: number;
  readonly rssMB: number;
}

export type StopReason = "max-states" | "max-seconds" | "max-memory" | "depth-bound";

export interface SearchResult<S> {
  readonly result: "ok" | "violation" | "incomplete";
  /** Every reachable state within the model's bounds was explored. */
  readonly complete: boolean;
  readonly stopReason?: StopReason;
  readonly property?: string;
  readonly violation?: string;
  readonly distinctStates: number;
  readonly generatedStates: number;
  readonly maxDepth: number;
  readonly seconds: number;
  readonly distinctPerSecond: number;
  readonly peakRssMB: number;
  /** Bytes of memory the search structures (visited set, frontier buffers) took per distinct state, at their peak. */
  readonly bytesPerState: number;
  /** The frontier's peak size on disk, in MB (bfs spills it past a few MB). */
  readonly frontierDiskMB?: number;
  readonly sometimesReached: readonly string[];
  readonly sometimesMissed: readonly string[];
  /** The eventually-properties judged, and how many distinct states their fair schedules visited. */
  readonly liveness?: {
    readonly properties: readonly string[];
    readonly bound: number;
    readonly states: number;
  };
  /** For a liveness violation: how the fair schedule got stuck. */
  readonly stuck?: Stuck;
  /**
   * A safety property the fair schedule after this step broke: a counterexample, though perhaps not
   * the shortest (the search stopped looking for a shorter one, see AHEAD_PATIENCE).
   */
  readonly scheduleFrom?: number;
  readonly trace?: readonly TraceStep[];
  /** The violating state, for callers that want more than the trace shows. */
  readonly violatingState?: S | undefined;
  readonly walks?: number;
  /** simulate: the seed whose walk broke a property (else the first seed run). */
  readonly seed?: number;
  readonly seedRange?: readonly [number, number];
  /** simulate with a seed range: every seed up to this one ran all its walks without a violation. */
  readonly lastSeedDone?: number;
  /** bfs: the threads that expanded states (1 unless worker threads were started). */
  readonly workers?: number;
  /** bfs with a depth bound that cut the search: every behaviour of up to this many steps was explored. */
  readonly depthBound?: number;
}

const rssMB = (): number => process.memoryUsage.rss() / 1048576;

// ---- frontier: encoded states, varint bytes, spilled to disk ------------------------------------

const WRITE_BUFFER = 4 << 20;
const READ_CHUNK = 1 << 20;
/** The largest encoded entry: far more than any state needs. */
const MAX_ENTRY = 1 << 16;

/**
 * A FIFO of (state number, encoding) written once and then read once, kept as zig-zag varints. Past
 * a few MB it spills to a temporary file, as TLC's queue does, so memory holds the visited set and
 * little else.
 */
export class Frontier {
  private bytes = new Uint8Array(1 << 16);
  private writeAt = 0;
  private readAt = 0;
  private readEnd = 0;
  private file: { fd: number; path: string; written: number; read: number } | undefined;
  private readingMemory = false;
  count = 0;
  private readonly spillDir: () => string;
  private readonly writeBuffer: number;
  private readonly readChunk: number;

  constructor(spillDir: () => string, sizes: { writeBuffer?: number; readChunk?: number } = {}) {
    this.spillDir = spillDir;
    this.writeBuffer = sizes.writeBuffer ?? WRITE_BUFFER;
    this.readChunk = sizes.readChunk ?? READ_CHUNK;
  }

  private ensure(extra: number): void {
    if (this.writeAt + extra <= this.bytes.length) return;
    if (this.writeAt + extra > this.writeBuffer) {
      this.spill();
      if (extra <= this.bytes.length) return;
    }
    let size = this.bytes.length * 2;
    while (size < this.writeAt + extra) size *= 2;
    const bigger = new Uint8Array(size);
    bigger.set(this.bytes.subarray(0, this.writeAt));
    this.bytes = bigger;
  }

  private spill(): void {
    if (this.file === undefined) {
      const path = join(this.spillDir(), `frontier-${process.pid}-${fileCounter++}.bin`);
      this.file = { fd: openSync(path, "w+"), path, written: 0, read: 0 };
    }
    writeSync(this.file.fd, this.bytes, 0, this.writeAt, this.file.written);
    this.file.written += this.writeAt;
    this.writeAt = 0;
  }

  private putVarint(value: number): void {
    let v = ((value << 1) ^ (value >> 31)) >>> 0;
    while (v >= 0x80) {
      this.bytes[this.writeAt++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.bytes[this.writeAt++] = v;
  }

  private getVarint(): number {
    // Most words are small: one byte.
    const first = this.bytes[this.readAt]!;
    if (first < 0x80) {
      this.readAt++;
      return (first >>> 1) ^ -(first & 1);
    }
    let result = 0;
    let shift = 0;
    for (;;) {
      const b = this.bytes[this.readAt++]!;
      result |= (b & 0x7f) << shift;
      if (b < 0x80) break;
      shift += 7;
    }
    result >>>= 0;
    return (result >>> 1) ^ -(result & 1);
  }

  push(index: number, words: Int32Array, length: number): void {
    this.pushRange(index, words, 0, length);
  }

  pushRange(index: number, words: Int32Array, start: number, end: number): void {
    this.ensure(5 * (end - start + 2));
    this.putVarint(index);
    this.putVarint(end - start);
    for (let i = start; i < end; i++) this.putVarint(words[i]!);
    this.count++;
  }

  /** Make at least one whole entry readable at readAt, pulling the next chunk of the file if needed. */
  private refill(): void {
    const file = this.file;
    if (this.readingMemory || file === undefined) {
      if (!this.readingMemory) {
        this.readingMemory = true;
        this.readAt = 0;
        this.readEnd = this.writeAt;
      }
      return;
    }
    if (this.readEnd - this.readAt >= MAX_ENTRY || file.read >= file.written) {
      if (this.readAt < this.readEnd || file.read < file.written) return;
      // The file is used up: continue with what is still in memory.
      closeSync(file.fd);
      rmSync(file.path, { force: true });
      this.file = undefined;
      this.readingMemory = true;
      this.bytes = this.memoryTail;
      this.readAt = 0;
      this.readEnd = this.writeAt;
      return;
    }
    // Keep at least one whole entry (at most MAX_ENTRY bytes) ahead of the read position.
    let end = this.readEnd - this.readAt;
    this.reader.copyWithin(0, this.readAt, this.readEnd);
    while (end < MAX_ENTRY && file.read < file.written) {
      const got = readSync(
        file.fd,
        this.reader,
        end,
        Math.min(this.readChunk, this.reader.length - end),
        file.read,
      );
      if (got <= 0) break;
      file.read += got;
      end += got;
    }
    this.readAt = 0;
    this.readEnd = end;
    this.bytes = this.reader;
  }

  private reader = new Uint8Array(0);
  private memoryTail = new Uint8Array(0);

  /** Switch from writing to reading: what is in memory is read after what was spilled. */
  startReading(): void {
    if (this.file !== undefined) {
      this.memoryTail = this.bytes;
      this.reader = new Uint8Array(this.readChunk + MAX_ENTRY);
      this.readAt = 0;
      this.readEnd = 0;
    }
  }

  /** Read the next entry into `into`; returns its state number. */
  shift(into: WordWriter): number {
    into.reset();
    return this.shiftAppend(into);
  }

  /** Append the next entry's words to `into`; returns its state number. */
  shiftAppend(into: WordWriter): number {
    this.refill();
    const index = this.getVarint();
    const length = this.getVarint();
    into.reserve(length);
    const words = into.words;
    let at = into.length;
    for (let i = 0; i < length; i++) words[at++] = this.getVarint();
    into.length = at;
    this.count--;
    return index;
  }

  /** Bytes held in memory. */
  get bytesHeld(): number {
    return (
      this.bytes.byteLength +
      (this.file === undefined ? 0 : this.reader.byteLength + this.memoryTail.byteLength)
    );
  }

  get bytesOnDisk(): number {
    return this.file?.written ?? 0;
  }

  dispose(): void {
    if (this.file !== undefined) {
      closeSync(this.file.fd);
      rmSync(this.file.path, { force: true });
      this.file = undefined;
    }
  }
}

let fileCounter = 0;

// ---- shared helpers ------------------------------------------------------------------------------

class Clock {
  readonly start: number;
  private readonly now: () => number;
  constructor(now: () => number) {
    this.now = now;
    this.start = now();
  }
  get seconds(): number {
    return (this.now() - this.start) / 1000;
  }
}

const reachedBy = <S>(
  properties: readonly Property<S>[],
  reached: Set<string>,
  events: number,
  state: S,
): void => {
  for (const p of properties) {
    if (p.kind !== "sometimes" || reached.has(p.name)) continue;
    if ((p.event !== undefined && (events & p.event) !== 0) || p.holds?.(state)) {
      reached.add(p.name);
    }
  }
};

const sometimesSplit = <S>(properties: readonly Property<S>[], reached: Set<string>) => {
  const all = properties.filter((p) => p.kind === "sometimes").map((p) => p.name);
  return {
    sometimesReached: all.filter((n) => reached.has(n)),
    sometimesMissed: all.filter((n) => !reached.has(n)),
  };
};

const fingerprintOf = <S>(model: Model<S>, state: S, writer: WordWriter, fp: Int32Array): void => {
  writer.reset();
  model.encode(state, writer);
  fingerprint(writer.words, writer.length, fp);
};

/**
 * Rebuild a path from the initial state through states with the given fingerprints, choosing at each
 * step an action whose successor has the next fingerprint. Replaying from the un-canonicalized
 * initial state keeps node names as they were, whatever symmetry reduction did.
 */
export const replayPath = <S>(
  model: Model<S>,
  fingerprints: readonly (readonly [number, number])[],
  hints: readonly number[],
): Replayed<S> =>
  replayFrom(model, fingerprints, hints, false) ?? replayFrom(model, fingerprints, hints, true)!;

export interface Replayed<S> {
  readonly trace: TraceStep[];
  /** The last state of the replayed path, with the node names the trace uses. */
  readonly last: S;
}

/**
 * One replay attempt. With `canonical`, each state is first replaced by its decoded canonical form,
 * exactly as the search expanded it: that always succeeds, but symmetry may rename nodes from one
 * step to the next, so it is only the fallback.
 */
const replayFrom = <S>(
  model: Model<S>,
  fingerprints: readonly (readonly [number, number])[],
  hints: readonly number[],
  canonical: boolean,
): Replayed<S> | undefined => {
  const writer = new WordWriter();
  const fp = new Int32Array(2);
  const normalize = (s: S): S => {
    if (!canonical) return s;
    writer.reset();
    model.encode(s, writer);
    return model.decode(writer.words, 0, writer.length);
  };
  const first = fingerprints[0]!;
  const initial = model.initialStates().find((s) => {
    fingerprintOf(model, s, writer, fp);
    return fp[0] === first[0] && fp[1] === first[1];
  });
  if (initial === undefined) throw new Error("counterexample replay: no initial state matches");
  let state = normalize(initial);
  let last = state;
  const trace: TraceStep[] = [{ step: 0, action: "initial state", nodes: model.describeState(state) }];
  for (let i = 1; i < fingerprints.length; i++) {
    const target = fingerprints[i]!;
    const count = model.actionCount(state);
    const hint = hints[i] ?? 0;
    const order = [hint, ...Array.from({ length: count }, (_, a) => a).filter((a) => a !== hint)];
    let found = false;
    for (const action of order) {
      if (action >= count) continue;
      const next = model.step(state, action);
      if (next === null) continue;
      fingerprintOf(model, next.state, writer, fp);
      if (fp[0] === target[0] && fp[1] === target[1]) {
        const details = model.explain?.(state, action);
        // A replay that renames nodes from step to step cannot be written as a transcript.
        const command = canonical ? undefined : model.command?.(state, action);
        trace.push({
          step: i,
          action: model.describeAction(state, action),
          nodes: model.describeState(next.state),
          ...(details === undefined ? {} : { details }),
          ...(command === undefined ? {} : { command }),
        });
        last = next.state;
        state = normalize(next.state);
        found = true;
        break;
      }
    }
    if (!found) {
      if (canonical) throw new Error(`counterexample replay: no action reaches step ${i}`);
      return undefined;
    }
  }
  return { trace, last };
};

interface Found<S> {
  readonly name: string;
  readonly detail: string;
  readonly state: S;
  /** safety: `state` breaks an always-property; liveness: the fair schedule from `state` fails. */
  readonly kind: "safety" | "liveness";
}

interface Report<S> {
  readonly property: string;
  readonly violation: string;
  readonly trace: TraceStep[];
  readonly violatingState: S;
  readonly stuck?: Stuck;
  readonly scheduleFrom?: number;
}

/**
 * Turn a violation into what the user reads: the path replayed with the trace's node names and the
 * property's text computed on the replayed state (not on the symmetry-relabelled one the search
 * held). For liveness, the fair schedule from the last state follows, until it loops, stops or runs
 * out of steps; if the schedule from the replayed state does succeed (ties between nodes are broken
 * by name, and symmetry renamed them), the search's own state is used instead.
 */
const report = <S>(
  model: Model<S>,
  checker: LivenessChecker<S>,
  fingerprints: readonly (readonly [number, number])[],
  hints: readonly number[],
  found: Found<S>,
): Report<S> => {
  const replayed = replayPath(model, fingerprints, hints);
  if (found.kind === "safety") {
    const property = model.properties.find((p) => p.name === found.name);
    const detail =
      property?.kind === "always" ? (property.check(replayed.last) ?? found.detail) : found.detail;
    return { property: found.name, violation: detail, trace: replayed.trace, violatingState: replayed.last };
  }
  let from = replayed.trace.length - 1;
  let explained = checker.explain(replayed.last, found.name);
  if (explained === undefined) {
    // The schedule from the trace's own state reaches the goal (node names break its ties): follow
    // the one from the state the search judged, whose nodes may be named differently; show it first.
    explained = checker.explain(found.state, found.name);
    replayed.trace.push({
      step: from + 1,
      action: "the same state, with its nodes named as the checker's canonical form names them",
      nodes: model.describeState(found.state),
    });
    from++;
  }
  if (explained === undefined) {
    return {
      property: found.name,
      violation: `${found.name}: the fair schedule from the last state does not reach its goal within ${checker.boundFor(found.name)} ms`,
      trace: replayed.trace,
      violatingState: replayed.last,
      stuck: { how: "bound", from },
    };
  }
  const trace = [...replayed.trace, ...explained.steps.map((s) => ({ ...s, step: from + s.step }))];
  if (explained.how === "safety") {
    return {
      property: explained.unmet.name,
      violation: `${explained.unmet.detail} (on the fair schedule after the last fault at step ${from})`,
      scheduleFrom: from,
      trace,
      violatingState: explained.state as S,
    };
  }
  const how =
    explained.how === "cycle"
      ? `comes back to the state after step ${from + explained.loopsTo!} with no time passed, and would repeat forever,`
      : explained.how === "deadlock"
        ? `comes to a stop after ${explained.spentMs} ms, with nothing left that can happen,`
        : `runs ${explained.spentMs} ms, past its bound of ${checker.boundFor(found.name)} ms,`;
  return {
    property: explained.unmet.name,
    violation: `${explained.unmet.name}: from the state after step ${from}, with no more faults, the fair schedule ${how} without reaching the goal: ${explained.unmet.detail}`,
    trace,
    violatingState: replayed.last,
    stuck: {
      how: explained.how,
      from,
      ...(explained.loopsTo === undefined ? {} : { loopsTo: from + explained.loopsTo }),
    },
  };
};

/** The liveness fields of a result. */
const livenessSummary = <S>(checker: LivenessChecker<S>, states = checker.states) =>
  checker.active ? { liveness: { properties: checker.names, bound: checker.bound, states } } : {};

/** The safety check of a newly found state. */
const judgeSafety = <S>(model: Model<S>, state: S): Found<S> | null => {
  const problem = firstViolation(model.properties, state);
  return problem === null ? null : { ...problem, state, kind: "safety" };
};

/**
 * The liveness check of a state, on its canonical form (decoded from its encoding): the fair schedule
 * breaks ties by node name and follows the network's order, so symmetric states could be judged
 * differently; judging one representative of each keeps the verdict a function of the state the
 * search counts.
 */
const judgeLiveness = <S>(liveness: LivenessChecker<S>, canonical: S): Found<S> | null => {
  const stuck = liveness.check(canonical);
  return stuck === null ? null : { ...stuck, state: canonical, kind: "liveness" };
};

const canonicalOf = <S>(model: Model<S>, state: S, writer: WordWriter): S => {
  writer.reset();
  model.encode(state, writer);
  return model.decode(writer.words, 0, writer.length);
};

// ---- breadth-first search ------------------------------------------------------------------------

/**
 * When a fair schedule breaks a safety property, its path is a counterexample, though perhaps not the
 * shortest: the search goes on looking for a shorter one until it has checked every state as deep as
 * that counterexample is long, or holds this many times the states it held then and at least
 * AHEAD_PATIENCE_MIN more (a schedule of hundreds of steps would otherwise wait for the whole search).
 * Measured on the mutants: the shortest counterexample lay 1.6 to 4.8 times further than the point
 * where a bound of 10 times gave up.
 */
const AHEAD_PATIENCE = 100;
const AHEAD_PATIENCE_MIN = 200_000;

/** A level of at least this many states is worth starting the worker threads for. */
const PARALLEL_FROM = 2000;
/** States per job: one thread takes a few at a time; a worker takes enough to dwarf a message's cost. */
const LOCAL_JOB = 16;
const WORKER_JOB = 128;
/** Jobs in flight per worker: enough that none waits while the search consumes another's answer. */
const JOBS_PER_WORKER = 3;
/** Slots of the shared filter of visited fingerprints: 2^20 (8 MB), about the last level or two. */
const SHARED_FILTER_BITS = 20;
/** Slots of each shared table of settle times: 2^18 (5 MB). */
const SHARED_SETTLE_BITS = 18;

const bfs = <S>(model: Model<S>, options: SearchOptions): SearchResult<S> => {
  const clock = new Clock(options.now ?? (() => performance.now()));
  const visited = new VisitedSet(1 << 16);
  const writer = new WordWriter();
  const fp = new Int32Array(2);
  const reached = new Set<string>();
  const budgetMB = options.maxMemoryMB ?? Number.POSITIVE_INFINITY;
  const interval = options.progressIntervalMs ?? 2000;
  let spillDir: string | undefined;
  const directory = (): string => {
    spillDir ??= mkdtempSync(join(tmpdir(), "kraft-check-"));
    return spillDir;
  };
  let current = new Frontier(directory);
  let next = new Frontier(directory);
  let peakDiskBytes = 0;
  // Resident memory is sampled every 4096 new states, starting with the first.
  let memoryTick = 4096;
  let generated = 0;
  let depth = 0;
  let peakRss = rssMB();
  let peakSearchBytes = 0;
  let stop: StopReason | undefined;
  let violation: (Found<S> & { index: number }) | undefined;
  const livenessBound = options.livenessBound ?? DEFAULT_LIVENESS_BOUND_MS;
  // Explains a liveness counterexample; the expanders judge (each with its own memo).
  const liveness = new LivenessChecker(model, livenessBound);
  // The first state whose fair schedule broke a safety property beyond the bounds (reported only if
  // the search finds no violation within them).
  let ahead: (Found<S> & { index: number }) | undefined;
  // Distinct states when a level that set `ahead` ended: the search looks on for a shorter
  // counterexample until it holds AHEAD_PATIENCE times as many (or AHEAD_PATIENCE_MIN more), or
  // until it has checked every state as deep as the schedule's counterexample is long.
  let aheadSeenAt = 0;
  let aheadLength = Number.POSITIVE_INFINITY;
  let lastProgress = clock.seconds;
  // A depth bound: states that far are checked but not expanded; `cut` records that it mattered.
  const bound = options.depth;
  let cut = false;

  const progress = (): void => {
    const seconds = clock.seconds;
    options.onProgress?.({
      depth,
      generatedStates: generated,
      distinctStates: visited.size,
      queue: current.count + next.count,
      distinctPerSecond: seconds > 0 ? visited.size / seconds : 0,
      seconds,
      rssMB: rssMB(),
    });
  };

  for (const initial of model.initialStates()) {
    fingerprintOf(model, initial, writer, fp);
    if (visited.find(fp[0]!, fp[1]!) >= 0) continue;
    const index = visited.add(fp[0]!, fp[1]!, -1, 0);
    reachedBy(model.properties, reached, 0, initial);
    const found = judgeSafety(model, initial);
    if (found !== null) {
      violation = { ...found, index };
      break;
    }
    current.push(index, writer.words, writer.length);
  }

  // Expansion (decode, liveness, step, encode, safety) runs here or in worker threads; everything
  // that decides the outcome (the visited set, the frontier, stops) runs here, in the frontier's
  // order, so the outcome does not depend on how many threads expanded.
  const workers = Math.max(1, Math.floor(options.workers ?? 1));
  const recipe = workers > 1 ? recipeOf(model) : undefined;
  let pool: SearchPool | undefined;
  let workersUsed = 1;
  /** Recently visited fingerprints, which the workers read to skip what the search already holds. */
  const sharedVisited = FingerprintFilter.shared(recipe === undefined ? 0 : SHARED_FILTER_BITS);
  // Fair schedules' settle times, shared by every thread that judges liveness (liveness.ts).
  const sharedLiveness =
    recipe === undefined || livenessBound <= 0
      ? []
      : Array.from({ length: livenessSchedules(model) }, () => SharedSettleTable.buffer(SHARED_SETTLE_BITS));
  const local = new Expander(
    model,
    livenessBound,
    (high, low) => visited.find(high, low) >= 0,
    undefined,
    sharedLiveness,
  );
  const sometimesNames = local.sometimesNames;
  const workerLiveness = {
    states: new Array<number>(workers).fill(0),
    bytes: new Array<number>(workers).fill(0),
  };
  interface Pending {
    readonly worker: number;
    readonly parents: Int32Array;
    readonly words: Int32Array;
    readonly ends: Int32Array;
    readonly expansion: Expansion | undefined;
  }
  const pending: Pending[] = [];
  let pendingParents = 0;
  const sum = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0);
  /** Distinct timed states the fair schedules visited, over every expander (each has its own memo). */
  const livenessStates = (): number => local.liveness.states + sum(workerLiveness.states);
  const livenessBytes = (): number =>
    local.liveness.bytes +
    sum(workerLiveness.bytes) +
    (pool === undefined ? 0 : sharedVisited.bytes) +
    sum(sharedLiveness.map((b) => b.byteLength));
  let nextWorker = 0;
  const jobWords = new WordWriter(1 << 14);

  /** Up to `count` states of the current level, as a job. */
  const takeJob = (count: number, successorsAtBound: boolean) => {
    const n = Math.min(count, current.count);
    const parents = new Int32Array(n);
    const ends = new Int32Array(n);
    jobWords.reset();
    for (let i = 0; i < n; i++) {
      parents[i] = current.shiftAppend(jobWords);
      ends[i] = jobWords.length;
    }
    return { parents, job: { words: jobWords.toArray(), ends, successorsAtBound } };
  };

  /** Take in one expansion, parent by parent, successor by successor, as a one-thread search would. */
  const consume = (taken: Pending, x: Expansion, atBound: boolean): void => {
    const decodeParent = (p: number): S =>
      model.decode(taken.words, p === 0 ? 0 : taken.ends[p - 1]!, taken.ends[p]!);
    const { successors, wordEnds, words, verdicts } = x;
    /** Verdict `v` of the expansion as a found violation of `state`. */
    const judged = (v: number, state: S, kind: Found<S>["kind"], index: number) => ({
      name: verdicts[2 * v]!,
      detail: verdicts[2 * v + 1]!,
      state,
      kind,
      index,
    });
    let s = 0;
    for (let p = 0; p < taken.parents.length; p++) {
      const parent = taken.parents[p]!;
      pendingParents--;
      const stuck = x.parents[p * PARENT_STRIDE + 1]!;
      if (stuck >= 0) {
        const state = decodeParent(p);
        violation = judged(stuck, state, "liveness", parent);
        return;
      }
      if (x.parents[p * PARENT_STRIDE + 2] !== 0 && ahead === undefined)
        ahead = { name: "", detail: "", state: decodeParent(p), kind: "liveness", index: parent };
      const end = x.parents[p * PARENT_STRIDE]!;
      for (; s < end; s++) {
        const o = s * SUCCESSOR_STRIDE;
        const high = successors[o + 1]!;
        const low = successors[o + 2]!;
        let bits = successors[o + 3]!;
        generated++;
        for (let b = 0; bits !== 0; b++, bits >>>= 1) if ((bits & 1) !== 0) reached.add(sometimesNames[b]!);
        if (visited.find(high, low) >= 0) continue;
        const flags = successors[o + 4]!;
        if ((flags & HAS_WORDS) === 0)
          throw new Error("model checker: a state a worker had handed over is missing from the visited set");
        if (++memoryTick >= 4096) {
          memoryTick = 0;
          const rss = rssMB();
          peakRss = Math.max(peakRss, rss);
          if (rss + visited.nextGrowthBytes / 1048576 > budgetMB) {
            stop = "max-memory";
            return;
          }
        }
        const index = visited.add(high, low, parent, successors[o]!);
        sharedVisited.add(high, low);
        const start = s === 0 ? 0 : wordEnds[s - 1]!;
        const verdict = successors[o + 5]!;
        const decode = (): S => model.decode(words, start, wordEnds[s]!);
        if ((flags & UNSAFE) !== 0) {
          violation = judged(verdict, decode(), "safety", index);
          return;
        }
        if (atBound) {
          // Not taken up: its liveness was judged with the expansion.
          cut = true;
          if ((flags & STUCK) !== 0) {
            violation = judged(verdict, decode(), "liveness", index);
            return;
          }
          if ((flags & AHEAD_HIT) !== 0 && ahead === undefined)
            ahead = { name: "", detail: "", state: decode(), kind: "liveness", index };
        } else next.pushRange(index, words, start, wordEnds[s]!);
        if (options.maxStates !== undefined && visited.size >= options.maxStates) {
          stop = "max-states";
          return;
        }
      }
      s = end;
      peakSearchBytes = Math.max(
        peakSearchBytes,
        visited.bytes + current.bytesHeld + next.bytesHeld + livenessBytes(),
      );
      peakDiskBytes = Math.max(peakDiskBytes, current.bytesOnDisk + next.bytesOnDisk);
      if ((generated & 1023) === 0 || current.count + pendingParents === 0) {
        const seconds = clock.seconds;
        if (options.maxSeconds !== undefined && seconds > options.maxSeconds) stop ??= "max-seconds";
        if (seconds - lastProgress >= interval / 1000) {
          lastProgress = seconds;
          progress();
        }
        if (stop !== undefined) return;
      }
    }
  };

  current.startReading();
  try {
    while (violation === undefined && stop === undefined && current.count > 0) {
      const atBound = bound !== undefined && depth + 1 >= bound;
      if (
        pool === undefined &&
        recipe !== undefined &&
        current.count >= (options.parallelFrom ?? PARALLEL_FROM)
      )
        pool = new SearchPool(
          workers,
          recipe,
          livenessBound,
          sharedVisited.words.buffer as SharedArrayBuffer,
          sharedLiveness,
        );
      while ((current.count > 0 || pending.length > 0) && violation === undefined && stop === undefined) {
        const window = pool === undefined ? 1 : pool.size * JOBS_PER_WORKER;
        while (current.count > 0 && pending.length < window) {
          const { parents, job } = takeJob(pool === undefined ? LOCAL_JOB : WORKER_JOB, atBound);
          pendingParents += parents.length;
          if (pool === undefined) {
            pending.push({
              worker: -1,
              parents,
              words: job.words,
              ends: job.ends,
              expansion: local.expand(job),
            });
          } else {
            const taken = {
              worker: nextWorker,
              parents,
              words: job.words.slice(),
              ends: job.ends.slice(),
              expansion: undefined,
            };
            pool.send(nextWorker, job);
            pending.push(taken);
            nextWorker = (nextWorker + 1) % pool.size;
          }
        }
        const taken = pending.shift()!;
        let expansion = taken.expansion;
        if (expansion === undefined) {
          expansion = pool!.receive(taken.worker);
          workerLiveness.states[taken.worker] = expansion.livenessStates;
          workerLiveness.bytes[taken.worker] = expansion.livenessBytes;
        }
        consume(taken, expansion, atBound);
      }
      if (violation === undefined && stop === undefined && next.count > 0) depth++;
      // At a level's end, so that the decision is the same whatever the number of threads.
      if (ahead !== undefined && violation === undefined) {
        if (aheadSeenAt === 0) {
          aheadSeenAt = visited.size;
          const schedule = liveness.explain(ahead.state, "");
          if (schedule !== undefined)
            aheadLength = visited.pathTo(ahead.index).length - 1 + schedule.steps.length;
        }
        // Every state up to `depth` steps is checked: past the schedule's length nothing shorter exists.
        if (
          depth >= aheadLength - 1 ||
          visited.size >= Math.max(AHEAD_PATIENCE * aheadSeenAt, aheadSeenAt + AHEAD_PATIENCE_MIN)
        )
          violation = ahead;
      }
      current.dispose();
      current = next;
      current.startReading();
      next = new Frontier(directory);
    }
  } finally {
    workersUsed = pool?.size ?? 1;
    pool?.close();
    current.dispose();
    next.dispose();
    if (spillDir !== undefined) rmSync(spillDir, { recursive: true, force: true });
  }

  peakRss = Math.max(peakRss, rssMB());
  // A schedule's violation is a counterexample all the same: a search that stopped early reports it.
  if (violation === undefined) violation = ahead;
  const seconds = clock.seconds;
  const common = {
    distinctStates: visited.size,
    generatedStates: generated,
    maxDepth: violation === undefined ? depth : visited.pathTo(violation.index).length - 1,
    seconds,
    distinctPerSecond: seconds > 0 ? visited.size / seconds : visited.size,
    peakRssMB: Math.round(peakRss),
    bytesPerState: visited.size > 0 ? Math.round((peakSearchBytes || visited.bytes) / visited.size) : 0,
    frontierDiskMB: Math.round(peakDiskBytes / 1048576),
    ...sometimesSplit(model.properties, reached),
    ...livenessSummary(liveness, livenessStates()),
    workers: workersUsed,
  };
  if (violation !== undefined) {
    const path = visited.pathTo(violation.index);
    const fingerprints = path.map((i) => [visited.fingerprintHigh[i]!, visited.fingerprintLow[i]!] as const);
    const hints = path.map((i) => visited.actions[i]!);
    return {
      ...common,
      result: "violation",
      complete: false,
      ...report(model, liveness, fingerprints, hints, violation),
    };
  }
  if (stop !== undefined) return { ...common, result: "incomplete", complete: false, stopReason: stop };
  if (cut)
    return { ...common, maxDepth: bound ?? depth, result: "ok", complete: true, depthBound: bound ?? depth };
  return { ...common, result: "ok", complete: true };
};

// ---- depth-first search --------------------------------------------------------------------------

const dfs = <S>(model: Model<S>, options: SearchOptions): SearchResult<S> => {
  const clock = new Clock(options.now ?? (() => performance.now()));
  const bound = options.depth ?? 50;
  const visited = new VisitedSet(1 << 16);
  const writer = new WordWriter();
  const fp = new Int32Array(2);
  const reached = new Set<string>();
  const budgetMB = options.maxMemoryMB ?? Number.POSITIVE_INFINITY;
  let generated = 0;
  let maxDepth = 0;
  let cut = false;
  let stop: StopReason | undefined;
  let violation: (Found<S> & { path: S[]; actions: number[] }) | undefined;
  const liveness = new LivenessChecker(model, options.livenessBound ?? DEFAULT_LIVENESS_BOUND_MS);
  let ahead: (Found<S> & { path: S[]; actions: number[] }) | undefined;
  let peakRss = rssMB();

  interface Frame {
    readonly state: S;
    readonly count: number;
    action: number;
  }
  outer: for (const initial of model.initialStates()) {
    fingerprintOf(model, initial, writer, fp);
    if (visited.find(fp[0]!, fp[1]!) >= 0) continue;
    visited.add(fp[0]!, fp[1]!, -1, 0);
    const problem =
      judgeSafety(model, initial) ?? judgeLiveness(liveness, canonicalOf(model, initial, writer));
    if (problem !== null) {
      violation = { ...problem, path: [initial], actions: [0] };
      break;
    }
    const stack: Frame[] = [{ state: initial, count: model.actionCount(initial), action: 0 }];
    const actionsTaken: number[] = [0];
    while (stack.length > 0) {
      const frame = stack[stack.length - 1]!;
      if (frame.action >= frame.count) {
        stack.pop();
        actionsTaken.pop();
        continue;
      }
      const action = frame.action++;
      const result = model.step(frame.state, action);
      if (result === null) continue;
      generated++;
      reachedBy(model.properties, reached, result.events, result.state);
      fingerprintOf(model, result.state, writer, fp);
      if (visited.find(fp[0]!, fp[1]!) >= 0) continue;
      visited.add(fp[0]!, fp[1]!, -1, action);
      const canonical = canonicalOf(model, result.state, writer);
      const problem = judgeSafety(model, result.state) ?? judgeLiveness(liveness, canonical);
      if (problem === null && liveness.brokenAhead !== undefined && ahead === undefined) {
        ahead = {
          name: "",
          detail: "",
          state: canonical,
          kind: "liveness",
          path: [...stack.map((f) => f.state), result.state],
          actions: [...actionsTaken, action],
        };
      }
      if (problem !== null) {
        violation = {
          ...problem,
          path: [...stack.map((f) => f.state), result.state],
          actions: [...actionsTaken, action],
        };
        break outer;
      }
      if (stack.length >= bound) {
        cut = true;
        continue;
      }
      stack.push({ state: result.state, count: model.actionCount(result.state), action: 0 });
      actionsTaken.push(action);
      maxDepth = Math.max(maxDepth, stack.length - 1);
      if ((generated & 1023) === 0) {
        const rss = rssMB();
        peakRss = Math.max(peakRss, rss);
        if (rss > budgetMB) stop = "max-memory";
        if (options.maxSeconds !== undefined && clock.seconds > options.maxSeconds) stop = "max-seconds";
        if (options.maxStates !== undefined && visited.size >= options.maxStates) stop = "max-states";
        if (stop !== undefined) break outer;
      }
    }
  }
  if (violation === undefined) violation = ahead;
  const seconds = clock.seconds;
  const common = {
    distinctStates: visited.size,
    generatedStates: generated,
    maxDepth: violation === undefined ? maxDepth : violation.path.length - 1,
    seconds,
    distinctPerSecond: seconds > 0 ? visited.size / seconds : visited.size,
    peakRssMB: Math.round(Math.max(peakRss, rssMB())),
    bytesPerState: visited.size > 0 ? Math.round(visited.bytes / visited.size) : 0,
    ...sometimesSplit(model.properties, reached),
    ...livenessSummary(liveness),
  };
  if (violation !== undefined) {
    const fingerprints = violation.path.map((s) => {
      fingerprintOf(model, s, writer, fp);
      return [fp[0]!, fp[1]!] as const;
    });
    return {
      ...common,
      result: "violation",
      complete: false,
      ...report(model, liveness, fingerprints, violation.actions, violation),
    };
  }
  if (stop !== undefined) return { ...common, result: "incomplete", complete: false, stopReason: stop };
  if (cut) return { ...common, result: "incomplete", complete: false, stopReason: "depth-bound" };
  return { ...common, result: "ok", complete: true };
};

// ---- random simulation ---------------------------------------------------------------------------

const simulate = <S>(model: Model<S>, options: SearchOptions): SearchResult<S> => {
  const clock = new Clock(options.now ?? (() => performance.now()));
  // Each seed runs its own walks from its own generator, exactly as a run with only that seed would.
  const [firstSeed, lastSeed] = options.seedRange ?? [options.seed ?? 1, options.seed ?? 1];
  let seed = firstSeed;
  let lastSeedDone = firstSeed - 1;
  const walks = options.walks ?? 1000;
  const depth = options.depth ?? 100;
  let random = new Random(seed);
  const writer = new WordWriter();
  const fp = new Int32Array(2);
  const visited = new VisitedSet(1 << 12);
  const reached = new Set<string>();
  let generated = 0;
  let maxDepth = 0;
  let done = 0;
  let lastProgress = 0;
  const liveness = new LivenessChecker(model, options.livenessBound ?? DEFAULT_LIVENESS_BOUND_MS);
  const violationAt = (
    variant: Model<S>,
    path: readonly S[],
    actions: readonly number[],
    found: Found<S>,
    walk: number,
  ): SearchResult<S> => {
    const fingerprints = path.map((s) => {
      fingerprintOf(variant, s, writer, fp);
      return [fp[0]!, fp[1]!] as const;
    });
    const seconds = clock.seconds;
    return {
      result: "violation",
      complete: false,
      distinctStates: visited.size,
      generatedStates: generated,
      maxDepth,
      seconds,
      distinctPerSecond: seconds > 0 ? visited.size / seconds : visited.size,
      peakRssMB: Math.round(rssMB()),
      bytesPerState: 0,
      ...sometimesSplit(model.properties, reached),
      ...livenessSummary(liveness),
      ...report(variant, liveness, fingerprints, actions, found),
      walks: walk + 1,
      seed,
      ...(options.seedRange === undefined ? {} : { seedRange: options.seedRange, lastSeedDone }),
    };
  };
  let outOfTime = false;
  for (seed = firstSeed; seed <= lastSeed && !outOfTime; seed++) {
    random = new Random(seed);
    for (let walk = 0; walk < walks; walk++) {
      const variant = model.swarm?.(() => random.next()) ?? { model, disabled: [] };
      const initials = variant.model.initialStates();
      let state: S = initials[random.below(initials.length)] as S;
      const path: S[] = [state];
      const actions: number[] = [0];
      for (let d = 0; d < depth; d++) {
        const count = variant.model.actionCount(state);
        if (count === 0) break;
        const action = random.below(count);
        const result = variant.model.step(state, action);
        if (result === null) continue;
        generated++;
        state = result.state;
        path.push(state);
        actions.push(action);
        maxDepth = Math.max(maxDepth, path.length - 1);
        reachedBy(model.properties, reached, result.events, state);
        fingerprintOf(model, state, writer, fp);
        if (visited.find(fp[0]!, fp[1]!) < 0 && visited.size < 1 << 22) visited.add(fp[0]!, fp[1]!, -1, 0);
        const problem = firstViolation(model.properties, state);
        if (problem !== null)
          return violationAt(variant.model, path, actions, { ...problem, state, kind: "safety" }, walk);
      }
      // The walk's faults are over: from where it ended, the fair schedule must reach every goal.
      const canonical = canonicalOf(model, state, writer);
      const stuck = judgeLiveness(liveness, canonical);
      if (stuck !== null) return violationAt(variant.model, path, actions, stuck, walk);
      if (liveness.brokenAhead !== undefined) {
        const found: Found<S> = { name: "", detail: "", state: canonical, kind: "liveness" };
        return violationAt(variant.model, path, actions, found, walk);
      }
      done++;
      const seconds = clock.seconds;
      if (
        options.onProgress !== undefined &&
        seconds - lastProgress >= (options.progressIntervalMs ?? 2000) / 1000
      ) {
        lastProgress = seconds;
        options.onProgress({
          depth: maxDepth,
          generatedStates: generated,
          distinctStates: visited.size,
          queue: walks * (lastSeed - firstSeed + 1) - done,
          distinctPerSecond: visited.size / seconds,
          seconds,
          rssMB: rssMB(),
        });
      }
      if (options.maxSeconds !== undefined && seconds > options.maxSeconds) {
        outOfTime = true;
        break;
      }
    }
    if (!outOfTime) lastSeedDone = seed;
  }
  const seconds = clock.seconds;
  return {
    result: "ok",
    complete: false,
    distinctStates: visited.size,
    generatedStates: generated,
    maxDepth,
    seconds,
    distinctPerSecond: seconds > 0 ? visited.size / seconds : visited.size,
    peakRssMB: Math.round(rssMB()),
    bytesPerState: 0,
    ...sometimesSplit(model.properties, reached),
    ...livenessSummary(liveness),
    walks: done,
    seed: firstSeed,
    ...(options.seedRange === undefined ? {} : { seedRange: options.seedRange, lastSeedDone }),
  };
};

export const search = <S>(model: Model<S>, options: SearchOptions): SearchResult<S> => {
  switch (options.mode) {
    case "bfs":
      return bfs(model, options);
    case "dfs":
      return dfs(model, options);
    case "simulate":
      return simulate(model, options);
  }
};
