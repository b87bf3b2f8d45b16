// Real Kafka clients against the reference cluster (real processes on 127.0.0.1): librdkafka's kcat
// (`.ci/run` installs Debian's package), and openkraft's own codec speaking Kafka's protocol over TCP.
import { spawnSync } from "node:child_process";
import { connect, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_TIMEOUTS } from "../../spec/raft/state.ts";
import { LocalCluster, waitFor } from "../testing/local-cluster.ts";
import { decodeMessage, encodeMessage, type MessageCodec } from "./codec.ts";
import {
  ApiVersionsRequest,
  ApiVersionsResponse,
  MetadataRequest,
  MetadataResponse,
  RequestHeader,
  ResponseHeader,
} from "./generated/messages.ts";
import { Reader } from "./wire.ts";

// Forming a cluster takes an election or two (fetch timeout, election timeout with its jitter) and a
// broker's registration and unfencing; the margin is wide for a loaded machine.
const FORM_MS = 10 * (DEFAULT_TIMEOUTS.fetchTimeoutMs + 2 * DEFAULT_TIMEOUTS.electionTimeoutMs);

const kcat = spawnSync("kcat", ["-V"], { encoding: "utf8" });
const hasKcat = kcat.status === 0;

let cluster: LocalCluster;

beforeAll(async () => {
  cluster = await LocalCluster.create(3, 2);
  cluster.startAll();
  await cluster.waitForLeader(FORM_MS);
  for (const b of cluster.brokers)
    await waitFor(
      `broker ${b.id} to run`,
      async () => ((await cluster.status(b.id)).brokerState === "RUNNING" ? true : undefined),
      FORM_MS,
    );
  await waitFor(
    "topic orders",
    async () => ((await cluster.createTopic(4, "orders", 3, 2)).errorCode === "NONE" ? true : undefined),
    FORM_MS,
    200,
  );
  // Both brokers have it in their image.
  for (const b of cluster.brokers)
    await waitFor(
      `orders on broker ${b.id}`,
      async () => ((await cluster.topics(b.id)).length === 1 ? true : undefined),
      FORM_MS,
    );
}, 3 * FORM_MS);

afterAll(async () => {
  await cluster?.destroy();
}, FORM_MS);

/** One connection speaking Kafka's protocol: send a request, read its answer. */
class KafkaConnection {
  private readonly socket: Socket;
  private buffered = Buffer.alloc(0);
  private waiting: ((body: Buffer) => void) | null = null;
  closed = false;

  constructor(address: string) {
    const [host, port] = address.split(":");
    this.socket = connect({ host: host!, port: Number(port) });
    this.socket.on("data", (chunk: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, chunk]);
      if (this.buffered.length >= 4 && this.buffered.length >= 4 + this.buffered.readUInt32BE(0)) {
        const size = this.buffered.readUInt32BE(0);
        const body = this.buffered.subarray(4, 4 + size);
        this.buffered = this.buffered.subarray(4 + size);
        this.waiting?.(body);
      }
    });
    this.socket.on("error", () => {});
    this.socket.on("close", () => {
      this.closed = true;
    });
  }

  raw(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  async request<Q, A>(
    codec: MessageCodec<Q>,
    answer: MessageCodec<A>,
    version: number,
    value: Q,
    headers: { request: number; response: number },
  ): Promise<A> {
    const header = encodeMessage(
      RequestHeader,
      {
        requestApiKey: codec.apiKey,
        requestApiVersion: version,
        correlationId: 9,
        clientId: "openkraft-test",
      },
      headers.request,
    );
    const message = encodeMessage(codec, value, version);
    const size = Buffer.alloc(4);
    size.writeUInt32BE(header.length + message.length);
    const body = await new Promise<Buffer>((resolve) => {
      this.waiting = resolve;
      this.socket.write(Buffer.concat([size, header, message]));
    });
    const r = new Reader(body);
    expect(ResponseHeader.read(r, headers.response).correlationId).toBe(9);
    return decodeMessage(answer, body.subarray(r.offset), version);
  }

  /** ApiVersions v3 (flexible: request header v2; its answer's header is always v0). */
  apiVersions() {
    return this.request(ApiVersionsRequest, ApiVersionsResponse, 3, ApiVersionsRequest.defaults(), {
      request: 2,
      response: 0,
    });
  }

  close(): void {
    this.socket.destroy();
  }
}

describe("Kafka clients against the reference cluster", () => {
  it("openkraft's codec over TCP: ApiVersions, then Metadata with the brokers' image", async () => {
    const broker = cluster.brokers[1]!;
    const c = new KafkaConnection(broker.address);
    try {
      const versions = await c.apiVersions();
      expect(versions.errorCode).toBe(0);
      expect(versions.apiKeys.map((a) => a.apiKey)).toEqual([18, 3]);
      const metadata = await c.request(
        MetadataRequest,
        MetadataResponse,
        12,
        { ...MetadataRequest.defaults(), topics: null },
        { request: 2, response: 1 },
      );
      const image = await cluster.topics(broker.id);
      expect(metadata.brokers.map((b) => `${b.host}:${b.port}`).sort()).toEqual(
        cluster.brokers.map((b) => b.address).sort(),
      );
      expect(metadata.topics.map((t) => t.name)).toEqual(["orders"]);
      expect(metadata.topics[0]!.topicId).toBe(image[0]!.topicId);
      expect(
        metadata.topics[0]!.partitions.map((p) => [p.partitionIndex, p.leaderId, p.replicaNodes, p.isrNodes]),
      ).toEqual(image[0]!.partitions.map((p) => [p.partitionId, p.leader, p.replicas, p.isr]));
    } finally {
      c.close();
    }
  });

  it("bad input over the wire: an unknown API key closes the connection, the node keeps serving, it is counted", async () => {
    const broker = cluster.brokers[0]!;
    const before = Number(
      /kraft_transport_malformed_frames_total (\d+)/.exec(await cluster.metrics(broker.id))?.[1],
    );
    const bad = new KafkaConnection(broker.address);
    bad.raw(Buffer.from([0, 0, 0, 10, 0x00, 0x63, 0, 0, 0, 0, 0, 1, 0xff, 0xff]));
    await waitFor("the connection to close", async () => (bad.closed ? true : undefined), FORM_MS);
    const after = Number(
      /kraft_transport_malformed_frames_total (\d+)/.exec(await cluster.metrics(broker.id))?.[1],
    );
    expect(after).toBe(before + 1);
    const good = new KafkaConnection(broker.address);
    try {
      const versions = await good.apiVersions();
      expect(versions.errorCode).toBe(0);
    } finally {
      good.close();
    }
  });

  it.skipIf(!hasKcat)(
    "kcat -L (librdkafka): brokers, topics, partitions, leaders, replicas and ISRs",
    async () => {
      const broker = cluster.brokers[0]!;
      const run = spawnSync("kcat", ["-L", "-J", "-b", broker.address, "-m", String(FORM_MS / 1000)], {
        encoding: "utf8",
        timeout: FORM_MS,
      });
      expect(run.stderr).toBe("");
      expect(run.status).toBe(0);
      const listing = JSON.parse(run.stdout) as {
        brokers: { id: number; name: string }[];
        topics: {
          topic: string;
          partitions: {
            partition: number;
            leader: number;
            replicas: { id: number }[];
            isrs: { id: number }[];
          }[];
        }[];
      };
      expect(listing.brokers.map((b) => [b.id, b.name])).toEqual(
        cluster.brokers.map((b) => [b.id, b.address]),
      );
      const image = await cluster.topics(broker.id);
      expect(listing.topics).toEqual(
        image.map((t) => ({
          topic: t.name,
          partitions: t.partitions.map((p) => ({
            partition: p.partitionId,
            leader: p.leader,
            replicas: p.replicas.map((id) => ({ id })),
            isrs: p.isr.map((id) => ({ id })),
          })),
        })),
      );
    },
  );
});
