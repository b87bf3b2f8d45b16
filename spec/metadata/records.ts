// The metadata log's records (R107–R111), with Kafka's names and fields (camelCase of the JSON
// names). Only the fields the controller reads or writes are kept; tagged fields for features not
// modelled (log directories, ELR) are left out.
import * as Schema from "effect/Schema";
import { Int32, Int64, Uuid } from "../raft/primitives.ts";

const Int8 = Schema.Int.check(Schema.isBetween({ minimum: -128, maximum: 127 }));
const Int16 = Schema.Int.check(Schema.isBetween({ minimum: -32768, maximum: 32767 }));

export const BrokerEndpoint = Schema.Struct({
  name: Schema.String,
  host: Schema.String,
  port: Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 65535 })),
  securityProtocol: Int16,
});
export type BrokerEndpoint = typeof BrokerEndpoint.Type;

export const BrokerFeature = Schema.Struct({
  name: Schema.String,
  minSupportedVersion: Int16,
  maxSupportedVersion: Int16,
});
export type BrokerFeature = typeof BrokerFeature.Type;

/** R107 (apiKey 0): a broker registration; its epoch is the offset of this record (R114). */
export const RegisterBrokerRecord = Schema.TaggedStruct("RegisterBrokerRecord", {
  brokerId: Int32,
  incarnationId: Uuid,
  brokerEpoch: Int64,
  endPoints: Schema.Array(BrokerEndpoint),
  features: Schema.Array(BrokerFeature),
  rack: Schema.NullOr(Schema.String),
  fenced: Schema.Boolean,
  inControlledShutdown: Schema.Boolean,
});
export type RegisterBrokerRecord = typeof RegisterBrokerRecord.Type;

/** R108 (apiKey 1) */
export const UnregisterBrokerRecord = Schema.TaggedStruct("UnregisterBrokerRecord", {
  brokerId: Int32,
  brokerEpoch: Int64,
});
export type UnregisterBrokerRecord = typeof UnregisterBrokerRecord.Type;

/** R108 (apiKey 7), older metadata versions. */
export const FenceBrokerRecord = Schema.TaggedStruct("FenceBrokerRecord", { id: Int32, epoch: Int64 });
export type FenceBrokerRecord = typeof FenceBrokerRecord.Type;

/** R108 (apiKey 8), older metadata versions. */
export const UnfenceBrokerRecord = Schema.TaggedStruct("UnfenceBrokerRecord", { id: Int32, epoch: Int64 });
export type UnfenceBrokerRecord = typeof UnfenceBrokerRecord.Type;

/**
 * R108 (apiKey 17): fenced is 1 (fence), -1 (unfence) or 0 (no change); inControlledShutdown is 1
 * (enter) or 0 (no change).
 */
export const BrokerRegistrationChangeRecord = Schema.TaggedStruct("BrokerRegistrationChangeRecord", {
  brokerId: Int32,
  brokerEpoch: Int64,
  fenced: Int8,
  inControlledShutdown: Int8,
});
export type BrokerRegistrationChangeRecord = typeof BrokerRegistrationChangeRecord.Type;

/** R109 (apiKey 2) */
export const TopicRecord = Schema.TaggedStruct("TopicRecord", { name: Schema.String, topicId: Uuid });
export type TopicRecord = typeof TopicRecord.Type;

/** R109 (apiKey 9) */
export const RemoveTopicRecord = Schema.TaggedStruct("RemoveTopicRecord", { topicId: Uuid });
export type RemoveTopicRecord = typeof RemoveTopicRecord.Type;

/** R109: LeaderRecoveryState 0 = RECOVERED, 1 = RECOVERING. */
export const LEADER_RECOVERED = 0;
export const LEADER_RECOVERING = 1;
/** R4: a partition without a leader; in a change record, a leader left as it is. */
export const NO_LEADER = -1;
export const NO_LEADER_CHANGE = -2;

/** R109 (apiKey 3): a partition as created. */
export const PartitionRecord = Schema.TaggedStruct("PartitionRecord", {
  partitionId: Int32,
  topicId: Uuid,
  replicas: Schema.Array(Int32),
  isr: Schema.Array(Int32),
  removingReplicas: Schema.Array(Int32),
  addingReplicas: Schema.Array(Int32),
  leader: Int32,
  leaderRecoveryState: Int8,
  leaderEpoch: Int32,
  partitionEpoch: Int32,
});
export type PartitionRecord = typeof PartitionRecord.Type;

/**
 * R110 (apiKey 5): a partition change. Absent (null) fields are unchanged; leader -2 means
 * unchanged; leaderRecoveryState -1 means unchanged. Epochs are not in the record: replay derives
 * them (R122).
 */
export const PartitionChangeRecord = Schema.TaggedStruct("PartitionChangeRecord", {
  partitionId: Int32,
  topicId: Uuid,
  isr: Schema.NullOr(Schema.Array(Int32)),
  leader: Int32,
  replicas: Schema.NullOr(Schema.Array(Int32)),
  removingReplicas: Schema.NullOr(Schema.Array(Int32)),
  addingReplicas: Schema.NullOr(Schema.Array(Int32)),
  leaderRecoveryState: Int8,
});
export type PartitionChangeRecord = typeof PartitionChangeRecord.Type;

/** Kafka's ConfigResource types, as ConfigRecord and the config APIs number them. */
export const RESOURCE_TOPIC = 2;
export const RESOURCE_BROKER = 4;

/** R111 (apiKey 4): value null deletes the key. */
export const ConfigRecord = Schema.TaggedStruct("ConfigRecord", {
  resourceType: Int8,
  resourceName: Schema.String,
  name: Schema.String,
  value: Schema.NullOr(Schema.String),
});
export type ConfigRecord = typeof ConfigRecord.Type;

/** R111 (apiKey 12): level 0 removes a feature (other than metadata.version). */
export const FeatureLevelRecord = Schema.TaggedStruct("FeatureLevelRecord", {
  name: Schema.String,
  featureLevel: Int16,
});
export type FeatureLevelRecord = typeof FeatureLevelRecord.Type;

/** R105, R111 (apiKey 20): written on idle so the committed offset keeps moving. */
export const NoOpRecord = Schema.TaggedStruct("NoOpRecord", {});
export type NoOpRecord = typeof NoOpRecord.Type;

/** R111 (apiKey 15): the start of the next unallocated block of producer ids. */
export const ProducerIdsRecord = Schema.TaggedStruct("ProducerIdsRecord", {
  brokerId: Int32,
  brokerEpoch: Int64,
  nextProducerId: Int64,
});
export type ProducerIdsRecord = typeof ProducerIdsRecord.Type;

export const MetadataRecord = Schema.Union([
  RegisterBrokerRecord,
  UnregisterBrokerRecord,
  FenceBrokerRecord,
  UnfenceBrokerRecord,
  BrokerRegistrationChangeRecord,
  TopicRecord,
  RemoveTopicRecord,
  PartitionRecord,
  PartitionChangeRecord,
  ConfigRecord,
  FeatureLevelRecord,
  NoOpRecord,
  ProducerIdsRecord,
]);
export type MetadataRecord = typeof MetadataRecord.Type;

/** The metadata.version feature, which every cluster has. */
export const METADATA_VERSION = "metadata.version";
