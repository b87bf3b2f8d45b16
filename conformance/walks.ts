// Conformance vectors from random walks of the simulated cluster (the model checker's world and
// actions), for what the curated transcripts do not reach. Walks are seeded, so the files are
// reproducible; a walk is kept only if one of its steps shows a transition shape no kept walk has
// (role before, input, answer code, role after, effects, whether the high watermark moved), which
// keeps the set small and deduplicated.
import {
  applyAction,
  type Bounds,
  DEFAULT_BOUNDS,
  enabledActions,
  withinBounds,
} from "../spec/cluster/actions.ts";
import {
  type ClusterSpec,
  DEFAULT_CLUSTER,
  initialWorld,
  nodeConfig,
  type StepTrace,
} from "../spec/cluster/world.ts";
import { sameContent } from "../spec/plain-data.ts";
import type { NodeState, RaftConfig } from "../spec/raft/state.ts";
import { type Init, project, type RaftVector, type VectorInProgress } from "./protocol.ts";

export interface WalkConfig {
  readonly name: string;
  readonly cluster: ClusterSpec;
  readonly bounds: Bounds;
  readonly walks: number;
  readonly depth: number;
}

export const WALK_CONFIGS: readonly WalkConfig[] = [
  {
    name: "walk-prevote-observer",
    cluster: { ...DEFAULT_CLUSTER, observers: 1 },
    bounds: { ...DEFAULT_BOUNDS, maxEpoch: 3, maxValues: 3, maxCrashes: 1 },
    walks: 300,
    depth: 80,
  },
  {
    name: "walk-no-prevote",
    cluster: { ...DEFAULT_CLUSTER, preVote: false, checkQuorum: false },
    bounds: { ...DEFAULT_BOUNDS, maxEpoch: 3, maxValues: 2, maxCrashes: 1 },
    walks: 200,
    depth: 60,
  },
];

/** mulberry32: a small seeded generator (walks and fault schedules must replay on every machine). */
export const seededRandom = (seed: number): (() => number) => {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
};

const shape = (s: StepTrace): string => {
  const input = s.input;
  const what =
    input._tag === "Received"
      ? `${input.message._tag}:${"errorCode" in input.message ? input.message.errorCode : ""}:${"voteGranted" in input.message ? input.message.voteGranted : ""}`
      : input._tag === "TimerExpired"
        ? `timer:${input.timer}`
        : input._tag;
  const effects = s.effects
    .map((e) => (e._tag === "Send" ? `Send:${e.message._tag}` : e._tag))
    .sort()
    .join(",");
  const moved = s.before !== null && s.after.highWatermark !== s.before.highWatermark;
  const observer = s.after.voters.every((v) => v.id !== s.node);
  return `${observer ? "o" : "v"}|${s.before?.role._tag ?? "start"}|${what}|${s.after.role._tag}|${effects}|${moved}`;
};

/** The kept walks of one configuration, as vectors. */
export const walkVectors = (config: WalkConfig): RaftVector[] => {
  const seen = new Set<string>();
  const vectors: RaftVector[] = [];
  for (let seed = 1; seed <= config.walks; seed++) {
    const next = seededRandom(seed);
    const initial = initialWorld(config.cluster);
    let world = initial.world;
    const steps: StepTrace[] = [...initial.steps];
    for (let i = 0; i < config.depth; i++) {
      const actions = enabledActions(world, config.bounds);
      const candidates = actions.filter((a) =>
        withinBounds(applyAction(world, config.cluster, a).world, config.bounds),
      );
      if (candidates.length === 0) break;
      const outcome = applyAction(world, config.cluster, candidates[Math.floor(next() * candidates.length)]!);
      world = outcome.world;
      steps.push(...outcome.steps);
    }
    const shapes = steps.map(shape);
    if (shapes.every((s) => seen.has(s))) continue;
    for (const s of shapes) seen.add(s);
    vectors.push(
      ...lifetimes(
        `${config.name}-${seed}`,
        steps.map((step) => ({ step, cluster: config.cluster })),
      ),
    );
  }
  return vectors;
};

/** The adapter's `init` for a process start from what its storage held (defaults left out). */
export const initOf = (config: RaftConfig, storage: NonNullable<StepTrace["storage"]>): Init => ({
  _tag: "init",
  config,
  quorumState: storage.quorumState,
  log: storage.log,
  ...(storage.recovering === true ? { recovering: true } : {}),
  ...(storage.firstCorrelationId !== undefined && storage.firstCorrelationId !== 1
    ? { firstCorrelationId: storage.firstCorrelationId }
    : {}),
});

/** Split a run's steps into one vector per node start (each step with the cluster it ran in). */
export const lifetimes = (
  source: string,
  steps: readonly { readonly step: StepTrace; readonly cluster: ClusterSpec }[],
  rules: readonly string[] = [],
): RaftVector[] => {
  type Open = VectorInProgress<RaftVector>;
  const vectors: Open[] = [];
  const current = new Map<number, Open>();
  const starts = new Map<number, number>();
  // Each node's state after its last step: a vector ends where the world changed it outside a step
  // (a transcript's `redirect`, R74's free choice made another way), since no input replays that.
  const last = new Map<number, NodeState>();
  for (const { step, cluster } of steps) {
    if (step.input._tag === "Start") {
      if (step.storage === undefined)
        throw new Error(`${source}: a start of node ${step.node} without its storage`);
      const k = starts.get(step.node) ?? 0;
      starts.set(step.node, k + 1);
      const vector: Open = {
        layer: "raft",
        name: `${source}/n${step.node}#${k}`,
        source,
        rules,
        init: initOf(step.config ?? nodeConfig(cluster, step.node), step.storage),
        start: { effects: step.effects, state: project(step.after) },
        steps: [],
      };
      vectors.push(vector);
      current.set(step.node, vector);
    } else {
      const previous = last.get(step.node);
      if (previous !== undefined && !sameContent(previous, step.before)) current.delete(step.node);
      current
        .get(step.node)
        ?.steps.push({ input: step.input, effects: step.effects, state: project(step.after) });
    }
    last.set(step.node, step.after);
  }
  return vectors;
};
