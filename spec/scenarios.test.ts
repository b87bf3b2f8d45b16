// Runs every scenario transcript under spec/scenarios and compares the full trace it produces with
// the one recorded in the file. `npm run scenarios:rewrite` regenerates the recorded traces.
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseTranscript, renderTranscript, runTranscript } from "./cluster/scenario.ts";

const dir = join(import.meta.dirname, "scenarios");
const files = readdirSync(dir)
  .filter((f) => f.endsWith(".txt"))
  .sort();
const rewrite = process.env["REWRITE"] === "1";

describe("scenario transcripts", () => {
  it("has at least 30 transcripts", () => {
    expect(files.length).toBeGreaterThanOrEqual(30);
  });

  for (const file of files) {
    it(file, () => {
      const path = join(dir, file);
      const text = readFileSync(path, "utf8");
      const transcript = parseTranscript(text);
      const outputs = runTranscript(transcript);
      const actual = renderTranscript(transcript, outputs);
      if (rewrite) {
        if (actual !== text) writeFileSync(path, actual);
        return;
      }
      expect(actual).toBe(text);
      // A transcript must end by checking the cluster-wide properties, and they must hold — unless it
      // feeds a node an impossible message on purpose and says which property that breaks.
      const last = transcript.blocks[transcript.blocks.length - 1];
      expect(last?.command).toBe("check");
      const expected = /^# Breaks on purpose: (\w+)$/m.exec(text)?.[1];
      if (expected === undefined) expect(outputs[outputs.length - 1]).toEqual(["ok"]);
      else expect(outputs[outputs.length - 1]?.[0]).toMatch(new RegExp(`^${expected}: `));
    });
  }
});
