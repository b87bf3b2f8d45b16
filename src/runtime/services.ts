// The IO a node driver uses, as services: a clock with timers, a source of randomness, a disk, a
// network and a log. The node is assembled from them (src/runtime/layers.ts provides them as Effect
// Layers), with one live implementation each (this file: Node's timers, crypto and fs) and one
// simulated (src/runtime/sim/). The per-message hot path calls the resolved services directly.
import {
  closeSync,
  existsSync,
  fdatasync,
  fdatasyncSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from "node:fs";
import type { Outgoing } from "./codec.ts";
import type { Listener, TransportLimits } from "./config.ts";
import type { Log } from "./log.ts";

/** A cancel function for a timer or a deferred call. */
export type Cancel = () => void;

export interface Clock {
  /** Wall-clock milliseconds (timestamps in answers and logs). */
  now(): number;
  /** Run `fn` after `ms` milliseconds. */
  after(ms: number, fn: () => void): Cancel;
  /** Run `fn` once the events already waiting have been handled (setImmediate). */
  defer(fn: () => void): Cancel;
}

export interface Entropy {
  /** A uniform float in [0, 1). */
  next(): number;
  /** `n` random bytes. */
  bytes(n: number): Uint8Array;
}

/** How a file is opened: read, read-write, append, create-or-truncate, create exclusively. */
export type OpenMode = "r" | "r+" | "a" | "w" | "wx";

/**
 * The file system as a node uses it: whole-file reads, appends, fsync, truncation, atomic renames and
 * directory syncs. Errors carry Node's codes (ENOENT, EEXIST, ENOSPC, EIO).
 */
export interface Disk {
  exists(path: string): boolean;
  mkdirp(dir: string): void;
  list(dir: string): string[];
  readFile(path: string): Buffer;
  open(path: string, mode: OpenMode): number;
  write(fd: number, data: Uint8Array | string): void;
  /** Data and metadata durable. */
  fsync(fd: number): void;
  /** Data (and the size) durable. */
  fdatasync(fd: number): void;
  /** fdatasync off the event loop; `done` runs on it once the data is durable or the sync failed. */
  fdatasyncAsync(fd: number, done: (error: Error | null) => void): void;
  truncate(fd: number, size: number): void;
  close(fd: number): void;
  rename(from: string, to: string): void;
  /** Remove a file if it exists. */
  remove(path: string): void;
  /** Make the names created, renamed or removed in `dir` durable. */
  syncDirectory(dir: string): void;
  /** Take the data directory's lock for this process; the release function gives it back. */
  lock(dir: string): Cancel;
}

/**
 * Connection.peer of a connection this node did not dial to a peer (one that came in, a client's): not
 * a node id, nor a bootstrap server's (-2, -3, …).
 */
export const NO_PEER = -1;

/** A connection between this node and another party, either way round. */
export interface Connection {
  readonly id: number;
  /** The listener it came in on, or "outbound" for connections this node opened. */
  readonly listener: string;
  /** The peer node at the other end of an outbound connection, else NO_PEER. */
  readonly peer: number;
  readonly remote: string;
  /** Send a frame whose body is Kafka's binary protocol (a header, then the message). */
  sendBytes(body: Uint8Array): boolean;
  close(): void;
}

export interface TransportHandlers {
  /** A request on a listener (src/kafka/server.ts): a client's, or a peer node's. */
  readonly onKafkaRequest: (connection: Connection, body: Buffer) => void;
  /** A Kafka response on a connection this node opened: the answer to a KRaft request it sent. */
  readonly onKafkaResponse: (connection: Connection, body: Buffer) => void;
  /** A connection closed (either direction); requests in flight on it will never be answered. */
  readonly onClose: (connection: Connection) => void;
  /**
   * Frames queued for a peer while its connection was being made, when the dial failed: they never
   * left, so their requests fail now rather than at their timeout.
   */
  readonly onUndelivered: (peer: number, frames: readonly Outgoing[]) => void;
}

/** What the metrics endpoint reports of a transport. */
export interface TransportCounters {
  readonly bytesIn: { value: number };
  readonly bytesOut: { value: number };
  readonly malformedFrames: { value: number };
  readonly refusedConnections: { value: number };
  readonly idleClosed: { value: number };
  readonly held: { value: number };
}

/** One node's listeners and its connections to the other nodes. */
export interface NodeTransport extends TransportCounters {
  listen(listener: Listener): Promise<void>;
  addPeer(id: number, host: string, port: number): void;
  dialAll(): void;
  /** Stop (or resume) reading the connections that came in on `listener` (queued.max.requests). */
  pauseReading(listener: string, paused: boolean): void;
  /** Send to a peer node; false when it cannot be sent (unknown peer, full wait queue). */
  sendTo(id: number, frame: Outgoing): boolean;
  close(): Promise<void>;
}

export interface Network {
  transport(handlers: TransportHandlers, log: Log, limits: TransportLimits): NodeTransport;
}

/** Everything a node driver needs from the world. */
export interface NodeServices {
  readonly clock: Clock;
  readonly entropy: Entropy;
  readonly disk: Disk;
  readonly network: Network;
  readonly log: Log;
  /** Whether this runtime may open an HTTP metrics port and a trace file (not in the simulator). */
  readonly processLocal: boolean;
}

// ---- live implementations ------------------------------------------------------------------------

export const liveClock: Clock = {
  now: () => Date.now(),
  after: (ms, fn) => {
    const timer = setTimeout(fn, ms);
    return () => clearTimeout(timer);
  },
  defer: (fn) => {
    const immediate = setImmediate(fn);
    return () => clearImmediate(immediate);
  },
};

export const liveEntropy: Entropy = {
  next: () => Math.random(),
  bytes: (n) => crypto.getRandomValues(new Uint8Array(n)),
};

/** The lock is taken by storage.ts (lockDirectory), which this live disk defers to. */
export const makeLiveDisk = (lock: (dir: string) => Cancel): Disk => ({
  exists: (path) => existsSync(path),
  mkdirp: (dir) => {
    mkdirSync(dir, { recursive: true });
  },
  list: (dir) => readdirSync(dir),
  readFile: (path) => readFileSync(path),
  open: (path, mode) => openSync(path, mode),
  write: (fd, data) => {
    // writeSync may write less than asked (a full disk raises instead); loop until all is written.
    const bytes = typeof data === "string" ? Buffer.from(data) : data;
    let written = 0;
    while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written);
  },
  fsync: (fd) => fsyncSync(fd),
  fdatasync: (fd) => fdatasyncSync(fd),
  fdatasyncAsync: (fd, done) => fdatasync(fd, (error) => done(error)),
  truncate: (fd, size) => ftruncateSync(fd, size),
  close: (fd) => closeSync(fd),
  rename: (from, to) => renameSync(from, to),
  remove: (path) => rmSync(path, { force: true }),
  syncDirectory: (dir) => {
    const fd = openSync(dir, "r");
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  },
  lock,
});
