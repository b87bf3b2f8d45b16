// The checker's proof, to a depth bound, that one corrupt disk loses no committed record (R146): every
// behaviour of up to CORRUPTION_DEPTH steps from a committed value, with one crash and one bad record
// on the stopped node's disk, keeps every safety property, and from each of their states the fair
// schedule reaches every liveness goal (the corrupt node recovers and catches up). Then the same
// for a corruption in flight: a Fetch answer whose batch epoch a flipped bit raised (R66).
import { availableParallelism } from "node:os";
import { describe, expect, it } from "vitest";
import { search } from "../src/checker/engine.ts";
import { raftModel } from "../src/checker/raft-model.ts";
import {
  CORRUPTION_CONFIGURATION,
  CORRUPTION_DEPTH,
  CORRUPTION_DISTINCT_STATES,
  FORGED_EPOCH_CONFIGURATION,
  FORGED_EPOCH_DEPTH,
  FORGED_EPOCH_DISTINCT_STATES,
} from "./configurations.ts";

/** Every core: the outcome is the same for any number of workers (src/checker/parallel.test.ts). */
const WORKERS = availableParallelism();

const CHECKS = [
  {
    fault: "a corrupt disk",
    claim: "loses no committed record in any behaviour within the depth bound",
    label: "corrupt-disk",
    configuration: CORRUPTION_CONFIGURATION,
    depth: CORRUPTION_DEPTH,
    distinctStates: CORRUPTION_DISTINCT_STATES,
  },
  {
    fault: "a forged batch epoch",
    claim: "keeps every record's epoch one a leader had, and every follower catches up",
    label: "forged-epoch",
    configuration: FORGED_EPOCH_CONFIGURATION,
    depth: FORGED_EPOCH_DEPTH,
    distinctStates: FORGED_EPOCH_DISTINCT_STATES,
  },
];

for (const check of CHECKS) {
  describe(`model checking in CI: ${check.fault}`, () => {
    it(check.claim, () => {
      const result = search(raftModel(check.configuration), {
        mode: "bfs",
        workers: WORKERS,
        depth: check.depth,
        maxSeconds: 900,
      });
      expect(result.violation).toBeUndefined();
      expect(result.result).toBe("ok");
      expect(result.depthBound).toBe(check.depth);
      expect(result.distinctStates).toBe(check.distinctStates);
      console.log(
        `CI ${check.label} check: ${result.distinctStates} distinct states to depth ${check.depth}, ${result.liveness?.states} timed states, ${result.seconds.toFixed(1)} s`,
      );
    }, 900_000);
  });
}
