// Adversarial input: random well-typed messages and inputs with out-of-range epochs, negative
// offsets, unknown senders and wrong cluster ids, delivered to nodes in states reached by random
// runs. The reducer never throws, every effect it emits is well-typed, and a request that breaks a
// validation rule is answered with the error code that rule names and changes nothing.
// Rules: R1, R36, R37, R38, R46, R63, R88

import * as Schema from "effect/Schema";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DEFAULT_BOUNDS } from "./cluster/actions.ts";
import { DEFAULT_CLUSTER, nodeConfig } from "./cluster/world.ts";
import { RaftEffect, type RaftInput } from "./raft/io.ts";
import type { RaftMessage } from "./raft/messages.ts";
import { METADATA_TOPIC_ID, METADATA_TOPIC_NAME } from "./raft/primitives.ts";
import { type NodeState, TimerKind } from "./raft/state.ts";
import { step } from "./raft/step.ts";
import { walk } from "./test/walk.ts";

const CLUSTER = DEFAULT_CLUSTER.clusterId;
const decodeEffect = Schema.decodeUnknownSync(RaftEffect);

/** Node states reached by a few random runs: every role appears. */
const reachableStates = (): NodeState[] => {
  const states: NodeState[] = [];
  const runs = fc.sample(fc.array(fc.nat({ max: 10_000 }), { minLength: 200, maxLength: 200 }), {
    numRuns: 12,
    seed: 7,
  });
  for (const choices of runs) {
    const result = walk(DEFAULT_CLUSTER, { ...DEFAULT_BOUNDS, maxEpoch: 5, maxValues: 4 }, choices, true);
    for (const world of result.worlds.filter((_, i) => i % 10 === 0)) {
      for (const slot of world.nodes) if (slot.state !== null) states.push(slot.state);
    }
  }
  return states;
};

const states = reachableStates();
const stateArb = fc.constantFrom(...states);
const epochArb = fc.integer({ min: -3, max: 9 });
const offsetArb = fc.integer({ min: -5, max: 20 });
const idArb = fc.integer({ min: -2, max: 7 });
const clusterArb = fc.constantFrom<string | null>(CLUSTER, CLUSTER, CLUSTER, null, "other-cluster");
const topicArb = fc.constantFrom(
  METADATA_TOPIC_NAME,
  METADATA_TOPIC_NAME,
  METADATA_TOPIC_NAME,
  "not-metadata",
);
const errorArb = fc.constantFrom(
  "NONE",
  "FENCED_LEADER_EPOCH",
  "UNKNOWN_LEADER_EPOCH",
  "NOT_LEADER_OR_FOLLOWER",
  "INVALID_REQUEST",
  "INCONSISTENT_CLUSTER_ID",
  "BROKER_NOT_AVAILABLE",
  "INVALID_VOTER_KEY",
  "UNSUPPORTED_VERSION",
) as fc.Arbitrary<RaftMessage extends { errorCode: infer E } ? E : never>;
const batchesArb = fc.array(
  fc.record({ baseOffset: offsetArb, epoch: epochArb, count: fc.integer({ min: 1, max: 3 }) }),
  { maxLength: 3 },
);

const messageArb: fc.Arbitrary<RaftMessage> = fc.oneof(
  fc.record({
    _tag: fc.constant("VoteRequest" as const),
    clusterId: clusterArb,
    voterId: idArb,
    topicName: topicArb,
    partitionIndex: fc.constantFrom(0, 0, 0, 3),
    replicaEpoch: epochArb,
    replicaId: idArb,
    lastOffsetEpoch: epochArb,
    lastOffset: offsetArb,
    preVote: fc.boolean(),
  }),
  fc.record({
    _tag: fc.constant("BeginQuorumEpochRequest" as const),
    clusterId: clusterArb,
    voterId: idArb,
    topicName: topicArb,
    partitionIndex: fc.constantFrom(0, 0, 0, 3),
    leaderId: idArb,
    leaderEpoch: epochArb,
  }),
  fc.record({
    _tag: fc.constant("EndQuorumEpochRequest" as const),
    clusterId: clusterArb,
    topicName: topicArb,
    partitionIndex: fc.constantFrom(0, 0, 0, 3),
    leaderId: idArb,
    leaderEpoch: epochArb,
    preferredCandidates: fc.array(fc.record({ id: idArb }), { maxLength: 3 }),
  }),
  fc.record({
    _tag: fc.constant("FetchRequest" as const),
    clusterId: clusterArb,
    replicaId: idArb,
    maxWaitMs: fc.integer({ min: -5, max: 500 }),
    topicId: fc.constantFrom(METADATA_TOPIC_ID, METADATA_TOPIC_ID, "AAAAAAAAAAAAAAAAAAAAAg"),
    partition: fc.constantFrom(0, 0, 0, 1),
    currentLeaderEpoch: epochArb,
    fetchOffset: offsetArb,
    lastFetchedEpoch: epochArb,
  }),
  fc.record({
    _tag: fc.constant("DescribeQuorumRequest" as const),
    topicName: topicArb,
    partitionIndex: fc.constantFrom(0, 0, 0, 3),
  }),
  fc.record({
    _tag: fc.constant("VoteResponse" as const),
    errorCode: errorArb,
    leaderId: idArb,
    leaderEpoch: epochArb,
    voteGranted: fc.boolean(),
  }),
  fc.record({
    _tag: fc.constantFrom("BeginQuorumEpochResponse" as const, "EndQuorumEpochResponse" as const),
    errorCode: errorArb,
    leaderId: idArb,
    leaderEpoch: epochArb,
  }),
  fc.record(
    {
      _tag: fc.constant("FetchResponse" as const),
      errorCode: errorArb,
      highWatermark: offsetArb,
      logStartOffset: fc.constant(0),
      divergingEpoch: fc.record({ epoch: epochArb, endOffset: offsetArb }),
      leaderId: idArb,
      leaderEpoch: epochArb,
      records: batchesArb,
    },
    {
      requiredKeys: [
        "_tag",
        "errorCode",
        "highWatermark",
        "logStartOffset",
        "leaderId",
        "leaderEpoch",
        "records",
      ],
    },
  ),
);

const inputArb: fc.Arbitrary<RaftInput> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      _tag: fc.constant("Received" as const),
      from: idArb,
      message: messageArb,
      correlationId: fc.integer({ min: 0, max: 30 }),
    }),
  },
  fc.record({
    _tag: fc.constant("TimerExpired" as const),
    timer: fc.constantFrom(...TimerKind.literals),
  }),
  fc.record({
    _tag: fc.constant("ClientAppend" as const),
    epoch: epochArb,
    count: fc.integer({ min: 1, max: 3 }),
  }),
  fc.record({ _tag: fc.constant("LogFlushed" as const), offset: offsetArb }),
  fc.record({
    _tag: fc.constant("RequestFailed" as const),
    destination: idArb,
    api: fc.constantFrom("Vote", "BeginQuorumEpoch", "EndQuorumEpoch", "Fetch"),
    correlationId: fc.integer({ min: 0, max: 30 }),
  }),
  fc.record({ _tag: fc.constant("Resign" as const), epoch: epochArb }),
  fc.constant({ _tag: "Shutdown" as const }),
);

/** The error code the first failing validation rule demands, or undefined when the request is valid. */
const expectedError = (s: NodeState, message: RaftMessage): string | undefined => {
  switch (message._tag) {
    case "VoteRequest": {
      if (message.clusterId !== null && message.clusterId !== CLUSTER) return "INCONSISTENT_CLUSTER_ID";
      const badEpochs = message.preVote
        ? message.lastOffsetEpoch > message.replicaEpoch
        : message.lastOffsetEpoch >= message.replicaEpoch;
      if (
        message.topicName !== METADATA_TOPIC_NAME ||
        message.partitionIndex !== 0 ||
        message.lastOffset < 0 ||
        message.lastOffsetEpoch < 0 ||
        badEpochs ||
        message.replicaId < 0
      )
        return "INVALID_REQUEST";
      return message.replicaEpoch < s.epoch ? "FENCED_LEADER_EPOCH" : undefined;
    }
    case "BeginQuorumEpochRequest":
    case "EndQuorumEpochRequest":
      if (message.clusterId !== null && message.clusterId !== CLUSTER) return "INCONSISTENT_CLUSTER_ID";
      if (message.topicName !== METADATA_TOPIC_NAME || message.partitionIndex !== 0) return "INVALID_REQUEST";
      if (message.leaderEpoch < s.epoch) return "FENCED_LEADER_EPOCH";
      return message.leaderId < 0 ? "INVALID_REQUEST" : undefined;
    case "FetchRequest":
      if (message.clusterId !== null && message.clusterId !== CLUSTER) return "INCONSISTENT_CLUSTER_ID";
      if (message.topicId !== METADATA_TOPIC_ID || message.partition !== 0) return "INVALID_REQUEST";
      if (
        message.maxWaitMs < 0 ||
        message.fetchOffset < 0 ||
        message.lastFetchedEpoch < 0 ||
        message.lastFetchedEpoch > message.currentLeaderEpoch
      )
        return "INVALID_REQUEST";
      if (message.currentLeaderEpoch < s.epoch) return "FENCED_LEADER_EPOCH";
      if (message.currentLeaderEpoch > s.epoch) return "UNKNOWN_LEADER_EPOCH";
      if (s.role._tag !== "Leader") return "NOT_LEADER_OR_FOLLOWER";
      return s.shuttingDown ? "BROKER_NOT_AVAILABLE" : undefined;
    case "DescribeQuorumRequest":
      if (message.topicName !== METADATA_TOPIC_NAME || message.partitionIndex !== 0)
        return "UNKNOWN_TOPIC_OR_PARTITION";
      return s.role._tag === "Leader" ? undefined : "NOT_LEADER_OR_FOLLOWER";
    default:
      return undefined;
  }
};

describe("adversarial input", () => {
  it("reaches every role in the sampled states", () => {
    const roles = new Set(states.map((s) => s.role._tag));
    expect([...roles].sort()).toEqual([
      "Candidate",
      "Follower",
      "Leader",
      "Prospective",
      "Resigned",
      "Unattached",
    ]);
  });

  it("never throws, emits only well-typed effects, and never lowers the epoch", () => {
    fc.assert(
      fc.property(stateArb, inputArb, (state, input) => {
        const config = nodeConfig(DEFAULT_CLUSTER, state.nodeId);
        const result = step(state, input, config);
        for (const effect of result.effects) decodeEffect(effect);
        expect(result.state.epoch).toBeGreaterThanOrEqual(state.epoch);
        expect(result.state.highWatermark).toBeGreaterThanOrEqual(state.highWatermark);
      }),
      { numRuns: 3000 },
    );
  });

  it("answers an invalid request with the error code its rule names, and changes nothing", () => {
    let checked = 0;
    fc.assert(
      fc.property(stateArb, idArb, messageArb, (state, from, message) => {
        const expected = expectedError(state, message);
        if (expected === undefined) return;
        const config = nodeConfig(DEFAULT_CLUSTER, state.nodeId);
        const result = step(state, { _tag: "Received", from, message }, config);
        const sends = result.effects.filter((e) => e._tag === "Send");
        expect(sends).toHaveLength(1);
        const response = sends[0]!.message as { errorCode?: string };
        expect(response.errorCode).toBe(expected);
        expect(sends[0]!.to).toBe(from);
        expect(result.state).toBe(state);
        checked++;
      }),
      { numRuns: 3000 },
    );
    expect(checked).toBeGreaterThan(500);
  });
});
