// Snapshots on disk (R77–R84) and the log start that moves to them: written whole or not at all,
// read back checked, downloaded in parts, and the log's shape after a restart what it was before.
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { MetadataRecord } from "../../spec/metadata/records.ts";
import { encodeSnapshot } from "../kafka/metadata-records.ts";
import { SnapshotStore, snapshotName } from "./snapshots.ts";
import { type LogEntry, LogStore, liveDisk, StorageError } from "./storage.ts";

const dirs: string[] = [];
const tempDir = (): string => {
  const dir = mkdtempSync(join(tmpdir(), "openkraft-snapshots-"));
  dirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const noOps = (epoch: number, n: number): LogEntry[] =>
  Array.from({ length: n }, () => ({ epoch, control: null, record: { _tag: "NoOpRecord" } }));
const RECORDS: MetadataRecord[] = [
  { _tag: "FeatureLevelRecord", name: "metadata.version", featureLevel: 21 },
  { _tag: "TopicRecord", name: "orders", topicId: "AAAAAAAAAAAAAAAAAAAAAQ" },
];
const partitionDir = (): string => join(tempDir(), "__cluster_metadata-0");

describe("SnapshotStore", () => {
  it("writes a snapshot whole under Kafka's name and reads its records back", () => {
    const dir = partitionDir();
    const log = new LogStore(dir, 1024);
    const size = log.snapshots.writeRecords(12, 3, RECORDS, 1000, 2000);
    expect(readdirSync(dir).filter((f) => f.endsWith(".checkpoint"))).toEqual([snapshotName(12, 3)]);
    expect(snapshotName(12, 3)).toBe("00000000000000000012-0000000003.checkpoint");
    expect(log.snapshots.list()).toEqual([{ endOffset: 12, epoch: 3, size }]);
    expect(log.snapshots.read(12, 3)).toEqual({ records: RECORDS, lastContainedLogTimestampMs: 1000 });
    expect(log.snapshots.slice(12, 3, 10, 5)).toEqual(
      encodeSnapshot(3, RECORDS, 1000, 2000).subarray(10, 15),
    );
    // A new process finds it, with its size.
    expect(new SnapshotStore(dir, liveDisk).list()).toEqual([{ endOffset: 12, epoch: 3, size }]);
  });

  it("deletes partial files (an unfinished write or download) when it opens", () => {
    const dir = partitionDir();
    new LogStore(dir, 1024).close();
    writeFileSync(join(dir, `${snapshotName(5, 1)}.part`), "half");
    const store = new LogStore(dir, 1024);
    expect(store.snapshots.list()).toEqual([]);
    expect(existsSync(join(dir, `${snapshotName(5, 1)}.part`))).toBe(false);
  });

  it("refuses a snapshot that is not whole or not readable, saying what to do", () => {
    const dir = partitionDir();
    new LogStore(dir, 1024).close();
    const bytes = encodeSnapshot(3, RECORDS, 0, 0);
    writeFileSync(join(dir, snapshotName(12, 3)), bytes.subarray(0, bytes.length - 10));
    const reopened = new SnapshotStore(dir, liveDisk);
    expect(() => reopened.read(12, 3)).toThrow(StorageError);
    expect(() => reopened.read(12, 3)).toThrow(/cannot be read .*delete it and restart/);
  });

  it("downloads a snapshot part by part, refuses a part out of place, and installs it whole", () => {
    const leader = new LogStore(partitionDir(), 1024);
    leader.snapshots.writeRecords(12, 3, RECORDS, 0, 0);
    const bytes = leader.snapshots.bytes(12, 3);
    const dir = partitionDir();
    const follower = new LogStore(dir, 1024);
    follower.append(0, noOps(1, 4));
    follower.snapshots.writeChunk(12, 3, 0, bytes.subarray(0, 50));
    expect(() => follower.snapshots.writeChunk(12, 3, 60, bytes.subarray(60, 70))).toThrow(
      /at byte 60 does not continue the download/,
    );
    follower.snapshots.writeChunk(12, 3, 50, bytes.subarray(50));
    follower.snapshots.install(12, 3);
    follower.truncateFully(12);
    expect(follower.logState()).toEqual({
      startOffset: 12,
      endOffset: 12,
      flushedOffset: 12,
      epochs: [],
      snapshots: [{ endOffset: 12, epoch: 3, size: bytes.length }],
    });
    expect(follower.snapshots.read(12, 3).records).toEqual(RECORDS);
    follower.append(12, noOps(4, 2));
    follower.flush();
    follower.close();
    const reopened = new LogStore(dir, 1024);
    expect(reopened.logState()).toMatchObject({ startOffset: 12, endOffset: 14, flushedOffset: 14 });
    expect(reopened.entry(13)).toEqual(noOps(4, 1)[0]);
    expect(reopened.entry(11)).toBeUndefined();
  });
});

describe("the log start (R79)", () => {
  it("moves to a snapshot: older snapshots and segments wholly below it go, and a restart finds the same log", () => {
    const dir = partitionDir();
    const log = new LogStore(dir, 1024);
    for (let i = 0; i < 10; i++) log.append(log.endOffset, noOps(1, 20));
    log.flush();
    const segmentsBefore = readdirSync(dir).filter((f) => f.endsWith(".log")).length;
    expect(segmentsBefore).toBeGreaterThan(2);
    log.snapshots.writeRecords(50, 1, RECORDS, 0, 0);
    log.snapshots.writeRecords(150, 1, RECORDS, 0, 0);
    log.deleteBefore(150);
    const shape = log.logState();
    expect(shape).toMatchObject({ startOffset: 150, endOffset: 200, flushedOffset: 200 });
    expect(shape.epochs).toEqual([{ epoch: 1, startOffset: 150 }]);
    expect(log.snapshots.list().map((x) => x.endOffset)).toEqual([150]);
    expect(readdirSync(dir).filter((f) => f.endsWith(".log")).length).toBeLessThan(segmentsBefore);
    expect(log.entry(149)).toBeUndefined();
    expect(log.entry(150)).toEqual(noOps(1, 1)[0]);
    log.append(200, noOps(2, 3));
    log.flush();
    log.close();
    const reopened = new LogStore(dir, 1024);
    expect(reopened.logState()).toEqual({ ...log.logState() });
    expect(reopened.slice(198, 203).map((e) => e.epoch)).toEqual([1, 1, 2, 2, 2]);
    expect(reopened.recovery.truncated).toBeNull();
  });

  it("R91, R92: the voter sets a restart finds: each VotersRecord in the log, the one the snapshot at the log start holds once its record is gone, and the bootstrap checkpoint apart from the snapshots", () => {
    const dir = partitionDir();
    const log = new LogStore(dir, 1024);
    const dirA = "MkU3OEVBNTcwNTJENDM2QA";
    const dirB = "NkU3OEVBNTcwNTJENDM2QA";
    const listeners = (id: number) => [{ name: "CONTROLLER", host: "h", port: 9000 + id }];
    const endpoint = (id: number) => ({ id, endpoints: listeners(id) });
    const range = { minSupportedVersion: 0, maxSupportedVersion: 1 };
    const first = { id: 1, directoryId: dirA, listeners: listeners(1), supportedKraftVersions: range };
    log.snapshots.writeBootstrap({ kraftVersion: 1, voters: [first] }, 0);
    const twoVoters = [
      first,
      { id: 2, directoryId: dirB, listeners: listeners(2), supportedKraftVersions: range },
    ];
    log.append(0, noOps(1, 5));
    log.append(5, [{ epoch: 1, control: { _tag: "VotersRecord", voters: twoVoters }, record: null }]);
    log.append(6, noOps(1, 10));
    log.flush();
    // The bootstrap checkpoint is not one of the log's snapshots.
    expect(log.snapshots.list()).toEqual([]);
    expect(log.snapshots.readBootstrap()?.voters).toEqual([first]);
    expect(log.logState().voterSets).toEqual([{ offset: 5, voters: twoVoters }]);
    expect(log.voterEndpoints()).toEqual([endpoint(1), endpoint(2)]);
    // A snapshot past the record holds the set in force at its end; the log start moves past the record.
    log.snapshots.writeRecords(12, 1, RECORDS, 0, 0, { kraftVersion: 1, voters: twoVoters });
    log.deleteBefore(12);
    log.close();
    const reopened = new LogStore(dir, 1024);
    expect(reopened.logState()).toMatchObject({
      startOffset: 12,
      voterSets: [{ offset: 11, voters: twoVoters }],
    });
    expect(reopened.voterEndpoints()).toEqual([endpoint(1), endpoint(2)]);
    expect(reopened.snapshots.read(12, 1).voters).toEqual({ kraftVersion: 1, voters: twoVoters });
    expect(
      readdirSync(dir)
        .filter((f) => f.endsWith(".checkpoint"))
        .sort(),
    ).toEqual([snapshotName(0, 0), snapshotName(12, 1)]);
  });

  it("a crash after a snapshot and before the records below its end were flushed truncates the log fully to it", () => {
    const dir = partitionDir();
    const log = new LogStore(dir, 1024);
    log.append(0, noOps(1, 5));
    log.flush();
    // The snapshot ends beyond what the log kept (its last records were never flushed).
    log.snapshots.writeRecords(8, 1, RECORDS, 0, 0);
    log.close();
    const reopened = new LogStore(dir, 1024);
    expect(reopened.logState()).toMatchObject({ startOffset: 8, endOffset: 8, epochs: [] });
  });

  it("refuses to start when the log starts past 0 with no snapshot ending there", () => {
    const dir = partitionDir();
    const log = new LogStore(dir, 1024);
    log.append(0, noOps(1, 30));
    log.snapshots.writeRecords(20, 1, RECORDS, 0, 0);
    log.deleteBefore(20);
    log.close();
    rmSync(join(dir, snapshotName(20, 1)));
    expect(() => new LogStore(dir, 1024)).toThrow(/starts at 20 but no snapshot .* ends there/);
  });
});
