// A recorded trace (openkraft.trace.file, the Raft layer) as the model checker's trace steps, so that
// `kraft conformance check-trace --html` draws a real run as kraft check draws a counterexample. The
// nodes' lines are merged by their recorded time (each node's own order kept), and every node is
// replayed through the spec to show its state after each step; the recorded effects are what the
// steps show. Call it after checkTrace: it trusts the lines checkTrace has decoded.
import { basename } from "node:path";
import { formatState } from "../spec/cluster/format.ts";
import type { RaftEffect, RaftInput } from "../spec/raft/io.ts";
import type { ElectionState, LogState, NodeState, RaftConfig } from "../spec/raft/state.ts";
import type { TraceStep } from "../src/checker/engine.ts";
import type { Reducers } from "./adapter.ts";
import { describeInput } from "./runner.ts";
import type { TraceLine } from "./trace.ts";

interface Recorded {
  readonly where: string;
  readonly time: number | null;
  readonly node: number;
  readonly input: RaftInput | { readonly _tag: "Start" };
  readonly effects: readonly RaftEffect[];
  readonly config?: RaftConfig;
  readonly storage?: {
    readonly quorumState: ElectionState | null;
    readonly log: LogState;
    readonly recovering?: boolean;
  };
}

/** The Raft lines of each node, in the order that node recorded them. */
const byNode = (lines: readonly TraceLine[]): Map<number, Recorded[]> => {
  const nodes = new Map<number, Recorded[]>();
  for (const { text, where } of lines) {
    let json: Record<string, unknown>;
    try {
      json = JSON.parse(text) as Record<string, unknown>;
    } catch {
      continue;
    }
    if (json["layer"] !== "raft" || typeof json["node"] !== "number") continue;
    const node = json["node"];
    const own = nodes.get(node) ?? [];
    own.push({
      ...(json as unknown as Recorded),
      where,
      time: typeof json["time"] === "number" ? json["time"] : null,
    });
    nodes.set(node, own);
  }
  return nodes;
};

const sendKey = (from: number, to: number, correlationId: unknown, tag: unknown): string =>
  `${from}>${to}#${String(correlationId)} ${String(tag)}`;

/**
 * Merge the nodes' lines into one order: each node's own order kept, a message received only after
 * it was sent (clocks of one millisecond hold many steps), otherwise the earliest recorded time
 * first, ties in input order.
 */
const merge = (nodes: Map<number, Recorded[]>, order: ReadonlyMap<string, number>): Recorded[] => {
  const heads = [...nodes.values()].map((l) => ({ lines: l, at: 0 }));
  const inFlight = new Map<string, number>();
  const ready = (line: Recorded): boolean => {
    const input = line.input;
    if (input._tag !== "Received" || !nodes.has(input.from)) return true;
    return (inFlight.get(sendKey(input.from, line.node, input.correlationId, input.message._tag)) ?? 0) > 0;
  };
  const before = (a: Recorded, b: Recorded): boolean => {
    const ta = a.time ?? b.time ?? 0;
    const tb = b.time ?? a.time ?? 0;
    return ta < tb || (ta === tb && (order.get(a.where) ?? 0) < (order.get(b.where) ?? 0));
  };
  const out: Recorded[] = [];
  for (;;) {
    const candidates = heads.flatMap((h) => (h.at < h.lines.length ? [h] : []));
    if (candidates.length === 0) return out;
    const usable = candidates.filter((h) => ready(h.lines[h.at]!));
    // A receipt whose send is nowhere (a trace cut short) must not stop the merge.
    const pool = usable.length > 0 ? usable : candidates;
    const best = pool.reduce((a, b) => (before(b.lines[b.at]!, a.lines[a.at]!) ? b : a));
    const line = best.lines[best.at++]!;
    out.push(line);
    const input = line.input;
    if (input._tag === "Received") {
      const key = sendKey(input.from, line.node, input.correlationId, input.message._tag);
      inFlight.set(key, (inFlight.get(key) ?? 0) - 1);
    }
    for (const e of line.effects) {
      if (e._tag !== "Send") continue;
      const key = sendKey(line.node, e.to, e.correlationId, e.message._tag);
      inFlight.set(key, (inFlight.get(key) ?? 0) + 1);
    }
  }
};

/**
 * The trace as steps: step 0 before any line, then one step per Raft line up to `stopAt` (the
 * file:line of the event the spec does not explain, which ends the steps), each with the recorded
 * input and effects and the spec's state of that node after it.
 */
export const traceSteps = (lines: readonly TraceLine[], reducers: Reducers, stopAt?: string): TraceStep[] => {
  const order = new Map(lines.map((l, i) => [l.where, i] as const));
  const nodes = byNode(lines);
  const ids = [...nodes.keys()].sort((a, b) => a - b);
  const running = new Map<number, { state: NodeState; config: RaftConfig } | null>();
  const lineOf = (id: number): string => {
    const r = running.get(id);
    return r === undefined
      ? `n${id} not started`
      : r === null
        ? `n${id} down`
        : `n${id} ${formatState(r.state)}`;
  };
  const steps: TraceStep[] = [{ step: 0, action: "before the first recorded step", nodes: ids.map(lineOf) }];
  const merged = merge(nodes, order);
  const t0 = merged.find((l) => l.time !== null)?.time ?? null;
  for (const line of merged) {
    const last = line.where === stopAt;
    let state: NodeState | undefined;
    try {
      if (line.input._tag === "Start") {
        if (line.config === undefined || line.storage === undefined) break;
        const result = reducers.initialize(
          line.storage.quorumState ?? undefined,
          line.storage.log,
          line.config,
          line.storage.recovering ?? false,
        );
        state = result.state;
        if (!last) running.set(line.node, { state, config: line.config });
      } else {
        const r = running.get(line.node);
        if (r === undefined || r === null) break;
        // The unexplained event is shown with the state before it: the spec took another way.
        if (!last) {
          state = reducers.step(r.state, line.input, r.config).state;
          r.state = state;
        } else state = r.state;
      }
    } catch {
      break;
    }
    const time = line.time === null || t0 === null ? "" : ` +${line.time - t0} ms`;
    steps.push({
      step: steps.length,
      action: `${last ? "NOT EXPLAINED: " : ""}n${line.node} ${describeInput(line.input as Parameters<typeof describeInput>[0])} (${basename(line.where)}${time})`,
      nodes: ids.map(lineOf),
      details: [
        {
          node: line.node,
          input: line.input,
          effects: line.effects,
          state,
          ...(line.storage === undefined ? {} : { storage: line.storage }),
        },
      ],
    });
    if (last) break;
  }
  return steps;
};
