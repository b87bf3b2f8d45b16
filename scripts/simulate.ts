// npm run simulate: run the deterministic simulator of the real runtime over many seeds (or one), print
// progress and a summary, and for every failing seed the command that replays it. Exit 1 on a failure.
import { parseArgs } from "node:util";
import { Simulation, simulate } from "../src/runtime/sim/simulation.ts";

const HELP = `npm run simulate -- [--seeds N] [--from S] [--seed S] [--fault-ms MS] [--heal-ms MS] [--quorum static|dynamic] [--json]

Run real node drivers (3 controllers and 2 brokers, or 3 combined nodes) in one process on a simulated
network and simulated disks, from a seed: crashes that lose unsynced writes, graceful restarts,
partitions, connection resets, full disks and failing fsyncs, with admin clients creating topics.
After every event it checks one leader per epoch, committed entries never lost or changed, monotone
high watermarks; after healing, that the cluster makes progress and kept every acknowledged topic.

  --seeds N      how many seeds to run, from --from (default 100)
  --from S       the first seed (default 1)
  --seed S       run this one seed, and print its nodes' last log lines if it fails
  --fault-ms MS  simulated milliseconds of faults (default 60000)
  --heal-ms MS   simulated milliseconds the healed cluster has to make progress (default 60000)
  --quorum Q     static (controller.quorum.voters, the default) or dynamic (KIP-853: formatted with
                 the initial controllers, auto-join on; faults also replace a controller's disk, and
                 after healing every replaced disk must be a voter again)
  --failover crash|partition
                 instead: per seed, how long clients wait through a broker after the active
                 controller crashes (or is cut off by a partition, like a hung process); prints
                 the distribution as JSON
  --json         one JSON object per seed, then a summary object
  -h, --help     show this help`;

const fail = (message: string): never => {
  process.stderr.write(`simulate: ${message}\n(npm run simulate -- --help lists the options)\n`);
  process.exit(2);
};

let values: Record<string, string | boolean | undefined> = {};
try {
  ({ values } = parseArgs({
    options: {
      seeds: { type: "string" },
      from: { type: "string" },
      seed: { type: "string" },
      "fault-ms": { type: "string" },
      "heal-ms": { type: "string" },
      quorum: { type: "string" },
      json: { type: "boolean", default: false },
      failover: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  }));
} catch (error) {
  fail((error as Error).message);
}
if (values["help"] === true) {
  process.stdout.write(`${HELP}\n`);
  process.exit(0);
}
const integer = (name: string, fallback: number, min: number, max: number): number => {
  const text = values[name];
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max)
    fail(`--${name} ${String(text)} is not an integer in ${min}..${max}`);
  return n;
};
const single = values["seed"] !== undefined;
const from = single
  ? integer("seed", 1, -2147483648, 2147483647)
  : integer("from", 1, -2147483648, 2147483647);
const count = single ? 1 : integer("seeds", 100, 1, 1_000_000);
const faultMs = integer("fault-ms", 60_000, 0, 3_600_000);
const healMs = integer("heal-ms", 60_000, 1_000, 3_600_000);
const json = values["json"] === true;
const quorum = values["quorum"] ?? "static";
if (quorum !== "static" && quorum !== "dynamic") fail(`--quorum ${String(quorum)} is not static or dynamic`);

const started = performance.now();
const failover = values["failover"];
if (failover !== undefined) {
  if (failover !== "crash" && failover !== "partition")
    fail(`--failover ${String(failover)} is not crash or partition`);
  const times: (number | null)[] = [];
  for (let seed = from; seed < from + count; seed++) {
    const sim = new Simulation({ seed, faultMs: 0, healMs, topology: "separate", faults: false });
    times.push(await sim.failover(failover as "crash" | "partition"));
  }
  const measured = times.filter((t): t is number => t !== null).sort((a, b) => a - b);
  const at = (q: number) => measured[Math.min(measured.length - 1, Math.floor(q * measured.length))] ?? null;
  process.stdout.write(
    `${JSON.stringify({ failover, seeds: count, from, noProgressWithin60s: times.length - measured.length, p50Ms: at(0.5), p90Ms: at(0.9), maxMs: measured.at(-1) ?? null, wallMs: Math.round(performance.now() - started) })}\n`,
  );
  process.exit(measured.length === times.length ? 0 : 1);
}
const failures: number[] = [];
let events = 0;
let simulatedMs = 0;
for (let seed = from; seed < from + count; seed++) {
  const result = await simulate(seed, { faultMs, healMs, quorum: quorum as "static" | "dynamic" });
  events += result.events;
  simulatedMs += result.simulatedMs;
  if (!result.ok) failures.push(seed);
  if (json) process.stdout.write(`${JSON.stringify(result)}\n`);
  else if (!result.ok) {
    process.stdout.write(`seed ${seed} (${result.topology}) FAILED:\n`);
    for (const v of result.violations) process.stdout.write(`  ${v}\n`);
    process.stdout.write(`  replay: npm run simulate -- --seed ${seed}\n`);
    if (single) process.stdout.write(`${result.logTail.map((l) => `    ${l}`).join("\n")}\n`);
  } else if (single || (seed - from + 1) % 10 === 0 || seed === from + count - 1) {
    process.stderr.write(
      `${seed - from + 1}/${count} seeds, ${failures.length} failed (${Math.round(performance.now() - started)} ms)\n`,
    );
  }
}
const summary = {
  seeds: count,
  from,
  failed: failures,
  events,
  simulatedSeconds: Math.round(simulatedMs / 1000),
  wallMs: Math.round(performance.now() - started),
};
process.stdout.write(
  `${json ? JSON.stringify(summary) : `${count} seeds from ${from}: ${failures.length === 0 ? "all passed" : `FAILED: ${failures.join(", ")}`} (${summary.simulatedSeconds} simulated s, ${summary.events} events, ${summary.wallMs} ms)`}\n`,
);
process.exit(failures.length === 0 ? 0 : 1);
