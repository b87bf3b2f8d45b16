// Apache Kafka 4.4 itself, started from its Maven jars: the project's admin commands must work against
// it, and `kraft metadata dump` must decode the metadata log and the snapshots a real Kafka controller
// writes, and rebuild its image at an offset.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Kafka, logLevel } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exerciseAdminCli } from "../testing/admin-cli.ts";
import { ApacheKafka, hasJava } from "../testing/apache-kafka.ts";
import { kraftBin, waitFor } from "../testing/local-cluster.ts";
import { decodeSnapshot } from "./metadata-records.ts";

/** Kafka's start (a JVM, Scala) on a loaded 2-core machine, with a wide margin. */
const START_MS = 120_000;
const scratch = mkdtempSync(join(tmpdir(), "openkraft-apache-kafka-"));
let kafka: ApacheKafka | undefined;

beforeAll(async () => {
  if (!hasJava) return;
  kafka = await ApacheKafka.start(join(scratch, "kafka"), START_MS, {
    // Snapshots within seconds rather than an hour: a NoOp record every 100 ms, a snapshot per 2 KB.
    "metadata.max.idle.interval.ms": "100",
    "metadata.log.max.record.bytes.between.snapshots": "2000",
  });
}, 2 * START_MS);

afterAll(async () => {
  await kafka?.stop(START_MS);
  rmSync(scratch, { recursive: true, force: true });
}, 2 * START_MS);

const dump = (...args: string[]) =>
  spawnSync(process.execPath, [kraftBin, "metadata", "dump", ...args], { encoding: "utf8", timeout: 60_000 });

const snapshotEnds = (dir: string): number[] =>
  readdirSync(dir)
    .map((f) => /^(\d{20})-\d{10}\.checkpoint$/.exec(f)?.[1])
    .filter((end) => end !== undefined)
    .map(Number);

describe.skipIf(!hasJava)("Apache Kafka 4.4's own metadata log", () => {
  it(
    "kraft quorum describe, topics create|list|describe|delete and brokers list work against it",
    async () => {
      await exerciseAdminCli(
        { broker: kafka!.brokerAddress, controller: kafka!.controllerAddress, brokerIds: [1], voterIds: [1] },
        "cli-t",
        START_MS,
      );
    },
    6 * START_MS,
  );

  it(
    "kraft metadata dump decodes its segments and snapshots, and rebuilds its image at an offset",
    async () => {
      const server = kafka!;
      const admin = new Kafka({
        clientId: "openkraft-test",
        brokers: [server.brokerAddress],
        logLevel: logLevel.NOTHING,
      }).admin();
      await admin.connect();
      try {
        expect(
          await admin.createTopics({
            topics: [{ topic: "orders", numPartitions: 3, replicationFactor: 1 }],
            waitForLeaders: true,
          }),
        ).toBe(true);
        await admin.alterConfigs({
          validateOnly: false,
          resources: [{ type: 2, name: "orders", configEntries: [{ name: "retention.ms", value: "5000" }] }],
        });
      } finally {
        await admin.disconnect();
      }
      // The offset of the ConfigRecord Kafka wrote for orders, from its own log as we decode it.
      const configOffset = await waitFor(
        "the ConfigRecord in Kafka's log",
        async () => {
          const run = dump(join(server.metadataLog, "00000000000000000000.log"), "--json");
          const line = run.stdout
            .split("\n")
            .filter((l) => l.startsWith("{"))
            .map((l) => JSON.parse(l) as { offset: string; type: string; record: Record<string, unknown> })
            .find(
              (r) =>
                r.type === "ConfigRecord v0" &&
                r.record["resourceName"] === "orders" &&
                r.record["name"] === "retention.ms",
            );
          return line === undefined ? undefined : Number(line.offset);
        },
        START_MS,
        200,
      );
      // A snapshot that holds it, so the image below comes from a snapshot and the log's tail.
      await waitFor(
        "a snapshot past the ConfigRecord",
        async () => (snapshotEnds(server.metadataLog).some((end) => end > configOffset) ? true : undefined),
        START_MS,
        200,
      );
      await server.stop(START_MS);

      const records = dump(server.metadataLog);
      expect(records.stderr).toBe("");
      expect(records.status).toBe(0);
      const types = new Set(records.stdout.split("\n").map((l) => l.split("\t")[2]));
      for (const type of [
        "LEADER_CHANGE",
        "SNAPSHOT_HEADER",
        "SNAPSHOT_FOOTER",
        "KRAFT_VERSION",
        "KRAFT_VOTERS",
        "FeatureLevelRecord v0",
        "RegisterBrokerRecord v4",
        "RegisterControllerRecord v0",
        "TopicRecord v0",
        "PartitionRecord v2",
        "ConfigRecord v0",
        "NoOpRecord v0",
      ])
        expect(types, type).toContain(type);

      const last = Math.max(...snapshotEnds(server.metadataLog)) - 1;
      const imaged = dump(server.metadataLog, "--at-offset", String(last), "--json");
      expect(imaged.stderr).toBe("");
      expect(imaged.status).toBe(0);
      const { image, snapshot, notModelled, problems } = JSON.parse(imaged.stdout) as {
        image: {
          brokers: { id: number; fenced: boolean }[];
          topics: { name: string; partitions: { leader: number; replicas: number[] }[] }[];
          configs: { resourceName: string; name: string; value: string }[];
          features: { name: string; level: number }[];
        };
        snapshot: string;
        notModelled: Record<string, number>;
        problems: string[];
      };
      expect(snapshot).toMatch(/-\d{10}\.checkpoint$/);
      expect(problems).toEqual([]);
      expect(notModelled).toHaveProperty("RegisterControllerRecord");
      expect(image.topics.map((t) => [t.name, t.partitions.map((p) => [p.leader, p.replicas])])).toEqual([
        [
          "orders",
          [
            [1, [1]],
            [1, [1]],
            [1, [1]],
          ],
        ],
      ]);
      expect(image.configs).toContainEqual(
        expect.objectContaining({ resourceName: "orders", name: "retention.ms", value: "5000" }),
      );
      expect(image.brokers.map((b) => b.id)).toEqual([1]);
      expect(image.features.find((f) => f.name === "metadata.version")?.level).toBeGreaterThan(21);

      // The runtime's snapshot reader (R78) takes Kafka's snapshot file whole: header, KRaftVersion and
      // Voters control records, the records (some of types the spec does not model), footer.
      const content = decodeSnapshot(readFileSync(resolve(server.metadataLog, snapshot)));
      expect(content.records.map((r) => r._tag)).toEqual(
        expect.arrayContaining([
          "FeatureLevelRecord",
          "RegisterBrokerRecord",
          "TopicRecord",
          "PartitionRecord",
        ]),
      );
      expect(content.unmodelled.get("RegisterControllerRecord")).toBeGreaterThan(0);
      expect(content.lastContainedLogTimestampMs).toBeGreaterThan(0);
    },
    6 * START_MS,
  );
});
