// The project's own admin commands (kraft quorum|topics|brokers) run as a user runs them, against any
// cluster that speaks Kafka's protocol: openkraft's or Apache Kafka's. One sequence, asserted the same
// way for both, so the commands cannot come to depend on openkraft's answers.
import { spawnSync } from "node:child_process";
import { expect } from "vitest";
import { kraftBin, waitFor } from "./local-cluster.ts";

const kraft = (timeoutMs: number, ...args: string[]) =>
  spawnSync(process.execPath, [kraftBin, ...args], { encoding: "utf8", timeout: timeoutMs });

interface Cluster {
  readonly broker: string;
  readonly controller: string;
  readonly brokerIds: readonly number[];
  readonly voterIds: readonly number[];
}

/**
 * Create, list, describe and delete a topic, describe the quorum through a broker and a controller,
 * list the brokers; `timeoutMs` bounds each command and each wait for the brokers' metadata.
 */
export const exerciseAdminCli = async (cluster: Cluster, topic: string, timeoutMs: number): Promise<void> => {
  const ok = (...args: string[]) => {
    const run = kraft(timeoutMs, ...args);
    expect(run.status, `kraft ${args.join(" ")}: ${run.stdout}${run.stderr}`).toBe(0);
    return run.stdout;
  };
  const broker = ["--bootstrap-server", cluster.broker];
  for (const server of [cluster.broker, cluster.controller]) {
    const quorum = JSON.parse(ok("quorum", "describe", "--bootstrap-server", server, "--json")) as {
      leaderId: number;
      leaderEpoch: number;
      highWatermark: number;
      voters: { id: number }[];
      observers: { id: number }[];
    };
    expect(cluster.voterIds).toContain(quorum.leaderId);
    expect(quorum.leaderEpoch).toBeGreaterThan(0);
    expect(quorum.highWatermark).toBeGreaterThan(0);
    expect(quorum.voters.map((v) => v.id).sort()).toEqual([...cluster.voterIds].sort());
  }
  // A controller's listener serves no Metadata: said, with what to do.
  const onController = kraft(timeoutMs, "topics", "list", "--bootstrap-server", cluster.controller);
  expect(onController.status).toBe(1);
  expect(onController.stderr).toBe(
    `kraft topics: ${cluster.controller} does not serve Metadata (a controller's listener does not): give a broker's address with --bootstrap-server\n`,
  );
  expect(ok("quorum", "describe", ...broker)).toMatch(
    /^leader \d+, epoch \d+, high watermark \d+, kraft\.version [01] \((static voters|dynamic quorum)\)\nROLE +ID +DIRECTORY ID +ENDPOINT +LOG END/,
  );

  const created = JSON.parse(
    ok(
      "topics",
      "create",
      "--topic",
      topic,
      "--partitions",
      "2",
      "--config",
      "retention.ms=7000",
      ...broker,
      "--json",
    ),
  ) as { name: string; topicId: string; errorCode: string; numPartitions: number };
  expect(created).toMatchObject({ name: topic, errorCode: "NONE", numPartitions: 2 });
  expect(created.topicId).toMatch(/^[A-Za-z0-9_-]{22}$/);
  const again = kraft(timeoutMs, "topics", "create", "--topic", topic, ...broker);
  expect(again.status).toBe(1);
  expect(again.stderr).toMatch(/^kraft topics create: TOPIC_ALREADY_EXISTS/);

  // The broker's metadata follows the controller's commit.
  const described = await waitFor(
    `${topic} described by ${cluster.broker}`,
    async () => {
      const run = kraft(timeoutMs, "topics", "describe", "--topic", topic, ...broker, "--json");
      if (run.status !== 0) return undefined;
      const d = JSON.parse(run.stdout) as {
        topicId: string;
        partitions: { partitionId: number; leader: number; replicas: number[]; isr: number[] }[];
        configs: { name: string; value: string }[];
      };
      return d.partitions.every((p) => p.leader >= 0) && d.partitions.length === 2 ? d : undefined;
    },
    timeoutMs,
    200,
  );
  expect(described.topicId).toBe(created.topicId);
  expect(described.partitions.map((p) => p.partitionId)).toEqual([0, 1]);
  for (const p of described.partitions) expect(cluster.brokerIds).toContain(p.leader);
  expect(described.configs).toEqual([{ name: "retention.ms", value: "7000" }]);
  expect(ok("topics", "list", ...broker)).toMatch(new RegExp(`\\n${topic} +${created.topicId} +2\\n?`));

  const brokers = JSON.parse(ok("brokers", "list", ...broker, "--json")) as {
    clusterId: string;
    brokers: { id: number; fenced: boolean }[];
  };
  expect(brokers.brokers.map((b) => [b.id, b.fenced])).toEqual(
    [...cluster.brokerIds].sort((a, b) => a - b).map((id) => [id, false]),
  );

  expect(ok("topics", "delete", "--topic", topic, ...broker)).toBe(`deleted topic ${topic}\n`);
  await waitFor(
    `${topic} gone from ${cluster.broker}`,
    async () =>
      kraft(timeoutMs, "topics", "describe", "--topic", topic, ...broker).status === 1 ? true : undefined,
    timeoutMs,
    200,
  );
  const gone = kraft(timeoutMs, "topics", "describe", "--topic", topic, ...broker);
  expect(gone.stderr).toBe(
    `kraft topics describe: UNKNOWN_TOPIC_OR_PARTITION: topic ${topic} does not exist\n`,
  );
};
