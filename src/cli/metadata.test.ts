// `kraft metadata dump` on Kafka-format segments made by Kafka 4.4 itself (src/kafka/golden.json):
// the records in offset order, a torn tail reported, a corrupt batch or a wrong path refused in one
// line with a non-zero exit and no stack trace.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import golden from "../kafka/golden.json" with { type: "json" };
import { LogStore } from "../runtime/storage.ts";
import { kraftBin } from "../testing/local-cluster.ts";

const scratch = mkdtempSync(join(tmpdir(), "kraft-metadata-dump-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const batch = (name: string) => Buffer.from(golden.messages.find((m) => m.name === name)!.hex, "hex");
const partition = join(scratch, "__cluster_metadata-0");
mkdirSync(partition);
writeFileSync(
  join(partition, "00000000000000000000.log"),
  Buffer.concat([batch("batch:leader-change"), batch("batch:metadata")]),
);

const kraft = (...args: string[]) =>
  spawnSync(process.execPath, [kraftBin, "metadata", ...args], { encoding: "utf8", timeout: 60_000 });

describe("kraft metadata dump", () => {
  it("prints every record of a directory's segments in offset order, as text or JSON", () => {
    const text = kraft("dump", partition);
    expect(text.status).toBe(0);
    expect(
      text.stdout
        .split("\n")
        .filter((l) => !l.startsWith("#") && l !== "")
        .map((l) => l.split("\t").slice(0, 3)),
    ).toEqual([
      ["7", "epoch 6", "LEADER_CHANGE"],
      ["100", "epoch 6", "TopicRecord v0"],
      ["101", "epoch 6", "PartitionRecord v0"],
    ]);
    const json = kraft("dump", partition, "--json", "--limit", "2");
    expect(json.status).toBe(0);
    const lines = json.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toEqual([
      {
        offset: "7",
        leaderEpoch: 6,
        type: "LEADER_CHANGE",
        record: {
          version: 0,
          leaderId: 1,
          voters: [1, 2].map((voterId) => ({ voterId, voterDirectoryId: "AAAAAAAAAAAAAAAAAAAAAA" })),
          grantingVoters: [{ voterId: 1, voterDirectoryId: "AAAAAAAAAAAAAAAAAAAAAA" }],
        },
      },
      {
        offset: "100",
        leaderEpoch: 6,
        type: "TopicRecord v0",
        record: { name: "orders", topicId: "AAAAAAAAAAAAAAAAAAAAAQ" },
      },
    ]);
  });

  it("shows the whole batches of a torn segment and says how many bytes it left", () => {
    const torn = join(scratch, "torn.log");
    writeFileSync(
      torn,
      Buffer.concat([batch("batch:leader-change"), batch("batch:metadata").subarray(0, 30)]),
    );
    const run = kraft("dump", torn);
    expect(run.status).toBe(0);
    expect(run.stdout).toContain("LEADER_CHANGE");
    expect(run.stderr).toBe(
      `kraft metadata dump: ${torn}: the last 30 bytes are a partial batch (a torn write), not shown\n`,
    );
  });

  it("--at-offset: the image the spec replays from openkraft's own log, at any offset in it", () => {
    const dir = join(scratch, "ours", "__cluster_metadata-0");
    const log = new LogStore(dir, 1 << 20);
    const topicId = "AAAAAAAAAAAAAAAAAAAAAg";
    log.append(0, [
      {
        epoch: 1,
        control: {
          _tag: "LeaderChangeMessage",
          leaderId: 1,
          voters: [{ id: 1 }],
          grantingVoters: [{ id: 1 }],
        },
        record: null,
      },
      {
        epoch: 1,
        control: null,
        record: { _tag: "FeatureLevelRecord", name: "metadata.version", featureLevel: 21 },
      },
      { epoch: 1, control: null, record: { _tag: "TopicRecord", name: "orders", topicId } },
      {
        epoch: 1,
        control: null,
        record: {
          _tag: "PartitionRecord",
          partitionId: 0,
          topicId,
          replicas: [4, 5],
          isr: [4, 5],
          removingReplicas: [],
          addingReplicas: [],
          leader: 4,
          leaderRecoveryState: 0,
          leaderEpoch: 0,
          partitionEpoch: 0,
        },
      },
      {
        epoch: 1,
        control: null,
        record: {
          _tag: "ConfigRecord",
          resourceType: 2,
          resourceName: "orders",
          name: "retention.ms",
          value: "9",
        },
      },
    ]);
    log.close();
    const at = (offset: number) => kraft("dump", dir, "--at-offset", String(offset), "--json");
    const image = (offset: number) =>
      (JSON.parse(at(offset).stdout) as { image: Record<string, unknown> }).image;
    expect(image(1)).toMatchObject({
      offset: 1,
      features: [{ name: "metadata.version", level: 21 }],
      topics: [],
    });
    expect(image(4)).toMatchObject({
      offset: 4,
      epoch: 1,
      topics: [{ name: "orders", topicId, partitions: [{ partitionId: 0, leader: 4, isr: [4, 5] }] }],
      configs: [{ resourceType: 2, resourceName: "orders", name: "retention.ms", value: "9" }],
    });
    const text = kraft("dump", dir, "--at-offset", "4");
    expect(text.stdout).toBe(
      `# the image at offset 4\nfeatures: metadata.version=21\ntopic orders (${topicId}): 1 partitions\n  partition 0: leader 4, leader epoch 0, replicas 4,5, isr 4,5\nconfig topic orders: retention.ms=9\n`,
    );
    // Beyond the log, or a log whose start no snapshot covers: refused, saying why.
    expect(at(5)).toMatchObject({
      status: 1,
      stderr: "kraft metadata dump: the records end at offset 4, below 5; the image there is not known\n",
    });
    expect(kraft("dump", partition, "--at-offset", "101")).toMatchObject({
      status: 1,
      stderr:
        "kraft metadata dump: no record at offset 0 (the log goes on at 7) and no snapshot covers it: the image at 101 cannot be built\n",
    });
  });

  it("refuses a corrupt batch, a wrong path and a wrong command in one line, no stack trace", () => {
    const bad = join(scratch, "bad.log");
    const flipped = batch("batch:leader-change");
    flipped[40]! ^= 1;
    writeFileSync(bad, flipped);
    const corrupt = kraft("dump", bad);
    expect(corrupt.status).toBe(1);
    expect(corrupt.stderr).toMatch(
      /^kraft metadata dump: .*bad\.log: a record batch at offset 0 fails its CRC-32C/,
    );
    const missing = kraft("dump", join(scratch, "nope"));
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/nope: no such file or directory/);
    const empty = kraft("dump", scratch);
    expect(empty.status).toBe(2);
    expect(empty.stderr).toMatch(/holds no Kafka log segment/);
    const wrong = kraft("show");
    expect(wrong.status).toBe(2);
    for (const run of [corrupt, missing, empty, wrong]) expect(run.stderr).not.toMatch(/\n\s+at /);
  });
});
