// Runs every metadata scenario transcript under spec/metadata-scenarios (controllers and brokers on
// top of Raft) and compares the trace with the one recorded; `npm run scenarios:rewrite` regenerates.
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseTranscript, renderTranscript, runMetadataTranscript } from "./cluster/metadata-scenario.ts";

const dir = join(import.meta.dirname, "metadata-scenarios");
const files = readdirSync(dir)
  .filter((f) => f.endsWith(".txt"))
  .sort();
const rewrite = process.env["REWRITE"] === "1";

describe("metadata scenario transcripts", () => {
  it("covers the issue's scenarios", () => {
    expect(files.length).toBeGreaterThanOrEqual(7);
  });

  for (const file of files) {
    it(file, () => {
      const path = join(dir, file);
      const text = readFileSync(path, "utf8");
      const transcript = parseTranscript(text);
      const outputs = runMetadataTranscript(transcript);
      const actual = renderTranscript(transcript, outputs);
      if (rewrite) {
        if (actual !== text) writeFileSync(path, actual);
        return;
      }
      expect(actual).toBe(text);
      const last = transcript.blocks[transcript.blocks.length - 1];
      expect(last?.command).toBe("check");
      expect(outputs[outputs.length - 1]).toEqual(["ok"]);
    });
  }
});
