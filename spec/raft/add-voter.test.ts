// R96 on the leader: the ApiVersions it asks a voter-to-be, and each way that can end. The whole flow
// is transcripts 39 and 48.
import { describe, expect, it } from "vitest";
import { type ClusterSpec, DEFAULT_CLUSTER, joinedStart, nodeConfig, OPERATOR_ID } from "../cluster/world.ts";
import type { AddRaftVoterRequest } from "./messages.ts";
import type { NodeState } from "./state.ts";
import { step } from "./step.ts";

const cluster: ClusterSpec = { ...DEFAULT_CLUSTER, observers: 1, kraftVersion: 1 };
const leader = joinedStart(cluster).nodes[0]!.state!;
const config = nodeConfig(cluster, 1);
const add: AddRaftVoterRequest = {
  _tag: "AddRaftVoterRequest",
  clusterId: cluster.clusterId,
  timeoutMs: 30000,
  voterId: 4,
  voterDirectoryId: "AAAAAAAAAAAAAAAAAAAAAE",
  listeners: [{ name: "CONTROLLER", host: "node-4", port: 9093 }],
};
const ANSWER_ID = 17;

/** The leader once it has asked node 4 for its ApiVersions on an operator's behalf. */
const asking = (): { state: NodeState; correlationId: number } => {
  const result = step(
    leader,
    { _tag: "Received", from: OPERATOR_ID, message: add, correlationId: ANSWER_ID },
    config,
  );
  expect(result.effects).toEqual([
    { _tag: "Send", to: 4, correlationId: leader.nextCorrelationId, message: { _tag: "ApiVersionsRequest" } },
  ]);
  return { state: result.state, correlationId: leader.nextCorrelationId };
};

const operatorAnswer = (errorCode: string, errorMessage: string | null) => ({
  _tag: "Send",
  to: OPERATOR_ID,
  correlationId: ANSWER_ID,
  message: { _tag: "AddRaftVoterResponse", errorCode, errorMessage },
});

describe("R96 the leader asks a voter-to-be for its kraft.version range", () => {
  it("appends the new voter set once node 4 answers a range with kraft.version 1", () => {
    const { state, correlationId } = asking();
    const answered = step(
      state,
      {
        _tag: "Received",
        from: 4,
        correlationId,
        message: {
          _tag: "ApiVersionsResponse",
          errorCode: "NONE",
          kraftVersion: { minSupportedVersion: 0, maxSupportedVersion: 1 },
        },
      },
      config,
    );
    expect(answered.effects[0]).toMatchObject({ _tag: "AppendRecords", control: { _tag: "VotersRecord" } });
    expect(answered.state.voters.map((v) => v.id)).toEqual([1, 2, 3, 4]);
  });

  it.each([
    [
      { errorCode: "NONE", kraftVersion: { minSupportedVersion: 0, maxSupportedVersion: 0 } },
      "INVALID_REQUEST",
      "replica 4 does not support kraft.version 1",
    ],
    [
      { errorCode: "NONE", kraftVersion: null },
      "INVALID_REQUEST",
      "replica 4 does not support kraft.version 1",
    ],
    [
      { errorCode: "BROKER_NOT_AVAILABLE", kraftVersion: null },
      "REQUEST_TIMED_OUT",
      "replica 4 did not answer ApiVersions (BROKER_NOT_AVAILABLE)",
    ],
  ] as const)("refuses on %j: %s", (response, errorCode, errorMessage) => {
    const { state, correlationId } = asking();
    const answered = step(
      state,
      { _tag: "Received", from: 4, correlationId, message: { _tag: "ApiVersionsResponse", ...response } },
      config,
    );
    expect(answered.effects).toEqual([operatorAnswer(errorCode, errorMessage)]);
    expect(answered.state.voters).toEqual(leader.voters);
    expect(answered.state.role).toEqual(leader.role);
  });

  it("refuses when the request fails, and answers NOT_LEADER_OR_FOLLOWER when it steps down first", () => {
    const { state, correlationId } = asking();
    const failed = step(
      state,
      { _tag: "RequestFailed", destination: 4, api: "ApiVersions", correlationId },
      config,
    );
    expect(failed.effects).toEqual([
      operatorAnswer("REQUEST_TIMED_OUT", "replica 4 did not answer ApiVersions"),
    ]);
    const resigned = step(state, { _tag: "Resign", epoch: state.epoch }, config);
    expect(resigned.effects).toContainEqual(
      operatorAnswer("NOT_LEADER_OR_FOLLOWER", "the leader stepped down before the change was appended"),
    );
  });
});
