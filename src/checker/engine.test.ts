// The search engine on small models whose answers are known, the spilled frontier, and the visited
// set.
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Frontier, search } from "./engine.ts";
import { countersModel } from "./test-models.ts";
import { VisitedSet } from "./visited.ts";
import { fingerprint, WordWriter } from "./words.ts";

/** The engine's toy model (test-models.ts): its answers are known. */
const counters = (limit: number, bad: number) => countersModel({ limit, bad });

describe("breadth-first search", () => {
  it("explores every state once and reports completeness", () => {
    const result = search(counters(5, 100), { mode: "bfs" });
    expect(result.result).toBe("ok");
    expect(result.complete).toBe(true);
    expect(result.distinctStates).toBe(36);
    expect(result.generatedStates).toBe(60);
    expect(result.maxDepth).toBe(10);
    expect(result.sometimesReached).toEqual(["BothFull", "Stepped"]);
  });

  it("with a depth bound, checks states that far without expanding them, and says so", () => {
    const bounded = search(counters(5, 100), { mode: "bfs", depth: 3 });
    expect(bounded).toMatchObject({
      result: "ok",
      complete: true,
      depthBound: 3,
      maxDepth: 3,
      distinctStates: 10,
    });
    expect(bounded.sometimesReached).toEqual(["Stepped"]);
    const loose = search(counters(5, 100), { mode: "bfs", depth: 50 });
    expect(loose.depthBound).toBeUndefined();
    expect(search(counters(5, 3), { mode: "bfs", depth: 3 }).result).toBe("violation");
  });

  it("finds a shortest counterexample and replays it", () => {
    const result = search(counters(5, 3), { mode: "bfs" });
    expect(result.result).toBe("violation");
    expect(result.property).toBe("SumBelow");
    expect(result.violation).toBe("sum 3");
    expect(result.trace?.map((t) => t.action)).toEqual([
      "initial state",
      "increment a",
      "increment a",
      "increment a",
    ]);
    expect(result.trace?.[3]?.nodes).toEqual(["a=3 b=0"]);
  });

  it("stops at a state limit and says the search is incomplete", () => {
    const result = search(counters(50, 1000), { mode: "bfs", maxStates: 100 });
    expect(result.result).toBe("incomplete");
    expect(result.complete).toBe(false);
    expect(result.stopReason).toBe("max-states");
    expect(result.distinctStates).toBe(100);
  });

  it("stops before growing past the memory budget instead of running out", () => {
    const result = search(counters(50, 1000), { mode: "bfs", maxMemoryMB: 1 });
    expect(result.result).toBe("incomplete");
    expect(result.stopReason).toBe("max-memory");
  });

  it("reports progress while it runs", () => {
    let reports = 0;
    let time = 0;
    search(counters(30, 1000), {
      mode: "bfs",
      now: () => (time += 10),
      progressIntervalMs: 1,
      onProgress: () => {
        reports++;
      },
    });
    expect(reports).toBeGreaterThan(0);
  });
});

describe("depth-first search and simulation", () => {
  it("depth-first search finds the violation and notes a cut depth", () => {
    expect(search(counters(5, 3), { mode: "dfs" }).result).toBe("violation");
    const cut = search(counters(5, 100), { mode: "dfs", depth: 4 });
    expect(cut.result).toBe("incomplete");
    expect(cut.stopReason).toBe("depth-bound");
    expect(search(counters(5, 100), { mode: "dfs", depth: 20 }).result).toBe("ok");
  });

  it("simulation is deterministic for a seed", () => {
    const a = search(counters(20, 25), { mode: "simulate", seed: 42, walks: 50, depth: 40 });
    const b = search(counters(20, 25), { mode: "simulate", seed: 42, walks: 50, depth: 40 });
    expect(a.result).toBe("violation");
    expect(b.trace).toEqual(a.trace);
    expect(a.walks).toBe(b.walks);
    const ok = search(counters(5, 100), { mode: "simulate", seed: 1, walks: 20, depth: 20 });
    expect(ok.result).toBe("ok");
    expect(ok.complete).toBe(false);
  });
});

describe("frontier", () => {
  it("gives back every entry in order, across a spill to disk", () => {
    const dir = mkdtempSync(join(tmpdir(), "frontier-test-"));
    try {
      fc.assert(
        fc.property(
          fc.array(fc.array(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), { maxLength: 40 }), {
            maxLength: 200,
          }),
          (entries) => {
            const frontier = new Frontier(() => dir, { writeBuffer: 256, readChunk: 64 });
            entries.forEach((words, i) => {
              frontier.push(i, Int32Array.from(words), words.length);
            });
            frontier.startReading();
            const into = new WordWriter();
            const back: number[][] = [];
            entries.forEach((_, i) => {
              expect(frontier.shift(into)).toBe(i);
              back.push(Array.from(into.toArray()));
            });
            expect(back).toEqual(entries);
            expect(frontier.count).toBe(0);
            frontier.dispose();
          },
        ),
        { numRuns: 60 },
      );
      expect(readdirSync(dir)).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("visited set", () => {
  it("finds what it holds, through growth, and rebuilds paths", () => {
    const set = new VisitedSet(16);
    const fp = new Int32Array(2);
    for (let i = 0; i < 5000; i++) {
      fingerprint(Int32Array.of(i), 1, fp);
      expect(set.find(fp[0]!, fp[1]!)).toBe(-1);
      set.add(fp[0]!, fp[1]!, i - 1, i % 3);
    }
    for (let i = 0; i < 5000; i++) {
      fingerprint(Int32Array.of(i), 1, fp);
      expect(set.find(fp[0]!, fp[1]!)).toBe(i);
    }
    expect(set.pathTo(3)).toEqual([0, 1, 2, 3]);
    expect(set.actions[4]).toBe(1);
    expect(set.bytes / set.size).toBeLessThan(40);
  });
});

describe("random simulation over a range of seeds", () => {
  // Walks of 22 attempts on counters bounded by 10 reach the sum 20 only when few attempts hit a
  // full counter: some seeds find the violation, others do not.
  const options = { mode: "simulate", walks: 1, depth: 22, livenessBound: 0 } as const;
  const model = counters(10, 20);

  it("runs each seed as a run with that seed alone would, and a failing seed replays alone", () => {
    const range = search(model, { ...options, seedRange: [1, 200] });
    expect(range.result).toBe("violation");
    const failing = range.seed!;
    expect(failing).toBeGreaterThan(1);
    expect(range.lastSeedDone).toBe(failing - 1);
    const alone = search(model, { ...options, seed: failing });
    expect(alone.result).toBe("violation");
    expect(alone.trace).toEqual(range.trace);
    for (let seed = 1; seed < failing; seed++) expect(search(model, { ...options, seed }).result).toBe("ok");
  });

  it("reports the seeds it ran when none fails", () => {
    const range = search(counters(10, 100), { ...options, seedRange: [7, 11] });
    expect(range).toMatchObject({ result: "ok", walks: 5, seedRange: [7, 11], lastSeedDone: 11 });
  });
});
