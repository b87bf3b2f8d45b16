// The metadata log's snapshots on disk, in Kafka's layout (KIP-630): `<endOffset>-<epoch>.checkpoint`
// (20 and 10 digits) beside the log's segments, each written whole to a `.part` file, fsynced and
// renamed, so a crash leaves either the whole snapshot or none of it. A follower's download (R83)
// grows a `.part` file chunk by chunk and is renamed once whole; partial files never survive a start.
import { join } from "node:path";
import type { MetadataRecord } from "../../spec/metadata/records.ts";
import type { SnapshotInfo } from "../../spec/raft/state.ts";
import { decodeSnapshot, encodeSnapshot, type SnapshotVoters } from "../kafka/metadata-records.ts";
import { KafkaDecodeError } from "../kafka/wire.ts";
import type { Disk } from "./services.ts";
import { atomicWrite, StorageError } from "./storage.ts";

const SNAPSHOT_NAME = /^(\d{20})-(\d{10})\.checkpoint$/;
const PARTIAL_NAME = /\.checkpoint\.part$/;

export const snapshotName = (endOffset: number, epoch: number): string =>
  `${String(endOffset).padStart(20, "0")}-${String(epoch).padStart(10, "0")}.checkpoint`;

/**
 * R92: the bootstrap checkpoint `kraft format` writes for kraft.version 1 (Kafka's 0-0 checkpoint):
 * the kraft.version and the bootstrap voter set. It replaces no records, so it is not one of the log's
 * snapshots: retention and downloads leave it alone.
 */
export const BOOTSTRAP_CHECKPOINT = snapshotName(0, 0);

/** A snapshot read back: its records, and when the last record it replaces was appended. */
export interface LoadedSnapshot {
  readonly records: readonly MetadataRecord[];
  readonly lastContainedLogTimestampMs: number;
  /** R91: the kraft.version and voter set in force at its end, when it holds them. */
  readonly voters?: SnapshotVoters;
}

export class SnapshotStore {
  readonly dir: string;
  private readonly disk: Disk;
  /** Complete snapshots, oldest first. */
  private snapshots: SnapshotInfo[] = [];
  /** The bytes of the snapshot served last (FetchSnapshot asks for one part after another). */
  private cached: { readonly endOffset: number; readonly epoch: number; readonly bytes: Buffer } | null =
    null;
  /** The download in progress (R83): its id and how many bytes its `.part` file holds. */
  private download: { readonly endOffset: number; readonly epoch: number; size: number } | null = null;

  /** Scan `dir`: complete snapshots are kept; partial files (downloads, unfinished writes) deleted. */
  constructor(dir: string, disk: Disk) {
    this.dir = dir;
    this.disk = disk;
    let removed = false;
    for (const name of disk.list(dir)) {
      if (PARTIAL_NAME.test(name)) {
        disk.remove(join(dir, name));
        removed = true;
        continue;
      }
      const m = SNAPSHOT_NAME.exec(name);
      if (m === null || name === BOOTSTRAP_CHECKPOINT) continue;
      const size = disk.readFile(join(dir, name)).length;
      this.snapshots.push({ endOffset: Number(m[1]), epoch: Number(m[2]), size });
    }
    if (removed) disk.syncDirectory(dir);
    this.snapshots.sort((a, b) => a.endOffset - b.endOffset);
  }

  list(): readonly SnapshotInfo[] {
    return this.snapshots;
  }

  latest(): SnapshotInfo | undefined {
    return this.snapshots.at(-1);
  }

  private path(endOffset: number, epoch: number): string {
    return join(this.dir, snapshotName(endOffset, epoch));
  }

  /** R77: write a snapshot whole: to a `.part` file, fsync, rename, fsync the directory. */
  write(endOffset: number, epoch: number, bytes: Uint8Array): void {
    const path = this.path(endOffset, epoch);
    // Kafka's name for a snapshot not yet whole: `.part`, deleted at the next start if a crash left it.
    atomicWrite(path, bytes, this.disk, `${path}.part`);
    this.snapshots = [
      ...this.snapshots.filter((s) => s.endOffset !== endOffset),
      { endOffset, epoch, size: bytes.length },
    ].sort((a, b) => a.endOffset - b.endOffset);
  }

  /** Encode and write a snapshot of `records` (R78); its size in bytes. */
  writeRecords(
    endOffset: number,
    epoch: number,
    records: readonly MetadataRecord[],
    lastContainedLogTimestampMs: number,
    nowMs: number,
    voters?: SnapshotVoters,
  ): number {
    const bytes = encodeSnapshot(epoch, records, lastContainedLogTimestampMs, nowMs, voters);
    this.write(endOffset, epoch, bytes);
    return bytes.length;
  }

  /** A snapshot's bytes (the last one asked for stays in memory for the next part). */
  bytes(endOffset: number, epoch: number): Buffer {
    const c = this.cached;
    if (c !== null && c.endOffset === endOffset && c.epoch === epoch) return c.bytes;
    const bytes = this.disk.readFile(this.path(endOffset, epoch));
    this.cached = { endOffset, epoch, bytes };
    return bytes;
  }

  /** The bytes [position, position + length) of a snapshot, as a FetchSnapshot answer carries them. */
  slice(endOffset: number, epoch: number, position: number, length: number): Uint8Array {
    return this.bytes(endOffset, epoch).subarray(position, position + length);
  }

  /** R84: a snapshot's records, checked (CRC, header and footer, types this version reads). */
  read(endOffset: number, epoch: number): LoadedSnapshot {
    const name = snapshotName(endOffset, epoch);
    let content: ReturnType<typeof decodeSnapshot>;
    try {
      content = decodeSnapshot(this.bytes(endOffset, epoch));
    } catch (error) {
      if (!(error instanceof KafkaDecodeError)) throw error;
      throw new StorageError(
        `snapshot ${name} in ${this.dir} cannot be read (${error.message}); delete it and restart so that this node fetches a snapshot from the leader`,
      );
    }
    if (content.unmodelled.size > 0)
      throw new StorageError(
        `snapshot ${name} holds record types this version does not model (${[...content.unmodelled.keys()].join(", ")}); refusing to load it rather than lose them`,
      );
    return {
      records: content.records,
      lastContainedLogTimestampMs: content.lastContainedLogTimestampMs,
      ...(content.voters === undefined ? {} : { voters: content.voters }),
    };
  }

  /** R92: what the bootstrap checkpoint holds; undefined when there is none (kraft.version 0). */
  readBootstrap(): SnapshotVoters | undefined {
    // Written once at format time: read once per process.
    if (this.bootstrap === null) this.bootstrap = { voters: this.readBootstrapFile() };
    return this.bootstrap.voters;
  }

  private bootstrap: { readonly voters: SnapshotVoters | undefined } | null = null;

  private readBootstrapFile(): SnapshotVoters | undefined {
    const path = join(this.dir, BOOTSTRAP_CHECKPOINT);
    if (!this.disk.exists(path)) return undefined;
    let content: ReturnType<typeof decodeSnapshot>;
    try {
      content = decodeSnapshot(this.disk.readFile(path));
    } catch (error) {
      if (!(error instanceof KafkaDecodeError)) throw error;
      throw new StorageError(
        `the bootstrap checkpoint ${path} cannot be read (${error.message}); format this node's directory again`,
      );
    }
    if (content.voters === undefined || content.records.length > 0)
      throw new StorageError(
        `the bootstrap checkpoint ${path} holds no kraft.version or holds metadata records; format this node's directory again`,
      );
    return content.voters;
  }

  /** R92: write the bootstrap checkpoint (at format time) whole, as a snapshot is written. */
  writeBootstrap(voters: SnapshotVoters, nowMs: number): void {
    const path = join(this.dir, BOOTSTRAP_CHECKPOINT);
    atomicWrite(path, encodeSnapshot(0, [], 0, nowMs, voters), this.disk, `${path}.part`);
    this.bootstrap = null;
  }

  /** R79: delete every snapshot that ends below `offset` (the new log start). */
  deleteBefore(offset: number): void {
    const old = this.snapshots.filter((s) => s.endOffset < offset);
    if (old.length === 0) return;
    for (const s of old) this.disk.remove(this.path(s.endOffset, s.epoch));
    this.disk.syncDirectory(this.dir);
    this.snapshots = this.snapshots.filter((s) => s.endOffset >= offset);
    if (this.cached !== null && this.cached.endOffset < offset) this.cached = null;
  }

  /**
   * R83: write a downloaded part at `position` of snapshot `endOffset`-`epoch`; position 0 starts the
   * download afresh. A part that does not continue the download is a StorageError (the spec checks
   * positions first, so this is a bug).
   */
  writeChunk(endOffset: number, epoch: number, position: number, bytes: Uint8Array): void {
    const partial = `${this.path(endOffset, epoch)}.part`;
    const d = this.download;
    if (position === 0) {
      if (d !== null) this.disk.remove(`${this.path(d.endOffset, d.epoch)}.part`);
      this.download = { endOffset, epoch, size: 0 };
    } else if (d === null || d.endOffset !== endOffset || d.epoch !== epoch || d.size !== position) {
      throw new StorageError(
        `a part of snapshot ${snapshotName(endOffset, epoch)} at byte ${position} does not continue the download (${d === null ? "none" : `${snapshotName(d.endOffset, d.epoch)} holds ${d.size} bytes`})`,
      );
    }
    const fd = this.disk.open(partial, position === 0 ? "w" : "a");
    try {
      this.disk.write(fd, bytes);
    } finally {
      this.disk.close(fd);
    }
    this.download!.size += bytes.length;
  }

  /**
   * R91: the voter set a download holds once `last`, its final part at `position`, is added; undefined
   * when the parts do not continue the download or the whole cannot be read (installing it then fails
   * with what is wrong).
   */
  downloadedVoters(
    endOffset: number,
    epoch: number,
    position: number,
    last: Uint8Array,
  ): SnapshotVoters | undefined {
    const d = this.download;
    const partial = `${this.path(endOffset, epoch)}.part`;
    const held =
      position === 0
        ? new Uint8Array(0)
        : d?.endOffset === endOffset && d.epoch === epoch && d.size === position
          ? this.disk.readFile(partial)
          : undefined;
    if (held === undefined) return undefined;
    try {
      return decodeSnapshot(Buffer.concat([held, last])).voters;
    } catch (error) {
      if (error instanceof KafkaDecodeError) return undefined;
      throw error;
    }
  }

  /**
   * R83: the download is whole: make it durable under its name, and forget every other snapshot
   * (the log is truncated fully to this one).
   */
  install(endOffset: number, epoch: number): void {
    const d = this.download;
    if (d === null || d.endOffset !== endOffset || d.epoch !== epoch)
      throw new StorageError(`snapshot ${snapshotName(endOffset, epoch)} was never downloaded`);
    const path = this.path(endOffset, epoch);
    const fd = this.disk.open(`${path}.part`, "r+");
    try {
      this.disk.fsync(fd);
    } finally {
      this.disk.close(fd);
    }
    this.disk.rename(`${path}.part`, path);
    for (const s of this.snapshots)
      if (s.endOffset !== endOffset || s.epoch !== epoch) this.disk.remove(this.path(s.endOffset, s.epoch));
    this.disk.syncDirectory(this.dir);
    this.snapshots = [{ endOffset, epoch, size: d.size }];
    this.download = null;
    this.cached = null;
  }
}
