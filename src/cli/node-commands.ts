// `kraft format`, `kraft random-cluster-id` and `kraft start`: prepare a data directory and run one
// node (controller, broker, or both) until SIGTERM or SIGINT, then stop it cleanly.

import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import * as Cause from "effect/Cause";
import * as Effect from "effect/Effect";
import * as Exit from "effect/Exit";
import * as Option from "effect/Option";
import * as Scope from "effect/Scope";
import {
  ConfigError,
  type NodeConfig,
  nodeConfigFrom,
  PROPERTIES,
  parseProperties,
} from "../runtime/config.ts";
import { kraftNode, liveLayer } from "../runtime/layers.ts";
import { makeLog } from "../runtime/log.ts";
import type { KraftNode } from "../runtime/node.ts";
import { META_PROPERTIES, writeMetaProperties } from "../runtime/storage.ts";
import { type FlagSpec, parseFlags, renderHelp, UsageError } from "./flags.ts";

export interface Io {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
}

/** A new cluster id: a random UUID in Kafka's base64url form. */
export const randomClusterId = (): string => randomBytes(16).toString("base64url");

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
    kind: "boolean",
    name: "ignore-formatted",
    default: false,
    description: "do nothing if DIR is already formatted",
  },
  { kind: "boolean", name: "help", alias: "h", default: false, description: "show this help" },
];

export const FORMAT_HELP = renderHelp(
  "kraft format --cluster-id ID --node-id N --dir DIR",
  "Write meta.properties into an empty data directory, making it a node of cluster ID.",
  FORMAT_FLAGS,
);

/** Format a data directory; returns what it did. */
export const formatDirectory = (
  dir: string,
  clusterId: string,
  nodeId: number,
  ignoreFormatted: boolean,
): "formatted" | "already formatted" => {
  if (!CLUSTER_ID.test(clusterId))
    throw new UsageError(
      `--cluster-id "${clusterId}" is not a cluster id (22 base64url characters; kraft random-cluster-id makes one)`,
    );
  // A format killed before its rename leaves only meta.properties.tmp: that directory was never
  // formatted, and formatting it again is safe (atomicWrite replaces the temporary file).
  const interrupted = (name: string) => name === `${META_PROPERTIES}.tmp`;
  if (existsSync(dir) && readdirSync(dir).some((name) => !interrupted(name))) {
    if (ignoreFormatted && existsSync(`${dir}/meta.properties`)) return "already formatted";
    throw new UsageError(
      `${dir} is not empty; format only empty directories (or pass --ignore-formatted to skip formatted ones)`,
    );
  }
  mkdirSync(dir, { recursive: true });
  writeMetaProperties(dir, { clusterId, nodeId, directoryId: randomBytes(16).toString("base64url") });
  return "formatted";
};

export const runFormat = (argv: readonly string[], io: Io): number => {
  const { values } = parseFlags(FORMAT_FLAGS, argv);
  if (values["help"] === true) {
    io.out(FORMAT_HELP);
    return 0;
  }
  const clusterId = values["cluster-id"] as string | undefined;
  const nodeId = values["node-id"] as number | undefined;
  const dir = values["dir"] as string | undefined;
  if (clusterId === undefined || nodeId === undefined || dir === undefined) {
    throw new UsageError("--cluster-id, --node-id and --dir are required");
  }
  const done = formatDirectory(dir, clusterId, nodeId, values["ignore-formatted"] === true);
  io.out(
    done === "formatted"
      ? `formatted ${dir} as node ${nodeId} of cluster ${clusterId}`
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

export const runStart = async (argv: readonly string[], io: Io): Promise<number> => {
  const { values } = parseFlags(START_FLAGS, argv);
  if (values["help"] === true) {
    io.out(START_HELP);
    return 0;
  }
  const file = values["config"] as string | undefined;
  if (file === undefined) throw new UsageError("--config FILE is required");
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new UsageError(`cannot read ${file}: ${(error as Error).message}`);
  }
  let node: KraftNode | undefined;
  const context: Record<string, unknown> = {};
  // Every line carries the node's role and epoch as they are when it is written.
  const log = makeLog(() => {
    if (node === undefined) return context;
    const s = node.status();
    return { ...context, role: s.role, epoch: s.epoch };
  });
  let config: NodeConfig;
  try {
    config = nodeConfigFrom(parseProperties(text));
  } catch (error) {
    if (error instanceof ConfigError) throw new UsageError(`${file}: ${error.message}`);
    throw error;
  }
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
