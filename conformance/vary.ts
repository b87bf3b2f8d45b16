// A reference node that makes other free choices (`kraft conformance adapter --vary SEED`): the spec's
// Raft reducer, with every choice spec/raft/allowed.ts leaves free made differently — effects in
// another order that keeps the orderings rules require, quorum-state re-persisted, timers cancelled
// that are not armed, timer durations elsewhere in their allowed ranges, its own request correlation
// ids, other IllegalState text; a whole node's Raft effects the same way, and its own ids for requests to
// other nodes and its own words for the operator. A conforming implementation in everything but taste; the runner
// must pass it on every vector. `--break RULE` adds one real violation, for tests of the verdicts.

import { redirectFetchState } from "../spec/cluster/world.ts";
import type { Mark } from "../spec/marks.ts";
import { uuidFrom } from "../spec/metadata/ids.ts";
import { isRaftEffect, type KraftNode, type NodeEffect, type NodeInput } from "../spec/node/node.ts";
import { allowedTimerRange, ORDERINGS } from "../spec/raft/allowed.ts";
import type { RaftEffect, RaftInput } from "../spec/raft/io.ts";
import { isRequest } from "../spec/raft/messages.ts";
import type { NodeState, RaftConfig, TimerKind } from "../spec/raft/state.ts";
import { ChosenIds, topicRecords } from "./chosen-ids.ts";
import { seededRandom } from "./walks.ts";

/** The violations `--break` can add, each against the rule it breaks. */
export const BREAKABLE_RULES = ["R14", "R31", "R16"] as const;
export type BreakableRule = (typeof BREAKABLE_RULES)[number];

const ID_OFFSET = 1_000_000;

export class Variation {
  private readonly random: () => number;
  private armed = new Set<TimerKind>();

  private readonly config: RaftConfig;
  private readonly breaking: BreakableRule | undefined;

  constructor(seed: number, config: RaftConfig, breaking: BreakableRule | undefined) {
    this.random = seededRandom(seed);
    this.config = config;
    this.breaking = breaking;
  }

  /** A process start: no timer is armed. */
  start(): void {
    this.armed = new Set();
  }

  /** The input as the reducer must see it: answers to this node's requests carry the spec's ids. */
  input(input: RaftInput): RaftInput {
    if (input._tag === "TimerExpired") this.armed.delete(input.timer);
    if (
      input._tag === "Received" &&
      !isRequest(input.message) &&
      input.correlationId !== undefined &&
      input.correlationId > ID_OFFSET
    )
      return { ...input, correlationId: input.correlationId - ID_OFFSET };
    if (input._tag === "RequestFailed" && input.correlationId > ID_OFFSET)
      return { ...input, correlationId: input.correlationId - ID_OFFSET };
    return input;
  }

  /** A whole node's input as spec/node must see it: answers to its requests carry the spec's ids. */
  nodeInput(input: NodeInput): NodeInput {
    if (input._tag === "Raft") return { ...input, input: this.input(input.input) };
    if ((input._tag === "Response" || input._tag === "RequestFailed") && input.correlationId > ID_OFFSET)
      return { ...input, correlationId: input.correlationId - ID_OFFSET };
    return input;
  }

  /**
   * A whole node's effects with the free choices made differently: its Raft effects as the Raft
   * layer's, then the rest with its own request ids and its own words for the operator.
   */
  nodeEffects(
    effects: readonly NodeEffect[],
    marks: readonly Mark[],
    session: { state: KraftNode },
  ): NodeEffect[] {
    const chosen = this.fetchTarget(session.state.raft, marks);
    if (chosen !== null) session.state = { ...session.state, raft: chosen.state };
    const rest = effects
      .filter((e) => !isRaftEffect(e))
      .map(
        (e): NodeEffect =>
          e._tag === "SendRequest"
            ? { ...e, correlationId: e.correlationId + ID_OFFSET }
            : e._tag === "Alert"
              ? { ...e, text: `in other words: ${e.text.length} characters` }
              : e,
      );
    return [...this.effects(effects.filter(isRaftEffect), marks, chosen?.to), ...rest];
  }

  /**
   * R74 chosen another way: a fetch for the leader goes, half the time, to another voter than the
   * reducer's rotation picked; the state is changed to match (the rotation stands there, the request
   * in flight is to that voter). The state to keep, and the voter chosen, if any.
   */
  fetchTarget(state: NodeState, marks: readonly Mark[]): { state: NodeState; to: number } | null {
    if (!marks.includes("R74:leaderless-fetch-to-voter") || this.random() < 0.5) return null;
    const others = state.voters.filter(
      (v) => v.id !== state.nodeId && v.id !== state.inflight.find((r) => r.api === "Fetch")?.destination,
    );
    const to = others[Math.floor(this.random() * others.length)]?.id;
    if (to === undefined) return null;
    const redirected = redirectFetchState(state, to);
    return redirected === null ? null : { state: redirected.state, to };
  }

  /** The reducer's effects, with the free choices made differently (`fetchTo`: R74, see fetchTarget). */
  effects(effects: readonly RaftEffect[], marks: readonly Mark[], fetchTo?: number): RaftEffect[] {
    const out: RaftEffect[] = [];
    for (const e of effects) {
      switch (e._tag) {
        case "Send": {
          const to = fetchTo !== undefined && e.message._tag === "FetchRequest" ? fetchTo : e.to;
          out.push(
            isRequest(e.message) && e.correlationId !== undefined
              ? { ...e, to, correlationId: e.correlationId + ID_OFFSET }
              : e,
          );
          break;
        }
        case "SetTimer": {
          const [lo, hi] = allowedTimerRange(e.timer, e, marks, this.config);
          // Another duration in the allowed range: the middle half of it.
          const delayMs = lo + Math.floor((hi - lo) / 4);
          const jitterMs = Math.floor((hi - lo) / 2);
          out.push(
            this.breaking === "R31" && e.timer === "election" && hi > lo
              ? { ...e, delayMs: hi, jitterMs: 1 }
              : { ...e, delayMs, jitterMs },
          );
          this.armed.add(e.timer);
          break;
        }
        case "CancelTimer":
          out.push(e);
          this.armed.delete(e.timer);
          break;
        case "PersistElectionState":
          out.push(e);
          // The same state written twice is idempotent.
          if (this.random() < 0.3) out.push(e);
          break;
        case "IllegalState":
          out.push({ ...e, detail: `another wording: ${e.detail.length} characters` });
          break;
        case "SnapshotRefused":
          out.push({ ...e, reason: `another wording: ${e.reason.length} characters` });
          break;
        default:
          out.push(e);
      }
    }
    // A cancel of a timer that is not armed changes nothing.
    for (const timer of ["fetchWait", "retryBackoff"] as const)
      if (!this.armed.has(timer) && this.random() < 0.2) out.push({ _tag: "CancelTimer", timer });
    const shuffled = this.shuffle(out);
    return this.breaking === "R14"
      ? sendFirst(shuffled)
      : this.breaking === "R16"
        ? flushFirst(shuffled)
        : shuffled;
  }

  /** A random order that keeps every ordering a rule requires. */
  private shuffle(effects: readonly RaftEffect[]): RaftEffect[] {
    const n = effects.length;
    const timerOf = (e: RaftEffect): string | undefined =>
      e._tag === "SetTimer" || e._tag === "CancelTimer" ? e.timer : undefined;
    // The orderings rules require, and a timer's last word being its last (normalForm).
    const mustPrecede = (p: number, q: number): boolean =>
      ORDERINGS.some((o) => o.before.includes(effects[p]!._tag) && o.after.includes(effects[q]!._tag)) ||
      (timerOf(effects[p]!) !== undefined && timerOf(effects[p]!) === timerOf(effects[q]!));
    const placed = new Array<boolean>(n).fill(false);
    const out: RaftEffect[] = [];
    while (out.length < n) {
      const ready: number[] = [];
      for (let q = 0; q < n; q++) {
        if (placed[q]) continue;
        let free = true;
        for (let p = 0; p < q && free; p++) if (!placed[p] && mustPrecede(p, q)) free = false;
        if (free) ready.push(q);
      }
      const q = ready[Math.floor(this.random() * ready.length)]!;
      placed[q] = true;
      out.push(effects[q]!);
    }
    return out;
  }
}

/** R14 broken: the first send leaves before the quorum-state write that precedes it. */
const sendFirst = (effects: RaftEffect[]): RaftEffect[] => {
  const persist = effects.findIndex((e) => e._tag === "PersistElectionState");
  const send = effects.findIndex((e, i) => i > persist && e._tag === "Send");
  if (persist < 0 || send < 0) return effects;
  const out = effects.slice();
  const [moved] = out.splice(send, 1);
  out.splice(persist, 0, moved!);
  return out;
};

/** R16 broken: the flush is asked for before the append it covers. */
const flushFirst = (effects: RaftEffect[]): RaftEffect[] => {
  const append = effects.findIndex((e) => e._tag === "AppendRecords");
  const flush = effects.findIndex((e, i) => i > append && e._tag === "FlushLog");
  if (append < 0 || flush < 0) return effects;
  const out = effects.slice();
  const [moved] = out.splice(flush, 1);
  out.splice(append, 0, moved!);
  return out;
};

/**
 * Topic ids of its own (R121 leaves them free; Kafka's are random): every topic the reducer creates
 * gets another id, used consistently in what the node says and translated back in what it is told.
 */
export class TopicIdVariation {
  private readonly ids = new ChosenIds();
  private readonly seed: number;

  constructor(seed: number) {
    this.seed = seed;
  }

  /** What the reducer is told, with this node's ids read back as the reducer's. */
  incoming<T>(value: T): T {
    return this.ids.fromImplementation(value);
  }

  /** What the reducer says (its effects first, where new topics appear), with this node's ids. */
  outgoing<T>(value: T): T {
    for (const [name, topicId] of topicRecords(value)) {
      const own = uuidFrom(`vary/${this.seed}/${topicId}`);
      this.ids.learn([{ _tag: "TopicRecord", name, topicId }], [{ _tag: "TopicRecord", name, topicId: own }]);
    }
    return this.ids.forImplementation(value);
  }
}
