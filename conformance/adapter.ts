// The reference adapter: the spec reducers behind the adapter protocol. `kraft conformance adapter`
// runs it on stdin/stdout; `--spec DIR` loads the reducers from another copy of spec/ (the mutation
// suite uses that to check that the vectors catch wrong implementations).
import { createInterface } from "node:readline";
import type { Readable, Writable } from "node:stream";
import * as Schema from "effect/Schema";
import type { Mark } from "../spec/marks.ts";
import type * as BrokerModule from "../spec/metadata/broker.ts";
import { BrokerInput } from "../spec/metadata/broker.ts";
import type * as ControllerModule from "../spec/metadata/controller.ts";
import { ControllerInput } from "../spec/metadata/controller.ts";
import type * as NodeModule from "../spec/node/node.ts";
import { NodeInput } from "../spec/node/node.ts";
import { type RaftEffect, RaftInput } from "../spec/raft/io.ts";
import type { ElectionState, LogState, NodeState, RaftConfig } from "../spec/raft/state.ts";
import {
  AdapterRequest,
  project,
  projectBroker,
  projectController,
  projectNode,
  type Reply,
} from "./protocol.ts";
import { type NodeReducers, NodeSession } from "./shell-log.ts";
import { type BreakableRule, TopicIdVariation, Variation } from "./vary.ts";

export interface Reducers {
  readonly initialize: (
    stored: ElectionState | undefined,
    log: LogState,
    config: RaftConfig,
    recovering?: boolean,
    firstCorrelationId?: number,
  ) => {
    readonly state: NodeState;
    readonly effects: readonly RaftEffect[];
    readonly marks?: readonly Mark[];
  };
  readonly step: (
    state: NodeState,
    input: RaftInput,
    config: RaftConfig,
  ) => {
    readonly state: NodeState;
    readonly effects: readonly RaftEffect[];
    readonly marks?: readonly Mark[];
  };
  readonly controllerStep: typeof ControllerModule.controllerStep;
  readonly initialControllerState: typeof ControllerModule.initialControllerState;
  readonly brokerStep: typeof BrokerModule.brokerStep;
  readonly initialBrokerState: typeof BrokerModule.initialBrokerState;
  readonly brokerStartEffects: typeof BrokerModule.brokerStartEffects;
  readonly node: NodeReducers;
}

/** The spec's reducers, from this copy of spec/ or from `specDir`. */
export const loadReducers = async (specDir?: string): Promise<Reducers> => {
  const base =
    specDir === undefined ? new URL("../spec/", import.meta.url).href : new URL(`file://${specDir}/`).href;
  const startup = (await import(new URL("raft/startup.ts", base).href)) as Pick<Reducers, "initialize">;
  const stepModule = (await import(new URL("raft/step.ts", base).href)) as Pick<Reducers, "step">;
  const controller = (await import(new URL("metadata/controller.ts", base).href)) as typeof ControllerModule;
  const broker = (await import(new URL("metadata/broker.ts", base).href)) as typeof BrokerModule;
  const node = (await import(new URL("node/node.ts", base).href)) as typeof NodeModule;
  return {
    initialize: startup.initialize,
    step: stepModule.step,
    controllerStep: controller.controllerStep,
    initialControllerState: controller.initialControllerState,
    brokerStep: broker.brokerStep,
    initialBrokerState: broker.initialBrokerState,
    brokerStartEffects: broker.brokerStartEffects,
    node: { initializeNode: node.initializeNode, nodeStep: node.nodeStep },
  };
};

const decodeRequest = Schema.decodeUnknownSync(AdapterRequest);

const decodeRaftInput = Schema.decodeUnknownSync(RaftInput);
const decodeControllerInput = Schema.decodeUnknownSync(ControllerInput);
const decodeBrokerInput = Schema.decodeUnknownSync(BrokerInput);
const decodeNodeInput = Schema.decodeUnknownSync(NodeInput);

type Running =
  | { readonly layer: "raft"; state: NodeState; readonly config: RaftConfig }
  | {
      readonly layer: "controller";
      state: ControllerModule.ControllerState;
      readonly config: ControllerModule.ControllerConfig;
    }
  | { readonly layer: "broker"; state: BrokerModule.BrokerState; readonly config: BrokerModule.BrokerConfig }
  | { readonly layer: "node"; readonly session: NodeSession };

/** Other free choices than the reducer's (`--vary SEED`), and optionally one violation (`--break RULE`). */
export interface VaryOptions {
  readonly seed: number;
  readonly breaking?: BreakableRule;
}

/** Serve the protocol until the input ends. */
export const serveAdapter = async (
  reducers: Reducers,
  input: Readable,
  output: Writable,
  vary?: VaryOptions,
): Promise<void> => {
  let node: Running | null = null;
  let variation: Variation | null = null;
  let topicIds: TopicIdVariation | null = null;
  const reply = (r: Reply) => {
    // Effects first: a new topic's id is chosen where its TopicRecord appears.
    const shown =
      topicIds === null || r._tag !== "ok"
        ? r
        : { ...r, effects: topicIds.outgoing(r.effects), state: topicIds.outgoing(r.state) };
    output.write(`${JSON.stringify(shown)}\n`);
  };
  for await (const line of createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY })) {
    if (line.trim().length === 0) continue;
    try {
      const decoded = decodeRequest(JSON.parse(line));
      if (decoded._tag !== "input") topicIds = vary === undefined ? null : new TopicIdVariation(vary.seed);
      const request = topicIds === null ? decoded : topicIds.incoming(decoded);
      switch (request._tag) {
        case "init": {
          const result = reducers.initialize(
            request.quorumState ?? undefined,
            request.log,
            request.config,
            request.recovering ?? false,
            request.firstCorrelationId ?? 1,
          );
          variation = vary === undefined ? null : new Variation(vary.seed, request.config, vary.breaking);
          variation?.start();
          const chosen = variation?.fetchTarget(result.state, result.marks ?? []) ?? null;
          node = { layer: "raft", state: chosen?.state ?? result.state, config: request.config };
          reply({
            _tag: "ok",
            effects:
              variation === null
                ? result.effects
                : variation.effects(result.effects, result.marks ?? [], chosen?.to),
            state: project(result.state),
          });
          break;
        }
        case "initController": {
          const state = reducers.initialControllerState(request.config.nodeId);
          node = { layer: "controller", state, config: request.config };
          reply({ _tag: "ok", effects: [], state: projectController(state) });
          break;
        }
        case "initBroker": {
          const state = reducers.initialBrokerState(
            request.config.brokerId,
            request.incarnationId,
            request.previousBrokerEpoch,
          );
          node = { layer: "broker", state, config: request.config };
          reply({
            _tag: "ok",
            effects: reducers.brokerStartEffects(request.config),
            state: projectBroker(state),
          });
          break;
        }
        case "initNode": {
          const { session, result } = NodeSession.start(reducers.node, request);
          node = { layer: "node", session };
          variation =
            vary === undefined ? null : new Variation(vary.seed, request.config.raft, vary.breaking);
          reply({
            _tag: "ok",
            effects:
              variation === null
                ? result.effects
                : variation.nodeEffects(result.effects, result.marks, session),
            state: projectNode(result.state),
          });
          break;
        }
        case "input": {
          if (node === null) {
            reply({ _tag: "error", message: "an input before any init" });
          } else if (node.layer === "raft") {
            const decoded = decodeRaftInput(request.input);
            const result = reducers.step(node.state, variation?.input(decoded) ?? decoded, node.config);
            const chosen = variation?.fetchTarget(result.state, result.marks ?? []) ?? null;
            node.state = chosen?.state ?? result.state;
            reply({
              _tag: "ok",
              effects:
                variation === null
                  ? result.effects
                  : variation.effects(result.effects, result.marks ?? [], chosen?.to),
              state: project(result.state),
            });
          } else if (node.layer === "controller") {
            const result = reducers.controllerStep(
              node.state,
              decodeControllerInput(request.input),
              node.config,
            );
            node.state = result.state;
            reply({ _tag: "ok", effects: result.effects, state: projectController(result.state) });
          } else if (node.layer === "node") {
            const decoded = decodeNodeInput(request.input);
            const result = node.session.step(variation?.nodeInput(decoded) ?? decoded);
            reply({
              _tag: "ok",
              effects:
                variation === null
                  ? result.effects
                  : variation.nodeEffects(result.effects, result.marks, node.session),
              state: projectNode(result.state),
            });
          } else {
            const result = reducers.brokerStep(node.state, decodeBrokerInput(request.input), node.config);
            node.state = result.state;
            reply({ _tag: "ok", effects: result.effects, state: projectBroker(result.state) });
          }
          break;
        }
      }
    } catch (error) {
      reply({ _tag: "error", message: `not an adapter request: ${(error as Error).message.split("\n")[0]}` });
    }
  }
};
