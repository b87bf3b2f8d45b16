// The checker's reductions (symmetry, stale messages, message copies, check-quorum fetches, self-loops:
// src/checker/reductions.ts) each rest on a claim about the reducers. A reduction that is wrong hides
// behaviours, and with them counterexamples. So seeded bugs are checked with every reduction on and
// with none: the same property must break, in a counterexample of the same length (both searches are
// breadth-first). The whole suite is `npm run mutants -- --reductions compare` (minutes); these are
// the mutants it decides in about a second each, with every reduction represented: ones whose exact
// search holds stale answers, copies and check-quorum fetches the reduced one leaves out, symmetric
// voters, the generic codec of dynamic voter sets and the metadata model.
import { describe, expect, it } from "vitest";
import { MUTANTS } from "./mutants.ts";
import { compareReductions, runBothWays } from "./run-mutants.ts";

const CHOSEN = [
  "no-check-quorum-resignation",
  "vote-twice-in-an-epoch",
  "fetch-before-flush",
  "leader-change-record-not-flushed",
  "resigned-stays-in-its-epoch",
  "stale-epoch-write-accepted",
  "restart-forgets-vote",
  "leader-counts-unflushed-records",
  "voter-change-while-pending",
  "unfence-before-caught-up",
  "snapshot-above-high-watermark",
];

describe("reductions change no verdict", () => {
  for (const name of CHOSEN) {
    it(`${name}: the same counterexample length with every reduction and with none`, async () => {
      const mutant = MUTANTS.find((m) => m.name === name);
      if (mutant === undefined) throw new Error(`no mutant named ${name} in model-tests/mutants.ts`);
      const { reduced, exact } = await runBothWays(mutant, 60, 1);
      expect(reduced.caught).toBe(true);
      expect(exact.caught).toBe(true);
      // Lengths are compared only for the searches' own (shortest) counterexamples.
      expect(reduced.scheduleFrom).toBeUndefined();
      expect(exact.scheduleFrom).toBeUndefined();
      expect(exact.property).toBe(reduced.property);
      expect(exact.depth).toBe(reduced.depth);
      expect(compareReductions(reduced, exact).verdict).toBe("agree");
      // The exact search really is larger: the reductions had something to merge.
      expect(exact.distinctStates).toBeGreaterThan(reduced.distinctStates);
    }, 120_000);
  }
});

describe("comparing a reduced search with an exact one", () => {
  const base = { name: "m", class: "protocol", rule: "R1", seconds: 1, distinctStates: 10 };
  const caught = (depth: number, more = {}) => ({
    ...base,
    caught: true,
    property: "P",
    depth,
    maxDepth: depth,
    result: "violation",
    ...more,
  });
  const incomplete = (maxDepth: number) => ({ ...base, caught: false, maxDepth, result: "incomplete" });

  it("tells agreement, a difference and a search that could not tell apart", () => {
    expect(compareReductions(caught(5), caught(5)).verdict).toBe("agree");
    expect(compareReductions(caught(5), caught(6)).verdict).toBe("differ");
    // The exact search went past depth 5 without a violation: the reduced one invented it.
    expect(compareReductions(caught(5), incomplete(7)).verdict).toBe("differ");
    expect(compareReductions(caught(5), incomplete(5)).verdict).toBe("inconclusive");
    expect(compareReductions(incomplete(7), caught(5)).verdict).toBe("differ");
    expect(compareReductions({ ...base, caught: false, maxDepth: 9, result: "ok" }, caught(9)).verdict).toBe(
      "differ",
    );
    // A fair schedule's counterexample is not the shortest: only the verdict is compared.
    expect(compareReductions(caught(5), caught(9, { scheduleFrom: 3 })).verdict).toBe("agree");
  });
});
