// spec/ is the pure core: no IO, clock, randomness, timers, process access or Node imports, and of
// Effect only the Schema module. This test fails the build when any non-test file breaks that.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";

const FORBIDDEN: readonly { readonly pattern: RegExp; readonly what: string }[] = [
  { pattern: /from\s+["']node:/, what: "a Node built-in import" },
  {
    pattern: /from\s+["'](fs|path|os|crypto|child_process|net|http|worker_threads)["']/,
    what: "a Node built-in import",
  },
  { pattern: /\brequire\s*\(/, what: "require()" },
  { pattern: /\bimport\s*\(/, what: "a dynamic import" },
  { pattern: /\bDate\b/, what: "the clock (Date)" },
  { pattern: /\bperformance\s*\./, what: "the clock (performance)" },
  { pattern: /\bMath\.random\b/, what: "randomness (Math.random)" },
  { pattern: /\bcrypto\s*\./, what: "randomness (crypto)" },
  { pattern: /\bprocess\s*\./, what: "the process" },
  { pattern: /\b(setTimeout|setInterval|setImmediate|queueMicrotask)\b/, what: "timers" },
  { pattern: /\bconsole\s*\./, what: "console output" },
  { pattern: /from\s+["']effect["']/, what: "the effect barrel (only effect/Schema is allowed)" },
  {
    pattern: /from\s+["']effect\/(?!Schema["'])[^"']*["']/,
    what: "an Effect module other than effect/Schema",
  },
  { pattern: /from\s+["']@effect\//, what: "an @effect package" },
  // Declarations at column 0 are the module's own: a `let` there is state every call shares.
  { pattern: /^(let|var)\s/, what: "module-level mutable state (a top-level let or var)" },
];

/** Every reference to the outside world in a source text, with its line number. */
const impurities = (source: string): { line: number; what: string; text: string }[] => {
  const found: { line: number; what: string; text: string }[] = [];
  source.split("\n").forEach((text, index) => {
    const code = text.replace(/\/\/.*$/, "");
    for (const rule of FORBIDDEN) {
      if (rule.pattern.test(code)) found.push({ line: index + 1, what: rule.what, text: text.trim() });
    }
  });
  return found;
};

const specDir = import.meta.dirname;

const sourceFiles = (dir: string): string[] =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === "test" ? [] : sourceFiles(path);
    return name.endsWith(".ts") && !name.endsWith(".test.ts") ? [path] : [];
  });

describe("spec/ purity", () => {
  it("finds forbidden references when they are there", () => {
    expect(impurities(`import { readFileSync } from "node:fs";`)).toHaveLength(1);
    expect(impurities(`const now = Date.now();`)[0]?.what).toBe("the clock (Date)");
    expect(impurities(`const x = Math.random();`)[0]?.what).toBe("randomness (Math.random)");
    expect(impurities(`if (process.env.X) {}`)[0]?.what).toBe("the process");
    expect(impurities(`setTimeout(() => {}, 5);`)[0]?.what).toBe("timers");
    expect(impurities(`import { Effect } from "effect";`)).toHaveLength(1);
    expect(impurities(`import * as Stream from "effect/Stream";`)).toHaveLength(1);
    expect(impurities(`import * as Schema from "effect/Schema";`)).toHaveLength(0);
    expect(impurities(`// Date.now() is never called here`)).toHaveLength(0);
  });

  it("has no forbidden reference in any spec source file", () => {
    const files = sourceFiles(specDir);
    expect(files.length).toBeGreaterThan(10);
    const problems = files.flatMap((file) =>
      impurities(readFileSync(file, "utf8")).map(
        (p) => `${relative(specDir, file)}:${p.line}: ${p.what}: ${p.text}`,
      ),
    );
    expect(problems).toEqual([]);
  });
});
