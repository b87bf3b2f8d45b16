// Real Kafka clients against the reference cluster (real processes on 127.0.0.1): librdkafka's kcat
// (`.ci/run` installs Debian's package), and openkraft's own codec speaking Kafka's protocol over TCP.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Kafka, logLevel } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KAFKA_TOOLS, kafkaJar, kafkaToolsClasspath, slf4jApiJar } from "../../scripts/kafka-jars.ts";
import { DEFAULT_TIMEOUTS } from "../../spec/raft/state.ts";
import { LogStore } from "../runtime/storage.ts";
import { exerciseAdminCli } from "../testing/admin-cli.ts";
import { LocalCluster, waitFor } from "../testing/local-cluster.ts";
import { decodeMessage, encodeMessage, type MessageCodec } from "./codec.ts";
import {
  ApiVersionsRequest,
  ApiVersionsResponse,
  CreateTopicsRequest,
  CreateTopicsResponse,
  DeleteTopicsRequest,
  DeleteTopicsResponse,
  MetadataRequest,
  MetadataResponse,
  RequestHeader,
  ResponseHeader,
} from "./generated/messages.ts";
import { Reader } from "./wire.ts";

// Forming a cluster takes an election or two (fetch timeout, election timeout with its jitter) and a
// broker's registration and unfencing; the margin is wide for a loaded machine.
const FORM_MS = 10 * (DEFAULT_TIMEOUTS.fetchTimeoutMs + 2 * DEFAULT_TIMEOUTS.electionTimeoutMs);

const hasKcat = spawnSync("kcat", ["-V"], { encoding: "utf8" }).status === 0;
const hasJava = spawnSync("javac", ["-version"], { encoding: "utf8" }).status === 0;

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

/** One connection speaking Kafka's protocol: requests may be pipelined; answers are read in order. */
class KafkaConnection {
  private readonly socket: Socket;
  private buffered = Buffer.alloc(0);
  private readonly bodies: Buffer[] = [];
  private readonly waiters: ((body: Buffer) => void)[] = [];
  private nextCorrelationId = 1;
  closed = false;

  constructor(address: string) {
    const [host, port] = address.split(":");
    this.socket = connect({ host: host!, port: Number(port) });
    this.socket.on("data", (chunk: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, chunk]);
      while (this.buffered.length >= 4 && this.buffered.length >= 4 + this.buffered.readUInt32BE(0)) {
        const size = this.buffered.readUInt32BE(0);
        const body = this.buffered.subarray(4, 4 + size);
        this.buffered = this.buffered.subarray(4 + size);
        const waiter = this.waiters.shift();
        if (waiter === undefined) this.bodies.push(body);
        else waiter(body);
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

  /** Send a request; returns its correlation id. */
  send<Q>(codec: MessageCodec<Q>, version: number, value: Q, headerVersion: number): number {
    const correlationId = this.nextCorrelationId++;
    const header = encodeMessage(
      RequestHeader,
      { requestApiKey: codec.apiKey, requestApiVersion: version, correlationId, clientId: "openkraft-test" },
      headerVersion,
    );
    const message = encodeMessage(codec, value, version);
    const size = Buffer.alloc(4);
    size.writeUInt32BE(header.length + message.length);
    this.socket.write(Buffer.concat([size, header, message]));
    return correlationId;
  }

  /** The next answer on the connection, with its correlation id. */
  async receive<A>(codec: MessageCodec<A>, version: number, headerVersion: number) {
    const body = this.bodies.shift() ?? (await new Promise<Buffer>((resolve) => this.waiters.push(resolve)));
    const r = new Reader(body);
    const correlationId = ResponseHeader.read(r, headerVersion).correlationId;
    return { correlationId, message: decodeMessage(codec, body.subarray(r.offset), version) };
  }

  async request<Q, A>(
    codec: MessageCodec<Q>,
    answer: MessageCodec<A>,
    version: number,
    value: Q,
    headers: { request: number; response: number },
  ): Promise<A> {
    const correlationId = this.send(codec, version, value, headers.request);
    const received = await this.receive(answer, version, headers.response);
    expect(received.correlationId).toBe(correlationId);
    return received.message;
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

const FLEXIBLE = { request: 2, response: 1 };
const createTopic = (name: string, numPartitions: number, replicationFactor: number) => ({
  ...CreateTopicsRequest.defaults(),
  topics: [{ name, numPartitions, replicationFactor, assignments: [], configs: [] }],
});

describe("Kafka clients against the reference cluster", () => {
  it("openkraft's codec over TCP: ApiVersions, then Metadata with the brokers' image", async () => {
    const broker = cluster.brokers[1]!;
    const c = new KafkaConnection(broker.address);
    try {
      const versions = await c.apiVersions();
      expect(versions.errorCode).toBe(0);
      expect(versions.apiKeys.map((a) => a.apiKey)).toEqual([18, 3, 60, 55, 19, 20, 37, 32, 44, 33, 43]);
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

  it("CreateTopics and DeleteTopics through a broker, answered in request order when pipelined", async () => {
    const c = new KafkaConnection(cluster.brokers[0]!.address);
    try {
      const created = await c.request(
        CreateTopicsRequest,
        CreateTopicsResponse,
        7,
        createTopic("payments", 2, 2),
        FLEXIBLE,
      );
      expect(created.topics).toMatchObject([
        { name: "payments", errorCode: 0, numPartitions: 2, replicationFactor: 2 },
      ]);
      expect(created.topics[0]!.topicId).not.toBe("AAAAAAAAAAAAAAAAAAAAAA");
      const again = await c.request(
        CreateTopicsRequest,
        CreateTopicsResponse,
        7,
        createTopic("payments", 2, 2),
        FLEXIBLE,
      );
      expect(again.topics[0]!.errorCode).toBe(36); // TOPIC_ALREADY_EXISTS
      // Pipelined: the Metadata answer waits for the CreateTopics answer before it.
      const first = c.send(CreateTopicsRequest, 7, createTopic("shipments", 1, 1), 2);
      const second = c.send(MetadataRequest, 12, { ...MetadataRequest.defaults(), topics: null }, 2);
      const a = await c.receive(CreateTopicsResponse, 7, 1);
      const b = await c.receive(MetadataResponse, 12, 1);
      expect([a.correlationId, b.correlationId]).toEqual([first, second]);
      expect(a.message.topics[0]).toMatchObject({ name: "shipments", errorCode: 0 });
      const deleted = await c.request(
        DeleteTopicsRequest,
        DeleteTopicsResponse,
        6,
        {
          ...DeleteTopicsRequest.defaults(),
          topics: [{ name: "payments", topicId: "AAAAAAAAAAAAAAAAAAAAAA" }],
        },
        FLEXIBLE,
      );
      expect(deleted.responses).toMatchObject([{ name: "payments", errorCode: 0 }]);
      await waitFor(
        "payments to leave the broker's image",
        async () =>
          (await cluster.topics(cluster.brokers[0]!.id)).some((t) => t.name === "payments")
            ? undefined
            : true,
        FORM_MS,
      );
    } finally {
      c.close();
    }
  });

  it("fuzzed Kafka frames (random bodies after a valid length) never stop a broker from serving", async () => {
    const broker = cluster.brokers[0]!;
    let seed = 7;
    const random = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed;
    };
    for (let i = 0; i < 200; i++) {
      const c = new KafkaConnection(broker.address);
      // A real header for a served API and version, then random bytes: the codecs' fuzzing, end to end.
      const apiKey = [18, 3, 19, 20, 32, 37, 43, 44, 55, 60][random() % 10]!;
      const body = Buffer.alloc(8 + (random() % 64));
      body.writeInt16BE(apiKey, 0);
      body.writeInt16BE(random() % 4, 2);
      body.writeInt32BE(i, 4);
      for (let b = 8; b < body.length; b++) body[b] = random() & 0xff;
      const frame = Buffer.alloc(4 + body.length);
      frame.writeUInt32BE(body.length, 0);
      body.copy(frame, 4);
      c.raw(frame);
      c.close();
    }
    const good = new KafkaConnection(broker.address);
    try {
      expect((await good.apiVersions()).errorCode).toBe(0);
      expect(cluster.isRunning(broker.id)).toBe(true);
    } finally {
      good.close();
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
      type Listing = {
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
      const kcatListing = (): Listing => {
        const run = spawnSync("kcat", ["-L", "-J", "-b", broker.address, "-m", String(FORM_MS / 1000)], {
          encoding: "utf8",
          timeout: FORM_MS,
        });
        expect(run.stderr).toBe("");
        expect(run.status).toBe(0);
        return JSON.parse(run.stdout) as Listing;
      };
      const imageListing = async (): Promise<Listing["topics"]> =>
        (await cluster.topics(broker.id)).map((t) => ({
          topic: t.name,
          partitions: t.partitions.map((p) => ({
            partition: p.partitionId,
            leader: p.leader,
            replicas: p.replicas.map((id) => ({ id })),
            isrs: p.isr.map((id) => ({ id })),
          })),
        }));
      // kcat and the image are read one after the other: while an earlier test's change is still
      // being applied they may differ, so the two are compared until they agree.
      const listing = await waitFor(
        "kcat's listing to match the broker's image",
        async () => {
          const seen = kcatListing();
          return JSON.stringify(seen.topics) === JSON.stringify(await imageListing()) ? seen : undefined;
        },
        FORM_MS,
        200,
      );
      expect(listing.brokers.map((b) => [b.id, b.name])).toEqual(
        cluster.brokers.map((b) => [b.id, b.address]),
      );
      expect(listing.topics).toEqual(await imageListing());
      expect(listing.topics.length).toBeGreaterThan(0);
    },
  );

  it.skipIf(!hasJava)(
    "Apache Kafka 4.4's Java AdminClient: describeCluster, createTopics, listTopics, createPartitions, describeTopics, incrementalAlterConfigs, describeConfigs, deleteTopics, describeMetadataQuorum (through a broker and --bootstrap-controller)",
    async () => {
      // kafka-clients and slf4j-api from Maven Central (cached); AdminProbe.java is compiled here.
      const classpath = [await kafkaJar("kafka-clients"), await slf4jApiJar()].join(":");
      const classes = mkdtempSync(join(tmpdir(), "openkraft-admin-probe-"));
      try {
        const javac = spawnSync(
          "javac",
          ["-d", classes, "-cp", classpath, join(import.meta.dirname, "java", "AdminProbe.java")],
          {
            encoding: "utf8",
          },
        );
        expect(javac.stderr).toBe("");
        const run = spawnSync(
          "java",
          [
            "-cp",
            `${classpath}:${classes}`,
            "AdminProbe",
            cluster.brokers[1]!.address,
            "java-orders",
            cluster.controllers[1]!.address,
          ],
          {
            encoding: "utf8",
            timeout: 3 * FORM_MS,
          },
        );
        expect(run.status).toBe(0);
        const steps = Object.fromEntries(
          run.stdout
            .trim()
            .split("\n")
            .map((line) => JSON.parse(line) as { step: string })
            .map(({ step, ...rest }) => [step, rest]),
        );
        expect(steps["describeCluster"]).toEqual({
          clusterId: cluster.clusterId,
          controller: cluster.brokers[0]!.id,
          nodes: cluster.brokers.map((b) => b.id),
        });
        expect(steps["createTopics"]).toEqual({ ok: true });
        expect(steps["createTopicsAgain"]).toEqual({
          error: "TopicExistsException",
          message: "Topic 'java-orders' already exists.",
        });
        expect((steps["listTopics"] as { names: string[] }).names).toContain("java-orders");
        expect(steps["createPartitions"]).toEqual({ ok: true });
        const described = steps["describeTopics"] as {
          partitions: { partition: number; replicas: number; isr: number }[];
        };
        expect(described.partitions.map((p) => [p.partition, p.replicas, p.isr])).toEqual([
          [0, 2, 2],
          [1, 2, 2],
          [2, 2, 2],
          [3, 2, 2],
        ]);
        expect(steps["alterConfigs"]).toEqual({ "retention.ms": "1000" });
        expect(steps["electLeaders"]).toEqual({
          error: "ElectionNotNeededException",
          message: "Leader election not needed for topic partition.",
        });
        expect(steps["deleteTopics"]).toEqual({ ok: true });
        // DescribeQuorum through a broker, passed on to the active controller, and straight to the
        // controllers as kafka-metadata-quorum --bootstrap-controller does.
        const leader = await cluster.waitForLeader(FORM_MS);
        for (const step of ["describeMetadataQuorum", "describeMetadataQuorumViaControllers"])
          expect(steps[step], step).toMatchObject({
            leaderId: leader.nodeId,
            voters: cluster.controllers.map((c) => c.id),
            observers: cluster.brokers.map((b) => b.id),
          });
        expect(steps["describeClusterViaControllers"]).toEqual({
          clusterId: cluster.clusterId,
          controller: leader.nodeId,
          nodes: cluster.controllers.map((c) => c.id),
        });
      } finally {
        rmSync(classes, { recursive: true, force: true });
      }
    },
    6 * FORM_MS,
  );

  it.skipIf(!hasJava)(
    "Apache Kafka 4.4's own tools: kafka-topics, kafka-configs, kafka-dump-log of our segment, kafka-metadata-quorum (--bootstrap-server and --bootstrap-controller), kafka-cluster, kafka-features",
    async () => {
      const classpath = await kafkaToolsClasspath();
      const tool = (name: string, ...args: string[]) => {
        const run = spawnSync("java", ["-cp", classpath, KAFKA_TOOLS[name]!, ...args], {
          encoding: "utf8",
          timeout: 3 * FORM_MS,
        });
        expect(run.status, `${name} ${args.join(" ")}: ${run.stdout}${run.stderr}`).toBe(0);
        return run.stdout;
      };
      const broker = ["--bootstrap-server", cluster.brokers[0]!.address];
      expect(
        tool(
          "kafka-topics",
          ...broker,
          "--create",
          "--topic",
          "tools-t",
          "--partitions",
          "2",
          "--replication-factor",
          "2",
          "--config",
          "cleanup.policy=compact",
        ),
      ).toBe("Created topic tools-t.\n");
      // The tools read the broker's image, which follows the controller's commit.
      await waitFor(
        "tools-t on the broker",
        async () =>
          tool("kafka-topics", ...broker, "--list")
            .split("\n")
            .includes("tools-t")
            ? true
            : undefined,
        FORM_MS,
        200,
      );
      const described = tool("kafka-topics", ...broker, "--describe", "--topic", "tools-t");
      expect(described).toMatch(
        /Topic: tools-t\tTopicId: \S{22}\tPartitionCount: 2\tReplicationFactor: 2\tConfigs: cleanup.policy=compact/,
      );
      expect(described.match(/\tPartition: \d\tLeader: \d\tReplicas: \d,\d\tIsr: \d,\d/g)).toHaveLength(2);
      // kafka-configs: IncrementalAlterConfigs, then DescribeConfigs of the dynamic configs.
      const configs = (...args: string[]) =>
        tool("kafka-configs", ...broker, "--entity-type", "topics", "--entity-name", "tools-t", ...args);
      expect(configs("--alter", "--add-config", "retention.ms=1000")).toBe(
        "Completed updating config for topic tools-t.\n",
      );
      await waitFor(
        "retention.ms on the broker",
        async () => (configs("--describe").includes("retention.ms=1000") ? true : undefined),
        FORM_MS,
        200,
      );
      expect(configs("--describe")).toBe(
        "Dynamic configs for topic tools-t are:\n  cleanup.policy=compact sensitive=false synonyms={}\n  retention.ms=1000 sensitive=false synonyms={}\n",
      );
      configs("--alter", "--delete-config", "retention.ms");
      // kafka-dump-log (DumpLogSegments) reads an openkraft segment as a Kafka one: every batch valid,
      // every record decoded by Kafka's own metadata decoder.
      const log = join(cluster.node(cluster.controllers[0]!.id).dir, "data", "__cluster_metadata-0");
      const dumped = tool(
        "kafka-dump-log",
        "--cluster-metadata-decoder",
        "--files",
        join(log, "00000000000000000000.log"),
      );
      expect(dumped).not.toContain("isvalid: false");
      expect(dumped).toMatch(/isControl: true .* isvalid: true/);
      expect(dumped).toContain("LeaderChange: {");
      expect(dumped).toMatch(
        /payload: \{"type":"TOPIC_RECORD","version":0,"data":\{"name":"tools-t","topicId":"\S{22}"\}\}/,
      );
      expect(dumped).toMatch(
        /"type":"CONFIG_RECORD","version":0,"data":\{"resourceType":2,"resourceName":"tools-t","name":"retention.ms","value":"1000"\}/,
      );
      expect(dumped).not.toMatch(/Error|Exception|[Cc]orrupt/);
      // And our offset index: Kafka reads each entry against the segment and finds it sound.
      const indexed = join(mkdtempSync(join(tmpdir(), "openkraft-index-")), "__cluster_metadata-0");
      const store = new LogStore(indexed, 1 << 30);
      for (let i = 0; i < 400; i++)
        store.append(i, [
          {
            epoch: 1,
            control: null,
            record: {
              _tag: "TopicRecord",
              name: `t-${i}-${"x".repeat(30)}`,
              topicId: "AAAAAAAAAAAAAAAAAAAAAg",
            },
          },
        ]);
      store.close();
      const index = join(indexed, "00000000000000000000.index");
      const entries = tool("kafka-dump-log", "--files", index).match(/^offset: \d+ position: \d+$/gm) ?? [];
      expect(entries.length).toBeGreaterThan(5);
      expect(tool("kafka-dump-log", "--files", index)).not.toMatch(/[Mm]ismatch/);
      expect(tool("kafka-dump-log", "--index-sanity-check", "--files", index)).toContain(
        `${index} passed sanity check.`,
      );
      rmSync(join(indexed, ".."), { recursive: true, force: true });
      tool("kafka-topics", ...broker, "--delete", "--topic", "tools-t");
      expect(tool("kafka-cluster", "cluster-id", ...broker)).toBe(`Cluster ID: ${cluster.clusterId}\n`);
      // ApiVersions v3+ carries the supported and finalized features (a cluster's metadata.version).
      expect(tool("kafka-features", ...broker, "describe")).toMatch(
        /^Feature: metadata\.version\s+SupportedMinVersion: 3\.3-IV3\s+SupportedMaxVersion: 3\.9-IV0\s+FinalizedVersionLevel: 3\.9-IV0\s+Epoch: \d+$/m,
      );
      const leader = await cluster.waitForLeader(FORM_MS);
      const status = tool("kafka-metadata-quorum", ...broker, "describe", "--status");
      expect(status).toContain(`ClusterId:              ${cluster.clusterId}\n`);
      expect(status).toContain(`LeaderId:               ${leader.nodeId}\n`);
      // The leader reports itself caught up now (R88), so the lag time is a time, not -1.
      expect(status).toMatch(/\nMaxFollowerLagTimeMs:\s+\d+\n/);
      for (const c of cluster.controllers)
        expect(status).toContain(`{"id": ${c.id}, "endpoints": ["CONTROLLER://${c.address}"]}`);
      const replication = tool(
        "kafka-metadata-quorum",
        "--bootstrap-controller",
        cluster.controllers[0]!.address,
        "describe",
        "--replication",
      );
      const rows = replication
        .trim()
        .split("\n")
        .slice(1)
        .map((line) => line.split("\t").map((cell) => cell.trim()));
      expect(
        rows.map((r) => [Number(r[0]), r.find((cell) => /^(Leader|Follower|Observer)$/.test(cell))]).sort(),
      ).toEqual(
        [
          ...cluster.controllers.map((c) => [c.id, c.id === leader.nodeId ? "Leader" : "Follower"]),
          ...cluster.brokers.map((b) => [b.id, "Observer"]),
        ].sort(),
      );
    },
    6 * FORM_MS,
  );

  it(
    "kraft quorum describe, topics create|list|describe|delete and brokers list, over Kafka's protocol",
    async () => {
      await exerciseAdminCli(
        {
          broker: cluster.brokers[0]!.address,
          controller: cluster.controllers[0]!.address,
          brokerIds: cluster.brokers.map((b) => b.id),
          voterIds: cluster.controllers.map((c) => c.id),
        },
        "cli-t",
        FORM_MS,
      );
    },
    6 * FORM_MS,
  );

  it(
    "kafkajs admin (npm): describeCluster, createTopics, listTopics, fetchTopicMetadata, createPartitions, describeConfigs, alterConfigs, deleteTopics",
    async () => {
      const admin = new Kafka({
        clientId: "openkraft-test",
        brokers: [cluster.brokers[0]!.address],
        logLevel: logLevel.NOTHING,
        retry: { retries: 3 },
      }).admin();
      await admin.connect();
      try {
        const described = await admin.describeCluster();
        expect(described.clusterId).toBe(cluster.clusterId);
        expect(described.brokers.map((b) => b.nodeId).sort()).toEqual(cluster.brokers.map((b) => b.id));
        expect(
          await admin.createTopics({
            topics: [{ topic: "kjs", numPartitions: 3, replicationFactor: 2 }],
            waitForLeaders: true,
          }),
        ).toBe(true);
        expect(await admin.listTopics()).toContain("kjs");
        await admin.createPartitions({ topicPartitions: [{ topic: "kjs", count: 4 }] });
        await waitFor(
          "kjs to have 4 partitions",
          async () => {
            const { topics } = await admin.fetchTopicMetadata({ topics: ["kjs"] });
            return topics[0]?.partitions.length === 4 ? topics[0] : undefined;
          },
          FORM_MS,
        );
        const configs = await admin.describeConfigs({
          resources: [{ type: 2, name: "kjs" }],
          includeSynonyms: false,
        });
        expect(configs.resources[0]).toMatchObject({ errorCode: 0, resourceName: "kjs" });
        expect(
          configs.resources[0]!.configEntries.find((c) => c.configName === "cleanup.policy")?.configValue,
        ).toBe("delete");
        // kafkajs alters configs with the legacy AlterConfigs API: the given keys become the whole set.
        await admin.alterConfigs({
          validateOnly: false,
          resources: [{ type: 2, name: "kjs", configEntries: [{ name: "retention.ms", value: "1000" }] }],
        });
        const explicit = async () =>
          (
            await admin.describeConfigs({ resources: [{ type: 2, name: "kjs" }], includeSynonyms: false })
          ).resources[0]!.configEntries.filter((c) => !c.isDefault).map((c) => [c.configName, c.configValue]);
        await waitFor(
          "retention.ms=1000 on the broker",
          async () => ((await explicit()).length === 1 ? true : undefined),
          FORM_MS,
        );
        expect(await explicit()).toEqual([["retention.ms", "1000"]]);
        await expect(
          admin.alterConfigs({
            validateOnly: false,
            resources: [{ type: 2, name: "kjs", configEntries: [{ name: "retention.ms", value: "-5" }] }],
          }),
        ).rejects.toMatchObject({ type: "INVALID_CONFIG" });
        await admin.deleteTopics({ topics: ["kjs"] });
        // The broker serves Metadata from its image, which follows the controller's commit.
        await waitFor(
          "kjs to be gone",
          async () => ((await admin.listTopics()).includes("kjs") ? undefined : true),
          FORM_MS,
        );
      } finally {
        await admin.disconnect();
      }
    },
    3 * FORM_MS,
  );
});
