// kraft conformance explore: an implementation playing one node of the simulated cluster under seeded
// random schedules with faults, judged step by step; a violation comes back shrunk, as a transcript.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { MUTANTS } from "../model-tests/mutants.ts";
import { parseTranscript, runTranscript } from "../spec/cluster/scenario.ts";
import { explore } from "./explore.ts";
import { prepareMutantSpec } from "./run-mutants.ts";

const kraft = join(import.meta.dirname, "..", "bin", "kraft.js");
const reference = `${JSON.stringify(process.execPath)} ${JSON.stringify(kraft)} conformance adapter`;

describe("kraft conformance explore", () => {
  it("follows a node that makes every free choice differently through crashes, restarts and lost messages", async () => {
    for (const node of [1, 3]) {
      const report = await explore(`${reference} --vary 7`, { node, seed: 1, walks: 60, depth: 60 });
      expect(report.violation).toBeNull();
      expect(report.ok).toBe(true);
      expect(report.walks).toBe(60);
      expect(report.steps).toBeGreaterThan(600);
      expect(report.starts).toBeGreaterThan(60);
    }
  }, 120_000);

  it("reports a seeded R14 violation against R14, with a shrunk transcript that replays", async () => {
    const report = await explore(`${reference} --vary 3 --break R14`, {
      node: 1,
      seed: 1,
      walks: 50,
      depth: 60,
    });
    expect(report.ok).toBe(false);
    const v = report.violation!;
    expect(v.rules).toEqual(["R14"]);
    expect(v.what).toMatch(/^Send comes before PersistElectionState/);
    expect(v.shrunkTo).toBeLessThan(v.actions);
    expect(v.transcript).toMatch(
      /^# kraft conformance explore: node 1: Send comes before PersistElectionState/,
    );
    expect(v.transcript).toContain("# Rules: R14");
    // The transcript is one the scenario runner replays as it stands.
    expect(() => runTranscript(parseTranscript(v.transcript))).not.toThrow();
  }, 120_000);

  it("finds a wrong implementation (a majority of one) from its own schedules", async () => {
    const mutant = prepareMutantSpec(MUTANTS.find((m) => m.name === "majority-off-by-one")!);
    const report = await explore(`${reference} --spec ${JSON.stringify(mutant)}`, {
      node: 2,
      seed: 1,
      walks: 50,
      depth: 60,
    });
    expect(report.ok).toBe(false);
    expect(report.violation?.what).toMatch(/election timer|state\.role differs/);
  }, 120_000);

  it("says what is wrong with its options", () => {
    const missing = spawnSync(process.execPath, [kraft, "conformance", "explore"], { encoding: "utf8" });
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain("explore needs --adapter CMD");
    const node = spawnSync(
      process.execPath,
      [kraft, "conformance", "explore", "--adapter", "kraft conformance adapter", "--node", "5"],
      { encoding: "utf8" },
    );
    expect(node.status).toBe(2);
    expect(node.stderr).toContain("--node must be a node of the cluster, 1 to 3; got 5");
  });
});
