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

/** Where `name` is, or would be inserted, in topics sorted by name (binary search). */
const topicPosition = (topics: readonly TopicImage[], name: string): number => {
  let low = 0;
  let high = topics.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (topics[middle]!.name < name) low = middle + 1;
    else high = middle;
  }
  return low;
};

export const findTopic = (image: MetadataImage, name: string): TopicImage | undefined => {
  const topic = image.topics[topicPosition(image.topics, name)];
  return topic?.name === name ? topic : undefined;
};

// A memo of where a topic id was last found or placed in a topics array. It never changes a result:
// it only saves the scan when consecutive records touch the same topic (a topic and its partitions
// are written together), which keeps replay linear in the records instead of topics x records.
const lastTopicIndex = new WeakMap<
  readonly TopicImage[],
  { readonly topicId: string; readonly index: number }
>();

const topicIndexById = (topics: readonly TopicImage[], topicId: string): number => {
  const memo = lastTopicIndex.get(topics);
  if (memo !== undefined && memo.topicId === topicId) return memo.index;
  // Walking the topics in order (as R117's sweeps do), the next one is usually the one asked for.
  const next = memo === undefined ? -1 : memo.index + 1;
  const index = topics[next]?.topicId === topicId ? next : topics.findIndex((t) => t.topicId === topicId);
  if (index >= 0) lastTopicIndex.set(topics, { topicId, index });
  return index;
};

export const findTopicById = (image: MetadataImage, topicId: string): TopicImage | undefined =>
  image.topics[topicIndexById(image.topics, topicId)];

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
 * Inside one `replay`, the topics array made by the previous record's replaceTopic is seen by
 * nobody else, so the next record may change it in place instead of copying it again. Every array
 * it holds is a fresh copy made within that replay, so the caller's image is never touched.
 */
interface ReplayScratch {
  owned: TopicImage[] | null;
}

const replaceTopic = (
  image: MetadataImage,
  topic: TopicImage,
  scratch: ReplayScratch | null,
): MetadataImage => {
  const current = topicIndexById(image.topics, topic.topicId);
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
  if (scratch !== null) scratch.owned = topics;
  lastTopicIndex.set(topics, { topicId: topic.topicId, index });
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
      if (findTopicById(image, record.topicId) !== undefined) {
        return { image, problem: `topic id ${record.topicId} is already taken` };
      }
      return {
        image: replaceTopic(image, { name: record.name, topicId: record.topicId, partitions: [] }, scratch),
      };
    case "RemoveTopicRecord": {
      const topic = findTopicById(image, record.topicId);
      if (topic === undefined) return { image, problem: `no topic with id ${record.topicId}` };
      return {
        image: {
          ...image,
          topics: image.topics.filter((t) => t.topicId !== record.topicId),
          configs: image.configs.filter(
            (c) => !(c.resourceType === RESOURCE_TOPIC && c.resourceName === topic.name),
          ),
        },
      };
    }
    case "PartitionRecord": {
      const topic = findTopicById(image, record.topicId);
      if (topic === undefined) return { image, problem: `no topic with id ${record.topicId}` };
      if (topic.partitions.some((p) => p.partitionId === record.partitionId)) {
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
      const partitions = sortedInsert(topic.partitions, partition, (a, b) => a.partitionId - b.partitionId);
      return { image: replaceTopic(image, { ...topic, partitions }, scratch) };
    }
    case "PartitionChangeRecord": {
      const topic = findTopicById(image, record.topicId);
      const partition = topic?.partitions.find((p) => p.partitionId === record.partitionId);
      if (topic === undefined || partition === undefined) {
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
      const partitions = topic.partitions.map((p) => (p.partitionId === record.partitionId ? changed : p));
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
  // A sentinel no image holds: the first replaceTopic copies, later ones reuse that copy.
  const scratch: ReplayScratch = { owned: [] };
  for (const r of records) {
    const applied = apply(current, r.record, r.offset, r.epoch, scratch);
    current = applied.image;
    if (applied.problem !== undefined) problems.push(`offset ${r.offset}: ${applied.problem}`);
  }
  return { image: current, problems };
};
