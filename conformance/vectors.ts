// Conformance vectors from the curated Raft transcripts: every scenario is run through the spec, and
// each node's process lifetime becomes one vector — the storage it started from, then every input it
// received with the effects and projected state the spec produced. `npm run conformance:vectors`
// writes them to conformance/vectors/; a test fails when the committed files are stale.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseTranscript, runTranscript } from "../spec/cluster/scenario.ts";
import type { ClusterSpec, StepTrace } from "../spec/cluster/world.ts";
import type { Mark } from "../spec/marks.ts";
import { adversarialVectors } from "./adversarial.ts";
import { marksOfVector } from "./marks.ts";
import { generateMetadataVectors } from "./metadata-vectors.ts";
import { generateNodeVectors } from "./node-vectors.ts";
import type { RaftVector, Vector } from "./protocol.ts";
import { asTheSpecRunsIt, isRenumbered, renumbered } from "./renumber.ts";
import { lifetimes, WALK_CONFIGS, walkVectors } from "./walks.ts";

export const SCENARIO_DIR = new URL("../spec/scenarios/", import.meta.url).pathname;
export const VECTOR_DIR = new URL("./vectors/", import.meta.url).pathname;

/** The rules a transcript names in its `# Rules:` line. */
export const transcriptRules = (text: string): string[] =>
  [...(/^# Rules: (.*)$/m.exec(text)?.[1] ?? "").matchAll(/R\d+/g)].map((m) => m[0]);

/** The vectors of one transcript, in the order their nodes started. */
export const vectorsOf = (source: string, text: string): Vector[] => {
  const steps: { step: StepTrace; cluster: ClusterSpec }[] = [];
  runTranscript(parseTranscript(text), (batch, cluster) => {
    for (const step of batch) steps.push({ step, cluster });
  });
  return lifetimes(source, steps, transcriptRules(text));
};

/** Every vector file's vectors, by file name: the transcripts, then the random walks. */
export const generateVectors = (): Map<string, Vector[]> => {
  const out = new Map<string, Vector[]>();
  for (const file of readdirSync(SCENARIO_DIR)
    .filter((f) => f.endsWith(".txt"))
    .sort()) {
    const source = file.replace(/\.txt$/, "");
    out.set(source, vectorsOf(source, readFileSync(join(SCENARIO_DIR, file), "utf8")));
  }
  for (const config of WALK_CONFIGS) out.set(config.name, walkVectors(config));
  for (const [source, vectors] of generateMetadataVectors()) out.set(source, vectors);
  // Then adversarial single-node walks, for the rule branches no run of correct nodes takes.
  const covered = new Set<Mark>();
  for (const vectors of out.values())
    for (const v of vectors) for (const m of marksOfVector(v)) covered.add(m);
  for (const [source, vectors] of adversarialVectors(covered)) out.set(source, vectors);
  // The transcripts and the adversarial Raft walks again with node ids from 0 (renumber.ts).
  out.set(
    "renumbered",
    [...out]
      .filter(([source]) => isRenumbered(source))
      .flatMap(([, vectors]) => vectors.filter((v): v is RaftVector => v.layer === "raft"))
      .map((v) => asTheSpecRunsIt(renumbered(v)))
      .filter((v) => v !== null),
  );
  // Whole nodes last: each layer's vectors cover its own marks for implementers of one layer.
  for (const [source, vectors] of generateNodeVectors()) out.set(source, vectors);
  // Every vector names the marks it takes.
  for (const [source, vectors] of out)
    out.set(
      source,
      vectors.map((v) => ({ ...v, marks: [...marksOfVector(v)].sort() })),
    );
  return out;
};

/** A vector file: one vector per line. */
export const renderVectorFile = (vectors: readonly Vector[]): string =>
  vectors.map((v) => `${JSON.stringify(v)}\n`).join("");
