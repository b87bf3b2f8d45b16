// The broker's lifecycle reducer (R112–R116, R126–R128): registration, heartbeats and their answers,
// controlled shutdown, the committed-only image, and the AlterPartition requests it sends as a
// partition leader.
import { describe, expect, it } from "vitest";
import {
  type BrokerInput,
  type BrokerState,
  brokerStartEffects,
  brokerStep,
  initialBrokerState,
  makeBrokerConfig,
} from "./broker.ts";
import type { MetadataRecord } from "./records.ts";
import type { ControllerResponse } from "./requests.ts";

const config = makeBrokerConfig(4, "c");
const T = "AAAAAAAAAAAAAAAAAAAAAQ";

const step = (s: BrokerState, input: BrokerInput) => brokerStep(s, input, config);

const committed = (...records: MetadataRecord[]): BrokerInput => ({
  _tag: "Committed",
  records: records.map((record, i) => ({ offset: i + 1, epoch: 1, record })),
});

const heartbeatAnswer = (
  fields: Partial<Extract<ControllerResponse, { _tag: "BrokerHeartbeatResponse" }>>,
): ControllerResponse => ({
  _tag: "BrokerHeartbeatResponse",
  errorCode: "NONE",
  isCaughtUp: true,
  isFenced: false,
  shouldShutDown: false,
  ...fields,
});

/** A broker registered with epoch 2 that knows controller 1. */
const registered = (): BrokerState => {
  let s = step(initialBrokerState(4, "i".repeat(22)), { _tag: "LeaderChange", leaderId: 1, epoch: 1 }).state;
  s = step(s, { _tag: "HeartbeatTimer" }).state;
  return step(s, {
    _tag: "Response",
    correlationId: 1,
    response: { _tag: "BrokerRegistrationResponse", errorCode: "NONE", brokerEpoch: 2 },
  }).state;
};

describe("broker lifecycle", () => {
  it("waits for a controller, then registers on its first tick", () => {
    expect(brokerStartEffects(config)).toEqual([{ _tag: "ArmHeartbeatTimer", delayMs: 2000 }]);
    const fresh = initialBrokerState(4, "i".repeat(22));
    expect(step(fresh, { _tag: "HeartbeatTimer" }).effects).toEqual([
      { _tag: "ArmHeartbeatTimer", delayMs: 2000 },
    ]);
    const known = step(fresh, { _tag: "LeaderChange", leaderId: 1, epoch: 1 }).state;
    expect(step(known, { _tag: "LeaderChange", leaderId: 2, epoch: 0 }).state.controllerId).toBe(1);
    const { state, effects } = step(known, { _tag: "HeartbeatTimer" });
    expect(effects[1]).toMatchObject({
      _tag: "SendToController",
      to: 1,
      correlationId: 1,
      request: { _tag: "BrokerRegistrationRequest", brokerId: 4, clusterId: "c" },
    });
    expect(step(state, { _tag: "HeartbeatTimer" }).effects).toEqual([
      { _tag: "ArmHeartbeatTimer", delayMs: 2000 },
    ]);
    const refused = step(state, {
      _tag: "Response",
      correlationId: 1,
      response: {
        _tag: "BrokerRegistrationResponse",
        errorCode: "DUPLICATE_BROKER_REGISTRATION",
        brokerEpoch: -1,
      },
    });
    expect(refused.state).toMatchObject({ lifecycle: "STARTING", lifecycleInflight: null });
  });

  it("heartbeats with its published offset and follows the controller's answers (R116)", () => {
    let s = registered();
    expect(s).toMatchObject({ lifecycle: "RECOVERY", brokerEpoch: 2 });
    s = step(s, committed({ _tag: "NoOpRecord" }, { _tag: "NoOpRecord" })).state;
    const tick = step(s, { _tag: "HeartbeatTimer" });
    expect(tick.effects[1]).toMatchObject({
      request: {
        _tag: "BrokerHeartbeatRequest",
        brokerEpoch: 2,
        currentMetadataOffset: 2,
        wantFence: false,
        wantShutDown: false,
      },
    });
    s = step(tick.state, { _tag: "Response", correlationId: 2, response: heartbeatAnswer({}) }).state;
    expect(s).toMatchObject({ lifecycle: "RUNNING", caughtUp: true });
    s = step(step(s, { _tag: "HeartbeatTimer" }).state, {
      _tag: "Response",
      correlationId: 3,
      response: heartbeatAnswer({ isFenced: true }),
    }).state;
    expect(s.lifecycle).toBe("RECOVERY");
    s = step(step(s, { _tag: "HeartbeatTimer" }).state, {
      _tag: "Response",
      correlationId: 4,
      response: heartbeatAnswer({ errorCode: "NOT_CONTROLLER" }),
    }).state;
    expect(s).toMatchObject({ lifecycle: "RECOVERY", lifecycleInflight: null });
    s = step(step(s, { _tag: "HeartbeatTimer" }).state, {
      _tag: "Response",
      correlationId: 5,
      response: heartbeatAnswer({ errorCode: "STALE_BROKER_EPOCH" }),
    }).state;
    expect(s).toMatchObject({ lifecycle: "STARTING", brokerEpoch: -1 });
  });

  it("asks to shut down, and stops when the controller agrees", () => {
    let s = registered();
    // It asks at once, without waiting for its next heartbeat.
    const begin = step(s, { _tag: "BeginControlledShutdown" });
    expect(begin.state.lifecycle).toBe("PENDING_CONTROLLED_SHUTDOWN");
    expect(begin.effects[1]).toMatchObject({ request: { wantShutDown: true } });
    // Its next heartbeat waits for the answer to that one.
    expect(step(begin.state, { _tag: "HeartbeatTimer" }).effects).toEqual([
      { _tag: "ArmHeartbeatTimer", delayMs: 2000 },
    ]);
    s = step(begin.state, { _tag: "Response", correlationId: 2, response: heartbeatAnswer({}) }).state;
    expect(s.lifecycle).toBe("PENDING_CONTROLLED_SHUTDOWN");
    const done = step(step(s, { _tag: "HeartbeatTimer" }).state, {
      _tag: "Response",
      correlationId: 3,
      response: heartbeatAnswer({ isFenced: true, shouldShutDown: true }),
    });
    expect(done.effects).toEqual([{ _tag: "ShutdownNow" }]);
    expect(done.state.lifecycle).toBe("SHUTTING_DOWN");
    expect(step(done.state, { _tag: "HeartbeatTimer" }).effects).toEqual([
      { _tag: "ArmHeartbeatTimer", delayMs: 2000 },
    ]);
    expect(step(done.state, { _tag: "BeginControlledShutdown" }).state).toBe(done.state);
    const unregistered = step(initialBrokerState(4, "i".repeat(22)), { _tag: "BeginControlledShutdown" });
    expect(unregistered.effects).toEqual([{ _tag: "ShutdownNow" }]);
  });

  it("forgets a request its transport gave up on, and ignores answers it no longer waits for", () => {
    const s = step(registered(), { _tag: "HeartbeatTimer" }).state;
    expect(step(s, { _tag: "RequestFailed", correlationId: 2 }).state.lifecycleInflight).toBeNull();
    expect(step(s, { _tag: "RequestFailed", correlationId: 9 }).state).toBe(s);
    expect(step(s, { _tag: "Response", correlationId: 9, response: heartbeatAnswer({}) }).state).toBe(s);
  });

  it("publishes only new committed records and reports records that do not fit (R128)", () => {
    const s = registered();
    const first = step(s, committed({ _tag: "NoOpRecord" }));
    expect(first.effects).toEqual([{ _tag: "Published", offset: 1 }]);
    expect(step(first.state, committed({ _tag: "NoOpRecord" })).effects).toEqual([]);
    const bad = step(s, committed({ _tag: "RemoveTopicRecord", topicId: T }));
    expect(bad.effects).toEqual([
      { _tag: "Problem", detail: `offset 1: no topic with id ${T}` },
      { _tag: "Published", offset: 1 },
    ]);
  });
});

describe("the broker as partition leader (R126, R127)", () => {
  const leading = (): BrokerState =>
    step(
      registered(),
      committed(
        { _tag: "TopicRecord", name: "t", topicId: T },
        {
          _tag: "PartitionRecord",
          partitionId: 0,
          topicId: T,
          replicas: [4, 5, 6],
          isr: [4, 6],
          removingReplicas: [],
          addingReplicas: [],
          leader: 4,
          leaderRecoveryState: 0,
          leaderEpoch: 3,
          partitionEpoch: 7,
        },
      ),
    ).state;

  it("proposes a caught-up follower with the epoch it fetched with", () => {
    const { effects, state } = step(leading(), {
      _tag: "IsrChange",
      topicId: T,
      partitionId: 0,
      follower: 5,
      followerEpoch: 9,
      join: true,
    });
    expect(effects).toEqual([
      {
        _tag: "SendToController",
        to: 1,
        correlationId: 2,
        request: {
          _tag: "AlterPartitionRequest",
          brokerId: 4,
          brokerEpoch: 2,
          topics: [
            {
              topicId: T,
              partitions: [
                {
                  partitionIndex: 0,
                  leaderEpoch: 3,
                  newIsrWithEpochs: [
                    { brokerId: 4, brokerEpoch: 2 },
                    { brokerId: 6, brokerEpoch: -1 },
                    { brokerId: 5, brokerEpoch: 9 },
                  ],
                  leaderRecoveryState: 0,
                  partitionEpoch: 7,
                },
              ],
            },
          ],
        },
      },
    ]);
    // One AlterPartition at a time; the answer frees the slot.
    expect(
      step(state, {
        _tag: "IsrChange",
        topicId: T,
        partitionId: 0,
        follower: 6,
        followerEpoch: 9,
        join: false,
      }).effects,
    ).toEqual([]);
    const answered = step(state, {
      _tag: "Response",
      correlationId: 2,
      response: { _tag: "AlterPartitionResponse", errorCode: "NONE", topics: [] },
    });
    expect(answered.state.alterInflight).toBeNull();
    expect(step(state, { _tag: "RequestFailed", correlationId: 2 }).state.alterInflight).toBeNull();
  });

  it("drops a follower that fell behind, and ignores changes that are not its to make", () => {
    const s = leading();
    expect(
      step(s, { _tag: "IsrChange", topicId: T, partitionId: 0, follower: 6, followerEpoch: 6, join: false })
        .effects[0],
    ).toMatchObject({
      request: { topics: [{ partitions: [{ newIsrWithEpochs: [{ brokerId: 4, brokerEpoch: 2 }] }] }] },
    });
    for (const input of [
      { follower: 6, join: true },
      { follower: 5, join: false },
      { follower: 4, join: false },
      { follower: 9, join: true },
      { follower: 5, join: true, partitionId: 3 },
    ]) {
      expect(
        step(s, { _tag: "IsrChange", topicId: T, partitionId: 0, followerEpoch: 1, ...input }).effects,
      ).toEqual([]);
    }
  });
});
