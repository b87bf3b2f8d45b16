// Controller- and broker-layer vectors from the metadata transcripts: every controller and broker
// process lifetime becomes one vector — its configuration (and, for a broker, its incarnation), then
// every input the reducer got with the effects and projected state the spec produced.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { runMetadataTranscript } from "../spec/cluster/metadata-scenario.ts";
import {
  brokerConfigOf,
  controllerConfigOf,
  incarnationOf,
  isControllerIndex,
  type MetadataClusterSpec,
  type MetadataWorld,
} from "../spec/cluster/metadata-world.ts";
import { parseTranscript } from "../spec/cluster/scenario.ts";
import { indexOfNode } from "../spec/cluster/world.ts";
import { brokerStartEffects, initialBrokerState } from "../spec/metadata/broker.ts";
import { initialControllerState } from "../spec/metadata/controller.ts";
import {
  type BrokerVector,
  type ControllerVector,
  projectBroker,
  projectController,
  type Vector,
  type VectorInProgress,
} from "./protocol.ts";
import { transcriptRules } from "./vectors.ts";

export const METADATA_SCENARIO_DIR = new URL("../spec/metadata-scenarios/", import.meta.url).pathname;

type Open = VectorInProgress<ControllerVector> | VectorInProgress<BrokerVector>;

/** The controller and broker vectors of one metadata transcript, in the order their nodes started. */
export const metadataVectorsOf = (source: string, text: string): Vector[] => {
  const rules = transcriptRules(text);
  const vectors: Open[] = [];
  const current = new Map<number, Open>();
  const starts = new Map<number, number>();
  runMetadataTranscript(parseTranscript(text), (steps, spec, before) => {
    for (const step of steps) {
      if (step.layer === "raft" && step.step.input._tag === "Start") {
        const id = step.step.node;
        const k = starts.get(id) ?? 0;
        starts.set(id, k + 1);
        const vector = startVector(
          `${source}/${isControllerIndex(spec, indexOfNode(id)) ? "c" : "b"}${id}#${k}`,
          source,
          rules,
          spec,
          before,
          id,
        );
        vectors.push(vector);
        current.set(id, vector);
      } else if (step.layer === "controller") {
        const v = current.get(step.node);
        if (v?.layer === "controller")
          v.steps.push({ input: step.input, effects: step.effects, state: projectController(step.after) });
      } else if (step.layer === "broker") {
        const v = current.get(step.node);
        if (v?.layer === "broker")
          v.steps.push({ input: step.input, effects: step.effects, state: projectBroker(step.after) });
      }
    }
  });
  return vectors;
};

const startVector = (
  name: string,
  source: string,
  rules: readonly string[],
  spec: MetadataClusterSpec,
  before: MetadataWorld | null,
  id: number,
): Open => {
  const index = indexOfNode(id);
  if (isControllerIndex(spec, index)) {
    return {
      layer: "controller",
      name,
      source,
      rules,
      init: { _tag: "initController", config: controllerConfigOf(spec, id) },
      start: { effects: [], state: projectController(initialControllerState(id)) },
      steps: [],
    };
  }
  const app = before?.apps[index];
  const incarnationId = incarnationOf(id, (app?.starts ?? 0) + 1);
  const previousBrokerEpoch = app?.lastBrokerEpoch ?? -1;
  const config = brokerConfigOf(spec, id);
  return {
    layer: "broker",
    name,
    source,
    rules,
    init: { _tag: "initBroker", config, incarnationId, previousBrokerEpoch },
    start: {
      effects: brokerStartEffects(config),
      state: projectBroker(initialBrokerState(id, incarnationId, previousBrokerEpoch)),
    },
    steps: [],
  };
};

/** Every metadata transcript's vectors, by file name. */
export const generateMetadataVectors = (): Map<string, Vector[]> => {
  const out = new Map<string, Vector[]>();
  for (const file of readdirSync(METADATA_SCENARIO_DIR)
    .filter((f) => f.endsWith(".txt"))
    .sort()) {
    const source = `metadata-${file.replace(/\.txt$/, "")}`;
    out.set(source, metadataVectorsOf(source, readFileSync(join(METADATA_SCENARIO_DIR, file), "utf8")));
  }
  return out;
};
