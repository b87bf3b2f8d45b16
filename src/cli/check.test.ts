// kraft check as a user meets it: exit codes, flag errors that name the flag, JSON output, and the
// NDJSON counterexample trace.
import { describe, expect, it } from "vitest";
import {
  CHECK_FLAGS,
  type CheckIo,
  checkConfigFrom,
  metadataConfigFrom,
  runCheck,
  traceLines,
} from "./check.ts";
import { parseFlags, UsageError } from "./flags.ts";
import { main } from "./main.ts";

const capture = (): CheckIo & { stdout: string[]; stderr: string[] } => {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { out: (t) => stdout.push(t), err: (t) => stderr.push(t), isTTY: false, stdout, stderr };
};

describe("kraft check", () => {
  it("prints one JSON object with the result and its statistics", () => {
    const io = capture();
    const code = runCheck(
      ["--voters", "2", "--max-epoch", "1", "--max-values", "1", "--json", "--progress", "0"],
      io,
    );
    expect(code).toBe(0);
    const result = JSON.parse(io.stdout.join(""));
    expect(result).toMatchObject({ result: "ok", complete: true, mode: "bfs", symmetry: true });
    for (const field of [
      "distinctStates",
      "generatedStates",
      "maxDepth",
      "seconds",
      "distinctPerSecond",
      "peakRssMB",
      "sometimesReached",
    ]) {
      expect(result).toHaveProperty(field);
    }
    expect(io.stderr[0]).toMatch(/^kraft check: raft model, bfs: 2 voters, max epoch 1/);
  });

  it("turns the reductions off, one by one or all with --no-reductions: the same verdict from more states", () => {
    const args = ["--voters", "2", "--max-epoch", "1", "--max-values", "1", "--depth", "12"];
    const run = (...more: string[]) => {
      const io = capture();
      expect(runCheck([...args, ...more, "--json", "--progress", "0", "--workers", "1"], io)).toBe(0);
      return { result: JSON.parse(io.stdout.join("")), banner: io.stderr[0] ?? "" };
    };
    const reduced = run();
    expect(reduced.result.reductions).toEqual({
      staleMessages: true,
      messageCopies: true,
      checkQuorumFetches: true,
      selfLoops: true,
    });
    expect(reduced.banner).not.toMatch(/reductions off/);
    const exact = run("--no-reductions");
    expect(exact.result).toMatchObject({
      result: "ok",
      symmetry: false,
      reductions: { staleMessages: false, messageCopies: false, checkQuorumFetches: false, selfLoops: false },
    });
    expect(exact.banner).toMatch(
      /symmetry off, reductions off: drop-stale-messages, merge-message-copies, forget-check-quorum-fetches, skip-self-loops$/,
    );
    expect(exact.result.distinctStates).toBeGreaterThan(reduced.result.distinctStates);
    expect(exact.result.sometimesReached).toEqual(reduced.result.sometimesReached);
    const one = run("--no-drop-stale-messages");
    expect(one.result.reductions).toMatchObject({ staleMessages: false, messageCopies: true });
    expect(one.result.symmetry).toBe(true);
    expect(one.banner).toMatch(/reductions off: drop-stale-messages$/);
    expect(one.result.distinctStates).toBeGreaterThan(reduced.result.distinctStates);
  });

  it("checks voter changes (kraft.version 1) to completion, one committed", () => {
    const io = capture();
    const code = runCheck(
      [
        ...["--voters", "1", "--observers", "1", "--voter-changes", "2", "--start", "joined"],
        ...["--max-epoch", "1", "--max-values", "0", "--no-loss", "--json", "--progress", "0"],
      ],
      io,
    );
    expect(code).toBe(0);
    const result = JSON.parse(io.stdout.join(""));
    expect(result).toMatchObject({ result: "ok", complete: true, symmetry: false });
    expect(result.sometimesReached).toContain("VoterChangeCommitted");
    expect(io.stderr[0]).toMatch(/2 voter changes \(kraft\.version 1\).* symmetry off/);
  });

  it("prints a readable result and says the search was complete", () => {
    const io = capture();
    expect(runCheck(["--voters", "1", "--max-epoch", "2", "--progress", "0"], io)).toBe(0);
    expect(io.stdout.join("\n")).toMatch(/^OK: all \d+ properties hold\. The search is complete/);
  });

  it("checks the metadata model to a depth bound and says how far it looked", () => {
    const io = capture();
    expect(runCheck(["--model", "metadata", "--depth", "5", "--progress", "0"], io)).toBe(0);
    expect(io.stderr[0]).toMatch(
      /^kraft check: metadata model, bfs: 3 controllers, 2 brokers, 1 topic of 1 partition, max epoch 2, .* depth ≤ 5/,
    );
    expect(io.stdout.join("\n")).toMatch(/^OK: all \d+ properties hold in every behaviour of up to 5 steps/);
    const json = capture();
    expect(
      runCheck(["--model", "metadata", "--depth", "3", "--json", "--progress", "0", "--brokers", "1"], json),
    ).toBe(0);
    expect(JSON.parse(json.stdout.join(""))).toMatchObject({
      model: "metadata",
      result: "ok",
      depthBound: 3,
      cluster: { controllers: 3, brokers: 1 },
      partitions: 1,
    });
  });

  it("checks the metadata model completely by default, and to depth 14 with the earlier bounds under --quick", () => {
    const io = capture();
    // One broker: a complete search at the default bounds in a few seconds.
    expect(runCheck(["--model", "metadata", "--brokers", "1", "--progress", "0"], io)).toBe(0);
    expect(io.stderr[0]).toBe(
      "kraft check: metadata model, bfs: 3 controllers, 1 broker, 1 topic of 1 partition, max epoch 2, log ≤ 11, 1 broker crash, 1 controller crash, 1 session expiry, 0 delays, no message loss",
    );
    expect(io.stdout.join("\n")).toMatch(
      /^OK: all 26 properties hold\. The search is complete: every reachable state within the bounds was explored\.\n98,965 distinct states .*, depth 44,/,
    );
    const quick = capture();
    expect(
      runCheck(
        ["--model", "metadata", "--quick", "--max-log", "15", "--depth", "4", "--progress", "0"],
        quick,
      ),
    ).toBe(0);
    expect(quick.stderr[0]).toBe(
      "kraft check: metadata model, bfs: 3 controllers, 2 brokers, 1 topic of 1 partition, max epoch 2, log ≤ 15, 1 broker crash, 0 controller crashes, 1 session expiry, 1 delay, no message loss, depth ≤ 4",
    );
    const quickDefaultDepth = capture();
    expect(
      runCheck(
        ["--model", "metadata", "--quick", "--max-states", "10", "--progress", "0"],
        quickDefaultDepth,
      ),
    ).toBe(0);
    expect(quickDefaultDepth.stderr[0]).toMatch(/, 1 delay, no message loss, depth ≤ 14$/);
  });

  it("gives the metadata model an admin client with --admin-ops, in the order named", () => {
    const parse = (argv: string[]) => metadataConfigFrom(parseFlags(CHECK_FLAGS, argv).values);
    expect(parse(["--model", "metadata"]).bounds.adminOps).toEqual([]);
    expect(
      parse(["--model", "metadata", "--admin-ops", "delete-topic, create-topic"]).bounds.adminOps.map(
        (op) => op._tag,
      ),
    ).toEqual(["DeleteTopicsRequest", "CreateTopicsRequest"]);
    expect(() => parse(["--model", "metadata", "--admin-ops", "create-topc"])).toThrow(
      new UsageError(
        '--admin-ops: "create-topc" is not an admin operation; name some of create-topic, create-partitions, elect-leaders, delete-topic, comma-separated',
      ),
    );
    const io = capture();
    expect(
      runCheck(
        [
          "--model",
          "metadata",
          "--admin-ops",
          "create-topic",
          "--mode",
          "simulate",
          "--walks",
          "20",
          "--progress",
          "0",
        ],
        io,
      ),
    ).toBe(0);
    expect(io.stderr[0]).toMatch(/, admin client: CreateTopics$/);
    expect(() => runCheck(["--admin-ops", "create-topic"], io)).toThrow(
      /--admin-ops applies to the metadata model \(--model metadata\) only/,
    );
  });

  it("says when a limit stopped the search", () => {
    const io = capture();
    expect(runCheck(["--max-states", "50", "--progress", "0"], io)).toBe(0);
    expect(io.stdout.join("\n")).toMatch(
      /^INCOMPLETE: no property violated, but the --max-states limit was reached/,
    );
  });

  it("rejects bad flags with a message that names the flag and the allowed values", () => {
    const parse = (argv: string[]) => checkConfigFrom(parseFlags(CHECK_FLAGS, argv).values);
    expect(() => parse(["--voters", "0"])).toThrow(
      new UsageError("--voters must be at least 1 and at most 7, not 0"),
    );
    expect(() => parse(["--max-epoch", "-1"])).toThrow(/--max-epoch must be at least 0/);
    expect(() => parse(["--mode", "bogus"])).toThrow(/--mode must be one of bfs, dfs, simulate, not "bogus"/);
    expect(() => parse(["--model", "zookeeper"])).toThrow(/--model must be one of raft/);
    expect(() => parse(["--seed", "x"])).toThrow(/--seed needs a whole number, not "x"/);
    expect(() => parse(["--json=maybe"])).toThrow(/--json is on or off/);
    expect(() => parse(["--frobnicate"])).toThrow(/unknown flag --frobnicate; known flags: --model/);
    expect(() => parse(["--trace-out"])).toThrow(/--trace-out needs a value/);
    expect(() => parse(["--workers", "0"])).toThrow(/--workers must be at least 1/);
    expect(() => parse(["--moved-listener", "5"])).toThrow(
      "--moved-listener names node 5, but the cluster has nodes 1..3; name one of them, or 0 for none",
    );
    expect(parse(["--moved-listener", "2"]).cluster).toMatchObject({ kraftVersion: 1, movedListeners: [2] });
    const io = capture();
    expect(() => runCheck(["--mode", "simulate", "--seed-range", "9..3"], io)).toThrow(
      /--seed-range 9..3: expected A..B with 0 <= A <= B/,
    );
    expect(() => runCheck(["--mode", "simulate", "--seed-range", "1-5"], io)).toThrow(/expected A..B/);
    expect(() => runCheck(["--seed-range", "1..5"], io)).toThrow(
      /--seed-range applies to --mode simulate only/,
    );
  });

  it("runs a shard of simulation seeds and names the seeds it covered", () => {
    const io = capture();
    expect(
      runCheck(["--mode", "simulate", "--seed-range", "40..42", "--walks", "3", "--progress", "0"], io),
    ).toBe(0);
    expect(io.stdout.join("")).toMatch(/OK: no property violated in 9 random walks \(seeds 40..42\)/);
  });

  it("refuses a flag that the chosen model does not read, naming the model it belongs to", () => {
    expect(() => runCheck(["--brokers", "3", "--progress", "0"], capture())).toThrow(
      new UsageError(
        "--brokers applies to the metadata model (--model metadata) only, not to the raft model",
      ),
    );
    expect(() => runCheck(["--model", "metadata", "--max-crashes", "1"], capture())).toThrow(
      new UsageError(
        "--max-crashes applies to the raft model only, not to the metadata model (--model metadata)",
      ),
    );
    expect(() => runCheck(["--model", "metadata", "--start", "committed"], capture())).toThrow(
      /--start applies to the raft model only/,
    );
    expect(() => parseFlags(CHECK_FLAGS, ["--start", "middle"])).toThrow(
      /--start must be one of fresh, committed, joined, not "middle"/,
    );
  });

  it("starts the raft model from a committed value when asked, and says so", () => {
    const io = capture();
    expect(
      runCheck(["--start", "committed", "--depth", "3", "--liveness-ms", "0", "--progress", "0"], io),
    ).toBe(0);
    expect(io.stderr[0]).toMatch(/starting from a committed value/);
    expect(io.stdout.join("\n")).toMatch(/^OK: all \d+ properties hold in every behaviour of up to 3 steps/);
  });

  it("exits 2 on bad usage and prints help on request", async () => {
    expect(await main(["check", "--voters", "0"])).toBe(2);
    expect(await main(["no-such-command"])).toBe(2);
    expect(await main(["check", "stray"])).toBe(2);
    expect(await main(["--version"])).toBe(0);
    expect(await main(["check", "--help"])).toBe(0);
  });

  it("writes a counterexample as NDJSON: header, actions with their reducer steps, violation", () => {
    const config = checkConfigFrom(parseFlags(CHECK_FLAGS, []).values);
    const lines = traceLines(config, {
      result: "violation",
      complete: false,
      property: "ElectionSafety",
      violation: "two leaders",
      distinctStates: 3,
      generatedStates: 3,
      maxDepth: 1,
      seconds: 0,
      distinctPerSecond: 0,
      peakRssMB: 1,
      bytesPerState: 1,
      sometimesReached: [],
      sometimesMissed: [],
      trace: [
        { step: 0, action: "initial state", nodes: ["n1 …"] },
        {
          step: 1,
          action: "timeout 1 election",
          nodes: ["n1 …"],
          details: [{ node: 1, input: { _tag: "TimerExpired" } }],
        },
      ],
    }).map((l) => JSON.parse(l));
    expect(lines.map((l) => l.type)).toEqual(["header", "action", "action", "step", "violation"]);
    expect(lines[0]).toMatchObject({ format: "openkraft-trace", version: 1, model: "raft" });
    expect(lines[3]).toEqual({ type: "step", step: 1, node: 1, input: { _tag: "TimerExpired" } });
    expect(lines[4]).toEqual({ type: "violation", property: "ElectionSafety", detail: "two leaders" });
  });
});
