// A local cluster of real node processes for the integration tests and the cluster benchmark: the
// same formatting and process start as `kraft cluster up`, on free ports, with helpers to kill,
// restart and query nodes. Nothing here decides protocol behaviour; it only drives processes.
import { type ChildProcess, spawn } from "node:child_process";
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BrokerRegistration, TopicView } from "../../spec/metadata/image.ts";
import type { CreatableTopicResult, MetadataErrorCode } from "../../spec/metadata/requests.ts";
import {
  type ClusterNode,
  kraftBin,
  NODE_PROCESS_FLAGS,
  prepareCluster,
  type QuorumShape,
} from "../cli/cluster.ts";
import { requestOnce } from "../kafka/client.ts";
import { errorName } from "../kafka/errors.ts";
import { CreateTopicsRequest, CreateTopicsResponse } from "../kafka/generated/messages.ts";
import { ZERO_UUID } from "../kafka/wire.ts";
import type { NodeStatus } from "../runtime/node.ts";

export { kraftBin };

/** Timeouts short enough for tests, long enough for a loaded two-core machine. */
export const TEST_TIMEOUTS: readonly (readonly [string, number])[] = [
  ["controller.quorum.election.timeout.ms", 300],
  ["controller.quorum.election.backoff.max.ms", 300],
  ["controller.quorum.fetch.timeout.ms", 600],
  ["controller.quorum.fetch.max.wait.ms", 100],
  ["controller.quorum.request.timeout.ms", 600],
  ["broker.session.timeout.ms", 1800],
  ["broker.heartbeat.interval.ms", 300],
];

const portIsFree = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });

/** The OS's ephemeral port range (Linux's default when /proc says nothing). */
export const ephemeralPortRange = (): { readonly low: number; readonly high: number } => {
  try {
    const [low, high] = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8")
      .trim()
      .split(/\s+/)
      .map(Number);
    if (Number.isInteger(low) && Number.isInteger(high)) return { low: low!, high: high! };
  } catch {
    // Not Linux: assume its default.
  }
  return { low: 32768, high: 60999 };
};

/**
 * A base port P such that P+1..P+n and P+101..P+100+n are all free now, below the OS's ephemeral
 * range (there an outgoing connection can take a node's port before the node binds it). With a
 * `seed`, the first block tried is the seed's, so a seeded run uses the same ports when they are free.
 */
export const freeBasePort = async (nodes: number, seed?: number): Promise<number> => {
  const { low } = ephemeralPortRange();
  const first = 10_000;
  const blocks = Math.max(1, Math.floor((Math.min(low, 65_536) - first - 200) / 200));
  for (let attempt = 0; attempt < 50; attempt++) {
    const block =
      seed === undefined ? Math.floor(Math.random() * blocks) : (Math.abs(seed) + attempt) % blocks;
    const base = first + 200 * block;
    let free = true;
    for (let i = 1; i <= nodes && free; i++)
      free = (await portIsFree(base + i)) && (await portIsFree(base + 100 + i));
    if (free) return base;
  }
  throw new Error("no free block of ports below the ephemeral range found for a local cluster");
};

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Poll `probe` until it returns a value other than undefined, or fail after `timeoutMs`. */
export const waitFor = async <A>(
  what: string,
  probe: () => Promise<A | undefined>,
  timeoutMs: number,
  everyMs = 50,
): Promise<A> => {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown = null;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${lastError === null ? "" : ` (last error: ${String(lastError)})`}`,
      );
    await sleep(everyMs);
  }
};

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export class LocalCluster {
  readonly dir: string;
  readonly clusterId: string;
  readonly nodes: readonly ClusterNode[];
  private readonly processes = new Map<number, ChildProcess>();
  private readonly exits = new Map<number, Promise<Exit>>();

  private constructor(dir: string, clusterId: string, nodes: readonly ClusterNode[]) {
    this.dir = dir;
    this.clusterId = clusterId;
    this.nodes = nodes;
  }

  /** Format a fresh cluster in a temporary directory; nothing is started yet. */
  static async create(
    controllers: number,
    brokers: number,
    timeouts: readonly (readonly [string, string | number])[] = TEST_TIMEOUTS,
    quorum: QuorumShape = { _tag: "Static" },
  ): Promise<LocalCluster> {
    const dir = mkdtempSync(join(tmpdir(), "openkraft-cluster-"));
    const base = await freeBasePort(controllers + brokers);
    const file = prepareCluster(dir, controllers, brokers, base, timeouts, quorum);
    return new LocalCluster(dir, file.clusterId, file.nodes);
  }

  node(id: number): ClusterNode {
    const n = this.nodes.find((x) => x.id === id);
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  }

  get controllers(): readonly ClusterNode[] {
    return this.nodes.filter((n) => n.roles === "controller");
  }

  get brokers(): readonly ClusterNode[] {
    return this.nodes.filter((n) => n.roles === "broker");
  }

  /** Start a node's process (its log goes to node.log, appended). */
  start(id: number): ChildProcess {
    const node = this.node(id);
    if (this.isRunning(id)) throw new Error(`node ${id} is already running`);
    const child = spawn(
      process.execPath,
      [...NODE_PROCESS_FLAGS, kraftBin, "start", "--config", node.config],
      {
        stdio: ["ignore", "ignore", "pipe"],
      },
    );
    let stderr = "";
    const logFile = join(node.dir, "node.log");
    child.stderr?.on("data", (chunk: Buffer) => {
      appendFileSync(logFile, chunk);
      stderr += chunk.toString("utf8");
      if (stderr.length > 1_000_000) stderr = stderr.slice(-500_000);
    });
    this.processes.set(id, child);
    this.stderrOf.set(id, () => stderr);
    this.exits.set(
      id,
      new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal }))),
    );
    return child;
  }

  private readonly stderrOf = new Map<number, () => string>();

  /** What a node wrote on stderr (its JSON log lines) since its last start. */
  stderr(id: number): string {
    return this.stderrOf.get(id)?.() ?? "";
  }

  startAll(): void {
    for (const n of this.nodes) this.start(n.id);
  }

  isRunning(id: number): boolean {
    const child = this.processes.get(id);
    return child !== undefined && child.exitCode === null && child.signalCode === null;
  }

  exited(id: number): Promise<Exit> {
    const exit = this.exits.get(id);
    if (exit === undefined) throw new Error(`node ${id} was never started`);
    return exit;
  }

  pid(id: number): number {
    const pid = this.processes.get(id)?.pid;
    if (pid === undefined) throw new Error(`node ${id} has no process`);
    return pid;
  }

  /** kill -9. */
  async kill(id: number): Promise<void> {
    if (!this.isRunning(id)) return;
    this.processes.get(id)?.kill("SIGKILL");
    await this.exited(id);
  }

  /** SIGTERM and wait for a clean exit (SIGKILL after `graceMs`). */
  async stop(id: number, graceMs = 15_000): Promise<Exit> {
    const child = this.processes.get(id);
    if (child === undefined || !this.isRunning(id))
      return (await this.exits.get(id)) ?? { code: 0, signal: null };
    const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
    child.kill("SIGTERM");
    const exit = await this.exited(id);
    clearTimeout(timer);
    return exit;
  }

  /** Stop brokers, then controllers, as `kraft cluster up` does. */
  async stopAll(): Promise<void> {
    await Promise.all(this.brokers.map((n) => this.stop(n.id)));
    await Promise.all(this.controllers.map((n) => this.stop(n.id)));
  }

  async destroy(): Promise<void> {
    for (const id of this.processes.keys()) await this.kill(id);
    rmSync(this.dir, { recursive: true, force: true });
  }

  async status(id: number): Promise<NodeStatus> {
    const url = this.node(id).metrics.replace(/\/metrics$/, "/status");
    const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
    return (await response.json()) as NodeStatus;
  }

  async metrics(id: number): Promise<string> {
    const response = await fetch(this.node(id).metrics, { signal: AbortSignal.timeout(2000) });
    return await response.text();
  }

  /** What node `id`'s committed image holds (`/image` on its metrics port). */
  async image(id: number): Promise<{ readonly brokers: BrokerRegistration[]; readonly topics: TopicView[] }> {
    const url = this.node(id).metrics.replace(/\/metrics$/, "/image");
    const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
    return (await response.json()) as { brokers: BrokerRegistration[]; topics: TopicView[] };
  }

  /** The leader every running controller agrees on, once they do. */
  async waitForLeader(timeoutMs: number, exclude: readonly number[] = []): Promise<NodeStatus> {
    return waitFor(
      "a leader all running controllers agree on",
      async () => {
        const running = this.controllers.filter((n) => this.isRunning(n.id) && !exclude.includes(n.id));
        const statuses = await Promise.all(running.map((n) => this.status(n.id)));
        const leader = statuses.find((s) => s.role === "Leader" && s.activeController);
        if (leader === undefined || exclude.includes(leader.nodeId)) return undefined;
        return statuses.every((s) => s.leaderId === leader.nodeId && s.epoch === leader.epoch)
          ? leader
          : undefined;
      },
      timeoutMs,
    );
  }

  /** Create topics through `via`; resolves with the controller's per-topic results. */
  async createTopic(
    via: number,
    name: string,
    numPartitions = -1,
    replicationFactor = -1,
  ): Promise<CreatableTopicResult> {
    // Over Kafka's protocol, as a client would: a broker passes it on to the active controller.
    const response = await requestOnce(
      this.node(via).address,
      CreateTopicsRequest,
      CreateTopicsResponse,
      {
        ...CreateTopicsRequest.defaults(),
        topics: [{ name, numPartitions, replicationFactor, assignments: [], configs: [] }],
      },
      { timeoutMs: 5000, write: true },
    );
    const topic = response.topics[0];
    if (topic === undefined) throw new Error(`CreateTopics through node ${via} answered no topic`);
    return {
      name: topic.name,
      topicId: topic.topicId === ZERO_UUID ? null : topic.topicId,
      errorCode: errorName(topic.errorCode) as MetadataErrorCode,
      errorMessage: topic.errorMessage,
      numPartitions: topic.numPartitions,
      replicationFactor: topic.replicationFactor,
    };
  }

  /** The topics node `id` serves from its committed image. */
  async topics(id: number): Promise<TopicView[]> {
    return (await this.image(id)).topics;
  }

  async brokersSeenBy(id: number): Promise<BrokerRegistration[]> {
    return (await this.image(id)).brokers;
  }
}
