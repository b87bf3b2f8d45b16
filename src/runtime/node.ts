// The node driver: the imperative shell around the spec reducers. It turns sockets, timers and disk
// into reducer inputs, and carries out the reducers' effects in order — persisting quorum-state
// before anything that follows it leaves, flushing the log before reporting it flushed (R14, R16).
// It makes no protocol decision of its own: it wires the Raft reducer to the controller and broker
// reducers exactly as spec/cluster/metadata-world.ts does.
import { closeSync, openSync, writeSync } from "node:fs";
import { createServer, type Server } from "node:http";
import {
  type BrokerConfig,
  type BrokerEffect,
  type BrokerInput,
  type BrokerState,
  brokerStartEffects,
  brokerStep,
  initialBrokerState,
} from "../../spec/metadata/broker.ts";
import {
  type ControllerConfig,
  type ControllerInput,
  type ControllerState,
  controllerStep,
  initialControllerState,
} from "../../spec/metadata/controller.ts";
import type { MetadataImage, OffsetRecord } from "../../spec/metadata/image.ts";
import type { MetadataRecord } from "../../spec/metadata/records.ts";
import type { ControllerRequest } from "../../spec/metadata/requests.ts";
import type { RaftEffect, RaftInput } from "../../spec/raft/io.ts";
import { isRequest, type RaftMessage } from "../../spec/raft/messages.ts";
import { initialize } from "../../spec/raft/startup.ts";
import {
  type ElectionState,
  type LogState,
  makeConfig,
  type NodeState,
  type RaftConfig,
  type TimerKind,
} from "../../spec/raft/state.ts";
import { step } from "../../spec/raft/step.ts";
import type { AdminRequest, Frame, NodeRequest, NodeResponse, WireEntry } from "./codec.ts";
import type { NodeConfig } from "./config.ts";
import type { Log } from "./log.ts";
import {
  type LogEntry,
  LogStore,
  lockDirectory,
  type MetaProperties,
  QuorumStateStore,
  readMetaProperties,
} from "./storage.ts";
import { type Connection, Transport } from "./transport.ts";

type Work =
  | {
      readonly kind: "raft";
      readonly input: RaftInput;
      readonly entries?: readonly WireEntry[];
      readonly append?: readonly MetadataRecord[];
    }
  | { readonly kind: "controller"; readonly input: ControllerInput }
  | { readonly kind: "broker"; readonly input: BrokerInput };

/** A request this node sent and waits on. */
interface Outstanding {
  readonly kind: "raft" | "broker" | "forward";
  readonly peer: number;
  readonly correlationId: number;
  readonly timer: NodeJS.Timeout;
  readonly api?: "Vote" | "BeginQuorumEpoch" | "EndQuorumEpoch" | "Fetch";
  /** forward: where the answer goes. */
  readonly client?: {
    readonly connection: Connection;
    readonly correlationId: number;
    readonly admin: boolean;
  };
}

const RAFT_API: Record<string, Outstanding["api"]> = {
  VoteRequest: "Vote",
  BeginQuorumEpochRequest: "BeginQuorumEpoch",
  EndQuorumEpochRequest: "EndQuorumEpoch",
  FetchRequest: "Fetch",
};

export interface NodeStatus {
  readonly nodeId: number;
  readonly roles: readonly string[];
  readonly role: string;
  readonly epoch: number;
  readonly leaderId: number;
  readonly highWatermark: number;
  readonly logEndOffset: number;
  readonly activeController: boolean;
  readonly metadataOffset: number;
  readonly brokerState: string | null;
}

export class NodeError extends Error {
  override readonly name = "NodeError";
}

export class KraftNode {
  readonly config: NodeConfig;
  readonly meta: MetaProperties;
  private readonly log: Log;
  private readonly raftConfig: RaftConfig;
  private readonly controllerConfig: ControllerConfig;
  private readonly brokerConfig: BrokerConfig;
  private readonly store: LogStore;
  private readonly quorum: QuorumStateStore;
  private readonly transport: Transport;
  private readonly unlock: () => void;
  private raft: NodeState;
  private controller: ControllerState | null;
  private broker: BrokerState | null;
  private listenerOffset = 0;
  private readonly queue: Work[] = [];
  private pumping = false;
  private flushWanted = false;
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly outstanding = new Map<string, Outstanding>();
  /** Requests this node must answer: where each answer goes, by requester and correlation id. */
  private readonly origins = new Map<string, Connection>();
  /** Forwarded requests' correlation ids: far above the broker reducer's own, so answers never mix. */
  private nextForwardId = 1 << 30;
  private readonly clientIds = new Map<number, number>();
  /** When each replica last fetched (DescribeQuorum's timestamps; the reducer keeps no clock). */
  private readonly lastFetch = new Map<number, number>();
  private metricsServer: Server | null = null;
  private traceFd: number | null = null;
  private readonly startRecord: {
    readonly config: RaftConfig;
    readonly storage: { readonly quorumState: ElectionState | null; readonly log: LogState };
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

  constructor(config: NodeConfig, log: Log) {
    this.config = config;
    this.log = log;
    this.loopbackAnswers = { ...this.loopback, peer: config.nodeId };
    this.meta = readMetaProperties(config.logDir);
    if (this.meta.nodeId !== config.nodeId) {
      throw new NodeError(
        `${config.logDir} was formatted for node ${this.meta.nodeId}, but node.id is ${config.nodeId}; use the directory formatted for this node`,
      );
    }
    this.unlock = lockDirectory(config.logDir);
    try {
      this.store = new LogStore(`${config.logDir}/__cluster_metadata-0`, config.segmentBytes);
    } catch (error) {
      this.unlock();
      throw error;
    }
    if (this.store.recovery.truncated !== null) {
      this.log.warn("cut a torn or corrupt tail off the metadata log", {
        cut: this.store.recovery.truncated,
        kept: this.store.endOffset,
      });
    }
    this.quorum = new QuorumStateStore(config.logDir, this.meta.clusterId);
    this.raftConfig = makeConfig({
      nodeId: config.nodeId,
      clusterId: this.meta.clusterId,
      voters: config.voters.map((v) => ({ id: v.id })),
      electionTimeoutMs: config.electionTimeoutMs,
      electionBackoffMaxMs: config.electionBackoffMaxMs,
      fetchTimeoutMs: config.fetchTimeoutMs,
      fetchMaxWaitMs: config.fetchMaxWaitMs,
      retryBackoffMs: config.retryBackoffMs,
    });
    this.controllerConfig = {
      nodeId: config.nodeId,
      clusterId: this.meta.clusterId,
      sessionTimeoutMs: config.sessionTimeoutMs,
      noOpIntervalMs: config.noOpIntervalMs,
      defaultNumPartitions: config.numPartitions,
      defaultReplicationFactor: config.defaultReplicationFactor,
      bootstrapMetadataVersion: 21,
    };
    const clientListener = config.listeners.find((l) => l.name !== config.controllerListenerName);
    this.brokerConfig = {
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
      features: [{ name: "metadata.version", minSupportedVersion: 7, maxSupportedVersion: 21 }],
      rack: null,
      heartbeatIntervalMs: config.heartbeatIntervalMs,
    };
    this.controller = config.roles.includes("controller") ? initialControllerState(config.nodeId) : null;
    this.broker = config.roles.includes("broker")
      ? initialBrokerState(config.nodeId, randomIncarnation(), -1)
      : null;
    this.transport = new Transport(
      { onFrame: (c, f) => this.onFrame(c, f), onClose: (c) => this.onClose(c) },
      log,
    );
    for (const v of config.voters) if (v.id !== config.nodeId) this.transport.addPeer(v.id, v.host, v.port);
    // The process start (R18–R22): the reducer decides the role from what storage holds.
    const storage = { quorumState: this.quorum.read() ?? null, log: this.store.logState() };
    const start = initialize(storage.quorumState ?? undefined, storage.log, this.raftConfig);
    this.startRecord = { config: this.raftConfig, storage, effects: start.effects };
    this.raft = start.state;
    this.interpretRaft(start.effects, undefined, undefined);
    if (this.broker !== null) this.interpretBroker(brokerStartEffects(this.brokerConfig));
  }

  /** Bind the listeners and the metrics port, connect to the voters, and start processing. */
  async start(): Promise<void> {
    for (const listener of this.config.listeners) await this.transport.listen(listener);
    if (this.config.metricsPort > 0) await this.startMetrics();
    if (this.config.traceFile.length > 0) {
      this.traceFd = openSync(this.config.traceFile, "a");
      // The process start, with what storage held: a trace checker replays the node from here.
      writeSync(
        this.traceFd,
        `${JSON.stringify({ time: Date.now(), node: this.config.nodeId, layer: "raft", input: { _tag: "Start" }, ...this.startRecord })}\n`,
      );
    }
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
    const role = this.raft.role;
    return role._tag === "Leader" ? this.config.nodeId : "leaderId" in role ? role.leaderId : -1;
  }

  status(): NodeStatus {
    const role = this.raft.role;
    const leaderId = this.leaderId();
    return {
      nodeId: this.config.nodeId,
      roles: this.config.roles,
      role: role._tag,
      epoch: this.raft.epoch,
      leaderId,
      highWatermark: this.raft.highWatermark,
      logEndOffset: this.raft.log.endOffset,
      activeController: this.controller?.active === true,
      metadataOffset: this.image()?.offset ?? -1,
      brokerState: this.broker?.lifecycle ?? null,
    };
  }

  /** The committed image this node serves from. */
  image(): MetadataImage | null {
    return this.broker?.image ?? this.controller?.committed ?? null;
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
        const work = this.queue.shift()!;
        if (work.kind === "raft") this.stepRaft(work.input, work.entries, work.append);
        else if (work.kind === "controller") this.stepController(work.input);
        else this.stepBroker(work.input);
        if (this.fatal !== null) return;
      }
    } catch (error) {
      // A bug or a disk failure: stop rather than go on from a state nobody checked.
      this.die(`stopping on an unexpected error: ${(error as Error).stack ?? String(error)}`);
    } finally {
      this.pumping = false;
    }
    if (this.flushWanted && this.flushScheduled === null) {
      // Adaptive batching: the flush runs after every socket event already waiting has been handled,
      // so one fsync covers all their appends; on an idle node that is at once (no linger).
      this.flushScheduled = setImmediate(() => this.flushNow());
    }
  }

  private flushScheduled: NodeJS.Immediate | null = null;

  private flushNow(): void {
    this.flushScheduled = null;
    if (!this.flushWanted || this.fatal !== null) return;
    this.flushWanted = false;
    const started = performance.now();
    let offset: number;
    try {
      offset = this.store.flush();
    } catch (error) {
      // fsync failed: what the log holds is unknown, so nothing may be reported durable.
      this.die(`the metadata log could not be flushed: ${(error as Error).message}`);
      return;
    }
    this.counters.flushes++;
    this.counters.flushSeconds += (performance.now() - started) / 1000;
    this.enqueue({ kind: "raft", input: { _tag: "LogFlushed", offset } });
  }

  private trace(layer: string, input: unknown, effects: readonly unknown[]): void {
    if (this.traceFd === null) return;
    writeSync(
      this.traceFd,
      `${JSON.stringify({ time: Date.now(), node: this.config.nodeId, layer, input, effects })}\n`,
    );
  }

  private stepRaft(
    input: RaftInput,
    entries: readonly WireEntry[] | undefined,
    append: readonly MetadataRecord[] | undefined,
  ): void {
    const result = step(this.raft, input, this.raftConfig);
    this.counters.stepsRaft++;
    this.raft = result.state;
    this.trace("raft", input, result.effects);
    this.interpretRaft(result.effects, entries, append, input);
  }

  private interpretRaft(
    effects: readonly RaftEffect[],
    entries: readonly WireEntry[] | undefined,
    append: readonly MetadataRecord[] | undefined,
    input?: RaftInput,
  ): void {
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
          for (let i = 0; i < effect.count; i++) {
            if (effect.control !== undefined) {
              batch.push({ epoch: effect.epoch, control: effect.control, record: null });
            } else if (append !== undefined) {
              batch.push({ epoch: effect.epoch, control: null, record: append[i]! });
            } else {
              const fetched = fetchedEntry(input, entries, effect.baseOffset + i);
              if (fetched === undefined) {
                this.die(`a Fetch response lacked the record at offset ${effect.baseOffset + i}`);
                return;
              }
              batch.push({ epoch: effect.epoch, control: fetched.control, record: fetched.record });
            }
          }
          this.store.append(effect.baseOffset, batch);
          this.counters.appendedRecords += effect.count;
          break;
        }
        case "TruncateLog":
          this.log.warn("truncating the metadata log", { offset: effect.offset, end: this.store.endOffset });
          this.store.truncate(effect.offset);
          this.listenerOffset = Math.min(this.listenerOffset, effect.offset);
          break;
        case "FlushLog":
          this.flushWanted = true;
          break;
        case "Send":
          this.sendRaft(effect.to, effect.message, effect.correlationId);
          break;
        case "SetTimer": {
          const jitter = effect.jitterMs > 0 ? Math.floor(Math.random() * effect.jitterMs) : 0;
          this.arm(`raft:${effect.timer}`, effect.delayMs + jitter, {
            kind: "raft",
            input: { _tag: "TimerExpired", timer: effect.timer as TimerKind },
          });
          break;
        }
        case "CancelTimer":
          this.disarm(`raft:${effect.timer}`);
          break;
        case "HighWatermarkUpdated":
          this.deliverCommitted(effect.offset);
          break;
        case "LeaderChanged":
          if (effect.leaderId >= 0 && effect.leaderId !== this.config.nodeId)
            this.log.info("leader known", { leaderId: effect.leaderId, leaderEpoch: effect.epoch });
          if (effect.leaderId === this.config.nodeId)
            this.log.info("this node leads the quorum", { leaderEpoch: effect.epoch });
          if (this.controller !== null) {
            this.queue.push({
              kind: "controller",
              input: {
                _tag: "LeaderChange",
                leaderId: effect.leaderId,
                epoch: effect.epoch,
                logEndOffset: this.raft.log.endOffset,
              },
            });
          }
          if (this.broker !== null)
            this.queue.push({
              kind: "broker",
              input: { _tag: "LeaderChange", leaderId: effect.leaderId, epoch: effect.epoch },
            });
          break;
        case "AppendAccepted":
          if (this.controller !== null)
            this.queue.push({
              kind: "controller",
              input: { _tag: "AppendAccepted", baseOffset: effect.baseOffset, lastOffset: effect.lastOffset },
            });
          break;
        case "ClientRejected":
          if (this.controller !== null && effect.operation === "append")
            this.queue.push({ kind: "controller", input: { _tag: "AppendRejected" } });
          break;
        case "ShutdownComplete":
          this.resolveStopped?.();
          break;
        case "IllegalState":
          this.die(`the Raft layer reports an illegal state (${effect.rule}): ${effect.detail}`);
          return;
      }
    }
  }

  /** R85, R128: hand the listener the records committed up to the high watermark. */
  private deliverCommitted(highWatermark: number): void {
    const end = Math.min(highWatermark, this.store.endOffset);
    const records: OffsetRecord[] = [];
    for (let offset = this.listenerOffset; offset < end; offset++) {
      const e = this.store.entry(offset)!;
      if (e.record !== null) records.push({ offset, epoch: e.epoch, record: e.record });
    }
    this.listenerOffset = Math.max(this.listenerOffset, end);
    if (records.length === 0) return;
    this.counters.committedRecords += records.length;
    if (this.controller !== null)
      this.queue.push({ kind: "controller", input: { _tag: "Committed", records } });
    if (this.broker !== null) this.queue.push({ kind: "broker", input: { _tag: "Committed", records } });
  }

  private stepController(input: ControllerInput): void {
    if (this.controller === null) return;
    const result = controllerStep(this.controller, input, this.controllerConfig);
    this.counters.stepsController++;
    const wasActive = this.controller.active;
    this.controller = result.state;
    this.trace(
      "controller",
      input._tag === "Committed"
        ? {
            _tag: "Committed",
            from: input.records[0]?.offset,
            to: input.records[input.records.length - 1]?.offset,
          }
        : input,
      result.effects,
    );
    if (wasActive !== this.controller.active) {
      this.log.info(
        this.controller.active
          ? "this node is the active controller"
          : "this node is no longer the active controller",
        { epoch: this.controller.epoch },
      );
    }
    for (const effect of result.effects) {
      switch (effect._tag) {
        case "Propose":
          this.queue.push({
            kind: "raft",
            input: { _tag: "ClientAppend", epoch: effect.epoch, count: effect.records.length },
            append: effect.records,
          });
          break;
        case "Respond": {
          const key = `ctl:${effect.to}:${effect.correlationId}`;
          const connection = this.origins.get(key);
          this.origins.delete(key);
          connection?.send({
            _tag: "Response",
            correlationId: effect.correlationId,
            response: effect.response,
          });
          break;
        }
        case "ArmSessionTimer":
          this.arm(`session:${effect.brokerId}`, effect.delayMs, {
            kind: "controller",
            input: { _tag: "SessionExpired", brokerId: effect.brokerId },
          });
          break;
        case "CancelSessionTimer":
          this.disarm(`session:${effect.brokerId}`);
          break;
        case "ArmIdleTimer":
          this.arm("idle", effect.delayMs, { kind: "controller", input: { _tag: "IdleTimeout" } });
          break;
        case "ResignLeadership":
          this.log.warn("resigning the quorum leadership", { reason: effect.reason });
          this.queue.push({ kind: "raft", input: { _tag: "Resign", epoch: effect.epoch } });
          break;
        case "ReplayProblem":
          this.log.error("a committed record does not fit the image", {
            offset: effect.offset,
            problem: effect.problem,
          });
          break;
      }
    }
  }

  private stepBroker(input: BrokerInput): void {
    if (this.broker === null) return;
    const before = this.broker.lifecycle;
    const result = brokerStep(this.broker, input, this.brokerConfig);
    this.counters.stepsBroker++;
    this.broker = result.state;
    this.trace(
      "broker",
      input._tag === "Committed" ? { _tag: "Committed", from: input.records[0]?.offset } : input,
      result.effects,
    );
    if (before !== this.broker.lifecycle)
      this.log.info("broker state changed", {
        from: before,
        to: this.broker.lifecycle,
        brokerEpoch: this.broker.brokerEpoch,
      });
    if (
      input._tag === "Response" &&
      input.response._tag === "BrokerRegistrationResponse" &&
      input.response.errorCode === "DUPLICATE_BROKER_REGISTRATION"
    ) {
      this.log.error(
        `another broker is registered with node id ${this.config.nodeId} and its session is live; this one retries until that session ends`,
      );
    }
    this.interpretBroker(result.effects);
  }

  private interpretBroker(effects: readonly BrokerEffect[]): void {
    for (const effect of effects) {
      switch (effect._tag) {
        case "SendToController":
          this.request(effect.to, effect.correlationId, effect.request, "broker");
          break;
        case "ArmHeartbeatTimer":
          this.arm("heartbeat", effect.delayMs, { kind: "broker", input: { _tag: "HeartbeatTimer" } });
          break;
        case "Published":
          break;
        case "ShutdownNow":
          this.log.info("the controller agreed to the controlled shutdown");
          this.brokerReleased?.();
          break;
        case "Problem":
          this.log.error("a committed record does not fit the broker's image", { problem: effect.detail });
          break;
      }
    }
  }

  private brokerReleased: (() => void) | null = null;

  // ---- timers ------------------------------------------------------------------------------------

  private arm(name: string, delayMs: number, work: Work): void {
    this.disarm(name);
    const timer = setTimeout(() => {
      this.timers.delete(name);
      this.enqueue(work);
    }, delayMs);
    this.timers.set(name, timer);
  }

  private disarm(name: string): void {
    const timer = this.timers.get(name);
    if (timer !== undefined) {
      clearTimeout(timer);
      this.timers.delete(name);
    }
  }

  // ---- sending -------------------------------------------------------------------------------------

  private sendRaft(to: number, message: RaftMessage, correlationId: number | undefined): void {
    const frame: Frame =
      correlationId === undefined
        ? { _tag: "Raft", from: this.config.nodeId, message }
        : { _tag: "Raft", from: this.config.nodeId, correlationId, message };
    if (isRequest(message)) {
      const api = RAFT_API[message._tag];
      if (api !== undefined && correlationId !== undefined)
        this.track({ kind: "raft", peer: to, correlationId, api });
      this.transport.sendTo(to, frame);
      return;
    }
    // An answer goes back on the connection its request came on.
    const key = `raft:${to}:${correlationId ?? -1}`;
    const connection = this.origins.get(key);
    this.origins.delete(key);
    if (connection !== undefined) {
      if (message._tag === "DescribeQuorumResponse" && to < 0) {
        const stamp = (r: (typeof message.currentVoters)[number]) => {
          const fetched =
            r.replicaId === this.config.nodeId ? Date.now() : (this.lastFetch.get(r.replicaId) ?? -1);
          return {
            ...r,
            lastFetchTimestamp: fetched,
            lastCaughtUpTimestamp: r.logEndOffset >= message.highWatermark ? fetched : -1,
          };
        };
        const body = {
          ...message,
          currentVoters: message.currentVoters.map(stamp),
          observers: message.observers.map(stamp),
        };
        connection.send({
          _tag: "Response",
          correlationId: this.clientIds.get(to) ?? -1,
          response: { _tag: "AdminResponse", errorCode: message.errorCode, errorMessage: null, body },
        });
        return;
      }
      if (message._tag === "FetchResponse" && message.records.length > 0) {
        // The records travel as the store's cached JSON: made once, sent to every replica.
        const first = message.records[0]!.baseOffset;
        const last = message.records[message.records.length - 1]!;
        const head = JSON.stringify(frame);
        connection.sendText(
          `${head.slice(0, -1)},"entries":${this.store.wireJson(first, last.baseOffset + last.count)}}`,
        );
        return;
      }
      connection.send(frame);
    }
    // No connection to answer on: the requester went away, and its request is lost like any other.
  }

  private track(entry: Omit<Outstanding, "timer">): void {
    const key = `${entry.kind}:${entry.peer}:${entry.correlationId}`;
    const timer = setTimeout(() => this.fail(key), this.config.requestTimeoutMs);
    this.outstanding.set(key, { ...entry, timer });
  }

  /** A request this node sent will not be answered: tell whoever sent it (R40(0), R75). */
  private fail(key: string): void {
    const o = this.outstanding.get(key);
    if (o === undefined) return;
    clearTimeout(o.timer);
    this.outstanding.delete(key);
    if (o.kind === "raft" && o.api !== undefined) {
      this.enqueue({
        kind: "raft",
        input: { _tag: "RequestFailed", destination: o.peer, api: o.api, correlationId: o.correlationId },
      });
    } else if (o.kind === "broker") {
      this.enqueue({ kind: "broker", input: { _tag: "RequestFailed", correlationId: o.correlationId } });
    } else if (o.client !== undefined) {
      o.client.connection.send({
        _tag: "Response",
        correlationId: o.client.correlationId,
        response: {
          _tag: "AdminResponse",
          errorCode: "REQUEST_TIMED_OUT",
          errorMessage: `node ${o.peer} did not answer`,
          body: null,
        },
      });
    }
  }

  private request(
    to: number,
    correlationId: number,
    request: NodeRequest,
    kind: "broker" | "forward",
    client?: Outstanding["client"],
  ): void {
    this.track(
      client === undefined ? { kind, peer: to, correlationId } : { kind, peer: to, correlationId, client },
    );
    const frame: Frame = { _tag: "Request", from: this.config.nodeId, correlationId, request };
    if (to === this.config.nodeId) {
      // process.roles=controller,broker: the broker's controller is this very process.
      setImmediate(() => this.onFrame(this.loopback, frame));
      return;
    }
    if (!this.transport.sendTo(to, frame)) {
      // Failed later, not now: a reducer that retries at once must not spin this turn forever.
      setImmediate(() => this.fail(`${kind}:${to}:${correlationId}`));
    }
  }

  // ---- receiving -----------------------------------------------------------------------------------

  /** In a combined node, the connection between its broker and its own controller. */
  private readonly loopback: Connection = {
    id: 0,
    listener: "outbound",
    peer: -2,
    remote: "loopback",
    send: (frame) => {
      setImmediate(() => this.onFrame(this.loopbackAnswers, frame));
      return true;
    },
    sendText: (body) => this.loopback.send(JSON.parse(body) as Frame),
    close: () => {},
  };

  /** Answers on the loopback arrive as if from this node's own controller. */
  private readonly loopbackAnswers: Connection;

  /** Clients all say they are -1; each connection gets its own negative id so answers find it. */
  private requesterId(connection: Connection, from: number): number {
    return from >= 0 ? from : clientIdOf(connection);
  }

  private onFrame(connection: Connection, frame: Frame): void {
    if (this.fatal !== null || this.stopping !== null) return;
    switch (frame._tag) {
      case "Raft":
        this.onRaft(connection, frame);
        return;
      case "Request":
        this.onRequest(connection, frame.from, frame.correlationId, frame.request);
        return;
      case "Response": {
        for (const kind of ["broker", "forward"] as const) {
          const key = `${kind}:${connection.peer}:${frame.correlationId}`;
          const o = this.outstanding.get(key);
          if (o === undefined) continue;
          clearTimeout(o.timer);
          this.outstanding.delete(key);
          if (kind === "broker" && frame.response._tag !== "AdminResponse") {
            this.enqueue({
              kind: "broker",
              input: { _tag: "Response", correlationId: frame.correlationId, response: frame.response },
            });
          } else if (o.client !== undefined) {
            o.client.connection.send({
              _tag: "Response",
              correlationId: o.client.correlationId,
              response: frame.response,
            });
          }
          return;
        }
        return;
      }
    }
  }

  private onRaft(connection: Connection, frame: Extract<Frame, { _tag: "Raft" }>): void {
    const message = frame.message;
    if (
      connection.listener !== "outbound" &&
      connection.listener !== this.config.controllerListenerName &&
      message._tag !== "DescribeQuorumRequest"
    ) {
      connection.close();
      return;
    }
    if (isRequest(message)) {
      if (message._tag === "FetchRequest") this.lastFetch.set(frame.from, Date.now());
      this.origins.set(`raft:${frame.from}:${frame.correlationId ?? -1}`, connection);
    } else {
      const key = `raft:${connection.peer >= 0 ? connection.peer : frame.from}:${frame.correlationId}`;
      const o = this.outstanding.get(key);
      if (o !== undefined) {
        clearTimeout(o.timer);
        this.outstanding.delete(key);
      }
      if ("errorCode" in message && message.errorCode === "INCONSISTENT_CLUSTER_ID") {
        this.die(
          `node ${frame.from} belongs to another cluster: this node was formatted with cluster id ${this.meta.clusterId}; reformat it with the cluster's id`,
        );
        return;
      }
    }
    const input: RaftInput =
      frame.correlationId === undefined
        ? { _tag: "Received", from: frame.from, message }
        : { _tag: "Received", from: frame.from, message, correlationId: frame.correlationId };
    this.enqueue(
      frame.entries === undefined ? { kind: "raft", input } : { kind: "raft", input, entries: frame.entries },
    );
  }

  private onRequest(
    connection: Connection,
    claimedFrom: number,
    correlationId: number,
    request: NodeRequest,
  ): void {
    // A DescribeQuorum is always answered as to a client, even when a node forwarded it: the
    // requester's correlation ids then never meet the Raft layer's own.
    const from =
      request._tag === "DescribeQuorumAdminRequest"
        ? clientIdOf(connection)
        : this.requesterId(connection, claimedFrom);
    const admin = from < 0;
    switch (request._tag) {
      case "DescribeClusterRequest":
      case "ListTopicsRequest":
        connection.send({ _tag: "Response", correlationId, response: this.answerAdmin(request) });
        return;
      case "DescribeQuorumAdminRequest": {
        // Forward once at most: a request another node forwarded is answered here, whatever the role.
        if (
          this.raft.role._tag === "Leader" ||
          claimedFrom >= 0 ||
          !this.forward(connection, correlationId, request, admin)
        ) {
          this.clientIds.set(from, correlationId);
          this.origins.set(`raft:${from}:${correlationId}`, connection);
          this.enqueue({
            kind: "raft",
            input: {
              _tag: "Received",
              from,
              message: { _tag: "DescribeQuorumRequest", topicName: "__cluster_metadata", partitionIndex: 0 },
              correlationId,
            },
          });
        }
        return;
      }
      default: {
        // Controller requests: the active controller serves them; an admin's request that reaches
        // another node is forwarded to it (brokers forward admin requests, as in Kafka).
        if (this.controller?.active === true || (this.controller !== null && !admin)) {
          this.origins.set(`ctl:${from}:${correlationId}`, connection);
          this.enqueue({
            kind: "controller",
            input: { _tag: "Request", from, correlationId, request: request as ControllerRequest },
          });
          return;
        }
        if (!this.forward(connection, correlationId, request, admin)) {
          connection.send({
            _tag: "Response",
            correlationId,
            response: {
              _tag: "AdminResponse",
              errorCode: "NOT_CONTROLLER",
              errorMessage: "no active controller is known yet; retry shortly",
              body: null,
            },
          });
        }
      }
    }
  }

  /** Forward a client's request to the Raft leader (the active controller); false if none is known. */
  private forward(
    connection: Connection,
    correlationId: number,
    request: NodeRequest,
    admin: boolean,
  ): boolean {
    const leader = this.leaderId();
    if (leader < 0 || leader === this.config.nodeId || !this.transport.hasPeer(leader)) return false;
    this.request(leader, this.nextForwardId++, request, "forward", { connection, correlationId, admin });
    return true;
  }

  private answerAdmin(request: AdminRequest): NodeResponse {
    const image = this.image();
    if (image === null)
      return { _tag: "AdminResponse", errorCode: "NOT_READY", errorMessage: "no metadata yet", body: null };
    if (request._tag === "DescribeClusterRequest") {
      return {
        _tag: "AdminResponse",
        errorCode: "NONE",
        errorMessage: null,
        body: {
          clusterId: this.meta.clusterId,
          controllerId: this.leaderId(),
          metadataOffset: image.offset,
          brokers: image.brokers,
          features: image.features,
        },
      };
    }
    const topics =
      request._tag === "ListTopicsRequest" && request.topics !== null
        ? image.topics.filter((t) => request.topics!.includes(t.name))
        : image.topics;
    const configs = image.configs.filter(
      (c) => c.resourceType === 2 && topics.some((t) => t.name === c.resourceName),
    );
    return {
      _tag: "AdminResponse",
      errorCode: "NONE",
      errorMessage: null,
      body: { metadataOffset: image.offset, topics, configs },
    };
  }

  private onClose(connection: Connection): void {
    for (const [key, c] of this.origins) if (c === connection) this.origins.delete(key);
    this.clientIds.delete(clientIdOf(connection));
    if (connection.peer < 0) return;
    // Collect first: failing a request can send a new one to the same peer, which must not be
    // failed by this same close.
    const lost = [...this.outstanding].filter(([, o]) => o.peer === connection.peer).map(([key]) => key);
    for (const key of lost) this.fail(key);
  }

  // ---- lifecycle -----------------------------------------------------------------------------------

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
  stop(timeoutMs = 5000): Promise<void> {
    if (this.stopping !== null) return this.stopping;
    this.stopping = (async () => {
      const deadline = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
      if (this.fatal === null && this.broker !== null && this.broker.brokerEpoch >= 0) {
        const released = new Promise<void>((resolve) => {
          this.brokerReleased = resolve;
        });
        this.enqueue({ kind: "broker", input: { _tag: "BeginControlledShutdown" } });
        await Promise.race([released, deadline(timeoutMs)]);
      }
      if (this.fatal === null && this.controller !== null) {
        const stopped = new Promise<void>((resolve) => {
          this.resolveStopped = resolve;
        });
        this.enqueue({ kind: "raft", input: { _tag: "Shutdown" } });
        await Promise.race([stopped, deadline(timeoutMs)]);
      }
      await this.close();
    })();
    return this.stopping;
  }

  /** Stop at once: timers, sockets, files. */
  async close(): Promise<void> {
    if (this.flushScheduled !== null) clearImmediate(this.flushScheduled);
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    for (const o of this.outstanding.values()) clearTimeout(o.timer);
    this.outstanding.clear();
    await this.transport.close();
    await new Promise<void>((resolve) =>
      this.metricsServer === null ? resolve() : this.metricsServer.close(() => resolve()),
    );
    this.store.close();
    if (this.traceFd !== null) closeSync(this.traceFd);
    this.unlock();
    this.log.info("node stopped");
  }

  // ---- metrics -------------------------------------------------------------------------------------

  metricsText(): string {
    const s = this.status();
    const image = this.image();
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
      `kraft_topics ${image?.topics.length ?? 0}`,
      "# TYPE kraft_partitions gauge",
      `kraft_partitions ${image?.topics.reduce((n, t) => n + t.partitions.length, 0) ?? 0}`,
      "# TYPE kraft_transport_bytes_total counter",
      `kraft_transport_bytes_total{direction="in"} ${this.transport.bytesIn.value}`,
      `kraft_transport_bytes_total{direction="out"} ${this.transport.bytesOut.value}`,
      "# TYPE kraft_transport_malformed_frames_total counter",
      `kraft_transport_malformed_frames_total ${this.transport.malformedFrames.value}`,
      "# TYPE kraft_reducer_steps_total counter",
      `kraft_reducer_steps_total{layer="raft"} ${this.counters.stepsRaft}`,
      `kraft_reducer_steps_total{layer="controller"} ${this.counters.stepsController}`,
      `kraft_reducer_steps_total{layer="broker"} ${this.counters.stepsBroker}`,
      "# TYPE process_resident_memory_bytes gauge",
      `process_resident_memory_bytes ${process.memoryUsage.rss()}`,
    ];
    return `${lines.join("\n")}\n`;
  }

  private startMetrics(): Promise<void> {
    return new Promise((resolve, reject) => {
      const server = createServer((req, res) => {
        if (req.url === "/metrics" || req.url === "/") {
          res.writeHead(200, { "content-type": "text/plain; version=0.0.4" });
          res.end(this.metricsText());
        } else if (req.url === "/status") {
          res.writeHead(200, { "content-type": "application/json" });
          res.end(JSON.stringify(this.status()));
        } else {
          res.writeHead(404);
          res.end();
        }
      });
      server.once("error", (error) =>
        reject(new Error(`openkraft.metrics.port ${this.config.metricsPort}: ${error.message}`)),
      );
      server.listen(this.config.metricsPort, this.config.metricsHost, () => {
        this.metricsServer = server;
        resolve();
      });
    });
  }
}

/** The negative requester id a client connection's requests carry inside this node. */
const clientIdOf = (connection: Connection): number => -1000 - connection.id;

/** The record a follower appends from the Fetch response it is handling. */
const fetchedEntry = (
  input: RaftInput | undefined,
  entries: readonly WireEntry[] | undefined,
  offset: number,
): WireEntry | undefined => {
  if (input?._tag !== "Received" || input.message._tag !== "FetchResponse" || entries === undefined)
    return undefined;
  const first = input.message.records[0]?.baseOffset ?? 0;
  return entries[offset - first];
};

/** A fresh incarnation id per process start (R112): 16 random bytes, base64url like Kafka's Uuid. */
const randomIncarnation = (): string => {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Buffer.from(bytes).toString("base64url");
};
