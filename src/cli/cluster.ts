// `kraft cluster up`: format and start a local cluster as separate processes (controllers 1..C,
// brokers C+1..C+B), supervise them, print the endpoints and the quorum once a leader is elected,
// and stop them all cleanly on Ctrl-C or SIGTERM. A directory that already holds a cluster is
// restarted from its data (the metadata log is recovered from disk).
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { requestOnce } from "../kafka/client.ts";
import {
  DescribeClusterRequest,
  DescribeClusterResponse,
  DescribeQuorumRequest,
  DescribeQuorumResponse,
} from "../kafka/generated/messages.ts";
import { randomUuid } from "../kafka/wire.ts";
import { renderProperties } from "../runtime/config.ts";
import { lockHolder } from "../runtime/storage.ts";
import { type FlagSpec, parseFlags, renderHelp, UsageError } from "./flags.ts";
import { formatDirectory, type Io, type QuorumBootstrap, randomClusterId } from "./node-commands.ts";

export const CLUSTER_FLAGS: readonly FlagSpec[] = [
  {
    kind: "integer",
    name: "controllers",
    min: 1,
    max: 7,
    default: 3,
    description: "controller processes (the Raft voters)",
  },
  { kind: "integer", name: "brokers", min: 0, max: 16, default: 3, description: "broker processes" },
  {
    kind: "string",
    name: "dir",
    default: ".kraft/cluster",
    placeholder: "DIR",
    description: "where the nodes keep their data and logs",
  },
  {
    kind: "integer",
    name: "base-port",
    min: 1024,
    max: 65000,
    default: 19090,
    placeholder: "P",
    description: "node N listens on P+N, its metrics on P+100+N",
  },
  {
    kind: "boolean",
    name: "dynamic-quorum",
    default: false,
    description:
      "KIP-853: controllers found through controller.quorum.bootstrap.servers, the voter set in the log (kraft.version 1), changed with kraft quorum add-controller|remove-controller",
  },
  {
    kind: "boolean",
    name: "fast",
    default: false,
    description: "10x shorter timeouts (elections, fetches, sessions) than Kafka's defaults",
  },
  {
    kind: "boolean",
    name: "json",
    default: false,
    description:
      'JSON lines on stdout: first {"clusterId","nodes":[{id,roles,address,pid,metrics,log}]}, then {"event":"leader",leaderId,leaderEpoch,highWatermark} for the first leader and each newer one',
  },
  { kind: "boolean", name: "help", alias: "h", default: false, description: "show this help" },
];

export const CLUSTER_HELP = renderHelp(
  "kraft cluster up [options]",
  "Start a local KRaft cluster (each node a process running the spec reducers) and supervise it until Ctrl-C: a node that exits is reported with the end of its log, and each new leader once it has committed in its epoch.",
  CLUSTER_FLAGS,
  [
    "examples:",
    "  kraft cluster up",
    "  kraft cluster up --controllers 1 --brokers 1 --dir /tmp/k1",
    "  kraft cluster up --json --fast",
    "  kraft cluster up --dynamic-quorum   (then: kraft quorum add-controller|remove-controller)",
  ],
);

export interface ClusterNode {
  readonly id: number;
  readonly roles: string;
  readonly address: string;
  readonly metrics: string;
  readonly dir: string;
  readonly config: string;
}

interface ClusterFile {
  readonly clusterId: string;
  readonly nodes: readonly ClusterNode[];
}

/** The kraft command's entry point, for starting node processes. */
export const kraftBin = fileURLToPath(new URL("../../bin/kraft.js", import.meta.url));

/** Timeouts for `--fast`: a tenth of Kafka's defaults. */
export const FAST_TIMEOUTS: readonly (readonly [string, number])[] = [
  ["controller.quorum.election.timeout.ms", 100],
  ["controller.quorum.election.backoff.max.ms", 100],
  ["controller.quorum.fetch.timeout.ms", 200],
  ["controller.quorum.fetch.max.wait.ms", 50],
  ["controller.quorum.request.timeout.ms", 200],
  ["broker.session.timeout.ms", 900],
  ["broker.heartbeat.interval.ms", 200],
];

/** Write each node's data directory and properties; reuse what an earlier run left. */
/**
 * How the controllers form their quorum: static voters (controller.quorum.voters, kraft.version 0), or
 * a dynamic quorum (KIP-853) whose first `initialVoters` controllers are the initial voters and the
 * others join as observers, to be added with kraft quorum add-controller.
 */
export type QuorumShape =
  | { readonly _tag: "Static" }
  | { readonly _tag: "Dynamic"; readonly initialVoters: number };

export const prepareCluster = (
  dir: string,
  controllers: number,
  brokers: number,
  basePort: number,
  extra: readonly (readonly [string, string | number])[] = [],
  quorum: QuorumShape = { _tag: "Static" },
): ClusterFile => {
  const root = resolve(dir);
  const file = join(root, "cluster.json");
  if (existsSync(file)) {
    const existing = JSON.parse(readFileSync(file, "utf8")) as ClusterFile;
    const c = existing.nodes.filter((n) => n.roles === "controller").length;
    if (c !== controllers || existing.nodes.length - c !== brokers) {
      throw new UsageError(
        `${root} holds a cluster of ${c} controllers and ${existing.nodes.length - c} brokers; use another --dir for a different shape`,
      );
    }
    return existing;
  }
  mkdirSync(root, { recursive: true });
  const clusterId = randomClusterId();
  const voters = Array.from({ length: controllers }, (_, i) => `${i + 1}@127.0.0.1:${basePort + i + 1}`).join(
    ",",
  );
  const initial: QuorumBootstrap | undefined =
    quorum._tag === "Static"
      ? undefined
      : {
          _tag: "Voters",
          voters: Array.from({ length: quorum.initialVoters }, (_, i) => ({
            id: i + 1,
            directoryId: randomUuid(() => randomBytes(16)),
            endpoint: { name: "CONTROLLER", host: "127.0.0.1", port: basePort + i + 1 },
          })),
        };
  const quorumProperty: readonly [string, string] =
    quorum._tag === "Static"
      ? ["controller.quorum.voters", voters]
      : [
          "controller.quorum.bootstrap.servers",
          Array.from({ length: controllers }, (_, i) => `127.0.0.1:${basePort + i + 1}`).join(","),
        ];
  const nodes: ClusterNode[] = [];
  for (let id = 1; id <= controllers + brokers; id++) {
    const controller = id <= controllers;
    const nodeDir = join(root, `node-${id}`);
    const data = join(nodeDir, "data");
    formatDirectory(
      data,
      clusterId,
      id,
      false,
      !controller || initial === undefined
        ? undefined
        : id <= initial.voters.length
          ? initial
          : { _tag: "Observer" },
    );
    const port = basePort + id;
    const config = join(nodeDir, "server.properties");
    writeFileSync(
      config,
      renderProperties([
        ["node.id", id],
        ["process.roles", controller ? "controller" : "broker"],
        quorumProperty,
        // Kafka's tools (kafka-metadata-quorum add-controller) read it from the file, default or not.
        ["controller.listener.names", "CONTROLLER"],
        ["listeners", controller ? `CONTROLLER://127.0.0.1:${port}` : `PLAINTEXT://127.0.0.1:${port}`],
        ["log.dirs", data],
        ["openkraft.metrics.port", basePort + 100 + id],
        ...extra,
      ]),
    );
    nodes.push({
      id,
      roles: controller ? "controller" : "broker",
      address: `127.0.0.1:${port}`,
      metrics: `http://127.0.0.1:${basePort + 100 + id}/metrics`,
      dir: nodeDir,
      config,
    });
  }
  const cluster = { clusterId, nodes };
  writeFileSync(file, `${JSON.stringify(cluster, null, 2)}\n`);
  return cluster;
};

/** Start one node process; its log goes to node.log in its directory. */
/** The last `n` lines of a file ("" when it cannot be read). */
const lastLines = (file: string, n: number): string[] => {
  try {
    return readFileSync(file, "utf8").trimEnd().split("\n").slice(-n);
  } catch {
    return [];
  }
};

/**
 * V8 flags for a node process: a young generation of 2 MB semi-spaces (the default grows to 16 MB)
 * keeps an idle node's resident memory about 11 MB lower (bench:cluster then: 87 -> 76 MB), for more
 * scavenges under a burst of writes. The log store's batch and fetch encoding allocate once per
 * batch so that this costs nothing measurable: bench:cluster's medians of 5 runs give 23.5k records/s
 * and 14-21 µs of CPU per record, as before the flag and those changes (22.5k, 13.5-21 µs). V8 fixes
 * the limit at start; a node run by hand takes the flags it is given.
 */
export const NODE_PROCESS_FLAGS: readonly string[] = ["--max-semi-space-size=2"];

export const startNodeProcess = (node: ClusterNode): ChildProcess => {
  const logFile = openSync(join(node.dir, "node.log"), "a");
  return spawn(process.execPath, [...NODE_PROCESS_FLAGS, kraftBin, "start", "--config", node.config], {
    stdio: ["ignore", logFile, logFile],
    // The supervisor stops its nodes in order; a terminal's Ctrl-C to the whole group is its alone.
    env: { ...process.env, KRAFT_SUPERVISED: "1" },
  });
};

export interface QuorumSummary {
  readonly leaderId: number;
  readonly leaderEpoch: number;
  readonly highWatermark: number;
}

/**
 * Ask the nodes in turn for the quorum until one answers with a leader that has committed in its epoch.
 * With `clusterId`, only a node
 * of that cluster counts (another cluster's nodes on the same ports must not be taken for ours); with
 * `stillRunning`, the wait ends as soon as it returns false.
 */
export const waitForLeader = async (
  addresses: readonly string[],
  timeoutMs: number,
  clusterId?: string,
  stillRunning: () => boolean = () => true,
): Promise<QuorumSummary | null> => {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && stillRunning()) {
    for (const address of addresses) {
      try {
        if (clusterId !== undefined) {
          // A controller listener describes the controllers (KIP-919's endpoint type 2).
          const who = await requestOnce(
            address,
            DescribeClusterRequest,
            DescribeClusterResponse,
            { ...DescribeClusterRequest.defaults(), endpointType: 2 },
            { timeoutMs: 1000 },
          );
          if (who.errorCode !== 0 || who.clusterId !== clusterId) continue;
        }
        const quorum = await requestOnce(
          address,
          DescribeQuorumRequest,
          DescribeQuorumResponse,
          { topics: [{ topicName: "__cluster_metadata", partitions: [{ partitionIndex: 0 }] }] },
          { timeoutMs: 1000 },
        );
        const partition = quorum.topics[0]?.partitions[0];
        // A leader counts once it has committed in its epoch (before that its high watermark is -1).
        if (quorum.errorCode === 0 && partition !== undefined && partition.errorCode === 0) {
          if (partition.leaderId >= 0 && partition.highWatermark >= 0n)
            return {
              leaderId: partition.leaderId,
              leaderEpoch: partition.leaderEpoch,
              highWatermark: Number(partition.highWatermark),
            };
        }
      } catch {
        // Not up yet.
      }
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return null;
};

export const runClusterUp = async (argv: readonly string[], io: Io): Promise<number> => {
  const { values, positional } = parseFlags(CLUSTER_FLAGS, argv);
  if (values["help"] === true) {
    io.out(CLUSTER_HELP);
    return 0;
  }
  if (positional[0] !== "up" || positional.length > 1)
    throw new UsageError(`kraft cluster takes one subcommand, "up"; got "${positional.join(" ")}"`);
  const controllers = values["controllers"] as number;
  const brokers = values["brokers"] as number;
  const json = values["json"] === true;
  const cluster = prepareCluster(
    values["dir"] as string,
    controllers,
    brokers,
    values["base-port"] as number,
    values["fast"] === true ? FAST_TIMEOUTS : [],
    values["dynamic-quorum"] === true ? { _tag: "Dynamic", initialVoters: controllers } : { _tag: "Static" },
  );
  // A cluster already running from this directory: say so now, before starting nodes that could
  // only fail on its locks (and before taking its leader for ours).
  for (const node of cluster.nodes) {
    const holder = lockHolder(join(node.dir, "data"));
    if (holder !== null) {
      io.err(
        `kraft cluster: a cluster is already running from ${resolve(values["dir"] as string)} (node ${node.id} is process ${holder}); stop it first, or use another --dir`,
      );
      return 1;
    }
  }
  const children = new Map<number, ChildProcess>();
  let stopping = false;
  let finish: (code: number) => void = () => {};
  const done = new Promise<number>((resolveDone) => {
    finish = resolveDone;
  });
  const running = () => [...children.values()].filter((c) => c.exitCode === null && c.signalCode === null);
  for (const node of cluster.nodes) {
    const child = startNodeProcess(node);
    children.set(node.id, child);
    child.on("exit", (code, signal) => {
      if (stopping) return;
      const log = join(node.dir, "node.log");
      io.err(`node ${node.id} exited (${signal ?? `code ${code}`}); the end of ${log}:`);
      for (const line of lastLines(log, 5)) io.err(`  ${line}`);
      // Nothing left to supervise: say so and end, rather than wait for a Ctrl-C that stops nothing.
      if (running().length === 0) {
        io.err("every node of the cluster has exited");
        finish(1);
      }
    });
  }
  if (json) {
    io.out(
      JSON.stringify({
        clusterId: cluster.clusterId,
        nodes: cluster.nodes.map((n) => ({
          id: n.id,
          roles: n.roles,
          address: n.address,
          pid: children.get(n.id)?.pid ?? null,
          metrics: n.metrics,
          log: join(n.dir, "node.log"),
        })),
      }),
    );
  } else {
    io.out(
      `kraft cluster ${cluster.clusterId}: ${controllers} controller${controllers === 1 ? "" : "s"}, ${brokers} broker${brokers === 1 ? "" : "s"} in ${resolve(values["dir"] as string)}`,
    );
    for (const n of cluster.nodes)
      io.out(
        `  node ${n.id}  ${n.roles.padEnd(10)} ${n.address}  pid ${children.get(n.id)?.pid}  metrics ${n.metrics}`,
      );
  }
  const stopAll = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    if (!json) io.out("stopping the cluster…");
    // Brokers first (their controlled shutdown needs a controller), then controllers. Once every
    // other controller is down no successor can be elected, so the last ones are told to stop at
    // once rather than wait out their resignation (a second SIGTERM).
    const stopGroup = async (nodes: readonly ClusterNode[], hurryAfterMs: number | null): Promise<void> => {
      const running = nodes.flatMap((n) => {
        const child = children.get(n.id);
        return child === undefined || child.exitCode !== null || child.signalCode !== null ? [] : [child];
      });
      let left = running.length;
      const hurry = () => {
        for (const child of running)
          if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      };
      const hurryTimer = hurryAfterMs === null ? null : setTimeout(hurry, hurryAfterMs);
      await Promise.all(
        running.map(
          (child) =>
            new Promise<void>((resolveExit) => {
              const kill = setTimeout(() => child.kill("SIGKILL"), 10_000);
              child.once("exit", () => {
                clearTimeout(kill);
                left--;
                if (hurryAfterMs !== null && left === 1) hurry();
                resolveExit();
              });
              child.kill("SIGTERM");
            }),
        ),
      );
      if (hurryTimer !== null) clearTimeout(hurryTimer);
    };
    await stopGroup(
      cluster.nodes.filter((n) => n.roles === "broker"),
      null,
    );
    await stopGroup(
      cluster.nodes.filter((n) => n.roles !== "broker"),
      1000,
    );
    if (!json) io.out("stopped");
  };
  const onSignal = () => void stopAll().then(() => finish(0));
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  const controllerNodes = cluster.nodes.filter((n) => n.roles === "controller");
  const controllersAddresses = controllerNodes.map((n) => n.address);
  const controllersRunning = () =>
    controllerNodes.every((n) => {
      const c = children.get(n.id);
      return c !== undefined && c.exitCode === null && c.signalCode === null;
    });
  const quorum = await waitForLeader(controllersAddresses, 30_000, cluster.clusterId, controllersRunning);
  if (!stopping) {
    if (quorum === null || !controllersRunning()) {
      io.err(
        quorum === null && controllersRunning()
          ? "no leader was elected within 30 s; see the nodes' node.log files"
          : "the cluster did not form: a controller exited (above)",
      );
      await stopAll();
      return 1;
    }
    sayLeader(
      quorum,
      `. Try: kraft quorum describe --bootstrap-server ${controllersAddresses[0]}. Ctrl-C stops the cluster.`,
    );
    void watchLeader(quorum);
  }
  return done;

  /** One leader line (`--json`: an event), with `hint` after it in text. */
  function sayLeader(q: QuorumSummary, hint = ""): void {
    if (json) io.out(JSON.stringify({ event: "leader", ...q }));
    else
      io.out(`leader: node ${q.leaderId} (epoch ${q.leaderEpoch}, high watermark ${q.highWatermark})${hint}`);
  }

  /**
   * Report each newer leader while the cluster runs, so that whoever kills the active controller sees
   * who leads next (a controller's stale word for an older epoch is not news).
   */
  async function watchLeader(first: QuorumSummary): Promise<void> {
    let known = first;
    while (!stopping) {
      await new Promise((r) => setTimeout(r, LEADER_WATCH_INTERVAL_MS).unref());
      if (stopping) return;
      const now = await waitForLeader(
        controllersAddresses,
        LEADER_WATCH_INTERVAL_MS,
        cluster.clusterId,
        () => !stopping,
      );
      if (stopping || now === null || now.leaderEpoch <= known.leaderEpoch) continue;
      known = now;
      sayLeader(now);
    }
  }
};

/** How often `kraft cluster up` asks the controllers who leads, once the cluster has formed. */
const LEADER_WATCH_INTERVAL_MS = 1000;
