import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { MetadataRecord } from "../../spec/metadata/records.ts";
import { AccessControlEntryRecord, UnregisterBrokerRecord } from "./generated/messages.ts";
import golden from "./golden.json" with { type: "json" };
import {
  decodeControlRecord,
  decodeLogBatch,
  decodeMetadataRecord,
  decodeSnapshot,
  decodeVotersRecord,
  encodeControlRecord,
  encodeKRaftVersionRecord,
  encodeLogBatch,
  encodeMetadataRecord,
  encodeSnapshot,
  encodeVotersRecord,
} from "./metadata-records.ts";
import { metadataRecordFrame, metadataRecordValue, readRecordBatches } from "./records.ts";
import { KafkaDecodeError } from "./wire.ts";

const uuid = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => Buffer.from(b).toString("base64url"));
const int8 = fc.integer({ min: -128, max: 127 });
const int16 = fc.integer({ min: -32768, max: 32767 });
const int32 = fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
const int64 = fc.maxSafeInteger();
const ids = fc.array(int32, { maxLength: 5 });

/** Every record type the spec's controller writes, with any field values their schemas allow. */
const metadataRecord: fc.Arbitrary<MetadataRecord> = fc.oneof(
  fc.record({
    _tag: fc.constant("RegisterBrokerRecord" as const),
    brokerId: int32,
    incarnationId: uuid,
    brokerEpoch: int64,
    endPoints: fc.array(
      fc.record({ name: fc.string(), host: fc.string(), port: fc.nat(65535), securityProtocol: int16 }),
      { maxLength: 3 },
    ),
    features: fc.array(
      fc.record({ name: fc.string(), minSupportedVersion: int16, maxSupportedVersion: int16 }),
      { maxLength: 3 },
    ),
    rack: fc.option(fc.string(), { nil: null }),
    fenced: fc.boolean(),
    inControlledShutdown: fc.boolean(),
  }),
  fc.record({ _tag: fc.constant("UnregisterBrokerRecord" as const), brokerId: int32, brokerEpoch: int64 }),
  fc.record({ _tag: fc.constant("FenceBrokerRecord" as const), id: int32, epoch: int64 }),
  fc.record({ _tag: fc.constant("UnfenceBrokerRecord" as const), id: int32, epoch: int64 }),
  fc.record({
    _tag: fc.constant("BrokerRegistrationChangeRecord" as const),
    brokerId: int32,
    brokerEpoch: int64,
    fenced: int8,
    inControlledShutdown: int8,
  }),
  fc.record({ _tag: fc.constant("TopicRecord" as const), name: fc.string(), topicId: uuid }),
  fc.record({ _tag: fc.constant("RemoveTopicRecord" as const), topicId: uuid }),
  fc.record({
    _tag: fc.constant("PartitionRecord" as const),
    partitionId: int32,
    topicId: uuid,
    replicas: ids,
    isr: ids,
    removingReplicas: ids,
    addingReplicas: ids,
    leader: int32,
    leaderRecoveryState: int8,
    leaderEpoch: int32,
    partitionEpoch: int32,
  }),
  fc.record({
    _tag: fc.constant("PartitionChangeRecord" as const),
    partitionId: int32,
    topicId: uuid,
    isr: fc.option(ids, { nil: null }),
    leader: int32,
    replicas: fc.option(ids, { nil: null }),
    removingReplicas: fc.option(ids, { nil: null }),
    addingReplicas: fc.option(ids, { nil: null }),
    leaderRecoveryState: int8,
  }),
  fc.record({
    _tag: fc.constant("ConfigRecord" as const),
    resourceType: int8,
    resourceName: fc.string(),
    name: fc.string(),
    value: fc.option(fc.string(), { nil: null }),
  }),
  fc.record({ _tag: fc.constant("FeatureLevelRecord" as const), name: fc.string(), featureLevel: int16 }),
  fc.constant({ _tag: "NoOpRecord" as const }),
  fc.record({
    _tag: fc.constant("ProducerIdsRecord" as const),
    brokerId: int32,
    brokerEpoch: int64,
    nextProducerId: int64,
  }),
);

const goldenHex = (name: string) =>
  Buffer.from(golden.messages.find((m: { name: string }) => m.name === name)!.hex, "hex");

describe("the spec's metadata records in Kafka's framing", () => {
  it("decode(encode(record)) is the record, for every type the controller writes", () => {
    fc.assert(
      fc.property(metadataRecord, (record) => {
        expect(decodeMetadataRecord(encodeMetadataRecord(record))).toEqual(record);
      }),
      { numRuns: 2000 },
    );
  });

  it("writes each type at the lowest version that carries every field the spec models", () => {
    const versions = (record: MetadataRecord) => {
      const frame = metadataRecordFrame(encodeMetadataRecord(record));
      return [frame.apiKey, frame.version];
    };
    expect(
      versions({
        _tag: "RegisterBrokerRecord",
        brokerId: 4,
        incarnationId: "AAAAAAAAAAAAAAAAAAAAAA",
        brokerEpoch: 10,
        endPoints: [],
        features: [],
        rack: null,
        fenced: true,
        inControlledShutdown: false,
      }),
    ).toEqual([0, 1]);
    expect(
      versions({
        _tag: "BrokerRegistrationChangeRecord",
        brokerId: 4,
        brokerEpoch: 10,
        fenced: -1,
        inControlledShutdown: 0,
      }),
    ).toEqual([17, 1]);
    expect(versions({ _tag: "NoOpRecord" })).toEqual([20, 0]);
  });

  it(`reads the records of Kafka ${golden.kafka}'s own batch as the spec's records`, () => {
    const batch = readRecordBatches(goldenHex("batch:metadata")).batches[0]!;
    const records = batch.records.map((r) => decodeMetadataRecord(r.value!));
    const topicId = (records[0] as { topicId: string }).topicId;
    expect(records).toEqual([
      { _tag: "TopicRecord", name: "orders", topicId },
      {
        _tag: "PartitionRecord",
        partitionId: 0,
        topicId,
        replicas: [4, 5],
        isr: [4, 5],
        removingReplicas: [],
        addingReplicas: [],
        leader: 4,
        leaderRecoveryState: 0,
        leaderEpoch: 0,
        partitionEpoch: 0,
      },
    ]);
    // And writes them back byte for byte (the same types at the same versions).
    expect(records.map((r) => Buffer.from(encodeMetadataRecord(r as MetadataRecord)))).toEqual(
      batch.records.map((r) => Buffer.from(r.value!)),
    );
  });

  it("a record type the spec does not model comes back with Kafka's fields, not dropped", () => {
    const acl = {
      id: "AAAAAAAAAAAAAAAAAAAAAQ",
      resourceType: 2,
      resourceName: "orders",
      patternType: 3,
      principal: "User:alice",
      host: "*",
      operation: 3,
      permissionType: 3,
    };
    expect(decodeMetadataRecord(metadataRecordValue(AccessControlEntryRecord, acl, 0))).toEqual({
      _tag: "Unmodelled",
      type: "AccessControlEntryRecord",
      version: 0,
      data: acl,
    });
  });

  it("an epoch beyond 2^53 is refused with a decode error, not rounded", () => {
    const value = metadataRecordValue(UnregisterBrokerRecord, { brokerId: 4, brokerEpoch: 2n ** 60n }, 0);
    expect(() => decodeMetadataRecord(value)).toThrow(
      new KafkaDecodeError(
        "brokerEpoch 1152921504606846976 is beyond what this implementation models (2^53)",
      ),
    );
  });
});

describe("LeaderChangeMessage, as Kafka writes it (R55)", () => {
  it("is Kafka's own control batch byte for byte, and reads back as the spec's control record", () => {
    const kafka = goldenHex("batch:leader-change");
    const batch = readRecordBatches(kafka).batches[0]!;
    const { control } = decodeControlRecord(batch.records[0]!.key, batch.records[0]!.value);
    expect(control).toEqual({
      _tag: "LeaderChangeMessage",
      leaderId: 1,
      voters: [{ id: 1 }, { id: 2 }],
      grantingVoters: [{ id: 1 }],
    });
    const ours = encodeLogBatch(
      7,
      [{ epoch: 6, control: control as never, record: null }],
      1_700_000_000_000,
    );
    expect(Buffer.from(ours)).toEqual(kafka);
    expect(encodeControlRecord(control as never).value).toEqual(new Uint8Array(batch.records[0]!.value!));
  });
});

describe("VotersRecord and KRaftVersionRecord, as Kafka writes them (R90)", () => {
  it("read Kafka's bytes as the spec's record, each voter with its listeners and range, and write them back byte for byte", () => {
    const kafka = goldenHex("VotersRecord");
    const read = decodeVotersRecord(kafka);
    expect(read).toEqual({
      _tag: "VotersRecord",
      voters: [
        {
          id: 1,
          directoryId: "Wtx4FqWiQmKa3mD5DS3b7A",
          listeners: [{ name: "CONTROLLER", host: "localhost", port: 9093 }],
          supportedKraftVersions: { minSupportedVersion: 0, maxSupportedVersion: 1 },
        },
        {
          id: 2,
          directoryId: "AAAAAAAAAAAAAAAAAAAAAQ",
          listeners: [{ name: "CONTROLLER", host: "10.0.0.2", port: 19093 }],
          supportedKraftVersions: { minSupportedVersion: 0, maxSupportedVersion: 1 },
        },
      ],
    });
    expect(Buffer.from(encodeVotersRecord(read.voters))).toEqual(kafka);
    expect(Buffer.from(encodeKRaftVersionRecord(1))).toEqual(goldenHex("KRaftVersionRecord"));
  });

  it("write each voter's own range, and openkraft's for a voter that names none", () => {
    const listeners = [{ name: "CONTROLLER", host: "h", port: 1 }];
    const ranged = { id: 3, directoryId: "Wtx4FqWiQmKa3mD5DS3b7A", listeners };
    const only0 = { ...ranged, supportedKraftVersions: { minSupportedVersion: 0, maxSupportedVersion: 0 } };
    expect(decodeVotersRecord(encodeVotersRecord([only0])).voters).toEqual([only0]);
    expect(decodeVotersRecord(encodeVotersRecord([ranged])).voters).toEqual([
      { ...ranged, supportedKraftVersions: { minSupportedVersion: 0, maxSupportedVersion: 1 } },
    ]);
  });

  it("travel in a control batch of the log and read back with their listeners", () => {
    const control = {
      _tag: "VotersRecord" as const,
      voters: [
        {
          id: 3,
          directoryId: "Wtx4FqWiQmKa3mD5DS3b7A",
          listeners: [{ name: "CONTROLLER", host: "h", port: 1 }],
          supportedKraftVersions: { minSupportedVersion: 0, maxSupportedVersion: 1 },
        },
      ],
    };
    const bytes = encodeLogBatch(5, [{ epoch: 2, control, record: null }], 0);
    const batch = readRecordBatches(bytes).batches[0]!;
    expect(decodeLogBatch(batch)).toEqual([{ epoch: 2, control, record: null }]);
  });

  it("a VotersRecord naming one voter twice is a decode error", () => {
    const voters = [{ id: 3 }, { id: 3 }];
    expect(() => decodeVotersRecord(encodeVotersRecord(voters))).toThrow(
      new KafkaDecodeError("a VotersRecord names voter 3 twice"),
    );
  });
});

describe("snapshot files, as Kafka writes them (R78)", () => {
  it("hold a header batch, the records from offset 1 in batches of the snapshot's epoch, and a footer batch", () => {
    const records: MetadataRecord[] = Array.from({ length: 2500 }, () => ({ _tag: "NoOpRecord" }));
    const bytes = encodeSnapshot(7, records, 1_700_000_000_000, 1_700_000_000_500);
    const { batches, partialBytes } = readRecordBatches(bytes);
    expect(partialBytes).toBe(0);
    expect(batches.map((b) => [Number(b.baseOffset), b.records.length, b.partitionLeaderEpoch])).toEqual([
      [0, 1, 7],
      [1, 1000, 7],
      [1001, 1000, 7],
      [2001, 500, 7],
      [2501, 1, 7],
    ]);
    expect(batches[0]!.attributes & 0x20).toBe(0x20);
    expect(batches[4]!.attributes & 0x20).toBe(0x20);
    const content = decodeSnapshot(bytes);
    expect(content.records).toHaveLength(2500);
    expect(content.lastContainedLogTimestampMs).toBe(1_700_000_000_000);
    expect(content.unmodelled.size).toBe(0);
  });

  it("read back exactly the records written, whatever they are", () => {
    fc.assert(
      fc.property(fc.array(metadataRecord, { maxLength: 30 }), fc.nat(2 ** 31 - 1), (records, epoch) => {
        expect(decodeSnapshot(encodeSnapshot(epoch, records, 5, 6)).records).toEqual(records);
      }),
      { numRuns: 100 },
    );
  });

  it("are refused when not whole, out of order or followed by anything, naming what is wrong", () => {
    const records: MetadataRecord[] = [{ _tag: "NoOpRecord" }, { _tag: "NoOpRecord" }];
    const whole = encodeSnapshot(1, records, 0, 0);
    const noFooter = Buffer.from(whole.subarray(0, whole.length - lastBatchSize(whole)));
    expect(() => decodeSnapshot(noFooter)).toThrow(/no SnapshotFooterRecord: it is not whole/);
    expect(() => decodeSnapshot(whole.subarray(0, whole.length - 3))).toThrow(/ends inside a batch/);
    expect(() => decodeSnapshot(Buffer.concat([whole, whole]))).toThrow(/after its SnapshotFooterRecord/);
    const noHeader = encodeLogBatch(0, [{ epoch: 1, control: null, record: { _tag: "NoOpRecord" } }], 0);
    expect(() => decodeSnapshot(noHeader)).toThrow(/does not start with a SnapshotHeaderRecord/);
    const corrupt = Buffer.from(whole);
    corrupt[corrupt.length - lastBatchSize(whole) - 2]! ^= 0xff;
    expect(() => decodeSnapshot(corrupt)).toThrow(KafkaDecodeError);
  });
});

/** The size of the last record batch in `bytes` (batches are laid end to end). */
const lastBatchSize = (bytes: Uint8Array): number => {
  let position = 0;
  let last = 0;
  const view = Buffer.from(bytes);
  while (position < view.length) {
    last = 12 + view.readInt32BE(position + 8);
    position += last;
  }
  return last;
};
