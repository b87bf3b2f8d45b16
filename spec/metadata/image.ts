// The metadata image: what every node knows of the cluster after replaying the metadata log
// (R128), and the pure replay function (R122). Brokers and standby controllers build it from
// committed records only; the active controller also keeps one that includes its own records not
// yet committed (R104).
import * as Schema from "effect/Schema";
import { Int32, Int64, Uuid } from "../raft/primitives.ts";
import {
  BrokerEndpoint,
  BrokerFeature,
  METADATA_VERSION,
  type MetadataRecord,
  NO_LEADER_CHANGE,
  RESOURCE_TOPIC,
} from "./records.ts";

export const BrokerRegistration = Schema.Struct({
  id: Int32,
  incarnationId: Uuid,
  /** R114: the offset of the RegisterBrokerRecord that created this registration. */
  epoch: Int64,
  endPoints: Schema.Array(BrokerEndpoint),
  features: Schema.Array(BrokerFeature),
  rack: Schema.NullOr(Schema.String),
  fenced: Schema.Boolean,
  inControlledShutdown: Schema.Boolean,
});
export type BrokerRegistration = typeof BrokerRegistration.Type;

export const PartitionState = Schema.Struct({
  partitionId: Int32,
  replicas: Schema.Array(Int32),
  isr: Schema.Array(Int32),
  removingReplicas: Schema.Array(Int32),
  addingReplicas: Schema.Array(Int32),
  leader: Int32,
  leaderRecoveryState: Schema.Int,
  leaderEpoch: Int32,
  partitionEpoch: Int32,
});
export type PartitionState = typeof PartitionState.Type;

export const TopicImage = Schema.Struct({
  name: Schema.String,
  topicId: Uuid,
  /** In partition id order. */
  partitions: Schema.Array(PartitionState),
});
export type TopicImage = typeof TopicImage.Type;

export const ConfigEntry = Schema.Struct({
  resourceType: Schema.Int,
  resourceName: Schema.String,
  name: Schema.String,
  value: Schema.String,
});
export type ConfigEntry = typeof ConfigEntry.Type;

export const FeatureLevel = Schema.Struct({ name: Schema.String, level: Schema.Int });
export type FeatureLevel = typeof FeatureLevel.Type;

export const MetadataImage = Schema.Struct({
  /** Provenance: the offset and epoch of the last record applied (-1 before any). */
  offset: Int64,
  epoch: Int32,
  features: Schema.Array(FeatureLevel),
  /** In broker id order. */
  brokers: Schema.Array(BrokerRegistration),
  /** In topic name order. */
  topics: Schema.Array(TopicImage),
  /** In (resource type, resource name, name) order. */
  configs: Schema.Array(ConfigEntry),
  /** The first producer id not yet handed out. */
  nextProducerId: Int64,
});
export type MetadataImage = typeof MetadataImage.Type;

export const EMPTY_IMAGE: MetadataImage = {
  offset: -1,
  epoch: -1,
  features: [],
  brokers: [],
  topics: [],
  configs: [],
  nextProducerId: 0,
};

// ---- lookups -------------------------------------------------------------------------------------

export const findBroker = (image: MetadataImage, id: number): BrokerRegistration | undefined =>
  image.brokers.find((b) => b.id === id);

/** The first position in sorted `items` whose item is not `before` the one looked for (binary search). */
const lowerBound = <T>(items: readonly T[], before: (item: T) => boolean): number => {
  let low = 0;
  let high = items.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (before(items[middle]!)) low = middle + 1;
    else high = middle;
  }
  return low;
};

/** Where `name` is, or would be inserted, in topics sorted by name. */
const topicPosition = (topics: readonly TopicImage[], name: string): number =>
  lowerBound(topics, (t) => t.name < name);

export const findTopic = (image: MetadataImage, name: string): TopicImage | undefined => {
  const topic = image.topics[topicPosition(image.topics, name)];
  return topic?.name === name ? topic : undefined;
};

/** Linear scans a replay makes before it indexes the topics by id. */
const TOPIC_SCANS_BEFORE_INDEX = 4;

/** Where topic `topicId` is in `topics` (-1 if absent); a replay remembers the last one it touched. */
const topicIndexById = (
  topics: readonly TopicImage[],
  topicId: string,
  scratch: ReplayScratch | null = null,
): number => {
  const memo = scratch?.lastTopic;
  if (memo !== undefined && memo !== null && memo.topics === topics) {
    if (memo.topicId === topicId) return memo.index;
    // Walking the topics in order (as R117's sweeps do), the next one is usually the one asked for.
    if (topics[memo.index + 1]?.topicId === topicId)
      return remember(scratch!, topics, topicId, memo.index + 1);
  }
  let names = scratch?.topicNames ?? null;
  if (names !== null && names.topics !== topics) names = null;
  if (scratch === null || (names === null && scratch.topicScans < TOPIC_SCANS_BEFORE_INDEX)) {
    if (scratch !== null) scratch.topicScans++;
    const index = topics.findIndex((t) => t.topicId === topicId);
    return scratch === null || index < 0 ? index : remember(scratch, topics, topicId, index);
  }
  // A replay that keeps looking topics up finds each by its name's place in the name order: a scan
  // each made a replay of N topics cost N^2 (bench:image -- --per-topic 1: 102 µs a record at
  // 20,000 topics). A write of one topic scans once and builds nothing.
  if (names === null) {
    names = { topics, nameById: new Map(topics.map((t) => [t.topicId, t.name])) };
    scratch.topicNames = names;
  }
  const name = names.nameById.get(topicId);
  if (name === undefined) return -1;
  const index = topicPosition(topics, name);
  if (topics[index]?.topicId === topicId) return remember(scratch, topics, topicId, index);
  // Two topics of one name (a record the image refuses later): the scan is still right.
  const scanned = topics.findIndex((t) => t.topicId === topicId);
  return scanned < 0 ? scanned : remember(scratch, topics, topicId, scanned);
};

const remember = (scratch: ReplayScratch, topics: readonly TopicImage[], topicId: string, index: number) => {
  scratch.lastTopic = { topics, topicId, index };
  return index;
};

/** Where partition `partitionId` is, or would be inserted, in partitions sorted by id. */
const partitionPosition = (partitions: readonly PartitionState[], partitionId: number): number => {
  // Partitions are created in order: the common case is past the end.
  const last = partitions[partitions.length - 1];
  if (last === undefined || last.partitionId < partitionId) return partitions.length;
  return lowerBound(partitions, (p) => p.partitionId < partitionId);
};

export const findTopicById = (
  image: MetadataImage,
  topicId: string,
  scratch: ReplayScratch | null = null,
): TopicImage | undefined => image.topics[topicIndexById(image.topics, topicId, scratch)];

/** A topic's partition by id (binary search: partitions are kept in id order). */
export const findPartition = (topic: TopicImage, partitionId: number): PartitionState | undefined => {
  const partition = topic.partitions[partitionPosition(topic.partitions, partitionId)];
  return partition?.partitionId === partitionId ? partition : undefined;
};

export const featureLevel = (image: MetadataImage, name: string): number =>
  image.features.find((f) => f.name === name)?.level ?? 0;

export const topicConfig = (image: MetadataImage, topic: string, name: string): string | undefined =>
  image.configs.find((c) => c.resourceType === RESOURCE_TOPIC && c.resourceName === topic && c.name === name)
    ?.value;

/** R119: registered, unfenced and not shutting down: may lead, join an ISR or get new replicas. */
export const isUsable = (image: MetadataImage, id: number): boolean => {
  const broker = findBroker(image, id);
  return broker !== undefined && !broker.fenced && !broker.inControlledShutdown;
};

// ---- replay ------------------------------------------------------------------------------------

const sortedInsert = <T>(items: readonly T[], item: T, compare: (a: T, b: T) => number): T[] => {
  const out = items.slice();
  let i = out.length;
  while (i > 0 && compare(out[i - 1]!, item) > 0) i--;
  out.splice(i, 0, item);
  return out;
};

const replaceBroker = (image: MetadataImage, broker: BrokerRegistration): MetadataImage => ({
  ...image,
  brokers: sortedInsert(
    image.brokers.filter((b) => b.id !== broker.id),
    broker,
    (a, b) => a.id - b.id,
  ),
});

/**
 * Inside one `replay` (or one controller write), the arrays made by earlier records are seen by
 * nobody else until it ends, so later records may change them in place instead of copying them again:
 * the cost of a record is then independent of the image's size. Every array it holds is a fresh copy
 * made within that replay, so the caller's image is never touched. It also remembers where the last
 * topic it touched is, since a topic's records come together.
 */
export interface ReplayScratch {
  owned: TopicImage[] | null;
  /** Partition arrays made within this replay. */
  readonly ownedPartitions: Set<readonly PartitionState[]>;
  lastTopic: {
    readonly topics: readonly TopicImage[];
    readonly topicId: string;
    readonly index: number;
  } | null;
  /** Each topic's name by id, for the topics array `topics`: kept up to date as topics change. */
  topicNames: { topics: readonly TopicImage[]; readonly nameById: Map<string, string> } | null;
  /** Topic lookups that scanned the topics. */
  topicScans: number;
}

/** A fresh scratch: the first change copies, later ones reuse that copy. */
export const newReplayScratch = (): ReplayScratch => ({
  // A sentinel no image holds.
  owned: [],
  ownedPartitions: new Set(),
  lastTopic: null,
  topicNames: null,
  topicScans: 0,
});

/** `partitions` as an array this replay may change: itself if made within it, else a copy. */
const writablePartitions = (partitions: readonly PartitionState[], scratch: ReplayScratch | null) => {
  if (scratch?.ownedPartitions.has(partitions) === true) return partitions as PartitionState[];
  const copy = partitions.slice();
  scratch?.ownedPartitions.add(copy);
  return copy;
};

/**
 * The names index follows a change of topic `topicId` (now named `name`, or removed: null) from the
 * array `before` to `after` (a copy, or the same array changed in place).
 */
const followTopics = (
  scratch: ReplayScratch,
  before: readonly TopicImage[],
  after: readonly TopicImage[],
  topicId: string,
  name: string | null,
): void => {
  const names = scratch.topicNames;
  if (names === null || names.topics !== before) return;
  if (name === null) names.nameById.delete(topicId);
  else names.nameById.set(topicId, name);
  names.topics = after;
};

const replaceTopic = (
  image: MetadataImage,
  topic: TopicImage,
  scratch: ReplayScratch | null,
  current: number = topicIndexById(image.topics, topic.topicId, scratch),
): MetadataImage => {
  const replayOwned = scratch?.owned ?? null;
  const owned = replayOwned !== null && image.topics === replayOwned;
  let topics: TopicImage[];
  let index: number;
  if (current >= 0 && image.topics[current]!.name === topic.name) {
    topics = owned ? replayOwned! : image.topics.slice();
    topics[current] = topic;
    index = current;
  } else {
    topics = owned ? replayOwned! : image.topics.slice();
    if (current >= 0) topics.splice(current, 1);
    index = topicPosition(topics, topic.name);
    topics.splice(index, 0, topic);
  }
  if (scratch !== null) {
    followTopics(scratch, image.topics, topics, topic.topicId, topic.name);
    scratch.owned = topics;
    remember(scratch, topics, topic.topicId, index);
  }
  return { ...image, topics };
};

const compareConfig = (a: ConfigEntry, b: ConfigEntry): number =>
  a.resourceType - b.resourceType ||
  (a.resourceName < b.resourceName ? -1 : a.resourceName > b.resourceName ? 1 : 0) ||
  (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

export interface Applied {
  readonly image: MetadataImage;
  /** Why the record does not fit the image, when it does not (the image is then unchanged). */
  readonly problem?: string;
}

const changeBroker = (
  image: MetadataImage,
  id: number,
  epoch: number,
  change: (b: BrokerRegistration) => BrokerRegistration,
): Applied => {
  const broker = findBroker(image, id);
  if (broker === undefined) return { image, problem: `broker ${id} is not registered` };
  if (broker.epoch !== epoch)
    return { image, problem: `broker ${id} has epoch ${broker.epoch}, not ${epoch}` };
  return { image: replaceBroker(image, change(broker)) };
};

const applyRecord = (
  image: MetadataImage,
  record: MetadataRecord,
  scratch: ReplayScratch | null,
): Applied => {
  switch (record._tag) {
    case "RegisterBrokerRecord":
      return {
        image: replaceBroker(image, {
          id: record.brokerId,
          incarnationId: record.incarnationId,
          epoch: record.brokerEpoch,
          endPoints: record.endPoints,
          features: record.features,
          rack: record.rack,
          fenced: record.fenced,
          inControlledShutdown: record.inControlledShutdown,
        }),
      };
    case "UnregisterBrokerRecord": {
      const broker = findBroker(image, record.brokerId);
      if (broker === undefined || broker.epoch !== record.brokerEpoch) {
        return {
          image,
          problem: `no broker ${record.brokerId} with epoch ${record.brokerEpoch} to unregister`,
        };
      }
      return { image: { ...image, brokers: image.brokers.filter((b) => b.id !== record.brokerId) } };
    }
    case "FenceBrokerRecord":
      return changeBroker(image, record.id, record.epoch, (b) => ({ ...b, fenced: true }));
    case "UnfenceBrokerRecord":
      return changeBroker(image, record.id, record.epoch, (b) => ({ ...b, fenced: false }));
    case "BrokerRegistrationChangeRecord":
      return changeBroker(image, record.brokerId, record.brokerEpoch, (b) => ({
        ...b,
        fenced: record.fenced === 1 ? true : record.fenced === -1 ? false : b.fenced,
        inControlledShutdown: record.inControlledShutdown === 1 ? true : b.inControlledShutdown,
      }));
    case "TopicRecord":
      if (findTopic(image, record.name) !== undefined)
        return { image, problem: `topic ${record.name} already exists` };
      if (topicIndexById(image.topics, record.topicId, scratch) >= 0) {
        return { image, problem: `topic id ${record.topicId} is already taken` };
      }
      return {
        // Known to be absent: no second look for its id.
        image: replaceTopic(
          image,
          { name: record.name, topicId: record.topicId, partitions: [] },
          scratch,
          -1,
        ),
      };
    case "RemoveTopicRecord": {
      const topic = findTopicById(image, record.topicId, scratch);
      if (topic === undefined) return { image, problem: `no topic with id ${record.topicId}` };
      const topics = image.topics.filter((t) => t.topicId !== record.topicId);
      if (scratch !== null) followTopics(scratch, image.topics, topics, record.topicId, null);
      return {
        image: {
          ...image,
          topics,
          configs: image.configs.filter(
            (c) => !(c.resourceType === RESOURCE_TOPIC && c.resourceName === topic.name),
          ),
        },
      };
    }
    case "PartitionRecord": {
      const topic = findTopicById(image, record.topicId, scratch);
      if (topic === undefined) return { image, problem: `no topic with id ${record.topicId}` };
      const at = partitionPosition(topic.partitions, record.partitionId);
      if (topic.partitions[at]?.partitionId === record.partitionId) {
        return { image, problem: `partition ${record.partitionId} of ${topic.name} already exists` };
      }
      const partition: PartitionState = {
        partitionId: record.partitionId,
        replicas: record.replicas,
        isr: record.isr,
        removingReplicas: record.removingReplicas,
        addingReplicas: record.addingReplicas,
        leader: record.leader,
        leaderRecoveryState: record.leaderRecoveryState,
        leaderEpoch: record.leaderEpoch,
        partitionEpoch: record.partitionEpoch,
      };
      const partitions = writablePartitions(topic.partitions, scratch);
      partitions.splice(at, 0, partition);
      return { image: replaceTopic(image, { ...topic, partitions }, scratch) };
    }
    case "PartitionChangeRecord": {
      const topic = findTopicById(image, record.topicId, scratch);
      const at = topic === undefined ? -1 : partitionPosition(topic.partitions, record.partitionId);
      const partition = topic?.partitions[at];
      if (topic === undefined || partition?.partitionId !== record.partitionId) {
        return { image, problem: `no partition ${record.partitionId} of topic id ${record.topicId}` };
      }
      // R122: absent fields are unchanged; any leader value other than -2 bumps the leader epoch, and
      // every change bumps the partition epoch.
      const changed: PartitionState = {
        ...partition,
        isr: record.isr ?? partition.isr,
        replicas: record.replicas ?? partition.replicas,
        removingReplicas: record.removingReplicas ?? partition.removingReplicas,
        addingReplicas: record.addingReplicas ?? partition.addingReplicas,
        leader: record.leader === NO_LEADER_CHANGE ? partition.leader : record.leader,
        leaderRecoveryState:
          record.leaderRecoveryState === -1 ? partition.leaderRecoveryState : record.leaderRecoveryState,
        leaderEpoch: record.leader === NO_LEADER_CHANGE ? partition.leaderEpoch : partition.leaderEpoch + 1,
        partitionEpoch: partition.partitionEpoch + 1,
      };
      const partitions = writablePartitions(topic.partitions, scratch);
      partitions[at] = changed;
      return { image: replaceTopic(image, { ...topic, partitions }, scratch) };
    }
    case "ConfigRecord": {
      const key = { resourceType: record.resourceType, resourceName: record.resourceName, name: record.name };
      const others = image.configs.filter((c) => compareConfig(c, { ...key, value: "" }) !== 0);
      return {
        image: {
          ...image,
          configs:
            record.value === null
              ? others
              : sortedInsert(others, { ...key, value: record.value }, compareConfig),
        },
      };
    }
    case "FeatureLevelRecord": {
      const others = image.features.filter((f) => f.name !== record.name);
      const removed = record.featureLevel === 0 && record.name !== METADATA_VERSION;
      return {
        image: {
          ...image,
          features: removed
            ? others
            : sortedInsert(others, { name: record.name, level: record.featureLevel }, (a, b) =>
                a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
              ),
        },
      };
    }
    case "NoOpRecord":
      return { image };
    case "ProducerIdsRecord":
      if (record.nextProducerId < image.nextProducerId) {
        return {
          image,
          problem: `producer ids go back from ${image.nextProducerId} to ${record.nextProducerId}`,
        };
      }
      return { image: { ...image, nextProducerId: record.nextProducerId } };
  }
};

/**
 * R122, R128: replay one record found at `offset` in a batch of `epoch`. A record that does not fit
 * the image (which a correct controller never writes) leaves it unchanged and says why; the
 * provenance always moves.
 */
export const apply = (
  image: MetadataImage,
  record: MetadataRecord,
  offset: number,
  epoch: number,
  scratch: ReplayScratch | null = null,
): Applied => {
  const applied = applyRecord(image, record, scratch);
  const moved = { ...applied.image, offset, epoch };
  return applied.problem === undefined ? { image: moved } : { image: moved, problem: applied.problem };
};

export interface OffsetRecord {
  readonly offset: number;
  readonly epoch: number;
  readonly record: MetadataRecord;
}

/** Replay records in offset order onto an image; the problems found on the way, if any. */
export const replay = (
  image: MetadataImage,
  records: readonly OffsetRecord[],
): { readonly image: MetadataImage; readonly problems: readonly string[] } => {
  let current = image;
  const problems: string[] = [];
  const scratch = newReplayScratch();
  for (const r of records) {
    const applied = apply(current, r.record, r.offset, r.epoch, scratch);
    current = applied.image;
    if (applied.problem !== undefined) problems.push(`offset ${r.offset}: ${applied.problem}`);
  }
  return { image: current, problems };
};

// ---- snapshots (R131) ------------------------------------------------------------------------------

/**
 * R131: the records that rebuild `image` from nothing — what a metadata snapshot holds after its
 * header. Every part of the image is written as the record that creates it in its current state:
 * features (metadata.version first, since every later record is read at that version), brokers with
 * their epochs and fencing, topics each followed by their partitions, configs, and producer ids.
 */
export const snapshotRecords = (image: MetadataImage): MetadataRecord[] => {
  const records: MetadataRecord[] = [];
  const features = [...image.features].sort((a, b) =>
    a.name === METADATA_VERSION ? -1 : b.name === METADATA_VERSION ? 1 : 0,
  );
  for (const f of features) records.push({ _tag: "FeatureLevelRecord", name: f.name, featureLevel: f.level });
  for (const b of image.brokers) {
    records.push({
      _tag: "RegisterBrokerRecord",
      brokerId: b.id,
      incarnationId: b.incarnationId,
      brokerEpoch: b.epoch,
      endPoints: b.endPoints,
      features: b.features,
      rack: b.rack,
      fenced: b.fenced,
      inControlledShutdown: b.inControlledShutdown,
    });
  }
  for (const t of image.topics) {
    records.push({ _tag: "TopicRecord", name: t.name, topicId: t.topicId });
    for (const p of t.partitions) records.push({ _tag: "PartitionRecord", topicId: t.topicId, ...p });
  }
  for (const c of image.configs) records.push({ _tag: "ConfigRecord", ...c });
  // Kafka's ProducerIdsImage writes the next block with no broker behind it (-1, -1).
  if (image.nextProducerId > 0)
    records.push({
      _tag: "ProducerIdsRecord",
      brokerId: -1,
      brokerEpoch: -1,
      nextProducerId: image.nextProducerId,
    });
  return records;
};

/**
 * R84, R131: the image a snapshot rebuilds: its records replayed onto the empty image, with the
 * snapshot's provenance (its last contained offset and that record's epoch). A record that does
 * not fit is reported, as in a log replay.
 */
export const loadSnapshotImage = (
  records: readonly MetadataRecord[],
  endOffset: number,
  epoch: number,
): { readonly image: MetadataImage; readonly problems: readonly string[] } => {
  const offset = endOffset - 1;
  const replayed = replay(
    EMPTY_IMAGE,
    records.map((record) => ({ offset, epoch, record })),
  );
  return { image: { ...replayed.image, offset, epoch }, problems: replayed.problems };
};
