// A KRaft node as one reducer: the Raft layer, and a controller and/or a broker on top of it, with the
// wiring between them (R147), the routing of requests that reach the node (R148) and what the node
// does with an answer from another cluster (R149). The checker's metadata world, the transcripts and
// the runtime all step nodes through `nodeStep`; nothing else connects the layers.
import * as Schema from "effect/Schema";
import { type Mark, mark } from "../marks.ts";
import {
  type BrokerConfig,
  type BrokerEffect,
  type BrokerInput,
  BrokerState,
  brokerStartEffects,
  brokerStep,
  initialBrokerState,
} from "../metadata/broker.ts";
import {
  type ControllerConfig,
  type ControllerEffect,
  type ControllerInput,
  ControllerState,
  controllerStep,
  initialControllerState,
} from "../metadata/controller.ts";
import { type MetadataImage, type OffsetRecord, snapshotRecords } from "../metadata/image.ts";
import { MetadataRecord } from "../metadata/records.ts";
import { ControllerRequest, ControllerResponse, type MetadataErrorCode } from "../metadata/requests.ts";
import {
  AppendAccepted,
  AppendRecords,
  CancelTimer,
  ClientRejected,
  DeleteLogBefore,
  FlushLog,
  HighWatermarkUpdated,
  IllegalState,
  InstallSnapshot,
  LeaderChanged,
  LoadSnapshot,
  PersistElectionState,
  type RaftEffect,
  type RaftInput,
  RaftInput as RaftInputSchema,
  RecoveryComplete,
  Send,
  SetTimer,
  ShutdownComplete,
  SnapshotRefused,
  TruncateLog,
  WriteSnapshot,
  WriteSnapshotChunk,
} from "../raft/io.ts";
import { ControlRecord, isRequest, requestApiOf, SnapshotId } from "../raft/messages.ts";
import { isAnswerTo } from "../raft/node.ts";
import { Int32, Int64, NO_ID } from "../raft/primitives.ts";
import { initialize } from "../raft/startup.ts";
import { type ElectionState, type LogState, type RaftConfig, NodeState as RaftState } from "../raft/state.ts";
import { step as raftStep } from "../raft/step.ts";

// ---- state and configuration ----------------------------------------------------------------------

/** A client's request this node passed on to the active controller, waiting for its answer (R148). */
export const Forward = Schema.Struct({
  /** The correlation id this node used toward the controller. */
  id: Schema.Int,
  to: Int32,
  /** The client (a negative requester id) or node that asked, and the id it asked with. */
  client: Int32,
  clientCorrelationId: Schema.Int,
});
export type Forward = typeof Forward.Type;

export const KraftNode = Schema.Struct({
  raft: RaftState,
  controller: Schema.NullOr(ControllerState),
  broker: Schema.NullOr(BrokerState),
  /** Records below this offset were handed to the controller or broker (R85). */
  listenerOffset: Int64,
  /**
   * R84: the snapshot Raft told the listener to load, until the shell has read it (SnapshotRead);
   * no committed record is handed on meanwhile.
   */
  snapshotToLoad: Schema.NullOr(SnapshotId),
  forwards: Schema.Array(Forward),
  /** Forwarded requests' ids start far above the broker's own, so answers never mix. */
  nextForwardId: Schema.Int,
});
export type KraftNode = typeof KraftNode.Type;

export interface KraftNodeConfig {
  readonly raft: RaftConfig;
  readonly controller: ControllerConfig | null;
  readonly broker: BrokerConfig | null;
}

export const FIRST_FORWARD_ID = 1 << 30;

// ---- inputs -----------------------------------------------------------------------------------------

/** A record of the metadata log as a Fetch answer carries it: a control record or a metadata record. */
export const LogPayload = Schema.Struct({
  control: Schema.NullOr(ControlRecord),
  record: Schema.NullOr(MetadataRecord),
});
export type LogPayload = typeof LogPayload.Type;

/** A DescribeQuorum a client sent to a node's client or controller listener (R88). */
export const DescribeQuorumAdminRequest = Schema.TaggedStruct("DescribeQuorumAdminRequest", {});

/** A request a node serves or passes on: a controller request, or DescribeQuorum. */
export const NodeRequest = Schema.Union([ControllerRequest, DescribeQuorumAdminRequest]);
export type NodeRequest = typeof NodeRequest.Type;

/**
 * An answer that is not the controller's own: the node's refusal (body null), or the quorum's
 * description (the shell's rendering of the Raft layer's DescribeQuorumResponse).
 */
export const AdminResponse = Schema.TaggedStruct("AdminResponse", {
  errorCode: Schema.String,
  errorMessage: Schema.NullOr(Schema.String),
  body: Schema.Unknown,
});
export type AdminResponse = typeof AdminResponse.Type;

export const NodeResponse = Schema.Union([ControllerResponse, AdminResponse]);
export type NodeResponse = typeof NodeResponse.Type;

export const NodeInput = Schema.Union([
  /** A Raft input; a Fetch answer with records comes with their payloads, in offset order. */
  Schema.TaggedStruct("Raft", {
    input: RaftInputSchema,
    fetched: Schema.optionalKey(Schema.Array(LogPayload)),
  }),
  /**
   * A request from a client (`from` < 0, each client connection its own id) or from a node (a broker's
   * own request, or a client's that a node passed on: answered here whatever this node's role, so a
   * request is passed on once at most, R148).
   */
  Schema.TaggedStruct("Request", {
    from: Int32,
    correlationId: Schema.Int,
    request: NodeRequest,
    /** When it arrived (R88: the leader reports its own progress as of then); absent in tests. */
    nowMs: Schema.optionalKey(Int64),
  }),
  /** The answer to a request this node sent (SendRequest). */
  Schema.TaggedStruct("Response", { from: Int32, correlationId: Schema.Int, response: NodeResponse }),
  /** A request this node sent will not be answered (timeout, lost connection). */
  Schema.TaggedStruct("RequestFailed", { to: Int32, correlationId: Schema.Int }),
  /** R84: the records of the snapshot the node was told to load (LoadSnapshot), as the shell read them. */
  Schema.TaggedStruct("SnapshotRead", {
    endOffset: Int64,
    epoch: Int32,
    records: Schema.Array(MetadataRecord),
  }),
  Schema.TaggedStruct("SessionExpired", { brokerId: Int32 }),
  Schema.TaggedStruct("IdleTimeout", {}),
  Schema.TaggedStruct("HeartbeatTimer", {}),
  /** What replication tells a partition leader about a follower (R127). */
  Schema.TaggedStruct("IsrChange", {
    topicId: Schema.String,
    partitionId: Int32,
    follower: Int32,
    followerEpoch: Int64,
    join: Schema.Boolean,
  }),
  Schema.TaggedStruct("BeginControlledShutdown", {}),
]);
export type NodeInput = typeof NodeInput.Type;

// ---- effects ----------------------------------------------------------------------------------------

/** The application timers the shell runs for the controller (R105, R118) and the broker (R115). */
export const AppTimer = Schema.Union([
  Schema.Struct({ kind: Schema.Literal("session"), brokerId: Int32 }),
  Schema.Struct({ kind: Schema.Literal("idle") }),
  Schema.Struct({ kind: Schema.Literal("heartbeat") }),
]);
export type AppTimer = typeof AppTimer.Type;

/**
 * Raft's WriteSnapshot; a node's carries the records of the image it holds (R131), for the shell to
 * write (absent only on a node with neither a controller nor a broker).
 */
const NodeWriteSnapshot = Schema.TaggedStruct("WriteSnapshot", {
  ...WriteSnapshot.fields,
  records: Schema.optionalKey(Schema.Array(MetadataRecord)),
});

/** Raft's AppendRecords; a node's own proposal carries its records, for the shell to write. */
const NodeAppendRecords = Schema.TaggedStruct("AppendRecords", {
  ...AppendRecords.fields,
  records: Schema.optionalKey(Schema.Array(MetadataRecord)),
});

/**
 * What a node asks of its shell, in order: every Raft effect (an AppendRecords of the node's own
 * proposal carries its records), answers, requests to other nodes, application timers, and reports.
 */
export const NodeEffect = Schema.Union([
  // Raft's effects (spec/raft/io.ts RaftEffect), AppendRecords with its proposal's records.
  Send,
  PersistElectionState,
  NodeAppendRecords,
  TruncateLog,
  FlushLog,
  SetTimer,
  CancelTimer,
  HighWatermarkUpdated,
  LeaderChanged,
  AppendAccepted,
  ClientRejected,
  RecoveryComplete,
  ShutdownComplete,
  IllegalState,
  NodeWriteSnapshot,
  DeleteLogBefore,
  WriteSnapshotChunk,
  InstallSnapshot,
  LoadSnapshot,
  SnapshotRefused,
  Schema.TaggedStruct("Respond", { to: Int32, correlationId: Schema.Int, response: NodeResponse }),
  Schema.TaggedStruct("SendRequest", { to: Int32, correlationId: Schema.Int, request: NodeRequest }),
  Schema.TaggedStruct("ArmAppTimer", { timer: AppTimer, delayMs: Schema.Int }),
  Schema.TaggedStruct("CancelAppTimer", { timer: AppTimer }),
  /** The controller agreed that this broker may stop (R116). */
  Schema.TaggedStruct("ShutdownNow", {}),
  /** The broker published its image at this offset (R128). */
  Schema.TaggedStruct("Published", { offset: Int64 }),
  /** Something the operator should read: never a protocol decision the shell must take. */
  Schema.TaggedStruct("Alert", { level: Schema.Literals(["warn", "error"]), text: Schema.String }),
]);
export type NodeEffect = typeof NodeEffect.Type;

/** Every Raft effect's tag (a Record, so the compiler names a new effect missing here). */
const RAFT_EFFECT_TAGS: Readonly<Record<RaftEffect["_tag"], true>> = {
  Send: true,
  PersistElectionState: true,
  AppendRecords: true,
  TruncateLog: true,
  FlushLog: true,
  SetTimer: true,
  CancelTimer: true,
  HighWatermarkUpdated: true,
  LeaderChanged: true,
  AppendAccepted: true,
  ClientRejected: true,
  RecoveryComplete: true,
  ShutdownComplete: true,
  IllegalState: true,
  WriteSnapshot: true,
  DeleteLogBefore: true,
  WriteSnapshotChunk: true,
  InstallSnapshot: true,
  LoadSnapshot: true,
  SnapshotRefused: true,
};

/** Whether a node effect is one of its Raft layer's (the rest are the node's and its layers' above). */
export const isRaftEffect = (e: NodeEffect): e is RaftEffect => Object.hasOwn(RAFT_EFFECT_TAGS, e._tag);

/**
 * One layer's step inside a node step, for traces, transcripts and the checker's judgements: the
 * layer's own effects, and `out`, the node effects they became (a slice of the node step's effects, in
 * order; the effects before the first layer step are the node's own answers to the input).
 */
export type LayerStep = (
  | {
      readonly layer: "raft";
      readonly input: RaftInput;
      readonly before: RaftState;
      readonly after: RaftState;
      readonly effects: readonly RaftEffect[];
    }
  | {
      readonly layer: "controller";
      readonly input: ControllerInput;
      readonly before: ControllerState;
      readonly after: ControllerState;
      readonly effects: readonly ControllerEffect[];
    }
  | {
      readonly layer: "broker";
      readonly input: BrokerInput;
      readonly before: BrokerState;
      readonly after: BrokerState;
      readonly effects: readonly BrokerEffect[];
    }
) & { readonly out: readonly NodeEffect[] };

export interface NodeStepResult {
  readonly state: KraftNode;
  readonly effects: readonly NodeEffect[];
  readonly steps: readonly LayerStep[];
  /** The rule branches the step took, the node's own and its layers', in order (spec/marks.ts). */
  readonly marks: readonly Mark[];
}

/**
 * Read access to the records of the node's log that the shell holds (R85): `records(from, to)` gives
 * the metadata records (control records left out) in [from, to), as they were before this step.
 */
export interface LogReader {
  records(from: number, to: number): readonly OffsetRecord[];
}

// ---- the wiring -------------------------------------------------------------------------------------

interface RaftWork {
  readonly layer: "raft";
  readonly input: RaftInput;
  /** The controller's records, when the input is its proposal (R87). */
  readonly proposal?: readonly MetadataRecord[];
  /** The effects are the process start's (`input` is then only a placeholder). */
  readonly start?: boolean;
}

type Work =
  | RaftWork
  | { readonly layer: "controller"; readonly input: ControllerInput }
  | { readonly layer: "broker"; readonly input: BrokerInput };

/** Records appended during one node step, before the shell has them (a follower's fetched records). */
class Overlay {
  base = -1;
  readonly items: (LogPayload | null)[] = [];
  append(baseOffset: number, epoch: number, payloads: readonly (LogPayload | null)[]): void {
    if (this.base < 0) this.base = baseOffset;
    this.items.length = Math.max(0, baseOffset - this.base);
    this.epochs.length = this.items.length;
    for (const p of payloads) {
      this.items.push(p);
      this.epochs.push(epoch);
    }
  }
  truncate(offset: number): void {
    if (this.base < 0) return;
    const keep = Math.max(0, offset - this.base);
    this.items.length = Math.min(this.items.length, keep);
    this.epochs.length = this.items.length;
  }
  readonly epochs: number[] = [];
  /** The shell's records below the overlay, then the overlay's. */
  read(reader: LogReader, from: number, to: number): OffsetRecord[] {
    const split = this.base < 0 ? to : Math.min(to, this.base);
    const out: OffsetRecord[] = from < split ? [...reader.records(from, split)] : [];
    for (let offset = Math.max(from, split); offset < to; offset++) {
      const item = this.items[offset - this.base];
      if (item?.record != null)
        out.push({ offset, epoch: this.epochs[offset - this.base]!, record: item.record });
    }
    return out;
  }
}

const refusal = (
  errorCode: MetadataErrorCode | "REQUEST_TIMED_OUT",
  errorMessage: string,
): AdminResponse => ({
  _tag: "AdminResponse",
  errorCode,
  errorMessage,
  body: null,
});

/** The leader this node's Raft layer knows (itself when it leads), or -1 (R39). */
export const knownLeaderOf = (s: RaftState): number => {
  const role = s.role;
  if (role._tag === "Leader") return s.nodeId;
  return "leaderId" in role ? role.leaderId : NO_ID;
};

const appTimerOf = (effect: ControllerEffect | BrokerEffect): AppTimer | null => {
  switch (effect._tag) {
    case "ArmSessionTimer":
    case "CancelSessionTimer":
      return { kind: "session", brokerId: effect.brokerId };
    case "ArmIdleTimer":
      return { kind: "idle" };
    case "ArmHeartbeatTimer":
      return { kind: "heartbeat" };
    default:
      return null;
  }
};

/** One node step in progress: the layers' queue, the effects so far, the node as it stands. */
interface Run {
  state: KraftNode;
  readonly config: KraftNodeConfig;
  readonly log: LogReader;
  readonly effects: NodeEffect[];
  readonly steps: LayerStep[];
  readonly marks: Mark[];
  readonly queue: Work[];
  readonly overlay: Overlay;
  /** The payloads of the Fetch answer being handled, if any. */
  fetched: readonly LogPayload[] | undefined;
}

const newRun = (state: KraftNode, config: KraftNodeConfig, log: LogReader): Run => ({
  state,
  config,
  log,
  effects: [],
  steps: [],
  marks: [],
  queue: [],
  overlay: new Overlay(),
  fetched: undefined,
});

/** R148: pass a client's request on to the Raft leader (the active controller), once. */
const forwardTo = (run: Run, from: number, correlationId: number, request: NodeRequest): boolean => {
  const leader = knownLeaderOf(run.state.raft);
  if (leader < 0 || leader === run.state.raft.nodeId) return false;
  const id = run.state.nextForwardId;
  run.state = {
    ...run.state,
    forwards: [...run.state.forwards, { id, to: leader, client: from, clientCorrelationId: correlationId }],
    nextForwardId: id >= 0x7fffffff ? FIRST_FORWARD_ID : id + 1,
  };
  run.effects.push({ _tag: "SendRequest", to: leader, correlationId: id, request });
  mark(run, "R148:forwarded");
  return true;
};

/** Take the input in: what it is for, or the answer the node gives at once (R148, R149). */
const admit = (run: Run, input: NodeInput): void => {
  const { queue, effects } = run;
  switch (input._tag) {
    case "Raft": {
      const raftInput = input.input;
      // R149: an answer that names another cluster is reported when it answers a request in flight,
      // and otherwise ignored; it never stops the node (a forged frame must not be able to).
      if (raftInput._tag === "Received" && "errorCode" in raftInput.message) {
        const message = raftInput.message;
        const api = isRequest(message) ? null : requestApiOf(message);
        const foreign = message.errorCode === "INCONSISTENT_CLUSTER_ID" && api !== null;
        if (foreign && !isAnswerTo(run.state.raft, raftInput.from, api, raftInput.correlationId))
          mark(run, "R149:foreign-answer-ignored");
        else if (foreign) {
          mark(run, "R149:foreign-answer-reported");
          effects.push({
            _tag: "Alert",
            level: "error",
            text: `node ${raftInput.from} answered a ${api} request with INCONSISTENT_CLUSTER_ID: it belongs to another cluster than this node (${run.config.raft.clusterId}); check controller.quorum.voters and the cluster id in each node's meta.properties`,
          });
        }
      }
      run.fetched = input.fetched;
      if (
        raftInput._tag === "CreateSnapshot" &&
        (run.state.controller !== null || run.state.broker !== null) &&
        (run.state.snapshotToLoad !== null || raftInput.endOffset !== run.state.listenerOffset)
      ) {
        // R131: a node snapshots its image, which is as of the records handed to its listener.
        mark(run, "R131:snapshot-not-at-image-refused");
        effects.push({
          _tag: "SnapshotRefused",
          operation: "create",
          endOffset: raftInput.endOffset,
          reason: `the image is as of offset ${run.state.listenerOffset}${run.state.snapshotToLoad === null ? "" : " and a snapshot is still to be loaded"}, not ${raftInput.endOffset}`,
        });
        return;
      }
      queue.push({ layer: "raft", input: raftInput });
      return;
    }
    case "Request": {
      const { from, correlationId, request } = input;
      if (request._tag === "DescribeQuorumAdminRequest") {
        // R88, R148: the leader answers; another node passes it on once, else its Raft layer answers.
        if (
          run.state.raft.role._tag === "Leader" ||
          from >= 0 ||
          !forwardTo(run, from, correlationId, request)
        ) {
          mark(run, "R148:describe-quorum-asked-here");
          queue.push({
            layer: "raft",
            input: {
              _tag: "Received",
              from,
              correlationId,
              message: { _tag: "DescribeQuorumRequest", topicName: "__cluster_metadata", partitionIndex: 0 },
              ...(input.nowMs === undefined ? {} : { nowMs: input.nowMs }),
            },
          });
        }
        return;
      }
      const lifecycle =
        request._tag === "BrokerRegistrationRequest" || request._tag === "BrokerHeartbeatRequest";
      const controller = run.state.controller;
      if (lifecycle && from < 0) {
        // R148: only a broker speaks for itself; a client's lifecycle request is never served or
        // passed on, so no client can fence a broker or stop it.
        mark(run, "R148:client-lifecycle-refused");
        effects.push({
          _tag: "Respond",
          to: from,
          correlationId,
          response: refusal(
            "INVALID_REQUEST",
            `${request._tag} is sent by a broker to the controllers, not by a client`,
          ),
        });
      } else if (controller !== null && (controller.active || from >= 0)) {
        // R148: the active controller serves it; a standby answers NOT_CONTROLLER itself.
        mark(run, "R148:to-controller");
        queue.push({ layer: "controller", input: { _tag: "Request", from, correlationId, request } });
      } else if (from >= 0 || !forwardTo(run, from, correlationId, request)) {
        mark(run, "R148:no-controller-known");
        effects.push({
          _tag: "Respond",
          to: from,
          correlationId,
          response: refusal("NOT_CONTROLLER", "no active controller is known yet; retry shortly"),
        });
      }
      return;
    }
    case "Response":
    case "RequestFailed": {
      const id = input.correlationId;
      const forward = run.state.forwards.find((f) => f.id === id);
      if (forward !== undefined) {
        run.state = { ...run.state, forwards: run.state.forwards.filter((f) => f !== forward) };
        mark(run, input._tag === "Response" ? "R148:answer-relayed" : "R148:forward-failed");
        effects.push({
          _tag: "Respond",
          to: forward.client,
          correlationId: forward.clientCorrelationId,
          response:
            input._tag === "Response"
              ? input.response
              : refusal("REQUEST_TIMED_OUT", `node ${forward.to} did not answer`),
        });
      } else if (run.state.broker !== null) {
        queue.push(
          input._tag === "Response" && input.response._tag !== "AdminResponse"
            ? { layer: "broker", input: { _tag: "Response", correlationId: id, response: input.response } }
            : { layer: "broker", input: { _tag: "RequestFailed", correlationId: id } },
        );
      }
      return;
    }
    case "SnapshotRead": {
      const wanted = run.state.snapshotToLoad;
      if (wanted === null || wanted.endOffset !== input.endOffset || wanted.epoch !== input.epoch) {
        // A newer snapshot was asked for since (or none): this read is stale. Defensive: the shells
        // read a snapshot before they take the node's next input, so no transcript reaches it.
        return;
      }
      mark(run, "R84:listener-loads-snapshot");
      const load = {
        _tag: "LoadSnapshot",
        endOffset: input.endOffset,
        epoch: input.epoch,
        records: input.records,
      } as const;
      if (run.state.controller !== null) queue.push({ layer: "controller", input: load });
      if (run.state.broker !== null) queue.push({ layer: "broker", input: load });
      run.state = { ...run.state, listenerOffset: input.endOffset, snapshotToLoad: null };
      // Then what committed beyond the snapshot, from the log the shell holds.
      handCommitted(run, run.state.raft.highWatermark);
      return;
    }
    case "SessionExpired":
      queue.push({ layer: "controller", input: { _tag: "SessionExpired", brokerId: input.brokerId } });
      return;
    case "IdleTimeout":
      queue.push({ layer: "controller", input: { _tag: "IdleTimeout" } });
      return;
    case "HeartbeatTimer":
      queue.push({ layer: "broker", input: { _tag: "HeartbeatTimer" } });
      return;
    case "IsrChange": {
      const { _tag: _, ...change } = input;
      queue.push({ layer: "broker", input: { _tag: "IsrChange", ...change } });
      return;
    }
    case "BeginControlledShutdown":
      queue.push({ layer: "broker", input: { _tag: "BeginControlledShutdown" } });
      return;
  }
};

/** Step the layers until nothing is left to hand from one to another. */
const drain = (run: Run): NodeStepResult => {
  const { queue, config } = run;
  for (let guard = 0; queue.length > 0; guard++) {
    if (guard > 10_000) {
      run.effects.push({
        _tag: "Alert",
        level: "error",
        text: "a node step did not settle within 10000 layer steps",
      });
      break;
    }
    const work = queue.shift()!;
    switch (work.layer) {
      case "raft": {
        const before = run.state.raft;
        const result = raftStep(before, work.input, config.raft);
        run.marks.push(...result.marks);
        run.state = { ...run.state, raft: result.state };
        const from = run.effects.length;
        routeRaft(run, result.effects, work);
        run.steps.push({
          layer: "raft",
          input: work.input,
          before,
          after: result.state,
          effects: result.effects,
          out: run.effects.slice(from),
        });
        break;
      }
      case "controller": {
        const before = run.state.controller;
        if (before === null || config.controller === null) break;
        const result = controllerStep(before, work.input, config.controller);
        run.marks.push(...result.marks);
        run.state = { ...run.state, controller: result.state };
        const from = run.effects.length;
        routeController(run, result.effects);
        run.steps.push({
          layer: "controller",
          input: work.input,
          before,
          after: result.state,
          effects: result.effects,
          out: run.effects.slice(from),
        });
        break;
      }
      case "broker": {
        const before = run.state.broker;
        if (before === null || config.broker === null) break;
        const result = brokerStep(before, work.input, config.broker);
        run.marks.push(...result.marks);
        run.state = { ...run.state, broker: result.state };
        const from = run.effects.length;
        routeBroker(run, result.effects);
        run.steps.push({
          layer: "broker",
          input: work.input,
          before,
          after: result.state,
          effects: result.effects,
          out: run.effects.slice(from),
        });
        break;
      }
    }
  }
  return { state: run.state, effects: run.effects, steps: run.steps, marks: run.marks };
};

/**
 * R85, R128: hand the layers above the records committed since the last time, in order, up to
 * `highWatermark`. Not while a snapshot is to be loaded (R84): the records below the log start are gone.
 */
const handCommitted = (run: Run, highWatermark: number): void => {
  const { queue, overlay } = run;
  const end = Math.min(highWatermark, run.state.raft.log.endOffset);
  if (end <= run.state.listenerOffset || (run.state.controller === null && run.state.broker === null)) return;
  if (run.state.snapshotToLoad !== null || run.state.listenerOffset < run.state.raft.log.startOffset) {
    mark(run, "R84:commits-wait-for-snapshot");
    return;
  }
  const records = overlay.read(run.log, run.state.listenerOffset, end);
  run.state = { ...run.state, listenerOffset: end };
  if (records.length === 0) return;
  mark(
    run,
    overlay.base >= 0 && end > overlay.base ? "R147:committed-fetched-in-step" : "R147:committed-told",
  );
  if (run.state.controller !== null)
    queue.push({ layer: "controller", input: { _tag: "Committed", records } });
  if (run.state.broker !== null) queue.push({ layer: "broker", input: { _tag: "Committed", records } });
};

/** R147: the Raft layer's effects go to the shell, and its listener callbacks to the layers above. */
const routeRaft = (run: Run, raftEffects: readonly RaftEffect[], work: RaftWork): void => {
  const { effects, queue, overlay } = run;
  for (const effect of raftEffects) {
    switch (effect._tag) {
      case "AppendRecords": {
        let payloads: (LogPayload | null)[];
        if (effect.control !== undefined) {
          payloads = [{ control: effect.control, record: null }];
        } else if (work.proposal !== undefined) {
          payloads = work.proposal.map((record) => ({ control: null, record }));
        } else {
          const first =
            work.input._tag === "Received" && work.input.message._tag === "FetchResponse"
              ? (work.input.message.records[0]?.baseOffset ?? effect.baseOffset)
              : effect.baseOffset;
          payloads = Array.from(
            { length: effect.count },
            (_, i) => run.fetched?.[effect.baseOffset - first + i] ?? null,
          );
        }
        overlay.append(effect.baseOffset, effect.epoch, payloads);
        effects.push(work.proposal === undefined ? effect : { ...effect, records: work.proposal });
        // R106: the leader's own VotersRecord moves where the controller's next records land (its
        // LeaderChangeMessage comes before the controller activates, with the log end, R147).
        if (effect.control?._tag === "VotersRecord" && run.state.controller !== null)
          queue.push({
            layer: "controller",
            input: { _tag: "ControlRecordsAppended", endOffset: effect.baseOffset + effect.count },
          });
        break;
      }
      case "TruncateLog":
        overlay.truncate(effect.offset);
        run.state = { ...run.state, listenerOffset: Math.min(run.state.listenerOffset, effect.offset) };
        effects.push(effect);
        break;
      case "LeaderChanged":
        effects.push(effect);
        mark(run, "R147:leader-change-told");
        if (run.state.controller !== null) {
          queue.push({
            layer: "controller",
            input: {
              _tag: "LeaderChange",
              leaderId: effect.leaderId,
              epoch: effect.epoch,
              logEndOffset: run.state.raft.log.endOffset,
            },
          });
        }
        if (run.state.broker !== null) {
          queue.push({
            layer: "broker",
            input: { _tag: "LeaderChange", leaderId: effect.leaderId, epoch: effect.epoch },
          });
        }
        break;
      case "HighWatermarkUpdated":
        effects.push(effect);
        handCommitted(run, effect.offset);
        break;
      case "WriteSnapshot": {
        // R131: what the snapshot holds is the image the layers above have replayed (admit checked
        // it is as of the snapshot's end).
        const image = committedImage(run.state);
        if (image === undefined) effects.push(effect);
        else {
          mark(run, "R131:snapshot-of-image-written");
          effects.push({ ...effect, records: snapshotRecords(image) });
        }
        break;
      }
      case "LoadSnapshot":
        effects.push(effect);
        // R84: the listener waits for the snapshot's records (SnapshotRead) before anything else.
        if (run.state.controller !== null || run.state.broker !== null) {
          mark(run, "R84:listener-told-to-load-snapshot");
          run.state = {
            ...run.state,
            snapshotToLoad: { endOffset: effect.endOffset, epoch: effect.epoch },
          };
        }
        break;
      case "AppendAccepted":
        effects.push(effect);
        if (run.state.controller !== null && work.proposal !== undefined) {
          mark(run, "R147:proposal-accepted");
          queue.push({
            layer: "controller",
            input: { _tag: "AppendAccepted", baseOffset: effect.baseOffset, lastOffset: effect.lastOffset },
          });
        }
        break;
      case "ClientRejected":
        effects.push(effect);
        if (run.state.controller !== null && effect.operation === "append" && work.proposal !== undefined) {
          queue.push({ layer: "controller", input: { _tag: "AppendRejected" } });
        }
        break;
      case "Send":
        if (effect.message._tag === "DescribeQuorumResponse") {
          // R88, R148: DescribeQuorum is an admin question, asked of the node by a client or by the
          // node that passed a client's on: the answer goes back as the node's answer to that request.
          mark(run, "R148:describe-quorum-answered");
          effects.push({
            _tag: "Respond",
            to: effect.to,
            correlationId: effect.correlationId ?? -1,
            response: {
              _tag: "AdminResponse",
              errorCode: effect.message.errorCode,
              errorMessage: null,
              body: effect.message,
            },
          });
        } else effects.push(effect);
        break;
      default:
        effects.push(effect);
        break;
    }
  }
};

/** R147: the controller's proposals and resignations go to Raft; answers and timers to the shell. */
const routeController = (run: Run, controllerEffects: readonly ControllerEffect[]): void => {
  const { effects, queue } = run;
  for (const effect of controllerEffects) {
    switch (effect._tag) {
      case "Propose":
        queue.push({
          layer: "raft",
          input: { _tag: "ClientAppend", epoch: effect.epoch, count: effect.records.length },
          proposal: effect.records,
        });
        break;
      case "Respond":
        effects.push({
          _tag: "Respond",
          to: effect.to,
          correlationId: effect.correlationId,
          response: effect.response,
        });
        break;
      case "ArmSessionTimer":
      case "ArmIdleTimer":
        effects.push({ _tag: "ArmAppTimer", timer: appTimerOf(effect)!, delayMs: effect.delayMs });
        break;
      case "CancelSessionTimer":
        effects.push({ _tag: "CancelAppTimer", timer: appTimerOf(effect)! });
        break;
      case "ResignLeadership":
        effects.push({
          _tag: "Alert",
          level: "warn",
          text: `resigning the quorum leadership: ${effect.reason}`,
        });
        queue.push({ layer: "raft", input: { _tag: "Resign", epoch: effect.epoch } });
        break;
      case "ReplayProblem":
        effects.push({
          _tag: "Alert",
          level: "error",
          text: `the committed record at offset ${effect.offset} does not fit the controller's image: ${effect.problem}`,
        });
        break;
    }
  }
};

/** R147: the broker's requests, timers and shutdown go to the shell. */
const routeBroker = (run: Run, brokerEffects: readonly BrokerEffect[]): void => {
  const { effects } = run;
  for (const effect of brokerEffects) {
    switch (effect._tag) {
      case "SendToController":
        effects.push({
          _tag: "SendRequest",
          to: effect.to,
          correlationId: effect.correlationId,
          request: effect.request,
        });
        break;
      case "ArmHeartbeatTimer":
        effects.push({ _tag: "ArmAppTimer", timer: appTimerOf(effect)!, delayMs: effect.delayMs });
        break;
      case "Published":
        effects.push({ _tag: "Published", offset: effect.offset });
        break;
      case "ShutdownNow":
        effects.push({ _tag: "ShutdownNow" });
        break;
      case "Problem":
        effects.push({ _tag: "Alert", level: "error", text: `the broker's image: ${effect.detail}` });
        break;
    }
  }
};

/**
 * Apply one input to a node: run it through the layer it is for and carry every consequence from layer
 * to layer (R147) until the node is quiet. Pure: the same state, input, config and log give the same
 * result; nothing is thrown for well-typed input.
 */
export const nodeStep = (
  node: KraftNode,
  input: NodeInput,
  config: KraftNodeConfig,
  log: LogReader,
): NodeStepResult => {
  const run = newRun(node, config, log);
  admit(run, input);
  return drain(run);
};

/** What a process start reads from its storage (R18–R22, R146). */
export interface NodeStorage {
  readonly quorumState: ElectionState | undefined;
  readonly log: LogState;
  readonly recovering: boolean;
  /** R40(0): where this process's Raft request ids start. */
  readonly firstCorrelationId: number;
  /** R112: the broker's incarnation id for this process, and its previous incarnation's epoch. */
  readonly incarnationId: string;
  readonly previousBrokerEpoch: number;
}

/**
 * A process start: the Raft layer chooses its role from storage (R18–R22), the controller and broker
 * start empty (they learn everything from the committed log, R128) and the broker arms its heartbeat
 * (R112); what Raft tells its listener at start goes to them as in any step (R147).
 */
export const initializeNode = (
  config: KraftNodeConfig,
  storage: NodeStorage,
  log: LogReader,
): NodeStepResult & {
  readonly start: { readonly state: RaftState; readonly effects: readonly RaftEffect[] };
} => {
  const start = initialize(
    storage.quorumState,
    storage.log,
    config.raft,
    storage.recovering,
    storage.firstCorrelationId,
  );
  const node: KraftNode = {
    raft: start.state,
    controller: config.controller === null ? null : initialControllerState(config.raft.nodeId),
    broker:
      config.broker === null
        ? null
        : initialBrokerState(config.raft.nodeId, storage.incarnationId, storage.previousBrokerEpoch),
    listenerOffset: 0,
    snapshotToLoad: null,
    forwards: [],
    nextForwardId: FIRST_FORWARD_ID,
  };
  const run = newRun(node, config, log);
  run.marks.push(...start.marks);
  if (config.broker !== null) {
    for (const effect of brokerStartEffects(config.broker)) routeBroker(run, [effect]);
  }
  routeRaft(run, start.effects, { layer: "raft", input: { _tag: "Shutdown" }, start: true });
  return { ...drain(run), start };
};

// ---- snapshots of the image (R131) -------------------------------------------------------------------

/**
 * R131: what a snapshot of this node's image holds, and where it ends: the committed image its
 * controller (or else its broker) has replayed, which covers exactly the records below the listener's
 * offset. Null when there is nothing to snapshot yet, or while a snapshot is being loaded. The shell
 * writes these records and asks Raft for the snapshot (CreateSnapshot at `endOffset`, R77).
 */
export const snapshotContent = (
  node: KraftNode,
): { readonly endOffset: number; readonly records: readonly MetadataRecord[] } | null => {
  const endOffset = snapshotEnd(node);
  const image = committedImage(node);
  return endOffset === null || image === undefined ? null : { endOffset, records: snapshotRecords(image) };
};

/** Where a snapshot of this node's image would end (R131), without building it; null as above. */
export const snapshotEnd = (node: KraftNode): number | null =>
  node.snapshotToLoad !== null || node.listenerOffset <= 0 || committedImage(node) === undefined
    ? null
    : node.listenerOffset;

/** The committed image the layers above have replayed: the controller's, else the broker's. */
const committedImage = (node: KraftNode): MetadataImage | undefined =>
  node.controller?.committed ?? node.broker?.image;

/** R131: when a node takes its next snapshot (Kafka's metadata.log.max.* settings). */
export interface SnapshotPolicy {
  /** metadata.log.max.record.bytes.between.snapshots (20 MiB). */
  readonly maxBytesBetween: number;
  /** metadata.log.max.snapshot.interval.ms (1 hour); 0 turns the time trigger off. */
  readonly maxIntervalMs: number;
}

export const DEFAULT_SNAPSHOT_POLICY: SnapshotPolicy = {
  maxBytesBetween: 20 * 1024 * 1024,
  maxIntervalMs: 60 * 60 * 1000,
};

/**
 * R131: a snapshot is due once enough committed bytes were handed to the listener since the last one,
 * or enough time passed with at least one new committed record.
 */
export const snapshotDue = (policy: SnapshotPolicy, bytesSinceLast: number, msSinceLast: number): boolean =>
  bytesSinceLast >= policy.maxBytesBetween ||
  (policy.maxIntervalMs > 0 && bytesSinceLast > 0 && msSinceLast >= policy.maxIntervalMs);
