// Node id 0. Kafka's node.id may be 0, and many deployments number their nodes from 0; an
// implementation that takes 0 for "no node" (an unset field, a sentinel where Kafka uses -1) breaks
// only there. The transcripts and walks number nodes from 1, so the Raft vectors of every transcript
// and of the adversarial walks are also given renumbered (in one file): every node id one lower, so that node 1 becomes node 0. Only ids move (-1,
// "none", stays); every other number is as it was. A renumbered vector is kept only when the spec,
// run on its inputs, does exactly what it says at every step: that shows the renumbering complete (a
// node id left behind would change what the spec does), and leaves out the runs where a choice the
// spec makes from an id's value rather than its order (which voter a leaderless node asks first, R74)
// comes out another way.
import { step } from "../spec/raft/step.ts";
import { startRaftVector } from "./marks.ts";
import { project, type RaftVector } from "./protocol.ts";

/** The fields of a Raft vector (inputs, effects, projections, configuration) that hold node ids. */
const NODE_ID_FIELDS = new Set([
  "nodeId",
  "id",
  "leaderId",
  "votedId",
  "voterId",
  "replicaId",
  "from",
  "to",
  "destination",
]);

/** Whether a source's Raft vectors are also given with node ids from 0: every transcript's, and the adversarial walks'. */
export const isRenumbered = (source: string): boolean =>
  /^\d+-/.test(source) || source === "adversarial-raft";

const lower = (value: unknown, key: string | undefined): unknown => {
  if (Array.isArray(value)) return value.map((item) => lower(item, undefined));
  if (value !== null && typeof value === "object")
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, lower(v, k)]));
  if (typeof value === "number" && key !== undefined && NODE_ID_FIELDS.has(key) && value >= 1)
    return value - 1;
  return value;
};

/**
 * `vector` with every node id one lower, under its own source and name: `renumbered-…/id0#0` for the
 * lifetime `…/n1#0` (named by id, so that a filter naming the original does not also pick it).
 */
export const renumbered = (vector: RaftVector): RaftVector => {
  const source = `renumbered-${vector.source}`;
  const [, node, lifetime] = /\/n(\d+)#(\d+)$/.exec(vector.name) ?? [];
  if (node === undefined) throw new Error(`renumber: vector name ${vector.name} does not end in /nID#K`);
  return {
    ...(lower(vector, undefined) as RaftVector),
    source,
    name: `${source}/id${Number(node) - 1}#${lifetime}`,
  };
};

/** An effect as the judge compares it: an IllegalState's words are the implementation's own. */
const judged = (effects: readonly unknown[]): string =>
  JSON.stringify(
    effects.map((e) =>
      e !== null && typeof e === "object" && (e as { _tag?: unknown })._tag === "IllegalState"
        ? { ...e, detail: "" }
        : e,
    ),
  );

/**
 * The vector the spec gives on `vector`'s inputs (its own effects, IllegalState words included), or
 * null when the spec does anything else than `vector` says at some step.
 */
export const asTheSpecRunsIt = (vector: RaftVector): RaftVector | null => {
  const { init } = vector;
  const start = startRaftVector(init);
  const agrees = (
    effects: RaftVector["start"]["effects"],
    state: RaftVector["start"]["state"],
    expected: RaftVector["start"],
  ): boolean =>
    judged(effects) === judged(expected.effects) && JSON.stringify(state) === JSON.stringify(expected.state);
  const startState = project(start.state);
  if (!agrees(start.effects, startState, vector.start)) return null;
  let state = start.state;
  const steps: RaftVector["steps"][number][] = [];
  for (const s of vector.steps) {
    const result = step(state, s.input, init.config);
    const projected = project(result.state);
    if (!agrees(result.effects, projected, s)) return null;
    steps.push({ input: s.input, effects: result.effects, state: projected });
    state = result.state;
  }
  return { ...vector, start: { effects: start.effects, state: startState }, steps };
};
