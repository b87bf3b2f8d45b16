// Every liveness goal must be able to fail: each is shown a world that misses it and one that reaches
// it. Rules: R137, R57.
import { describe, expect, it } from "vitest";
import {
  clientAppend,
  crash,
  DEFAULT_CLUSTER,
  deliver,
  fireTimer,
  flush,
  initialWorld,
  type World,
} from "../cluster/world.ts";
import type { NodeState } from "../raft/state.ts";
import { caughtUp, leaderWithoutQuorumResigns, stableLeader, writesCommitted } from "./liveness.ts";

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

/** Node 1 leads epoch 1; the leader's next fetch answers carry the high watermark. */
const elected = (): World =>
  settle(fireTimer(initialWorld(DEFAULT_CLUSTER).world, DEFAULT_CLUSTER, 0, "election").world);

const withNode = (world: World, index: number, change: (s: NodeState) => NodeState): World => {
  const nodes = world.nodes.slice();
  nodes[index] = { ...nodes[index]!, state: change(nodes[index]!.state!) };
  return { ...world, nodes };
};

describe("liveness goals (R137)", () => {
  it("EventuallyStableLeader needs one leader that every voter follows", () => {
    expect(stableLeader(initialWorld(DEFAULT_CLUSTER).world, 3)).toBe("no node leads");
    const world = elected();
    expect(stableLeader(world, 3)).toBeNull();
    const wandering = withNode(world, 2, (s) => ({
      ...s,
      epoch: 2,
      role: { _tag: "Unattached", leaderId: -1 },
    }));
    expect(stableLeader(wandering, 3)).toBe(
      "voter 3 is Unattached in epoch 2, not a follower of leader 1 in epoch 1",
    );
    expect(stableLeader(crash(world, DEFAULT_CLUSTER, 1).world, 3)).toBe("voter 2 is down");
  });

  it("EventuallyWritesResolved needs every record of the leader's log committed", () => {
    const world = elected();
    const pending = clientAppend(world, DEFAULT_CLUSTER, 0).world;
    expect(writesCommitted(pending)).toBe("leader 1 has records up to 2 but its high watermark is 1");
    // The leader flushes, a follower fetches the record and reports it: the write commits.
    let done = flush(pending, DEFAULT_CLUSTER, 0).world;
    done = settle(done);
    done = settle(fireTimer(done, DEFAULT_CLUSTER, 0, "fetchWait").world);
    expect(writesCommitted(done)).toBeNull();
    expect(writesCommitted(initialWorld(DEFAULT_CLUSTER).world)).toBe(
      "no node leads, so no write can commit",
    );
  });

  it("EventuallyCaughtUp needs every running node at the leader's high watermark", () => {
    // Followers hear of a commit in the answer to their next fetch (R63, KIP-1166 when their high
    // watermark is behind): until that answer arrives, node 2 is behind.
    const world = elected();
    expect(caughtUp(world)).toBeNull();
    const behind = withNode(world, 1, (s) => ({ ...s, highWatermark: 0 }));
    expect(caughtUp(behind)).toBe(
      "node 2 has high watermark 0 and log end 1, behind the leader's high watermark 1",
    );
  });

  it("EventuallyLeaderWithoutQuorumResigns flags a leader with a majority of voters down (R57)", () => {
    const world = elected();
    expect(leaderWithoutQuorumResigns(world, 3)).toBeNull();
    const alone = crash(crash(world, DEFAULT_CLUSTER, 1).world, DEFAULT_CLUSTER, 2).world;
    expect(leaderWithoutQuorumResigns(alone, 3)).toBe(
      "leader 1 of epoch 1 still leads with 1 of 3 voters running",
    );
    const resigned = fireTimer(alone, DEFAULT_CLUSTER, 0, "checkQuorum").world;
    expect(leaderWithoutQuorumResigns(resigned, 3)).toBeNull();
  });
});
