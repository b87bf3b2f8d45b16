// The model checker's CI run for the Raft model: an exhaustive search of a lossy three-voter cluster,
// liveness included, with the distinct-state count pinned so that any change to the model shows up
// (update the number when the change is deliberate), and seeded random walks deeper than exhaustive
// search can reach. The corrupt-disk and metadata runs are in ci-corruption and ci-metadata.
import { availableParallelism } from "node:os";
import { describe, expect, it } from "vitest";
import { DEFAULT_BOUNDS } from "../spec/cluster/actions.ts";
import { DEFAULT_CLUSTER } from "../spec/cluster/world.ts";
import { search } from "../src/checker/engine.ts";
import { raftModel } from "../src/checker/raft-model.ts";
import {
  CI_CONFIGURATION,
  CI_DISTINCT_STATES,
  SNAPSHOT_CONFIGURATION,
  SNAPSHOT_DISTINCT_STATES,
} from "./configurations.ts";

/** Every core: the outcome is the same for any number of workers (src/checker/parallel.test.ts). */
const WORKERS = availableParallelism();

describe("model checking in CI: the Raft model", () => {
  it("explores every state of the CI configuration and finds no violation, liveness included", () => {
    const result = search(raftModel(CI_CONFIGURATION), { mode: "bfs", workers: WORKERS, maxSeconds: 900 });
    expect(result.violation).toBeUndefined();
    expect(result.result).toBe("ok");
    expect(result.complete).toBe(true);
    expect(result.distinctStates).toBe(CI_DISTINCT_STATES);
    expect(result.sometimesReached).toEqual(["LeaderElected", "ValueCommitted", "CheckQuorumResigned"]);
    expect(result.liveness?.properties).toEqual([
      "EventuallyStableLeader",
      "EventuallyWritesResolved",
      "EventuallyCaughtUp",
      "EventuallyLeaderWithoutQuorumResigns",
    ]);
    console.log(
      `CI model check: ${result.distinctStates} distinct states, ${result.generatedStates} generated, depth ${result.maxDepth}, ${result.liveness?.states} timed states on fair schedules, ${result.seconds.toFixed(1)} s`,
    );
  }, 1_200_000);

  it("explores every state of the snapshot configuration (R77–R84) and finds no violation, liveness included", () => {
    const result = search(raftModel(SNAPSHOT_CONFIGURATION), {
      mode: "bfs",
      workers: WORKERS,
      maxSeconds: 600,
    });
    expect(result.violation).toBeUndefined();
    expect(result.result).toBe("ok");
    expect(result.complete).toBe(true);
    expect(result.distinctStates).toBe(SNAPSHOT_DISTINCT_STATES);
    console.log(
      `snapshot model check: ${result.distinctStates} distinct states, depth ${result.maxDepth}, ${result.seconds.toFixed(1)} s`,
    );
  }, 900_000);

  it("finds no violation in seeded random walks with epochs, values, crashes, an observer and a corrupt disk", () => {
    const model = raftModel({
      cluster: { ...DEFAULT_CLUSTER, voters: 3, observers: 1 },
      bounds: {
        ...DEFAULT_BOUNDS,
        maxEpoch: 4,
        maxValues: 3,
        maxValuesPerEpoch: 1,
        maxCrashes: 2,
        maxDuplicates: 2,
        maxCorruptions: 1,
      },
      symmetry: true,
    });
    const result = search(model, { mode: "simulate", seed: 20261124, walks: 3000, depth: 150 });
    expect(result.violation).toBeUndefined();
    expect(result.result).toBe("ok");
    expect(result.sometimesMissed).toEqual([]);
    expect(result.liveness?.states).toBeGreaterThan(0);
  }, 300_000);
});
