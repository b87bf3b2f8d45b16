// Node configuration in Kafka's property names and defaults (server.properties), parsed and
// validated once: an unknown or invalid property is an error that names it. The table below is the
// single source of the accepted properties; `kraft start --help` prints it.
import { DEFAULT_CONTROLLER_CONFIG } from "../../spec/metadata/controller.ts";
import { DEFAULT_SNAPSHOT_POLICY, type SnapshotPolicy } from "../../spec/node/node.ts";
import { DEFAULT_TIMEOUTS } from "../../spec/raft/state.ts";
import { MAX_FRAME_BYTES } from "./codec.ts";

export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

export type Role = "controller" | "broker";

export interface Listener {
  readonly name: string;
  readonly host: string;
  readonly port: number;
}

export interface VoterAddress {
  readonly id: number;
  readonly host: string;
  readonly port: number;
}

export interface NodeConfig {
  readonly nodeId: number;
  readonly roles: readonly Role[];
  /** controller.quorum.voters: a static quorum (kraft.version 0); empty with bootstrap servers. */
  readonly voters: readonly VoterAddress[];
  /**
   * controller.quorum.bootstrap.servers (KIP-853): where a node of a dynamic quorum (kraft.version 1)
   * first asks for the voters; empty with controller.quorum.voters.
   */
  readonly bootstrapServers: readonly { readonly host: string; readonly port: number }[];
  /** CONTROLLER (controllers) and PLAINTEXT (brokers) listeners. */
  readonly listeners: readonly Listener[];
  /**
   * advertised.listeners: where other nodes and clients reach a listener, by name (empty: where it is
   * bound, as `listeners` names it).
   */
  readonly advertisedListeners: readonly Listener[];
  /**
   * controller.listener.names: the listeners controllers serve Raft and brokers on. A controller binds
   * each; every node reaches controllers by the first (Kafka's rule).
   */
  readonly controllerListenerNames: readonly string[];
  /** The first of controllerListenerNames: the one this node dials controllers on. */
  readonly controllerListenerName: string;
  readonly logDir: string;
  readonly electionTimeoutMs: number;
  readonly electionBackoffMaxMs: number;
  readonly fetchTimeoutMs: number;
  readonly fetchMaxWaitMs: number;
  readonly retryBackoffMs: number;
  readonly requestTimeoutMs: number;
  readonly sessionTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
  readonly noOpIntervalMs: number;
  readonly numPartitions: number;
  readonly defaultReplicationFactor: number;
  readonly segmentBytes: number;
  /** R131: when this node snapshots its image. */
  readonly snapshotPolicy: SnapshotPolicy;
  /** R80: metadata.max.retention.bytes and .ms: how much log below the newest snapshot is kept. */
  readonly retentionBytes: number;
  readonly retentionMs: number;
  /** The transport's limits (Kafka's names): what one peer or all of them may hold of this node. */
  readonly limits: TransportLimits;
  /** openkraft.metrics.port: Prometheus text format over HTTP; 0 = off. */
  readonly metricsPort: number;
  readonly metricsHost: string;
  /** openkraft.trace.file: record an NDJSON trace of every reducer step ("" = off). */
  readonly traceFile: string;
  /** R150: controller.quorum.auto.join.enable: an observer controller asks to become a voter. */
  readonly autoJoin: boolean;
}

export interface TransportLimits {
  /** socket.request.max.bytes: the largest frame a connection may send. */
  readonly maxFrameBytes: number;
  /** max.connections: inbound connections open at once; past it, new ones are closed. */
  readonly maxConnections: number;
  /** connections.max.idle.ms: an inbound connection with no traffic this long is closed. */
  readonly connectionsMaxIdleMs: number;
  /**
   * queued.max.request.bytes: bytes of partly received frames held over all connections; past it,
   * connections are not read until some of it is freed.
   */
  readonly queuedMaxRequestBytes: number;
  /**
   * queued.max.requests: client requests taken in and not yet answered; past it, the client
   * listeners are not read until some are answered.
   */
  readonly queuedMaxRequests: number;
}

interface PropertyDef {
  readonly name: string;
  readonly default?: string;
  readonly description: string;
}

/** Every property `kraft start` accepts, with Kafka's defaults. */
export const PROPERTIES: readonly PropertyDef[] = [
  { name: "node.id", description: "this node's id (required)" },
  { name: "process.roles", description: "controller, broker, or controller,broker (required)" },
  {
    name: "controller.quorum.voters",
    description: "a static quorum's voters, id@host:port,... (this or controller.quorum.bootstrap.servers)",
  },
  {
    name: "controller.quorum.bootstrap.servers",
    description:
      "a dynamic quorum's controllers to ask first, host:port,... (KIP-853; the voters live in the log)",
  },
  {
    name: "controller.quorum.auto.join.enable",
    default: "false",
    description:
      "a dynamic quorum's controller that is not a voter asks the leader to add it (first removing an entry of its id with another directory id)",
  },
  {
    name: "listeners",
    description: "NAME://host:port,... e.g. CONTROLLER://:9093,PLAINTEXT://:9092 (required)",
  },
  {
    name: "advertised.listeners",
    default: "",
    description:
      "NAME://host:port,... where others reach a listener when it differs from where it is bound (e.g. CONTROLLER://node1.example:9093 for a listener bound to 0.0.0.0); unnamed listeners are reached where listeners says",
  },
  {
    name: "controller.listener.names",
    default: "CONTROLLER",
    description:
      "the listeners controllers serve Raft and brokers on, comma-separated; every node reaches controllers by the first",
  },
  {
    name: "log.dirs",
    description: "where the metadata log, quorum-state and meta.properties live (required)",
  },
  { name: "metadata.log.dir", description: "overrides log.dirs for the metadata log" },
  {
    name: "controller.quorum.election.timeout.ms",
    default: String(DEFAULT_TIMEOUTS.electionTimeoutMs),
    description: "R7",
  },
  {
    name: "controller.quorum.election.backoff.max.ms",
    default: String(DEFAULT_TIMEOUTS.electionBackoffMaxMs),
    description: "R7",
  },
  {
    name: "controller.quorum.fetch.timeout.ms",
    default: String(DEFAULT_TIMEOUTS.fetchTimeoutMs),
    description: "R7",
  },
  {
    name: "controller.quorum.fetch.max.wait.ms",
    default: String(DEFAULT_TIMEOUTS.fetchMaxWaitMs),
    description: "how long the leader holds an idle Fetch",
  },
  {
    name: "controller.quorum.retry.backoff.ms",
    default: String(DEFAULT_TIMEOUTS.retryBackoffMs),
    description: "R7",
  },
  {
    name: "controller.quorum.request.timeout.ms",
    default: "2000",
    description: "the transport gives up on a request after this",
  },
  {
    name: "broker.session.timeout.ms",
    default: String(DEFAULT_CONTROLLER_CONFIG.sessionTimeoutMs),
    description: "R118",
  },
  { name: "broker.heartbeat.interval.ms", default: "2000", description: "R115" },
  {
    name: "metadata.max.idle.interval.ms",
    default: String(DEFAULT_CONTROLLER_CONFIG.noOpIntervalMs),
    description: "R105",
  },
  { name: "num.partitions", default: "1", description: "partitions of a topic created with -1" },
  {
    name: "default.replication.factor",
    default: "1",
    description: "replication factor of a topic created with -1",
  },
  {
    name: "metadata.log.segment.bytes",
    default: "8388608",
    description: "roll a metadata log segment past this size",
  },
  {
    name: "metadata.log.max.record.bytes.between.snapshots",
    default: String(DEFAULT_SNAPSHOT_POLICY.maxBytesBetween),
    description: "R131: snapshot the image once this many bytes of records were committed since the last one",
  },
  {
    name: "metadata.log.max.snapshot.interval.ms",
    default: String(DEFAULT_SNAPSHOT_POLICY.maxIntervalMs),
    description:
      "R131: snapshot the image this long after the last one if anything was committed since; 0 = never",
  },
  {
    name: "metadata.max.retention.bytes",
    default: "104857600",
    description: "R80: move the log start to the newest snapshot once the log below it holds more",
  },
  {
    name: "metadata.max.retention.ms",
    default: "604800000",
    description: "R80: move the log start to the newest snapshot once the oldest record below it is older",
  },
  {
    name: "socket.request.max.bytes",
    default: String(MAX_FRAME_BYTES),
    description: "the largest frame a connection may send; a longer one closes the connection",
  },
  {
    name: "max.connections",
    default: "1000",
    description: "inbound connections open at once; past it, new ones are closed (Kafka: unbounded)",
  },
  {
    name: "connections.max.idle.ms",
    default: "600000",
    description: "an inbound connection with no traffic this long is closed",
  },
  {
    name: "queued.max.requests",
    default: "500",
    description:
      "client requests taken in and not yet answered; past it, client listeners are not read until some are answered",
  },
  {
    name: "queued.max.request.bytes",
    default: "268435456",
    description:
      "bytes of partly received frames held over all connections; past it, reading waits (Kafka: unbounded)",
  },
  {
    name: "openkraft.metrics.port",
    default: "0",
    description: "serve Prometheus metrics on this port (0: off)",
  },
  { name: "openkraft.metrics.host", default: "127.0.0.1", description: "the metrics listener's address" },
  { name: "openkraft.trace.file", default: "", description: "record every reducer step as NDJSON here" },
];

/** Where others reach listener `name`: its advertised.listeners entry, else where it is bound (Kafka's rule). */
export const advertisedListener = (
  config: Pick<NodeConfig, "listeners" | "advertisedListeners">,
  name: string,
): Listener | undefined =>
  config.advertisedListeners.find((l) => l.name === name) ?? config.listeners.find((l) => l.name === name);

/**
 * R95, R99, R150: the listeners a controller names for itself in a voter change and in its entry of a
 * dynamic voter set: each of its controller listeners where others reach it, in the order of
 * controller.listener.names (Kafka's effectiveAdvertisedControllerListeners).
 */
export const controllerListeners = (config: NodeConfig): Listener[] =>
  config.controllerListenerNames.flatMap((name) => {
    const l = advertisedListener(config, name);
    return l === undefined ? [] : [{ name: l.name, host: l.host, port: l.port }];
  });

/** Whether listener `name` is one controllers serve Raft and brokers on (controller.listener.names). */
export const isControllerListener = (config: NodeConfig, name: string): boolean =>
  config.controllerListenerNames.includes(name);

/** The addresses that name no one host: a listener bound there must be advertised elsewhere. */
const UNROUTABLE_HOSTS = new Set(["0.0.0.0", "::"]);

/** Parse Java properties text: key=value or key: value lines, # and ! comments. */
export const parseProperties = (text: string): Map<string, string> => {
  const out = new Map<string, string>();
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line.length === 0 || line.startsWith("#") || line.startsWith("!")) return;
    const match = /^([^=:\s]+)\s*[=:]\s*(.*)$/.exec(line);
    if (match === null) throw new ConfigError(`line ${i + 1}: "${line}" is not key=value`);
    out.set(match[1]!, match[2]!.trim());
  });
  return out;
};

const int = (
  props: Map<string, string>,
  name: string,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number => {
  const raw = props.get(name) ?? PROPERTIES.find((p) => p.name === name)?.default;
  if (raw === undefined) throw new ConfigError(`${name} is required`);
  if (!/^-?\d+$/.test(raw)) throw new ConfigError(`${name} must be a whole number, not "${raw}"`);
  const n = Number(raw);
  if (n < min || n > max) throw new ConfigError(`${name} must be between ${min} and ${max}, not ${n}`);
  return n;
};

const required = (props: Map<string, string>, name: string): string => {
  const value = props.get(name);
  if (value === undefined || value.length === 0) throw new ConfigError(`${name} is required`);
  return value;
};

const hostPort = (text: string, what: string): { host: string; port: number } => {
  const match = /^(\[[^\]]+\]|[^:]*):(\d+)$/.exec(text);
  if (match === null) throw new ConfigError(`${what}: "${text}" is not host:port`);
  const port = Number(match[2]);
  if (port > 65535) throw new ConfigError(`${what}: port ${port} is above 65535`);
  return { host: match[1]!.length === 0 ? "127.0.0.1" : match[1]!.replace(/^\[|\]$/g, ""), port };
};

/** Validate a parsed properties file into a node configuration. */
export const nodeConfigFrom = (props: Map<string, string>): NodeConfig => {
  for (const key of props.keys()) {
    if (!PROPERTIES.some((p) => p.name === key)) {
      throw new ConfigError(`unknown property ${key} (kraft start --help lists the accepted ones)`);
    }
  }
  const nodeId = int(props, "node.id", 0, 2147483647);
  const roles = required(props, "process.roles")
    .split(",")
    .map((r) => r.trim());
  for (const role of roles) {
    if (role !== "controller" && role !== "broker") {
      throw new ConfigError(`process.roles: "${role}" is not controller or broker`);
    }
  }
  if (new Set(roles).size !== roles.length) throw new ConfigError("process.roles names a role twice");
  const staticVoters = props.get("controller.quorum.voters") ?? "";
  const bootstrapText = props.get("controller.quorum.bootstrap.servers") ?? "";
  if (staticVoters.length > 0 === bootstrapText.length > 0)
    throw new ConfigError(
      "give exactly one of controller.quorum.voters (a static quorum) and controller.quorum.bootstrap.servers (a dynamic quorum, formatted with --standalone, --initial-controllers or --no-initial-controllers)",
    );
  const voters =
    staticVoters.length === 0
      ? []
      : staticVoters.split(",").map((entry) => {
          const match = /^(\d+)@(.+)$/.exec(entry.trim());
          if (match === null)
            throw new ConfigError(`controller.quorum.voters: "${entry}" is not id@host:port`);
          return { id: Number(match[1]), ...hostPort(match[2]!, "controller.quorum.voters") };
        });
  const bootstrapServers =
    bootstrapText.length === 0
      ? []
      : bootstrapText
          .split(",")
          .map((entry) => hostPort(entry.trim(), "controller.quorum.bootstrap.servers"));
  if (new Set(voters.map((v) => v.id)).size !== voters.length) {
    throw new ConfigError("controller.quorum.voters names a voter twice");
  }
  const isController = roles.includes("controller");
  if (isController && voters.length > 0 && !voters.some((v) => v.id === nodeId)) {
    throw new ConfigError(`node ${nodeId} is a controller but not in controller.quorum.voters`);
  }
  if (!isController && voters.some((v) => v.id === nodeId)) {
    throw new ConfigError(
      `node ${nodeId} is in controller.quorum.voters but process.roles has no controller`,
    );
  }
  const listenerList = (name: string, text: string): Listener[] =>
    text
      .split(",")
      .filter((entry) => entry.trim().length > 0)
      .map((entry) => {
        const match = /^([A-Z_]+):\/\/(.*)$/.exec(entry.trim());
        if (match === null) throw new ConfigError(`${name}: "${entry}" is not NAME://host:port`);
        return { name: match[1]!, ...hostPort(match[2]!, name) };
      });
  const listeners = listenerList("listeners", required(props, "listeners"));
  const advertisedListeners = listenerList("advertised.listeners", props.get("advertised.listeners") ?? "");
  for (const a of advertisedListeners) {
    if (!listeners.some((l) => l.name === a.name))
      throw new ConfigError(
        `advertised.listeners names ${a.name}, which listeners does not define (${listeners.map((l) => l.name).join(", ")}): advertise only listeners this node has`,
      );
    if (UNROUTABLE_HOSTS.has(a.host))
      throw new ConfigError(
        `advertised.listeners: ${a.name}://${a.host}:${a.port} is the nonroutable meta-address ${a.host}: advertise a host others can reach`,
      );
  }
  const controllerListenerNames = (props.get("controller.listener.names") ?? "CONTROLLER")
    .split(",")
    .map((n) => n.trim())
    .filter((n) => n.length > 0);
  const controllerListenerName = controllerListenerNames[0];
  if (controllerListenerName === undefined)
    throw new ConfigError(
      "controller.listener.names is empty: name the controller listener (e.g. CONTROLLER)",
    );
  const repeated = controllerListenerNames.find((n, i) => controllerListenerNames.indexOf(n) !== i);
  if (repeated !== undefined)
    throw new ConfigError(`controller.listener.names names ${repeated} twice: name each listener once`);
  // As Kafka's KafkaConfig: a controller binds every controller listener; a broker alone binds none.
  if (isController) {
    const missing = controllerListenerNames.filter((n) => !listeners.some((l) => l.name === n));
    if (missing.length > 0)
      throw new ConfigError(
        `listeners needs ${missing.map((n) => `a ${n}:// listener`).join(" and ")} on a controller (controller.listener.names lists ${controllerListenerNames.join(", ")})`,
      );
  } else {
    const bound = listeners.filter((l) => controllerListenerNames.includes(l.name));
    if (bound.length > 0)
      throw new ConfigError(
        `listeners names ${bound.map((l) => l.name).join(", ")}, a controller listener (controller.listener.names), but process.roles has no controller: a broker only dials controllers there; remove it from listeners`,
      );
  }
  if (roles.includes("broker") && !listeners.some((l) => !controllerListenerNames.includes(l.name))) {
    throw new ConfigError("listeners needs a client listener (e.g. PLAINTEXT://:9092) on a broker");
  }
  // R99, R150: a dynamic quorum's voter set names each controller where others reach it (Kafka refuses
  // an advertised 0.0.0.0 for any controller; openkraft's static voters are named by
  // controller.quorum.voters instead, so only a dynamic quorum needs it).
  for (const name of isController && bootstrapServers.length > 0 ? controllerListenerNames : []) {
    const controllerAdvertised = advertisedListener({ listeners, advertisedListeners }, name);
    if (controllerAdvertised !== undefined && UNROUTABLE_HOSTS.has(controllerAdvertised.host))
      throw new ConfigError(
        `listeners: ${name}://${controllerAdvertised.host}:${controllerAdvertised.port} is bound to the nonroutable meta-address ${controllerAdvertised.host}, which the voter set would name for this controller: set advertised.listeners=${name}://<a host others reach>:${controllerAdvertised.port}`,
      );
  }
  const logDir = props.get("metadata.log.dir") ?? required(props, "log.dirs").split(",")[0]!.trim();
  // R150: as Kafka's KafkaConfig, only a controller may auto-join, and only a dynamic quorum has one.
  const autoJoin = bool(props, "controller.quorum.auto.join.enable");
  if (autoJoin && !isController)
    throw new ConfigError(
      "controller.quorum.auto.join.enable is for controllers: process.roles has no controller; remove it",
    );
  if (autoJoin && bootstrapServers.length === 0)
    throw new ConfigError(
      "controller.quorum.auto.join.enable needs a dynamic quorum (controller.quorum.bootstrap.servers): with controller.quorum.voters the voter set is static",
    );
  return {
    nodeId,
    roles: roles as Role[],
    voters,
    bootstrapServers,
    listeners,
    advertisedListeners,
    controllerListenerNames,
    controllerListenerName,
    logDir,
    electionTimeoutMs: int(props, "controller.quorum.election.timeout.ms", 1),
    electionBackoffMaxMs: int(props, "controller.quorum.election.backoff.max.ms", 0),
    fetchTimeoutMs: int(props, "controller.quorum.fetch.timeout.ms", 1),
    fetchMaxWaitMs: int(props, "controller.quorum.fetch.max.wait.ms", 0),
    retryBackoffMs: int(props, "controller.quorum.retry.backoff.ms", 0),
    requestTimeoutMs: int(props, "controller.quorum.request.timeout.ms", 1),
    sessionTimeoutMs: int(props, "broker.session.timeout.ms", 1),
    heartbeatIntervalMs: int(props, "broker.heartbeat.interval.ms", 1),
    noOpIntervalMs: int(props, "metadata.max.idle.interval.ms", 0),
    numPartitions: int(props, "num.partitions", 1),
    defaultReplicationFactor: int(props, "default.replication.factor", 1, 32767),
    segmentBytes: int(props, "metadata.log.segment.bytes", 1024),
    snapshotPolicy: {
      maxBytesBetween: int(props, "metadata.log.max.record.bytes.between.snapshots", 1),
      maxIntervalMs: int(props, "metadata.log.max.snapshot.interval.ms", 0),
    },
    retentionBytes: int(props, "metadata.max.retention.bytes", 0),
    retentionMs: int(props, "metadata.max.retention.ms", 0),
    limits: limitsFrom(props),
    metricsPort: int(props, "openkraft.metrics.port", 0, 65535),
    metricsHost: props.get("openkraft.metrics.host") ?? "127.0.0.1",
    traceFile: props.get("openkraft.trace.file") ?? "",
    autoJoin,
  };
};

const bool = (props: Map<string, string>, name: string): boolean => {
  const raw = props.get(name) ?? PROPERTIES.find((p) => p.name === name)?.default ?? "false";
  if (raw !== "true" && raw !== "false") throw new ConfigError(`${name} must be true or false, not "${raw}"`);
  return raw === "true";
};

/** The limits at their defaults (tests and tools that build a transport without a configuration). */
export const DEFAULT_LIMITS: TransportLimits = {
  maxFrameBytes: MAX_FRAME_BYTES,
  maxConnections: 1000,
  connectionsMaxIdleMs: 600_000,
  queuedMaxRequestBytes: 268_435_456,
  queuedMaxRequests: 500,
};

const limitsFrom = (props: Map<string, string>): TransportLimits => {
  const limits = {
    maxFrameBytes: int(props, "socket.request.max.bytes", 1024, 2147483647),
    maxConnections: int(props, "max.connections", 1, 2147483647),
    connectionsMaxIdleMs: int(props, "connections.max.idle.ms", 1, 2147483647),
    queuedMaxRequestBytes: int(props, "queued.max.request.bytes", 1024, 2147483647),
    queuedMaxRequests: int(props, "queued.max.requests", 1, 2147483647),
  };
  // One frame must fit in what may be held, or a large one could never be read.
  if (limits.queuedMaxRequestBytes < limits.maxFrameBytes)
    throw new ConfigError(
      `queued.max.request.bytes (${limits.queuedMaxRequestBytes}) is below socket.request.max.bytes (${limits.maxFrameBytes}): one frame could never be held; raise it or lower socket.request.max.bytes`,
    );
  return limits;
};

/** Render a configuration back to properties (what `kraft cluster up` writes for each node). */
export const renderProperties = (entries: readonly (readonly [string, string | number])[]): string =>
  `${entries.map(([k, v]) => `${k}=${v}`).join("\n")}\n`;
