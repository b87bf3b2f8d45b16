// spec/node: the wiring of the layers (R147), the routing of requests (R148) and answers from another
// cluster (R149), on single nodes fed hand-made inputs. Rules: R147, R148, R149.
import { describe, expect, it } from "vitest";
import { makeBrokerConfig } from "../metadata/broker.ts";
import { DEFAULT_CONTROLLER_CONFIG } from "../metadata/controller.ts";
import type { OffsetRecord } from "../metadata/image.ts";
import type { ControllerRequest } from "../metadata/requests.ts";
import { EMPTY_LOG, makeConfig } from "../raft/state.ts";
import {
  FIRST_FORWARD_ID,
  initializeNode,
  type KraftNode,
  type KraftNodeConfig,
  type LogReader,
  type NodeEffect,
  type NodeInput,
  nodeStep,
} from "./node.ts";

const CLUSTER = "node-test";
const voters = (n: number) => Array.from({ length: n }, (_, i) => ({ id: i + 1 }));

const controllerConfig = (id: number, n: number): KraftNodeConfig => ({
  raft: makeConfig({ nodeId: id, clusterId: CLUSTER, voters: voters(n) }),
  controller: { ...DEFAULT_CONTROLLER_CONFIG, nodeId: id, clusterId: CLUSTER },
  broker: null,
});

const brokerConfig = (id: number, n: number): KraftNodeConfig => ({
  raft: makeConfig({ nodeId: id, clusterId: CLUSTER, voters: voters(n) }),
  controller: null,
  broker: makeBrokerConfig(id, CLUSTER),
});

/** A shell's log for one node: the records its effects appended. */
const shellLog = () => {
  const records: (OffsetRecord | null)[] = [];
  const reader: LogReader = {
    records: (from, to) => records.slice(from, to).filter((r): r is OffsetRecord => r !== null),
  };
  const carryOut = (effects: readonly NodeEffect[]) => {
    for (const e of effects) {
      if (e._tag === "AppendRecords") {
        for (let i = 0; i < e.count; i++) {
          const record = e.records?.[i];
          records[e.baseOffset + i] =
            record === undefined ? null : { offset: e.baseOffset + i, epoch: e.epoch, record };
        }
      }
      if (e._tag === "TruncateLog") records.length = e.offset;
    }
  };
  return { reader, carryOut };
};

const start = (config: KraftNodeConfig, log = shellLog()) => {
  const result = initializeNode(
    config,
    {
      quorumState: undefined,
      log: EMPTY_LOG,
      recovering: false,
      firstCorrelationId: 1,
      incarnationId: "AAAAAAAAAAAAAAAAAAAAAA",
      previousBrokerEpoch: -1,
    },
    log.reader,
  );
  log.carryOut(result.effects);
  return { node: result.state, effects: result.effects, log };
};

const feed = (
  node: KraftNode,
  config: KraftNodeConfig,
  log: ReturnType<typeof shellLog>,
  input: NodeInput,
) => {
  const result = nodeStep(node, input, config, log.reader);
  log.carryOut(result.effects);
  return result;
};

const createTopic: ControllerRequest = {
  _tag: "CreateTopicsRequest",
  validateOnly: false,
  topics: [{ name: "t", numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
};

describe("spec/node: the layers wired (R147)", () => {
  it("a lone controller elects itself, and its controller activates only once its records commit", () => {
    const config = controllerConfig(1, 1);
    let { node, log } = start(config);
    // A lone voter leads at once (R22); its first proposal is the bootstrap FeatureLevelRecord (R105).
    expect(node.raft.role._tag).toBe("Leader");
    let result = feed(node, config, log, { _tag: "Raft", input: { _tag: "LogFlushed", offset: 1 } });
    node = result.state;
    // The LeaderChange record commits: the listener learns it leads (R58) and the controller proposes.
    const append = result.effects.find((e) => e._tag === "AppendRecords" && e.records !== undefined);
    expect(append).toMatchObject({ _tag: "AppendRecords", baseOffset: 1, count: 1 });
    expect(result.steps.map((s) => `${s.layer}:${s.input._tag}`)).toEqual([
      "raft:LogFlushed",
      "controller:LeaderChange",
      "raft:ClientAppend",
      "controller:AppendAccepted",
    ]);
    expect(node.controller?.active).toBe(true);
    result = feed(node, config, log, { _tag: "Raft", input: { _tag: "LogFlushed", offset: 2 } });
    node = result.state;
    // Its own record committed comes back to the controller through the shell's log (R85).
    const committed = result.steps.find((s) => s.layer === "controller");
    expect(committed?.input).toMatchObject({
      _tag: "Committed",
      records: [{ offset: 1, record: { _tag: "FeatureLevelRecord", name: "metadata.version" } }],
    });
    expect(node.listenerOffset).toBe(2);
    expect(node.controller?.committed.offset).toBe(1);
  });
});

describe("spec/node: the Raft leader's own control records (R106, R147)", () => {
  it("a VotersRecord the leader appends between proposals moves where the controller's next records go", () => {
    const dir = "AAAAAAAAAAAAAAAAAAAAAB";
    const config: KraftNodeConfig = {
      ...controllerConfig(1, 1),
      raft: makeConfig({
        nodeId: 1,
        clusterId: CLUSTER,
        voters: [{ id: 1, directoryId: dir }],
        kraftVersion: 1,
        directoryId: dir,
      }),
    };
    let { node, log } = start(config);
    // The LeaderChange at 0 and the bootstrap set's VotersRecord at 1 (R55), then the controller's
    // first record at 2.
    node = feed(node, config, log, { _tag: "Raft", input: { _tag: "LogFlushed", offset: 2 } }).state;
    node = feed(node, config, log, { _tag: "Raft", input: { _tag: "LogFlushed", offset: 3 } }).state;
    expect(node.controller?.active).toBe(true);
    expect(node.controller?.nextOffset).toBe(3);
    // An UpdateRaftVoter (R99): the leader appends a VotersRecord at 3, outside the controller.
    const update = feed(node, config, log, {
      _tag: "Raft",
      input: {
        _tag: "Received",
        from: -1,
        correlationId: 5,
        message: {
          _tag: "UpdateRaftVoterRequest",
          clusterId: CLUSTER,
          currentLeaderEpoch: 1,
          voterId: 1,
          voterDirectoryId: dir,
          listeners: [{ name: "CONTROLLER", host: "n1", port: 9093 }],
          kraftVersionFeature: { minSupportedVersion: 0, maxSupportedVersion: 1 },
        },
      },
    });
    node = update.state;
    expect(update.effects).toContainEqual(
      expect.objectContaining({ _tag: "AppendRecords", baseOffset: 3, control: expect.anything() }),
    );
    expect(update.steps.map((s) => `${s.layer}:${s.input._tag}`)).toEqual([
      "raft:Received",
      "controller:ControlRecordsAppended",
    ]);
    expect(node.controller?.nextOffset).toBe(4);
    // The controller's next record (an idle NoOpRecord, R105) lands where it expects: no resignation
    // (R106), which before this rule followed every voter change.
    const write = feed(node, config, log, { _tag: "IdleTimeout" });
    expect(write.effects).toContainEqual(expect.objectContaining({ _tag: "AppendRecords", baseOffset: 4 }));
    expect(write.steps.map((s) => `${s.layer}:${s.input._tag}`)).toEqual([
      "controller:IdleTimeout",
      "raft:ClientAppend",
      "controller:AppendAccepted",
    ]);
    expect(write.state.controller?.active).toBe(true);
  });
});

describe("spec/node: routing requests (R148)", () => {
  /** A standby controller (node 2 of 3) that follows leader 1. */
  const standby = () => {
    const config = controllerConfig(2, 3);
    const { node, log } = start(config);
    const followed = feed(node, config, log, {
      _tag: "Raft",
      input: {
        _tag: "Received",
        from: 1,
        correlationId: 9,
        message: {
          _tag: "BeginQuorumEpochRequest",
          clusterId: CLUSTER,
          voterId: 2,
          topicName: "__cluster_metadata",
          partitionIndex: 0,
          leaderId: 1,
          leaderEpoch: 1,
        },
      },
    });
    return { config, node: followed.state, log };
  };

  it("a standby passes a client's write to the leader once, and relays its answer", () => {
    const { config, node, log } = standby();
    const asked = feed(node, config, log, {
      _tag: "Request",
      from: -7,
      correlationId: 3,
      request: createTopic,
    });
    expect(asked.effects).toEqual([
      { _tag: "SendRequest", to: 1, correlationId: FIRST_FORWARD_ID, request: createTopic },
    ]);
    expect(asked.state.forwards).toEqual([
      { id: FIRST_FORWARD_ID, to: 1, client: -7, clientCorrelationId: 3 },
    ]);
    const answer = { _tag: "CreateTopicsResponse" as const, topics: [] };
    const relayed = feed(asked.state, config, log, {
      _tag: "Response",
      from: 1,
      correlationId: FIRST_FORWARD_ID,
      response: answer,
    });
    expect(relayed.effects).toEqual([{ _tag: "Respond", to: -7, correlationId: 3, response: answer }]);
    expect(relayed.state.forwards).toEqual([]);
    // A passed-on request nobody answers is answered REQUEST_TIMED_OUT.
    const again = feed(node, config, log, {
      _tag: "Request",
      from: -7,
      correlationId: 4,
      request: createTopic,
    });
    const failed = feed(again.state, config, log, {
      _tag: "RequestFailed",
      to: 1,
      correlationId: FIRST_FORWARD_ID,
    });
    expect(failed.effects).toEqual([
      {
        _tag: "Respond",
        to: -7,
        correlationId: 4,
        response: {
          _tag: "AdminResponse",
          errorCode: "REQUEST_TIMED_OUT",
          errorMessage: "node 1 did not answer",
          body: null,
        },
      },
    ]);
  });

  it("a node's own request is answered where it arrives: a standby says NOT_CONTROLLER, never passes it on", () => {
    const { config, node, log } = standby();
    const heartbeat: ControllerRequest = {
      _tag: "BrokerHeartbeatRequest",
      brokerId: 4,
      brokerEpoch: 7,
      currentMetadataOffset: 0,
      wantFence: false,
      wantShutDown: false,
    };
    const result = feed(node, config, log, {
      _tag: "Request",
      from: 4,
      correlationId: 5,
      request: heartbeat,
    });
    expect(result.effects).toEqual([
      {
        _tag: "Respond",
        to: 4,
        correlationId: 5,
        response: {
          _tag: "BrokerHeartbeatResponse",
          errorCode: "NOT_CONTROLLER",
          isCaughtUp: false,
          isFenced: true,
          shouldShutDown: false,
        },
      },
    ]);
  });

  it("a broker refuses a client's broker lifecycle request instead of speaking for another broker", () => {
    const config = brokerConfig(4, 3);
    const { node, log } = start(config);
    const heartbeat: ControllerRequest = {
      _tag: "BrokerHeartbeatRequest",
      brokerId: 5,
      brokerEpoch: 7,
      currentMetadataOffset: 0,
      wantFence: true,
      wantShutDown: true,
    };
    const result = feed(node, config, log, {
      _tag: "Request",
      from: -3,
      correlationId: 1,
      request: heartbeat,
    });
    expect(result.effects).toEqual([
      {
        _tag: "Respond",
        to: -3,
        correlationId: 1,
        response: {
          _tag: "AdminResponse",
          errorCode: "INVALID_REQUEST",
          errorMessage: "BrokerHeartbeatRequest is sent by a broker to the controllers, not by a client",
          body: null,
        },
      },
    ]);
    // With no leader known, a client's write is refused NOT_CONTROLLER.
    expect(
      feed(node, config, log, { _tag: "Request", from: -3, correlationId: 2, request: createTopic }).effects,
    ).toMatchObject([{ _tag: "Respond", response: { errorCode: "NOT_CONTROLLER" } }]);
  });

  it("DescribeQuorum: a client's to a follower goes to the leader; a node's is answered by Raft, as the node's answer", () => {
    const { config, node, log } = standby();
    const fromClient = feed(node, config, log, {
      _tag: "Request",
      from: -9,
      correlationId: 1,
      request: { _tag: "DescribeQuorumAdminRequest" },
    });
    expect(fromClient.effects).toMatchObject([{ _tag: "SendRequest", to: 1 }]);
    const fromNode = feed(node, config, log, {
      _tag: "Request",
      from: 3,
      correlationId: 1,
      request: { _tag: "DescribeQuorumAdminRequest" },
    });
    // The Raft layer's answer goes back as the node's answer to the request it came with (R88).
    expect(fromNode.effects).toMatchObject([
      {
        _tag: "Respond",
        to: 3,
        correlationId: 1,
        response: {
          _tag: "AdminResponse",
          errorCode: "NOT_LEADER_OR_FOLLOWER",
          errorMessage: null,
          body: { _tag: "DescribeQuorumResponse", errorCode: "NOT_LEADER_OR_FOLLOWER", leaderId: 1 },
        },
      },
    ]);
  });
});

describe("spec/node: an answer from another cluster (R149)", () => {
  it("is reported when it answers a request in flight, ignored otherwise, and never stops the node", () => {
    const config = controllerConfig(2, 3);
    const { node, log } = start(config);
    const prospective = feed(node, config, log, {
      _tag: "Raft",
      input: { _tag: "TimerExpired", timer: "election" },
    }).state;
    const inflight = prospective.raft.inflight.find((r) => r.destination === 1)!;
    const foreign = (correlationId: number): NodeInput => ({
      _tag: "Raft",
      input: {
        _tag: "Received",
        from: 1,
        correlationId,
        message: {
          _tag: "VoteResponse",
          errorCode: "INCONSISTENT_CLUSTER_ID",
          leaderId: -1,
          leaderEpoch: 0,
          voteGranted: false,
        },
      },
    });
    const answered = feed(prospective, config, log, foreign(inflight.correlationId));
    expect(answered.effects).toEqual([
      {
        _tag: "Alert",
        level: "error",
        text: "node 1 answered a Vote request with INCONSISTENT_CLUSTER_ID: it belongs to another cluster than this node (node-test); check controller.quorum.voters and the cluster id in each node's meta.properties",
      },
    ]);
    const forged = feed(prospective, config, log, foreign(4242));
    expect(forged.effects).toEqual([]);
    for (const e of [...answered.effects, ...forged.effects])
      expect(["ShutdownNow", "IllegalState"]).not.toContain(e._tag);
    expect(answered.state.raft.role._tag).toBe("Prospective");
  });
});
