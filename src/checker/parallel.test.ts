// The search's outcome does not depend on how many threads expand states: the same counts, the same
// counterexample, the same stop, whatever --workers says.
import { describe, expect, it } from "vitest";
import {
  CORRUPTION_CONFIGURATION,
  DISK_REPLACEMENT_CONFIGURATION,
  RECONFIGURATION_CONFIGURATION,
  SNAPSHOT_CONFIGURATION,
  SNAPSHOT_DISTINCT_STATES,
} from "../../model-tests/configurations.ts";
import { metadataConfigOfArgs } from "../cli/check.ts";
import { type SearchOptions, type SearchResult, search } from "./engine.ts";
import { metadataModel } from "./metadata-model.ts";
import type { Model } from "./model.ts";
import { raftModel } from "./raft-model.ts";
import { cornerModel, countersModel, raftModelBroken } from "./test-models.ts";

/** What a search decides (not how long it took or how much memory it used). */
const outcome = <S>(r: SearchResult<S>) => ({
  result: r.result,
  complete: r.complete,
  stopReason: r.stopReason,
  property: r.property,
  violation: r.violation,
  distinctStates: r.distinctStates,
  generatedStates: r.generatedStates,
  maxDepth: r.maxDepth,
  depthBound: r.depthBound,
  sometimesReached: r.sometimesReached,
  sometimesMissed: r.sometimesMissed,
  stuck: r.stuck,
  trace: r.trace,
});

/** Search with one thread and with two workers (started at once), and compare. */
const sameWithWorkers = <S>(model: Model<S>, options: Omit<SearchOptions, "mode">) => {
  const one = search(model, { mode: "bfs", ...options, workers: 1 });
  const two = search(model, { mode: "bfs", ...options, workers: 2, parallelFrom: 1 });
  expect(one.workers).toBe(1);
  expect(two.workers).toBe(2);
  expect(outcome(two)).toEqual(outcome(one));
  return one;
};

describe("breadth-first search with worker threads", () => {
  it("gives the same shortest counterexample and counts as one thread (a toy model)", () => {
    const result = sameWithWorkers(countersModel({ limit: 30, bad: 25 }), {});
    expect(result.result).toBe("violation");
    expect(result.trace).toHaveLength(26);
  });

  it("gives the same complete result (a toy model)", () => {
    const result = sameWithWorkers(countersModel({ limit: 40, bad: 1000 }), {});
    expect(result.distinctStates).toBe(41 * 41);
    expect(result.sometimesReached).toEqual(["BothFull", "Stepped"]);
  });

  it("finds the same Raft safety counterexample, step for step", () => {
    const model = raftModelBroken({ raft: { ...SNAPSHOT_CONFIGURATION, start: "fresh" }, broken: "safety" });
    const result = sameWithWorkers(model, { livenessBound: 0 });
    expect(result.property).toBe("NothingCommitted");
  }, 120_000);

  it("reports the shortest safety counterexample even when a fair schedule breaks the property sooner", () => {
    // The fair schedule of the very first states commits a value and breaks NothingCommitted; judging
    // liveness must set that aside, not report it, so that the search finds its own shortest way.
    const model = raftModelBroken({ raft: { ...SNAPSHOT_CONFIGURATION, start: "fresh" }, broken: "safety" });
    const safetyOnly = search(model, { mode: "bfs", livenessBound: 0, workers: 1 });
    const result = sameWithWorkers(model, {});
    expect(result.property).toBe("NothingCommitted");
    expect(result.stuck).toBeUndefined();
    expect(result.trace?.map((t) => t.action)).toEqual(safetyOnly.trace?.map((t) => t.action));
  }, 120_000);

  it("reports a fair schedule's counterexample when no shorter one turns up soon", () => {
    // The search's own counterexample lies 2 × 699 steps deep, past all 490,000 states; the schedule's
    // (699 steps from the first state) is reported once the search holds 200,000 more states.
    const result = sameWithWorkers(cornerModel({ limit: 700 }), {});
    expect(result.property).toBe("NotInCorner");
    expect(result.trace).toHaveLength(700);
    expect(result.scheduleFrom).toBe(0);
    expect(result.distinctStates).toBeGreaterThan(200_000);
    expect(result.distinctStates).toBeLessThan(205_000);
    // Stopped by a state limit first, it reports the schedule's counterexample all the same.
    const stopped = search(cornerModel({ limit: 700 }), { mode: "bfs", maxStates: 500 });
    expect(stopped.result).toBe("violation");
    expect(stopped.trace).toHaveLength(700);
  });

  it("reports a fair schedule's counterexample once it has looked as deep as that is long", () => {
    // 29 steps from the first state: after every state of up to 28 steps (435 of them), nothing
    // shorter can exist.
    const result = sameWithWorkers(cornerModel({ limit: 30 }), {});
    expect(result.trace).toHaveLength(30);
    expect(result.distinctStates).toBe(435);
  });

  it("finds the same Raft liveness counterexample, fair schedule included", () => {
    const model = raftModelBroken({
      raft: { ...SNAPSHOT_CONFIGURATION, start: "fresh" },
      broken: "liveness",
    });
    const result = sameWithWorkers(model, {});
    expect(result.property).toBe("EventuallyNever");
    expect(result.stuck).toBeDefined();
  }, 120_000);

  it("explores the snapshot configuration to the pinned count, liveness included", () => {
    const result = sameWithWorkers(raftModel(SNAPSHOT_CONFIGURATION), {});
    expect(result.result).toBe("ok");
    expect(result.distinctStates).toBe(SNAPSHOT_DISTINCT_STATES);
  }, 300_000);

  it("stops at the same depth bound and the same state limit", () => {
    sameWithWorkers(raftModel(CORRUPTION_CONFIGURATION), { depth: 6 });
    sameWithWorkers(raftModel(CORRUPTION_CONFIGURATION), { maxStates: 5000 });
  }, 300_000);

  it("explores voter changes (the generic codec, strings numbered in a table all threads share) to the same count", () => {
    const result = sameWithWorkers(raftModel(RECONFIGURATION_CONFIGURATION), { depth: 7 });
    expect(result.result).toBe("ok");
    expect(result.distinctStates).toBeGreaterThan(5_000);
  }, 300_000);

  it("judges a kraft.version 1 model's liveness alike with workers (replaced disks, auto-join)", () => {
    const result = sameWithWorkers(raftModel(DISK_REPLACEMENT_CONFIGURATION), { depth: 6 });
    expect(result.result).toBe("ok");
    expect(result.distinctStates).toBe(26_918);
  }, 300_000);

  it("stays on one thread for a model no worker can rebuild", () => {
    const base = countersModel({ limit: 10, bad: 100 });
    const derived: Model<readonly [number, number]> = { ...base, name: "derived" };
    const result = search(derived, { mode: "bfs", workers: 2, parallelFrom: 1 });
    expect(result.workers).toBe(1);
    expect(result.distinctStates).toBe(121);
  });

  it("explores the metadata model to the same count as one thread (kraft check --quick's bounds, depth 8)", () => {
    const config = metadataConfigOfArgs(["--model", "metadata", "--quick", "--depth", "8"]);
    // As kraft check searches it: liveness is judged by random walks, not in the bfs.
    const result = sameWithWorkers(metadataModel(config), { depth: 8, livenessBound: 0 });
    expect(result.result).toBe("ok");
    expect(result.distinctStates).toBe(21_212);
  }, 300_000);
});
