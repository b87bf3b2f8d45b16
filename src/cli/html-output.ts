// `--html FILE` for kraft check and kraft conformance check-trace: where the page goes, and the
// counterexample page of a search result.
import { accessSync, constants, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import type { Reducers } from "../../conformance/adapter.ts";
import { type NodeTraceVerdict, renderNodeVerdict } from "../../conformance/node-trace.ts";
import { renderVerdict, type TraceLine, type TraceVerdict } from "../../conformance/trace.ts";
import { traceSteps } from "../../conformance/trace-steps.ts";
import type { SearchResult } from "../checker/engine.ts";
import { initialQuorumStatesOf, renderHtmlTrace } from "../checker/html-trace.ts";
import type { Model } from "../checker/model.ts";
import { UsageError } from "./flags.ts";

export const HTML_FLAG_HELP =
  "one self-contained HTML page (no network needed to view it): a sequence diagram with a lane per node and an arrow per message, each node's role, epoch, log, high watermark and durable state at the selected step (arrow keys, j/k, Home/End)";

/** Refuse a page that could not be written before any long work, as --trace-out does. */
export const checkHtmlTarget = (file: string): void => {
  const folder = dirname(resolve(file));
  try {
    accessSync(folder, constants.W_OK);
  } catch {
    throw new UsageError(`--html ${file}: the folder ${folder} does not exist or is not writable`);
  }
};

/** Write the page; false (after one line on stderr) when it could not be written. */
export const writeHtml = (
  command: string,
  file: string,
  html: string,
  err: (text: string) => void,
): boolean => {
  try {
    writeFileSync(file, html);
    return true;
  } catch (error) {
    err(`${command}: cannot write the page to ${file}: ${(error as Error).message}\n`);
    return false;
  }
};

/** The page of a search's counterexample. */
export const counterexamplePage = (
  result: SearchResult<unknown>,
  model: Model<unknown>,
  commandLine: string,
): string => {
  const property = model.properties.find((p) => p.name === result.property);
  const initial = model.initialStates();
  const quorumStates = initial.length === 1 ? initialQuorumStatesOf(initial[0]) : undefined;
  return renderHtmlTrace({
    title: commandLine,
    model: `${model.name} model`,
    trace: result.trace ?? [],
    ...(result.property === undefined ? {} : { property: result.property }),
    ...(property === undefined ? {} : { rules: property.rules }),
    ...(result.violation === undefined ? {} : { violation: result.violation }),
    ...(result.stuck === undefined ? {} : { stuck: result.stuck }),
    ...(result.stuck === undefined || model.liveness === undefined
      ? {}
      : { fairness: model.liveness.fairness }),
    ...(quorumStates === undefined ? {} : { initialQuorumStates: quorumStates }),
  });
};

/**
 * The page of a recorded trace (kraft conformance check-trace): its Raft steps up to the first event
 * the spec does not explain; a spec/node failure is told in the banner over the whole Raft trace.
 */
export const recordedTracePage = (
  files: readonly string[],
  lines: readonly TraceLine[],
  reducers: Reducers,
  verdict: TraceVerdict,
  nodeVerdict: NodeTraceVerdict | undefined,
): string => {
  const failed = !verdict.ok || nodeVerdict?.ok === false;
  return renderHtmlTrace({
    title: ["kraft conformance check-trace", ...files].join(" "),
    model: "recorded trace",
    trace: traceSteps(lines, reducers, verdict.ok ? undefined : verdict.where),
    ...(failed
      ? {
          property: "not explained",
          heading: verdict.ok ? "NOT EXPLAINED by spec/node" : "NOT EXPLAINED by the spec",
          // The Raft verdict's first three lines: the event, the spec's effect, the recorded one.
          violation: (!verdict.ok
            ? renderVerdict(verdict).slice(0, 3)
            : nodeVerdict === undefined
              ? []
              : renderNodeVerdict(nodeVerdict)
          ).join("\n"),
        }
      : {
          heading: "OK",
          verdict: [...renderVerdict(verdict), ...(nodeVerdict ? renderNodeVerdict(nodeVerdict) : [])].join(
            "\n",
          ),
        }),
  });
};
