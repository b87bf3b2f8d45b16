// The topic and broker configurations the controller accepts, with Kafka's names and defaults, and
// their validation (IncrementalAlterConfigs, CreateTopics, DescribeConfigs). A broker resource named
// "" holds cluster-wide defaults.
import { RESOURCE_BROKER, RESOURCE_TOPIC } from "./records.ts";

export interface ConfigDef {
  readonly name: string;
  readonly default: string;
  /** null when the value is valid, else why not. */
  readonly validate: (value: string) => string | null;
  /** A comma-separated list (APPEND and SUBTRACT apply). */
  readonly list?: boolean;
}

const integer =
  (min: number, max = Number.MAX_SAFE_INTEGER) =>
  (value: string): string | null => {
    if (!/^-?\d+$/.test(value)) return `must be a whole number, not "${value}"`;
    const n = Number(value);
    return n < min || n > max ? `must be between ${min} and ${max}, not ${n}` : null;
  };

const oneOf =
  (...allowed: string[]) =>
  (value: string): string | null =>
    allowed.includes(value) ? null : `must be one of ${allowed.join(", ")}, not "${value}"`;

const listOf =
  (...allowed: string[]) =>
  (value: string): string | null => {
    const items = value.split(",").map((v) => v.trim());
    const bad = items.find((i) => !allowed.includes(i));
    return items.length === 0 || bad !== undefined
      ? `must be a list of ${allowed.join(", ")}, not "${value}"`
      : null;
  };

export const TOPIC_CONFIGS: readonly ConfigDef[] = [
  { name: "cleanup.policy", default: "delete", validate: listOf("delete", "compact"), list: true },
  {
    name: "compression.type",
    default: "producer",
    validate: oneOf("producer", "uncompressed", "gzip", "snappy", "lz4", "zstd"),
  },
  { name: "max.message.bytes", default: "1048588", validate: integer(0, 2147483647) },
  { name: "min.insync.replicas", default: "1", validate: integer(1, 2147483647) },
  { name: "retention.bytes", default: "-1", validate: integer(-1) },
  { name: "retention.ms", default: "604800000", validate: integer(-1) },
  { name: "segment.bytes", default: "1073741824", validate: integer(14, 2147483647) },
  { name: "unclean.leader.election.enable", default: "false", validate: oneOf("true", "false") },
];

export const BROKER_CONFIGS: readonly ConfigDef[] = [
  { name: "log.cleaner.threads", default: "1", validate: integer(0, 1024) },
  { name: "log.retention.ms", default: "604800000", validate: integer(-1) },
  { name: "message.max.bytes", default: "1048588", validate: integer(0, 2147483647) },
  { name: "unclean.leader.election.enable", default: "false", validate: oneOf("true", "false") },
];

export const configDefs = (resourceType: number): readonly ConfigDef[] | undefined =>
  resourceType === RESOURCE_TOPIC
    ? TOPIC_CONFIGS
    : resourceType === RESOURCE_BROKER
      ? BROKER_CONFIGS
      : undefined;

/** Why `value` is not valid for `name` on this resource type, or null. */
export const configProblem = (resourceType: number, name: string, value: string | null): string | null => {
  const def = configDefs(resourceType)?.find((d) => d.name === name);
  if (def === undefined) return `unknown configuration ${name}`;
  if (value === null) return null;
  const problem = def.validate(value);
  return problem === null ? null : `${name} ${problem}`;
};
