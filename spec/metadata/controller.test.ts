// The controller reducer on its own: every validation's error code, the write path (answers only at
// commit, R104), failover (R104, R106), idle writes (R105), and configs. Raft is played by the test:
// proposals are accepted and committed at once unless a test says otherwise.
import { describe, expect, it } from "vitest";
import {
  type ControllerEffect,
  type ControllerInput,
  type ControllerState,
  controllerStep,
  DEFAULT_CONTROLLER_CONFIG,
  describeConfigs,
  failedWith,
  initialControllerState,
} from "./controller.ts";
import {
  configsOf,
  findBroker,
  findPartition,
  findTopic,
  type OffsetRecord,
  partitionsOf,
  topicsOf,
} from "./image.ts";
import { LEADER_RECOVERING, type MetadataRecord, RESOURCE_BROKER, RESOURCE_TOPIC } from "./records.ts";
import {
  CONFIG_APPEND,
  CONFIG_DELETE,
  CONFIG_SET,
  CONFIG_SUBTRACT,
  type ControllerRequest,
  type ControllerResponse,
  ELECTION_PREFERRED,
  ELECTION_UNCLEAN,
} from "./requests.ts";

const config = { ...DEFAULT_CONTROLLER_CONFIG, nodeId: 1, clusterId: "test-cluster" };
const FEATURES = [{ name: "metadata.version", minSupportedVersion: 7, maxSupportedVersion: 21 }];
const incarnation = (id: number, start = 1): string =>
  `incarnation-${id}-${start}`.padEnd(22, "x").slice(0, 22);

/** An active controller whose proposals the test commits. */
class Harness {
  state: ControllerState;
  effects: ControllerEffect[] = [];
  private proposed: OffsetRecord[] = [];
  private correlation = 0;

  constructor(autoCommit = true) {
    this.state = initialControllerState(1);
    this.input({ _tag: "LeaderChange", leaderId: 1, epoch: 1, logEndOffset: 1 });
    if (autoCommit) this.commit();
  }

  input(input: ControllerInput): ControllerEffect[] {
    const result = controllerStep(this.state, input, config);
    this.state = result.state;
    this.effects = [...result.effects];
    for (const e of result.effects) {
      if (e._tag === "Propose") {
        e.records.forEach((record, i) => {
          this.proposed.push({ offset: e.baseOffset + i, epoch: e.epoch, record });
        });
      }
    }
    return this.effects;
  }

  /** Raft places and commits everything proposed so far; returns the effects of both steps. */
  commit(): ControllerEffect[] {
    if (this.proposed.length === 0) return [];
    const records = this.proposed;
    this.proposed = [];
    const accepted = this.input({
      _tag: "AppendAccepted",
      baseOffset: records[0]!.offset,
      lastOffset: records[records.length - 1]!.offset,
    });
    // Several proposals are accepted one by one in Raft; here only the first matters for ordering.
    while (this.state.proposals.length > 0) {
      this.state = { ...this.state, proposals: this.state.proposals.slice(1) };
    }
    return [...accepted, ...this.input({ _tag: "Committed", records })];
  }

  /** Send a request and commit what it writes; the answer it got (at once or at commit). */
  request(request: ControllerRequest, from = 100, commit = true): ControllerResponse {
    const correlationId = ++this.correlation;
    const now = this.input({ _tag: "Request", from, correlationId, request });
    const later = commit ? this.commit() : [];
    const answer = [...now, ...later].find((e) => e._tag === "Respond" && e.correlationId === correlationId);
    if (answer?._tag !== "Respond") throw new Error(`no answer to ${request._tag}`);
    return answer.response;
  }

  register(id: number, start = 1): number {
    const r = this.request(registration(id, incarnation(id, start)), id);
    if (r._tag !== "BrokerRegistrationResponse" || r.errorCode !== "NONE") throw new Error(JSON.stringify(r));
    return r.brokerEpoch;
  }

  unfence(id: number): void {
    const broker = findBroker(this.state.image, id)!;
    this.request(heartbeat(id, broker.epoch, this.state.committed.offset), id);
  }

  createTopic(
    name: string,
    assignments: number[][],
    configs: { name: string; value: string }[] = [],
  ): string {
    const r = this.request({
      _tag: "CreateTopicsRequest",
      validateOnly: false,
      topics: [
        {
          name,
          numPartitions: -1,
          replicationFactor: -1,
          assignments: assignments.map((brokerIds, partitionIndex) => ({ partitionIndex, brokerIds })),
          configs,
        },
      ],
    });
    if (r._tag !== "CreateTopicsResponse" || r.topics[0]?.errorCode !== "NONE")
      throw new Error(JSON.stringify(r));
    return r.topics[0].topicId!;
  }
}

const registration = (
  brokerId: number,
  incarnationId: string,
  clusterId = "test-cluster",
): ControllerRequest => ({
  _tag: "BrokerRegistrationRequest",
  brokerId,
  clusterId,
  incarnationId,
  listeners: [{ name: "PLAINTEXT", host: "localhost", port: 9092, securityProtocol: 0 }],
  features: FEATURES,
  rack: null,
  previousBrokerEpoch: -1,
});

const heartbeat = (
  brokerId: number,
  brokerEpoch: number,
  offset: number,
  flags: { wantFence?: boolean; wantShutDown?: boolean } = {},
): ControllerRequest => ({
  _tag: "BrokerHeartbeatRequest",
  brokerId,
  brokerEpoch,
  currentMetadataOffset: offset,
  wantFence: flags.wantFence ?? false,
  wantShutDown: flags.wantShutDown ?? false,
});

/** Three registered, unfenced brokers 4, 5, 6. */
const cluster = (): Harness => {
  const h = new Harness();
  for (const id of [4, 5, 6]) h.register(id);
  for (const id of [4, 5, 6]) h.unfence(id);
  return h;
};

const records = (effects: readonly ControllerEffect[]): MetadataRecord[] =>
  effects.flatMap((e) => (e._tag === "Propose" ? e.records : []));

describe("activation (R58, R105)", () => {
  it("writes metadata.version on a new cluster and arms the idle timer", () => {
    const h = new Harness(false);
    expect(h.effects).toEqual([
      {
        _tag: "Propose",
        epoch: 1,
        baseOffset: 1,
        records: [{ _tag: "FeatureLevelRecord", name: "metadata.version", featureLevel: 21 }],
      },
      { _tag: "ArmIdleTimer", delayMs: 500 },
    ]);
    expect(h.state.active).toBe(true);
    expect(h.state.nextOffset).toBe(2);
  });

  it("writes a NoOpRecord when idle, and re-arms; a standby ignores the timer", () => {
    const h = new Harness();
    expect(h.input({ _tag: "IdleTimeout" })).toEqual([
      { _tag: "Propose", epoch: 1, baseOffset: 2, records: [{ _tag: "NoOpRecord" }] },
      { _tag: "ArmIdleTimer", delayMs: 500 },
    ]);
    const standby = controllerStep(initialControllerState(2), { _tag: "IdleTimeout" }, config);
    expect(standby.effects).toEqual([]);
  });

  it("ignores a leader change from an older epoch and follows a newer one", () => {
    const h = new Harness();
    expect(h.input({ _tag: "LeaderChange", leaderId: 2, epoch: 0, logEndOffset: 0 })).toEqual([]);
    expect(h.state.active).toBe(true);
    h.input({ _tag: "LeaderChange", leaderId: 2, epoch: 2, logEndOffset: 5 });
    expect(h.state.active).toBe(false);
    expect(h.state.epoch).toBe(2);
  });

  it("gives every unfenced broker a session when it becomes active", () => {
    const h = cluster();
    h.input({ _tag: "LeaderChange", leaderId: 2, epoch: 2, logEndOffset: 20 });
    const effects = h.input({ _tag: "LeaderChange", leaderId: 1, epoch: 3, logEndOffset: 21 });
    expect(
      effects
        .filter((e) => e._tag === "ArmSessionTimer")
        .map((e) => (e._tag === "ArmSessionTimer" ? e.brokerId : 0)),
    ).toEqual([4, 5, 6]);
  });
});

describe("the write path (R104, R106)", () => {
  it("answers a write only when its records commit", () => {
    const h = new Harness();
    const now = h.input({
      _tag: "Request",
      from: 4,
      correlationId: 7,
      request: registration(4, incarnation(4)),
    });
    expect(now.some((e) => e._tag === "Respond")).toBe(false);
    expect(h.state.pending).toEqual([
      {
        lastOffset: 2,
        to: 4,
        correlationId: 7,
        response: { _tag: "BrokerRegistrationResponse", errorCode: "NONE", brokerEpoch: 2 },
      },
    ]);
    const later = h.commit();
    expect(later).toContainEqual({
      _tag: "Respond",
      to: 4,
      correlationId: 7,
      response: { _tag: "BrokerRegistrationResponse", errorCode: "NONE", brokerEpoch: 2 },
    });
  });

  it("keeps one image once all it wrote is committed, and two while some of it is not, or a commit differs", () => {
    const h = cluster();
    h.createTopic("t", [[4, 5]]);
    expect(h.state.committed).toBe(h.state.image);
    // Written, not yet committed: two images.
    h.input({
      _tag: "Request",
      from: 4,
      correlationId: 99,
      request: heartbeat(4, findBroker(h.state.image, 4)!.epoch, 0, { wantShutDown: true }),
    });
    expect(h.state.image.offset).toBeGreaterThan(h.state.committed.offset);
    h.commit();
    expect(h.state.committed).toBe(h.state.image);
    // A commit at the image's offset whose records are not the ones it wrote: the replay is kept.
    const before = h.state.image;
    const offset = before.offset + 1;
    h.input({ _tag: "AppendAccepted", baseOffset: offset, lastOffset: offset });
    h.state = { ...h.state, image: { ...before, offset } };
    h.input({
      _tag: "Committed",
      records: [
        {
          offset,
          epoch: 1,
          record: { _tag: "FenceBrokerRecord", id: 5, epoch: findBroker(before, 5)!.epoch },
        },
      ],
    });
    expect(h.state.committed).not.toBe(h.state.image);
    expect(findBroker(h.state.committed, 5)?.fenced).toBe(true);
    expect(findBroker(h.state.image, 5)?.fenced).toBe(false);
  });

  it("reverts to the committed image and fails pending writes NOT_CONTROLLER when leadership moves", () => {
    const h = new Harness();
    h.input({ _tag: "Request", from: 4, correlationId: 7, request: registration(4, incarnation(4)) });
    expect(findBroker(h.state.image, 4)).toBeDefined();
    const effects = h.input({ _tag: "LeaderChange", leaderId: 2, epoch: 2, logEndOffset: 2 });
    expect(effects).toContainEqual({
      _tag: "Respond",
      to: 4,
      correlationId: 7,
      response: { _tag: "BrokerRegistrationResponse", errorCode: "NOT_CONTROLLER", brokerEpoch: -1 },
    });
    expect(effects).toContainEqual({ _tag: "CancelSessionTimer", brokerId: 4 });
    expect(findBroker(h.state.image, 4)).toBeUndefined();
    expect(h.state.pending).toEqual([]);
  });

  it("resigns when Raft places records elsewhere than expected (R106)", () => {
    const h = new Harness();
    h.input({ _tag: "Request", from: 4, correlationId: 1, request: registration(4, incarnation(4)) });
    const effects = h.input({ _tag: "AppendAccepted", baseOffset: 3, lastOffset: 3 });
    expect(effects[0]).toEqual({
      _tag: "ResignLeadership",
      epoch: 1,
      reason: "records expected at 2 were placed at 3",
    });
    expect(h.state.active).toBe(false);
  });

  it("resigns when Raft refuses a proposal; a standby ignores the refusal", () => {
    const h = new Harness();
    h.input({ _tag: "Request", from: 4, correlationId: 1, request: registration(4, incarnation(4)) });
    expect(h.input({ _tag: "AppendRejected" })[0]).toEqual({
      _tag: "ResignLeadership",
      epoch: 1,
      reason: "the Raft layer refused a proposal",
    });
    expect(h.input({ _tag: "AppendRejected" })).toEqual([]);
  });

  it("reports committed records that do not fit the image", () => {
    const h = new Harness();
    const effects = h.input({
      _tag: "Committed",
      records: [
        { offset: 5, epoch: 1, record: { _tag: "RemoveTopicRecord", topicId: "AAAAAAAAAAAAAAAAAAAAAA" } },
      ],
    });
    expect(effects).toEqual([
      { _tag: "ReplayProblem", offset: 5, problem: "offset 5: no topic with id AAAAAAAAAAAAAAAAAAAAAA" },
    ]);
  });

  it("answers every request NOT_CONTROLLER while standby", () => {
    const standby = initialControllerState(2);
    const requests: ControllerRequest[] = [
      registration(4, incarnation(4)),
      heartbeat(4, 2, 3),
      {
        _tag: "CreateTopicsRequest",
        validateOnly: false,
        topics: [{ name: "t", numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
      },
      { _tag: "DeleteTopicsRequest", topics: [{ name: "t", topicId: null }] },
      {
        _tag: "CreatePartitionsRequest",
        validateOnly: false,
        topics: [{ name: "t", count: 2, assignments: null }],
      },
      { _tag: "AlterPartitionRequest", brokerId: 4, brokerEpoch: 2, topics: [] },
      { _tag: "ElectLeadersRequest", electionType: ELECTION_PREFERRED, topicPartitions: null },
      {
        _tag: "IncrementalAlterConfigsRequest",
        validateOnly: false,
        resources: [{ resourceType: RESOURCE_TOPIC, resourceName: "t", configs: [] }],
      },
      {
        _tag: "AlterConfigsRequest",
        validateOnly: false,
        resources: [{ resourceType: RESOURCE_TOPIC, resourceName: "t", configs: [] }],
      },
      {
        _tag: "DescribeConfigsRequest",
        resources: [{ resourceType: RESOURCE_TOPIC, resourceName: "t", configurationKeys: null }],
      },
    ];
    const codes = requests.map((request) => {
      const { effects } = controllerStep(
        standby,
        { _tag: "Request", from: 9, correlationId: 1, request },
        config,
      );
      expect(effects).toHaveLength(1);
      return JSON.stringify(effects[0]).match(/NOT_CONTROLLER/g)?.length ?? 0;
    });
    expect(codes.every((n) => n >= 1)).toBe(true);
  });

  it("fails a successful answer of every kind with the given code", () => {
    const cases: ControllerResponse[] = [
      { _tag: "BrokerRegistrationResponse", errorCode: "NONE", brokerEpoch: 4 },
      {
        _tag: "BrokerHeartbeatResponse",
        errorCode: "NONE",
        isCaughtUp: true,
        isFenced: false,
        shouldShutDown: false,
      },
      {
        _tag: "CreateTopicsResponse",
        topics: [
          {
            name: "t",
            topicId: "AAAAAAAAAAAAAAAAAAAAAA",
            errorCode: "NONE",
            errorMessage: null,
            numPartitions: 1,
            replicationFactor: 1,
          },
        ],
      },
      {
        _tag: "DeleteTopicsResponse",
        responses: [{ name: "t", topicId: null, errorCode: "NONE", errorMessage: null }],
      },
      { _tag: "CreatePartitionsResponse", results: [{ name: "t", errorCode: "NONE", errorMessage: null }] },
      { _tag: "AlterPartitionResponse", errorCode: "NONE", topics: [] },
      { _tag: "ElectLeadersResponse", errorCode: "NONE", replicaElectionResults: [] },
      {
        _tag: "IncrementalAlterConfigsResponse",
        responses: [{ errorCode: "NONE", errorMessage: null, resourceType: 2, resourceName: "t" }],
      },
      {
        _tag: "AlterConfigsResponse",
        responses: [{ errorCode: "NONE", errorMessage: null, resourceType: 2, resourceName: "t" }],
      },
    ];
    for (const response of cases) {
      const failed = failedWith(response, "NOT_CONTROLLER");
      expect(JSON.stringify(failed)).not.toContain('"NONE"');
      expect(JSON.stringify(failed)).toContain("NOT_CONTROLLER");
    }
    const described: ControllerResponse = { _tag: "DescribeConfigsResponse", results: [] };
    expect(failedWith(described, "NOT_CONTROLLER")).toBe(described);
  });
});

describe("broker registration and heartbeats (R112–R119)", () => {
  it("gives a new incarnation the offset of its record as epoch, and a retry the same epoch", () => {
    const h = new Harness();
    expect(h.register(4)).toBe(2);
    expect(h.register(4)).toBe(2);
    expect(findBroker(h.state.committed, 4)?.fenced).toBe(true);
  });

  it("refuses bad registrations with Kafka's codes, writing nothing", () => {
    const h = cluster();
    const before = h.state.committed;
    const code = (request: ControllerRequest) => {
      const r = h.request(request, 9);
      return r._tag === "BrokerRegistrationResponse" ? r.errorCode : r._tag;
    };
    expect(code(registration(9, incarnation(9), "other"))).toBe("INCONSISTENT_CLUSTER_ID");
    expect(code(registration(-3, incarnation(9)))).toBe("INVALID_REQUEST");
    expect(code(registration(4, incarnation(4, 2)))).toBe("DUPLICATE_BROKER_REGISTRATION");
    expect(code({ ...registration(9, incarnation(9)), features: [] } as ControllerRequest)).toBe(
      "UNSUPPORTED_VERSION",
    );
    expect(
      code({
        ...registration(9, incarnation(9)),
        features: [{ name: "metadata.version", minSupportedVersion: 1, maxSupportedVersion: 3 }],
      } as ControllerRequest),
    ).toBe("UNSUPPORTED_VERSION");
    expect(h.state.committed).toBe(before);
  });

  it("keeps a broker fenced until it has replayed its own registration", () => {
    const h = new Harness();
    const epoch = h.register(4);
    const r = h.request(heartbeat(4, epoch, epoch - 1), 4);
    expect(r).toEqual({
      _tag: "BrokerHeartbeatResponse",
      errorCode: "NONE",
      isCaughtUp: false,
      isFenced: true,
      shouldShutDown: false,
    });
    const ok = h.request(heartbeat(4, epoch, epoch), 4);
    expect(ok).toEqual({
      _tag: "BrokerHeartbeatResponse",
      errorCode: "NONE",
      isCaughtUp: true,
      isFenced: false,
      shouldShutDown: false,
    });
  });

  it("fences on request and lets a fenced broker that wants to shut down go at once", () => {
    const h = cluster();
    const epoch = findBroker(h.state.image, 6)!.epoch;
    expect(h.request(heartbeat(6, epoch, 10, { wantFence: true }), 6)).toMatchObject({
      isFenced: true,
      shouldShutDown: false,
    });
    expect(findBroker(h.state.committed, 6)?.fenced).toBe(true);
    expect(h.request(heartbeat(6, epoch, 10, { wantShutDown: true }), 6)).toMatchObject({
      isFenced: true,
      shouldShutDown: true,
    });
  });

  it("lets an unfenced broker that leads nothing shut down at once", () => {
    const h = cluster();
    const epoch = findBroker(h.state.image, 6)!.epoch;
    const effects = h.input({
      _tag: "Request",
      from: 6,
      correlationId: 1,
      request: heartbeat(6, epoch, 10, { wantShutDown: true }),
    });
    expect(records(effects)).toEqual([
      {
        _tag: "BrokerRegistrationChangeRecord",
        brokerId: 6,
        brokerEpoch: epoch,
        fenced: 1,
        inControlledShutdown: 0,
      },
    ]);
    expect(effects).toContainEqual({ _tag: "CancelSessionTimer", brokerId: 6 });
  });

  it("fences a broker whose session expired, moving its leadership first; only once", () => {
    const h = cluster();
    const topicId = h.createTopic("t", [[4, 5]]);
    const effects = h.input({ _tag: "SessionExpired", brokerId: 4 });
    expect(records(effects)).toEqual([
      {
        _tag: "PartitionChangeRecord",
        partitionId: 0,
        topicId,
        isr: [5],
        leader: 5,
        replicas: null,
        removingReplicas: null,
        addingReplicas: null,
        leaderRecoveryState: -1,
      },
      {
        _tag: "BrokerRegistrationChangeRecord",
        brokerId: 4,
        brokerEpoch: 2,
        fenced: 1,
        inControlledShutdown: 0,
      },
    ]);
    h.commit();
    expect(h.input({ _tag: "SessionExpired", brokerId: 4 })).toEqual([]);
  });

  it("answers heartbeats from unknown brokers and stale epochs", () => {
    const h = cluster();
    expect(h.request(heartbeat(9, 1, 1), 9)).toMatchObject({ errorCode: "BROKER_ID_NOT_REGISTERED" });
    expect(h.request(heartbeat(4, 99, 1), 4)).toMatchObject({ errorCode: "STALE_BROKER_EPOCH" });
  });
});

describe("topics (R121)", () => {
  const create = (
    h: Harness,
    topic: Partial<{
      name: string;
      numPartitions: number;
      replicationFactor: number;
      assignments: { partitionIndex: number; brokerIds: number[] }[];
      configs: { name: string; value: string | null }[];
    }>,
    validateOnly = false,
  ) => {
    const r = h.request({
      _tag: "CreateTopicsRequest",
      validateOnly,
      topics: [{ name: "t", numPartitions: 1, replicationFactor: 1, assignments: [], configs: [], ...topic }],
    });
    if (r._tag !== "CreateTopicsResponse") throw new Error(r._tag);
    return r.topics[0]!;
  };

  it("refuses every invalid topic with Kafka's error code and writes nothing", () => {
    const h = cluster();
    const before = h.state.committed;
    const cases: [Parameters<typeof create>[1], string][] = [
      [{ name: "" }, "INVALID_TOPIC_EXCEPTION"],
      [{ name: "x".repeat(250) }, "INVALID_TOPIC_EXCEPTION"],
      [{ name: "a b" }, "INVALID_TOPIC_EXCEPTION"],
      [{ name: "." }, "INVALID_TOPIC_EXCEPTION"],
      [{ numPartitions: 0 }, "INVALID_PARTITIONS"],
      [{ numPartitions: -2 }, "INVALID_PARTITIONS"],
      [{ replicationFactor: 0 }, "INVALID_REPLICATION_FACTOR"],
      [{ replicationFactor: 4 }, "INVALID_REPLICATION_FACTOR"],
      [{ configs: [{ name: "retention.ms", value: "soon" }] }, "INVALID_CONFIG"],
      [{ configs: [{ name: "min.insync.replicas", value: "0" }] }, "INVALID_CONFIG"],
      [{ configs: [{ name: "compression.type", value: "brotli" }] }, "INVALID_CONFIG"],
      [
        { numPartitions: -1, replicationFactor: -1, assignments: [{ partitionIndex: 1, brokerIds: [4] }] },
        "INVALID_REPLICA_ASSIGNMENT",
      ],
      [
        { numPartitions: -1, replicationFactor: -1, assignments: [{ partitionIndex: 0, brokerIds: [4, 4] }] },
        "INVALID_REPLICA_ASSIGNMENT",
      ],
      [
        { numPartitions: -1, replicationFactor: -1, assignments: [{ partitionIndex: 0, brokerIds: [] }] },
        "INVALID_REPLICATION_FACTOR",
      ],
      [
        {
          numPartitions: -1,
          replicationFactor: -1,
          assignments: [
            { partitionIndex: 0, brokerIds: [4, 5] },
            { partitionIndex: 1, brokerIds: [4] },
          ],
        },
        "INVALID_REPLICA_ASSIGNMENT",
      ],
      [
        { numPartitions: 2, replicationFactor: -1, assignments: [{ partitionIndex: 0, brokerIds: [4] }] },
        "INVALID_REQUEST",
      ],
    ];
    for (const [topic, code] of cases) expect([topic, create(h, topic).errorCode]).toEqual([topic, code]);
    expect(h.state.committed).toBe(before);
  });

  it("refuses a topic named twice in one request and a topic that exists", () => {
    const h = cluster();
    h.createTopic("t", [[4]]);
    const r = h.request({
      _tag: "CreateTopicsRequest",
      validateOnly: false,
      topics: [
        { name: "u", numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] },
        { name: "u", numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] },
        { name: "t", numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] },
      ],
    });
    expect(r._tag === "CreateTopicsResponse" && r.topics.map((t) => t.errorCode)).toEqual([
      "NONE",
      "INVALID_REQUEST",
      "TOPIC_ALREADY_EXISTS",
    ]);
  });

  it("refuses replicas that are all fenced", () => {
    const h = cluster();
    h.request(heartbeat(6, findBroker(h.state.image, 6)!.epoch, 20, { wantFence: true }), 6);
    expect(
      create(h, {
        numPartitions: -1,
        replicationFactor: -1,
        assignments: [{ partitionIndex: 0, brokerIds: [6] }],
      }).errorCode,
    ).toBe("INVALID_REPLICA_ASSIGNMENT");
  });

  it("uses the defaults for -1 and places only on usable brokers; validateOnly writes nothing", () => {
    const h = cluster();
    const before = h.state.committed;
    expect(create(h, { numPartitions: 3, replicationFactor: 2 }, true)).toMatchObject({
      errorCode: "NONE",
      numPartitions: 3,
      replicationFactor: 2,
    });
    expect(h.state.committed).toBe(before);
    // A config without a value is refused before anything else is looked at, as Kafka does.
    expect(
      create(h, {
        name: "d",
        numPartitions: -1,
        replicationFactor: 0,
        configs: [
          { name: "retention.ms", value: null },
          { name: "cleanup.policy", value: "compact" },
          { name: "segment.bytes", value: null },
        ],
      }),
    ).toEqual({
      name: "d",
      topicId: null,
      errorCode: "INVALID_CONFIG",
      errorMessage: "Null value not supported for topic configs: retention.ms,segment.bytes",
      numPartitions: -1,
      replicationFactor: -1,
    });
    expect(h.state.committed).toBe(before);
    expect(create(h, { name: "d", numPartitions: -1, replicationFactor: -1 })).toMatchObject({
      errorCode: "NONE",
      numPartitions: 1,
      replicationFactor: 1,
    });
    const topic = findTopic(h.state.committed, "d")!;
    expect(findPartition(topic, 0)).toMatchObject({
      leaderEpoch: 0,
      partitionEpoch: 0,
      leaderRecoveryState: 0,
    });
  });

  it("deletes topics by name or id, and says which do not exist", () => {
    const h = cluster();
    const id = h.createTopic("t", [[4]]);
    h.createTopic("u", [[5]], [{ name: "retention.ms", value: "1000" }]);
    const r = h.request({
      _tag: "DeleteTopicsRequest",
      topics: [
        { name: null, topicId: id },
        { name: "u", topicId: null },
        { name: null, topicId: "AAAAAAAAAAAAAAAAAAAAAA" },
        { name: "v", topicId: null },
      ],
    });
    expect(r._tag === "DeleteTopicsResponse" && r.responses.map((x) => x.errorCode)).toEqual([
      "NONE",
      "NONE",
      "UNKNOWN_TOPIC_ID",
      "UNKNOWN_TOPIC_OR_PARTITION",
    ]);
    expect(topicsOf(h.state.committed)).toEqual([]);
    expect(configsOf(h.state.committed)).toEqual([]);
  });

  it("adds partitions, with or without assignments", () => {
    const h = cluster();
    h.createTopic("t", [[4, 5]]);
    const add = (count: number, assignments: { brokerIds: number[] }[] | null) => {
      const r = h.request({
        _tag: "CreatePartitionsRequest",
        validateOnly: false,
        topics: [{ name: "t", count, assignments }],
      });
      return r._tag === "CreatePartitionsResponse" ? r.results[0]!.errorCode : r._tag;
    };
    expect(add(3, [{ brokerIds: [4, 5] }])).toBe("INVALID_REPLICA_ASSIGNMENT");
    expect(add(2, [{ brokerIds: [4, 9] }])).toBe("INVALID_REPLICA_ASSIGNMENT");
    expect(add(2, [{ brokerIds: [6, 4] }])).toBe("NONE");
    expect(add(3, null)).toBe("NONE");
    expect(partitionsOf(findTopic(h.state.committed, "t")!).map((p) => p.replicas)).toEqual([
      [4, 5],
      [6, 4],
      expect.any(Array),
    ]);
    h.request(heartbeat(6, findBroker(h.state.image, 6)!.epoch, 30, { wantFence: true }), 6);
    h.request(heartbeat(5, findBroker(h.state.image, 5)!.epoch, 30, { wantFence: true }), 5);
    expect(add(4, null)).toBe("INVALID_REPLICATION_FACTOR");
    // KAFKA-13916: a manual assignment needs a usable replica, as a new topic's does (KAFKA-13083).
    const refused = h.request({
      _tag: "CreatePartitionsRequest",
      validateOnly: false,
      topics: [{ name: "t", count: 4, assignments: [{ brokerIds: [5, 6] }] }],
    });
    expect(refused).toEqual({
      _tag: "CreatePartitionsResponse",
      results: [
        {
          name: "t",
          errorCode: "INVALID_REPLICA_ASSIGNMENT",
          errorMessage:
            "All brokers specified in the manual partition assignment for partition 3 are fenced or in controlled shutdown.",
        },
      ],
    });
    expect(findTopic(h.state.committed, "t")!.partitions.size).toBe(3);
    expect(add(4, [{ brokerIds: [5, 4] }])).toBe("NONE");
    expect(partitionsOf(findTopic(h.state.committed, "t")!)[3]).toMatchObject({ replicas: [5, 4], isr: [4] });
  });
});

describe("AlterPartition (R126)", () => {
  it("checks the ISR's members: registered, usable, of their current epoch", () => {
    const h = cluster();
    const topicId = h.createTopic("t", [[4, 5, 6]]);
    h.input({ _tag: "SessionExpired", brokerId: 6 });
    h.commit();
    const alter = (isr: { brokerId: number; brokerEpoch: number }[], leaderRecoveryState = 0) =>
      h.request({
        _tag: "AlterPartitionRequest",
        brokerId: 4,
        brokerEpoch: 2,
        topics: [
          {
            topicId,
            partitions: [
              {
                partitionIndex: 0,
                leaderEpoch: 0,
                newIsrWithEpochs: isr,
                leaderRecoveryState,
                partitionEpoch: 1,
              },
            ],
          },
        ],
      });
    const code = (r: ControllerResponse) =>
      r._tag === "AlterPartitionResponse" ? r.topics[0]?.partitions[0]?.errorCode : r._tag;
    expect(
      code(
        alter([
          { brokerId: 4, brokerEpoch: 2 },
          { brokerId: 6, brokerEpoch: 4 },
        ]),
      ),
    ).toBe("INELIGIBLE_REPLICA");
    expect(
      code(
        alter([
          { brokerId: 4, brokerEpoch: 2 },
          { brokerId: 5, brokerEpoch: 99 },
        ]),
      ),
    ).toBe("INELIGIBLE_REPLICA");
    expect(
      code(
        alter([
          { brokerId: 4, brokerEpoch: 2 },
          { brokerId: 9, brokerEpoch: -1 },
        ]),
      ),
    ).toBe("INVALID_REQUEST");
    expect(
      code(
        alter([
          { brokerId: 4, brokerEpoch: 2 },
          { brokerId: 4, brokerEpoch: 2 },
        ]),
      ),
    ).toBe("INVALID_REQUEST");
    expect(code(alter([{ brokerId: 4, brokerEpoch: 2 }], 7))).toBe("INVALID_REQUEST");
    expect(
      code(
        alter(
          [
            { brokerId: 4, brokerEpoch: 2 },
            { brokerId: 5, brokerEpoch: 3 },
          ],
          LEADER_RECOVERING,
        ),
      ),
    ).toBe("INVALID_REQUEST");
    expect(code(alter([{ brokerId: 4, brokerEpoch: 2 }], LEADER_RECOVERING))).toBe("INVALID_REQUEST");
    expect(
      code(
        alter([
          { brokerId: 4, brokerEpoch: 2 },
          { brokerId: 5, brokerEpoch: -1 },
        ]),
      ),
    ).toBe("NONE");
  });

  it("answers for unknown topics and partitions", () => {
    const h = cluster();
    const r = h.request({
      _tag: "AlterPartitionRequest",
      brokerId: 4,
      brokerEpoch: 2,
      topics: [
        {
          topicId: "AAAAAAAAAAAAAAAAAAAAAA",
          partitions: [
            {
              partitionIndex: 0,
              leaderEpoch: 0,
              newIsrWithEpochs: [],
              leaderRecoveryState: 0,
              partitionEpoch: 0,
            },
          ],
        },
      ],
    });
    expect(r._tag === "AlterPartitionResponse" && r.topics[0]?.partitions[0]?.errorCode).toBe(
      "UNKNOWN_TOPIC_ID",
    );
  });
});

describe("ElectLeaders (R123)", () => {
  it("refuses an unknown election type and reports every partition when none is named", () => {
    const h = cluster();
    h.createTopic("t", [
      [4, 5],
      [5, 4],
    ]);
    expect(h.request({ _tag: "ElectLeadersRequest", electionType: 5, topicPartitions: null })).toEqual({
      _tag: "ElectLeadersResponse",
      errorCode: "INVALID_REQUEST",
      replicaElectionResults: [],
    });
    const r = h.request({
      _tag: "ElectLeadersRequest",
      electionType: ELECTION_PREFERRED,
      topicPartitions: null,
    });
    expect(
      r._tag === "ElectLeadersResponse" &&
        r.replicaElectionResults[0]?.partitionResult.map((p) => p.errorCode),
    ).toEqual(["ELECTION_NOT_NEEDED", "ELECTION_NOT_NEEDED"]);
    const u = h.request({
      _tag: "ElectLeadersRequest",
      electionType: ELECTION_UNCLEAN,
      topicPartitions: null,
    });
    expect(
      u._tag === "ElectLeadersResponse" &&
        u.replicaElectionResults[0]?.partitionResult.map((p) => p.errorCode),
    ).toEqual(["ELECTION_NOT_NEEDED", "ELECTION_NOT_NEEDED"]);
  });

  it("cannot elect the preferred replica while it is fenced, nor anyone unclean when nobody is usable", () => {
    const h = cluster();
    h.createTopic("t", [[4, 5]]);
    h.input({ _tag: "SessionExpired", brokerId: 4 });
    h.commit();
    const preferred = h.request({
      _tag: "ElectLeadersRequest",
      electionType: ELECTION_PREFERRED,
      topicPartitions: [{ topic: "t", partitions: [0] }],
    });
    expect(
      preferred._tag === "ElectLeadersResponse" &&
        preferred.replicaElectionResults[0]?.partitionResult[0]?.errorCode,
    ).toBe("PREFERRED_LEADER_NOT_AVAILABLE");
    h.input({ _tag: "SessionExpired", brokerId: 5 });
    h.commit();
    const unclean = h.request({
      _tag: "ElectLeadersRequest",
      electionType: ELECTION_UNCLEAN,
      topicPartitions: [{ topic: "t", partitions: [0] }],
    });
    expect(
      unclean._tag === "ElectLeadersResponse" &&
        unclean.replicaElectionResults[0]?.partitionResult[0]?.errorCode,
    ).toBe("ELIGIBLE_LEADERS_NOT_AVAILABLE");
  });
});

describe("configs", () => {
  const alter = (
    h: Harness,
    resourceType: number,
    resourceName: string,
    configs: { name: string; configOperation: number; value: string | null }[],
    validateOnly = false,
  ) => {
    const r = h.request({
      _tag: "IncrementalAlterConfigsRequest",
      validateOnly,
      resources: [{ resourceType, resourceName, configs }],
    });
    if (r._tag !== "IncrementalAlterConfigsResponse") throw new Error(r._tag);
    return r.responses[0]!;
  };

  it("sets, appends, subtracts and deletes topic configs", () => {
    const h = cluster();
    h.createTopic("t", [[4]]);
    expect(
      alter(h, RESOURCE_TOPIC, "t", [
        { name: "cleanup.policy", configOperation: CONFIG_APPEND, value: "compact" },
      ]).errorCode,
    ).toBe("NONE");
    expect(configsOf(h.state.committed)).toEqual([
      { resourceType: 2, resourceName: "t", name: "cleanup.policy", value: "delete,compact" },
    ]);
    alter(h, RESOURCE_TOPIC, "t", [
      { name: "cleanup.policy", configOperation: CONFIG_SUBTRACT, value: "delete" },
    ]);
    expect(configsOf(h.state.committed)[0]?.value).toBe("compact");
    alter(h, RESOURCE_TOPIC, "t", [{ name: "retention.ms", configOperation: CONFIG_SET, value: "5" }]);
    alter(h, RESOURCE_TOPIC, "t", [{ name: "cleanup.policy", configOperation: CONFIG_DELETE, value: null }]);
    expect(configsOf(h.state.committed)).toEqual([
      { resourceType: 2, resourceName: "t", name: "retention.ms", value: "5" },
    ]);
    const before = h.state.committed;
    expect(
      alter(h, RESOURCE_TOPIC, "t", [{ name: "retention.ms", configOperation: CONFIG_SET, value: "6" }], true)
        .errorCode,
    ).toBe("NONE");
    expect(h.state.committed).toBe(before);
  });

  it("refuses bad operations, values, names and resources", () => {
    const h = cluster();
    h.createTopic("t", [[4]]);
    const code = (type: number, name: string, op: number, key: string, value: string | null) =>
      alter(h, type, name, [{ name: key, configOperation: op, value }]).errorCode;
    expect(code(RESOURCE_TOPIC, "t", CONFIG_SET, "retention.ms", null)).toBe("INVALID_REQUEST");
    expect(code(RESOURCE_TOPIC, "t", 9, "retention.ms", "1")).toBe("INVALID_REQUEST");
    expect(code(RESOURCE_TOPIC, "t", CONFIG_APPEND, "retention.ms", "1")).toBe("INVALID_CONFIG");
    expect(code(RESOURCE_TOPIC, "t", CONFIG_SET, "no.such", "1")).toBe("INVALID_CONFIG");
    expect(code(RESOURCE_TOPIC, "t", CONFIG_SET, "retention.ms", "-5")).toBe("INVALID_CONFIG");
    expect(code(RESOURCE_TOPIC, "nosuch", CONFIG_SET, "retention.ms", "1")).toBe(
      "UNKNOWN_TOPIC_OR_PARTITION",
    );
    expect(code(RESOURCE_BROKER, "four", CONFIG_SET, "log.cleaner.threads", "1")).toBe("INVALID_REQUEST");
    expect(code(7, "x", CONFIG_SET, "a", "1")).toBe("INVALID_REQUEST");
    expect(code(RESOURCE_BROKER, "", CONFIG_SET, "unclean.leader.election.enable", "true")).toBe("NONE");
    expect(code(RESOURCE_BROKER, "4", CONFIG_SET, "log.cleaner.threads", "2")).toBe("NONE");
  });

  it("R111: appends and subtracts list items as Kafka splits them", () => {
    const h = cluster();
    h.createTopic("t", [[4]]);
    const list = (op: number, value: string) => {
      const r = alter(h, RESOURCE_TOPIC, "t", [{ name: "cleanup.policy", configOperation: op, value }]);
      return [r.errorCode, configsOf(h.state.committed)[0]?.value ?? null];
    };
    // An item given twice is appended once; trailing commas are dropped.
    expect(list(CONFIG_APPEND, "compact,compact,,")).toEqual(["NONE", "delete,compact"]);
    // An empty item elsewhere is appended as one, and the list check refuses it; nothing is written.
    expect(list(CONFIG_APPEND, ",delete")).toEqual(["INVALID_CONFIG", "delete,compact"]);
    expect(list(CONFIG_APPEND, "delete,,compact")).toEqual(["INVALID_CONFIG", "delete,compact"]);
    expect(list(CONFIG_APPEND, "")).toEqual(["INVALID_CONFIG", "delete,compact"]);
    // Subtracting removes the first copy of each item given.
    expect(list(CONFIG_SET, "delete,compact,delete")).toEqual(["NONE", "delete,compact,delete"]);
    expect(list(CONFIG_SUBTRACT, "delete,,")).toEqual(["NONE", "compact,delete"]);
  });

  it("R111: refuses a resource named twice, a key given twice and a missing value, as a broker does", () => {
    const h = cluster();
    h.createTopic("t", [[4]]);
    const before = h.state.committed;
    const set = (name: string, value: string | null) => ({ name, configOperation: CONFIG_SET, value });
    const r = h.request({
      _tag: "IncrementalAlterConfigsRequest",
      validateOnly: false,
      resources: [
        { resourceType: RESOURCE_TOPIC, resourceName: "t", configs: [set("retention.ms", "1")] },
        { resourceType: RESOURCE_BROKER, resourceName: "4", configs: [set("log.cleaner.threads", "2")] },
        { resourceType: RESOURCE_TOPIC, resourceName: "t", configs: [set("retention.ms", "2")] },
      ],
    });
    expect(r).toEqual({
      _tag: "IncrementalAlterConfigsResponse",
      responses: [
        {
          errorCode: "INVALID_REQUEST",
          errorMessage: "Each resource must appear at most once.",
          resourceType: RESOURCE_TOPIC,
          resourceName: "t",
        },
        { errorCode: "NONE", errorMessage: null, resourceType: RESOURCE_BROKER, resourceName: "4" },
        {
          errorCode: "INVALID_REQUEST",
          errorMessage: "Each resource must appear at most once.",
          resourceType: RESOURCE_TOPIC,
          resourceName: "t",
        },
      ],
    });
    expect(configsOf(h.state.committed)).toEqual([
      { resourceType: RESOURCE_BROKER, resourceName: "4", name: "log.cleaner.threads", value: "2" },
    ]);
    const committed = h.state.committed;
    expect(alter(h, RESOURCE_TOPIC, "t", [set("retention.ms", "1"), set("retention.ms", "2")])).toEqual({
      errorCode: "INVALID_REQUEST",
      errorMessage: "Error due to duplicate config keys",
      resourceType: RESOURCE_TOPIC,
      resourceName: "t",
    });
    // Checked before the resource: a topic that does not exist is not what is reported.
    expect(
      alter(h, RESOURCE_TOPIC, "nosuch", [
        set("retention.ms", null),
        { name: "cleanup.policy", configOperation: CONFIG_APPEND, value: null },
        { name: "segment.bytes", configOperation: CONFIG_DELETE, value: null },
      ]),
    ).toEqual({
      errorCode: "INVALID_REQUEST",
      errorMessage: "Null value not supported for : retention.ms, cleanup.policy",
      resourceType: RESOURCE_TOPIC,
      resourceName: "nosuch",
    });
    expect(h.state.committed).toBe(committed);
    expect(before).not.toBe(committed);
  });

  it("R111: the legacy AlterConfigs makes the given configs the whole set, deleting the rest", () => {
    const h = cluster();
    h.createTopic(
      "t",
      [[4]],
      [
        { name: "retention.ms", value: "10" },
        { name: "cleanup.policy", value: "compact" },
      ],
    );
    const legacy = (configs: { name: string; value: string | null }[], validateOnly = false) => {
      const r = h.request({
        _tag: "AlterConfigsRequest",
        validateOnly,
        resources: [{ resourceType: RESOURCE_TOPIC, resourceName: "t", configs }],
      });
      if (r._tag !== "AlterConfigsResponse") throw new Error(r._tag);
      return r.responses[0]!;
    };
    const before = h.state.committed;
    expect(legacy([{ name: "retention.ms", value: "99" }], true)).toEqual({
      errorCode: "NONE",
      errorMessage: null,
      resourceType: RESOURCE_TOPIC,
      resourceName: "t",
    });
    expect(h.state.committed).toBe(before);
    expect(legacy([{ name: "retention.ms", value: "99" }]).errorCode).toBe("NONE");
    expect(configsOf(h.state.committed)).toEqual([
      { resourceType: 2, resourceName: "t", name: "retention.ms", value: "99" },
    ]);
    // A key given twice, an invalid value: refused whole, nothing written.
    const refusedFrom = h.state.committed;
    expect(
      legacy([
        { name: "retention.ms", value: "1" },
        { name: "retention.ms", value: "2" },
      ]),
    ).toMatchObject({
      errorCode: "INVALID_REQUEST",
      errorMessage: "Error due to duplicate config keys",
    });
    expect(legacy([{ name: "retention.ms", value: "-5" }]).errorCode).toBe("INVALID_CONFIG");
    expect(h.state.committed).toBe(refusedFrom);
    // The empty set deletes every explicit value.
    expect(legacy([]).errorCode).toBe("NONE");
    expect(configsOf(h.state.committed)).toEqual([]);
  });

  it("describes committed values, defaults, and filtered keys", () => {
    const h = cluster();
    h.createTopic("t", [[4]], [{ name: "retention.ms", value: "10" }]);
    const all = describeConfigs(h.state.committed, {
      _tag: "DescribeConfigsRequest",
      resources: [
        {
          resourceType: RESOURCE_TOPIC,
          resourceName: "t",
          configurationKeys: ["retention.ms", "segment.bytes"],
        },
      ],
    });
    expect(all.results[0]?.configs).toEqual([
      {
        name: "retention.ms",
        value: "10",
        readOnly: false,
        isDefault: false,
        configSource: 1,
        isSensitive: false,
      },
      {
        name: "segment.bytes",
        value: "1073741824",
        readOnly: false,
        isDefault: true,
        configSource: 5,
        isSensitive: false,
      },
    ]);
    const broker = describeConfigs(h.state.committed, {
      _tag: "DescribeConfigsRequest",
      resources: [{ resourceType: RESOURCE_BROKER, resourceName: "4", configurationKeys: null }],
    });
    expect(broker.results[0]?.configs).toHaveLength(4);
    const missing = h.request({
      _tag: "DescribeConfigsRequest",
      resources: [{ resourceType: RESOURCE_TOPIC, resourceName: "nosuch", configurationKeys: null }],
    });
    expect(missing._tag === "DescribeConfigsResponse" && missing.results[0]?.errorCode).toBe(
      "UNKNOWN_TOPIC_OR_PARTITION",
    );
  });
});
