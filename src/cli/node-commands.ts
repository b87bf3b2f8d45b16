// `kraft format`, `kraft random-cluster-id` and `kraft start`: prepare a data directory and run one
// node (controller, broker, or both) until SIGTERM or SIGINT, then stop it cleanly.

import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import * as Cause from "effect/Cause";
import * as Effect from "effect/Effect";
import * as Exit from "effect/Exit";
import * as Option from "effect/Option";
import * as Scope from "effect/Scope";
import { SUPPORTED_KRAFT_VERSIONS } from "../../spec/raft/primitives.ts";
import type { VoterEndpoint } from "../kafka/metadata-records.ts";
import { isKafkaUuid, randomUuid, ZERO_UUID } from "../kafka/wire.ts";
import {
  ConfigError,
  controllerListeners,
  type NodeConfig,
  nodeConfigFrom,
  PROPERTIES,
  parseProperties,
} from "../runtime/config.ts";
import { kraftNode, liveLayer } from "../runtime/layers.ts";
import { makeLog } from "../runtime/log.ts";
import type { KraftNode } from "../runtime/node.ts";
import { BOOTSTRAP_CHECKPOINT, SnapshotStore } from "../runtime/snapshots.ts";
import { liveDisk, META_PROPERTIES, writeMetaProperties } from "../runtime/storage.ts";
import { type FlagSpec, parseFlags, renderHelp, UsageError } from "./flags.ts";

export interface Io {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
}

/** A new cluster id: a random UUID in Kafka's base64url form. */
export const randomClusterId = (): string => randomUuid(() => randomBytes(16));

const CLUSTER_ID = /^[A-Za-z0-9_-]{22}$/;

export const FORMAT_FLAGS: readonly FlagSpec[] = [
  {
    kind: "string",
    name: "cluster-id",
    placeholder: "ID",
    description: "the cluster's id (kraft random-cluster-id makes one)",
  },
  {
    kind: "integer",
    name: "node-id",
    min: 0,
    max: 2147483647,
    placeholder: "N",
    description: "this node's id",
  },
  { kind: "string", name: "dir", placeholder: "DIR", description: "the data directory (log.dirs)" },
  {
    kind: "string",
    name: "config",
    placeholder: "FILE",
    description: "the node's properties file: node.id, log.dirs and the controller listener come from it",
  },
  {
    kind: "boolean",
    name: "ignore-formatted",
    default: false,
    description: "do nothing if DIR is already formatted",
  },
  {
    kind: "boolean",
    name: "standalone",
    default: false,
    description: "dynamic quorum (kraft.version 1): this controller is the only voter (needs --config)",
  },
  {
    kind: "string",
    name: "initial-controllers",
    placeholder: "LIST",
    description: "dynamic quorum: the first voters, id@host:port:directoryId,... (this node among them)",
  },
  {
    kind: "boolean",
    name: "no-initial-controllers",
    default: false,
    description: "dynamic quorum: this controller joins an existing one as an observer",
  },
  { kind: "boolean", name: "help", alias: "h", default: false, description: "show this help" },
];

export const FORMAT_HELP = renderHelp(
  "kraft format --cluster-id ID (--node-id N --dir DIR | --config FILE) [--standalone | --initial-controllers LIST | --no-initial-controllers]",
  "Write meta.properties into an empty data directory, making it a node of cluster ID. Without a quorum flag the controllers are static (controller.quorum.voters, kraft.version 0); with one, the quorum is dynamic (KIP-853, kraft.version 1): the bootstrap checkpoint holds its first voters, and the nodes name controller.quorum.bootstrap.servers.",
  FORMAT_FLAGS,
);

/** R92: how a dynamic quorum's node is formatted (absent: a static quorum, kraft.version 0). */
export type QuorumBootstrap =
  | {
      readonly _tag: "Voters";
      /** The first voters with their controller endpoints; this node's directory id is its entry's. */
      readonly voters: readonly {
        readonly id: number;
        readonly directoryId: string;
        readonly endpoint: VoterEndpoint;
      }[];
    }
  /** Joins as an observer; the voters come from the bootstrap servers. */
  | { readonly _tag: "Observer" };

/** Parse --initial-controllers: id@host:port:directoryId,... */
export const parseInitialControllers = (
  text: string,
  listenerName: string,
): Extract<QuorumBootstrap, { _tag: "Voters" }> => {
  const voters = text.split(",").map((entry) => {
    const match = /^(\d+)@(\[[^\]]+\]|[^:@]+):(\d+):([A-Za-z0-9_-]{22})$/.exec(entry.trim());
    if (match === null || Number(match[3]) > 65535)
      throw new UsageError(
        `--initial-controllers: "${entry}" is not id@host:port:directoryId (a directory id is 22 base64url characters; kraft random-cluster-id makes one)`,
      );
    if (!isKafkaUuid(match[4]!))
      throw new UsageError(
        `--initial-controllers: "${match[4]}" is not a Kafka UUID as Kafka prints one (its last character carries 4 spare bits, which must be zero); kraft random-cluster-id makes one`,
      );
    if (match[4] === ZERO_UUID)
      throw new UsageError(`--initial-controllers: "${entry}" has the zero directory id; give each its own`);
    return {
      id: Number(match[1]),
      directoryId: match[4]!,
      endpoint: { name: listenerName, host: match[2]!.replace(/^\[|\]$/g, ""), port: Number(match[3]) },
    };
  });
  if (new Set(voters.map((v) => v.id)).size !== voters.length)
    throw new UsageError("--initial-controllers names a controller twice");
  if (new Set(voters.map((v) => v.directoryId)).size !== voters.length)
    throw new UsageError("--initial-controllers gives two controllers one directory id");
  return { _tag: "Voters", voters };
};

/** Format a data directory; returns what it did. */
export const formatDirectory = (
  dir: string,
  clusterId: string,
  nodeId: number,
  ignoreFormatted: boolean,
  quorum?: QuorumBootstrap,
): "formatted" | "already formatted" => {
  if (!CLUSTER_ID.test(clusterId))
    throw new UsageError(
      `--cluster-id "${clusterId}" is not a cluster id (22 base64url characters; kraft random-cluster-id makes one)`,
    );
  // A format killed before its rename leaves only meta.properties.tmp: that directory was never
  // formatted, and formatting it again is safe (atomicWrite replaces the temporary file).
  // So does one killed after its bootstrap checkpoint and before meta.properties, written last.
  const metadataDir = join(dir, "__cluster_metadata-0");
  const interrupted = (name: string) =>
    name === `${META_PROPERTIES}.tmp` ||
    (name === "__cluster_metadata-0" &&
      !existsSync(join(dir, META_PROPERTIES)) &&
      readdirSync(metadataDir).every((f) => f.startsWith(BOOTSTRAP_CHECKPOINT)));
  if (existsSync(dir) && readdirSync(dir).some((name) => !interrupted(name))) {
    if (ignoreFormatted && existsSync(`${dir}/meta.properties`)) return "already formatted";
    throw new UsageError(
      `${dir} is not empty; format only empty directories (or pass --ignore-formatted to skip formatted ones)`,
    );
  }
  let directoryId = randomUuid(() => randomBytes(16));
  if (quorum?._tag === "Voters") {
    const self = quorum.voters.find((v) => v.id === nodeId);
    if (self === undefined)
      throw new UsageError(
        `node ${nodeId} is not among the initial controllers (${quorum.voters.map((v) => v.id).join(", ")}); format it with --no-initial-controllers to join as an observer`,
      );
    directoryId = self.directoryId;
  }
  mkdirSync(dir, { recursive: true });
  // R92: the bootstrap checkpoint first: a directory is formatted once meta.properties exists.
  if (quorum !== undefined) {
    liveDisk.mkdirp(metadataDir);
    new SnapshotStore(metadataDir, liveDisk).writeBootstrap(
      quorum._tag === "Observer"
        ? { kraftVersion: 1 }
        : {
            kraftVersion: 1,
            // R90: each entry with its controller listener and the kraft.version range 0 to 1, as
            // Kafka's formatter writes them.
            voters: quorum.voters.map((v) => ({
              id: v.id,
              directoryId: v.directoryId,
              listeners: [v.endpoint],
              supportedKraftVersions: SUPPORTED_KRAFT_VERSIONS,
            })),
          },
      Date.now(),
    );
  }
  writeMetaProperties(dir, { clusterId, nodeId, directoryId });
  return "formatted";
};

export const runFormat = (argv: readonly string[], io: Io): number => {
  const { values } = parseFlags(FORMAT_FLAGS, argv);
  if (values["help"] === true) {
    io.out(FORMAT_HELP);
    return 0;
  }
  const clusterId = values["cluster-id"] as string | undefined;
  const configFile = values["config"] as string | undefined;
  const config = configFile === undefined ? undefined : readNodeConfig(configFile);
  const nodeId = (values["node-id"] as number | undefined) ?? config?.nodeId;
  const dir = (values["dir"] as string | undefined) ?? config?.logDir;
  if (clusterId === undefined || nodeId === undefined || dir === undefined) {
    throw new UsageError("--cluster-id is required, and --node-id and --dir (or --config)");
  }
  if (config !== undefined && config.nodeId !== nodeId)
    throw new UsageError(`--node-id ${nodeId} differs from node.id ${config.nodeId} in ${configFile}`);
  const chosen = ["standalone", "no-initial-controllers"].filter((f) => values[f] === true);
  if (values["initial-controllers"] !== undefined) chosen.push("initial-controllers");
  if (chosen.length > 1)
    throw new UsageError(
      `--${chosen.join(" and --")} exclude each other: choose one way to start the quorum`,
    );
  const listenerName = config?.controllerListenerName ?? "CONTROLLER";
  let quorum: QuorumBootstrap | undefined;
  if (values["standalone"] === true) {
    // As Kafka's StorageTool: the controller listener where others reach it (advertised.listeners).
    const listener = config === undefined ? undefined : controllerListeners(config)[0];
    if (config === undefined || listener === undefined)
      throw new UsageError(
        "--standalone needs --config FILE naming this controller's listener (listeners=CONTROLLER://host:port)",
      );
    const directoryId = randomUuid(() => randomBytes(16));
    quorum = {
      _tag: "Voters",
      voters: [
        {
          id: nodeId,
          directoryId,
          endpoint: { name: listenerName, host: listener.host, port: listener.port },
        },
      ],
    };
  } else if (values["initial-controllers"] !== undefined) {
    quorum = parseInitialControllers(values["initial-controllers"] as string, listenerName);
  } else if (values["no-initial-controllers"] === true) {
    quorum = { _tag: "Observer" };
  }
  if (quorum !== undefined && config !== undefined && config.bootstrapServers.length === 0)
    throw new UsageError(
      `${configFile} names static voters (controller.quorum.voters): a dynamic quorum's nodes name controller.quorum.bootstrap.servers instead`,
    );
  if (
    quorum === undefined &&
    config !== undefined &&
    config.bootstrapServers.length > 0 &&
    config.roles.includes("controller")
  )
    throw new UsageError(
      `${configFile} sets controller.quorum.bootstrap.servers (a dynamic quorum): format this controller with --standalone, --initial-controllers or --no-initial-controllers`,
    );
  const done = formatDirectory(dir, clusterId, nodeId, values["ignore-formatted"] === true, quorum);
  io.out(
    done === "formatted"
      ? `formatted ${dir} as node ${nodeId} of cluster ${clusterId}${quorum === undefined ? "" : quorum._tag === "Observer" ? " (dynamic quorum, kraft.version 1: joins as an observer)" : ` (dynamic quorum, kraft.version 1: first voters ${quorum.voters.map((v) => `${v.id}:${v.directoryId}`).join(", ")})`}`
      : `${dir} is already formatted; left as it is`,
  );
  return 0;
};

export const START_FLAGS: readonly FlagSpec[] = [
  {
    kind: "string",
    name: "config",
    placeholder: "FILE",
    description: "the node's properties file (Kafka's names)",
  },
  { kind: "boolean", name: "help", alias: "h", default: false, description: "show this help" },
];

export const START_HELP = renderHelp(
  "kraft start --config FILE",
  "Run one node until SIGTERM or SIGINT, then stop gracefully (a broker's controlled shutdown, a leader's resignation; a second signal stops at once); logs are JSON lines on stderr.",
  START_FLAGS,
  [
    "properties (Kafka's names and defaults):",
    ...PROPERTIES.map(
      (p) => `  ${p.name.padEnd(44)}${p.default === undefined ? "" : `[${p.default}] `}${p.description}`,
    ),
  ],
);

/** A node's properties file as its configuration; what is wrong is a UsageError naming the file. */
const parseNodeConfig = (file: string, text: string): NodeConfig => {
  try {
    return nodeConfigFrom(parseProperties(text));
  } catch (error) {
    if (error instanceof ConfigError) throw new UsageError(`${file}: ${error.message}`);
    throw error;
  }
};

/** Read and check a node's properties file; what is wrong is a UsageError naming the file. */
export const readNodeConfig = (file: string): NodeConfig => {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new UsageError(`cannot read ${file}: ${(error as Error).message}`);
  }
  return parseNodeConfig(file, text);
};

export const runStart = async (argv: readonly string[], io: Io): Promise<number> => {
  const { values } = parseFlags(START_FLAGS, argv);
  if (values["help"] === true) {
    io.out(START_HELP);
    return 0;
  }
  const file = values["config"] as string | undefined;
  if (file === undefined) throw new UsageError("--config FILE is required");
  const config = readNodeConfig(file);
  let node: KraftNode | undefined;
  const context: Record<string, unknown> = {};
  // Every line carries the node's role and epoch as they are when it is written.
  const log = makeLog(() => {
    if (node === undefined) return context;
    const s = node.status();
    return { ...context, role: s.role, epoch: s.epoch };
  });
  context["node"] = config.nodeId;
  // The node is a scoped resource on the live services: if its start fails at any step (a port in
  // use, a held lock, a foreign cluster id), what it had acquired is released and it exits with one line.
  const scope = Effect.runSync(Scope.make());
  const started = await Effect.runPromiseExit(
    kraftNode(config).pipe(Scope.provide(scope), Effect.provide(liveLayer(log))),
  );
  if (Exit.isFailure(started)) {
    await Effect.runPromise(Scope.close(scope, started));
    const failure = Cause.findErrorOption(started.cause);
    if (Option.isSome(failure)) {
      io.err(`kraft start: ${failure.value.message}`);
      return 1;
    }
    throw Cause.squash(started.cause);
  }
  node = started.value;
  const running = node;
  return await new Promise<number>((resolve) => {
    let done = false;
    const finish = (code: number) => {
      if (done) return;
      done = true;
      resolve(code);
    };
    running.onFatal.push(() => {
      void running.close().then(() => finish(1));
    });
    // A first signal stops gracefully (a broker's controlled shutdown, a leader's resignation); a second
    // one stops at once. Under kraft cluster up (KRAFT_SUPERVISED=1) a terminal's Ctrl-C reaches every
    // process of the group: the supervisor stops the nodes in order, so a node leaves SIGINT to it.
    const supervised = process.env["KRAFT_SUPERVISED"] === "1";
    let signals = 0;
    const stop = (signal: NodeJS.Signals) => {
      if (signal === "SIGINT" && supervised) {
        log.info("SIGINT left to the supervisor (kraft cluster up), which stops the nodes in order");
        return;
      }
      signals++;
      if (signals === 1) {
        log.info("stopping gracefully; a second signal stops at once", { signal });
        void running.stop().then(() => finish(0));
      } else {
        log.warn("stopping at once", { signal });
        running.hurryStop();
      }
    };
    process.on("SIGTERM", stop);
    process.on("SIGINT", stop);
  });
};
