// spec/README.md is the prose spec: every rule it defines must be implemented (cited by code in
// spec/raft) and exercised (cited by a test or a transcript), and its generated rule index must match
// the code. Run `npm run docs:rules` after changing citations.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  codeCitations,
  definedRules,
  sourceFiles,
  testCitations,
  testFiles,
  withRuleIndex,
} from "../scripts/rule-index.ts";

const readme = readFileSync(join(import.meta.dirname, "README.md"), "utf8");

describe("spec/README.md", () => {
  const rules = definedRules(readme);
  const code = codeCitations(sourceFiles);
  const tests = testCitations(testFiles);

  it("defines rules", () => {
    expect(rules.length).toBeGreaterThan(60);
    expect(new Set(rules).size).toBe(rules.length);
  });

  it("maps every rule to code that cites it", () => {
    const properties = new Set([134, 135, 136, 137, 144, 145]);
    const missing = rules.filter((r) => !properties.has(r) && (code.get(r)?.size ?? 0) === 0);
    expect(missing.map((r) => `R${r}`)).toEqual([]);
  });

  it("maps every rule to at least one test or transcript", () => {
    const missing = rules.filter((r) => (tests.get(r)?.size ?? 0) === 0);
    expect(missing.map((r) => `R${r}`)).toEqual([]);
  });

  it("cites only rules it defines", () => {
    const defined = new Set(rules);
    const unknown = [...code.keys()].filter((r) => !defined.has(r)).sort((a, b) => a - b);
    expect(unknown.map((r) => `R${r}`)).toEqual([]);
  });

  it("has an up-to-date rule index (npm run docs:rules)", () => {
    expect(withRuleIndex(readme)).toBe(readme);
  });
});
