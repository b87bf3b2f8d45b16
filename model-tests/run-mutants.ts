// Runs the mutation suite: for each seeded bug, copy spec/ and the checker into a scratch folder,
// apply the bug there, and model-check it. Every mutant must be caught with a counterexample.
//   npm run mutants -- [--json] [--only NAME] [--max-seconds S] [--baseline] [--reductions on|off|compare]
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { Model } from "../src/checker/model.ts";
import { NO_REDUCTIONS } from "../src/checker/reductions.ts";
import { type FlagSpec, parseFlags, renderHelp, UsageError } from "../src/cli/flags.ts";
import { type Edit, MUTANTS, type Mutant } from "./mutants.ts";

const root = join(import.meta.dirname, "..");
const scratch = join(root, ".cache", "mutants");

/** Apply edits to a source text; each `find` must occur exactly once. */
export const applyEdits = (name: string, file: string, text: string, edits: readonly Edit[]): string => {
  let result = text;
  for (const edit of edits) {
    if (edit.file !== file) continue;
    const first = result.indexOf(edit.find);
    if (first < 0 || result.indexOf(edit.find, first + 1) >= 0) {
      throw new Error(
        `mutant ${name}: the text to replace in spec/${file} ${first < 0 ? "is not there" : "occurs more than once"}; update model-tests/mutants.ts after changing the spec:\n${edit.find}`,
      );
    }
    result = result.slice(0, first) + edit.replace + result.slice(first + edit.find.length);
  }
  return result;
};

export interface MutantResult {
  readonly name: string;
  readonly class: string;
  readonly rule: string;
  readonly caught: boolean;
  readonly property?: string;
  /** Steps in the counterexample (the shortest, unless a fair schedule found it). */
  readonly depth?: number;
  /** The counterexample is a fair schedule's, from this step on: perhaps not the shortest. */
  readonly scheduleFrom?: number;
  readonly seconds: number;
  readonly distinctStates: number;
  /** The deepest state the search reached: with `incomplete`, every state up to one less was checked. */
  readonly maxDepth: number;
  readonly result: string;
  readonly violation?: string;
  /** The counterexample, one line per step and node. */
  readonly trace?: readonly string[];
}

/** Copy spec/ and the checker into `dir`, with the mutant's edits applied when given. */
const prepare = (dir: string, mutant: Mutant | undefined): void => {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, "src"), { recursive: true });
  cpSync(join(root, "spec"), join(dir, "spec"), {
    recursive: true,
    filter: (src) => !src.endsWith(".test.ts") && !src.endsWith(".txt"),
  });
  cpSync(join(root, "src", "checker"), join(dir, "src", "checker"), { recursive: true });
  if (mutant === undefined) return;
  for (const file of new Set(mutant.edits.map((e) => e.file))) {
    const path = join(dir, "spec", file);
    writeFileSync(path, applyEdits(mutant.name, file, readFileSync(path, "utf8"), mutant.edits));
  }
};

interface CheckerModules {
  readonly search: typeof import("../src/checker/engine.ts").search;
  readonly raftModel: typeof import("../src/checker/raft-model.ts").raftModel;
  readonly metadataModel: typeof import("../src/checker/metadata-model.ts").metadataModel;
  readonly DEFAULT_CLUSTER: typeof import("../spec/cluster/world.ts").DEFAULT_CLUSTER;
  readonly DEFAULT_BOUNDS: typeof import("../spec/cluster/actions.ts").DEFAULT_BOUNDS;
  readonly DEFAULT_METADATA_CLUSTER: typeof import("../spec/cluster/metadata-world.ts").DEFAULT_METADATA_CLUSTER;
  readonly DEFAULT_META_BOUNDS: typeof import("../spec/cluster/metadata-actions.ts").DEFAULT_META_BOUNDS;
}

const load = async (dir: string): Promise<CheckerModules> => {
  const at = (...path: string[]) => import(pathToFileURL(join(dir, ...path)).href);
  const engine = await at("src", "checker", "engine.ts");
  const model = await at("src", "checker", "raft-model.ts");
  const metadata = await at("src", "checker", "metadata-model.ts");
  const world = await at("spec", "cluster", "world.ts");
  const actions = await at("spec", "cluster", "actions.ts");
  const metadataWorld = await at("spec", "cluster", "metadata-world.ts");
  const metadataActions = await at("spec", "cluster", "metadata-actions.ts");
  return {
    search: engine.search,
    raftModel: model.raftModel,
    metadataModel: metadata.metadataModel,
    DEFAULT_CLUSTER: world.DEFAULT_CLUSTER,
    DEFAULT_BOUNDS: actions.DEFAULT_BOUNDS,
    DEFAULT_METADATA_CLUSTER: metadataWorld.DEFAULT_METADATA_CLUSTER,
    DEFAULT_META_BOUNDS: metadataActions.DEFAULT_META_BOUNDS,
  };
};

/** The model a mutant is checked with, as the search sees it: with every reduction, or with none. */
const modelFor = (
  m: CheckerModules,
  mutant: Mutant,
  reduced: boolean,
): { model: Model<unknown>; depth?: number } => {
  const setup = mutant.metadata;
  const reductions = reduced ? {} : { reductions: NO_REDUCTIONS };
  if (setup === undefined) {
    const model = m.raftModel({
      cluster: { ...m.DEFAULT_CLUSTER, ...mutant.cluster },
      bounds: { ...m.DEFAULT_BOUNDS, maxCrashes: 0, ...mutant.bounds },
      symmetry: reduced,
      ...reductions,
      ...(mutant.start === undefined ? {} : { start: mutant.start }),
    });
    return { model: model as Model<unknown> };
  }
  const model = m.metadataModel({
    spec: {
      ...m.DEFAULT_METADATA_CLUSTER,
      brokers: setup.brokers,
      syncFlush: true,
      controller: { ...m.DEFAULT_METADATA_CLUSTER.controller, noOpIntervalMs: 0 },
    },
    bounds: { ...m.DEFAULT_META_BOUNDS, ...setup.bounds },
    partitions: setup.partitions,
    ...reductions,
  });
  return { model: model as Model<unknown>, depth: setup.depth };
};

/** Model-check one mutant (or, with `baseline`, the unchanged spec under the mutant's bounds). */
export const runMutant = async (
  mutant: Mutant,
  maxSeconds: number,
  baseline = false,
  reduced = true,
): Promise<MutantResult> => checkMutant(await prepared(mutant, baseline), mutant, maxSeconds, reduced);

/** The checker and spec of a scratch copy with the mutant applied (or not, for its baseline). */
const prepared = async (mutant: Mutant, baseline: boolean): Promise<CheckerModules> => {
  const dir = join(scratch, baseline ? `baseline-${mutant.name}` : mutant.name);
  prepare(dir, baseline ? undefined : mutant);
  return load(dir);
};

const checkMutant = (
  m: CheckerModules,
  mutant: Mutant,
  maxSeconds: number,
  reduced: boolean,
  workers = availableParallelism(),
  safetyOnly = false,
): MutantResult => {
  const { model, depth } = modelFor(m, mutant, reduced);
  const liveness = !safetyOnly && (mutant.metadata === undefined || mutant.metadata.liveness === true);
  let result: ReturnType<typeof m.search>;
  try {
    result = m.search(model, {
      mode: "bfs",
      workers,
      maxSeconds,
      ...(depth === undefined ? {} : { depth }),
      ...(liveness ? {} : { livenessBound: 0 }),
    });
  } catch (error) {
    // A mutant that crashes the checker is not caught: a crash is no counterexample.
    return {
      name: mutant.name,
      class: mutant.class,
      rule: mutant.rule,
      caught: false,
      seconds: 0,
      distinctStates: 0,
      maxDepth: 0,
      result: "error",
      violation: `the checker threw: ${(error as Error).message}`,
    };
  }
  return {
    name: mutant.name,
    class: mutant.class,
    rule: mutant.rule,
    caught: result.result === "violation",
    ...(result.property === undefined ? {} : { property: result.property }),
    ...(result.trace === undefined ? {} : { depth: result.trace.length - 1 }),
    ...(result.scheduleFrom === undefined ? {} : { scheduleFrom: result.scheduleFrom }),
    ...(result.violation === undefined ? {} : { violation: result.violation }),
    ...(result.trace === undefined
      ? {}
      : {
          trace: result.trace.flatMap((t) => [
            `${String(t.step).padStart(3)}. ${t.action}`,
            ...t.nodes.map((n) => `       ${n}`),
          ]),
        }),
    seconds: Math.round(result.seconds * 100) / 100,
    distinctStates: result.distinctStates,
    maxDepth: result.maxDepth,
    result: result.result,
  };
};

/**
 * Whether a search with every reduction and one with none agree on a mutant: the same verdict, and a
 * counterexample of the same length (both searches are breadth-first). "inconclusive" when a search
 * stopped before it could tell (time or memory).
 */
export const compareReductions = (
  reduced: MutantResult,
  exact: MutantResult,
): { readonly verdict: "agree" | "differ" | "inconclusive"; readonly why: string } => {
  const describe = (r: MutantResult): string =>
    r.caught
      ? `${r.property} in ${r.depth} steps${r.scheduleFrom === undefined ? "" : ` (a fair schedule's from step ${r.scheduleFrom})`}`
      : r.result === "ok"
        ? "no violation (complete)"
        : r.result;
  const why = `reduced: ${describe(reduced)}; exact: ${describe(exact)}`;
  // Only the search's own counterexamples are shortest; a schedule's length depends on which state's
  // schedule broke the property first.
  const bothShortest = reduced.scheduleFrom === undefined && exact.scheduleFrom === undefined;
  if (reduced.caught && exact.caught)
    return { verdict: !bothShortest || reduced.depth === exact.depth ? "agree" : "differ", why };
  // A search that stopped past depth d checked every state of depth d: it would have found a violation there.
  const passed = (r: MutantResult, depth: number | undefined): boolean =>
    r.result === "ok" || (depth !== undefined && r.maxDepth > depth);
  if (reduced.caught) return { verdict: passed(exact, reduced.depth) ? "differ" : "inconclusive", why };
  if (exact.caught) return { verdict: passed(reduced, exact.depth) ? "differ" : "inconclusive", why };
  if (reduced.result === "ok" && exact.result === "ok") return { verdict: "agree", why };
  return { verdict: "inconclusive", why };
};

const FLAGS: readonly FlagSpec[] = [
  { kind: "boolean", name: "json", default: false, description: "print a JSON array of results" },
  { kind: "string", name: "only", placeholder: "NAME", description: "run one mutant" },
  {
    kind: "string",
    name: "class",
    placeholder: "CLASS",
    description: "run the mutants of one class (protocol, durability, roles, liveness, composition)",
  },
  { kind: "integer", name: "max-seconds", min: 1, default: 120, description: "search time per mutant" },
  { kind: "boolean", name: "show", default: false, description: "print each counterexample" },
  {
    kind: "boolean",
    name: "baseline",
    default: false,
    description: "also check the unchanged spec under each mutant's bounds",
  },
  {
    kind: "choice",
    name: "reductions",
    choices: ["on", "off", "compare"],
    default: "on",
    description:
      "search with the checker's reductions (symmetry, stale messages, ...), without any, or both ways: compare reports where verdicts or counterexample lengths differ and exits 1 if any do",
  },
  { kind: "boolean", name: "help", alias: "h", default: false, description: "show this help" },
];

const main = async (argv: readonly string[]): Promise<number> => {
  const { values } = parseFlags(FLAGS, argv);
  if (values["help"] === true) {
    console.log(
      renderHelp(
        "npm run mutants -- [options]",
        "Model-check every seeded bug of model-tests/mutants.ts; exit 1 unless all are caught.",
        FLAGS,
      ),
    );
    return 0;
  }
  const only = values["only"] as string | undefined;
  const kind = values["class"] as string | undefined;
  const selected = MUTANTS.filter(
    (m) => (only === undefined || m.name === only) && (kind === undefined || m.class === kind),
  );
  if (selected.length === 0) {
    throw new UsageError(
      only !== undefined
        ? `no mutant named "${only}"${kind === undefined ? "" : ` in class ${kind}`}; mutants: ${MUTANTS.map((m) => m.name).join(", ")}`
        : `no mutant of class "${kind}"; classes: ${[...new Set(MUTANTS.map((m) => m.class))].join(", ")}`,
    );
  }
  const maxSeconds = values["max-seconds"] as number;
  const json = values["json"] === true;
  const reductions = values["reductions"] as "on" | "off" | "compare";
  if (reductions === "compare") return compareAll(selected, maxSeconds, json);
  const results: (MutantResult & { baseline?: string })[] = [];
  for (const mutant of selected) {
    const result = await runMutant(mutant, maxSeconds, false, reductions === "on");
    const baseline =
      values["baseline"] === true ? (await runMutant(mutant, maxSeconds, true)).result : undefined;
    results.push(baseline === undefined ? result : { ...result, baseline });
    if (!json) {
      const verdict = result.caught
        ? `caught: ${result.property} in ${result.depth} steps`
        : `NOT CAUGHT (${result.result})`;
      console.log(
        `${result.name.padEnd(40)} ${result.class.padEnd(12)} ${result.rule.padEnd(5)} ${verdict.padEnd(60)} ${result.seconds.toFixed(1).padStart(6)} s${baseline === undefined ? "" : `  baseline: ${baseline}`}`,
      );
      if (values["show"] === true && result.trace !== undefined) {
        console.log(`  ${result.violation}`);
        for (const line of result.trace) console.log(`  ${line}`);
      }
    } else {
      process.stderr.write(
        `${result.name}: ${result.caught ? "caught" : "not caught"} (${result.seconds} s)\n`,
      );
    }
  }
  const caught = results.filter((r) => r.caught).length;
  if (json)
    console.log(
      JSON.stringify(
        results.map(({ name, class: kind, rule, caught, depth, seconds, property, baseline }) => ({
          name,
          class: kind,
          rule,
          caught,
          depth,
          seconds,
          property,
          ...(baseline === undefined ? {} : { baseline }),
        })),
      ),
    );
  else console.log(`\n${caught} of ${results.length} mutants caught`);
  return caught === results.length ? 0 : 1;
};

/** Check a mutant with every reduction and with none (one copy of the spec for both searches). */
export const runBothWays = async (
  mutant: Mutant,
  maxSeconds: number,
  workers?: number,
): Promise<{
  readonly reduced: MutantResult;
  readonly exact: MutantResult;
  /** When a fair schedule's counterexample came up: both searches again, without liveness. */
  readonly safetyOnly?: { readonly reduced: MutantResult; readonly exact: MutantResult };
}> => {
  const m = await prepared(mutant, false);
  const reduced = checkMutant(m, mutant, maxSeconds, true, workers);
  const exact = checkMutant(m, mutant, maxSeconds, false, workers);
  // A schedule's counterexample need not be the shortest, so its length says nothing about the
  // reductions; a safety property's shortest counterexample is then looked for without liveness.
  const schedule = reduced.scheduleFrom !== undefined || exact.scheduleFrom !== undefined;
  if (!schedule || !reduced.caught || !exact.caught) return { reduced, exact };
  return {
    reduced,
    exact,
    safetyOnly: {
      reduced: checkMutant(m, mutant, maxSeconds, true, workers, true),
      exact: checkMutant(m, mutant, maxSeconds, false, workers, true),
    },
  };
};

const summary = (r: MutantResult) => ({
  result: r.result,
  depth: r.depth,
  states: r.distinctStates,
  seconds: r.seconds,
});

/** Check every selected mutant with every reduction and with none; exit 1 if any verdict differs. */
const compareAll = async (
  selected: readonly Mutant[],
  maxSeconds: number,
  json: boolean,
): Promise<number> => {
  const rows: { readonly name: string; readonly verdict: string }[] = [];
  for (const mutant of selected) {
    const { reduced, exact, safetyOnly } = await runBothWays(mutant, maxSeconds);
    const first = compareReductions(reduced, exact);
    const second =
      safetyOnly === undefined ? undefined : compareReductions(safetyOnly.reduced, safetyOnly.exact);
    // Both caught through a schedule: the verdict agrees; the safety-only searches judge the lengths.
    const verdict = second?.verdict === "differ" ? "differ" : first.verdict;
    const why =
      second === undefined ? first.why : `${first.why}; without liveness: ${second.why} (${second.verdict})`;
    const row = {
      name: mutant.name,
      verdict,
      why,
      reduced: summary(reduced),
      exact: summary(exact),
    };
    rows.push(row);
    const line = `${mutant.name.padEnd(44)} ${verdict.padEnd(12)} ${why} (${reduced.distinctStates} vs ${exact.distinctStates} states, ${reduced.seconds} vs ${exact.seconds} s)`;
    if (json) process.stderr.write(`${line}\n`);
    else console.log(line);
  }
  const count = (v: string) => rows.filter((r) => r.verdict === v).length;
  if (json) console.log(JSON.stringify(rows));
  else
    console.log(
      `\n${count("agree")} agree, ${count("differ")} differ, ${count("inconclusive")} inconclusive (of ${rows.length})`,
    );
  return count("differ") === 0 ? 0 : 1;
};

if (process.argv[1] === import.meta.filename) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      if (error instanceof UsageError) {
        console.error(`mutants: ${error.message}`);
        process.exitCode = 2;
      } else {
        console.error(error);
        process.exitCode = 1;
      }
    },
  );
}
