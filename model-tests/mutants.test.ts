// Every seeded bug must still apply to the current spec (its text to replace occurs exactly once), so
// that a refactor cannot silently empty the mutation suite. Running the suite itself takes minutes:
// `npm run mutants`.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { MUTANTS } from "./mutants.ts";
import { applyEdits } from "./run-mutants.ts";

describe("mutation suite", () => {
  it("has at least 15 mutants with distinct names", () => {
    expect(MUTANTS.length).toBeGreaterThanOrEqual(15);
    expect(new Set(MUTANTS.map((m) => m.name)).size).toBe(MUTANTS.length);
  });

  for (const mutant of MUTANTS) {
    it(`${mutant.name} applies to the current spec`, () => {
      for (const file of new Set(mutant.edits.map((e) => e.file))) {
        const original = readFileSync(join(import.meta.dirname, "..", "spec", file), "utf8");
        const mutated = applyEdits(mutant.name, file, original, mutant.edits);
        expect(mutated).not.toBe(original);
      }
    });
  }

  it("refuses an edit whose text is missing", () => {
    expect(() => applyEdits("x", "a.ts", "abc", [{ file: "a.ts", find: "zzz", replace: "" }])).toThrow(
      /is not there/,
    );
    expect(() => applyEdits("x", "a.ts", "aa", [{ file: "a.ts", find: "a", replace: "" }])).toThrow(
      /more than once/,
    );
  });
});
