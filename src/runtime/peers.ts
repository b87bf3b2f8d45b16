// A node's connections to the other nodes, whatever carries them (TCP, or the simulator's network):
// one connection per peer, dialled on first use and redialled with backoff when lost or refused;
// frames sent meanwhile wait (a bounded number) and fail at once when the dial fails. A failing peer
// is logged at the first failure and then every DIAL_FAILURE_LOG_MS, its recovery once.
import type { Outgoing } from "./codec.ts";
import type { Log } from "./log.ts";
import type { Cancel, Clock, Connection } from "./services.ts";

/** Redial a lost peer after this long, doubling up to the maximum. */
export const DIAL_BACKOFF = { initialMs: 50, maxMs: 1000 } as const;
/** Frames that may wait for a peer's connection to be made. */
export const MAX_PENDING_FRAMES = 1000;
/** While a peer cannot be reached, the failure is logged at first and then this often. */
const DIAL_FAILURE_LOG_MS = 30_000;

export interface PeerAddress {
  readonly id: number;
  readonly host: string;
  readonly port: number;
}

/** What a dial reports: connected, failed before connecting (with why), or lost once connected. */
export interface DialEvents {
  connected(connection: Connection): void;
  failed(error: string): void;
  lost(): void;
}

/** Open a connection to a peer; the transport reports what happens through `events`. */
export type Dial = (peer: PeerAddress, events: DialEvents) => void;

interface Peer extends PeerAddress {
  connection: Connection | null;
  connecting: boolean;
  /** Frames sent while the connection was being made; written once it is up. */
  pending: Outgoing[];
  backoffMs: number;
  retry: Cancel | null;
  /** Dials that failed in a row, and when that was last logged. */
  failedDials: number;
  failureLoggedAt: number;
  /** Connections that ended, and when that was last logged. */
  lostConnections: number;
  lossLoggedAt: number;
}

/** A warning that repeats is said the first time and then at most every DIAL_FAILURE_LOG_MS. */
const logDue = (count: number, loggedAt: number, now: number): boolean =>
  count === 1 || now - loggedAt >= DIAL_FAILURE_LOG_MS;

const write = (connection: Connection, frame: Outgoing): boolean => connection.sendBytes(frame.body);

export class Peers {
  private readonly peers = new Map<number, Peer>();
  private readonly clock: Clock;
  private readonly log: Log;
  private readonly dial: Dial;
  /** Frames that never left because their peer's dial failed (their requests fail now). */
  private readonly onUndelivered: (peer: number, frames: readonly Outgoing[]) => void;
  /** Whether the transport still runs (not closed, its node not crashed). */
  private readonly active: () => boolean;

  constructor(
    clock: Clock,
    log: Log,
    dial: Dial,
    onUndelivered: (peer: number, frames: readonly Outgoing[]) => void,
    active: () => boolean,
  ) {
    this.clock = clock;
    this.log = log;
    this.dial = dial;
    this.onUndelivered = onUndelivered;
    this.active = active;
  }

  /**
   * Know a peer by its address. A known peer at a new address (a controller replaced elsewhere, KIP-853)
   * is dialled there from now on; its old connection is closed.
   */
  add(id: number, host: string, port: number): void {
    const known = this.peers.get(id);
    if (known !== undefined && known.host === host && known.port === port) return;
    if (known !== undefined) {
      this.log.info("a peer's address changed", {
        peer: id,
        from: `${known.host}:${known.port}`,
        to: `${host}:${port}`,
      });
      known.retry?.();
      known.retry = null;
      known.connection?.close();
    }
    this.peers.set(id, {
      id,
      host,
      port,
      connection: null,
      connecting: false,
      pending: [],
      backoffMs: DIAL_BACKOFF.initialMs,
      retry: null,
      failedDials: 0,
      failureLoggedAt: 0,
      lostConnections: 0,
      lossLoggedAt: 0,
    });
  }

  private connect(peer: Peer): void {
    // A peer replaced by add() (its address changed) is never dialled again.
    if (!this.active() || peer.connecting || peer.connection !== null || this.peers.get(peer.id) !== peer)
      return;
    peer.connecting = true;
    this.dial(peer, {
      connected: (connection) => {
        peer.connecting = false;
        if (this.peers.get(peer.id) !== peer) {
          connection.close();
          return;
        }
        peer.connection = connection;
        peer.backoffMs = DIAL_BACKOFF.initialMs;
        if (peer.failedDials > 0)
          this.log.info("reached a peer again", { peer: peer.id, failedDials: peer.failedDials });
        peer.failedDials = 0;
        for (const frame of peer.pending.splice(0)) write(connection, frame);
      },
      failed: (error) => {
        peer.connecting = false;
        if (!this.active()) return;
        peer.failedDials++;
        const now = this.clock.now();
        if (logDue(peer.failedDials, peer.failureLoggedAt, now)) {
          peer.failureLoggedAt = now;
          this.log.warn("cannot reach a peer; retrying with backoff", {
            peer: peer.id,
            address: `${peer.host}:${peer.port}`,
            error,
            failedDials: peer.failedDials,
          });
        }
        const undelivered = peer.pending.splice(0);
        this.redialLater(peer);
        if (undelivered.length > 0) this.onUndelivered(peer.id, undelivered);
      },
      lost: () => {
        peer.connection = null;
        // Said at the first loss and then now and then: a peer that closes every connection (an
        // address that is not a controller listener, say) would otherwise fail requests unexplained.
        peer.lostConnections++;
        const now = this.clock.now();
        if (
          this.active() &&
          this.peers.get(peer.id) === peer &&
          logDue(peer.lostConnections, peer.lossLoggedAt, now)
        ) {
          peer.lossLoggedAt = now;
          this.log.warn("the connection to a peer was closed; redialling", {
            peer: peer.id,
            address: `${peer.host}:${peer.port}`,
            lostConnections: peer.lostConnections,
          });
        }
        this.redialLater(peer);
      },
    });
  }

  private redialLater(peer: Peer): void {
    if (!this.active() || peer.retry !== null || this.peers.get(peer.id) !== peer) return;
    peer.retry = this.clock.after(peer.backoffMs, () => {
      peer.retry = null;
      this.connect(peer);
    });
    peer.backoffMs = Math.min(peer.backoffMs * 2, DIAL_BACKOFF.maxMs);
  }

  /**
   * Send to a peer node. Without a connection the frame waits (up to MAX_PENDING_FRAMES of them)
   * while one is made, or, when the last dial failed, until the redial its backoff allows: a frame
   * never dials a peer early, or a request failed at the refused dial and resent at once (R45, R72,
   * R75) would dial again at once, in a loop. False when the peer is unknown or the wait queue is full.
   */
  sendTo(id: number, frame: Outgoing): boolean {
    const peer = this.peers.get(id);
    if (peer === undefined) return false;
    if (peer.connection === null) {
      if (peer.pending.length >= MAX_PENDING_FRAMES) return false;
      peer.pending.push(frame);
      if (peer.retry === null) this.connect(peer);
      return true;
    }
    return write(peer.connection, frame);
  }

  /** Open connections to every peer now, so the first messages need not wait for a dial. */
  connectAll(): void {
    for (const peer of this.peers.values()) this.connect(peer);
  }

  /** Stop redialling and close every peer connection. */
  close(): void {
    for (const peer of this.peers.values()) {
      peer.retry?.();
      peer.retry = null;
      peer.connection?.close();
    }
  }
}
