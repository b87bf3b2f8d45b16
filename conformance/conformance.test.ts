// The conformance suite itself: the committed vectors and schemas are current, the reference adapter
// passes every vector, every rule is covered or explained, every mutant fails a vector,
// and the runner's verdicts and messages are exact.
import { execFileSync, spawnSync } from "node:child_process";
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { MUTANTS } from "../model-tests/mutants.ts";
import type { Mark } from "../spec/marks.ts";
import type { RaftEffect } from "../spec/raft/io.ts";
import { LocalCluster, waitFor } from "../src/testing/local-cluster.ts";
import { runBlackBox } from "./blackbox.ts";
import { withConventions } from "./conventions.ts";
import { definedRules, OUT_OF_REACH, ruleCoverage } from "./coverage.ts";
import { definedMarks, markCoverage, UNJUDGED_MARKS } from "./marks.ts";
import { CONFORMANCE_MUTANTS, prepareMutantSpec, runConformanceMutants } from "./run-mutants.ts";
import { compareEffects, loadVectors, runConformance } from "./runner.ts";
import { generateSchemas, SCHEMA_DIR } from "./schemas.ts";
import { BREAKABLE_RULES } from "./vary.ts";
import { generateVectors, renderVectorFile, VECTOR_DIR } from "./vectors.ts";

const root = join(import.meta.dirname, "..");
const kraft = join(root, "bin", "kraft.js");
const reference = `${JSON.stringify(process.execPath)} ${JSON.stringify(kraft)} conformance adapter`;

describe("conformance vectors", () => {
  it("are current: npm run conformance:vectors rewrites them from the transcripts and walks", () => {
    const generated = generateVectors();
    expect(readdirSync(VECTOR_DIR).sort()).toEqual([...generated.keys()].map((s) => `${s}.ndjson`).sort());
    for (const [source, vectors] of generated)
      expect(readFileSync(join(VECTOR_DIR, `${source}.ndjson`), "utf8"), source).toBe(
        renderVectorFile(vectors),
      );
    for (const [name, text] of generateSchemas())
      expect(readFileSync(join(SCHEMA_DIR, name), "utf8"), name).toBe(text);
  });

  it("and the conventions the runner holds implementations to are documented as the spec does them", () => {
    const readme = readFileSync(join(root, "conformance", "README.md"), "utf8");
    expect(readme).toBe(withConventions(readme, loadVectors()));
  });

  it("cover every rule of spec/README.md, or say why a rule is out of the adapter's reach", () => {
    const coverage = ruleCoverage(loadVectors());
    expect(coverage.missing).toEqual([]);
    expect([...coverage.outOfReach].sort()).toEqual(Object.keys(OUT_OF_REACH).sort());
    expect(coverage.covered).toEqual(definedRules().filter((r) => OUT_OF_REACH[r] === undefined));
  });

  it("take every coverage mark the spec's reducers define (spec/marks.ts), each naming a defined rule", () => {
    const coverage = markCoverage(loadVectors());
    expect(coverage.unhit).toEqual([]);
    expect(coverage.undefinedMarks).toEqual([]);
    expect(coverage.unjudgedTaken).toEqual([]);
    const defined = definedMarks();
    expect(Object.keys(UNJUDGED_MARKS).filter((m) => !defined.has(m as Mark))).toEqual([]);
    const rules = new Set(definedRules());
    const marks = [...definedMarks().keys()];
    expect(marks.length).toBeGreaterThan(150);
    expect(marks.filter((m) => !rules.has(m.slice(0, m.indexOf(":"))))).toEqual([]);
  });

  it("report a mark no vector takes: the transcripts alone leave adversarial branches unhit", () => {
    const fromTranscripts = loadVectors().filter(
      (v) =>
        !v.source.replace(/^renumbered-/, "").startsWith("adversarial-") &&
        !v.source.startsWith("walk-") &&
        v.layer !== "node",
    );
    const coverage = markCoverage(fromTranscripts);
    expect(coverage.unhit).toContain("R36:answer-foreign-cluster");
  });

  it("the reference adapter passes every vector", async () => {
    const vectors = loadVectors();
    const report = await runConformance(reference, vectors);
    expect(report.failed).toBe(0);
    expect(report.passed).toBe(vectors.length);
  });

  it("a node making every free choice differently passes every vector", async () => {
    const vectors = loadVectors();
    const report = await runConformance(`${reference} --vary 7`, vectors);
    expect(report.results.filter((r) => !r.passed).map((r) => r.name)).toEqual([]);
    expect(report.passed).toBe(vectors.length);
  });

  it("a controller that names its topics with ids of its own (R121's free choice) passes: the runner reads them back as the spec's", async () => {
    const vectors = loadVectors().filter(
      (v) => (v.layer === "controller" || v.layer === "node") && JSON.stringify(v).includes('"TopicRecord"'),
    );
    expect(vectors.length).toBeGreaterThan(20);
    const proposes = (x: (typeof vectors)[number]) =>
      JSON.stringify(x.steps.map((s) => s.effects)).includes('"TopicRecord"');
    expect(vectors.filter(proposes).length).toBeGreaterThan(10);
    const v = vectors.find((x) => x.layer === "controller" && proposes(x))!;
    const requests = [v.init, ...v.steps.map((s) => ({ _tag: "input", input: s.input }))];
    const ids = (args: string[]) =>
      [
        ...spawnSync(process.execPath, [kraft, "conformance", "adapter", ...args], {
          input: requests.map((r) => JSON.stringify(r)).join("\n"),
          encoding: "utf8",
        }).stdout.matchAll(/"TopicRecord","name":"[^"]*","topicId":"([^"]*)"/g),
      ].map((m) => m[1]);
    const own = ids(["--vary", "7"]);
    const spec = ids([]);
    expect(own.length).toBeGreaterThan(0);
    expect(own.length).toBe(spec.length);
    expect(own.every((id, i) => id !== spec[i])).toBe(true);
    const report = await runConformance(`${reference} --vary 7`, vectors);
    expect(report.failed).toBe(0);
  }, 120_000);

  it("a seeded violation is reported against the rule it breaks, and the runs go on past it", async () => {
    const vectors = loadVectors().filter((v) => v.layer === "raft");
    for (const rule of BREAKABLE_RULES) {
      const report = await runConformance(`${reference} --vary 7 --break ${rule}`, vectors);
      const failing = report.results.filter((r) => !r.passed);
      expect(failing.length, rule).toBeGreaterThan(50);
      expect(new Set(failing.flatMap((r) => r.violations.map((v) => v.rules[0]))), rule).toEqual(
        new Set([rule]),
      );
      expect(report.rules[rule]?.failed, rule).toBe(failing.length);
      // The projected states still agree, so a run judges every step after a violation.
      expect(
        failing.some((r) => r.violations.length > 1),
        rule,
      ).toBe(true);
      // A vector stops early only at a free choice the variation made (R74: which voter to ask for the
      // leader; R63: park a fetch the spec answers at once).
      expect(
        failing.filter((r) => r.stopped !== null && !r.stopped.includes("a free choice (R")),
        rule,
      ).toEqual([]);
    }
  }, 120_000);

  it("an independent implementation (Python, written from the docs) passes every Raft vector, and each of its five seeded bugs is reported against the rule it breaks", async () => {
    const python = spawnSync("python3", ["--version"], { encoding: "utf8" });
    if (python.status !== 0)
      throw new Error("python3 (3.11 or newer) is needed for conformance/examples/python-raft");
    const adapter = `python3 ${JSON.stringify(join(root, "conformance", "examples", "python-raft", "adapter.py"))}`;
    const vectors = loadVectors().filter((v) => v.layer === "raft");
    const clean = await runConformance(adapter, vectors);
    expect(clean.results.filter((r) => !r.passed).map((r) => r.name)).toEqual([]);
    for (const rule of ["R14", "R16", "R48", "R57", "R64"]) {
      const report = await runConformance(`${adapter} --violate ${rule}`, vectors);
      expect(report.failed, rule).toBeGreaterThan(20);
      expect(report.rules[rule]?.failed, rule).toBeGreaterThan(0);
    }
  }, 180_000);

  it("every mutant of the mutation suite (Raft, controller, broker and node composition) fails at least one vector", async () => {
    const { verdicts } = await runConformanceMutants(undefined, true);
    expect(CONFORMANCE_MUTANTS.length).toBe(MUTANTS.length);
    expect(verdicts.length).toBe(MUTANTS.length);
    expect(verdicts.filter((v) => !v.killed).map((v) => v.name)).toEqual([]);
  }, 600_000);
});

describe("kraft conformance run", () => {
  it("reports the first difference readably and exits 1", () => {
    const mutant = prepareMutantSpec(MUTANTS.find((m) => m.name === "majority-off-by-one")!);
    const run = spawnSync(
      process.execPath,
      [
        kraft,
        "conformance",
        "run",
        "--adapter",
        `${reference} --spec ${JSON.stringify(mutant)}`,
        "--filter",
        "01-first-election-three-voters/n1",
      ],
      { encoding: "utf8" },
    );
    expect(run.status).toBe(1);
    expect(run.stdout).toContain("kraft conformance: 1 vector against");
    // A one-voter majority elects node 1 at once: its timer and then its state depart from the spec's.
    expect(run.stdout).toContain(
      "FAIL 01-first-election-three-voters/n1#0 (the projected states differ after step 0: the runs can no longer be compared)\n" +
        "  at step 0 (TimerExpired election): the election timer ends untouched, the spec arms it [R31 R23]\n" +
        '    expected: {"_tag":"SetTimer","timer":"election","delayMs":1000,"jitterMs":1000}\n' +
        "    actual:   null\n" +
        "  at step 0 (TimerExpired election): state.role differs [R23]\n" +
        '    expected: "Prospective"\n' +
        '    actual:   "Leader"\n',
    );
    expect(run.stdout).toMatch(
      /rules exercised: \d+, not reached: R1 .*; broken: R23 \(1\/1\), R31 \(1\/1\)\n/,
    );
  });

  it("passes with --json, and says what is wrong with a broken adapter", () => {
    const ok = execFileSync(
      process.execPath,
      [kraft, "conformance", "run", "--adapter", reference, "--filter", "02-", "--json"],
      {
        encoding: "utf8",
      },
    );
    const report = JSON.parse(ok) as { failed: number; passed: number; vectors: number };
    expect(report.failed).toBe(0);
    expect(report.passed).toBe(report.vectors);
    expect(report.vectors).toBeGreaterThan(0);
    const silent = spawnSync(
      process.execPath,
      [kraft, "conformance", "run", "--adapter", "exit 0", "--filter", "02-"],
      {
        encoding: "utf8",
      },
    );
    expect(silent.status).toBe(2);
    expect(silent.stderr).toContain("kraft conformance: the adapter exited");
    const garbage = spawnSync(
      process.execPath,
      [kraft, "conformance", "run", "--adapter", "yes hello", "--filter", "02-"],
      {
        encoding: "utf8",
      },
    );
    expect(garbage.status).toBe(2);
    expect(garbage.stderr).toContain("the adapter answered something that is not a reply: hello");
    const usage = spawnSync(process.execPath, [kraft, "conformance", "run"], { encoding: "utf8" });
    expect(usage.status).toBe(2);
    expect(usage.stderr).toContain("run needs --adapter CMD");
  });

  it("fails the vector an adapter dies on, starts it again and runs the rest", async () => {
    // The reference adapter, whose first process exits when handed its third vector.
    const dir = mkdtempSync(join(tmpdir(), "openkraft-flaky-"));
    const script = join(dir, "flaky.mjs");
    writeFileSync(
      script,
      [
        'import { spawn } from "node:child_process";',
        'import { existsSync, writeFileSync } from "node:fs";',
        'import { createInterface } from "node:readline";',
        `const marker = ${JSON.stringify(join(dir, "started"))};`,
        "const first = !existsSync(marker);",
        'writeFileSync(marker, "");',
        `const child = spawn(process.execPath, [${JSON.stringify(kraft)}, "conformance", "adapter"], { stdio: ["pipe", "inherit", "inherit"] });`,
        "let inits = 0;",
        'createInterface({ input: process.stdin }).on("line", (line) => {',
        '  if (line.startsWith(\'{"_tag":"init"\')) inits++;',
        "  if (first && inits === 3) { child.kill(); process.exit(3); }",
        '  child.stdin.write(line + "\\n");',
        "});",
        'process.stdin.on("end", () => child.stdin.end());',
        "",
      ].join("\n"),
    );
    try {
      const vectors = loadVectors().filter((v) => v.source === "04-split-vote");
      const report = await runConformance(
        `${JSON.stringify(process.execPath)} ${JSON.stringify(script)}`,
        vectors,
      );
      expect(report.results.map((r) => r.adapterFailed === true)).toEqual(vectors.map((_, i) => i === 2));
      expect(report.failed).toBe(1);
      expect(report.passed).toBe(vectors.length - 1);
      expect(report.results[2]!.difference).toMatchObject({
        step: -1,
        input: "init",
        what: "the adapter failed",
        actual: "the adapter exited",
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("comparing effects", () => {
  const fetch = (to: number, correlationId: number): RaftEffect => ({
    _tag: "Send",
    to,
    correlationId,
    message: {
      _tag: "FetchRequest",
      clusterId: "c",
      replicaId: 1,
      maxWaitMs: 500,
      topicId: "AAAAAAAAAAAAAAAAAAAAAQ",
      partition: 0,
      currentLeaderEpoch: 1,
      fetchOffset: 0,
      lastFetchedEpoch: 0,
    },
  });
  it("maps the implementation's own correlation ids, and holds it to them", () => {
    const ids = new Map<number, number>();
    expect(compareEffects([fetch(2, 7)], [fetch(2, 41)], ids)).toBeNull();
    expect(ids.get(7)).toBe(41);
    expect(compareEffects([fetch(2, 7)], [fetch(2, 42)], ids)?.what).toBe(
      "effect 0 reuses another request's correlation id",
    );
  });
  it("accepts sends to several peers in any order, but not a missing or extra effect", () => {
    expect(compareEffects([fetch(2, 1), fetch(3, 2)], [fetch(3, 12), fetch(2, 11)], new Map())).toBeNull();
    expect(
      compareEffects([fetch(2, 1)], [fetch(2, 1), { _tag: "FlushLog", offset: 1 }], new Map())?.what,
    ).toBe("effect 1 is extra");
  });
});

describe("kraft conformance check-trace", () => {
  it("explains a real run with a leader kill, and rejects it with one event altered", async () => {
    const cluster = await LocalCluster.create(3, 1);
    try {
      for (const n of cluster.nodes)
        appendFileSync(n.config, `openkraft.trace.file=${join(n.dir, "trace.ndjson")}\n`);
      cluster.startAll();
      const leader = await cluster.waitForLeader(30_000);
      await waitFor(
        "a topic",
        async () => ((await cluster.createTopic(4, "traced", 2, 1)).errorCode === "NONE" ? true : undefined),
        20_000,
      );
      await cluster.kill(leader.nodeId);
      await cluster.waitForLeader(30_000, [leader.nodeId]);
      cluster.start(leader.nodeId);
      await waitFor(
        "the old leader to follow",
        async () => ((await cluster.status(leader.nodeId)).role === "Follower" ? true : undefined),
        20_000,
      );
      await cluster.stopAll();
      const files = cluster.nodes.map((n) => join(n.dir, "trace.ndjson"));
      const good = spawnSync(process.execPath, [kraft, "conformance", "check-trace", ...files], {
        encoding: "utf8",
      });
      expect(good.stderr).toBe("");
      expect(good.stdout).toMatch(
        /^OK: the spec explains the whole trace: \d+ steps of 4 nodes over 5 process starts\nOK: spec\/node explains every node step: \d+ steps of 4 nodes over 5 process starts\n$/,
      );
      expect(good.status).toBe(0);
      const originals = files.map((f) => readFileSync(f, "utf8"));

      // One altered node step: the broker published its image at another offset than spec/node says.
      const brokerFile = files[cluster.nodes.findIndex((n) => n.roles === "broker")]!;
      const brokerLines = readFileSync(brokerFile, "utf8").trimEnd().split("\n");
      const published = brokerLines.findIndex(
        (l) => l.includes('"layer":"node"') && l.includes('"_tag":"Published"'),
      );
      expect(published).toBeGreaterThan(0);
      brokerLines[published] = brokerLines[published]!.replace(
        /"_tag":"Published","offset":(\d+)/,
        (_m, o: string) => `"_tag":"Published","offset":${Number(o) + 1}`,
      );
      writeFileSync(brokerFile, `${brokerLines.join("\n")}\n`);
      const badNode = spawnSync(process.execPath, [kraft, "conformance", "check-trace", ...files], {
        encoding: "utf8",
      });
      expect(badNode.status).toBe(1);
      expect(badNode.stdout).toContain(`NOT EXPLAINED by spec/node: ${brokerFile}:${published + 1}, node `);
      expect(badNode.stdout).toMatch(
        /is not what spec\/node does with this input\n {2}spec\/node: \{"_tag":"Published"/,
      );
      files.forEach((f, i) => {
        writeFileSync(f, originals[i]!);
      });

      // One altered event: a follower's election timer recorded with another delay.
      const victim = files.find(
        (_, i) => cluster.nodes[i]!.id !== leader.nodeId && cluster.nodes[i]!.roles === "controller",
      )!;
      const lines = readFileSync(victim, "utf8").trimEnd().split("\n");
      const at = lines.findIndex(
        (l) => l.includes('"layer":"raft"') && l.includes('"timer":"fetch"') && l.includes('"SetTimer"'),
      );
      expect(at).toBeGreaterThan(0);
      lines[at] = lines[at]!.replace(/"delayMs":(\d+)/, (_m, d: string) => `"delayMs":${Number(d) + 1}`);
      writeFileSync(victim, `${lines.join("\n")}\n`);
      const bad = spawnSync(process.execPath, [kraft, "conformance", "check-trace", ...files], {
        encoding: "utf8",
      });
      expect(bad.status).toBe(1);
      expect(bad.stdout).toContain(`NOT EXPLAINED: ${victim}:${at + 1}, node `);
      expect(bad.stdout).toMatch(
        /effect \d+ differs\n {2}the spec: {2}\{"_tag":"SetTimer".*\n {2}recorded: {2}\{"_tag":"SetTimer"/,
      );
      expect(bad.stdout).toContain('\'s state before it: {"role":');
    } finally {
      await cluster.destroy();
    }
  }, 120_000);
});

describe("kraft conformance cluster (black-box)", () => {
  it("the openkraft runtime keeps every property under kill -9, SIGSTOP and restarts", () => {
    const run = spawnSync(
      process.execPath,
      [kraft, "conformance", "cluster", "--seconds", "10", "--seed", "3", "--json"],
      {
        encoding: "utf8",
      },
    );
    const report = JSON.parse(run.stdout) as {
      ok: boolean;
      violations: string[];
      writes: { acknowledged: number };
      faults: { kills: number; pauses: number };
    };
    expect(report.violations).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.writes.acknowledged).toBeGreaterThan(5);
    expect(report.faults.kills + report.faults.pauses).toBeGreaterThan(2);
    expect(run.status).toBe(0);
  }, 120_000);

  it("catches an implementation whose nodes both claim to lead epoch 1", async () => {
    // A fake: every node serves /status as leader of epoch 1 and never acknowledges a write.
    const fake = `${JSON.stringify(process.execPath)} -e 'require("http").createServer((q,s)=>s.end(JSON.stringify({role:"Leader",epoch:1,leaderId:{id},highWatermark:0}))).listen({statusPort},"127.0.0.1")'`;
    const report = await runBlackBox({ start: fake, voters: 3, seconds: 2, seed: 1, healSeconds: 1 });
    expect(report.ok).toBe(false);
    expect(report.violations[0]).toMatch(/^SingleLeader: epoch 1 was led by node \d, now node \d leads it$/);
    expect(report.violations).toContain("Progress: no write was acknowledged within 1 s of healing");
    expect(report.kept).not.toBeNull();
    rmSync(report.kept!, { recursive: true, force: true });
  }, 60_000);
});
