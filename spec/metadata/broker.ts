// The broker's side of the metadata layer as a pure reducer (R112–R119, R126–R128): its lifecycle
// (register, heartbeat, get unfenced, controlled shutdown), the image it publishes from committed
// records only, and the AlterPartition requests it sends as a partition leader. Replicating partition
// data is not modelled: the shell says when a follower caught up or fell behind.

import * as Schema from "effect/Schema";
import { type Collector, type Mark, mark, newCollector } from "../marks.ts";
import { Int32, Int64, Uuid } from "../raft/primitives.ts";
import {
  EMPTY_IMAGE,
  findBroker,
  findPartitionById,
  loadSnapshotImage,
  MetadataImage,
  replay,
} from "./image.ts";
import {
  BrokerEndpoint,
  BrokerFeature,
  LEADER_RECOVERED,
  METADATA_VERSION,
  MetadataRecord,
} from "./records.ts";
import type { AlterPartitionRequest } from "./requests.ts";
import { ControllerRequest, ControllerResponse } from "./requests.ts";

/** Kafka's BrokerLifecycleManager states (R112, R116). */
export const BrokerLifecycle = Schema.Literals([
  "STARTING",
  "RECOVERY",
  "RUNNING",
  "PENDING_CONTROLLED_SHUTDOWN",
  "SHUTTING_DOWN",
]);
export type BrokerLifecycle = typeof BrokerLifecycle.Type;

/** A request to the controller awaiting its answer. */
export const BrokerInflight = Schema.Struct({
  correlationId: Int32,
  controllerId: Int32,
  request: ControllerRequest,
});
export type BrokerInflight = typeof BrokerInflight.Type;

export const BrokerState = Schema.Struct({
  brokerId: Int32,
  /** Random per process start in Kafka; the shell chooses it (R112). */
  incarnationId: Uuid,
  lifecycle: BrokerLifecycle,
  /** The epoch the controller gave this incarnation, or -1 before registration (R114). */
  brokerEpoch: Int64,
  /** The epoch of the previous incarnation (sent for KIP-966 clean-shutdown detection, not modelled). */
  previousBrokerEpoch: Int64,
  /** The active controller as Raft reported it (R86), or -1. */
  controllerId: Int32,
  controllerEpoch: Int32,
  /** R128: the published image, built from committed records only. */
  image: MetadataImage,
  /** The registration or heartbeat in flight (one at a time, as BrokerLifecycleManager). */
  lifecycleInflight: Schema.NullOr(BrokerInflight),
  /** The AlterPartition in flight (one at a time, as AlterPartitionManager). */
  alterInflight: Schema.NullOr(BrokerInflight),
  nextCorrelationId: Int32,
  /** The controller's last word: has this broker replayed its own registration (R115)? */
  caughtUp: Schema.Boolean,
  /** R116: whether the controller has answered a heartbeat of this controlled shutdown yet. */
  shutdownAnswered: Schema.Boolean,
});
export type BrokerState = typeof BrokerState.Type;

export const BrokerConfig = Schema.Struct({
  brokerId: Int32,
  clusterId: Schema.String,
  listeners: Schema.Array(BrokerEndpoint),
  features: Schema.Array(BrokerFeature),
  rack: Schema.NullOr(Schema.String),
  /** broker.heartbeat.interval.ms (R115). */
  heartbeatIntervalMs: Schema.Int,
});
export type BrokerConfig = typeof BrokerConfig.Type;

export const DEFAULT_BROKER_FEATURES: readonly BrokerFeature[] = [
  { name: METADATA_VERSION, minSupportedVersion: 7, maxSupportedVersion: 21 },
];

export const makeBrokerConfig = (brokerId: number, clusterId: string): BrokerConfig => ({
  brokerId,
  clusterId,
  listeners: [{ name: "PLAINTEXT", host: "localhost", port: 9092 + brokerId, securityProtocol: 0 }],
  features: DEFAULT_BROKER_FEATURES,
  rack: null,
  heartbeatIntervalMs: 2000,
});

const Committed = Schema.TaggedStruct("Committed", {
  records: Schema.Array(Schema.Struct({ offset: Int64, epoch: Int32, record: MetadataRecord })),
});
/** R84, R131: rebuild the image from a snapshot (its records; they end before endOffset). */
const LoadSnapshot = Schema.TaggedStruct("LoadSnapshot", {
  endOffset: Int64,
  epoch: Int32,
  records: Schema.Array(MetadataRecord),
});
const LeaderChange = Schema.TaggedStruct("LeaderChange", { leaderId: Int32, epoch: Int32 });
const HeartbeatTimer = Schema.TaggedStruct("HeartbeatTimer", {});
const Response = Schema.TaggedStruct("Response", { correlationId: Int32, response: ControllerResponse });
/** The transport gave up on a request (timeout or lost connection). */
const RequestFailed = Schema.TaggedStruct("RequestFailed", { correlationId: Int32 });
/** The operator asked for a controlled shutdown (SIGTERM). */
const BeginControlledShutdown = Schema.TaggedStruct("BeginControlledShutdown", {});
/**
 * As a partition leader: `follower` caught up (join the ISR) or fell behind (leave it), having
 * fetched with `followerEpoch` (R127).
 */
const IsrChange = Schema.TaggedStruct("IsrChange", {
  topicId: Uuid,
  partitionId: Int32,
  follower: Int32,
  followerEpoch: Int64,
  join: Schema.Boolean,
});

export const BrokerInput = Schema.Union([
  Committed,
  LoadSnapshot,
  LeaderChange,
  HeartbeatTimer,
  Response,
  RequestFailed,
  BeginControlledShutdown,
  IsrChange,
]);
export type BrokerInput = typeof BrokerInput.Type;

const SendToController = Schema.TaggedStruct("SendToController", {
  to: Int32,
  correlationId: Int32,
  request: ControllerRequest,
});
const ArmHeartbeatTimer = Schema.TaggedStruct("ArmHeartbeatTimer", { delayMs: Schema.Int });
/** R128: a new image is visible to the broker's publishers. */
const Published = Schema.TaggedStruct("Published", { offset: Int64 });
/** The controller agreed to the shutdown (R116): the process may exit. */
const ShutdownNow = Schema.TaggedStruct("ShutdownNow", {});
const Problem = Schema.TaggedStruct("Problem", { detail: Schema.String });

export const BrokerEffect = Schema.Union([
  SendToController,
  ArmHeartbeatTimer,
  Published,
  ShutdownNow,
  Problem,
]);
export type BrokerEffect = typeof BrokerEffect.Type;

export const initialBrokerState = (
  brokerId: number,
  incarnationId: string,
  previousBrokerEpoch = -1,
): BrokerState => ({
  brokerId,
  incarnationId,
  lifecycle: "STARTING",
  brokerEpoch: -1,
  previousBrokerEpoch,
  controllerId: -1,
  controllerEpoch: -1,
  image: EMPTY_IMAGE,
  lifecycleInflight: null,
  alterInflight: null,
  nextCorrelationId: 1,
  caughtUp: false,
  shutdownAnswered: false,
});

/** What a starting broker asks for (R112): arm the heartbeat timer that drives registration. */
export const brokerStartEffects = (config: BrokerConfig): readonly BrokerEffect[] => [
  { _tag: "ArmHeartbeatTimer", delayMs: config.heartbeatIntervalMs },
];

/** Effects are collected in order, with the coverage marks of the branches taken (spec/marks.ts). */
type Out = Collector<BrokerEffect>;

const send = (
  s: BrokerState,
  out: Out,
  slot: "lifecycleInflight" | "alterInflight",
  request: ControllerRequest,
): BrokerState => {
  const correlationId = s.nextCorrelationId;
  out.effects.push({ _tag: "SendToController", to: s.controllerId, correlationId, request });
  return {
    ...s,
    nextCorrelationId: correlationId + 1,
    [slot]: { correlationId, controllerId: s.controllerId, request },
  };
};

/** R116: how soon a broker in controlled shutdown asks again after the controller's first answer. */
export const CONTROLLED_SHUTDOWN_RECHECK_MS = 50;

/** R112, R115: what the lifecycle manager sends on each tick. */
const tick = (s: BrokerState, config: BrokerConfig, out: Out): BrokerState => {
  out.effects.push({ _tag: "ArmHeartbeatTimer", delayMs: config.heartbeatIntervalMs });
  if (s.controllerId < 0 || s.lifecycleInflight !== null || s.lifecycle === "SHUTTING_DOWN") return s;
  if (s.lifecycle === "STARTING") {
    mark(out, "R112:registers");
    return send(s, out, "lifecycleInflight", {
      _tag: "BrokerRegistrationRequest",
      brokerId: s.brokerId,
      clusterId: config.clusterId,
      incarnationId: s.incarnationId,
      listeners: config.listeners,
      features: config.features,
      rack: config.rack,
      previousBrokerEpoch: s.previousBrokerEpoch,
    });
  }
  mark(
    out,
    s.lifecycle === "PENDING_CONTROLLED_SHUTDOWN" ? "R116:heartbeat-asks-to-shut-down" : "R115:heartbeats",
  );
  return send(s, out, "lifecycleInflight", {
    _tag: "BrokerHeartbeatRequest",
    brokerId: s.brokerId,
    brokerEpoch: s.brokerEpoch,
    currentMetadataOffset: s.image.offset,
    wantFence: false,
    wantShutDown: s.lifecycle === "PENDING_CONTROLLED_SHUTDOWN",
  });
};

const lifecycleResponse = (s: BrokerState, out: Out, response: ControllerResponse): BrokerState => {
  const cleared = { ...s, lifecycleInflight: null };
  switch (response._tag) {
    case "BrokerRegistrationResponse":
      if (response.errorCode === "NONE") {
        mark(out, "R112:registered-recovers");
        return { ...cleared, lifecycle: "RECOVERY", brokerEpoch: response.brokerEpoch };
      }
      mark(out, "R112:registration-refused-retries");
      return cleared;
    case "BrokerHeartbeatResponse": {
      if (response.errorCode === "STALE_BROKER_EPOCH" || response.errorCode === "BROKER_ID_NOT_REGISTERED") {
        // The controller no longer knows this registration (it was replaced): register again.
        mark(out, "R115:unknown-epoch-registers-again");
        return { ...cleared, lifecycle: "STARTING", brokerEpoch: -1, caughtUp: false };
      }
      if (response.errorCode !== "NONE") return cleared;
      if (response.shouldShutDown) {
        mark(out, "R116:told-to-shut-down");
        out.effects.push({ _tag: "ShutdownNow" });
        return { ...cleared, lifecycle: "SHUTTING_DOWN", caughtUp: response.isCaughtUp };
      }
      if (s.lifecycle === "PENDING_CONTROLLED_SHUTDOWN") {
        // R116: after the first answer that is not yet SHUTDOWN_NOW (the controller has just moved
        // leadership away), ask again soon rather than a heartbeat interval later, as Kafka does.
        if (!s.shutdownAnswered) {
          mark(out, "R116:first-pending-answer-asks-again-soon");
          out.effects.push({ _tag: "ArmHeartbeatTimer", delayMs: CONTROLLED_SHUTDOWN_RECHECK_MS });
        }
        return { ...cleared, caughtUp: response.isCaughtUp, shutdownAnswered: true };
      }
      // R116: unfenced ⇒ RUNNING; fenced again (e.g. after a session timeout) ⇒ back to RECOVERY.
      mark(out, response.isFenced ? "R116:stays-fenced" : "R116:runs-unfenced");
      return {
        ...cleared,
        lifecycle: response.isFenced ? "RECOVERY" : "RUNNING",
        caughtUp: response.isCaughtUp,
      };
    }
    default:
      return cleared;
  }
};

/** R126, R127: propose an ISR change for a partition this broker leads, as its image shows it. */
const isrChange = (
  s: BrokerState,
  out: Out,
  input: Extract<BrokerInput, { _tag: "IsrChange" }>,
): BrokerState => {
  if (s.alterInflight !== null || s.controllerId < 0 || s.brokerEpoch < 0 || s.lifecycle === "SHUTTING_DOWN")
    return s;
  const partition = findPartitionById(s.image, input.topicId, input.partitionId);
  if (partition === undefined || partition.leader !== s.brokerId || input.follower === s.brokerId) return s;
  const inIsr = partition.isr.includes(input.follower);
  if (input.join === inIsr || (input.join && !partition.replicas.includes(input.follower))) return s;
  mark(out, input.join ? "R127:proposes-follower-joins-isr" : "R127:proposes-follower-leaves-isr");
  const isr = input.join
    ? [...partition.isr, input.follower]
    : partition.isr.filter((id) => id !== input.follower);
  // R127: the follower's epoch is the one it fetched with; the others' as this image knows them.
  const newIsrWithEpochs = isr.map((id) => ({
    brokerId: id,
    brokerEpoch:
      id === input.follower
        ? input.followerEpoch
        : id === s.brokerId
          ? s.brokerEpoch
          : (findBroker(s.image, id)?.epoch ?? -1),
  }));
  const request: AlterPartitionRequest = {
    _tag: "AlterPartitionRequest",
    brokerId: s.brokerId,
    brokerEpoch: s.brokerEpoch,
    topics: [
      {
        topicId: input.topicId,
        partitions: [
          {
            partitionIndex: partition.partitionId,
            leaderEpoch: partition.leaderEpoch,
            newIsrWithEpochs,
            leaderRecoveryState: LEADER_RECOVERED,
            partitionEpoch: partition.partitionEpoch,
          },
        ],
      },
    ],
  };
  return send(s, out, "alterInflight", request);
};

export interface BrokerStep {
  readonly state: BrokerState;
  readonly effects: readonly BrokerEffect[];
  /** The rule branches this step took (spec/marks.ts). */
  readonly marks: readonly Mark[];
}

/** Apply one input to a broker. Pure, and never throws on well-typed input. */
export const brokerStep = (s: BrokerState, input: BrokerInput, config: BrokerConfig): BrokerStep => {
  const out: Out = newCollector();
  let next = s;
  switch (input._tag) {
    case "Committed": {
      // R128: replay committed records only, in order; publish the new image.
      const fresh = input.records.filter((r) => r.offset > s.image.offset);
      if (fresh.length === 0) break;
      const replayed = replay(s.image, fresh);
      if (replayed.problems.length > 0) mark(out, "R128:broker-replay-problem");
      for (const problem of replayed.problems) out.effects.push({ _tag: "Problem", detail: problem });
      mark(out, "R128:broker-publishes");
      next = { ...s, image: replayed.image };
      out.effects.push({ _tag: "Published", offset: replayed.image.offset });
      break;
    }
    case "LoadSnapshot": {
      // R84, R128: the snapshot's image replaces the broker's, and is published as any new image.
      const loaded = loadSnapshotImage(input.records, input.endOffset, input.epoch);
      mark(out, "R84:broker-loads-snapshot");
      for (const problem of loaded.problems)
        out.effects.push({
          _tag: "Problem",
          detail: `snapshot ${input.endOffset}-${input.epoch}: ${problem}`,
        });
      next = { ...s, image: loaded.image };
      out.effects.push({ _tag: "Published", offset: loaded.image.offset });
      break;
    }
    case "LeaderChange":
      if (input.epoch < s.controllerEpoch) break;
      next = { ...s, controllerId: input.leaderId, controllerEpoch: input.epoch };
      break;
    case "HeartbeatTimer":
      next = tick(s, config, out);
      break;
    case "Response":
      if (s.lifecycleInflight?.correlationId === input.correlationId) {
        next = lifecycleResponse(s, out, input.response);
      } else if (s.alterInflight?.correlationId === input.correlationId) {
        // The answer carries the new partition state, but the image moves only with committed records.
        next = { ...s, alterInflight: null };
      }
      break;
    case "RequestFailed":
      if (s.lifecycleInflight?.correlationId === input.correlationId)
        next = { ...s, lifecycleInflight: null };
      else if (s.alterInflight?.correlationId === input.correlationId) next = { ...s, alterInflight: null };
      break;
    case "BeginControlledShutdown":
      // R116: ask at once, not at the next heartbeat (Kafka's BrokerLifecycleManager does the same).
      if (s.lifecycle === "RUNNING" || s.lifecycle === "RECOVERY")
        next = tick({ ...s, lifecycle: "PENDING_CONTROLLED_SHUTDOWN" }, config, out);
      else if (s.lifecycle === "STARTING") {
        // Never registered: nothing to hand over.
        out.effects.push({ _tag: "ShutdownNow" });
        next = { ...s, lifecycle: "SHUTTING_DOWN" };
      }
      break;
    case "IsrChange":
      next = isrChange(s, out, input);
      break;
  }
  return { state: next, effects: out.effects, marks: out.marks };
};
