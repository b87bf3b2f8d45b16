// `kraft quorum plan --from 1,2,3 --to 1,2,4`: the runbook that takes a dynamic quorum (KIP-853) from
// one controller set to another, one voter change at a time, and the model check of that exact plan
// before it is printed. Adds come first, so the voter set never drops below the smaller of the two
// sets; removals follow. The checker runs the plan on the spec's cluster (the same reducers the
// nodes run) with crashes, restarts, message loss and elections between every step, and a plan it
// cannot complete or that breaks a property is refused with the counterexample.
import { type Bounds, planSets, type VoterPlanStep } from "../../spec/cluster/actions.ts";
import { type ClusterSpec, DEFAULT_CLUSTER } from "../../spec/cluster/world.ts";
import { search } from "../checker/engine.ts";
import { raftModel } from "../checker/raft-model.ts";
import { TIMEOUT_FLAG } from "./admin-client.ts";
import { type FlagSpec, type FlagValues, renderHelp, UsageError } from "./flags.ts";
import type { Io } from "./node-commands.ts";

export const PLAN_FLAGS: readonly FlagSpec[] = [
  { kind: "string", name: "from", placeholder: "IDS", description: "the voters now, e.g. 1,2,3" },
  { kind: "string", name: "to", placeholder: "IDS", description: "the voters wanted, e.g. 1,2,4" },
  {
    kind: "string",
    name: "bootstrap-server",
    placeholder: "HOST:PORT",
    description: "a controller's address, written into the runbook's commands (default: HOST:PORT)",
  },
  {
    kind: "integer",
    name: "walks",
    min: 1,
    max: 1_000_000,
    default: 500,
    placeholder: "N",
    description: "random runs of the plan the checker makes, each with its own faults",
  },
  {
    kind: "integer",
    name: "depth",
    min: 10,
    max: 10_000,
    default: 600,
    placeholder: "N",
    description: "steps per run",
  },
  {
    kind: "integer",
    name: "seed",
    min: 0,
    max: 2147483647,
    default: 1,
    placeholder: "N",
    description: "random seed",
  },
  {
    kind: "integer",
    name: "max-crashes",
    min: 0,
    max: 5,
    default: 1,
    placeholder: "N",
    description: "crashes per run (each loses what was not flushed; the node restarts)",
  },
  {
    kind: "integer",
    name: "max-seconds",
    min: 1,
    max: 3600,
    default: 120,
    placeholder: "S",
    description: "stop checking after this long (the result says how far it got)",
  },
  { kind: "boolean", name: "json", default: false, description: "print one JSON document" },
  {
    kind: "boolean",
    name: "execute",
    default: false,
    description:
      "carry the checked plan out against the quorum at --bootstrap-server (one or more controllers, comma-separated), checking each step's precondition first; run it again to resume",
  },
  {
    kind: "string",
    name: "controller-configs",
    placeholder: "ID=FILE,…",
    description: "--execute: each controller to add and the properties it was started with (its listener)",
  },
  {
    kind: "integer",
    name: "step-timeout",
    min: 1000,
    max: 86_400_000,
    default: 600_000,
    placeholder: "MS",
    description: "--execute: how long a step may wait for its precondition and its commit",
  },
  { ...TIMEOUT_FLAG, description: "--execute: how long to wait for each answer" },
];

/** The controllers a flag names: distinct node ids. */
export const ids = (values: FlagValues, flag: string): number[] => {
  const text = values[flag] as string | undefined;
  if (text === undefined) throw new UsageError(`kraft quorum plan needs --${flag} IDS (e.g. 1,2,3)`);
  const list = text.split(",").map((t) => t.trim());
  if (list.some((t) => !/^\d+$/.test(t) || Number(t) > 2147483647))
    throw new UsageError(`--${flag} "${text}" is not a list of node ids (e.g. 1,2,3)`);
  const numbers = list.map(Number);
  if (new Set(numbers).size !== numbers.length) throw new UsageError(`--${flag} names a node twice`);
  return numbers;
};

/** The most controllers a plan is model-checked with: the state space grows fast with each. */
const MAX_NODES = 6;

/** The voter changes from `from` to `to`: every add first (in id order), then every removal. */
export const voterPlan = (from: readonly number[], to: readonly number[]): VoterPlanStep[] => [
  ...to.filter((id) => !from.includes(id)).map((id) => ({ op: "add" as const, id })),
  ...from.filter((id) => !to.includes(id)).map((id) => ({ op: "remove" as const, id })),
];

export const PLAN_USAGE =
  "kraft quorum plan --from IDS --to IDS [--json] [--walks N] [--max-crashes N] [--execute --bootstrap-server HOST:PORT[,…] --controller-configs ID=FILE,…]";

/** The plan from --from to --to, and the model check of it. */
export const checkPlan = (values: FlagValues) => {
  const from = ids(values, "from");
  const to = ids(values, "to");
  const all = [...new Set([...from, ...to])];
  if (all.length > MAX_NODES)
    throw new UsageError(
      `the plan involves ${all.length} controllers; it is model-checked with at most ${MAX_NODES} (plan the change in parts)`,
    );
  const steps = voterPlan(from, to);
  if (steps.length === 0)
    throw new UsageError("--from and --to name the same voters: there is nothing to change");
  const server = (values["bootstrap-server"] as string | undefined) ?? "HOST:PORT";
  // The model numbers the current voters 1..n and the nodes to add after them.
  const added = to.filter((id) => !from.includes(id));
  const modelId = new Map<number, number>([...from, ...added].map((id, i) => [id, i + 1]));
  const realId = (model: number) => [...modelId].find(([, m]) => m === model)?.[0] ?? model;
  const cluster: ClusterSpec = {
    ...DEFAULT_CLUSTER,
    voters: from.length,
    observers: added.length,
    kraftVersion: 1,
  };
  const modelSteps = steps.map((s) => ({ op: s.op, id: modelId.get(s.id)! }));
  const bounds: Bounds = {
    // Elections between the steps: each add waits for a round trip (R96) in which a leader may fall.
    maxEpoch: 6,
    maxValues: 1,
    maxValuesPerEpoch: 1,
    maxCrashes: values["max-crashes"] as number,
    maxDuplicates: 0,
    loss: true,
    network: "unordered",
    // Each step may be lost to a leader change, or its ApiVersions exchange (R96) to a lost message,
    // and asked again.
    maxVoterChanges: 6 * steps.length + 2,
    voterPlan: { from: from.map((id) => modelId.get(id)!), steps: modelSteps },
  };
  const result = search(raftModel({ cluster, bounds, symmetry: false, start: "joined" }), {
    mode: "simulate",
    walks: values["walks"] as number,
    depth: values["depth"] as number,
    seed: values["seed"] as number,
    maxSeconds: values["max-seconds"] as number,
  });
  // Every run's end must reach the plan's last voter set once faults stop, its operator going on
  // (EventuallyVoterPlanCompleted): a plan that cannot is refused as not completed.
  const notCompleted = result.result === "violation" && result.property === "EventuallyVoterPlanCompleted";
  const runbook = steps.map((step, i) => ({
    step: i + 1,
    ...step,
    voters: planSets(from, steps)[i + 1]!,
    commands:
      step.op === "add"
        ? [
            `kraft format --cluster-id CLUSTER_ID --config controller-${step.id}.properties --no-initial-controllers`,
            `kraft start --config controller-${step.id}.properties`,
            `kraft quorum describe --bootstrap-server ${server}   # wait until node ${step.id} is an observer with LAG 0`,
            `kraft quorum add-controller --config controller-${step.id}.properties --bootstrap-server ${server}`,
          ]
        : [
            `kraft quorum describe --bootstrap-server ${server}   # note node ${step.id}'s DIRECTORY ID`,
            `kraft quorum remove-controller --controller-id ${step.id} --controller-directory-id DIRECTORY_ID --bootstrap-server ${server}`,
            `kraft quorum describe --bootstrap-server ${server}   # node ${step.id} is now an observer; stop it`,
          ],
  }));
  const refused = result.result === "violation";
  const check = {
    // Random runs find bugs but prove nothing: a plan that passes them is not thereby proved.
    verdict: notCompleted ? "not completed" : refused ? "violation" : "no violation found",
    mode: "simulate",
    walks: result.walks ?? 0,
    depth: values["depth"] as number,
    seed: values["seed"] as number,
    maxCrashes: values["max-crashes"] as number,
    distinctStates: result.distinctStates,
    seconds: Math.round(result.seconds * 10) / 10,
    ...(result.property === undefined ? {} : { property: result.property, violation: result.violation }),
    ...(result.trace === undefined
      ? {}
      : {
          counterexample: result.trace.map((t) =>
            // The model's node numbers, as the plan's ids.
            t.action.replace(/\b(node|n)(\d+)\b/g, (_m, p: string, n: string) => `${p}${realId(Number(n))}`),
          ),
        }),
  };
  return { from, to, steps, runbook, check, refused, result };
};

export type CheckedPlan = ReturnType<typeof checkPlan>;

/** Why a plan was refused, with its counterexample: one paragraph. */
export const refusalText = ({ check, result }: CheckedPlan): string =>
  `kraft quorum plan: refused: ${check.verdict === "not completed" ? "the plan does not complete once faults stop" : `the plan breaks ${result.property}`}: ${result.violation}\ncounterexample:\n${(check.counterexample ?? []).map((l) => `  ${l}`).join("\n")}`;

/** What the check proved, in one sentence. */
export const checkSummary = ({ check }: CheckedPlan): string =>
  `model-checked: ${check.walks} random runs of the plan on the spec's cluster (up to ${check.depth} steps each, seed ${check.seed}), with up to ${check.maxCrashes} crash${check.maxCrashes === 1 ? "" : "es"}, message loss and elections between steps, ${check.distinctStates} distinct states in ${check.seconds} s: no property broken, and from where each run ended the plan completed once faults stopped, its operator going on. Random runs are not exhaustive.`;

export const runPlan = (values: FlagValues, io: Io): number => {
  const plan = checkPlan(values);
  const { from, to, steps, runbook, check, refused } = plan;
  if (values["json"] === true) {
    io.out(JSON.stringify({ from, to, steps: runbook, check, refused }));
    return refused ? 1 : 0;
  }
  if (refused) {
    io.err(refusalText(plan));
    return 1;
  }
  io.out(
    `voters ${from.join(",")} -> ${to.join(",")}: ${steps.length} step${steps.length === 1 ? "" : "s"}, one voter change at a time, adds before removals`,
  );
  for (const r of runbook) {
    io.out(`\nstep ${r.step}: ${r.op} controller ${r.id}  (voters after: ${r.voters.join(",")})`);
    for (const c of r.commands) io.out(`  ${c}`);
  }
  io.out(`\n${checkSummary(plan)}`);
  return 0;
};

export const PLAN_HELP = renderHelp(
  PLAN_USAGE,
  [
    "The runbook from one controller set to another in a dynamic quorum, model-checked before it is printed; a plan the checker cannot complete, or one that breaks a property, is refused with the counterexample (exit 1).",
    "With --execute it is then carried out against the live quorum one voter change at a time: before each step the voters must be the set the plan expects, a controller to add must run as a caught-up observer (the step waits for it, up to --step-timeout), and a controller to remove must be a voter. A change refused or lost to a failover is asked again only while it is missing. Interrupted, the same command resumes at the step the voters show.",
  ].join("\n"),
  PLAN_FLAGS,
);
