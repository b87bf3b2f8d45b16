import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { EQUIVALENT_SITES } from "./equivalent.ts";
import { loadVectors } from "./runner.ts";
import { allSites, judgeSite, knownSite, sample } from "./sweep-mutants.ts";

describe("conformance:sweep", () => {
  const sites = allSites();

  it("finds the operator sites of the reducers, each named once", () => {
    expect(sites.length).toBeGreaterThan(1000);
    expect(new Set(sites.map((s) => s.id)).size).toBe(sites.length);
    const vote = sites.find((s) => s.file === "raft/vote.ts" && s.text === "request.replicaId < 0;");
    expect(vote).toMatchObject({ replacement: " <= ", length: 3 });
    // Comments, imports, coverage marks and the judge's own table are not sites.
    expect(sites.some((s) => s.file === "raft/allowed.ts" || s.text.startsWith("//"))).toBe(false);
    expect(sites.some((s) => s.text.includes("mark("))).toBe(false);
  });

  it("draws the same sample from the same seed, and another from another", () => {
    const a = sample(sites, 20, 7).map((s) => s.id);
    expect(sample(sites, 20, 7).map((s) => s.id)).toEqual(a);
    expect(new Set(a).size).toBe(20);
    expect(sample(sites, 20, 8).map((s) => s.id)).not.toEqual(a);
  });

  it("every entry of equivalent.ts still names a site of the spec", () => {
    // An entry whose line changed would silently stop covering anything.
    const stale = EQUIVALENT_SITES.filter((e) => !sites.some((s) => knownSite(s) === e));
    expect(stale.map((e) => `${e.file}: ${e.text}`)).toEqual([]);
  });

  it("kills a mutant the vectors tell apart, and reports a known one without running it", async () => {
    const vectors = loadVectors();
    const scratch = join(import.meta.dirname, "..", ".cache", "conformance-sweep", `test-${process.pid}`);
    const vote = sites.find((s) => s.file === "raft/vote.ts" && s.text === "request.replicaId < 0;")!;
    expect(await judgeSite(vote, vectors, scratch)).toBe("killed");
    const equivalent = sites.find((s) => knownSite(s)?.kind === "equivalent")!;
    expect(await judgeSite(equivalent, vectors, scratch)).toBe("equivalent");
  }, 120_000);
});
