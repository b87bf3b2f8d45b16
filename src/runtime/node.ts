// The node driver: the imperative shell around spec/node. It turns sockets, timers and disk into
// node inputs, and carries out the node's effects in order — persisting quorum-state before anything
// that follows it leaves, flushing the log before reporting it flushed (R14, R16). It makes no protocol
// decision of its own: which layer an input is for, forwarding, refusals and what an answer from
// another cluster means are spec/node's (R147–R149).
import { closeSync, fstatSync, openSync, writeSync } from "node:fs";
import type { Server } from "node:net";
import { type BrokerConfig, DEFAULT_BROKER_FEATURES } from "../../spec/metadata/broker.ts";
import type { ControllerConfig } from "../../spec/metadata/controller.ts";
import {
  configsOf,
  type MetadataImage,
  type OffsetRecord,
  topicsOf,
  topicView,
} from "../../spec/metadata/image.ts";
import {
  initializeNode,
  type KraftNodeConfig,
  type LogReader,
  type NodeEffect,
  type NodeInput,
  type KraftNode as NodeOfSpec,
  type NodeRequest,
  type NodeResponse,
  type NodeStorage,
  nodeStep,
  snapshotContent,
  snapshotDue,
} from "../../spec/node/node.ts";
import type { RaftEffect } from "../../spec/raft/io.ts";
import { latestVoterSetOffset, voterSetBefore } from "../../spec/raft/log.ts";
import { isRequest, type RaftMessage, type RequestApi, requestApiOf } from "../../spec/raft/messages.ts";
import type { Voter } from "../../spec/raft/primitives.ts";
import {
  type ElectionState,
  type LogState,
  makeConfig,
  type RaftConfig,
  type TimerKind,
} from "../../spec/raft/state.ts";
import {
  brokerResponseCodec,
  ENVELOPE,
  envelopeRequest,
  isBrokerRequest,
  kafkaBrokerRequest,
  nodeClientId,
  relayedAnswer,
  relayedBytes,
  specBrokerResponse,
} from "../kafka/controller-channel.ts";
import { errorName } from "../kafka/errors.ts";
import { type OutgoingRequest, readResponseFrame, requestFrame } from "../kafka/frames.ts";
import { EnvelopeRequest, EnvelopeResponse } from "../kafka/generated/messages.ts";
import {
  encodeSnapshot,
  type LogItem,
  type SnapshotVoters,
  type VoterEndpoint,
  type VoterEndpoints,
} from "../kafka/metadata-records.ts";
import {
  decodeRaftResponse,
  encodeRaftRequest,
  type FetchedBatch,
  type IncomingResponse,
  type NodeEndpoint,
  raftRequestSender,
} from "../kafka/raft-messages.ts";
import {
  handleKafkaRequest,
  type KafkaOutcome,
  type KafkaServerContext,
  type RaftAnswer,
} from "../kafka/server.ts";
import { isKafkaUuid, KafkaDecodeError, randomUuid } from "../kafka/wire.ts";
import type { Outgoing } from "./codec.ts";
import { advertisedListener, controllerListeners, isControllerListener, type NodeConfig } from "./config.ts";
import type { Log } from "./log.ts";
import { serveScrape } from "./scrape-http.ts";
import {
  type Cancel,
  type Clock,
  type Connection,
  type Entropy,
  NO_PEER,
  type NodeServices,
  type NodeTransport,
} from "./services.ts";
import type { SnapshotStore } from "./snapshots.ts";
import {
  type LogEntry,
  LogStore,
  type MetaProperties,
  QuorumStateStore,
  readMetaProperties,
  StorageError,
} from "./storage.ts";

/** An input waiting to be stepped; a Fetch answer keeps its records' payloads for the log. */
interface Work {
  readonly input: NodeInput;
  readonly entries?: readonly LogItem[];
  /** A Fetch answer's record batches as they came: the log keeps them as they are (Kafka's followers do). */
  readonly fetchedBatches?: readonly FetchedBatch[];
  /** A FetchSnapshot answer's part of the snapshot (R83). */
  readonly snapshotBytes?: Uint8Array;
}

/** A request this node sent and waits on. */
interface Outstanding {
  readonly kind: "raft" | "node";
  readonly peer: number;
  readonly correlationId: number;
  readonly cancel: Cancel;
  readonly api?: RequestApi;
  /** A Raft request's key among the requests sent in Kafka's protocol (wireRequests). */
  readonly wireKey?: string;
}

/** A request sent in Kafka's protocol: what its answer is decoded as, and the spec's id for it. */
interface SentRequest {
  readonly kind: "raft" | "node";
  readonly key: string;
  readonly apiKey: number;
  readonly version: number;
  readonly correlationId: number;
}

/** A Raft request that came in Kafka's protocol: where its answer goes, and how it is rendered. */
interface RaftOrigin {
  readonly connection: Connection;
  readonly respond: (
    response: RaftAnswer,
    records: Uint8Array | null,
    leader?: NodeEndpoint | null,
  ) => Uint8Array;
}

/**
 * Correlation ids on the wire, Kafka's positive int32s in two halves that never meet on a connection:
 * a Raft request travels under the spec's own id (below 2^30), so the receiver's trace names the id
 * the sender's trace does; a node request under one of the other half, from a counter of its own.
 */
const RAFT_WIRE_IDS = 1 << 30;

export interface NodeStatus {
  readonly nodeId: number;
  readonly roles: readonly string[];
  readonly role: string;
  readonly epoch: number;
  readonly leaderId: number;
  readonly highWatermark: number;
  readonly logEndOffset: number;
  /** R79: where the log starts (the end of a snapshot, or 0). */
  readonly logStartOffset: number;
  /** The newest snapshot's end offset, or -1. */
  readonly snapshotEndOffset: number;
  readonly activeController: boolean;
  readonly metadataOffset: number;
  readonly brokerState: string | null;
}

/** How a node that stops on the Raft layer's IllegalState effect (R136) says why. */
export const ILLEGAL_STATE_DEATH = "the Raft layer reports an illegal state";

/** How long each part of a graceful stop (a broker's controlled shutdown, a leader's resignation) may take. */
export const GRACEFUL_STOP_MS = 5000;

/** What KraftNode.open acquired and read before the node is built. */
interface OpenedStorage {
  readonly meta: MetaProperties;
  readonly unlock: () => void;
  readonly store: LogStore;
  /** R92: the bootstrap voter set (kraft.version 1): the bootstrap checkpoint's, or the bootstrap servers. */
  readonly bootstrapVoters: readonly Voter[];
  /** Listeners known before the log says more: controller.quorum.voters, or the bootstrap servers. */
  readonly knownEndpoints: readonly VoterEndpoints[];
  readonly quorum: QuorumStateStore;
  readonly quorumState: ElectionState | null;
}

export class NodeError extends Error {
  override readonly name = "NodeError";
}

/**
 * KIP-853: the id the Raft layer knows bootstrap server `index` of controller.quorum.bootstrap.servers
 * by, as Kafka's does (-2, -3, …): never a node's id, nor -1 (no node).
 */
export const bootstrapServerId = (index: number): number => -2 - index;

export class KraftNode {
  readonly config: NodeConfig;
  readonly meta: MetaProperties;
  private readonly log: Log;
  private readonly raftConfig: RaftConfig;
  private readonly nodeConfig: KraftNodeConfig;
  private readonly store: LogStore;
  private readonly quorum: QuorumStateStore;
  private readonly transport: NodeTransport;
  private readonly clock: Clock;
  private readonly entropy: Entropy;
  /** Whether this node may open a metrics port and a trace file (not in the simulator). */
  private readonly processLocal: boolean;
  private readonly unlock: () => void;
  /** The node as spec/node knows it: Raft, controller and broker state. */
  private node: NodeOfSpec;
  private readonly reader: LogReader;
  private readonly queue: Work[] = [];
  private pumping = false;
  private flushWanted = false;
  private readonly timers = new Map<string, Cancel>();
  private readonly outstanding = new Map<string, Outstanding>();
  /** Requests this node must answer: where each answer goes, by requester and correlation id. */
  private readonly origins = new Map<string, Connection>();
  /** Raft requests that came in Kafka's protocol and await the Raft layer's answer, by origin key. */
  private readonly raftOrigins = new Map<string, RaftOrigin>();
  /** Requests this node sent in Kafka's protocol, by peer and wire correlation id. */
  private readonly wireRequests = new Map<string, SentRequest>();
  private nextWireId = 0;
  /** The client requests among them (queued.max.requests bounds how many). */
  private readonly clientRequests = new Set<string>();
  private metricsServer: Server | null = null;
  private traceFd: number | null = null;
  /** The process start as spec/node saw it, for the node trace (conformance/node-trace.ts). */
  private readonly nodeStartRecord: {
    readonly config: KraftNodeConfig;
    readonly storage: Omit<NodeStorage, "quorumState"> & { readonly quorumState: ElectionState | null };
    readonly records: readonly OffsetRecord[];
    readonly effects: readonly NodeEffect[];
  };
  private readonly startRecord: {
    readonly config: RaftConfig;
    readonly storage: {
      readonly quorumState: ElectionState | null;
      readonly log: LogState;
      readonly recovering: boolean;
    };
    readonly effects: readonly RaftEffect[];
  };
  private stopping: Promise<void> | null = null;
  private resolveStopped: (() => void) | null = null;
  private fatal: string | null = null;
  private readonly counters = {
    flushes: 0,
    flushSeconds: 0,
    appendedRecords: 0,
    committedRecords: 0,
    stepsRaft: 0,
    stepsController: 0,
    stepsBroker: 0,
  };
  readonly onFatal: ((reason: string) => void)[] = [];

  /**
   * Open a node's storage — meta.properties, the directory's lock, the metadata log (recovering its
   * tail) and quorum-state — and build the node on it. If any step fails, what the steps before it
   * acquired is released. Nothing runs until start().
   */
  static open(config: NodeConfig, services: NodeServices): KraftNode {
    const disk = services.disk;
    const meta = readMetaProperties(config.logDir, disk);
    if (meta.nodeId !== config.nodeId) {
      throw new NodeError(
        `${config.logDir} was formatted for node ${meta.nodeId}, but node.id is ${config.nodeId}; use the directory formatted for this node`,
      );
    }
    if (config.bootstrapServers.length > 0 && !isKafkaUuid(meta.directoryId))
      throw new NodeError(
        `${config.logDir}/meta.properties has no directory.id, which a dynamic quorum's replicas are known by (R100): format the directory again`,
      );
    const unlock = disk.lock(config.logDir);
    let store: LogStore | undefined;
    try {
      store = new LogStore(`${config.logDir}/__cluster_metadata-0`, config.segmentBytes, disk);
      const quorum = new QuorumStateStore(config.logDir, meta.clusterId, disk);
      const quorumState = quorum.read() ?? null;
      // R13, R18: quorum-state is written before anything that names an epoch, so a log with records
      // and no quorum-state means the file was lost, and with it the votes this node cast: starting
      // as new could vote twice in one epoch. Refuse, and say what to do.
      if (quorumState === null && store.endOffset > 0) {
        throw new StorageError(
          `${config.logDir}/quorum-state is missing but the metadata log holds ${store.endOffset} records: this node's votes are lost and it could vote twice in an epoch; restore quorum-state from a backup, or remove this node's data directory and format it again so that it catches up from the quorum`,
        );
      }
      const { bootstrapVoters, knownEndpoints } = KraftNode.bootstrapSet(config, store);
      return new KraftNode(config, services, {
        meta,
        unlock,
        store,
        quorum,
        quorumState,
        bootstrapVoters,
        knownEndpoints,
      });
    } catch (error) {
      store?.close();
      unlock();
      throw error;
    }
  }

  /**
   * R89, R92: the voter set the Raft layer starts from. A static quorum's is controller.quorum.voters; a
   * dynamic quorum's (controller.quorum.bootstrap.servers) is the bootstrap checkpoint's, or for a node
   * whose disk names no voter, the bootstrap servers themselves. The two kinds never mix.
   */
  private static bootstrapSet(
    config: NodeConfig,
    store: LogStore,
  ): { bootstrapVoters: readonly Voter[]; knownEndpoints: readonly VoterEndpoints[] } {
    const checkpoint = store.snapshots.readBootstrap();
    if (config.bootstrapServers.length === 0) {
      if (checkpoint !== undefined && checkpoint.kraftVersion >= 1)
        throw new NodeError(
          `${config.logDir} was formatted for a dynamic quorum (kraft.version ${checkpoint.kraftVersion}), but the configuration names static voters: set controller.quorum.bootstrap.servers instead of controller.quorum.voters`,
        );
      return {
        bootstrapVoters: config.voters.map((v) => ({ id: v.id })),
        knownEndpoints: config.voters.map((v) => ({
          id: v.id,
          endpoints: [{ name: config.controllerListenerName, host: v.host, port: v.port }],
        })),
      };
    }
    if (checkpoint === undefined && config.roles.includes("controller"))
      throw new NodeError(
        `${config.logDir} was not formatted for a dynamic quorum, but the configuration sets controller.quorum.bootstrap.servers: format it with --standalone, --initial-controllers or --no-initial-controllers, or name the voters in controller.quorum.voters`,
      );
    if (checkpoint?.voters !== undefined) return { bootstrapVoters: checkpoint.voters, knownEndpoints: [] };
    if (store.logState().voterSets !== undefined) return { bootstrapVoters: [], knownEndpoints: [] };
    // R92 (KIP-853): a disk that names no voter (--no-initial-controllers, a broker's) starts at once
    // with the bootstrap servers as its set, by Kafka's ids for them: it fetches from them in turn and
    // learns the leader from their answers (R74), votes when a candidate names its key (R11), and
    // follows a leader that tells it to (R60), until the VotersRecords it fetches supersede them (R91).
    // Not its own listener: it would only ask itself.
    const servers = config.bootstrapServers.flatMap((b, index) =>
      config.listeners.some((l) => l.port === b.port && l.host === b.host)
        ? []
        : [{ id: bootstrapServerId(index), host: b.host, port: b.port }],
    );
    if (servers.length === 0)
      throw new NodeError(
        `controller.quorum.bootstrap.servers names no controller but this node, whose disk (${config.logDir}) names no voter: list another controller of the quorum`,
      );
    return {
      bootstrapVoters: servers.map((b) => ({ id: b.id })),
      knownEndpoints: servers.map((b) => ({
        id: b.id,
        endpoints: [{ name: config.controllerListenerName, host: b.host, port: b.port }],
      })),
    };
  }

  private constructor(config: NodeConfig, services: NodeServices, opened: OpenedStorage) {
    this.config = config;
    this.processLocal = services.processLocal;
    this.log = services.log;
    this.clock = services.clock;
    this.lastSnapshotAt = this.clock.now();
    this.entropy = services.entropy;
    this.loopback = {
      id: 0,
      listener: config.controllerListenerName,
      peer: -2,
      remote: "loopback",
      sendBytes: (body) => {
        const bytes = Buffer.from(body);
        this.clock.defer(() => this.onKafkaResponse(this.loopbackAnswers, bytes));
        return true;
      },
      close: () => {},
    };
    this.loopbackAnswers = { ...this.loopback, listener: "outbound", peer: config.nodeId };
    this.meta = opened.meta;
    this.unlock = opened.unlock;
    this.store = opened.store;
    this.quorum = opened.quorum;
    const dynamic = config.bootstrapServers.length > 0;
    this.raftConfig = makeConfig({
      nodeId: config.nodeId,
      clusterId: this.meta.clusterId,
      voters: opened.bootstrapVoters,
      // R89: a dynamic quorum's replicas are known by their directory ids too (R100).
      ...(dynamic ? { kraftVersion: 1 as const, directoryId: this.meta.directoryId } : {}),
      electionTimeoutMs: config.electionTimeoutMs,
      electionBackoffMaxMs: config.electionBackoffMaxMs,
      fetchTimeoutMs: config.fetchTimeoutMs,
      fetchMaxWaitMs: config.fetchMaxWaitMs,
      retryBackoffMs: config.retryBackoffMs,
      // R99, R150: a controller of a dynamic quorum names its controller listeners for itself: its
      // entry of the voter set should hold them, and auto-join asks with them.
      ...(dynamic && config.roles.includes("controller") ? { listeners: controllerListeners(config) } : {}),
      ...(config.autoJoin ? { autoJoin: true } : {}),
    });
    const controllerConfig: ControllerConfig = {
      nodeId: config.nodeId,
      clusterId: this.meta.clusterId,
      sessionTimeoutMs: config.sessionTimeoutMs,
      noOpIntervalMs: config.noOpIntervalMs,
      defaultNumPartitions: config.numPartitions,
      defaultReplicationFactor: config.defaultReplicationFactor,
      bootstrapMetadataVersion: 21,
    };
    // A broker registers its client listener where clients reach it (advertised.listeners, as Kafka's).
    const bound = config.listeners.find((l) => !isControllerListener(config, l.name));
    const clientListener = bound === undefined ? undefined : advertisedListener(config, bound.name);
    const brokerConfig: BrokerConfig = {
      brokerId: config.nodeId,
      clusterId: this.meta.clusterId,
      listeners:
        clientListener === undefined
          ? []
          : [
              {
                name: clientListener.name,
                host: clientListener.host,
                port: clientListener.port,
                securityProtocol: 0,
              },
            ],
      features: DEFAULT_BROKER_FEATURES,
      rack: null,
      heartbeatIntervalMs: config.heartbeatIntervalMs,
    };
    this.nodeConfig = {
      raft: this.raftConfig,
      controller: config.roles.includes("controller") ? controllerConfig : null,
      broker: config.roles.includes("broker") ? brokerConfig : null,
    };
    this.reader = {
      records: (from, to) => {
        const records: OffsetRecord[] = [];
        const first = Math.max(from, this.store.startOffset);
        this.store.slice(first, to).forEach((e, i) => {
          if (e.record !== null) records.push({ offset: first + i, epoch: e.epoch, record: e.record });
        });
        return records;
      },
    };
    this.transport = services.network.transport(
      {
        onKafkaResponse: (c, body) => this.onKafkaResponse(c, body),
        onKafkaRequest: (c, body) => this.onKafkaRequest(c, body),
        onClose: (c) => this.onClose(c),
        onUndelivered: (_peer, frames) => this.onUndelivered(frames),
      },
      this.log,
      config.limits,
    );
    for (const known of [...opened.knownEndpoints, ...this.store.voterEndpoints()])
      this.learnEndpoints(known);
    // The process start (R18–R22, R146): spec/node decides the roles from what storage holds.
    const storage = {
      quorumState: opened.quorumState,
      log: this.store.logState(),
      recovering: this.store.recovering,
    };
    const nodeStorage = {
      quorumState: storage.quorumState ?? undefined,
      log: storage.log,
      recovering: storage.recovering,
      firstCorrelationId: 1,
      incarnationId: randomUuid(() => this.entropy.bytes(16)),
      previousBrokerEpoch: -1,
    };
    // For the trace: the stored records as the start read them, before its own effects append any.
    const storedRecords =
      config.traceFile.length > 0 ? this.reader.records(this.store.startOffset, this.store.endOffset) : [];
    const start = initializeNode(this.nodeConfig, nodeStorage, this.reader);
    this.startRecord = { config: this.raftConfig, storage, effects: start.start.effects };
    this.nodeStartRecord = {
      config: this.nodeConfig,
      storage: { ...nodeStorage, quorumState: storage.quorumState },
      records: storedRecords,
      effects: start.effects,
    };
    this.node = start.state;
    this.startEffects = start.effects;
  }

  /** R90: every voter's listeners this node knows, by id (the spec's voter sets name keys only). */
  private readonly endpoints = new Map<number, readonly VoterEndpoint[]>();

  /** Remember a node's listeners and send to it at its controller listener from now on. */
  private learnEndpoints(known: VoterEndpoints): void {
    const listener = this.controllerEndpoint(known.endpoints);
    if (listener === undefined) return;
    this.endpoints.set(known.id, known.endpoints);
    if (known.id !== this.config.nodeId) this.transport.addPeer(known.id, listener.host, listener.port);
  }

  /** R90: reach each voter of `voters` that names its listeners there from now on. */
  private learnVoters(voters: readonly Voter[]): void {
    for (const v of voters)
      if (v.listeners !== undefined) this.learnEndpoints({ id: v.id, endpoints: v.listeners });
  }

  /** Of a node's listeners, the one Raft and brokers speak to: the controller listener, else the first. */
  private controllerEndpoint(list: readonly VoterEndpoint[]): VoterEndpoint | undefined {
    return list.find((e) => e.name === this.config.controllerListenerName) ?? list[0];
  }

  /** KIP-853's NodeEndpoints for node `id` (kraft.version 1): its controller listener, when known. */
  private nodeEndpointOf(id: number): NodeEndpoint | null {
    if (this.raftConfig.kraftVersion !== 1 || id < 0) return null;
    const e = this.controllerEndpoint(this.endpoints.get(id) ?? []);
    return e === undefined ? null : { nodeId: id, host: e.host, port: e.port };
  }

  /**
   * R41: listeners a message names for a node (a leader's LeaderEndpoints, an answer's NodeEndpoints)
   * teach where a node this one knows nothing of listens; what the voter sets say stays as it is.
   */
  private learnNamedEndpoints(known: VoterEndpoints): void {
    if (this.raftConfig.kraftVersion === 1 && !this.endpoints.has(known.id)) this.learnEndpoints(known);
  }

  /**
   * The voters in force now, the controller listener this node reaches each at, and every listener
   * each names (DescribeQuorum v2, DescribeCluster).
   */
  private voterAddresses(): KafkaServerContext["voters"] {
    return this.node.raft.voters.flatMap((v) => {
      const listeners = this.endpoints.get(v.id) ?? [];
      const e = this.controllerEndpoint(listeners);
      return e === undefined ? [] : [{ id: v.id, host: e.host, port: e.port, listeners }];
    });
  }

  /** The start's effects, carried out by start() (a constructor arms no timer and sends nothing). */
  private startEffects: readonly NodeEffect[];

  /** Bind the listeners and the metrics port, connect to the voters, and start processing. */
  async start(): Promise<void> {
    if (this.store.recovery.truncated !== null) {
      this.log.warn(
        this.store.recovery.lostFlushed
          ? "cut corrupt records off the metadata log that may have been acknowledged: this voter neither votes nor stands for election until it has caught up with a leader (R146)"
          : "cut a torn, unflushed tail off the metadata log",
        { cut: this.store.recovery.truncated, kept: this.store.endOffset },
      );
    }
    for (const listener of this.config.listeners) await this.transport.listen(listener);
    if (this.config.metricsPort > 0 && this.processLocal) await this.startMetrics();
    if (this.config.traceFile.length > 0 && this.processLocal) {
      this.traceFd = openSync(this.config.traceFile, "a");
      // The process start, with what storage held: a trace checker replays the node from here.
      const fresh = fstatSync(this.traceFd).size === 0;
      writeSync(
        this.traceFd,
        `${JSON.stringify({ time: Date.now(), node: this.config.nodeId, layer: "raft", input: { _tag: "Start" }, ...this.startRecord })}\n`,
      );
      // The same start for the node trace replay (conformance/node-trace.ts); the stored records only
      // when this file has no earlier start, whose replay would otherwise have them.
      const { records, ...nodeStart } = this.nodeStartRecord;
      writeSync(
        this.traceFd,
        `${JSON.stringify({ time: Date.now(), node: this.config.nodeId, layer: "node", input: { _tag: "Start" }, ...nodeStart, ...(fresh ? { records } : {}) })}\n`,
      );
    }
    this.interpret(this.startEffects, {});
    this.startEffects = [];
    this.transport.dialAll();
    this.log.info("node started", {
      clusterId: this.meta.clusterId,
      roles: this.config.roles.join(","),
      listeners: this.config.listeners.map((l) => `${l.name}://${l.host}:${l.port}`).join(","),
      recoveredRecords: this.store.endOffset,
    });
    this.pump();
  }

  /** The Raft leader this node knows (itself when it leads), or -1. */
  private leaderId(): number {
    const role = this.node.raft.role;
    return role._tag === "Leader" ? this.config.nodeId : "leaderId" in role ? role.leaderId : -1;
  }

  status(): NodeStatus {
    const raft = this.node.raft;
    return {
      nodeId: this.config.nodeId,
      roles: this.config.roles,
      role: raft.role._tag,
      epoch: raft.epoch,
      leaderId: this.leaderId(),
      highWatermark: raft.highWatermark,
      logEndOffset: raft.log.endOffset,
      logStartOffset: raft.log.startOffset,
      snapshotEndOffset: this.store.snapshots.latest()?.endOffset ?? -1,
      activeController: this.node.controller?.active === true,
      metadataOffset: this.image()?.offset ?? -1,
      brokerState: this.node.broker?.lifecycle ?? null,
    };
  }

  /** The voter set this node's Raft layer uses now (R91), with directory ids (the simulator reads it). */
  raftVoters(): readonly Voter[] {
    return this.node.raft.voters;
  }

  /** Whether that voter set is committed: its VotersRecord, if any, is below the high watermark (R93). */
  voterSetCommitted(): boolean {
    return latestVoterSetOffset(this.node.raft.log) < this.node.raft.highWatermark;
  }

  /** The log entry at `offset` as it travels in a Fetch answer (the simulator compares these). */
  entryJson(offset: number): string | undefined {
    const entry = offset >= 0 ? this.store.entry(offset) : undefined;
    return entry === undefined ? undefined : JSON.stringify(entry);
  }

  /** The committed image this node serves from. */
  image(): MetadataImage | null {
    return this.node.broker?.image ?? this.node.controller?.committed ?? null;
  }

  // ---- the work loop ------------------------------------------------------------------------------

  private enqueue(work: Work): void {
    this.queue.push(work);
    this.pump();
  }

  /** Process queued inputs to the end; a wanted flush runs once the pending I/O is handled (R16). */
  private pump(): void {
    if (this.pumping || this.fatal !== null) return;
    this.pumping = true;
    try {
      while (this.queue.length > 0) {
        this.stepNode(this.queue.shift()!);
        if (this.fatal !== null) return;
      }
    } catch (error) {
      // A bug or a disk failure: stop rather than go on from a state nobody checked. A system error (a
      // full disk, an I/O error) is the environment's, said in one line; anything else is a bug, with
      // its stack.
      const code = (error as NodeJS.ErrnoException).code;
      this.die(
        typeof code === "string"
          ? `stopping: the disk failed (${(error as Error).message}); fix it and restart the node`
          : `stopping on an unexpected error: ${(error as Error).stack ?? String(error)}`,
      );
    } finally {
      this.pumping = false;
    }
    if (this.flushWanted && this.flushScheduled === null) {
      // Adaptive batching: the flush runs after every socket event already waiting has been handled,
      // so one fsync covers all their appends; on an idle node that is at once (no linger).
      this.flushScheduled = this.clock.defer(() => this.flushNow());
    }
  }

  private flushScheduled: Cancel | null = null;
  /** Resolves when the flush in flight ends (close waits for it: its file must not close under it). */
  private flushDone: Promise<void> | null = null;

  /**
   * Flush the log off the event loop (R16): appends go on meanwhile, and LogFlushed reports only what
   * the fsync covered. One flush at a time; appends made during one are covered by the next.
   */
  private flushNow(): void {
    this.flushScheduled = null;
    if (!this.flushWanted || this.fatal !== null || this.store.flushing) return;
    this.flushWanted = false;
    const started = performance.now();
    let finished: () => void = () => {};
    this.flushDone = new Promise((resolve) => {
      finished = resolve;
    });
    this.store.flushAsync((result) => {
      this.flushDone = null;
      finished();
      if (result instanceof Error) {
        // fsync failed: what the log holds is unknown, so nothing may be reported durable.
        this.die(`the metadata log could not be flushed: ${result.message}`);
        return;
      }
      this.counters.flushes++;
      this.counters.flushSeconds += (performance.now() - started) / 1000;
      // Its pump schedules the next flush if appends made meanwhile want one.
      this.enqueue({ input: { _tag: "Raft", input: { _tag: "LogFlushed", offset: result } } });
    });
  }

  private trace(layer: string, input: unknown, effects: readonly unknown[]): void {
    if (this.traceFd === null) return;
    writeSync(
      this.traceFd,
      `${JSON.stringify({ time: this.clock.now(), node: this.config.nodeId, layer, input, effects })}\n`,
    );
  }

  /** One spec/node step: the node decides, the shell carries out its effects in order. */
  private stepNode(work: Work): void {
    const listenerBefore = this.node.listenerOffset;
    const result = nodeStep(this.node, work.input, this.nodeConfig, this.reader);
    this.trace("node", work.input, result.effects);
    const wasActive = this.node.controller?.active === true;
    const brokerBefore = this.node.broker?.lifecycle;
    this.node = result.state;
    for (const step of result.steps) {
      if (step.layer === "raft") {
        this.counters.stepsRaft++;
        this.trace("raft", step.input, step.effects);
      } else if (step.layer === "controller") {
        this.counters.stepsController++;
        if (step.input._tag === "Committed") this.counters.committedRecords += step.input.records.length;
        this.trace(
          "controller",
          step.input._tag === "Committed"
            ? {
                _tag: "Committed",
                from: step.input.records[0]?.offset,
                to: step.input.records[step.input.records.length - 1]?.offset,
              }
            : step.input,
          step.effects,
        );
      } else {
        this.counters.stepsBroker++;
        if (step.input._tag === "Committed" && this.node.controller === null)
          this.counters.committedRecords += step.input.records.length;
        this.trace(
          "broker",
          step.input._tag === "Committed"
            ? { _tag: "Committed", from: step.input.records[0]?.offset }
            : step.input,
          step.effects,
        );
        if (
          step.input._tag === "Response" &&
          step.input.response._tag === "BrokerRegistrationResponse" &&
          step.input.response.errorCode === "DUPLICATE_BROKER_REGISTRATION"
        ) {
          this.log.error(
            `another broker is registered with node id ${this.config.nodeId} and its session is live; this one retries until that session ends`,
          );
        }
      }
    }
    const isActive = this.node.controller?.active === true;
    if (wasActive !== isActive) {
      this.log.info(
        isActive ? "this node is the active controller" : "this node is no longer the active controller",
        { epoch: this.node.controller?.epoch ?? -1 },
      );
    }
    const brokerAfter = this.node.broker?.lifecycle;
    if (brokerBefore !== brokerAfter)
      this.log.info("broker state changed", {
        from: brokerBefore ?? null,
        to: brokerAfter ?? null,
        brokerEpoch: this.node.broker?.brokerEpoch ?? -1,
      });
    this.interpret(result.effects, work);
    this.afterStep(listenerBefore);
  }

  /** Carry out spec/node's effects, strictly in order (R14: a send never overtakes a persist). */
  private interpret(effects: readonly NodeEffect[], work: Omit<Work, "input">): void {
    const { entries, snapshotBytes } = work;
    let fetchBase = -1;
    for (const effect of effects) {
      switch (effect._tag) {
        case "PersistElectionState":
          // R14: durable before any later effect of this step (a send) is carried out.
          this.quorum.write(
            effect.votedKey === undefined
              ? { epoch: effect.epoch, leaderId: effect.leaderId }
              : { epoch: effect.epoch, leaderId: effect.leaderId, votedKey: effect.votedKey },
          );
          break;
        case "AppendRecords": {
          const batch: LogEntry[] = [];
          if (fetchBase < 0) fetchBase = effect.baseOffset;
          for (let i = 0; i < effect.count; i++) {
            if (effect.control?._tag === "VotersRecord") {
              // R90: a VotersRecord names its voters' listeners: this node reaches them there from now on.
              this.learnVoters(effect.control.voters);
              batch.push({ epoch: effect.epoch, control: effect.control, record: null });
            } else if (effect.control !== undefined) {
              batch.push({ epoch: effect.epoch, control: effect.control, record: null });
            } else if (effect.records !== undefined) {
              batch.push({ epoch: effect.epoch, control: null, record: effect.records[i]! });
            } else {
              // A follower's append: the records of the Fetch answer being handled.
              const fetched = entries?.[effect.baseOffset - fetchBase + i];
              if (fetched === undefined) {
                this.die(`a Fetch response lacked the record at offset ${effect.baseOffset + i}`);
                return;
              }
              batch.push(fetched);
            }
          }
          this.store.append(effect.baseOffset, batch, work.fetchedBatches);
          this.counters.appendedRecords += effect.count;
          break;
        }
        case "TruncateLog":
          this.log.warn("truncating the metadata log", { offset: effect.offset, end: this.store.endOffset });
          this.store.truncate(effect.offset);
          // R91: a truncated VotersRecord no longer names where its voters listen; the set in force does.
          this.learnVoters(this.node.raft.voters);
          break;
        case "FlushLog":
          this.flushWanted = true;
          break;
        case "Send":
          this.sendRaft(effect.to, effect.message, effect.correlationId);
          break;
        case "SetTimer": {
          const jitter = effect.jitterMs > 0 ? Math.floor(this.entropy.next() * effect.jitterMs) : 0;
          this.arm(`raft:${effect.timer}`, effect.delayMs + jitter, {
            input: { _tag: "Raft", input: { _tag: "TimerExpired", timer: effect.timer as TimerKind } },
          });
          break;
        }
        case "CancelTimer":
          this.disarm(`raft:${effect.timer}`);
          break;
        case "LeaderChanged":
          if (effect.leaderId >= 0 && effect.leaderId !== this.config.nodeId)
            this.log.info("leader known", { leaderId: effect.leaderId, leaderEpoch: effect.epoch });
          if (effect.leaderId === this.config.nodeId)
            this.log.info("this node leads the quorum", { leaderEpoch: effect.epoch });
          break;
        case "RecoveryComplete":
          this.store.clearRecovery();
          this.log.info("caught up past the records lost at startup: this voter votes again (R146)");
          break;
        case "ShutdownComplete":
          this.resolveStopped?.();
          break;
        case "IllegalState":
          this.die(`${ILLEGAL_STATE_DEATH} (${effect.rule}): ${effect.detail}`);
          return;
        case "Respond":
          this.answer(effect.to, effect.correlationId, effect.response);
          break;
        case "SendRequest":
          this.request(effect.to, effect.correlationId, effect.request);
          break;
        case "ArmAppTimer":
          this.arm(timerName(effect.timer), effect.delayMs, {
            input:
              effect.timer.kind === "session"
                ? { _tag: "SessionExpired", brokerId: effect.timer.brokerId }
                : effect.timer.kind === "idle"
                  ? { _tag: "IdleTimeout" }
                  : { _tag: "HeartbeatTimer" },
          });
          break;
        case "CancelAppTimer":
          this.disarm(timerName(effect.timer));
          break;
        case "ShutdownNow":
          this.log.info("the controller agreed to the controlled shutdown");
          this.brokerReleased?.();
          break;
        case "Alert":
          this.alert(effect.level, effect.text);
          break;
        case "SnapshotRefused":
          if (effect.operation === "create") this.pendingSnapshot = null;
          this.log.warn("a snapshot request was refused", {
            operation: effect.operation,
            endOffset: effect.endOffset,
            reason: effect.reason,
          });
          break;
        case "WriteSnapshot": {
          // R77, R131: the bytes sized for CreateSnapshot are the ones written (the same image).
          const pending = this.pendingSnapshot;
          this.pendingSnapshot = null;
          if (pending === null || pending.endOffset !== effect.endOffset || pending.epoch !== effect.epoch) {
            this.die(
              `the Raft layer asks for snapshot ${effect.endOffset}-${effect.epoch}, which this node did not prepare`,
            );
            return;
          }
          this.store.snapshots.write(effect.endOffset, effect.epoch, pending.bytes);
          this.snapshotBytesSince = 0;
          this.lastSnapshotAt = this.clock.now();
          this.log.info("wrote a metadata snapshot", {
            endOffset: effect.endOffset,
            epoch: effect.epoch,
            bytes: pending.bytes.length,
            records: effect.records?.length ?? 0,
          });
          this.retainSnapshots();
          break;
        }
        case "DeleteLogBefore":
          this.store.deleteBefore(effect.offset);
          this.log.info("the metadata log starts at a snapshot now", { logStartOffset: effect.offset });
          break;
        case "WriteSnapshotChunk":
          this.store.snapshots.writeChunk(
            effect.endOffset,
            effect.epoch,
            effect.position,
            snapshotBytes ?? new Uint8Array(0),
          );
          break;
        case "InstallSnapshot":
          this.store.snapshots.install(effect.endOffset, effect.epoch);
          this.store.truncateFully(effect.endOffset);
          this.log.info("installed a snapshot downloaded from the leader", {
            endOffset: effect.endOffset,
            epoch: effect.epoch,
          });
          break;
        case "LoadSnapshot": {
          // R84: the listener rebuilds its image from the snapshot before anything else is handed on.
          let loaded: ReturnType<SnapshotStore["read"]>;
          try {
            loaded = this.store.snapshots.read(effect.endOffset, effect.epoch);
          } catch (error) {
            if (!(error instanceof StorageError)) throw error;
            this.die(error.message);
            return;
          }
          this.queue.unshift({
            input: {
              _tag: "SnapshotRead",
              endOffset: effect.endOffset,
              epoch: effect.epoch,
              records: loaded.records,
            },
          });
          break;
        }
        default:
          // Listener notifications and appends' answers stay inside the node (spec/node).
          break;
      }
    }
  }

  private brokerReleased: (() => void) | null = null;

  // ---- snapshots (R131, R80) ------------------------------------------------------------------------

  /** The snapshot this node asked its Raft layer for (CreateSnapshot), encoded, until it answers. */
  private pendingSnapshot: {
    readonly endOffset: number;
    readonly epoch: number;
    readonly bytes: Uint8Array;
  } | null = null;
  /** Bytes of committed batches handed to the listener since the last snapshot (R131). */
  private snapshotBytesSince = 0;
  private lastSnapshotAt = 0;

  /** After a step: count what the listener was handed, and take a snapshot once one is due (R131). */
  private afterStep(listenerBefore: number): void {
    const listener = this.node.listenerOffset;
    if (listener > listenerBefore) {
      this.snapshotBytesSince += this.store.bytesBetween(
        Math.max(listenerBefore, this.store.startOffset),
        listener,
      );
      // The listener has these records: the log keeps their batches' bytes, not their decoded form.
      this.store.forgetDecodedBelow(listener);
    }
    if (
      this.pendingSnapshot !== null ||
      this.fatal !== null ||
      !snapshotDue(
        this.config.snapshotPolicy,
        this.snapshotBytesSince,
        this.clock.now() - this.lastSnapshotAt,
      )
    )
      return;
    const content = snapshotContent(this.node);
    const latest = this.store.snapshots.latest();
    if (content === null || content.endOffset <= (latest?.endOffset ?? 0)) return;
    // The epoch of the last record it covers: the Raft layer names the same one (R77).
    const epoch = this.store.entry(content.endOffset - 1)?.epoch;
    if (epoch === undefined) return;
    const bytes = encodeSnapshot(
      epoch,
      content.records,
      this.store.timestampAt(content.endOffset - 1),
      this.clock.now(),
      this.snapshotVoters(content.endOffset),
    );
    this.pendingSnapshot = { endOffset: content.endOffset, epoch, bytes };
    this.queue.push({
      input: {
        _tag: "Raft",
        input: { _tag: "CreateSnapshot", endOffset: content.endOffset, size: bytes.length },
      },
    });
  }

  /**
   * R91: a dynamic quorum's snapshot holds the voter set in force at its end (the newest VotersRecord
   * below it, else the bootstrap set), so the set survives the log start moving past its record.
   */
  private snapshotVoters(endOffset: number): SnapshotVoters | undefined {
    if (this.raftConfig.kraftVersion !== 1) return undefined;
    const voters = voterSetBefore(this.node.raft.log, endOffset)?.voters ?? this.raftConfig.voters;
    return { kraftVersion: 1, voters };
  }

  /**
   * R80: once the log below the newest snapshot (with the older snapshots) holds more than
   * metadata.max.retention.bytes, or its oldest record is older than metadata.max.retention.ms, the
   * log start moves to the newest snapshot. Kafka moves it one snapshot at a time; moving it to the
   * newest keeps memory and restart time bounded by one snapshot and the log after it.
   */
  private retainSnapshots(): void {
    const latest = this.store.snapshots.latest();
    const start = this.store.startOffset;
    if (latest === undefined || latest.endOffset <= start) return;
    const older = this.store.snapshots
      .list()
      .filter((x) => x.endOffset < latest.endOffset)
      .reduce((sum, x) => sum + x.size, 0);
    const bytes = this.store.bytesBetween(start, latest.endOffset) + older;
    const age = this.clock.now() - this.store.timestampAt(start);
    if (bytes <= this.config.retentionBytes && age <= this.config.retentionMs) return;
    this.queue.push({
      input: { _tag: "Raft", input: { _tag: "DeleteBeforeSnapshot", endOffset: latest.endOffset } },
    });
  }

  /** When each alert text was last logged: a repeated one is logged at most every ALERT_REPEAT_MS. */
  private readonly alerted = new Map<string, number>();

  private alert(level: "warn" | "error", text: string): void {
    const now = this.clock.now();
    const last = this.alerted.get(text);
    if (last !== undefined && now - last < ALERT_REPEAT_MS) return;
    if (this.alerted.size > 1000) this.alerted.clear();
    this.alerted.set(text, now);
    if (level === "error") this.log.error(text);
    else this.log.warn(text);
  }

  // ---- timers ------------------------------------------------------------------------------------

  private arm(name: string, delayMs: number, work: Work): void {
    this.disarm(name);
    const cancel = this.clock.after(delayMs, () => {
      this.timers.delete(name);
      this.enqueue(work);
    });
    this.timers.set(name, cancel);
  }

  private disarm(name: string): void {
    const cancel = this.timers.get(name);
    if (cancel !== undefined) {
      cancel();
      this.timers.delete(name);
    }
  }

  // ---- sending -------------------------------------------------------------------------------------

  /**
   * Send a Raft message in Kafka's protocol: a request on this node's connection to the peer, under a
   * correlation id of the wire's own (the spec's ids are per node, Kafka's per connection); an answer
   * on the connection its request came on.
   */
  private sendRaft(to: number, message: RaftMessage, correlationId: number | undefined): void {
    if (isRequest(message)) {
      const api = requestApiOf(message);
      if (api === null || correlationId === undefined) return;
      // KIP-853: with kraft.version 1 a leader names its own listeners (LeaderEndpoints).
      const own =
        this.raftConfig.kraftVersion === 1 &&
        (message._tag === "BeginQuorumEpochRequest" || message._tag === "EndQuorumEpochRequest")
          ? (this.endpoints.get(this.config.nodeId) ?? [])
          : [];
      this.sendKafka(to, "raft", correlationId, api, (wireId) =>
        encodeRaftRequest(message, wireId, `raft-client-${this.config.nodeId}`, own),
      );
      return;
    }
    if (message._tag === "DescribeQuorumResponse") return; // Answered to clients through spec/node (R88).
    // R96: this node's Kafka server answers ApiVersions (its SupportedFeatures carry the spec's
    // kraft.version range); a Raft layer never receives the request, so never answers it.
    if (message._tag === "ApiVersionsResponse") return;
    const key = `raft:${to}:${correlationId ?? -1}`;
    const origin = this.raftOrigins.get(key);
    this.raftOrigins.delete(key);
    if (origin === undefined) return; // The requester went away; its request is lost like any other.
    // A Fetch answer's records are the stored batches' own bytes, made once and sent to every replica;
    // a FetchSnapshot answer's, the part of the snapshot file the Raft layer chose (R83).
    const records =
      message._tag === "FetchResponse" && message.records.length > 0
        ? this.store.batchBytes(
            message.records[0]!.baseOffset,
            message.records.at(-1)!.baseOffset + message.records.at(-1)!.count,
          )
        : message._tag === "FetchSnapshotResponse" && message.bytes > 0
          ? this.store.snapshots.slice(
              message.snapshotId.endOffset,
              message.snapshotId.epoch,
              message.position,
              message.bytes,
            )
          : null;
    let body: Uint8Array;
    try {
      body = origin.respond(
        message,
        records,
        "leaderId" in message ? this.nodeEndpointOf(message.leaderId) : null,
      );
    } catch (error) {
      this.kafkaFailed(origin.connection, error);
      return;
    }
    origin.connection.sendBytes(body);
  }

  /**
   * Send a request in Kafka's protocol under a correlation id of the wire's own (the spec's ids are per
   * node, Kafka's per connection), tracked for its answer or its timeout.
   */
  private sendKafka(
    to: number,
    kind: "raft" | "node",
    correlationId: number,
    api: Outstanding["api"],
    encode: (wireId: number) => OutgoingRequest,
  ): void {
    let wireId = correlationId % RAFT_WIRE_IDS;
    if (kind === "node") {
      wireId = RAFT_WIRE_IDS + this.nextWireId;
      this.nextWireId = (this.nextWireId + 1) % RAFT_WIRE_IDS;
    }
    const key = `${kind}:${to}:${correlationId}`;
    const wireKey = `${to}:${wireId}`;
    let outgoing: OutgoingRequest;
    try {
      outgoing = encode(wireId);
    } catch (error) {
      this.die(`could not encode a request to node ${to}: ${(error as Error).message}`);
      return;
    }
    this.wireRequests.set(wireKey, {
      kind,
      key,
      apiKey: outgoing.apiKey,
      version: outgoing.version,
      correlationId,
    });
    this.track({ kind, peer: to, correlationId, wireKey, ...(api === undefined ? {} : { api }) });
    // A node request that cannot be sent fails later, not now: a reducer that retries at once must not
    // spin this turn forever. A Raft request is left to its timeout, as before the binary protocol:
    // some of Raft's retries (R75) follow a failure at once.
    if (to === this.config.nodeId) {
      // process.roles=controller,broker: the broker's controller is this very process.
      const body = Buffer.from(outgoing.body);
      this.clock.defer(() => this.onKafkaRequest(this.loopback, body));
      return;
    }
    if (!this.transport.sendTo(to, { body: outgoing.body, key }) && kind === "node")
      this.clock.defer(() => this.fail(key));
  }

  /** A Kafka answer on a connection this node opened: to a Raft request it sent. */
  private onKafkaResponse(connection: Connection, body: Buffer): void {
    if (this.fatal !== null) return;
    if (body.length < 4) {
      this.peerFailed(connection, `a response of ${body.length} bytes`);
      return;
    }
    const wireKey = `${connection.peer}:${body.readInt32BE(0)}`;
    const sent = this.wireRequests.get(wireKey);
    // An answer nobody waits for: its request timed out (and failed, R40(0)) or was never sent.
    if (sent === undefined) return;
    this.wireRequests.delete(wireKey);
    let work: Work;
    try {
      work = this.answerWork(sent, connection.peer, body);
    } catch (error) {
      if (!(error instanceof KafkaDecodeError)) throw error;
      // Its request failed (R75): it was answered with nothing this node can use.
      this.fail(sent.key);
      this.peerFailed(connection, error.message);
      return;
    }
    const o = this.outstanding.get(sent.key);
    if (o !== undefined) {
      o.cancel();
      this.outstanding.delete(sent.key);
    }
    this.enqueue(work);
  }

  /** The input an answer in Kafka's protocol makes, decoded (a KafkaDecodeError if it does not read). */
  private answerWork(sent: SentRequest, from: number, body: Uint8Array): Work {
    if (sent.kind === "node")
      return {
        input: {
          _tag: "Response",
          from,
          correlationId: sent.correlationId,
          response: this.controllerAnswer(sent, body),
        },
      };
    const incoming = decodeRaftResponse(body, sent.apiKey, sent.version);
    for (const e of incoming.nodeEndpoints)
      this.learnNamedEndpoints({
        id: e.nodeId,
        endpoints: [{ name: this.config.controllerListenerName, host: e.host, port: e.port }],
      });
    const input = {
      _tag: "Received" as const,
      from,
      message: this.withSnapshotVoterSet(incoming.response, incoming.snapshotBytes),
      correlationId: sent.correlationId,
    };
    const fetched = incoming.fetched;
    if (incoming.snapshotBytes !== null)
      return { input: { _tag: "Raft", input }, snapshotBytes: incoming.snapshotBytes };
    return fetched === null
      ? { input: { _tag: "Raft", input } }
      : {
          input: {
            _tag: "Raft",
            input,
            fetched: fetched.map((e) => ({ control: e.control, record: e.record })),
          },
          entries: fetched,
          fetchedBatches: incoming.fetchedBatches,
        };
  }

  /**
   * R91: a FetchSnapshot answer that completes a dynamic quorum's snapshot says which voter set the
   * snapshot holds (the spec's leader names it; on the wire it is inside the snapshot's bytes), in
   * force from just below the snapshot's end as a restart would find it.
   */
  private withSnapshotVoterSet(response: IncomingResponse, bytes: Uint8Array | null): IncomingResponse {
    if (
      response._tag !== "FetchSnapshotResponse" ||
      response.errorCode !== "NONE" ||
      bytes === null ||
      this.raftConfig.kraftVersion !== 1 ||
      response.position + bytes.length < response.size
    )
      return response;
    const held = this.store.snapshots.downloadedVoters(
      response.snapshotId.endOffset,
      response.snapshotId.epoch,
      response.position,
      bytes,
    );
    return held?.voters === undefined
      ? response
      : { ...response, voterSet: { offset: response.snapshotId.endOffset - 1, voters: held.voters } };
  }

  /**
   * The active controller's answer to a request this node sent it: a broker's own request's answer as
   * the spec's, or the client's answer in an Envelope, relayed as it is (R148).
   */
  private controllerAnswer(sent: SentRequest, body: Uint8Array): NodeResponse {
    if (sent.apiKey !== ENVELOPE)
      return specBrokerResponse(
        sent.apiKey,
        readResponseFrame(brokerResponseCodec(sent.apiKey), body, sent.version),
      );
    const envelope = readResponseFrame(EnvelopeResponse, body, sent.version);
    if (envelope.errorCode === 0 && envelope.responseData !== null)
      return relayedAnswer(envelope.responseData);
    const code = envelope.errorCode === 0 ? "UNKNOWN_SERVER_ERROR" : errorName(envelope.errorCode);
    return {
      _tag: "AdminResponse",
      errorCode: code,
      errorMessage: `the active controller refused the request passed on to it (${code})`,
      body: null,
    };
  }

  /** A peer answered with bytes this node cannot read: its connection closes, its requests fail. */
  private peerFailed(connection: Connection, problem: string): void {
    this.transport.malformedFrames.value++;
    this.log.warn("closing a connection to a peer that sent a malformed answer", {
      peer: connection.peer,
      problem,
    });
    connection.close();
  }

  /** Answer a request spec/node handled: on the connection it came on. */
  private answer(to: number, correlationId: number, response: NodeResponse): void {
    const key = `node:${to}:${correlationId}`;
    const connection = this.origins.get(key);
    this.origins.delete(key);
    if (this.clientRequests.delete(key)) this.boundClientRequests();
    const pending = this.kafkaPending.get(key);
    if (pending !== undefined) {
      this.kafkaPending.delete(key);
      this.kafkaBodies.delete(key);
      if (connection === undefined) return;
      let body: Uint8Array;
      try {
        // An answer the active controller rendered for this client is relayed as it is (R148).
        body = relayedBytes(response) ?? pending.respond(response);
      } catch (error) {
        this.kafkaFailed(connection, error);
        return;
      }
      if (pending.pipelined) {
        this.kafkaRequests.value++;
        connection.sendBytes(body);
      } else this.kafkaAnswered(connection, body);
    }
  }

  private track(entry: Omit<Outstanding, "cancel">): void {
    const key = `${entry.kind}:${entry.peer}:${entry.correlationId}`;
    const cancel = this.clock.after(this.config.requestTimeoutMs, () => this.fail(key));
    this.outstanding.set(key, { ...entry, cancel });
  }

  /** A request this node sent will not be answered: tell the node (R40(0), R75, R148). */
  private fail(key: string): void {
    const o = this.outstanding.get(key);
    if (o === undefined) return;
    o.cancel();
    this.outstanding.delete(key);
    if (o.wireKey !== undefined) this.wireRequests.delete(o.wireKey);
    if (o.kind === "raft" && o.api !== undefined) {
      this.enqueue({
        input: {
          _tag: "Raft",
          input: { _tag: "RequestFailed", destination: o.peer, api: o.api, correlationId: o.correlationId },
        },
      });
    } else if (o.kind === "node") {
      this.enqueue({ input: { _tag: "RequestFailed", to: o.peer, correlationId: o.correlationId } });
    }
  }

  /**
   * Send a request spec/node asked for, in Kafka's protocol: a broker's own as its message, a client's
   * it passes on (R148) as the client's bytes in an Envelope. A combined node's broker asks its own
   * controller over the loopback, in the same bytes.
   */
  private request(to: number, correlationId: number, request: NodeRequest): void {
    const clientId = nodeClientId(this.config.nodeId);
    if (isBrokerRequest(request)) {
      const { codec, data } = kafkaBrokerRequest(request);
      this.sendKafka(to, "node", correlationId, undefined, (wireId) =>
        requestFrame(codec, data, wireId, clientId),
      );
      return;
    }
    const clientBytes = this.forwardedBytes(correlationId);
    if (clientBytes === undefined) {
      // spec/node passes on only requests that came in Kafka's protocol, whose bytes are kept.
      this.die(`spec/node passed on a ${request._tag} whose bytes this node does not have`);
      return;
    }
    this.sendKafka(to, "node", correlationId, undefined, (wireId) =>
      requestFrame(EnvelopeRequest, envelopeRequest(clientBytes), wireId, clientId),
    );
  }

  /** The Kafka bytes of the client request that spec/node passes on under `forwardId`, if it came so. */
  private forwardedBytes(forwardId: number): Buffer | undefined {
    const forward = this.node.forwards.find((f) => f.id === forwardId);
    return forward === undefined
      ? undefined
      : this.kafkaBodies.get(`node:${forward.client}:${forward.clientCorrelationId}`);
  }

  // ---- receiving -----------------------------------------------------------------------------------

  /**
   * In a combined node, the connection between its broker and its own controller: requests go in on
   * the controller listener, answers come back as if from this node's own outbound connection.
   */
  private readonly loopback: Connection;

  /** Answers on the loopback arrive as if from this node's own controller. */
  private readonly loopbackAnswers: Connection;

  /**
   * Hand a request to spec/node, remembering the connection its answer goes back on; a client's
   * counts toward queued.max.requests until answered.
   */
  private admit(connection: Connection, from: number, correlationId: number, request: NodeRequest): void {
    const key = `node:${from}:${correlationId}`;
    this.origins.set(key, connection);
    if (from < 0) {
      this.clientRequests.add(key);
      this.boundClientRequests();
    }
    // R88: DescribeQuorum is the one request whose answer reports a time, as of its arrival.
    const nowMs = request._tag === "DescribeQuorumAdminRequest" ? { nowMs: this.clock.now() } : {};
    this.enqueue({ input: { _tag: "Request", from, correlationId, request, ...nowMs } });
  }

  /**
   * A request in Kafka's protocol (src/kafka/server.ts). As Kafka's brokers do, a connection's
   * requests are handled one at a time: the next waits until the one before it is answered, so
   * answers leave in request order and each request sees what the one before it did.
   */
  private onKafkaRequest(connection: Connection, body: Buffer): void {
    if (this.fatal !== null) return;
    const waiting = this.kafkaWaiting.get(connection);
    if (waiting !== undefined && waiting.length >= this.config.limits.queuedMaxRequests) {
      // Kafka stops reading a connection while it handles one of its requests; a client that keeps
      // sending meanwhile is held to queued.max.requests of them, then cut off.
      this.closeKafka(
        connection,
        "warn",
        "closing a connection that sent more than queued.max.requests requests ahead",
        {
          queuedMaxRequests: this.config.limits.queuedMaxRequests,
        },
      );
      return;
    }
    if (waiting !== undefined) {
      waiting.push(body);
      return;
    }
    this.kafkaWaiting.set(connection, []);
    this.handleKafka(connection, body);
  }

  private handleKafka(connection: Connection, body: Buffer): void {
    let outcome: KafkaOutcome;
    try {
      outcome = handleKafkaRequest(body, {
        clusterId: this.meta.clusterId,
        listenerName: connection.listener,
        controllerListener: isControllerListener(this.config, connection.listener),
        image: this.image(),
        voters: this.voterAddresses(),
        controllerListenerName: this.config.controllerListenerName,
        leaderId: this.leaderId(),
        kraftVersion: this.raftConfig.kraftVersion ?? 0,
      });
    } catch (error) {
      this.kafkaFailed(connection, error);
      return;
    }
    if (outcome._tag === "Close") {
      this.closeKafka(connection, "warn", "closing a connection: a Kafka request this node does not serve", {
        listener: connection.listener,
        problem: outcome.reason,
      });
      return;
    }
    if (outcome._tag === "Answer") {
      this.kafkaAnswered(connection, outcome.body);
      return;
    }
    if (outcome._tag === "Raft") {
      this.onRaftRequest(connection, outcome);
      // Raft requests do not hold up the connection: a parked Fetch is answered when the leader
      // decides (R63). Kafka's raft client has one request in flight per connection, so its answers
      // still come in order.
      this.kafkaNext(connection);
      return;
    }
    const correlationId = this.nextKafkaCorrelationId++;
    if (outcome.sender !== undefined) {
      // A node's request (a broker's own, or a client's passed on in an Envelope): like Raft's, it does
      // not hold up the connection; Kafka's nodes send these one at a time per connection.
      this.kafkaPending.set(`node:${outcome.sender}:${correlationId}`, {
        respond: outcome.respond,
        pipelined: true,
      });
      this.admit(connection, outcome.sender, correlationId, outcome.request);
      this.kafkaNext(connection);
      return;
    }
    const from = clientIdOf(connection);
    const key = `node:${from}:${correlationId}`;
    // Before it is handed over: a leader may answer it at once, within admit.
    this.kafkaPending.set(key, { respond: outcome.respond, pipelined: false });
    // Kept while it is in hand, in case spec/node passes it on to the active controller (R148).
    this.kafkaBodies.set(key, body);
    this.admit(connection, from, correlationId, outcome.request);
  }

  /**
   * A Kafka request or answer the codec could not render (a value no version can carry): the client
   * gets no half answer; its connection closes, logged and counted, and the node goes on.
   */
  private kafkaFailed(connection: Connection, error: unknown): void {
    this.closeKafka(connection, "error", "closing a connection: its Kafka request could not be answered", {
      problem: error instanceof Error ? error.message : String(error),
    });
  }

  /** Cut a Kafka client off: counted as a malformed frame, logged once, its waiting requests dropped. */
  private closeKafka(
    connection: Connection,
    level: "warn" | "error",
    message: string,
    fields: Record<string, unknown>,
  ): void {
    this.transport.malformedFrames.value++;
    this.log[level](message, { remote: connection.remote, ...fields });
    this.kafkaWaiting.delete(connection);
    connection.close();
  }

  /** Send a Kafka answer, then take the connection's next request. */
  private kafkaAnswered(connection: Connection, body: Uint8Array): void {
    this.kafkaRequests.value++;
    connection.sendBytes(body);
    this.kafkaNext(connection);
  }

  /** Take a connection's next Kafka request, if one waits. */
  private kafkaNext(connection: Connection): void {
    const next = this.kafkaWaiting.get(connection)?.shift();
    if (next === undefined) this.kafkaWaiting.delete(connection);
    else this.handleKafka(connection, next);
  }

  /** A KRaft request from a peer (or a tool): to the Raft layer, its answer rendered back in Kafka's form. */
  private onRaftRequest(connection: Connection, outcome: Extract<KafkaOutcome, { _tag: "Raft" }>): void {
    const message = outcome.request;
    const from = raftRequestSender(message);
    // An operator's request (a voter change) comes from no node: tools on several connections may use
    // the same correlation id, so it goes to the Raft layer under one of this node's own.
    const correlationId = from < 0 ? this.nextOperatorId++ : outcome.correlationId;
    this.raftOrigins.set(`raft:${from}:${correlationId}`, {
      connection,
      respond: outcome.respond,
    });
    if (outcome.leaderEndpoints !== undefined) this.learnNamedEndpoints(outcome.leaderEndpoints);
    // R96: where the leader reaches a voter being added, to ask it for its kraft.version range. A
    // request naming a voter already in the set is refused (DUPLICATE_VOTER): its listeners must not
    // replace that voter's.
    if (
      message._tag === "AddRaftVoterRequest" &&
      !this.node.raft.voters.some((v) => v.id === message.voterId)
    )
      this.learnEndpoints({ id: message.voterId, endpoints: message.listeners });
    // R88: a fetch carries the time it arrived, which the leader keeps for DescribeQuorum (the reducer
    // keeps no clock).
    const input = {
      _tag: "Received" as const,
      from,
      message,
      correlationId,
      ...(message._tag === "FetchRequest" ? { nowMs: this.clock.now() } : {}),
    };
    this.enqueue({ input: { _tag: "Raft", input } });
  }

  /** The correlation ids operators' requests go to the Raft layer under. */
  private nextOperatorId = 1;

  /** Kafka protocol requests answered (kraft_kafka_requests_total). */
  private readonly kafkaRequests = { value: 0 };
  /** Connections with a Kafka request in hand, and the requests that came after it. */
  private readonly kafkaWaiting = new Map<Connection, Buffer[]>();
  /** Kafka requests the spec is handling, by origin key: how their answer is rendered. */
  private readonly kafkaPending = new Map<
    string,
    { readonly respond: (response: NodeResponse) => Uint8Array; readonly pipelined: boolean }
  >();
  /** The bytes of client requests in hand, by origin key: what an Envelope carries if they are passed on. */
  private readonly kafkaBodies = new Map<string, Buffer>();
  private nextKafkaCorrelationId = 0;

  /**
   * What this node's committed image holds, for operators and tests (`/image` on the metrics port):
   * the brokers with their fencing, the topics with their partitions, topic configs and features.
   * Kafka's protocol cannot ask a controller for this (its DescribeCluster names controllers).
   */
  imageView(): object {
    const image = this.image();
    if (image === null)
      return { metadataOffset: -1, clusterId: this.meta.clusterId, brokers: [], topics: [] };
    return {
      metadataOffset: image.offset,
      clusterId: this.meta.clusterId,
      controllerId: this.leaderId(),
      brokers: image.brokers,
      topics: topicsOf(image).map(topicView),
      configs: configsOf(image),
      features: image.features,
    };
  }

  /** Requests that never left because the dial to their peer failed fail now (R75: try again). */
  private onUndelivered(frames: readonly Outgoing[]): void {
    for (const frame of frames) this.fail(frame.key);
  }

  /**
   * queued.max.requests: with that many client requests unanswered, the client listeners are not read
   * (the controller's stays read: Raft must go on) until answers bring the count below it.
   */
  private boundClientRequests(): void {
    const full = this.clientRequests.size >= this.config.limits.queuedMaxRequests;
    if (full === this.clientListenersPaused) return;
    this.clientListenersPaused = full;
    if (full)
      this.log.warn("queued.max.requests client requests are unanswered: client listeners wait", {
        queuedMaxRequests: this.config.limits.queuedMaxRequests,
      });
    for (const listener of this.config.listeners)
      if (!isControllerListener(this.config, listener.name)) this.transport.pauseReading(listener.name, full);
  }

  private clientListenersPaused = false;

  private onClose(connection: Connection): void {
    for (const [key, c] of this.origins) {
      if (c !== connection) continue;
      this.origins.delete(key);
      this.clientRequests.delete(key);
      this.kafkaPending.delete(key);
      this.kafkaBodies.delete(key);
    }
    for (const [key, origin] of this.raftOrigins)
      if (origin.connection === connection) this.raftOrigins.delete(key);
    this.kafkaWaiting.delete(connection);
    this.boundClientRequests();
    if (connection.peer === NO_PEER) return;
    // Collect first: failing a request can send a new one to the same peer, which must not be
    // failed by this same close.
    const lost = [...this.outstanding].filter(([, o]) => o.peer === connection.peer).map(([key]) => key);
    for (const key of lost) this.fail(key);
  }

  // ---- lifecycle -----------------------------------------------------------------------------------

  /** Ends the waits of a graceful stop in progress (hurryStop). */
  private hurry: (() => void) | null = null;

  private die(reason: string): void {
    if (this.fatal !== null) return;
    this.fatal = reason;
    this.log.error(reason);
    for (const f of this.onFatal) f(reason);
  }

  /**
   * Graceful stop: a broker first asks for a controlled shutdown (R116) and a voter resigns (R35),
   * each for at most `timeoutMs`; then everything is flushed and closed.
   */
  stop(timeoutMs = GRACEFUL_STOP_MS): Promise<void> {
    if (this.stopping !== null) return this.stopping;
    const hurried = new Promise<void>((resolve) => {
      this.hurry = resolve;
    });
    this.stopping = (async () => {
      // Each wait ends at its deadline or when hurried; its timer must not outlive the stop (a pending
      // timer kept a stopped process alive for the rest of it).
      const timers: Cancel[] = [];
      const deadline = (ms: number) =>
        Promise.race([new Promise<void>((resolve) => timers.push(this.clock.after(ms, resolve))), hurried]);
      if (this.fatal === null && this.node.broker !== null && this.node.broker.brokerEpoch >= 0) {
        const released = new Promise<void>((resolve) => {
          this.brokerReleased = resolve;
        });
        this.enqueue({ input: { _tag: "BeginControlledShutdown" } });
        await Promise.race([released, deadline(timeoutMs)]);
      }
      if (this.fatal === null && this.node.controller !== null) {
        const stopped = new Promise<void>((resolve) => {
          this.resolveStopped = resolve;
        });
        this.enqueue({ input: { _tag: "Raft", input: { _tag: "Shutdown" } } });
        await Promise.race([stopped, deadline(timeoutMs)]);
      }
      for (const cancel of timers) cancel();
      await this.close();
    })();
    return this.stopping;
  }

  /**
   * Cut a graceful stop short: what is left of its waits (the controlled shutdown, the resignation) is
   * skipped and the node closes. For a second signal, or a supervisor stopping the whole cluster, where
   * no successor can be elected anyway.
   */
  hurryStop(): void {
    this.hurry?.();
  }

  private closing: Promise<void> | null = null;

  /** Stop at once: timers, sockets, files. Closing twice is closing once. */
  close(): Promise<void> {
    this.closing ??= this.closeOnce();
    return this.closing;
  }

  private async closeOnce(): Promise<void> {
    this.flushScheduled?.();
    this.flushScheduled = null;
    for (const cancel of this.timers.values()) cancel();
    this.timers.clear();
    for (const o of this.outstanding.values()) o.cancel();
    this.outstanding.clear();
    await this.transport.close();
    // The fsync in flight ends before its file closes (and before the lock is given up).
    if (this.flushDone !== null) await this.flushDone;
    await new Promise<void>((resolve) =>
      this.metricsServer === null ? resolve() : this.metricsServer.close(() => resolve()),
    );
    // Every release runs even when one before it fails (a failed fsync must not keep the lock held).
    const release = (what: string, fn: () => void) => {
      try {
        fn();
      } catch (error) {
        this.log.error(`could not ${what} while stopping: ${(error as Error).message}`);
      }
    };
    release("sync and close the metadata log", () => this.store.close());
    if (this.traceFd !== null) release("close the trace file", () => closeSync(this.traceFd!));
    release("release the data directory's lock", () => this.unlock());
    this.log.info("node stopped");
  }

  // ---- metrics -------------------------------------------------------------------------------------

  metricsText(): string {
    const s = this.status();
    const image = this.image();
    const memory = process.memoryUsage();
    const lines = [
      "# HELP kraft_node_info This node's id and roles.",
      "# TYPE kraft_node_info gauge",
      `kraft_node_info{node_id="${s.nodeId}",roles="${s.roles.join(",")}",cluster_id="${this.meta.clusterId}"} 1`,
      "# TYPE kraft_raft_epoch gauge",
      `kraft_raft_epoch ${s.epoch}`,
      "# TYPE kraft_raft_role gauge",
      ...["Unattached", "Prospective", "Candidate", "Leader", "Follower", "Resigned"].map(
        (r) => `kraft_raft_role{role="${r}"} ${s.role === r ? 1 : 0}`,
      ),
      "# TYPE kraft_raft_leader_id gauge",
      `kraft_raft_leader_id ${s.leaderId}`,
      "# TYPE kraft_raft_high_watermark gauge",
      `kraft_raft_high_watermark ${s.highWatermark}`,
      "# TYPE kraft_raft_log_end_offset gauge",
      `kraft_raft_log_end_offset ${s.logEndOffset}`,
      "# TYPE kraft_raft_log_start_offset gauge",
      `kraft_raft_log_start_offset ${s.logStartOffset}`,
      "# TYPE kraft_snapshot_end_offset gauge",
      `kraft_snapshot_end_offset ${s.snapshotEndOffset}`,
      "# TYPE kraft_log_flushes_total counter",
      `kraft_log_flushes_total ${this.counters.flushes}`,
      "# TYPE kraft_log_flush_seconds_total counter",
      `kraft_log_flush_seconds_total ${this.counters.flushSeconds.toFixed(6)}`,
      "# TYPE kraft_log_appended_records_total counter",
      `kraft_log_appended_records_total ${this.counters.appendedRecords}`,
      "# TYPE kraft_committed_records_total counter",
      `kraft_committed_records_total ${this.counters.committedRecords}`,
      "# TYPE kraft_controller_active gauge",
      `kraft_controller_active ${s.activeController ? 1 : 0}`,
      "# TYPE kraft_metadata_offset gauge",
      `kraft_metadata_offset ${s.metadataOffset}`,
      "# TYPE kraft_brokers gauge",
      `kraft_brokers{state="unfenced"} ${image?.brokers.filter((b) => !b.fenced).length ?? 0}`,
      `kraft_brokers{state="fenced"} ${image?.brokers.filter((b) => b.fenced).length ?? 0}`,
      "# TYPE kraft_topics gauge",
      `kraft_topics ${image?.topics.size ?? 0}`,
      "# TYPE kraft_partitions gauge",
      `kraft_partitions ${image === null ? 0 : topicsOf(image).reduce((n, t) => n + t.partitions.size, 0)}`,
      "# TYPE kraft_transport_bytes_total counter",
      `kraft_transport_bytes_total{direction="in"} ${this.transport.bytesIn.value}`,
      `kraft_transport_bytes_total{direction="out"} ${this.transport.bytesOut.value}`,
      "# TYPE kraft_transport_malformed_frames_total counter",
      `kraft_transport_malformed_frames_total ${this.transport.malformedFrames.value}`,
      "# HELP kraft_kafka_requests_total Requests in Kafka's binary protocol answered.",
      "# TYPE kraft_kafka_requests_total counter",
      `kraft_kafka_requests_total ${this.kafkaRequests.value}`,
      "# TYPE kraft_transport_refused_connections_total counter",
      `kraft_transport_refused_connections_total ${this.transport.refusedConnections.value}`,
      "# TYPE kraft_transport_idle_closed_total counter",
      `kraft_transport_idle_closed_total ${this.transport.idleClosed.value}`,
      "# TYPE kraft_transport_held_bytes gauge",
      `kraft_transport_held_bytes ${this.transport.held.value}`,
      "# TYPE kraft_reducer_steps_total counter",
      `kraft_reducer_steps_total{layer="raft"} ${this.counters.stepsRaft}`,
      `kraft_reducer_steps_total{layer="controller"} ${this.counters.stepsController}`,
      `kraft_reducer_steps_total{layer="broker"} ${this.counters.stepsBroker}`,
      "# TYPE process_resident_memory_bytes gauge",
      `process_resident_memory_bytes ${memory.rss}`,
      // Where the resident memory goes (prom-client's names): V8's heap, and memory outside it.
      "# TYPE nodejs_heap_size_total_bytes gauge",
      `nodejs_heap_size_total_bytes ${memory.heapTotal}`,
      "# TYPE nodejs_heap_size_used_bytes gauge",
      `nodejs_heap_size_used_bytes ${memory.heapUsed}`,
      "# TYPE nodejs_external_memory_bytes gauge",
      `nodejs_external_memory_bytes ${memory.external}`,
    ];
    return `${lines.join("\n")}\n`;
  }

  private async startMetrics(): Promise<void> {
    const metrics = () => ({ contentType: "text/plain; version=0.0.4", body: this.metricsText() });
    try {
      this.metricsServer = await serveScrape(this.config.metricsPort, this.config.metricsHost, {
        "/": metrics,
        "/metrics": metrics,
        "/status": () => ({ contentType: "application/json", body: JSON.stringify(this.status()) }),
        "/image": () => ({ contentType: "application/json", body: JSON.stringify(this.imageView()) }),
      });
    } catch (error) {
      throw new Error(`openkraft.metrics.port ${this.config.metricsPort}: ${(error as Error).message}`);
    }
  }
}

/** A node that repeats an alert (say, every answer from a misconfigured peer) logs it this often. */
const ALERT_REPEAT_MS = 10_000;

/** The negative requester id a client connection's requests carry inside this node. */
const clientIdOf = (connection: Connection): number => -1000 - connection.id;

/** The shell's name of an application timer (spec/node's ArmAppTimer). */
const timerName = (timer: { readonly kind: string; readonly brokerId?: number }): string =>
  timer.kind === "session" ? `session:${timer.brokerId}` : timer.kind;
