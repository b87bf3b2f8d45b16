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
  ADMIN_ID,
  adminRequest,
  controllerConfigOf,
  crashNode,
  DEFAULT_METADATA_CLUSTER,
  deliverMetaMessage,
  deliverRaftMessage,
  dropMetaMessage,
  fireHeartbeat,
  fireIdleTimer,
  fireRaftTimer,
  initialMetadataWorld,
  type MetadataClusterSpec,
  type MetadataWorld,
  type MetaOutcome,
  type NodeStepRecord,
  raftSpecOf,
  settle,
  startNode,
  takeSnapshot,
} from "../spec/cluster/metadata-world.ts";
import { parseTranscript } from "../spec/cluster/scenario.ts";
import { directoryIdOf, nodeConfig } from "../spec/cluster/world.ts";
import { initializeNode, type NodeInput, nodeStep } from "../spec/node/node.ts";
import type { RaftInput } from "../spec/raft/io.ts";
import { METADATA_TOPIC_ID } from "../spec/raft/primitives.ts";
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
 * broker whose request to the controller is lost (R148), an answer naming another cluster to a
 * request in flight (R149; the world's forged frames answer nothing), a high watermark that arrives
 * before the snapshot the start told the listener to load was read (R84), and a voter added under an
 * active controller with kraft.version 1 (R106, R147; the world runs static voters).
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
  script("node-scripted-commit-before-snapshot-read", (take, builder) => {
    // R84: a standby controller snapshots its image and restarts with its log still whole (no
    // retention ran, so the log starts at 0): the start tells its listener to load the snapshot, and
    // the leader's high watermark arrives before the shell has read it. No committed record is handed
    // on until the SnapshotRead (Kafka's listener gets the snapshot first, then batches after its end).
    let w = take(initialMetadataWorld(spec));
    w = quiet(take(fireRaftTimer(w, spec, 0, "election")), take);
    w = take(takeSnapshot(w, spec, 1));
    w = take(crashNode(w, spec, 1));
    // The leader writes while node 2 is down, so node 2's first Fetch is answered at once, with records.
    w = quiet(take(fireIdleTimer(w, spec, 0)), take);
    const restart = startNode(w, spec, 1);
    let read: NodeInput | undefined;
    for (const record of restart.nodeSteps ?? []) {
      if (record.node === 2 && "input" in record) {
        if (record.input._tag === "SnapshotRead") read = record.input;
        continue;
      }
      builder.add(record);
    }
    if (read === undefined) throw new Error("scripted node run: node 2 was told to load no snapshot");
    w = restart.world;
    const fetch = w.raft.network.findIndex(
      (e) => e.from === 2 && e.to === 1 && e.message._tag === "FetchRequest",
    );
    if (fetch < 0) throw new Error("scripted node run: node 2 does not fetch from the leader");
    const answered = deliverRaftMessage(w, spec, fetch);
    for (const record of answered.nodeSteps ?? []) builder.add(record);
    w = answered.world;
    const response = w.raft.network.findIndex(
      (e) => e.from === 1 && e.to === 2 && e.message._tag === "FetchResponse",
    );
    if (response < 0) throw new Error("scripted node run: the leader parked node 2's Fetch");
    // The world's node 2 has read its snapshot; its Raft layer is the same, so the answer it is given
    // is the one this node 2, which has not, is given.
    const given = deliverRaftMessage(w, spec, response).nodeSteps?.find(
      (r) => r.node === 2 && "input" in r && r.input._tag === "Raft",
    );
    if (given === undefined || !("input" in given)) throw new Error("scripted node run: no answer to node 2");
    builder.inject(2, given.input);
    builder.inject(2, read);
  });
  script("node-scripted-voter-added-under-active-controller", (_take, builder) => {
    // R106, R147: with kraft.version 1 the Raft layer appends a VotersRecord of its own between the
    // controller's records when a voter is added (R96): the node tells the active controller the new log
    // end, so its next records (an idle NoOpRecord) are placed where it expects them and it stays active.
    // A controller that did not move its next offset would find its records misplaced and resign.
    const one: MetadataClusterSpec = { ...DEFAULT_METADATA_CLUSTER, controllers: 1, brokers: 0 };
    const raft = nodeConfig({ ...raftSpecOf(one), voters: 1, observers: 0, kraftVersion: 1 }, 1);
    const config = { raft, controller: controllerConfigOf(one, 1), broker: null };
    const storage = {
      quorumState: undefined,
      log: { startOffset: 0, endOffset: 0, flushedOffset: 0, epochs: [] },
      recovering: false,
      firstCorrelationId: 1,
      incarnationId: "AAAAAAAAAAAAAAAAAAAAAA",
      previousBrokerEpoch: -1,
    };
    const log = { records: () => [] };
    builder.add({
      node: 1,
      start: { config, storage, log },
      effects: initializeNode(config, storage, log).effects,
    });
    const raftInput = (input: RaftInput) => builder.inject(1, { _tag: "Raft", input });
    // A lone voter leads at once; its LeaderChangeMessage and bootstrap VotersRecord flush, then the
    // controller's first record.
    raftInput({ _tag: "LogFlushed", offset: 2 });
    raftInput({ _tag: "LogFlushed", offset: 3 });
    // Node 2, an observer caught up to the log end, is added as a voter (R96).
    raftInput({
      _tag: "Received",
      from: 2,
      correlationId: 1,
      message: {
        _tag: "FetchRequest",
        clusterId: one.clusterId,
        replicaId: 2,
        replicaDirectoryId: directoryIdOf(2),
        maxWaitMs: 500,
        topicId: METADATA_TOPIC_ID,
        partition: 0,
        currentLeaderEpoch: 1,
        fetchOffset: 3,
        lastFetchedEpoch: 1,
      },
    });
    raftInput({
      _tag: "Received",
      from: ADMIN_ID,
      correlationId: 1,
      message: {
        _tag: "AddRaftVoterRequest",
        clusterId: one.clusterId,
        timeoutMs: 30000,
        voterId: 2,
        voterDirectoryId: directoryIdOf(2),
        listeners: [{ name: "CONTROLLER", host: "node-2", port: 9093 }],
      },
    });
    raftInput({
      _tag: "Received",
      from: 2,
      correlationId: 1,
      message: {
        _tag: "ApiVersionsResponse",
        errorCode: "NONE",
        kraftVersion: { minSupportedVersion: 0, maxSupportedVersion: 1 },
      },
    });
    builder.inject(1, { _tag: "IdleTimeout" });
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
