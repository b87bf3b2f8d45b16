// npm run bench:check [-- --seconds N --ci]: the model checker on the reference configuration
// (model-tests/configurations.ts), for at most N seconds (default 60) with one thread and again with
// a worker per core, liveness included and then safety alone (the properties TLC checks of the public
// TLA+ specs); prints one JSON line, with where one thread's time goes per state
// (check-breakdown.ts). --ci also times the exhaustive CI configuration with every core; --voter-changes
// the CI's reconfiguration check (kraft.version 1, the generic codec) with one thread and every core.
import { availableParallelism } from "node:os";
import {
  CI_CONFIGURATION,
  RECONFIGURATION_CONFIGURATION,
  RECONFIGURATION_DEPTH,
  REFERENCE_CONFIGURATION,
} from "../model-tests/configurations.ts";
import { type SearchOptions, search } from "../src/checker/engine.ts";
import { raftModel } from "../src/checker/raft-model.ts";
import { breakdown } from "./check-breakdown.ts";
import { scriptFlags } from "./script-flags.ts";

const flags = scriptFlags(
  "npm run bench:check -- [--seconds N] [--ci] [--voter-changes]",
  "The model checker on the reference configuration with one thread and with a worker per core, liveness\nincluded and safety alone; prints one JSON line.",
  [
    {
      kind: "integer",
      name: "seconds",
      min: 1,
      max: 86_400,
      default: 60,
      description: "the most each of the four runs may take",
    },
    {
      kind: "boolean",
      name: "ci",
      default: false,
      description: "also time the exhaustive CI configuration with every core",
    },
    {
      kind: "boolean",
      name: "voter-changes",
      default: false,
      description:
        "also time the CI's reconfiguration check (voter sets that change: the generic codec) with one thread and every core",
    },
  ],
);
const seconds = flags["seconds"] as number;
const withCi = flags["ci"] === true;
const withVoterChanges = flags["voter-changes"] === true;
const cores = availableParallelism();

const run = (workers: number, options: Partial<SearchOptions> = {}) => {
  const r = search(raftModel(REFERENCE_CONFIGURATION), {
    mode: "bfs",
    maxSeconds: seconds,
    workers,
    ...options,
  });
  return {
    workers: r.workers,
    distinctStates: r.distinctStates,
    generatedStates: r.generatedStates,
    seconds: Number(r.seconds.toFixed(1)),
    distinctPerSecond: Math.round(r.distinctPerSecond),
    bytesPerState: r.bytesPerState,
    peakRssMB: r.peakRssMB,
    complete: r.complete,
  };
};

const perState = breakdown(raftModel(REFERENCE_CONFIGURATION));
const liveness = { oneThread: run(1), allCores: run(cores) };
const safety = { oneThread: run(1, { livenessBound: 0 }), allCores: run(cores, { livenessBound: 0 }) };
const speedUp = (x: { oneThread: { distinctPerSecond: number }; allCores: { distinctPerSecond: number } }) =>
  Number((x.allCores.distinctPerSecond / x.oneThread.distinctPerSecond).toFixed(2));
const ci = withCi
  ? (() => {
      const r = search(raftModel(CI_CONFIGURATION), { mode: "bfs", workers: cores });
      return { distinctStates: r.distinctStates, seconds: Number(r.seconds.toFixed(1)), workers: r.workers };
    })()
  : undefined;
const voterChanges = withVoterChanges
  ? (() => {
      const timed = (workers: number) => {
        const r = search(raftModel(RECONFIGURATION_CONFIGURATION), {
          mode: "bfs",
          depth: RECONFIGURATION_DEPTH,
          workers,
        });
        return {
          workers: r.workers,
          distinctStates: r.distinctStates,
          timedStates: r.liveness?.states ?? 0,
          seconds: Number(r.seconds.toFixed(1)),
          distinctPerSecond: Math.round(r.distinctPerSecond),
          bytesPerState: r.bytesPerState,
        };
      };
      return {
        configuration: `3 voters and a caught-up observer, two voter changes, one epoch, depth ${RECONFIGURATION_DEPTH}, liveness included`,
        perStateMicroseconds: breakdown(raftModel(RECONFIGURATION_CONFIGURATION), 5_000, 2),
        oneThread: timed(1),
        allCores: timed(cores),
      };
    })()
  : undefined;
console.log(
  JSON.stringify({
    benchmark: "check",
    configuration:
      "3 voters, max epoch 3, one value per epoch, one crash, pre-vote, check quorum, lossy unordered network, symmetry",
    cores,
    secondsPerRun: seconds,
    liveness: { ...liveness, speedUp: speedUp(liveness) },
    safetyOnly: { ...safety, speedUp: speedUp(safety) },
    perStateMicroseconds: perState,
    ...(ci === undefined ? {} : { ciConfiguration: ci }),
    ...(voterChanges === undefined ? {} : { voterChanges }),
    targets: { distinctPerSecond: 80000, bytesPerState: 32 },
    meetsTargets: safety.allCores.distinctPerSecond >= 80000 && safety.allCores.bytesPerState <= 32,
  }),
);
