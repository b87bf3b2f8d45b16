// Bad input and a hostile environment never get a stack trace: every command answers with one line
// naming what is wrong, a non-zero exit, and leaves nothing running.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { kraftBin, LocalCluster, TEST_TIMEOUTS } from "../testing/local-cluster.ts";

const scratch = mkdtempSync(join(tmpdir(), "kraft-bad-input-"));
const aFile = join(scratch, "a-file");
writeFileSync(aFile, "not a directory\n");
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A generous bound for a command that should end at once, from the test timeouts (a loaded machine). */
const PROMPT_MS = 20 * Math.max(...TEST_TIMEOUTS.map(([, ms]) => ms));

const kraft = (...args: string[]) =>
  spawnSync(process.execPath, [kraftBin, ...args], { encoding: "utf8", timeout: PROMPT_MS });

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
