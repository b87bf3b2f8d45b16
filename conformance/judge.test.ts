// The Raft step judge: what the rules leave free passes, what they require is held to, and a
// violation names the rule it breaks.
import { describe, expect, it } from "vitest";
import type { Mark } from "../spec/marks.ts";
import type { RaftEffect } from "../spec/raft/io.ts";
import { makeConfig } from "../spec/raft/state.ts";
import { judgeRaftStep } from "./judge.ts";

const config = makeConfig({ nodeId: 1, clusterId: "c", voters: [{ id: 1 }, { id: 2 }, { id: 3 }] });
const persist: RaftEffect = { _tag: "PersistElectionState", epoch: 2, leaderId: -1, votedKey: { id: 1 } };
const vote = (to: number, correlationId: number): RaftEffect => ({
  _tag: "Send",
  to,
  correlationId,
  message: {
    _tag: "VoteRequest",
    clusterId: "c",
    voterId: to,
    topicName: "__cluster_metadata",
    partitionIndex: 0,
    replicaEpoch: 2,
    replicaId: 1,
    lastOffsetEpoch: 1,
    lastOffset: 3,
    preVote: false,
  },
});
const election = (delayMs: number, jitterMs: number): RaftEffect => ({
  _tag: "SetTimer",
  timer: "election",
  delayMs,
  jitterMs,
});
const context = { armed: new Set(["election" as const]), persisted: { epoch: 1, leaderId: -1 } };
const judge = (expected: readonly RaftEffect[], actual: readonly RaftEffect[], marks: readonly Mark[] = []) =>
  judgeRaftStep(expected, actual, context, marks, config, new Map());

const spec = [persist, election(1000, 1000), vote(2, 7), vote(3, 8)];

describe("judging a Raft step", () => {
  it("passes the spec's own effects", () => {
    expect(judge(spec, spec)).toBeNull();
  });

  it("allows other orders, its own request ids, a re-persist, a cancel of an unarmed timer and a timeout in range", () => {
    const ids = new Map<number, number>();
    const other: RaftEffect[] = [
      { _tag: "CancelTimer", timer: "fetchWait" },
      persist,
      persist,
      vote(3, 41),
      election(1200, 600),
      vote(2, 40),
    ];
    expect(judgeRaftStep(spec, other, context, [], config, ids)).toBeNull();
    expect([...ids]).toEqual([
      [7, 40],
      [8, 41],
    ]);
  });

  it("holds a send to the quorum-state write before it (R14)", () => {
    expect(judge(spec, [vote(2, 7), persist, election(1000, 1000), vote(3, 8)])).toEqual({
      what: "Send comes before PersistElectionState: a message that names an epoch or a vote leaves only once quorum-state records it; the last write wins",
      rules: ["R14"],
      expected: [persist, vote(2, 7)],
      actual: [vote(2, 7), persist],
    });
  });

  it("holds a timeout to its range (R31), and a follower's backoff after a resignation only to [0, max] (R72)", () => {
    expect(judge(spec, [persist, election(900, 1000), vote(2, 7), vote(3, 8)])?.rules).toEqual(["R31"]);
    const backoff: RaftEffect = { _tag: "SetTimer", timer: "fetch", delayMs: 250, jitterMs: 0 };
    const other: RaftEffect = { _tag: "SetTimer", timer: "fetch", delayMs: 900, jitterMs: 0 };
    expect(judge([backoff], [other], ["R72:successor-backs-off"])).toBeNull();
    expect(judge([backoff], [other], ["R32:some-other-branch" as Mark])?.rules).toEqual(["R32"]);
  });

  it("names the effect's rules and the step's when an effect is missing, and IllegalState's own rule, whatever its text", () => {
    expect(
      judge(spec, [persist, election(1000, 1000), vote(2, 7)], ["R45:failed-vote-request-resent"]),
    ).toMatchObject({
      what: "the spec's Send is missing",
      // The rules of a VoteRequest, then those of the branch the spec took.
      rules: ["R45", "R43"],
    });
    const illegal: RaftEffect = { _tag: "IllegalState", rule: "R42", detail: "two leaders" };
    expect(judge([illegal], [{ ...illegal, detail: "other words" }])).toBeNull();
    expect(judge([illegal], [])?.rules).toEqual(["R42"]);
  });

  it("holds a timer's last word: armed, cancelled or untouched", () => {
    expect(judge([election(1000, 1000)], [])?.what).toBe(
      "the election timer ends untouched, the spec arms it",
    );
    expect(judge([{ _tag: "CancelTimer", timer: "election" }], [election(1000, 1000)])?.rules[0]).toBe("R31");
  });
});
