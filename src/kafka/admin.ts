// The admin APIs a Kafka client sends a broker, as the spec's controller requests (spec/metadata/
// requests.ts mirrors Kafka's messages field for field), and the spec's answers as Kafka's responses.
// Pure translation: the spec decides, and its error names become Kafka's codes.
import type { NodeRequest, NodeResponse } from "../../spec/node/node.ts";
import { errorCode, KafkaError } from "./errors.ts";
import type {
  AlterConfigsRequestData,
  AlterConfigsResponseData,
  CreatePartitionsRequestData,
  CreatePartitionsResponseData,
  CreateTopicsRequestData,
  CreateTopicsResponseData,
  DeleteTopicsRequestData,
  DeleteTopicsResponseData,
  DescribeConfigsRequestData,
  DescribeConfigsResponseData,
  ElectLeadersRequestData,
  ElectLeadersResponseData,
  IncrementalAlterConfigsRequestData,
  IncrementalAlterConfigsResponseData,
} from "./generated/messages.ts";
import { ZERO_UUID } from "./wire.ts";

/** Kafka's ConfigSource of a config set on the topic itself. */
const DYNAMIC_TOPIC_CONFIG = 1;

/** The spec's request for a Kafka CreateTopics (its timeoutMs is the node's own request timeout). */
export const createTopicsRequest = (r: CreateTopicsRequestData): NodeRequest => ({
  _tag: "CreateTopicsRequest",
  validateOnly: r.validateOnly,
  topics: r.topics.map((t) => ({
    name: t.name,
    numPartitions: t.numPartitions,
    replicationFactor: t.replicationFactor,
    assignments: t.assignments.map((a) => ({ partitionIndex: a.partitionIndex, brokerIds: a.brokerIds })),
    configs: t.configs.map((c) => ({ name: c.name, value: c.value })),
  })),
});

/** An answer that is not the controller's own (a timeout, a refusal) fails every topic with its error. */
const refusal = (response: NodeResponse): { errorCode: number; errorMessage: string | null } | null =>
  response._tag === "AdminResponse"
    ? { errorCode: errorCode(response.errorCode), errorMessage: response.errorMessage }
    : null;

type Refusal = ReturnType<typeof refusal>;

/** An item's error fields: the node's refusal of the whole request if any, else the spec's answer. */
const errorOf = (
  failed: Refusal,
  item: { readonly errorCode: string; readonly errorMessage: string | null },
): { errorCode: number; errorMessage: string | null } =>
  failed ?? { errorCode: errorCode(item.errorCode), errorMessage: item.errorMessage };

export const createTopicsResponse = (
  request: CreateTopicsRequestData,
  response: NodeResponse,
): CreateTopicsResponseData => {
  const failed = refusal(response);
  const results =
    response._tag === "CreateTopicsResponse"
      ? response.topics
      : request.topics.map((t) => ({
          name: t.name,
          topicId: null,
          errorCode: "NONE" as const,
          errorMessage: null,
          numPartitions: -1,
          replicationFactor: -1,
        }));
  return {
    throttleTimeMs: 0,
    topics: results.map((t) => ({
      name: t.name,
      topicId: t.topicId ?? ZERO_UUID,
      ...errorOf(failed, t),
      topicConfigErrorCode: 0,
      numPartitions: t.numPartitions,
      replicationFactor: t.replicationFactor,
      // The configs the topic was created with (Kafka lists every config; its Java client reads
      // the list and cannot take null here).
      configs: (request.topics.find((r) => r.name === t.name)?.configs ?? []).map((c) => ({
        name: c.name,
        value: c.value,
        readOnly: false,
        configSource: DYNAMIC_TOPIC_CONFIG,
        isSensitive: false,
      })),
    })),
  };
};

/** DeleteTopics names its topics by name before v6, by name or id from v6 on. */
export const deleteTopicsRequest = (r: DeleteTopicsRequestData, version: number): NodeRequest => ({
  _tag: "DeleteTopicsRequest",
  topics:
    version >= 6
      ? r.topics.map((t) => ({ name: t.name, topicId: t.topicId === ZERO_UUID ? null : t.topicId }))
      : r.topicNames.map((name) => ({ name, topicId: null })),
});

export const deleteTopicsResponse = (
  request: DeleteTopicsRequestData,
  version: number,
  response: NodeResponse,
): DeleteTopicsResponseData => {
  const failed = refusal(response);
  const asked =
    version >= 6 ? request.topics : request.topicNames.map((name) => ({ name, topicId: ZERO_UUID }));
  const results =
    response._tag === "DeleteTopicsResponse"
      ? response.responses
      : asked.map((t) => ({
          name: t.name,
          topicId: t.topicId,
          errorCode: "NONE" as const,
          errorMessage: null,
        }));
  return {
    throttleTimeMs: 0,
    responses: results.map((t) => ({
      name: t.name,
      topicId: t.topicId ?? ZERO_UUID,
      ...errorOf(failed, t),
    })),
  };
};

export const createPartitionsRequest = (r: CreatePartitionsRequestData): NodeRequest => ({
  _tag: "CreatePartitionsRequest",
  validateOnly: r.validateOnly,
  topics: r.topics.map((t) => ({
    name: t.name,
    count: t.count,
    assignments: t.assignments === null ? null : t.assignments.map((a) => ({ brokerIds: a.brokerIds })),
  })),
});

export const createPartitionsResponse = (
  request: CreatePartitionsRequestData,
  response: NodeResponse,
): CreatePartitionsResponseData => {
  const failed = refusal(response);
  const results =
    response._tag === "CreatePartitionsResponse"
      ? response.results
      : request.topics.map((t) => ({ name: t.name, errorCode: "NONE" as const, errorMessage: null }));
  return {
    throttleTimeMs: 0,
    results: results.map((t) => ({
      name: t.name,
      ...errorOf(failed, t),
    })),
  };
};

export const describeConfigsRequest = (r: DescribeConfigsRequestData): NodeRequest => ({
  _tag: "DescribeConfigsRequest",
  resources: r.resources.map((x) => ({
    resourceType: x.resourceType,
    resourceName: x.resourceName,
    configurationKeys: x.configurationKeys,
  })),
});

export const describeConfigsResponse = (
  request: DescribeConfigsRequestData,
  response: NodeResponse,
): DescribeConfigsResponseData => {
  const failed = refusal(response);
  const results =
    response._tag === "DescribeConfigsResponse"
      ? response.results
      : request.resources.map((x) => ({
          errorCode: "NONE" as const,
          errorMessage: null,
          resourceType: x.resourceType,
          resourceName: x.resourceName,
          configs: [],
        }));
  return {
    throttleTimeMs: 0,
    results: results.map((x) => ({
      ...errorOf(failed, x),
      resourceType: x.resourceType,
      resourceName: x.resourceName,
      configs: x.configs.map((c) => ({
        name: c.name,
        value: c.value,
        readOnly: c.readOnly,
        isDefault: c.isDefault,
        configSource: c.configSource,
        isSensitive: c.isSensitive,
        synonyms: [],
        configType: 0,
        documentation: null,
      })),
    })),
  };
};

export const incrementalAlterConfigsRequest = (r: IncrementalAlterConfigsRequestData): NodeRequest => ({
  _tag: "IncrementalAlterConfigsRequest",
  validateOnly: r.validateOnly,
  resources: r.resources.map((x) => ({
    resourceType: x.resourceType,
    resourceName: x.resourceName,
    configs: x.configs.map((c) => ({ name: c.name, configOperation: c.configOperation, value: c.value })),
  })),
});

/** Both config-altering APIs answer per resource, with the same fields. */
const configResourceResults = (
  resources: readonly { readonly resourceType: number; readonly resourceName: string }[],
  answered: NodeResponse["_tag"],
  response: NodeResponse,
) => {
  const failed = refusal(response);
  const results =
    (response._tag === "IncrementalAlterConfigsResponse" || response._tag === "AlterConfigsResponse") &&
    response._tag === answered
      ? response.responses
      : resources.map((x) => ({
          errorCode: "NONE" as const,
          errorMessage: null,
          resourceType: x.resourceType,
          resourceName: x.resourceName,
        }));
  return {
    throttleTimeMs: 0,
    responses: results.map((x) => ({
      ...errorOf(failed, x),
      resourceType: x.resourceType,
      resourceName: x.resourceName,
    })),
  };
};

export const incrementalAlterConfigsResponse = (
  request: IncrementalAlterConfigsRequestData,
  response: NodeResponse,
): IncrementalAlterConfigsResponseData =>
  configResourceResults(request.resources, "IncrementalAlterConfigsResponse", response);

export const alterConfigsRequest = (r: AlterConfigsRequestData): NodeRequest => ({
  _tag: "AlterConfigsRequest",
  validateOnly: r.validateOnly,
  resources: r.resources.map((x) => ({
    resourceType: x.resourceType,
    resourceName: x.resourceName,
    configs: x.configs.map((c) => ({ name: c.name, value: c.value })),
  })),
});

export const alterConfigsResponse = (
  request: AlterConfigsRequestData,
  response: NodeResponse,
): AlterConfigsResponseData => configResourceResults(request.resources, "AlterConfigsResponse", response);

export const electLeadersRequest = (r: ElectLeadersRequestData): NodeRequest => ({
  _tag: "ElectLeadersRequest",
  electionType: r.electionType,
  topicPartitions:
    r.topicPartitions === null
      ? null
      : r.topicPartitions.map((t) => ({ topic: t.topic, partitions: t.partitions })),
});

export const electLeadersResponse = (
  request: ElectLeadersRequestData,
  response: NodeResponse,
): ElectLeadersResponseData => {
  const failed = refusal(response);
  if (response._tag !== "ElectLeadersResponse")
    return {
      throttleTimeMs: 0,
      errorCode: failed?.errorCode ?? KafkaError.UNKNOWN_SERVER_ERROR,
      replicaElectionResults: (request.topicPartitions ?? []).map((t) => ({
        topic: t.topic,
        partitionResult: t.partitions.map((partitionId) => ({
          partitionId,
          errorCode: failed?.errorCode ?? KafkaError.UNKNOWN_SERVER_ERROR,
          errorMessage: failed?.errorMessage ?? null,
        })),
      })),
    };
  return {
    throttleTimeMs: 0,
    errorCode: errorCode(response.errorCode),
    replicaElectionResults: response.replicaElectionResults.map((t) => ({
      topic: t.topic,
      partitionResult: t.partitionResult.map((p) => ({
        partitionId: p.partitionId,
        errorCode: errorCode(p.errorCode),
        errorMessage: p.errorMessage,
      })),
    })),
  };
};
