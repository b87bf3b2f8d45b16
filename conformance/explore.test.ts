// kraft conformance explore: an implementation playing one node of the simulated cluster under seeded
// random schedules with faults, judged step by step; a violation comes back shrunk, as a transcript.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { MUTANTS } from "../model-tests/mutants.ts";
import { parseTranscript, runTranscript } from "../spec/cluster/scenario.ts";
import { DEFAULT_CLUSTER } from "../spec/cluster/world.ts";
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

  it("follows an observer that asks other voters for the leader than the spec's rotation (R74's free choice)", async () => {
    const report = await explore(`${reference} --vary 5`, {
      node: 4,
      cluster: { ...DEFAULT_CLUSTER, observers: 1 },
      seed: 1,
      walks: 50,
      depth: 60,
    });
    expect(report.violation).toBeNull();
    expect(report.followed).toBeGreaterThan(50);
    expect(report.unfollowed).toBe(0);
    // The reference's own rotation is followed without redirecting anything.
    const plain = await explore(reference, {
      node: 4,
      cluster: { ...DEFAULT_CLUSTER, observers: 1 },
      seed: 1,
      walks: 50,
      depth: 60,
    });
    expect(plain.ok).toBe(true);
    expect(plain.followed).toBe(0);
  }, 120_000);

  it("a transcript says how a choice was followed: redirect moves the fetch in flight and the rotation", () => {
    const text = [
      "> cluster voters=3 observers=1 prevote=on checkquorum=on",
      "> network",
      "> redirect 4 3",
      "> network",
      "> redirect 2 3",
      "",
    ].join("\n");
    expect(() => runTranscript(parseTranscript(text))).toThrow(
      /redirect 2 3: node 2 has no fetch for the leader in flight/,
    );
    const lines = runTranscript(parseTranscript(text.split("\n").slice(0, 4).join("\n"))).flat();
    expect(lines).toContain("n4's fetch for the leader goes to 3 instead (a free choice, R74)");
    expect(lines.slice(-3)).toEqual([
      "4->2 FetchRequest",
      "n4's fetch for the leader goes to 3 instead (a free choice, R74)",
      "4->3 FetchRequest",
    ]);
    // Voter 3's answer is taken as the answer to the observer's fetch (not a stale one): nothing is
    // left in flight, and having no leader to name, it sends the observer on to the next voter.
    const answered = runTranscript(
      parseTranscript(
        `${text.split("\n").slice(0, 4).join("\n")}\n> deliver 4->3 FetchRequest\n> deliver 3->4 FetchResponse\n> state 4\n`,
      ),
    ).flat();
    expect(answered.at(-1)).toMatch(/^n4 Unattached e0 /);
    expect(answered.at(-1)).not.toContain("inflight=[Fetch");
  });

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
    expect(node.stderr).toContain("--node must be a node of the cluster, 1 to 4; got 5");
  });
});
