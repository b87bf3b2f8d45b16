// Kafka's error codes by name (org.apache.kafka.common.protocol.Errors), for the names the spec and
// the node answer with. src/kafka/golden.json holds Kafka 4.4's own table; a test checks this one
// against it.
export const KafkaError = {
  UNKNOWN_SERVER_ERROR: -1,
  NONE: 0,
  UNKNOWN_TOPIC_OR_PARTITION: 3,
  LEADER_NOT_AVAILABLE: 5,
  NOT_LEADER_OR_FOLLOWER: 6,
  REQUEST_TIMED_OUT: 7,
  BROKER_NOT_AVAILABLE: 8,
  INVALID_TOPIC_EXCEPTION: 17,
  UNSUPPORTED_VERSION: 35,
  TOPIC_ALREADY_EXISTS: 36,
  INVALID_PARTITIONS: 37,
  INVALID_REPLICATION_FACTOR: 38,
  INVALID_REPLICA_ASSIGNMENT: 39,
  INVALID_CONFIG: 40,
  NOT_CONTROLLER: 41,
  INVALID_REQUEST: 42,
  POLICY_VIOLATION: 44,
  FENCED_LEADER_EPOCH: 74,
  UNKNOWN_LEADER_EPOCH: 75,
  STALE_BROKER_EPOCH: 77,
  PREFERRED_LEADER_NOT_AVAILABLE: 80,
  ELIGIBLE_LEADERS_NOT_AVAILABLE: 83,
  ELECTION_NOT_NEEDED: 84,
  INVALID_UPDATE_VERSION: 95,
  SNAPSHOT_NOT_FOUND: 98,
  POSITION_OUT_OF_RANGE: 99,
  UNKNOWN_TOPIC_ID: 100,
  DUPLICATE_BROKER_REGISTRATION: 101,
  BROKER_ID_NOT_REGISTERED: 102,
  INCONSISTENT_CLUSTER_ID: 104,
  INELIGIBLE_REPLICA: 107,
  NEW_LEADER_ELECTED: 108,
  MISMATCHED_ENDPOINT_TYPE: 114,
  INVALID_VOTER_KEY: 125,
  DUPLICATE_VOTER: 126,
  VOTER_NOT_FOUND: 127,
} as const;

const BY_NAME: Readonly<Record<string, number>> = KafkaError;

/**
 * Kafka's code for an error name. A node that has no metadata yet (NOT_READY, openkraft's own) answers
 * as a Kafka broker that is still loading does: LEADER_NOT_AVAILABLE, which clients retry.
 */
export const errorCode = (name: string): number => {
  if (name === "NOT_READY") return KafkaError.LEADER_NOT_AVAILABLE;
  return BY_NAME[name] ?? KafkaError.UNKNOWN_SERVER_ERROR;
};

const BY_CODE: ReadonlyMap<number, string> = new Map(
  Object.entries(KafkaError).map(([name, code]) => [code, name]),
);

/** A code's name, for messages; a code outside this table is shown as a number. */
export const errorName = (code: number): string => BY_CODE.get(code) ?? `error ${code}`;
