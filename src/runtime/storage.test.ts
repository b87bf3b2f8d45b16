import {
  appendFileSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { Random } from "../checker/random.ts";
import { AccessControlEntryRecord } from "../kafka/generated/messages.ts";
import { decodeMetadataRecord, encodeLogBatch } from "../kafka/metadata-records.ts";
import { readFetchedRecords } from "../kafka/raft-messages.ts";
import {
  encodeRecordBatch,
  isControlBatch,
  metadataRecordValue,
  readRecordBatches,
} from "../kafka/records.ts";
import { SimDisk } from "./sim/disk.ts";
import {
  type LogEntry,
  LogStore,
  lockDirectory,
  QuorumStateStore,
  readMetaProperties,
  StorageError,
  writeMetaProperties,
} from "./storage.ts";

const dirs: string[] = [];
const tempDir = (): string => {
  const dir = mkdtempSync(join(tmpdir(), "openkraft-storage-"));
  dirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const noOp = (epoch: number): LogEntry => ({ epoch, control: null, record: { _tag: "NoOpRecord" } });
const topic = (epoch: number, name: string): LogEntry => ({
  epoch,
  control: null,
  record: { _tag: "TopicRecord", name, topicId: "AAAAAAAAAAAAAAAAAAAAAQ" },
});
const leaderChange = (epoch: number, leaderId: number): LogEntry => ({
  epoch,
  control: {
    _tag: "LeaderChangeMessage",
    leaderId,
    voters: [{ id: leaderId }],
    grantingVoters: [{ id: leaderId }],
  },
  record: null,
});

const segments = (dir: string): string[] =>
  readdirSync(dir)
    .filter((f) => f.endsWith(".log"))
    .sort();

/** An append of 1 to 4 records, in a new epoch or not, control records or metadata ones. */
const appendOp = fc.record({
  kind: fc.constant("append" as const),
  count: fc.integer({ min: 1, max: 4 }),
  bump: fc.boolean(),
  control: fc.boolean(),
});

describe("LogStore", () => {
  it("keeps records, epochs and kinds across a reopen", () => {
    const dir = tempDir();
    const log = new LogStore(dir, 1 << 20);
    log.append(0, [leaderChange(1, 2), noOp(1), topic(1, "a")]);
    log.append(3, [leaderChange(2, 3), topic(2, "b")]);
    expect(log.flush()).toBe(5);
    log.close();
    const again = new LogStore(dir, 1 << 20);
    expect(again.recovery).toEqual({ batches: 4, records: 5, truncated: null, lostFlushed: false });
    expect(again.recovering).toBe(false);
    expect(again.slice(0, 5)).toEqual([
      leaderChange(1, 2),
      noOp(1),
      topic(1, "a"),
      leaderChange(2, 3),
      topic(2, "b"),
    ]);
    expect(again.logState()).toEqual({
      startOffset: 0,
      endOffset: 5,
      flushedOffset: 5,
      epochs: [
        { epoch: 1, startOffset: 0 },
        { epoch: 2, startOffset: 3 },
      ],
    });
    again.close();
  });

  it("writes Kafka's layout: record batches, the offset index, leader-epoch-checkpoint, partition.metadata", () => {
    const dir = tempDir();
    const log = new LogStore(dir, 1 << 20, undefined, () => 1_700_000_000_000);
    log.append(0, [leaderChange(1, 2), noOp(1), topic(1, "a")]);
    log.append(3, [leaderChange(2, 3)]);
    for (let i = 0; i < 200; i++) log.append(4 + i, [topic(2, `topic-${i}-${"x".repeat(40)}`)]);
    log.close();
    const segment = readFileSync(join(dir, "00000000000000000000.log"));
    const { batches, partialBytes } = readRecordBatches(segment);
    expect(partialBytes).toBe(0);
    expect(
      batches
        .map((b) => [b.baseOffset, b.partitionLeaderEpoch, isControlBatch(b), b.records.length])
        .slice(0, 4),
    ).toEqual([
      [0n, 1, true, 1],
      [1n, 1, false, 2],
      [3n, 2, true, 1],
      [4n, 2, false, 1],
    ]);
    expect(batches[1]!.baseTimestamp).toBe(1_700_000_000_000n);
    expect(batches[1]!.records.map((r) => decodeMetadataRecord(r.value!))).toEqual([
      noOp(1).record,
      topic(1, "a").record,
    ]);
    // Kafka's sparse index: an entry (last offset of the batch, its position) once more than 4096
    // bytes went by since the previous one.
    const index = readFileSync(join(dir, "00000000000000000000.index"));
    const entries = Array.from({ length: index.length / 8 }, (_, i) => [
      index.readInt32BE(i * 8),
      index.readInt32BE(i * 8 + 4),
    ]);
    expect(entries.length).toBeGreaterThan(2);
    const positions = new Map<number, number>();
    let at = 0;
    for (const b of batches) {
      positions.set(Number(b.baseOffset) + b.lastOffsetDelta, at);
      at += 12 + segment.readInt32BE(at + 8);
    }
    for (const [offset, position] of entries) expect(positions.get(offset!)).toBe(position);
    for (const [i, [, position]] of entries.entries()) {
      const previous = i === 0 ? 0 : entries[i - 1]![1]!;
      expect(position! - previous).toBeGreaterThan(4096);
    }
    expect(readFileSync(join(dir, "leader-epoch-checkpoint"), "utf8")).toBe("0\n2\n1 0\n2 3\n");
    expect(readFileSync(join(dir, "partition.metadata"), "utf8")).toBe(
      "version: 0\ntopic_id: AAAAAAAAAAAAAAAAAAAAAQ",
    );
    // Truncation rewrites both: the index loses what was cut, the checkpoint the epoch.
    const again = new LogStore(dir, 1 << 20);
    again.truncate(2);
    again.close();
    expect(readFileSync(join(dir, "leader-epoch-checkpoint"), "utf8")).toBe("0\n1\n1 0\n");
    expect(readFileSync(join(dir, "00000000000000000000.index")).length).toBe(0);
  });

  it("writes multi-byte UTF-8 exactly (the payload's length is in bytes, not characters)", () => {
    const dir = tempDir();
    const log = new LogStore(dir, 1 << 20);
    const config: LogEntry = {
      epoch: 1,
      control: null,
      record: { _tag: "ConfigRecord", resourceType: 2, resourceName: "t", name: "x", value: 'é∑😀 \u0000"' },
    };
    log.append(0, [noOp(1), config, topic(1, "a")]);
    expect(log.flush()).toBe(3);
    log.close();
    const again = new LogStore(dir, 1 << 20);
    expect(again.recovery).toEqual({ batches: 1, records: 3, truncated: null, lostFlushed: false });
    expect(again.slice(0, 3)).toEqual([noOp(1), config, topic(1, "a")]);
    // What a Fetch answer sends: the batch as it lies in the segment, byte for byte, and a range
    // that cuts the batch encoded again with just its records.
    const segment = readFileSync(join(dir, "00000000000000000000.log"));
    expect(Buffer.from(again.batchBytes(0, 3))).toEqual(segment);
    expect(readFetchedRecords(again.batchBytes(0, 3))).toEqual({
      batches: [{ baseOffset: 0, epoch: 1, count: 3 }],
      items: [noOp(1), config, topic(1, "a")],
      raw: [{ baseOffset: 0, count: 3, bytes: again.batchBytes(0, 3) }],
    });
    const cut = again.batchBytes(1, 3);
    expect(readFetchedRecords(cut)).toEqual({
      batches: [{ baseOffset: 1, epoch: 1, count: 2 }],
      items: [config, topic(1, "a")],
      raw: [{ baseOffset: 1, count: 2, bytes: cut }],
    });
    again.close();
  });

  it("refuses an append that does not continue the log, and writes nothing", () => {
    const dir = tempDir();
    const log = new LogStore(dir, 1 << 20);
    log.append(0, [noOp(1)]);
    expect(() => log.append(5, [noOp(1)])).toThrow(new StorageError("append at 5, but the log ends at 1"));
    expect(log.endOffset).toBe(1);
    log.close();
  });

  it("truncates in the middle of a batch, keeping the batch's first part (R67)", () => {
    const dir = tempDir();
    const log = new LogStore(dir, 1 << 20);
    log.append(0, [noOp(1), topic(1, "a"), topic(1, "b"), topic(1, "c")]);
    log.flush();
    log.truncate(2);
    expect(log.endOffset).toBe(2);
    expect(log.flushedOffset).toBe(2);
    log.append(2, [topic(2, "x")]);
    log.close();
    const again = new LogStore(dir, 1 << 20);
    expect(again.slice(0, 10)).toEqual([noOp(1), topic(1, "a"), topic(2, "x")]);
    expect(again.recovery.truncated).toBeNull();
    again.close();
  });

  it("rolls segments at segment.bytes and removes whole segments on truncation", () => {
    const dir = tempDir();
    const log = new LogStore(dir, 200);
    for (let i = 0; i < 20; i++) log.append(i, [topic(1, `topic-${i}`)]);
    log.flush();
    const rolled = segments(dir);
    expect(rolled.length).toBeGreaterThan(3);
    expect(rolled[0]).toBe("00000000000000000000.log");
    log.truncate(3);
    expect(segments(dir).length).toBeLessThan(rolled.length);
    log.close();
    const again = new LogStore(dir, 200);
    expect(again.endOffset).toBe(3);
    expect(again.recovery.truncated).toBeNull();
    again.close();
  });

  it("cuts a torn tail at the last whole batch, says what it cut, and leaves a clean file", () => {
    const dir = tempDir();
    const log = new LogStore(dir, 1 << 20);
    log.append(0, [noOp(1)]);
    log.append(1, [topic(1, "kept")]);
    log.append(2, [topic(1, "torn")]);
    log.close();
    const file = join(dir, segments(dir)[0]!);
    const size = statSync(file).size;
    truncateSync(file, size - 5);
    const again = new LogStore(dir, 1 << 20);
    expect(again.endOffset).toBe(2);
    expect(again.recovery.truncated).toMatch(
      /^00000000000000000000\.log at byte \d+ \(offset 2\): torn batch; cut \d+ bytes$/,
    );
    again.close();
    // The cut is on disk: the next start finds nothing to cut.
    const third = new LogStore(dir, 1 << 20);
    expect(third.recovery.truncated).toBeNull();
    expect(third.slice(0, 5)).toEqual([noOp(1), topic(1, "kept")]);
    third.close();
  });

  it("tells a torn write (a prefix of the batch due there, or zeros) from other bytes (R146)", () => {
    const recover = (tail: (next: Buffer) => Buffer) => {
      const dir = tempDir();
      const log = new LogStore(dir, 1 << 20);
      log.append(0, [noOp(1)]);
      log.append(1, [topic(1, "next")]);
      log.close();
      const file = join(dir, segments(dir)[0]!);
      const bytes = readFileSync(file);
      const first = 12 + bytes.readInt32BE(8);
      writeFileSync(file, Buffer.concat([bytes.subarray(0, first), tail(bytes.subarray(first))]));
      const again = new LogStore(dir, 1 << 20);
      again.close();
      return { ...again.recovery, recovering: again.recovering, end: again.endOffset };
    };
    // The first 30 bytes of the batch at offset 1: a torn write, nothing flushed was lost.
    expect(recover((next) => next.subarray(0, 30))).toMatchObject({
      lostFlushed: false,
      recovering: false,
      end: 1,
    });
    expect(recover((next) => Buffer.alloc(next.length))).toMatchObject({ lostFlushed: false, end: 1 });
    // Short garbage is not a torn write: it may hide flushed records.
    const garbage = recover(() => Buffer.from("not a record batch at all, just bytes"));
    expect(garbage).toMatchObject({ lostFlushed: true, recovering: true, end: 1 });
    expect(garbage.truncated).toContain("bytes that are not the batch at offset 1");
  });

  it("detects a flipped byte with CRC-32C and cuts from that batch on", () => {
    const dir = tempDir();
    const log = new LogStore(dir, 1 << 20);
    log.append(0, [noOp(1)]);
    log.append(1, [topic(1, "flipped")]);
    log.append(2, [topic(1, "after")]);
    log.close();
    const file = join(dir, segments(dir)[0]!);
    const bytes = readFileSync(file);
    const secondBatch = bytes.indexOf(Buffer.from("flipped"));
    bytes[secondBatch] = bytes[secondBatch]! ^ 0x01;
    writeFileSync(file, bytes);
    const again = new LogStore(dir, 1 << 20);
    expect(again.endOffset).toBe(1);
    expect(again.recovery.truncated).toContain("CRC-32C mismatch");
    again.close();
  });

  it("refuses to start on a whole batch it cannot read, rather than cut committed data", () => {
    const dir = tempDir();
    const log = new LogStore(dir, 1 << 20);
    log.append(0, [noOp(1)]);
    log.close();
    const file = join(dir, segments(dir)[0]!);
    const bytes = readFileSync(file);
    // A well-formed Kafka batch (valid CRC) whose record is a type this version does not model.
    const acl = metadataRecordValue(
      AccessControlEntryRecord,
      {
        id: "AAAAAAAAAAAAAAAAAAAAAQ",
        resourceType: 2,
        resourceName: "t",
        patternType: 3,
        principal: "User:a",
        host: "*",
        operation: 3,
        permissionType: 3,
      },
      0,
    );
    const batch = encodeRecordBatch({
      ...readRecordBatches(encodeLogBatch(1, [noOp(1)], 0)).batches[0]!,
      records: [{ attributes: 0, timestampDelta: 0n, offsetDelta: 0, key: null, value: acl, headers: [] }],
    });
    writeFileSync(file, Buffer.concat([bytes, batch]));
    expect(() => new LogStore(dir, 1 << 20)).toThrow(
      "00000000000000000000.log holds a record at offset 1 that this version cannot read (AccessControlEntryRecord is not a record type this version models); refusing to start rather than cut it",
    );
    expect(statSync(file).size).toBe(bytes.length + batch.length);
  });

  it("cuts garbage after the last batch, and removes segments that do not continue the log", () => {
    const dir = tempDir();
    const log = new LogStore(dir, 1 << 20);
    log.append(0, [noOp(1), noOp(1)]);
    log.close();
    appendFileSync(join(dir, segments(dir)[0]!), "garbage");
    writeFileSync(join(dir, "00000000000000000007.log"), "stray");
    const again = new LogStore(dir, 1 << 20);
    expect(again.endOffset).toBe(2);
    expect(again.recovery.truncated).toContain("torn batch header");
    expect(segments(dir)).toEqual(["00000000000000000000.log"]);
    again.close();
  });

  it("property: any appends and truncations, then any torn tail, recover to a prefix of what was flushed", () => {
    const op = fc.oneof(
      appendOp,
      fc.record({ kind: fc.constant("truncate" as const), back: fc.integer({ min: 0, max: 5 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 25 }), fc.integer({ min: 0, max: 300 }), (ops, tear) => {
        const dir = tempDir();
        const log = new LogStore(dir, 150);
        const model: LogEntry[] = [];
        let epoch = 1;
        for (const o of ops) {
          if (o.kind === "append") {
            if (o.bump) epoch++;
            const batch = Array.from({ length: o.count }, (_, i) =>
              o.control ? leaderChange(epoch, i) : topic(epoch, `t${model.length + i}`),
            );
            log.append(model.length, batch);
            model.push(...batch);
          } else {
            const to = Math.max(0, model.length - o.back);
            log.truncate(to);
            model.length = to;
          }
        }
        log.close();
        expect(new LogStore(dir, 150).slice(0, model.length + 1)).toEqual(model);
        // Tear bytes off the last segment: what survives is a prefix of the model.
        const last = segments(dir).at(-1);
        if (last !== undefined) {
          const file = join(dir, last);
          truncateSync(file, Math.max(0, statSync(file).size - tear));
        }
        const recovered = new LogStore(dir, 150);
        const kept = recovered.slice(0, model.length + 1);
        expect(kept).toEqual(model.slice(0, kept.length));
        recovered.close();
      }),
      { numRuns: 150 },
    );
  });
});

describe("LogStore: decoded entries forgotten below what the listener has", () => {
  const voters = (epoch: number, port: number): LogEntry => ({
    epoch,
    control: {
      _tag: "VotersRecord",
      voters: [
        {
          id: 1,
          directoryId: "AAAAAAAAAAAAAAAAAAAAAQ",
          listeners: [{ name: "CONTROLLER", host: "h", port }],
          supportedKraftVersions: { minSupportedVersion: 0, maxSupportedVersion: 1 },
        },
      ],
    },
    record: null,
  });
  const op = fc.oneof(
    fc.record({
      kind: fc.constant("append" as const),
      count: fc.integer({ min: 1, max: 5 }),
      bump: fc.boolean(),
      content: fc.constantFrom("topics", "leader-change", "voters"),
    }),
    fc.record({ kind: fc.constant("truncate" as const), back: fc.integer({ min: 0, max: 6 }) }),
    fc.record({ kind: fc.constant("forget" as const), back: fc.integer({ min: 0, max: 8 }) }),
  );

  it("property: reads, the epochs, voter sets and listeners, Fetch bytes and recovery are those of a log that forgets nothing", () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 30 }), (ops) => {
        const full = new LogStore(tempDir(), 400, undefined, () => 7);
        const leanDir = tempDir();
        const lean = new LogStore(leanDir, 400, undefined, () => 7);
        const model: LogEntry[] = [];
        let epoch = 1;
        for (const o of ops) {
          const end = full.endOffset;
          if (o.kind === "append") {
            if (o.bump) epoch++;
            const batch =
              o.content === "voters"
                ? [voters(epoch, 9000 + end)]
                : Array.from({ length: o.count }, (_, i) =>
                    o.content === "leader-change" ? leaderChange(epoch, i) : topic(epoch, `t${end + i}`),
                  );
            full.append(end, batch);
            lean.append(end, batch);
            model.push(...batch);
          } else if (o.kind === "truncate") {
            full.truncate(Math.max(0, end - o.back));
            lean.truncate(Math.max(0, end - o.back));
            model.length = Math.max(0, end - o.back);
          } else {
            lean.forgetDecodedBelow(Math.max(0, end - o.back));
          }
          // The log that forgets nothing is checked against the entries appended, the other against it.
          expect(full.endOffset).toBe(model.length);
          expect(full.logState().epochs).toEqual(
            model.flatMap((e, i) =>
              i === 0 || model[i - 1]!.epoch !== e.epoch ? [{ epoch: e.epoch, startOffset: i }] : [],
            ),
          );
          expect(full.logState().voterSets ?? []).toEqual(
            model.flatMap((e, offset) =>
              e.control?._tag === "VotersRecord" ? [{ offset, voters: e.control.voters }] : [],
            ),
          );
          expect(lean.endOffset).toBe(full.endOffset);
          expect(lean.logState()).toEqual(full.logState());
          expect(lean.voterEndpoints()).toEqual(full.voterEndpoints());
        }
        const end = full.endOffset;
        expect(lean.slice(0, end + 1)).toEqual(full.slice(0, end + 1));
        for (let from = 0; from <= end; from++) {
          expect(lean.entry(from)).toEqual(full.entry(from));
          expect(lean.slice(from, from + 3)).toEqual(full.slice(from, from + 3));
          expect(Buffer.from(lean.batchBytes(from, end))).toEqual(Buffer.from(full.batchBytes(from, end)));
        }
        full.close();
        lean.close();
        expect(new LogStore(leanDir, 400).slice(0, end)).toEqual(full.slice(0, end));
      }),
      { numRuns: 120 },
    );
  });

  it("keeps decoded only what is at or above the point forgotten, and reads below it from the batches", () => {
    const log = new LogStore(tempDir(), 1 << 20);
    log.append(0, [topic(1, "a"), topic(1, "b"), topic(1, "c")]);
    log.append(3, [topic(2, "d")]);
    log.forgetDecodedBelow(2);
    expect(log.entry(1)).toEqual(topic(1, "b"));
    expect(log.slice(1, 4)).toEqual([topic(1, "b"), topic(1, "c"), topic(2, "d")]);
    log.forgetDecodedBelow(99);
    expect(log.endOffset).toBe(4);
    expect(log.slice(0, 4)).toEqual([topic(1, "a"), topic(1, "b"), topic(1, "c"), topic(2, "d")]);
    expect(log.logState().epochs).toEqual([
      { epoch: 1, startOffset: 0 },
      { epoch: 2, startOffset: 3 },
    ]);
    // A truncation inside a forgotten batch keeps its first part, read back from its bytes.
    log.truncate(2);
    expect(log.slice(0, 9)).toEqual([topic(1, "a"), topic(1, "b")]);
    log.append(2, [topic(3, "e")]);
    expect(log.slice(0, 9)).toEqual([topic(1, "a"), topic(1, "b"), topic(3, "e")]);
    log.close();
  });
});

describe("LogStore: a follower keeps the batches it fetched as they came", () => {
  const logBytes = (dir: string): Buffer =>
    Buffer.concat(segments(dir).map((f) => readFileSync(join(dir, f))));

  it("property: a follower fetching a growing leader log holds the leader's bytes, timestamps included", () => {
    const step = fc.oneof(appendOp, fc.record({ kind: fc.constant("fetch" as const) }));
    fc.assert(
      fc.property(fc.array(step, { maxLength: 25 }), (steps) => {
        let clock = 1_000;
        const leaderDir = tempDir();
        const followerDir = tempDir();
        // Different clocks: a batch encoded again would carry the follower's time, not the leader's.
        const leader = new LogStore(leaderDir, 300, undefined, () => clock++);
        const follower = new LogStore(followerDir, 300, undefined, () => 7);
        let epoch = 1;
        const fetch = (): void => {
          const from = follower.endOffset;
          if (from >= leader.endOffset) return;
          const read = readFetchedRecords(leader.batchBytes(from, leader.endOffset));
          follower.append(from, read.items, read.raw);
        };
        for (const s of [...steps, { kind: "fetch" as const }]) {
          if (s.kind === "fetch") fetch();
          else {
            if (s.bump) epoch++;
            const end = leader.endOffset;
            leader.append(
              end,
              Array.from({ length: s.count }, (_, i) =>
                s.control ? leaderChange(epoch, i) : topic(epoch, `t${end + i}`),
              ),
            );
          }
        }
        expect(follower.slice(0, follower.endOffset + 1)).toEqual(leader.slice(0, leader.endOffset + 1));
        leader.close();
        follower.close();
        expect(logBytes(followerDir).equals(logBytes(leaderDir))).toBe(true);
      }),
      { numRuns: 100 },
    );
  });

  it("encodes again what no fetched batch covers whole, and a batch whose header does not match", () => {
    const leader = new LogStore(tempDir(), 1 << 20, undefined, () => 5);
    leader.append(0, [topic(1, "a"), topic(1, "b")]);
    leader.append(2, [topic(2, "c")]);
    const read = readFetchedRecords(leader.batchBytes(0, 3));
    const followerDir = tempDir();
    const follower = new LogStore(followerDir, 1 << 20, undefined, () => 9);
    // The first batch named at the wrong offset (the header says 0): encoded again; the second kept.
    follower.append(0, read.items, [{ ...read.raw[0]!, baseOffset: 1 }, read.raw[1]!]);
    follower.close();
    const again = new LogStore(followerDir, 1 << 20);
    expect(again.slice(0, 3)).toEqual([topic(1, "a"), topic(1, "b"), topic(2, "c")]);
    expect(again.timestampAt(0)).toBe(9);
    expect(again.timestampAt(2)).toBe(5);
    again.close();
  });
});

describe("QuorumStateStore (R14)", () => {
  it("writes Kafka's QuorumStateData fields and reads them back", () => {
    const dir = tempDir();
    const store = new QuorumStateStore(dir, "cluster-a");
    expect(store.read()).toBeUndefined();
    store.write({ epoch: 7, leaderId: -1, votedKey: { id: 3 } });
    expect(JSON.parse(readFileSync(join(dir, "quorum-state"), "utf8"))).toEqual({
      clusterId: "cluster-a",
      leaderId: -1,
      leaderEpoch: 7,
      votedId: 3,
      appliedOffset: 0,
      currentVoters: null,
      data_version: 0,
    });
    expect(store.read()).toEqual({ epoch: 7, leaderId: -1, votedKey: { id: 3 } });
    store.write({ epoch: 8, leaderId: 2 });
    expect(store.read()).toEqual({ epoch: 8, leaderId: 2 });
    expect(existsSync(join(dir, "quorum-state.tmp"))).toBe(false);
  });

  it("refuses an unreadable file or another cluster's, naming the file", () => {
    const dir = tempDir();
    writeFileSync(join(dir, "quorum-state"), "{ not json");
    expect(() => new QuorumStateStore(dir, "c").read()).toThrow(
      /quorum-state is not a readable quorum-state file/,
    );
    new QuorumStateStore(dir, "other").write({ epoch: 1, leaderId: 1 });
    expect(() => new QuorumStateStore(dir, "mine").read()).toThrow(/belongs to cluster other, not mine/);
  });
});

describe("data directory", () => {
  it("meta.properties round-trips, and an unformatted directory is refused with the fix", () => {
    const dir = tempDir();
    expect(() => readMetaProperties(dir)).toThrow(
      `${dir} is not formatted (no meta.properties); run kraft format --cluster-id ID --node-id N --dir ${dir}`,
    );
    writeMetaProperties(dir, { clusterId: "abc", nodeId: 4, directoryId: "d" });
    expect(readMetaProperties(dir)).toEqual({ clusterId: "abc", nodeId: 4, directoryId: "d" });
  });

  it("the lock refuses a live holder, takes over a dead one's, and is released", () => {
    const dir = tempDir();
    writeFileSync(join(dir, ".lock"), `${process.ppid}\n`);
    expect(() => lockDirectory(dir)).toThrow(
      `${dir} is in use by process ${process.ppid} (lock file ${join(dir, ".lock")}); stop it first or use another directory`,
    );
    writeFileSync(join(dir, ".lock"), "2147483646\n");
    const unlock = lockDirectory(dir);
    expect(readFileSync(join(dir, ".lock"), "utf8")).toBe(`${process.pid}\n`);
    unlock();
    expect(existsSync(join(dir, ".lock"))).toBe(false);
  });

  it("an empty or garbled lock file (a write a full disk cut short) names no holder and is taken over", () => {
    for (const left of ["", "\n", "12ab\n", "-1\n", "0\n"]) {
      const dir = tempDir();
      writeFileSync(join(dir, ".lock"), left);
      const unlock = lockDirectory(dir);
      expect(readFileSync(join(dir, ".lock"), "utf8"), JSON.stringify(left)).toBe(`${process.pid}\n`);
      unlock();
    }
  });
});

describe("LogStore's flush off the event loop (R16)", () => {
  /** A simulated disk whose asynchronous fsyncs complete only when the test says so. */
  const manualDisk = () => {
    const pending: (() => void)[] = [];
    const disk = new SimDisk(new Random(1), (_ms, fn) => pending.push(fn));
    disk.mkdirp("/log");
    const completeSyncs = () => {
      for (const fn of pending.splice(0)) fn();
    };
    return { disk, completeSyncs };
  };

  it("reports only what was appended when the fsync began; later appends wait for the next flush", () => {
    const { disk, completeSyncs } = manualDisk();
    const log = new LogStore("/log", 1 << 20, disk);
    log.append(0, [noOp(1), noOp(1), noOp(1)]);
    const results: (number | Error)[] = [];
    log.flushAsync((r) => results.push(r));
    expect(log.flushing).toBe(true);
    expect(() => log.flushAsync(() => {})).toThrow(/already in flight/);
    log.append(3, [noOp(1), noOp(1)]);
    completeSyncs();
    expect(results).toEqual([3]);
    expect(log.flushedOffset).toBe(3);
    // A crash now keeps the three flushed records whatever happens to the two that were not.
    disk.crash();
    expect(new LogStore("/log", 1 << 20, disk).endOffset).toBeGreaterThanOrEqual(3);
  });

  it("a truncation while the fsync is in flight caps what it reports at the cut", () => {
    const { disk, completeSyncs } = manualDisk();
    const log = new LogStore("/log", 1 << 20, disk);
    log.append(0, [noOp(1), noOp(1), noOp(1), noOp(1), noOp(1)]);
    const results: (number | Error)[] = [];
    log.flushAsync((r) => results.push(r));
    log.truncate(2);
    log.append(2, [noOp(2), noOp(2), noOp(2), noOp(2)]);
    completeSyncs();
    // Not 5: offsets 2..5 now hold epoch-2 records that no fsync has covered.
    expect(results).toEqual([2]);
    expect(log.flushedOffset).toBe(2);
  });

  it("a segment rolled while the fsync is in flight closes its file only after the fsync", () => {
    const { disk, completeSyncs } = manualDisk();
    const log = new LogStore("/log", 1024, disk);
    log.append(0, [topic(1, "a")]);
    const results: (number | Error)[] = [];
    log.flushAsync((r) => results.push(r));
    for (let i = 1; i < 40; i++) log.append(i, [topic(1, `t${i}`)]);
    expect(disk.list("/log").filter((f) => f.endsWith(".log")).length).toBeGreaterThan(1);
    completeSyncs();
    expect(results).toEqual([1]);
    log.close();
    expect(new LogStore("/log", 1024, disk).endOffset).toBe(40);
  });

  it("a failed fsync is reported as the error, and nothing more counts as flushed", () => {
    const { disk, completeSyncs } = manualDisk();
    const log = new LogStore("/log", 1 << 20, disk);
    log.append(0, [noOp(1)]);
    disk.faults.failingSyncs = 1;
    const results: (number | Error)[] = [];
    log.flushAsync((r) => results.push(r));
    completeSyncs();
    expect(results).toHaveLength(1);
    expect((results[0] as Error).message).toMatch(/EIO/);
    expect(log.flushedOffset).toBe(0);
  });
});
