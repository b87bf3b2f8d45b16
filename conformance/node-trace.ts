// Node trace replay: decide whether a trace of whole-node steps, as the runtime records them
// (`openkraft.trace.file`, lines with `layer: "node"`), is what spec/node does. Each process start
// is replayed from the storage it read (`initializeNode`), then every input the node took
// (`nodeStep`), with a log kept the way the shell keeps it — appended and truncated by the node's own
// effects, a follower's records taken from the Fetch answer they came in — so every effect the
// runtime carried out must be exactly an effect spec/node asked for, in order. The runtime makes no
// protocol decision of its own; this is where that is checked.
import * as Schema from "effect/Schema";
import {
  initializeNode,
  type KraftNode,
  type KraftNodeConfig,
  NodeInput,
  nodeStep,
} from "../spec/node/node.ts";
import { stable } from "./judge.ts";
import { NodeConfig, NodeStorage, StoredRecord } from "./protocol.ts";
import { ShellLog } from "./shell-log.ts";
import type { TraceLine, TraceVerdict } from "./trace.ts";

const NodeStartLine = Schema.Struct({
  node: Schema.Int,
  layer: Schema.Literal("node"),
  input: Schema.TaggedStruct("Start", {}),
  config: NodeConfig,
  storage: NodeStorage,
  /** The metadata records the stored log held, when the trace has no earlier start of this node. */
  records: Schema.optionalKey(Schema.Array(StoredRecord)),
  effects: Schema.Array(Schema.Unknown),
});
const NodeStepLine = Schema.Struct({
  node: Schema.Int,
  layer: Schema.Literal("node"),
  input: NodeInput,
  effects: Schema.Array(Schema.Unknown),
});
const decodeStart = Schema.decodeUnknownSync(NodeStartLine);
const decodeStep = Schema.decodeUnknownSync(NodeStepLine);

/** As the Raft trace check's verdict (trace.ts), without a Raft state projection. */
export type NodeTraceVerdict =
  | Extract<TraceVerdict, { readonly ok: true }>
  | Omit<Extract<TraceVerdict, { readonly ok: false }>, "state">;

const asJson = (value: unknown): unknown => JSON.parse(JSON.stringify(value));

/** The first effect where two lists differ, or -1. */
const firstDifference = (expected: readonly unknown[], recorded: readonly unknown[]): number => {
  for (let i = 0; i < Math.max(expected.length, recorded.length); i++)
    if (stable(expected[i]) !== stable(recorded[i])) return i;
  return -1;
};

const describe = (input: {
  readonly _tag: string;
  readonly input?: { readonly _tag: string; readonly message?: { readonly _tag: string } };
}): string =>
  input._tag === "Raft" && input.input !== undefined
    ? `Raft ${input.input.message?._tag ?? input.input._tag}`
    : input._tag;

/** Replay every node line of a trace through spec/node. */
export const replayNodeTrace = (lines: readonly TraceLine[]): NodeTraceVerdict => {
  interface Running {
    node: KraftNode;
    readonly config: KraftNodeConfig;
  }
  const running = new Map<number, Running | null>();
  const logs = new Map<number, ShellLog>();
  let steps = 0;
  let lifetimes = 0;
  for (const { text, where } of lines) {
    let json: { layer?: unknown; input?: { _tag?: unknown } };
    try {
      json = JSON.parse(text) as typeof json;
    } catch {
      throw new Error(`${where} is not JSON`);
    }
    if (json.layer !== "node") continue;
    const wrong = (
      node: number,
      event: string,
      problem: string,
      expected: unknown,
      recorded: unknown,
    ): NodeTraceVerdict => ({
      ok: false,
      where,
      node,
      event,
      problem,
      expected,
      recorded,
    });
    if (json.input?._tag === "Start") {
      let line: typeof NodeStartLine.Type;
      try {
        line = decodeStart(json);
      } catch (error) {
        throw new Error(`${where}: not a node start line: ${(error as Error).message.split("\n")[0]}`);
      }
      let log = logs.get(line.node);
      if (line.records !== undefined) log = ShellLog.of(line.records, line.storage.log.endOffset);
      if (log === undefined) {
        if (line.storage.log.endOffset > 0)
          return wrong(
            line.node,
            "Start",
            "a start from a non-empty log with neither its records nor an earlier start in the trace",
            null,
            line.storage.log,
          );
        log = new ShellLog();
      }
      // What the disk kept: the log the storage reports, a prefix of what the node wrote.
      if (log.entries.length < line.storage.log.endOffset)
        return wrong(
          line.node,
          "Start",
          `storage holds ${line.storage.log.endOffset} records but the node wrote only ${log.entries.length}`,
          log.entries.length,
          line.storage.log.endOffset,
        );
      log.entries.length = line.storage.log.endOffset;
      logs.set(line.node, log);
      const config: KraftNodeConfig = line.config;
      const start = initializeNode(
        config,
        {
          quorumState: line.storage.quorumState ?? undefined,
          log: line.storage.log,
          recovering: line.storage.recovering,
          firstCorrelationId: line.storage.firstCorrelationId,
          incarnationId: line.storage.incarnationId,
          previousBrokerEpoch: line.storage.previousBrokerEpoch,
        },
        log,
      );
      const expected = asJson(start.effects) as unknown[];
      const at = firstDifference(expected, line.effects);
      if (at >= 0)
        return wrong(
          line.node,
          "Start",
          `effect ${at + 1} of the start is not what spec/node does`,
          expected[at] ?? null,
          line.effects[at] ?? null,
        );
      const problem = log.apply(start.effects, undefined);
      if (problem !== null) return wrong(line.node, "Start", problem, null, null);
      running.set(line.node, { node: start.state, config });
      lifetimes++;
      continue;
    }
    let line: typeof NodeStepLine.Type;
    try {
      line = decodeStep(json);
    } catch (error) {
      throw new Error(`${where}: not a node step line: ${(error as Error).message.split("\n")[0]}`);
    }
    const event = describe(line.input);
    const current = running.get(line.node);
    if (current == null)
      return wrong(
        line.node,
        event,
        "a step of a node with no start before it in the trace",
        null,
        line.input,
      );
    const log = logs.get(line.node)!;
    const result = nodeStep(current.node, line.input, current.config, log);
    const expected = asJson(result.effects) as unknown[];
    const at = firstDifference(expected, line.effects);
    if (at >= 0)
      return wrong(
        line.node,
        event,
        `effect ${at + 1} is not what spec/node does with this input`,
        expected[at] ?? null,
        line.effects[at] ?? null,
      );
    const problem = log.apply(result.effects, line.input._tag === "Raft" ? line.input.fetched : undefined);
    if (problem !== null) return wrong(line.node, event, problem, null, null);
    current.node = result.state;
    steps++;
  }
  return { ok: true, nodes: running.size, steps, lifetimes };
};

/** A readable verdict. */
export const renderNodeVerdict = (verdict: NodeTraceVerdict): string[] =>
  verdict.ok
    ? [
        `OK: spec/node explains every node step: ${verdict.steps} steps of ${verdict.nodes} nodes over ${verdict.lifetimes} process starts`,
      ]
    : [
        `NOT EXPLAINED by spec/node: ${verdict.where}, node ${verdict.node}, ${verdict.event}: ${verdict.problem}`,
        `  spec/node: ${JSON.stringify(verdict.expected)}`,
        `  recorded:  ${JSON.stringify(verdict.recorded)}`,
      ];
