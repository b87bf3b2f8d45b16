// `kraft conformance run|adapter`: run the conformance vectors against an implementation's adapter,
// or serve the reference adapter (the spec reducers) on stdin/stdout.

import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadReducers, serveAdapter } from "../../conformance/adapter.ts";
import { runBlackBox } from "../../conformance/blackbox.ts";
import { type ExploreReport, explore, renderExplore } from "../../conformance/explore.ts";
import { type NodeTraceVerdict, renderNodeVerdict, replayNodeTrace } from "../../conformance/node-trace.ts";
import { loadVectors, renderReport, runConformance } from "../../conformance/runner.ts";
import { checkTrace, readTrace, renderVerdict, type TraceVerdict } from "../../conformance/trace.ts";
import { BREAKABLE_RULES, type BreakableRule } from "../../conformance/vary.ts";
import { VECTOR_DIR } from "../../conformance/vectors.ts";
import { DEFAULT_CLUSTER } from "../../spec/cluster/world.ts";
import { renderProperties } from "../runtime/config.ts";
import { kraftBin } from "../testing/local-cluster.ts";
import type { CheckIo as Io } from "./check.ts";
import { FAST_TIMEOUTS } from "./cluster.ts";
import { type FlagSpec, parseFlags, renderHelp, UsageError } from "./flags.ts";
import { checkHtmlTarget, HTML_FLAG_HELP, recordedTracePage, writeHtml } from "./html-output.ts";
import { formatDirectory, runStart } from "./node-commands.ts";

/** The openkraft runtime as a black-box implementation: a combined controller+broker per node. */
const DEFAULT_START =
  "kraft conformance node --id {id} --port {port} --client-port {clientPort} --status-port {statusPort} --dir {dir} --voters-list {voters} --cluster-id {clusterId}";

export const CONFORMANCE_FLAGS: readonly FlagSpec[] = [
  {
    kind: "string",
    name: "adapter",
    placeholder: "CMD",
    description: "run, explore: the command that starts the implementation's adapter (run by the shell)",
  },
  {
    kind: "boolean",
    name: "verbose",
    default: false,
    description: "run: list passing vectors too, and why any stopped early",
  },
  {
    kind: "string",
    name: "vectors",
    default: VECTOR_DIR,
    placeholder: "DIR",
    description: "run: the folder of .ndjson vector files",
  },
  {
    kind: "string",
    name: "filter",
    placeholder: "TEXT",
    description: "run: only vectors whose name contains TEXT",
  },
  {
    kind: "choice",
    name: "layer",
    choices: ["all", "raft", "controller", "broker", "node"],
    default: "all",
    description: "run: only vectors of this layer",
  },
  {
    kind: "integer",
    name: "timeout",
    min: 1,
    default: 10_000,
    description: "run, explore: ms to wait for each reply",
  },
  {
    kind: "integer",
    name: "vary",
    min: 0,
    description:
      "adapter: make the free choices the rules allow differently (seeded), as another implementation would",
  },
  {
    kind: "choice",
    name: "break",
    choices: ["none", ...BREAKABLE_RULES],
    default: "none",
    description: "adapter, with --vary: also break this rule (a test of the runner's verdicts)",
  },
  {
    kind: "string",
    name: "spec",
    placeholder: "DIR",
    description: "adapter, check-trace: load the reducers from this copy of spec/",
  },
  {
    kind: "string",
    name: "start",
    default: DEFAULT_START,
    placeholder: "CMD",
    description: "cluster: starts one node; {id} {port} {clientPort} {statusPort} {dir} {voters} {clusterId}",
  },
  { kind: "integer", name: "voters", min: 1, max: 7, default: 3, description: "cluster: how many voters" },
  {
    kind: "integer",
    name: "seconds",
    min: 1,
    default: 30,
    description: "cluster: how long to inject faults",
  },
  {
    kind: "integer",
    name: "seed",
    min: 0,
    default: 1,
    description: "cluster, explore: seed of the fault schedule (explore: walk k uses seed + k)",
  },
  {
    kind: "integer",
    name: "walks",
    min: 1,
    max: 1_000_000,
    default: 200,
    description: "explore: how many walks",
  },
  {
    kind: "integer",
    name: "depth",
    min: 1,
    max: 10_000,
    default: 60,
    description: "explore: actions per walk",
  },
  {
    kind: "integer",
    name: "node",
    min: 1,
    max: 7,
    default: 1,
    description:
      "explore: the node your implementation plays: 1-3 a voter of the 3-voter cluster, 4 and up an observer",
  },
  {
    kind: "integer",
    name: "observers",
    min: 0,
    max: 4,
    default: 1,
    description:
      "explore: observers in the simulated cluster (nodes 4 and up), which look for the leader (R74)",
  },
  { kind: "integer", name: "id", min: 0, description: "node: node id" },
  { kind: "integer", name: "port", min: 0, max: 65535, description: "node: Raft (CONTROLLER) port" },
  { kind: "integer", name: "client-port", min: 0, max: 65535, description: "node: client (PLAINTEXT) port" },
  {
    kind: "integer",
    name: "status-port",
    min: 0,
    max: 65535,
    description: "node: /status and /metrics port",
  },
  {
    kind: "string",
    name: "dir",
    placeholder: "DIR",
    description: "node: data directory (formatted if empty)",
  },
  { kind: "string", name: "voters-list", placeholder: "LIST", description: "node: controller.quorum.voters" },
  {
    kind: "string",
    name: "cluster-id",
    placeholder: "ID",
    description: "node: the cluster id to format with",
  },
  {
    kind: "boolean",
    name: "json",
    default: false,
    description: "run, check-trace, cluster: one JSON document",
  },
  {
    kind: "string",
    name: "html",
    placeholder: "FILE",
    description: `check-trace: write the trace's Raft steps (up to the first one the spec does not explain) as ${HTML_FLAG_HELP}`,
  },
  { kind: "boolean", name: "help", alias: "h", default: false, description: "show this help" },
];

export const CONFORMANCE_HELP = renderHelp(
  "kraft conformance run --adapter CMD | explore --adapter CMD | adapter | check-trace FILE... | cluster [--start CMD] | node …",
  "Check a KRaft implementation against the spec, vector by vector and rule by rule (conformance/README.md).",
  CONFORMANCE_FLAGS,
  [
    "examples:",
    '  kraft conformance run --adapter "kraft conformance adapter"     # the reference: all pass',
    '  kraft conformance run --adapter "./my-raft-adapter" --filter 08-follower --json',
    '  kraft conformance explore --adapter "./my-raft-adapter" --node 2 --seed 7 --walks 500',
    "  kraft conformance check-trace node-1.trace node-2.trace node-3.trace",
    "  kraft conformance cluster --voters 3 --seconds 60 --seed 7          # the openkraft runtime",
    "exit codes: 0 every vector passes (the trace is explained), 1 a vector fails (an event is not),",
    "2 bad usage, a broken adapter or an unreadable trace.",
  ],
);

/** A command that starts with `kraft ` runs this kraft, whether or not one is on the PATH. */
const withThisKraft = (command: string): string =>
  command.startsWith("kraft ")
    ? `${JSON.stringify(process.execPath)} ${JSON.stringify(kraftBin)} ${command.slice("kraft ".length)}`
    : command;

export const runConformanceCommand = async (argv: readonly string[], io: Io): Promise<number> => {
  const { values, positional } = parseFlags(CONFORMANCE_FLAGS, argv);
  if (values["help"] === true) {
    io.out(CONFORMANCE_HELP);
    return 0;
  }
  const sub = positional[0];
  if (sub === "adapter") {
    const vary = values["vary"] as number | undefined;
    const breaking = values["break"] as string;
    if (breaking !== "none" && vary === undefined) throw new UsageError("--break needs --vary SEED");
    await serveAdapter(
      await loadReducers(values["spec"] as string | undefined),
      process.stdin,
      process.stdout,
      vary === undefined
        ? undefined
        : { seed: vary, ...(breaking === "none" ? {} : { breaking: breaking as BreakableRule }) },
    );
    return 0;
  }
  if (sub === "node") {
    const need = (name: string): string | number => {
      const v = values[name];
      if (v === undefined) throw new UsageError(`node needs --${name}`);
      return v as string | number;
    };
    const dir = String(need("dir"));
    const data = join(dir, "data");
    formatDirectory(data, String(need("cluster-id")), Number(need("id")), true);
    const config = join(dir, "server.properties");
    writeFileSync(
      config,
      renderProperties([
        ["node.id", need("id")],
        ["process.roles", "controller,broker"],
        ["controller.quorum.voters", need("voters-list")],
        ["listeners", `CONTROLLER://127.0.0.1:${need("port")},PLAINTEXT://127.0.0.1:${need("client-port")}`],
        ["log.dirs", data],
        ["openkraft.metrics.port", need("status-port")],
        ...FAST_TIMEOUTS,
      ]),
    );
    return await runStart(["--config", config], io);
  }
  if (sub === "explore") {
    const given = values["adapter"] as string | undefined;
    if (given === undefined) throw new UsageError("explore needs --adapter CMD");
    let report: ExploreReport;
    try {
      report = {
        ...(await explore(withThisKraft(given), {
          node: values["node"] as number,
          cluster: { ...DEFAULT_CLUSTER, observers: values["observers"] as number },
          seed: values["seed"] as number,
          walks: values["walks"] as number,
          depth: values["depth"] as number,
          timeoutMs: values["timeout"] as number,
          onProgress: (walk, walks) => {
            if (io.isTTY) io.err(`\rkraft conformance explore: walk ${walk}/${walks}`);
          },
        })),
        adapter: given,
      };
    } catch (error) {
      if (io.isTTY) io.err("\n");
      io.err(`kraft conformance explore: ${(error as Error).message}`);
      return 2;
    }
    if (io.isTTY) io.err("\n");
    if (values["json"] === true) io.out(JSON.stringify(report));
    else for (const line of renderExplore(report)) io.out(line);
    return report.ok ? 0 : 1;
  }
  if (sub === "cluster") {
    const start = withThisKraft(String(values["start"]));
    const report = await runBlackBox({
      start,
      voters: values["voters"] as number,
      seconds: values["seconds"] as number,
      seed: values["seed"] as number,
      onEvent: (text) => io.err(`kraft conformance cluster: ${text}`),
    });
    if (values["json"] === true) io.out(JSON.stringify(report));
    else {
      io.out(
        `${report.ok ? "OK" : "VIOLATED"}: ${report.seconds} s, ${report.faults.kills} kills, ${report.faults.pauses} pauses, ${report.faults.restarts} restarts; ${report.writes.acknowledged} of ${report.writes.attempted} writes acknowledged; ${report.epochs} epochs seen in ${report.statusSamples} status samples`,
      );
      for (const v of report.violations) io.out(`  ${v}`);
    }
    return report.ok ? 0 : 1;
  }
  if (sub === "check-trace") {
    const files = positional.slice(1);
    if (files.length === 0)
      throw new UsageError("check-trace needs the trace files (NDJSON, as openkraft.trace.file writes)");
    const html = values["html"] as string | undefined;
    if (html !== undefined) checkHtmlTarget(html);
    let verdict: TraceVerdict;
    let nodeVerdict: NodeTraceVerdict | undefined;
    try {
      const lines = readTrace(files);
      const reducers = await loadReducers(values["spec"] as string | undefined);
      verdict = checkTrace(lines, reducers);
      // openkraft's own runtime also records whole-node steps: every one must be spec/node's.
      if (lines.some((l) => l.text.includes('"layer":"node"'))) nodeVerdict = replayNodeTrace(lines);
      if (html !== undefined) {
        const page = recordedTracePage(files, lines, reducers, verdict, nodeVerdict);
        if (!writeHtml("kraft conformance check-trace", html, page, io.err)) return 2;
      }
    } catch (error) {
      io.err(`kraft conformance check-trace: ${(error as Error).message}`);
      return 2;
    }
    if (values["json"] === true)
      io.out(JSON.stringify(nodeVerdict === undefined ? verdict : { ...verdict, node: nodeVerdict }));
    else {
      for (const line of renderVerdict(verdict)) io.out(line);
      if (nodeVerdict !== undefined) for (const line of renderNodeVerdict(nodeVerdict)) io.out(line);
    }
    return verdict.ok && nodeVerdict?.ok !== false ? 0 : 1;
  }
  if (sub !== "run")
    throw new UsageError(
      `kraft conformance takes run, explore, adapter, check-trace, cluster or node; got "${positional.join(" ")}"`,
    );
  const given = values["adapter"] as string | undefined;
  if (given === undefined) throw new UsageError("run needs --adapter CMD");
  const adapter = withThisKraft(given);
  let vectors = loadVectors(values["vectors"] as string);
  const filter = values["filter"] as string | undefined;
  if (filter !== undefined) vectors = vectors.filter((v) => v.name.includes(filter));
  const layer = values["layer"] as string;
  if (layer !== "all") vectors = vectors.filter((v) => v.layer === layer);
  if (vectors.length === 0)
    throw new UsageError(
      `no vectors${filter === undefined ? "" : ` match "${filter}"`}${layer === "all" ? "" : ` of the ${layer} layer`}`,
    );
  let report: Awaited<ReturnType<typeof runConformance>>;
  try {
    const ran = await runConformance(adapter, vectors, {
      timeoutMs: values["timeout"] as number,
      onProgress: (done, total) => {
        if (io.isTTY) io.err(`\rkraft conformance: ${done}/${total} vectors`);
      },
    });
    report = { ...ran, adapter: given };
  } catch (error) {
    if (io.isTTY) io.err("\n");
    io.err(`kraft conformance: ${(error as Error).message}`);
    return 2;
  }
  if (io.isTTY) io.err("\n");
  if (values["json"] === true) io.out(JSON.stringify(report));
  else for (const line of renderReport(report, values["verbose"] === true)) io.out(line);
  return report.failed === 0 ? 0 : 1;
};
