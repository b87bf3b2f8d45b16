// Mutants nobody wrote: every place in the reducers (spec/raft, spec/metadata, spec/node) where one
// operator can be swapped for its neighbour (=== and !==, < and <=, && and ||, true and false,
// Math.max and Math.min, a dropped + 1 or - 1) is a site. A sample of the sites, each alone, is
// served by the reference adapter and replayed against the conformance vectors; a mutant no vector
// fails survived. The hand-written mutants (run-mutants.ts) re-create bugs we know of; these find
// the code the vectors never tell apart. Survivors are either equivalent (no input can show the
// change) or a gap in the vectors: equivalent.ts lists the ones read and found equivalent, with why.
//   npm run conformance:sweep -- [--count N] [--seed N] [--files TEXT] [--site ID] [--json]

import { appendFileSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { scriptFlags } from "../scripts/script-flags.ts";
import { EQUIVALENT_SITES, type EquivalentSite } from "./equivalent.ts";
import type { Vector } from "./protocol.ts";
import { copySpec, layersRunningFiles } from "./run-mutants.ts";
import { loadVectors, runConformance } from "./runner.ts";

const root = join(import.meta.dirname, "..");
const kraft = join(root, "bin", "kraft.js");

/** The folders of spec/ whose code the vectors drive through the adapter. */
const FOLDERS = ["raft", "metadata", "node"] as const;
/**
 * Not mutated: schemas and tables of names (no decision in them), and allowed.ts, which says what the
 * judge tolerates: the runner reads it from the spec, never from the adapter's copy.
 */
const SKIPPED = new Set([
  "raft/messages.ts",
  "raft/primitives.ts",
  "raft/allowed.ts",
  "metadata/records.ts",
  "metadata/requests.ts",
]);

/** Each swap: what is found, and what it becomes. */
const SWAPS: readonly (readonly [RegExp, string])[] = [
  [/===/g, "!=="],
  [/!==/g, "==="],
  [/ <= /g, " < "],
  [/ >= /g, " > "],
  [/ < /g, " <= "],
  [/ > /g, " >= "],
  [/ && /g, " || "],
  [/ \|\| /g, " && "],
  [/ \+ 1\b/g, ""],
  [/ - 1\b/g, ""],
  [/\btrue\b/g, "false"],
  [/\bfalse\b/g, "true"],
  [/Math\.max\b/g, "Math.min"],
  [/Math\.min\b/g, "Math.max"],
];

export interface Site {
  /** `file:line:column`, stable while the line does not change. */
  readonly id: string;
  readonly file: string;
  readonly offset: number;
  readonly length: number;
  readonly replacement: string;
  readonly line: number;
  readonly text: string;
}

/**
 * Whether a line is code worth mutating: not a comment or an import, not a schema, and not a
 * coverage mark (marks record which branch ran; the vectors judge behaviour, not marks).
 */
const isMutableLine = (line: string): boolean => {
  const t = line.trim();
  return !(
    t.startsWith("//") ||
    t.startsWith("*") ||
    t.startsWith("/*") ||
    t.startsWith("import") ||
    t.includes("Schema.") ||
    t.includes("mark(")
  );
};

/** Every site of the reducers, in file and line order. */
export const allSites = (files?: string): Site[] => {
  const sites: Site[] = [];
  for (const folder of FOLDERS) {
    for (const name of readdirSync(join(root, "spec", folder)).sort()) {
      const file = `${folder}/${name}`;
      if (!name.endsWith(".ts") || name.endsWith(".test.ts") || SKIPPED.has(file)) continue;
      if (files !== undefined && !file.includes(files)) continue;
      const text = readFileSync(join(root, "spec", file), "utf8");
      let offset = 0;
      text.split("\n").forEach((line, index) => {
        if (isMutableLine(line))
          for (const [pattern, replacement] of SWAPS) {
            for (const m of line.matchAll(pattern)) {
              const before = line.slice(0, m.index);
              // Inside a string or after a trailing comment: not code.
              if ((before.match(/["'`]/g) ?? []).length % 2 === 1 || before.includes("//")) continue;
              sites.push({
                id: `${file}:${index + 1}:${m.index + 1}`,
                file,
                offset: offset + m.index,
                length: m[0].length,
                replacement,
                line: index + 1,
                text: line.trim(),
              });
            }
          }
        offset += line.length + 1;
      });
    }
  }
  return sites;
};

/** `count` sites drawn without replacement by a seeded generator (the same seed, the same sample). */
export const sample = (sites: readonly Site[], count: number, seed: number): Site[] => {
  let state = seed >>> 0 || 1;
  const next = (): number => {
    // xorshift32: reproducible everywhere, no dependency.
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 4294967296;
  };
  const pool = sites.slice();
  const chosen: Site[] = [];
  while (chosen.length < count && pool.length > 0)
    chosen.push(pool.splice(Math.floor(next() * pool.length), 1)[0]!);
  return chosen;
};

export type SiteVerdict = "killed" | "survived" | "equivalent" | "unreachable";

/** The entry of equivalent.ts that names `site`, if one does. */
export const knownSite = (site: Site): EquivalentSite | undefined =>
  EQUIVALENT_SITES.find(
    (e) =>
      e.file === site.file &&
      e.text === site.text &&
      e.replacement === site.replacement &&
      (e.column === undefined || e.column === Number(site.id.split(":")[2])),
  );

/** Replay the vectors that run the mutated code through the adapter serving a copy of spec/ with `site` applied. */
export const judgeSite = async (
  site: Site,
  vectors: readonly Vector[],
  scratch: string,
): Promise<SiteVerdict> => {
  const known = knownSite(site);
  if (known !== undefined) return known.kind;
  const dir = join(scratch, "spec");
  rmSync(scratch, { recursive: true, force: true });
  copySpec(dir);
  const original = readFileSync(join(root, "spec", site.file), "utf8");
  writeFileSync(
    join(dir, site.file),
    original.slice(0, site.offset) + site.replacement + original.slice(site.offset + site.length),
  );
  const layers = layersRunningFiles([site.file]);
  try {
    const report = await runConformance(
      `${JSON.stringify(process.execPath)} ${JSON.stringify(kraft)} conformance adapter --spec ${JSON.stringify(dir)}`,
      vectors.filter((v) => layers.has(v.layer)),
      { stopAtFirstFailure: true },
    );
    return report.failed > 0 ? "killed" : "survived";
  } catch {
    // The adapter hung or died on a vector (a loop that no longer ends): the vectors told it apart.
    return "killed";
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
};

const describe = (s: Site): string =>
  `${s.id} ${JSON.stringify(s.replacement === "" ? "(dropped)" : s.replacement.trim())} in: ${s.text}`;

if (process.argv[1] === import.meta.filename) {
  const flags = scriptFlags(
    "npm run conformance:sweep -- [--count N] [--seed N] [--files TEXT] [--site ID] [--json]",
    "Swap one operator at a time in the reducers (a sample of every such site) and replay the conformance\nvectors against each mutant; prints the ones no vector fails. Exit 0 when it ran; survivors are\nfor reading (equivalent, or a gap in the vectors), not a failure.",
    [
      {
        kind: "integer",
        name: "count",
        min: 1,
        max: 100_000,
        default: 100,
        placeholder: "N",
        description: "sites to try (all of them if there are fewer)",
      },
      {
        kind: "integer",
        name: "seed",
        min: 1,
        max: 2147483647,
        default: 1,
        placeholder: "N",
        description: "which sample: the same seed tries the same sites",
      },
      {
        kind: "string",
        name: "files",
        placeholder: "TEXT",
        description: "only files of spec/ whose path contains TEXT (e.g. raft/vote.ts)",
      },
      {
        kind: "string",
        name: "site",
        placeholder: "ID",
        description: "only this site (file:line:column, as printed)",
      },
      {
        kind: "string",
        name: "survivors-file",
        placeholder: "FILE",
        description: "append each survivor to FILE as it is found (a long run's progress)",
      },
      { kind: "boolean", name: "json", default: false, description: "print one JSON document" },
    ],
  );
  const json = flags["json"] === true;
  const siteId = flags["site"] as string | undefined;
  const survivorsFile = flags["survivors-file"] as string | undefined;
  const sites = allSites(flags["files"] as string | undefined);
  const chosen =
    siteId === undefined
      ? sample(sites, flags["count"] as number, flags["seed"] as number)
      : sites.filter((s) => s.id === siteId);
  if (chosen.length === 0) {
    process.stderr.write(
      `npm run conformance:sweep: ${siteId === undefined ? "no site in the files asked for" : `no site ${siteId} (ids are file:line:column as a sweep prints them)`}\n`,
    );
    process.exit(2);
  }
  const vectors = loadVectors();
  const scratch = join(root, ".cache", "conformance-sweep", String(process.pid));
  process.once("exit", () => rmSync(scratch, { recursive: true, force: true }));
  const results: { site: Site; verdict: SiteVerdict }[] = [];
  for (const [k, site] of chosen.entries()) {
    const verdict = await judgeSite(site, vectors, scratch);
    results.push({ site, verdict });
    if (verdict === "survived" && survivorsFile !== undefined)
      appendFileSync(survivorsFile, `${describe(site)}\n`);
    if (!json) console.log(`${k + 1}/${chosen.length} ${verdict.padEnd(10)} ${describe(site)}`);
  }
  const count = (v: SiteVerdict): number => results.filter((r) => r.verdict === v).length;
  const judged = count("killed") + count("survived");
  const summary = {
    sites: sites.length,
    tried: results.length,
    killed: count("killed"),
    survived: count("survived"),
    equivalent: count("equivalent"),
    unreachable: count("unreachable"),
    killRate: judged === 0 ? 1 : count("killed") / judged,
  };
  if (json)
    console.log(
      JSON.stringify({
        ...summary,
        survivors: results.filter((r) => r.verdict === "survived").map((r) => describe(r.site)),
      }),
    );
  else
    console.log(
      `\n${summary.killed} killed, ${summary.survived} survived, ${summary.equivalent} known equivalent, ${summary.unreachable} out of the adapter's reach, of ${summary.tried} sites tried (${summary.sites} in all): ${(100 * summary.killRate).toFixed(0)}% of the rest killed`,
    );
}
