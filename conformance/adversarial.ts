// Adversarial vectors: one node of each layer fed seeded random well-typed inputs — peers' messages
// with fields off by one (epochs, offsets, cluster ids, voter keys), answers with every error code to
// the requests it has in flight, timers, client calls, failed requests, records the controller did not
// expect — for the rule branches that the transcripts and cluster walks, made of correct nodes, never
// take. A walk is kept only when it takes a coverage mark (spec/marks.ts) that no kept vector takes,
// so the set stays small; the rules a vector names are those of the marks it takes.

import { type ClusterSpec, DEFAULT_CLUSTER, nodeConfig } from "../spec/cluster/world.ts";
import type { Mark } from "../spec/marks.ts";
import {
  type BrokerInput,
  brokerStartEffects,
  brokerStep,
  initialBrokerState,
  makeBrokerConfig,
} from "../spec/metadata/broker.ts";
import {
  type ControllerConfig,
  type ControllerInput,
  type ControllerState,
  controllerStep,
  DEFAULT_CONTROLLER_CONFIG,
  initialControllerState,
} from "../spec/metadata/controller.ts";
import { findBroker, type OffsetRecord, partitionsOf, topicsOf } from "../spec/metadata/image.ts";
import type { MetadataRecord } from "../spec/metadata/records.ts";
import type { ControllerRequest, ControllerResponse } from "../spec/metadata/requests.ts";
import type { RaftInput } from "../spec/raft/io.ts";
import { lastEpoch } from "../spec/raft/log.ts";
import type { RaftMessage } from "../spec/raft/messages.ts";
import {
  type ErrorCode,
  METADATA_PARTITION,
  METADATA_TOPIC_ID,
  METADATA_TOPIC_NAME,
} from "../spec/raft/primitives.ts";
import { initialize } from "../spec/raft/startup.ts";
import { EMPTY_LOG, type NodeState, type RaftConfig, TimerKind } from "../spec/raft/state.ts";
import { step } from "../spec/raft/step.ts";
import { rulesOfMarks } from "./marks.ts";
import {
  type BrokerVector,
  type ControllerVector,
  project,
  projectBroker,
  projectController,
  type RaftVector,
  type Vector,
} from "./protocol.ts";
import { seededRandom } from "./walks.ts";

type Random = () => number;
const pick = <T>(random: Random, items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
const chance = (random: Random, p: number): boolean => random() < p;

/** Keep the walks that take a mark no kept walk took, in seed order. */
const keepNew = <V extends Vector>(
  seeds: number,
  walk: (seed: number) => { vector: V; marks: Set<Mark> },
  covered: Set<Mark>,
): V[] => {
  const kept: V[] = [];
  for (let seed = 1; seed <= seeds; seed++) {
    const { vector, marks } = walk(seed);
    if ([...marks].every((m) => covered.has(m))) continue;
    for (const m of marks) covered.add(m);
    kept.push({ ...vector, rules: rulesOfMarks(marks) });
  }
  return kept;
};

// ---- the Raft layer ------------------------------------------------------------------------------------

const TIMERS: readonly TimerKind[] = TimerKind.literals;
const ANSWER_ERRORS: readonly ErrorCode[] = [
  "NONE",
  "NONE",
  "NONE",
  "NONE",
  "FENCED_LEADER_EPOCH",
  "NOT_LEADER_OR_FOLLOWER",
  "UNKNOWN_LEADER_EPOCH",
  "INCONSISTENT_CLUSTER_ID",
  "INVALID_REQUEST",
  "UNSUPPORTED_VERSION",
];

/** A fetched batch's epoch: one drawn above the leader's is kept (R66: a corrupt answer), others clamped. */
const batchEpoch = (drawn: number, leaderEpoch: number, last: number): number =>
  drawn > leaderEpoch ? drawn : Math.min(leaderEpoch, Math.max(last, drawn));

/** An answer to a request `s` has in flight, with fields around what `s` knows. */
const answerTo = (random: Random, s: NodeState, to: number, api: string): RaftMessage => {
  const errorCode = pick(random, ANSWER_ERRORS);
  const leaderEpoch = Math.max(0, s.epoch + pick(random, [-1, 0, 0, 0, 1]));
  const leaderId = pick(random, [-1, -1, to, to, s.nodeId, 9]);
  switch (api) {
    case "Vote":
      return { _tag: "VoteResponse", errorCode, leaderId, leaderEpoch, voteGranted: chance(random, 0.6) };
    case "BeginQuorumEpoch":
      return { _tag: "BeginQuorumEpochResponse", errorCode, leaderId, leaderEpoch };
    case "EndQuorumEpoch":
      return { _tag: "EndQuorumEpochResponse", errorCode, leaderId, leaderEpoch };
    // R150: an auto-joining observer's own voter changes.
    case "AddRaftVoter":
    case "RemoveRaftVoter":
      return {
        _tag: api === "AddRaftVoter" ? "AddRaftVoterResponse" : "RemoveRaftVoterResponse",
        errorCode: pick(random, [...ANSWER_ERRORS, "DUPLICATE_VOTER", "VOTER_NOT_FOUND"]),
        errorMessage: null,
      };
    // R96: a voter-to-be's range, with or without kraft.version 1.
    case "ApiVersions":
      return {
        _tag: "ApiVersionsResponse",
        errorCode,
        kraftVersion: pick(random, [
          { minSupportedVersion: 0, maxSupportedVersion: 1 },
          { minSupportedVersion: 0, maxSupportedVersion: 0 },
          null,
        ]),
      };
    case "FetchSnapshot": {
      // Mostly the part the download waits for; sometimes another snapshot, position or error.
      const download = s.role._tag === "Follower" ? s.role.fetchingSnapshot : undefined;
      const id = download ?? { endOffset: s.log.endOffset + 2, epoch: leaderEpoch, position: 0 };
      const size = pick(random, [id.endOffset, id.position + 1, id.position + 2]);
      return {
        _tag: "FetchSnapshotResponse",
        errorCode: pick(random, [...ANSWER_ERRORS, "SNAPSHOT_NOT_FOUND", "POSITION_OUT_OF_RANGE"]),
        leaderId: errorCode === "NONE" ? to : leaderId,
        leaderEpoch,
        snapshotId: chance(random, 0.85)
          ? { endOffset: id.endOffset, epoch: id.epoch }
          : { endOffset: id.endOffset + 1, epoch: id.epoch },
        size,
        position: chance(random, 0.85) ? id.position : id.position + 1,
        bytes: Math.max(0, Math.min(pick(random, [1, 2]), size - id.position)),
      };
    }
    default: {
      const end = s.log.endOffset;
      const records = chance(random, 0.5)
        ? [
            {
              baseOffset: Math.max(0, end + pick(random, [0, 0, 0, 1, -1])),
              // R66: sometimes of an epoch above the answer's leader epoch (a corrupt answer).
              epoch: batchEpoch(
                pick(random, [0, leaderEpoch, leaderEpoch + 1]),
                leaderEpoch,
                lastEpoch(s.log),
              ),
              count: pick(random, [1, 2]),
            },
          ]
        : [];
      const diverging = chance(random, 0.2)
        ? {
            divergingEpoch: {
              epoch: pick(random, [0, lastEpoch(s.log), Math.max(0, lastEpoch(s.log) - 1)]),
              endOffset: Math.max(0, end - pick(random, [0, 1, 2])),
            },
          }
        : {};
      // R65: sometimes the leader names a snapshot to download (or a malformed id).
      const snapshot =
        diverging.divergingEpoch === undefined && chance(random, 0.15)
          ? {
              snapshotId: {
                endOffset: pick(random, [end + 1, end + 3, Math.max(0, s.highWatermark - 1), -1]),
                epoch: pick(random, [leaderEpoch, lastEpoch(s.log), -1]),
              },
            }
          : {};
      return {
        _tag: "FetchResponse",
        errorCode,
        highWatermark: pick(random, [-1, Math.max(0, s.highWatermark), end, end + 1, end + 3]),
        logStartOffset: 0,
        leaderId: errorCode === "NONE" ? to : leaderId,
        leaderEpoch,
        records: diverging.divergingEpoch === undefined && snapshot.snapshotId === undefined ? records : [],
        ...diverging,
        ...snapshot,
      };
    }
  }
};

/** A request from a peer, with fields around what `s` knows. */
const requestFrom = (random: Random, s: NodeState, config: RaftConfig, from: number): RaftMessage => {
  const clusterId = chance(random, 0.9) ? config.clusterId : "another-cluster";
  const epoch = Math.max(0, s.epoch + pick(random, [-1, 0, 0, 1, 1, 2]));
  const end = s.log.endOffset;
  const otherVoter = config.voters.find((v) => v.id !== s.nodeId)?.id ?? 2;
  const voterId = pick(random, [s.nodeId, s.nodeId, s.nodeId, otherVoter, -1]);
  const topicName = chance(random, 0.95) ? METADATA_TOPIC_NAME : "another-topic";
  switch (pick(random, ["Vote", "Vote", "Begin", "End", "Fetch", "Fetch", "FetchSnapshot", "Describe"])) {
    case "Vote": {
      const preVote = chance(random, 0.5);
      const lastOffsetEpoch = Math.max(
        0,
        Math.min(preVote ? epoch : epoch - 1, pick(random, [0, lastEpoch(s.log), epoch])),
      );
      return {
        _tag: "VoteRequest",
        clusterId,
        voterId,
        topicName,
        partitionIndex: METADATA_PARTITION,
        replicaEpoch: preVote ? epoch : Math.max(1, epoch),
        replicaId: from,
        lastOffsetEpoch,
        lastOffset: Math.max(0, end + pick(random, [-1, 0, 0, 1])),
        preVote,
      };
    }
    case "Begin":
      return {
        _tag: "BeginQuorumEpochRequest",
        clusterId,
        voterId,
        topicName,
        partitionIndex: METADATA_PARTITION,
        leaderId: pick(random, [from, from, 9, -1, s.nodeId]),
        leaderEpoch: epoch,
      };
    case "End":
      return {
        _tag: "EndQuorumEpochRequest",
        clusterId,
        topicName,
        partitionIndex: METADATA_PARTITION,
        leaderId: pick(random, [from, from, s.nodeId]),
        leaderEpoch: epoch,
        preferredCandidates: pick(random, [[{ id: s.nodeId }], [{ id: otherVoter }, { id: s.nodeId }], []]),
      };
    case "Fetch":
      return {
        _tag: "FetchRequest",
        clusterId,
        replicaId: pick(random, [from, from, 4, -1]),
        maxWaitMs: pick(random, [0, 500, 500]),
        topicId: METADATA_TOPIC_ID,
        partition: METADATA_PARTITION,
        currentLeaderEpoch: Math.max(0, s.epoch + pick(random, [-1, 0, 0, 0, 1])),
        fetchOffset: Math.max(0, end + pick(random, [-1, 0, 0, 1])),
        lastFetchedEpoch: Math.min(s.epoch, pick(random, [0, lastEpoch(s.log), s.epoch])),
      };
    case "FetchSnapshot": {
      const snapshots = s.log.snapshots ?? [];
      const known = snapshots.length > 0 ? pick(random, snapshots) : undefined;
      return {
        _tag: "FetchSnapshotRequest",
        clusterId,
        replicaId: pick(random, [from, from, 4]),
        maxBytes: pick(random, [1, 2, 8 * 1024 * 1024]),
        topicName,
        partitionIndex: METADATA_PARTITION,
        currentLeaderEpoch: Math.max(0, s.epoch + pick(random, [-1, 0, 0, 0, 1])),
        snapshotId:
          known !== undefined && chance(random, 0.8)
            ? { endOffset: known.endOffset, epoch: known.epoch }
            : { endOffset: Math.max(1, end), epoch: lastEpoch(s.log) },
        position: pick(random, [0, 0, 1, -1, (known?.size ?? 1) + 1]),
      };
    }
    default:
      return { _tag: "DescribeQuorumRequest", topicName, partitionIndex: METADATA_PARTITION };
  }
};

const raftInput = (random: Random, s: NodeState, config: RaftConfig, correlationId: number): RaftInput => {
  const roll = random();
  const inflight = s.inflight.length > 0 ? pick(random, s.inflight) : undefined;
  if (roll < 0.3 && inflight !== undefined) {
    if (chance(random, 0.12))
      return {
        _tag: "RequestFailed",
        destination: inflight.destination,
        api: inflight.api,
        correlationId: inflight.correlationId,
      };
    return {
      _tag: "Received",
      from: inflight.destination,
      correlationId: inflight.correlationId,
      message: answerTo(random, s, inflight.destination, inflight.api),
    };
  }
  if (roll < 0.6) {
    const from = pick(
      random,
      config.voters
        .filter((v) => v.id !== s.nodeId)
        .map((v) => v.id)
        .concat([4]),
    );
    return { _tag: "Received", from, correlationId, message: requestFrom(random, s, config, from) };
  }
  if (roll < 0.75) {
    const timer = s.timers.length > 0 && chance(random, 0.85) ? pick(random, s.timers) : pick(random, TIMERS);
    return { _tag: "TimerExpired", timer };
  }
  if (roll < 0.85)
    return {
      _tag: "ClientAppend",
      epoch: Math.max(0, s.epoch - pick(random, [0, 0, 1])),
      count: 1,
      correlationId,
    };
  if (roll < 0.93) return { _tag: "LogFlushed", offset: s.log.endOffset };
  // R77, R79: the state machine's snapshot requests and retention, around what the log holds.
  const newest = s.log.snapshots?.[s.log.snapshots.length - 1]?.endOffset ?? 0;
  if (roll < 0.945)
    return {
      _tag: "CreateSnapshot",
      endOffset: pick(random, [s.highWatermark, s.log.endOffset, s.log.startOffset, newest, 0]),
      size: pick(random, [1, 3]),
    };
  if (roll < 0.95)
    return { _tag: "DeleteBeforeSnapshot", endOffset: pick(random, [newest, s.highWatermark, 2]) };
  if (roll < 0.99) return { _tag: "Resign", epoch: s.epoch + pick(random, [-1, 0, 0, 1]) };
  return { _tag: "Shutdown" };
};

/** R150, R100: an auto-joining node 4 whose id the bootstrap set holds with another directory id. */
const AUTO_JOIN_CLUSTER: ClusterSpec = { ...DEFAULT_CLUSTER, observers: 1, kraftVersion: 1, autoJoin: [4] };
const replacedDisk = (config: RaftConfig): RaftConfig => ({
  ...config,
  voters: [...config.voters, { id: 4, directoryId: "AAAAAAAAAAAAAAAAAAAAZw" }],
});

const RAFT_CLUSTERS: readonly {
  readonly cluster: ClusterSpec;
  readonly node: number;
  readonly adjust?: (config: RaftConfig) => RaftConfig;
}[] = [
  { cluster: DEFAULT_CLUSTER, node: 1 },
  { cluster: { ...DEFAULT_CLUSTER, preVote: false }, node: 1 },
  { cluster: { ...DEFAULT_CLUSTER, observers: 1 }, node: 4 },
];

/** Walks from this seed on are of an auto-joining node (the earlier seeds keep their clusters). */
const AUTO_JOIN_SEEDS_FROM = 600;
const AUTO_JOIN_CLUSTERS: typeof RAFT_CLUSTERS = [
  { cluster: AUTO_JOIN_CLUSTER, node: 4 },
  { cluster: AUTO_JOIN_CLUSTER, node: 4, adjust: replacedDisk },
];

const raftWalk = (seed: number): { vector: RaftVector; marks: Set<Mark> } => {
  const random = seededRandom(seed * 7919);
  const { cluster, node, adjust } =
    seed < AUTO_JOIN_SEEDS_FROM
      ? RAFT_CLUSTERS[seed % RAFT_CLUSTERS.length]!
      : AUTO_JOIN_CLUSTERS[seed % AUTO_JOIN_CLUSTERS.length]!;
  const config = (adjust ?? ((c: RaftConfig) => c))(nodeConfig(cluster, node));
  const marks = new Set<Mark>();
  const start = initialize(undefined, EMPTY_LOG, config);
  for (const m of start.marks) marks.add(m);
  let state = start.state;
  const steps: RaftVector["steps"][number][] = [];
  for (let i = 0; i < 40; i++) {
    const input = raftInput(random, state, config, 1000 + i);
    const result = step(state, input, config);
    for (const m of result.marks) marks.add(m);
    state = result.state;
    steps.push({ input, effects: result.effects, state: project(state) });
  }
  const source = "adversarial-raft";
  return {
    vector: {
      layer: "raft",
      name: `${source}/n${node}#${seed}`,
      source,
      rules: [],
      init: { _tag: "init", config, quorumState: null, log: EMPTY_LOG },
      start: { effects: start.effects, state: project(start.state) },
      steps,
    },
    marks,
  };
};

// ---- the controller --------------------------------------------------------------------------------

const CLUSTER_ID = "openkraft-sim";
const controllerConfig: ControllerConfig = { ...DEFAULT_CONTROLLER_CONFIG, nodeId: 1, clusterId: CLUSTER_ID };
const BROKERS = [2, 3, 4];
const incarnation = (id: number, n: number): string => `incarnation-${id}-${n}`.padEnd(22, "x").slice(0, 22);
const FEATURES_OK = [{ name: "metadata.version", minSupportedVersion: 7, maxSupportedVersion: 21 }];
const FEATURES_OLD = [{ name: "metadata.version", minSupportedVersion: 1, maxSupportedVersion: 3 }];
const TOPIC_NAMES = ["t", "u", "t", "", "bad name"];
const CONFIG_NAMES = ["retention.ms", "cleanup.policy", "unclean.leader.election.enable", "nope"];

/** A request to the controller, aimed at what its image holds. */
const controllerRequest = (random: Random, s: ControllerState): ControllerRequest => {
  const image = s.image;
  const topics = topicsOf(image);
  const topic = topics.length > 0 ? pick(random, topics) : undefined;
  const partition =
    topic !== undefined && topic.partitions.size > 0 ? pick(random, partitionsOf(topic)) : undefined;
  const brokerId = pick(random, [...BROKERS, -1]);
  switch (
    pick(random, [
      "register",
      "register",
      "heartbeat",
      "heartbeat",
      "heartbeat",
      "create",
      "create",
      "delete",
      "partitions",
      "alter",
      "alter",
      "elect",
      "configs",
    ])
  ) {
    case "register": {
      // Not a negative id: openkraft refuses it and Kafka registers it (marks.ts UNJUDGED_MARKS).
      const registered = brokerId < 0 ? BROKERS[0]! : brokerId;
      return {
        _tag: "BrokerRegistrationRequest",
        brokerId: registered,
        clusterId: chance(random, 0.9) ? CLUSTER_ID : "another-cluster",
        incarnationId: incarnation(registered, pick(random, [1, 1, 2])),
        listeners: [],
        features: chance(random, 0.9) ? FEATURES_OK : FEATURES_OLD,
        rack: null,
        previousBrokerEpoch: -1,
      };
    }
    case "heartbeat": {
      // Often from a partition leader: its controlled shutdown is where leadership has to move.
      const from =
        partition !== undefined && partition.leader >= 0 && chance(random, 0.5) ? partition.leader : brokerId;
      return {
        _tag: "BrokerHeartbeatRequest",
        brokerId: from,
        brokerEpoch: (findBroker(image, from)?.epoch ?? 0) + pick(random, [0, 0, 0, -1]),
        currentMetadataOffset: pick(random, [s.committed.offset, s.committed.offset, -1]),
        wantFence: chance(random, 0.15),
        wantShutDown: chance(random, 0.2),
      };
    }
    case "create":
      return {
        _tag: "CreateTopicsRequest",
        validateOnly: chance(random, 0.1),
        topics: Array.from({ length: pick(random, [1, 1, 2]) }, () => ({
          name: pick(random, TOPIC_NAMES),
          numPartitions: pick(random, [-1, 1, 2, 0]),
          replicationFactor: pick(random, [-1, 1, 2, 0, 5]),
          assignments: chance(random, 0.2)
            ? [{ partitionIndex: 0, brokerIds: [pick(random, BROKERS), pick(random, BROKERS)] }]
            : [],
          configs: chance(random, 0.2)
            ? [{ name: pick(random, CONFIG_NAMES), value: pick(random, ["1", "compact", "true", "x"]) }]
            : [],
        })),
      };
    case "delete":
      return { _tag: "DeleteTopicsRequest", topics: [{ name: pick(random, TOPIC_NAMES), topicId: null }] };
    case "partitions":
      return {
        _tag: "CreatePartitionsRequest",
        validateOnly: false,
        topics: [{ name: pick(random, TOPIC_NAMES), count: pick(random, [1, 2, 3]), assignments: null }],
      };
    case "alter": {
      const leader = partition?.leader ?? brokerId;
      const requester = chance(random, 0.8) ? leader : brokerId;
      const isr =
        partition === undefined ? [requester] : partition.replicas.filter(() => chance(random, 0.7));
      return {
        _tag: "AlterPartitionRequest",
        brokerId: requester,
        brokerEpoch: (findBroker(image, requester)?.epoch ?? 0) + pick(random, [0, 0, 0, -1]),
        topics: [
          {
            topicId: topic?.topicId ?? METADATA_TOPIC_ID,
            partitions: [
              {
                partitionIndex: (partition?.partitionId ?? 0) + pick(random, [0, 0, 0, 5]),
                leaderEpoch: (partition?.leaderEpoch ?? 0) + pick(random, [0, 0, 0, -1, 1]),
                newIsrWithEpochs: isr.map((id) => ({
                  brokerId: id,
                  brokerEpoch: (findBroker(image, id)?.epoch ?? 0) + pick(random, [0, 0, 0, 0, -1]),
                })),
                leaderRecoveryState: pick(random, [0, 0, 0, 1]),
                partitionEpoch: (partition?.partitionEpoch ?? 0) + pick(random, [0, 0, 0, -1, 1]),
              },
            ],
          },
        ],
      };
    }
    case "elect":
      return {
        _tag: "ElectLeadersRequest",
        electionType: pick(random, [0, 0, 1, 1, 2]),
        topicPartitions: chance(random, 0.2)
          ? null
          : [
              {
                topic: topic?.name ?? "t",
                partitions: [(partition?.partitionId ?? 0) + pick(random, [0, 0, 0, 4])],
              },
            ],
      };
    default:
      return {
        _tag: "IncrementalAlterConfigsRequest",
        validateOnly: false,
        resources: [
          {
            resourceType: pick(random, [2, 2, 4, 7]),
            resourceName: pick(random, [topic?.name ?? "t", "t", "2", "four"]),
            configs: [
              {
                name: pick(random, CONFIG_NAMES),
                configOperation: pick(random, [0, 0, 1, 4]),
                value: pick(random, ["1", "compact", "true", "x", null]),
              },
            ],
          },
        ],
      };
  }
};

/** Records that cannot be replayed onto any image (a partition of no topic). */
const BAD_RECORD: MetadataRecord = {
  _tag: "PartitionChangeRecord",
  partitionId: 0,
  topicId: "ZZZZZZZZZZZZZZZZZZZZZQ",
  isr: null,
  leader: 2,
  replicas: null,
  removingReplicas: null,
  addingReplicas: null,
  leaderRecoveryState: -1,
};

/** A controller and the quorum under it: what it proposes is placed and, usually, committed. */
class ControllerRun {
  state: ControllerState;
  readonly steps: ControllerVector["steps"][number][] = [];
  readonly marks = new Set<Mark>();
  readonly log: OffsetRecord[] = [];
  private placed: OffsetRecord[] = [];
  readonly answers: { correlationId: number; response: ControllerResponse }[] = [];

  readonly config: ControllerConfig;

  constructor(config: ControllerConfig) {
    this.config = config;
    this.state = initialControllerState(config.nodeId);
  }

  input(input: ControllerInput): void {
    const result = controllerStep(this.state, input, this.config);
    this.state = result.state;
    for (const m of result.marks) this.marks.add(m);
    for (const e of result.effects) {
      if (e._tag === "Propose")
        e.records.forEach((record, i) => {
          this.placed.push({ offset: e.baseOffset + i, epoch: e.epoch, record });
        });
      if (e._tag === "Respond") this.answers.push({ correlationId: e.correlationId, response: e.response });
    }
    this.steps.push({ input, effects: result.effects, state: projectController(this.state) });
  }

  /** Raft accepts every proposal in place, then commits them. */
  commit(): void {
    for (const offset of [...this.state.proposals]) {
      const records = this.placed.filter((r) => r.offset >= offset);
      this.input({
        _tag: "AppendAccepted",
        baseOffset: offset,
        lastOffset: records[records.length - 1]?.offset ?? offset,
      });
    }
    const fresh = this.placed.filter((r) => r.offset > (this.log[this.log.length - 1]?.offset ?? -1));
    this.placed = [];
    if (fresh.length === 0) return;
    this.log.push(...fresh);
    this.input({ _tag: "Committed", records: fresh });
  }
}

const activeController = (config: ControllerConfig): ControllerRun => {
  const run = new ControllerRun(config);
  run.input({ _tag: "LeaderChange", leaderId: config.nodeId, epoch: 1, logEndOffset: 0 });
  run.commit();
  return run;
};

const controllerWalk = (seed: number): { vector: ControllerVector; marks: Set<Mark> } => {
  const random = seededRandom(seed * 104729);
  const run = activeController(controllerConfig);
  for (let i = 0; i < 60; i++) {
    const roll = random();
    if (roll < 0.8) {
      run.input({
        _tag: "Request",
        from: pick(random, [100, ...BROKERS]),
        correlationId: i + 1,
        request: controllerRequest(random, run.state),
      });
      if (chance(random, 0.85)) run.commit();
    } else if (roll < 0.86) run.input({ _tag: "SessionExpired", brokerId: pick(random, BROKERS) });
    else if (roll < 0.9) run.input({ _tag: "IdleTimeout" });
    else if (roll < 0.92) run.input({ _tag: "AppendRejected" });
    else if (roll < 0.94) {
      const expected = run.state.proposals[0];
      if (expected !== undefined)
        run.input({ _tag: "AppendAccepted", baseOffset: expected + 1, lastOffset: expected + 1 });
    } else if (roll < 0.97) {
      const epoch = run.state.epoch + 1;
      run.input({
        _tag: "LeaderChange",
        leaderId: pick(random, [2, 1]),
        epoch,
        logEndOffset: (run.log[run.log.length - 1]?.offset ?? -1) + 1,
      });
      run.commit();
    } else if (roll < 0.985) {
      const offset = (run.log[run.log.length - 1]?.offset ?? -1) + 1;
      run.log.push({ offset, epoch: run.state.epoch, record: BAD_RECORD });
      run.input({ _tag: "Committed", records: [{ offset, epoch: run.state.epoch, record: BAD_RECORD }] });
    } else {
      // R106: the Raft leader appended a VotersRecord of its own, now or (stale) before the last proposal.
      run.input({
        _tag: "ControlRecordsAppended",
        endOffset: run.state.nextOffset + pick(random, [1, 1, 0]),
      });
    }
  }
  const source = "adversarial-controller";
  return {
    vector: {
      layer: "controller",
      name: `${source}/c1#${seed}`,
      source,
      rules: [],
      init: { _tag: "initController", config: controllerConfig },
      start: { effects: [], state: projectController(initialControllerState(controllerConfig.nodeId)) },
      steps: run.steps,
    },
    marks: run.marks,
  };
};

// ---- the broker ------------------------------------------------------------------------------------------

const BROKER_ERRORS = [
  "NONE",
  "NONE",
  "NONE",
  "STALE_BROKER_EPOCH",
  "NOT_CONTROLLER",
  "BROKER_ID_NOT_REGISTERED",
  "DUPLICATE_BROKER_REGISTRATION",
] as const;

const brokerWalk = (seed: number): { vector: BrokerVector; marks: Set<Mark> } => {
  const random = seededRandom(seed * 15485863);
  const brokerId = 2;
  const config = makeBrokerConfig(brokerId, CLUSTER_ID);
  const incarnationId = incarnation(brokerId, seed);
  // The controller the broker talks to, with a second broker and a topic both lead partitions of.
  const controller = activeController(controllerConfig);
  let state = initialBrokerState(brokerId, incarnationId, -1);
  const steps: BrokerVector["steps"][number][] = [];
  const marks = new Set<Mark>();
  let delivered = 0;
  let controllerCorrelation = 1_000_000;
  const pending: BrokerInput[] = [];
  const input = (i: BrokerInput): void => {
    const result = brokerStep(state, i, config);
    state = result.state;
    for (const m of result.marks) marks.add(m);
    steps.push({ input: i, effects: result.effects, state: projectBroker(state) });
    for (const e of result.effects) {
      if (e._tag !== "SendToController" || chance(random, 0.1)) continue;
      if (chance(random, 0.15)) {
        pending.push({ _tag: "RequestFailed", correlationId: e.correlationId });
        continue;
      }
      if (chance(random, 0.2)) {
        const errorCode = pick(random, BROKER_ERRORS);
        const response: ControllerResponse =
          e.request._tag === "BrokerRegistrationRequest"
            ? { _tag: "BrokerRegistrationResponse", errorCode, brokerEpoch: -1 }
            : e.request._tag === "BrokerHeartbeatRequest"
              ? {
                  _tag: "BrokerHeartbeatResponse",
                  errorCode,
                  isCaughtUp: chance(random, 0.5),
                  isFenced: chance(random, 0.5),
                  shouldShutDown: chance(random, 0.2),
                }
              : { _tag: "AlterPartitionResponse", errorCode, topics: [] };
        pending.push({ _tag: "Response", correlationId: e.correlationId, response });
        continue;
      }
      const before = controller.answers.length;
      controller.input({
        _tag: "Request",
        from: brokerId,
        correlationId: e.correlationId,
        request: e.request,
      });
      controller.commit();
      for (const a of controller.answers.slice(before))
        if (a.correlationId === e.correlationId)
          pending.push({ _tag: "Response", correlationId: a.correlationId, response: a.response });
    }
  };
  const admin = (request: ControllerRequest): void => {
    controller.input({ _tag: "Request", from: 100, correlationId: controllerCorrelation++, request });
    controller.commit();
  };
  admin({
    _tag: "BrokerRegistrationRequest",
    brokerId: 3,
    clusterId: CLUSTER_ID,
    incarnationId: incarnation(3, 1),
    listeners: [],
    features: FEATURES_OK,
    rack: null,
    previousBrokerEpoch: -1,
  });
  input({ _tag: "LeaderChange", leaderId: 1, epoch: 1 });
  for (let i = 0; i < 40; i++) {
    const roll = random();
    if (roll < 0.3 && pending.length > 0) input(pending.splice(Math.floor(random() * pending.length), 1)[0]!);
    else if (roll < 0.5) input({ _tag: "HeartbeatTimer" });
    else if (roll < 0.65 && delivered < controller.log.length) {
      const upTo = delivered + 1 + Math.floor(random() * (controller.log.length - delivered));
      input({ _tag: "Committed", records: controller.log.slice(delivered, upTo) });
      delivered = upTo;
    } else if (roll < 0.72) {
      const three = findBroker(controller.state.image, 3);
      if (three !== undefined)
        admin({
          _tag: "BrokerHeartbeatRequest",
          brokerId: 3,
          brokerEpoch: three.epoch,
          currentMetadataOffset: controller.state.committed.offset,
          wantFence: false,
          wantShutDown: false,
        });
      admin({
        _tag: "CreateTopicsRequest",
        validateOnly: false,
        topics: [
          {
            name: pick(random, ["t", "u"]),
            numPartitions: 2,
            replicationFactor: 2,
            assignments: [],
            configs: [],
          },
        ],
      });
    } else if (roll < 0.88) {
      const topics = topicsOf(state.image);
      const topic = topics.length > 0 ? pick(random, topics) : undefined;
      const partition = topic !== undefined ? pick(random, partitionsOf(topic)) : undefined;
      if (topic !== undefined && partition !== undefined)
        input({
          _tag: "IsrChange",
          topicId: topic.topicId,
          partitionId: partition.partitionId,
          follower: pick(random, [3, 3, 4, brokerId]),
          followerEpoch: findBroker(state.image, 3)?.epoch ?? 0,
          join: chance(random, 0.5),
        });
    } else if (roll < 0.92)
      input({
        _tag: "LeaderChange",
        leaderId: pick(random, [1, -1]),
        epoch: state.controllerEpoch + pick(random, [0, 1]),
      });
    else if (roll < 0.95) input({ _tag: "BeginControlledShutdown" });
    else {
      const offset = (controller.log[controller.log.length - 1]?.offset ?? -1) + 1;
      input({ _tag: "Committed", records: [{ offset, epoch: 1, record: BAD_RECORD }] });
    }
  }
  const source = "adversarial-broker";
  return {
    vector: {
      layer: "broker",
      name: `${source}/b${brokerId}#${seed}`,
      source,
      rules: [],
      init: { _tag: "initBroker", config, incarnationId, previousBrokerEpoch: -1 },
      start: {
        effects: brokerStartEffects(config),
        state: projectBroker(initialBrokerState(brokerId, incarnationId, -1)),
      },
      steps,
    },
    marks,
  };
};

/** How many seeded walks each layer tries. */
export const ADVERSARIAL_WALKS = { raft: 800, controller: 3000, broker: 400 } as const;

/**
 * The adversarial vectors of every layer: walks kept for the marks they add to `covered` (the marks the
 * other vectors take), which they extend.
 */
export const adversarialVectors = (covered: Set<Mark>): Map<string, Vector[]> =>
  new Map<string, Vector[]>([
    ["adversarial-raft", keepNew(ADVERSARIAL_WALKS.raft, raftWalk, covered)],
    ["adversarial-controller", keepNew(ADVERSARIAL_WALKS.controller, controllerWalk, covered)],
    ["adversarial-broker", keepNew(ADVERSARIAL_WALKS.broker, brokerWalk, covered)],
  ]);
