// The deterministic simulator of the real runtime: N real node drivers (src/runtime/node.ts, with the
// real LogStore, quorum-state file and codec) in one process, on a simulated network and simulated
// disks, driven by one seeded scheduler. Faults (crashes that lose unsynced writes, graceful restarts,
// partitions, connection resets, full disks, failing fsyncs) and admin clients are drawn from the seed.
// After every event it checks the model checker's cluster properties; after the faults it heals
// everything and checks that the cluster makes progress and kept every acknowledged write.

import { topicsOf } from "../../../spec/metadata/image.ts";
import { SUPPORTED_KRAFT_VERSIONS } from "../../../spec/raft/primitives.ts";
import { Random } from "../../checker/random.ts";
import { KafkaError } from "../../kafka/errors.ts";
import { readResponseFrame, requestFrame } from "../../kafka/frames.ts";
import { CreateTopicsRequest, CreateTopicsResponse } from "../../kafka/generated/messages.ts";
import { randomUuid } from "../../kafka/wire.ts";
import {
  controllerListeners,
  type NodeConfig,
  nodeConfigFrom,
  parseProperties,
  renderProperties,
} from "../config.ts";
import type { Log } from "../log.ts";
import { ILLEGAL_STATE_DEATH, KraftNode } from "../node.ts";
import type { Entropy, NodeServices } from "../services.ts";
import { SnapshotStore } from "../snapshots.ts";
import { writeMetaProperties } from "../storage.ts";
import { SimDisk } from "./disk.ts";
import { SimClientEndpoint, SimNetwork, type SimTransport, simNetwork } from "./network.ts";
import { Scheduler } from "./scheduler.ts";

export interface SimulationOptions {
  readonly seed: number;
  /** Simulated milliseconds of faults and client load. */
  readonly faultMs: number;
  /** Simulated milliseconds the healed cluster has to make progress. */
  readonly healMs: number;
  /** Controllers and brokers as separate processes, or every node both (process.roles=broker,controller). */
  readonly topology: "separate" | "combined";
  /** Whether to inject faults at all (without: a smoke run). */
  readonly faults: boolean;
  /** Disks whose fsync makes nothing durable: to show that the checks catch lost writes. */
  readonly lyingDisks?: boolean;
  /** Properties added to every node's configuration. */
  readonly properties?: Readonly<Record<string, string | number>>;
  /**
   * The controller quorum: static (controller.quorum.voters), or dynamic (KIP-853: formatted with the
   * initial controllers, found through controller.quorum.bootstrap.servers, every controller with
   * controller.quorum.auto.join.enable); a dynamic quorum's faults include replacing a controller's
   * disk (a new directory id, R100). Absent: static.
   */
  readonly quorum?: "static" | "dynamic";
}

export interface SimulationResult {
  readonly seed: number;
  readonly topology: string;
  readonly ok: boolean;
  readonly violations: readonly string[];
  readonly simulatedMs: number;
  readonly events: number;
  readonly faults: Readonly<Record<string, number>>;
  readonly clients: { readonly acknowledged: number; readonly refused: number; readonly unknown: number };
  readonly committedOffset: number;
  readonly maxEpoch: number;
  /** Snapshots the nodes wrote, and downloaded from a leader and installed (R77, R83). */
  readonly snapshots: { readonly written: number; readonly installed: number };
  /** The last lines each node logged, when the run failed. */
  readonly logTail: readonly string[];
}

const CLUSTER_ID = "c2ltdWxhdGVkY2x1c3Rlcg";
const CONTROLLER_PORT = 9093;
const INTERNAL_CONTROLLER_PORT = 9193;
const BROKER_PORT = 9092;
/** The client's id on the network (never partitioned). */
const CLIENT_NODE = 1000;
const LOG_LINES_KEPT = 60;

/** An admin client's CreateTopics of one partition with the default replication factor. */
/** An admin client's CreateTopics of one topic, as Kafka's CreateTopics v7 request frame body. */
const createTopicFrame = (name: string, correlationId: number): Uint8Array =>
  requestFrame(
    CreateTopicsRequest,
    {
      ...CreateTopicsRequest.defaults(),
      topics: [{ name, numPartitions: 1, replicationFactor: -1, assignments: [], configs: [] }],
    },
    correlationId,
    "sim-admin",
    CREATE_TOPICS_VERSION,
  ).body;
const CREATE_TOPICS_VERSION = 7;

/** A per-node Entropy from the run's seed. */
const entropyOf = (random: Random): Entropy => ({
  next: () => random.next(),
  bytes: (n) => Uint8Array.from({ length: n }, () => random.below(256)),
});

class SimNode {
  node: KraftNode | null = null;
  incarnation = 0;
  /** Why it is down (crash, death, stop), or null when up. */
  down: string | null = "not started";
  readonly lines: string[] = [];
  /** Highest high watermark seen in this incarnation. */
  highWatermark = 0;
  /** Offsets below this were compared with the committed log in this incarnation. */
  checked = 0;
  wasLeaderInEpoch = -1;
  restart: (() => void) | null = null;
  transport: SimTransport | null = null;

  readonly id: number;
  readonly config: NodeConfig;
  /** Replaced whole when the disk is (a dynamic quorum's fault). */
  disk: SimDisk;
  /** The directory id in its meta.properties (R5). */
  directoryId: string;
  readonly random: Random;

  constructor(id: number, config: NodeConfig, disk: SimDisk, directoryId: string, random: Random) {
    this.id = id;
    this.config = config;
    this.disk = disk;
    this.directoryId = directoryId;
    this.random = random;
  }

  get isController(): boolean {
    return this.config.roles.includes("controller");
  }

  get isBroker(): boolean {
    return this.config.roles.includes("broker");
  }

  get brokerAddress(): string {
    return `n${this.id}:${BROKER_PORT}`;
  }
}

const CONTROLLERS = [1, 2, 3];

/**
 * A node's properties: a static quorum's controller.quorum.voters, or a dynamic one's
 * controller.quorum.bootstrap.servers with auto-join on every controller.
 */
const propertiesFor = (id: number, roles: string, dynamic: boolean, listeners: string): string =>
  renderProperties([
    ["node.id", id],
    ["process.roles", roles],
    dynamic
      ? ["controller.quorum.bootstrap.servers", CONTROLLERS.map((c) => `n${c}:${CONTROLLER_PORT}`).join(",")]
      : ["controller.quorum.voters", CONTROLLERS.map((c) => `${c}@n${c}:${CONTROLLER_PORT}`).join(",")],
    ...(dynamic && roles.includes("controller")
      ? [["controller.quorum.auto.join.enable", "true"] as const]
      : []),
    ["listeners", listeners],
    ["log.dirs", `/n${id}`],
    // Small segments, so that rolls (and their syncs) happen within a run.
    ["metadata.log.segment.bytes", 16384],
    ["default.replication.factor", 2],
  ]);

export class Simulation {
  readonly scheduler = new Scheduler();
  private readonly random: Random;
  private readonly network: SimNetwork;
  private readonly nodes: SimNode[] = [];
  private readonly violations: string[] = [];
  /** The committed log as every node has reported it: entry JSON by offset. */
  private readonly committed: string[] = [];
  /** The leader of each epoch. */
  private readonly leaders = new Map<number, number>();
  private readonly faultCounts: Record<string, number> = {};
  private readonly snapshotCounts = { written: 0, installed: 0 };
  private readonly acknowledged = new Set<string>();
  private refused = 0;
  private unknown = 0;
  private nextTopic = 0;
  private nextCorrelationId = 1;
  private readonly clients = new Map<string, SimClientEndpoint>();
  /** Node stops and starts in progress (promises the run loop must let settle). */
  private asyncPending = 0;

  readonly options: SimulationOptions;
  private readonly directoryRandom: Random;

  constructor(options: SimulationOptions) {
    this.options = options;
    this.directoryRandom = new Random(options.seed ^ 0xd15c);
    this.random = new Random(options.seed);
    this.network = new SimNetwork(this.scheduler, new Random(options.seed ^ 0x5eed));
    const dynamic = options.quorum === "dynamic";
    const directoryIds = new Map(CONTROLLERS.map((id) => [id, this.newDirectoryId(id)]));
    const specs: { id: number; text: string }[] =
      options.topology === "combined"
        ? CONTROLLERS.map((id) => ({
            id,
            text: propertiesFor(
              id,
              "broker,controller",
              dynamic,
              `PLAINTEXT://n${id}:${BROKER_PORT},CONTROLLER://n${id}:${CONTROLLER_PORT}`,
            ),
          }))
        : [
            // A dynamic quorum's controllers serve two controller listeners (controller.listener.names):
            // voter entries name both (R95, R99), and peers dial the first.
            ...CONTROLLERS.map((id) => ({
              id,
              text:
                propertiesFor(
                  id,
                  "controller",
                  dynamic,
                  `CONTROLLER://n${id}:${CONTROLLER_PORT}${dynamic ? `,INTERNAL://n${id}:${INTERNAL_CONTROLLER_PORT}` : ""}`,
                ) + (dynamic ? renderProperties([["controller.listener.names", "CONTROLLER,INTERNAL"]]) : ""),
            })),
            ...[4, 5].map((id) => ({
              id,
              text: propertiesFor(id, "broker", dynamic, `PLAINTEXT://n${id}:${BROKER_PORT}`),
            })),
          ];
    for (const { id, text } of specs) {
      const random = new Random((options.seed * 31 + id) | 0);
      const extra = Object.entries(options.properties ?? {});
      const config = nodeConfigFrom(
        parseProperties(extra.length === 0 ? text : text + renderProperties(extra)),
      );
      const directoryId = directoryIds.get(id) ?? this.newDirectoryId(id);
      const disk = this.formattedDisk(random, config, directoryId, dynamic ? [...directoryIds] : "none");
      this.nodes.push(new SimNode(id, config, disk, directoryId, random));
    }
  }

  /**
   * A directory id for node `id`'s disk: a static quorum's are plain names (they are never compared),
   * a dynamic quorum's Uuids from their own stream, so that the run's other draws stay as they were.
   */
  private newDirectoryId(id: number): string {
    if (this.options.quorum !== "dynamic") return `dir${id}`;
    return randomUuid(() => Uint8Array.from({ length: 16 }, () => this.directoryRandom.below(256)));
  }

  /**
   * A disk as `kraft format` leaves it: meta.properties, and for a dynamic quorum's controller the
   * bootstrap checkpoint (R92) naming the `initial` voters, or none ("observer":
   * --no-initial-controllers); "none": a static quorum's, or a broker's.
   */
  private formattedDisk(
    random: Random,
    config: NodeConfig,
    directoryId: string,
    initial: readonly (readonly [number, string])[] | "observer" | "none",
  ): SimDisk {
    const disk = new SimDisk(random, (ms, fn) => this.scheduler.after(ms, fn));
    disk.mkdirp(config.logDir);
    if (initial !== "none" && config.roles.includes("controller")) {
      const metadataDir = `${config.logDir}/__cluster_metadata-0`;
      disk.mkdirp(metadataDir);
      new SnapshotStore(metadataDir, disk).writeBootstrap(
        initial === "observer"
          ? { kraftVersion: 1 }
          : {
              kraftVersion: 1,
              voters: initial.map(([id, dir]) => ({
                id,
                directoryId: dir,
                listeners: [{ name: "CONTROLLER", host: `n${id}`, port: CONTROLLER_PORT }],
                supportedKraftVersions: SUPPORTED_KRAFT_VERSIONS,
              })),
            },
        this.scheduler.now,
      );
    }
    writeMetaProperties(config.logDir, { clusterId: CLUSTER_ID, nodeId: config.nodeId, directoryId }, disk);
    disk.faults.liesAboutSync = this.options.lyingDisks === true;
    return disk;
  }

  private count(fault: string): void {
    this.faultCounts[fault] = (this.faultCounts[fault] ?? 0) + 1;
  }

  private violate(what: string): void {
    if (this.violations.length < 20) this.violations.push(`t=${this.scheduler.now}ms: ${what}`);
  }

  private logFor(n: SimNode): Log {
    const line = (level: string) => (message: string, fields?: Record<string, unknown>) => {
      const status = n.node?.status();
      const text = `t=${this.scheduler.now} n${n.id}#${n.incarnation} ${level} ${status === undefined ? "" : `${status.role}@${status.epoch} `}${message}${fields === undefined ? "" : ` ${JSON.stringify(fields)}`}`;
      n.lines.push(text);
      if (n.lines.length > LOG_LINES_KEPT) n.lines.shift();
      // What the node's log says it did with snapshots (src/runtime/node.ts logs each once).
      if (message === "wrote a metadata snapshot") this.snapshotCounts.written++;
      if (message === "installed a snapshot downloaded from the leader") this.snapshotCounts.installed++;
    };
    return { info: line("INFO"), warn: line("WARN"), error: line("ERROR") };
  }

  // ---- node lifecycle ----------------------------------------------------------------------------

  private start(n: SimNode): void {
    if (n.down === null) return;
    const incarnation = ++n.incarnation;
    const alive = () => n.incarnation === incarnation && n.down === null;
    const network = simNetwork(this.network, n.id, alive);
    const services: NodeServices = {
      clock: this.scheduler.clockFor(alive),
      entropy: entropyOf(n.random),
      disk: n.disk,
      network,
      log: this.logFor(n),
      processLocal: false,
    };
    let node: KraftNode;
    try {
      node = KraftNode.open(n.config, services);
    } catch (error) {
      this.violate(`node ${n.id} could not start: ${(error as Error).message}`);
      return;
    }
    n.node = node;
    n.transport = network.last;
    n.down = null;
    n.highWatermark = 0;
    n.checked = 0;
    n.wasLeaderInEpoch = -1;
    node.onFatal.push((reason) => {
      if (n.node !== node) return;
      this.count("deaths");
      n.lines.push(`t=${this.scheduler.now} n${n.id} DIED ${reason}`);
      // A disk that fails a node is a fault; the Raft layer saying the impossible happened is a bug
      // (R136), even though the restart would recover, as Kafka's halt and restart do.
      if (reason.startsWith(ILLEGAL_STATE_DEATH)) this.violate(`node ${n.id} died: ${reason}`);
      this.kill(n, "died");
      this.restartLater(n, 500 + this.random.below(2500));
    });
    this.asyncPending++;
    node.start().then(
      () => this.asyncPending--,
      (error: Error) => {
        // Its disk failed it at start (kraft start exits 1 with one line): a restart may succeed.
        this.asyncPending--;
        if (n.node !== node) return;
        this.count("failedStarts");
        n.lines.push(`t=${this.scheduler.now} n${n.id} FAILED TO START ${error.message}`);
        void node.close();
        this.kill(n, "failed to start");
        this.restartLater(n, 500 + this.random.below(2500));
      },
    );
  }

  /** Power loss: unsynced writes may be lost or torn, connections close, timers stop. */
  private kill(n: SimNode, why: string): void {
    if (n.down !== null) return;
    n.down = why;
    if (n.transport !== null) this.network.crashed(n.transport);
    n.transport = null;
    n.node = null;
    n.disk.crash();
  }

  /**
   * A controller's disk is replaced (a dynamic quorum's fault): the machine goes down, the new disk
   * is formatted as an observer's with a new directory id (R100), and the node starts again soon,
   * often before the others have elected anew: if it led, they still name its id as their leader.
   * With auto-join it has its old entry removed and itself added (R150).
   */
  private replaceDisk(n: SimNode): void {
    this.kill(n, "disk replaced");
    n.restart?.();
    n.restart = null;
    n.directoryId = this.newDirectoryId(n.id);
    n.disk = this.formattedDisk(n.random, n.config, n.directoryId, "observer");
    this.restartLater(n, this.random.below(400));
  }

  /** How a node ended a failed run: its role and epoch, its log, and the voters it uses. */
  private finalLine(n: SimNode): string {
    const node = n.node;
    if (node === null || n.down !== null) return `n${n.id} at the end: down (${n.down})`;
    const s = node.status();
    const voters = node
      .raftVoters()
      .map((v) => `${v.id}${v.directoryId === undefined ? "" : `:${v.directoryId.slice(0, 4)}`}`)
      .join(",");
    return `n${n.id} at the end: ${s.role}@${s.epoch} leader=${s.leaderId} log=${s.logStartOffset}..${s.logEndOffset} hw=${s.highWatermark} voters=[${voters}] disk=${n.directoryId.slice(0, 4)}`;
  }

  /**
   * Whether the leader's voter set is every controller, under the directory id its disk has now and
   * naming every controller listener it has (R99: a controller with two corrects the one listener its
   * format named), and committed: a disk replaced while an addition is uncommitted could leave the
   * committed set's majority on the lost disk.
   */
  private votersWhole(): boolean {
    const leader = this.nodes.find((n) => n.down === null && n.node?.status().role === "Leader")?.node;
    if (leader == null || !leader.voterSetCommitted()) return false;
    const named = (listeners: readonly { name: string; host: string; port: number }[]) =>
      listeners
        .map((l) => `${l.name}@${l.host}:${l.port}`)
        .sort()
        .join("+");
    const keys = leader
      .raftVoters()
      .map((v) => `${v.id}:${v.directoryId}:${named(v.listeners ?? [])}`)
      .sort();
    const current = this.nodes
      .filter((n) => n.isController)
      .map((n) => `${n.id}:${n.directoryId}:${named(controllerListeners(n.config))}`)
      .sort();
    return keys.join(",") === current.join(",");
  }

  private restartLater(n: SimNode, ms: number): void {
    n.restart?.();
    n.restart = this.scheduler.after(ms, () => {
      n.restart = null;
      this.start(n);
    });
  }

  /** A graceful stop (controlled shutdown, resignation), then a restart. */
  private stopGracefully(n: SimNode): void {
    const node = n.node;
    if (node === null || n.down !== null) return;
    this.asyncPending++;
    void node.stop().then(() => {
      this.asyncPending--;
      if (n.node !== node) return;
      n.down = "stopped";
      n.node = null;
      this.restartLater(n, 200 + this.random.below(2000));
    });
  }

  // ---- faults and clients ------------------------------------------------------------------------

  private up(): SimNode[] {
    return this.nodes.filter((n) => n.down === null);
  }

  private pick<A>(items: readonly A[]): A | undefined {
    return items[this.random.below(items.length)];
  }

  private injectFault(): void {
    const ids = this.nodes.map((n) => n.id);
    const target = this.pick(this.up());
    const dynamic = this.options.quorum === "dynamic";
    switch (this.random.below(dynamic ? 8 : 7)) {
      case 0:
        if (target === undefined) return;
        this.count("crashes");
        this.kill(target, "crashed");
        this.restartLater(target, 300 + this.random.below(5000));
        return;
      case 1:
        if (target === undefined) return;
        this.count("gracefulRestarts");
        this.stopGracefully(target);
        return;
      case 2: {
        const isolated = this.pick(ids)!;
        this.count("partitions");
        this.network.partition(isolated, ids);
        this.scheduler.after(500 + this.random.below(6000), () => this.network.heal());
        return;
      }
      case 3: {
        const side = ids.filter(() => this.random.below(2) === 0);
        this.count("splits");
        for (const id of side)
          this.network.partition(
            id,
            ids.filter((o) => !side.includes(o)),
          );
        this.scheduler.after(500 + this.random.below(6000), () => this.network.heal());
        return;
      }
      case 4:
        if (this.network.resetRandomConnection()) this.count("connectionResets");
        return;
      case 5:
        if (target === undefined) return;
        this.count("fullDisks");
        target.disk.faults.full = true;
        this.scheduler.after(500 + this.random.below(3000), () => {
          target.disk.faults.full = false;
        });
        return;
      case 6:
        if (target === undefined) return;
        this.count("failedFsyncs");
        target.disk.faults.failingSyncs = 1 + this.random.below(2);
        return;
      default: {
        // One disk at a time, and only once the quorum holds every controller's current disk: two
        // voters' disks lost together would leave the old keys a majority that can never vote.
        const controller = this.pick(this.nodes.filter((n) => n.isController));
        if (controller === undefined || !this.votersWhole()) return;
        this.count("diskReplacements");
        this.replaceDisk(controller);
        return;
      }
    }
  }

  private client(address: string): SimClientEndpoint {
    let client = this.clients.get(address);
    if (client === undefined) {
      client = new SimClientEndpoint(this.network, CLIENT_NODE);
      this.clients.set(address, client);
    }
    return client;
  }

  /** An admin client creates a topic through a broker; `done` gets whether it was acknowledged. */
  private createTopic(name: string, done?: (acknowledged: boolean) => void): void {
    const broker = this.pick(this.nodes.filter((n) => n.isBroker))!;
    const client = this.client(broker.brokerAddress);
    const correlationId = this.nextCorrelationId++;
    let settled = false;
    const settle = (outcome: "acknowledged" | "refused" | "unknown") => {
      if (settled) return;
      settled = true;
      if (outcome === "acknowledged") this.acknowledged.add(name);
      else if (outcome === "refused") this.refused++;
      else this.unknown++;
      done?.(outcome === "acknowledged");
    };
    const timeout = this.scheduler.after(30_000, () => {
      client.abandon(correlationId);
      settle("unknown");
    });
    client.request(broker.brokerAddress, correlationId, createTopicFrame(name, correlationId), (answer) => {
      timeout();
      if (answer === null) {
        settle("unknown");
        return;
      }
      const code = readResponseFrame(CreateTopicsResponse, answer, CREATE_TOPICS_VERSION).topics[0]
        ?.errorCode;
      // REQUEST_TIMED_OUT (no answer from the controller in time): the topic may exist or not.
      settle(
        code === KafkaError.NONE
          ? "acknowledged"
          : code === KafkaError.REQUEST_TIMED_OUT
            ? "unknown"
            : "refused",
      );
    });
  }

  // ---- properties --------------------------------------------------------------------------------

  private check(): void {
    for (const n of this.nodes) {
      const node = n.node;
      if (node === null || n.down !== null) continue;
      const s = node.status();
      if (s.role === "Leader") {
        const leader = this.leaders.get(s.epoch);
        if (leader === undefined) this.leaders.set(s.epoch, n.id);
        else if (leader !== n.id)
          this.violate(`two leaders in epoch ${s.epoch}: nodes ${leader} and ${n.id}`);
        if (n.wasLeaderInEpoch !== s.epoch) {
          n.wasLeaderInEpoch = s.epoch;
          // A new leader holds every committed entry (leader completeness); those below its log start
          // are in its snapshot (R79).
          for (let offset = s.logStartOffset; offset < this.committed.length; offset++) {
            if (node.entryJson(offset) !== this.committed[offset]) {
              this.violate(
                `node ${n.id} leads epoch ${s.epoch} without the committed entry at offset ${offset} (its log ends at ${s.logEndOffset}, ${this.committed.length} committed)`,
              );
              break;
            }
          }
        }
      }
      if (s.highWatermark < n.highWatermark)
        this.violate(`node ${n.id}'s high watermark went back from ${n.highWatermark} to ${s.highWatermark}`);
      n.highWatermark = Math.max(n.highWatermark, s.highWatermark);
      // Committed entries never change: what any node reports below its high watermark is one log
      // (from its log start: what lies below is in a snapshot, R79).
      for (let offset = Math.max(n.checked, s.logStartOffset); offset < s.highWatermark; offset++) {
        const entry = node.entryJson(offset);
        if (entry === undefined) {
          this.violate(
            `node ${n.id}'s high watermark ${s.highWatermark} is past its log end ${s.logEndOffset}`,
          );
          break;
        }
        const known = this.committed[offset];
        if (known === undefined) this.committed[offset] = entry;
        else if (known !== entry) {
          this.violate(`committed entry at offset ${offset} differs on node ${n.id}: ${entry} vs ${known}`);
          break;
        }
      }
      n.checked = Math.max(n.checked, s.highWatermark);
    }
  }

  /** Why the healed cluster has not yet made progress, or null once it has. */
  private notYetHealed(finalTopic: string, finalAcknowledged: boolean): string | null {
    const down = this.nodes.filter((n) => n.down !== null);
    if (down.length > 0) return `nodes ${down.map((n) => n.id).join(",")} are down`;
    const leaders = this.nodes.filter((n) => n.node?.status().role === "Leader");
    if (leaders.length === 0) return "no leader";
    // R150: every replaced disk has had its old entry removed and itself added.
    if (this.options.quorum === "dynamic" && !this.votersWhole())
      return "the voter set does not hold every controller's current disk and controller listeners";
    for (const n of this.nodes.filter((b) => b.isBroker)) {
      const state = n.node?.status().brokerState;
      if (state !== "RUNNING") return `broker ${n.id} is ${state}`;
    }
    if (!finalAcknowledged) return `the topic ${finalTopic} was not acknowledged`;
    for (const n of this.nodes.filter((b) => b.isBroker)) {
      const image = n.node?.image() ?? null;
      const names = new Set(image === null ? [] : topicsOf(image).map((t) => t.name));
      for (const name of [...this.acknowledged, finalTopic])
        if (!names.has(name)) return `broker ${n.id}'s metadata lacks the acknowledged topic ${name}`;
    }
    return null;
  }

  /**
   * Clients flood a broker whose controllers have all become unreachable: every request it takes in
   * waits on the controller. Returns how many requests the broker took in (it logs when it stops
   * reading), after `requests` were sent and `waitMs` passed.
   */
  async flood(requests: number, waitMs: number): Promise<{ taken: number; paused: boolean }> {
    await this.startAndSettle();
    const broker = this.nodes.find((n) => n.isBroker)!;
    const controllers = this.nodes.filter((n) => n.config.roles.includes("controller")).map((n) => n.id);
    for (const id of controllers) this.network.partition(id, [broker.id]);
    const before = broker.transport?.framesReadInbound ?? 0;
    const client = this.client(broker.brokerAddress);
    for (let i = 0; i < requests; i++) {
      const correlationId = this.nextCorrelationId++;
      client.request(
        broker.brokerAddress,
        correlationId,
        createTopicFrame(`flood-${i}`, correlationId),
        () => {},
      );
    }
    await this.runUntil(this.scheduler.now + waitMs);
    const taken = (broker.transport?.framesReadInbound ?? 0) - before;
    return {
      taken,
      paused: broker.lines.some((l) => l.includes("queued.max.requests client requests are unanswered")),
    };
  }

  /** Every node up, every broker RUNNING, and an active controller. */
  private settled(): boolean {
    return (
      this.nodes.every(
        (n) => n.node !== null && (!n.isBroker || n.node.status().brokerState === "RUNNING"),
      ) && this.nodes.some((n) => n.node?.status().activeController === true)
    );
  }

  /** Start every node, without faults, and run until the cluster has settled (at most 30 s). */
  private async startAndSettle(): Promise<void> {
    for (const n of this.nodes) this.start(n);
    await this.runUntil(30_000, () => this.settled());
  }

  // ---- failover --------------------------------------------------------------------------------------

  /**
   * How long clients wait through a broker when the active controller fails: from its crash (or its
   * isolation by a partition, which looks like a hung process) until a CreateTopics sent through a
   * broker every 100 ms is first acknowledged. Simulated milliseconds, or null if none was within 60 s.
   */
  async failover(how: "crash" | "partition"): Promise<number | null> {
    await this.startAndSettle();
    await this.runUntil(this.scheduler.now + 2_000);
    const active = this.nodes.find((n) => n.node?.status().activeController === true);
    if (active === undefined || !this.settled()) return null;
    const failedAt = this.scheduler.now;
    if (how === "crash") this.kill(active, "crashed");
    else
      this.network.partition(
        active.id,
        this.nodes.map((n) => n.id),
      );
    let acknowledgedAt: number | null = null;
    let next = 0;
    const probe = () => {
      if (acknowledgedAt !== null) return;
      const sentAt = this.scheduler.now;
      this.createTopic(`failover-${next++}`, (ok) => {
        if (ok && acknowledgedAt === null && sentAt >= failedAt) acknowledgedAt = this.scheduler.now;
      });
      this.scheduler.after(100, probe);
    };
    probe();
    await this.runUntil(failedAt + 60_000, () => acknowledgedAt !== null);
    return acknowledgedAt === null ? null : acknowledgedAt - failedAt;
  }

  /**
   * A quorum lost for good: every controller but one crashes. The dials the nodes still up then make
   * to the dead ones over `ms` simulated milliseconds (every one refused), which only the transport's
   * backoff bounds: the Raft layer resends a failed Vote or EndQuorumEpoch at once (R45, R72) and an
   * observer tries the next voter at once (R75).
   */
  async quorumLost(ms: number): Promise<{ dialsRefused: number; survivors: number; dead: number }> {
    await this.startAndSettle();
    const controllers = this.nodes.filter((n) => n.config.roles.includes("controller"));
    for (const n of controllers.slice(1)) this.kill(n, "crashed");
    const before = this.network.stats.dialsRefused;
    await this.runUntil(this.scheduler.now + ms);
    return {
      dialsRefused: this.network.stats.dialsRefused - before,
      survivors: this.nodes.length - (controllers.length - 1),
      dead: controllers.length - 1,
    };
  }

  // ---- the run -----------------------------------------------------------------------------------

  private async runUntil(time: number, stop: () => boolean = () => false): Promise<void> {
    while (this.violations.length === 0 && !stop()) {
      // Node starts and stops are promises: let them settle before the next event.
      if (this.asyncPending > 0) await new Promise<void>((resolve) => setImmediate(resolve));
      if (!this.scheduler.step(time)) {
        // Out of events before `time`: a start or stop in progress may still schedule some.
        if (this.asyncPending === 0) break;
        await new Promise<void>((resolve) => setImmediate(resolve));
        if (!this.scheduler.hasEventBy(time)) break;
        continue;
      }
      this.check();
    }
    if (this.scheduler.now < time && this.violations.length === 0 && !stop()) this.scheduler.now = time;
  }

  async run(): Promise<SimulationResult> {
    for (const n of this.nodes) this.start(n);
    const { faultMs, healMs } = this.options;
    // Faults and client requests at random moments through the fault phase.
    let t = 1000;
    while (t < faultMs) {
      t += 200 + this.random.below(1800);
      if (this.options.faults && t < faultMs) this.scheduler.at(t, () => this.injectFault());
    }
    for (let c = 500 + this.random.below(1000); c < faultMs; c += 300 + this.random.below(1200))
      this.scheduler.at(c, () => this.createTopic(`topic-${this.nextTopic++}`));
    await this.runUntil(faultMs);

    // Heal: no partitions, no disk faults, every node up; then the cluster must make progress.
    this.network.heal();
    for (const n of this.nodes) {
      n.disk.faults.full = false;
      n.disk.faults.failingSyncs = 0;
      n.restart?.();
      n.restart = null;
      if (n.down !== null) this.start(n);
    }
    const finalTopic = "after-healing";
    let finalAcknowledged = false;
    let asking = false;
    const ask = () => {
      if (finalAcknowledged || asking) return;
      asking = true;
      this.createTopic(finalTopic, (ok) => {
        asking = false;
        finalAcknowledged ||= ok;
      });
    };
    const deadline = this.scheduler.now + healMs;
    for (let at = this.scheduler.now + 1000; at < deadline; at += 2000) this.scheduler.at(at, ask);
    await this.runUntil(deadline, () => this.notYetHealed(finalTopic, finalAcknowledged) === null);
    const stuck = this.notYetHealed(finalTopic, finalAcknowledged);
    if (stuck !== null && this.violations.length === 0)
      this.violate(`no progress within ${healMs} ms after healing: ${stuck}`);
    for (const n of this.nodes) if (n.node !== null) void n.node.close();
    const ok = this.violations.length === 0;
    return {
      seed: this.options.seed,
      topology: this.options.topology,
      ok,
      violations: this.violations,
      simulatedMs: this.scheduler.now,
      events: this.scheduler.steps,
      faults: { ...this.faultCounts },
      clients: { acknowledged: this.acknowledged.size, refused: this.refused, unknown: this.unknown },
      committedOffset: this.committed.length,
      maxEpoch: Math.max(0, ...this.leaders.keys()),
      snapshots: { ...this.snapshotCounts },
      logTail: ok ? [] : this.nodes.flatMap((n) => [...n.lines.slice(-25), this.finalLine(n)]),
    };
  }
}

/** One seeded run with the defaults `npm test` and `npm run simulate` use. */
export const simulate = (
  seed: number,
  overrides: Partial<SimulationOptions> = {},
): Promise<SimulationResult> =>
  new Simulation({
    seed,
    faultMs: 60_000,
    healMs: 60_000,
    topology: seed % 3 === 0 ? "combined" : "separate",
    faults: true,
    ...overrides,
  }).run();
