// Admin commands against a running cluster, through any node: `kraft quorum describe`,
// `kraft topics create|list|describe|delete`, `kraft brokers list`. Each prints a table, or with
// --json one JSON document; a refusal exits 1 with the controller's error code and message.
import type { BrokerRegistration, ConfigEntry, TopicImage } from "../../spec/metadata/image.ts";
import type { ControllerResponse } from "../../spec/metadata/requests.ts";
import type { NodeResponse, WireRequest } from "../runtime/codec.ts";
import { ClientError, OUTCOME_UNKNOWN, requestOnce } from "./client.ts";
import { type FlagSpec, type FlagValues, parseFlags, renderHelp, UsageError } from "./flags.ts";
import type { Io } from "./node-commands.ts";

const COMMON: readonly FlagSpec[] = [
  {
    kind: "string",
    name: "bootstrap-server",
    placeholder: "HOST:PORT",
    description: "any controller or broker (default 127.0.0.1:19091, the first node of kraft cluster up)",
  },
  {
    kind: "integer",
    name: "timeout",
    min: 100,
    max: 600_000,
    default: 10_000,
    placeholder: "MS",
    description: "how long to wait for an answer",
  },
  { kind: "boolean", name: "json", default: false, description: "print one JSON document" },
  { kind: "boolean", name: "help", alias: "h", default: false, description: "show this help" },
];

const server = (values: FlagValues): string =>
  (values["bootstrap-server"] as string | undefined) ?? "127.0.0.1:19091";

const ask = async (values: FlagValues, request: WireRequest): Promise<NodeResponse> => {
  try {
    return await requestOnce(server(values), request, values["timeout"] as number);
  } catch (error) {
    if (error instanceof ClientError) throw new AdminFailure(error.message);
    throw error;
  }
};

export class AdminFailure extends Error {
  override readonly name = "AdminFailure";
}

const adminBody = <T>(response: NodeResponse): T => {
  if (response._tag !== "AdminResponse") throw new AdminFailure(`unexpected answer ${response._tag}`);
  if (response.errorCode !== "NONE")
    throw new AdminFailure(
      `${response.errorCode}${response.errorMessage === null ? "" : `: ${response.errorMessage}`}${response.errorCode === "REQUEST_TIMED_OUT" ? OUTCOME_UNKNOWN : ""}`,
    );
  return response.body as T;
};

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

export const QUORUM_FLAGS = COMMON;
export const QUORUM_HELP = renderHelp(
  "kraft quorum describe [--bootstrap-server HOST:PORT] [--json]",
  "The metadata quorum as its leader sees it: leader, epoch, high watermark, each voter's log end offset, lag and last fetch, and the observers.",
  QUORUM_FLAGS,
);

interface ReplicaStatus {
  readonly replicaId: number;
  readonly logEndOffset: number;
  readonly lastFetchTimestamp: number;
  readonly lastCaughtUpTimestamp: number;
}

interface QuorumBody {
  readonly leaderId: number;
  readonly leaderEpoch: number;
  readonly highWatermark: number;
  readonly currentVoters: readonly ReplicaStatus[];
  readonly observers: readonly ReplicaStatus[];
}

export const runQuorum = async (argv: readonly string[], io: Io): Promise<number> => {
  const { values, positional } = parseFlags(QUORUM_FLAGS, argv);
  if (values["help"] === true) {
    io.out(QUORUM_HELP);
    return 0;
  }
  if (positional[0] !== "describe")
    throw new UsageError(`kraft quorum takes the subcommand "describe", got "${positional.join(" ")}"`);
  const body = adminBody<QuorumBody>(await ask(values, { _tag: "DescribeQuorumAdminRequest" }));
  const now = Date.now();
  const describe = (r: ReplicaStatus) => ({
    id: r.replicaId,
    logEndOffset: r.logEndOffset,
    lag: Math.max(0, body.highWatermark - r.logEndOffset),
    lastFetchTimestamp: r.lastFetchTimestamp,
    lastCaughtUpTimestamp: r.lastCaughtUpTimestamp,
  });
  const voters = body.currentVoters.map(describe);
  const observers = body.observers.map(describe);
  if (values["json"] === true) {
    io.out(
      JSON.stringify({
        leaderId: body.leaderId,
        leaderEpoch: body.leaderEpoch,
        highWatermark: body.highWatermark,
        voters,
        observers,
      }),
    );
    return 0;
  }
  const ago = (t: number) => (t < 0 ? "-" : `${Math.max(0, now - t)} ms ago`);
  io.out(`leader ${body.leaderId}, epoch ${body.leaderEpoch}, high watermark ${body.highWatermark}`);
  io.out(
    table(
      ["ROLE", "ID", "LOG END", "LAG", "LAST FETCH"],
      [
        ...voters.map((v) => [
          v.id === body.leaderId ? "leader" : "voter",
          v.id,
          v.logEndOffset,
          v.lag,
          v.id === body.leaderId ? "-" : ago(v.lastFetchTimestamp),
        ]),
        ...observers.map((o) => ["observer", o.id, o.logEndOffset, o.lag, ago(o.lastFetchTimestamp)]),
      ],
    ),
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

const controllerAnswer = (response: NodeResponse): ControllerResponse => {
  if (response._tag === "AdminResponse")
    throw new AdminFailure(
      `${response.errorCode}${response.errorMessage === null ? "" : `: ${response.errorMessage}`}${response.errorCode === "REQUEST_TIMED_OUT" ? OUTCOME_UNKNOWN : ""}`,
    );
  return response;
};

interface TopicsBody {
  readonly metadataOffset: number;
  readonly topics: readonly TopicImage[];
  readonly configs: readonly ConfigEntry[];
}

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
      const configs = ((values["config"] as string | undefined) ?? "")
        .split(",")
        .filter((c) => c.length > 0)
        .map((c) => {
          const i = c.indexOf("=");
          if (i <= 0) throw new UsageError(`--config: "${c}" is not key=value`);
          return { name: c.slice(0, i), value: c.slice(i + 1) };
        });
      const response = controllerAnswer(
        await ask(values, {
          _tag: "CreateTopicsRequest",
          validateOnly: false,
          topics: [
            {
              name: need(),
              numPartitions: (values["partitions"] as number | undefined) ?? -1,
              replicationFactor: (values["replication-factor"] as number | undefined) ?? -1,
              assignments: [],
              configs,
            },
          ],
        }),
      );
      const result = response._tag === "CreateTopicsResponse" ? response.topics[0] : undefined;
      if (result === undefined) throw new AdminFailure(`unexpected answer ${response._tag}`);
      if (json) io.out(JSON.stringify(result));
      if (result.errorCode !== "NONE") {
        if (!json) io.err(`kraft topics create: ${result.errorCode}: ${result.errorMessage ?? ""}`);
        return 1;
      }
      if (!json)
        io.out(
          `created topic ${result.name} (id ${result.topicId}) with ${result.numPartitions} partition(s), replication factor ${result.replicationFactor}`,
        );
      return 0;
    }
    case "delete": {
      const response = controllerAnswer(
        await ask(values, { _tag: "DeleteTopicsRequest", topics: [{ name: need(), topicId: null }] }),
      );
      const result = response._tag === "DeleteTopicsResponse" ? response.responses[0] : undefined;
      if (result === undefined) throw new AdminFailure(`unexpected answer ${response._tag}`);
      if (json) io.out(JSON.stringify(result));
      if (result.errorCode !== "NONE") {
        if (!json) io.err(`kraft topics delete: ${result.errorCode}: ${result.errorMessage ?? ""}`);
        return 1;
      }
      if (!json) io.out(`deleted topic ${result.name}`);
      return 0;
    }
    case "list":
    case "describe": {
      const wanted = positional[0] === "describe" ? [need()] : null;
      const body = adminBody<TopicsBody>(await ask(values, { _tag: "ListTopicsRequest", topics: wanted }));
      if (positional[0] === "describe" && body.topics.length === 0) {
        io.err(`kraft topics describe: UNKNOWN_TOPIC_OR_PARTITION: topic ${topic} does not exist`);
        return 1;
      }
      if (json) {
        io.out(
          JSON.stringify(
            positional[0] === "list"
              ? {
                  topics: body.topics.map((t) => ({
                    name: t.name,
                    topicId: t.topicId,
                    partitions: t.partitions.length,
                  })),
                }
              : body,
          ),
        );
        return 0;
      }
      if (positional[0] === "list") {
        io.out(
          body.topics.length === 0
            ? "no topics"
            : table(
                ["TOPIC", "ID", "PARTITIONS"],
                body.topics.map((t) => [t.name, t.topicId, t.partitions.length]),
              ),
        );
        return 0;
      }
      for (const t of body.topics) {
        const configs = body.configs
          .filter((c) => c.resourceName === t.name)
          .map((c) => `${c.name}=${c.value}`);
        io.out(
          `topic ${t.name}  id ${t.topicId}  partitions ${t.partitions.length}${configs.length > 0 ? `  configs ${configs.join(",")}` : ""}`,
        );
        io.out(
          table(
            ["PARTITION", "LEADER", "LEADER EPOCH", "REPLICAS", "ISR"],
            t.partitions.map((p) => [
              p.partitionId,
              p.leader,
              p.leaderEpoch,
              p.replicas.join(","),
              p.isr.join(","),
            ]),
          ),
        );
      }
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

export const runBrokers = async (argv: readonly string[], io: Io): Promise<number> => {
  const { values, positional } = parseFlags(BROKERS_FLAGS, argv);
  if (values["help"] === true) {
    io.out(BROKERS_HELP);
    return 0;
  }
  if (positional[0] !== "list")
    throw new UsageError(`kraft brokers takes the subcommand "list", got "${positional.join(" ")}"`);
  const body = adminBody<{ clusterId: string; controllerId: number; brokers: readonly BrokerRegistration[] }>(
    await ask(values, { _tag: "DescribeClusterRequest" }),
  );
  if (values["json"] === true) {
    io.out(JSON.stringify(body));
    return 0;
  }
  io.out(`cluster ${body.clusterId}, active controller ${body.controllerId}`);
  io.out(
    table(
      ["ID", "EPOCH", "STATE", "ENDPOINTS"],
      body.brokers.map((b) => [
        b.id,
        b.epoch,
        b.fenced ? "fenced" : b.inControlledShutdown ? "shutting down" : "unfenced",
        b.endPoints.map((e) => `${e.name}://${e.host}:${e.port}`).join(","),
      ]),
    ),
  );
  return 0;
};
