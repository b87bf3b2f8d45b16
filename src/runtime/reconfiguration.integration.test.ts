// A dynamic quorum (KIP-853) as real processes: controllers 1-3 formatted as the initial voters,
// controller 4 as an observer, one broker; every node finds the quorum through
// controller.quorum.bootstrap.servers. While a writer creates topics through the broker, the operator
// commands add the fourth controller, remove the leader, and replace a controller whose disk was wiped
// (a new directory id), by hand and then by auto-join; a full restart then comes back with the voter
// set the log holds. No write the cluster acknowledged is lost.
import { spawn, spawnSync } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KAFKA_TOOLS, kafkaToolsClasspath } from "../../scripts/kafka-jars.ts";
import { formatDirectory } from "../cli/node-commands.ts";
import { requestOnce } from "../kafka/client.ts";
import { DescribeQuorumRequest, DescribeQuorumResponse } from "../kafka/generated/messages.ts";
import { hasJava } from "../testing/apache-kafka.ts";
import { kraftBin, LocalCluster, sleep, TEST_TIMEOUTS, waitFor } from "../testing/local-cluster.ts";

const CONTROLLERS = [1, 2, 3, 4];
/** How long a change may take to show on a loaded two-core machine: many times the test timeouts. */
const WAIT_MS = 30 * Math.max(...TEST_TIMEOUTS.map(([, ms]) => Number(ms)));
const BROKER = 5;
let cluster: LocalCluster;

beforeAll(async () => {
  cluster = await LocalCluster.create(4, 1, TEST_TIMEOUTS, { _tag: "Dynamic", initialVoters: 3 });
  cluster.startAll();
}, 30_000);

afterAll(async () => {
  await cluster?.destroy();
}, 30_000);

/** Run a kraft command to its end. */
const kraft = (args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> =>
  new Promise((resolve) => {
    const child = spawn(process.execPath, [kraftBin, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString("utf8")));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString("utf8")));
    child.once("exit", (code) => resolve({ code, stdout, stderr }));
  });

const directoryIdOf = (id: number): string => {
  const text = readFileSync(join(cluster.node(id).dir, "data", "meta.properties"), "utf8");
  return /directory\.id=(\S+)/.exec(text)![1]!;
};

type Quorum = NonNullable<Awaited<ReturnType<typeof quorum>>>;

/**
 * The quorum as a running controller's leader describes it: voters by key, observers by id, and log
 * ends by key (after a disk replacement one id has two entries: the old key's, stale, and the new's).
 */
const quorum = async () => {
  for (const id of CONTROLLERS.filter((c) => cluster.isRunning(c))) {
    try {
      const answer = await requestOnce(
        cluster.node(id).address,
        DescribeQuorumRequest,
        DescribeQuorumResponse,
        { topics: [{ topicName: "__cluster_metadata", partitions: [{ partitionIndex: 0 }] }] },
        { timeoutMs: 2000 },
      );
      const p = answer.topics[0]?.partitions[0];
      if (answer.errorCode !== 0 || p === undefined || p.errorCode !== 0 || p.leaderId < 0) continue;
      return {
        leaderId: p.leaderId,
        voters: p.currentVoters.map((v) => `${v.replicaId}:${v.replicaDirectoryId}`).sort(),
        observers: p.observers.map((o) => o.replicaId).sort(),
        highWatermark: Number(p.highWatermark),
        logEnds: new Map<string, number>(
          [...p.currentVoters, ...p.observers].map(
            (r) => [`${r.replicaId}:${r.replicaDirectoryId}`, Number(r.logEndOffset)] as const,
          ),
        ),
      };
    } catch {
      // An election under way, or this controller is down: ask the next.
    }
  }
  return undefined;
};

const key = (id: number) => `${id}:${directoryIdOf(id)}`;

/** The voter set the leader reports, once it is `expected` (keys id:directoryId). */
const waitForVoters = (expected: readonly string[], timeoutMs = WAIT_MS) =>
  waitFor(
    `voters ${expected.join(",")}`,
    async () => {
      const q = await quorum();
      return q !== undefined && JSON.stringify(q.voters) === JSON.stringify([...expected].sort())
        ? q
        : undefined;
    },
    timeoutMs,
    100,
  );

/** An observer that has caught up with the leader's high watermark (R101), as add-controller needs. */
const waitCaughtUp = (id: number) =>
  waitFor(
    `controller ${id} to catch up as an observer`,
    async () => {
      const q = await quorum();
      return q?.observers.includes(id) === true && (q.logEnds.get(key(id)) ?? -1) >= q.highWatermark
        ? q
        : undefined;
    },
    WAIT_MS,
    100,
  );

/**
 * Run a voter change until the leader commits it: a change refused because another is pending, the
 * node has not caught up, or the leader just changed (each voter change fails the controller over, as
 * Kafka's does, KAFKA-15213) is retried; `done` says whether an earlier try already took effect.
 */
const changeVoters = async (args: readonly string[], done: () => Promise<boolean>) => {
  const refusals: string[] = [];
  for (let attempt = 0; attempt < 20; attempt++) {
    if (await done()) return refusals;
    const result = await kraft([
      "quorum",
      ...args,
      "--bootstrap-server",
      cluster.node(CONTROLLERS.find((c) => cluster.isRunning(c))!).address,
      "--timeout",
      "5000",
    ]);
    if (result.code === 0) return refusals;
    refusals.push(result.stderr.trim());
    expect(result.stderr, refusals.join(" | ")).toMatch(
      /REQUEST_TIMED_OUT|NOT_LEADER_OR_FOLLOWER|no leader|did not answer|could not connect|DUPLICATE_VOTER|VOTER_NOT_FOUND|NOT_CONTROLLER/,
    );
    await sleep(300);
  }
  throw new Error(`kraft quorum ${args.join(" ")} never succeeded: ${refusals.join(" | ")}`);
};

/** Topics created through the broker while a change runs; the names it acknowledged. */
class Writer {
  readonly acknowledged: string[] = [];
  private running = true;
  private readonly loop: Promise<void>;
  constructor(prefix: string) {
    this.loop = (async () => {
      for (let i = 0; this.running; i++) {
        try {
          const result = await cluster.createTopic(BROKER, `${prefix}-${i}`, 1, 1);
          if (result.errorCode === "NONE") this.acknowledged.push(`${prefix}-${i}`);
        } catch {
          // The broker forwarding to a controller that is failing over: go on.
        }
        await sleep(50);
      }
    })();
  }
  async stop(): Promise<readonly string[]> {
    this.running = false;
    await this.loop;
    return this.acknowledged;
  }
}

/** Every acknowledged topic is in the image of the leader and of the broker. */
const expectAllPresent = async (names: readonly string[]) => {
  const leader = await cluster.waitForLeader(WAIT_MS);
  await waitFor(
    "every acknowledged topic on the leader and the broker",
    async () => {
      const onLeader = new Set((await cluster.topics(leader.nodeId)).map((t) => t.name));
      const onBroker = new Set((await cluster.topics(BROKER)).map((t) => t.name));
      return names.every((n) => onLeader.has(n) && onBroker.has(n)) ? true : undefined;
    },
    WAIT_MS,
    100,
  );
};

describe("a dynamic quorum (KIP-853) run as processes", () => {
  it("forms from the bootstrap checkpoint: three voters known by directory id, the fourth controller an observer", async () => {
    await cluster.waitForLeader(WAIT_MS);
    const q = await waitCaughtUp(4);
    expect(q.voters).toEqual([key(1), key(2), key(3)].sort());
    const described = await kraft(["quorum", "describe", "--bootstrap-server", cluster.node(1).address]);
    expect(described.code).toBe(0);
    expect(described.stdout).toContain("kraft.version 1 (dynamic quorum)");
    expect(described.stdout).toContain(directoryIdOf(2));
  }, 240_000);

  it("adds the fourth controller while writes run, and loses no acknowledged write", async () => {
    const writer = new Writer("during-add");
    await sleep(300);
    const target = [key(1), key(2), key(3), key(4)];
    await changeVoters(
      ["add-controller", "--config", cluster.node(4).config],
      async () => JSON.stringify((await quorum())?.voters) === JSON.stringify([...target].sort()),
    );
    await waitForVoters(target);
    await sleep(300);
    const written = await writer.stop();
    expect(written.length).toBeGreaterThan(0);
    await expectAllPresent(written);
  }, 240_000);

  it("removes the leader itself while writes run: it resigns once the removal commits (R98)", async () => {
    const before = await cluster.waitForLeader(WAIT_MS);
    const leader = before.nodeId;
    const writer = new Writer("during-remove");
    await sleep(300);
    const target = CONTROLLERS.filter((c) => c !== leader).map(key);
    await changeVoters(
      [
        "remove-controller",
        "--controller-id",
        String(leader),
        "--controller-directory-id",
        directoryIdOf(leader),
      ],
      async () => JSON.stringify((await quorum())?.voters) === JSON.stringify([...target].sort()),
    );
    const after = await waitForVoters(target);
    expect(after.leaderId).not.toBe(leader);
    const written = await writer.stop();
    expect(written.length).toBeGreaterThan(0);
    await expectAllPresent(written);
    // The removed controller goes on as an observer, and can be added back.
    await waitCaughtUp(leader);
    await changeVoters(
      ["add-controller", "--config", cluster.node(leader).config],
      async () => (await quorum())?.voters.includes(key(leader)) === true,
    );
    await waitForVoters(CONTROLLERS.map(key));
  }, 240_000);

  it("replaces a controller whose disk was wiped (a new directory id) without downtime", async () => {
    const leader = (await cluster.waitForLeader(WAIT_MS)).nodeId;
    const victim = CONTROLLERS.find((c) => c !== leader)!;
    const oldDirectoryId = directoryIdOf(victim);
    const writer = new Writer("during-replace");
    await cluster.kill(victim);
    const data = join(cluster.node(victim).dir, "data");
    rmSync(data, { recursive: true, force: true });
    formatDirectory(data, cluster.clusterId, victim, false, { _tag: "Observer" });
    const newDirectoryId = directoryIdOf(victim);
    expect(newDirectoryId).not.toBe(oldDirectoryId);
    cluster.start(victim);
    // The old key stays a voter until removed; the new disk is an observer (R100) until added.
    await waitCaughtUp(victim);
    await changeVoters(
      ["remove-controller", "--controller-id", String(victim), "--controller-directory-id", oldDirectoryId],
      async () => (await quorum())?.voters.includes(`${victim}:${oldDirectoryId}`) === false,
    );
    await waitCaughtUp(victim);
    await changeVoters(
      ["add-controller", "--config", cluster.node(victim).config],
      async () => (await quorum())?.voters.includes(`${victim}:${newDirectoryId}`) === true,
    );
    await waitForVoters(CONTROLLERS.map(key));
    const written = await writer.stop();
    expect(written.length).toBeGreaterThan(0);
    await expectAllPresent(written);
  }, 240_000);

  it("with controller.quorum.auto.join.enable, a controller whose disk was wiped removes its old entry and adds itself (R150)", async () => {
    const leader = (await cluster.waitForLeader(WAIT_MS)).nodeId;
    const victim = CONTROLLERS.find((c) => c !== leader)!;
    const oldDirectoryId = directoryIdOf(victim);
    const config = cluster.node(victim).config;
    const properties = readFileSync(config, "utf8");
    const writer = new Writer("during-auto-join");
    await cluster.kill(victim);
    const data = join(cluster.node(victim).dir, "data");
    rmSync(data, { recursive: true, force: true });
    formatDirectory(data, cluster.clusterId, victim, false, { _tag: "Observer" });
    writeFileSync(config, `${properties.trimEnd()}\ncontroller.quorum.auto.join.enable=true\n`);
    try {
      cluster.start(victim);
      // No operator command: the node asks the leader itself, every fetch timeout.
      await waitForVoters(CONTROLLERS.map(key));
      expect((await quorum())?.voters).not.toContain(`${victim}:${oldDirectoryId}`);
      const written = await writer.stop();
      expect(written.length).toBeGreaterThan(0);
      await expectAllPresent(written);
    } finally {
      // The later tests change voters by hand: a node that adds itself back would undo their removals.
      writeFileSync(config, properties);
      if (cluster.isRunning(victim)) await cluster.stop(victim);
      cluster.start(victim);
    }
    await waitForVoters(CONTROLLERS.map(key));
  }, 240_000);

  it("a full restart comes back with the voter set the log holds, not the bootstrap checkpoint's", async () => {
    const voters = CONTROLLERS.map(key);
    await cluster.stopAll();
    cluster.startAll();
    await cluster.waitForLeader(WAIT_MS);
    await waitForVoters(voters, WAIT_MS);
    // The broker registers again (and is unfenced) before a topic can be placed on it.
    await waitFor(
      "the broker to run again",
      async () => ((await cluster.status(BROKER)).brokerState === "RUNNING" ? true : undefined),
      WAIT_MS,
    );
    const result = await cluster.createTopic(BROKER, "after-restart", 1, 1);
    expect(result.errorCode).toBe("NONE");
  }, 240_000);

  it.skipIf(!hasJava)(
    "Apache Kafka 4.4's kafka-metadata-quorum describes the quorum, removes a controller and adds it back",
    async () => {
      const classpath = await kafkaToolsClasspath();
      const tool = (...args: string[]) => {
        const run = spawnSync("java", ["-cp", classpath, KAFKA_TOOLS["kafka-metadata-quorum"]!, ...args], {
          encoding: "utf8",
          timeout: 120_000,
        });
        return { code: run.status, out: `${run.stdout}${run.stderr}` };
      };
      /**
       * Kafka's tool run against the leader of the moment until `done`. A change the leader took may
       * be refused to the tool all the same: the controller fails over as the record is appended
       * (KAFKA-15213), and a leader that steps down answers NOT_LEADER_OR_FOLLOWER (R93) although the
       * next leader commits the record; a retry would then be DUPLICATE_VOTER or VOTER_NOT_FOUND. So
       * the tool is asked again only while the change is missing, and at least once.
       */
      const untilDone = async (
        label: string,
        done: (q: Quorum) => boolean,
        args: (leader: number) => string[],
      ) => {
        const runs: { code: number | null; out: string }[] = [];
        try {
          await waitFor(
            label,
            async () => {
              const q = await quorum();
              if (q === undefined) return undefined;
              if (runs.length > 0 && done(q)) return true;
              const run = tool(
                "--bootstrap-controller",
                cluster.node(q.leaderId).address,
                ...args(q.leaderId),
              );
              runs.push(run);
              return run.code === 0 ? true : undefined;
            },
            WAIT_MS * 3,
            500,
          );
        } catch (error) {
          // What the tool said, so that a failure can be told from a refusal or a lost connection.
          const said = runs.slice(-3).map((r) => `exit ${r.code}: ${r.out.trim().slice(-600)}`);
          throw new Error(`${(error as Error).message}; ${runs.length} runs, the last:\n${said.join("\n")}`);
        }
        return runs;
      };
      const statusRuns = await untilDone(
        "kafka-metadata-quorum describe --status",
        () => false,
        () => ["describe", "--status"],
      );
      for (const id of CONTROLLERS)
        expect(statusRuns.at(-1)?.out).toContain(
          `{"id": ${id}, "directoryId": "${directoryIdOf(id)}", "endpoints": ["CONTROLLER://${cluster.node(id).address}"]}`,
        );
      const leader = (await cluster.waitForLeader(WAIT_MS)).nodeId;
      const victim = CONTROLLERS.find((c) => c !== leader)!;
      const directoryId = directoryIdOf(victim);
      const removeRuns = await untilDone(
        "kafka-metadata-quorum remove-controller to take effect",
        (q) => !q.voters.includes(key(victim)),
        () => [
          "remove-controller",
          "--controller-id",
          String(victim),
          "--controller-directory-id",
          directoryId,
        ],
      );
      const removed = removeRuns.at(-1)!;
      if (removed.code === 0)
        expect(removed.out).toContain(`Removed KRaft controller ${victim} with directory id ${directoryId}`);
      await waitForVoters(CONTROLLERS.filter((c) => c !== victim).map(key));
      await waitCaughtUp(victim);
      // Kafka's tool finds the leader itself (the removal failed the old one over); it reads the new
      // controller's id, listener and directory id from its properties file, as for a Kafka node.
      await untilDone(
        "kafka-metadata-quorum add-controller to take effect",
        (q) => q.voters.includes(key(victim)),
        () => ["--command-config", cluster.node(victim).config, "add-controller"],
      );
      await waitForVoters(CONTROLLERS.map(key));
    },
    400_000,
  );

  it("kraft quorum plan --execute carries a checked plan out step by step, resumes, and refuses a quorum off the plan", async () => {
    const servers = CONTROLLERS.map((c) => cluster.node(c).address).join(",");
    const plan = (from: string, to: string, ...more: string[]) =>
      kraft([
        "quorum",
        "plan",
        "--from",
        from,
        "--to",
        to,
        "--walks",
        "40",
        "--execute",
        "--bootstrap-server",
        servers,
        "--timeout",
        "5000",
        "--json",
        ...more,
      ]);
    await waitForVoters(CONTROLLERS.map(key));
    type Executed = { step: number; op: string; id: number; voters: number[]; status: string }[];
    // A removal: controller 4 leaves the voters (it may be the leader: it resigns, R98).
    const shrink = await plan("1,2,3,4", "1,2,3");
    expect(shrink.code, shrink.stderr).toBe(0);
    expect((JSON.parse(shrink.stdout) as { executed: Executed }).executed).toEqual([
      expect.objectContaining({ step: 1, op: "remove", id: 4, voters: [1, 2, 3], status: "done" }),
    ]);
    await waitForVoters([1, 2, 3].map(key));
    // An add waits for its precondition (4 is a caught-up observer), then a removal.
    const config = `4=${cluster.node(4).config}`;
    const swap = await plan("1,2,3", "1,2,4", "--controller-configs", config);
    expect(swap.code, swap.stderr).toBe(0);
    expect((JSON.parse(swap.stdout) as { executed: Executed }).executed).toEqual([
      expect.objectContaining({ step: 1, op: "add", id: 4, voters: [1, 2, 3, 4], status: "done" }),
      expect.objectContaining({ step: 2, op: "remove", id: 3, voters: [1, 2, 4], status: "done" }),
    ]);
    await waitForVoters([1, 2, 4].map(key));
    // The same command again finds every step done: it resumes past the end and changes nothing.
    const again = await plan("1,2,3", "1,2,4", "--controller-configs", config);
    expect(again.code, again.stderr).toBe(0);
    expect((JSON.parse(again.stdout) as { executed: Executed }).executed.map((s) => s.status)).toEqual([
      "already done",
      "already done",
    ]);
    expect(again.stderr).toContain("the voters are already 1,2,4: every step is done");
    // A quorum that is not on the plan's path is refused before any change.
    const off = await plan("1,2,3", "2,3,5", "--controller-configs", "5=/nonexistent.properties");
    expect(off.code).toBe(2);
    expect(off.stderr).toContain("cannot read /nonexistent.properties");
    const offPath = await plan("1,2,3", "1,2");
    expect(offPath.code).toBe(1);
    expect(offPath.stderr).toContain(
      "the voters are 1,2,4: neither --from (1,2,3) nor a set the plan passes through (1,2); plan again with --from 1,2,4",
    );
    await waitForVoters([1, 2, 4].map(key));
  }, 400_000);

  it("a voter restarted on a new port rewrites its own entry, and the leaders name it there (R99)", async () => {
    const voters = [1, 2, 4];
    await waitForVoters(voters.map(key));
    const leader = (await cluster.waitForLeader(WAIT_MS)).nodeId;
    const victim = voters.find((c) => c !== leader)!;
    const oldPort = Number(cluster.node(victim).address.split(":")[1]);
    const newPort = oldPort + 50;
    const others = CONTROLLERS.filter((c) => c !== victim).map((c) => cluster.node(c).address);
    /** Where the leader of the moment says the victim listens (DescribeQuorum v2's nodes). */
    const advertised = async () => {
      for (const server of others) {
        const run = await kraft([
          "quorum",
          "describe",
          "--json",
          "--bootstrap-server",
          server,
          "--timeout",
          "2000",
        ]);
        if (run.code !== 0) continue;
        const described = JSON.parse(run.stdout) as {
          leaderId: number;
          nodes: { id: number; listeners: { port: number }[] }[];
        };
        return {
          leaderId: described.leaderId,
          port: described.nodes.find((n) => n.id === victim)?.listeners[0]?.port,
        };
      }
      return undefined;
    };
    expect((await advertised())?.port).toBe(oldPort);
    await cluster.kill(victim);
    const file = cluster.node(victim).config;
    writeFileSync(
      file,
      readFileSync(file, "utf8").replace(
        `CONTROLLER://127.0.0.1:${oldPort}`,
        `CONTROLLER://127.0.0.1:${newPort}`,
      ),
    );
    cluster.start(victim);
    // Not a voter under this key: controller 3 is an observer now.
    const refused = await kraft([
      "quorum",
      "update-controller",
      "--config",
      cluster.node(3).config,
      "--bootstrap-server",
      others[0]!,
    ]);
    expect(refused.code, refused.stderr).toBe(1);
    expect(refused.stderr).toContain("VOTER_NOT_FOUND");
    // No operator command: the voter asks the leader itself, each update-voter-set period.
    await waitFor(
      "the leader to name the victim's new port",
      async () => ((await advertised())?.port === newPort ? true : undefined),
      WAIT_MS,
      300,
    );
    // An operator's update naming the same listener is taken too (it rewrites the entry as it is).
    await waitFor(
      "kraft quorum update-controller to be taken",
      async () => {
        const run = await kraft([
          "quorum",
          "update-controller",
          "--config",
          file,
          "--bootstrap-server",
          others[0]!,
          "--timeout",
          "5000",
        ]);
        return run.code === 0 &&
          run.stdout.includes(`controller ${victim}'s entry now names CONTROLLER://127.0.0.1:${newPort}`)
          ? true
          : undefined;
      },
      WAIT_MS,
      300,
    );
    // The entry travels in the log: the next leader names the new port too.
    await cluster.kill(leader);
    await waitFor(
      "a new leader that names the victim's new port",
      async () => {
        const seen = await advertised();
        return seen !== undefined && seen.leaderId !== leader && seen.port === newPort ? true : undefined;
      },
      WAIT_MS,
      200,
    );
  }, 400_000);
});
