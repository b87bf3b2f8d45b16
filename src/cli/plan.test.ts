// `kraft quorum plan`: the runbook's order, its model check, and its refusals.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { UsageError } from "./flags.ts";
import { runPlan, voterPlan } from "./plan.ts";
import { executePlan } from "./plan-execute.ts";

const run = (flags: Record<string, unknown>) => {
  const out: string[] = [];
  const err: string[] = [];
  const code = runPlan(
    { walks: 100, depth: 600, seed: 1, "max-crashes": 1, "max-seconds": 120, json: true, ...flags },
    { out: (t) => out.push(t), err: (t) => err.push(t) },
  );
  return { code, out: out.join("\n"), err: err.join("\n") };
};

describe("kraft quorum plan", () => {
  it("adds every new controller before it removes any old one", () => {
    expect(voterPlan([1, 2, 3], [4, 5, 6])).toEqual([
      { op: "add", id: 4 },
      { op: "add", id: 5 },
      { op: "add", id: 6 },
      { op: "remove", id: 1 },
      { op: "remove", id: 2 },
      { op: "remove", id: 3 },
    ]);
    expect(voterPlan([1], [1, 2, 3])).toEqual([
      { op: "add", id: 2 },
      { op: "add", id: 3 },
    ]);
  });

  it("model-checks the plan (crashes, loss, elections between steps) and prints the runbook", () => {
    const { code, out } = run({ from: "1,2,3", to: "1,2,7" });
    expect(code).toBe(0);
    const plan = JSON.parse(out) as {
      steps: { step: number; op: string; id: number; voters: number[]; commands: string[] }[];
      check: { verdict: string; walks: number; distinctStates: number };
      refused: boolean;
    };
    expect(plan.refused).toBe(false);
    expect(plan.steps.map((s) => [s.step, s.op, s.id, s.voters])).toEqual([
      [1, "add", 7, [1, 2, 3, 7]],
      [2, "remove", 3, [1, 2, 7]],
    ]);
    expect(plan.steps[0]!.commands).toContain(
      "kraft quorum add-controller --config controller-7.properties --bootstrap-server HOST:PORT",
    );
    expect(plan.check.verdict).toBe("proved within bounds");
    expect(plan.check.walks).toBe(100);
    expect(plan.check.distinctStates).toBeGreaterThan(1000);
  }, 120_000);

  it("refuses a plan the checker cannot complete within its bounds, exit 1", () => {
    const { code, out } = run({ from: "1,2,3", to: "1,2,4", depth: 10, walks: 20 });
    expect(code).toBe(1);
    const plan = JSON.parse(out) as { check: { verdict: string }; refused: boolean };
    expect(plan.refused).toBe(true);
    expect(plan.check.verdict).toBe("not completed");
    const text = run({ from: "1,2,3", to: "1,2,4", depth: 10, walks: 20, json: false });
    expect(text.err).toMatch(
      /^kraft quorum plan: refused: no run of the plan completed it in 20 random runs/,
    );
  }, 60_000);

  it("bad input names what is wrong", () => {
    expect(() => run({ from: "1,2,3", to: "3,2,1" })).toThrow(
      new UsageError("--from and --to name the same voters: there is nothing to change"),
    );
    expect(() => run({ from: "1,2,3", to: "4,5,6,7" })).toThrow(
      /involves 7 controllers; it is model-checked with at most 6/,
    );
    expect(() => run({ from: "1,1", to: "2" })).toThrow(new UsageError("--from names a node twice"));
    expect(() => run({ from: "1,x", to: "2" })).toThrow(/--from "1,x" is not a list of node ids/);
    expect(() => run({ to: "2" })).toThrow(/needs --from IDS/);
  });

  it("--execute refuses bad flags before the model check and before touching the cluster", async () => {
    const dir = mkdtempSync(join(tmpdir(), "plan-execute-"));
    const other = join(dir, "other.properties");
    writeFileSync(
      other,
      "process.roles=controller\nnode.id=9\nlisteners=CONTROLLER://127.0.0.1:9999\ncontroller.listener.names=CONTROLLER\nlog.dirs=/tmp/x\ncontroller.quorum.bootstrap.servers=127.0.0.1:9999\n",
    );
    const execute = (flags: Record<string, unknown>) =>
      executePlan(
        {
          walks: 10,
          depth: 600,
          seed: 1,
          "max-crashes": 1,
          "max-seconds": 120,
          json: false,
          "step-timeout": 1000,
          timeout: 1000,
          execute: true,
          ...flags,
        },
        { out: () => {}, err: () => {} },
      );
    await expect(execute({ from: "1,2,3", to: "1,2,4" })).rejects.toThrow(
      "--execute needs --bootstrap-server HOST:PORT[,HOST:PORT…]",
    );
    const server = { "bootstrap-server": "127.0.0.1:1" };
    await expect(execute({ ...server, from: "1,2,3", to: "1,2,4" })).rejects.toThrow(
      "--execute adds controller 4: give 4=FILE in --controller-configs",
    );
    await expect(
      execute({ ...server, from: "1,2,3", to: "1,2,4", "controller-configs": "four" }),
    ).rejects.toThrow('--controller-configs: "four" is not ID=FILE');
    await expect(
      execute({ ...server, from: "1,2,3", to: "1,2,4", "controller-configs": `4=${other}` }),
    ).rejects.toThrow(`--controller-configs: ${other} is node 9's, not controller 4's`);
    await expect(
      execute({ ...server, from: "1,2,3", to: "1,2,4", "controller-configs": `4=${join(dir, "none")}` }),
    ).rejects.toThrow(UsageError);
    rmSync(dir, { recursive: true, force: true });
  });
});
