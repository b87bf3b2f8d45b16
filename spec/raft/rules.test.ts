// Rules easiest to show on one node: leader consistency (R42), stale timers (R31), resign and
// append refusals (R87), shutdown (R35), and the EndQuorumEpoch backoff (R72).
import { describe, expect, it } from "vitest";
import {
  DEFAULT_CLUSTER,
  deliver,
  fireTimer,
  flush,
  initialWorld,
  nodeConfig,
  type World,
} from "../cluster/world.ts";
import type { RaftEffect } from "./io.ts";
import { endEpochElectionBackoffMs } from "./quorum-epoch.ts";
import type { NodeState } from "./state.ts";
import { step } from "./step.ts";

const settle = (start: World): World => {
  let world = start;
  for (let i = 0; i < 500; i++) {
    const flushing = world.nodes.findIndex((n) => n.state !== null && n.flushRequested);
    if (flushing >= 0) world = flush(world, DEFAULT_CLUSTER, flushing).world;
    else if (world.network.length > 0) world = deliver(world, DEFAULT_CLUSTER, 0).world;
    else return world;
  }
  throw new Error("did not settle");
};

const elected = settle(fireTimer(initialWorld(DEFAULT_CLUSTER).world, DEFAULT_CLUSTER, 0, "election").world);
const leader = elected.nodes[0]!.state!;
const follower = elected.nodes[1]!.state!;
const config = (s: NodeState) => nodeConfig(DEFAULT_CLUSTER, s.nodeId);
const tags = (effects: readonly RaftEffect[]) => effects.map((e) => e._tag);

describe("R42 leader consistency", () => {
  const begin = (leaderId: number, leaderEpoch: number) => ({
    _tag: "BeginQuorumEpochRequest" as const,
    clusterId: null,
    voterId: 2,
    topicName: "__cluster_metadata",
    partitionIndex: 0,
    leaderId,
    leaderEpoch,
  });

  it("flags a second leader announced for the epoch a follower already follows", () => {
    const result = step(follower, { _tag: "Received", from: 3, message: begin(3, 1) }, config(follower));
    expect(result.state).toBe(follower);
    expect(result.effects).toEqual([
      {
        _tag: "IllegalState",
        rule: "R42",
        detail: "epoch 1 has leader 1 here, but a message names leader 3",
      },
    ]);
  });

  it("flags a message naming this node leader of an epoch it does not lead", () => {
    const result = step(follower, { _tag: "Received", from: 3, message: begin(2, 1) }, config(follower));
    expect(result.effects[0]).toMatchObject({ _tag: "IllegalState", rule: "R42" });
    expect(result.state).toBe(follower);
  });

  it("accepts the leader it already knows", () => {
    const result = step(follower, { _tag: "Received", from: 1, message: begin(1, 1) }, config(follower));
    expect(tags(result.effects)).toEqual(["Send"]);
  });
});

describe("timers", () => {
  it("ignores a timer that is not armed (it was cancelled or re-armed after it fired)", () => {
    for (const timer of ["election", "fetch", "checkQuorum", "fetchWait", "retryBackoff"] as const) {
      const s = follower.timers.includes(timer) ? leader : follower;
      if (s.timers.includes(timer)) continue;
      expect(step(s, { _tag: "TimerExpired", timer }, config(s)).state).toBe(s);
    }
  });
});

describe("client operations (R87, R35)", () => {
  it("refuses to resign an epoch this node does not lead, and ignores an older one", () => {
    expect(step(follower, { _tag: "Resign", epoch: 1 }, config(follower)).effects).toEqual([
      { _tag: "ClientRejected", operation: "resign", errorCode: "NOT_LEADER_OR_FOLLOWER" },
    ]);
    expect(step(leader, { _tag: "Resign", epoch: 0 }, config(leader)).effects).toEqual([]);
  });

  it("refuses appends while shutting down, and a follower finishes shutting down at once", () => {
    const result = step(follower, { _tag: "Shutdown" }, config(follower));
    expect(tags(result.effects)).toEqual(["ShutdownComplete"]);
    const again = step(result.state, { _tag: "Shutdown" }, config(follower));
    expect(again.effects).toEqual([]);
    const leaving = step(leader, { _tag: "Shutdown" }, config(leader)).state;
    expect(leaving.role._tag).toBe("Resigned");
    expect(
      step(leaving, { _tag: "ClientAppend", epoch: 1, count: 1, correlationId: 7 }, config(leader)).effects,
    ).toEqual([
      { _tag: "ClientRejected", operation: "append", correlationId: 7, errorCode: "NOT_LEADER_OR_FOLLOWER" },
    ]);
  });
});

describe("R72 election backoff after EndQuorumEpoch", () => {
  const cfg = nodeConfig(DEFAULT_CLUSTER, 2);
  const preferred = [{ id: 3 }, { id: 2 }, { id: 4 }, { id: 5 }];
  it("is zero for the first successor and grows exponentially down the list", () => {
    expect(endEpochElectionBackoffMs(cfg, { id: 3 }, preferred)).toBe(0);
    expect(endEpochElectionBackoffMs(cfg, { id: 2 }, preferred)).toBe(125);
    expect(endEpochElectionBackoffMs(cfg, { id: 4 }, preferred)).toBe(250);
    expect(endEpochElectionBackoffMs(cfg, { id: 5 }, preferred)).toBe(500);
    expect(endEpochElectionBackoffMs(cfg, { id: 9 }, preferred)).toBe(1000);
  });
});

describe("R88 DescribeQuorum", () => {
  const describeQuorum = {
    _tag: "DescribeQuorumRequest" as const,
    topicName: "__cluster_metadata",
    partitionIndex: 0,
  };
  const answer = (nowMs?: number) => {
    const result = step(
      leader,
      {
        _tag: "Received",
        from: -1,
        correlationId: 3,
        message: describeQuorum,
        ...(nowMs === undefined ? {} : { nowMs }),
      },
      config(leader),
    );
    const send = result.effects.find((e) => e._tag === "Send");
    if (send?._tag !== "Send" || send.message._tag !== "DescribeQuorumResponse") throw new Error("no answer");
    return send.message;
  };

  it("the leader reports itself fetched and caught up at the request's arrival, as Kafka's does", () => {
    const self = answer(1_800_000_000_000).currentVoters.find((v) => v.replicaId === leader.nodeId)!;
    expect(self).toMatchObject({
      lastFetchTimestamp: 1_800_000_000_000,
      lastCaughtUpTimestamp: 1_800_000_000_000,
    });
    // Without a time (a transcript, a vector), it reports none.
    const unknown = answer().currentVoters.find((v) => v.replicaId === leader.nodeId)!;
    expect(unknown).toMatchObject({ lastFetchTimestamp: -1, lastCaughtUpTimestamp: -1 });
  });
});

describe("R66 a follower's append", () => {
  it("takes an answer's batches up to the first of an epoch above the leader's (KAFKA-18723)", () => {
    const fetch = follower.inflight.find((r) => r.api === "Fetch")!;
    const end = follower.log.endOffset;
    const answer = (records: { baseOffset: number; epoch: number; count: number }[]) =>
      step(
        follower,
        {
          _tag: "Received",
          from: 1,
          correlationId: fetch.correlationId,
          message: {
            _tag: "FetchResponse",
            errorCode: "NONE",
            highWatermark: -1,
            logStartOffset: 0,
            leaderId: 1,
            leaderEpoch: 1,
            records,
          },
        },
        config(follower),
      );
    const corrupt = answer([
      { baseOffset: end, epoch: 1, count: 1 },
      { baseOffset: end + 1, epoch: 2, count: 1 },
      { baseOffset: end + 2, epoch: 1, count: 1 },
    ]);
    expect(corrupt.effects.filter((e) => e._tag === "AppendRecords")).toEqual([
      { _tag: "AppendRecords", baseOffset: end, epoch: 1, count: 1 },
    ]);
    expect(corrupt.state.log.endOffset).toBe(end + 1);
    expect(corrupt.state.log.epochs).toEqual(follower.log.epochs);
    expect(corrupt.marks).toContain("R66:invalid-batch-not-appended");
    // A batch that does not start where the log then ends is dropped the same way.
    const gap = answer([
      { baseOffset: end, epoch: 1, count: 1 },
      { baseOffset: end + 2, epoch: 1, count: 1 },
    ]);
    expect(gap.state.log.endOffset).toBe(end + 1);
    expect(gap.marks).toContain("R66:invalid-batch-not-appended");
    // A sound answer is taken whole.
    const sound = answer([
      { baseOffset: end, epoch: 1, count: 1 },
      { baseOffset: end + 1, epoch: 1, count: 2 },
    ]);
    expect(sound.state.log.endOffset).toBe(end + 3);
    expect(sound.marks).not.toContain("R66:invalid-batch-not-appended");
  });
});
