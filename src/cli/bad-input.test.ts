// Bad input and a hostile environment never get a stack trace: every command answers with one line
// naming what is wrong, a non-zero exit, and leaves nothing running.
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { freeBasePort, kraftBin, LocalCluster, TEST_TIMEOUTS } from "../testing/local-cluster.ts";

const scratch = mkdtempSync(join(tmpdir(), "kraft-bad-input-"));
const aFile = join(scratch, "a-file");
writeFileSync(aFile, "not a directory\n");
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A generous bound for a command that should end at once, from the test timeouts (a loaded machine). */
const PROMPT_MS = 20 * Math.max(...TEST_TIMEOUTS.map(([, ms]) => ms));

const kraft = (...args: string[]) =>
  spawnSync(process.execPath, [kraftBin, ...args], { encoding: "utf8", timeout: PROMPT_MS });

/** `kraft cluster up` of one controller and one broker, in `dir` under the scratch folder, on `base`. */
const clusterUp = (dir: string, base: number): string[] => [
  "cluster",
  "up",
  "--dir",
  join(scratch, dir),
  "--base-port",
  String(base),
  "--fast",
  "--controllers",
  "1",
  "--brokers",
  "1",
];

/** One plain line says what is wrong (a node's own JSON log lines may come before it), no stack. */
const expectOneLine = (run: ReturnType<typeof kraft>, code: number, pattern: RegExp): void => {
  expect(run.signal, "ended by itself").toBeNull();
  expect(run.status).toBe(code);
  expect(run.stderr).not.toMatch(/\n\s+at /);
  const plain = run.stderr
    .trim()
    .split("\n")
    .filter((l) => !l.startsWith("{"));
  expect(plain[0]).toMatch(pattern);
};

describe("bad input", () => {
  it("a data directory that is a file", () => {
    expectOneLine(
      kraft("format", "--dir", aFile, "--cluster-id", "MkU3OEVBNTcwNTJENDM2Qk", "--node-id", "1"),
      1,
      /^kraft format: .*a-file: is not a directory/,
    );
    expectOneLine(
      kraft("cluster", "up", "--dir", aFile),
      1,
      /^kraft cluster: .*a-file: already exists and is not a directory/,
    );
  });

  it("a format killed before its rename (only meta.properties.tmp left) can be run again; a formatted directory cannot", () => {
    const dir = join(scratch, "interrupted");
    mkdirSync(dir);
    writeFileSync(join(dir, "meta.properties.tmp"), "version=1\ncluster.id=half");
    const again = kraft("format", "--dir", dir, "--cluster-id", "MkU3OEVBNTcwNTJENDM2Qk", "--node-id", "1");
    expect(again.status).toBe(0);
    expect(readdirSync(dir)).toEqual(["meta.properties"]);
    expectOneLine(
      kraft("format", "--dir", dir, "--cluster-id", "MkU3OEVBNTcwNTJENDM2Qk", "--node-id", "1"),
      2,
      /^kraft format: .*interrupted is not empty; format only empty directories/,
    );
  });

  it("a configuration file that does not exist", () => {
    expectOneLine(
      kraft("start", "--config", join(scratch, "missing.properties")),
      2,
      /^kraft start: cannot read .*missing\.properties/,
    );
  });

  it("a lost quorum-state next to a log with records: the node refuses to start rather than vote twice", async () => {
    const cluster = await LocalCluster.create(1, 0);
    try {
      cluster.startAll();
      await cluster.waitForLeader(PROMPT_MS);
      await cluster.stopAll();
      rmSync(join(cluster.nodes[0]!.dir, "data", "quorum-state"));
      expectOneLine(
        kraft("start", "--config", cluster.nodes[0]!.config),
        1,
        /^kraft start: .*quorum-state is missing but the metadata log holds \d+ records: this node's votes are lost/,
      );
    } finally {
      await cluster.destroy();
    }
  }, 60_000);

  it("kraft cluster up: a second run on a running cluster's directory, or on its ports, refuses and never reports the other's leader", async () => {
    const base = await freeBasePort(2);
    const first = spawn(process.execPath, [kraftBin, ...clusterUp("first", base)], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let firstOut = "";
    first.stdout.on("data", (d: Buffer) => {
      firstOut += d.toString();
    });
    try {
      const deadline = Date.now() + PROMPT_MS;
      while (!firstOut.includes("leader:") && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 100));
      expect(firstOut).toContain("leader:");
      const sameDir = kraft(...clusterUp("first", base));
      expectOneLine(
        sameDir,
        1,
        /^kraft cluster: a cluster is already running from .*first \(node 1 is process \d+\); stop it first/,
      );
      const samePorts = kraft(...clusterUp("second", base));
      expect(samePorts.status).toBe(1);
      expect(samePorts.stdout).not.toContain("leader:");
      expect(samePorts.stderr).toContain("the cluster did not form");
      expect(samePorts.stderr).not.toMatch(/\n\s+at /);
    } finally {
      first.kill("SIGTERM");
      await new Promise((r) => first.once("exit", r));
    }
  }, 120_000);

  it("a listener port another process holds: the node exits at once instead of running without it", async () => {
    // Three voters: a node of one would lead at once and arm nothing, so nothing would keep it alive.
    const cluster = await LocalCluster.create(3, 0);
    const node = cluster.nodes[0]!;
    const port = Number(node.address.split(":").pop());
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(port, "127.0.0.1", resolve));
    try {
      const started = Date.now();
      const run = kraft("start", "--config", node.config);
      expectOneLine(run, 1, /^kraft start: .*(in use|EADDRINUSE)/);
      expect(Date.now() - started).toBeLessThan(PROMPT_MS);
    } finally {
      holder.close();
      await cluster.destroy();
    }
  }, 60_000);
});
