// The conformance runner: drives an adapter process through every vector and reports, vector by
// vector and rule by rule, where the implementation departs from the spec. Correlation ids of the
// requests the implementation sends are its own business: the runner maps the spec's ids to the
// implementation's as they appear and translates later answers accordingly.
import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface, type Interface } from "node:readline";
import * as Schema from "effect/Schema";
import type { Mark } from "../spec/marks.ts";
import { isRaftEffect, type NodeEffect } from "../spec/node/node.ts";
import {
  contextForInput,
  nextContext,
  PROJECTION_RULES,
  QUIET_LEADER_HEARSAY,
  STALE_HIGH_WATERMARK_ANSWERED,
  type StepContext,
} from "../spec/raft/allowed.ts";
import type { RaftEffect, RaftInput } from "../spec/raft/io.ts";
import { isRequest } from "../spec/raft/messages.ts";
import type { RaftConfig } from "../spec/raft/state.ts";
import { ChosenIds } from "./chosen-ids.ts";
import { definedRules, OUT_OF_REACH } from "./coverage.ts";
import { judgeRaftStep, otherFetchTarget, stable, type Violation, withStep } from "./judge.ts";
import { rulesOfMarks, stepMarks } from "./marks.ts";
import {
  type AdapterRequest,
  type AnyEffect,
  type AnyInput,
  type AnyProjection,
  type NodeProjection,
  Reply,
  Vector,
} from "./protocol.ts";
import { VECTOR_DIR } from "./vectors.ts";

export interface Difference {
  /** -1: the start; otherwise the index of the step. */
  readonly step: number;
  readonly input: string;
  readonly what: string;
  readonly expected: unknown;
  readonly actual: unknown;
  /** The rules the difference breaks. */
  readonly rules: readonly string[];
  /** The coverage marks of the step where it happened. */
  readonly marks?: readonly Mark[];
}

export interface VectorResult {
  readonly name: string;
  /** The rules the vector exercises: its source's, and those of the coverage marks it takes. */
  readonly rules: readonly string[];
  readonly marks: readonly Mark[];
  readonly passed: boolean;
  /** The first violation. */
  readonly difference: Difference | null;
  /** Every violation: a run goes on after one while the projected states still agree. */
  readonly violations: readonly Difference[];
  /** Why the run stopped before the vector's end (the states diverged, the adapter failed), or null. */
  readonly stopped: string | null;
  /** The feature the implementation said at init it does not implement: the vector was skipped. */
  readonly unsupported?: string;
  /** The adapter exited, hung or answered garbage during the vector (the difference says how). */
  readonly adapterFailed?: true;
}

/** Vectors exercising a rule or a mark, and how many of them broke it. */
export interface Tally {
  readonly vectors: number;
  readonly failed: number;
}

export interface ConformanceReport {
  readonly adapter: string;
  readonly vectors: number;
  readonly passed: number;
  readonly failed: number;
  /** Vectors the implementation declined at init (an "unsupported" reply), by the feature it named. */
  readonly skipped: Readonly<Record<string, number>>;
  /** Passing vectors whose run stopped early: the implementation took a free choice the inputs cannot follow. */
  readonly stoppedEarly: number;
  readonly results: readonly VectorResult[];
  /** Per rule: vectors exercising it, and how many of them broke it. */
  readonly rules: Readonly<Record<string, Tally>>;
  /** Per coverage mark: vectors taking it, and how many of them broke a rule at a step taking it. */
  readonly marks: Readonly<Record<string, Tally>>;
  /** Rules of spec/README.md no vector of this run exercises, each with why (out of the adapter's reach, or filtered out). */
  readonly notReached: Readonly<Record<string, string>>;
}

export const decodeVector = Schema.decodeUnknownSync(Vector);
const decodeReply = Schema.decodeUnknownSync(Reply);

/** Read every vector file (one vector per line) under `dir`. */
export const loadVectors = (dir: string = VECTOR_DIR): Vector[] =>
  readdirSync(dir)
    .filter((f) => f.endsWith(".ndjson"))
    .sort()
    .flatMap((f) =>
      readFileSync(join(dir, f), "utf8")
        .split("\n")
        .filter((l) => l.length > 0)
        .map((l, i) => {
          try {
            return decodeVector(JSON.parse(l));
          } catch (error) {
            throw new Error(`${f} line ${i + 1} is not a vector: ${(error as Error).message.split("\n")[0]}`);
          }
        }),
    );

/** An adapter process answering one request per line. */
export class AdapterProcess {
  private readonly child: ChildProcess;
  private readonly lines: Interface;
  private readonly waiting: ((line: string | null) => void)[] = [];
  private readonly buffered: string[] = [];
  private stderr = "";
  private ended = false;
  /** A request got no reply (the adapter exited, hung or wrote garbage): it must be started anew. */
  failed = false;

  constructor(command: string) {
    // Its own process group, so closing it also stops whatever the shell started.
    this.child = spawn(command, { shell: true, detached: true, stdio: ["pipe", "pipe", "pipe"] });
    this.child.stderr?.on("data", (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString("utf8")).slice(-4000);
    });
    this.lines = createInterface({ input: this.child.stdout! });
    this.lines.on("line", (line) => {
      const waiter = this.waiting.shift();
      if (waiter === undefined) this.buffered.push(line);
      else waiter(line);
    });
    this.lines.on("close", () => {
      this.ended = true;
      for (const w of this.waiting.splice(0)) w(null);
    });
    this.child.stdin?.on("error", () => {});
  }

  async request(request: AdapterRequest, timeoutMs: number): Promise<Reply> {
    this.child.stdin?.write(`${JSON.stringify(request)}\n`);
    const line = await new Promise<string | null>((resolve) => {
      const ready = this.buffered.shift();
      if (ready !== undefined) return resolve(ready);
      if (this.ended) return resolve(null);
      const timer = setTimeout(() => {
        const i = this.waiting.indexOf(done);
        if (i >= 0) this.waiting.splice(i, 1);
        resolve(null);
      }, timeoutMs);
      const done = (l: string | null) => {
        clearTimeout(timer);
        resolve(l);
      };
      this.waiting.push(done);
    });
    if (line === null) {
      this.failed = true;
      throw new Error(
        `the adapter ${this.ended ? "exited" : `did not answer within ${timeoutMs} ms`}${this.stderr.length > 0 ? `; its stderr ends with:\n${this.stderr}` : ""}`,
      );
    }
    try {
      return decodeReply(JSON.parse(line));
    } catch (error) {
      this.failed = true;
      throw new Error(
        `the adapter answered something that is not a reply: ${line.slice(0, 300)} (${(error as Error).message.split("\n")[0]})`,
      );
    }
  }

  close(): void {
    this.child.stdin?.end();
    this.lines.close();
    this.child.stdout?.destroy();
    this.child.stderr?.destroy();
    try {
      if (this.child.pid !== undefined) process.kill(-this.child.pid, "SIGTERM");
    } catch {
      // Already gone.
    }
  }
}

// ---- comparison -------------------------------------------------------------------------------

/** Sends to several peers may leave in any order: sort each run of consecutive sends. */
const normalizeOrder = (effects: readonly AnyEffect[]): AnyEffect[] => {
  const out: AnyEffect[] = [];
  let run: Extract<AnyEffect, { _tag: "Send" }>[] = [];
  const key = (e: Extract<AnyEffect, { _tag: "Send" }>) => `${e.to}|${e.message._tag}|${stable(e.message)}`;
  const flushRun = () => {
    out.push(...run.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0)));
    run = [];
  };
  for (const e of effects) {
    if (e._tag === "Send") run.push(e);
    else {
      flushRun();
      out.push(e);
    }
  }
  flushRun();
  return out;
};

/**
 * The correlation id of a request the node sends under its own numbering — a Raft request, or a
 * broker's request to its controller (R112) — if the effect is one.
 */
const ownRequestId = (e: AnyEffect): number | undefined =>
  e._tag === "SendToController" || e._tag === "SendRequest"
    ? e.correlationId
    : e._tag === "Send" && isRequest(e.message)
      ? e.correlationId
      : undefined;

/**
 * Compare what the spec did with what the implementation did; learns correlation ids of the
 * implementation's requests into `ids` (spec id → implementation id). Null when they agree.
 */
export const compareEffects = (
  expected: readonly AnyEffect[],
  actual: readonly AnyEffect[],
  ids: Map<number, number> | "exact",
): { what: string; expected: unknown; actual: unknown } | null => {
  const e = normalizeOrder(expected);
  const a = normalizeOrder(actual);
  for (let i = 0; i < Math.max(e.length, a.length); i++) {
    const x = e[i];
    const y = a[i];
    if (x === undefined || y === undefined) {
      return {
        what: `effect ${i} is ${x === undefined ? "extra" : "missing"}`,
        expected: x ?? null,
        actual: y ?? null,
      };
    }
    const expectedId = ids === "exact" ? undefined : ownRequestId(x);
    if (ids !== "exact" && expectedId !== undefined && y._tag === x._tag) {
      const actualId =
        y._tag === "Send" || y._tag === "SendToController" || y._tag === "SendRequest"
          ? y.correlationId
          : undefined;
      const known = ids.get(expectedId);
      if (actualId === undefined || (known !== undefined && known !== actualId))
        return { what: `effect ${i} reuses another request's correlation id`, expected: x, actual: y };
      ids.set(expectedId, actualId);
      if (stable({ ...x, correlationId: 0 }) !== stable({ ...y, correlationId: 0 }))
        return { what: `effect ${i} differs`, expected: x, actual: y };
      continue;
    }
    if (stable(x) !== stable(y)) return { what: `effect ${i} differs`, expected: x, actual: y };
  }
  return null;
};

export const compareState = (
  expected: AnyProjection,
  actual: AnyProjection,
): { field: string; what: string; expected: unknown; actual: unknown } | null => {
  for (const field of Object.keys(expected) as (keyof AnyProjection)[]) {
    if (stable(expected[field]) !== stable(actual[field]))
      return { field, what: `state.${field} differs`, expected: expected[field], actual: actual[field] };
  }
  return null;
};

/**
 * The input as the implementation must see it: answers to its own requests carry its own ids. A whole
 * node numbers its Raft requests and its requests to other nodes apart (`nodeIds` for the latter).
 */
export const translate = (
  layer: Vector["layer"],
  input: AnyInput,
  ids: ReadonlyMap<number, number>,
  nodeIds: ReadonlyMap<number, number> = ids,
): AnyInput => {
  const mapped = (id: number | undefined) => (id === undefined ? undefined : ids.get(id));
  if (layer === "node") {
    if (input._tag === "Raft") {
      const inner = translate("raft", input.input, ids);
      return inner === input.input ? input : { ...input, input: inner as RaftInput };
    }
    if (input._tag === "Response" || input._tag === "RequestFailed") {
      const id = nodeIds.get(input.correlationId);
      return id === undefined ? input : { ...input, correlationId: id };
    }
    return input;
  }
  if (layer === "raft" && input._tag === "Received" && !isRequest(input.message)) {
    const id = mapped(input.correlationId);
    return id === undefined ? input : { ...input, correlationId: id };
  }
  if (input._tag === "RequestFailed" || (layer === "broker" && input._tag === "Response")) {
    const id = mapped(input.correlationId);
    return id === undefined ? input : { ...input, correlationId: id };
  }
  return input;
};

/** An input in a few words, for reports. */
export const describeInput = (input: AnyInput): string =>
  input._tag === "Raft"
    ? describeInput(input.input)
    : input._tag === "Received"
      ? `Received ${input.message._tag} from ${input.from}`
      : input._tag === "TimerExpired"
        ? `TimerExpired ${input.timer}`
        : input._tag === "Request"
          ? `Request ${input.request._tag} from ${input.from}`
          : input._tag === "Response"
            ? `Response ${input.response._tag}`
            : input._tag;

// ---- running ----------------------------------------------------------------------------------

export interface RunOptions {
  readonly timeoutMs?: number;
  readonly onProgress?: (done: number, total: number) => void;
  /** Stop at the first failing vector (the mutation run only needs to know one fails). */
  readonly stopAtFirstFailure?: boolean;
}

/** Vectors the adapter may fail (exit, hang) before it has passed one, before the run gives up on it. */
const MAX_FAILED_STARTS = 3;

/** Run every vector against the adapter; a vector stops at its first difference. */
export const runConformance = async (
  adapter: string,
  vectors: readonly Vector[],
  options: RunOptions = {},
): Promise<ConformanceReport> => {
  const timeoutMs = options.timeoutMs ?? 10_000;
  let adapterProcess = new AdapterProcess(adapter);
  const results: VectorResult[] = [];
  try {
    for (const vector of vectors) {
      const result = await runVector(adapterProcess, vector, timeoutMs);
      if (adapterProcess.failed) {
        // A crash or a hang fails its vector, not the run: the next vector gets a fresh adapter.
        // An adapter that never got through a vector is a broken command, not a finding.
        const tried = results.length + 1;
        if (
          results.every((r) => r.adapterFailed === true) &&
          (tried >= MAX_FAILED_STARTS || tried === vectors.length)
        )
          throw new Error(
            `${String(result.difference?.actual)}${tried > 1 ? ` (on each of the first ${tried} vectors, so the run stops: check the adapter command)` : ""}`,
          );
        adapterProcess.close();
        adapterProcess = new AdapterProcess(adapter);
      }
      results.push(result);
      options.onProgress?.(results.length, vectors.length);
      if (options.stopAtFirstFailure === true && !result.passed) break;
    }
  } finally {
    adapterProcess.close();
  }
  const rules: Record<string, { vectors: number; failed: number }> = {};
  const marks: Record<string, { vectors: number; failed: number }> = {};
  const skipped: Record<string, number> = {};
  for (const r of results) {
    if (r.unsupported !== undefined) {
      skipped[r.unsupported] = (skipped[r.unsupported] ?? 0) + 1;
      continue;
    }
    const broken = new Set(r.violations.flatMap((v) => v.rules));
    for (const rule of new Set([...r.rules, ...broken])) {
      const entry = rules[rule] ?? { vectors: 0, failed: 0 };
      rules[rule] = entry;
      entry.vectors++;
      if (broken.has(rule)) entry.failed++;
    }
    const brokenMarks = new Set(r.violations.flatMap((v) => v.marks ?? []));
    for (const mark of r.marks) {
      const entry = marks[mark] ?? { vectors: 0, failed: 0 };
      marks[mark] = entry;
      entry.vectors++;
      if (brokenMarks.has(mark)) entry.failed++;
    }
  }
  const passed = results.filter((r) => r.passed && r.unsupported === undefined).length;
  const declined = results.filter((r) => r.unsupported !== undefined).length;
  return {
    adapter,
    vectors: results.length,
    passed,
    failed: results.length - passed - declined,
    skipped,
    stoppedEarly: results.filter((r) => r.passed && r.stopped !== null && r.unsupported === undefined).length,
    results,
    rules,
    marks,
    notReached: Object.fromEntries(
      definedRules()
        .filter((r) => rules[r] === undefined)
        .map((r) => [
          r,
          OUT_OF_REACH[r] ?? "no vector of this run exercises it (--filter or --layer left them out)",
        ]),
    ),
  };
};

/** Each vector's step marks, computed once however many runs judge it (the mutation run: 48). */
const stepMarksCache = new WeakMap<Vector, (readonly Mark[])[]>();
const marksOf = (vector: Vector): (readonly Mark[])[] => {
  let marks = stepMarksCache.get(vector);
  if (marks === undefined) {
    marks = stepMarks(vector);
    stepMarksCache.set(vector, marks);
  }
  return marks;
};

/** A step's effects without its Fetch answers and fetch-wait timer (R63's free choice to park). */
const withoutFetchAnswers = (effects: readonly RaftEffect[]): RaftEffect[] =>
  effects.filter(
    (e) =>
      !(e._tag === "Send" && e.message._tag === "FetchResponse") &&
      !((e._tag === "SetTimer" || e._tag === "CancelTimer") && e.timer === "fetchWait"),
  );

const runVector = async (
  adapter: AdapterProcess,
  vector: Vector,
  timeoutMs: number,
): Promise<VectorResult> => {
  const ids = new Map<number, number>();
  const chosen = new ChosenIds();
  const marks = marksOf(vector);
  const allMarks = [...new Set(marks.flat())].sort();
  const rules = [...new Set([...vector.rules, ...rulesOfMarks(allMarks)])].sort(
    (a, b) => Number(a.slice(1)) - Number(b.slice(1)),
  );
  const violations: Difference[] = [];
  const result = (stopped: string | null): VectorResult => ({
    name: vector.name,
    rules,
    marks: allMarks,
    passed: violations.length === 0,
    difference: violations[0] ?? null,
    violations,
    stopped,
  });
  const nodeIds = new Map<number, number>();
  let context: StepContext = {
    armed: new Set(),
    persisted:
      vector.layer === "raft"
        ? vector.init.quorumState
        : vector.layer === "node"
          ? vector.init.storage.quorumState
          : null,
  };
  const diverged = (step: number) =>
    `the projected states differ after ${step < 0 ? "the start" : `step ${step}`}: the runs can no longer be compared`;
  const quietLeaderFollowed = (step: number) =>
    `the node followed a leader that went quiet on it on another node's word at step ${step}, where the spec waits for the leader's own answer: a free choice (R74), but the runs can no longer be compared`;
  const staleHighWatermarkParked = (step: number) =>
    `the node parked a fetch whose high watermark was behind at step ${step}, where the spec answers it at once (KIP-1166): a free choice (R63), but the runs can no longer be compared`;
  /** Judge one reply; why the runs can no longer be compared, or null to go on. */
  const judge = (
    step: number,
    input: string,
    answer: Reply,
    expected: { readonly effects: readonly AnyEffect[]; readonly state: AnyProjection },
  ): string | null => {
    const stepMarksHere = marks[step + 1] ?? [];
    const stepRules = rulesOfMarks(stepMarksHere);
    // Topic ids the implementation chose are read back as the spec's (chosen-ids.ts).
    if (answer._tag === "ok" && vector.layer !== "raft") chosen.learn(expected.effects, answer.effects);
    const reply = vector.layer === "raft" ? answer : chosen.fromImplementation(answer);
    if (reply._tag === "error" || reply._tag === "unsupported") {
      violations.push({
        step,
        input,
        what:
          reply._tag === "error"
            ? "the adapter reported an error"
            : "the adapter declined a step (unsupported is an answer to init only)",
        expected: null,
        actual: reply._tag === "error" ? reply.message : reply.feature,
        rules: stepRules,
        marks: stepMarksHere,
      });
      return diverged(step);
    }
    const effects =
      vector.layer === "raft"
        ? judgeRaftStep(
            expected.effects as readonly RaftEffect[],
            reply.effects as readonly RaftEffect[],
            context,
            stepMarksHere,
            vector.init.config,
            ids,
          )
        : vector.layer === "node"
          ? judgeNodeStep(
              expected.effects as readonly NodeEffect[],
              reply.effects as readonly NodeEffect[],
              context,
              stepMarksHere,
              vector.init.config.raft,
              ids,
              nodeIds,
            )
          : withRules(compareEffects(expected.effects, reply.effects, ids), stepRules);
    // R74: the node followed, on another's word, a leader that went quiet on it, where the spec
    // waits for the leader's own; both are allowed, and the runs part here.
    const hearsay = stepMarksHere.includes(QUIET_LEADER_HEARSAY);
    if (effects !== null && hearsay) return quietLeaderFollowed(step);
    // R63 (KIP-1166): the spec answers at once a fetch whose high watermark is behind; a node
    // without KIP-1166 parks it. Both are allowed, and the runs part here.
    // Only the fetch answer (and the wait timer) may differ: anything else is still judged. Worked
    // out only for a step that differs.
    const early = (): boolean =>
      stepMarksHere.includes(STALE_HIGH_WATERMARK_ANSWERED) &&
      vector.layer === "raft" &&
      judgeRaftStep(
        withoutFetchAnswers(expected.effects as readonly RaftEffect[]),
        withoutFetchAnswers(reply.effects as readonly RaftEffect[]),
        context,
        stepMarksHere,
        vector.init.config,
        new Map(ids),
      ) === null;
    if (effects !== null && early()) return staleHighWatermarkParked(step);
    if (effects !== null) violations.push({ step, input, ...effects, marks: stepMarksHere });
    if (vector.layer === "raft") context = nextContext(context, expected.effects as readonly RaftEffect[]);
    if (vector.layer === "node")
      context = nextContext(context, (expected.effects as readonly NodeEffect[]).filter(isRaftEffect));
    const state =
      vector.layer === "node"
        ? compareNodeState(expected.state as NodeProjection, reply.state as NodeProjection)
        : compareState(expected.state, reply.state);
    if (state !== null && hearsay) return quietLeaderFollowed(step);
    if (state !== null && early()) return staleHighWatermarkParked(step);
    if (state !== null) {
      const { field, ...difference } = state;
      const own =
        vector.layer === "raft"
          ? (PROJECTION_RULES[field] ?? [])
          : vector.layer === "node" && field.startsWith("raft.")
            ? (PROJECTION_RULES[field.slice("raft.".length)] ?? [])
            : [];
      violations.push({ step, input, ...difference, rules: withStep(own, stepRules), marks: stepMarksHere });
      return diverged(step);
    }
    if (vector.layer === "raft" || vector.layer === "node") {
      const raftOf = (list: readonly AnyEffect[]) =>
        vector.layer === "node"
          ? (list as readonly NodeEffect[]).filter(isRaftEffect)
          : (list as RaftEffect[]);
      const other = otherFetchTarget(raftOf(expected.effects), raftOf(reply.effects), stepMarksHere);
      if (other !== null)
        return `the node asked voter ${other.implementation} for the leader where the spec asked ${other.spec} after ${step < 0 ? "the start" : `step ${step}`}: a free choice (R74), but the inputs that follow answer the spec's request, so the runs can no longer be compared (kraft conformance explore follows such choices)`;
    }
    return null;
  };
  /** The adapter's reply, or null when it failed (exited, hung, answered garbage): a difference then. */
  const ask = async (step: number, input: string, request: AdapterRequest): Promise<Reply | null> => {
    try {
      return await adapter.request(request, timeoutMs);
    } catch (error) {
      const stepMarksHere = marks[step + 1] ?? [];
      violations.push({
        step,
        input,
        what: "the adapter failed",
        expected: null,
        actual: (error as Error).message,
        rules: rulesOfMarks(stepMarksHere),
        marks: stepMarksHere,
      });
      return null;
    }
  };
  const adapterFailed = (): VectorResult => ({ ...result("the adapter failed"), adapterFailed: true });
  const initReply = await ask(-1, "init", vector.init);
  if (initReply === null) return adapterFailed();
  if (initReply._tag === "unsupported") {
    return {
      ...result(`the implementation does not implement ${initReply.feature}`),
      unsupported: initReply.feature,
    };
  }
  const startStop = judge(-1, "init", initReply, vector.start);
  if (startStop !== null) return result(startStop);
  for (const [i, s] of vector.steps.entries()) {
    const raftInput = vector.layer === "node" ? (s.input._tag === "Raft" ? s.input.input : null) : s.input;
    if (raftInput !== null) context = contextForInput(context, raftInput as RaftInput);
    const sent = translate(vector.layer, s.input, ids, nodeIds);
    const reply = await ask(i, describeInput(s.input), {
      _tag: "input",
      input: vector.layer === "raft" ? sent : chosen.forImplementation(sent),
    });
    if (reply === null) return adapterFailed();
    const stop = judge(i, describeInput(s.input), reply, s);
    if (stop !== null) return result(stop);
  }
  return result(null);
};

/** A node's report to its operator is judged by its level; its words are the implementation's own. */
const forComparison = (e: NodeEffect): NodeEffect =>
  e._tag === "Alert" ? { _tag: "Alert", level: e.level, text: "" } : e;

/**
 * Judge a whole node's step: its Raft effects as the Raft layer's are judged (free choices allowed,
 * its Raft requests' ids learnt into `ids`), the rest — answers, requests to other nodes, application
 * timers, reports — in order, with its requests to other nodes' ids learnt into `nodeIds` (R147–R149).
 */
export const judgeNodeStep = (
  expected: readonly NodeEffect[],
  actual: readonly NodeEffect[],
  context: StepContext,
  marks: readonly Mark[],
  config: RaftConfig,
  ids: Map<number, number>,
  nodeIds: Map<number, number>,
): Violation | null => {
  const raft = judgeRaftStep(
    expected.filter(isRaftEffect),
    actual.filter(isRaftEffect),
    context,
    marks,
    config,
    ids,
  );
  if (raft !== null) return raft;
  const rest = (effects: readonly NodeEffect[]) => effects.filter((e) => !isRaftEffect(e)).map(forComparison);
  return withRules(compareEffects(rest(expected), rest(actual), nodeIds), rulesOfMarks(marks));
};

/** A node's projection, field by field (`raft.role`, `controller.active`, ...). */
const compareNodeState = (
  expected: NodeProjection,
  actual: NodeProjection,
): { field: string; what: string; expected: unknown; actual: unknown } | null => {
  for (const layer of ["raft", "controller", "broker"] as const) {
    const e = expected[layer] as Readonly<Record<string, unknown>> | null;
    const a = actual[layer] as Readonly<Record<string, unknown>> | null | undefined;
    if (e === null || a === null || a === undefined) {
      if (stable(e) !== stable(a ?? null))
        return { field: layer, what: `state.${layer} differs`, expected: e, actual: a ?? null };
      continue;
    }
    for (const field of Object.keys(e))
      if (stable(e[field]) !== stable(a[field]))
        return {
          field: `${layer}.${field}`,
          what: `state.${layer}.${field} differs`,
          expected: e[field],
          actual: a[field],
        };
  }
  if (expected.forwarding !== actual.forwarding)
    return {
      field: "forwarding",
      what: "state.forwarding differs",
      expected: expected.forwarding,
      actual: actual.forwarding,
    };
  return null;
};

const withRules = (
  difference: { what: string; expected: unknown; actual: unknown } | null,
  rules: readonly string[],
): { what: string; expected: unknown; actual: unknown; rules: readonly string[] } | null =>
  difference === null ? null : { ...difference, rules };

/** A readable account of a report: a summary, each failing vector's violations, the rules broken. */
export const renderReport = (report: ConformanceReport, showPassing = false): string[] => {
  const lines = [
    `kraft conformance: ${report.vectors} vector${report.vectors === 1 ? "" : "s"} against ${JSON.stringify(report.adapter)}: ${report.passed} passed, ${report.failed} failed`,
  ];
  for (const [feature, count] of Object.entries(report.skipped))
    lines.push(
      `${count} vector${count === 1 ? "" : "s"} skipped: the implementation does not implement ${feature} (it answered "unsupported" at init)`,
    );
  if (report.stoppedEarly > 0)
    lines.push(
      `${report.stoppedEarly} passing vector${report.stoppedEarly === 1 ? "" : "s"} stopped early where the node took a free choice the vector's inputs cannot follow (listed with --verbose); kraft conformance explore follows them`,
    );
  for (const r of report.results) {
    if (r.unsupported !== undefined) {
      if (showPassing) lines.push(`SKIP ${r.name} (${r.stopped})`);
      continue;
    }
    if (r.passed) {
      if (showPassing)
        lines.push(`PASS ${r.name}${r.stopped === null ? "" : ` (stopped early: ${r.stopped})`}`);
      continue;
    }
    lines.push(`FAIL ${r.name}${r.stopped === null ? "" : ` (${r.stopped})`}`);
    for (const d of r.violations) {
      lines.push(
        `  at ${d.step < 0 ? "the start" : `step ${d.step} (${d.input})`}: ${d.what} [${d.rules.join(" ")}]`,
        `    expected: ${JSON.stringify(d.expected)}`,
        `    actual:   ${JSON.stringify(d.actual)}`,
      );
    }
  }
  const failing = Object.entries(report.rules)
    .filter(([, v]) => v.failed > 0)
    .map(([rule, v]) => `${rule} (${v.failed}/${v.vectors})`);
  lines.push(
    `rules exercised: ${Object.keys(report.rules).length}, not reached: ${Object.keys(report.notReached).length === 0 ? "none" : Object.keys(report.notReached).join(" ")}; ${failing.length === 0 ? "every one passes" : `broken: ${failing.join(", ")}`}`,
    `coverage marks taken: ${Object.keys(report.marks).length}; ${Object.values(report.marks).filter((m) => m.failed > 0).length} at a violation`,
  );
  // Why a rule no vector could reach is left to other checks (the filtered-out ones need no list).
  for (const [rule, why] of Object.entries(report.notReached))
    if (OUT_OF_REACH[rule] !== undefined) lines.push(`  ${rule} not reached: ${why}`);
  return lines;
};
