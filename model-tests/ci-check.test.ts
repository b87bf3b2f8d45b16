// The model checker's CI run: an exhaustive search of a lossy three-voter cluster, with the
// distinct-state count pinned so that any change to the model shows up (update the number when the
// change is deliberate), and seeded random walks deeper than exhaustive search can reach.
import { describe, expect, it } from "vitest";
import { DEFAULT_BOUNDS } from "../spec/cluster/actions.ts";
import { DEFAULT_CLUSTER } from "../spec/cluster/world.ts";
import { search } from "../src/checker/engine.ts";
import { raftModel } from "../src/checker/raft-model.ts";
import { CI_CONFIGURATION, CI_DISTINCT_STATES } from "./configurations.ts";

describe("model checking in CI", () => {
  it("explores every state of the CI configuration and finds no violation", () => {
    const result = search(raftModel(CI_CONFIGURATION), { mode: "bfs", maxSeconds: 600 });
    expect(result.violation).toBeUndefined();
    expect(result.result).toBe("ok");
    expect(result.complete).toBe(true);
    expect(result.distinctStates).toBe(CI_DISTINCT_STATES);
    expect(result.sometimesReached).toEqual(["LeaderElected", "ValueCommitted", "CheckQuorumResigned"]);
    console.log(
      `CI model check: ${result.distinctStates} distinct states, ${result.generatedStates} generated, depth ${result.maxDepth}, ${result.seconds.toFixed(1)} s, ${Math.round(result.distinctPerSecond)} states/s`,
    );
  }, 900_000);

  it("finds no violation in seeded random walks with three epochs, values and a crash", () => {
    const model = raftModel({
      cluster: { ...DEFAULT_CLUSTER, voters: 3 },
      bounds: {
        ...DEFAULT_BOUNDS,
        maxEpoch: 4,
        maxValues: 3,
        maxValuesPerEpoch: 1,
        maxCrashes: 2,
        maxDuplicates: 2,
      },
      symmetry: true,
    });
    const result = search(model, { mode: "simulate", seed: 20261124, walks: 3000, depth: 150 });
    expect(result.violation).toBeUndefined();
    expect(result.result).toBe("ok");
    expect(result.sometimesMissed).toEqual([]);
  }, 300_000);
});
