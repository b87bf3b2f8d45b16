// node scripts/bench-metadata.ts [--depth N]: the model checker on the metadata model at the bounds of
// kraft check --model metadata --quick (3 controllers, 2 brokers, one topic of one partition, one pause,
// to depth DEPTH, default METADATA_DEPTH, liveness left to random walks as kraft check does), with one thread and again with a
// worker per core; prints one JSON line with each run's rate, by the clock and by the CPU time this
// process used (a fairer number on a machine shared with other work), and where one thread's time
// goes per state (check-breakdown.ts).
import { availableParallelism } from "node:os";
import { search } from "../src/checker/engine.ts";
import { metadataModel } from "../src/checker/metadata-model.ts";
import { METADATA_DEPTH, metadataConfigOfArgs } from "../src/cli/check.ts";
import { breakdown } from "./check-breakdown.ts";
import { scriptFlags } from "./script-flags.ts";

const depth = scriptFlags(
  "node scripts/bench-metadata.ts [--depth N]",
  "The model checker on the metadata model at kraft check's defaults, with one thread and with a worker\nper core; prints one JSON line.",
  [
    {
      kind: "integer",
      name: "depth",
      min: 1,
      max: 1000,
      default: METADATA_DEPTH,
      description: "the breadth-first search's depth bound",
    },
  ],
)["depth"] as number;
const cores = availableParallelism();
// --quick's bounds: a depth-bounded search whose speed compares across builds (the default search is
// complete and takes minutes; ci-metadata.test.ts times it).
const config = metadataConfigOfArgs(["--model", "metadata", "--quick"]);

const run = (workers: number) => {
  const cpu = process.cpuUsage();
  const r = search(metadataModel(config), { mode: "bfs", depth, workers, livenessBound: 0 });
  const used = process.cpuUsage(cpu);
  // Workers' CPU time is this process's too.
  const cpuSeconds = (used.user + used.system) / 1e6;
  return {
    workers: r.workers,
    distinctStates: r.distinctStates,
    generatedStates: r.generatedStates,
    seconds: Number(r.seconds.toFixed(1)),
    distinctPerSecond: Math.round(r.distinctPerSecond),
    cpuSeconds: Number(cpuSeconds.toFixed(1)),
    distinctPerCpuSecond: Math.round(r.distinctStates / cpuSeconds),
    bytesPerState: r.bytesPerState,
    frontierDiskMB: r.frontierDiskMB,
    peakRssMB: r.peakRssMB,
  };
};

const perState = breakdown(metadataModel({ ...config, liveness: false }), 10_000, 2);
const oneThread = run(1);
const allCores = run(cores);
console.log(
  JSON.stringify({
    benchmark: "metadata",
    configuration: `kraft check --model metadata --quick, depth ${depth}`,
    cores,
    oneThread,
    allCores,
    speedUp: Number((allCores.distinctPerSecond / oneThread.distinctPerSecond).toFixed(2)),
    perStateMicroseconds: perState,
  }),
);
