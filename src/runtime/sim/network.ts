// A simulated network with TCP's guarantees and its failure modes: each connection delivers its frames
// in order after a random latency (so frames on different connections reorder); a partition drops
// what crosses it silently until it heals, after which the connections that lost frames are reset; a
// crashed node's connections close; a dial to an address nobody listens on, or across a partition,
// fails. Frames travel as the bytes the live transport sends: Kafka's protocol, between nodes and from
// the simulator's admin clients.
import type { Random } from "../../checker/random.ts";
import type { Outgoing } from "../codec.ts";
import type { Listener, TransportLimits } from "../config.ts";
import type { Log } from "../log.ts";
import { type DialEvents, type PeerAddress, Peers } from "../peers.ts";
import {
  type Connection,
  type Network,
  NO_PEER,
  type NodeTransport,
  type TransportHandlers,
} from "../services.ts";
import type { Scheduler } from "./scheduler.ts";

/** One end of a simulated connection. */
interface End {
  readonly owner: SimTransport | SimClientEndpoint;
  readonly connection: Connection;
  /** The time the last frame sent from this end arrives (FIFO per direction). */
  lastArrival: number;
}

interface Link {
  readonly a: End;
  readonly b: End;
  closed: boolean;
  /** A frame crossed a partition and was lost: the connection is reset when the partition heals. */
  broken: boolean;
}

/** Whoever can own a connection end: a node's transport or a test client. */
interface Endpoint {
  readonly node: number;
  alive(): boolean;
  deliver(connection: Connection, body: Buffer): void;
  closed(connection: Connection): void;
}

export class SimNetwork {
  private readonly listeners = new Map<string, { transport: SimTransport; listener: string }>();
  private readonly links = new Set<Link>();
  /** Pairs of nodes that cannot reach each other, as "a|b" with a < b. */
  private readonly cut = new Set<string>();
  private nextConnectionId = 1;
  readonly stats = { frames: 0, dropped: 0, resets: 0, dialsRefused: 0 };

  readonly scheduler: Scheduler;
  private readonly random: Random;
  /** Latency of one frame: at least min, at most max milliseconds. */
  private readonly latency: { readonly min: number; readonly max: number };

  constructor(scheduler: Scheduler, random: Random, latency = { min: 1, max: 10 }) {
    this.scheduler = scheduler;
    this.random = random;
    this.latency = latency;
  }

  private delay(): number {
    return this.latency.min + this.random.below(this.latency.max - this.latency.min + 1);
  }

  reachable(a: number, b: number): boolean {
    return a === b || !this.cut.has(a < b ? `${a}|${b}` : `${b}|${a}`);
  }

  /** Cut `node` off from every node in `others`. */
  partition(node: number, others: readonly number[]): void {
    for (const other of others)
      if (other !== node) this.cut.add(node < other ? `${node}|${other}` : `${other}|${node}`);
  }

  /** Heal every partition; connections that lost frames to one are reset, as TCP would in time. */
  heal(): void {
    this.cut.clear();
    for (const link of [...this.links]) if (link.broken) this.reset(link);
  }

  /** Reset one open connection at random (a middlebox drops it, say). */
  resetRandomConnection(): boolean {
    const open = [...this.links].filter((l) => !l.closed);
    const link = open[this.random.below(open.length)];
    if (link === undefined) return false;
    this.reset(link);
    return true;
  }

  private reset(link: Link): void {
    if (link.closed) return;
    this.stats.resets++;
    this.close(link, 0);
  }

  private close(link: Link, atEnd: 0 | 1): void {
    if (link.closed) return;
    link.closed = true;
    this.links.delete(link);
    const [near, far] = atEnd === 0 ? [link.a, link.b] : [link.b, link.a];
    this.scheduler.after(0, () => endpoint(near).closed(near.connection));
    this.scheduler.after(this.delay(), () => endpoint(far).closed(far.connection));
  }

  /** A node crashed: its listeners go, and so do its connections (the other ends see them close). */
  crashed(transport: SimTransport): void {
    for (const [address, entry] of this.listeners)
      if (entry.transport === transport) this.listeners.delete(address);
    for (const link of [...this.links]) {
      if (link.a.owner === transport || link.b.owner === transport) {
        link.closed = true;
        this.links.delete(link);
        const far = link.a.owner === transport ? link.b : link.a;
        this.scheduler.after(this.delay(), () => endpoint(far).closed(far.connection));
      }
    }
  }

  bind(address: string, transport: SimTransport, listener: string): void {
    const held = this.listeners.get(address);
    // A dead process's ports are free again, as the OS frees them.
    if (held !== undefined && held.transport !== transport && held.transport.alive())
      throw new Error(
        `listener ${listener}://${address}: the port is in use (another node with this address?)`,
      );
    this.listeners.set(address, { transport, listener });
  }

  unbind(transport: SimTransport): void {
    for (const [address, entry] of this.listeners)
      if (entry.transport === transport) this.listeners.delete(address);
  }

  /**
   * Dial `address` from `from`: after a latency, `done` gets the dialler's connection, or null when
   * nobody listens there or a partition is in the way.
   */
  dial(
    from: Endpoint & (SimTransport | SimClientEndpoint),
    address: string,
    peer: number,
    done: (c: Connection | null) => void,
  ): void {
    this.scheduler.after(this.delay(), () => {
      if (!from.alive()) return;
      const target = this.listeners.get(address);
      if (
        target === undefined ||
        !target.transport.alive() ||
        !this.reachable(from.node, target.transport.node)
      ) {
        this.stats.dialsRefused++;
        done(null);
        return;
      }
      const link: Link = { a: undefined as never, b: undefined as never, closed: false, broken: false };
      const a = this.end(link, from, "outbound", peer, address);
      const b = this.end(link, target.transport, target.listener, NO_PEER, `node${from.node}`);
      (link as { a: End }).a = a;
      (link as { b: End }).b = b;
      this.links.add(link);
      target.transport.accepted(b.connection);
      done(a.connection);
    });
  }

  private end(
    link: Link,
    owner: SimTransport | SimClientEndpoint,
    listener: string,
    peer: number,
    remote: string,
  ): End {
    const id = this.nextConnectionId++;
    const self: End = {
      owner,
      lastArrival: 0,
      connection: {
        id,
        listener,
        peer,
        remote,
        sendBytes: (bytes) => {
          if (link.closed || !owner.alive()) return false;
          // A copy: the sender may reuse its buffer, and the far end reads what was sent then.
          const body = Buffer.from(bytes);
          const far = link.a === self ? link.b : link.a;
          this.stats.frames++;
          if (owner instanceof SimTransport) owner.bytesOut.value += body.length;
          if (!this.reachable(owner.node, far.owner.node)) {
            this.stats.dropped++;
            link.broken = true;
            return true;
          }
          const arrival = Math.max(this.scheduler.now + this.delay(), self.lastArrival);
          self.lastArrival = arrival;
          this.scheduler.at(arrival, () => {
            if (link.closed || !far.owner.alive()) return;
            if (far.owner instanceof SimTransport) far.owner.bytesIn.value += body.length;
            far.owner.deliver(far.connection, body);
          });
          return true;
        },
        close: () => this.close(link, link.a === self ? 0 : 1),
      },
    };
    return self;
  }
}

const endpoint = (end: End): Endpoint => end.owner;

/** One node's transport on the simulated network: the live transport's contract, with its backoff. */
export class SimTransport implements NodeTransport, Endpoint {
  readonly bytesIn = { value: 0 };
  readonly bytesOut = { value: 0 };
  readonly malformedFrames = { value: 0 };
  readonly refusedConnections = { value: 0 };
  readonly idleClosed = { value: 0 };
  readonly held = { value: 0 };
  private readonly peers: Peers;
  private readonly open = new Set<Connection>();
  /** What to tell the peer table when a connection this node dialled is lost. */
  private readonly dialled = new Map<Connection, () => void>();
  private closedDown = false;
  private readonly pausedListeners = new Set<string>();
  /** Frames read from connections that came in (the simulator's tests count them). */
  framesReadInbound = 0;
  /** Frames that arrived on a paused listener's connections, delivered in order once it resumes. */
  private heldFrames: { readonly connection: Connection; readonly body: Buffer }[] = [];

  private readonly network: SimNetwork;
  readonly node: number;
  private readonly handlers: TransportHandlers;
  private readonly isAlive: () => boolean;

  constructor(
    network: SimNetwork,
    node: number,
    handlers: TransportHandlers,
    log: Log,
    isAlive: () => boolean,
  ) {
    this.network = network;
    this.node = node;
    this.handlers = handlers;
    this.isAlive = isAlive;
    const scheduler = network.scheduler;
    this.peers = new Peers(
      scheduler.clockFor(() => true),
      log,
      (peer, events) => this.dial(peer, events),
      handlers.onUndelivered,
      () => this.alive(),
    );
  }

  alive(): boolean {
    return this.isAlive() && !this.closedDown;
  }

  deliver(connection: Connection, body: Buffer): void {
    if (!this.open.has(connection)) return;
    if (this.pausedListeners.has(connection.listener)) this.heldFrames.push({ connection, body });
    else {
      if (connection.listener !== "outbound") this.framesReadInbound++;
      if (connection.listener === "outbound") this.handlers.onKafkaResponse(connection, body);
      else this.handlers.onKafkaRequest(connection, body);
    }
  }

  pauseReading(listener: string, paused: boolean): void {
    if (paused) {
      this.pausedListeners.add(listener);
      return;
    }
    this.pausedListeners.delete(listener);
    const resumed = this.heldFrames.filter((h) => h.connection.listener === listener);
    this.heldFrames = this.heldFrames.filter((h) => h.connection.listener !== listener);
    this.network.scheduler.after(0, () => {
      for (const { connection, body } of resumed) this.deliver(connection, body);
    });
  }

  closed(connection: Connection): void {
    if (!this.open.delete(connection)) return;
    const lost = this.dialled.get(connection);
    this.dialled.delete(connection);
    lost?.();
    if (this.isAlive()) this.handlers.onClose(connection);
  }

  accepted(connection: Connection): void {
    this.open.add(connection);
  }

  listen(listener: Listener): Promise<void> {
    // A node that crashed while it was starting binds nothing (its process is gone).
    if (!this.alive()) return Promise.reject(new Error(`listener ${listener.name}: the node is down`));
    try {
      this.network.bind(`${listener.host}:${listener.port}`, this, listener.name);
    } catch (error) {
      return Promise.reject(error);
    }
    return Promise.resolve();
  }

  addPeer(id: number, host: string, port: number): void {
    this.peers.add(id, host, port);
  }

  /** Dial a peer on the simulated network; what happens is reported to the peer table. */
  private dial(peer: PeerAddress, events: DialEvents): void {
    // The network answers only while this node is alive.
    this.network.dial(this, `${peer.host}:${peer.port}`, peer.id, (connection) => {
      if (connection === null) {
        events.failed("refused");
        return;
      }
      this.open.add(connection);
      this.dialled.set(connection, () => events.lost());
      events.connected(connection);
    });
  }

  sendTo(id: number, frame: Outgoing): boolean {
    return this.peers.sendTo(id, frame);
  }

  dialAll(): void {
    this.peers.connectAll();
  }

  close(): Promise<void> {
    for (const connection of [...this.open]) connection.close();
    this.peers.close();
    this.closedDown = true;
    this.network.unbind(this);
    return Promise.resolve();
  }
}

/** The simulated network as the Network service, for one node whose liveness `alive` reports. */
export const simNetwork = (
  network: SimNetwork,
  node: number,
  alive: () => boolean,
): Network & { last: SimTransport | null } => {
  const service = {
    last: null as SimTransport | null,
    transport: (handlers: TransportHandlers, log: Log, _limits: TransportLimits): NodeTransport => {
      const transport = new SimTransport(network, node, handlers, log, alive);
      service.last = transport;
      return transport;
    },
  };
  return service;
};

/**
 * A client of the cluster (an admin tool) on the simulated network: one connection, requests in
 * Kafka's protocol, answers matched by their correlation id.
 */
export class SimClientEndpoint implements Endpoint {
  readonly node: number;
  private connection: Connection | null = null;
  private readonly waiting = new Map<number, (body: Buffer | null) => void>();

  private readonly network: SimNetwork;

  constructor(network: SimNetwork, node: number) {
    this.network = network;
    this.node = node;
  }

  alive(): boolean {
    return true;
  }

  deliver(_connection: Connection, body: Buffer): void {
    if (body.length < 4) return;
    const correlationId = body.readInt32BE(0);
    const done = this.waiting.get(correlationId);
    this.waiting.delete(correlationId);
    done?.(body);
  }

  closed(connection: Connection): void {
    if (this.connection === connection) this.connection = null;
    for (const done of this.waiting.values()) done(null);
    this.waiting.clear();
  }

  /**
   * Send one request frame body to `address` under `correlationId`; `done` gets the answer's frame
   * body, or null if the connection failed.
   */
  request(
    address: string,
    correlationId: number,
    body: Uint8Array,
    done: (answer: Buffer | null) => void,
  ): void {
    const send = (connection: Connection) => {
      this.waiting.set(correlationId, done);
      if (!connection.sendBytes(body)) {
        this.waiting.delete(correlationId);
        done(null);
      }
    };
    if (this.connection !== null) {
      send(this.connection);
      return;
    }
    this.network.dial(this, address, NO_PEER, (connection) => {
      if (connection === null) {
        done(null);
        return;
      }
      this.connection = connection;
      send(connection);
    });
  }

  /** Forget an answer that is no longer waited for (the request timed out). */
  abandon(correlationId: number): void {
    this.waiting.delete(correlationId);
  }

  disconnect(): void {
    this.connection?.close();
    this.connection = null;
  }
}
