// Safety properties over random schedules of 3–5 node clusters: random delivery order, loss,
// duplication, timers firing at any moment, and crashes that lose whatever was not flushed.
// Rules: R134, R135, R136, R144, R145 (the properties), R14, R16, R29 (the step checks).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Bounds } from "./cluster/actions.ts";
import { DEFAULT_CLUSTER } from "./cluster/world.ts";
import { walk } from "./test/walk.ts";

const bounds: Bounds = {
  maxEpoch: 8,
  maxValues: 6,
  maxValuesPerEpoch: 2,
  maxCrashes: 3,
  maxDuplicates: 3,
  loss: true,
  network: "unordered",
};

const schedule = fc.record({
  voters: fc.integer({ min: 3, max: 5 }),
  observers: fc.integer({ min: 0, max: 1 }),
  preVote: fc.boolean(),
  checkQuorum: fc.boolean(),
  choices: fc.array(fc.nat({ max: 10_000 }), { minLength: 10, maxLength: 400 }),
});

describe("cluster safety over random schedules", () => {
  it("never breaks a safety property", () => {
    fc.assert(
      fc.property(schedule, ({ voters, observers, preVote, checkQuorum, choices }) => {
        const cluster = { ...DEFAULT_CLUSTER, voters, observers, preVote, checkQuorum };
        const result = walk(cluster, bounds, choices);
        if (result.violation !== null) {
          throw new Error(`${result.violation}\nafter:\n  ${result.trace.join("\n  ")}`);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("makes progress on schedules without faults: a leader is elected and values commit", () => {
    const calm: Bounds = { ...bounds, loss: false, maxCrashes: 0, maxDuplicates: 0 };
    let committedRuns = 0;
    fc.assert(
      fc.property(fc.array(fc.nat({ max: 10_000 }), { minLength: 300, maxLength: 300 }), (choices) => {
        const result = walk({ ...DEFAULT_CLUSTER, voters: 3 }, calm, choices);
        expect(result.violation).toBeNull();
        if (result.world.committed.some((e) => e % 65536 > 0)) committedRuns++;
      }),
      { numRuns: 100 },
    );
    // Random timers keep knocking leaders over, but some runs must get values committed.
    expect(committedRuns).toBeGreaterThan(0);
  });

  it("replays deterministically: the same schedule gives the same world", () => {
    fc.assert(
      fc.property(fc.array(fc.nat({ max: 10_000 }), { minLength: 50, maxLength: 150 }), (choices) => {
        const a = walk(DEFAULT_CLUSTER, bounds, choices);
        const b = walk(DEFAULT_CLUSTER, bounds, choices);
        expect(b.trace).toEqual(a.trace);
        expect(b.world).toEqual(a.world);
      }),
      { numRuns: 30 },
    );
  });
});
