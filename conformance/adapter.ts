// The reference adapter: the spec reducers behind the adapter protocol. `kraft conformance adapter`
// runs it on stdin/stdout; `--spec DIR` loads the reducers from another copy of spec/ (the mutation
// suite uses that to check that the vectors catch wrong implementations).
import { createInterface } from "node:readline";
import type { Readable, Writable } from "node:stream";
import * as Schema from "effect/Schema";
import type { RaftEffect, RaftInput } from "../spec/raft/io.ts";
import type { ElectionState, LogState, NodeState, RaftConfig } from "../spec/raft/state.ts";
import { AdapterRequest, project, type Reply } from "./protocol.ts";

export interface Reducers {
  readonly initialize: (
    stored: ElectionState | undefined,
    log: LogState,
    config: RaftConfig,
  ) => { readonly state: NodeState; readonly effects: readonly RaftEffect[] };
  readonly step: (
    state: NodeState,
    input: RaftInput,
    config: RaftConfig,
  ) => { readonly state: NodeState; readonly effects: readonly RaftEffect[] };
}

/** The spec's reducers, from this copy of spec/ or from `specDir`. */
export const loadReducers = async (specDir?: string): Promise<Reducers> => {
  const base =
    specDir === undefined ? new URL("../spec/", import.meta.url).href : new URL(`file://${specDir}/`).href;
  const startup = (await import(new URL("raft/startup.ts", base).href)) as Pick<Reducers, "initialize">;
  const stepModule = (await import(new URL("raft/step.ts", base).href)) as Pick<Reducers, "step">;
  return { initialize: startup.initialize, step: stepModule.step };
};

const decodeRequest = Schema.decodeUnknownSync(AdapterRequest);

/** Serve the protocol until the input ends. */
export const serveAdapter = async (reducers: Reducers, input: Readable, output: Writable): Promise<void> => {
  let node: { state: NodeState; config: RaftConfig } | null = null;
  const reply = (r: Reply) => output.write(`${JSON.stringify(r)}\n`);
  for await (const line of createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY })) {
    if (line.trim().length === 0) continue;
    let request: AdapterRequest;
    try {
      request = decodeRequest(JSON.parse(line));
    } catch (error) {
      reply({ _tag: "error", message: `not an adapter request: ${(error as Error).message.split("\n")[0]}` });
      continue;
    }
    if (request._tag === "init") {
      const result = reducers.initialize(request.quorumState ?? undefined, request.log, request.config);
      node = { state: result.state, config: request.config };
      reply({ _tag: "ok", effects: result.effects, state: project(result.state) });
    } else if (node === null) {
      reply({ _tag: "error", message: "an input before any init" });
    } else {
      const result = reducers.step(node.state, request.input, node.config);
      node.state = result.state;
      reply({ _tag: "ok", effects: result.effects, state: project(result.state) });
    }
  }
};
