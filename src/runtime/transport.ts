// TCP transport: listeners that accept framed connections, and one outbound connection per peer
// node with reconnect and backoff. A malformed frame closes its connection (the node keeps serving);
// the node driver tracks request timeouts and turns lost connections into failed requests.
import { connect, createServer, type Server, type Socket } from "node:net";
import { encodeFrame, FrameError, FrameReader, type Outgoing } from "./codec.ts";
import { DEFAULT_LIMITS, type Listener, type TransportLimits } from "./config.ts";
import type { Log } from "./log.ts";
import { type DialEvents, type PeerAddress, Peers } from "./peers.ts";
import {
  type Connection,
  liveClock,
  type Network,
  NO_PEER,
  type NodeTransport,
  type TransportHandlers,
} from "./services.ts";

export type { Connection, TransportHandlers };

export class Transport implements NodeTransport {
  private readonly servers: Server[] = [];
  private nextConnectionId = 1;
  private closed = false;
  readonly bytesIn = { value: 0 };
  readonly bytesOut = { value: 0 };
  readonly malformedFrames = { value: 0 };
  /** Inbound connections closed at once: max.connections were open. */
  readonly refusedConnections = { value: 0 };
  /** Inbound connections closed after connections.max.idle.ms without traffic. */
  readonly idleClosed = { value: 0 };
  /** Bytes of partly received frames held now, over all connections (queued.max.request.bytes). */
  readonly held = { value: 0 };

  private readonly handlers: TransportHandlers;
  private readonly log: Log;
  private readonly limits: TransportLimits;
  /** Connections not read while the held bytes are over queued.max.request.bytes. */
  private readonly waiting = new Set<Socket>();
  /** Connections not read until what was written to them drains (a peer that does not read its answers). */
  private readonly draining = new WeakSet<Socket>();
  /** Listeners whose connections are not read while the node has too many requests unanswered. */
  private readonly pausedListeners = new Set<string>();
  /** The connections that came in, with their sockets. */
  private readonly inboundSockets = new Map<Connection, Socket>();
  private readonly listenerOf = new WeakMap<Socket, string>();
  private lastRefusalLog = 0;
  private readonly peers: Peers;

  constructor(handlers: TransportHandlers, log: Log, limits: TransportLimits = DEFAULT_LIMITS) {
    this.handlers = handlers;
    this.log = log;
    this.limits = limits;
    this.peers = new Peers(
      liveClock,
      log,
      (peer, events) => this.dial(peer, events),
      handlers.onUndelivered,
      () => !this.closed,
    );
  }

  /** Read the connections that waited for held bytes, once there is room again. */
  private resumeWaiting(): void {
    if (this.held.value > this.limits.queuedMaxRequestBytes) return;
    const waiting = [...this.waiting];
    this.waiting.clear();
    for (const socket of waiting) this.resumeIfFree(socket);
  }

  /** Read a socket again unless another reason to hold it still stands. */
  private resumeIfFree(socket: Socket): void {
    const listener = this.listenerOf.get(socket);
    if (
      !this.waiting.has(socket) &&
      !this.draining.has(socket) &&
      (listener === undefined || !this.pausedListeners.has(listener))
    )
      socket.resume();
  }

  pauseReading(listener: string, paused: boolean): void {
    if (paused === this.pausedListeners.has(listener)) return;
    if (paused) this.pausedListeners.add(listener);
    else this.pausedListeners.delete(listener);
    for (const [connection, socket] of this.inboundSockets) {
      if (connection.listener !== listener) continue;
      if (paused) socket.pause();
      else this.resumeIfFree(socket);
    }
  }

  private wrap(socket: Socket, listener: string, peer: number): Connection {
    const id = this.nextConnectionId++;
    const reader = new FrameReader(this.limits.maxFrameBytes);
    const remote = `${socket.remoteAddress ?? "?"}:${socket.remotePort ?? "?"}`;
    socket.setNoDelay(true);
    /** Write one whole frame (its length prefix included). */
    const write = (bytes: Buffer): boolean => {
      if (socket.destroyed || !socket.writable) return false;
      this.bytesOut.value += bytes.length;
      socket.write(bytes);
      if (socket.writableNeedDrain && !this.draining.has(socket)) {
        // Backpressure: read no more requests from a peer that does not read its answers, so what
        // is buffered for it stays bounded by the answers to what was already read.
        this.draining.add(socket);
        socket.pause();
        socket.once("drain", () => {
          this.draining.delete(socket);
          this.resumeIfFree(socket);
        });
      }
      return true;
    };
    const connection: Connection = {
      id,
      listener,
      peer,
      remote,
      sendBytes: (body) => write(encodeFrame(body)),
      close: () => socket.destroy(),
    };
    socket.on("data", (chunk: Buffer) => {
      this.bytesIn.value += chunk.length;
      let bodies: Buffer[];
      const before = reader.buffered;
      try {
        bodies = reader.push(chunk);
      } catch (error) {
        this.reject(connection, error as Error);
        return;
      } finally {
        this.held.value += reader.buffered - before;
      }
      if (this.held.value > this.limits.queuedMaxRequestBytes) {
        // Backpressure: stop reading this peer until other frames complete or connections close.
        socket.pause();
        this.waiting.add(socket);
      } else if (this.waiting.size > 0 && reader.buffered < before) this.resumeWaiting();
      for (const body of bodies) {
        // A request on a listener; on a connection this node opened, an answer to one of its own.
        if (listener === "outbound") this.handlers.onKafkaResponse(connection, body);
        else this.handlers.onKafkaRequest(connection, body);
      }
    });
    socket.on("error", () => {
      // "close" follows; a reset connection is an ordinary event here.
    });
    socket.on("close", () => {
      this.held.value -= reader.buffered;
      reader.buffered = 0;
      this.waiting.delete(socket);
      this.resumeWaiting();
      this.handlers.onClose(connection);
    });
    return connection;
  }

  private reject(connection: Connection, error: Error): void {
    this.malformedFrames.value++;
    const what = error instanceof FrameError ? error.message : String(error);
    this.log.warn("closing a connection that sent a malformed frame", {
      remote: connection.remote,
      listener: connection.listener,
      problem: what,
    });
    connection.close();
  }

  /** Start accepting connections on a listener; resolves once bound. */
  listen(listener: Listener): Promise<void> {
    return new Promise((resolve, reject) => {
      const server = createServer((socket) => {
        if (this.inboundSockets.size >= this.limits.maxConnections) {
          this.refusedConnections.value++;
          // One line per ten seconds at most: a flood must not flood the log too.
          if (Date.now() - this.lastRefusalLog > 10_000) {
            this.lastRefusalLog = Date.now();
            this.log.warn("refusing connections: max.connections are open", {
              listener: listener.name,
              maxConnections: this.limits.maxConnections,
              refusedSoFar: this.refusedConnections.value,
            });
          }
          socket.destroy();
          return;
        }
        // connections.max.idle.ms: a peer that sends and receives nothing that long is gone or stuck.
        socket.setTimeout(this.limits.connectionsMaxIdleMs, () => {
          this.idleClosed.value++;
          socket.destroy();
        });
        const connection = this.wrap(socket, listener.name, NO_PEER);
        this.inboundSockets.set(connection, socket);
        this.listenerOf.set(socket, listener.name);
        if (this.pausedListeners.has(listener.name)) socket.pause();
        socket.on("close", () => this.inboundSockets.delete(connection));
      });
      server.once("error", (error: NodeJS.ErrnoException) => {
        reject(
          new Error(
            error.code === "EADDRINUSE"
              ? `listener ${listener.name}://${listener.host}:${listener.port}: the port is in use (another node with this address?)`
              : `listener ${listener.name}: ${error.message}`,
          ),
        );
      });
      server.listen(listener.port, listener.host, () => {
        this.servers.push(server);
        resolve();
      });
    });
  }

  /** A node this one sends to, dialled on first use and redialled with backoff when lost. */
  addPeer(id: number, host: string, port: number): void {
    this.peers.add(id, host, port);
  }

  /** Dial a peer over TCP; what happens is reported to the peer table. */
  private dial(peer: PeerAddress, events: DialEvents): void {
    const socket = connect({ host: peer.host, port: peer.port });
    const connection = this.wrap(socket, "outbound", peer.id);
    let dialError = "closed";
    let connected = false;
    socket.once("error", (error: NodeJS.ErrnoException) => {
      dialError = error.code ?? error.message;
    });
    socket.once("connect", () => {
      // An outgoing connection whose local port is the one it dialled is connected to itself (the
      // OS picked the peer's port as this end's ephemeral port): its frames would come back as the
      // peer's answers. Drop it and dial again later.
      if (socket.localPort === socket.remotePort && socket.localAddress === socket.remoteAddress) {
        this.log.warn("a connection to a peer reached this node itself; dialling again", {
          peer: peer.id,
          port: peer.port,
        });
        socket.destroy();
        return;
      }
      connected = true;
      events.connected(connection);
    });
    socket.once("close", () => (connected ? events.lost() : events.failed(dialError)));
  }

  sendTo(id: number, frame: Outgoing): boolean {
    return this.peers.sendTo(id, frame);
  }

  dialAll(): void {
    this.peers.connectAll();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.peers.close();
    for (const c of this.inboundSockets.keys()) c.close();
    await Promise.all(this.servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}

/** The live network: TCP. */
export const liveNetwork: Network = {
  transport: (handlers, log, limits) => new Transport(handlers, log, limits),
};
