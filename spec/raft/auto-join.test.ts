// R150 auto-join on one node: what an auto-joining observer asks for, and when it asks nothing. The
// whole flow through the leader is transcript 47.
import { describe, expect, it } from "vitest";
import {
  type ClusterSpec,
  DEFAULT_CLUSTER,
  fireTimer,
  initialWorld,
  nodeConfig,
  settleAll,
} from "../cluster/world.ts";
import type { NodeState } from "./state.ts";
import { step } from "./step.ts";

/** Three voters led by node 1, and node 4 following it as an observer. */
const observerOf = (cluster: ClusterSpec): NodeState => {
  let world = settleAll(fireTimer(initialWorld(cluster).world, cluster, 0, "election").world, cluster);
  world = settleAll(fireTimer(world, cluster, 3, "retryBackoff").world, cluster);
  const node = world.nodes[3]!.state!;
  expect(node.role).toMatchObject({ _tag: "Follower", leaderId: 1 });
  return node;
};

const autoJoining: ClusterSpec = { ...DEFAULT_CLUSTER, observers: 1, kraftVersion: 1, autoJoin: [4] };
const config = nodeConfig(autoJoining, 4);
const STALE_DIRECTORY = "AAAAAAAAAAAAAAAAAAAAZw";
const rearm = { _tag: "SetTimer", timer: "updateVoterSet", delayMs: 2000, jitterMs: 0 };

describe("R150 auto-join", () => {
  const observer = observerOf(autoJoining);

  it("arms its timer only where it is on and the voter set lives in the log", () => {
    expect(observer.timers).toContain("updateVoterSet");
    expect(observerOf({ ...autoJoining, autoJoin: [] }).timers).not.toContain("updateVoterSet");
    const { kraftVersion: _, ...staticQuorum } = autoJoining;
    expect(observerOf({ ...staticQuorum, voters: 3 }).timers).not.toContain("updateVoterSet");
  });

  it("first removes an entry of its own id with another directory id (a replaced disk, R100)", () => {
    const replaced: NodeState = {
      ...observer,
      voters: [...observer.voters, { id: 4, directoryId: STALE_DIRECTORY }],
    };
    const result = step(replaced, { _tag: "TimerExpired", timer: "updateVoterSet" }, config);
    expect(result.effects).toEqual([
      rearm,
      {
        _tag: "Send",
        to: 1,
        correlationId: observer.nextCorrelationId,
        message: {
          _tag: "RemoveRaftVoterRequest",
          clusterId: autoJoining.clusterId,
          voterId: 4,
          voterDirectoryId: STALE_DIRECTORY,
        },
      },
    ]);
    expect(result.marks).toContain("R150:stale-entry-removal-asked");
  });

  it("asks to be added, one request at a time; a failed one waits for the timer", () => {
    const asked = step(observer, { _tag: "TimerExpired", timer: "updateVoterSet" }, config);
    expect(asked.effects).toEqual([
      rearm,
      {
        _tag: "Send",
        to: 1,
        correlationId: observer.nextCorrelationId,
        message: {
          _tag: "AddRaftVoterRequest",
          clusterId: autoJoining.clusterId,
          timeoutMs: 2000,
          voterId: 4,
          voterDirectoryId: observer.directoryId,
          listeners: [{ name: "CONTROLLER", host: "node-4", port: 9093 }],
        },
      },
    ]);
    // Still in flight: the next period asks nothing more.
    expect(step(asked.state, { _tag: "TimerExpired", timer: "updateVoterSet" }, config).effects).toEqual([
      rearm,
    ]);
    const failed = step(
      asked.state,
      {
        _tag: "RequestFailed",
        destination: 1,
        api: "AddRaftVoter",
        correlationId: observer.nextCorrelationId,
      },
      config,
    );
    expect(failed.effects).toEqual([]);
    expect(failed.marks).toEqual(["R150:failed-auto-join-waits-for-timer"]);
    expect(failed.state.inflight).toEqual(observer.inflight);
  });

  it("asks nothing once it is a voter, or while it shuts down", () => {
    const voter: NodeState = {
      ...observer,
      voters: [...observer.voters, { id: 4, directoryId: observer.directoryId! }],
    };
    expect(step(voter, { _tag: "TimerExpired", timer: "updateVoterSet" }, config).effects).toEqual([rearm]);
    const stopping: NodeState = { ...observer, shuttingDown: true };
    expect(step(stopping, { _tag: "TimerExpired", timer: "updateVoterSet" }, config).effects).toEqual([
      rearm,
    ]);
  });
});
