// Which of the spec's rules the vectors exercise. Every rule defined in spec/README.md is either
// covered by a vector (through the `# Rules:` line of the transcript it came from) or listed here as
// out of the adapter protocol's reach, with the reason.
import { readFileSync } from "node:fs";
import type { Vector } from "./protocol.ts";

const README = new URL("../spec/README.md", import.meta.url).pathname;

/**
 * Rules the adapter protocol cannot exercise, and why. The whole-history safety properties
 * (R134–R136) have transcripts built around them, whose per-node vectors pin down the behaviour that
 * keeps them (and `kraft check`, the trace checker and the black-box mode check them over whole runs).
 */
export const OUT_OF_REACH: Readonly<Record<string, string>> = {
  R137: "liveness is a property of whole runs once faults stop: kraft check judges it on its fair schedule from every state, and the black-box mode checks progress after healing; no single node's step can show it",
};

/** Every rule id spec/README.md defines (its `#### Rn` headings). */
export const definedRules = (): string[] =>
  [...readFileSync(README, "utf8").matchAll(/^#### (R\d+) /gm)].map((m) => m[1]!);

export interface Coverage {
  readonly covered: readonly string[];
  readonly outOfReach: readonly string[];
  /** Neither covered nor explained: a gap in the vectors. */
  readonly missing: readonly string[];
}

export const ruleCoverage = (vectors: readonly Vector[]): Coverage => {
  const exercised = new Set(vectors.flatMap((v) => v.rules));
  const rules = definedRules();
  return {
    covered: rules.filter((r) => exercised.has(r)),
    outOfReach: rules.filter((r) => !exercised.has(r) && OUT_OF_REACH[r] !== undefined),
    missing: rules.filter((r) => !exercised.has(r) && OUT_OF_REACH[r] === undefined),
  };
};
