// npm run bench:image: what a PartitionRecord costs as the metadata image grows from 10 to 100,000
// partitions, on the active controller (the CreateTopics request, building the write) and on replay
// (the records committed, as a broker or a standby applies them). Topics are created through the
// controller in requests of at most its per-request limit. At each size it also unfences and fences a
// broker that hosts nothing. Prints one JSON line; the cost per record, and of that broker's fence,
// should stay flat (issue 12: work in proportion to what changes, not to the image).
//   npm run bench:image -- [--max 100000] [--per-topic 1000] [--probe 1000] [--topic-configs 0]

import { TOPIC_CONFIGS } from "../spec/metadata/configs.ts";
import {
  type ControllerInput,
  type ControllerState,
  controllerStep,
  DEFAULT_CONTROLLER_CONFIG,
  initialControllerState,
  MAX_PARTITIONS_PER_REQUEST,
} from "../spec/metadata/controller.ts";
import { EMPTY_IMAGE, findBroker, type OffsetRecord, replay } from "../spec/metadata/image.ts";
import type { ControllerRequest } from "../spec/metadata/requests.ts";
import { scriptFlags } from "./script-flags.ts";

const flags = scriptFlags(
  "npm run bench:image -- [--max N] [--per-topic N] [--probe N] [--topic-configs N]",
  "What a PartitionRecord costs on the active controller and on replay as the image grows; prints one JSON line.",
  [
    {
      kind: "integer",
      name: "max",
      min: 10,
      max: 10_000_000,
      default: 100_000,
      description: "partitions at the end",
    },
    {
      kind: "integer",
      name: "per-topic",
      min: 1,
      default: 1000,
      description: "partitions of each topic created (at most the controller's per-request limit)",
    },
    {
      kind: "integer",
      name: "topic-configs",
      min: 0,
      max: 8,
      default: 0,
      description: "configs set on each topic created (retention.ms, segment.bytes, ...)",
    },
    {
      kind: "integer",
      name: "probe",
      min: 1,
      default: 1000,
      description: "partitions of each timed request (at most the per-request limit)",
    },
  ],
);
const max = flags["max"] as number;
const perTopic = Math.min(flags["per-topic"] as number, MAX_PARTITIONS_PER_REQUEST);
/** The partitions of each timed request. */
const probe = Math.min(flags["probe"] as number, MAX_PARTITIONS_PER_REQUEST);
/** The configs each new topic sets: each is a ConfigRecord the image keeps. */
const topicConfigs = TOPIC_CONFIGS.filter((c) => c.name !== "unclean.leader.election.enable")
  .slice(0, flags["topic-configs"] as number)
  .map((c) => ({ name: c.name, value: c.default }));

const config = { ...DEFAULT_CONTROLLER_CONFIG, nodeId: 1, clusterId: "bench" };

/** One run from an empty cluster up to `max` partitions. */
const run = (max: number, oneTopic: boolean) => {
  let state: ControllerState = initialControllerState(1);
  let committed: OffsetRecord[] = [];
  let correlation = 0;

  const step = (input: ControllerInput): void => {
    const result = controllerStep(state, input, config);
    state = result.state;
    for (const e of result.effects)
      if (e._tag === "Propose")
        e.records.forEach((record, i) => {
          committed.push({ offset: e.baseOffset + i, epoch: e.epoch, record });
        });
  };
  /** Raft accepts and commits everything proposed; returns the records committed. */
  const commit = (): OffsetRecord[] => {
    const records = committed;
    committed = [];
    if (records.length === 0) return records;
    step({ _tag: "AppendAccepted", baseOffset: records[0]!.offset, lastOffset: records.at(-1)!.offset });
    state = { ...state, proposals: [] };
    step({ _tag: "Committed", records });
    return records;
  };
  const request = (r: ControllerRequest, from = 100): void =>
    step({ _tag: "Request", from, correlationId: ++correlation, request: r });
  const register = (id: number): void => {
    request(
      {
        _tag: "BrokerRegistrationRequest",
        brokerId: id,
        clusterId: "bench",
        incarnationId: `incarnation-${id}`.padEnd(22, "x"),
        listeners: [],
        features: [{ name: "metadata.version", minSupportedVersion: 7, maxSupportedVersion: 21 }],
        rack: null,
        previousBrokerEpoch: -1,
      },
      id,
    );
    commit();
  };
  /** A heartbeat of a caught-up broker; `wantFence` false unfences a fenced one. */
  const heartbeat = (id: number, wantFence: boolean): void => {
    request(
      {
        _tag: "BrokerHeartbeatRequest",
        brokerId: id,
        brokerEpoch: findBroker(state.image, id)!.epoch,
        currentMetadataOffset: state.committed.offset,
        wantFence,
        wantShutDown: false,
      },
      id,
    );
    commit();
  };

  step({ _tag: "LeaderChange", leaderId: 1, epoch: 1, logEndOffset: 1 });
  commit();
  for (const id of [4, 5, 6]) register(id);
  for (const id of [4, 5, 6]) heartbeat(id, false);

  let brokerImage = EMPTY_IMAGE;
  const allRecords: OffsetRecord[] = [];
  let partitions = 0;
  let topics = 0;

  /** Create one topic of `count` partitions and replay its records; the time of each, in ms. */
  const createTopic = (count: number): { controllerMs: number; replayMs: number } => {
    const name = `t${String(topics).padStart(6, "0")}`;
    const t0 = performance.now();
    if (oneTopic && partitions > 0)
      request({
        _tag: "CreatePartitionsRequest",
        validateOnly: false,
        topics: [{ name: "t000000", count: partitions + count, assignments: null }],
      });
    else
      request({
        _tag: "CreateTopicsRequest",
        validateOnly: false,
        topics: [
          { name, numPartitions: count, replicationFactor: 3, assignments: [], configs: topicConfigs },
        ],
      });
    const records = commit();
    const t1 = performance.now();
    const replayed = replay(brokerImage, records);
    const t2 = performance.now();
    if (replayed.problems.length > 0) throw new Error(`replay problems: ${replayed.problems[0]}`);
    brokerImage = replayed.image;
    for (const r of records) allRecords.push(r);
    partitions += count;
    topics++;
    return { controllerMs: t1 - t0, replayMs: t2 - t1 };
  };

  /**
   * A broker that hosts nothing unfenced and fenced again, in µs each (the controller's write and its
   * commit): the work should depend on the broker's partitions, not on the image's.
   */
  let idle = 1000;
  const fenceIdleBroker = (): { unfenceMicros: number; fenceMicros: number } => {
    register(++idle);
    const t0 = performance.now();
    heartbeat(idle, false);
    const t1 = performance.now();
    heartbeat(idle, true);
    const t2 = performance.now();
    if (!findBroker(state.image, idle)!.fenced) throw new Error(`broker ${idle} was not fenced again`);
    return { unfenceMicros: (t1 - t0) * 1000, fenceMicros: (t2 - t1) * 1000 };
  };

  const median = (values: number[]): number => values.sort((a, b) => a - b)[values.length >> 1]!;
  const checkpoints: {
    partitions: number;
    topics: number;
    controllerMicrosPerPartition: number;
    replayMicrosPerPartition: number;
    idleBrokerUnfenceMicros: number;
    idleBrokerFenceMicros: number;
  }[] = [];
  for (let size = 10; size <= max; size *= 10) {
    // Grow the image to `size` partitions, then time probes of `probe` partitions each (the median).
    while (partitions < size) createTopic(Math.min(perTopic, size - partitions));
    const runs = Array.from({ length: 5 }, () => createTopic(probe));
    const micros = (ms: number) => Math.round(((ms * 1000) / probe) * 100) / 100;
    const fences = Array.from({ length: 5 }, fenceIdleBroker);
    checkpoints.push({
      partitions: size,
      topics,
      controllerMicrosPerPartition: micros(median(runs.map((r) => r.controllerMs))),
      replayMicrosPerPartition: micros(median(runs.map((r) => r.replayMs))),
      idleBrokerUnfenceMicros: Math.round(median(fences.map((f) => f.unfenceMicros))),
      idleBrokerFenceMicros: Math.round(median(fences.map((f) => f.fenceMicros))),
    });
  }
  // A standby's or restarted broker's full replay of the whole log, per record.
  const t3 = performance.now();
  replay(EMPTY_IMAGE, allRecords);
  const fullReplayMicrosPerRecord = ((performance.now() - t3) * 1000) / allRecords.length;
  return { checkpoints, fullReplayMicrosPerRecord, records: allRecords.length };
};

// The first run warms the JIT up; the second is measured.
run(Math.min(max, 10_000), false);
const { checkpoints, fullReplayMicrosPerRecord, records } = run(max, false);
// One topic grown by CreatePartitions, the shape that froze the controller before.
const oneTopic = run(max, true).checkpoints;
/** The cost at the largest image over the cost at the smallest. */
type Figure =
  | "controllerMicrosPerPartition"
  | "replayMicrosPerPartition"
  | "idleBrokerUnfenceMicros"
  | "idleBrokerFenceMicros";
const ratio = (points: readonly Record<Figure, number>[], key: Figure): number =>
  Math.round((points.at(-1)![key] / points[0]![key]) * 100) / 100;
console.log(
  JSON.stringify({
    benchmark: "image",
    partitionsPerTopic: perTopic,
    configsPerTopic: topicConfigs.length,
    checkpoints,
    oneTopic,
    fullReplay: {
      records,
      microsPerRecord: Math.round(fullReplayMicrosPerRecord * 100) / 100,
    },
    growth: {
      controller: ratio(checkpoints, "controllerMicrosPerPartition"),
      replay: ratio(checkpoints, "replayMicrosPerPartition"),
      oneTopicController: ratio(oneTopic, "controllerMicrosPerPartition"),
      oneTopicReplay: ratio(oneTopic, "replayMicrosPerPartition"),
      idleBrokerUnfence: ratio(checkpoints, "idleBrokerUnfenceMicros"),
      idleBrokerFence: ratio(checkpoints, "idleBrokerFenceMicros"),
    },
    target:
      "cost per partition, and an idle broker's fence and unfence, flat (growth near 1) from 10 to 100,000 partitions",
  }),
);
