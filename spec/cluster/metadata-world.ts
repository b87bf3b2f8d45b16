// A simulated KRaft cluster: controllers that are Raft voters and brokers that are Raft observers
// (R103), each running the Raft reducer under its controller or broker reducer, wired as the runtime
// wires them. Raft's listener callbacks (R85, R86) become controller and broker inputs; a
// controller's proposals become Raft appends (R87); brokers and an admin client talk to the
// controllers over their own request channel. Like the Raft world it is pure, and it keeps the ghost
// history the metadata properties need: which writes were answered, and what the committed log is.

import {
  controllerStepProblem,
  imageProblem,
  recordProblem,
  reportsSuccess,
} from "../invariants/metadata.ts";
import {
  type BrokerConfig,
  type BrokerEffect,
  type BrokerInput,
  type BrokerState,
  makeBrokerConfig,
} from "../metadata/broker.ts";
import {
  type ControllerConfig,
  type ControllerEffect,
  type ControllerInput,
  type ControllerState,
  DEFAULT_CONTROLLER_CONFIG,
} from "../metadata/controller.ts";
import { uuidFrom } from "../metadata/ids.ts";
import {
  apply,
  EMPTY_IMAGE,
  findPartitionById,
  loadSnapshotImage,
  type MetadataImage,
  type OffsetRecord,
  snapshotRecords,
} from "../metadata/image.ts";
import type { MetadataRecord } from "../metadata/records.ts";
import type { ControllerRequest } from "../metadata/requests.ts";
import {
  FIRST_FORWARD_ID,
  initializeNode,
  isRaftEffect,
  type KraftNode,
  type KraftNodeConfig,
  type LayerStep,
  type LogPayload,
  type LogReader,
  type NodeEffect,
  type NodeInput,
  type NodeRequest,
  type NodeResponse,
  type NodeStepResult,
  type NodeStorage,
  nodeStep,
  snapshotEnd,
} from "../node/node.ts";
import type { RaftInput } from "../raft/io.ts";
import { isRequest, type RaftMessage } from "../raft/messages.ts";
import type { TimerKind } from "../raft/state.ts";
import {
  applyEffects,
  applyStart,
  type ClusterSpec,
  crashDown as crashRaft,
  drop as dropRaft,
  type Envelope,
  entryEpoch,
  entryValue,
  FORMATTED_SLOT,
  flushedSlot,
  nodeConfig,
  nodeIdOf,
  type PayloadOf,
  requestFailures,
  type StepTrace,
  storageOf,
  unansweredBy,
  type World,
} from "./world.ts";

/** The requester id of the admin client: a client, not a node (spec/node: clients are negative). */
export const ADMIN_ID = -1;

export interface MetadataClusterSpec {
  readonly controllers: number;
  readonly brokers: number;
  readonly clusterId: string;
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  readonly controller: Omit<ControllerConfig, "nodeId" | "clusterId">;
  readonly heartbeatIntervalMs: number;
  /** Every log append is flushed at once (fsync on write), as if each FlushLog completed at once. */
  readonly syncFlush: boolean;
}

export const DEFAULT_METADATA_CLUSTER: MetadataClusterSpec = {
  controllers: 3,
  brokers: 3,
  clusterId: "openkraft-sim",
  preVote: true,
  checkQuorum: true,
  controller: DEFAULT_CONTROLLER_CONFIG,
  heartbeatIntervalMs: 2000,
  syncFlush: false,
};

const raftSpecs = new WeakMap<MetadataClusterSpec, ClusterSpec>();

/** The Raft cluster underneath: controllers are voters 1..C, brokers observers C+1..C+B (R103). */
export const raftSpecOf = (spec: MetadataClusterSpec): ClusterSpec => {
  let raft = raftSpecs.get(spec);
  if (raft === undefined) {
    raft = {
      voters: spec.controllers,
      observers: spec.brokers,
      preVote: spec.preVote,
      checkQuorum: spec.checkQuorum,
      clusterId: spec.clusterId,
      // KIP-1166's early answers add Raft steps after every commit, which the metadata model's depth
      // bound would spend on the Raft layer; the Raft model checks KIP-1166 (R63).
      fetchHighWatermark: false,
    };
    raftSpecs.set(spec, raft);
  }
  return raft;
};

export const isControllerIndex = (spec: MetadataClusterSpec, index: number): boolean =>
  index < spec.controllers;

export const controllerConfigOf = (spec: MetadataClusterSpec, nodeId: number): ControllerConfig => ({
  ...spec.controller,
  nodeId,
  clusterId: spec.clusterId,
});

export const brokerConfigOf = (spec: MetadataClusterSpec, brokerId: number): BrokerConfig => ({
  ...makeBrokerConfig(brokerId, spec.clusterId),
  heartbeatIntervalMs: spec.heartbeatIntervalMs,
});

/** The application half of a node: its controller or broker, and the timers it armed. */
export interface AppSlot {
  readonly controller: ControllerState | null;
  readonly broker: BrokerState | null;
  /** Records below this offset were handed to the listener (R85). */
  readonly listenerOffset: number;
  /** R84: the snapshot the listener was told to load and has not read yet. */
  readonly snapshotToLoad: KraftNode["snapshotToLoad"];
  /** Client requests the node passed on to the active controller (spec/node, R148). */
  readonly forwards: KraftNode["forwards"];
  readonly nextForwardId: number;
  /** Controller: brokers whose session timer is armed (R118), in id order. */
  readonly sessionTimers: readonly number[];
  readonly idleTimer: boolean;
  /** Broker: the heartbeat timer (R115). */
  readonly heartbeatTimer: boolean;
  /** Process starts so far; a broker's incarnation is derived from it. */
  readonly starts: number;
  /** The broker epoch of the last incarnation that registered (its next start reports it). */
  readonly lastBrokerEpoch: number;
}

export type MetaBody =
  | { readonly kind: "request"; readonly request: NodeRequest }
  | { readonly kind: "response"; readonly response: NodeResponse }
  /** The sender's transport gave up on the request (a lost message, a dead peer). */
  | { readonly kind: "failed" };

export interface MetaEnvelope {
  readonly from: number;
  readonly to: number;
  readonly correlationId: number;
  /** The process start of the receiver this is meant for; a restarted process ignores it. */
  readonly toStart: number;
  /** The process start of the sender (copied into the answer's toStart). */
  readonly fromStart: number;
  readonly body: MetaBody;
}

/** A write a controller took on: answered only once [baseOffset, lastOffset] of `epoch` commit. */
export interface GhostWrite {
  readonly node: number;
  readonly to: number;
  readonly correlationId: number;
  readonly baseOffset: number;
  readonly lastOffset: number;
  readonly epoch: number;
}

export interface RequestOrigin {
  readonly node: number;
  readonly from: number;
  readonly correlationId: number;
  readonly fromStart: number;
}

export interface MetadataWorld {
  readonly raft: World;
  readonly apps: readonly AppSlot[];
  /** The records of the Raft entries: entry value v is records[v - 1] (0 marks a control record). */
  readonly records: readonly MetadataRecord[];
  readonly network: readonly MetaEnvelope[];
  readonly writes: readonly GhostWrite[];
  /** Requests a controller received and has not answered: whose process start the answer is for. */
  readonly origins: readonly RequestOrigin[];
  readonly adminRequests: number;
  /** Ghost: the admin client's requests that got an answer, by correlation id. */
  readonly adminAnswers: readonly number[];
  readonly controllerCrashes: number;
  readonly brokerCrashes: number;
  readonly sessionExpiries: number;
  readonly shutdowns: number;
  /** Raft timeouts taken with nothing failed (see MetaBounds.maxDelays). */
  readonly delays: number;
  /** Forged frames delivered so far (see MetaBounds.maxForgedFrames). */
  readonly forgedFrames: number;
  /** The first metadata property broken, if any (Raft's own are in raft.broken). */
  readonly broken: string | null;
}

/** Events a transition raised, for the model checker's `sometimes` properties. */
export const EVENT = {
  BROKER_FENCED: 1,
  LEADER_MOVED: 2,
  FAILOVER_FAILED_PENDING: 4,
  BROKER_UNFENCED: 8,
  TOPIC_CREATED: 16,
  ISR_EXPANDED: 32,
  CONTROLLED_SHUTDOWN: 64,
  /** A node downloaded a snapshot from the leader and loaded it (R83, R84). */
  SNAPSHOT_INSTALLED: 128,
} as const;

export type MetaStep =
  | { readonly layer: "raft"; readonly step: StepTrace }
  | {
      readonly layer: "controller";
      readonly node: number;
      readonly input: ControllerInput;
      readonly effects: readonly ControllerEffect[];
      readonly after: ControllerState;
    }
  | {
      readonly layer: "broker";
      readonly node: number;
      readonly input: BrokerInput;
      readonly effects: readonly BrokerEffect[];
      readonly after: BrokerState;
    }
  | {
      readonly layer: "admin";
      readonly from: number;
      readonly correlationId: number;
      readonly response: NodeResponse;
    }
  | { readonly layer: "note"; readonly text: string };

export interface MetaOutcome {
  readonly world: MetadataWorld;
  readonly steps: readonly MetaStep[];
  readonly events: number;
  /** Every whole-node step, as the runtime's trace records it (conformance/node-trace.ts replays it). */
  readonly nodeSteps?: readonly NodeStepRecord[];
}

/** A whole-node step: a process start with what its storage held, or one input; and the node's effects. */
export type NodeStepRecord =
  | {
      readonly node: number;
      readonly start: {
        readonly config: KraftNodeConfig;
        readonly storage: NodeStorage;
        /** The stored log as the start read it (its records are read only by whoever wants them). */
        readonly log: LogReader;
      };
      readonly effects: readonly NodeEffect[];
    }
  | { readonly node: number; readonly input: NodeInput; readonly effects: readonly NodeEffect[] };

// ---- ghost: the committed log as records ----------------------------------------------------------

/** The committed data records (control records left out), with their offsets and epochs. */
export const committedRecords = (world: MetadataWorld): OffsetRecord[] => {
  const out: OffsetRecord[] = [];
  world.raft.committed.forEach((entry, offset) => {
    const value = entryValue(entry);
    if (value > 0) out.push({ offset, epoch: entryEpoch(entry), record: world.records[value - 1]! });
  });
  return out;
};

const ghostCache = new WeakMap<readonly number[], Map<number, MetadataImage>>();

// The ghost replays with the function the nodes use; recordProblem checks each record independently.
const replayOne = (image: MetadataImage, r: OffsetRecord): MetadataImage =>
  apply(image, r.record, r.offset, r.epoch).image;

/** The image of the committed log up to and including `offset`, by replay (cached per log). */
export const committedImageAt = (world: MetadataWorld, offset: number): MetadataImage => {
  let byOffset = ghostCache.get(world.raft.committed);
  if (byOffset === undefined) {
    byOffset = new Map();
    ghostCache.set(world.raft.committed, byOffset);
  }
  const cached = byOffset.get(offset);
  if (cached !== undefined) return cached;
  let image = EMPTY_IMAGE;
  for (const r of committedRecords(world)) {
    if (r.offset > offset) break;
    image = replayOne(image, r);
  }
  byOffset.set(offset, image);
  return image;
};

const sameImage = (a: MetadataImage, b: MetadataImage): boolean => JSON.stringify(a) === JSON.stringify(b);

// ---- nodes: spec/node, stepped here -------------------------------------------------------------

interface Run {
  world: MetadataWorld;
  readonly spec: MetadataClusterSpec;
  readonly steps: MetaStep[];
  events: number;
  /** Node inputs the world still owes (a flush it carried out at once, failed requests). */
  readonly queue: { readonly index: number; readonly input: NodeInput; readonly envelope?: Envelope }[];
  readonly nodeSteps: NodeStepRecord[];
}

const setApp = (run: Run, index: number, app: AppSlot): void => {
  const apps = run.world.apps.slice();
  apps[index] = app;
  run.world = { ...run.world, apps };
};

const breakWith = (run: Run, problem: string | null): void => {
  if (problem !== null && run.world.broken === null) run.world = { ...run.world, broken: problem };
};

const send = (run: Run, envelope: MetaEnvelope): void => {
  run.world = { ...run.world, network: [...run.world.network, envelope] };
};

const startOf = (world: MetadataWorld, id: number): number =>
  id === ADMIN_ID ? 0 : (world.apps[id - 1]?.starts ?? 0);

/** Events of newly committed records: fencing, unfencing, leadership moving between brokers. */
const commitEvents = (before: MetadataWorld, after: MetadataWorld): number => {
  const from = before.raft.committed.length;
  const to = after.raft.committed.length;
  if (to <= from) return 0;
  let events = 0;
  let image = committedImageAt(after, from - 1);
  for (let offset = from; offset < to; offset++) {
    const value = entryValue(after.raft.committed[offset]!);
    if (value === 0) continue;
    const record = after.records[value - 1]!;
    if (record._tag === "BrokerRegistrationChangeRecord" && record.fenced === 1)
      events |= EVENT.BROKER_FENCED;
    if (record._tag === "BrokerRegistrationChangeRecord" && record.fenced === -1)
      events |= EVENT.BROKER_UNFENCED;
    if (record._tag === "BrokerRegistrationChangeRecord" && record.inControlledShutdown === 1)
      events |= EVENT.CONTROLLED_SHUTDOWN;
    if (record._tag === "TopicRecord") events |= EVENT.TOPIC_CREATED;
    if (record._tag === "PartitionChangeRecord") {
      const old = findPartitionById(image, record.topicId, record.partitionId);
      if (old !== undefined && record.leader >= 0 && old.leader >= 0 && record.leader !== old.leader)
        events |= EVENT.LEADER_MOVED;
      if (old !== undefined && record.isr !== null && record.isr.length > old.isr.length)
        events |= EVENT.ISR_EXPANDED;
    }
    image = replayOne(image, { offset, epoch: entryEpoch(after.raft.committed[offset]!), record });
  }
  return events;
};

/** Check every newly committed record against the image before it (R114, R119, R122, R123). */
const checkNewCommits = (run: Run, before: MetadataWorld): void => {
  const from = before.raft.committed.length;
  const committed = run.world.raft.committed;
  if (committed.length <= from || run.world.broken !== null) return;
  let image = committedImageAt(run.world, from - 1);
  for (let offset = from; offset < committed.length; offset++) {
    const value = entryValue(committed[offset]!);
    if (value === 0) continue;
    const record = run.world.records[value - 1]!;
    const epoch = entryEpoch(committed[offset]!);
    const problem = recordProblem(image, record, offset, epoch);
    if (problem !== null) {
      breakWith(run, problem);
      return;
    }
    image = replayOne(image, { offset, epoch, record });
  }
  // A batch is applied as a whole (R104): the image is checked where the commit ends, not inside it.
  const invalid = imageProblem(image);
  if (invalid !== null) breakWith(run, `${invalid} (committed image at offset ${image.offset})`);
};

/** Determinism (R128): a node's committed image equals the replay of the committed log to its offset. */
const checkImage = (run: Run, index: number, image: MetadataImage): void => {
  if (run.world.broken !== null) return;
  const ghost = committedImageAt(run.world, image.offset);
  if (!sameImage(ghost, image)) {
    breakWith(
      run,
      `SameCommittedPrefixSameImage: node ${nodeIdOf(index)}'s image at offset ${image.offset} differs from the replay of the committed log`,
    );
  }
};

/** The node configuration of node `index`: a controller (voter) or a broker (observer), R103. */
const nodeConfigs = new WeakMap<MetadataClusterSpec, KraftNodeConfig[]>();
export const kraftConfigOf = (spec: MetadataClusterSpec, index: number): KraftNodeConfig => {
  let list = nodeConfigs.get(spec);
  if (list === undefined) {
    list = Array.from({ length: spec.controllers + spec.brokers }, (_, i) => {
      const id = nodeIdOf(i);
      const controller = isControllerIndex(spec, i);
      return {
        raft: nodeConfig(raftSpecOf(spec), id),
        controller: controller ? controllerConfigOf(spec, id) : null,
        broker: controller ? null : brokerConfigOf(spec, id),
      };
    });
    nodeConfigs.set(spec, list);
  }
  return list[index]!;
};

/** Node `index` as spec/node sees it: its Raft state and its application half. */
const kraftNodeOf = (world: MetadataWorld, index: number): KraftNode | null => {
  const raft = world.raft.nodes[index]!.state;
  if (raft === null) return null;
  const app = world.apps[index]!;
  return {
    raft,
    controller: app.controller,
    broker: app.broker,
    listenerOffset: app.listenerOffset,
    snapshotToLoad: app.snapshotToLoad,
    forwards: app.forwards,
    nextForwardId: app.nextForwardId,
  };
};

/** The shell's side of the log for spec/node: the node's records as the world stores them. */
const readerOf = (world: MetadataWorld, index: number): LogReader => ({
  records: (from, to) => {
    const entries = world.raft.nodes[index]!.entries;
    const out: OffsetRecord[] = [];
    for (let offset = from; offset < Math.min(to, entries.length); offset++) {
      const value = entryValue(entries[offset]!);
      if (value > 0)
        out.push({ offset, epoch: entryEpoch(entries[offset]!), record: world.records[value - 1]! });
    }
    return out;
  },
});

/** The payloads of a Fetch answer's records, as spec/node takes them. */
const fetchedOf = (world: MetadataWorld, envelope: Envelope): LogPayload[] | undefined =>
  envelope.payload === null
    ? undefined
    : envelope.payload.map((entry) => {
        const value = entryValue(entry);
        return value === 0
          ? { control: null, record: null }
          : { control: null, record: world.records[value - 1]! };
      });

/** Carry out the effects spec/node asks for that are not the Raft layer's. */
const carryOut = (run: Run, index: number, effects: readonly NodeEffect[]): boolean => {
  const id = nodeIdOf(index);
  for (const effect of effects) {
    const app = run.world.apps[index]!;
    switch (effect._tag) {
      case "Respond": {
        const write = run.world.writes.find(
          (w) => w.node === index && w.to === effect.to && w.correlationId === effect.correlationId,
        );
        if (write !== undefined) {
          run.world = { ...run.world, writes: run.world.writes.filter((w) => w !== write) };
          if (effect.response._tag !== "AdminResponse" && reportsSuccess(effect.response)) {
            // R104: success only for records that committed, as written.
            const committed = run.world.raft.committed;
            const intact =
              committed.length > write.lastOffset &&
              committed
                .slice(write.baseOffset, write.lastOffset + 1)
                .every((e) => entryEpoch(e) === write.epoch);
            if (!intact) {
              breakWith(
                run,
                `SuccessOnlyWhenCommitted: node ${id} answered ${effect.response._tag} to ${effect.to}#${effect.correlationId} before offsets ${write.baseOffset}..${write.lastOffset} committed`,
              );
            }
          } else {
            // A write taken on and then failed: the controller lost leadership first (R104).
            run.events |= EVENT.FAILOVER_FAILED_PENDING;
          }
        }
        const origin = run.world.origins.find(
          (o) => o.node === index && o.from === effect.to && o.correlationId === effect.correlationId,
        );
        if (origin !== undefined)
          run.world = { ...run.world, origins: run.world.origins.filter((o) => o !== origin) };
        send(run, {
          from: id,
          to: effect.to,
          correlationId: effect.correlationId,
          toStart: origin?.fromStart ?? startOf(run.world, effect.to),
          fromStart: app.starts,
          body: { kind: "response", response: effect.response },
        });
        break;
      }
      case "SendRequest":
        send(run, {
          from: id,
          to: effect.to,
          correlationId: effect.correlationId,
          toStart: startOf(run.world, effect.to),
          fromStart: app.starts,
          body: { kind: "request", request: effect.request },
        });
        break;
      case "ArmAppTimer":
        if (effect.timer.kind === "session") {
          const brokerId = effect.timer.brokerId;
          if (!app.sessionTimers.includes(brokerId))
            setApp(run, index, {
              ...app,
              sessionTimers: [...app.sessionTimers, brokerId].sort((a, b) => a - b),
            });
        } else if (effect.timer.kind === "idle") {
          if (!app.idleTimer) setApp(run, index, { ...app, idleTimer: true });
        } else if (!app.heartbeatTimer) {
          setApp(run, index, { ...app, heartbeatTimer: true });
        }
        break;
      case "CancelAppTimer":
        if (effect.timer.kind === "session") {
          const brokerId = effect.timer.brokerId;
          setApp(run, index, { ...app, sessionTimers: app.sessionTimers.filter((b) => b !== brokerId) });
        }
        break;
      case "ShutdownNow":
        run.steps.push({ layer: "note", text: `n${id} shuts down` });
        stopNode(run, index);
        return false;
      case "IllegalState":
        breakWith(run, `NoIllegalState: node ${id}: ${effect.rule}: ${effect.detail} (R136)`);
        break;
      default:
        break;
    }
  }
  return true;
};

/** Ghost bookkeeping of a controller step: writes taken on, answered only at commit (R104). */
const judgeController = (
  run: Run,
  index: number,
  step: Extract<LayerStep, { layer: "controller" }>,
): void => {
  const id = nodeIdOf(index);
  breakWith(run, controllerStepProblem(step.before, step.input, step.after, step.effects));
  if (step.input._tag === "Committed") checkImage(run, index, step.after.committed);
  for (const effect of step.effects)
    if (effect._tag === "ReplayProblem")
      breakWith(
        run,
        `RecordsFit: node ${id} could not replay committed offset ${effect.offset}: ${effect.problem}`,
      );
  const input = step.input;
  // R148: a controller hears of a broker's lifecycle only from that broker (the world knows who sent).
  if (
    input._tag === "Request" &&
    (input.request._tag === "BrokerHeartbeatRequest" || input.request._tag === "BrokerRegistrationRequest") &&
    input.from !== input.request.brokerId
  ) {
    breakWith(
      run,
      `OnlyBrokersSpeakForThemselves: controller ${id} handled a ${input.request._tag} for broker ${input.request.brokerId} that came from ${input.from < 0 ? "a client" : `node ${input.from}`} (R148)`,
    );
  }
  const proposed = step.effects.filter((e) => e._tag === "Propose");
  if (input._tag !== "Request" || proposed.length === 0) return;
  const first = proposed[0]!;
  const last = proposed[proposed.length - 1]!;
  const write: GhostWrite = {
    node: index,
    to: input.from,
    correlationId: input.correlationId,
    baseOffset: first.baseOffset,
    lastOffset: last.baseOffset + last.records.length - 1,
    epoch: first.epoch,
  };
  const answer = step.effects.find(
    (e) => e._tag === "Respond" && e.to === input.from && e.correlationId === input.correlationId,
  );
  if (answer === undefined) {
    run.world = { ...run.world, writes: [...run.world.writes, write] };
  } else if (answer._tag === "Respond" && reportsSuccess(answer.response)) {
    breakWith(
      run,
      `SuccessOnlyWhenCommitted: node ${id} answered ${answer.response._tag} to ${input.from}#${input.correlationId} in the step that proposed offsets ${write.baseOffset}..${write.lastOffset}`,
    );
  }
};

/**
 * Apply a node step to the world, layer step by layer step: Raft's effects on the world's disk and
 * network (with their ghost checks), the controller's and broker's judged, every node effect carried
 * out in order. `start`: the step is a process start, whose Raft effects were applied already.
 */
const applyNodeStep = (
  run: Run,
  index: number,
  result: NodeStepResult,
  envelope: Envelope | null,
  request: RaftMessage | null,
  start: boolean,
): void => {
  const before = run.world;
  const app = run.world.apps[index]!;
  setApp(run, index, {
    ...app,
    controller: result.state.controller,
    broker: result.state.broker,
    listenerOffset: result.state.listenerOffset,
    snapshotToLoad: result.state.snapshotToLoad,
    forwards: result.state.forwards,
    nextForwardId: result.state.nextForwardId,
    lastBrokerEpoch:
      result.state.broker !== null && result.state.broker.brokerEpoch >= 0
        ? result.state.broker.brokerEpoch
        : app.lastBrokerEpoch,
  });
  // The node's own answers to the input come before its layers' steps.
  let own = result.effects.length;
  for (const s of result.steps) own -= s.out.length;
  const admitted = result.effects.slice(0, own);
  if (!carryOut(run, index, start ? admitted.filter((e) => !isRaftEffect(e)) : admitted)) return;
  for (const step of result.steps) {
    switch (step.layer) {
      case "raft": {
        const raftEffects = step.out.filter(isRaftEffect);
        const payloadOf: PayloadOf = (effect, i) => {
          const proposal = (effect as { records?: readonly MetadataRecord[] }).records;
          if (proposal !== undefined) {
            run.world = { ...run.world, records: [...run.world.records, proposal[i]!] };
            return run.world.records.length;
          }
          if (effect.control !== undefined || envelope?.payload == null) return 0;
          const base = (envelope.message as { records: readonly { baseOffset: number }[] }).records[0]!
            .baseOffset;
          return entryValue(envelope.payload[effect.baseOffset + i - base] ?? 0);
        };
        const raftWorld = applyEffects(
          run.world.raft,
          index,
          step.before,
          step.after,
          raftEffects,
          payloadOf,
          step.input._tag === "Received" ? request : null,
          envelope?.message._tag === "FetchSnapshotResponse" ? envelope.payload : null,
        );
        run.world = { ...run.world, raft: raftWorld };
        // The node's answers a Raft step produced (a DescribeQuorum's), if any: most steps have none.
        if (
          step.out.length > raftEffects.length &&
          !carryOut(
            run,
            index,
            step.out.filter((e) => !isRaftEffect(e)),
          )
        )
          return;
        if (step.input._tag === "ClientAppend" && step.effects.some((e) => e._tag === "AppendAccepted")) {
          run.world = {
            ...run.world,
            raft: { ...run.world.raft, valuesAppended: run.world.raft.valuesAppended + 1 },
          };
        }
        run.steps.push({
          layer: "raft",
          step: {
            node: nodeIdOf(index),
            input: step.input,
            before: step.before,
            after: step.after,
            effects: step.effects,
          },
        });
        break;
      }
      case "controller":
        run.steps.push({
          layer: "controller",
          node: nodeIdOf(index),
          input: step.input,
          effects: step.effects,
          after: step.after,
        });
        judgeController(run, index, step);
        if (!carryOut(run, index, step.out)) return;
        break;
      case "broker":
        run.steps.push({
          layer: "broker",
          node: nodeIdOf(index),
          input: step.input,
          effects: step.effects,
          after: step.after,
        });
        if (step.input._tag === "Committed") checkImage(run, index, step.after.image);
        for (const effect of step.effects)
          if (effect._tag === "Problem")
            breakWith(run, `RecordsFit: broker ${nodeIdOf(index)}: ${effect.detail}`);
        if (!carryOut(run, index, step.out)) return;
        break;
    }
  }
  // The node's Raft state after the whole step (the world's raft slot already has it, step by step).
  const slot = run.world.raft.nodes[index]!;
  if (run.spec.syncFlush && slot.flushRequested && slot.state !== null) {
    const nodes = run.world.raft.nodes.slice();
    nodes[index] = flushedSlot(slot);
    run.world = { ...run.world, raft: { ...run.world.raft, nodes } };
    run.queue.unshift({
      index,
      input: { _tag: "Raft", input: { _tag: "LogFlushed", offset: slot.entries.length } },
    });
  }
  // R84: the shell reads the snapshot the node was told to load. Every snapshot holds the image of
  // the committed log it replaces (checked where it is written), so the ghost's image is its content.
  for (const effect of result.effects) {
    if (effect._tag === "WriteSnapshot") checkSnapshot(run, index, effect.endOffset, effect.records ?? []);
    if (effect._tag === "InstallSnapshot") run.events |= EVENT.SNAPSHOT_INSTALLED;
  }
  for (const effect of result.effects)
    if (effect._tag === "LoadSnapshot")
      run.queue.push({
        index,
        input: {
          _tag: "SnapshotRead",
          endOffset: effect.endOffset,
          epoch: effect.epoch,
          records: snapshotRecords(committedImageAt(run.world, effect.endOffset - 1)),
        },
      });
  checkNewCommits(run, before);
  run.events |= commitEvents(before, run.world);
};

/** Give node `index` an input (if it runs), then whatever the world owes nodes as a result. */
const stepNodeIn = (run: Run, index: number, input: NodeInput, envelope: Envelope | null = null): void => {
  run.queue.push(envelope === null ? { index, input } : { index, input, envelope });
  for (let guard = 0; run.queue.length > 0; guard++) {
    if (guard > 10_000) throw new Error("metadata world: a step did not settle within 10000 inputs");
    const next = run.queue.shift()!;
    const node = kraftNodeOf(run.world, next.index);
    if (node === null) continue;
    const result = nodeStep(
      node,
      next.input,
      kraftConfigOf(run.spec, next.index),
      readerOf(run.world, next.index),
    );
    run.nodeSteps.push({ node: nodeIdOf(next.index), input: next.input, effects: result.effects });
    const request =
      next.input._tag === "Raft" &&
      next.input.input._tag === "Received" &&
      isRequest(next.input.input.message)
        ? next.input.input.message
        : null;
    applyNodeStep(run, next.index, result, next.envelope ?? null, request, false);
  }
};

const runInput = (
  world: MetadataWorld,
  spec: MetadataClusterSpec,
  index: number,
  input: NodeInput,
  envelope: Envelope | null = null,
  notes: readonly string[] = [],
): MetaOutcome => {
  const run: Run = {
    world,
    spec,
    steps: notes.map((text) => ({ layer: "note", text })),
    events: 0,
    queue: [],
    nodeSteps: [],
  };
  stepNodeIn(run, index, input, envelope);
  return { world: run.world, steps: run.steps, events: run.events, nodeSteps: run.nodeSteps };
};

/** A graceful stop: the log is flushed, the process ends; requests to it fail at their senders. */
const stopNode = (run: Run, index: number): void => {
  const id = nodeIdOf(index);
  const slot = run.world.raft.nodes[index]!;
  if (slot.state === null) return;
  for (const failure of unansweredBy(run.world.raft, id))
    run.queue.push({ index: failure.index, input: { _tag: "Raft", input: failure.input } });
  const nodes = run.world.raft.nodes.slice();
  nodes[index] = { ...flushedSlot(slot), state: null };
  run.world = {
    ...run.world,
    raft: { ...run.world.raft, nodes, network: run.world.raft.network.filter((e) => e.to !== id) },
    shutdowns: run.world.shutdowns + 1,
  };
  downApp(run, index);
};

/** What a request's sender hears when its connection to the receiver breaks. */
const failureOf = (request: MetaEnvelope): MetaEnvelope => ({
  from: request.to,
  to: request.from,
  correlationId: request.correlationId,
  toStart: request.fromStart,
  fromStart: request.toStart,
  body: { kind: "failed" },
});

/** The application half of a node that is no longer running; peers' requests to it fail. */
const downApp = (run: Run, index: number): void => {
  const id = nodeIdOf(index);
  const app = run.world.apps[index]!;
  setApp(run, index, {
    ...app,
    controller: null,
    broker: null,
    listenerOffset: 0,
    snapshotToLoad: null,
    forwards: [],
    nextForwardId: FIRST_FORWARD_ID,
    sessionTimers: [],
    idleTimer: false,
    heartbeatTimer: false,
  });
  const network: MetaEnvelope[] = [];
  // Requests it took and had not answered: each requester's transport reports the request failed
  // (its connection broke), as it does for those still on the wire (R40).
  const unanswered: MetaEnvelope[] = [];
  for (const o of run.world.origins)
    if (o.node === index)
      unanswered.push({
        from: id,
        to: o.from,
        correlationId: o.correlationId,
        toStart: o.fromStart,
        fromStart: app.starts,
        body: { kind: "failed" },
      });
  run.world = { ...run.world, origins: run.world.origins.filter((o) => o.node !== index) };
  for (const e of run.world.network) {
    if (e.to !== id) network.push(e);
    // The requester's connection breaks: its transport reports the request failed.
    else if (e.body.kind === "request") network.push(failureOf(e));
  }
  run.world = { ...run.world, network: [...network, ...unanswered] };
};

// ---- operations -----------------------------------------------------------------------------------

const emptyApp: AppSlot = {
  controller: null,
  broker: null,
  listenerOffset: 0,
  snapshotToLoad: null,
  forwards: [],
  nextForwardId: FIRST_FORWARD_ID,
  sessionTimers: [],
  idleTimer: false,
  heartbeatTimer: false,
  starts: 0,
  lastBrokerEpoch: -1,
};

/** The incarnation id of a broker's n-th process start (random in Kafka; fixed here for replay). */
export const incarnationOf = (brokerId: number, start: number): string =>
  uuidFrom(`incarnation/${brokerId}/${start}`);

/** Start (or restart) node `index`: spec/node's process start from its storage (R18, R112). */
export const startNode = (world: MetadataWorld, spec: MetadataClusterSpec, index: number): MetaOutcome => {
  const id = nodeIdOf(index);
  const app = world.apps[index]!;
  const starts = app.starts + 1;
  const run: Run = { world, spec, steps: [], events: 0, queue: [], nodeSteps: [] };
  setApp(run, index, { ...emptyApp, starts, lastBrokerEpoch: app.lastBrokerEpoch });
  const storage = storageOf(run.world.raft, index);
  const config = kraftConfigOf(spec, index);
  const nodeStorage: NodeStorage = {
    quorumState: storage.quorumState ?? undefined,
    log: storage.log,
    recovering: storage.recovering,
    firstCorrelationId: storage.firstCorrelationId,
    incarnationId: incarnationOf(id, starts),
    previousBrokerEpoch: app.lastBrokerEpoch,
  };
  const reader = readerOf(run.world, index);
  const result = initializeNode(config, nodeStorage, reader);
  run.nodeSteps.push({
    node: id,
    start: { config, storage: nodeStorage, log: reader },
    effects: result.effects,
  });
  const started = applyStart(run.world.raft, index, result.start.state, result.start.effects, storage);
  run.world = { ...run.world, raft: started.world };
  for (const s of started.steps) run.steps.push({ layer: "raft", step: s });
  applyNodeStep(run, index, result, null, null, true);
  const owed = run.queue.splice(0);
  for (const next of owed) stepNodeIn(run, next.index, next.input, next.envelope ?? null);
  return { world: run.world, steps: run.steps, events: run.events, nodeSteps: run.nodeSteps };
};

/** A freshly formatted cluster, every node started. */
export const initialMetadataWorld = (spec: MetadataClusterSpec): MetaOutcome => {
  const total = spec.controllers + spec.brokers;
  let world: MetadataWorld = {
    raft: {
      nodes: Array.from({ length: total }, () => FORMATTED_SLOT),
      network: [],
      leaders: [],
      committed: [],
      valuesAppended: 0,
      crashes: 0,
      duplicates: 0,
      corruptions: 0,
      broken: null,
    },
    apps: Array.from({ length: total }, () => emptyApp),
    records: [],
    network: [],
    writes: [],
    origins: [],
    adminRequests: 0,
    adminAnswers: [],
    controllerCrashes: 0,
    brokerCrashes: 0,
    sessionExpiries: 0,
    shutdowns: 0,
    delays: 0,
    forgedFrames: 0,
    broken: null,
  };
  const steps: MetaStep[] = [];
  const nodeSteps: NodeStepRecord[] = [];
  let events = 0;
  for (let index = 0; index < total; index++) {
    const outcome = startNode(world, spec, index);
    world = outcome.world;
    steps.push(...outcome.steps);
    nodeSteps.push(...(outcome.nodeSteps ?? []));
    events |= outcome.events;
  }
  return { world, steps, events, nodeSteps };
};

/** Kill node `index`: unflushed records are lost (R14); its controller or broker state is gone. */
export const crashNode = (world: MetadataWorld, spec: MetadataClusterSpec, index: number): MetaOutcome => {
  if (world.raft.nodes[index]!.state === null) return { world, steps: [], events: 0 };
  const id = nodeIdOf(index);
  const unanswered = unansweredBy(world.raft, id);
  const run: Run = { world, spec, steps: [], events: 0, queue: [], nodeSteps: [] };
  run.world = {
    ...run.world,
    raft: crashRaft(run.world.raft, index),
    controllerCrashes: run.world.controllerCrashes + (isControllerIndex(spec, index) ? 1 : 0),
    brokerCrashes: run.world.brokerCrashes + (isControllerIndex(spec, index) ? 0 : 1),
  };
  downApp(run, index);
  run.steps.push({ layer: "note", text: `n${id} crashed` });
  // Whoever waited on it for a Raft answer hears that the request failed.
  for (const failure of unanswered) stepNodeIn(run, failure.index, { _tag: "Raft", input: failure.input });
  return { world: run.world, steps: run.steps, events: run.events, nodeSteps: run.nodeSteps };
};

/** Deliver Raft message `position`. */
export const deliverRaftMessage = (
  world: MetadataWorld,
  spec: MetadataClusterSpec,
  position: number,
): MetaOutcome => {
  const envelope = world.raft.network[position]!;
  const network = world.raft.network.slice();
  network.splice(position, 1);
  const index = envelope.to - 1;
  const without = { ...world, raft: { ...world.raft, network } };
  if (world.raft.nodes[index]?.state == null) {
    // Nobody there: a request's sender hears that it failed.
    const run: Run = { world: without, spec, steps: [], events: 0, queue: [], nodeSteps: [] };
    for (const failure of requestFailures([envelope]))
      stepNodeIn(run, failure.index, { _tag: "Raft", input: failure.input });
    return { world: run.world, steps: run.steps, events: run.events, nodeSteps: run.nodeSteps };
  }
  const input: RaftInput =
    envelope.correlationId === undefined
      ? { _tag: "Received", from: envelope.from, message: envelope.message }
      : {
          _tag: "Received",
          from: envelope.from,
          message: envelope.message,
          correlationId: envelope.correlationId,
        };
  const fetched = fetchedOf(world, envelope);
  return runInput(
    without,
    spec,
    index,
    fetched === undefined ? { _tag: "Raft", input } : { _tag: "Raft", input, fetched },
    envelope,
  );
};

/** Lose Raft message `position`; its requester's transport reports the failure. */
export const dropRaftMessage = (
  world: MetadataWorld,
  spec: MetadataClusterSpec,
  position: number,
): MetaOutcome => {
  const outcome = dropRaft(world.raft, raftSpecOf(spec), position);
  const dropped: MetadataWorld = {
    ...world,
    raft: { ...outcome.world, nodes: world.raft.nodes, network: outcome.world.network },
  };
  if (outcome.steps.length === 0) return { world: dropped, steps: [], events: 0 };
  const step = outcome.steps[0]!;
  // Re-run the failure through spec/node so its effects reach the layers above.
  return runInput(dropped, spec, step.node - 1, { _tag: "Raft", input: step.input as RaftInput });
};

/** Fire Raft timer `timer` of node `index`. */
export const fireRaftTimer = (
  world: MetadataWorld,
  spec: MetadataClusterSpec,
  index: number,
  timer: TimerKind,
): MetaOutcome => runInput(world, spec, index, { _tag: "Raft", input: { _tag: "TimerExpired", timer } });

/** Complete node `index`'s outstanding flush. */
export const flushNode = (world: MetadataWorld, spec: MetadataClusterSpec, index: number): MetaOutcome => {
  const slot = world.raft.nodes[index]!;
  if (slot.state === null || !slot.flushRequested) return { world, steps: [], events: 0 };
  const nodes = world.raft.nodes.slice();
  nodes[index] = flushedSlot(slot);
  const cleared = { ...world, raft: { ...world.raft, nodes } };
  return runInput(cleared, spec, index, {
    _tag: "Raft",
    input: { _tag: "LogFlushed", offset: slot.entries.length },
  });
};

/** Deliver metadata-channel message `position` (a request, an answer, or a transport failure). */
export const deliverMetaMessage = (
  world: MetadataWorld,
  spec: MetadataClusterSpec,
  position: number,
): MetaOutcome => {
  const e = world.network[position]!;
  const network = world.network.slice();
  network.splice(position, 1);
  const without = { ...world, network };
  if (e.to === ADMIN_ID) {
    if (e.body.kind === "request") return { world: without, steps: [], events: 0 };
    const answers = without.adminAnswers.includes(e.correlationId)
      ? without.adminAnswers
      : [...without.adminAnswers, e.correlationId].sort((a, b) => a - b);
    // A failure is the client's own transport: its connection broke, and the request has an outcome
    // (Kafka's admin client would retry it, a new request here, or give up with a timeout).
    return {
      world: { ...without, adminAnswers: answers },
      steps: [
        e.body.kind === "response"
          ? { layer: "admin", from: e.from, correlationId: e.correlationId, response: e.body.response }
          : {
              layer: "note",
              text: `admin: request #${e.correlationId} to n${e.from} failed (its connection broke)`,
            },
      ],
      events: 0,
    };
  }
  const index = e.to - 1;
  const app = world.apps[index];
  if (app === undefined || app.starts !== e.toStart || world.raft.nodes[index]?.state == null) {
    // The process it was meant for is gone: a request's sender hears that it failed; anything else
    // is for nobody.
    if (e.body.kind !== "request") return { world: without, steps: [], events: 0 };
    return { world: { ...without, network: [...without.network, failureOf(e)] }, steps: [], events: 0 };
  }
  if (e.body.kind === "request") {
    const origin: RequestOrigin = {
      node: index,
      from: e.from,
      correlationId: e.correlationId,
      fromStart: e.fromStart,
    };
    return runInput({ ...without, origins: [...without.origins, origin] }, spec, index, {
      _tag: "Request",
      from: e.from,
      correlationId: e.correlationId,
      request: e.body.request,
    });
  }
  if (e.body.kind === "response")
    return runInput(without, spec, index, {
      _tag: "Response",
      from: e.from,
      correlationId: e.correlationId,
      response: e.body.response,
    });
  return runInput(without, spec, index, {
    _tag: "RequestFailed",
    to: e.from,
    correlationId: e.correlationId,
  });
};

/** Lose metadata-channel message `position`: a request or answer's sender learns its request failed. */
export const dropMetaMessage = (
  world: MetadataWorld,
  _spec: MetadataClusterSpec,
  position: number,
): MetaOutcome => {
  const e = world.network[position]!;
  const network = world.network.slice();
  network.splice(position, 1);
  if (e.body.kind === "request") {
    network.push(failureOf(e));
  } else if (e.body.kind === "response") {
    network.push({
      from: e.from,
      to: e.to,
      correlationId: e.correlationId,
      toStart: e.toStart,
      fromStart: e.fromStart,
      body: { kind: "failed" },
    });
  }
  return {
    world: { ...world, network },
    steps: [{ layer: "note", text: `lost ${e.from}->${e.to}#${e.correlationId} ${describeBody(e.body)}` }],
    events: 0,
  };
};

export const describeBody = (body: MetaBody): string =>
  body.kind === "request"
    ? body.request._tag
    : body.kind === "response"
      ? body.response._tag
      : "RequestFailed";

/** A controller's session timer for `brokerId` runs out (R118). */
export const expireSession = (
  world: MetadataWorld,
  spec: MetadataClusterSpec,
  index: number,
  brokerId: number,
): MetaOutcome => {
  const app = world.apps[index]!;
  if (!app.sessionTimers.includes(brokerId)) return { world, steps: [], events: 0 };
  const cleared: MetadataWorld = {
    ...world,
    apps: world.apps.map((a, i) =>
      i === index ? { ...a, sessionTimers: a.sessionTimers.filter((b) => b !== brokerId) } : a,
    ),
    sessionExpiries: world.sessionExpiries + 1,
  };
  return runInput(cleared, spec, index, { _tag: "SessionExpired", brokerId });
};

/** A controller's idle timer runs out: it writes a NoOpRecord (R105). */
export const fireIdleTimer = (
  world: MetadataWorld,
  spec: MetadataClusterSpec,
  index: number,
): MetaOutcome => {
  const app = world.apps[index]!;
  if (!app.idleTimer) return { world, steps: [], events: 0 };
  const cleared: MetadataWorld = {
    ...world,
    apps: world.apps.map((a, i) => (i === index ? { ...a, idleTimer: false } : a)),
  };
  return runInput(cleared, spec, index, { _tag: "IdleTimeout" });
};

/** A broker's heartbeat timer runs out: it registers or heartbeats (R112, R115). */
export const fireHeartbeat = (
  world: MetadataWorld,
  spec: MetadataClusterSpec,
  index: number,
): MetaOutcome => {
  const app = world.apps[index]!;
  if (!app.heartbeatTimer || app.broker === null) return { world, steps: [], events: 0 };
  const cleared: MetadataWorld = {
    ...world,
    apps: world.apps.map((a, i) => (i === index ? { ...a, heartbeatTimer: false } : a)),
  };
  return runInput(cleared, spec, index, { _tag: "HeartbeatTimer" });
};

/**
 * A forged frame reaches node `index`: a Fetch answer naming another cluster, answering no request
 * (its correlation id is one no node uses). R149: it must change nothing that matters.
 */
export const forgeFrame = (world: MetadataWorld, spec: MetadataClusterSpec, index: number): MetaOutcome => {
  const counted = { ...world, forgedFrames: world.forgedFrames + 1 };
  const from = index === 0 ? 2 : 1;
  return runInput(counted, spec, index, {
    _tag: "Raft",
    input: {
      _tag: "Received",
      from,
      correlationId: 0x7ffffff0,
      message: {
        _tag: "FetchResponse",
        errorCode: "INCONSISTENT_CLUSTER_ID",
        highWatermark: -1,
        logStartOffset: 0,
        leaderId: -1,
        leaderEpoch: 0,
        records: [],
      },
    },
  });
};

/**
 * Node `index` takes a snapshot of its image (R131): what spec/node says it holds must rebuild the
 * committed image where it ends (SnapshotMatchesImage), and Raft is asked for it (R77).
 */
export const takeSnapshot = (
  world: MetadataWorld,
  spec: MetadataClusterSpec,
  index: number,
  at?: number,
): MetaOutcome => {
  const node = kraftNodeOf(world, index);
  const endOffset = at ?? (node === null ? null : snapshotEnd(node));
  if (node === null || endOffset === null) return { world, steps: [], events: 0 };
  // The size is the records' count here: a snapshot's bytes are the shell's (R78).
  return runInput(world, spec, index, {
    _tag: "Raft",
    input: { _tag: "CreateSnapshot", endOffset, size: Math.max(1, endOffset) },
  });
};

/** SnapshotMatchesImage (R131): what a node writes as its snapshot rebuilds the committed image there. */
const checkSnapshot = (
  run: Run,
  index: number,
  endOffset: number,
  records: readonly MetadataRecord[],
): void => {
  const ghost = committedImageAt(run.world, endOffset - 1);
  const loaded = loadSnapshotImage(records, endOffset, ghost.epoch).image;
  if (!sameImage({ ...loaded, offset: ghost.offset, epoch: ghost.epoch }, ghost))
    breakWith(
      run,
      `SnapshotMatchesImage: node ${nodeIdOf(index)}'s snapshot at ${endOffset} does not rebuild the committed image there (R131)`,
    );
};

/** Retention moves node `index`'s log start to its newest snapshot (R79, R80). */
export const trimLog = (world: MetadataWorld, spec: MetadataClusterSpec, index: number): MetaOutcome => {
  const slot = world.raft.nodes[index]!;
  const newest = slot.snapshots[slot.snapshots.length - 1];
  if (slot.state === null || newest === undefined) return { world, steps: [], events: 0 };
  return runInput(world, spec, index, {
    _tag: "Raft",
    input: { _tag: "DeleteBeforeSnapshot", endOffset: newest.endOffset },
  });
};

/** Give a broker what replication (IsrChange) or the operator (a controlled shutdown) tells it. */
export const brokerInput = (
  world: MetadataWorld,
  spec: MetadataClusterSpec,
  index: number,
  input: Extract<NodeInput, { _tag: "IsrChange" | "BeginControlledShutdown" }>,
): MetaOutcome => runInput(world, spec, index, input);

/** The admin client sends `request` to node `to` (a controller, or a broker that passes it on). */
export const adminRequest = (world: MetadataWorld, to: number, request: NodeRequest): MetaOutcome => {
  const correlationId = world.adminRequests + 1;
  const next: MetadataWorld = {
    ...world,
    adminRequests: correlationId,
    network: [
      ...world.network,
      {
        from: ADMIN_ID,
        to,
        correlationId,
        toStart: startOf(world, to),
        fromStart: 0,
        body: { kind: "request", request },
      },
    ],
  };
  return {
    world: next,
    steps: [{ layer: "note", text: `admin -> n${to}#${correlationId} ${request._tag}` }],
    events: 0,
  };
};

/** The first metadata or Raft property the history broke, or an invariant a node's image breaks. */
export const metadataViolation = (world: MetadataWorld): string | null => {
  if (world.broken !== null) return world.broken;
  if (world.raft.broken !== null) return world.raft.broken;
  for (let i = 0; i < world.apps.length; i++) {
    const app = world.apps[i]!;
    const image = app.controller?.image ?? app.broker?.image;
    if (image === undefined) continue;
    const problem = imageProblem(image);
    if (problem !== null) return `${problem} (image of n${nodeIdOf(i)})`;
  }
  return null;
};

/** The running active controller, if any. */
export const activeController = (world: MetadataWorld): number | null => {
  const index = world.apps.findIndex((a) => a.controller?.active === true);
  return index < 0 ? null : nodeIdOf(index);
};

// ---- the bootstrapped starting state -------------------------------------------------------------

/** Deliver, flush and answer parked fetches until the cluster is quiet; `observe` sees every outcome. */
export const settle = (
  world: MetadataWorld,
  spec: MetadataClusterSpec,
  observe?: (outcome: MetaOutcome) => void,
): MetadataWorld => {
  let w = world;
  const take = (o: MetaOutcome): void => {
    w = o.world;
    observe?.(o);
  };
  for (let round = 0; round < 20; round++) {
    for (let i = 0; i < 5000; i++) {
      const flushing = w.raft.nodes.findIndex((n) => n.state !== null && n.flushRequested);
      if (flushing >= 0) take(flushNode(w, spec, flushing));
      else if (w.raft.network.length > 0) take(deliverRaftMessage(w, spec, 0));
      else if (w.network.length > 0) take(deliverMetaMessage(w, spec, 0));
      else break;
    }
    const behind = w.raft.nodes.some(
      (n) => n.state !== null && n.state.highWatermark < w.raft.committed.length,
    );
    const retrying = w.raft.nodes.findIndex(
      (n) => n.state?.role._tag !== "Leader" && n.state?.timers.includes("retryBackoff") === true,
    );
    if (retrying >= 0) {
      take(fireRaftTimer(w, spec, retrying, "retryBackoff"));
      continue;
    }
    if (!behind) return w;
    const leader = w.raft.nodes.findIndex((n) => n.state?.timers.includes("fetchWait") === true);
    if (leader < 0) return w;
    take(fireRaftTimer(w, spec, leader, "fetchWait"));
  }
  return w;
};

/**
 * Controller 1 elected, every broker registered and unfenced, a topic with `partitions` partitions
 * replicated on every broker, all committed everywhere.
 */
export const bootstrappedWorld = (spec: MetadataClusterSpec, partitions: number): MetadataWorld => {
  let w = initialMetadataWorld(spec).world;
  w = settle(fireRaftTimer(w, spec, 0, "election").world, spec);
  const heartbeatAll = (): void => {
    w.apps.forEach((app, index) => {
      if (app.broker !== null) w = fireHeartbeat(w, spec, index).world;
    });
    w = settle(w, spec);
  };
  heartbeatAll();
  heartbeatAll();
  const create: ControllerRequest = {
    _tag: "CreateTopicsRequest",
    validateOnly: false,
    topics: [
      { name: "t", numPartitions: partitions, replicationFactor: spec.brokers, assignments: [], configs: [] },
    ],
  };
  w = adminRequest(w, 1, create).world;
  w = settle(w, spec);
  heartbeatAll();
  // The admin's answer was delivered; start counting the explored run's admin requests from zero.
  return { ...w, adminRequests: 0, adminAnswers: [], writes: [], sessionExpiries: 0, delays: 0 };
};
