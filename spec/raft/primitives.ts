// Primitive protocol types shared by every Raft message and state (R1–R6).
import * as Schema from "effect/Schema";

/** An int32 as Kafka's message specs use for ids and epochs. */
export const Int32 = Schema.Int.check(Schema.isBetween({ minimum: -2147483648, maximum: 2147483647 }));

/** Offsets are Kafka int64s; the spec keeps them as safe integers (R2). */
export const Int64 = Schema.Int;

/** Kafka's Uuid in its base64url text form (22 characters). */
export const Uuid = Schema.String.check(Schema.isPattern(/^[A-Za-z0-9_-]{22}$/));

/** R1: the metadata log is the single partition `__cluster_metadata-0`. */
export const METADATA_TOPIC_NAME = "__cluster_metadata";
export const METADATA_PARTITION = 0;
/** R1: the metadata topic id is the Uuid with value 1. */
export const METADATA_TOPIC_ID = "AAAAAAAAAAAAAAAAAAAAAQ";

/** R4: sentinel for "no leader known", "not voted", "absent" epoch/offset. */
export const NO_ID = -1;

/** R5: a replica is named by its id and, when known, the id of its metadata log directory. */
export const ReplicaKey = Schema.Struct({
  id: Int32,
  directoryId: Schema.optionalKey(Uuid),
});
export type ReplicaKey = typeof ReplicaKey.Type;

/** R5: a stored key with a directory id matches only the same id and directory id; without one, ids suffice. */
export const replicaKeyMatches = (stored: ReplicaKey, candidate: ReplicaKey): boolean =>
  stored.id === candidate.id &&
  (stored.directoryId === undefined || stored.directoryId === candidate.directoryId);

/** The error codes the Raft layer answers with (R102), by Kafka's names. */
export const ErrorCode = Schema.Literals([
  "NONE",
  "INCONSISTENT_CLUSTER_ID",
  "INVALID_REQUEST",
  "FENCED_LEADER_EPOCH",
  "UNKNOWN_LEADER_EPOCH",
  "NOT_LEADER_OR_FOLLOWER",
  "BROKER_NOT_AVAILABLE",
  "INVALID_VOTER_KEY",
  "UNKNOWN_TOPIC_OR_PARTITION",
  "UNKNOWN_TOPIC_ID",
  "REQUEST_TIMED_OUT",
  "UNSUPPORTED_VERSION",
  "SNAPSHOT_NOT_FOUND",
  "POSITION_OUT_OF_RANGE",
  "DUPLICATE_VOTER",
  "VOTER_NOT_FOUND",
]);
export type ErrorCode = typeof ErrorCode.Type;

/** R90, R95: a listener of a controller (Kafka's Listeners[] and Endpoints[] entries). */
export const Listener = Schema.Struct({ name: Schema.String, host: Schema.String, port: Schema.Int });
export type Listener = typeof Listener.Type;

/** R96, R99: the kraft.version range a replica supports. */
export const KRaftVersionRange = Schema.Struct({
  minSupportedVersion: Schema.Int,
  maxSupportedVersion: Schema.Int,
});
export type KRaftVersionRange = typeof KRaftVersionRange.Type;

/** R96: the kraft.version range openkraft's nodes support, which they answer ApiVersions with. */
export const SUPPORTED_KRAFT_VERSIONS: KRaftVersionRange = { minSupportedVersion: 0, maxSupportedVersion: 1 };

/**
 * R6, R90: a voter of the voter set: its key and, as a VotersRecord names them (kraft.version 1), its
 * listeners and the kraft.version range it supports. A static voter set names keys only.
 */
export const Voter = Schema.Struct({
  id: Int32,
  directoryId: Schema.optionalKey(Uuid),
  listeners: Schema.optionalKey(Schema.Array(Listener)),
  supportedKraftVersions: Schema.optionalKey(KRaftVersionRange),
});
export type Voter = typeof Voter.Type;

/** R6: the majority of a set of n voters. */
export const majority = (n: number): number => Math.floor(n / 2) + 1;
