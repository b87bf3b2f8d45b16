// Whole-node vectors (R147–R149): every node process lifetime of the metadata transcripts, and of
// seeded random runs of the checker's metadata world with every kind of fault (crashes, session
// expiries, controlled shutdowns, lost messages, a forged answer from another cluster, admin requests
// sent to any node, a client speaking for a broker), as spec/node composes the layers: the start's
// storage and stored records, then every node input with the effects and projected state.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import {
  applyMetaAction,
  DEFAULT_META_BOUNDS,
  enabledMetaActions,
  type MetaBounds,
  withinMetaBounds,
} from "../spec/cluster/metadata-actions.ts";
import { runMetadataTranscript } from "../spec/cluster/metadata-scenario.ts";
import {
  adminRequest,
  DEFAULT_METADATA_CLUSTER,
  deliverMetaMessage,
  dropMetaMessage,
  fireHeartbeat,
  fireRaftTimer,
  initialMetadataWorld,
  type MetadataClusterSpec,
  type MetadataWorld,
  type MetaOutcome,
  type NodeStepRecord,
  settle,
} from "../spec/cluster/metadata-world.ts";
import { parseTranscript } from "../spec/cluster/scenario.ts";
import { initializeNode, type NodeInput, nodeStep } from "../spec/node/node.ts";
import { stable } from "./judge.ts";
import { METADATA_SCENARIO_DIR } from "./metadata-vectors.ts";
import { type InitNode, type NodeVector, projectNode, type VectorInProgress } from "./protocol.ts";
import { NodeSession } from "./shell-log.ts";
import { transcriptRules } from "./vectors.ts";
import { seededRandom } from "./walks.ts";

const NODE_RULES = ["R147", "R148", "R149"];

/** Folds a stream of whole-node steps into one vector per process lifetime. */
class NodeVectorBuilder {
  readonly vectors: VectorInProgress<NodeVector>[] = [];
  private readonly open = new Map<number, { vector: VectorInProgress<NodeVector>; session: NodeSession }>();
  private readonly starts = new Map<number, number>();
  private readonly source: string;
  private readonly rules: readonly string[];

  constructor(source: string, rules: readonly string[]) {
    this.source = source;
    this.rules = [...new Set([...rules, ...NODE_RULES])];
  }

  add(record: NodeStepRecord): void {
    if ("start" in record) {
      const k = this.starts.get(record.node) ?? 0;
      this.starts.set(record.node, k + 1);
      const { config, storage, log } = record.start;
      const init: InitNode = {
        _tag: "initNode",
        config,
        storage: { ...storage, quorumState: storage.quorumState ?? null },
        records: log.records(0, storage.log.endOffset),
      };
      const { session, result } = NodeSession.start({ initializeNode, nodeStep }, init);
      this.check(record, result.effects);
      const vector: VectorInProgress<NodeVector> = {
        layer: "node",
        name: `${this.source}/k${record.node}#${k}`,
        source: this.source,
        rules: this.rules,
        init,
        start: { effects: result.effects, state: projectNode(result.state) },
        steps: [],
      };
      this.vectors.push(vector);
      this.open.set(record.node, { vector, session });
      return;
    }
    const open = this.open.get(record.node);
    if (open === undefined) throw new Error(`${this.source}: node ${record.node} steps before it starts`);
    const result = open.session.step(record.input);
    this.check(record, result.effects);
    open.vector.steps.push({
      input: record.input,
      effects: result.effects,
      state: projectNode(result.state),
    });
  }

  /** An input the world cannot give (an answer from another cluster to a request in flight). */
  inject(node: number, input: NodeInput): void {
    const open = this.open.get(node);
    if (open === undefined) throw new Error(`${this.source}: node ${node} is not running`);
    const result = open.session.step(input);
    open.vector.steps.push({ input, effects: result.effects, state: projectNode(result.state) });
  }

  /** The world stepped the same spec/node: a replay that differs is a bug in the generator. */
  private check(record: NodeStepRecord, effects: readonly unknown[]): void {
    if (stable(effects) !== stable(record.effects))
      throw new Error(
        `${this.source}: replaying node ${record.node}'s step does not give the world's effects`,
      );
  }
}

/** The whole-node vectors of one metadata transcript. */
export const nodeVectorsOf = (source: string, text: string): NodeVector[] => {
  const builder = new NodeVectorBuilder(source, transcriptRules(text));
  runMetadataTranscript(parseTranscript(text), (_steps, _spec, _before, nodeSteps) => {
    for (const record of nodeSteps) builder.add(record);
  });
  return builder.vectors;
};

/** Seeded walks of the metadata world: every fault the world has, admin requests to any node. */
export interface NodeWalkConfig {
  readonly name: string;
  readonly cluster: MetadataClusterSpec;
  readonly bounds: MetaBounds;
  readonly walks: number;
  readonly depth: number;
}

export const NODE_WALK_CONFIGS: readonly NodeWalkConfig[] = [
  {
    name: "node-walk-faults",
    cluster: { ...DEFAULT_METADATA_CLUSTER, brokers: 2 },
    bounds: {
      ...DEFAULT_META_BOUNDS,
      maxEpoch: 4,
      maxLogLength: 40,
      maxControllerCrashes: 1,
      maxBrokerCrashes: 1,
      maxSessionExpiries: 1,
      maxDelays: 1,
      maxControlledShutdowns: 1,
      maxForgedFrames: 1,
      raftLoss: true,
      metaLoss: true,
      adminOps: [
        {
          _tag: "CreateTopicsRequest",
          topics: [{ name: "walk", numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
          validateOnly: false,
        },
        { _tag: "DescribeQuorumAdminRequest" },
        {
          _tag: "BrokerHeartbeatRequest",
          brokerId: 4,
          brokerEpoch: 0,
          currentMetadataOffset: 0,
          wantFence: true,
          wantShutDown: true,
        },
      ],
    },
    walks: 12,
    depth: 200,
  },
];

/**
 * How likely each kind of action is: messages mostly arrive and logs flush, so the cluster gets
 * somewhere (an election, registrations, a topic) between the faults.
 */
const WEIGHTS: Readonly<Record<string, number>> = {
  deliver: 20,
  "raft-deliver": 20,
  flush: 20,
  "raft-timer": 3,
  heartbeat: 3,
  idle: 1,
  admin: 2,
};

export const nodeWalkVectors = (config: NodeWalkConfig): NodeVector[] => {
  const vectors: NodeVector[] = [];
  for (let w = 0; w < config.walks; w++) {
    const builder = new NodeVectorBuilder(`${config.name}-${w + 1}`, []);
    const random = seededRandom(0x6b72 + w);
    const initial = initialMetadataWorld(config.cluster);
    let world = initial.world;
    for (const record of initial.nodeSteps ?? []) builder.add(record);
    for (let d = 0; d < config.depth; d++) {
      const outcomes = enabledMetaActions(world, config.cluster, config.bounds)
        .map((action) => ({
          weight: WEIGHTS[action.kind] ?? 1,
          outcome: applyMetaAction(world, config.cluster, config.bounds, action),
        }))
        .filter((o) => withinMetaBounds(o.outcome.world, config.bounds));
      if (outcomes.length === 0) break;
      let pick = random() * outcomes.reduce((sum, o) => sum + o.weight, 0);
      let chosen = outcomes[outcomes.length - 1]!;
      for (const o of outcomes) {
        pick -= o.weight;
        if (pick < 0) {
          chosen = o;
          break;
        }
      }
      const outcome = chosen.outcome;
      world = outcome.world;
      for (const record of outcome.nodeSteps ?? []) builder.add(record);
    }
    vectors.push(...builder.vectors);
  }
  return vectors;
};

/**
 * Scripted runs for the branches random runs seldom or never take: a client's request passed on by a
 * broker whose request to the controller is lost (R148), and an answer naming another cluster to a
 * request in flight (R149; the world's forged frames answer nothing).
 */
export const scriptedNodeVectors = (): NodeVector[] => {
  const spec: MetadataClusterSpec = { ...DEFAULT_METADATA_CLUSTER, brokers: 1 };
  const vectors: NodeVector[] = [];
  const script = (
    name: string,
    run: (take: (o: MetaOutcome) => MetadataWorld, builder: NodeVectorBuilder) => void,
  ) => {
    const builder = new NodeVectorBuilder(name, []);
    run((o) => {
      for (const record of o.nodeSteps ?? []) builder.add(record);
      return o.world;
    }, builder);
    vectors.push(...builder.vectors);
  };
  /** Deliver, flush and answer until nothing is in flight, recording every node step. */
  const quiet = (world: MetadataWorld, take: (o: MetaOutcome) => MetadataWorld): MetadataWorld =>
    settle(world, spec, take);
  script("node-scripted-forward-lost", (take) => {
    let w = take(initialMetadataWorld(spec));
    w = quiet(take(fireRaftTimer(w, spec, 0, "election")), take);
    const broker = spec.controllers; // the first broker's index
    w = quiet(take(fireHeartbeat(w, spec, broker)), take);
    w = take(
      adminRequest(w, broker + 1, {
        _tag: "CreateTopicsRequest",
        topics: [{ name: "lost", numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
        validateOnly: false,
      }),
    );
    w = take(deliverMetaMessage(w, spec, w.network.length - 1));
    // The broker passed the client's request on; the request is lost on its way to the controller.
    const forward = w.network.findIndex((e) => e.from === broker + 1 && e.body.kind === "request");
    if (forward < 0) throw new Error("scripted node run: the broker did not pass the request on");
    w = take(dropMetaMessage(w, spec, forward));
    quiet(w, take);
  });
  script("node-scripted-foreign-answer", (take, builder) => {
    let w = take(initialMetadataWorld(spec));
    w = take(fireRaftTimer(w, spec, 0, "election"));
    const request = w.raft.network.find((e) => e.from === 1 && e.correlationId !== undefined);
    if (request === undefined) throw new Error("scripted node run: node 1 asked for no votes");
    builder.inject(1, {
      _tag: "Raft",
      input: {
        _tag: "Received",
        from: request.to,
        correlationId: request.correlationId!,
        message: {
          _tag: "VoteResponse",
          errorCode: "INCONSISTENT_CLUSTER_ID",
          leaderId: -1,
          leaderEpoch: 0,
          voteGranted: false,
        },
      },
    });
  });
  return vectors;
};

/** Every whole-node vector file, by name. */
export const generateNodeVectors = (): Map<string, NodeVector[]> => {
  const out = new Map<string, NodeVector[]>();
  for (const file of readdirSync(METADATA_SCENARIO_DIR)
    .filter((f) => f.endsWith(".txt"))
    .sort()) {
    const source = `node-${file.replace(/\.txt$/, "")}`;
    out.set(source, nodeVectorsOf(source, readFileSync(join(METADATA_SCENARIO_DIR, file), "utf8")));
  }
  for (const config of NODE_WALK_CONFIGS) out.set(config.name, nodeWalkVectors(config));
  out.set("node-scripted", scriptedNodeVectors());
  return out;
};
