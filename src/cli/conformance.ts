// `kraft conformance run|adapter`: run the conformance vectors against an implementation's adapter,
// or serve the reference adapter (the spec reducers) on stdin/stdout.
import { loadReducers, serveAdapter } from "../../conformance/adapter.ts";
import { loadVectors, renderReport, runConformance } from "../../conformance/runner.ts";
import { checkTrace, readTrace, renderVerdict, type TraceVerdict } from "../../conformance/trace.ts";
import { VECTOR_DIR } from "../../conformance/vectors.ts";
import type { CheckIo as Io } from "./check.ts";
import { type FlagSpec, parseFlags, renderHelp, UsageError } from "./flags.ts";

export const CONFORMANCE_FLAGS: readonly FlagSpec[] = [
  {
    kind: "string",
    name: "adapter",
    placeholder: "CMD",
    description: "run: the command that starts the implementation's adapter (run by the shell)",
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
    kind: "integer",
    name: "timeout",
    min: 1,
    default: 10_000,
    description: "run: ms to wait for each reply",
  },
  {
    kind: "string",
    name: "spec",
    placeholder: "DIR",
    description: "adapter, check-trace: load the reducers from this copy of spec/",
  },
  {
    kind: "boolean",
    name: "json",
    default: false,
    description: "run: print the whole report as one JSON document",
  },
  { kind: "boolean", name: "help", alias: "h", default: false, description: "show this help" },
];

export const CONFORMANCE_HELP = renderHelp(
  "kraft conformance run --adapter CMD [--json] | adapter | check-trace FILE... [--json]",
  "Check a KRaft implementation against the spec, vector by vector and rule by rule (conformance/README.md).",
  CONFORMANCE_FLAGS,
  [
    "examples:",
    '  kraft conformance run --adapter "kraft conformance adapter"     # the reference: all pass',
    '  kraft conformance run --adapter "./my-raft-adapter" --filter 08-follower --json',
    "  kraft conformance check-trace node-1.trace node-2.trace node-3.trace",
    "exit codes: 0 every vector passes (the trace is explained), 1 a vector fails (an event is not),",
    "2 bad usage, a broken adapter or an unreadable trace.",
  ],
);

export const runConformanceCommand = async (argv: readonly string[], io: Io): Promise<number> => {
  const { values, positional } = parseFlags(CONFORMANCE_FLAGS, argv);
  if (values["help"] === true) {
    io.out(CONFORMANCE_HELP);
    return 0;
  }
  const sub = positional[0];
  if (sub === "adapter") {
    await serveAdapter(
      await loadReducers(values["spec"] as string | undefined),
      process.stdin,
      process.stdout,
    );
    return 0;
  }
  if (sub === "check-trace") {
    const files = positional.slice(1);
    if (files.length === 0)
      throw new UsageError("check-trace needs the trace files (NDJSON, as openkraft.trace.file writes)");
    let verdict: TraceVerdict;
    try {
      verdict = checkTrace(readTrace(files), await loadReducers(values["spec"] as string | undefined));
    } catch (error) {
      io.err(`kraft conformance check-trace: ${(error as Error).message}`);
      return 2;
    }
    if (values["json"] === true) io.out(JSON.stringify(verdict));
    else for (const line of renderVerdict(verdict)) io.out(line);
    return verdict.ok ? 0 : 1;
  }
  if (sub !== "run")
    throw new UsageError(
      `kraft conformance takes "run", "adapter" or "check-trace"; got "${positional.join(" ")}"`,
    );
  const adapter = values["adapter"] as string | undefined;
  if (adapter === undefined) throw new UsageError("run needs --adapter CMD");
  let vectors = loadVectors(values["vectors"] as string);
  const filter = values["filter"] as string | undefined;
  if (filter !== undefined) vectors = vectors.filter((v) => v.name.includes(filter));
  if (vectors.length === 0)
    throw new UsageError(`no vectors${filter === undefined ? "" : ` match "${filter}"`}`);
  let report: Awaited<ReturnType<typeof runConformance>>;
  try {
    report = await runConformance(adapter, vectors, {
      timeoutMs: values["timeout"] as number,
      onProgress: (done, total) => {
        if (io.isTTY) io.err(`\rkraft conformance: ${done}/${total} vectors`);
      },
    });
  } catch (error) {
    if (io.isTTY) io.err("\n");
    io.err(`kraft conformance: ${(error as Error).message}`);
    return 2;
  }
  if (io.isTTY) io.err("\n");
  if (values["json"] === true) io.out(JSON.stringify(report));
  else for (const line of renderReport(report)) io.out(line);
  return report.failed === 0 ? 0 : 1;
};
