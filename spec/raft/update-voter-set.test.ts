// The update-voter-set period on one node (R34): what a voter whose entry differs asks for (R99), what an
// auto-joining observer asks for (R150), and when they ask nothing. The whole flows through the leader
// are transcripts 46 and 47.
import { describe, expect, it } from "vitest";
import {
  type ClusterSpec,
  controllerListenersOf,
  DEFAULT_CLUSTER,
  fireTimer,
  initialWorld,
  nodeConfig,
  settleAll,
} from "../cluster/world.ts";
import { SUPPORTED_KRAFT_VERSIONS } from "./primitives.ts";
import type { NodeState } from "./state.ts";
import { step } from "./step.ts";

/** Three voters led by node 1, node `index + 1` following it (index 3: node 4, an observer). */
const followerOf = (cluster: ClusterSpec, index = 3): NodeState => {
  let world = settleAll(fireTimer(initialWorld(cluster).world, cluster, 0, "election").world, cluster);
  if (index === 3) world = settleAll(fireTimer(world, cluster, 3, "retryBackoff").world, cluster);
  const node = world.nodes[index]!.state!;
  expect(node.role).toMatchObject({ _tag: "Follower", leaderId: 1 });
  return node;
};
const observerOf = (cluster: ClusterSpec): NodeState => followerOf(cluster);

const autoJoining: ClusterSpec = { ...DEFAULT_CLUSTER, observers: 1, kraftVersion: 1, autoJoin: [4] };
const config = nodeConfig(autoJoining, 4);
const STALE_DIRECTORY = "AAAAAAAAAAAAAAAAAAAAZw";
const rearm = { _tag: "SetTimer", timer: "updateVoterSet", delayMs: 2000, jitterMs: 0 };

describe("R150 auto-join", () => {
  const observer = observerOf(autoJoining);

  it("arms its timer where the voter set lives in the log; without auto-join an observer asks nothing", () => {
    expect(observer.timers).toContain("updateVoterSet");
    const plain = { ...autoJoining, autoJoin: [] };
    const plainObserver = observerOf(plain);
    expect(plainObserver.timers).toContain("updateVoterSet");
    expect(
      step(plainObserver, { _tag: "TimerExpired", timer: "updateVoterSet" }, nodeConfig(plain, 4)).effects,
    ).toEqual([rearm]);
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
      voters: [
        ...observer.voters,
        {
          id: 4,
          directoryId: observer.directoryId!,
          listeners: controllerListenersOf(4),
          supportedKraftVersions: SUPPORTED_KRAFT_VERSIONS,
        },
      ],
    };
    expect(step(voter, { _tag: "TimerExpired", timer: "updateVoterSet" }, config).effects).toEqual([rearm]);
    const stopping: NodeState = { ...observer, shuttingDown: true };
    expect(step(stopping, { _tag: "TimerExpired", timer: "updateVoterSet" }, config).effects).toEqual([
      rearm,
    ]);
  });
});

describe("R99 a voter updates its own entry", () => {
  const dynamic: ClusterSpec = { ...DEFAULT_CLUSTER, kraftVersion: 1 };
  const voterConfig = nodeConfig(dynamic, 2);
  const follower = followerOf(dynamic, 1);
  const expire = { _tag: "TimerExpired", timer: "updateVoterSet" } as const;
  const moved = [{ name: "CONTROLLER", host: "node-2", port: 9094 }];
  const withEntry = (entry: object): NodeState => ({
    ...follower,
    voters: follower.voters.map((v) => (v.id === 2 ? { id: 2, directoryId: v.directoryId!, ...entry } : v)),
  });
  const update = (listeners = controllerListenersOf(2)) => ({
    _tag: "Send",
    to: 1,
    correlationId: follower.nextCorrelationId,
    message: {
      _tag: "UpdateRaftVoterRequest",
      clusterId: dynamic.clusterId,
      currentLeaderEpoch: follower.epoch,
      voterId: 2,
      voterDirectoryId: follower.directoryId,
      listeners,
      kraftVersionFeature: SUPPORTED_KRAFT_VERSIONS,
    },
  });

  it("asks nothing while its entry holds its listeners and range", () => {
    expect(follower.timers).toContain("updateVoterSet");
    const result = step(follower, expire, voterConfig);
    expect(result.effects).toEqual([rearm]);
    expect(result.marks).toEqual([]);
  });

  it("asks the leader it follows, in its epoch, when its listeners, its range or its listeners' presence differ", () => {
    const range = SUPPORTED_KRAFT_VERSIONS;
    for (const entry of [
      { listeners: moved, supportedKraftVersions: range },
      { listeners: controllerListenersOf(2), supportedKraftVersions: { ...range, maxSupportedVersion: 0 } },
      { listeners: controllerListenersOf(2) },
      { supportedKraftVersions: range },
    ]) {
      const result = step(withEntry(entry), expire, voterConfig);
      expect(result.effects).toEqual([rearm, update()]);
      expect(result.marks).toEqual(["R99:voter-asks-update"]);
    }
    // Listeners are told apart by name, not by their order.
    const two = [...controllerListenersOf(2), { name: "OTHER", host: "node-2", port: 1 }];
    const config = { ...voterConfig, listeners: two };
    const reordered = withEntry({ listeners: [two[1]!, two[0]!], supportedKraftVersions: range });
    expect(step(reordered, expire, config).effects).toEqual([rearm]);
  });

  it("keeps one request in flight; an acceptance counts as hearing from the leader, a refusal or failure waits for the period", () => {
    const asked = step(withEntry({ listeners: moved }), expire, voterConfig);
    expect(step(asked.state, expire, voterConfig).effects).toEqual([rearm]);
    const answer = (errorCode: "NONE" | "REQUEST_TIMED_OUT", from = 1) =>
      step(
        asked.state,
        {
          _tag: "Received",
          from,
          correlationId: follower.nextCorrelationId,
          message: { _tag: "UpdateRaftVoterResponse", errorCode, leaderId: 1, leaderEpoch: follower.epoch },
        },
        voterConfig,
      );
    const accepted = answer("NONE");
    expect(accepted.effects).toEqual([
      { _tag: "SetTimer", timer: "fetch", delayMs: voterConfig.fetchTimeoutMs, jitterMs: 0 },
    ]);
    expect(accepted.marks).toEqual(["R99:voter-update-answered"]);
    expect(accepted.state.inflight).toEqual(follower.inflight);
    const refused = answer("REQUEST_TIMED_OUT");
    expect(refused.effects).toEqual([]);
    expect(refused.marks).toEqual(["R99:voter-update-refused"]);
    expect(refused.state.inflight).toEqual(follower.inflight);
    // An answer to no request of its own (a tool's) changes nothing.
    expect(answer("NONE", 3).state).toBe(asked.state);
    const failed = step(
      asked.state,
      {
        _tag: "RequestFailed",
        destination: 1,
        api: "UpdateRaftVoter",
        correlationId: follower.nextCorrelationId,
      },
      voterConfig,
    );
    expect(failed.effects).toEqual([]);
    expect(failed.marks).toEqual(["R99:failed-voter-update-waits-for-timer"]);
    expect(failed.state.inflight).toEqual(follower.inflight);
  });

  it("asks nothing while it shuts down, nor as a voter of a static quorum", () => {
    const stopping = { ...withEntry({ listeners: moved }), shuttingDown: true };
    expect(step(stopping, expire, voterConfig).effects).toEqual([rearm]);
    expect(followerOf(DEFAULT_CLUSTER, 1).timers).not.toContain("updateVoterSet");
  });
});
