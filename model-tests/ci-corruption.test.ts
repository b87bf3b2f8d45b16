// The checker's proof, to a depth bound, that one corrupt disk loses no committed record (R146): every
// behaviour of up to CORRUPTION_DEPTH steps from a committed value, with one crash and one bad record
// on the stopped node's disk, keeps every safety property, and from each of their states the fair
// schedule reaches every liveness goal (the corrupt node recovers and catches up).
import { availableParallelism } from "node:os";
import { describe, expect, it } from "vitest";
import { search } from "../src/checker/engine.ts";
import { raftModel } from "../src/checker/raft-model.ts";
import { CORRUPTION_CONFIGURATION, CORRUPTION_DEPTH, CORRUPTION_DISTINCT_STATES } from "./configurations.ts";

/** Every core: the outcome is the same for any number of workers (src/checker/parallel.test.ts). */
const WORKERS = availableParallelism();

describe("model checking in CI: a corrupt disk", () => {
  it("loses no committed record in any behaviour within the depth bound", () => {
    const result = search(raftModel(CORRUPTION_CONFIGURATION), {
      mode: "bfs",
      workers: WORKERS,
      depth: CORRUPTION_DEPTH,
      maxSeconds: 900,
    });
    expect(result.violation).toBeUndefined();
    expect(result.result).toBe("ok");
    expect(result.depthBound).toBe(CORRUPTION_DEPTH);
    expect(result.distinctStates).toBe(CORRUPTION_DISTINCT_STATES);
    console.log(
      `CI corrupt-disk check: ${result.distinctStates} distinct states to depth ${CORRUPTION_DEPTH}, ${result.liveness?.states} timed states, ${result.seconds.toFixed(1)} s`,
    );
  }, 900_000);
});
