// Replaying records into the image (R108–R111, R122, R128): what every record does, what does not fit,
// and the property that replay is deterministic: any committed log, replayed at once or in any
// chunks, by any node, gives the same image.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  applyMetaAction,
  DEFAULT_META_BOUNDS,
  enabledMetaActions,
  type MetaBounds,
  withinMetaBounds,
} from "../cluster/metadata-actions.ts";
import {
  bootstrappedWorld,
  committedImageAt,
  committedRecords,
  DEFAULT_METADATA_CLUSTER,
  type MetadataClusterSpec,
  type MetadataWorld,
  metadataViolation,
} from "../cluster/metadata-world.ts";
import { sameContent } from "../plain-data.ts";
import {
  apply,
  configsOf,
  EMPTY_IMAGE,
  imageView,
  loadSnapshotImage,
  type MetadataImage,
  type OffsetRecord,
  partitionsOf,
  partitionsOfBroker,
  replay,
  snapshotRecords,
  topicsOf,
  withConfigs,
  withTopics,
} from "./image.ts";
import { type MetadataRecord, RESOURCE_BROKER, RESOURCE_TOPIC } from "./records.ts";
import { shapeProblem } from "./sorted-chunks.ts";

const T1 = "AAAAAAAAAAAAAAAAAAAAAQ";
const T2 = "AAAAAAAAAAAAAAAAAAAAAg";
const I4 = "BBBBBBBBBBBBBBBBBBBBBA";

const register = (brokerId: number, brokerEpoch: number): MetadataRecord => ({
  _tag: "RegisterBrokerRecord",
  brokerId,
  incarnationId: I4,
  brokerEpoch,
  endPoints: [],
  features: [],
  rack: null,
  fenced: true,
  inControlledShutdown: false,
});

const run = (records: readonly MetadataRecord[]): { image: MetadataImage; problems: readonly string[] } =>
  replay(
    EMPTY_IMAGE,
    records.map((record, offset) => ({ offset, epoch: 1, record })),
  );

const partition = (leader = 4, isr = [4, 5]): MetadataRecord => ({
  _tag: "PartitionRecord",
  partitionId: 0,
  topicId: T1,
  replicas: [4, 5],
  isr,
  removingReplicas: [],
  addingReplicas: [],
  leader,
  leaderRecoveryState: 0,
  leaderEpoch: 0,
  partitionEpoch: 0,
});

const change = (
  fields: Partial<Extract<MetadataRecord, { _tag: "PartitionChangeRecord" }>>,
): MetadataRecord => ({
  _tag: "PartitionChangeRecord",
  partitionId: 0,
  topicId: T1,
  isr: null,
  leader: -2,
  replicas: null,
  removingReplicas: null,
  addingReplicas: null,
  leaderRecoveryState: -1,
  ...fields,
});

describe("replaying records", () => {
  it("registers, fences, unfences and unregisters brokers by epoch (R108)", () => {
    const { image, problems } = run([
      register(4, 0),
      { _tag: "UnfenceBrokerRecord", id: 4, epoch: 0 },
      {
        _tag: "BrokerRegistrationChangeRecord",
        brokerId: 4,
        brokerEpoch: 0,
        fenced: 0,
        inControlledShutdown: 1,
      },
      { _tag: "FenceBrokerRecord", id: 4, epoch: 0 },
      register(5, 4),
      { _tag: "UnregisterBrokerRecord", brokerId: 5, brokerEpoch: 4 },
    ]);
    expect(problems).toEqual([]);
    expect(image.brokers).toEqual([
      {
        id: 4,
        incarnationId: I4,
        epoch: 0,
        endPoints: [],
        features: [],
        rack: null,
        fenced: true,
        inControlledShutdown: true,
      },
    ]);
    expect(image.offset).toBe(5);
  });

  it("refuses changes for another broker epoch or an unknown broker, leaving the image as it was", () => {
    const { image, problems } = run([
      register(4, 0),
      {
        _tag: "BrokerRegistrationChangeRecord",
        brokerId: 4,
        brokerEpoch: 7,
        fenced: -1,
        inControlledShutdown: 0,
      },
      { _tag: "UnfenceBrokerRecord", id: 9, epoch: 0 },
      { _tag: "UnregisterBrokerRecord", brokerId: 4, brokerEpoch: 3 },
    ]);
    expect(problems).toEqual([
      "offset 1: broker 4 has epoch 0, not 7",
      "offset 2: broker 9 is not registered",
      "offset 3: no broker 4 with epoch 3 to unregister",
    ]);
    expect(image.brokers[0]?.fenced).toBe(true);
  });

  it("bumps the leader epoch for any leader value but -2, and the partition epoch always (R122)", () => {
    const { image, problems } = run([
      { _tag: "TopicRecord", name: "t", topicId: T1 },
      partition(),
      change({ isr: [4] }),
      change({ leader: 4 }),
      change({ leader: -1 }),
      change({ leader: 5, isr: [5], leaderRecoveryState: 1 }),
    ]);
    expect(problems).toEqual([]);
    expect(imageView(image).topics[0]?.partitions[0]).toEqual({
      partitionId: 0,
      replicas: [4, 5],
      isr: [5],
      removingReplicas: [],
      addingReplicas: [],
      leader: 5,
      leaderRecoveryState: 1,
      leaderEpoch: 3,
      partitionEpoch: 4,
    });
  });

  it("refuses topics and partitions that clash or do not exist (R109)", () => {
    const { problems } = run([
      { _tag: "TopicRecord", name: "t", topicId: T1 },
      { _tag: "TopicRecord", name: "t", topicId: T2 },
      { _tag: "TopicRecord", name: "u", topicId: T1 },
      partition(),
      partition(),
      { ...partition(), topicId: T2 } as MetadataRecord,
      change({ partitionId: 3 }),
      { _tag: "RemoveTopicRecord", topicId: T2 },
    ]);
    expect(problems).toEqual([
      "offset 1: topic t already exists",
      `offset 2: topic id ${T1} is already taken`,
      "offset 4: partition 0 of t already exists",
      `offset 5: no topic with id ${T2}`,
      `offset 6: no partition 3 of topic id ${T1}`,
      `offset 7: no topic with id ${T2}`,
    ]);
  });

  it("removes a topic with its partitions and configs", () => {
    const { image } = run([
      { _tag: "TopicRecord", name: "t", topicId: T1 },
      partition(),
      { _tag: "ConfigRecord", resourceType: 2, resourceName: "t", name: "retention.ms", value: "1" },
      { _tag: "ConfigRecord", resourceType: 4, resourceName: "", name: "log.retention.ms", value: "2" },
      { _tag: "RemoveTopicRecord", topicId: T1 },
    ]);
    expect(topicsOf(image)).toEqual([]);
    expect(configsOf(image)).toEqual([
      { resourceType: 4, resourceName: "", name: "log.retention.ms", value: "2" },
    ]);
  });

  it("sets and deletes configs, features and producer ids (R111)", () => {
    const { image, problems } = run([
      { _tag: "ConfigRecord", resourceType: 2, resourceName: "t", name: "b", value: "1" },
      { _tag: "ConfigRecord", resourceType: 2, resourceName: "t", name: "a", value: "1" },
      { _tag: "ConfigRecord", resourceType: 2, resourceName: "t", name: "b", value: null },
      { _tag: "FeatureLevelRecord", name: "metadata.version", featureLevel: 21 },
      { _tag: "FeatureLevelRecord", name: "kraft.version", featureLevel: 1 },
      { _tag: "FeatureLevelRecord", name: "kraft.version", featureLevel: 0 },
      { _tag: "FeatureLevelRecord", name: "metadata.version", featureLevel: 0 },
      { _tag: "ProducerIdsRecord", brokerId: 4, brokerEpoch: 0, nextProducerId: 1000 },
      { _tag: "ProducerIdsRecord", brokerId: 4, brokerEpoch: 0, nextProducerId: 10 },
      { _tag: "NoOpRecord" },
    ]);
    expect(configsOf(image)).toEqual([{ resourceType: 2, resourceName: "t", name: "a", value: "1" }]);
    expect(image.features).toEqual([{ name: "metadata.version", level: 0 }]);
    expect(image.nextProducerId).toBe(1000);
    expect(problems).toEqual(["offset 8: producer ids go back from 1000 to 10"]);
    expect(image.offset).toBe(9);
  });

  it("keeps configs in (type, resource, name) order, and drops a deleted topic's configs only (R111)", () => {
    const config = (resourceType: number, resourceName: string, name: string): MetadataRecord => ({
      _tag: "ConfigRecord",
      resourceType,
      resourceName,
      name,
      value: "1",
    });
    const { image, problems } = run([
      { _tag: "TopicRecord", name: "a2", topicId: T2 },
      { _tag: "TopicRecord", name: "a", topicId: T1 },
      config(4, "", "y"),
      config(2, "a2", "x"),
      config(2, "a", "y"),
      config(2, "a", "x"),
      config(4, "1", "x"),
      { _tag: "RemoveTopicRecord", topicId: T2 },
    ]);
    expect(problems).toEqual([]);
    expect(configsOf(image).map((c) => `${c.resourceType} ${c.resourceName} ${c.name}`)).toEqual([
      "2 a x",
      "2 a y",
      "4  y",
      "4 1 x",
    ]);
  });
});

// ---- the determinism property over real runs ----------------------------------------------------------

const spec: MetadataClusterSpec = {
  ...DEFAULT_METADATA_CLUSTER,
  brokers: 2,
  syncFlush: true,
  controller: { ...DEFAULT_METADATA_CLUSTER.controller, noOpIntervalMs: 0 },
};
const bounds: MetaBounds = {
  ...DEFAULT_META_BOUNDS,
  maxEpoch: 3,
  maxLogLength: 24,
  maxControllerCrashes: 1,
  maxBrokerCrashes: 2,
  maxSessionExpiries: 2,
  maxDelays: 2,
  maxControlledShutdowns: 1,
  metaLoss: true,
};
const start = bootstrappedWorld(spec, 2);

/** A random walk through the metadata world, as choices of enabled actions. */
const walk = (choices: readonly number[]): MetadataWorld[] => {
  const worlds = [start];
  let world = start;
  for (const choice of choices) {
    const actions = enabledMetaActions(world, spec, bounds);
    if (actions.length === 0) break;
    const next = applyMetaAction(world, spec, bounds, actions[choice % actions.length]!).world;
    if (!withinMetaBounds(next, bounds)) continue;
    world = next;
    worlds.push(world);
  }
  return worlds;
};

/** Replay `records` in chunks cut at the given points. */
const replayInChunks = (records: readonly OffsetRecord[], cuts: readonly number[]): MetadataImage => {
  let image = EMPTY_IMAGE;
  let from = 0;
  for (const cut of [...cuts.map((c) => c % (records.length + 1)).sort((a, b) => a - b), records.length]) {
    for (const r of records.slice(from, Math.max(from, cut)))
      image = apply(image, r.record, r.offset, r.epoch).image;
    from = Math.max(from, cut);
  }
  return image;
};

describe("replica lists shared, content unchanged", () => {
  it("an ISR equal to the replicas is that list, and every empty list is one list", () => {
    const { image, problems } = run([
      { _tag: "TopicRecord", name: "t", topicId: T1 },
      partition(4, [4, 5]),
      { ...(partition(4, [4]) as Extract<MetadataRecord, { _tag: "PartitionRecord" }>), partitionId: 1 },
      change({ partitionId: 1, isr: [4, 5] }),
      change({ isr: [4] }),
    ]);
    expect(problems).toEqual([]);
    const [p0, p1] = partitionsOf(topicsOf(image)[0]!);
    expect(p0).toMatchObject({ replicas: [4, 5], isr: [4], removingReplicas: [], addingReplicas: [] });
    expect(p1).toMatchObject({ replicas: [4, 5], isr: [4, 5], partitionEpoch: 1 });
    expect(p1!.isr).toBe(p1!.replicas);
    expect(p0!.removingReplicas).toBe(p1!.addingReplicas);
    expect(p0!.addingReplicas).toBe(p1!.removingReplicas);
  });
});

describe("sameContent", () => {
  it("compares plain data by content, whatever its keys' order or sharing", () => {
    expect(sameContent({ a: [1, { b: "x" }], c: null }, { c: null, a: [1, { b: "x" }] })).toBe(true);
    expect(sameContent({ a: [1, 2] }, { a: [1, 2, 3] })).toBe(false);
    expect(sameContent({ a: [1] }, { a: { 0: 1 } })).toBe(false);
    expect(sameContent({ a: 1 }, { a: 1, b: undefined })).toBe(false);
    expect(sameContent({ a: undefined }, { b: undefined })).toBe(false);
    expect(sameContent(null, {})).toBe(false);
    const topic: MetadataRecord = { _tag: "TopicRecord", name: "t", topicId: T1 };
    expect(sameContent(run([topic, partition()]).image, run([topic, partition()]).image)).toBe(true);
    expect(sameContent(run([topic, partition()]).image, run([topic, partition(5)]).image)).toBe(false);
  });
});

describe("the index of partitions by broker", () => {
  const topic = (name: string, topicId: string): MetadataRecord => ({ _tag: "TopicRecord", name, topicId });
  const at = (partitionId: number, leader: number, isr: number[], topicId = T1): MetadataRecord => ({
    ...(partition(leader, isr) as Extract<MetadataRecord, { _tag: "PartitionRecord" }>),
    topicId,
    partitionId,
  });
  /** The image's index, and the same built afresh from its partitions: they must be equal. */
  const both = (records: MetadataRecord[]) => {
    const { image, problems } = run(records);
    expect(problems).toEqual([]);
    return { kept: image, fresh: withTopics(EMPTY_IMAGE, imageView(image).topics) };
  };
  const held = (image: MetadataImage, brokerId: number) =>
    partitionsOfBroker(image, brokerId).map(({ topic: t, partitions }) => [
      t.name,
      partitions.map((p) => p.partitionId),
    ]);

  it("holds each partition under its ISR members and its leader, or under no leader (-1), in name and id order", () => {
    const { kept } = both([
      topic("b", T1),
      topic("a", T2),
      at(1, 4, [4, 5]),
      at(0, 5, [5]),
      at(0, -1, [4], T2),
      at(1, 6, [4], T2),
    ]);
    expect(held(kept, 4)).toEqual([
      ["a", [0, 1]],
      ["b", [1]],
    ]);
    expect(held(kept, 5)).toEqual([["b", [0, 1]]]);
    // Led from outside its ISR (which a correct controller never writes): still found under its leader.
    expect(held(kept, 6)).toEqual([["a", [1]]]);
    expect(held(kept, -1)).toEqual([["a", [0]]]);
    expect(held(kept, 7)).toEqual([]);
  });

  it("follows ISR and leader changes, and forgets a deleted topic, within one replay as across several", () => {
    const records: MetadataRecord[] = [
      topic("b", T1),
      at(0, 4, [4, 5]),
      // 4 leaves and the batch then adds to the topic under 4 again: the entry it changed in place is gone.
      change({ partitionId: 0, isr: [5], leader: 5 }),
      at(1, 4, [4, 5]),
      change({ partitionId: 1, leader: -1, isr: [4] }),
      // The topic is deleted and a topic of the same name made again in the same batch.
      { _tag: "RemoveTopicRecord", topicId: T1 },
      topic("b", T2),
      at(3, 5, [5, 4], T2),
      at(4, 5, [5], T2),
    ];
    const { kept, fresh } = both(records);
    expect(kept.partitionsByBroker).toEqual(fresh.partitionsByBroker);
    expect(held(kept, 4)).toEqual([["b", [3]]]);
    expect(held(kept, 5)).toEqual([["b", [3, 4]]]);
    expect(held(kept, -1)).toEqual([]);
    // Record by record, each its own replay: the same index.
    let image = EMPTY_IMAGE;
    records.forEach((record, offset) => {
      image = apply(image, record, offset, 1).image;
    });
    expect(image.partitionsByBroker).toEqual(kept.partitionsByBroker);
  });

  it("keeps a broker's partitions of one topic past many chunks, and drops entries left empty", () => {
    const many = Array.from({ length: 500 }, (_, i) => at(i, 4, i % 2 === 0 ? [4, 5] : [4]));
    const { kept, fresh } = both([topic("b", T1), ...many]);
    expect(kept.partitionsByBroker).toEqual(fresh.partitionsByBroker);
    expect(held(kept, 5)[0]![1]).toHaveLength(250);
    const shrunk = replay(
      kept,
      Array.from({ length: 250 }, (_, i) => ({
        offset: 600 + i,
        epoch: 1,
        record: change({ partitionId: 2 * i, isr: [4] }),
      })),
    );
    expect(held(shrunk.image, 5)).toEqual([]);
    expect(shrunk.image.partitionsByBroker).toEqual(
      withTopics(EMPTY_IMAGE, imageView(shrunk.image).topics).partitionsByBroker,
    );
  });
});

describe("replay is deterministic (R128)", () => {
  it("every node's image is the replay of the committed log up to its offset, and every property holds", () => {
    fc.assert(
      fc.property(fc.array(fc.nat(1000), { minLength: 20, maxLength: 120 }), (choices) => {
        for (const world of walk(choices)) {
          expect(metadataViolation(world)).toBeNull();
          world.apps.forEach((app) => {
            const images = [app.controller?.committed, app.broker?.image].filter((i) => i !== undefined);
            for (const image of images) expect(image).toEqual(committedImageAt(world, image.offset));
          });
        }
      }),
      { numRuns: 60 },
    );
  });

  it("replaying a committed log at once or in any chunks gives the same image", () => {
    fc.assert(
      fc.property(
        fc.array(fc.nat(1000), { minLength: 20, maxLength: 120 }),
        fc.array(fc.nat(100), { maxLength: 6 }),
        (choices, cuts) => {
          const worlds = walk(choices);
          const records = committedRecords(worlds[worlds.length - 1]!);
          expect(replayInChunks(records, cuts)).toEqual(replay(EMPTY_IMAGE, records).image);
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe("metadata snapshots (R131, R84)", () => {
  it("write every part of the image as the record that creates it, metadata.version first", () => {
    const { image } = run([
      register(4, 0),
      { _tag: "FeatureLevelRecord", name: "a.feature", featureLevel: 2 },
      { _tag: "FeatureLevelRecord", name: "metadata.version", featureLevel: 21 },
      { _tag: "TopicRecord", name: "t", topicId: T1 },
      partition(),
      change({ leader: 5 }),
      { _tag: "ConfigRecord", resourceType: 2, resourceName: "t", name: "a", value: "1" },
      { _tag: "ProducerIdsRecord", brokerId: 4, brokerEpoch: 0, nextProducerId: 1000 },
      { _tag: "NoOpRecord" },
    ]);
    const records = snapshotRecords(image);
    expect(records.map((r) => r._tag)).toEqual([
      "FeatureLevelRecord",
      "FeatureLevelRecord",
      "RegisterBrokerRecord",
      "TopicRecord",
      "PartitionRecord",
      "ConfigRecord",
      "ProducerIdsRecord",
    ]);
    expect(records[0]).toEqual({ _tag: "FeatureLevelRecord", name: "metadata.version", featureLevel: 21 });
    // The partition as it stands after the change: leader 5 in leader epoch 1, partition epoch 1.
    expect(records[4]).toMatchObject({ leader: 5, leaderEpoch: 1, partitionEpoch: 1, isr: [4, 5] });
    expect(records[6]).toEqual({
      _tag: "ProducerIdsRecord",
      brokerId: -1,
      brokerEpoch: -1,
      nextProducerId: 1000,
    });
    const loaded = loadSnapshotImage(records, 9, 3);
    expect(loaded.problems).toEqual([]);
    expect(loaded.image).toEqual({ ...image, offset: 8, epoch: 3 });
  });

  it("an empty image makes an empty snapshot, which loads as the empty image at the snapshot's end", () => {
    expect(snapshotRecords(EMPTY_IMAGE)).toEqual([]);
    expect(loadSnapshotImage([], 5, 2)).toEqual({
      image: { ...EMPTY_IMAGE, offset: 4, epoch: 2 },
      problems: [],
    });
  });

  it("loading a snapshot taken at any committed offset, then replaying the rest of the log, gives the image the whole log gives", () => {
    fc.assert(
      fc.property(fc.array(fc.nat(1000), { minLength: 20, maxLength: 120 }), fc.nat(1000), (choices, cut) => {
        const worlds = walk(choices);
        const records = committedRecords(worlds[worlds.length - 1]!);
        const whole = replay(EMPTY_IMAGE, records).image;
        const at = cut % (records.length + 1);
        const before = replay(EMPTY_IMAGE, records.slice(0, at)).image;
        // The snapshot ends after the last record it holds (control records may follow; none here).
        const endOffset = before.offset + 1;
        const loaded = loadSnapshotImage(snapshotRecords(before), endOffset, before.epoch);
        expect(loaded.problems).toEqual([]);
        expect(loaded.image).toEqual(before);
        const rest = records.filter((r) => r.offset >= endOffset);
        expect(replay(loaded.image, rest).image).toEqual(whole);
        // A snapshot of the loaded image is the snapshot it was loaded from.
        expect(snapshotRecords(loaded.image)).toEqual(snapshotRecords(before));
      }),
      { numRuns: 60 },
    );
  });
});

describe("replay's fast paths", () => {
  const ids = [
    "AAAAAAAAAAAAAAAAAAAAAQ",
    "AAAAAAAAAAAAAAAAAAAAAg",
    "AAAAAAAAAAAAAAAAAAAAAw",
    "AAAAAAAAAAAAAAAAAAAABA",
  ];
  const names = ["b", "a", "d", "c", "a2"];
  const topicRecord = fc
    .record({ name: fc.constantFrom(...names), topicId: fc.constantFrom(...ids) })
    .map((r): MetadataRecord => ({ _tag: "TopicRecord", ...r }));
  // Partition ids reach past one chunk of the index; ISRs and leaders vary, the leader in or out of
  // the ISR, or none.
  const partitionId = fc.oneof(fc.nat(3), fc.nat(300));
  const isr = fc.subarray([4, 5, 6], { minLength: 1 });
  const partitionRecord = fc
    .record({ topicId: fc.constantFrom(...ids), partitionId, leader: fc.constantFrom(-1, 4, 5), isr })
    .map(
      (r): MetadataRecord => ({
        ...(partition(r.leader, r.isr) as Extract<MetadataRecord, { _tag: "PartitionRecord" }>),
        topicId: r.topicId,
        partitionId: r.partitionId,
      }),
    );
  const changeRecord = fc
    .record({
      topicId: fc.constantFrom(...ids),
      partitionId,
      leader: fc.constantFrom(-2, -1, 4, 5),
      isr: fc.option(isr),
    })
    .map((r): MetadataRecord => change(r));
  // A topic's partitions in a row, as a request writes them (the replay's in-place paths).
  const manyPartitions = fc
    .record({
      topicId: fc.constantFrom(...ids),
      from: fc.nat(200),
      count: fc.integer({ min: 1, max: 150 }),
      isr,
    })
    .map((r): MetadataRecord[] =>
      Array.from({ length: r.count }, (_, i) => ({
        ...(partition(r.isr[0], r.isr) as Extract<MetadataRecord, { _tag: "PartitionRecord" }>),
        topicId: r.topicId,
        partitionId: r.from + i,
      })),
    );
  const removeRecord = fc
    .constantFrom(...ids)
    .map((topicId): MetadataRecord => ({ _tag: "RemoveTopicRecord", topicId }));
  const configRecord = fc
    .record({
      resourceType: fc.constantFrom(RESOURCE_TOPIC, RESOURCE_BROKER),
      resourceName: fc.constantFrom("", ...names),
      name: fc.constantFrom("x", "y", "z"),
      value: fc.option(fc.constantFrom("1", "2")),
    })
    .map((r): MetadataRecord => ({ _tag: "ConfigRecord", ...r }));
  const record = fc.oneof(
    topicRecord,
    partitionRecord,
    partitionRecord,
    changeRecord,
    changeRecord,
    removeRecord,
    configRecord,
  );
  const records = fc
    .array(fc.oneof({ arbitrary: record.map((r) => [r]), weight: 8 }, manyPartitions), { maxLength: 40 })
    .map((groups) => groups.flat());

  const deepFreeze = <A>(value: A): A => {
    if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
      Object.freeze(value);
      for (const v of Object.values(value)) deepFreeze(v);
    }
    return value;
  };

  it("replay equals applying the records one by one, and never changes the image it starts from", () => {
    fc.assert(
      fc.property(records, records, (first, second) => {
        const start = deepFreeze(run(first).image);
        const records = second.map(
          (r, i): OffsetRecord => ({ offset: first.length + i, epoch: 2, record: r }),
        );
        let folded = start;
        const problems: string[] = [];
        for (const r of records) {
          const applied = apply(folded, r.record, r.offset, r.epoch);
          folded = applied.image;
          if (applied.problem !== undefined) problems.push(`offset ${r.offset}: ${applied.problem}`);
        }
        // Frozen: an in-place change to the starting image would throw here.
        const replayed = replay(start, records);
        expect(replayed).toEqual({ image: folded, problems });
        const names = topicsOf(replayed.image).map((t) => t.name);
        expect(names).toEqual([...names].sort());
        expect(shapeProblem(replayed.image.topics, (t) => t.name)).toBeNull();
        expect(shapeProblem(replayed.image.topicNamesById, (t) => t.topicId)).toBeNull();
        // The index by broker, kept record by record (in place within the replay), is the one built
        // afresh from the partitions, down to its shape.
        const fresh = withTopics(EMPTY_IMAGE, imageView(replayed.image).topics);
        expect(replayed.image.partitionsByBroker).toEqual(fresh.partitionsByBroker);
        // What fences and elections read equals a walk of every partition.
        for (const brokerId of [-1, 4, 5, 6, 7]) {
          const walked = topicsOf(replayed.image)
            .map((topic) => ({
              topic,
              partitions: partitionsOf(topic).filter(
                (p) => p.isr.includes(brokerId) || p.leader === brokerId,
              ),
            }))
            .filter((t) => t.partitions.length > 0);
          expect(partitionsOfBroker(replayed.image, brokerId)).toEqual(walked);
        }
        // Configs: in (type, resource, name) order, each key once, and the same structure as built afresh.
        const configs = configsOf(replayed.image);
        const keys = configs.map((c) => [c.resourceType, c.resourceName, c.name] as const);
        const sorted = [...keys].sort(
          (a, b) =>
            a[0] - b[0] || (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : a[2] < b[2] ? -1 : a[2] > b[2] ? 1 : 0),
        );
        expect(keys).toEqual(sorted);
        expect(new Set(keys.map((k) => k.join("/"))).size).toBe(keys.length);
        expect(replayed.image.configs).toEqual(withConfigs(EMPTY_IMAGE, [...configs].reverse()).configs);
      }),
      { numRuns: 500 },
    );
  });
});
