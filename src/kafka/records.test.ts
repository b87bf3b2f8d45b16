import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeMessage } from "./codec.ts";
import { LeaderChangeMessage, PartitionRecord, TopicRecord } from "./generated/messages.ts";
import golden from "./golden.json" with { type: "json" };
import {
  ControlRecordType,
  controlRecordKey,
  controlRecordType,
  encodeRecordBatch,
  isControlBatch,
  type KafkaRecord,
  metadataRecordFrame,
  metadataRecordValue,
  type RecordBatch,
  readRecordBatches,
} from "./records.ts";
import { KafkaDecodeError } from "./wire.ts";

const bytes = fc.option(fc.uint8Array({ maxLength: 40 }), { nil: null, freq: 5 });
const record: fc.Arbitrary<KafkaRecord> = fc.record({
  attributes: fc.constant(0),
  timestampDelta: fc.bigInt({ min: -(2n ** 40n), max: 2n ** 40n }),
  offsetDelta: fc.integer({ min: 0, max: 1000 }),
  key: bytes,
  value: bytes,
  headers: fc.array(fc.record({ key: fc.string({ unit: "grapheme", maxLength: 8 }), value: bytes }), {
    maxLength: 3,
  }),
});
const batch: fc.Arbitrary<RecordBatch> = fc.record({
  baseOffset: fc.bigInt({ min: 0n, max: 2n ** 62n }),
  partitionLeaderEpoch: fc.integer({ min: -1, max: 2 ** 31 - 1 }),
  attributes: fc.constantFrom(0, 0x10, 0x20, 0x08),
  lastOffsetDelta: fc.integer({ min: 0, max: 1000 }),
  baseTimestamp: fc.bigInt({ min: -1n, max: 2n ** 50n }),
  maxTimestamp: fc.bigInt({ min: -1n, max: 2n ** 50n }),
  producerId: fc.bigInt({ min: -1n, max: 2n ** 40n }),
  producerEpoch: fc.integer({ min: -1, max: 32767 }),
  baseSequence: fc.integer({ min: -1, max: 2 ** 31 - 1 }),
  records: fc.array(record, { maxLength: 5 }),
});

const concat = (parts: readonly Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};

const goldenBatch = (name: string) =>
  Buffer.from(golden.messages.find((m: { name: string }) => m.name === name)!.hex, "hex");

describe("Kafka record batches (magic v2)", () => {
  it("property: batches decode to what was encoded, several in a row, a cut last one left over", () => {
    fc.assert(
      fc.property(fc.array(batch, { minLength: 1, maxLength: 4 }), fc.nat(), (batches, cut) => {
        const encoded = batches.map(encodeRecordBatch);
        const all = concat(encoded);
        expect(readRecordBatches(all)).toEqual({ batches, partialBytes: 0 });
        // A Fetch may end inside a batch: the whole ones come back, the rest is left over.
        const last = encoded.at(-1)!;
        const short = 1 + (cut % (last.length - 1));
        const truncated = all.subarray(0, all.length - short);
        const read = readRecordBatches(truncated);
        expect(read.batches).toEqual(batches.slice(0, -1));
        expect(read.partialBytes).toBe(last.length - short);
      }),
      { numRuns: 200 },
    );
  });

  it("property: any flipped byte is found by the CRC or the framing, never taken silently", () => {
    fc.assert(
      fc.property(batch, fc.nat(), fc.integer({ min: 1, max: 255 }), (b, at, flip) => {
        const encoded = encodeRecordBatch(b);
        // Bytes 17-20 hold the CRC itself; from 21 on, what it covers. Offsets 0-16 are outside it.
        const position = 21 + (at % (encoded.length - 21));
        const broken = Uint8Array.from(encoded);
        broken[position]! ^= flip;
        expect(() => readRecordBatches(broken)).toThrow(KafkaDecodeError);
      }),
      { numRuns: 300 },
    );
  });

  it(`reads Kafka ${golden.kafka}'s own batches byte for byte: metadata records and a LeaderChange control batch`, () => {
    const metadata = goldenBatch("batch:metadata");
    const { batches, partialBytes } = readRecordBatches(metadata);
    expect(partialBytes).toBe(0);
    expect(batches).toHaveLength(1);
    const b = batches[0]!;
    expect(b).toMatchObject({
      baseOffset: 100n,
      partitionLeaderEpoch: 6,
      lastOffsetDelta: 1,
      producerId: -1n,
    });
    expect(isControlBatch(b)).toBe(false);
    expect(Buffer.from(encodeRecordBatch(b)).equals(metadata)).toBe(true);
    const [topic, partition] = b.records.map((r) => metadataRecordFrame(r.value!));
    expect(topic).toMatchObject({ apiKey: TopicRecord.apiKey, version: 0 });
    expect(decodeMessage(TopicRecord, topic!.body, 0)).toEqual({
      name: "orders",
      topicId: "AAAAAAAAAAAAAAAAAAAAAQ",
    });
    expect(decodeMessage(PartitionRecord, partition!.body, 0)).toMatchObject({
      replicas: [4, 5],
      isr: [4, 5],
      leader: 4,
    });
    // openkraft frames a metadata record exactly as Kafka does.
    expect(
      Buffer.from(metadataRecordValue(TopicRecord, { name: "orders", topicId: "AAAAAAAAAAAAAAAAAAAAAQ" }, 0)),
    ).toEqual(Buffer.from(b.records[0]!.value!));

    const leaderChange = goldenBatch("batch:leader-change");
    const control = readRecordBatches(leaderChange).batches[0]!;
    expect(isControlBatch(control)).toBe(true);
    expect(control).toMatchObject({ baseOffset: 7n, partitionLeaderEpoch: 6 });
    const only = control.records[0]!;
    expect(controlRecordType(only.key)).toBe(ControlRecordType.LEADER_CHANGE);
    expect(Buffer.from(only.key!)).toEqual(Buffer.from(controlRecordKey(ControlRecordType.LEADER_CHANGE)));
    expect(decodeMessage(LeaderChangeMessage, only.value!, 0)).toEqual({
      version: 0,
      leaderId: 1,
      voters: [1, 2].map((voterId) => ({ voterId, voterDirectoryId: "AAAAAAAAAAAAAAAAAAAAAA" })),
      grantingVoters: [{ voterId: 1, voterDirectoryId: "AAAAAAAAAAAAAAAAAAAAAA" }],
    });
    expect(Buffer.from(encodeRecordBatch(control)).equals(leaderChange)).toBe(true);
  });

  it("refuses what it does not read, naming it: compression, another magic, a length beyond the bytes", () => {
    const b = encodeRecordBatch({
      baseOffset: 0n,
      partitionLeaderEpoch: 1,
      attributes: 0,
      lastOffsetDelta: 0,
      baseTimestamp: 0n,
      maxTimestamp: 0n,
      producerId: -1n,
      producerEpoch: -1,
      baseSequence: -1,
      records: [],
    });
    const magic = Uint8Array.from(b);
    magic[16] = 1;
    expect(() => readRecordBatches(magic)).toThrow(/has magic 1, not 2/);
    expect(() => encodeRecordBatch({ ...readRecordBatches(b).batches[0]!, attributes: 1 })).toThrow(
      /compression must be none/,
    );
  });
});
