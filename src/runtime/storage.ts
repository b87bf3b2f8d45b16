// Durable storage of a node (R14, R16) in Kafka's layout: the metadata log as segment files of Kafka
// record batches (magic v2, CRC-32C) with their offset index, leader-epoch-checkpoint and
// partition.metadata; the quorum-state file written atomically, meta.properties, and the data
// directory lock. Recovery validates the log's tail and cuts a torn or corrupt suffix, saying what it
// cut.

import { closeSync, openSync, readFileSync, realpathSync, rmSync, unlinkSync, writeSync } from "node:fs";
import { join } from "node:path";
import * as Schema from "effect/Schema";
import type { MetadataRecord } from "../../spec/metadata/records.ts";
import { MetadataRecord as MetadataRecordSchema } from "../../spec/metadata/records.ts";
import type { ControlRecord } from "../../spec/raft/messages.ts";
import { METADATA_TOPIC_ID, type Voter } from "../../spec/raft/primitives.ts";
import type { LogState, VoterSetEntry } from "../../spec/raft/state.ts";
import { ElectionState } from "../../spec/raft/state.ts";
import {
  asStoredControl,
  decodeLogBatch,
  encodeLogBatch,
  type LogItem,
  LogRecordDecodeError,
  type SnapshotVoters,
  type VoterEndpoints,
} from "../kafka/metadata-records.ts";
import type { FetchedBatch } from "../kafka/raft-messages.ts";
import {
  ATTRIBUTES_OFFSET,
  BATCH_HEADER_BYTES,
  CONTROL_ATTRIBUTE,
  LOG_OVERHEAD,
  MAGIC_V2,
  type RecordBatch,
  readRecordBatch,
} from "../kafka/records.ts";
import { KafkaDecodeError, Reader } from "../kafka/wire.ts";
import { crc32c } from "./crc32c.ts";
import { type Disk, makeLiveDisk } from "./services.ts";
import { SnapshotStore } from "./snapshots.ts";

export class StorageError extends Error {
  override readonly name = "StorageError";
}

// ---- the data directory --------------------------------------------------------------------------

export interface MetaProperties {
  readonly clusterId: string;
  readonly nodeId: number;
  readonly directoryId: string;
}

export const META_PROPERTIES = "meta.properties";

export const readMetaProperties = (dir: string, disk: Disk = liveDisk): MetaProperties => {
  const path = join(dir, META_PROPERTIES);
  if (!disk.exists(path)) {
    throw new StorageError(
      `${dir} is not formatted (no ${META_PROPERTIES}); run kraft format --cluster-id ID --node-id N --dir ${dir}`,
    );
  }
  const props = new Map<string, string>();
  for (const line of disk.readFile(path).toString("utf8").split("\n")) {
    const m = /^([^#=]+)=(.*)$/.exec(line.trim());
    if (m !== null) props.set(m[1]!.trim(), m[2]!.trim());
  }
  const clusterId = props.get("cluster.id");
  const nodeId = Number(props.get("node.id"));
  if (clusterId === undefined || !Number.isInteger(nodeId))
    throw new StorageError(`${path} lacks cluster.id or node.id`);
  return { clusterId, nodeId, directoryId: props.get("directory.id") ?? "" };
};

export const writeMetaProperties = (dir: string, meta: MetaProperties, disk: Disk = liveDisk): void => {
  const text = `#\n# written by kraft format\nversion=1\ncluster.id=${meta.clusterId}\nnode.id=${meta.nodeId}\ndirectory.id=${meta.directoryId}\n`;
  atomicWrite(join(dir, META_PROPERTIES), text, disk);
};

/**
 * Write a file so that a crash leaves the old or the new content, never a mix (R14), through a
 * temporary file (`temp`) that is fsynced and renamed.
 */
export const atomicWrite = (
  path: string,
  content: string | Uint8Array,
  disk: Disk = liveDisk,
  temp = `${path}.tmp`,
): void => {
  const fd = disk.open(temp, "w");
  try {
    disk.write(fd, content);
    disk.fsync(fd);
  } finally {
    disk.close(fd);
  }
  disk.rename(temp, path);
  disk.syncDirectory(join(path, ".."));
};

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
  // A killed process whose parent has not reaped it yet still answers kill(pid, 0), but it is a
  // zombie: it holds no files, so its lock is stale (Linux shows this in /proc).
  try {
    const state = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.[0];
    return state !== "Z" && state !== "X";
  } catch {
    return true;
  }
};

/**
 * The live process other than this one that holds a data directory's lock, if any. An empty or
 * garbled lock file (a write that failed half way) names no process: it is stale.
 */
export const lockHolder = (dir: string): number | null => {
  let text: string;
  try {
    text = readFileSync(join(dir, ".lock"), "utf8").trim();
  } catch {
    return null;
  }
  const holder = /^\d+$/.test(text) ? Number(text) : 0;
  return holder > 0 && holder !== process.pid && alive(holder) ? holder : null;
};

/** Real paths of the directories whose OS-level lock (dir-lock.ts) this process holds. */
export const heldDirectoryLocks = new Set<string>();

export const realDirectory = (dir: string): string => {
  try {
    return realpathSync(dir);
  } catch {
    return dir;
  }
};

/** Whether this process holds `dir`'s OS-level lock (then its .lock file is this process's to write). */
export const holdsDirectoryLock = (dir: string): boolean => heldDirectoryLocks.has(realDirectory(dir));

/**
 * Take the data directory's lock file (created exclusively, holding our pid). A lock left by a
 * process that no longer runs is taken over; one held by a live process is refused.
 */
export const lockDirectory = (dir: string, osLockHeld = holdsDirectoryLock(dir)): (() => void) => {
  const path = join(dir, ".lock");
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      // Holding the OS-level lock (dir-lock.ts), whatever the file says is stale: overwrite it.
      const fd = openSync(path, osLockHeld ? "w" : "wx");
      try {
        writeSync(fd, `${process.pid}\n`);
      } catch (error) {
        // A full disk, say: leave no empty lock behind for every later start to trip on.
        closeSync(fd);
        rmSync(path, { force: true });
        throw new StorageError(
          `could not write the lock file ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
        );
      }
      closeSync(fd);
      return () => {
        try {
          if (readFileSync(path, "utf8").trim() === String(process.pid)) unlinkSync(path);
        } catch {
          // Already gone.
        }
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const holder = lockHolder(dir);
      if (holder !== null) {
        throw new StorageError(
          `${dir} is in use by process ${holder} (lock file ${path}); stop it first or use another directory`,
        );
      }
      rmSync(path, { force: true });
    }
  }
  throw new StorageError(`could not take the lock ${path}`);
};

/** The real file system, with the lock above (the .lock file, deferring to the OS-level lock if held). */
export const liveDisk: Disk = makeLiveDisk(lockDirectory);

// ---- quorum-state (R14) --------------------------------------------------------------------------

const decodeElectionState = Schema.decodeUnknownSync(ElectionState);

/** Kafka's quorum-state file: QuorumStateData fields, written atomically. */
export class QuorumStateStore {
  readonly path: string;
  readonly clusterId: string;
  private readonly disk: Disk;
  constructor(dir: string, clusterId: string, disk: Disk = liveDisk) {
    this.path = join(dir, "quorum-state");
    this.clusterId = clusterId;
    this.disk = disk;
  }

  read(): ElectionState | undefined {
    if (!this.disk.exists(this.path)) return undefined;
    try {
      const data = JSON.parse(this.disk.readFile(this.path).toString("utf8")) as Record<string, unknown>;
      if (typeof data["clusterId"] === "string" && data["clusterId"] !== this.clusterId)
        throw new Error(`it belongs to cluster ${data["clusterId"]}, not ${this.clusterId}`);
      const state: Record<string, unknown> = { epoch: data["leaderEpoch"], leaderId: data["leaderId"] };
      if (typeof data["votedId"] === "number" && data["votedId"] >= 0) {
        state["votedKey"] = { id: data["votedId"] };
      }
      return decodeElectionState(state);
    } catch (error) {
      // Written atomically, so never torn: a bad file is someone else's, and guessing could vote twice.
      throw new StorageError(
        `${this.path} is not a readable quorum-state file (${(error as Error).message.split("\n")[0]}); restore it or reformat this node`,
      );
    }
  }

  write(state: ElectionState): void {
    const data = {
      clusterId: this.clusterId,
      leaderId: state.leaderId,
      leaderEpoch: state.epoch,
      votedId: state.votedKey?.id ?? -1,
      appliedOffset: 0,
      currentVoters: null,
      data_version: 0,
    };
    atomicWrite(this.path, `${JSON.stringify(data)}\n`, this.disk);
  }
}

// ---- the metadata log --------------------------------------------------------------------------

/** What a log position holds: the record's epoch and its content (a control record or metadata). */
export interface LogEntry {
  readonly epoch: number;
  readonly control: ControlRecord | null;
  readonly record: MetadataRecord | null;
}

/** Spec records from the Kafka codec are re-checked against the spec's schema (ranges, uuids). */
const decodeRecord = Schema.decodeUnknownSync(MetadataRecordSchema);

/**
 * Whether a fetched batch holds exactly these entries' place: its base offset, record count, epoch
 * and kind (read from its header, which its CRC does not cover but the leader wrote).
 */
const asFetched = (batch: FetchedBatch, entries: readonly LogEntry[]): boolean => {
  const view = new DataView(batch.bytes.buffer, batch.bytes.byteOffset, batch.bytes.byteLength);
  const first = entries[0];
  return (
    first !== undefined &&
    batch.bytes.length >= BATCH_HEADER_BYTES &&
    view.getBigInt64(0) === BigInt(batch.baseOffset) &&
    view.getInt32(LAST_OFFSET_DELTA_AT) + 1 === entries.length &&
    view.getInt32(LOG_OVERHEAD) === first.epoch &&
    ((view.getInt16(ATTRIBUTES_OFFSET) & CONTROL_ATTRIBUTE) !== 0) === (first.control !== null) &&
    entries.every((e) => e.epoch === first.epoch && (e.control === null) === (first.control === null))
  );
};

/** A batch's entries as the log keeps them (`reading(i)` is told each record's place before it is read). */
const decodeEntries = (batch: RecordBatch, reading?: (i: number) => void): LogItem[] =>
  decodeLogBatch(batch).map((item, i) => {
    reading?.(i);
    return item.record === null ? item : { ...item, record: decodeRecord(item.record) };
  });

/** Kafka's offset index granularity (index.interval.bytes): one entry per this many bytes of batches. */
const INDEX_INTERVAL_BYTES = 4096;
/** Where a batch's lastOffsetDelta is (after baseOffset, length, epoch, magic, CRC, attributes). */
const LAST_OFFSET_DELTA_AT = 23;
/** Where the CRC-covered part of a batch starts (after partitionLeaderEpoch, magic and the CRC). */
const CRC_COVERED_FROM = ATTRIBUTES_OFFSET;

/** Entries of one epoch and kind as one of Kafka's record batches (magic v2), stamped `nowMs`. */
const encodeBatch = (baseOffset: number, entries: readonly LogEntry[], nowMs: number): Uint8Array =>
  encodeLogBatch(baseOffset, entries, nowMs);

interface SegmentFile {
  readonly baseOffset: number;
  readonly path: string;
  size: number;
  /** Its offset index: (offset relative to baseOffset, byte position) pairs, as written. */
  readonly index: { relativeOffset: number; position: number }[];
  /** Batch bytes written since the last index entry (Kafka's bytesSinceLastIndexEntry). */
  bytesSinceIndexEntry: number;
  /** A write of its index failed: appends leave it alone until it is rewritten whole. */
  indexStale: boolean;
}

const newSegment = (baseOffset: number, path: string): SegmentFile => ({
  baseOffset,
  path,
  size: 0,
  index: [],
  bytesSinceIndexEntry: 0,
  indexStale: false,
});

interface BatchPosition {
  readonly baseOffset: number;
  readonly count: number;
  /** The epoch of its records (a batch holds one). */
  readonly epoch: number;
  readonly segment: number;
  readonly position: number;
  readonly size: number;
  /** The batch as written: what a Fetch response sends of it. */
  readonly bytes: Uint8Array;
}

export interface RecoveryReport {
  readonly batches: number;
  readonly records: number;
  /** What was cut from the tail, if anything. */
  readonly truncated: string | null;
  /**
   * Whether what was cut may have been flushed, hence acknowledged (R146): anything but an unflushed
   * torn tail. Then, and until the node says it recovered, the log directory holds RECOVERY_MARK.
   */
  readonly lostFlushed: boolean;
}

/** R146: the durable mark of records cut that may have been acknowledged (in the log's directory). */
export const RECOVERY_MARK = "openkraft-recovering.json";

const segmentName = (baseOffset: number): string => `${String(baseOffset).padStart(20, "0")}.log`;
const indexName = (segmentPath: string): string => segmentPath.replace(/\.log$/, ".index");

export const LEADER_EPOCH_CHECKPOINT = "leader-epoch-checkpoint";
/** Kafka's file of each partition's log start offset, in the data directory (the partition's parent). */
export const LOG_START_OFFSET_CHECKPOINT = "log-start-offset-checkpoint";
export const PARTITION_METADATA = "partition.metadata";

/**
 * The metadata log in Kafka's layout: segment files of record batches, each checked by CRC-32C, with
 * Kafka's sparse offset index beside each (derived data, rebuilt by recovery), the leader epoch
 * checkpoint and partition.metadata. Every batch's bytes are kept in memory (rebuilt by the recovery
 * scan), so Fetch is answered without reading the disk. Decoded entries are kept only from the point
 * the node still needs them (`forgetDecodedBelow`: what its listener has not been handed yet, and
 * everything after); older ones are decoded again from their batch on the rare reads that want them,
 * so memory grows by a batch's bytes per record, not by its decoded objects. Appends are buffered
 * writes; flush fsyncs (R16).
 */
export class LogStore {
  readonly dir: string;
  private readonly segmentBytes: number;
  private segments: SegmentFile[] = [];
  private index: BatchPosition[] = [];
  /** Decoded entries from `decodedFrom` to the log's end: offset `decodedFrom + i` is decoded[i]. */
  private decoded: LogEntry[] = [];
  /** Where the decoded entries start: at or above the log start, at most its end. */
  private decodedFrom = 0;
  /** Every VotersRecord of the log, with its offset (few, read whole by R90 and R91). */
  private voterRecords: { readonly offset: number; readonly entry: LogEntry }[] = [];
  /** The last batch decoded again for a read below `decodedFrom`: reads tend to walk forward. */
  private decodedBatch: { readonly bytes: Uint8Array; readonly entries: readonly LogEntry[] } | null = null;
  /** The log start offset (R79): the records below it are in a snapshot, not in the log. */
  private start = 0;
  /** During recovery: the checkpointed log start, below which batches are skipped. */
  private recoverBelow = 0;
  /** The log's snapshots (R77–R84), in the same directory. */
  readonly snapshots: SnapshotStore;
  /** The active segment, open for appends. */
  private fd: number | null = null;
  /** The active segment's offset index, open for appends. */
  private indexFd: number | null = null;
  private flushed = 0;
  private readonly disk: Disk;
  private readonly now: () => number;
  /** The asynchronous fsync in flight: what it covers, and the lowest truncation since it began. */
  private syncing: { readonly fd: number; readonly target: number; truncatedTo: number } | null = null;
  /** Files closed while an fsync on them was in flight: closed once it ends (no fd reused under it). */
  private readonly closeAfterSync: number[] = [];
  /** The leader epoch checkpoint's content as last written, so it is rewritten only on a change. */
  private epochCheckpoint = "";
  /**
   * Why the last write of a derived file (index, leader-epoch-checkpoint, partition.metadata) failed.
   * They are Kafka's layout, not this node's state: a full disk or a failed fsync there never stops
   * the node; the next restart or truncation writes them again.
   */
  derivedFileError: string | null = null;
  readonly recovery: RecoveryReport;

  /** `now` stamps each batch's timestamps (Kafka's append time); nothing reads them back. */
  constructor(dir: string, segmentBytes: number, disk: Disk = liveDisk, now: () => number = Date.now) {
    this.dir = dir;
    this.segmentBytes = segmentBytes;
    this.disk = disk;
    this.now = now;
    disk.mkdirp(dir);
    this.snapshots = new SnapshotStore(dir, disk);
    this.recovery = this.recover();
    this.flushed = this.endOffset;
    const metadata = join(dir, PARTITION_METADATA);
    this.derived(() => {
      if (!disk.exists(metadata)) atomicWrite(metadata, `version: 0\ntopic_id: ${METADATA_TOPIC_ID}`, disk);
    });
    for (const segment of this.segments) this.rewriteIndex(segment);
    this.writeEpochCheckpoint();
  }

  get endOffset(): number {
    return this.decodedFrom + this.decoded.length;
  }

  get startOffset(): number {
    return this.start;
  }

  get flushedOffset(): number {
    return this.flushed;
  }

  /** The entry at `offset`; undefined below the log start or at and past its end. */
  entry(offset: number): LogEntry | undefined {
    if (offset < this.start || offset >= this.endOffset) return undefined;
    if (offset >= this.decodedFrom) return this.decoded[offset - this.decodedFrom];
    const b = this.index[this.batchAt(offset)]!;
    return this.entriesOf(b)[offset - b.baseOffset];
  }

  /** The entries `from`..`to` (clamped to the log), decoding again what is below `decodedFrom`. */
  slice(from: number, to: number): readonly LogEntry[] {
    const low = Math.max(from, this.start);
    const high = Math.min(to, this.endOffset);
    if (low >= high) return [];
    if (low >= this.decodedFrom) return this.decoded.slice(low - this.decodedFrom, high - this.decodedFrom);
    const out: LogEntry[] = [];
    for (let i = this.batchAt(low); i < this.index.length; i++) {
      const b = this.index[i]!;
      if (b.baseOffset >= Math.min(high, this.decodedFrom)) break;
      const entries = this.entriesOf(b);
      const first = Math.max(low, b.baseOffset);
      const last = Math.min(high, this.decodedFrom, b.baseOffset + b.count);
      for (let offset = first; offset < last; offset++) out.push(entries[offset - b.baseOffset]!);
    }
    if (high > this.decodedFrom) out.push(...this.decoded.slice(0, high - this.decodedFrom));
    return out;
  }

  /**
   * The node no longer needs the entries below `offset` decoded (its listener has them): they are
   * dropped from memory, their batches' bytes stay. Reads below it decode their batch again.
   */
  forgetDecodedBelow(offset: number): void {
    const drop = Math.min(offset, this.endOffset) - this.decodedFrom;
    if (drop <= 0) return;
    this.decoded = drop === this.decoded.length ? [] : this.decoded.slice(drop);
    this.decodedFrom += drop;
  }

  /** A batch's entries, decoded from its bytes (the last one is remembered). */
  private entriesOf(b: BatchPosition): readonly LogEntry[] {
    if (this.decodedBatch?.bytes !== b.bytes) {
      const entries = decodeEntries(readRecordBatch(new Reader(b.bytes)));
      this.decodedBatch = { bytes: b.bytes, entries };
    }
    return this.decodedBatch.entries;
  }

  /** Keep a VotersRecord's place (R90, R91): the decoded entries may be forgotten, these are not. */
  private noteVoters(offset: number, entry: LogEntry): void {
    if (entry.control?._tag === "VotersRecord") this.voterRecords.push({ offset, entry });
  }

  /** The epochs of the log from its start, each with the offset it starts at (from the batches). */
  private epochs(): { epoch: number; startOffset: number }[] {
    const epochs: { epoch: number; startOffset: number }[] = [];
    const end = this.endOffset;
    for (const b of this.index) {
      const startOffset = Math.max(b.baseOffset, this.start);
      if (startOffset >= Math.min(end, b.baseOffset + b.count)) continue;
      if (epochs.length === 0 || epochs[epochs.length - 1]!.epoch !== b.epoch)
        epochs.push({ epoch: b.epoch, startOffset });
    }
    return epochs;
  }

  /** The log's shape for the reducer: everything on disk after recovery is durable. */
  logState(): LogState {
    const snapshots = this.snapshots.list();
    const voterSets = this.voterSets();
    return {
      startOffset: this.start,
      endOffset: this.endOffset,
      flushedOffset: this.flushed,
      epochs: this.epochs(),
      ...(snapshots.length === 0 ? {} : { snapshots }),
      ...(voterSets.length === 0 ? {} : { voterSets }),
    };
  }

  /** The voter set the snapshot at the log start holds (R91), read once per snapshot. */
  private baseVoters: { readonly endOffset: number; readonly voters: SnapshotVoters | undefined } | null =
    null;

  private snapshotAtStartVoters(): SnapshotVoters | undefined {
    if (this.start === 0) return undefined;
    const base = this.snapshots.list().find((s) => s.endOffset === this.start);
    if (base === undefined) return undefined;
    if (this.baseVoters?.endOffset !== base.endOffset)
      this.baseVoters = {
        endOffset: base.endOffset,
        voters: this.snapshots.read(base.endOffset, base.epoch).voters,
      };
    return this.baseVoters.voters;
  }

  /**
   * R91: the voter sets this log knows: the one the snapshot at its start holds (in force from just
   * below the start), then each VotersRecord in it.
   */
  private voterSets(): VoterSetEntry[] {
    const sets: VoterSetEntry[] = [];
    const base = this.snapshotAtStartVoters()?.voters;
    if (base !== undefined) sets.push({ offset: this.start - 1, voters: base });
    for (const { offset, entry } of this.voterRecords)
      if (entry.control?._tag === "VotersRecord") sets.push({ offset, voters: entry.control.voters });
    return sets;
  }

  /**
   * R90: the listeners of every voter this log names, newest first wins: its VotersRecords, the
   * snapshot at its start, the bootstrap checkpoint.
   */
  voterEndpoints(): readonly VoterEndpoints[] {
    const byId = new Map<number, VoterEndpoints>();
    const learn = (voters: readonly Voter[] | undefined) => {
      for (const v of voters ?? [])
        if (v.listeners !== undefined && v.listeners.length > 0)
          byId.set(v.id, { id: v.id, endpoints: v.listeners });
    };
    learn(this.snapshots.readBootstrap()?.voters);
    learn(this.snapshotAtStartVoters()?.voters);
    for (const { entry } of this.voterRecords)
      if (entry.control?._tag === "VotersRecord") learn(entry.control.voters);
    return [...byId.values()];
  }

  /** Bytes of the batches holding [from, to) (whole batches), for the snapshot policy (R131). */
  bytesBetween(from: number, to: number): number {
    let bytes = 0;
    for (let i = this.batchAt(from); i < this.index.length; i++) {
      const b = this.index[i]!;
      if (b.baseOffset >= to) break;
      bytes += b.size;
    }
    return bytes;
  }

  /** The append time of the record at `offset` (its batch's), for a snapshot's header (R78). */
  timestampAt(offset: number): number {
    const b = this.index[this.batchAt(offset)];
    return b === undefined ? 0 : Number(Buffer.from(b.bytes).readBigInt64BE(35));
  }

  /** Kafka's leader-epoch-checkpoint (version 0, count, then `epoch startOffset` lines), when it changed. */
  private writeEpochCheckpoint(): void {
    const epochs = this.epochs();
    const text = `0\n${epochs.length}\n${epochs.map((e) => `${e.epoch} ${e.startOffset}\n`).join("")}`;
    if (text === this.epochCheckpoint) return;
    this.derived(() => {
      atomicWrite(join(this.dir, LEADER_EPOCH_CHECKPOINT), text, this.disk);
      this.epochCheckpoint = text;
    });
  }

  private derived(write: () => void): boolean {
    try {
      write();
      return true;
    } catch (error) {
      this.derivedFileError = (error as Error).message;
      return false;
    }
  }

  /** Write a segment's offset index whole, from what is known of it (recovery, truncation). */
  private rewriteIndex(segment: SegmentFile): void {
    const bytes = Buffer.alloc(segment.index.length * 8);
    segment.index.forEach((e, i) => {
      bytes.writeInt32BE(e.relativeOffset, i * 8);
      bytes.writeInt32BE(e.position, i * 8 + 4);
    });
    segment.indexStale = !this.derived(() => {
      const fd = this.disk.open(indexName(segment.path), "w");
      try {
        this.disk.write(fd, bytes);
      } finally {
        this.disk.close(fd);
      }
    });
  }

  /** Kafka's rule (LogSegment.append): an entry for a batch once more than the interval was written. */
  private indexBatch(
    segment: SegmentFile,
    lastOffset: number,
    position: number,
    size: number,
  ): Buffer | null {
    let entry: Buffer | null = null;
    if (segment.bytesSinceIndexEntry > INDEX_INTERVAL_BYTES) {
      const relativeOffset = lastOffset - segment.baseOffset;
      segment.index.push({ relativeOffset, position });
      entry = Buffer.alloc(8);
      entry.writeInt32BE(relativeOffset, 0);
      entry.writeInt32BE(position, 4);
      segment.bytesSinceIndexEntry = 0;
    }
    segment.bytesSinceIndexEntry += size;
    return entry;
  }

  private recover(): RecoveryReport {
    const files = this.disk
      .list(this.dir)
      .filter((f) => /^\d{20}\.log$/.test(f))
      .sort();
    const logStart = this.readLogStart();
    this.recoverBelow = logStart;
    // R79: the scan starts at the first segment (Kafka's log start is at least its base offset); the
    // records below the checkpointed start are dropped once it is done.
    this.start = files.length === 0 ? logStart : Number(files[0]!.slice(0, 20));
    this.decodedFrom = this.start;
    let truncated: string | null = null;
    let lostFlushed = false;
    let batches = 0;
    // R146: before anything that may have been flushed is cut, the cut is recorded durably.
    const markLoss = (reason: string): void => {
      if (lostFlushed) return;
      lostFlushed = true;
      atomicWrite(
        join(this.dir, RECOVERY_MARK),
        `${JSON.stringify({ cutAtOffset: this.endOffset, reason })}\n`,
        this.disk,
      );
    };
    for (const [i, name] of files.entries()) {
      const path = join(this.dir, name);
      const baseOffset = Number(name.slice(0, 20));
      if (truncated !== null || baseOffset !== this.endOffset) {
        // Everything after a cut, or a segment that does not continue the log, goes.
        truncated ??= `segment ${name} does not start at offset ${this.endOffset}`;
        markLoss(truncated);
        this.disk.remove(path);
        this.disk.remove(indexName(path));
        continue;
      }
      const data = this.disk.readFile(path);
      const segment = this.segments.length;
      this.segments.push(newSegment(baseOffset, path));
      let position = 0;
      while (position < data.length) {
        const problem = this.readBatch(data, position, segment);
        if (typeof problem === "string") {
          truncated = `${name} at byte ${position} (offset ${this.endOffset}): ${problem}; cut ${data.length - position} bytes`;
          // An unflushed write torn by a crash can only be the last thing in the last segment: a
          // batch the file ends inside, or bytes never written (zeros). Anything else — a whole batch
          // whose CRC fails, garbage, data after it — may have been flushed and acknowledged.
          const torn =
            i === files.length - 1 &&
            (problem === "torn batch header" ||
              problem === "torn batch" ||
              data.subarray(position).every((b) => b === 0));
          if (!torn) markLoss(truncated);
          const fd = this.disk.open(path, "r+");
          this.disk.truncate(fd, position);
          this.disk.fsync(fd);
          this.disk.close(fd);
          break;
        }
        position += problem;
        batches++;
      }
      this.segments[segment]!.size = position;
    }
    const records = this.decoded.length;
    this.settleLogStart(logStart);
    return { batches, records, truncated, lostFlushed };
  }

  /** Kafka's log-start-offset-checkpoint (version 0, count, then `topic partition offset` lines). */
  private logStartPath(): string {
    return join(this.dir, "..", LOG_START_OFFSET_CHECKPOINT);
  }

  private readLogStart(): number {
    const path = this.logStartPath();
    if (!this.disk.exists(path)) return 0;
    const text = this.disk.readFile(path).toString("utf8");
    const m = /^__cluster_metadata 0 (\d+)$/m.exec(text);
    return m === null ? 0 : Number(m[1]);
  }

  private writeLogStart(offset: number): void {
    atomicWrite(this.logStartPath(), `0\n1\n__cluster_metadata 0 ${offset}\n`, this.disk);
  }

  /**
   * After the recovery scan: the log starts where its checkpoint says, unless a newer snapshot ends
   * beyond the records that survived (a crash after the snapshot, before the records were flushed),
   * which truncates the log fully to that snapshot, as Kafka's recovery does (R83). Snapshots older
   * than the start, and segments wholly below it, go. A start above 0 needs a snapshot ending there.
   */
  private settleLogStart(checkpointed: number): void {
    const latest = this.snapshots.latest();
    if (latest !== undefined && latest.endOffset > this.endOffset) {
      this.truncateFully(latest.endOffset);
      return;
    }
    const start = Math.max(checkpointed, this.start);
    if (start > this.endOffset)
      throw new StorageError(
        `${LOG_START_OFFSET_CHECKPOINT} says the metadata log starts at ${start}, but it ends at ${this.endOffset} and no snapshot ends beyond it; restore the log or the snapshot, or format this node's directory again so that it catches up from the quorum`,
      );
    if (start > 0 && !this.snapshots.list().some((x) => x.endOffset === start))
      throw new StorageError(
        `the metadata log starts at ${start} but no snapshot in ${this.dir} ends there (SnapshotAtLogStart, R79): the records below it are lost; restore the snapshot, or format this node's directory again so that it catches up from the quorum`,
      );
    this.snapshots.deleteBefore(start);
    this.dropBelow(start);
  }

  /** Forget the records below `offset` and delete the segments that hold nothing at or above it. */
  private dropBelow(offset: number): void {
    if (offset > this.start) {
      this.forgetDecodedBelow(offset);
      this.start = offset;
      this.voterRecords = this.voterRecords.filter((v) => v.offset >= offset);
    }
    let gone = 0;
    while (gone + 1 < this.segments.length && this.segments[gone + 1]!.baseOffset <= offset) gone++;
    if (this.segments.length > 0 && gone === this.segments.length - 1 && this.endOffset === this.start) {
      // Nothing at or above the start is left in any segment: the last one goes too (not if open).
      if (this.fd === null) gone = this.segments.length;
    }
    for (const segment of this.segments.slice(0, gone)) {
      this.disk.remove(segment.path);
      this.disk.remove(indexName(segment.path));
    }
    if (gone > 0) this.disk.syncDirectory(this.dir);
    this.segments = this.segments.slice(gone);
    this.index = this.index
      .filter((b) => b.baseOffset + b.count > offset && b.segment >= gone)
      .map((b) => ({ ...b, segment: b.segment - gone }));
    this.writeEpochCheckpoint();
  }

  /**
   * R79: the log start moves to `offset`, the end of a snapshot: durably recorded first, then the
   * older snapshots and the segments wholly below it are deleted.
   */
  deleteBefore(offset: number): void {
    if (offset <= this.start) return;
    if (offset > this.endOffset)
      throw new StorageError(`the log start cannot move to ${offset}, past the log's end ${this.endOffset}`);
    this.writeLogStart(offset);
    this.snapshots.deleteBefore(offset);
    this.dropBelow(offset);
    this.flushed = Math.max(this.flushed, offset);
  }

  /**
   * R83: truncate the log fully to a snapshot that was installed: every segment goes, the log starts
   * and ends at `offset`. The segments go before the start is recorded, so a crash in between finds
   * the snapshot beyond the log and truncates again.
   */
  truncateFully(offset: number): void {
    this.closeActive();
    for (const segment of this.segments) {
      this.disk.remove(segment.path);
      this.disk.remove(indexName(segment.path));
    }
    this.disk.syncDirectory(this.dir);
    this.segments = [];
    this.index = [];
    this.decoded = [];
    this.decodedFrom = offset;
    this.voterRecords = [];
    this.decodedBatch = null;
    this.start = offset;
    this.writeLogStart(offset);
    if (this.syncing !== null) this.syncing.truncatedTo = Math.min(this.syncing.truncatedTo, offset);
    this.flushed = offset;
    this.writeEpochCheckpoint();
  }

  /** R146: the mark of records lost that may have been acknowledged, from this start or an earlier one. */
  get recovering(): boolean {
    return this.disk.exists(join(this.dir, RECOVERY_MARK));
  }

  /** R146: the node has caught up past what it lost; forget the loss (durably). */
  clearRecovery(): void {
    this.disk.remove(join(this.dir, RECOVERY_MARK));
    this.disk.syncDirectory(this.dir);
  }

  /** Read one batch at `position`; its size, or why it is not a valid batch. */
  private readBatch(data: Buffer, position: number, segment: number): number | string {
    const available = data.length - position;
    const expected = this.endOffset;
    // A torn write is a prefix of the batch that belongs here: its first bytes name this offset.
    if (available >= 8 && data.readBigInt64BE(position) !== BigInt(expected))
      return `bytes that are not the batch at offset ${expected} (baseOffset ${data.readBigInt64BE(position)})`;
    if (available >= 17 && data.readInt8(position + 16) !== MAGIC_V2)
      return `unknown batch format (magic ${data.readInt8(position + 16)})`;
    if (available < BATCH_HEADER_BYTES) return "torn batch header";
    const length = data.readInt32BE(position + 8);
    const size = LOG_OVERHEAD + length;
    if (size < BATCH_HEADER_BYTES) return `batch length ${length} is shorter than a batch header`;
    if (available < size) return "torn batch";
    const crc = data.readUInt32BE(position + 17);
    if (crc32c(data.subarray(position + CRC_COVERED_FROM, position + size)) !== crc)
      return "CRC-32C mismatch";
    const count = data.readInt32BE(position + LAST_OFFSET_DELTA_AT) + 1;
    if (this.decoded.length === 0 && expected + count <= this.recoverBelow) {
      // R79: a whole batch below the log start: checked, never decoded or kept (restart time and
      // memory stay those of the log after the snapshot).
      this.start = expected + count;
      this.decodedFrom = this.start;
      this.indexBatch(this.segments[segment]!, expected + count - 1, position, size);
      return size;
    }
    let batch: RecordBatch;
    try {
      batch = readRecordBatch(new Reader(data.subarray(position, position + size)));
    } catch (error) {
      if (error instanceof KafkaDecodeError) return `unreadable batch (${error.message})`;
      throw error;
    }
    let items: LogItem[];
    let at = expected;
    try {
      items = decodeEntries(batch, (i) => {
        at = expected + i;
      });
    } catch (error) {
      if (error instanceof LogRecordDecodeError) at = expected + error.index;
      // The CRC says this batch is whole: it may be committed, so it is never cut.
      throw new StorageError(
        `${this.segments[segment]!.path.split("/").at(-1)} holds a record at offset ${at} that this version cannot read (${(error as Error).message.split("\n")[0]}); refusing to start rather than cut it`,
      );
    }
    for (const [i, item] of items.entries()) this.noteVoters(expected + i, item);
    this.decoded.push(...items);
    const file = this.segments[segment]!;
    this.indexBatch(file, expected + batch.records.length - 1, position, size);
    this.index.push({
      baseOffset: expected,
      count: batch.records.length,
      epoch: batch.partitionLeaderEpoch,
      segment,
      position,
      size,
      // Past a log start, a copy: the segment's buffer (mostly records below it) need not stay.
      bytes:
        this.recoverBelow > 0
          ? Buffer.from(data.subarray(position, position + size))
          : data.subarray(position, position + size),
    });
    return size;
  }

  private openIndex(segment: SegmentFile, mode: "w" | "a"): void {
    if (this.indexFd !== null) this.disk.close(this.indexFd);
    this.indexFd = null;
    if (segment.indexStale) return;
    segment.indexStale = !this.derived(() => {
      this.indexFd = this.disk.open(indexName(segment.path), mode);
    });
  }

  private activeFd(): number {
    const last = this.segments[this.segments.length - 1];
    if (last === undefined || last.size >= this.segmentBytes) {
      if (this.fd !== null) {
        this.disk.fsync(this.fd);
        this.release(this.fd);
      }
      const baseOffset = this.endOffset;
      const path = join(this.dir, segmentName(baseOffset));
      this.fd = this.disk.open(path, "a");
      this.segments.push(newSegment(baseOffset, path));
      this.openIndex(this.segments[this.segments.length - 1]!, "w");
      // The new file's name must be as durable as the records about to be flushed into it.
      this.disk.syncDirectory(this.dir);
    } else if (this.fd === null) {
      this.fd = this.disk.open(last.path, "a");
      this.openIndex(last, "a");
    }
    return this.fd;
  }

  /**
   * Append records at `baseOffset` (which must be the end of the log), as batches of one epoch and
   * one kind (control or metadata) each. A follower passes the batches its Fetch answer carried (the
   * entries decoded from them): each that lies whole in what is appended is written as it came, as
   * Kafka's followers do, so every replica holds the leader's bytes (timestamps included).
   */
  append(baseOffset: number, entries: readonly LogEntry[], fetched: readonly FetchedBatch[] = []): void {
    if (baseOffset !== this.endOffset)
      throw new StorageError(`append at ${baseOffset}, but the log ends at ${this.endOffset}`);
    let start = 0;
    let next = 0;
    while (start < entries.length) {
      const offset = baseOffset + start;
      while (next < fetched.length && fetched[next]!.baseOffset < offset) next++;
      const whole = fetched[next];
      if (whole?.baseOffset === offset && start + whole.count <= entries.length) {
        const batch = entries.slice(start, start + whole.count);
        if (asFetched(whole, batch)) {
          // A copy: the answer's bytes may share a buffer with the rest of what the socket read.
          this.appendBatch(batch, new Uint8Array(whole.bytes));
          start += whole.count;
          continue;
        }
      }
      // Up to the next fetched batch, as batches of one epoch and kind.
      const stop = Math.min(
        entries.length,
        (fetched[next]?.baseOffset ?? Number.MAX_SAFE_INTEGER) - baseOffset,
      );
      const first = entries[start]!;
      let end = start + 1;
      while (
        end < Math.max(stop, start + 1) &&
        entries[end]!.epoch === first.epoch &&
        (entries[end]!.control === null) === (first.control === null)
      )
        end++;
      this.appendBatch(entries.slice(start, end));
      start = end;
    }
  }

  private appendBatch(entries: readonly LogEntry[], bytes?: Uint8Array): void {
    const baseOffset = this.endOffset;
    const newEpoch = this.index.at(-1)?.epoch !== entries[0]!.epoch;
    const buf = bytes ?? encodeBatch(baseOffset, entries, this.now());
    const fd = this.activeFd();
    this.disk.write(fd, buf);
    const segment = this.segments.length - 1;
    const file = this.segments[segment]!;
    const indexEntry = this.indexBatch(file, baseOffset + entries.length - 1, file.size, buf.length);
    if (indexEntry !== null && !file.indexStale && this.indexFd !== null) {
      const indexFd = this.indexFd;
      file.indexStale = !this.derived(() => this.disk.write(indexFd, indexEntry));
    }
    this.index.push({
      baseOffset,
      count: entries.length,
      epoch: entries[0]!.epoch,
      segment,
      position: file.size,
      size: buf.length,
      bytes: buf,
    });
    file.size += buf.length;
    for (const e of entries) {
      const stored = e.control === null ? e : { ...e, control: asStoredControl(e.control) };
      this.noteVoters(this.endOffset, stored);
      this.decoded.push(stored);
    }
    if (newEpoch) this.writeEpochCheckpoint();
  }

  /**
   * Entries `from`..`to` as Kafka record batches, as a Fetch response carries them (R63): the stored
   * batches' own bytes, made once at append and sent to every replica; only a batch that the range
   * cuts (a follower whose log came from another leader ends inside one) is encoded again.
   */
  batchBytes(from: number, to: number): Uint8Array {
    const parts: Uint8Array[] = [];
    for (let i = this.batchAt(from); i < this.index.length; i++) {
      const b = this.index[i]!;
      if (b.baseOffset >= to) break;
      const start = Math.max(from, b.baseOffset);
      const end = Math.min(to, b.baseOffset + b.count);
      parts.push(
        start === b.baseOffset && end === b.baseOffset + b.count
          ? b.bytes
          : encodeBatch(start, this.slice(start, end), this.now()),
      );
    }
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }

  /** The position in the batch list of the batch holding `offset` (the list's length past the end). */
  private batchAt(offset: number): number {
    let low = 0;
    let high = this.index.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      const b = this.index[mid]!;
      if (b.baseOffset + b.count <= offset) low = mid + 1;
      else high = mid;
    }
    return low;
  }

  /** Remove everything at or above `offset` (R67). A batch cut in two keeps its first part. */
  truncate(offset: number): void {
    if (offset >= this.endOffset) return;
    if (offset <= this.start) {
      // Nothing above the log start survives: the log is empty from its start (R67 never cuts below).
      this.truncateFully(this.start);
      return;
    }
    const at = this.batchAt(offset);
    const cut = this.index[at]!;
    const kept = this.slice(Math.max(cut.baseOffset, this.start), offset);
    this.closeActive();
    const removed = this.segments.splice(cut.segment + 1);
    for (const s of removed) {
      this.disk.remove(s.path);
      this.disk.remove(indexName(s.path));
    }
    if (removed.length > 0) this.disk.syncDirectory(this.dir);
    const file = this.segments[cut.segment]!;
    const fd = this.disk.open(file.path, "r+");
    this.disk.truncate(fd, cut.position);
    this.disk.fsync(fd);
    this.disk.close(fd);
    // Everything below the cut is durable now; a sync in flight covers nothing at or above it.
    if (this.syncing !== null) this.syncing.truncatedTo = Math.min(this.syncing.truncatedTo, offset);
    file.size = cut.position;
    this.index.length = at;
    const end = Math.max(cut.baseOffset, this.start);
    if (end >= this.decodedFrom) this.decoded.length = end - this.decodedFrom;
    else {
      this.decoded = [];
      this.decodedFrom = end;
    }
    this.voterRecords = this.voterRecords.filter((v) => v.offset < end);
    this.decodedBatch = null;
    // The segment's index loses its entries at or past the cut, and counts again from the last kept.
    while (file.index.length > 0 && file.index[file.index.length - 1]!.position >= cut.position)
      file.index.pop();
    const lastIndexed = file.index.at(-1)?.position ?? 0;
    file.bytesSinceIndexEntry = 0;
    for (const b of this.index)
      if (b.segment === cut.segment && b.position >= lastIndexed) file.bytesSinceIndexEntry += b.size;
    this.rewriteIndex(file);
    if (kept.length > 0) {
      this.appendBatch(kept);
      this.disk.fsync(this.fd!);
    }
    this.writeEpochCheckpoint();
    this.flushed = Math.min(this.flushed, offset);
  }

  /** Close the active segment and its index (the next append opens what it needs). */
  private closeActive(): void {
    if (this.fd !== null) {
      this.release(this.fd);
      this.fd = null;
    }
    if (this.indexFd !== null) {
      this.disk.close(this.indexFd);
      this.indexFd = null;
    }
  }

  /** Close a file now, or once the fsync in flight on it has ended. */
  private release(fd: number): void {
    if (this.syncing?.fd === fd) this.closeAfterSync.push(fd);
    else this.disk.close(fd);
  }

  /** fsync the active segment: everything appended so far is durable (R16). */
  flush(): number {
    // fdatasync: the data and the file's size, which is all an append changes.
    if (this.fd !== null) this.disk.fdatasync(this.fd);
    this.flushed = this.endOffset;
    return this.flushed;
  }

  /** Whether an asynchronous flush is in flight (one at a time). */
  get flushing(): boolean {
    return this.syncing !== null;
  }

  /**
   * fsync off the event loop (R16): `done` gets the offset below which everything is durable — what
   * was appended when the flush began, less anything truncated meanwhile — or the error. Appends may
   * go on meanwhile; they are covered by the next flush.
   */
  flushAsync(done: (result: number | Error) => void): void {
    if (this.syncing !== null) throw new StorageError("a flush is already in flight");
    const target = this.endOffset;
    if (this.fd === null) {
      // Nothing written since the last file was synced and closed.
      this.flushed = Math.max(this.flushed, target);
      done(target);
      return;
    }
    const syncing = { fd: this.fd, target, truncatedTo: target };
    this.syncing = syncing;
    this.disk.fdatasyncAsync(syncing.fd, (error) => {
      this.syncing = null;
      for (const fd of this.closeAfterSync.splice(0)) this.disk.close(fd);
      if (error !== null) {
        done(error);
        return;
      }
      const durable = Math.min(syncing.target, syncing.truncatedTo);
      this.flushed = Math.max(this.flushed, durable);
      done(durable);
    });
  }

  close(): void {
    if (this.fd !== null) {
      this.disk.fsync(this.fd);
      this.release(this.fd);
      this.fd = null;
    }
    if (this.indexFd !== null) {
      this.disk.close(this.indexFd);
      this.indexFd = null;
    }
  }
}
