// What the Raft rules leave to an implementation. The reducer makes one choice wherever the rules
// allow several; conformance must judge the protocol, not those choices. So a step's effects are
// compared in a normal form: idempotent effects dropped, timers reduced to what each one ends up as
// (with its duration checked against the range its rule allows), IllegalState by rule only, and
// order kept only where a rule makes it matter. The tables below are the single source: the runner
// applies them and spec/README.md renders them (npm run docs:rules).
import type { Mark } from "../marks.ts";
import type { RaftEffect } from "./io.ts";
import type { ElectionState, RaftConfig, TimerKind } from "./state.ts";

type Tag = RaftEffect["_tag"];

/**
 * An ordering within one step that a rule makes matter: when the spec puts an effect of `before`
 * ahead of one of `after`, so must an implementation. Every other ordering is free.
 */
export interface Ordering {
  readonly rule: string;
  readonly before: readonly Tag[];
  readonly after: readonly Tag[];
  readonly why: string;
}

const LISTENER: readonly Tag[] = [
  "LeaderChanged",
  "LoadSnapshot",
  "HighWatermarkUpdated",
  "RecoveryComplete",
  "ShutdownComplete",
];

export const ORDERINGS: readonly Ordering[] = [
  {
    rule: "R14",
    before: ["PersistElectionState"],
    after: ["Send", "PersistElectionState"],
    why: "a message that names an epoch or a vote leaves only once quorum-state records it; the last write wins",
  },
  {
    rule: "R67",
    before: ["TruncateLog"],
    after: ["AppendRecords", "FlushLog"],
    why: "truncate before appending over the cut",
  },
  {
    rule: "R16",
    before: ["AppendRecords"],
    after: ["AppendRecords", "FlushLog", "AppendAccepted"],
    why: "records are appended in offset order and flushed, or acknowledged to a client, only once appended",
  },
  {
    rule: "R86",
    before: LISTENER,
    after: LISTENER,
    why: "the listener hears of leaders and commits in the order they happened",
  },
];

/** A free choice the rules allow, and the set an implementation may choose from. */
export interface FreeChoice {
  readonly rule: string;
  readonly what: string;
  readonly allowed: string;
  /** The reducer's choice (Kafka's, where Kafka has one). */
  readonly reference: string;
}

export const FREE_CHOICES: readonly FreeChoice[] = [
  {
    rule: "R14",
    what: "the order of effects within a step",
    allowed: "any order that keeps the orderings below; sends to several peers in any order",
    reference: "persist, then timers, then sends",
  },
  {
    rule: "R15",
    what: "re-persisting a quorum-state identical to the one on disk",
    allowed: "either (it is idempotent)",
    reference: "persists on every transition",
  },
  {
    rule: "R31",
    what: "cancelling a timer that is not armed, re-arming one several times in a step",
    allowed: "either: only what each timer ends up as counts",
    reference: "cancels and resets freely",
  },
  {
    rule: "R31",
    what: "a fresh election timeout",
    allowed: "any duration within [delayMs, delayMs + jitterMs] of the spec's SetTimer",
    reference: "election.timeout.ms plus a uniform draw from [0, election.timeout.ms)",
  },
  {
    rule: "R72",
    what: "how long a follower of a resigning leader waits before standing",
    allowed: "any duration within [0, election.backoff.max.ms]",
    reference: "0 when first preferred, exponentially longer further down the list, the maximum when absent",
  },
  {
    rule: "R68",
    what: "the backoff before fetching again after a failed fetch",
    allowed: "any duration within [0, retry.backoff.ms]",
    reference: "retry.backoff.ms",
  },
  {
    rule: "R74",
    what: "which voter a node without a leader it can reach asks for the leader",
    allowed: "any voter; a vector stops (without failing) where the choice differs, explore follows it",
    reference: "round robin over the voter list from its id modulo the number of voters (Kafka: at random)",
  },
  {
    rule: "R74",
    what: "how an observer whose leader went quiet looks for it: whether it passes over that leader and waits for its own word",
    allowed:
      "either: the fetch timer ends armed (within the fetch timeout) or not where the leader goes quiet; where the spec does not take the quiet leader back on another node's word and the node does, a vector stops there without failing",
    reference:
      "suspects the quiet leader for one fetch timeout: asks the other voters first and follows it only on its own answer (Kafka: any voter's word)",
  },
  {
    rule: "R63",
    what: "KIP-1166: whether a fetch carries the replica's high watermark, and whether a leader answers at once a fetch with nothing to read whose high watermark is behind its own",
    allowed:
      "either (Kafka before Fetch v18 does neither): a FetchRequest's highWatermark is not compared; where the spec answers such a fetch at once and the node parks it, a vector stops there without failing",
    reference: "sends it, and answers at once (Kafka 4.x, Fetch v18)",
  },
  {
    rule: "R121",
    what: "the id of a new topic",
    allowed:
      "any Uuid not in use (the reserved 0 and 1 aside); the runner learns it from the TopicRecord proposed and reads it back as the spec's",
    reference: "derived from the name and the offset, so runs replay (Kafka: random)",
  },
  {
    rule: "R40",
    what: "the text of an IllegalState report",
    allowed: "any text; only the rule it names counts",
    reference: "an exception message",
  },
  {
    rule: "R77",
    what: "the reason a SnapshotRefused gives",
    allowed: "any text; only the operation and the offset refused count",
    reference: "names the condition that failed",
  },
];

/**
 * R74: a step where the fetch timer is the spec's choice alone: an observer whose leader went quiet
 * may arm it (to bound its suspicion) or not.
 */
export const timerIsFree = (timer: TimerKind, marks: readonly Mark[]): boolean =>
  timer === "fetch" && marks.includes("R74:observer-loses-leader");

/**
 * R74: a step where the spec keeps an observer from following, on another node's word, a leader that
 * went quiet on it; an implementation that follows takes the other free choice, and the runs part.
 */
export const QUIET_LEADER_HEARSAY: Mark = "R74:quiet-leader-not-taken-on-hearsay";

/**
 * R63 (KIP-1166): a step where the spec answers at once a fetch whose high watermark is behind; an
 * implementation without KIP-1166 parks it, the other free choice, and the runs part.
 */
export const STALE_HIGH_WATERMARK_ANSWERED: Mark = "R63:stale-high-watermark-answered-at-once";

/** What the reducer knew before a step, for the parts of the normal form that depend on it. */
export interface StepContext {
  /** The timers armed before the step. */
  readonly armed: ReadonlySet<TimerKind>;
  /** The quorum-state on disk before the step (null: none written yet). */
  readonly persisted: ElectionState | null;
}

/** The range of durations an implementation may arm `timer` with, where the spec armed [lo, hi]. */
export const allowedTimerRange = (
  timer: TimerKind,
  spec: { readonly delayMs: number; readonly jitterMs: number },
  marks: readonly Mark[],
  config: RaftConfig,
): readonly [number, number] => {
  if (timer === "fetch" && marks.some((m) => m.startsWith("R72:"))) return [0, config.electionBackoffMaxMs];
  if (timer === "retryBackoff") return [0, config.retryBackoffMs];
  if (timer === "fetch" && marks.includes("R74:observer-loses-leader")) return [0, config.fetchTimeoutMs];
  return [spec.delayMs, spec.delayMs + spec.jitterMs];
};

/** A step's effects in normal form: what each timer ends up as, and everything else in order. */
export interface NormalForm {
  readonly timers: ReadonlyMap<TimerKind, Extract<RaftEffect, { _tag: "SetTimer" | "CancelTimer" }>>;
  readonly effects: readonly RaftEffect[];
}

const sameElectionState = (
  a: ElectionState | null,
  e: Extract<RaftEffect, { _tag: "PersistElectionState" }>,
): boolean =>
  a !== null &&
  a.epoch === e.epoch &&
  a.leaderId === e.leaderId &&
  a.votedKey?.id === e.votedKey?.id &&
  a.votedKey?.directoryId === e.votedKey?.directoryId;

/**
 * Drop what is idempotent, reduce timers to their end, IllegalState to its rule and SnapshotRefused to
 * what it refused.
 */
export const normalForm = (effects: readonly RaftEffect[], context: StepContext): NormalForm => {
  const timers = new Map<TimerKind, Extract<RaftEffect, { _tag: "SetTimer" | "CancelTimer" }>>();
  const armed = new Set(context.armed);
  let persisted = context.persisted;
  const rest: RaftEffect[] = [];
  for (const e of effects) {
    switch (e._tag) {
      case "SetTimer":
        timers.set(e.timer, e);
        armed.add(e.timer);
        break;
      case "CancelTimer":
        if (armed.has(e.timer) || timers.has(e.timer)) timers.set(e.timer, e);
        armed.delete(e.timer);
        break;
      case "PersistElectionState":
        if (sameElectionState(persisted, e)) break;
        persisted =
          e.votedKey === undefined
            ? { epoch: e.epoch, leaderId: e.leaderId }
            : { epoch: e.epoch, leaderId: e.leaderId, votedKey: e.votedKey };
        rest.push(e);
        break;
      case "IllegalState":
        rest.push({ _tag: "IllegalState", rule: e.rule, detail: "" });
        break;
      case "SnapshotRefused":
        rest.push({ ...e, reason: "" });
        break;
      default:
        rest.push(e);
    }
  }
  // A cancel of a timer that was not armed before the step, after a set within it, ends unarmed as
  // it began: nothing to compare.
  for (const [timer, e] of timers)
    if (e._tag === "CancelTimer" && !context.armed.has(timer)) timers.delete(timer);
  return { timers, effects: rest };
};

/** The context a step's input leaves before the step runs: an expired timer is no longer armed. */
export const contextForInput = (
  context: StepContext,
  input: { readonly _tag: string; readonly timer?: TimerKind },
): StepContext => {
  if (input._tag !== "TimerExpired" || input.timer === undefined || !context.armed.has(input.timer))
    return context;
  const armed = new Set(context.armed);
  armed.delete(input.timer);
  return { ...context, armed };
};

/** The context after a step, from the spec's own effects. */
export const nextContext = (context: StepContext, effects: readonly RaftEffect[]): StepContext => {
  const armed = new Set(context.armed);
  let persisted = context.persisted;
  for (const e of effects) {
    if (e._tag === "SetTimer") armed.add(e.timer);
    else if (e._tag === "CancelTimer") armed.delete(e.timer);
    else if (e._tag === "PersistElectionState")
      persisted =
        e.votedKey === undefined
          ? { epoch: e.epoch, leaderId: e.leaderId }
          : { epoch: e.epoch, leaderId: e.leaderId, votedKey: e.votedKey };
  }
  return { armed, persisted };
};

/**
 * The rules that govern each effect and each projected field: when an implementation's differs from
 * the spec's, these are the rules it breaks (with the rules of the branch the spec's step took).
 */
const MESSAGE_RULES: Readonly<Record<string, readonly string[]>> = {
  VoteRequest: ["R45", "R43"],
  VoteResponse: ["R49", "R50", "R46"],
  BeginQuorumEpochRequest: ["R56"],
  BeginQuorumEpochResponse: ["R60"],
  EndQuorumEpochRequest: ["R72"],
  EndQuorumEpochResponse: ["R71"],
  FetchRequest: ["R61"],
  FetchResponse: ["R63", "R65"],
  FetchSnapshotRequest: ["R82"],
  FetchSnapshotResponse: ["R83"],
  DescribeQuorumRequest: [],
  DescribeQuorumResponse: ["R88"],
};

export const EFFECT_RULES: Readonly<Record<Tag, readonly string[]>> = {
  Send: [],
  PersistElectionState: ["R15"],
  AppendRecords: ["R66", "R87"],
  TruncateLog: ["R67"],
  FlushLog: ["R16"],
  SetTimer: ["R31"],
  CancelTimer: ["R31"],
  HighWatermarkUpdated: ["R64", "R66"],
  LeaderChanged: ["R86", "R58"],
  AppendAccepted: ["R87"],
  ClientRejected: ["R87"],
  RecoveryComplete: ["R146"],
  ShutdownComplete: ["R35"],
  IllegalState: [],
  WriteSnapshot: ["R77"],
  DeleteLogBefore: ["R79"],
  WriteSnapshotChunk: ["R83"],
  InstallSnapshot: ["R83"],
  LoadSnapshot: ["R84"],
  SnapshotRefused: ["R77", "R79"],
};

/** The rules an effect that differs breaks first. */
export const rulesOfEffect = (e: RaftEffect): readonly string[] =>
  e._tag === "Send"
    ? (MESSAGE_RULES[e.message._tag] ?? [])
    : e._tag === "IllegalState"
      ? [e.rule]
      : EFFECT_RULES[e._tag];

export const PROJECTION_RULES: Readonly<Record<string, readonly string[]>> = {
  role: ["R23"],
  epoch: ["R41"],
  leaderId: ["R39", "R41"],
  votedId: ["R13", "R49"],
  log: ["R66", "R67", "R79", "R83"],
  highWatermark: ["R64", "R66"],
  recovering: ["R146"],
};
