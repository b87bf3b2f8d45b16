// `npm run bench:cluster`: measure the reference cluster as real processes on 127.0.0.1 and print
// one JSON document on stdout (progress on stderr). What it measures:
//   failover     kill -9 of the active controller → first committed write answered by the new one,
//                over N trials, with Kafka's default timeouts and with 10x shorter ones;
//   commit       one CreateTopics at a time to the active controller, answered at commit (fsync on);
//   throughput   committed metadata records/s under concurrent CreateTopics load;
//   propagation  a commit answered by the controller → the topic served by each broker;
//   idleRss      each node's resident memory when the cluster is idle; rssAfterLoad, once idle again
//                after the throughput load (the image holds its topics then); rssSettled and
//                heapUsedSettled, --settle-seconds later, once V8 has given back the pages the load's
//                garbage grew its heap to (what a node keeps for what it holds);
//   codec        what encoding and decoding the benchmark's CreateTopics request and answer cost.
// Every request goes over Kafka's binary protocol (src/kafka/client.ts), as a Kafka client's would.
// The steady-state part (commit, throughput, propagation, memory) runs --runs times on fresh clusters
// and reports each run and the median of each figure with its range: one run of it varies by about
// ±15% on a 2-core machine, too much to tell a regression from noise.
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { parseArgs } from "node:util";
import { FAST_TIMEOUTS } from "../src/cli/cluster.ts";
import { KafkaClient } from "../src/kafka/client.ts";
import type { MessageCodec } from "../src/kafka/codec.ts";
import { decodeMessage, encodeMessage } from "../src/kafka/codec.ts";
import {
  CreateTopicsRequest,
  type CreateTopicsRequestData,
  CreateTopicsResponse,
  type CreateTopicsResponseData,
  MetadataRequest,
  MetadataResponse,
} from "../src/kafka/generated/messages.ts";
import { ZERO_UUID } from "../src/kafka/wire.ts";
import { LocalCluster, sleep, waitFor } from "../src/testing/local-cluster.ts";

const { values } = parseArgs({
  options: {
    trials: { type: "string", default: "20" },
    runs: { type: "string", default: "3" },
    "commit-samples": { type: "string", default: "500" },
    "throughput-seconds": { type: "string", default: "10" },
    "throughput-clients": { type: "string", default: "16" },
    "partitions-per-topic": { type: "string", default: "50" },
    "settle-seconds": { type: "string", default: "30" },
    skip: { type: "string", default: "" },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (values.help) {
  process.stdout.write(
    `usage: npm run bench:cluster -- [--runs 3] [--trials 20] [--commit-samples 500] [--throughput-seconds 10]
         [--throughput-clients 16] [--partitions-per-topic 50] [--settle-seconds 30]
         [--skip failover-default,failover-fast,steady]

Starts local clusters (3 controllers, 2 brokers) and prints one JSON document with failover,
commit latency, throughput, propagation delay and idle memory. The steady-state figures come from
--runs fresh clusters, as medians with their ranges (and every run). Progress goes to stderr.
`,
  );
  process.exit(0);
}
const positive = (name: string, raw: string): number => {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) {
    process.stderr.write(`bench:cluster: --${name} must be a positive whole number, not "${raw}"\n`);
    process.exit(2);
  }
  return n;
};
const trials = positive("trials", values.trials);
const runs = positive("runs", values.runs);
const commitSamples = positive("commit-samples", values["commit-samples"]);
const throughputSeconds = positive("throughput-seconds", values["throughput-seconds"]);
const throughputClients = positive("throughput-clients", values["throughput-clients"]);
const partitionsPerTopic = positive("partitions-per-topic", values["partitions-per-topic"]);
const settleSeconds = positive("settle-seconds", values["settle-seconds"]);
const skip = new Set(values.skip.split(",").filter((s) => s.length > 0));

const progress = (text: string): void => {
  process.stderr.write(`bench:cluster: ${text}\n`);
};

const percentile = (sorted: readonly number[], p: number): number =>
  sorted.length === 0
    ? Number.NaN
    : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;

const summary = (samples: readonly number[]) => {
  const sorted = [...samples].sort((a, b) => a - b);
  const round = (x: number) => Math.round(x * 100) / 100;
  return {
    samples: sorted.length,
    p50: round(percentile(sorted, 50)),
    p99: round(percentile(sorted, 99)),
    min: round(sorted[0] ?? Number.NaN),
    max: round(sorted.at(-1) ?? Number.NaN),
  };
};

let topicSeq = 0;
/** A CreateTopics of one new topic, as Kafka's clients send it. */
const createTopicRequest = (partitions: number): CreateTopicsRequestData => ({
  ...CreateTopicsRequest.defaults(),
  timeoutMs: 60_000,
  topics: [
    {
      name: `bench-${process.pid}-${topicSeq++}`,
      numPartitions: partitions,
      replicationFactor: 1,
      assignments: [],
      configs: [],
    },
  ],
});

/** One CreateTopics over Kafka's protocol; its answer. */
const createTopics = (
  client: KafkaClient,
  request: CreateTopicsRequestData,
  timeoutMs = 10_000,
): Promise<CreateTopicsResponseData> =>
  client.request(CreateTopicsRequest, CreateTopicsResponse, request, { timeoutMs, write: true });

const created = (r: CreateTopicsResponseData): boolean => r.topics[0]?.errorCode === 0;

/**
 * What the codec costs per request, measured in this process on the requests the benchmark sends: a
 * CreateTopics encoded and its answer decoded (the node does the reverse), in microseconds.
 */
const codecCost = () => {
  const time = <T>(codec: MessageCodec<T>, value: T, version: number) => {
    const bytes = codec.size(value, version);
    const rounds = 20_000;
    const encodeStart = performance.now();
    let encoded: Uint8Array = new Uint8Array(0);
    for (let i = 0; i < rounds; i++) {
      encoded = encodeMessage(codec, value, version);
    }
    const encodeUs = ((performance.now() - encodeStart) * 1000) / rounds;
    const decodeStart = performance.now();
    for (let i = 0; i < rounds; i++) decodeMessage(codec, encoded, version);
    const decodeUs = ((performance.now() - decodeStart) * 1000) / rounds;
    return { bytes, encodeUs: Math.round(encodeUs * 100) / 100, decodeUs: Math.round(decodeUs * 100) / 100 };
  };
  const request = createTopicRequest(partitionsPerTopic);
  const answer: CreateTopicsResponseData = {
    ...CreateTopicsResponse.defaults(),
    topics: [
      {
        name: request.topics[0]!.name,
        topicId: ZERO_UUID,
        errorCode: 0,
        errorMessage: null,
        topicConfigErrorCode: 0,
        numPartitions: partitionsPerTopic,
        replicationFactor: 1,
        configs: null,
      },
    ],
  };
  return {
    createTopicsRequest: time(CreateTopicsRequest, request, CreateTopicsRequest.highestVersion),
    createTopicsResponse: time(CreateTopicsResponse, answer, CreateTopicsResponse.highestVersion),
  };
};

const startCluster = async (timeouts: readonly (readonly [string, string | number])[]) => {
  const cluster = await LocalCluster.create(3, 2, timeouts);
  cluster.startAll();
  await cluster.waitForLeader(60_000);
  for (const b of cluster.brokers)
    await waitFor(
      `broker ${b.id} to run`,
      async () => ((await cluster.status(b.id)).brokerState === "RUNNING" ? true : undefined),
      60_000,
    );
  return cluster;
};

/** kill -9 the active controller, then write through every survivor until one commits. */
const failover = async (
  label: string,
  timeouts: readonly (readonly [string, string | number])[],
  fetchTimeoutMs: number,
) => {
  const cluster = await startCluster(timeouts);
  const samples: number[] = [];
  try {
    for (let trial = 0; trial < trials; trial++) {
      const leader = await cluster.waitForLeader(60_000);
      const survivors = cluster.controllers.filter((c) => c.id !== leader.nodeId);
      const clients = await Promise.all(survivors.map((c) => KafkaClient.connect(c.address)));
      const killedAt = performance.now();
      await cluster.kill(leader.nodeId);
      let elapsed = -1;
      while (elapsed < 0) {
        const answers = await Promise.all(
          clients.map((client) => createTopics(client, createTopicRequest(1), 60_000).catch(() => null)),
        );
        if (answers.some((a) => a !== null && created(a))) elapsed = performance.now() - killedAt;
        else await sleep(2);
        if (performance.now() - killedAt > 120_000)
          throw new Error(`${label}: no write committed within 120 s`);
      }
      for (const c of clients) c.close();
      samples.push(elapsed);
      progress(
        `${label} trial ${trial + 1}/${trials}: ${elapsed.toFixed(0)} ms (killed node ${leader.nodeId})`,
      );
      cluster.start(leader.nodeId);
      const next = await cluster.waitForLeader(60_000);
      await waitFor(
        `node ${leader.nodeId} to catch up`,
        async () => {
          const s = await cluster.status(leader.nodeId);
          return s.leaderId === next.nodeId && s.highWatermark >= next.highWatermark ? true : undefined;
        },
        60_000,
      );
    }
  } finally {
    await cluster.destroy();
  }
  return { fetchTimeoutMs, targetP50Ms: fetchTimeoutMs + 300, ...summary(samples) };
};

const steady = async () => {
  const cluster = await startCluster([]);
  try {
    await sleep(3000);
    /** Each node's figure from its metrics, in MiB. */
    const memoryNow = async (metric: string) =>
      Object.fromEntries(
        await Promise.all(
          cluster.nodes.map(async (n) => {
            const match = new RegExp(`${metric} (\\d+)`).exec(await cluster.metrics(n.id));
            return [`${n.id}:${n.roles}`, Math.round(Number(match?.[1]) / 1024 / 1024)] as const;
          }),
        ),
      );
    const rssNow = () => memoryNow("process_resident_memory_bytes");
    const idleRss = await rssNow();
    progress(`idle RSS (MiB): ${JSON.stringify(idleRss)}`);

    const leader = await cluster.waitForLeader(10_000);
    const client = await KafkaClient.connect(cluster.node(leader.nodeId).address);
    // CPU seconds each node process used (Linux /proc; null elsewhere).
    const cpuSeconds = (): (number | null)[] =>
      cluster.nodes.map((n) => {
        try {
          const fields = readFileSync(`/proc/${cluster.pid(n.id)}/stat`, "utf8")
            .split(") ")[1]!
            .split(" ");
          return (Number(fields[11]) + Number(fields[12])) / 100;
        } catch {
          return null;
        }
      });
    /** Each node's CPU microseconds per unit of work between `before` and `after`, by "id:role". */
    const cpuPer = (before: (number | null)[], units: number, after = cpuSeconds()) => {
      return Object.fromEntries(
        cluster.nodes.map((n, i) => {
          const used = after[i] === null || before[i] === null ? null : after[i]! - before[i]!;
          const role = n.id === leader.nodeId ? "active-controller" : n.roles;
          return [`${n.id}:${role}`, used === null ? null : Math.round((used * 1e6) / units)];
        }),
      );
    };
    // Single writes, one at a time.
    const commit: number[] = [];
    let commitCpuBefore = cpuSeconds();
    for (let i = 0; i < commitSamples + 50; i++) {
      if (i === 50) commitCpuBefore = cpuSeconds();
      const started = performance.now();
      const answer = await createTopics(client, createTopicRequest(1));
      const took = performance.now() - started;
      if (!created(answer)) throw new Error(`commit sample ${i}: ${JSON.stringify(answer)}`);
      if (i >= 50) commit.push(took);
    }
    const commitLatency = {
      ...summary(commit),
      cpuMicrosecondsPerCommit: cpuPer(commitCpuBefore, commitSamples),
    };
    progress(`commit latency: ${JSON.stringify(commitLatency)}`);

    // Propagation: answered at commit by the controller → served by each broker.
    const brokerClients = await Promise.all(cluster.brokers.map((b) => KafkaClient.connect(b.address)));
    const propagation: number[] = [];
    for (let i = 0; i < 100; i++) {
      const request = createTopicRequest(1);
      const name = request.topics[0]!.name;
      const answer = await createTopics(client, request);
      const committedAt = performance.now();
      if (!created(answer)) throw new Error(`propagation sample ${i}: ${JSON.stringify(answer)}`);
      await Promise.all(
        brokerClients.map(async (b) => {
          for (;;) {
            const r = await b.request(MetadataRequest, MetadataResponse, {
              ...MetadataRequest.defaults(),
              topics: [{ topicId: ZERO_UUID, name }],
              allowAutoTopicCreation: false,
            });
            if (r.topics[0]?.errorCode === 0) break;
          }
          propagation.push(performance.now() - committedAt);
        }),
      );
    }
    for (const b of brokerClients) b.close();
    progress(`propagation: ${JSON.stringify(summary(propagation))}`);

    // Throughput: concurrent CreateTopics, each topic with many partitions (1 + P records).
    const committedTotal = async () =>
      Number(/kraft_committed_records_total (\d+)/.exec(await cluster.metrics(leader.nodeId))?.[1]);
    const loaders = await Promise.all(
      Array.from({ length: throughputClients }, () =>
        KafkaClient.connect(cluster.node(leader.nodeId).address),
      ),
    );
    const cpuBefore = cpuSeconds();
    const before = await committedTotal();
    const started = performance.now();
    const deadline = started + throughputSeconds * 1000;
    let acknowledged = 0;
    let refused = 0;
    await Promise.all(
      loaders.map(async (c) => {
        while (performance.now() < deadline) {
          const answer = await createTopics(c, createTopicRequest(partitionsPerTopic), 60_000);
          if (created(answer)) acknowledged += 1 + partitionsPerTopic;
          else refused++;
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    const after = await committedTotal();
    const cpuAfter = cpuSeconds();
    for (const c of loaders) c.close();
    client.close();
    const throughput = {
      seconds: Math.round(seconds * 100) / 100,
      clients: throughputClients,
      partitionsPerTopic,
      committedRecordsPerSecond: Math.round((after - before) / seconds),
      acknowledgedRecordsPerSecond: Math.round(acknowledged / seconds),
      refusedRequests: refused,
      // Every node replays every record: this is where the machine's cores go.
      cpuMicrosecondsPerRecord: cpuPer(cpuBefore, Math.max(1, after - before), cpuAfter),
      cores: availableParallelism(),
    };
    progress(`throughput: ${JSON.stringify(throughput)}`);
    // Idle again after the load: what the image and the heap kept.
    await sleep(3000);
    const afterLoadRss = await rssNow();
    progress(`RSS after the load (MiB): ${JSON.stringify(afterLoadRss)}`);
    await sleep(settleSeconds * 1000);
    const settledRss = await rssNow();
    const settledHeap = await memoryNow("nodejs_heap_size_used_bytes");
    progress(
      `${settleSeconds} s later, RSS ${JSON.stringify(settledRss)}, heap used ${JSON.stringify(settledHeap)}`,
    );
    return {
      commitMs: commitLatency,
      propagationMs: summary(propagation),
      throughput,
      idleRssMiB: idleRss,
      rssAfterLoadMiB: afterLoadRss,
      rssSettledMiB: settledRss,
      heapUsedSettledMiB: settledHeap,
    };
  } finally {
    await cluster.destroy();
  }
};

type SteadyRun = Awaited<ReturnType<typeof steady>>;

/** The median of each steady-state figure over the runs, with its range. */
const medians = (all: readonly SteadyRun[]) => {
  const figure = (pick: (run: SteadyRun) => number) => {
    const values = all.map(pick).sort((a, b) => a - b);
    const mid = values.length >> 1;
    const median = values.length % 2 === 1 ? values[mid]! : (values[mid - 1]! + values[mid]!) / 2;
    return { median: Math.round(median * 100) / 100, min: values[0]!, max: values.at(-1)! };
  };
  // CPU per record or commit by role: the active controller's id changes from run to run.
  const cpu = (perNode: Record<string, number | null>, role: string) => {
    const used = Object.entries(perNode)
      .filter(([label, us]) => label.endsWith(`:${role}`) && us !== null)
      .map(([, us]) => us as number);
    return used.length === 0 ? Number.NaN : used.reduce((a, b) => a + b, 0) / used.length;
  };
  const largestOf = (rss: Record<string, number>) => Math.max(...Object.values(rss));
  return {
    runs: all.length,
    commitP50Ms: figure((r) => r.commitMs.p50),
    commitP99Ms: figure((r) => r.commitMs.p99),
    propagationP50Ms: figure((r) => r.propagationMs.p50),
    propagationP99Ms: figure((r) => r.propagationMs.p99),
    committedRecordsPerSecond: figure((r) => r.throughput.committedRecordsPerSecond),
    cpuMicrosecondsPerCommit: {
      activeController: figure((r) => cpu(r.commitMs.cpuMicrosecondsPerCommit, "active-controller")),
      otherController: figure((r) => cpu(r.commitMs.cpuMicrosecondsPerCommit, "controller")),
      broker: figure((r) => cpu(r.commitMs.cpuMicrosecondsPerCommit, "broker")),
    },
    cpuMicrosecondsPerRecord: {
      activeController: figure((r) => cpu(r.throughput.cpuMicrosecondsPerRecord, "active-controller")),
      otherController: figure((r) => cpu(r.throughput.cpuMicrosecondsPerRecord, "controller")),
      broker: figure((r) => cpu(r.throughput.cpuMicrosecondsPerRecord, "broker")),
    },
    largestIdleRssMiB: figure((r) => largestOf(r.idleRssMiB)),
    largestRssAfterLoadMiB: figure((r) => largestOf(r.rssAfterLoadMiB)),
    largestRssSettledMiB: figure((r) => largestOf(r.rssSettledMiB)),
    largestHeapUsedSettledMiB: figure((r) => largestOf(r.heapUsedSettledMiB)),
  };
};

const result: Record<string, unknown> = {
  node: process.version,
  cluster: "3 controllers + 2 brokers, separate processes on 127.0.0.1, fsync on",
  protocol:
    "Kafka's binary protocol (CreateTopics to the active controller's listener, Metadata from brokers)",
  codecMicroseconds: codecCost(),
};
if (!skip.has("steady")) {
  const all: SteadyRun[] = [];
  for (let run = 1; run <= runs; run++) {
    progress(`steady-state run ${run}/${runs}`);
    all.push(await steady());
  }
  result["steady"] = medians(all);
  result["steadyRuns"] = all;
}
if (!skip.has("failover-fast"))
  result["failoverFastMs"] = await failover("failover (10x shorter timeouts)", FAST_TIMEOUTS, 200);
if (!skip.has("failover-default"))
  result["failoverDefaultMs"] = await failover("failover (Kafka defaults)", [], 2000);
process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
