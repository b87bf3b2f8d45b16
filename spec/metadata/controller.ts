// The quorum controller as a pure reducer (R103–R126). The active controller is the Raft leader once
// its listener learns so (R58): it turns requests into records, applies them to its in-memory image
// at once, proposes them to Raft, and answers only when they commit; losing leadership reverts to
// the committed image and fails what is pending with NOT_CONTROLLER (R104). Standby controllers keep
// the committed image. Time is never read: session expiry and idle writes are timers the shell arms.

import * as Schema from "effect/Schema";
import { type Collector, type Mark, mark, markOutcome, newCollector } from "../marks.ts";
import { sameContent } from "../plain-data.ts";
import { Int32, Int64 } from "../raft/primitives.ts";
import { configDefs, configProblem, TOPIC_CONFIGS } from "./configs.ts";
import { uuidFrom } from "./ids.ts";
import {
  apply,
  type BrokerRegistration,
  configValue,
  EMPTY_IMAGE,
  featureLevel,
  findBroker,
  findPartition,
  findPartitionById,
  findTopic,
  findTopicById,
  isUsable,
  loadSnapshotImage,
  MetadataImage,
  newReplayScratch,
  type OffsetRecord,
  type PartitionState,
  partitionsOf,
  partitionsOfBroker,
  replay,
  resourceConfigs,
  type TopicImage,
  topicConfig,
  topicsOf,
} from "./image.ts";
import { buildPartitionChange, chooseLeader } from "./partition-change.ts";
import {
  type BrokerFeature,
  LEADER_RECOVERED,
  LEADER_RECOVERING,
  METADATA_VERSION,
  type MetadataRecord,
  MetadataRecord as MetadataRecordSchema,
  NO_LEADER,
  RESOURCE_BROKER,
  RESOURCE_TOPIC,
} from "./records.ts";
import {
  type AlterConfigsRequest,
  type AlterConfigsResponse,
  type AlterPartitionRequest,
  type AlterPartitionResponse,
  type AlterPartitionResult,
  type BrokerHeartbeatRequest,
  type BrokerHeartbeatResponse,
  type BrokerRegistrationRequest,
  type BrokerRegistrationResponse,
  CONFIG_APPEND,
  CONFIG_DELETE,
  CONFIG_SET,
  CONFIG_SUBTRACT,
  ControllerRequest,
  ControllerResponse,
  type CreatableTopic,
  type CreatableTopicResult,
  type CreatePartitionsRequest,
  type CreatePartitionsResponse,
  type CreateTopicsRequest,
  type CreateTopicsResponse,
  type DeleteTopicsRequest,
  type DeleteTopicsResponse,
  type DescribeConfigsRequest,
  type DescribeConfigsResponse,
  ELECTION_PREFERRED,
  ELECTION_UNCLEAN,
  type ElectLeadersRequest,
  type ElectLeadersResponse,
  type IncrementalAlterConfigsRequest,
  type IncrementalAlterConfigsResponse,
  type MetadataErrorCode,
} from "./requests.ts";

// ---- state, inputs, effects -----------------------------------------------------------------------

/** What the active controller remembers of a broker between heartbeats (not in the log). */
export const BrokerSession = Schema.Struct({
  brokerId: Int32,
  /** The last metadata offset the broker reported (R115). */
  metadataOffset: Int64,
  /** R116: the offset by which every active broker must have caught up before shutdown; -1 if none. */
  controlledShutdownOffset: Int64,
});
export type BrokerSession = typeof BrokerSession.Type;

export const PendingWrite = Schema.Struct({
  /** The offset of the operation's last record: it is answered once this is committed. */
  lastOffset: Int64,
  to: Int32,
  correlationId: Schema.Int,
  response: ControllerResponse,
});
export type PendingWrite = typeof PendingWrite.Type;

export const ControllerState = Schema.Struct({
  nodeId: Int32,
  active: Schema.Boolean,
  /** The Raft epoch this controller leads, or the last one it heard of. */
  epoch: Int32,
  /** Committed records and, on the active controller, its own records not yet committed. */
  image: MetadataImage,
  /** The image as of the last committed record. */
  committed: MetadataImage,
  /** Where the active controller's next record will land (R106). */
  nextOffset: Int64,
  /** Proposals not yet placed by Raft: their expected base offsets, oldest first. */
  proposals: Schema.Array(Int64),
  pending: Schema.Array(PendingWrite),
  /** Brokers with a live session (unfenced brokers that heartbeat), by id. */
  sessions: Schema.Array(BrokerSession),
});
export type ControllerState = typeof ControllerState.Type;

export const ControllerConfig = Schema.Struct({
  nodeId: Int32,
  clusterId: Schema.String,
  /** broker.session.timeout.ms (R118). */
  sessionTimeoutMs: Schema.Int,
  /** metadata.max.idle.interval.ms (R105); 0 writes no NoOpRecords. */
  noOpIntervalMs: Schema.Int,
  /** num.partitions and default.replication.factor, for requests that say -1. */
  defaultNumPartitions: Schema.Int,
  defaultReplicationFactor: Schema.Int,
  /** The metadata.version a new cluster starts with (R105). */
  bootstrapMetadataVersion: Schema.Int,
});
export type ControllerConfig = typeof ControllerConfig.Type;

export const DEFAULT_CONTROLLER_CONFIG = {
  sessionTimeoutMs: 9000,
  noOpIntervalMs: 500,
  defaultNumPartitions: 1,
  defaultReplicationFactor: 1,
  bootstrapMetadataVersion: 21,
} as const;

const Request = Schema.TaggedStruct("Request", {
  from: Int32,
  correlationId: Schema.Int,
  request: ControllerRequest,
});
/** Records Raft committed, in offset order (R85, R128). */
const Committed = Schema.TaggedStruct("Committed", {
  records: Schema.Array(Schema.Struct({ offset: Int64, epoch: Int32, record: MetadataRecordSchema })),
});
/**
 * R84, R131: Raft asks the listener to rebuild its state from a snapshot: the records it holds, and
 * its id (the records end before endOffset; the last one is of `epoch`).
 */
const LoadSnapshot = Schema.TaggedStruct("LoadSnapshot", {
  endOffset: Int64,
  epoch: Int32,
  records: Schema.Array(MetadataRecordSchema),
});
/** R58, R86: the Raft leader changed; logEndOffset is where a new leader's next record goes. */
const LeaderChange = Schema.TaggedStruct("LeaderChange", {
  leaderId: Int32,
  epoch: Int32,
  logEndOffset: Int64,
});
/** Raft placed a proposal (R87). */
const AppendAccepted = Schema.TaggedStruct("AppendAccepted", { baseOffset: Int64, lastOffset: Int64 });
/**
 * R106, R147: the Raft leader appended control records of its own at the log end (a VotersRecord of a
 * voter change, R91): the active controller's next records go after them.
 */
const ControlRecordsAppended = Schema.TaggedStruct("ControlRecordsAppended", { endOffset: Int64 });
/** Raft refused a proposal (this node no longer leads the epoch). */
const AppendRejected = Schema.TaggedStruct("AppendRejected", {});
const SessionExpired = Schema.TaggedStruct("SessionExpired", { brokerId: Int32 });
const IdleTimeout = Schema.TaggedStruct("IdleTimeout", {});

export const ControllerInput = Schema.Union([
  Request,
  Committed,
  LoadSnapshot,
  LeaderChange,
  AppendAccepted,
  AppendRejected,
  ControlRecordsAppended,
  SessionExpired,
  IdleTimeout,
]);
export type ControllerInput = typeof ControllerInput.Type;

const Propose = Schema.TaggedStruct("Propose", {
  epoch: Int32,
  baseOffset: Int64,
  records: Schema.Array(MetadataRecordSchema),
});
const Respond = Schema.TaggedStruct("Respond", {
  to: Int32,
  correlationId: Schema.Int,
  response: ControllerResponse,
});
const ArmSessionTimer = Schema.TaggedStruct("ArmSessionTimer", { brokerId: Int32, delayMs: Schema.Int });
const CancelSessionTimer = Schema.TaggedStruct("CancelSessionTimer", { brokerId: Int32 });
const ArmIdleTimer = Schema.TaggedStruct("ArmIdleTimer", { delayMs: Schema.Int });
/** R104: ask Raft to resign the epoch (the controller hit an inconsistency). */
const ResignLeadership = Schema.TaggedStruct("ResignLeadership", { epoch: Int32, reason: Schema.String });
/** A committed record that does not fit the image: a bug somewhere upstream. */
const ReplayProblem = Schema.TaggedStruct("ReplayProblem", { offset: Int64, problem: Schema.String });

export const ControllerEffect = Schema.Union([
  Propose,
  Respond,
  ArmSessionTimer,
  CancelSessionTimer,
  ArmIdleTimer,
  ResignLeadership,
  ReplayProblem,
]);
export type ControllerEffect = typeof ControllerEffect.Type;

/** Effects are collected in order, with the coverage marks of the branches taken (spec/marks.ts). */
type Out = Collector<ControllerEffect>;

export const initialControllerState = (nodeId: number): ControllerState => ({
  nodeId,
  active: false,
  epoch: -1,
  image: EMPTY_IMAGE,
  committed: EMPTY_IMAGE,
  nextOffset: 0,
  proposals: [],
  pending: [],
  sessions: [],
});

// ---- building a write ---------------------------------------------------------------------------

/**
 * Records an operation writes, each applied to a working image as it is added so later decisions see
 * earlier ones; offsets are the ones the records will get (R106).
 */
class Writer {
  image: MetadataImage;
  readonly records: MetadataRecord[] = [];
  private readonly base: number;
  private readonly epoch: number;

  constructor(image: MetadataImage, base: number, epoch: number) {
    this.image = image;
    this.base = base;
    this.epoch = epoch;
  }

  /** The offset the next record will get. */
  get nextOffset(): number {
    return this.base + this.records.length;
  }

  /** The write's own arrays, changed in place as records are added (image.ts, ReplayScratch). */
  private readonly scratch = newReplayScratch();

  add(record: MetadataRecord): void {
    this.image = apply(this.image, record, this.nextOffset, this.epoch, this.scratch).image;
    this.records.push(record);
  }
}

/** Commit-time answer of a write; answered at once when it writes nothing (R104). */
const write = (
  s: ControllerState,
  out: Out,
  writer: Writer,
  to: number,
  correlationId: number,
  response: ControllerResponse,
): ControllerState => {
  if (writer.records.length === 0) {
    out.effects.push({ _tag: "Respond", to, correlationId, response });
    return s;
  }
  out.effects.push({ _tag: "Propose", epoch: s.epoch, baseOffset: s.nextOffset, records: writer.records });
  const lastOffset = s.nextOffset + writer.records.length - 1;
  return {
    ...s,
    image: writer.image,
    nextOffset: lastOffset + 1,
    proposals: [...s.proposals, s.nextOffset],
    pending: [...s.pending, { lastOffset, to, correlationId, response }],
  };
};

// ---- shared rules -------------------------------------------------------------------------------

const uncleanAllowed = (image: MetadataImage, topic: string): boolean =>
  (topicConfig(image, topic, "unclean.leader.election.enable") ??
    configValue(image, RESOURCE_BROKER, "", "unclean.leader.election.enable")) === "true";

/**
 * R117, R124: take a broker out of every ISR, electing new leaders where it led; the broker is not
 * acceptable as a leader even before its fence record is written. Only its own partitions are read.
 */
const removeFromIsrs = (writer: Writer, brokerId: number): void => {
  for (const { topic, partitions } of partitionsOfBroker(writer.image, brokerId)) {
    for (const partition of partitions) {
      if (!partition.isr.includes(brokerId)) continue;
      const change = buildPartitionChange(topic.topicId, partition, {
        targetIsr: partition.isr.filter((id) => id !== brokerId),
        election: "online",
        uncleanAllowed: uncleanAllowed(writer.image, topic.name),
        acceptable: (id) => id !== brokerId && isUsable(writer.image, id),
      });
      if (change !== null) writer.add(change);
    }
  }
};

/** R117: after a broker is unfenced, give leaderless partitions a leader where one is now valid. */
const electLeaderless = (writer: Writer): void => {
  for (const { topic, partitions } of partitionsOfBroker(writer.image, NO_LEADER)) {
    for (const partition of partitions) {
      const change = buildPartitionChange(topic.topicId, partition, {
        election: "online",
        uncleanAllowed: uncleanAllowed(writer.image, topic.name),
        acceptable: (id) => isUsable(writer.image, id),
      });
      if (change !== null) writer.add(change);
    }
  }
};

const fenceRecords = (writer: Writer, broker: BrokerRegistration): void => {
  removeFromIsrs(writer, broker.id);
  writer.add({
    _tag: "BrokerRegistrationChangeRecord",
    brokerId: broker.id,
    brokerEpoch: broker.epoch,
    fenced: 1,
    inControlledShutdown: 0,
  });
};

const leadsAny = (image: MetadataImage, brokerId: number): boolean =>
  partitionsOfBroker(image, brokerId).some(({ partitions }) => partitions.some((p) => p.leader === brokerId));

const withoutSession = (s: ControllerState, out: Out, brokerId: number): ControllerState => {
  if (!s.sessions.some((x) => x.brokerId === brokerId)) return s;
  out.effects.push({ _tag: "CancelSessionTimer", brokerId });
  return { ...s, sessions: s.sessions.filter((x) => x.brokerId !== brokerId) };
};

const withSession = (
  s: ControllerState,
  out: Out,
  config: ControllerConfig,
  session: BrokerSession,
): ControllerState => {
  out.effects.push({ _tag: "ArmSessionTimer", brokerId: session.brokerId, delayMs: config.sessionTimeoutMs });
  const others = s.sessions.filter((x) => x.brokerId !== session.brokerId);
  let i = others.length;
  while (i > 0 && others[i - 1]!.brokerId > session.brokerId) i--;
  return { ...s, sessions: [...others.slice(0, i), session, ...others.slice(i)] };
};

// ---- broker registration (R112–R114) --------------------------------------------------------------

const registration = (
  s: ControllerState,
  config: ControllerConfig,
  out: Out,
  from: number,
  correlationId: number,
  request: BrokerRegistrationRequest,
): ControllerState => {
  const reply = (errorCode: MetadataErrorCode, brokerEpoch = -1): BrokerRegistrationResponse => ({
    _tag: "BrokerRegistrationResponse",
    errorCode,
    brokerEpoch,
  });
  const answer = (response: BrokerRegistrationResponse): ControllerState => {
    out.effects.push({ _tag: "Respond", to: from, correlationId, response });
    return s;
  };
  if (request.clusterId !== config.clusterId) {
    mark(out, "R113:registration-foreign-cluster");
    return answer(reply("INCONSISTENT_CLUSTER_ID"));
  }
  if (request.brokerId < 0) {
    mark(out, "R113:registration-invalid-id");
    return answer(reply("INVALID_REQUEST"));
  }
  // R113: every finalized feature must be within the broker's supported range.
  for (const feature of s.image.features) {
    const supported: BrokerFeature | undefined = request.features.find((f) => f.name === feature.name);
    const ok =
      supported === undefined
        ? feature.level === 0
        : feature.level >= supported.minSupportedVersion && feature.level <= supported.maxSupportedVersion;
    if (!ok) {
      mark(out, "R113:registration-unsupported-feature");
      return answer(reply("UNSUPPORTED_VERSION"));
    }
  }
  const existing = findBroker(s.image, request.brokerId);
  if (existing !== undefined && existing.incarnationId === request.incarnationId) {
    // R114: a retry of the same incarnation amends the registration, keeping its epoch and flags.
    mark(out, "R114:same-incarnation-amends");
    const amended = new Writer(s.image, s.nextOffset, s.epoch);
    amended.add({
      _tag: "RegisterBrokerRecord",
      brokerId: request.brokerId,
      incarnationId: request.incarnationId,
      brokerEpoch: existing.epoch,
      endPoints: request.listeners,
      features: request.features,
      rack: request.rack,
      fenced: existing.fenced,
      inControlledShutdown: existing.inControlledShutdown,
    });
    return write(s, out, amended, from, correlationId, reply("NONE", existing.epoch));
  }
  const live = s.sessions.some((x) => x.brokerId === request.brokerId);
  if (existing !== undefined && !existing.fenced && live) {
    mark(out, "R114:duplicate-registration-refused");
    return answer(reply("DUPLICATE_BROKER_REGISTRATION"));
  }
  mark(out, existing === undefined ? "R114:first-registration" : "R114:new-incarnation");
  // R114: a new incarnation's epoch is the offset its registration record will have.
  const writer = new Writer(s.image, s.nextOffset, s.epoch);
  const brokerEpoch = writer.nextOffset;
  writer.add({
    _tag: "RegisterBrokerRecord",
    brokerId: request.brokerId,
    incarnationId: request.incarnationId,
    brokerEpoch,
    endPoints: request.listeners,
    features: request.features,
    rack: request.rack,
    fenced: true,
    inControlledShutdown: false,
  });
  let next = withoutSession(s, out, request.brokerId);
  next = withSession(next, out, config, {
    brokerId: request.brokerId,
    metadataOffset: -1,
    controlledShutdownOffset: -1,
  });
  return write(next, out, writer, from, correlationId, reply("NONE", brokerEpoch));
};

// ---- broker heartbeat (R115–R119) ---------------------------------------------------------------

const heartbeat = (
  s: ControllerState,
  config: ControllerConfig,
  out: Out,
  from: number,
  correlationId: number,
  request: BrokerHeartbeatRequest,
): ControllerState => {
  const broker = findBroker(s.image, request.brokerId);
  const reply = (
    errorCode: MetadataErrorCode,
    fields: Partial<BrokerHeartbeatResponse> = {},
  ): BrokerHeartbeatResponse => ({
    _tag: "BrokerHeartbeatResponse",
    errorCode,
    isCaughtUp: false,
    isFenced: true,
    shouldShutDown: false,
    ...fields,
  });
  if (broker === undefined || broker.epoch !== request.brokerEpoch) {
    mark(out, broker === undefined ? "R115:heartbeat-unknown-broker" : "R115:heartbeat-stale-epoch");
    out.effects.push({
      _tag: "Respond",
      to: from,
      correlationId,
      response: reply(broker === undefined ? "BROKER_ID_NOT_REGISTERED" : "STALE_BROKER_EPOCH"),
    });
    return s;
  }
  // R115: caught up once it has replayed its own registration record.
  const caughtUp = request.currentMetadataOffset >= broker.epoch;
  const previous = s.sessions.find((x) => x.brokerId === broker.id);
  let session: BrokerSession = {
    brokerId: broker.id,
    metadataOffset: request.currentMetadataOffset,
    controlledShutdownOffset: previous?.controlledShutdownOffset ?? -1,
  };
  const writer = new Writer(s.image, s.nextOffset, s.epoch);
  let shouldShutDown = false;
  if (broker.fenced) {
    if (request.wantShutDown) {
      mark(out, "R116:fenced-broker-shuts-down");
      shouldShutDown = true;
    } else if (!request.wantFence && !caughtUp) {
      mark(out, "R115:fenced-until-caught-up");
    } else if (!request.wantFence && caughtUp) {
      mark(out, "R116:unfenced");
      // R116, R117: FENCED → UNFENCED: unfence, then give leaderless partitions a leader.
      writer.add({
        _tag: "BrokerRegistrationChangeRecord",
        brokerId: broker.id,
        brokerEpoch: broker.epoch,
        fenced: -1,
        inControlledShutdown: 0,
      });
      electLeaderless(writer);
    }
  } else if (broker.inControlledShutdown) {
    // R116: CONTROLLED_SHUTDOWN → SHUTDOWN_NOW once it leads nothing and every active broker caught up.
    const othersCaughtUp = s.sessions.every(
      (x) =>
        x.brokerId === broker.id ||
        !isUsable(s.image, x.brokerId) ||
        x.metadataOffset >= session.controlledShutdownOffset,
    );
    if (!leadsAny(s.image, broker.id) && othersCaughtUp) {
      mark(out, "R116:controlled-shutdown-completes");
      shouldShutDown = true;
      fenceRecords(writer, broker);
    }
  } else if (request.wantShutDown && leadsAny(s.image, broker.id)) {
    // R116, R117: UNFENCED → CONTROLLED_SHUTDOWN: mark it, then move leadership and ISR membership away.
    mark(out, "R116:controlled-shutdown-begins");
    writer.add({
      _tag: "BrokerRegistrationChangeRecord",
      brokerId: broker.id,
      brokerEpoch: broker.epoch,
      fenced: 0,
      inControlledShutdown: 1,
    });
    removeFromIsrs(writer, broker.id);
    session = { ...session, controlledShutdownOffset: writer.nextOffset - 1 };
  } else if (request.wantShutDown || request.wantFence) {
    // R116, R117: UNFENCED → SHUTDOWN_NOW or FENCED.
    mark(out, request.wantShutDown ? "R116:leaderless-broker-shuts-down" : "R116:broker-asks-to-be-fenced");
    shouldShutDown = request.wantShutDown;
    fenceRecords(writer, broker);
  }
  const after = findBroker(writer.image, broker.id)!;
  let next = shouldShutDown ? withoutSession(s, out, broker.id) : withSession(s, out, config, session);
  const response = reply("NONE", { isCaughtUp: caughtUp, isFenced: after.fenced, shouldShutDown });
  next = write(next, out, writer, from, correlationId, response);
  return next;
};

/** R118: a broker whose session ran out is fenced, leadership moving away first. */
const sessionExpired = (s: ControllerState, out: Out, brokerId: number): ControllerState => {
  if (!s.sessions.some((x) => x.brokerId === brokerId)) return s;
  const next = withoutSession(s, out, brokerId);
  const broker = findBroker(s.image, brokerId);
  if (broker === undefined || broker.fenced) return next;
  mark(out, "R118:session-expiry-fences");
  const writer = new Writer(s.image, s.nextOffset, s.epoch);
  fenceRecords(writer, broker);
  out.effects.push({ _tag: "Propose", epoch: s.epoch, baseOffset: s.nextOffset, records: writer.records });
  return {
    ...next,
    image: writer.image,
    nextOffset: writer.nextOffset,
    proposals: [...s.proposals, s.nextOffset],
  };
};

// ---- topics (R121) --------------------------------------------------------------------------------

const LEGAL_TOPIC = /^[a-zA-Z0-9._-]+$/;

/** Kafka's topic name rules, plus the metadata log's own name. */
export const topicNameProblem = (name: string): string | null => {
  if (name.length === 0) return "Topic name is illegal, it can't be empty";
  if (name === "." || name === "..") return 'Topic name cannot be "." or ".."';
  if (name.length > 249) return "Topic name is illegal, it can't be longer than 249 characters";
  if (!LEGAL_TOPIC.test(name))
    return `Topic name "${name}" is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'`;
  if (name === "__cluster_metadata")
    return "__cluster_metadata is the metadata log and cannot be created as a topic";
  return null;
};

/** Usable brokers in id order: the ones new replicas may go to (R119). */
const usableBrokers = (image: MetadataImage): number[] =>
  image.brokers.filter((b) => isUsable(image, b.id)).map((b) => b.id);

/**
 * R121: striped placement over the usable brokers (`brokers`, found once per request: placing does not
 * change them), starting at a place that depends on the topic.
 */
const place = (
  brokers: readonly number[],
  topic: string,
  partition: number,
  replicationFactor: number,
): number[] => {
  let start = 0;
  for (let i = 0; i < topic.length; i++) start = (start * 31 + topic.charCodeAt(i)) % 9973;
  const first = (start + partition) % brokers.length;
  return Array.from({ length: replicationFactor }, (_, k) => brokers[(first + k) % brokers.length]!);
};

const assignmentProblem = (
  image: MetadataImage,
  replicas: readonly number[],
  replicationFactor: number,
): string | null => {
  if (replicas.length === 0) return "a partition needs at least one replica";
  if (replicas.length !== replicationFactor) return "every partition must have the same number of replicas";
  if (new Set(replicas).size !== replicas.length) return `duplicate brokers in ${JSON.stringify(replicas)}`;
  const missing = replicas.find((id) => findBroker(image, id) === undefined);
  return missing === undefined ? null : `broker ${missing} is not registered`;
};

/**
 * R121: a partition whose replicas include no usable broker could get no leader and would start with an
 * empty ISR: refused for a new topic (KAFKA-13083) and for new partitions (KAFKA-13916, KIP-841).
 */
const leaderlessProblem = (
  image: MetadataImage,
  replicas: readonly number[],
  partition: number,
): string | null =>
  replicas.some((id) => isUsable(image, id))
    ? null
    : `All brokers specified in the manual partition assignment for partition ${partition} are fenced or in controlled shutdown.`;

const partitionRecord = (
  topicId: string,
  partitionId: number,
  replicas: readonly number[],
  image: MetadataImage,
): MetadataRecord => {
  // R121: the ISR is the replicas that are usable, the leader the first of them.
  const isr = replicas.filter((id) => isUsable(image, id));
  return {
    _tag: "PartitionRecord",
    partitionId,
    topicId,
    replicas,
    isr,
    removingReplicas: [],
    addingReplicas: [],
    leader: isr[0] ?? NO_LEADER,
    leaderRecoveryState: LEADER_RECOVERED,
    leaderEpoch: 0,
    partitionEpoch: 0,
  };
};

const createTopic = (
  writer: Writer,
  config: ControllerConfig,
  topic: CreatableTopic,
  validateOnly: boolean,
  seen: ReadonlySet<string>,
): CreatableTopicResult => {
  const fail = (errorCode: MetadataErrorCode, errorMessage: string): CreatableTopicResult => ({
    name: topic.name,
    topicId: null,
    errorCode,
    errorMessage,
    numPartitions: -1,
    replicationFactor: -1,
  });
  const nameProblem = topicNameProblem(topic.name);
  if (nameProblem !== null) return fail("INVALID_TOPIC_EXCEPTION", nameProblem);
  if (seen.has(topic.name))
    return fail("INVALID_REQUEST", `topic ${topic.name} appears more than once in the request`);
  if (findTopic(writer.image, topic.name) !== undefined)
    return fail("TOPIC_ALREADY_EXISTS", `Topic '${topic.name}' already exists.`);
  const configs: { name: string; value: string }[] = [];
  const nullConfigs: string[] = [];
  for (const c of topic.configs) {
    if (c.value === null) nullConfigs.push(c.name);
    else configs.push({ name: c.name, value: c.value });
  }
  if (nullConfigs.length > 0)
    return fail("INVALID_CONFIG", `Null value not supported for topic configs: ${nullConfigs.join(",")}`);
  const manual = topic.assignments.length > 0;
  if (manual && (topic.numPartitions !== -1 || topic.replicationFactor !== -1)) {
    return fail(
      "INVALID_REQUEST",
      "give either assignments or numPartitions and replicationFactor, not both",
    );
  }
  const numPartitions = manual
    ? topic.assignments.length
    : topic.numPartitions === -1
      ? config.defaultNumPartitions
      : topic.numPartitions;
  if (numPartitions < 1) return fail("INVALID_PARTITIONS", "Number of partitions must be larger than 0.");
  const replicationFactor = manual
    ? (topic.assignments[0]?.brokerIds.length ?? 0)
    : topic.replicationFactor === -1
      ? config.defaultReplicationFactor
      : topic.replicationFactor;
  if (replicationFactor < 1)
    return fail("INVALID_REPLICATION_FACTOR", "Replication factor must be larger than 0.");
  const usable = usableBrokers(writer.image);
  if (!manual && replicationFactor > usable.length) {
    return fail(
      "INVALID_REPLICATION_FACTOR",
      `Unable to replicate the partition ${replicationFactor} time(s): The target replication factor of ${replicationFactor} cannot be reached because only ${usable.length} broker(s) are registered.`,
    );
  }
  for (const c of configs) {
    const problem = configProblem(RESOURCE_TOPIC, c.name, c.value);
    if (problem !== null) return fail("INVALID_CONFIG", problem);
  }
  const assignments: number[][] = [];
  const manualByIndex = new Map(topic.assignments.map((a) => [a.partitionIndex, a]));
  for (let p = 0; p < numPartitions; p++) {
    if (manual) {
      const a = manualByIndex.get(p);
      if (a === undefined) return fail("INVALID_REPLICA_ASSIGNMENT", `no assignment for partition ${p}`);
      const problem = assignmentProblem(writer.image, a.brokerIds, replicationFactor);
      if (problem !== null) return fail("INVALID_REPLICA_ASSIGNMENT", problem);
      assignments.push([...a.brokerIds]);
    } else {
      assignments.push(place(usable, topic.name, p, replicationFactor));
    }
  }
  const leaderless = assignments
    .map((replicas, p) => leaderlessProblem(writer.image, replicas, p))
    .find((problem): problem is string => problem !== null);
  if (leaderless !== undefined) return fail("INVALID_REPLICA_ASSIGNMENT", leaderless);
  const topicId = uuidFrom(`topic/${topic.name}/${writer.nextOffset}/${writer.image.epoch}`);
  if (!validateOnly) {
    writer.add({ _tag: "TopicRecord", name: topic.name, topicId });
    for (const c of configs)
      writer.add({
        _tag: "ConfigRecord",
        resourceType: RESOURCE_TOPIC,
        resourceName: topic.name,
        name: c.name,
        value: c.value,
      });
    assignments.forEach((replicas, p) => {
      writer.add(partitionRecord(topicId, p, replicas, writer.image));
    });
  }
  return {
    name: topic.name,
    topicId,
    errorCode: "NONE",
    errorMessage: null,
    numPartitions,
    replicationFactor,
  };
};

/** The branch of R121 each per-topic answer shows. */
/** R121: the most partitions one CreateTopics may create (Kafka's MAX_PARTITIONS_PER_BATCH). */
export const MAX_PARTITIONS_PER_REQUEST = 10_000;

const CREATE_TOPIC_MARKS: Partial<Record<MetadataErrorCode, Mark>> = {
  NONE: "R121:topic-created",
  INVALID_TOPIC_EXCEPTION: "R121:invalid-topic-name",
  INVALID_REQUEST: "R121:invalid-request",
  TOPIC_ALREADY_EXISTS: "R121:topic-already-exists",
  INVALID_PARTITIONS: "R121:invalid-partitions",
  INVALID_REPLICATION_FACTOR: "R121:invalid-replication-factor",
  INVALID_REPLICA_ASSIGNMENT: "R121:invalid-replica-assignment",
  INVALID_CONFIG: "R121:invalid-config",
};

/** The branch of R126 each per-partition answer shows. */
const ALTER_PARTITION_MARKS: Partial<Record<MetadataErrorCode, Mark>> = {
  NONE: "R126:isr-changed",
  UNKNOWN_TOPIC_ID: "R126:unknown-topic",
  UNKNOWN_TOPIC_OR_PARTITION: "R126:unknown-partition",
  NOT_CONTROLLER: "R126:epoch-newer-than-controller",
  FENCED_LEADER_EPOCH: "R126:fenced-leader-epoch",
  INVALID_REQUEST: "R126:invalid-isr-or-requester",
  INVALID_UPDATE_VERSION: "R126:stale-partition-epoch",
  INELIGIBLE_REPLICA: "R126:ineligible-replica",
};

/** The branch of R123 each per-partition election result shows. */
const ELECT_LEADERS_MARKS: Partial<Record<MetadataErrorCode, Mark>> = {
  NONE: "R123:leader-elected",
  ELECTION_NOT_NEEDED: "R123:election-not-needed",
  UNKNOWN_TOPIC_OR_PARTITION: "R123:unknown-partition",
  ELIGIBLE_LEADERS_NOT_AVAILABLE: "R123:no-eligible-leader",
  PREFERRED_LEADER_NOT_AVAILABLE: "R123:preferred-leader-not-available",
};

const createTopics = (
  s: ControllerState,
  config: ControllerConfig,
  out: Out,
  from: number,
  correlationId: number,
  request: CreateTopicsRequest,
): ControllerState => {
  // R121: one request creates at most MAX_PARTITIONS_PER_REQUEST partitions (counting what each topic
  // asks for), or none of it is done.
  const asked = request.topics.reduce(
    (sum, t) =>
      sum +
      (t.assignments.length > 0
        ? t.assignments.length
        : t.numPartitions === -1
          ? config.defaultNumPartitions
          : Math.max(0, t.numPartitions)),
    0,
  );
  if (asked > MAX_PARTITIONS_PER_REQUEST) {
    mark(out, "R121:too-many-partitions");
    const refused = request.topics.map(
      (t): CreatableTopicResult => ({
        name: t.name,
        topicId: null,
        errorCode: "POLICY_VIOLATION",
        errorMessage: `Excessively large number of partitions per request: ${asked} asked for, at most ${MAX_PARTITIONS_PER_REQUEST}.`,
        numPartitions: -1,
        replicationFactor: -1,
      }),
    );
    out.effects.push({
      _tag: "Respond",
      to: from,
      correlationId,
      response: { _tag: "CreateTopicsResponse", topics: refused },
    });
    return s;
  }
  const writer = new Writer(s.image, s.nextOffset, s.epoch);
  const seen = new Set<string>();
  const topics = request.topics.map((t) => {
    const result = createTopic(writer, config, t, request.validateOnly, seen);
    seen.add(t.name);
    return result;
  });
  for (const t of topics) markOutcome(out, CREATE_TOPIC_MARKS, t.errorCode);
  if (request.validateOnly) mark(out, "R121:validate-only");
  const response: CreateTopicsResponse = { _tag: "CreateTopicsResponse", topics };
  return write(s, out, writer, from, correlationId, response);
};

const deleteTopics = (
  s: ControllerState,
  out: Out,
  from: number,
  correlationId: number,
  request: DeleteTopicsRequest,
): ControllerState => {
  const writer = new Writer(s.image, s.nextOffset, s.epoch);
  const responses = request.topics.map((t) => {
    const topic =
      t.name !== null
        ? findTopic(writer.image, t.name)
        : t.topicId !== null
          ? findTopicById(writer.image, t.topicId)
          : undefined;
    if (topic === undefined) {
      const byName = t.name !== null;
      return {
        name: t.name,
        topicId: t.topicId,
        errorCode: (byName ? "UNKNOWN_TOPIC_OR_PARTITION" : "UNKNOWN_TOPIC_ID") as MetadataErrorCode,
        errorMessage: byName ? `topic ${t.name} does not exist` : `no topic with id ${t.topicId}`,
      };
    }
    writer.add({ _tag: "RemoveTopicRecord", topicId: topic.topicId });
    return {
      name: topic.name,
      topicId: topic.topicId,
      errorCode: "NONE" as MetadataErrorCode,
      errorMessage: null,
    };
  });
  for (const r of responses)
    mark(out, r.errorCode === "NONE" ? "R111:topic-deleted" : "R111:delete-unknown-topic");
  const response: DeleteTopicsResponse = { _tag: "DeleteTopicsResponse", responses };
  return write(s, out, writer, from, correlationId, response);
};

const createPartitions = (
  s: ControllerState,
  out: Out,
  from: number,
  correlationId: number,
  request: CreatePartitionsRequest,
): ControllerState => {
  // R109: as many new partitions in one request as CreateTopics may make (R121), or none.
  const asked = request.topics.reduce(
    (sum, t) => sum + Math.max(0, t.count - (findTopic(s.image, t.name)?.partitions.size ?? t.count)),
    0,
  );
  if (asked > MAX_PARTITIONS_PER_REQUEST) {
    mark(out, "R121:too-many-new-partitions");
    out.effects.push({
      _tag: "Respond",
      to: from,
      correlationId,
      response: {
        _tag: "CreatePartitionsResponse",
        results: request.topics.map((t) => ({
          name: t.name,
          errorCode: "POLICY_VIOLATION",
          errorMessage: `Excessively large number of partitions per request: ${asked} new ones asked for, at most ${MAX_PARTITIONS_PER_REQUEST}.`,
        })),
      },
    });
    return s;
  }
  const writer = new Writer(s.image, s.nextOffset, s.epoch);
  const results = request.topics.map((t) => {
    const fail = (errorCode: MetadataErrorCode, errorMessage: string) => ({
      name: t.name,
      errorCode,
      errorMessage,
    });
    const topic = findTopic(writer.image, t.name);
    if (topic === undefined) return fail("UNKNOWN_TOPIC_OR_PARTITION", `topic ${t.name} does not exist`);
    const current = topic.partitions.size;
    if (t.count <= current)
      return fail(
        "INVALID_PARTITIONS",
        `Topic currently has ${current} partitions, which is higher than or equal to the requested ${t.count}.`,
      );
    const replicationFactor = topic.partitions.chunks[0]?.[0]?.replicas.length ?? 1;
    const extra = t.count - current;
    if (t.assignments !== null && t.assignments.length !== extra) {
      return fail(
        "INVALID_REPLICA_ASSIGNMENT",
        `${t.assignments.length} assignments given for ${extra} new partitions`,
      );
    }
    const usable = usableBrokers(writer.image);
    if (t.assignments === null && replicationFactor > usable.length) {
      return fail(
        "INVALID_REPLICATION_FACTOR",
        `only ${usable.length} usable brokers for replication factor ${replicationFactor}`,
      );
    }
    const placements: number[][] = [];
    for (let i = 0; i < extra; i++) {
      const given = t.assignments?.[i]?.brokerIds;
      if (given !== undefined) {
        const problem = assignmentProblem(writer.image, given, replicationFactor);
        if (problem !== null) return fail("INVALID_REPLICA_ASSIGNMENT", problem);
        const leaderless = leaderlessProblem(writer.image, given, current + i);
        if (leaderless !== null) return fail("INVALID_REPLICA_ASSIGNMENT", leaderless);
        placements.push([...given]);
      } else {
        placements.push(place(usable, t.name, current + i, replicationFactor));
      }
    }
    if (!request.validateOnly) {
      placements.forEach((replicas, i) => {
        writer.add(partitionRecord(topic.topicId, current + i, replicas, writer.image));
      });
    }
    return { name: t.name, errorCode: "NONE" as MetadataErrorCode, errorMessage: null };
  });
  for (const r of results)
    mark(out, r.errorCode === "NONE" ? "R109:partitions-added" : "R109:create-partitions-refused");
  const response: CreatePartitionsResponse = { _tag: "CreatePartitionsResponse", results };
  return write(s, out, writer, from, correlationId, response);
};

// ---- AlterPartition (R126) ----------------------------------------------------------------------

const partitionResult = (p: PartitionState, errorCode: MetadataErrorCode): AlterPartitionResult => ({
  partitionIndex: p.partitionId,
  errorCode,
  leaderId: p.leader,
  leaderEpoch: p.leaderEpoch,
  isr: p.isr,
  leaderRecoveryState: p.leaderRecoveryState,
  partitionEpoch: p.partitionEpoch,
});

const alterPartition = (
  s: ControllerState,
  out: Out,
  from: number,
  correlationId: number,
  request: AlterPartitionRequest,
): ControllerState => {
  const requester = findBroker(s.image, request.brokerId);
  if (requester === undefined || requester.epoch !== request.brokerEpoch) {
    const response: AlterPartitionResponse = {
      _tag: "AlterPartitionResponse",
      errorCode: "STALE_BROKER_EPOCH",
      topics: [],
    };
    mark(out, "R126:stale-broker-epoch");
    out.effects.push({ _tag: "Respond", to: from, correlationId, response });
    return s;
  }
  const writer = new Writer(s.image, s.nextOffset, s.epoch);
  const topics = request.topics.map((t) => {
    const topic = findTopicById(writer.image, t.topicId);
    const partitions = t.partitions.map((req): AlterPartitionResult => {
      const missing = (errorCode: MetadataErrorCode): AlterPartitionResult => ({
        partitionIndex: req.partitionIndex,
        errorCode,
        leaderId: NO_LEADER,
        leaderEpoch: -1,
        isr: [],
        leaderRecoveryState: -1,
        partitionEpoch: -1,
      });
      if (topic === undefined) return missing("UNKNOWN_TOPIC_ID");
      const p = findPartition(topic, req.partitionIndex);
      if (p === undefined) return missing("UNKNOWN_TOPIC_OR_PARTITION");
      // The checks, in Kafka's order.
      if (req.leaderEpoch > p.leaderEpoch || req.partitionEpoch > p.partitionEpoch)
        return partitionResult(p, "NOT_CONTROLLER");
      if (req.leaderEpoch < p.leaderEpoch) return partitionResult(p, "FENCED_LEADER_EPOCH");
      if (request.brokerId !== p.leader) return partitionResult(p, "INVALID_REQUEST");
      if (req.partitionEpoch < p.partitionEpoch) return partitionResult(p, "INVALID_UPDATE_VERSION");
      const newIsr = req.newIsrWithEpochs.map((m) => m.brokerId);
      const recovering = req.leaderRecoveryState === LEADER_RECOVERING;
      if (
        newIsr.some((id) => !p.replicas.includes(id)) ||
        !newIsr.includes(p.leader) ||
        new Set(newIsr).size !== newIsr.length ||
        (req.leaderRecoveryState !== LEADER_RECOVERED && !recovering) ||
        (recovering && newIsr.length !== 1) ||
        (recovering && p.leaderRecoveryState === LEADER_RECOVERED)
      ) {
        return partitionResult(p, "INVALID_REQUEST");
      }
      // KIP-903: every member must be registered, usable, and of the epoch the leader saw it fetch with.
      for (const m of req.newIsrWithEpochs) {
        const b = findBroker(writer.image, m.brokerId);
        const epochMatches = m.brokerEpoch === -1 || b?.epoch === m.brokerEpoch;
        if (b === undefined || !isUsable(writer.image, m.brokerId) || !epochMatches)
          return partitionResult(p, "INELIGIBLE_REPLICA");
      }
      const change = buildPartitionChange(topic.topicId, p, {
        targetIsr: newIsr,
        election: "online",
        uncleanAllowed: false,
        acceptable: (id) => isUsable(writer.image, id),
        leaderRecoveryState: req.leaderRecoveryState,
      });
      if (change !== null) writer.add(change);
      const after = findPartitionById(writer.image, topic.topicId, p.partitionId)!;
      return partitionResult(after, after.leader !== request.brokerId ? "NEW_LEADER_ELECTED" : "NONE");
    });
    return { topicId: t.topicId, partitions };
  });
  for (const t of topics) for (const p of t.partitions) markOutcome(out, ALTER_PARTITION_MARKS, p.errorCode);
  const response: AlterPartitionResponse = { _tag: "AlterPartitionResponse", errorCode: "NONE", topics };
  return write(s, out, writer, from, correlationId, response);
};

// ---- ElectLeaders (R123) ------------------------------------------------------------------------

const electLeaders = (
  s: ControllerState,
  out: Out,
  from: number,
  correlationId: number,
  request: ElectLeadersRequest,
): ControllerState => {
  if (request.electionType !== ELECTION_PREFERRED && request.electionType !== ELECTION_UNCLEAN) {
    const response: ElectLeadersResponse = {
      _tag: "ElectLeadersResponse",
      errorCode: "INVALID_REQUEST",
      replicaElectionResults: [],
    };
    mark(out, "R123:unknown-election-type");
    out.effects.push({ _tag: "Respond", to: from, correlationId, response });
    return s;
  }
  const writer = new Writer(s.image, s.nextOffset, s.epoch);
  const wanted =
    request.topicPartitions ??
    topicsOf(s.image).map((t) => ({ topic: t.name, partitions: partitionsOf(t).map((p) => p.partitionId) }));
  const replicaElectionResults = wanted.map(({ topic: name, partitions }) => {
    const partitionResult = partitions.map((partitionId) => {
      const result = (errorCode: MetadataErrorCode, errorMessage: string | null = null) => ({
        partitionId,
        errorCode,
        errorMessage,
      });
      const topic: TopicImage | undefined = findTopic(writer.image, name);
      const p = topic === undefined ? undefined : findPartition(topic, partitionId);
      if (topic === undefined || p === undefined)
        return result("UNKNOWN_TOPIC_OR_PARTITION", `${name}-${partitionId} does not exist`);
      const acceptable = (id: number) => isUsable(writer.image, id);
      if (request.electionType === ELECTION_PREFERRED) {
        const preferred = p.replicas[0];
        if (p.leader === preferred) return result("ELECTION_NOT_NEEDED");
        const choice = chooseLeader(p, p.isr, { election: "preferred", uncleanAllowed: false, acceptable });
        if (choice.leader !== preferred)
          return result(
            "PREFERRED_LEADER_NOT_AVAILABLE",
            `replica ${preferred} is not in the ISR or not usable`,
          );
        const change = buildPartitionChange(topic.topicId, p, {
          election: "preferred",
          uncleanAllowed: false,
          acceptable,
        });
        if (change !== null) writer.add(change);
        return result("NONE");
      }
      if (p.leader !== NO_LEADER && acceptable(p.leader) && p.isr.includes(p.leader))
        return result("ELECTION_NOT_NEEDED");
      const change = buildPartitionChange(topic.topicId, p, {
        election: "online",
        uncleanAllowed: true,
        acceptable,
      });
      if (change === null || change.leader === NO_LEADER)
        return result("ELIGIBLE_LEADERS_NOT_AVAILABLE", "no usable replica");
      writer.add(change);
      return result("NONE");
    });
    return { topic: name, partitionResult };
  });
  for (const t of replicaElectionResults)
    for (const p of t.partitionResult) markOutcome(out, ELECT_LEADERS_MARKS, p.errorCode);
  const response: ElectLeadersResponse = {
    _tag: "ElectLeadersResponse",
    errorCode: "NONE",
    replicaElectionResults,
  };
  return write(s, out, writer, from, correlationId, response);
};

// ---- configs ------------------------------------------------------------------------------------

const resourceProblem = (
  image: MetadataImage,
  resourceType: number,
  resourceName: string,
): [MetadataErrorCode, string] | null => {
  if (resourceType === RESOURCE_TOPIC) {
    return findTopic(image, resourceName) === undefined
      ? ["UNKNOWN_TOPIC_OR_PARTITION", `topic ${resourceName} does not exist`]
      : null;
  }
  if (resourceType === RESOURCE_BROKER) {
    return resourceName === "" || /^\d+$/.test(resourceName)
      ? null
      : ["INVALID_REQUEST", `"${resourceName}" is not a broker id`];
  }
  return ["INVALID_REQUEST", `resource type ${resourceType} has no configurations here (2 topic, 4 broker)`];
};

/** Whether any value occurs twice (a Set: a request may name many). */
const hasRepeats = (values: readonly string[]): boolean => new Set(values).size !== values.length;

/**
 * `value.split(",")` as Java splits it: trailing empty items dropped, and a value without a comma kept
 * whole (so "" is one empty item).
 */
const javaSplit = (value: string): string[] => {
  if (!value.includes(",")) return [value];
  const parts = value.split(",");
  while (parts.length > 0 && parts[parts.length - 1] === "") parts.pop();
  return parts;
};

/** R111: check and apply one IncrementalAlterConfigs resource's operations; its answer. */
const alterResource = (
  writer: Writer,
  r: IncrementalAlterConfigsRequest["resources"][number],
  validateOnly: boolean,
): IncrementalAlterConfigsResponse["responses"][number] => {
  const result = (errorCode: MetadataErrorCode, errorMessage: string | null = null) => ({
    errorCode,
    errorMessage,
    resourceType: r.resourceType,
    resourceName: r.resourceName,
  });
  // R111: what a broker refuses before it forwards the request (Kafka's ConfigAdminManager.preprocess).
  if (hasRepeats(r.configs.map((c) => c.name)))
    return result("INVALID_REQUEST", "Error due to duplicate config keys");
  const nullValues = r.configs.filter((c) => c.configOperation !== CONFIG_DELETE && c.value === null);
  if (nullValues.length > 0)
    return result(
      "INVALID_REQUEST",
      `Null value not supported for : ${nullValues.map((c) => c.name).join(", ")}`,
    );
  const problem = resourceProblem(writer.image, r.resourceType, r.resourceName);
  if (problem !== null) return result(problem[0], problem[1]);
  const changes: { name: string; value: string | null }[] = [];
  for (const c of r.configs) {
    const def = configDefs(r.resourceType)?.find((d) => d.name === c.name);
    if (def === undefined) return result("INVALID_CONFIG", `unknown configuration ${c.name}`);
    const stored = configValue(writer.image, r.resourceType, r.resourceName, c.name) ?? null;
    const current = stored ?? def.default;
    let value: string | null;
    if (c.configOperation === CONFIG_SET) {
      value = c.value;
    } else if (c.configOperation === CONFIG_DELETE) {
      value = null;
    } else if (c.configOperation === CONFIG_APPEND || c.configOperation === CONFIG_SUBTRACT) {
      if (def.list !== true) return result("INVALID_CONFIG", `${c.name} is not a list`);
      // The value stored is read without its empty items, the value given as Java splits it: an empty
      // item other than a trailing one is appended, and the list check then refuses it.
      const items = current.split(",").filter((x) => x.length > 0);
      if (c.configOperation === CONFIG_APPEND) {
        const held = new Set(items);
        for (const item of javaSplit(c.value ?? ""))
          if (!held.has(item)) {
            held.add(item);
            items.push(item);
          }
      } else {
        for (const item of javaSplit(c.value ?? "")) {
          const at = items.indexOf(item);
          if (at >= 0) items.splice(at, 1);
        }
      }
      value = items.join(",");
    } else {
      return result("INVALID_REQUEST", `unknown config operation ${c.configOperation}`);
    }
    const invalid = configProblem(r.resourceType, c.name, value);
    if (invalid !== null) return result("INVALID_CONFIG", invalid);
    // R111: a value that does not change is not written, but a broker's always is: its record makes
    // the broker reload the configuration (KAFKA-14136).
    if (value !== stored || r.resourceType === RESOURCE_BROKER) changes.push({ name: c.name, value });
  }
  if (!validateOnly) {
    for (const c of changes) {
      writer.add({
        _tag: "ConfigRecord",
        resourceType: r.resourceType,
        resourceName: r.resourceName,
        name: c.name,
        value: c.value,
      });
    }
  }
  return result("NONE");
};

/**
 * R111: each resource's answer, but a resource named more than once is refused each time, as Kafka's
 * brokers refuse it before forwarding (ConfigAdminManager.preprocess).
 */
const eachResourceOnce = <R extends { readonly resourceType: number; readonly resourceName: string }>(
  resources: readonly R[],
  answer: (r: R) => IncrementalAlterConfigsResponse["responses"][number],
): IncrementalAlterConfigsResponse["responses"][number][] => {
  const keys = resources.map((r) => `${r.resourceType}/${r.resourceName}`);
  const times = new Map<string, number>();
  for (const k of keys) times.set(k, (times.get(k) ?? 0) + 1);
  return resources.map((r, i) =>
    times.get(keys[i]!)! > 1
      ? {
          errorCode: "INVALID_REQUEST",
          errorMessage: "Each resource must appear at most once.",
          resourceType: r.resourceType,
          resourceName: r.resourceName,
        }
      : answer(r),
  );
};

const alterConfigs = (
  s: ControllerState,
  out: Out,
  from: number,
  correlationId: number,
  request: IncrementalAlterConfigsRequest,
): ControllerState => {
  const writer = new Writer(s.image, s.nextOffset, s.epoch);
  const responses = eachResourceOnce(request.resources, (r) =>
    alterResource(writer, r, request.validateOnly),
  );
  for (const r of responses)
    mark(out, r.errorCode === "NONE" ? "R111:configs-altered" : "R111:alter-configs-refused");
  const response: IncrementalAlterConfigsResponse = { _tag: "IncrementalAlterConfigsResponse", responses };
  return write(s, out, writer, from, correlationId, response);
};

/**
 * R111: the legacy AlterConfigs as the operations it stands for against the controller's latest image:
 * SET each key given, DELETE each explicit value not given. A resource named twice, a key given twice
 * and a key without a value are refused, as Kafka's brokers refuse them.
 */
const legacyAlterConfigs = (
  s: ControllerState,
  out: Out,
  from: number,
  correlationId: number,
  request: AlterConfigsRequest,
): ControllerState => {
  const writer = new Writer(s.image, s.nextOffset, s.epoch);
  const responses = eachResourceOnce(request.resources, (r) => {
    const names = r.configs.map((c) => c.name);
    const removed = resourceConfigs(writer.image, r.resourceType, r.resourceName)
      .filter((c) => !names.includes(c.name))
      .map((c) => ({ name: c.name, configOperation: CONFIG_DELETE, value: null }));
    // A key given twice, or without a value, is refused by alterResource as a broker refuses it.
    const given = r.configs.map((c) => ({ name: c.name, configOperation: CONFIG_SET, value: c.value }));
    return alterResource(
      writer,
      { resourceType: r.resourceType, resourceName: r.resourceName, configs: [...given, ...removed] },
      request.validateOnly,
    );
  });
  for (const r of responses)
    mark(out, r.errorCode === "NONE" ? "R111:configs-altered" : "R111:alter-configs-refused");
  const response: AlterConfigsResponse = { _tag: "AlterConfigsResponse", responses };
  return write(s, out, writer, from, correlationId, response);
};

/** Configurations as committed: explicit values first, defaults filled in. */
export const describeConfigs = (
  image: MetadataImage,
  request: DescribeConfigsRequest,
): DescribeConfigsResponse => ({
  _tag: "DescribeConfigsResponse",
  results: request.resources.map((r) => {
    const problem = resourceProblem(image, r.resourceType, r.resourceName);
    const base = { resourceType: r.resourceType, resourceName: r.resourceName };
    if (problem !== null) return { ...base, errorCode: problem[0], errorMessage: problem[1], configs: [] };
    const defs = configDefs(r.resourceType) ?? TOPIC_CONFIGS;
    const keys = r.configurationKeys;
    const configs = defs
      .filter((d) => keys === null || keys.includes(d.name))
      .map((d) => {
        const explicit = configValue(image, r.resourceType, r.resourceName, d.name);
        return {
          name: d.name,
          value: explicit ?? d.default,
          readOnly: false,
          isDefault: explicit === undefined,
          configSource: explicit === undefined ? 5 : r.resourceType === RESOURCE_TOPIC ? 1 : 2,
          isSensitive: false,
        };
      });
    return { ...base, errorCode: "NONE" as MetadataErrorCode, errorMessage: null, configs };
  }),
});

// ---- answers nobody can give while standby --------------------------------------------------------

const notController = (request: ControllerRequest): ControllerResponse => {
  switch (request._tag) {
    case "BrokerRegistrationRequest":
      return { _tag: "BrokerRegistrationResponse", errorCode: "NOT_CONTROLLER", brokerEpoch: -1 };
    case "BrokerHeartbeatRequest":
      return {
        _tag: "BrokerHeartbeatResponse",
        errorCode: "NOT_CONTROLLER",
        isCaughtUp: false,
        isFenced: true,
        shouldShutDown: false,
      };
    case "CreateTopicsRequest":
      return {
        _tag: "CreateTopicsResponse",
        topics: request.topics.map((t) => ({
          name: t.name,
          topicId: null,
          errorCode: "NOT_CONTROLLER",
          errorMessage: null,
          numPartitions: -1,
          replicationFactor: -1,
        })),
      };
    case "DeleteTopicsRequest":
      return {
        _tag: "DeleteTopicsResponse",
        responses: request.topics.map((t) => ({
          name: t.name,
          topicId: t.topicId,
          errorCode: "NOT_CONTROLLER",
          errorMessage: null,
        })),
      };
    case "CreatePartitionsRequest":
      return {
        _tag: "CreatePartitionsResponse",
        results: request.topics.map((t) => ({
          name: t.name,
          errorCode: "NOT_CONTROLLER",
          errorMessage: null,
        })),
      };
    case "AlterPartitionRequest":
      return { _tag: "AlterPartitionResponse", errorCode: "NOT_CONTROLLER", topics: [] };
    case "ElectLeadersRequest":
      return { _tag: "ElectLeadersResponse", errorCode: "NOT_CONTROLLER", replicaElectionResults: [] };
    case "IncrementalAlterConfigsRequest":
    case "AlterConfigsRequest":
      return {
        _tag:
          request._tag === "AlterConfigsRequest" ? "AlterConfigsResponse" : "IncrementalAlterConfigsResponse",
        responses: request.resources.map((r) => ({
          errorCode: "NOT_CONTROLLER",
          errorMessage: null,
          resourceType: r.resourceType,
          resourceName: r.resourceName,
        })),
      };
    case "DescribeConfigsRequest":
      return {
        _tag: "DescribeConfigsResponse",
        results: request.resources.map((r) => ({
          errorCode: "NOT_CONTROLLER",
          errorMessage: null,
          resourceType: r.resourceType,
          resourceName: r.resourceName,
          configs: [],
        })),
      };
  }
};

/** The response a pending write gets when its leadership is lost (R104). */
export const failedWith = (
  response: ControllerResponse,
  errorCode: MetadataErrorCode,
): ControllerResponse => {
  switch (response._tag) {
    case "BrokerRegistrationResponse":
      return { ...response, errorCode, brokerEpoch: -1 };
    case "BrokerHeartbeatResponse":
      return { ...response, errorCode };
    case "CreateTopicsResponse":
      return {
        ...response,
        topics: response.topics.map((t) => (t.errorCode === "NONE" ? { ...t, errorCode, topicId: null } : t)),
      };
    case "DeleteTopicsResponse":
      return {
        ...response,
        responses: response.responses.map((t) => (t.errorCode === "NONE" ? { ...t, errorCode } : t)),
      };
    case "CreatePartitionsResponse":
      return {
        ...response,
        results: response.results.map((t) => (t.errorCode === "NONE" ? { ...t, errorCode } : t)),
      };
    case "AlterPartitionResponse":
      return { ...response, errorCode, topics: [] };
    case "ElectLeadersResponse":
      return { ...response, errorCode };
    case "IncrementalAlterConfigsResponse":
    case "AlterConfigsResponse":
      return {
        ...response,
        responses: response.responses.map((r) => (r.errorCode === "NONE" ? { ...r, errorCode } : r)),
      };
    case "DescribeConfigsResponse":
      return response;
  }
};

// ---- leadership (R58, R104, R105) ----------------------------------------------------------------

/** R104: stop being active: back to the committed image, every pending write failed. */
const deactivate = (s: ControllerState, out: Out): ControllerState => {
  if (s.pending.length > 0) mark(out, "R104:lost-leadership-fails-pending-writes");
  for (const p of s.pending)
    out.effects.push({
      _tag: "Respond",
      to: p.to,
      correlationId: p.correlationId,
      response: failedWith(p.response, "NOT_CONTROLLER"),
    });
  for (const x of s.sessions) out.effects.push({ _tag: "CancelSessionTimer", brokerId: x.brokerId });
  return { ...s, active: false, image: s.committed, proposals: [], pending: [], sessions: [] };
};

/**
 * R58, R105: become active on the committed image. A new cluster gets its metadata.version written;
 * every registered broker gets a fresh session (it will heartbeat to the new controller).
 */
const activate = (
  s: ControllerState,
  config: ControllerConfig,
  out: Out,
  epoch: number,
  logEndOffset: number,
): ControllerState => {
  let next: ControllerState = {
    ...s,
    active: true,
    epoch,
    image: s.committed,
    nextOffset: logEndOffset,
    proposals: [],
    pending: [],
    sessions: [],
  };
  for (const b of next.image.brokers) {
    if (!b.fenced)
      next = withSession(next, out, config, {
        brokerId: b.id,
        metadataOffset: -1,
        controlledShutdownOffset: -1,
      });
  }
  mark(out, "R105:activates-on-committed-image");
  if (featureLevel(next.image, METADATA_VERSION) === 0) {
    mark(out, "R105:bootstraps-metadata-version");
    const writer = new Writer(next.image, next.nextOffset, epoch);
    writer.add({
      _tag: "FeatureLevelRecord",
      name: METADATA_VERSION,
      featureLevel: config.bootstrapMetadataVersion,
    });
    out.effects.push({ _tag: "Propose", epoch, baseOffset: next.nextOffset, records: writer.records });
    next = { ...next, image: writer.image, nextOffset: writer.nextOffset, proposals: [next.nextOffset] };
  }
  if (config.noOpIntervalMs > 0) out.effects.push({ _tag: "ArmIdleTimer", delayMs: config.noOpIntervalMs });
  return next;
};

/** Committed records: replay them onto the committed image; answer the writes they complete. */
const committed = (s: ControllerState, out: Out, records: readonly OffsetRecord[]): ControllerState => {
  const fresh = records.filter((r) => r.offset > s.committed.offset);
  if (fresh.length === 0) return s;
  const replayed = replay(s.committed, fresh);
  if (replayed.problems.length > 0) mark(out, "R128:replay-problem-reported");
  replayed.problems.forEach((problem, i) => {
    out.effects.push({ _tag: "ReplayProblem", offset: fresh[i]?.offset ?? -1, problem });
  });
  const last = replayed.image.offset;
  if (!s.active) return { ...s, committed: replayed.image, image: replayed.image };
  const done = s.pending.filter((p) => p.lastOffset <= last);
  if (done.length > 0) mark(out, "R104:write-answered-once-committed");
  for (const p of done)
    out.effects.push({ _tag: "Respond", to: p.to, correlationId: p.correlationId, response: p.response });
  // Once all it wrote is committed, the active controller's own image holds the same content as the
  // replay: it keeps that one image, not two copies that would never share their parts again.
  const image = s.image.offset === last && sameContent(s.image, replayed.image) ? s.image : replayed.image;
  return { ...s, committed: image, pending: s.pending.filter((p) => p.lastOffset > last) };
};

/**
 * R84, R131: a standby rebuilds its committed image from a snapshot, which replaces whatever it had.
 * The active controller is the Raft leader, which never loads one (LeaderNeverLoadSnapshot): if
 * asked, it keeps its image and reports the problem.
 */
const loadSnapshot = (
  s: ControllerState,
  out: Out,
  records: readonly MetadataRecord[],
  endOffset: number,
  epoch: number,
): ControllerState => {
  if (s.active) {
    // Defensive: Raft never asks its leader (R84), so no transcript reaches this branch.
    out.effects.push({
      _tag: "ReplayProblem",
      offset: endOffset - 1,
      problem: `the active controller was asked to load snapshot ${endOffset}-${epoch}`,
    });
    return s;
  }
  const loaded = loadSnapshotImage(records, endOffset, epoch);
  mark(out, "R84:controller-loads-snapshot");
  for (const problem of loaded.problems)
    out.effects.push({
      _tag: "ReplayProblem",
      offset: endOffset - 1,
      problem: `snapshot ${endOffset}-${epoch}: ${problem}`,
    });
  return { ...s, committed: loaded.image, image: loaded.image };
};

const request = (
  s: ControllerState,
  config: ControllerConfig,
  out: Out,
  from: number,
  correlationId: number,
  req: ControllerRequest,
): ControllerState => {
  if (!s.active) {
    mark(out, "R104:standby-answers-not-controller");
    out.effects.push({ _tag: "Respond", to: from, correlationId, response: notController(req) });
    return s;
  }
  switch (req._tag) {
    case "BrokerRegistrationRequest":
      return registration(s, config, out, from, correlationId, req);
    case "BrokerHeartbeatRequest":
      return heartbeat(s, config, out, from, correlationId, req);
    case "CreateTopicsRequest":
      return createTopics(s, config, out, from, correlationId, req);
    case "DeleteTopicsRequest":
      return deleteTopics(s, out, from, correlationId, req);
    case "CreatePartitionsRequest":
      return createPartitions(s, out, from, correlationId, req);
    case "AlterPartitionRequest":
      return alterPartition(s, out, from, correlationId, req);
    case "ElectLeadersRequest":
      return electLeaders(s, out, from, correlationId, req);
    case "IncrementalAlterConfigsRequest":
      return alterConfigs(s, out, from, correlationId, req);
    case "AlterConfigsRequest":
      return legacyAlterConfigs(s, out, from, correlationId, req);
    case "DescribeConfigsRequest":
      out.effects.push({
        _tag: "Respond",
        to: from,
        correlationId,
        response: describeConfigs(s.committed, req),
      });
      return s;
  }
};

export interface ControllerStep {
  readonly state: ControllerState;
  readonly effects: readonly ControllerEffect[];
  /** The rule branches this step took (spec/marks.ts). */
  readonly marks: readonly Mark[];
}

/** Apply one input to a controller. Pure, and never throws on well-typed input. */
export const controllerStep = (
  s: ControllerState,
  input: ControllerInput,
  config: ControllerConfig,
): ControllerStep => {
  const out: Out = newCollector();
  let next = s;
  switch (input._tag) {
    case "Request":
      next = request(s, config, out, input.from, input.correlationId, input.request);
      break;
    case "Committed":
      next = committed(s, out, input.records);
      break;
    case "LoadSnapshot":
      next = loadSnapshot(s, out, input.records, input.endOffset, input.epoch);
      break;
    case "LeaderChange":
      if (input.epoch < s.epoch) break;
      if (input.leaderId === s.nodeId && !(s.active && s.epoch === input.epoch)) {
        next = activate(s.active ? deactivate(s, out) : s, config, out, input.epoch, input.logEndOffset);
      } else if (input.leaderId !== s.nodeId && s.active) {
        mark(out, "R104:active-controller-steps-down");
        next = { ...deactivate(s, out), epoch: input.epoch };
      } else {
        next = { ...s, epoch: input.epoch };
      }
      break;
    case "AppendAccepted": {
      const expected = s.proposals[0];
      if (!s.active || expected === undefined) break;
      if (input.baseOffset !== expected) {
        // R106: the records landed elsewhere than their epochs and offsets assumed: fail over.
        mark(out, "R106:misplaced-records-resign");
        out.effects.push({
          _tag: "ResignLeadership",
          epoch: s.epoch,
          reason: `records expected at ${expected} were placed at ${input.baseOffset}`,
        });
        next = deactivate(s, out);
      } else {
        next = { ...s, proposals: s.proposals.slice(1) };
      }
      break;
    }
    case "ControlRecordsAppended":
      // Raft appends its own records only between the controller's proposals, each placed in the
      // step that made it; were one still unplaced, R106 would find it misplaced and resign.
      if (s.active && s.proposals.length === 0 && input.endOffset > s.nextOffset) {
        mark(out, "R106:next-records-after-control-records");
        next = { ...s, nextOffset: input.endOffset };
      }
      break;
    case "AppendRejected":
      if (s.active) {
        mark(out, "R104:refused-proposal-resigns");
        out.effects.push({
          _tag: "ResignLeadership",
          epoch: s.epoch,
          reason: "the Raft layer refused a proposal",
        });
        next = deactivate(s, out);
      }
      break;
    case "SessionExpired":
      if (s.active) next = sessionExpired(s, out, input.brokerId);
      break;
    case "IdleTimeout":
      // R105: keep the committed offset moving so brokers can tell they are caught up.
      if (s.active) {
        mark(out, "R105:idle-no-op-record");
        const writer = new Writer(s.image, s.nextOffset, s.epoch);
        writer.add({ _tag: "NoOpRecord" });
        out.effects.push({
          _tag: "Propose",
          epoch: s.epoch,
          baseOffset: s.nextOffset,
          records: writer.records,
        });
        next = {
          ...s,
          image: writer.image,
          nextOffset: writer.nextOffset,
          proposals: [...s.proposals, s.nextOffset],
        };
        if (config.noOpIntervalMs > 0)
          out.effects.push({ _tag: "ArmIdleTimer", delayMs: config.noOpIntervalMs });
      }
      break;
  }
  return { state: next, effects: out.effects, marks: out.marks };
};
