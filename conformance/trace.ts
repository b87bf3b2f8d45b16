// Trace validation: decide whether a trace recorded from a real run is a behaviour the spec allows.
// A trace is NDJSON, one line per Raft step of one node: `{node, layer: "raft", input, effects}`,
// where a process start is `{input: {_tag: "Start"}, config, storage, effects}` (the format
// `openkraft.trace.file` writes; lines of other layers are skipped). Each node's lifetimes are
// replayed through the spec from what its storage held, and every recorded effect must be exactly
// what the spec does with that input; across nodes, every message a node received from another
// traced node must have been sent by it. The first event the spec cannot explain is reported with
// the state the spec had reached.
import { readFileSync } from "node:fs";
import * as Schema from "effect/Schema";
import { RaftEffect, RaftInput } from "../spec/raft/io.ts";
import { ElectionState, LogState, type NodeState, RaftConfig } from "../spec/raft/state.ts";
import type { Reducers } from "./adapter.ts";
import { stable } from "./judge.ts";
import { type Projection, project } from "./protocol.ts";
import { compareEffects, describeInput } from "./runner.ts";

const StartLine = Schema.Struct({
  node: Schema.Int,
  layer: Schema.Literal("raft"),
  input: Schema.TaggedStruct("Start", {}),
  config: RaftConfig,
  storage: Schema.Struct({
    quorumState: Schema.NullOr(ElectionState),
    log: LogState,
    recovering: Schema.optionalKey(Schema.Boolean),
  }),
  effects: Schema.Array(RaftEffect),
});
const StepLine = Schema.Struct({
  node: Schema.Int,
  layer: Schema.Literal("raft"),
  input: RaftInput,
  effects: Schema.Array(RaftEffect),
});
const decodeStart = Schema.decodeUnknownSync(StartLine);
const decodeStep = Schema.decodeUnknownSync(StepLine);

export type TraceVerdict =
  | { readonly ok: true; readonly nodes: number; readonly steps: number; readonly lifetimes: number }
  | {
      readonly ok: false;
      /** file:line of the event. */
      readonly where: string;
      readonly node: number;
      readonly event: string;
      readonly problem: string;
      readonly expected: unknown;
      readonly recorded: unknown;
      /** The spec's state of that node just before the event (null before its first start). */
      readonly state: Projection | null;
    };

/** A line of a trace and where it came from ("file:line"). */
export interface TraceLine {
  readonly text: string;
  readonly where: string;
}

/** Read trace files into lines, in order. */
export const readTrace = (files: readonly string[]): TraceLine[] =>
  files.flatMap((f) =>
    readFileSync(f, "utf8")
      .split("\n")
      .map((text, i) => ({ text, where: `${f}:${i + 1}` }))
      .filter((l) => l.text.trim().length > 0),
  );

export const checkTrace = (lines: readonly TraceLine[], reducers: Reducers): TraceVerdict => {
  interface Running {
    state: NodeState;
    config: RaftConfig;
  }
  const nodes = new Map<number, Running | null>();
  const traced = new Set<number>();
  // Messages sent, by "from>to" key, each consumed by at most one receipt.
  const sent = new Map<string, string[]>();
  const received: { where: string; node: number; key: string; wire: string; event: string }[] = [];
  let steps = 0;
  let lifetimes = 0;
  const parsed = lines.map(({ text, where }) => {
    let json: { node?: unknown; layer?: unknown; input?: { _tag?: unknown } };
    try {
      json = JSON.parse(text) as typeof json;
    } catch {
      throw new Error(`${where} is not JSON`);
    }
    return json;
  });
  for (const json of parsed)
    if (json.layer === "raft" && typeof json.node === "number") traced.add(json.node);

  for (const [index, json] of parsed.entries()) {
    const line = lines[index]!.where;
    if (json.layer !== "raft") continue;
    const wrong = (
      node: number,
      event: string,
      problem: string,
      expected: unknown,
      recorded: unknown,
    ): TraceVerdict => {
      const running = nodes.get(node);
      return {
        ok: false,
        where: line,
        node,
        event,
        problem,
        expected,
        recorded,
        state: running ? project(running.state) : null,
      };
    };
    if (json.input?._tag === "Start") {
      let start: typeof StartLine.Type;
      try {
        start = decodeStart(json);
      } catch (error) {
        throw new Error(`${line} is not a start record: ${(error as Error).message.split("\n")[0]}`);
      }
      const result = reducers.initialize(
        start.storage.quorumState ?? undefined,
        start.storage.log,
        start.config,
        start.storage.recovering ?? false,
      );
      nodes.set(start.node, null);
      const difference = compareEffects(result.effects, start.effects, "exact");
      if (difference !== null)
        return wrong(
          start.node,
          "Start",
          `the start's ${difference.what}`,
          difference.expected,
          difference.actual,
        );
      nodes.set(start.node, { state: result.state, config: start.config });
      lifetimes++;
      for (const e of start.effects) if (e._tag === "Send") record(sent, start.node, e);
      continue;
    }
    let stepLine: typeof StepLine.Type;
    try {
      stepLine = decodeStep(json);
    } catch (error) {
      throw new Error(`${line} is not a Raft step: ${(error as Error).message.split("\n")[0]}`);
    }
    const running = nodes.get(stepLine.node);
    const event = describeInput(stepLine.input);
    if (running === undefined || running === null)
      return wrong(stepLine.node, event, "a step of a node that has not started", null, stepLine.input);
    const result = reducers.step(running.state, stepLine.input, running.config);
    // The recorded correlation ids are the node's own, and the spec's replay must pick the same.
    const difference = compareEffects(result.effects, stepLine.effects, "exact");
    if (difference !== null)
      return wrong(stepLine.node, event, difference.what, difference.expected, difference.actual);
    running.state = result.state;
    steps++;
    for (const e of stepLine.effects) if (e._tag === "Send") record(sent, stepLine.node, e);
    const input = stepLine.input;
    if (input._tag === "Received" && input.from >= 0 && traced.has(input.from)) {
      received.push({
        where: line,
        node: stepLine.node,
        key: `${input.from}>${stepLine.node}`,
        wire: wireOf(input.message, input.correlationId),
        event,
      });
    }
  }
  // Every receipt from a traced node matches a send of that node.
  for (const r of received) {
    const pending = sent.get(r.key) ?? [];
    const at = pending.indexOf(r.wire);
    if (at < 0) {
      return {
        ok: false,
        where: r.where,
        node: r.node,
        event: r.event,
        problem: `node ${r.key.split(">")[0]} never sent this message`,
        expected: "a message the sender's trace shows it sent",
        recorded: JSON.parse(r.wire),
        state: null,
      };
    }
    pending.splice(at, 1);
  }
  return { ok: true, nodes: traced.size, steps, lifetimes };
};

const wireOf = (message: unknown, correlationId: number | undefined): string =>
  stable({ message, correlationId: correlationId ?? null });

const record = (
  sent: Map<string, string[]>,
  from: number,
  e: Extract<RaftEffect, { _tag: "Send" }>,
): void => {
  const key = `${from}>${e.to}`;
  const list = sent.get(key) ?? [];
  list.push(wireOf(e.message, e.correlationId));
  sent.set(key, list);
};

/** A readable verdict. */
export const renderVerdict = (verdict: TraceVerdict): string[] =>
  verdict.ok
    ? [
        `OK: the spec explains the whole trace: ${verdict.steps} steps of ${verdict.nodes} nodes over ${verdict.lifetimes} process starts`,
      ]
    : [
        `NOT EXPLAINED: ${verdict.where}, node ${verdict.node}, ${verdict.event}: ${verdict.problem}`,
        `  the spec:  ${JSON.stringify(verdict.expected)}`,
        `  recorded:  ${JSON.stringify(verdict.recorded)}`,
        ...(verdict.state === null
          ? []
          : [`  node ${verdict.node}'s state before it: ${JSON.stringify(verdict.state)}`]),
      ];
