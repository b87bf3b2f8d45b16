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
import {
  EMPTY_CHUNKS,
  findItem,
  itemAt,
  itemsOf,
  locate,
  type OwnedArrays,
  removeItem,
  replaceAt,
  SortedChunks,
  setItem,
} from "./sorted-chunks.ts";

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
  /** By partition id (sorted-chunks.ts: one partition's change copies a chunk, not them all). */
  partitions: SortedChunks(PartitionState),
});
export type TopicImage = typeof TopicImage.Type;

/** A topic as plain data: its partitions a list in id order. */
export const TopicView = Schema.Struct({
  name: Schema.String,
  topicId: Uuid,
  /** In partition id order. */
  partitions: Schema.Array(PartitionState),
});
export type TopicView = typeof TopicView.Type;

/** A topic's name, kept by its id. */
export const TopicName = Schema.Struct({ topicId: Uuid, name: Schema.String });
export type TopicName = typeof TopicName.Type;

/** The ids of one topic's partitions that a broker is a member of (see BrokerPartitions). */
export const TopicPartitionIds = Schema.Struct({ name: Schema.String, partitionIds: SortedChunks(Int32) });
export type TopicPartitionIds = typeof TopicPartitionIds.Type;

/**
 * The partitions a broker is a member of: in the ISR, or the leader (NO_LEADER's entry holds the
 * leaderless partitions), by topic name. Kafka's controller keeps the same index (BrokersToIsrs) so
 * that fencing or unfencing a broker costs its own partitions, not the cluster's.
 */
export const BrokerPartitions = Schema.Struct({ brokerId: Int32, topics: SortedChunks(TopicPartitionIds) });
export type BrokerPartitions = typeof BrokerPartitions.Type;

export const ConfigEntry = Schema.Struct({
  resourceType: Schema.Int,
  resourceName: Schema.String,
  name: Schema.String,
  value: Schema.String,
});
export type ConfigEntry = typeof ConfigEntry.Type;

export const FeatureLevel = Schema.Struct({ name: Schema.String, level: Schema.Int });
export type FeatureLevel = typeof FeatureLevel.Type;

/** The fields an image and its plain view share, before and after the topics. */
const imageHead = {
  /** Provenance: the offset and epoch of the last record applied (-1 before any). */
  offset: Int64,
  epoch: Int32,
  features: Schema.Array(FeatureLevel),
  /** In broker id order. */
  brokers: Schema.Array(BrokerRegistration),
};
const imageTail = {
  /** The first producer id not yet handed out. */
  nextProducerId: Int64,
};

/** One resource's explicit configs (R111). */
export const ResourceConfigs = Schema.Struct({
  resourceType: Schema.Int,
  resourceName: Schema.String,
  /** In name order, never empty. */
  entries: Schema.Array(ConfigEntry),
});
export type ResourceConfigs = typeof ResourceConfigs.Type;

export const MetadataImage = Schema.Struct({
  ...imageHead,
  /** By topic name (sorted-chunks.ts: one topic's change copies a chunk, not all topics). */
  topics: SortedChunks(TopicImage),
  /** Each topic's name by its id: the records name topics by id (R109). */
  topicNamesById: SortedChunks(TopicName),
  /** Each broker's partitions, by broker id (no entry is empty). */
  partitionsByBroker: SortedChunks(BrokerPartitions),
  /** By resource type, then name (one topic's configs change or go without copying the others'). */
  configs: SortedChunks(ResourceConfigs),
  ...imageTail,
});
export type MetadataImage = typeof MetadataImage.Type;

export const EMPTY_IMAGE: MetadataImage = {
  offset: -1,
  epoch: -1,
  features: [],
  brokers: [],
  topics: EMPTY_CHUNKS,
  topicNamesById: EMPTY_CHUNKS,
  partitionsByBroker: EMPTY_CHUNKS,
  configs: EMPTY_CHUNKS,
  nextProducerId: 0,
};

// ---- lookups -------------------------------------------------------------------------------------

/** The image keeps its brokers sorted by id (replaceBroker), so a heartbeat's lookup is a binary search. */
export const findBroker = (image: MetadataImage, id: number): BrokerRegistration | undefined => {
  const brokers = image.brokers;
  let low = 0;
  let high = brokers.length - 1;
  while (low <= high) {
    const middle = (low + high) >>> 1;
    const broker = brokers[middle]!;
    if (broker.id === id) return broker;
    if (broker.id < id) low = middle + 1;
    else high = middle - 1;
  }
  return undefined;
};

const byName = (topic: TopicImage): string => topic.name;
const byId = (entry: TopicName): string => entry.topicId;
const byPartitionId = (partition: PartitionState): number => partition.partitionId;

export const findTopic = (image: MetadataImage, name: string): TopicImage | undefined =>
  findItem(image.topics, name, byName);

export const findTopicById = (image: MetadataImage, topicId: string): TopicImage | undefined => {
  const entry = findItem(image.topicNamesById, topicId, byId);
  return entry === undefined ? undefined : findTopic(image, entry.name);
};

/** Every topic, in name order (a copy: linear in the topics). */
export const topicsOf = (image: MetadataImage): TopicImage[] => itemsOf(image.topics);

/**
 * The image as plain data, for people and other implementations (`kraft metadata dump --json`, the
 * conformance vectors): its topics a list in name order, and no index, which is this implementation's
 * own choice.
 */
export const ImageView = Schema.Struct({
  ...imageHead,
  /** In topic name order. */
  topics: Schema.Array(TopicView),
  /** In (resource type, resource name, name) order. */
  configs: Schema.Array(ConfigEntry),
  ...imageTail,
});
export type ImageView = typeof ImageView.Type;

export const imageView = (image: MetadataImage): ImageView => ({
  offset: image.offset,
  epoch: image.epoch,
  features: image.features,
  brokers: image.brokers,
  topics: topicsOf(image).map(topicView),
  configs: configsOf(image),
  nextProducerId: image.nextProducerId,
});

/** A topic as plain data. */
export const topicView = (topic: TopicImage): TopicView => ({
  name: topic.name,
  topicId: topic.topicId,
  partitions: itemsOf(topic.partitions),
});

/** `image` holding exactly `topics` (any order, names, ids and partition ids distinct), as replay would. */
export const withTopics = (image: MetadataImage, topics: readonly TopicView[]): MetadataImage => {
  let named = EMPTY_CHUNKS as SortedChunks<TopicImage>;
  let ids = EMPTY_CHUNKS as SortedChunks<TopicName>;
  let index = EMPTY_CHUNKS as SortedChunks<BrokerPartitions>;
  for (const view of topics) {
    let partitions = EMPTY_CHUNKS as SortedChunks<PartitionState>;
    for (const p of view.partitions) {
      partitions = setItem(partitions, p, byPartitionId);
      for (const brokerId of membersOf(p))
        index = withMember(index, brokerId, view.name, p.partitionId, null);
    }
    named = setItem(named, { name: view.name, topicId: view.topicId, partitions }, byName);
    ids = setItem(ids, { topicId: view.topicId, name: view.name }, byId);
  }
  return { ...image, topics: named, topicNamesById: ids, partitionsByBroker: index };
};

/** A topic's partition by id. */
export const findPartition = (topic: TopicImage, partitionId: number): PartitionState | undefined =>
  findItem(topic.partitions, partitionId, byPartitionId);

/** Partition `partitionId` of topic `topicId`. */
export const findPartitionById = (
  image: MetadataImage,
  topicId: string,
  partitionId: number,
): PartitionState | undefined => {
  const topic = findTopicById(image, topicId);
  return topic === undefined ? undefined : findPartition(topic, partitionId);
};

/** A topic's partitions in id order (a copy: linear in its partitions). */
export const partitionsOf = (topic: TopicImage): PartitionState[] => itemsOf(topic.partitions);

// ---- partitions by broker ------------------------------------------------------------------------

const byBrokerId = (entry: BrokerPartitions): number => entry.brokerId;
const byTopicName = (entry: TopicPartitionIds): string => entry.name;
const byValue = (id: number): number => id;

/** The brokers a partition is indexed under: its ISR and its leader (NO_LEADER when it has none). */
const membersOf = (p: Pick<PartitionState, "isr" | "leader">): readonly number[] =>
  p.isr.includes(p.leader) ? p.isr : [...p.isr, p.leader];

/**
 * The partitions whose ISR holds `brokerId` or that it leads (with NO_LEADER: the leaderless ones),
 * in topic name and partition id order: work in proportion to the broker's partitions (a copy).
 */
export const partitionsOfBroker = (
  image: MetadataImage,
  brokerId: number,
): { readonly topic: TopicImage; readonly partitions: readonly PartitionState[] }[] => {
  const entry = findItem(image.partitionsByBroker, brokerId, byBrokerId);
  if (entry === undefined) return [];
  return itemsOf(entry.topics).map(({ name, partitionIds }) => {
    const topic = findTopic(image, name)!;
    return { topic, partitions: itemsOf(partitionIds).map((id) => findPartition(topic, id)!) };
  });
};

type PartitionIndex = MetadataImage["partitionsByBroker"];
const NONE: readonly number[] = [];

/**
 * A partition's replica list as the image keeps it: an empty one is the shared NONE, and one equal to
 * `same` (the partition's replicas, say) is that list. Most partitions have an ISR equal to their
 * replicas and no reassignment, so most of them then hold one list rather than four (a large image's
 * memory is mostly these lists). Content is unchanged; only sharing is added.
 */
const sharedList = (list: readonly number[], same: readonly number[]): readonly number[] => {
  if (list.length === 0) return NONE;
  if (list === same || list.length !== same.length) return list;
  for (let i = 0; i < list.length; i++) if (list[i] !== same[i]) return list;
  return same;
};

/** A broker's entry in the index, and the ids it holds of topic `name`. */
const entryOf = (index: PartitionIndex, brokerId: number, name: string) => {
  const broker = findItem(index, brokerId, byBrokerId);
  const ids = broker === undefined ? undefined : findItem(broker.topics, name, byTopicName)?.partitionIds;
  return { broker, ids };
};

/** The index with partition `partitionId` of topic `name` under `brokerId`. */
const withMember = (
  index: PartitionIndex,
  brokerId: number,
  name: string,
  partitionId: number,
  scratch: ReplayScratch | null,
): PartitionIndex => {
  const owned = scratch?.owned ?? null;
  const made = scratch?.index;
  const last = made?.value === index ? made.topics.get(brokerId) : undefined;
  if (last !== undefined && last.name === name) {
    // The index is as this batch left it, and the broker's entry for the topic is the batch's own.
    last.partitionIds = setItem(last.partitionIds, partitionId, byValue, owned);
    return index;
  }
  const { broker, ids } = entryOf(index, brokerId, name);
  const topics = broker?.topics ?? (EMPTY_CHUNKS as SortedChunks<TopicPartitionIds>);
  const topic = { name, partitionIds: setItem(ids ?? EMPTY_CHUNKS, partitionId, byValue, owned) };
  const entry = { brokerId, topics: setItem(topics, topic, byTopicName, owned) };
  const next = setItem(index, entry, byBrokerId, owned);
  if (scratch !== null) {
    // Remembered entries are only good while the index is the one they were made in.
    const kept = made?.value === index ? made.topics : new Map<number, typeof topic>();
    scratch.index = { value: next, topics: kept.set(brokerId, topic) };
  }
  return next;
};

/** The index without partition `partitionId` of topic `name` under `brokerId` (or its whole topic, with null). */
const withoutMember = (
  index: PartitionIndex,
  brokerId: number,
  name: string,
  partitionId: number | null,
  scratch: ReplayScratch | null,
): PartitionIndex => {
  const owned = scratch?.owned ?? null;
  const { broker: entry, ids } = entryOf(index, brokerId, name);
  if (entry === undefined || ids === undefined) return index;
  const partitionIds = partitionId === null ? EMPTY_CHUNKS : removeItem(ids, partitionId, byValue, owned);
  const topics =
    partitionIds.size === 0
      ? removeItem(entry.topics, name, byTopicName, owned)
      : setItem(entry.topics, { name, partitionIds }, byTopicName, owned);
  const next =
    topics.size === 0
      ? removeItem(index, brokerId, byBrokerId, owned)
      : setItem(index, { brokerId, topics }, byBrokerId, owned);
  const made = scratch?.index;
  if (made != null && made.value === index) {
    // The broker's topic entries are no longer (all) the batch's own; the other brokers' still are.
    made.value = next;
    made.topics.delete(brokerId);
  }
  return next;
};

/** The index after a partition of topic `name` went from `before` to `after` (either absent). */
const reindex = (
  index: PartitionIndex,
  name: string,
  partitionId: number,
  before: PartitionState | undefined,
  after: PartitionState | undefined,
  scratch: ReplayScratch | null,
): PartitionIndex => {
  const was = before === undefined ? NONE : membersOf(before);
  const is = after === undefined ? NONE : membersOf(after);
  let next = index;
  for (const id of was) if (!is.includes(id)) next = withoutMember(next, id, name, partitionId, scratch);
  for (const id of is) if (!was.includes(id)) next = withMember(next, id, name, partitionId, scratch);
  return next;
};

export const featureLevel = (image: MetadataImage, name: string): number =>
  image.features.find((f) => f.name === name)?.level ?? 0;

// ---- configs ---------------------------------------------------------------------------------------

/**
 * A resource's key: its type as one character (ConfigRecord's type is an int8), then its name, so
 * keys sort as (type, name) do.
 */
const resourceKey = (resourceType: number, resourceName: string): string =>
  String.fromCharCode(resourceType + 128) + resourceName;
const byResource = (r: ResourceConfigs): string => resourceKey(r.resourceType, r.resourceName);

/** Every explicit config, in (resource type, resource name, name) order (a copy: linear in them). */
export const configsOf = (image: MetadataImage): ConfigEntry[] => {
  const all: ConfigEntry[] = [];
  for (const chunk of image.configs.chunks) for (const r of chunk) for (const e of r.entries) all.push(e);
  return all;
};

/** One resource's explicit configs, in name order. */
export const resourceConfigs = (
  image: MetadataImage,
  resourceType: number,
  resourceName: string,
): readonly ConfigEntry[] =>
  findItem(image.configs, resourceKey(resourceType, resourceName), byResource)?.entries ?? [];

/** A config's explicit value, if it has one. */
export const configValue = (
  image: MetadataImage,
  resourceType: number,
  resourceName: string,
  name: string,
): string | undefined =>
  resourceConfigs(image, resourceType, resourceName).find((c) => c.name === name)?.value;

export const topicConfig = (image: MetadataImage, topic: string, name: string): string | undefined =>
  configValue(image, RESOURCE_TOPIC, topic, name);

/** The configs with `entry` set (value null: removed), in place within a batch (`owned`). */
const withConfig = (
  configs: MetadataImage["configs"],
  entry: Omit<ConfigEntry, "value"> & { readonly value: string | null },
  owned: OwnedArrays | null,
): MetadataImage["configs"] => {
  const key = resourceKey(entry.resourceType, entry.resourceName);
  const others = (findItem(configs, key, byResource)?.entries ?? []).filter((c) => c.name !== entry.name);
  const entries =
    entry.value === null
      ? others
      : sortedInsert(others, { ...entry, value: entry.value }, (a, b) =>
          a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
        );
  if (entries.length === 0) return removeItem(configs, key, byResource, owned);
  const { resourceType, resourceName } = entry;
  return setItem(configs, { resourceType, resourceName, entries }, byResource, owned);
};

/** `image` holding exactly `entries` as its explicit configs (any order, keys distinct), as replay would. */
export const withConfigs = (image: MetadataImage, entries: readonly ConfigEntry[]): MetadataImage => {
  let configs = EMPTY_CHUNKS as MetadataImage["configs"];
  for (const entry of entries) configs = withConfig(configs, entry, null);
  return { ...image, configs };
};

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
 * made within that replay, so the caller's image is never touched.
 */
export interface ReplayScratch {
  readonly owned: OwnedArrays;
  /** The topic the last record changed, and the topics it is in: a topic's records come together. */
  last: {
    topics: MetadataImage["topics"];
    topic: TopicImage;
    readonly place: { readonly chunk: number; readonly position: number };
  } | null;
  /**
   * The index as this batch last left it, and per broker the topic entry the batch made in it last
   * (its own object): while the index is still that one, the topic's next partitions go into that
   * entry in place.
   */
  index: {
    value: MetadataImage["partitionsByBroker"];
    readonly topics: Map<number, { partitionIds: SortedChunks<number>; readonly name: string }>;
  } | null;
}

/** A fresh scratch: the first change copies, later ones reuse that copy. */
export const newReplayScratch = (): ReplayScratch => ({ owned: new Set(), last: null, index: null });

/** Topic `topicId` of `image`, found first where the replay's last change left it. */
const topicById = (image: MetadataImage, topicId: string, scratch: ReplayScratch | null) => {
  const last = scratch?.last;
  if (last != null && last.topics === image.topics && last.topic.topicId === topicId) return last.topic;
  return findTopicById(image, topicId);
};

/** The image with `topic` in place of the topic of its name (`created`: added, with its id). */
const replaceTopic = (
  image: MetadataImage,
  topic: TopicImage,
  scratch: ReplayScratch | null,
  created = false,
  partitionsByBroker = image.partitionsByBroker,
): MetadataImage => {
  const owned = scratch?.owned ?? null;
  const last = scratch?.last;
  let topics: MetadataImage["topics"];
  if (last != null && last.topics === image.topics && last.topic.name === topic.name) {
    // The same topic again (a request's partitions, one after another): no search, no garbage.
    topics = replaceAt(image.topics, last.place, topic, owned);
    last.topics = topics;
    last.topic = topic;
  } else {
    topics = setItem(image.topics, topic, byName, owned);
    const place = scratch === null ? null : locate(topics, topic.name, byName);
    if (scratch !== null && place !== null) scratch.last = { topics, topic, place };
  }
  return {
    ...image,
    topics,
    topicNamesById: created
      ? setItem(image.topicNamesById, { topicId: topic.topicId, name: topic.name }, byId, owned)
      : image.topicNamesById,
    partitionsByBroker,
  };
};

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
      if (findItem(image.topicNamesById, record.topicId, byId) !== undefined) {
        return { image, problem: `topic id ${record.topicId} is already taken` };
      }
      return {
        image: replaceTopic(
          image,
          { name: record.name, topicId: record.topicId, partitions: EMPTY_CHUNKS },
          scratch,
          true,
        ),
      };
    case "RemoveTopicRecord": {
      const topic = findTopicById(image, record.topicId);
      if (topic === undefined) return { image, problem: `no topic with id ${record.topicId}` };
      const owned = scratch?.owned ?? null;
      // The topic leaves the index of every broker any of its partitions had.
      const members = new Set<number>();
      for (const chunk of topic.partitions.chunks)
        for (const p of chunk) for (const id of membersOf(p)) members.add(id);
      let index = image.partitionsByBroker;
      for (const id of members) index = withoutMember(index, id, topic.name, null, scratch);
      return {
        image: {
          ...image,
          topics: removeItem(image.topics, topic.name, byName, owned),
          topicNamesById: removeItem(image.topicNamesById, topic.topicId, byId, owned),
          partitionsByBroker: index,
          configs: removeItem(image.configs, resourceKey(RESOURCE_TOPIC, topic.name), byResource, owned),
        },
      };
    }
    case "PartitionRecord": {
      const topic = topicById(image, record.topicId, scratch);
      if (topic === undefined) return { image, problem: `no topic with id ${record.topicId}` };
      if (findPartition(topic, record.partitionId) !== undefined) {
        return { image, problem: `partition ${record.partitionId} of ${topic.name} already exists` };
      }
      const replicas = sharedList(record.replicas, NONE);
      const partition: PartitionState = {
        partitionId: record.partitionId,
        replicas,
        isr: sharedList(record.isr, replicas),
        removingReplicas: sharedList(record.removingReplicas, replicas),
        addingReplicas: sharedList(record.addingReplicas, replicas),
        leader: record.leader,
        leaderRecoveryState: record.leaderRecoveryState,
        leaderEpoch: record.leaderEpoch,
        partitionEpoch: record.partitionEpoch,
      };
      const owned = scratch?.owned ?? null;
      const partitions = setItem(topic.partitions, partition, byPartitionId, owned);
      const index = reindex(
        image.partitionsByBroker,
        topic.name,
        partition.partitionId,
        undefined,
        partition,
        scratch,
      );
      return { image: replaceTopic(image, { ...topic, partitions }, scratch, false, index) };
    }
    case "PartitionChangeRecord": {
      const topic = topicById(image, record.topicId, scratch);
      const place = topic === undefined ? null : locate(topic.partitions, record.partitionId, byPartitionId);
      if (topic === undefined || place === null) {
        return { image, problem: `no partition ${record.partitionId} of topic id ${record.topicId}` };
      }
      const partition = itemAt(topic.partitions, place);
      // R122: absent fields are unchanged; any leader value other than -2 bumps the leader epoch, and
      // every change bumps the partition epoch.
      const replicas = sharedList(record.replicas ?? partition.replicas, NONE);
      const changed: PartitionState = {
        ...partition,
        isr: sharedList(record.isr ?? partition.isr, replicas),
        replicas,
        removingReplicas: sharedList(record.removingReplicas ?? partition.removingReplicas, replicas),
        addingReplicas: sharedList(record.addingReplicas ?? partition.addingReplicas, replicas),
        leader: record.leader === NO_LEADER_CHANGE ? partition.leader : record.leader,
        leaderRecoveryState:
          record.leaderRecoveryState === -1 ? partition.leaderRecoveryState : record.leaderRecoveryState,
        leaderEpoch: record.leader === NO_LEADER_CHANGE ? partition.leaderEpoch : partition.leaderEpoch + 1,
        partitionEpoch: partition.partitionEpoch + 1,
      };
      const owned = scratch?.owned ?? null;
      const partitions = replaceAt(topic.partitions, place, changed, owned);
      const index = reindex(
        image.partitionsByBroker,
        topic.name,
        partition.partitionId,
        partition,
        changed,
        scratch,
      );
      return { image: replaceTopic(image, { ...topic, partitions }, scratch, false, index) };
    }
    case "ConfigRecord": {
      const { resourceType, resourceName, name, value } = record;
      const entry = { resourceType, resourceName, name, value };
      return { image: { ...image, configs: withConfig(image.configs, entry, scratch?.owned ?? null) } };
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
  for (const t of topicsOf(image)) {
    records.push({ _tag: "TopicRecord", name: t.name, topicId: t.topicId });
    for (const p of partitionsOf(t)) records.push({ _tag: "PartitionRecord", topicId: t.topicId, ...p });
  }
  for (const c of configsOf(image)) records.push({ _tag: "ConfigRecord", ...c });
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
