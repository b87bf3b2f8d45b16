// The Raft model's canonical encoding: stable under decoding, identical for symmetric states, and
// the reductions (symmetry, skipped self-loops) never change a verdict.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DEFAULT_BOUNDS } from "../../spec/cluster/actions.ts";
import { DEFAULT_CLUSTER, type World } from "../../spec/cluster/world.ts";
import { search } from "./engine.ts";
import { decodeWorld, encodeCanonical, encodeWith } from "./raft-codec.ts";
import { raftModel } from "./raft-model.ts";
import { Random } from "./random.ts";
import { WordWriter } from "./words.ts";

const cluster = { ...DEFAULT_CLUSTER, voters: 3 };
const bounds = { ...DEFAULT_BOUNDS, maxEpoch: 3, maxValues: 2, maxCrashes: 1, maxDuplicates: 1 };
const model = raftModel({ cluster, bounds, symmetry: true });

/** States reached by seeded random walks. */
const reachable = (seed: number, walks: number, depth: number): World[] => {
  const random = new Random(seed);
  const worlds: World[] = [];
  for (let w = 0; w < walks; w++) {
    let state = model.initialStates()[0]!;
    for (let d = 0; d < depth; d++) {
      const count = model.actionCount(state);
      if (count === 0) break;
      const next = model.step(state, random.below(count));
      if (next === null) continue;
      state = next.state;
      worlds.push(state);
    }
  }
  return worlds;
};

const encode = (w: World, symmetry = true): number[] => {
  const writer = new WordWriter();
  encodeCanonical(writer, w, cluster, symmetry);
  return Array.from(writer.toArray());
};

const worlds = reachable(11, 60, 60);

describe("canonical encoding", () => {
  it("is stable: decoding and encoding again gives the same words", () => {
    for (const w of worlds) {
      const words = Int32Array.from(encode(w));
      expect(encode(decodeWorld(words, 0, words.length, cluster))).toEqual(Array.from(words));
    }
  });

  it("encodes every relabelling of the voters identically", () => {
    const permutations = [
      [0, 1, 2],
      [1, 0, 2],
      [2, 1, 0],
      [0, 2, 1],
      [1, 2, 0],
      [2, 0, 1],
    ];
    fc.assert(
      fc.property(fc.constantFrom(...worlds), fc.constantFrom(...permutations), (w, order) => {
        const writer = new WordWriter();
        encodeWith(writer, w, cluster, Int32Array.from(order));
        const relabelled = decodeWorld(writer.toArray(), 0, writer.length, cluster);
        expect(encode(relabelled)).toEqual(encode(w));
      }),
      { numRuns: 300 },
    );
  });

  it("tells apart states that differ", () => {
    const distinct = new Set(worlds.map((w) => encode(w, false).join(",")));
    const canonical = new Set(worlds.map((w) => encode(w).join(",")));
    expect(canonical.size).toBeGreaterThan(100);
    expect(canonical.size).toBeLessThanOrEqual(distinct.size);
  });
});

describe("reductions keep the verdict", () => {
  const small = {
    cluster: { ...DEFAULT_CLUSTER, voters: 2 },
    bounds: { ...DEFAULT_BOUNDS, maxEpoch: 1, maxValues: 1, maxCrashes: 1 },
  };

  it("skipping self-loops changes neither the states found nor the result", () => {
    const skipped = search(raftModel({ ...small, symmetry: true }), { mode: "bfs" });
    const all = search(raftModel({ ...small, symmetry: true, reductions: { selfLoops: false } }), {
      mode: "bfs",
    });
    expect(skipped.result).toBe("ok");
    expect(all.result).toBe("ok");
    expect(skipped.distinctStates).toBe(all.distinctStates);
    expect(skipped.generatedStates).toBeLessThan(all.generatedStates);
  });

  it("symmetry merges states without changing the result or what is reached", () => {
    const symmetric = search(raftModel({ ...small, symmetry: true }), { mode: "bfs" });
    const plain = search(raftModel({ ...small, symmetry: false }), { mode: "bfs" });
    expect(symmetric.result).toBe(plain.result);
    expect(symmetric.distinctStates).toBeLessThan(plain.distinctStates);
    expect(symmetric.sometimesReached).toEqual(plain.sometimesReached);
  });
});
