// Bad input and a hostile environment never get a stack trace: every command answers with one line
// naming what is wrong, a non-zero exit, and leaves nothing running.
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
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

  it("dynamic quorum formats (KIP-853): each refusal names what is wrong and writes nothing", () => {
    const cid = "MkU3OEVBNTcwNTJENDM2Qk";
    const config = (name: string, lines: string) => {
      const file = join(scratch, `${name}.properties`);
      writeFileSync(file, lines);
      return file;
    };
    const dynamic = config(
      "dynamic",
      `node.id=1\nprocess.roles=controller\ncontroller.quorum.bootstrap.servers=127.0.0.1:9093\nlisteners=CONTROLLER://127.0.0.1:9093\nlog.dirs=${join(scratch, "dyn-1")}\n`,
    );
    const staticVoters = config(
      "static",
      `node.id=1\nprocess.roles=controller\ncontroller.quorum.voters=1@127.0.0.1:9093\nlisteners=CONTROLLER://127.0.0.1:9093\nlog.dirs=${join(scratch, "static-1")}\n`,
    );
    const dir = (name: string) => join(scratch, name);
    expectOneLine(
      kraft("format", "--cluster-id", cid, "--node-id", "1", "--dir", dir("s1"), "--standalone"),
      2,
      /^kraft format: --standalone needs --config FILE naming this controller's listener/,
    );
    expectOneLine(
      kraft("format", "--cluster-id", cid, "--config", dynamic, "--standalone", "--no-initial-controllers"),
      2,
      /^kraft format: --standalone and --no-initial-controllers exclude each other/,
    );
    expectOneLine(
      kraft("format", "--cluster-id", cid, "--config", dynamic),
      2,
      /^kraft format: .*sets controller\.quorum\.bootstrap\.servers \(a dynamic quorum\): format this controller with --standalone/,
    );
    expectOneLine(
      kraft("format", "--cluster-id", cid, "--config", staticVoters, "--standalone"),
      2,
      /^kraft format: .*names static voters \(controller\.quorum\.voters\)/,
    );
    for (const [list, problem] of [
      ["1@h:9093", /"1@h:9093" is not id@host:port:directoryId/],
      ["1@h:9093:AAAAAAAAAAAAAAAAAAAAAA", /has the zero directory id/],
      ["1@h:9093:MkU3OEVBNTcwNTJENDM2Qk", /"MkU3OEVBNTcwNTJENDM2Qk" is not a Kafka UUID as Kafka prints one/],
      ["1@h:9093:MkU3OEVBNTcwNTJENDM2QA,1@h:9094:NkU3OEVBNTcwNTJENDM2QA", /names a controller twice/],
      [
        "1@h:9093:MkU3OEVBNTcwNTJENDM2QA,2@h:9094:MkU3OEVBNTcwNTJENDM2QA",
        /gives two controllers one directory id/,
      ],
      [
        "2@h:9093:MkU3OEVBNTcwNTJENDM2QA",
        /node 7 is not among the initial controllers \(2\); format it with --no-initial-controllers/,
      ],
    ] as const) {
      expectOneLine(
        kraft(
          "format",
          "--cluster-id",
          cid,
          "--node-id",
          "7",
          "--dir",
          dir("ic"),
          "--initial-controllers",
          list,
        ),
        2,
        problem,
      );
    }
    expect(readdirSync(scratch).filter((f) => ["s1", "ic", "dyn-1", "static-1"].includes(f))).toEqual([]);
  });

  it("a dynamic quorum's node and its disk must agree on the kind of quorum; one with no voter on disk needs a bootstrap server", () => {
    const cid = "MkU3OEVBNTcwNTJENDM2Qk";
    const props = (name: string, quorum: string, data: string) => {
      const file = join(scratch, `${name}.properties`);
      writeFileSync(
        file,
        `node.id=1\nprocess.roles=controller\n${quorum}\nlisteners=CONTROLLER://127.0.0.1:1\nlog.dirs=${data}\ncontroller.quorum.request.timeout.ms=200\n`,
      );
      return file;
    };
    const dynamicDisk = join(scratch, "dynamic-disk");
    const dynamicProps = props("dyn-start", "controller.quorum.bootstrap.servers=127.0.0.1:1", dynamicDisk);
    expect(kraft("format", "--cluster-id", cid, "--config", dynamicProps, "--standalone").status).toBe(0);
    expectOneLine(
      kraft(
        "start",
        "--config",
        props("static-on-dynamic", "controller.quorum.voters=1@127.0.0.1:1", dynamicDisk),
      ),
      1,
      /^kraft start: .*was formatted for a dynamic quorum \(kraft\.version 1\), but the configuration names static voters/,
    );
    const staticDisk = join(scratch, "static-disk");
    expect(kraft("format", "--cluster-id", cid, "--node-id", "1", "--dir", staticDisk).status).toBe(0);
    expectOneLine(
      kraft(
        "start",
        "--config",
        props("dynamic-on-static", "controller.quorum.bootstrap.servers=127.0.0.1:1", staticDisk),
      ),
      1,
      /^kraft start: .*was not formatted for a dynamic quorum, but the configuration sets controller\.quorum\.bootstrap\.servers/,
    );
    expectOneLine(
      kraft(
        "start",
        "--config",
        props(
          "both",
          "controller.quorum.voters=1@127.0.0.1:1\ncontroller.quorum.bootstrap.servers=127.0.0.1:1",
          staticDisk,
        ),
      ),
      2,
      /^kraft start: .*give exactly one of controller\.quorum\.voters .* and controller\.quorum\.bootstrap\.servers/,
    );
    const observerDisk = join(scratch, "observer-disk");
    const observer = props(
      "observer",
      "controller.quorum.bootstrap.servers=127.0.0.1:1,127.0.0.1:2",
      observerDisk,
    );
    expect(
      kraft("format", "--cluster-id", cid, "--config", observer, "--no-initial-controllers").status,
    ).toBe(0);
    // A disk that names no voter starts with the bootstrap servers as its voters (R92), as Kafka's
    // does; its own listener is no one to ask.
    writeFileSync(observer, readFileSync(observer, "utf8").replace(",127.0.0.1:2", ""));
    expectOneLine(
      kraft("start", "--config", observer),
      1,
      /^kraft start: controller\.quorum\.bootstrap\.servers names no controller but this node/,
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
