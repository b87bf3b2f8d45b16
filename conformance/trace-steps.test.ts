// A recorded trace as trace steps (kraft conformance check-trace --html): the nodes' lines merged so
// that every message is received after it was sent, each node's spec state after each step, and the
// steps ending at the event the spec does not explain.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { CheckIo } from "../src/cli/check.ts";
import { runConformanceCommand } from "../src/cli/conformance.ts";
import { UsageError } from "../src/cli/flags.ts";
import { writeRecordedTrace } from "../src/testing/recorded-trace.ts";
import { loadReducers } from "./adapter.ts";
import { readTrace } from "./trace.ts";
import { traceSteps } from "./trace-steps.ts";

const scratch = mkdtempSync(join(tmpdir(), "kraft-trace-steps-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const capture = (): CheckIo & { stdout: string[]; stderr: string[] } => {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { out: (t) => stdout.push(t), err: (t) => stderr.push(t), isTTY: false, stdout, stderr };
};

/** Record one timer of `file` after its start with another delay; returns that line's number. */
const alterDelay = (file: string): number => {
  const lines = readFileSync(file, "utf8").split("\n");
  const at = lines.findIndex((l, i) => i > 0 && l.includes('"delayMs"'));
  lines[at] = lines[at]!.replace(/"delayMs":(\d+)/, (_m, d: string) => `"delayMs":${Number(d) + 1}`);
  writeFileSync(file, lines.join("\n"));
  return at + 1;
};

describe("traceSteps", () => {
  it("merges the nodes' lines so that each message is received after it was sent", async () => {
    const dir = mkdtempSync(join(scratch, "ok-"));
    const files = writeRecordedTrace(dir, 30);
    const lines = readTrace(files);
    const steps = traceSteps(lines, await loadReducers());
    expect(steps).toHaveLength(lines.length + 1);
    expect(steps[0]!.nodes).toEqual(["n1 not started", "n2 not started", "n3 not started"]);
    const sentAt = new Map<string, number>();
    for (const step of steps.slice(1)) {
      const d = step.details![0] as {
        node: number;
        input: { _tag: string; from?: number; correlationId?: number; message?: { _tag: string } };
        effects: { _tag: string; to?: number; correlationId?: number; message?: { _tag: string } }[];
      };
      if (d.input._tag === "Received") {
        const key = `${d.input.from}>${d.node}#${d.input.correlationId} ${d.input.message!._tag}`;
        expect(sentAt.get(key), `${key} before step ${step.step}`).toBeLessThan(step.step);
      }
      for (const e of d.effects)
        if (e._tag === "Send")
          sentAt.set(`${d.node}>${e.to}#${e.correlationId} ${e.message!._tag}`, step.step);
    }
    expect(steps[steps.length - 1]!.nodes[0]).toMatch(/^n1 Leader e1 /);
  });

  it("ends at the event the spec does not explain, with the state before it", async () => {
    const dir = mkdtempSync(join(scratch, "bad-"));
    const files = writeRecordedTrace(dir, 30);
    const victim = files[2]!;
    const line = alterDelay(victim);
    expect(line).toBe(3);
    const steps = traceSteps(readTrace(files), await loadReducers(), `${victim}:${line}`);
    const last = steps[steps.length - 1]!;
    expect(last.action).toMatch(/^NOT EXPLAINED: n3 Received VoteRequest from 1 \(node-3\.trace:3 /);
    expect(last.nodes[2]).toMatch(/^n3 Unattached e0 /);
  });
});

describe("kraft conformance check-trace --html", () => {
  it("writes the page of an explained trace and of one that is not", async () => {
    const dir = mkdtempSync(join(scratch, "cli-"));
    const files = writeRecordedTrace(dir, 30);
    const ok = join(dir, "ok.html");
    expect(await runConformanceCommand(["check-trace", ...files, "--html", ok], capture())).toBe(0);
    const page = readFileSync(ok, "utf8");
    expect(page).toContain("<title>OK · kraft conformance check-trace");
    expect(page).toContain("OK: the spec explains the whole trace: 30 steps of 3 nodes");

    alterDelay(files[1]!);
    const bad = join(dir, "bad.html");
    expect(await runConformanceCommand(["check-trace", ...files, "--html", bad], capture())).toBe(1);
    expect(readFileSync(bad, "utf8")).toContain("<title>NOT EXPLAINED by the spec · ");

    await expect(
      runConformanceCommand(["check-trace", ...files, "--html", join(dir, "missing", "x.html")], capture()),
    ).rejects.toThrow(UsageError);
    const io = capture();
    expect(await runConformanceCommand(["check-trace", ...files, "--html", dir], io)).toBe(2);
    expect(io.stderr.join("")).toMatch(/^kraft conformance check-trace: cannot write the page to .*: EISDIR/);
  });
});
