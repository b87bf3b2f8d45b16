// The log a shell keeps for a node under test: appended and truncated by the node's own effects, a
// follower's records taken from the Fetch answer they came in (as src/runtime/node.ts does). The node
// trace replay and the node-layer conformance adapter both keep one.
import type { OffsetRecord } from "../spec/metadata/image.ts";
import type { MetadataRecord } from "../spec/metadata/records.ts";
import type * as NodeModule from "../spec/node/node.ts";
import type {
  KraftNode,
  KraftNodeConfig,
  LogPayload,
  LogReader,
  NodeEffect,
  NodeInput,
  NodeStepResult,
} from "../spec/node/node.ts";
import type { InitNode } from "./protocol.ts";

/** The shell's log of one node, as its effects made it: the metadata record at each offset, or null. */
export class ShellLog implements LogReader {
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
      // R83: an installed snapshot replaces the whole log; what lies below its end is in the snapshot,
      // which the listener loads (R84) instead of reading records.
      if (effect._tag === "InstallSnapshot") {
        this.entries.length = 0;
        while (this.entries.length < effect.endOffset) this.entries.push(null);
      }
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

  /** A shell log holding `records` (offset order) and nothing else below `endOffset`. */
  static of(records: readonly OffsetRecord[], endOffset: number): ShellLog {
    const log = new ShellLog();
    for (const r of records) {
      while (log.entries.length < r.offset) log.entries.push(null);
      log.entries.push(r);
    }
    while (log.entries.length < endOffset) log.entries.push(null);
    return log;
  }
}

/** spec/node's two entry points, from this copy of spec/ or another (the adapter's `--spec`). */
export interface NodeReducers {
  readonly initializeNode: typeof NodeModule.initializeNode;
  readonly nodeStep: typeof NodeModule.nodeStep;
}

/** One process lifetime of a whole node under spec/node, with the log its own effects make. */
export class NodeSession {
  private readonly reducers: NodeReducers;
  private readonly config: KraftNodeConfig;
  private readonly log: ShellLog;
  state: KraftNode;

  private constructor(reducers: NodeReducers, config: KraftNodeConfig, log: ShellLog, state: KraftNode) {
    this.reducers = reducers;
    this.config = config;
    this.log = log;
    this.state = state;
  }

  /** Start from an `initNode` request; the start's result as any step's. */
  static start(reducers: NodeReducers, init: InitNode): { session: NodeSession; result: NodeStepResult } {
    const log = ShellLog.of(init.records, init.storage.log.endOffset);
    const result = reducers.initializeNode(
      init.config,
      { ...init.storage, quorumState: init.storage.quorumState ?? undefined },
      log,
    );
    const session = new NodeSession(reducers, init.config, log, result.state);
    session.carryOut(result.effects, undefined);
    return { session, result };
  }

  step(input: NodeInput): NodeStepResult {
    const result = this.reducers.nodeStep(this.state, input, this.config, this.log);
    this.state = result.state;
    this.carryOut(result.effects, input._tag === "Raft" ? input.fetched : undefined);
    return result;
  }

  private carryOut(effects: readonly NodeEffect[], fetched: readonly LogPayload[] | undefined): void {
    const problem = this.log.apply(effects, fetched);
    if (problem !== null) throw new Error(`the node's own log effects do not fit its log: ${problem}`);
  }
}
