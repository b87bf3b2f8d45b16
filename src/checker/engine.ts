// The search engine: breadth-first search over fingerprints (shortest counterexamples), depth-first
// search with a depth bound, and seeded random simulation with swarm testing. Plain TypeScript over
// typed arrays: no Effect data structures in the hot loop.
import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Model, Property } from "./model.ts";
import { Random } from "./random.ts";
import { VisitedSet } from "./visited.ts";
import { fingerprint, WordWriter } from "./words.ts";

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
  readonly walks?: number;
  /** Called every progressIntervalMs with the running statistics. */
  readonly onProgress?: (progress: Progress) => void;
  readonly progressIntervalMs?: number;
  /** Stop at the first violation (default) or keep counting states. */
  readonly now?: () => number;
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

export interface TraceStep {
  /** 0 for the initial state. */
  readonly step: number;
  readonly action: string;
  readonly nodes: readonly string[];
  /** What the action did, as the model explains it (reducer inputs, effects and states). */
  readonly details?: readonly unknown[];
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
  readonly trace?: readonly TraceStep[];
  /** The violating state, for callers that want more than the trace shows. */
  readonly violatingState?: S | undefined;
  readonly walks?: number;
  readonly seed?: number;
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
    this.ensure(5 * (length + 2));
    this.putVarint(index);
    this.putVarint(length);
    for (let i = 0; i < length; i++) this.putVarint(words[i]!);
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
    this.refill();
    const index = this.getVarint();
    const length = this.getVarint();
    into.reset();
    for (let i = 0; i < length; i++) into.push(this.getVarint());
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

const firstViolation = <S>(
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

/** Sometimes-properties reached by a transition's events or by its target state. */
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
): TraceStep[] =>
  replayFrom(model, fingerprints, hints, false) ?? replayFrom(model, fingerprints, hints, true)!;

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
): TraceStep[] | undefined => {
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
        trace.push({
          step: i,
          action: model.describeAction(state, action),
          nodes: model.describeState(next.state),
          ...(details === undefined ? {} : { details }),
        });
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
  return trace;
};

// ---- breadth-first search ------------------------------------------------------------------------

const bfs = <S>(model: Model<S>, options: SearchOptions): SearchResult<S> => {
  const clock = new Clock(options.now ?? (() => performance.now()));
  const visited = new VisitedSet(1 << 16);
  const writer = new WordWriter();
  const reader = new WordWriter();
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
  let violation: { name: string; detail: string; index: number; state: S } | undefined;
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
    const problem = firstViolation(model.properties, initial);
    if (problem !== null) {
      violation = { ...problem, index, state: initial };
      break;
    }
    current.push(index, writer.words, writer.length);
  }

  current.startReading();
  try {
    while (violation === undefined && stop === undefined && current.count > 0) {
      while (current.count > 0 && violation === undefined && stop === undefined) {
        const parent = current.shift(reader);
        const state = model.decode(reader.words, 0, reader.length);
        const actions = model.actionCount(state);
        for (let action = 0; action < actions; action++) {
          const result = model.step(state, action);
          if (result === null) continue;
          generated++;
          fingerprintOf(model, result.state, writer, fp);
          reachedBy(model.properties, reached, result.events, result.state);
          if (visited.find(fp[0]!, fp[1]!) >= 0) continue;
          if (++memoryTick >= 4096) {
            memoryTick = 0;
            const rss = rssMB();
            peakRss = Math.max(peakRss, rss);
            if (rss + visited.nextGrowthBytes / 1048576 > budgetMB) {
              stop = "max-memory";
              break;
            }
          }
          const index = visited.add(fp[0]!, fp[1]!, parent, action);
          const problem = firstViolation(model.properties, result.state);
          if (problem !== null) {
            violation = { ...problem, index, state: result.state };
            break;
          }
          if (bound !== undefined && depth + 1 >= bound) cut = true;
          else next.push(index, writer.words, writer.length);
          if (options.maxStates !== undefined && visited.size >= options.maxStates) {
            stop = "max-states";
            break;
          }
        }
        peakSearchBytes = Math.max(peakSearchBytes, visited.bytes + current.bytesHeld + next.bytesHeld);
        peakDiskBytes = Math.max(peakDiskBytes, current.bytesOnDisk + next.bytesOnDisk);
        if ((generated & 1023) === 0 || current.count === 0) {
          const seconds = clock.seconds;
          if (options.maxSeconds !== undefined && seconds > options.maxSeconds) stop ??= "max-seconds";
          if (seconds - lastProgress >= interval / 1000) {
            lastProgress = seconds;
            progress();
          }
        }
      }
      if (violation === undefined && stop === undefined && next.count > 0) depth++;
      current.dispose();
      current = next;
      current.startReading();
      next = new Frontier(directory);
    }
  } finally {
    current.dispose();
    next.dispose();
    if (spillDir !== undefined) rmSync(spillDir, { recursive: true, force: true });
  }

  peakRss = Math.max(peakRss, rssMB());
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
  };
  if (violation !== undefined) {
    const path = visited.pathTo(violation.index);
    const fingerprints = path.map((i) => [visited.fingerprintHigh[i]!, visited.fingerprintLow[i]!] as const);
    const hints = path.map((i) => visited.actions[i]!);
    return {
      ...common,
      result: "violation",
      complete: false,
      property: violation.name,
      violation: violation.detail,
      trace: replayPath(model, fingerprints, hints),
      violatingState: violation.state,
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
  let violation: { name: string; detail: string; path: S[]; actions: number[] } | undefined;
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
    const problem = firstViolation(model.properties, initial);
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
      const problem = firstViolation(model.properties, result.state);
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
      property: violation.name,
      violation: violation.detail,
      trace: replayPath(model, fingerprints, violation.actions),
      violatingState: violation.path[violation.path.length - 1]!,
    };
  }
  if (stop !== undefined) return { ...common, result: "incomplete", complete: false, stopReason: stop };
  if (cut) return { ...common, result: "incomplete", complete: false, stopReason: "depth-bound" };
  return { ...common, result: "ok", complete: true };
};

// ---- random simulation ---------------------------------------------------------------------------

const simulate = <S>(model: Model<S>, options: SearchOptions): SearchResult<S> => {
  const clock = new Clock(options.now ?? (() => performance.now()));
  const seed = options.seed ?? 1;
  const walks = options.walks ?? 1000;
  const depth = options.depth ?? 100;
  const random = new Random(seed);
  const writer = new WordWriter();
  const fp = new Int32Array(2);
  const visited = new VisitedSet(1 << 12);
  const reached = new Set<string>();
  let generated = 0;
  let maxDepth = 0;
  let done = 0;
  let lastProgress = 0;
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
      if (problem !== null) {
        const fingerprints = path.map((s) => {
          fingerprintOf(variant.model, s, writer, fp);
          return [fp[0]!, fp[1]!] as const;
        });
        const seconds = clock.seconds;
        return {
          result: "violation",
          complete: false,
          property: problem.name,
          violation: problem.detail,
          distinctStates: visited.size,
          generatedStates: generated,
          maxDepth,
          seconds,
          distinctPerSecond: seconds > 0 ? visited.size / seconds : visited.size,
          peakRssMB: Math.round(rssMB()),
          bytesPerState: 0,
          ...sometimesSplit(model.properties, reached),
          trace: replayPath(variant.model, fingerprints, actions),
          violatingState: state,
          walks: walk + 1,
          seed,
        };
      }
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
        queue: walks - done,
        distinctPerSecond: visited.size / seconds,
        seconds,
        rssMB: rssMB(),
      });
    }
    if (options.maxSeconds !== undefined && seconds > options.maxSeconds) break;
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
    walks: done,
    seed,
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
