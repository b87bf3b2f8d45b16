// Judging one Raft step of an implementation against the spec by what the rules require, not by the
// reducer's incidental choices (spec/raft/allowed.ts): the effects in normal form compared as a
// multiset, each timer by where it ends and within its allowed range, and order only where a rule
// makes it matter. Correlation ids of the implementation's own requests are its business: they are
// learnt as its requests are matched to the spec's; so is the voter a fetch for the leader goes to.
import type { Mark } from "../spec/marks.ts";
import {
  allowedTimerRange,
  normalForm,
  ORDERINGS,
  rulesOfEffect,
  type StepContext,
  timerIsFree,
} from "../spec/raft/allowed.ts";
import type { RaftEffect } from "../spec/raft/io.ts";
import { isRequest } from "../spec/raft/messages.ts";
import type { RaftConfig } from "../spec/raft/state.ts";
import { rulesOfMarks } from "./marks.ts";

/** JSON with keys sorted, so values compare equal however their fields were ordered. */
export const stable = (value: unknown): string =>
  JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        )
      : v,
  );

/** The rules of the differing effect or field first, then those of the branch the spec's step took. */
export const withStep = (own: readonly string[], step: readonly string[]): string[] => [
  ...new Set([...own, ...step]),
];

export interface Violation {
  readonly what: string;
  /** The rules the difference breaks: an ordering's or a timer's rule, else the rules of the step's marks. */
  readonly rules: readonly string[];
  readonly expected: unknown;
  readonly actual: unknown;
}

/** The branch of a step that sends a fetch for the leader, to a voter of the node's choosing (R74). */
const LEADERLESS_FETCH: Mark = "R74:leaderless-fetch-to-voter";

/**
 * An effect as it is compared: a request the node sends without its correlation id, a fetch without
 * its high watermark, and a fetch for the leader (when `anyVoter` says the step sends one) without its
 * destination if that is a voter other than the node itself.
 */
const keyOf = (e: RaftEffect, anyVoter: ReadonlySet<number> | null): string => {
  if (e._tag !== "Send" || !isRequest(e.message)) return stable(e);
  const to = anyVoter !== null && e.message._tag === "FetchRequest" && anyVoter.has(e.to) ? -1 : e.to;
  // R63: a fetch's high watermark (KIP-1166) is optional, and not compared (FREE_CHOICES).
  const message = e.message._tag === "FetchRequest" ? { ...e.message, highWatermark: undefined } : e.message;
  return stable({ ...e, message, to, correlationId: 0 });
};

const fetchSend = (effects: readonly RaftEffect[]): Extract<RaftEffect, { _tag: "Send" }> | undefined =>
  effects.find(
    (e): e is Extract<RaftEffect, { _tag: "Send" }> => e._tag === "Send" && e.message._tag === "FetchRequest",
  );

/**
 * R74's free choice taken another way: the voter the implementation asked for the leader, where the
 * spec asked another. The step is allowed; what follows answers the spec's request, so a vector can no
 * longer be compared, and explore follows the implementation (spec/cluster/world.ts,
 * redirectLeaderlessFetch).
 */
export const otherFetchTarget = (
  expected: readonly RaftEffect[],
  actual: readonly RaftEffect[],
  marks: readonly Mark[],
): { readonly spec: number; readonly implementation: number } | null => {
  if (!marks.includes(LEADERLESS_FETCH)) return null;
  const e = fetchSend(expected);
  const a = fetchSend(actual);
  return e === undefined || a === undefined || e.to === a.to ? null : { spec: e.to, implementation: a.to };
};

const TIMER_RULE: Readonly<Record<string, string>> = {
  election: "R31",
  fetch: "R32",
  checkQuorum: "R33",
  beginQuorumEpoch: "R33",
  fetchWait: "R63",
  retryBackoff: "R68",
};

/**
 * Judge an implementation's effects for one step. `ids` maps the spec's correlation ids of requests
 * to the implementation's and learns new ones. Null when the step is one the rules allow.
 */
export const judgeRaftStep = (
  expected: readonly RaftEffect[],
  actual: readonly RaftEffect[],
  context: StepContext,
  marks: readonly Mark[],
  config: RaftConfig,
  ids: Map<number, number>,
): Violation | null => {
  const spec = normalForm(expected, context);
  const impl = normalForm(actual, context);
  const stepRules = rulesOfMarks(marks);
  // R74: any voter but the node itself.
  const anyVoter = marks.includes(LEADERLESS_FETCH)
    ? new Set(config.voters.map((v) => v.id).filter((id) => id !== config.nodeId))
    : null;

  // Timers: where each one ends, and for how long.
  for (const timer of new Set([...spec.timers.keys(), ...impl.timers.keys()])) {
    const e = spec.timers.get(timer);
    const a = impl.timers.get(timer);
    const rule = TIMER_RULE[timer] ?? "R31";
    const free = timerIsFree(timer, marks);
    if (free && (e?._tag !== "SetTimer" || a?._tag !== "SetTimer")) continue;
    if (e === undefined || a === undefined || e._tag !== a._tag)
      return {
        what: `the ${timer} timer ends ${a === undefined ? "untouched" : a._tag === "SetTimer" ? "armed" : "cancelled"}, the spec ${e === undefined ? "leaves it untouched" : e._tag === "SetTimer" ? "arms it" : "cancels it"}`,
        rules: [rule, ...stepRules],
        expected: e ?? null,
        actual: a ?? null,
      };
    if (e._tag === "SetTimer" && a._tag === "SetTimer") {
      const [lo, hi] = allowedTimerRange(timer, e, marks, config);
      if (a.delayMs < lo || a.delayMs + a.jitterMs > hi)
        return {
          what: `the ${timer} timer's duration [${a.delayMs}, ${a.delayMs + a.jitterMs}] is outside the allowed [${lo}, ${hi}]`,
          rules: [rule],
          expected: e,
          actual: a,
        };
    }
  }

  // Everything else as a multiset: pair each spec effect with an equal one of the implementation's.
  const pairedWith: number[] = [];
  const taken = new Set<number>();
  const actualKeys = impl.effects.map((e) => keyOf(e, anyVoter));
  for (const [i, e] of spec.effects.entries()) {
    const key = keyOf(e, anyVoter);
    const j = actualKeys.findIndex((k, at) => !taken.has(at) && k === key);
    if (j < 0)
      return {
        what: `the spec's ${e._tag} is missing`,
        rules: withStep(rulesOfEffect(e), stepRules),
        expected: e,
        actual:
          impl.effects.filter((_, at) => !taken.has(at) && impl.effects[at]!._tag === e._tag)[0] ?? null,
      };
    taken.add(j);
    pairedWith[i] = j;
    const a = impl.effects[j]!;
    if (e._tag === "Send" && a._tag === "Send" && isRequest(e.message) && e.correlationId !== undefined) {
      const known = ids.get(e.correlationId);
      if (a.correlationId === undefined || (known !== undefined && known !== a.correlationId))
        return {
          what: "a request reuses another request's correlation id",
          rules: ["R40"],
          expected: e,
          actual: a,
        };
      ids.set(e.correlationId, a.correlationId);
    }
  }
  const extra = impl.effects.findIndex((_, at) => !taken.has(at));
  if (extra >= 0)
    return {
      what: `an extra ${impl.effects[extra]!._tag}`,
      rules: withStep(rulesOfEffect(impl.effects[extra]!), stepRules),
      expected: null,
      actual: impl.effects[extra],
    };

  // Orderings a rule makes matter.
  for (const ordering of ORDERINGS) {
    for (const [p, first] of spec.effects.entries()) {
      if (!ordering.before.includes(first._tag)) continue;
      for (let q = p + 1; q < spec.effects.length; q++) {
        const second = spec.effects[q]!;
        if (!ordering.after.includes(second._tag)) continue;
        if (pairedWith[p]! > pairedWith[q]!)
          return {
            what: `${second._tag} comes before ${first._tag}: ${ordering.why}`,
            rules: [ordering.rule],
            expected: [first, second],
            actual: [impl.effects[pairedWith[q]!], impl.effects[pairedWith[p]!]],
          };
      }
    }
  }
  return null;
};
