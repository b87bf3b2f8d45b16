// The model checker's CI run: an exhaustive search of a lossy three-voter cluster, with the
// distinct-state count pinned so that any change to the model shows up (update the number when the
// change is deliberate), and seeded random walks deeper than exhaustive search can reach.
import { describe, expect, it } from "vitest";
import { DEFAULT_BOUNDS } from "../spec/cluster/actions.ts";
import { DEFAULT_META_BOUNDS } from "../spec/cluster/metadata-actions.ts";
import { DEFAULT_CLUSTER } from "../spec/cluster/world.ts";
import { search } from "../src/checker/engine.ts";
import { metadataModel } from "../src/checker/metadata-model.ts";
import { raftModel } from "../src/checker/raft-model.ts";
import { CHECK_FLAGS, metadataConfigFrom } from "../src/cli/check.ts";
import { parseFlags } from "../src/cli/flags.ts";
import { CI_CONFIGURATION, CI_DISTINCT_STATES, METADATA_CI_DISTINCT_STATES } from "./configurations.ts";

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

  it("checks the metadata model at the defaults of kraft check --model metadata", () => {
    const config = metadataConfigFrom(parseFlags(CHECK_FLAGS, ["--model", "metadata"]).values);
    const result = search(metadataModel(config), { mode: "bfs", depth: 14, maxSeconds: 600 });
    expect(result.violation).toBeUndefined();
    expect(result.result).toBe("ok");
    expect(result.depthBound).toBe(14);
    expect(result.distinctStates).toBe(METADATA_CI_DISTINCT_STATES);
    expect(result.sometimesMissed).toEqual([]);
    console.log(
      `CI metadata model check: ${result.distinctStates} distinct states to depth ${result.depthBound}, ${result.seconds.toFixed(1)} s`,
    );
  }, 900_000);

  it("finds no metadata violation in seeded random walks with every kind of fault", () => {
    const config = metadataConfigFrom(
      parseFlags(CHECK_FLAGS, ["--model", "metadata", "--brokers", "3", "--partitions", "2"]).values,
    );
    const model = metadataModel({
      ...config,
      bounds: {
        ...DEFAULT_META_BOUNDS,
        maxEpoch: 4,
        maxLogLength: 40,
        maxControllerCrashes: 1,
        maxBrokerCrashes: 2,
        maxSessionExpiries: 2,
        maxDelays: 2,
        maxControlledShutdowns: 1,
        raftLoss: true,
        metaLoss: true,
      },
    });
    const result = search(model, { mode: "simulate", seed: 20261124, walks: 400, depth: 200 });
    expect(result.violation).toBeUndefined();
    expect(result.result).toBe("ok");
    expect(result.sometimesMissed).toEqual([]);
  }, 600_000);
});
