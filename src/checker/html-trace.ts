// A counterexample (or any trace of reducer steps) as one self-contained HTML page: a sequence
// diagram with a lane per node and an arrow per message, each node's state at the selected step, and
// keyboard stepping. The trace is turned into a small view model here and embedded as JSON; the
// page's inline script draws it. Nothing is fetched at view time (inline CSS and JS, and a
// Content-Security-Policy that forbids any other source).
import { formatEffect, formatInput, formatValue } from "../../spec/cluster/format.ts";
import type { RaftEffect, RaftInput } from "../../spec/raft/io.ts";
import type { Stuck, TraceStep } from "./engine.ts";

export interface HtmlTraceInput {
  /** The page's heading, e.g. the command that found the trace. */
  readonly title: string;
  /** "raft", "metadata", or where the trace came from. */
  readonly model: string;
  readonly trace: readonly TraceStep[];
  /** The violated property (absent: no violation, see `verdict`). */
  readonly property?: string;
  /** The banner's heading, when "VIOLATION of <property>" is not the word for it. */
  readonly heading?: string;
  readonly rules?: string;
  readonly violation?: string;
  /** For a liveness violation: how the fair schedule got stuck. */
  readonly stuck?: Stuck;
  /** What the fair schedule assumes (shown with a liveness violation). */
  readonly fairness?: string;
  /** The verdict shown when nothing is violated. */
  readonly verdict?: string;
  /** Each node's quorum-state on disk before step 1, when the caller knows it (index = node id - 1). */
  readonly initialQuorumStates?: readonly unknown[];
}

/** A message as drawn: an arrow from `from` to `to` in the row of the step that sent it. */
export interface MessageView {
  readonly id: number;
  readonly from: number;
  readonly to: number;
  readonly step: number;
  readonly tag: string;
  readonly label: string;
  /** Drawing class: prevote, vote, grant, reject, begin, end, fetch, snapshot, voters, meta, other. */
  readonly kind: string;
  /** A response to a pre-vote (drawn dashed, as the pre-vote request). */
  readonly pre: boolean;
  readonly epoch: number | null;
  readonly correlationId: number | null;
  readonly text: string;
  /** "delivered" or "lost" at step `at`, or still "in flight" when the trace ends. */
  fate: "delivered" | "lost" | "in flight";
  at: number | null;
}

export interface NodeView {
  readonly id: number;
  readonly up: boolean;
  readonly role: string;
  readonly epoch: number | null;
  readonly leader: string;
  readonly voted: string;
  readonly end: number | null;
  readonly hw: number | null;
  readonly flushed: number | null;
  readonly logStart: number | null;
  readonly epochs: string;
  /** The records, as the model's trace lines show them (raft model), oldest first. */
  readonly entries: readonly string[];
  /** quorum-state as last written (null: not written in this trace), and the flushed log prefix. */
  readonly durable: string;
  /** The node's application layer (metadata model: controller or broker). */
  readonly app: string;
  readonly line: string;
  /** The node took an input in this step. */
  readonly acted: boolean;
}

export interface StepView {
  readonly n: number;
  readonly action: string;
  readonly fair: boolean;
  readonly sent: readonly number[];
  readonly received: readonly number[];
  readonly lost: readonly number[];
  /** Nodes that took an input other than a message (a timer, a flush, a start). */
  readonly actors: readonly number[];
  /** What each node took and did, one line per input and effect. */
  readonly events: readonly string[];
  readonly nodes: readonly NodeView[];
  /** The trace's lines that are not about one node (messages in flight, partitions). */
  readonly world: readonly string[];
  /** Nodes whose role or epoch changed here (or all, at step 0): drawn as a label on the lane. */
  readonly changed: readonly number[];
}

export interface TraceView {
  readonly title: string;
  readonly model: string;
  readonly violated: boolean;
  readonly heading: string;
  readonly property: string;
  readonly rules: string;
  readonly headline: string;
  readonly stuck: string;
  /** The step a liveness cycle returns to, if any. */
  readonly loopsTo: number | null;
  readonly nodes: readonly number[];
  /** Nodes the violation names. */
  readonly blamed: readonly number[];
  readonly steps: readonly StepView[];
  readonly messages: readonly MessageView[];
}

type Rec = Readonly<Record<string, unknown>>;

const rec = (value: unknown): Rec | undefined =>
  typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Rec) : undefined;
const num = (value: unknown): number | null => (typeof value === "number" ? value : null);
const str = (value: unknown): string | null => (typeof value === "string" ? value : null);
const list = (value: unknown): readonly unknown[] => (Array.isArray(value) ? value : []);

/** One node's reducer step, whichever model's detail it came from. */
interface Item {
  readonly layer: string;
  readonly node: number;
  readonly input: Rec;
  readonly effects: readonly Rec[];
  /** The Raft state after the step. */
  readonly state: Rec | undefined;
  readonly storage: Rec | undefined;
}

/** The raft model's `{node, input, effects, state}` and the metadata model's `{layer, step|node…}`. */
const itemOf = (detail: unknown): Item | undefined => {
  const d = rec(detail);
  if (d === undefined) return undefined;
  const inner = d["layer"] === "raft" ? rec(d["step"]) : d;
  const node = num(inner?.["node"]);
  const input = rec(inner?.["input"]);
  if (inner === undefined || node === null || input === undefined) return undefined;
  return {
    layer: str(d["layer"]) ?? "raft",
    node,
    input,
    effects: list(inner["effects"]).flatMap((e): Rec[] => {
      const r = rec(e);
      return r === undefined ? [] : [r];
    }),
    state:
      d["layer"] === undefined || d["layer"] === "raft" ? rec(inner["state"] ?? inner["after"]) : undefined,
    storage: rec(inner["storage"]),
  };
};

/** The message an effect sends: Raft `Send`, a controller's `Respond`, a broker's `SendToController`. */
const sentBy = (effect: Rec): { to: number; body: Rec; correlationId: number | null } | undefined => {
  const to = num(effect["to"]);
  const body = rec(effect["message"]) ?? rec(effect["request"]) ?? rec(effect["response"]);
  if (to === null || body === undefined || str(body["_tag"]) === null) return undefined;
  return { to, body, correlationId: num(effect["correlationId"]) };
};

/** The message an input delivers (Raft `Received`, a controller's `Request`, a broker's `Response`). */
const receivedBy = (
  input: Rec,
): { from: number | null; body: Rec; correlationId: number | null } | undefined => {
  const body = rec(input["message"]) ?? rec(input["request"]) ?? rec(input["response"]);
  if (body === undefined || str(body["_tag"]) === null) return undefined;
  return { from: num(input["from"]), body, correlationId: num(input["correlationId"]) };
};

const isRequest = (tag: string): boolean => tag.endsWith("Request");

const epochOf = (body: Rec): number | null =>
  num(body["replicaEpoch"]) ??
  num(body["leaderEpoch"]) ??
  num(body["currentLeaderEpoch"]) ??
  num(body["epoch"]) ??
  num(body["brokerEpoch"]);

/** The arrow's label and drawing class; `request` is the request a response answers, if known. */
const describeMessage = (
  body: Rec,
  request: Rec | undefined,
): { label: string; kind: string; pre: boolean } => {
  const tag = str(body["_tag"]) ?? "?";
  const epoch = epochOf(body);
  const e = epoch === null ? "" : ` e${epoch}`;
  const error = str(body["errorCode"]);
  const failed = error !== null && error !== "NONE" ? ` ${error}` : "";
  switch (tag) {
    case "VoteRequest":
      return body["preVote"] === true
        ? { label: `PreVote?${e}`, kind: "prevote", pre: true }
        : { label: `Vote?${e}`, kind: "vote", pre: false };
    case "VoteResponse": {
      const pre = request?.["preVote"] === true;
      const granted = body["voteGranted"] === true;
      return {
        label: `${pre ? "PreVote" : "Vote"} ${granted ? "granted" : "rejected"}${e}${failed}`,
        kind: granted ? "grant" : "reject",
        pre,
      };
    }
    case "FetchRequest":
      return { label: `Fetch${e} @${num(body["fetchOffset"]) ?? "?"}`, kind: "fetch", pre: false };
    case "FetchResponse": {
      const records = list(body["records"]).length;
      const diverging = rec(body["divergingEpoch"]);
      return {
        label: `Fetch ↩${e}${failed}${records > 0 ? ` +${records}` : ""} hw=${num(body["highWatermark"]) ?? "?"}${diverging === undefined ? "" : " diverging"}`,
        kind: failed === "" ? "fetch" : "reject",
        pre: false,
      };
    }
  }
  const short = tag.replace(/Request$/, "").replace(/Response$/, " ↩");
  const kind = /^(Begin|End)QuorumEpoch/.test(tag)
    ? tag.startsWith("Begin")
      ? "begin"
      : "end"
    : tag.startsWith("FetchSnapshot")
      ? "snapshot"
      : /RaftVoter/.test(tag)
        ? "voters"
        : /^(Broker|CreateTopics|DeleteTopics|CreatePartitions|AlterPartition)/.test(tag)
          ? "meta"
          : "other";
  return { label: `${short}${e}${failed}`, kind: failed === "" ? kind : "reject", pre: false };
};

const ROLES = /\b(Unattached|Prospective|Candidate|Leader|Follower|Resigned|Voted)\s+e(\d+)/;

/** A node as its trace line shows it (the fallback when no structured state is at hand). */
const parseLine = (line: string): Omit<NodeView, "id" | "durable" | "acted"> => {
  const body = line.replace(/^n\d+\s+/, "");
  const up = !/^down\b/.test(body) && !/\| down\b/.test(body) && !/^not started/.test(body);
  const role = ROLES.exec(body);
  const int = (re: RegExp): number | null => {
    const m = re.exec(body);
    return m === null ? null : Number(m[1]);
  };
  const segments = body.split(" | ");
  const app = segments.length > 1 && !ROLES.test(segments[0]!) ? segments[0]! : "";
  const entries = /\s\[([^\]]*)\]$/.exec(body) ?? /^down, log \[([^\]]*)\]$/.exec(body);
  return {
    up,
    role: up ? (role?.[1] ?? "?") : "down",
    epoch: role === null ? null : Number(role[2]),
    leader: /\bleader=(-?\d+)/.exec(body)?.[1] ?? "",
    voted: /\bvoted=(\S+)/.exec(body)?.[1] ?? "",
    end: int(/\bend=(\d+)/),
    hw: int(/ hw=(\d+)/),
    flushed: int(/\bflushed=(\d+)/),
    logStart: int(/\blog=start=(\d+)/) ?? (up ? 0 : null),
    epochs: /\blog=(?:start=\d+ )?\[([^\]]*)\]/.exec(body)?.[1] ?? "",
    entries: entries === null || entries[1]!.trim() === "" ? [] : entries[1]!.trim().split(/\s+/),
    app,
    line,
  };
};

/** The fields of a Raft NodeState the panel shows. */
const fromState = (state: Rec): Partial<NodeView> => {
  const role = rec(state["role"]);
  const log = rec(state["log"]);
  const tag = str(role?.["_tag"]) ?? "?";
  const voted = rec(role?.["votedKey"]);
  const leader = tag === "Leader" ? num(state["nodeId"]) : num(role?.["leaderId"]);
  return {
    role: tag,
    epoch: num(state["epoch"]),
    leader: leader === null ? "" : String(leader),
    voted: voted === undefined ? "" : String(num(voted["id"]) ?? "?"),
    end: num(log?.["endOffset"]),
    hw: num(state["highWatermark"]),
    flushed: num(log?.["flushedOffset"]),
    logStart: num(log?.["startOffset"]),
    epochs: list(log?.["epochs"])
      .map((x) => `e${num(rec(x)?.["epoch"])}@${num(rec(x)?.["startOffset"])}`)
      .join(","),
  };
};

const quorumStateText = (q: unknown): string | null => {
  const r = rec(q);
  if (r === undefined) return null;
  const voted = rec(r["votedKey"]);
  const leader = num(r["leaderId"]);
  return `epoch ${num(r["epoch"]) ?? "?"}, ${leader === -1 ? "no leader" : `leader ${leader ?? "?"}`}${voted === undefined ? "" : `, voted for ${num(voted["id"]) ?? "?"}`}`;
};

const describeItem = (item: Item, clusterId: string): string[] => {
  const options = { clusterId };
  const head = `n${item.node}${item.layer === "raft" ? "" : ` ${item.layer}`}`;
  if (item.layer === "raft") {
    return [
      `${head} ${formatInput(item.input as unknown as RaftInput, options)}`,
      ...item.effects.map((e) => `    ${formatEffect(e as unknown as RaftEffect, options, item.node)}`),
    ];
  }
  return [
    `${head} ${formatValue(item.input, options)}`,
    ...item.effects.map((e) => `    ${formatValue(e, options)}`),
  ];
};

const stuckText = (stuck: Stuck | undefined): string => {
  if (stuck === undefined) return "";
  switch (stuck.how) {
    case "cycle":
      return `From step ${stuck.from} on no more faults happen, and the fair schedule comes back to step ${stuck.loopsTo ?? "?"} without reaching the goal: it would loop forever.`;
    case "deadlock":
      return `From step ${stuck.from} on no more faults happen, and the fair schedule reaches a state where nothing can happen, short of the goal.`;
    case "bound":
      return `From step ${stuck.from} on no more faults happen, and the fair schedule runs out of its time bound without reaching the goal.`;
  }
};

/** The view model the page draws: messages matched to their deliveries, each node's state per step. */
export const traceView = (input: HtmlTraceInput): TraceView => {
  const nodeIds = [
    ...new Set(
      input.trace.flatMap((s) =>
        s.nodes.flatMap((line) => {
          const m = /^n(\d+)\b/.exec(line);
          return m === null ? [] : [Number(m[1])];
        }),
      ),
    ),
  ].sort((a, b) => a - b);
  const messages: MessageView[] = [];
  const quorum = new Map<number, string>();
  input.initialQuorumStates?.forEach((q, i) => {
    const text = quorumStateText(q);
    if (text !== null) quorum.set(i + 1, text);
  });
  const states = new Map<number, Rec>();
  // The message bodies by id: a vote's answer is told from a pre-vote's by its request.
  const bodies = new Map<number, Rec>();
  let clusterId = "";
  const steps: StepView[] = [];
  let previous: readonly NodeView[] = [];
  const takePending = (
    to: number,
    tag: string,
    from: number | null,
    correlationId: number | null,
  ): MessageView | undefined =>
    messages.find(
      (m) =>
        m.fate === "in flight" &&
        m.to === to &&
        m.tag === tag &&
        (from === null || m.from === from) &&
        (correlationId === null || m.correlationId === null || m.correlationId === correlationId),
    );
  for (const step of input.trace) {
    const items = (step.details ?? []).flatMap((d) => itemOf(d) ?? []);
    const sent: number[] = [];
    const received: number[] = [];
    const lost: number[] = [];
    const events: string[] = [];
    const acted = new Set<number>();
    for (const item of items) {
      acted.add(item.node);
      const got = receivedBy(item.input);
      if (got !== undefined) {
        const m = takePending(item.node, str(got.body["_tag"])!, got.from, got.correlationId);
        if (m !== undefined) {
          m.fate = "delivered";
          m.at = step.step;
          received.push(m.id);
        }
      }
      if (item.input["_tag"] === "Start") {
        const q = quorumStateText(item.storage?.["quorumState"]);
        if (q !== null) quorum.set(item.node, q);
      }
      for (const effect of item.effects) {
        if (effect["_tag"] === "PersistElectionState") quorum.set(item.node, quorumStateText(effect)!);
        const s = sentBy(effect);
        if (s === undefined) continue;
        clusterId = clusterId === "" ? (str(s.body["clusterId"]) ?? "") : clusterId;
        const tag = str(s.body["_tag"])!;
        // A response answers the request its receiver sent the responder with the same id.
        const request = isRequest(tag)
          ? undefined
          : messages.findLast(
              (m) =>
                m.from === s.to &&
                m.to === item.node &&
                isRequest(m.tag) &&
                s.correlationId !== null &&
                m.correlationId === s.correlationId,
            );
        const requestBody = request === undefined ? undefined : bodies.get(request.id);
        const described = describeMessage(s.body, requestBody);
        const id = messages.length;
        bodies.set(id, s.body);
        messages.push({
          id,
          from: item.node,
          to: s.to,
          step: step.step,
          tag,
          ...described,
          epoch: epochOf(s.body),
          correlationId: s.correlationId,
          text: `${item.node}->${s.to}${s.correlationId === null ? "" : `#${s.correlationId}`} ${formatValue(s.body, { clusterId })}`,
          fate: "in flight",
          at: null,
        });
        sent.push(id);
      }
      if (item.state !== undefined) states.set(item.node, item.state);
    }
    for (const item of items) events.push(...describeItem(item, clusterId));
    // Losses (and deliveries to a node that is down) show in the action only.
    const moved = /^(deliver|drop|lose) (\d+)->(\d+)(?:#(\d+))? (\w+)/.exec(step.action);
    if (moved !== null && (moved[1] !== "deliver" || received.length === 0)) {
      const m = takePending(
        Number(moved[3]),
        moved[5]!,
        Number(moved[2]),
        moved[4] === undefined ? null : Number(moved[4]),
      );
      if (m !== undefined) {
        m.fate = "lost";
        m.at = step.step;
        lost.push(m.id);
      }
    }
    const lines = new Map<number, string>();
    const world: string[] = [];
    for (const line of step.nodes) {
      const m = /^n(\d+)\b/.exec(line);
      if (m === null) world.push(line);
      else lines.set(Number(m[1]), line);
    }
    const nodes = nodeIds.map((id): NodeView => {
      const parsed = parseLine(lines.get(id) ?? `n${id} not started`);
      const state = states.get(id);
      // A node that went down forgets its state; its structured state comes back with its restart.
      if (!parsed.up) states.delete(id);
      const view = { ...parsed, ...(parsed.up && state !== undefined ? fromState(state) : {}) };
      const q = quorum.get(id);
      return {
        id,
        ...view,
        // A node that is down has on disk exactly the records its line shows.
        durable: `quorum-state: ${q ?? "not written in this trace"}; ${view.up ? `log flushed to ${view.flushed ?? "?"}` : `${view.entries.length} records on disk`}`,
        acted: acted.has(id),
      };
    });
    const changed = nodes
      .filter((v, i) => {
        const before = previous[i];
        return before === undefined || before.role !== v.role || before.epoch !== v.epoch;
      })
      .map((v) => v.id);
    previous = nodes;
    steps.push({
      n: step.step,
      action: step.action,
      fair: step.fair === true,
      sent,
      received,
      lost,
      actors: [...acted].filter((id) => !received.some((m) => messages[m]!.to === id)),
      events,
      nodes,
      world,
      changed,
    });
  }
  const violated = input.property !== undefined;
  const blamed = new Set<number>();
  for (const m of (input.violation ?? "").matchAll(/\b(?:node|voter|leader|broker|controller)s? (\d+)\b/g))
    if (nodeIds.includes(Number(m[1]))) blamed.add(Number(m[1]));
  return {
    title: input.title,
    model: input.model,
    violated,
    heading: input.heading ?? (violated ? `VIOLATION of ${input.property}` : "No violation"),
    property: input.property ?? "",
    rules: input.rules ?? "",
    headline: violated
      ? (input.violation ?? "")
      : (input.verdict ?? "No property is violated: there is no counterexample."),
    stuck: [stuckText(input.stuck), input.stuck === undefined ? "" : (input.fairness ?? "")]
      .filter((s) => s !== "")
      .join(" Fairness: "),
    loopsTo: input.stuck?.loopsTo ?? null,
    nodes: nodeIds,
    blamed: [...blamed],
    steps,
    messages,
  };
};

/** Text for HTML element content and attribute values. */
export const escapeHtml = (text: string): string =>
  text.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] ?? c,
  );

/** JSON that is safe inside a <script> element: no "</script>", "<!--" or line separators. */
export const scriptJson = (value: unknown): string =>
  JSON.stringify(value)
    .replace(/</g, "\\u003c")
    .replace(/>/g, "\\u003e")
    .replace(/&/g, "\\u0026")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");

/** The whole page. */
export const renderHtmlTrace = (input: HtmlTraceInput): string => {
  const view = traceView(input);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(`${view.heading} · ${view.title}`)}</title>
<style>${CSS}</style>
</head>
<body>
<noscript><p class="noscript">This page draws the trace with its inline script: allow JavaScript to see it.</p></noscript>
<svg id="svg-namespace" width="0" height="0" aria-hidden="true"></svg>
<script type="application/json" id="trace-data">${scriptJson(view)}</script>
<script>${CLIENT}</script>
</body>
</html>
`;
};

const CSS = `
:root { --bg:#fbfbfa; --ink:#1d2125; --muted:#69707a; --line:#d5d8dc; --sel:#fff3bf; --bad:#c92a2a; --badbg:#ffe3e3;
  --ok:#2b8a3e; --okbg:#ebfbee; --fair:#e7f5ff; --prevote:#7048e8; --vote:#1c7ed6; --grant:#2b8a3e; --reject:#e03131;
  --begin:#e8590c; --end:#c2255c; --fetch:#868e96; --snapshot:#0c8599; --voters:#5f3dc4; --meta:#5c940d; --other:#495057; }
* { box-sizing: border-box; }
body { margin:0; font:13px/1.4 system-ui, "DejaVu Sans", sans-serif; color:var(--ink); background:var(--bg);
  display:flex; flex-direction:column; height:100vh; }
header { padding:10px 16px; border-bottom:3px solid var(--bad); background:var(--badbg); }
header.ok { border-color:var(--ok); background:var(--okbg); }
header h1 { margin:0 0 2px; font-size:17px; }
header h1 .property { color:var(--bad); }
header.ok h1 .property { color:var(--ok); }
header .rules { color:var(--muted); font-weight:normal; font-size:13px; }
header p { margin:2px 0; max-width:1400px; }
#headline { white-space:pre-wrap; overflow-wrap:anywhere; max-height:8.5em; overflow:auto; }
header .title { color:var(--muted); font-family:ui-monospace, "DejaVu Sans Mono", monospace; font-size:12px; }
.legend { display:flex; flex-wrap:wrap; gap:4px 14px; padding:6px 16px; border-bottom:1px solid var(--line);
  font-size:12px; color:var(--muted); align-items:center; }
.legend svg { vertical-align:middle; }
.legend kbd { border:1px solid var(--line); border-radius:3px; padding:0 4px; background:#fff; font-size:11px; }
main { flex:1; display:flex; min-height:0; }
#diagram { flex:1; overflow:auto; position:relative; }
#lanes-head { position:sticky; top:0; z-index:2; background:var(--bg); border-bottom:1px solid var(--line); }
#panel { width:420px; overflow:auto; border-left:1px solid var(--line); padding:10px 14px; background:#fff; }
#panel h2 { font-size:15px; margin:0 0 2px; }
#panel h3 { font-size:12px; margin:12px 0 4px; color:var(--muted); text-transform:uppercase; letter-spacing:.04em; }
#panel .action { font-family:ui-monospace, "DejaVu Sans Mono", monospace; font-size:12px; }
.card { border:1px solid var(--line); border-radius:6px; padding:6px 8px; margin:6px 0; }
.card.acted { border-color:#f59f00; box-shadow:0 0 0 1px #f59f00 inset; }
.card.blamed { border-color:var(--bad); }
.card .head { display:flex; gap:8px; align-items:baseline; }
.card .head b { font-size:14px; }
.card dl { display:grid; grid-template-columns:104px 1fr; margin:4px 0 0; gap:1px 6px; font-size:12px; }
.card dt { color:var(--muted); }
.card dd { margin:0; font-family:ui-monospace, "DejaVu Sans Mono", monospace; overflow-wrap:anywhere; }
.hint { font-size:11px; color:var(--muted); }
details summary { cursor:pointer; color:var(--muted); font-size:11px; margin-top:3px; }
.entries { display:flex; flex-wrap:wrap; gap:2px; }
.entry { border:1px solid #adb5bd; border-radius:3px; padding:0 3px; font-size:11px; background:#fff; }
.entry.committed { background:#d3f9d8; border-color:#69db7c; }
.entry.unflushed { border-style:dashed; color:var(--muted); }
pre { margin:0; font:11px/1.45 ui-monospace, "DejaVu Sans Mono", monospace; white-space:pre-wrap; overflow-wrap:anywhere; }
.role { display:inline-block; padding:0 6px; border-radius:9px; font-size:11px; font-weight:600; color:#fff; background:#868e96; }
.r-Leader { background:#e67700; } .r-Candidate { background:#1c7ed6; } .r-Prospective { background:#7048e8; }
.r-Follower { background:#2b8a3e; } .r-Unattached { background:#868e96; } .r-Resigned { background:#a61e4d; }
.r-down { background:#212529; }
svg text { font-family:system-ui, "DejaVu Sans", sans-serif; }
.row-bg { fill:transparent; cursor:pointer; }
.row.fair .row-bg { fill:var(--fair); }
.row.selected .row-bg { fill:var(--sel); }
.row.violation .row-bg { fill:var(--badbg); stroke:var(--bad); stroke-width:2; }
.row.violation.selected .row-bg { fill:#ffd8a8; }
.row .num { font-size:12px; fill:var(--muted); font-weight:600; }
.row .act { font-size:12px; fill:var(--ink); }
.row.violation .num, .row.violation .badge { fill:var(--bad); font-weight:700; }
.badge { font-size:12px; }
.lane-line { stroke:#adb5bd; stroke-width:1.5; }
.lane-line.down { stroke-dasharray:2 4; stroke:#dee2e6; }
.lane-head text { font-size:14px; font-weight:700; text-anchor:middle; }
.lane-head.blamed text { fill:var(--bad); }
.chip rect { rx:8; fill:#868e96; } .chip.r-Leader rect { fill:#e67700; } .chip.r-Candidate rect { fill:#1c7ed6; }
.chip.r-Prospective rect { fill:#7048e8; } .chip.r-Follower rect { fill:#2b8a3e; } .chip.r-Resigned rect { fill:#a61e4d; }
.chip.r-down rect { fill:#212529; }
.chip text { font-size:10.5px; fill:#fff; font-weight:600; text-anchor:middle; }
.msg line { stroke-width:1.8; } .msg polygon { stroke:none; }
.msg text { font-size:11px; text-anchor:middle; paint-order:stroke; stroke:var(--bg); stroke-width:3px; }
.msg.pre line { stroke-dasharray:6 3; }
.msg.unreceived { opacity:.45; }
.msg.unreceived line { stroke-dasharray:2 3; }
.recv { fill:var(--ink); } .actor { fill:#fff; stroke:var(--ink); stroke-width:1.5; } .lost { stroke:var(--bad); stroke-width:2; }
.loop { fill:none; stroke:var(--bad); stroke-width:1.5; stroke-dasharray:4 3; }
${["prevote", "vote", "grant", "reject", "begin", "end", "fetch", "snapshot", "voters", "meta", "other"]
  .map(
    (k) =>
      `.k-${k} line { stroke:var(--${k}); } .k-${k} polygon { fill:var(--${k}); } .k-${k} text { fill:var(--${k}); }`,
  )
  .join("\n")}
.noscript { padding:20px; }
#svg-namespace { display:none; }
`;

// The page's script: plain ES2020, no template literals (this file holds it in one).
const CLIENT = `
"use strict";
(function () {
  var view = JSON.parse(document.getElementById("trace-data").textContent);
  // The SVG namespace, taken from an element the parser made (the page names no URL at all).
  var SVG = document.getElementById("svg-namespace").namespaceURI;
  var LEFT = 300, GAP = 130, HEAD = 20, SUB = 22;
  function el(tag, attrs, parent, text) {
    var e = document.createElement(tag);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    if (parent) parent.appendChild(e);
    return e;
  }
  function svg(tag, attrs, parent, text) {
    var e = document.createElementNS(SVG, tag);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    if (parent) parent.appendChild(e);
    return e;
  }
  function laneX(id) { return LEFT + GAP / 2 + view.nodes.indexOf(id) * GAP; }

  // Banner and legend.
  var header = el("header", { "class": view.violated ? "violated" : "ok" }, document.body);
  var h1 = el("h1", {}, header);
  el("span", { "class": "property" }, h1, view.heading);
  if (view.rules) el("span", { "class": "rules" }, h1, "  (" + view.rules + ")");
  el("p", { "id": "headline" }, header, view.headline);
  if (view.stuck) el("p", { "id": "stuck" }, header, view.stuck);
  el("p", { "class": "title" }, header, view.model + " · " + view.title);
  var legend = el("div", { "class": "legend", "id": "legend" }, document.body);
  [["prevote", "pre-vote request", true], ["vote", "vote request", false], ["grant", "vote granted", false],
   ["reject", "rejected / error", false], ["begin", "BeginQuorumEpoch", false], ["end", "EndQuorumEpoch", false],
   ["fetch", "Fetch", false], ["snapshot", "FetchSnapshot", false], ["meta", "controller channel", false]]
    .forEach(function (k) {
      var item = el("span", { "class": "legend-item" }, legend);
      var s = svg("svg", { width: 34, height: 10, "class": "msg k-" + k[0] + (k[2] ? " pre" : "") }, item);
      svg("line", { x1: 1, y1: 5, x2: 26, y2: 5 }, s);
      svg("polygon", { points: "33,5 25,1 25,9" }, s);
      item.appendChild(document.createTextNode(k[1]));
    });
  var extra = el("span", {}, legend);
  extra.textContent = "dashed: pre-vote · faded: never delivered · ● delivered here · ○ a timer, flush or start · ✕ lost · blue rows: fair schedule, no more faults · ";
  ["↑ ↓", "j k", "Home End"].forEach(function (k) { el("kbd", {}, extra, k); extra.appendChild(document.createTextNode(" ")); });
  extra.appendChild(document.createTextNode("step"));

  var main = el("main", {}, document.body);
  var diagram = el("div", { "id": "diagram", "tabindex": "0" }, main);
  var panel = el("aside", { "id": "panel" }, main);
  // Lanes share the room there is, at least GAP apart; rows span the whole width.
  GAP = Math.max(GAP, Math.floor((diagram.clientWidth - LEFT - 20) / Math.max(1, view.nodes.length)));
  var width = Math.max(LEFT + view.nodes.length * GAP + 20, diagram.clientWidth);

  // Lane heads stay in view while the rows scroll.
  var headBox = el("div", { "id": "lanes-head" }, diagram);
  var head = svg("svg", { width: width, height: 30 }, headBox);
  svg("text", { x: 12, y: 20, "font-size": 12, fill: "#69707a" }, head, "step · action");
  view.nodes.forEach(function (id) {
    var g = svg("g", { "class": "lane-head" + (view.blamed.indexOf(id) >= 0 ? " blamed" : ""), "data-node": id }, head);
    svg("text", { x: laneX(id), y: 20 }, g, "n" + id);
  });

  // Rows: one per step, a sub-row per message sent.
  var tops = [], heights = [], y = 4;
  view.steps.forEach(function (s) {
    tops.push(y);
    heights.push(HEAD + Math.max(1, s.sent.length) * SUB + 6);
    y += heights[heights.length - 1];
  });
  var chart = svg("svg", { width: width, height: y + 10, "id": "chart" }, diagram);
  var lanes = svg("g", { "class": "lanes" }, chart);
  var rows = svg("g", { "class": "rows" }, chart);
  view.nodes.forEach(function (id, i) {
    // The lane is dashed where the node is down.
    view.steps.forEach(function (s, k) {
      svg("line", { "class": "lane-line" + (s.nodes[i].up ? "" : " down"), x1: laneX(id), x2: laneX(id),
        y1: tops[k], y2: tops[k] + heights[k], "data-node": id }, lanes);
    });
  });
  var rowEls = [];
  view.steps.forEach(function (s, k) {
    var last = k === view.steps.length - 1;
    var g = svg("g", { "class": "row" + (s.fair ? " fair" : "") + (last && view.violated ? " violation" : ""),
      "data-step": s.n }, rows);
    rowEls.push(g);
    svg("rect", { "class": "row-bg", x: 0, y: tops[k], width: width, height: heights[k] - 2 }, g);
    svg("text", { "class": "num", x: 8, y: tops[k] + 15 }, g, String(s.n));
    var action = s.action.length > 40 ? s.action.slice(0, 39) + "…" : s.action;
    var t = svg("text", { "class": "act", x: 34, y: tops[k] + 15 }, g, action);
    svg("title", {}, t, s.action);
    if (last && view.violated) svg("text", { "class": "badge", x: 34, y: tops[k] + 31 }, g, "✖ " + view.property);
    s.changed.forEach(function (id) {
      var v = s.nodes[view.nodes.indexOf(id)];
      var label = v.up ? v.role + (v.epoch === null ? "" : " e" + v.epoch) : "down";
      var w = label.length * 6.2 + 12;
      var c = svg("g", { "class": "chip r-" + (v.up ? v.role : "down"), "data-node": id }, g);
      svg("rect", { x: laneX(id) - w / 2, y: tops[k] + 3, width: w, height: 15 }, c);
      svg("text", { x: laneX(id), y: tops[k] + 14 }, c, label);
    });
    s.received.forEach(function (m) {
      var msg = view.messages[m];
      var r = svg("circle", { "class": "recv", cx: laneX(msg.to), cy: tops[k] + HEAD + 6, r: 4, "data-message": m }, g);
      svg("title", {}, r, "received " + msg.text + " (sent at step " + msg.step + ")");
    });
    s.actors.forEach(function (id) {
      var a = svg("circle", { "class": "actor", cx: laneX(id), cy: tops[k] + HEAD + 6, r: 4 }, g);
      svg("title", {}, a, "n" + id + " took an input");
    });
    s.lost.forEach(function (m) {
      var msg = view.messages[m], cx = laneX(msg.to), cy = tops[k] + HEAD + 6;
      var x = svg("path", { "class": "lost", d: "M" + (cx - 5) + " " + (cy - 5) + "l10 10m0 -10l-10 10", "data-message": m }, g);
      svg("title", {}, x, "lost " + msg.text + " (sent at step " + msg.step + ")");
    });
    s.sent.forEach(function (m, j) {
      var msg = view.messages[m];
      var x1 = laneX(msg.from), x2 = laneX(msg.to), yy = tops[k] + HEAD + j * SUB + 14;
      var dir = x2 >= x1 ? 1 : -1;
      var a = svg("g", { "class": "msg k-" + msg.kind + (msg.pre ? " pre" : "") + (msg.fate === "delivered" ? "" : " unreceived"),
        "data-message": m, "data-from": msg.from, "data-to": msg.to, "data-tag": msg.tag, "data-step": s.n }, g);
      svg("line", { x1: x1 + dir * 4, y1: yy, x2: x2 - dir * 9, y2: yy }, a);
      svg("polygon", { points: (x2 - dir * 2) + "," + yy + " " + (x2 - dir * 10) + "," + (yy - 4) + " " + (x2 - dir * 10) + "," + (yy + 4) }, a);
      svg("text", { x: (x1 + x2) / 2, y: yy - 4 }, a, msg.label);
      svg("title", {}, a, msg.text + (msg.fate === "in flight" ? " (never delivered)" : " (" + msg.fate + " at step " + msg.at + ")"));
    });
    g.addEventListener("click", function () { select(k); });
  });
  if (view.loopsTo !== null && view.steps.length > 0) {
    // A liveness cycle: an arc from the last row back to the step the schedule returns to.
    var from = tops[view.steps.length - 1] + 10, to = tops[view.loopsTo] + 10;
    svg("path", { "class": "loop", d: "M 28 " + from + " C 2 " + from + ", 2 " + to + ", 28 " + to }, chart);
  }

  function entryList(v, parent) {
    var box = el("div", { "class": "entries" }, parent);
    if (v.entries.length === 0) { box.textContent = "(empty)"; return; }
    v.entries.forEach(function (e, off) {
      var cls = "entry" + (v.hw !== null && off < v.hw ? " committed" : "") + (v.flushed !== null && off >= v.flushed ? " unflushed" : "");
      el("span", { "class": cls, title: "offset " + off }, box, e);
    });
  }
  function card(v, s) {
    var c = el("div", { "class": "card" + (v.acted ? " acted" : "") + (view.blamed.indexOf(v.id) >= 0 ? " blamed" : ""),
      "data-node": v.id }, panel);
    var h = el("div", { "class": "head" }, c);
    el("b", {}, h, "n" + v.id);
    el("span", { "class": "role r-" + (v.up ? v.role : "down") }, h, v.up ? v.role : "down");
    if (v.epoch !== null) el("span", {}, h, "epoch " + v.epoch);
    if (v.acted) el("span", { "class": "acted-note" }, h, "acted");
    var dl = el("dl", {}, c);
    function row(k, val) { if (val === "" || val === null) return; el("dt", {}, dl, k); el("dd", { "data-field": k }, dl, String(val)); }
    if (v.app) row("app", v.app);
    row("leader", v.leader === "-1" ? "none" : v.leader);
    row("voted for", v.voted);
    row("log", v.end === null ? "" : "end " + v.end + (v.logStart ? ", start " + v.logStart : "") + (v.epochs ? ", epochs " + v.epochs : ""));
    if (v.entries.length > 0 || v.end === 0) { el("dt", {}, dl, "records"); entryList(v, el("dd", {}, dl)); }
    row("high watermark", v.hw);
    row("durable", v.durable);
    var more = el("details", {}, c);
    el("summary", {}, more, "the trace's line");
    el("pre", {}, more, v.line);
  }
  var selected = -1;
  function select(k) {
    k = Math.max(0, Math.min(view.steps.length - 1, k));
    if (k === selected) return;
    if (selected >= 0) rowEls[selected].classList.remove("selected");
    selected = k;
    rowEls[k].classList.add("selected");
    document.body.setAttribute("data-step", String(view.steps[k].n));
    var s = view.steps[k];
    panel.textContent = "";
    el("h2", { "id": "step-title" }, panel, "Step " + s.n + " of " + (view.steps.length - 1) + (k === view.steps.length - 1 && view.violated ? " — " + view.heading : ""));
    el("div", { "class": "action", "id": "step-action" }, panel, s.action + (s.fair ? "  (fair schedule)" : ""));
    el("h3", {}, panel, "nodes");
    el("div", { "class": "hint" }, panel, "records: green below the high watermark (committed), dashed not yet flushed");
    s.nodes.forEach(function (v) { card(v, s); });
    if (s.events.length > 0) { el("h3", {}, panel, "inputs and effects"); el("pre", { "id": "events" }, panel, s.events.join("\\n")); }
    if (s.world.length > 0) { el("h3", {}, panel, "cluster"); el("pre", {}, panel, s.world.join("\\n")); }
    try { history.replaceState(null, "", "#step=" + s.n); } catch (e) { /* file: URLs may refuse */ }
    var top = tops[k], box = diagram.getBoundingClientRect().height;
    if (top < diagram.scrollTop + 30 || top + heights[k] > diagram.scrollTop + box) diagram.scrollTop = Math.max(0, top - box / 3);
  }
  document.addEventListener("keydown", function (e) {
    var k = { ArrowDown: 1, j: 1, ArrowUp: -1, k: -1 }[e.key];
    if (k !== undefined) select(selected + k);
    else if (e.key === "Home") select(0);
    else if (e.key === "End") select(view.steps.length - 1);
    else return;
    e.preventDefault();
  });
  // "#step=N" opens a step; "&keys=a,b" replays keys after it (links and tests).
  var hash = {};
  location.hash.replace(/^#/, "").split("&").forEach(function (p) { var kv = p.split("="); hash[kv[0]] = decodeURIComponent(kv[1] || ""); });
  var start = view.steps.findIndex(function (s) { return String(s.n) === hash.step; });
  select(start >= 0 ? start : view.steps.length - 1);
  if (hash.keys) hash.keys.split(",").forEach(function (key) { document.dispatchEvent(new KeyboardEvent("keydown", { key: key })); });
  diagram.focus();
})();
`;

/**
 * Each node's quorum-state in a model's initial world (the raft model's `nodes[i].persisted`, the
 * metadata model's `raft.nodes[i].persisted`), or undefined for a state of another shape.
 */
export const initialQuorumStatesOf = (world: unknown): readonly unknown[] | undefined => {
  const w = rec(world);
  const nodes = w?.["nodes"] ?? rec(w?.["raft"])?.["nodes"];
  if (!Array.isArray(nodes)) return undefined;
  return nodes.map((n) => rec(n)?.["persisted"] ?? null);
};
