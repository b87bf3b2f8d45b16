// The counterexample page in a real browser: Debian's Chromium, headless, renders the page of a
// counterexample the checker finds and of a recorded trace, and the DOM it builds is checked: a lane
// per node, the arrows of that counterexample's messages, the violated property, keyboard stepping,
// and hostile text kept as text. scripts/ensure-chromium.sh installs Chromium when it is missing
// (as root); without it this test fails, it does not skip.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderHtmlTrace } from "../checker/html-trace.ts";
import { writeRecordedTrace } from "../testing/recorded-trace.ts";
import { type CheckIo, runCheck } from "./check.ts";
import { runConformanceCommand } from "./conformance.ts";

const root = join(import.meta.dirname, "..", "..");
const scratch = mkdtempSync(join(tmpdir(), "kraft-html-browser-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const capture = (): CheckIo & { stdout: string[]; stderr: string[] } => {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { out: (t) => stdout.push(t), err: (t) => stderr.push(t), isTTY: false, stdout, stderr };
};

/** An apt-get install of Chromium on a slow mirror and a loaded machine. */
const INSTALL_MS = 20 * 60_000;

let chromium = "";
/** How long one headless run may take: generous, from how long an empty page took here. */
let runMs = 0;

const dumpDom = (page: string, hash = ""): string => {
  const run = spawnSync(
    chromium,
    [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      `--user-data-dir=${mkdtempSync(join(scratch, "profile-"))}`,
      "--virtual-time-budget=5000",
      "--dump-dom",
      `${pathToFileURL(page).href}${hash}`,
    ],
    { encoding: "utf8", timeout: runMs, maxBuffer: 64 << 20 },
  );
  if (run.status !== 0) throw new Error(`chromium --dump-dom ${page}${hash}: ${run.error ?? run.stderr}`);
  return run.stdout;
};

beforeAll(
  () => {
    const found = spawnSync("bash", [join(root, "scripts", "ensure-chromium.sh")], {
      encoding: "utf8",
      timeout: INSTALL_MS,
    });
    chromium = found.stdout.trim().split("\n").pop() ?? "";
    if (found.status !== 0 || chromium === "")
      throw new Error(
        `no Chromium to render the page with, and scripts/ensure-chromium.sh could not install Debian's package: ${found.stderr.trim() || found.error}`,
      );
    const empty = join(scratch, "empty.html");
    writeFileSync(empty, "<!doctype html><title>empty</title><p>ready</p>");
    const started = performance.now();
    runMs = 10 * 60_000;
    expect(dumpDom(empty)).toContain("ready");
    // spawnSync takes whole milliseconds only: a fraction throws RangeError (it did once a loaded
    // machine took over 4 s for the empty page).
    runMs = Math.ceil(Math.max(2 * 60_000, 30 * (performance.now() - started)));
  },
  INSTALL_MS + 10 * 60_000,
);

const count = (dom: string, re: RegExp): number => dom.match(re)?.length ?? 0;

describe("the counterexample page in Chromium", () => {
  const page = join(scratch, "counterexample.html");
  let steps = 0;

  beforeAll(() => {
    const io = capture();
    // A liveness bound no cluster can meet: the unchanged spec's shortest counterexample.
    const args = ["--liveness-ms", "1", "--max-epoch", "1", "--max-values", "0", "--progress", "0"];
    expect(runCheck([...args, "--json", "--html", page], io)).toBe(1);
    steps = (JSON.parse(io.stdout.join("")) as { trace: unknown[] }).trace.length - 1;
  });

  it("draws a lane per node, the messages as arrows, and the violated property", () => {
    const dom = dumpDom(page);
    expect(count(dom, /<g class="lane-head[^"]*" data-node="\d+"><text[^>]*>n\d<\/text>/g)).toBe(3);
    expect(count(dom, /<g class="row[^"]*" data-step="\d+">/g)).toBe(steps + 1);
    // Node 1's pre-votes to 2 and 3, their grants, its votes in epoch 1, and its BeginQuorumEpoch.
    const arrow = (kind: string, from: number, to: number, tag: string, label: string) =>
      new RegExp(
        `<g class="msg k-${kind}[^"]*" data-message="\\d+" data-from="${from}" data-to="${to}" data-tag="${tag}" data-step="\\d+"><line[^>]*></line><polygon[^>]*></polygon><text[^>]*>${label}</text>`,
      );
    expect(dom).toMatch(arrow("prevote pre", 1, 2, "VoteRequest", "PreVote\\? e0"));
    expect(dom).toMatch(arrow("prevote pre", 1, 3, "VoteRequest", "PreVote\\? e0"));
    expect(dom).toMatch(arrow("grant pre", 2, 1, "VoteResponse", "PreVote granted e0"));
    expect(dom).toMatch(arrow("vote", 1, 2, "VoteRequest", "Vote\\? e1"));
    expect(dom).toMatch(arrow("grant", 3, 1, "VoteResponse", "Vote granted e1"));
    expect(dom).toMatch(arrow("begin", 1, 3, "BeginQuorumEpochRequest", "BeginQuorumEpoch e1"));
    expect(dom).toMatch(arrow("fetch", 2, 1, "FetchRequest", "Fetch e1 @1"));
    // The banner, the last row and the node the violation names.
    expect(dom).toMatch(/<h1><span class="property">VIOLATION of EventuallyCaughtUp<\/span>/);
    expect(dom).toMatch(
      new RegExp(
        `<g class="row fair violation selected" data-step="${steps}">.*?✖ EventuallyCaughtUp</text>`,
      ),
    );
    expect(dom).toMatch(/<g class="lane-head blamed" data-node="3">/);
    expect(dom).toContain(
      `<h2 id="step-title">Step ${steps} of ${steps} — VIOLATION of EventuallyCaughtUp</h2>`,
    );
    expect(dom).toMatch(/<legend|<div class="legend" id="legend">/);
  });

  it("shows the state of every node at the step the address names", () => {
    const dom = dumpDom(page, "#step=8");
    expect(dom).toContain('<body data-step="8">');
    expect(dom).toContain('<h2 id="step-title">Step 8 of');
    const card = (id: number) =>
      new RegExp(`<div class="card[^"]*" data-node="${id}">(.*?)</details></div>`).exec(dom)?.[1] ?? "";
    // Step 8: node 1 takes node 2's vote and leads epoch 1.
    expect(card(1)).toMatch(/<span class="role r-Leader">Leader<\/span><span>epoch 1<\/span>/);
    expect(card(1)).toContain('<dd data-field="high watermark">0</dd>');
    expect(card(1)).toMatch(
      /<dd data-field="durable">quorum-state: epoch 1, leader 1, voted for 1; log flushed to \d<\/dd>/,
    );
    expect(card(2)).toMatch(/<span class="role r-Unattached">Unattached<\/span><span>epoch 1<\/span>/);
    expect(card(2)).toContain('<dd data-field="voted for">1</dd>');
  });

  it("steps with the keyboard", () => {
    // From step 3: down (4), j (5), up (4), Home (0), End (last), k (one before it).
    const dom = dumpDom(page, "#step=3&keys=ArrowDown,j,ArrowUp,Home,End,k");
    expect(dom).toContain(`<body data-step="${steps - 1}">`);
    expect(dom).toMatch(new RegExp(`<g class="row[^"]* selected" data-step="${steps - 1}">`));
    expect(count(dom, /<g class="row[^"]* selected"/g)).toBe(1);
    const home = dumpDom(page, "#step=5&keys=k,k,Home,j,j");
    expect(home).toContain('<body data-step="2">');
  });
});

describe("a recorded trace's page in Chromium", () => {
  it("draws the run up to the event the spec does not explain", async () => {
    const files = writeRecordedTrace(mkdtempSync(join(scratch, "trace-")), 30);
    const lines = readFileSync(files[2]!, "utf8").split("\n");
    lines[2] = lines[2]!.replace(/"delayMs":(\d+)/, (_m, d: string) => `"delayMs":${Number(d) + 1}`);
    writeFileSync(files[2]!, lines.join("\n"));
    const page = join(scratch, "trace.html");
    expect(await runConformanceCommand(["check-trace", ...files, "--html", page], capture())).toBe(1);
    const dom = dumpDom(page);
    expect(count(dom, /<g class="lane-head[^"]*" data-node="\d+">/g)).toBe(3);
    expect(dom).toMatch(/<h1><span class="property">NOT EXPLAINED by the spec<\/span>/);
    expect(dom).toMatch(
      /<g class="row violation selected" data-step="\d+">.*?NOT EXPLAINED: n3 Received VoteRequest from 1/,
    );
    expect(dom).toMatch(
      /data-from="1" data-to="3" data-tag="VoteRequest" data-step="\d+"><line[^>]*><\/line><polygon[^>]*><\/polygon><text[^>]*>PreVote\? e0/,
    );
  });
});

describe("hostile text in Chromium", () => {
  it("stays text", () => {
    const evil = `</script><script>document.title="owned"</script><img src=x onerror="document.title='owned'">`;
    const page = join(scratch, "hostile.html");
    writeFileSync(
      page,
      renderHtmlTrace({
        title: evil,
        model: evil,
        property: evil,
        violation: evil,
        trace: [
          { step: 0, action: evil, nodes: [`n1 ${evil}`, evil] },
          {
            step: 1,
            action: evil,
            nodes: [`n1 ${evil}`, evil],
            details: [
              { node: 1, input: { _tag: evil }, effects: [{ _tag: "Send", to: 1, message: { _tag: evil } }] },
            ],
          },
        ],
      }),
    );
    const dom = dumpDom(page);
    expect(dom).not.toContain("owned</title>");
    expect(dom).not.toMatch(/<img/i);
    expect(count(dom, /<script/g)).toBe(2);
    expect(dom).toContain('&lt;/script&gt;&lt;script&gt;document.title="owned"&lt;/script&gt;&lt;img src=x');
    expect(dom).toContain('<body data-step="1">');
  });
});
