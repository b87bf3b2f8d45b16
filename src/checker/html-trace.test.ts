// The counterexample page: what it shows of a real counterexample (messages told apart, each node's
// state and durable state), that it names no network resource, and that no text from a trace can
// become markup.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_CLUSTER, startWorld } from "../../spec/cluster/world.ts";
import { type CheckIo, runCheck } from "../cli/check.ts";
import { UsageError } from "../cli/flags.ts";
import { kraftBin } from "../testing/local-cluster.ts";
import type { SearchResult, TraceStep } from "./engine.ts";
import {
  type HtmlTraceInput,
  initialQuorumStatesOf,
  renderHtmlTrace,
  type TraceView,
  traceView,
} from "./html-trace.ts";

/** A liveness bound no cluster can meet: the unchanged spec yields a counterexample at once. */
const COUNTEREXAMPLE_ARGS = ["--liveness-ms", "1", "--max-epoch", "1", "--max-values", "0"];

const capture = (): CheckIo & { stdout: string[]; stderr: string[] } => {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { out: (t) => stdout.push(t), err: (t) => stderr.push(t), isTTY: false, stdout, stderr };
};

const scratch = mkdtempSync(join(tmpdir(), "kraft-html-trace-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

let result: SearchResult<unknown>;
let input: HtmlTraceInput;
let view: TraceView;

beforeAll(() => {
  const io = capture();
  expect(runCheck([...COUNTEREXAMPLE_ARGS, "--json", "--progress", "0"], io)).toBe(1);
  result = JSON.parse(io.stdout.join("")) as SearchResult<unknown>;
  input = {
    title: "kraft check",
    model: "raft model",
    trace: result.trace ?? [],
    property: result.property!,
    violation: result.violation!,
    ...(result.stuck === undefined ? {} : { stuck: result.stuck }),
    initialQuorumStates: initialQuorumStatesOf(startWorld(DEFAULT_CLUSTER, "fresh"))!,
  };
  view = traceView(input);
});

const message = (from: number, to: number, label: string) =>
  view.messages.find((m) => m.from === from && m.to === to && m.label === label);

describe("the view of a real counterexample", () => {
  it("has a lane per node and a row per step, the last one the violation", () => {
    expect(result.property).toBe("EventuallyCaughtUp");
    expect(view.nodes).toEqual([1, 2, 3]);
    expect(view.steps.map((s) => s.n)).toEqual(result.trace!.map((s) => s.step));
    expect(view).toMatchObject({
      violated: true,
      property: "EventuallyCaughtUp",
      heading: "VIOLATION of EventuallyCaughtUp",
    });
    expect(view.headline).toBe(result.violation);
    expect(view.stuck).toMatch(/^From step 0 on no more faults happen.*time bound/);
    // "node 3 has high watermark 0": the node the violation names.
    expect(view.blamed).toEqual([3]);
  });

  it("tells pre-votes from votes, grants, and epochs, each matched to its delivery", () => {
    const preVote = message(1, 2, "PreVote? e0")!;
    expect(preVote).toMatchObject({
      tag: "VoteRequest",
      kind: "prevote",
      pre: true,
      epoch: 0,
      fate: "delivered",
    });
    expect(preVote.text).toContain("preVote=true");
    const preGrant = message(2, 1, "PreVote granted e0")!;
    expect(preGrant).toMatchObject({ tag: "VoteResponse", kind: "grant", pre: true, fate: "delivered" });
    expect(preGrant.step).toBe(preVote.at);
    expect(message(1, 3, "Vote? e1")).toMatchObject({ kind: "vote", pre: false, epoch: 1 });
    expect(message(3, 1, "Vote granted e1")).toMatchObject({ kind: "grant", pre: false });
    expect(message(1, 2, "BeginQuorumEpoch e1")).toMatchObject({ kind: "begin" });
    expect(view.messages.some((m) => m.tag === "FetchRequest" && m.kind === "fetch")).toBe(true);
    // The step that delivers a message lists it as received.
    expect(view.steps[preVote.at!]!.received).toContain(preVote.id);
  });

  it("shows each node's role, epoch, log, high watermark and durable state per step", () => {
    const first = view.steps[0]!.nodes[0]!;
    expect(first).toMatchObject({ id: 1, up: true, role: "Unattached", epoch: 0, end: 0, hw: 0 });
    expect(first.durable).toBe("quorum-state: epoch 0, no leader; log flushed to 0");
    const last = view.steps[view.steps.length - 1]!;
    expect(last.nodes[0]).toMatchObject({
      role: "Leader",
      epoch: 1,
      leader: "1",
      hw: 1,
      end: 1,
      entries: ["1:c"],
    });
    expect(last.nodes[1]).toMatchObject({ role: "Follower", epoch: 1, leader: "1", voted: "1" });
    expect(last.nodes[1]!.durable).toBe("quorum-state: epoch 1, leader 1, voted for 1; log flushed to 1");
    expect(view.steps[0]!.changed).toEqual([1, 2, 3]);
    const elected = view.steps.find((s) => s.nodes[0]!.role === "Leader")!;
    expect(elected.changed).toContain(1);
    expect(elected.events.join("\n")).toContain("n1 Received from");
  });
});

describe("the page", () => {
  it("embeds the view as data and names no network resource", () => {
    const page = renderHtmlTrace(input);
    expect(page.startsWith("<!doctype html>")).toBe(true);
    expect(page).not.toMatch(/https?:\/\//);
    expect(page).not.toMatch(/\s(src|href)\s*=/i);
    expect(page).toContain("Content-Security-Policy");
    expect(page).toContain("default-src 'none'");
    const data = /<script type="application\/json" id="trace-data">([^<]*)<\/script>/.exec(page);
    expect(data).not.toBeNull();
    expect(JSON.parse(data![1]!)).toEqual(JSON.parse(JSON.stringify(view)));
    // Two scripts: the data and the drawing.
    expect(page.match(/<\/script>/g)).toHaveLength(2);
  });

  it("keeps hostile text from a trace as text", () => {
    const evil = `</script><script>alert(1)</script><img src=x onerror=alert(2)>&amp;'"\u2028`;
    const trace: TraceStep[] = [
      {
        step: 0,
        action: "initial state",
        nodes: [`n1 Unattached e0 leader=-1 ${evil}`, `in flight: ${evil}`],
      },
      {
        step: 1,
        action: `deliver ${evil}`,
        nodes: [`n1 Unattached e0 leader=-1 ${evil}`, "in flight: nothing"],
        details: [
          {
            node: 1,
            input: { _tag: "TimerExpired", timer: evil },
            effects: [{ _tag: "Send", to: 1, message: { _tag: evil, leaderEpoch: 1 }, correlationId: 1 }],
            state: { role: { _tag: evil }, epoch: 1 },
          },
        ],
      },
    ];
    const hostile: HtmlTraceInput = {
      title: `kraft check ${evil}`,
      model: evil,
      trace,
      property: evil,
      violation: evil,
    };
    const page = renderHtmlTrace(hostile);
    expect(page).not.toContain("<script>alert");
    expect(page).not.toContain("<img");
    expect(page.match(/<script/g)).toHaveLength(2);
    expect(page.match(/<\/script>/g)).toHaveLength(2);
    expect(page).toContain("<title>VIOLATION of &lt;/script&gt;&lt;script&gt;alert(1)");
    const data = /<script type="application\/json" id="trace-data">([^<]*)<\/script>/.exec(page)!;
    // A line separator would end a line inside a script, in older engines a string with it.
    expect(data[1]).not.toContain("\u2028");
    const back = JSON.parse(data[1]!) as TraceView;
    expect(back.property).toBe(evil);
    expect(back.steps[1]!.action).toBe(`deliver ${evil}`);
    expect(back.messages[0]!.tag).toBe(evil);
    // The page's script writes every string with textContent, never as markup.
    expect(page).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write/);
  });

  it("marks a message lost by the action that drops it, and one never delivered as in flight", () => {
    const send = (to: number, correlationId: number) => ({
      _tag: "Send",
      to,
      message: { _tag: "VoteRequest", replicaEpoch: 0, preVote: true },
      correlationId,
    });
    const lines = ["n1 Prospective e0 leader=-1", "n2 Unattached e0 leader=-1", "n3 Unattached e0 leader=-1"];
    const lossy = traceView({
      title: "t",
      model: "raft model",
      trace: [
        { step: 0, action: "initial state", nodes: lines },
        {
          step: 1,
          action: "timeout 1 election",
          nodes: lines,
          details: [
            {
              node: 1,
              input: { _tag: "TimerExpired", timer: "election" },
              effects: [send(2, 1), send(3, 2)],
            },
          ],
        },
        { step: 2, action: "drop 1->2 VoteRequest", nodes: lines },
      ],
    });
    expect(lossy.messages.map((m) => [m.to, m.fate, m.at])).toEqual([
      [2, "lost", 2],
      [3, "in flight", null],
    ]);
    expect(lossy.steps[2]!.lost).toEqual([0]);
    expect(lossy).toMatchObject({ violated: false, heading: "No violation" });
  });
});

describe("kraft check --html", () => {
  it("writes the page of a counterexample, and none without one", () => {
    const file = join(scratch, "counterexample.html");
    const io = capture();
    expect(runCheck([...COUNTEREXAMPLE_ARGS, "--progress", "0", "--html", file], io)).toBe(1);
    expect(io.stderr.join("")).toContain(`kraft check: counterexample page written to ${file}`);
    const page = readFileSync(file, "utf8");
    expect(page).toContain("VIOLATION of EventuallyCaughtUp");
    // The initial state's quorum-state comes from the model's initial world.
    expect(page).toContain("quorum-state: epoch 0, no leader; log flushed to 0");

    const none = join(scratch, "none.html");
    const ok = capture();
    expect(runCheck(["--voters", "1", "--max-values", "0", "--progress", "0", "--html", none], ok)).toBe(0);
    expect(ok.stderr.join("")).toContain(`kraft check: no counterexample, so no page written to ${none}`);
    expect(() => readFileSync(none)).toThrow();
  });

  it("refuses a page it cannot write with one line and exit code 2", () => {
    expect(() => runCheck(["--html", join(scratch, "no-such-folder", "x.html")], capture())).toThrow(
      UsageError,
    );
    const missing = spawnSync(
      process.execPath,
      [kraftBin, "check", "--html", join(scratch, "no-such-folder", "x.html")],
      { encoding: "utf8" },
    );
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(
      /^kraft check: --html .*x\.html: the folder .*no-such-folder does not exist or is not writable\n/,
    );
    expect(missing.stderr).not.toMatch(/\n\s+at /);
    // A folder where the file should go: found only when the page is written, after the search.
    const folder = spawnSync(
      process.execPath,
      [kraftBin, "check", ...COUNTEREXAMPLE_ARGS, "--progress", "0", "--html", scratch],
      { encoding: "utf8" },
    );
    expect(folder.status).toBe(2);
    expect(folder.stderr).toMatch(/\nkraft check: cannot write the page to .*: EISDIR/);
    expect(folder.stderr).not.toMatch(/\n\s+at /);
  });
});
