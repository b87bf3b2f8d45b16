// Node trace replay: decide whether a trace of whole-node steps, as the runtime records them
// (`openkraft.trace.file`, lines with `layer: "node"`), is what spec/node does. Each process start
// is replayed from the storage it read (`initializeNode`), then every input the node took
// (`nodeStep`), with a log kept the way the shell keeps it — appended and truncated by the node's own
// effects, a follower's records taken from the Fetch answer they came in — so every effect the
// runtime carried out must be exactly an effect spec/node asked for, in order. The runtime makes no
// protocol decision of its own; this is where that is checked.
import * as Schema from "effect/Schema";
import { BrokerConfig } from "../spec/metadata/broker.ts";
import { ControllerConfig } from "../spec/metadata/controller.ts";
import type { OffsetRecord } from "../spec/metadata/image.ts";
import type { MetadataRecord } from "../spec/metadata/records.ts";
import { MetadataRecord as MetadataRecordSchema } from "../spec/metadata/records.ts";
import {
  initializeNode,
  type KraftNode,
  type KraftNodeConfig,
  type LogReader,
  type NodeEffect,
  NodeInput,
  nodeStep,
} from "../spec/node/node.ts";
import { ElectionState, LogState, RaftConfig } from "../spec/raft/state.ts";
import { stable } from "./judge.ts";
import type { TraceLine, TraceVerdict } from "./trace.ts";

const NodeStartLine = Schema.Struct({
  node: Schema.Int,
  layer: Schema.Literal("node"),
  input: Schema.TaggedStruct("Start", {}),
  config: Schema.Struct({
    raft: RaftConfig,
    controller: Schema.NullOr(ControllerConfig),
    broker: Schema.NullOr(BrokerConfig),
  }),
  storage: Schema.Struct({
    quorumState: Schema.NullOr(ElectionState),
    log: LogState,
    recovering: Schema.Boolean,
    firstCorrelationId: Schema.Int,
    incarnationId: Schema.String,
    previousBrokerEpoch: Schema.Int,
  }),
  /** The metadata records the stored log held, when the trace has no earlier start of this node. */
  records: Schema.optionalKey(
    Schema.Array(Schema.Struct({ offset: Schema.Int, epoch: Schema.Int, record: MetadataRecordSchema })),
  ),
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

/** The shell's log of one node, as its effects made it: the metadata record at each offset, or null. */
class ShellLog implements LogReader {
  readonly entries: (OffsetRecord | null)[] = [];

  records(from: number, to: number): readonly OffsetRecord[] {
    const out: OffsetRecord[] = [];
    for (let offset = Math.max(0, from); offset < Math.min(to, this.entries.length); offset++) {
      const e = this.entries[offset];
      if (e != null) out.push(e);
    }
    return out;
  }

  /** Carry out a step's log effects as the runtime does (src/runtime/node.ts, interpret). */
  apply(
    effects: readonly NodeEffect[],
    fetched: readonly { readonly record: MetadataRecord | null }[] | undefined,
  ): string | null {
    let fetchBase = -1;
    for (const effect of effects) {
      if (effect._tag === "TruncateLog") this.entries.length = Math.min(this.entries.length, effect.offset);
      if (effect._tag !== "AppendRecords") continue;
      if (effect.baseOffset !== this.entries.length)
        return `an append at ${effect.baseOffset} to a log that ends at ${this.entries.length}`;
      if (fetchBase < 0) fetchBase = effect.baseOffset;
      for (let i = 0; i < effect.count; i++) {
        const offset = effect.baseOffset + i;
        let record: MetadataRecord | null;
        if (effect.control !== undefined) record = null;
        else if (effect.records !== undefined) record = effect.records[i] ?? null;
        else {
          const payload = fetched?.[offset - fetchBase];
          if (payload === undefined)
            return `a follower's append at ${offset} without that record in the Fetch answer`;
          record = payload.record;
        }
        this.entries.push(record === null ? null : { offset, epoch: effect.epoch, record });
      }
    }
    return null;
  }
}

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
      if (line.records !== undefined) {
        log = new ShellLog();
        for (const r of line.records) {
          while (log.entries.length < r.offset) log.entries.push(null);
          log.entries.push(r);
        }
        while (log.entries.length < line.storage.log.endOffset) log.entries.push(null);
      }
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
