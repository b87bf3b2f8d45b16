// A Raft model counterexample as a scenario transcript (spec/scenarios/*.txt): the commands that replay
// it, each with the full reducer trace it produces — every input, effect and state, pre-votes told
// from votes, grants, and the disks — so that it reads like the project's transcripts and can be
// dropped into spec/scenarios/ as a regression test (`npm run scenarios:rewrite` once it is fixed).

import { parseTranscript, renderTranscript, runTranscript } from "../../spec/cluster/scenario.ts";
import type { ClusterSpec, StartPoint } from "../../spec/cluster/world.ts";
import type { SearchResult } from "./engine.ts";

export interface TranscriptSetup {
  readonly cluster: ClusterSpec;
  readonly start: StartPoint;
  /** The command line that found it, for the header. */
  readonly commandLine: string;
  readonly rules: string;
  readonly fairness?: string;
}

/**
 * The transcript of a counterexample, or null when it cannot be written as one (a replay that had to
 * follow the checker's renamed nodes).
 */
export const counterexampleTranscript = (
  result: SearchResult<unknown>,
  setup: TranscriptSetup,
): string | null => {
  const trace = result.trace ?? [];
  if (trace.slice(1).some((s) => s.command === undefined)) return null;
  const { cluster } = setup;
  const lines: string[] = [
    `# kraft check counterexample: ${result.property} (${setup.rules}).`,
    ...wrap(result.violation ?? ""),
    `# Found by: ${setup.commandLine}`,
    "# Kept in spec/scenarios/, it fails until the bug is fixed; then `npm run scenarios:rewrite`.",
    `# Rules: ${setup.rules.split(/\s+/).join(", ")}`,
    `> cluster voters=${cluster.voters} observers=${cluster.observers} prevote=${cluster.preVote ? "on" : "off"} checkquorum=${cluster.checkQuorum ? "on" : "off"}${cluster.snapshotChunk === undefined ? "" : ` chunk=${cluster.snapshotChunk}`}${cluster.kraftVersion === 1 ? " kraft=1" : ""}${setup.start === "fresh" ? "" : ` start=${setup.start}`}`,
  ];
  let fairStarted = false;
  for (const step of trace.slice(1)) {
    if (step.fair === true && !fairStarted) {
      fairStarted = true;
      lines.push(
        "",
        "# From here on, no more faults: the fair schedule the liveness check follows",
        ...wrap(`(${setup.fairness ?? "messages and flushes first, then timers as they run out"}).`),
        "> disk",
      );
    }
    const elapsed = /\(\+(\d+) ms, at (\d+) ms\)/.exec(step.action);
    if (elapsed !== null) lines.push(`# ${elapsed[1]} ms pass (${elapsed[2]} ms since the last fault)`);
    lines.push(`> ${step.command}`);
  }
  lines.push("> disk", "> state", "> check");
  const transcript = parseTranscript(`${lines.join("\n")}\n`);
  return renderTranscript(transcript, runTranscript(transcript));
};

/** A long sentence as comment lines of at most 100 characters. */
const wrap = (text: string): string[] => {
  const out: string[] = [];
  let line = "#";
  for (const word of text.split(/\s+/)) {
    if (word.length === 0) continue;
    if (line.length + word.length + 1 > 100 && line !== "#") {
      out.push(line);
      line = "#";
    }
    line += ` ${word}`;
  }
  if (line !== "#") out.push(line);
  return out;
};
