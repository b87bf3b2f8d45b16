// The model checker's CI run for the metadata model (controllers and brokers over Raft): every
// reachable state at kraft check's default bounds, with its distinct-state count pinned, and seeded random walks
// with every kind of fault whose ends are judged on the fair schedule (liveness).
import { availableParallelism } from "node:os";
import { describe, expect, it } from "vitest";
import { DEFAULT_META_BOUNDS } from "../spec/cluster/metadata-actions.ts";
import { search } from "../src/checker/engine.ts";
import { adminOpsOf, metadataModel } from "../src/checker/metadata-model.ts";
import { CHECK_FLAGS, metadataConfigFrom } from "../src/cli/check.ts";
import { parseFlags } from "../src/cli/flags.ts";
import { METADATA_CI_DISTINCT_STATES } from "./configurations.ts";

/** Every core: the outcome is the same for any number of workers (src/checker/parallel.test.ts). */
const WORKERS = availableParallelism();

describe("model checking in CI: the metadata model", () => {
  it("checks the metadata model at the defaults of kraft check --model metadata: a complete search", () => {
    const config = metadataConfigFrom(parseFlags(CHECK_FLAGS, ["--model", "metadata"]).values);
    // As kraft check does for the metadata model's bfs: liveness is judged by the walks below.
    const result = search(metadataModel(config), {
      mode: "bfs",
      workers: WORKERS,
      maxSeconds: 1800,
      livenessBound: 0,
    });
    expect(result.violation).toBeUndefined();
    expect(result.result).toBe("ok");
    expect(result.complete).toBe(true);
    expect(result.depthBound).toBeUndefined();
    expect(result.distinctStates).toBe(METADATA_CI_DISTINCT_STATES);
    // A failover that fails pending writes needs a leader that resigns, which a crash does not make.
    expect(result.sometimesMissed).toEqual(["FailoverFailedPending"]);
    console.log(
      `CI metadata model check: ${result.distinctStates} distinct states, complete, ${result.seconds.toFixed(1)} s`,
    );
  }, 1_800_000);

  it("finds no metadata violation, and every walk's end reaches every liveness goal, with every kind of fault and an admin client", () => {
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
        maxForgedFrames: 1,
        raftLoss: true,
        metaLoss: true,
        // Asked of any node, in any state (R148): each request must get an answer or fail back.
        adminOps: adminOpsOf(["create-topic", "create-partitions", "elect-leaders", "delete-topic"]),
      },
    });
    const result = search(model, { mode: "simulate", seed: 20261124, walks: 200, depth: 200 });
    expect(result.violation).toBeUndefined();
    expect(result.result).toBe("ok");
    expect(result.sometimesMissed).toEqual([]);
    expect(result.liveness?.properties).toHaveLength(6);
  }, 600_000);

  it("with snapshots: nodes snapshot and move their log start, lagging ones download and load a snapshot, and every property holds", () => {
    const config = metadataConfigFrom(
      parseFlags(CHECK_FLAGS, ["--model", "metadata", "--brokers", "2", "--snapshots"]).values,
    );
    const model = metadataModel({
      ...config,
      bounds: {
        ...config.bounds,
        maxEpoch: 3,
        maxLogLength: 30,
        maxControllerCrashes: 1,
        maxBrokerCrashes: 2,
        maxSessionExpiries: 1,
        maxDelays: 2,
      },
    });
    const result = search(model, { mode: "simulate", seed: 20261203, walks: 300, depth: 150 });
    expect(result.violation).toBeUndefined();
    expect(result.result).toBe("ok");
    // SnapshotInstalled is reached: some walk downloads a snapshot and loads it. (No admin client
    // writes here, so no write is pending at a failover.)
    expect(result.sometimesMissed).toEqual(["FailoverFailedPending"]);
  }, 600_000);
});
