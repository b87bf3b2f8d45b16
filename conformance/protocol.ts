// The adapter protocol: how the conformance runner drives an implementation under test. The runner
// writes one JSON object per line on the adapter's stdin and reads one reply per line from its
// stdout. `init` starts a node process from the storage it names (a fresh start or a restart);
// `input` hands it one input. Each reply lists the effects the input produced, in order, and a
// projection of the node's state that any implementation can compute. These schemas are the single
// source: conformance/schemas/*.json are generated from them (npm run conformance:schemas).
import * as Schema from "effect/Schema";
import {
  BrokerConfig,
  BrokerEffect,
  BrokerInput,
  BrokerLifecycle,
  type BrokerState,
} from "../spec/metadata/broker.ts";
import {
  ControllerConfig,
  ControllerEffect,
  ControllerInput,
  type ControllerState,
} from "../spec/metadata/controller.ts";
import { ImageView, imageView } from "../spec/metadata/image.ts";
import { MetadataRecord } from "../spec/metadata/records.ts";
import { type KraftNode, NodeEffect, NodeInput } from "../spec/node/node.ts";
import { RaftEffect, RaftInput } from "../spec/raft/io.ts";
import { Int32, Int64 } from "../spec/raft/primitives.ts";
import { ElectionState, EpochStart, LogState, type NodeState, RaftConfig } from "../spec/raft/state.ts";

/** Start a node process: its configuration and what its storage holds (R18–R22). */
export const Init = Schema.TaggedStruct("init", {
  config: RaftConfig,
  /** quorum-state as on disk, or null for a freshly formatted node. */
  quorumState: Schema.NullOr(ElectionState),
  /** The durable log's shape: every record below endOffset, with the epoch runs. */
  log: LogState,
  /** R146: the storage reports records cut at startup that may have been acknowledged (default false). */
  recovering: Schema.optionalKey(Schema.Boolean),
  /** R40(0): where the process's request correlation ids start (default 1). */
  firstCorrelationId: Schema.optionalKey(Schema.Int),
});
export type Init = typeof Init.Type;

/** Start an active-or-standby controller process (it keeps nothing on disk: R103). */
export const InitController = Schema.TaggedStruct("initController", { config: ControllerConfig });
export type InitController = typeof InitController.Type;

/** Start a broker process: its configuration, this incarnation, the last one's broker epoch (R112). */
export const InitBroker = Schema.TaggedStruct("initBroker", {
  config: BrokerConfig,
  incarnationId: Schema.String,
  previousBrokerEpoch: Int64,
});
export type InitBroker = typeof InitBroker.Type;

/** A whole node's configuration: its Raft layer, and its controller and/or broker (R147). */
export const NodeConfig = Schema.Struct({
  raft: RaftConfig,
  controller: Schema.NullOr(ControllerConfig),
  broker: Schema.NullOr(BrokerConfig),
});

/** What a whole node's process start reads from storage (R18–R22, R112, R146). */
export const NodeStorage = Schema.Struct({
  quorumState: Schema.NullOr(ElectionState),
  log: LogState,
  recovering: Schema.Boolean,
  firstCorrelationId: Schema.Int,
  incarnationId: Schema.String,
  previousBrokerEpoch: Int64,
});

/** A metadata record of the stored log, where it is and the epoch it was written in. */
export const StoredRecord = Schema.Struct({ offset: Int64, epoch: Int32, record: MetadataRecord });

/**
 * Start a whole node (R147–R149): the layers composed as spec/node composes them, from what storage
 * holds, with the metadata records of the stored log (control records are not listed). The node's
 * log from then on is what its own effects make it: appends (a proposal's AppendRecords carries its
 * records, a follower's come in the Fetch answer's `fetched` payloads) and truncations.
 */
export const InitNode = Schema.TaggedStruct("initNode", {
  config: NodeConfig,
  storage: NodeStorage,
  records: Schema.Array(StoredRecord),
});
export type InitNode = typeof InitNode.Type;

/** One input to the running node, of the layer its init started: Raft, controller, broker or node. */
export const Input = Schema.TaggedStruct("input", {
  // A node's inputs first: its Response names the sender, which decoding as a broker's would drop.
  input: Schema.Union([NodeInput, RaftInput, ControllerInput, BrokerInput]),
});
export type Input = typeof Input.Type;

export const AdapterRequest = Schema.Union([Init, InitController, InitBroker, InitNode, Input]);
export type AdapterRequest = typeof AdapterRequest.Type;

/**
 * What the runner compares after every step, besides the effects. `leaderId` is the leader this node
 * knows (itself when it leads or resigned), -1 if none; `votedId` the vote it holds in this epoch
 * (a candidate's is itself), null if none; `log` counts every record appended, flushed or not.
 */
export const Projection = Schema.Struct({
  role: Schema.Literals(["Unattached", "Prospective", "Candidate", "Leader", "Follower", "Resigned"]),
  epoch: Int32,
  leaderId: Int32,
  votedId: Schema.NullOr(Int32),
  log: Schema.Struct({
    /** R79: where the log starts (the end of the oldest snapshot once above 0). */
    startOffset: Int64,
    endOffset: Int64,
    flushedOffset: Int64,
    epochs: Schema.Array(EpochStart),
    /** R77: the snapshots, oldest first, by id. */
    snapshots: Schema.Array(Schema.Struct({ endOffset: Int64, epoch: Int32 })),
  }),
  highWatermark: Int64,
  /** R146: the node is recovering records it lost at startup (it neither votes nor stands). */
  recovering: Schema.Boolean,
});
export type Projection = typeof Projection.Type;

/** A controller: whether it is the active one, its epoch, and both images (R104). */
export const ControllerProjection = Schema.Struct({
  active: Schema.Boolean,
  epoch: Int32,
  nextOffset: Int64,
  committed: ImageView,
  image: ImageView,
});
export type ControllerProjection = typeof ControllerProjection.Type;

/** A broker: its lifecycle, epoch, the controller it knows and its published image (R128). */
export const BrokerProjection = Schema.Struct({
  lifecycle: BrokerLifecycle,
  brokerEpoch: Int64,
  controllerId: Int32,
  controllerEpoch: Int32,
  image: ImageView,
});
export type BrokerProjection = typeof BrokerProjection.Type;

/**
 * A whole node: the Raft projection, where the controller and broker stand (their images are judged in
 * full by the layers' own vectors; here only the offset each has reached), and how many client
 * requests it passed on still await an answer (R148).
 */
export const NodeProjection = Schema.Struct({
  raft: Projection,
  controller: Schema.NullOr(
    Schema.Struct({
      active: Schema.Boolean,
      epoch: Int32,
      nextOffset: Int64,
      /** The offset of the last record in the committed image, -1 before any. */
      committedOffset: Int64,
    }),
  ),
  broker: Schema.NullOr(
    Schema.Struct({
      lifecycle: BrokerLifecycle,
      brokerEpoch: Int64,
      controllerId: Int32,
      controllerEpoch: Int32,
      /** The offset of the last record in the published image, -1 before any. */
      imageOffset: Int64,
    }),
  ),
  forwarding: Schema.Int,
});
export type NodeProjection = typeof NodeProjection.Type;

export const projectController = (s: ControllerState): ControllerProjection => ({
  active: s.active,
  epoch: s.epoch,
  nextOffset: s.nextOffset,
  committed: imageView(s.committed),
  image: imageView(s.image),
});

export const projectBroker = (s: BrokerState): BrokerProjection => ({
  lifecycle: s.lifecycle,
  brokerEpoch: s.brokerEpoch,
  controllerId: s.controllerId,
  controllerEpoch: s.controllerEpoch,
  image: imageView(s.image),
});

export const Reply = Schema.Union([
  Schema.TaggedStruct("ok", {
    // A node's effects first: they include Raft's, and a proposal's AppendRecords carries records that
    // decoding as Raft's own AppendRecords would drop.
    effects: Schema.Array(Schema.Union([NodeEffect, RaftEffect, ControllerEffect, BrokerEffect])),
    state: Schema.Union([Projection, ControllerProjection, BrokerProjection, NodeProjection]),
  }),
  /** The adapter could not process the request (its message is shown to the user). */
  Schema.TaggedStruct("error", { message: Schema.String }),
  /**
   * Only in answer to an init: the implementation does not implement what the vector needs (say,
   * kraft.version 1, "feature" names it); the vector is skipped and counted as such, never passed.
   */
  Schema.TaggedStruct("unsupported", { feature: Schema.String }),
]);
export type Reply = typeof Reply.Type;

/** The projection of a spec node state. */
export const project = (s: NodeState): Projection => {
  const role = s.role;
  const leaderId =
    role._tag === "Leader" || role._tag === "Resigned"
      ? s.nodeId
      : role._tag === "Candidate"
        ? -1
        : role.leaderId;
  const votedId =
    role._tag === "Candidate"
      ? s.nodeId
      : role._tag === "Unattached" || role._tag === "Prospective" || role._tag === "Follower"
        ? (role.votedKey?.id ?? null)
        : null;
  return {
    role: role._tag,
    epoch: s.epoch,
    leaderId,
    votedId,
    log: {
      startOffset: s.log.startOffset,
      endOffset: s.log.endOffset,
      flushedOffset: s.log.flushedOffset,
      epochs: s.log.epochs,
      snapshots: (s.log.snapshots ?? []).map((x) => ({ endOffset: x.endOffset, epoch: x.epoch })),
    },
    highWatermark: s.highWatermark,
    recovering: s.recovering,
  };
};

/** The projection of a whole node. */
export const projectNode = (s: KraftNode): NodeProjection => ({
  raft: project(s.raft),
  controller:
    s.controller === null
      ? null
      : {
          active: s.controller.active,
          epoch: s.controller.epoch,
          nextOffset: s.controller.nextOffset,
          committedOffset: s.controller.committed.offset,
        },
  broker:
    s.broker === null
      ? null
      : {
          lifecycle: s.broker.lifecycle,
          brokerEpoch: s.broker.brokerEpoch,
          controllerId: s.broker.controllerId,
          controllerEpoch: s.broker.controllerEpoch,
          imageOffset: s.broker.image.offset,
        },
  forwarding: s.forwards.length,
});

const vectorFields = {
  /** `<source>/<n|c|b|k><node>#<start>`: the scenario, the node (Raft, controller, broker layer or the whole KRaft node), which start. */
  name: Schema.String,
  source: Schema.String,
  /** The rules the source scenario exercises (its `# Rules:` line), or an adversarial walk's marks do. */
  rules: Schema.Array(Schema.String),
  /** The coverage marks (spec/README.md) the vector takes: the rule branches its steps run in the spec. */
  marks: Schema.optionalKey(Schema.Array(Schema.String)),
};

/** One process lifetime of one layer: its start, then every input with what the spec does. */
const layerVector = <
  L extends "raft" | "controller" | "broker" | "node",
  I extends Schema.Top,
  In extends Schema.Top,
  E extends Schema.Top,
  P extends Schema.Top,
>(
  layer: L,
  init: I,
  input: In,
  effect: E,
  state: P,
) =>
  Schema.Struct({
    layer: Schema.Literal(layer),
    ...vectorFields,
    init,
    start: Schema.Struct({ effects: Schema.Array(effect), state }),
    steps: Schema.Array(Schema.Struct({ input, effects: Schema.Array(effect), state })),
  });

export const RaftVector = layerVector("raft", Init, RaftInput, RaftEffect, Projection);
/** The layer above Raft on a controller. */
export const ControllerVector = layerVector(
  "controller",
  InitController,
  ControllerInput,
  ControllerEffect,
  ControllerProjection,
);
/** The layer above Raft on a broker. */
export const BrokerVector = layerVector("broker", InitBroker, BrokerInput, BrokerEffect, BrokerProjection);

/** A whole node: the layers as spec/node composes them (R147–R149). */
export const NodeVector = layerVector("node", InitNode, NodeInput, NodeEffect, NodeProjection);

export const Vector = Schema.Union([RaftVector, ControllerVector, BrokerVector, NodeVector]);
export type Vector = typeof Vector.Type;
export type RaftVector = typeof RaftVector.Type;
export type ControllerVector = typeof ControllerVector.Type;
export type BrokerVector = typeof BrokerVector.Type;
export type NodeVector = typeof NodeVector.Type;

/** A vector while a generator is still appending its steps. */
export type VectorInProgress<V extends Vector> = {
  -readonly [K in keyof V]: K extends "steps" ? V["steps"][number][] : V[K];
};

/** Anything an adapter reports as an effect, of any layer. */
export type AnyEffect = RaftEffect | ControllerEffect | BrokerEffect | NodeEffect;
export type AnyInput = RaftInput | ControllerInput | BrokerInput | NodeInput;
export type AnyProjection = Projection | ControllerProjection | BrokerProjection | NodeProjection;
