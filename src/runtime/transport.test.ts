// The transport's limits, each with Kafka's property name: no peer can make a node hold more than it
// allows, and every limit reached says so and costs the offender its connection, not the node.
import { connect, createServer, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { freeBasePort } from "../testing/local-cluster.ts";
import { encodeFrame, type Outgoing } from "./codec.ts";
import { DEFAULT_LIMITS, type TransportLimits } from "./config.ts";
import { silentLog } from "./log.ts";
import { type Connection, Transport } from "./transport.ts";

const open: Transport[] = [];
afterEach(async () => {
  for (const t of open.splice(0)) await t.close();
});

/** A transport listening on a free port below the ephemeral range; the request frame bodies it received. */
const serve = async (
  limits: Partial<TransportLimits>,
  answer?: (connection: Connection, body: Buffer) => void,
) => {
  const frames: Buffer[] = [];
  const closed: Connection[] = [];
  const transport = new Transport(
    {
      onKafkaRequest: (c, body) => {
        frames.push(Buffer.from(body));
        answer?.(c, body);
      },
      onKafkaResponse: () => {},
      onClose: (c) => closed.push(c),
      onUndelivered: () => {},
    },
    silentLog,
    { ...DEFAULT_LIMITS, ...limits },
  );
  open.push(transport);
  const port = (await freeBasePort(1)) + 1;
  await transport.listen({ name: "PLAINTEXT", host: "127.0.0.1", port });
  return { transport, port, frames, closed };
};

const dial = (port: number): Promise<Socket> =>
  new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => resolve(socket));
    socket.once("error", reject);
  });

const ended = (socket: Socket): Promise<void> =>
  new Promise((resolve) => {
    if (socket.destroyed) resolve();
    socket.once("close", () => resolve());
  });

const until = async (check: () => boolean, ms = 5000): Promise<void> => {
  const deadline = Date.now() + ms;
  while (!check() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  expect(check()).toBe(true);
};

/** A request frame body (an ApiVersions v3 header and an empty body) under `correlationId`, padded. */
const requestBody = (correlationId = 1, padding = 0): Buffer => {
  const body = Buffer.alloc(10 + padding);
  body.writeInt16BE(18, 0);
  body.writeInt16BE(3, 2);
  body.writeInt32BE(correlationId, 4);
  body.writeInt16BE(-1, 8);
  return body;
};
const request = requestBody();

describe("transport limits", () => {
  it("max.connections: a connection past the limit is closed at once, and counted", async () => {
    const { transport, port } = await serve({ maxConnections: 2 });
    const a = await dial(port);
    const b = await dial(port);
    await until(() => transport.refusedConnections.value === 0);
    const c = await dial(port);
    await ended(c);
    expect(transport.refusedConnections.value).toBe(1);
    expect(a.destroyed || b.destroyed).toBe(false);
    // Once one closes, a new one is let in.
    a.destroy();
    await new Promise((r) => setTimeout(r, 50));
    const d = await dial(port);
    d.write(encodeFrame(request));
    await new Promise((r) => setTimeout(r, 100));
    expect(d.destroyed).toBe(false);
    expect(transport.refusedConnections.value).toBe(1);
    b.destroy();
    d.destroy();
  });

  it("connections.max.idle.ms: a connection with no traffic is closed", async () => {
    const { transport, port } = await serve({ connectionsMaxIdleMs: 200 });
    const socket = await dial(port);
    const started = Date.now();
    await ended(socket);
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    expect(transport.idleClosed.value).toBe(1);
  });

  it("socket.request.max.bytes: a longer frame closes its connection as soon as its length arrives", async () => {
    const { transport, port } = await serve({ maxFrameBytes: 4096, queuedMaxRequestBytes: 8192 });
    const socket = await dial(port);
    const header = Buffer.alloc(4);
    header.writeUInt32BE(4097);
    // Only the length: the connection must not wait for a body that is never coming.
    socket.write(header);
    await ended(socket);
    expect(transport.malformedFrames.value).toBe(1);
  });

  it("queued.max.request.bytes: partly sent frames past the limit stop being read, and reading resumes when room is made", async () => {
    const { transport, port, frames } = await serve({ maxFrameBytes: 4096, queuedMaxRequestBytes: 6000 });
    // Two peers each send most of a large frame: together they pass what may be held.
    const frame = encodeFrame(requestBody(1, 3500));
    const a = await dial(port);
    const b = await dial(port);
    a.write(frame.subarray(0, frame.length - 10));
    await until(() => transport.held.value > 3000);
    b.write(frame.subarray(0, frame.length - 10));
    await until(() => transport.held.value > 6000);
    // Over the limit: what is held stays bounded by the limit and one socket read per connection.
    expect(transport.held.value).toBeLessThan(6000 + 2 * 65536);
    // a finishes its frame: its bytes are freed, and b is read again and finishes too.
    a.write(frame.subarray(frame.length - 10));
    b.write(frame.subarray(frame.length - 10));
    await until(() => frames.length === 2);
    expect(transport.held.value).toBe(0);
    a.destroy();
    b.destroy();
  });
});

describe("transport delivery", () => {
  it("queued.max.requests: a paused listener's connections are not read until it resumes", async () => {
    const { transport, port, frames } = await serve({});
    const socket = await dial(port);
    transport.pauseReading("PLAINTEXT", true);
    await new Promise((r) => setTimeout(r, 50));
    socket.write(encodeFrame(request));
    await new Promise((r) => setTimeout(r, 200));
    expect(frames).toEqual([]);
    transport.pauseReading("PLAINTEXT", false);
    await until(() => frames.length === 1);
    expect(frames).toEqual([request]);
    socket.destroy();
  });

  it("a frame queued for a peer nobody listens on fails at once, not at its request timeout", async () => {
    const undelivered: { peer: number; frames: readonly Outgoing[] }[] = [];
    const warnings: { message: string; fields: Record<string, unknown> | undefined }[] = [];
    const transport = new Transport(
      {
        onKafkaRequest: () => {},
        onKafkaResponse: () => {},
        onClose: () => {},
        onUndelivered: (peer, frames) => undelivered.push({ peer, frames }),
      },
      { ...silentLog, warn: (message, fields) => warnings.push({ message, fields }) },
      DEFAULT_LIMITS,
    );
    open.push(transport);
    const port = (await freeBasePort(1)) + 1;
    transport.addPeer(7, "127.0.0.1", port);
    const started = Date.now();
    const outgoing: Outgoing = { body: request, key: "node:7:1" };
    expect(transport.sendTo(7, outgoing)).toBe(true);
    await until(() => undelivered.length > 0);
    expect(undelivered).toEqual([{ peer: 7, frames: [outgoing] }]);
    // A refused dial answers within milliseconds; Kafka's request timeout is 2 s.
    expect(Date.now() - started).toBeLessThan(1000);
    // The failure is logged once, with the cause; the redials that follow within 30 s are not.
    await new Promise((r) => setTimeout(r, 400));
    expect(warnings).toEqual([
      {
        message: "cannot reach a peer; retrying with backoff",
        fields: { peer: 7, address: `127.0.0.1:${port}`, error: "ECONNREFUSED", failedDials: 1 },
      },
    ]);
  });

  it("a peer that closes every connection (not a controller listener, say) is named in a warning, once per 30 s", async () => {
    const server = createServer((socket) => socket.destroy());
    const port = (await freeBasePort(1)) + 1;
    await new Promise<void>((r) => server.listen(port, "127.0.0.1", r));
    const undelivered: number[] = [];
    const warnings: { message: string; fields: Record<string, unknown> | undefined }[] = [];
    const transport = new Transport(
      {
        onKafkaRequest: () => {},
        onKafkaResponse: () => {},
        onClose: () => {},
        onUndelivered: (peer) => undelivered.push(peer),
      },
      { ...silentLog, warn: (message, fields) => warnings.push({ message, fields }) },
      DEFAULT_LIMITS,
    );
    open.push(transport);
    try {
      transport.addPeer(-2, "127.0.0.1", port);
      expect(transport.sendTo(-2, { body: request, key: "node:-2:1" })).toBe(true);
      await until(() => warnings.length > 0);
      // The dials succeed and each connection is closed by the other end; the redials that follow
      // within 30 s are not logged again.
      await new Promise((r) => setTimeout(r, 400));
      expect(warnings).toEqual([
        {
          message: "the connection to a peer was closed; redialling",
          fields: { peer: -2, address: `127.0.0.1:${port}`, lostConnections: 1 },
        },
      ]);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it("a peer that does not read its answers is not read either (write backpressure)", async () => {
    const big = Buffer.alloc(1 << 20, 7);
    let answered = 0;
    const { port, frames } = await serve({}, (connection, body) => {
      answered++;
      big.writeInt32BE(body.readInt32BE(4), 0);
      connection.sendBytes(big);
    });
    const socket = await dial(port);
    socket.pause(); // reads nothing: the answers pile up in the server's socket buffer
    const requests = 64;
    for (let i = 1; i <= requests; i++) socket.write(encodeFrame(requestBody(i)));
    await new Promise((r) => setTimeout(r, 500));
    // The server stopped reading requests once its writes to this peer backed up.
    expect(answered).toBeLessThan(requests);
    socket.resume();
    await until(() => frames.length === requests, 20_000);
    expect(answered).toBe(requests);
    socket.destroy();
  });
});
