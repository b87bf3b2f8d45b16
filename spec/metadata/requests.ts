// The requests the controller serves and its answers, with Kafka's names (camelCase of the message
// specs' fields). Topic and partition nesting is kept where a request can name several; fields only
// ZooKeeper-era brokers used are left out.
import * as Schema from "effect/Schema";
import { Int32, Int64, Uuid } from "../raft/primitives.ts";
import { BrokerEndpoint, BrokerFeature } from "./records.ts";

const Int8 = Schema.Int.check(Schema.isBetween({ minimum: -128, maximum: 127 }));
const Int16 = Schema.Int.check(Schema.isBetween({ minimum: -32768, maximum: 32767 }));

/** Kafka's error codes the controller answers with, by name (R113–R126). */
export const MetadataErrorCode = Schema.Literals([
  "NONE",
  "NOT_CONTROLLER",
  "INCONSISTENT_CLUSTER_ID",
  "STALE_BROKER_EPOCH",
  "DUPLICATE_BROKER_REGISTRATION",
  "BROKER_ID_NOT_REGISTERED",
  "UNSUPPORTED_VERSION",
  "INVALID_REQUEST",
  "INVALID_TOPIC_EXCEPTION",
  "TOPIC_ALREADY_EXISTS",
  "INVALID_PARTITIONS",
  "INVALID_REPLICATION_FACTOR",
  "INVALID_REPLICA_ASSIGNMENT",
  "INVALID_CONFIG",
  "UNKNOWN_TOPIC_OR_PARTITION",
  "UNKNOWN_TOPIC_ID",
  "FENCED_LEADER_EPOCH",
  "INVALID_UPDATE_VERSION",
  "INELIGIBLE_REPLICA",
  "NEW_LEADER_ELECTED",
  "ELECTION_NOT_NEEDED",
  "ELIGIBLE_LEADERS_NOT_AVAILABLE",
  "PREFERRED_LEADER_NOT_AVAILABLE",
  "POLICY_VIOLATION",
]);
export type MetadataErrorCode = typeof MetadataErrorCode.Type;

// ---- broker lifecycle (R112–R119) ---------------------------------------------------------------

export const BrokerRegistrationRequest = Schema.TaggedStruct("BrokerRegistrationRequest", {
  brokerId: Int32,
  clusterId: Schema.String,
  incarnationId: Uuid,
  listeners: Schema.Array(BrokerEndpoint),
  features: Schema.Array(BrokerFeature),
  rack: Schema.NullOr(Schema.String),
  previousBrokerEpoch: Int64,
});
export type BrokerRegistrationRequest = typeof BrokerRegistrationRequest.Type;

export const BrokerRegistrationResponse = Schema.TaggedStruct("BrokerRegistrationResponse", {
  errorCode: MetadataErrorCode,
  brokerEpoch: Int64,
});
export type BrokerRegistrationResponse = typeof BrokerRegistrationResponse.Type;

export const BrokerHeartbeatRequest = Schema.TaggedStruct("BrokerHeartbeatRequest", {
  brokerId: Int32,
  brokerEpoch: Int64,
  currentMetadataOffset: Int64,
  wantFence: Schema.Boolean,
  wantShutDown: Schema.Boolean,
});
export type BrokerHeartbeatRequest = typeof BrokerHeartbeatRequest.Type;

export const BrokerHeartbeatResponse = Schema.TaggedStruct("BrokerHeartbeatResponse", {
  errorCode: MetadataErrorCode,
  isCaughtUp: Schema.Boolean,
  isFenced: Schema.Boolean,
  shouldShutDown: Schema.Boolean,
});
export type BrokerHeartbeatResponse = typeof BrokerHeartbeatResponse.Type;

// ---- topics (R121) -------------------------------------------------------------------------------

export const CreatableTopic = Schema.Struct({
  name: Schema.String,
  /** -1: the controller's default. */
  numPartitions: Int32,
  /** -1: the controller's default. */
  replicationFactor: Int16,
  assignments: Schema.Array(Schema.Struct({ partitionIndex: Int32, brokerIds: Schema.Array(Int32) })),
  configs: Schema.Array(Schema.Struct({ name: Schema.String, value: Schema.NullOr(Schema.String) })),
});
export type CreatableTopic = typeof CreatableTopic.Type;

export const CreateTopicsRequest = Schema.TaggedStruct("CreateTopicsRequest", {
  topics: Schema.Array(CreatableTopic),
  validateOnly: Schema.Boolean,
});
export type CreateTopicsRequest = typeof CreateTopicsRequest.Type;

export const CreatableTopicResult = Schema.Struct({
  name: Schema.String,
  topicId: Schema.NullOr(Uuid),
  errorCode: MetadataErrorCode,
  errorMessage: Schema.NullOr(Schema.String),
  numPartitions: Int32,
  replicationFactor: Int16,
});
export type CreatableTopicResult = typeof CreatableTopicResult.Type;

export const CreateTopicsResponse = Schema.TaggedStruct("CreateTopicsResponse", {
  topics: Schema.Array(CreatableTopicResult),
});
export type CreateTopicsResponse = typeof CreateTopicsResponse.Type;

/** A topic to delete, by name or, when name is null, by id. */
export const DeleteTopicsRequest = Schema.TaggedStruct("DeleteTopicsRequest", {
  topics: Schema.Array(Schema.Struct({ name: Schema.NullOr(Schema.String), topicId: Schema.NullOr(Uuid) })),
});
export type DeleteTopicsRequest = typeof DeleteTopicsRequest.Type;

export const DeleteTopicsResponse = Schema.TaggedStruct("DeleteTopicsResponse", {
  responses: Schema.Array(
    Schema.Struct({
      name: Schema.NullOr(Schema.String),
      topicId: Schema.NullOr(Uuid),
      errorCode: MetadataErrorCode,
      errorMessage: Schema.NullOr(Schema.String),
    }),
  ),
});
export type DeleteTopicsResponse = typeof DeleteTopicsResponse.Type;

export const CreatePartitionsRequest = Schema.TaggedStruct("CreatePartitionsRequest", {
  topics: Schema.Array(
    Schema.Struct({
      name: Schema.String,
      /** The partition count the topic should have afterwards. */
      count: Int32,
      assignments: Schema.NullOr(Schema.Array(Schema.Struct({ brokerIds: Schema.Array(Int32) }))),
    }),
  ),
  validateOnly: Schema.Boolean,
});
export type CreatePartitionsRequest = typeof CreatePartitionsRequest.Type;

export const CreatePartitionsResponse = Schema.TaggedStruct("CreatePartitionsResponse", {
  results: Schema.Array(
    Schema.Struct({
      name: Schema.String,
      errorCode: MetadataErrorCode,
      errorMessage: Schema.NullOr(Schema.String),
    }),
  ),
});
export type CreatePartitionsResponse = typeof CreatePartitionsResponse.Type;

// ---- partition leadership and ISR (R123–R126) -----------------------------------------------------

export const AlterPartitionRequest = Schema.TaggedStruct("AlterPartitionRequest", {
  brokerId: Int32,
  brokerEpoch: Int64,
  topics: Schema.Array(
    Schema.Struct({
      topicId: Uuid,
      partitions: Schema.Array(
        Schema.Struct({
          partitionIndex: Int32,
          leaderEpoch: Int32,
          newIsrWithEpochs: Schema.Array(Schema.Struct({ brokerId: Int32, brokerEpoch: Int64 })),
          leaderRecoveryState: Int8,
          partitionEpoch: Int32,
        }),
      ),
    }),
  ),
});
export type AlterPartitionRequest = typeof AlterPartitionRequest.Type;

export const AlterPartitionResult = Schema.Struct({
  partitionIndex: Int32,
  errorCode: MetadataErrorCode,
  leaderId: Int32,
  leaderEpoch: Int32,
  isr: Schema.Array(Int32),
  leaderRecoveryState: Int8,
  partitionEpoch: Int32,
});
export type AlterPartitionResult = typeof AlterPartitionResult.Type;

export const AlterPartitionResponse = Schema.TaggedStruct("AlterPartitionResponse", {
  errorCode: MetadataErrorCode,
  topics: Schema.Array(Schema.Struct({ topicId: Uuid, partitions: Schema.Array(AlterPartitionResult) })),
});
export type AlterPartitionResponse = typeof AlterPartitionResponse.Type;

/** R123: election type 0 elects the preferred replica, 1 allows an unclean election. */
export const ELECTION_PREFERRED = 0;
export const ELECTION_UNCLEAN = 1;

export const ElectLeadersRequest = Schema.TaggedStruct("ElectLeadersRequest", {
  electionType: Int8,
  /** null: every partition. */
  topicPartitions: Schema.NullOr(
    Schema.Array(Schema.Struct({ topic: Schema.String, partitions: Schema.Array(Int32) })),
  ),
});
export type ElectLeadersRequest = typeof ElectLeadersRequest.Type;

export const ElectLeadersResponse = Schema.TaggedStruct("ElectLeadersResponse", {
  errorCode: MetadataErrorCode,
  replicaElectionResults: Schema.Array(
    Schema.Struct({
      topic: Schema.String,
      partitionResult: Schema.Array(
        Schema.Struct({
          partitionId: Int32,
          errorCode: MetadataErrorCode,
          errorMessage: Schema.NullOr(Schema.String),
        }),
      ),
    }),
  ),
});
export type ElectLeadersResponse = typeof ElectLeadersResponse.Type;

// ---- configs ---------------------------------------------------------------------------------------

/** IncrementalAlterConfigs operations. */
export const CONFIG_SET = 0;
export const CONFIG_DELETE = 1;
export const CONFIG_APPEND = 2;
export const CONFIG_SUBTRACT = 3;

export const IncrementalAlterConfigsRequest = Schema.TaggedStruct("IncrementalAlterConfigsRequest", {
  resources: Schema.Array(
    Schema.Struct({
      resourceType: Int8,
      resourceName: Schema.String,
      configs: Schema.Array(
        Schema.Struct({ name: Schema.String, configOperation: Int8, value: Schema.NullOr(Schema.String) }),
      ),
    }),
  ),
  validateOnly: Schema.Boolean,
});
export type IncrementalAlterConfigsRequest = typeof IncrementalAlterConfigsRequest.Type;

export const IncrementalAlterConfigsResponse = Schema.TaggedStruct("IncrementalAlterConfigsResponse", {
  responses: Schema.Array(
    Schema.Struct({
      errorCode: MetadataErrorCode,
      errorMessage: Schema.NullOr(Schema.String),
      resourceType: Int8,
      resourceName: Schema.String,
    }),
  ),
});
export type IncrementalAlterConfigsResponse = typeof IncrementalAlterConfigsResponse.Type;

/**
 * R111: the legacy AlterConfigs: each resource's configs given are its whole set of explicit values
 * afterwards; an explicit value not given is deleted. A null value deletes the key.
 */
export const AlterConfigsRequest = Schema.TaggedStruct("AlterConfigsRequest", {
  resources: Schema.Array(
    Schema.Struct({
      resourceType: Int8,
      resourceName: Schema.String,
      configs: Schema.Array(Schema.Struct({ name: Schema.String, value: Schema.NullOr(Schema.String) })),
    }),
  ),
  validateOnly: Schema.Boolean,
});
export type AlterConfigsRequest = typeof AlterConfigsRequest.Type;

export const AlterConfigsResponse = Schema.TaggedStruct("AlterConfigsResponse", {
  responses: IncrementalAlterConfigsResponse.fields.responses,
});
export type AlterConfigsResponse = typeof AlterConfigsResponse.Type;

export const DescribeConfigsRequest = Schema.TaggedStruct("DescribeConfigsRequest", {
  resources: Schema.Array(
    Schema.Struct({
      resourceType: Int8,
      resourceName: Schema.String,
      /** null: every key. */
      configurationKeys: Schema.NullOr(Schema.Array(Schema.String)),
    }),
  ),
});
export type DescribeConfigsRequest = typeof DescribeConfigsRequest.Type;

export const DescribedConfig = Schema.Struct({
  name: Schema.String,
  value: Schema.NullOr(Schema.String),
  readOnly: Schema.Boolean,
  isDefault: Schema.Boolean,
  /** Kafka's ConfigSource: 1 dynamic topic config, 2 dynamic broker config, 5 default. */
  configSource: Int8,
  isSensitive: Schema.Boolean,
});
export type DescribedConfig = typeof DescribedConfig.Type;

export const DescribeConfigsResponse = Schema.TaggedStruct("DescribeConfigsResponse", {
  results: Schema.Array(
    Schema.Struct({
      errorCode: MetadataErrorCode,
      errorMessage: Schema.NullOr(Schema.String),
      resourceType: Int8,
      resourceName: Schema.String,
      configs: Schema.Array(DescribedConfig),
    }),
  ),
});
export type DescribeConfigsResponse = typeof DescribeConfigsResponse.Type;

// ---- unions ------------------------------------------------------------------------------------

export const ControllerRequest = Schema.Union([
  BrokerRegistrationRequest,
  BrokerHeartbeatRequest,
  CreateTopicsRequest,
  DeleteTopicsRequest,
  CreatePartitionsRequest,
  AlterPartitionRequest,
  ElectLeadersRequest,
  IncrementalAlterConfigsRequest,
  AlterConfigsRequest,
  DescribeConfigsRequest,
]);
export type ControllerRequest = typeof ControllerRequest.Type;

export const ControllerResponse = Schema.Union([
  BrokerRegistrationResponse,
  BrokerHeartbeatResponse,
  CreateTopicsResponse,
  DeleteTopicsResponse,
  CreatePartitionsResponse,
  AlterPartitionResponse,
  ElectLeadersResponse,
  IncrementalAlterConfigsResponse,
  AlterConfigsResponse,
  DescribeConfigsResponse,
]);
export type ControllerResponse = typeof ControllerResponse.Type;
