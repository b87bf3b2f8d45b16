// Admin commands against a running cluster, over Kafka's binary protocol (src/kafka/client.ts), so they
// work against Apache Kafka too: `kraft quorum describe` (DescribeQuorum), `kraft topics
// create|list|describe|delete` (CreateTopics, Metadata and DescribeConfigs, DeleteTopics), `kraft
// brokers list` (DescribeCluster). Each prints a table, or with --json one JSON document; a refusal
// exits 1 with Kafka's error name and the server's message.

import { errorName, KafkaError } from "../kafka/errors.ts";
import {
  AddRaftVoterRequest,
  AddRaftVoterResponse,
  CreateTopicsRequest,
  CreateTopicsResponse,
  DeleteTopicsRequest,
  DeleteTopicsResponse,
  DescribeClusterRequest,
  DescribeClusterResponse,
  DescribeConfigsRequest,
  DescribeConfigsResponse,
  MetadataRequest,
  MetadataResponse,
  RemoveRaftVoterRequest,
  RemoveRaftVoterResponse,
  UpdateRaftVoterRequest,
  UpdateRaftVoterResponse,
} from "../kafka/generated/messages.ts";
import { isKafkaUuid, ZERO_UUID } from "../kafka/wire.ts";
import { controllerListeners } from "../runtime/config.ts";
import { readMetaProperties } from "../runtime/storage.ts";
import {
  AdminFailure,
  ask,
  changeVoters,
  DEFAULT_SERVER,
  describeQuorum,
  electionError,
  leaderAddress,
  readControllerConfig,
  readRetryError,
  refusal,
  server,
  TIMEOUT_FLAG,
} from "./admin-client.ts";
import { type FlagSpec, type FlagValues, parseFlags, renderHelp, UsageError } from "./flags.ts";
import type { Io } from "./node-commands.ts";
import { PLAN_FLAGS, PLAN_HELP, runPlan } from "./plan.ts";
import { executePlan } from "./plan-execute.ts";

const COMMON: readonly FlagSpec[] = [
  {
    kind: "string",
    name: "bootstrap-server",
    placeholder: "HOST:PORT",
    description: `a broker of openkraft or Apache Kafka (default ${DEFAULT_SERVER}, the first broker of kraft cluster up); quorum describe and topics create|delete also take a controller`,
  },
  TIMEOUT_FLAG,
  { kind: "boolean", name: "json", default: false, description: "print one JSON document" },
  { kind: "boolean", name: "help", alias: "h", default: false, description: "show this help" },
];

const table = (header: readonly string[], rows: readonly (readonly (string | number)[])[]): string => {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? "").length)));
  return cells
    .map((r) =>
      r
        .map((c, i) => (c ?? "").padEnd(widths[i]!))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
};

// ---- quorum describe -------------------------------------------------------------------------------

export const QUORUM_FLAGS: readonly FlagSpec[] = [
  ...COMMON.slice(0, 3),
  {
    kind: "string",
    name: "config",
    placeholder: "FILE",
    description:
      "add-controller, update-controller: the controller's properties (its node.id, listener, and the directory id in its log.dirs)",
  },
  {
    kind: "integer",
    name: "controller-id",
    min: 0,
    max: 2147483647,
    placeholder: "N",
    description: "remove-controller: the voter's id",
  },
  {
    kind: "string",
    name: "controller-directory-id",
    placeholder: "UUID",
    description: "remove-controller: the voter's directory id (kraft quorum describe shows it)",
  },
  COMMON[3]!,
];
export const QUORUM_HELP = renderHelp(
  "kraft quorum describe|add-controller|remove-controller|update-controller|plan [options]",
  [
    "describe: the metadata quorum as its leader sees it: leader, epoch, high watermark, each voter's directory id, log end offset, lag and last fetch, and the observers.",
    "add-controller --config FILE: make a running controller of a dynamic quorum (formatted with --no-initial-controllers and caught up) a voter (KIP-853 AddRaftVoter).",
    "remove-controller --controller-id N --controller-directory-id UUID: remove a voter (RemoveRaftVoter); the leader may remove itself, then resigns.",
    "Both changes go to the leader, found through --bootstrap-server, and return once the new voter set is committed.",
    "update-controller --config FILE: after a voter's controller listener changed (a new host or port), rewrite its entry of the voter set (UpdateRaftVoter, R99), which Kafka's controllers do themselves; the leader answers before the record commits.",
    "plan --from IDS --to IDS: the runbook between two controller sets, model-checked first (kraft quorum plan --help).",
  ].join("\n"),
  QUORUM_FLAGS,
);

export const runQuorum = async (argv: readonly string[], io: Io): Promise<number> => {
  if (argv[0] === "plan") {
    const { values, positional } = parseFlags(
      [
        ...PLAN_FLAGS,
        { kind: "boolean", name: "help", alias: "h", default: false, description: "show this help" },
      ],
      argv.slice(1),
    );
    if (values["help"] === true) {
      io.out(PLAN_HELP);
      return 0;
    }
    if (positional.length > 0)
      throw new UsageError(`kraft quorum plan takes no arguments, got "${positional.join(" ")}"`);
    return values["execute"] === true ? await executePlan(values, io) : runPlan(values, io);
  }
  const { values, positional } = parseFlags(QUORUM_FLAGS, argv);
  if (values["help"] === true) {
    io.out(QUORUM_HELP);
    return 0;
  }
  if (
    positional.length !== 1 ||
    !["describe", "add-controller", "remove-controller", "update-controller"].includes(positional[0]!)
  )
    throw new UsageError(
      `kraft quorum takes one subcommand: describe, add-controller, remove-controller or update-controller, got "${positional.join(" ")}"`,
    );
  if (positional[0] === "add-controller") return await addController(values, io);
  if (positional[0] === "remove-controller") return await removeController(values, io);
  if (positional[0] === "update-controller") return await updateController(values, io);
  const { answer, partition } = await describeQuorum(values, io.err);
  const highWatermark = Number(partition.highWatermark);
  const now = Date.now();
  const describe = (r: (typeof partition.currentVoters)[number]) => ({
    id: r.replicaId,
    ...(r.replicaDirectoryId === ZERO_UUID ? {} : { directoryId: r.replicaDirectoryId }),
    logEndOffset: Number(r.logEndOffset),
    lag: Math.max(0, highWatermark - Number(r.logEndOffset)),
    lastFetchTimestamp: Number(r.lastFetchTimestamp),
    lastCaughtUpTimestamp: Number(r.lastCaughtUpTimestamp),
  });
  const voters = partition.currentVoters.map(describe);
  const observers = partition.observers.map(describe);
  if (values["json"] === true) {
    io.out(
      JSON.stringify({
        leaderId: partition.leaderId,
        leaderEpoch: partition.leaderEpoch,
        highWatermark,
        kraftVersion: kraftVersionOf(partition.currentVoters),
        voters,
        observers,
        nodes: answer.nodes.map((n) => ({ id: n.nodeId, listeners: n.listeners })),
      }),
    );
    return 0;
  }
  const ago = (t: number) => (t < 0 ? "-" : `${Math.max(0, now - t)} ms ago`);
  const kraftVersion = kraftVersionOf(partition.currentVoters);
  io.out(
    `leader ${partition.leaderId}, epoch ${partition.leaderEpoch}, high watermark ${highWatermark}, kraft.version ${kraftVersion} (${kraftVersion === 1 ? "dynamic quorum" : "static voters"})`,
  );
  const endpoint = (id: number) => {
    const l = answer.nodes.find((n) => n.nodeId === id)?.listeners[0];
    return l === undefined ? "-" : `${l.host}:${l.port}`;
  };
  io.out(
    table(
      ["ROLE", "ID", "DIRECTORY ID", "ENDPOINT", "LOG END", "LAG", "LAST FETCH"],
      [
        ...voters.map((v) => [
          v.id === partition.leaderId ? "leader" : "voter",
          v.id,
          v.directoryId ?? "-",
          endpoint(v.id),
          v.logEndOffset,
          v.lag,
          v.id === partition.leaderId ? "-" : ago(v.lastFetchTimestamp),
        ]),
        ...observers.map((o) => [
          "observer",
          o.id,
          o.directoryId ?? "-",
          "-",
          o.logEndOffset,
          o.lag,
          ago(o.lastFetchTimestamp),
        ]),
      ],
    ),
  );
  return 0;
};

/**
 * R89: a dynamic quorum's voters are known by directory id (kraft.version 1); a static quorum's are
 * not (Kafka's DescribeQuorum carries no kraft.version; its ApiVersions' finalized features would).
 */
const kraftVersionOf = (voters: readonly { readonly replicaDirectoryId: string }[]): number =>
  voters.length > 0 && voters.every((v) => v.replicaDirectoryId !== ZERO_UUID) ? 1 : 0;

/** A controller's id, directory id and controller listeners, from its properties and its meta.properties. */
const controllerOf = (values: FlagValues, command: string) => {
  const file = values["config"] as string | undefined;
  if (file === undefined)
    throw new UsageError(`${command} needs --config FILE (the controller's properties)`);
  const config = readControllerConfig(file);
  let directoryId: string;
  try {
    directoryId = readMetaProperties(config.logDir).directoryId;
  } catch (error) {
    throw new UsageError(
      `${config.logDir}: ${(error as Error).message} (format and start the controller first)`,
    );
  }
  return { config, directoryId, listeners: controllerListeners(config) };
};

const addController = async (values: FlagValues, io: Io): Promise<number> => {
  const { config, directoryId, listeners } = controllerOf(values, "add-controller");
  const timeoutMs = values["timeout"] as number;
  const leaderId = await changeVoters(
    values,
    AddRaftVoterRequest,
    AddRaftVoterResponse,
    () => ({
      clusterId: null,
      timeoutMs,
      voterId: config.nodeId,
      voterDirectoryId: directoryId,
      listeners,
      ackWhenCommitted: true,
    }),
    io.err,
  );
  io.out(
    values["json"] === true
      ? JSON.stringify({ added: { id: config.nodeId, directoryId }, leaderId })
      : `added controller ${config.nodeId} (directory ${directoryId}) to the voters; leader ${leaderId} committed the new set`,
  );
  return 0;
};

const removeController = async (values: FlagValues, io: Io): Promise<number> => {
  const id = values["controller-id"] as number | undefined;
  const directoryId = values["controller-directory-id"] as string | undefined;
  if (id === undefined || directoryId === undefined)
    throw new UsageError(
      "remove-controller needs --controller-id N and --controller-directory-id UUID (kraft quorum describe shows both)",
    );
  if (!isKafkaUuid(directoryId))
    throw new UsageError(
      `--controller-directory-id "${directoryId}" is not a directory id (22 base64url characters)`,
    );
  const leaderId = await changeVoters(
    values,
    RemoveRaftVoterRequest,
    RemoveRaftVoterResponse,
    () => ({
      clusterId: null,
      voterId: id,
      voterDirectoryId: directoryId,
    }),
    io.err,
  );
  io.out(
    values["json"] === true
      ? JSON.stringify({ removed: { id, directoryId }, leaderId })
      : `removed controller ${id} (directory ${directoryId}) from the voters; leader ${leaderId} committed the new set`,
  );
  return 0;
};

/**
 * R99: rewrite a voter's own entry (its controller listener, its kraft.version range) through the
 * leader, as Kafka's controllers do themselves when their listeners change; the leader appends the
 * VotersRecord and answers before it commits.
 */
const updateController = async (values: FlagValues, io: Io): Promise<number> => {
  const { config, directoryId, listeners } = controllerOf(values, "update-controller");
  const { leaderId, leaderEpoch, address } = await leaderAddress(values, io.err);
  const answer = await ask(
    { ...values, "bootstrap-server": address },
    UpdateRaftVoterRequest,
    UpdateRaftVoterResponse,
    () => ({
      clusterId: null,
      currentLeaderEpoch: leaderEpoch,
      voterId: config.nodeId,
      voterDirectoryId: directoryId,
      listeners,
      kRaftVersionFeature: { minSupportedVersion: 0, maxSupportedVersion: 1 },
    }),
    { write: true },
  );
  if (answer.errorCode !== KafkaError.NONE)
    throw new AdminFailure(
      `leader ${leaderId} refused: ${refusal(answer.errorCode, null)}${answer.errorCode === KafkaError.VOTER_NOT_FOUND ? ` (controller ${config.nodeId} with directory ${directoryId} is not a voter)` : answer.errorCode === KafkaError.REQUEST_TIMED_OUT ? " (another voter change is pending: retry)" : ""}`,
    );
  const endpoint = listeners.map((l) => `${l.name}://${l.host}:${l.port}`).join(",");
  io.out(
    values["json"] === true
      ? JSON.stringify({ updated: { id: config.nodeId, directoryId, listeners }, leaderId, leaderEpoch })
      : `controller ${config.nodeId}'s entry now names ${endpoint}; leader ${leaderId} appended the voter set (it commits shortly)`,
  );
  return 0;
};

// ---- topics ------------------------------------------------------------------------------------

export const TOPICS_FLAGS: readonly FlagSpec[] = [
  ...COMMON.slice(0, 3),
  { kind: "string", name: "topic", placeholder: "NAME", description: "the topic (create, describe, delete)" },
  {
    kind: "integer",
    name: "partitions",
    min: 1,
    max: 100000,
    placeholder: "N",
    description: "create: partitions (default: the controller's num.partitions)",
  },
  {
    kind: "integer",
    name: "replication-factor",
    min: 1,
    max: 32767,
    placeholder: "N",
    description: "create: replicas per partition (default: the controller's)",
  },
  { kind: "string", name: "config", placeholder: "K=V,...", description: "create: topic configs" },
  COMMON[3]!,
];

export const TOPICS_HELP = renderHelp(
  "kraft topics create|list|describe|delete [options]",
  "Create, list, describe and delete topics.",
  TOPICS_FLAGS,
  [
    "examples:",
    "  kraft topics create --topic orders --partitions 6 --replication-factor 3",
    "  kraft topics describe --topic orders --json",
  ],
);

/** A topic's partitions as the cluster's metadata describes them. */
interface TopicDescription {
  readonly name: string;
  readonly topicId: string;
  readonly partitions: readonly {
    readonly partitionId: number;
    readonly leader: number;
    readonly leaderEpoch: number;
    readonly replicas: readonly number[];
    readonly isr: readonly number[];
  }[];
}

/** Metadata of every topic (null) or of some, in name order; a broker serves it, not a controller. */
const describeTopics = async (
  values: FlagValues,
  names: readonly string[] | null,
  say: (line: string) => void,
): Promise<TopicDescription[]> => {
  const answer = await ask(
    values,
    MetadataRequest,
    MetadataResponse,
    () => ({
      ...MetadataRequest.defaults(),
      topics: names === null ? null : names.map((name) => ({ topicId: ZERO_UUID, name })),
      allowAutoTopicCreation: false,
    }),
    // A broker still loading its metadata answers LEADER_NOT_AVAILABLE for each topic. A partition's
    // own LEADER_NOT_AVAILABLE (no replica alive) is what there is to show, not a reason to wait.
    { electing: (a) => readRetryError(...a.topics.map((t) => t.errorCode)), say },
  );
  const found: TopicDescription[] = [];
  for (const t of answer.topics) {
    if (t.errorCode === KafkaError.UNKNOWN_TOPIC_OR_PARTITION) continue;
    if (t.errorCode !== KafkaError.NONE)
      throw new AdminFailure(`topic ${t.name ?? t.topicId}: ${refusal(t.errorCode, null)}`, t.errorCode);
    found.push({
      name: t.name ?? "",
      topicId: t.topicId,
      partitions: t.partitions
        .map((p) => ({
          partitionId: p.partitionIndex,
          leader: p.leaderId,
          leaderEpoch: p.leaderEpoch,
          replicas: p.replicaNodes,
          isr: p.isrNodes,
        }))
        .sort((x, y) => x.partitionId - y.partitionId),
    });
  }
  return found.sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0));
};

/** DescribeConfigs' source of a value set on the topic itself (DYNAMIC_TOPIC_CONFIG). */
const TOPIC_CONFIG_SOURCE = 1;

/** The configurations set on a topic itself (not defaults, not the brokers'), in name order. */
const topicConfigs = async (
  values: FlagValues,
  topic: string,
  say: (line: string) => void,
): Promise<{ name: string; value: string | null }[]> => {
  const answer = await ask(
    values,
    DescribeConfigsRequest,
    DescribeConfigsResponse,
    () => ({
      ...DescribeConfigsRequest.defaults(),
      resources: [{ resourceType: 2, resourceName: topic, configurationKeys: null }],
    }),
    { electing: (a) => readRetryError(a.results[0]?.errorCode), say },
  );
  const result = answer.results[0];
  if (result === undefined) throw new AdminFailure(`${server(values)} described no configs of ${topic}`);
  if (result.errorCode !== KafkaError.NONE)
    throw new AdminFailure(refusal(result.errorCode, result.errorMessage), result.errorCode);
  return result.configs
    .filter((c) => c.configSource === TOPIC_CONFIG_SOURCE)
    .map((c) => ({ name: c.name, value: c.value }))
    .sort((x, y) => (x.name < y.name ? -1 : 1));
};

export const runTopics = async (argv: readonly string[], io: Io): Promise<number> => {
  const { values, positional } = parseFlags(TOPICS_FLAGS, argv);
  if (values["help"] === true) {
    io.out(TOPICS_HELP);
    return 0;
  }
  const json = values["json"] === true;
  const topic = values["topic"] as string | undefined;
  const need = (): string => {
    if (topic === undefined) throw new UsageError(`kraft topics ${positional[0]} needs --topic NAME`);
    return topic;
  };
  switch (positional[0]) {
    case "create": {
      const name = need();
      const configs = ((values["config"] as string | undefined) ?? "")
        .split(",")
        .filter((c) => c.length > 0)
        .map((c) => {
          const i = c.indexOf("=");
          if (i <= 0) throw new UsageError(`--config: "${c}" is not key=value`);
          return { name: c.slice(0, i), value: c.slice(i + 1) };
        });
      const answer = await ask(
        values,
        CreateTopicsRequest,
        CreateTopicsResponse,
        () => ({
          ...CreateTopicsRequest.defaults(),
          topics: [
            {
              name,
              numPartitions: (values["partitions"] as number | undefined) ?? -1,
              replicationFactor: (values["replication-factor"] as number | undefined) ?? -1,
              assignments: [],
              configs,
            },
          ],
          timeoutMs: values["timeout"] as number,
          validateOnly: false,
        }),
        // Kafka's admin client asks again on NOT_CONTROLLER too: the standby that answered it took
        // nothing; a controller that lost its place meanwhile may still commit the topic, and then
        // the next try answers TOPIC_ALREADY_EXISTS, as Kafka's does.
        { write: true, electing: (a) => electionError(a.topics[0]?.errorCode), say: io.err },
      );
      const result = answer.topics[0];
      if (result === undefined)
        throw new AdminFailure(`${server(values)} answered CreateTopics with no topic`);
      const outcome = {
        name: result.name,
        topicId: result.topicId,
        errorCode: errorName(result.errorCode),
        errorMessage: result.errorMessage,
        numPartitions: result.numPartitions,
        replicationFactor: result.replicationFactor,
      };
      if (json) io.out(JSON.stringify(outcome));
      if (result.errorCode !== KafkaError.NONE) {
        if (!json) io.err(`kraft topics create: ${refusal(result.errorCode, result.errorMessage)}`);
        return 1;
      }
      if (!json)
        io.out(
          `created topic ${result.name} (id ${result.topicId}) with ${result.numPartitions} partition(s), replication factor ${result.replicationFactor}`,
        );
      return 0;
    }
    case "delete": {
      const name = need();
      const answer = await ask(
        values,
        DeleteTopicsRequest,
        DeleteTopicsResponse,
        (version) => ({
          ...DeleteTopicsRequest.defaults(),
          // v6 names topics by name or id; before, by name only.
          ...(version >= 6 ? { topics: [{ name, topicId: ZERO_UUID }] } : { topicNames: [name] }),
          timeoutMs: values["timeout"] as number,
        }),
        { write: true, electing: (a) => electionError(a.responses[0]?.errorCode), say: io.err },
      );
      const result = answer.responses[0];
      if (result === undefined)
        throw new AdminFailure(`${server(values)} answered DeleteTopics with no topic`);
      if (json)
        io.out(
          JSON.stringify({
            name: result.name,
            topicId: result.topicId,
            errorCode: errorName(result.errorCode),
            errorMessage: result.errorMessage,
          }),
        );
      if (result.errorCode !== KafkaError.NONE) {
        if (!json) io.err(`kraft topics delete: ${refusal(result.errorCode, result.errorMessage)}`);
        return 1;
      }
      if (!json) io.out(`deleted topic ${result.name}`);
      return 0;
    }
    case "list": {
      const topics = await describeTopics(values, null, io.err);
      if (json) {
        io.out(
          JSON.stringify({
            topics: topics.map((t) => ({
              name: t.name,
              topicId: t.topicId,
              partitions: t.partitions.length,
            })),
          }),
        );
        return 0;
      }
      io.out(
        topics.length === 0
          ? "no topics"
          : table(
              ["TOPIC", "ID", "PARTITIONS"],
              topics.map((t) => [t.name, t.topicId, t.partitions.length]),
            ),
      );
      return 0;
    }
    case "describe": {
      const name = need();
      const [described] = await describeTopics(values, [name], io.err);
      if (described === undefined) {
        io.err(`kraft topics describe: UNKNOWN_TOPIC_OR_PARTITION: topic ${name} does not exist`);
        return 1;
      }
      const configs = await topicConfigs(values, name, io.err);
      if (json) {
        io.out(JSON.stringify({ ...described, configs }));
        return 0;
      }
      io.out(
        `topic ${described.name}  id ${described.topicId}  partitions ${described.partitions.length}${configs.length > 0 ? `  configs ${configs.map((c) => `${c.name}=${c.value}`).join(",")}` : ""}`,
      );
      io.out(
        table(
          ["PARTITION", "LEADER", "LEADER EPOCH", "REPLICAS", "ISR"],
          described.partitions.map((p) => [
            p.partitionId,
            p.leader,
            p.leaderEpoch,
            p.replicas.join(","),
            p.isr.join(","),
          ]),
        ),
      );
      return 0;
    }
    default:
      throw new UsageError(
        `kraft topics takes create, list, describe or delete, got "${positional.join(" ")}"`,
      );
  }
};

// ---- brokers -------------------------------------------------------------------------------------

export const BROKERS_FLAGS = COMMON;
export const BROKERS_HELP = renderHelp(
  "kraft brokers list [--bootstrap-server HOST:PORT] [--json]",
  "The registered brokers and their state.",
  BROKERS_FLAGS,
);

/** DescribeCluster's endpoint type for brokers (KIP-919). */
const BROKER_ENDPOINTS = 1;

export const runBrokers = async (argv: readonly string[], io: Io): Promise<number> => {
  const { values, positional } = parseFlags(BROKERS_FLAGS, argv);
  if (values["help"] === true) {
    io.out(BROKERS_HELP);
    return 0;
  }
  if (positional[0] !== "list")
    throw new UsageError(`kraft brokers takes the subcommand "list", got "${positional.join(" ")}"`);
  const answer = await ask(
    values,
    DescribeClusterRequest,
    DescribeClusterResponse,
    () => ({
      ...DescribeClusterRequest.defaults(),
      endpointType: BROKER_ENDPOINTS,
      includeFencedBrokers: true,
    }),
    { electing: (a) => readRetryError(a.errorCode), say: io.err },
  );
  if (answer.errorCode !== KafkaError.NONE)
    throw new AdminFailure(refusal(answer.errorCode, answer.errorMessage), answer.errorCode);
  const brokers = answer.brokers
    .map((b) => ({ id: b.brokerId, host: b.host, port: b.port, rack: b.rack, fenced: b.isFenced }))
    .sort((x, y) => x.id - y.id);
  // A broker's DescribeCluster names a broker as "controller" (Kafka's compatibility choice), not the
  // active controller: quorum describe tells that.
  if (values["json"] === true) {
    io.out(JSON.stringify({ clusterId: answer.clusterId, brokers }));
    return 0;
  }
  io.out(`cluster ${answer.clusterId}`);
  io.out(
    table(
      ["ID", "STATE", "ENDPOINT", "RACK"],
      brokers.map((b) => [b.id, b.fenced ? "fenced" : "unfenced", `${b.host}:${b.port}`, b.rack ?? "-"]),
    ),
  );
  return 0;
};
