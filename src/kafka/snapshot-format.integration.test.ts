// Apache Kafka 4.4's own DumpLogSegments reads the snapshot files openkraft writes: its batches whole
// (CRC), the header and footer control records where Kafka puts them, every record decoded.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { kafkaServerClasspath, kafkaToolsClasspath } from "../../scripts/kafka-jars.ts";
import type { MetadataRecord } from "../../spec/metadata/records.ts";
import { snapshotName } from "../runtime/snapshots.ts";
import { hasJava } from "../testing/apache-kafka.ts";
import { encodeSnapshot } from "./metadata-records.ts";

const scratch = mkdtempSync(join(tmpdir(), "openkraft-snapshot-format-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe.skipIf(!hasJava)("a snapshot file as openkraft writes it", () => {
  it("is read by Kafka's DumpLogSegments: valid batches, header, records, footer", async () => {
    const records: MetadataRecord[] = [
      { _tag: "FeatureLevelRecord", name: "metadata.version", featureLevel: 21 },
      { _tag: "TopicRecord", name: "orders", topicId: "AAAAAAAAAAAAAAAAAAAAAQ" },
      { _tag: "ProducerIdsRecord", brokerId: -1, brokerEpoch: -1, nextProducerId: 1000 },
    ];
    const file = join(scratch, snapshotName(12, 3));
    writeFileSync(file, encodeSnapshot(3, records, 1_700_000_000_000, 1_700_000_000_001));
    const classpath = [await kafkaServerClasspath(), await kafkaToolsClasspath()].join(":");
    const run = spawnSync(
      "java",
      [
        "-cp",
        classpath,
        "org.apache.kafka.tools.DumpLogSegments",
        "--cluster-metadata-decoder",
        "--files",
        file,
      ],
      { encoding: "utf8", timeout: 120_000 },
    );
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain("Snapshot end offset: 12, epoch: 3");
    expect(run.stdout.match(/isvalid: true/g)).toHaveLength(3);
    expect(run.stdout).toContain('SnapshotHeader {"version":0,"lastContainedLogTimestamp":1700000000000}');
    expect(run.stdout).toContain('"type":"TOPIC_RECORD","version":0,"data":{"name":"orders"');
    expect(run.stdout).toContain('"type":"PRODUCER_IDS_RECORD"');
    expect(run.stdout).toContain('SnapshotFooter {"version":0}');
  }, 300_000);
});
