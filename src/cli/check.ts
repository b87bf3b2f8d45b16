// `kraft check`: explore a small cluster of spec reducers and report whether every property holds.
import { accessSync, constants, writeFileSync } from "node:fs";
import { availableParallelism, totalmem } from "node:os";
import { dirname, resolve } from "node:path";
import type { Bounds } from "../../spec/cluster/actions.ts";
import { DEFAULT_META_BOUNDS, type MetaBounds } from "../../spec/cluster/metadata-actions.ts";
import { DEFAULT_METADATA_CLUSTER, type MetadataClusterSpec } from "../../spec/cluster/metadata-world.ts";
import {
  type ClusterSpec,
  DEFAULT_CLUSTER,
  MAX_DYNAMIC_NODES,
  type StartPoint,
} from "../../spec/cluster/world.ts";
import { DEFAULT_LIVENESS_BOUND_MS, type Progress, type SearchResult, search } from "../checker/engine.ts";
import {
  ADMIN_OPERATION_NAMES,
  type AdminOperation,
  adminOpsOf,
  metadataModel,
} from "../checker/metadata-model.ts";
import type { Model } from "../checker/model.ts";
import { raftModel } from "../checker/raft-model.ts";
import { NO_REDUCTIONS, REDUCTION_FLAGS, type Reductions, reductionsOff } from "../checker/reductions.ts";
import { counterexampleTranscript } from "../checker/transcript.ts";
import {
  type FlagSpec,
  type FlagValues,
  parseFlags,
  refuseOutOfScope,
  renderHelp,
  UsageError,
} from "./flags.ts";
import { checkHtmlTarget, counterexamplePage, HTML_FLAG_HELP, writeHtml } from "./html-output.ts";

/** One worker thread per core: the search thread mostly waits for them. */
const DEFAULT_WORKERS = Math.max(1, Math.min(64, availableParallelism()));

/**
 * The metadata model's bfs by default is a complete search: every reachable state within its bounds
 * (a controller crash, so a failover, a broker crash, a session expiry, logs of up to 11 entries: the
 * bootstrap's 8, a failover's LeaderChange and a fence's two records). A long pause (a Raft timeout
 * with nothing failed) is left out by default: one multiplies the states past what a complete search
 * can finish in minutes. `--quick` gives the earlier default instead: every behaviour of up to
 * METADATA_DEPTH steps with QUICK_METADATA_BOUNDS.
 */
export const METADATA_DEPTH = 14;
const QUICK_METADATA_BOUNDS: Readonly<Record<string, number>> = {
  "max-controller-crashes": 0,
  "max-delays": 1,
  "max-log": 16,
};

export const CHECK_FLAGS: readonly FlagSpec[] = [
  {
    kind: "choice",
    name: "model",
    choices: ["raft", "metadata"],
    default: "raft",
    description: "what to check: the Raft layer, or controllers and brokers on top of it",
  },
  {
    kind: "choice",
    name: "mode",
    choices: ["bfs", "dfs", "simulate"],
    default: "bfs",
    description:
      "exhaustive breadth-first (shortest counterexample), depth-first with a depth bound, or random walks",
  },
  { kind: "integer", name: "voters", min: 1, max: 7, default: 3, description: "controllers that vote" },
  {
    kind: "integer",
    name: "brokers",
    scope: "metadata",
    min: 1,
    max: 4,
    default: 2,
    description: "metadata model: brokers (Raft observers)",
  },
  {
    kind: "integer",
    name: "partitions",
    scope: "metadata",
    min: 1,
    max: 4,
    default: 1,
    description: "metadata model: partitions of the topic the bootstrap creates (on every broker)",
  },
  {
    kind: "integer",
    name: "observers",
    scope: "raft",
    min: 0,
    max: 4,
    default: 0,
    description: "replicas that only follow (brokers)",
  },
  {
    kind: "integer",
    name: "max-epoch",
    min: 0,
    max: 30,
    placeholder: "E",
    description: "no node enters a higher epoch (bounds elections; default 1, metadata model 2)",
  },
  {
    kind: "integer",
    name: "max-values",
    scope: "raft",
    min: 0,
    max: 100,
    default: 1,
    description: "client values appended over a run",
  },
  {
    kind: "integer",
    name: "max-values-per-epoch",
    scope: "raft",
    min: 0,
    max: 100,
    default: 1,
    description: "client values one leader appends in its epoch",
  },
  {
    kind: "integer",
    name: "max-crashes",
    scope: "raft",
    min: 0,
    max: 100,
    default: 0,
    description: "crashes (each loses what was not flushed)",
  },
  {
    kind: "choice",
    name: "start",
    scope: "raft",
    choices: ["fresh", "committed", "joined"],
    default: "fresh",
    description:
      "raft model: runs start from a freshly formatted cluster, from one where node 1 leads and has just committed a value on node 2, or (joined) from one where the value is on every node and every observer follows node 1, caught up",
  },
  {
    kind: "integer",
    name: "max-corruptions",
    scope: "raft",
    min: 0,
    max: 10,
    default: 0,
    description: "raft model: disks corrupted (a stopped node's record cut at its next start, R146)",
  },
  {
    kind: "integer",
    name: "max-forged-epochs",
    scope: "raft",
    min: 0,
    max: 10,
    default: 0,
    description:
      "raft model: Fetch answers delivered with their last batch's epoch raised above the leader's (a flipped bit the batch CRC does not cover, KAFKA-18723; R66)",
  },
  {
    kind: "integer",
    name: "max-disk-replacements",
    scope: "raft",
    min: 0,
    max: MAX_DYNAMIC_NODES,
    default: 0,
    description:
      "raft model: kraft.version 1, and this many stopped nodes' disks are replaced and formatted anew, with a new directory id (R100); use with --auto-join",
  },
  {
    kind: "boolean",
    name: "auto-join",
    scope: "raft",
    default: false,
    description:
      "raft model: kraft.version 1, and every node has controller.quorum.auto.join.enable: an observer asks the leader to make it a voter (R150)",
  },
  {
    kind: "integer",
    name: "moved-listener",
    scope: "raft",
    min: 0,
    max: MAX_DYNAMIC_NODES,
    default: 0,
    description:
      "raft model: kraft.version 1, and node N's controller listener moved to another port after its disk was formatted: as a voter it asks the leader to rewrite its entry (UpdateRaftVoter, R99); 0: none",
  },
  {
    kind: "boolean",
    name: "loss",
    scope: "raft",
    default: true,
    description: "raft model: any message may be lost",
  },
  {
    kind: "boolean",
    name: "snapshots",
    default: false,
    description:
      "nodes snapshot (the raft model at the high watermark, the metadata model its committed image) and move their log start to it; lagging replicas download snapshots and load them (R77-R84, R131)",
  },
  {
    kind: "integer",
    name: "voter-changes",
    scope: "raft",
    min: 0,
    max: 10,
    default: 0,
    description:
      "raft model: kraft.version 1, and operators ask leaders this many times to add a node to the voter set or remove one (R89-R98; add observers to have a node to add)",
  },
  {
    kind: "boolean",
    name: "voter-updates",
    scope: "raft",
    default: false,
    description:
      "raft model: with --voter-changes, operators may also ask the leader to rewrite a voter's entry (UpdateRaftVoter, R99)",
  },
  {
    kind: "integer",
    name: "max-broker-crashes",
    scope: "metadata",
    min: 0,
    max: 10,
    default: 1,
    description: "metadata model: broker crashes",
  },
  {
    kind: "integer",
    name: "max-controller-crashes",
    scope: "metadata",
    min: 0,
    max: 10,
    default: 1,
    description: "metadata model: controller crashes",
  },
  {
    kind: "integer",
    name: "max-session-expiries",
    scope: "metadata",
    min: 0,
    max: 10,
    default: 1,
    description: "metadata model: broker sessions that run out",
  },
  {
    kind: "integer",
    name: "max-delays",
    scope: "metadata",
    min: 0,
    max: 10,
    default: 0,
    description: "metadata model: Raft timeouts with nothing failed (a long pause)",
  },
  {
    kind: "integer",
    name: "max-controlled-shutdowns",
    scope: "metadata",
    min: 0,
    max: 10,
    default: 0,
    description: "metadata model: brokers asked to shut down",
  },
  {
    kind: "string",
    name: "admin-ops",
    scope: "metadata",
    placeholder: "OPS",
    description: `metadata model: an admin client's requests on topic u, in this order, each asked of any node once the one before has its answer (R148); comma-separated, from ${ADMIN_OPERATION_NAMES.join(", ")} (default: none)`,
  },
  {
    kind: "integer",
    name: "max-forged-frames",
    scope: "metadata",
    min: 0,
    max: 10,
    default: 0,
    description: "metadata model: forged answers naming another cluster delivered to any node (R149)",
  },
  {
    kind: "integer",
    name: "max-log",
    scope: "metadata",
    min: 4,
    max: 1000,
    default: 11,
    description: "metadata model: no node's log grows longer (the bootstrap's log holds 8 entries)",
  },
  {
    kind: "boolean",
    name: "quick",
    scope: "metadata",
    default: false,
    description: `metadata model: the earlier default instead of a complete search: every behaviour of up to ${METADATA_DEPTH} steps (bfs), with ${Object.entries(
      QUICK_METADATA_BOUNDS,
    )
      .map(([name, value]) => `--${name} ${value}`)
      .join(", ")}, about 30 s; the flags given still apply`,
  },
  {
    kind: "boolean",
    name: "message-loss",
    scope: "metadata",
    default: false,
    description: "metadata model: Raft and controller-channel messages may be lost",
  },
  {
    kind: "integer",
    name: "duplicates",
    scope: "raft",
    min: 0,
    max: 100,
    default: 0,
    description: "messages that may be delivered twice",
  },
  {
    kind: "choice",
    name: "network",
    scope: "raft",
    choices: ["unordered", "ordered"],
    default: "unordered",
    description: "message order: any, or first in first out per link",
  },
  { kind: "boolean", name: "pre-vote", default: true, description: "KIP-996 pre-vote" },
  {
    kind: "boolean",
    name: "check-quorum",
    default: true,
    description: "leader resigns without fetches from a majority",
  },
  {
    kind: "boolean",
    name: "symmetry",
    scope: "raft",
    default: true,
    description: "treat voters that differ only in name as one state",
  },
  ...REDUCTION_FLAGS.map(
    (r): FlagSpec => ({ kind: "boolean", name: r.flag, default: true, description: r.description }),
  ),
  {
    kind: "boolean",
    name: "reductions",
    default: true,
    description:
      "with --no-reductions, every reduction above (symmetry too) is off: an exact search, to check that they change no verdict (copies of stale requests can then pile up without end: give --depth or --max-seconds)",
  },
  {
    kind: "integer",
    name: "depth",
    min: 1,
    max: 100000,
    placeholder: "D",
    description: `bfs, dfs: depth bound (dfs default 60; metadata model bfs none, ${METADATA_DEPTH} with --quick); simulate: steps per walk (default 100)`,
  },
  {
    kind: "integer",
    name: "seed",
    min: 0,
    max: 2147483647,
    default: 1,
    description: "simulate: random seed",
  },
  {
    kind: "string",
    name: "seed-range",
    placeholder: "A..B",
    description:
      "simulate: run --walks walks for each seed from A to B in turn, as --seed would for each (one shard of a larger run: a failing seed replays alone with --seed)",
  },
  {
    kind: "integer",
    name: "walks",
    min: 1,
    max: 100000000,
    default: 1000,
    description: "simulate: number of walks",
  },
  {
    kind: "integer",
    name: "liveness-ms",
    min: 0,
    max: 3600000,
    placeholder: "MS",
    description: `liveness: simulated time the fault-free fair schedule has, from any state, to reach every eventually-goal; 0 turns the check off (default ${DEFAULT_LIVENESS_BOUND_MS}; the metadata model's bfs and dfs: 0, since every state's schedule there costs ten times its search — use simulate, or set it)`,
  },
  {
    kind: "integer",
    name: "max-states",
    min: 1,
    placeholder: "N",
    description: "stop (incomplete) after N distinct states",
  },
  {
    kind: "integer",
    name: "max-seconds",
    min: 1,
    placeholder: "S",
    description: "stop (incomplete) after S seconds",
  },
  {
    kind: "integer",
    name: "max-memory",
    min: 64,
    placeholder: "MB",
    description: `stop (incomplete) before using more memory (default: 70% of this machine's, ${Math.floor((totalmem() * 0.7) / 1048576)})`,
  },
  {
    kind: "integer",
    name: "workers",
    min: 1,
    max: 64,
    placeholder: "N",
    description: `bfs: threads that expand states; the result is the same for any N (default: this machine's cores, ${DEFAULT_WORKERS})`,
  },
  {
    kind: "integer",
    name: "progress",
    min: 0,
    max: 3600,
    default: 2,
    placeholder: "S",
    description: "seconds between progress lines on stderr (0: none)",
  },
  {
    kind: "boolean",
    name: "json",
    default: false,
    description: "print one JSON object with the result on stdout",
  },
  {
    kind: "string",
    name: "trace-out",
    placeholder: "FILE",
    description:
      "write a counterexample: FILE.txt as a scenario transcript (raft model; keep it in spec/scenarios/), any other name as an NDJSON trace",
  },
  {
    kind: "string",
    name: "html",
    placeholder: "FILE",
    description: `write the counterexample as ${HTML_FLAG_HELP}; without a counterexample nothing is written (stderr says so)`,
  },
  { kind: "boolean", name: "help", alias: "h", default: false, description: "show this help" },
];

export const CHECK_HELP = renderHelp(
  "kraft check [options]",
  "Explore every interleaving of a small KRaft cluster built from the spec reducers (spec/) and check\nthe safety properties of spec/invariants. Exit 0: all hold; 1: a property is violated (the shortest\ncounterexample is printed); 2: bad options.",
  CHECK_FLAGS,
  [
    "examples:",
    "  kraft check                                   the default configuration",
    "  kraft check --max-epoch 3 --max-crashes 1 --max-seconds 120",
    "  kraft check --mode simulate --seed 7 --walks 10000 --depth 200",
    "  kraft check --model metadata                  controllers and brokers over Raft",
    "  kraft check --model metadata --brokers 3 --max-controller-crashes 1 --depth 12",
    "  kraft check --json --trace-out counterexample.ndjson",
    "  kraft check --liveness-ms 1 --max-values 0 --html counterexample.html   a page to step through",
  ],
);

export interface CheckConfig {
  readonly cluster: ClusterSpec;
  readonly bounds: Bounds;
  readonly symmetry: boolean;
  readonly reductions: Reductions;
  readonly start: StartPoint;
}

/** The reductions the flags leave on (--no-reductions: none). */
const reductionsFrom = (values: FlagValues): Reductions => {
  const all = values["reductions"] === true;
  const reductions: Record<keyof Reductions, boolean> = { ...NO_REDUCTIONS };
  for (const r of REDUCTION_FLAGS) reductions[r.key] = all && values[r.flag] === true;
  return reductions;
};

export const checkConfigFrom = (values: FlagValues): CheckConfig => {
  const voters = values["voters"] as number;
  const observers = values["observers"] as number;
  const moved = values["moved-listener"] as number;
  const dynamic =
    (values["voter-changes"] as number) > 0 ||
    (values["max-disk-replacements"] as number) > 0 ||
    values["auto-join"] === true ||
    moved > 0;
  if (dynamic && voters + observers > MAX_DYNAMIC_NODES)
    throw new UsageError(
      `--voter-changes, --max-disk-replacements, --auto-join and --moved-listener check at most ${MAX_DYNAMIC_NODES} nodes (kraft.version 1), not ${voters} voters and ${observers} observers; use fewer`,
    );
  if (moved > voters + observers)
    throw new UsageError(
      `--moved-listener names node ${moved}, but the cluster has nodes 1..${voters + observers}; name one of them, or 0 for none`,
    );
  return {
    cluster: {
      ...DEFAULT_CLUSTER,
      voters,
      observers,
      preVote: values["pre-vote"] as boolean,
      checkQuorum: values["check-quorum"] as boolean,
      // R82: one record per FetchSnapshot answer, so that downloads come in parts that can be lost.
      ...(values["snapshots"] === true ? { snapshotChunk: 1 } : {}),
      ...(dynamic ? { kraftVersion: 1 as const } : {}),
      ...(values["auto-join"] === true
        ? { autoJoin: Array.from({ length: voters + observers }, (_, i) => i + 1) }
        : {}),
      ...(moved > 0 ? { movedListeners: [moved] } : {}),
    },
    bounds: {
      maxEpoch: (values["max-epoch"] as number | undefined) ?? 1,
      maxValues: values["max-values"] as number,
      // A leader cannot append more in its epoch than the run allows in all.
      maxValuesPerEpoch: Math.min(values["max-values-per-epoch"] as number, values["max-values"] as number),
      maxCrashes: values["max-crashes"] as number,
      maxCorruptions: values["max-corruptions"] as number,
      ...((values["max-forged-epochs"] as number) > 0
        ? { maxForgedEpochs: values["max-forged-epochs"] as number }
        : {}),
      ...((values["max-disk-replacements"] as number) > 0
        ? { maxDiskReplacements: values["max-disk-replacements"] as number }
        : {}),
      maxDuplicates: values["duplicates"] as number,
      loss: values["loss"] as boolean,
      network: values["network"] as "unordered" | "ordered",
      ...(values["snapshots"] === true ? { snapshots: true } : {}),
      ...((values["voter-changes"] as number) > 0
        ? {
            maxVoterChanges: values["voter-changes"] as number,
            ...(values["voter-updates"] === true ? { voterUpdates: true } : {}),
          }
        : {}),
    },
    symmetry: values["symmetry"] === true && values["reductions"] === true,
    reductions: reductionsFrom(values),
    start: values["start"] as StartPoint,
  };
};

export interface MetadataCheckConfig {
  readonly spec: MetadataClusterSpec;
  readonly bounds: MetaBounds;
  readonly partitions: number;
  readonly reductions: Reductions;
}

/** --admin-ops: the named operations, in order (none when not given). */
const adminOperationsFrom = (values: FlagValues): AdminOperation[] => {
  const text = values["admin-ops"] as string | undefined;
  if (text === undefined) return [];
  return text.split(",").map((raw) => {
    const name = raw.trim();
    if (!(ADMIN_OPERATION_NAMES as readonly string[]).includes(name))
      throw new UsageError(
        `--admin-ops: "${name}" is not an admin operation; name some of ${ADMIN_OPERATION_NAMES.join(", ")}, comma-separated`,
      );
    return name as AdminOperation;
  });
};

/** `values` with --quick's bounds for the metadata flags the command line did not give. */
const withQuickBounds = (values: FlagValues, given: ReadonlySet<string>): FlagValues =>
  values["quick"] !== true
    ? values
    : {
        ...values,
        ...Object.fromEntries(Object.entries(QUICK_METADATA_BOUNDS).filter(([name]) => !given.has(name))),
      };

export const metadataConfigFrom = (values: FlagValues): MetadataCheckConfig => ({
  spec: {
    ...DEFAULT_METADATA_CLUSTER,
    controllers: values["voters"] as number,
    brokers: values["brokers"] as number,
    preVote: values["pre-vote"] as boolean,
    checkQuorum: values["check-quorum"] as boolean,
    // Idle NoOpRecords would grow the log without bound; appends are flushed at once (the Raft model
    // explores flush interleavings).
    syncFlush: true,
    controller: { ...DEFAULT_METADATA_CLUSTER.controller, noOpIntervalMs: 0 },
  },
  bounds: {
    ...DEFAULT_META_BOUNDS,
    maxEpoch: (values["max-epoch"] as number | undefined) ?? 2,
    maxLogLength: values["max-log"] as number,
    maxControllerCrashes: values["max-controller-crashes"] as number,
    maxBrokerCrashes: values["max-broker-crashes"] as number,
    maxSessionExpiries: values["max-session-expiries"] as number,
    maxDelays: values["max-delays"] as number,
    maxControlledShutdowns: values["max-controlled-shutdowns"] as number,
    maxForgedFrames: values["max-forged-frames"] as number,
    raftLoss: values["message-loss"] as boolean,
    metaLoss: values["message-loss"] as boolean,
    ...(values["snapshots"] === true ? { snapshots: true } : {}),
    adminOps: adminOpsOf(adminOperationsFrom(values)),
  },
  partitions: values["partitions"] as number,
  reductions: reductionsFrom(values),
});
/** The metadata model's configuration as `kraft check` builds it from these arguments (--quick too). */
export const metadataConfigOfArgs = (argv: readonly string[]): MetadataCheckConfig => {
  const { values, given } = parseFlags(CHECK_FLAGS, argv);
  return metadataConfigFrom(withQuickBounds(values, given));
};

const reductionsDescribed = (reductions: Reductions): string[] => {
  const off = reductionsOff(reductions);
  return off.length === 0 ? [] : [`reductions off: ${off.join(", ")}`];
};

const describeMetadataConfig = (
  config: MetadataCheckConfig,
  mode: string,
  depth: number | undefined,
): string => {
  const { spec, bounds } = config;
  const plural = (n: number, word: string, words = `${word}s`) => `${n} ${n === 1 ? word : words}`;
  const parts = [
    plural(spec.controllers, "controller"),
    plural(spec.brokers, "broker"),
    `1 topic of ${plural(config.partitions, "partition")}`,
    `max epoch ${bounds.maxEpoch}`,
    `log ≤ ${bounds.maxLogLength}`,
    plural(bounds.maxBrokerCrashes, "broker crash", "broker crashes"),
    plural(bounds.maxControllerCrashes, "controller crash", "controller crashes"),
    plural(bounds.maxSessionExpiries, "session expiry", "session expiries"),
    plural(bounds.maxDelays, "delay"),
    ...(bounds.maxControlledShutdowns > 0
      ? [plural(bounds.maxControlledShutdowns, "controlled shutdown")]
      : []),
    bounds.raftLoss ? "lossy network" : "no message loss",
    ...(bounds.snapshots === true ? ["snapshots"] : []),
    ...(bounds.adminOps.length > 0
      ? [`admin client: ${bounds.adminOps.map((op) => op._tag.replace(/Request$/, "")).join(", ")}`]
      : []),
    ...(mode === "bfs" && depth !== undefined ? [`depth ≤ ${depth}`] : []),
    ...reductionsDescribed(config.reductions),
  ];
  return `kraft check: metadata model, ${mode}: ${parts.join(", ")}`;
};

const count = (n: number): string => Math.round(n).toLocaleString("en-US");

const progressLine = (p: Progress): string =>
  `depth ${p.depth} · ${count(p.generatedStates)} generated · ${count(p.distinctStates)} distinct · queue ${count(p.queue)} · ${count(p.distinctPerSecond)} distinct/s · ${p.seconds.toFixed(1)} s · ${Math.round(p.rssMB)} MB`;

const describeConfig = (config: CheckConfig, mode: string, symmetryUsed: boolean): string => {
  const { cluster, bounds } = config;
  const parts = [
    `${cluster.voters} voter${cluster.voters === 1 ? "" : "s"}`,
    ...(cluster.observers > 0 ? [`${cluster.observers} observer${cluster.observers === 1 ? "" : "s"}`] : []),
    `max epoch ${bounds.maxEpoch}`,
    `${bounds.maxValues} value${bounds.maxValues === 1 ? "" : "s"} (${bounds.maxValuesPerEpoch} per epoch)`,
    `${bounds.maxCrashes} crash${bounds.maxCrashes === 1 ? "" : "es"}`,
    ...((bounds.maxCorruptions ?? 0) > 0
      ? [`${bounds.maxCorruptions} corrupt disk${bounds.maxCorruptions === 1 ? "" : "s"}`]
      : []),
    ...((bounds.maxForgedEpochs ?? 0) > 0
      ? [
          `${bounds.maxForgedEpochs} Fetch answer${bounds.maxForgedEpochs === 1 ? "" : "s"} with a forged batch epoch`,
        ]
      : []),
    ...((bounds.maxDiskReplacements ?? 0) > 0
      ? [
          `${bounds.maxDiskReplacements} replaced disk${bounds.maxDiskReplacements === 1 ? "" : "s"} (kraft.version 1)`,
        ]
      : []),
    ...((cluster.autoJoin?.length ?? 0) > 0 ? ["auto-join on every node"] : []),
    ...(cluster.movedListeners ?? []).map((id) => `node ${id}'s controller listener moved`),
    `${bounds.network}${bounds.loss ? " lossy" : ""} network`,
    ...(config.start === "committed" ? ["starting from a committed value"] : []),
    ...(config.start === "joined"
      ? ["starting from a committed value on every node, observers caught up"]
      : []),
    ...(bounds.maxDuplicates > 0 ? [`${bounds.maxDuplicates} duplicates`] : []),
    ...(bounds.snapshots === true ? ["snapshots (downloaded one record per FetchSnapshot)"] : []),
    ...((bounds.maxVoterChanges ?? 0) > 0
      ? [
          `${bounds.maxVoterChanges} voter change${bounds.maxVoterChanges === 1 ? "" : "s"}${bounds.voterUpdates === true ? " (adds, removals and updates)" : ""} (kraft.version 1)`,
        ]
      : []),
    `pre-vote ${cluster.preVote ? "on" : "off"}`,
    `check quorum ${cluster.checkQuorum ? "on" : "off"}`,
    `symmetry ${symmetryUsed ? "on" : config.symmetry ? `off (${cluster.kraftVersion === 1 ? "voter sets change" : "observers are not symmetric"})` : "off"}`,
    ...reductionsDescribed(config.reductions),
  ];
  return `kraft check: raft model, ${mode}: ${parts.join(", ")}`;
};

/** The NDJSON counterexample: a header, one line per reducer step, the violation. */
export const traceLines = (
  config: CheckConfig | MetadataCheckConfig,
  result: SearchResult<unknown>,
): string[] => {
  const lines: unknown[] = [
    {
      type: "header",
      format: "openkraft-trace",
      version: 1,
      ...("cluster" in config
        ? { model: "raft", cluster: config.cluster, bounds: config.bounds }
        : { model: "metadata", cluster: config.spec, partitions: config.partitions, bounds: config.bounds }),
    },
  ];
  for (const step of result.trace ?? []) {
    lines.push({ type: "action", step: step.step, action: step.action, nodes: step.nodes });
    for (const detail of step.details ?? [])
      lines.push({ type: "step", step: step.step, ...(detail as object) });
  }
  lines.push({ type: "violation", property: result.property, detail: result.violation });
  return lines.map((l) => JSON.stringify(l));
};

export interface CheckIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  readonly isTTY: boolean;
}

/** Run `kraft check`; returns the exit code. */
export const runCheck = (argv: readonly string[], io: CheckIo): number => {
  const { values, positional, given } = parseFlags(CHECK_FLAGS, argv);
  if (values["help"] === true) {
    io.out(CHECK_HELP);
    return 0;
  }
  if (positional.length > 0)
    throw new UsageError(`kraft check takes no arguments, got "${positional.join(" ")}"`);
  const which = values["model"] as "raft" | "metadata";
  refuseOutOfScope(CHECK_FLAGS, given, which, (model) =>
    model === "raft" ? "the raft model" : "the metadata model (--model metadata)",
  );
  const config =
    which === "raft" ? checkConfigFrom(values) : metadataConfigFrom(withQuickBounds(values, given));
  const traceTarget = values["trace-out"] as string | undefined;
  if (traceTarget !== undefined) {
    // Fail before a long search, not after it, when the trace could not be written.
    try {
      accessSync(dirname(resolve(traceTarget)), constants.W_OK);
    } catch {
      throw new UsageError(
        `--trace-out ${traceTarget}: the folder ${dirname(resolve(traceTarget))} does not exist or is not writable`,
      );
    }
  }
  const htmlTarget = values["html"] as string | undefined;
  if (htmlTarget !== undefined) checkHtmlTarget(htmlTarget);
  const mode = values["mode"] as "bfs" | "dfs" | "simulate";
  const seedRange = parseSeedRange(values["seed-range"] as string | undefined, mode);
  const depth =
    (values["depth"] as number | undefined) ??
    (which === "metadata" && mode === "bfs" && values["quick"] === true ? METADATA_DEPTH : undefined);
  const model: Model<unknown> =
    "cluster" in config ? (raftModel(config) as Model<unknown>) : (metadataModel(config) as Model<unknown>);
  const symmetryUsed =
    "cluster" in config &&
    config.symmetry &&
    config.cluster.observers === 0 &&
    config.cluster.voters > 1 &&
    config.cluster.kraftVersion !== 1;
  const json = values["json"] === true;
  const progressSeconds = values["progress"] as number;
  io.err(
    "cluster" in config
      ? describeConfig(config, mode, symmetryUsed)
      : describeMetadataConfig(config, mode, depth),
  );
  let lastLineLength = 0;
  const onProgress = (p: Progress): void => {
    const line = progressLine(p);
    if (io.isTTY) {
      io.err(`\r${line.padEnd(lastLineLength)}`);
      lastLineLength = line.length;
    } else {
      io.err(`${line}\n`);
    }
  };
  const maxMemory = (values["max-memory"] as number | undefined) ?? Math.floor((totalmem() * 0.7) / 1048576);
  const result = search(model, {
    mode,
    maxMemoryMB: maxMemory,
    workers: (values["workers"] as number | undefined) ?? DEFAULT_WORKERS,
    ...(values["max-states"] === undefined ? {} : { maxStates: values["max-states"] as number }),
    ...(values["max-seconds"] === undefined ? {} : { maxSeconds: values["max-seconds"] as number }),
    ...(depth === undefined ? {} : { depth }),
    seed: values["seed"] as number,
    ...(seedRange === undefined ? {} : { seedRange }),
    walks: values["walks"] as number,
    livenessBound:
      (values["liveness-ms"] as number | undefined) ??
      (which === "metadata" && mode !== "simulate" ? 0 : DEFAULT_LIVENESS_BOUND_MS),
    ...(progressSeconds > 0 ? { onProgress, progressIntervalMs: progressSeconds * 1000 } : {}),
  });
  if (io.isTTY && lastLineLength > 0) io.err("\n");
  const traceOut = values["trace-out"] as string | undefined;
  const property = model.properties.find((p) => p.name === result.property);
  // The Raft model's counterexamples read as scenario transcripts (spec/scenarios).
  const transcript =
    result.result === "violation" && "cluster" in config
      ? counterexampleTranscript(result, {
          cluster: config.cluster,
          start: config.start,
          commandLine: ["kraft check", ...argv].join(" "),
          rules: property?.rules ?? "",
          ...(model.liveness === undefined ? {} : { fairness: model.liveness.fairness }),
        })
      : null;
  if (result.result === "violation" && traceOut !== undefined) {
    try {
      if (traceOut.endsWith(".txt")) {
        if (transcript === null) {
          io.err(
            `kraft check: this counterexample cannot be written as a transcript (${"cluster" in config ? "its replay follows the checker's renamed nodes" : "transcripts are written for the raft model"}); use --trace-out FILE.ndjson\n`,
          );
          return 2;
        }
        writeFileSync(traceOut, transcript);
      } else {
        writeFileSync(traceOut, `${traceLines(config, result).join("\n")}\n`);
      }
    } catch (error) {
      io.err(`kraft check: cannot write the counterexample to ${traceOut}: ${(error as Error).message}\n`);
      return 2;
    }
  }
  if (htmlTarget !== undefined && result.result !== "violation") {
    io.err(`kraft check: no counterexample, so no page written to ${htmlTarget}\n`);
  } else if (htmlTarget !== undefined) {
    const page = counterexamplePage(result, model, ["kraft check", ...argv].join(" "));
    if (!writeHtml("kraft check", htmlTarget, page, io.err)) return 2;
    io.err(`kraft check: counterexample page written to ${htmlTarget}\n`);
  }
  if (json) {
    const { violatingState: _state, ...rest } = result;
    io.out(
      JSON.stringify({
        ...rest,
        ...(transcript === null ? {} : { transcript }),
        ...(property === undefined ? {} : { rules: property.rules }),
        mode,
        model: which,
        ...("cluster" in config
          ? { symmetry: symmetryUsed, cluster: config.cluster }
          : { cluster: config.spec, partitions: config.partitions }),
        reductions: config.reductions,
        bounds: config.bounds,
      }),
    );
    return result.result === "violation" ? 1 : 0;
  }
  io.out(renderResult(result, model, traceOut, transcript));
  return result.result === "violation" ? 1 : 0;
};

/** `--seed-range A..B`: both ends seeds (0 .. 2^31-1), A at most B. */
const parseSeedRange = (text: string | undefined, mode: string): readonly [number, number] | undefined => {
  if (text === undefined) return undefined;
  if (mode !== "simulate") throw new UsageError("--seed-range applies to --mode simulate only");
  const match = /^(\d{1,10})\.\.(\d{1,10})$/.exec(text.trim());
  const first = Number(match?.[1]);
  const last = Number(match?.[2]);
  if (match === null || first > 2147483647 || last > 2147483647 || first > last)
    throw new UsageError(
      `--seed-range ${text}: expected A..B with 0 <= A <= B <= 2147483647, e.g. --seed-range 1000..1999`,
    );
  return [first, last];
};

const renderResult = (
  result: SearchResult<unknown>,
  model: Model<unknown>,
  traceOut: string | undefined,
  transcript: string | null,
): string => {
  const stats = `${count(result.distinctStates)} distinct states (${count(result.generatedStates)} generated), depth ${result.maxDepth}, ${result.seconds.toFixed(1)} s, ${count(result.distinctPerSecond)} distinct states/s${(result.workers ?? 1) > 1 ? ` with ${result.workers} workers` : ""}, peak ${result.peakRssMB} MB`;
  const lines: string[] = [];
  const always = model.properties.filter((p) => p.kind === "always").length;
  if (result.result === "violation") {
    const property = model.properties.find((p) => p.name === result.property);
    lines.push(`VIOLATION of ${result.property}${property === undefined ? "" : ` (${property.rules})`}:`);
    lines.push(`  ${result.violation}`);
    lines.push("");
    const steps = (result.trace?.length ?? 1) - 1;
    lines.push(
      `${result.walks === undefined && result.scheduleFrom === undefined ? "Shortest counterexample" : "Counterexample"} (${steps} step${steps === 1 ? "" : "s"}${transcript === null ? "" : ", as a transcript: each command, then every input, effect and state it caused"}):`,
    );
    if (transcript !== null) {
      lines.push(transcript.trimEnd());
    } else {
      for (const step of result.trace ?? []) {
        lines.push(`${String(step.step).padStart(3)}. ${step.action}`);
        for (const node of step.nodes) lines.push(`       ${node}`);
      }
    }
    lines.push("");
    lines.push(`after ${stats}`);
    if (result.seed !== undefined)
      lines.push(
        `seed ${result.seed} (walk ${result.walks}); replay it alone with --seed ${result.seed} --walks ${result.walks}`,
      );
    if (traceOut !== undefined) lines.push(`trace written to ${traceOut}`);
  } else if (result.result === "ok" && result.complete && result.depthBound !== undefined) {
    lines.push(
      `OK: all ${always} properties hold in every behaviour of up to ${result.depthBound} steps (the depth bound; raise --depth to look further).`,
    );
    lines.push(stats);
  } else if (result.result === "ok" && result.complete) {
    lines.push(
      `OK: all ${always} properties hold. The search is complete: every reachable state within the bounds was explored.`,
    );
    lines.push(stats);
  } else if (result.result === "ok") {
    lines.push(
      `OK: no property violated in ${count(result.walks ?? 0)} random walks (${result.seedRange === undefined ? `seed ${result.seed}` : `seeds ${result.seedRange[0]}..${result.lastSeedDone}${result.lastSeedDone === result.seedRange[1] ? "" : ` of ${result.seedRange[0]}..${result.seedRange[1]}, out of time`}`}). Simulation is not exhaustive.`,
    );
    lines.push(stats);
  } else {
    const reasons: Record<string, string> = {
      "max-states": "the --max-states limit was reached",
      "max-seconds": "the --max-seconds limit was reached",
      "max-memory": "the memory budget (--max-memory) was reached",
      "depth-bound": "the depth bound (--depth) cut some paths",
    };
    lines.push(
      `INCOMPLETE: no property violated, but ${reasons[result.stopReason ?? ""] ?? "the search stopped"} before every state was explored.`,
    );
    lines.push(stats);
  }
  if (result.result !== "violation") {
    if (result.sometimesReached.length > 0) lines.push(`reached: ${result.sometimesReached.join(", ")}`);
    if (result.sometimesMissed.length > 0) {
      lines.push(
        `never reached: ${result.sometimesMissed.join(", ")} (raise the bounds if these should happen)`,
      );
    }
  }
  return lines.join("\n");
};
