// The conformance suite's teeth: every mutant of the mutation suite (Raft and controller layers),
// served by the reference adapter from a mutated copy of spec/, must fail at least one vector.
//   npm run conformance:mutants -- [--json]

import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { threadId } from "node:worker_threads";
import { MUTANTS, type Mutant } from "../model-tests/mutants.ts";
import { applyEdits } from "../model-tests/run-mutants.ts";
import { scriptFlags } from "../scripts/script-flags.ts";
import type { Vector } from "./protocol.ts";
import { loadVectors, runConformance } from "./runner.ts";

const root = join(import.meta.dirname, "..");
const scratch = join(root, ".cache", "conformance-mutants");
const kraft = join(root, "bin", "kraft.js");

export interface MutantVerdict {
  readonly name: string;
  readonly rule: string;
  readonly killed: boolean;
  readonly failedVectors: number;
  /** The first vector that told the mutant apart. */
  readonly firstFailure: string | null;
}

/**
 * The mutants the adapter protocol can tell apart: those whose edits are in the reducers it drives
 * (spec/raft, spec/metadata, and spec/node for whole-node sessions). The rest are the checker's world.
 */
export const CONFORMANCE_MUTANTS: readonly Mutant[] = MUTANTS.filter((m) =>
  m.edits.every((e) => ["raft/", "metadata/", "node/"].some((dir) => e.file.startsWith(dir))),
);

/** The vectors' layers that run the code of these files of spec/: a whole node runs every layer. */
export const layersRunningFiles = (files: readonly string[]): ReadonlySet<Vector["layer"]> => {
  const layers = new Set<Vector["layer"]>(["node"]);
  for (const file of files) {
    if (file.startsWith("raft/")) layers.add("raft");
    if (file.startsWith("metadata/")) {
      layers.add("controller");
      layers.add("broker");
    }
  }
  return layers;
};

/** The vectors' layers that run the code a mutant edits. */
export const layersRunning = (mutant: Mutant): ReadonlySet<Vector["layer"]> =>
  layersRunningFiles(mutant.edits.map((e) => e.file));

/** A fresh copy of spec/'s sources (no tests, no transcripts) in `dir`, for an adapter to serve. */
export const copySpec = (dir: string): void => {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  cpSync(join(root, "spec"), dir, {
    recursive: true,
    filter: (src) => !src.endsWith(".test.ts") && !src.endsWith(".txt"),
  });
};

/**
 * This process's mutant copies. Each process has its own folder: test files run in parallel, and two
 * of them preparing the same mutant removed the copy the other was reading (a loaded CI run failed on
 * it). It stays under the project, where the copies' imports find node_modules, and goes when the
 * process exits; folders of processes no longer running are removed on the way.
 */
const ownScratch = (): string => {
  const own = join(scratch, threadId === 0 ? String(process.pid) : `${process.pid}-${threadId}`);
  if (!existsSync(own)) {
    for (const entry of existsSync(scratch) ? readdirSync(scratch) : []) {
      const match = /^(\d+)(-\d+)?$/.exec(entry);
      const pid = Number(match?.[1]);
      if (pid === process.pid) continue;
      try {
        // A folder of the layout before per-process folders, or of a process that is gone.
        if (match === null) throw new Error("not a process's folder");
        process.kill(pid, 0);
      } catch {
        rmSync(join(scratch, entry), { recursive: true, force: true });
      }
    }
    mkdirSync(own, { recursive: true });
    process.once("exit", () => rmSync(own, { recursive: true, force: true }));
  }
  return own;
};

/** A copy of spec/ with the mutant's edits applied; returns its folder. */
export const prepareMutantSpec = (mutant: Mutant): string => {
  const base = join(ownScratch(), mutant.name);
  const dir = join(base, "spec");
  rmSync(base, { recursive: true, force: true });
  copySpec(dir);
  for (const file of new Set(mutant.edits.map((e) => e.file))) {
    const path = join(dir, file);
    writeFileSync(path, applyEdits(mutant.name, file, readFileSync(path, "utf8"), mutant.edits));
  }
  return dir;
};

export const runConformanceMutants = async (
  onResult?: (verdict: MutantVerdict) => void,
  /** Stop each mutant's run at its first failing vector (failedVectors is then 1 for a killed one). */
  quick = false,
  /** Run only the mutant of this name (absent: every one). */
  only?: string,
): Promise<{ verdicts: MutantVerdict[] }> => {
  const vectors = loadVectors();
  const verdicts: MutantVerdict[] = [];
  for (const mutant of CONFORMANCE_MUTANTS) {
    if (only !== undefined && mutant.name !== only) continue;
    const dir = prepareMutantSpec(mutant);
    const layers = layersRunning(mutant);
    const report = await runConformance(
      `${JSON.stringify(process.execPath)} ${JSON.stringify(kraft)} conformance adapter --spec ${JSON.stringify(dir)}`,
      vectors.filter((v) => layers.has(v.layer)),
      { stopAtFirstFailure: quick },
    );
    rmSync(join(dir, ".."), { recursive: true, force: true });
    const first = report.results.find((r) => !r.passed);
    const verdict: MutantVerdict = {
      name: mutant.name,
      rule: mutant.rule,
      killed: report.failed > 0,
      failedVectors: report.failed,
      firstFailure: first === undefined ? null : `${first.name}: ${first.difference?.what}`,
    };
    verdicts.push(verdict);
    onResult?.(verdict);
  }
  return { verdicts };
};

if (process.argv[1] === import.meta.filename) {
  const flags = scriptFlags(
    "npm run conformance:mutants -- [--json] [--only NAME]",
    "Replay every conformance vector through each seeded bug of model-tests/mutants.ts; exit 1 unless\nevery mutant fails at least one vector.",
    [
      { kind: "boolean", name: "json", default: false, description: "print one JSON document" },
      { kind: "string", name: "only", placeholder: "NAME", description: "run one mutant" },
    ],
  );
  const json = flags["json"] === true;
  const only = flags["only"] as string | undefined;
  if (only !== undefined && !CONFORMANCE_MUTANTS.some((m) => m.name === only)) {
    process.stderr.write(
      `npm run conformance:mutants: no mutant is named "${only}" (see model-tests/mutants.ts)\n`,
    );
    process.exit(2);
  }
  const { verdicts } = await runConformanceMutants(
    (v) => {
      if (!json)
        console.log(
          `${v.killed ? "killed  " : "SURVIVED"} ${v.name} (${v.rule}): ${v.failedVectors} vectors fail${v.firstFailure === null ? "" : `, first ${v.firstFailure}`}`,
        );
    },
    false,
    only,
  );
  const killed = verdicts.filter((v) => v.killed).length;
  if (json)
    console.log(
      JSON.stringify({
        killed,
        mutants: verdicts.length,
        killRate: killed / verdicts.length,
        verdicts,
      }),
    );
  else
    console.log(
      `\n${killed} of ${verdicts.length} mutants killed (${((100 * killed) / verdicts.length).toFixed(0)}%)`,
    );
  process.exitCode = killed === verdicts.length ? 0 : 1;
}
