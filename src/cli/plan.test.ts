// `kraft quorum plan`: the runbook's order, its model check, and its refusals.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DEFAULT_BOUNDS } from "../../spec/cluster/actions.ts";
import { DEFAULT_CLUSTER } from "../../spec/cluster/world.ts";
import type { DescribeQuorumResponse } from "../../spec/raft/messages.ts";
import { search } from "../checker/engine.ts";
import { raftModel } from "../checker/raft-model.ts";
import { fakeKafkaServer } from "../testing/fake-kafka-server.ts";
import { freeBasePort } from "../testing/local-cluster.ts";
import { AdminFailure } from "./admin-client.ts";
import { UsageError } from "./flags.ts";
import { runPlan, voterPlan } from "./plan.ts";
import { describeAny, executePlan, runningObserver } from "./plan-execute.ts";

/** A controller that answers DescribeQuorum with what `describe` says. */
const fakeController = (port: number, describe: () => DescribeQuorumResponse) =>
  fakeKafkaServer(port, "CONTROLLER", () => ({
    _tag: "AdminResponse",
    errorCode: "NONE",
    errorMessage: null,
    body: describe(),
  }));

const notLeader: DescribeQuorumResponse = {
  _tag: "DescribeQuorumResponse",
  errorCode: "NOT_LEADER_OR_FOLLOWER",
  leaderId: -1,
  leaderEpoch: 3,
  highWatermark: -1,
  currentVoters: [],
  observers: [],
};

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
    expect(plan.check.verdict).toBe("no violation found");
    expect(plan.check.walks).toBe(100);
    expect(plan.check.distinctStates).toBeGreaterThan(1000);
  }, 120_000);

  it("refuses a runbook that cannot complete once faults stop: adding a node of a release before KIP-853", () => {
    // The model the CLI checks a runbook with, but node 4 supports kraft.version 0 only: the leader
    // refuses to add it (INVALID_REQUEST, R96) however often the operator asks, so from where a run
    // ends the fair schedule never reaches the plan's last voter set.
    const cluster = {
      ...DEFAULT_CLUSTER,
      voters: 3,
      observers: 1,
      kraftVersion: 1 as const,
      kraftVersion0Only: [4],
    };
    const bounds = {
      ...DEFAULT_BOUNDS,
      maxEpoch: 3,
      maxValues: 0,
      maxCrashes: 0,
      loss: false,
      maxVoterChanges: 4,
      voterPlan: { from: [1, 2, 3], steps: [{ op: "add" as const, id: 4 }] },
    };
    const result = search(raftModel({ cluster, bounds, symmetry: false, start: "joined" }), {
      mode: "simulate",
      walks: 5,
      depth: 20,
      seed: 1,
    });
    expect(result.result).toBe("violation");
    expect(result.property).toBe("EventuallyVoterPlanCompleted");
    expect(result.violation).toMatch(
      /the runbook's last voter set \(1,2,3,4\) is not committed on a leader$/,
    );
    // Without the old release, the same plan completes from wherever those runs end.
    const { kraftVersion0Only: _old, ...current } = cluster;
    const fine = search(raftModel({ cluster: current, bounds, symmetry: false, start: "joined" }), {
      mode: "simulate",
      walks: 5,
      depth: 20,
      seed: 1,
    });
    expect(fine.result).toBe("ok");
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

  it("--execute waits for a leader while an election is under way, and fails at once when no controller answers", async () => {
    const base = await freeBasePort(2);
    const servers = [`127.0.0.1:${base}`, `127.0.0.1:${base + 1}`];
    const values = { timeout: 2000 };
    const said: string[] = [];
    // Nothing listens: no controller answered, so there is no election to wait for.
    const started = Date.now();
    await expect(describeAny(values, servers, 60_000)).rejects.toThrow(
      /^no bootstrap server described the quorum \(127\.0\.0\.1:\d+: could not connect/,
    );
    expect(Date.now() - started).toBeLessThan(30_000);
    // Both answer NOT_LEADER_OR_FOLLOWER (an election), until the second has won it.
    let asked = 0;
    const leaderAfter = 5;
    const one = await fakeController(base, () => notLeader);
    const two = await fakeController(base + 1, () =>
      ++asked < leaderAfter
        ? notLeader
        : {
            ...notLeader,
            errorCode: "NONE",
            leaderId: 2,
            leaderEpoch: 4,
            highWatermark: 17,
            currentVoters: [1, 2, 3].map((replicaId) => ({
              replicaId,
              replicaDirectoryId: "AAAAAAAAAAAAAAAAAAAABA",
              logEndOffset: 17,
              lastFetchTimestamp: 0,
              lastCaughtUpTimestamp: 0,
            })),
          },
    );
    try {
      const view = await describeAny(values, servers, 60_000, (line) => said.push(line));
      expect([view.server, view.leaderId, view.highWatermark, view.voters.map((v) => v.id)]).toEqual([
        servers[1],
        2,
        17,
        [1, 2, 3],
      ]);
      expect(asked).toBe(leaderAfter);
      expect(said).toEqual([`  no leader among ${servers.join(",")} yet; asking again for up to 60000 ms`]);
      // A leader that never comes (or is not among the servers given): the wait ends, and says why.
      asked = -1_000_000;
      const failure = await describeAny(values, servers, 600).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(AdminFailure);
      expect((failure as AdminFailure).message).toMatch(
        /: NOT_LEADER_OR_FOLLOWER\) within 600 ms: no leader was elected, or the leader is not among --bootstrap-server's controllers$/,
      );
    } finally {
      one.close();
      two.close();
    }
  }, 60_000);
});

describe("kraft quorum plan --execute: which observer entry is the controller to add", () => {
  it("the one that fetched last, when the leader lists the id twice (a removed old key, a new disk)", () => {
    const stale = {
      id: 3,
      directoryId: "AAAAAAAAAAAAAAAAAAAAAw",
      logEndOffset: 2,
      lastFetchTimestamp: 1_000,
    };
    const running = {
      id: 3,
      directoryId: "AAAAAAAAAAAAAAAAAAABAw",
      logEndOffset: 40,
      lastFetchTimestamp: 9_000,
    };
    const other = {
      id: 4,
      directoryId: "AAAAAAAAAAAAAAAAAAAABA",
      logEndOffset: 40,
      lastFetchTimestamp: 9_500,
    };
    expect(runningObserver([running, other, stale], 3)).toEqual(running);
    expect(runningObserver([stale, running], 3)).toEqual(running);
    expect(runningObserver([other], 3)).toBeUndefined();
  });
});
