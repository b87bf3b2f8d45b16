// Ctrl-C stops a cluster in order, and quickly: the brokers' controlled shutdowns (their heartbeat goes
// at once, and the answer is still read while stopping), then the controllers, the last of which is
// told to stop at once since no successor can be elected. A terminal's Ctrl-C reaches the whole
// process group; the nodes leave it to the supervisor.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { GRACEFUL_STOP_MS } from "../runtime/node.ts";
import { freeBasePort, kraftBin, TEST_TIMEOUTS } from "../testing/local-cluster.ts";

const scratch = mkdtempSync(join(tmpdir(), "kraft-cluster-stop-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A generous bound for the cluster to form, from the test timeouts (a loaded machine). */
const FORM_MS = 20 * Math.max(...TEST_TIMEOUTS.map(([, ms]) => ms));

/** `kraft cluster up --fast` with one broker in `dir`, in its own process group; its stdout so far. */
const clusterUp = async (dir: string) => {
  const base = await freeBasePort(4);
  const up = spawn(
    process.execPath,
    [kraftBin, "cluster", "up", "--dir", dir, "--base-port", String(base), "--fast", "--brokers", "1"],
    // Its own process group, as a terminal's foreground job is: the group gets the SIGINT.
    { stdio: ["ignore", "pipe", "pipe"], detached: true },
  );
  let out = "";
  up.stdout.on("data", (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => up.once("exit", (code) => resolve(code)));
  return { up, exited, out: () => out };
};

it("Ctrl-C on kraft cluster up: brokers shut down with the controller's agreement, then every node stops, within one graceful-stop timeout", async () => {
  const dir = join(scratch, "cluster");
  const { up, exited, out } = await clusterUp(dir);
  try {
    const deadline = Date.now() + FORM_MS;
    while (!out().includes("leader:") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(out()).toContain("leader:");
    // The broker has registered and runs (a broker still starting has nothing to hand over).
    const brokerLog = join(dir, "node-4", "node.log");
    const running = () => {
      try {
        return readFileSync(brokerLog, "utf8").includes('"to":"RUNNING"');
      } catch {
        return false;
      }
    };
    while (!running() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(running()).toBe(true);
    const started = Date.now();
    process.kill(-up.pid!, "SIGINT");
    expect(await exited).toBe(0);
    // Before: every stop waited out the broker's controlled shutdown and the leader's resignation.
    expect(Date.now() - started).toBeLessThan(GRACEFUL_STOP_MS);
    expect(out()).toContain("stopped");
    const broker = readFileSync(brokerLog, "utf8");
    expect(broker).toContain("the controller agreed to the controlled shutdown");
    for (const id of [1, 2, 3, 4])
      expect(readFileSync(join(dir, `node-${id}`, "node.log"), "utf8")).toContain("node stopped");
  } finally {
    if (up.exitCode === null) process.kill(-up.pid!, "SIGKILL");
  }
}, 120_000);

it("kraft cluster up names the next leader when the active controller is killed", async () => {
  const { up, exited, out } = await clusterUp(join(scratch, "watch"));
  const leaders = () =>
    [...out().matchAll(/^leader: node (\d+) \(epoch (\d+)/gm)].map((m) => [Number(m[1]), Number(m[2])]);
  try {
    const deadline = Date.now() + FORM_MS;
    while (leaders().length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const [first] = leaders();
    expect(first).toBeDefined();
    const [leaderId, epoch] = first!;
    const pid = Number(new RegExp(`^  node ${leaderId}  controller .* pid (\\d+)`, "m").exec(out())?.[1]);
    process.kill(pid, "SIGKILL");
    while (leaders().length < 2 && Date.now() < deadline + FORM_MS)
      await new Promise((r) => setTimeout(r, 100));
    const next = leaders()[1];
    expect(next).toBeDefined();
    expect(next![0]).not.toBe(leaderId);
    expect(next![1]).toBeGreaterThan(epoch!);
    process.kill(-up.pid!, "SIGINT");
    expect(await exited).toBe(0);
  } finally {
    if (up.exitCode === null) process.kill(-up.pid!, "SIGKILL");
  }
}, 120_000);
