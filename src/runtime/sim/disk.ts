// A simulated disk with the failure modes of a real one: writes live in the page cache until fsync;
// a new, renamed or removed name survives a crash only once its directory was synced; a crash keeps of
// each file what was synced plus any prefix of what was not (a torn last write, possibly zeros); fsync
// can fail; the disk can fill up. The real LogStore and QuorumStateStore run on it unchanged.
import type { Random } from "../../checker/random.ts";
import type { Disk, OpenMode } from "../services.ts";
import { StorageError } from "../storage.ts";

interface Inode {
  bytes: Uint8Array;
  length: number;
  /** What a crash keeps for sure. */
  durable: Uint8Array;
  /** Bumped by truncation: an fsync begun before it must not make the old content durable. */
  generation: number;
}

const fail = (code: string, what: string): Error => Object.assign(new Error(`${code}: ${what}`), { code });

const parentOf = (path: string): string => path.slice(0, Math.max(1, path.lastIndexOf("/")));

export interface DiskFaults {
  /** Writes that grow a file fail with ENOSPC. */
  full: boolean;
  /** The next this many fsyncs fail with EIO. */
  failingSyncs: number;
  /**
   * fsync reports success without making anything durable (a volatile write cache without barriers):
   * not a fault a node can survive, but the proof that the simulator's checks can fail.
   */
  liesAboutSync: boolean;
}

export class SimDisk implements Disk {
  private names = new Map<string, Inode>();
  private durableNames = new Map<string, Inode>();
  private readonly dirs = new Set<string>(["/"]);
  private readonly fds = new Map<number, Inode>();
  private nextFd = 3;
  private readonly locks = new Set<string>();
  readonly faults: DiskFaults = { full: false, failingSyncs: 0, liesAboutSync: false };
  /** Counters for the run's report. */
  readonly stats = { syncs: 0, failedSyncs: 0, fullWrites: 0, crashes: 0, tornFiles: 0 };
  /** How an asynchronous fsync completes later: the simulator's scheduler. */
  private readonly later: (ms: number, fn: () => void) => void;
  private readonly random: Random;

  constructor(random: Random, later: (ms: number, fn: () => void) => void) {
    this.random = random;
    this.later = later;
  }

  exists(path: string): boolean {
    return this.names.has(path) || this.dirs.has(path);
  }

  mkdirp(dir: string): void {
    let path = dir;
    while (path.length > 1) {
      this.dirs.add(path);
      path = parentOf(path);
    }
  }

  list(dir: string): string[] {
    if (!this.dirs.has(dir)) throw fail("ENOENT", dir);
    const prefix = dir.endsWith("/") ? dir : `${dir}/`;
    return [...this.names.keys()]
      .filter((p) => p.startsWith(prefix) && !p.slice(prefix.length).includes("/"))
      .map((p) => p.slice(prefix.length))
      .sort();
  }

  readFile(path: string): Buffer {
    const inode = this.names.get(path);
    if (inode === undefined) throw fail("ENOENT", path);
    return Buffer.from(inode.bytes.subarray(0, inode.length));
  }

  open(path: string, mode: OpenMode): number {
    let inode = this.names.get(path);
    if (this.dirs.has(path)) throw fail("EISDIR", path);
    if (mode === "wx" && inode !== undefined) throw fail("EEXIST", path);
    if (inode === undefined) {
      if (mode === "r" || mode === "r+") throw fail("ENOENT", path);
      if (!this.dirs.has(parentOf(path))) throw fail("ENOENT", path);
      inode = { bytes: new Uint8Array(256), length: 0, durable: new Uint8Array(0), generation: 0 };
      this.names.set(path, inode);
    } else if (mode === "w") {
      inode.length = 0;
      inode.generation++;
    }
    const fd = this.nextFd++;
    this.fds.set(fd, inode);
    return fd;
  }

  private inode(fd: number): Inode {
    const inode = this.fds.get(fd);
    if (inode === undefined) throw fail("EBADF", `fd ${fd}`);
    return inode;
  }

  write(fd: number, data: Uint8Array | string): void {
    const inode = this.inode(fd);
    const bytes = typeof data === "string" ? Buffer.from(data) : data;
    if (this.faults.full && bytes.length > 0) {
      this.stats.fullWrites++;
      throw fail("ENOSPC", "no space left on device");
    }
    if (inode.length + bytes.length > inode.bytes.length) {
      const grown = new Uint8Array(Math.max(inode.bytes.length * 2, inode.length + bytes.length));
      grown.set(inode.bytes.subarray(0, inode.length));
      inode.bytes = grown;
    }
    inode.bytes.set(bytes, inode.length);
    inode.length += bytes.length;
  }

  private sync(inode: Inode): void {
    this.stats.syncs++;
    if (this.faults.failingSyncs > 0) {
      this.faults.failingSyncs--;
      this.stats.failedSyncs++;
      throw fail("EIO", "i/o error on fsync");
    }
    if (!this.faults.liesAboutSync) inode.durable = inode.bytes.slice(0, inode.length);
  }

  fsync(fd: number): void {
    this.sync(this.inode(fd));
  }

  fdatasync(fd: number): void {
    this.sync(this.inode(fd));
  }

  fdatasyncAsync(fd: number, done: (error: Error | null) => void): void {
    const inode = this.fds.get(fd);
    if (inode === undefined) {
      this.later(0, () => done(fail("EBADF", `fd ${fd}`)));
      return;
    }
    // What was written when the sync began; it lands after a simulated device latency.
    const snapshot = inode.bytes.slice(0, inode.length);
    const generation = inode.generation;
    const failing = this.faults.failingSyncs > 0;
    if (failing) this.faults.failingSyncs--;
    this.stats.syncs++;
    // Usually a few milliseconds; now and then a slow device (a long sync widens every race).
    const latency = this.random.below(10) === 0 ? 20 + this.random.below(200) : 1 + this.random.below(8);
    this.later(latency, () => {
      if (failing) {
        this.stats.failedSyncs++;
        done(fail("EIO", "i/o error on fsync"));
        return;
      }
      // Same generation (no truncation since): the file only grew, so a longer durable copy is newer.
      if (
        inode.generation === generation &&
        snapshot.length > inode.durable.length &&
        !this.faults.liesAboutSync
      )
        inode.durable = snapshot;
      done(null);
    });
  }

  truncate(fd: number, size: number): void {
    const inode = this.inode(fd);
    if (size < inode.length) {
      inode.length = size;
      inode.generation++;
    }
  }

  close(fd: number): void {
    this.inode(fd);
    this.fds.delete(fd);
  }

  rename(from: string, to: string): void {
    const inode = this.names.get(from);
    if (inode === undefined) throw fail("ENOENT", from);
    this.names.delete(from);
    this.names.set(to, inode);
  }

  remove(path: string): void {
    this.names.delete(path);
  }

  syncDirectory(dir: string): void {
    if (!this.dirs.has(dir)) throw fail("ENOENT", dir);
    const inDir = (p: string) => parentOf(p) === dir;
    for (const path of [...this.durableNames.keys()]) if (inDir(path)) this.durableNames.delete(path);
    for (const [path, inode] of this.names) if (inDir(path)) this.durableNames.set(path, inode);
  }

  lock(dir: string): () => void {
    if (this.locks.has(dir))
      throw new StorageError(`${dir} is in use by another node of this simulation; stop it first`);
    this.locks.add(dir);
    return () => {
      this.locks.delete(dir);
    };
  }

  /**
   * The machine loses power: open files and locks go, each name is what its directory's last sync
   * made it, and each file keeps what was synced plus any prefix of the rest (torn, maybe zeroed).
   */
  crash(): void {
    this.stats.crashes++;
    this.fds.clear();
    this.locks.clear();
    const survivors = new Map<string, Inode>();
    const seen = new Set<Inode>();
    for (const [path, inode] of this.durableNames) {
      survivors.set(path, inode);
      if (seen.has(inode)) continue;
      seen.add(inode);
      const current = inode.bytes.subarray(0, inode.length);
      let kept = inode.durable;
      // Unsynced appends past the synced content: any prefix of them may have reached the platter.
      if (inode.length > kept.length && this.random.below(2) === 0) {
        const extra = this.random.below(inode.length - kept.length + 1);
        const torn = new Uint8Array(kept.length + extra);
        torn.set(kept);
        // Sometimes the file grew but the data never landed: zeros.
        if (this.random.below(4) !== 0)
          torn.set(current.subarray(kept.length, kept.length + extra), kept.length);
        kept = torn;
        if (extra > 0) this.stats.tornFiles++;
      }
      inode.bytes = kept.slice();
      inode.length = kept.length;
      inode.durable = kept.slice();
      inode.generation++;
    }
    this.names = survivors;
    this.durableNames = new Map(survivors);
    this.faults.full = false;
    this.faults.failingSyncs = 0;
  }
}
