import { DEFAULT_BOUNDS } from "../spec/cluster/actions.ts";
import { DEFAULT_CLUSTER } from "../spec/cluster/world.ts";
import { search } from "../src/checker/engine.ts";
import { raftModel } from "../src/checker/raft-model.ts";

const base = raftModel({
  cluster: DEFAULT_CLUSTER,
  bounds: { ...DEFAULT_BOUNDS, maxCrashes: 0 },
  symmetry: true,
});
const model = {
  ...base,
  properties: [
    {
      kind: "always",
      name: "NoValueCommitted",
      rules: "R1",
      check: (w: any) =>
        w.nodes.some((n: any) => n.state !== null && n.state.highWatermark >= 2) ? "a value committed" : null,
    },
  ],
} as any;
const result = search(model, { mode: "bfs", maxSeconds: 60 });
console.log(result.result, result.trace?.length);
for (const s of result.trace ?? [])
  console.log(s.step, s.action, s.command === undefined ? "<<NO COMMAND>>" : s.command);
