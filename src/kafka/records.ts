// Kafka's record batches (magic v2, the only format Kafka 4 writes), the control records KRaft puts in
// them, and the framing of metadata records inside a record's value. A batch: baseOffset, length,
// partitionLeaderEpoch, magic, CRC-32C of everything after it, attributes, offsets and timestamps,
// producer fields, then its records, each a varint-length row of varints. Compressed batches are
// refused with a decode error: KRaft's metadata log is written uncompressed here.
import { crc32c } from "../runtime/crc32c.ts";
import type { MessageCodec } from "./codec.ts";
import {
  KafkaDecodeError,
  KafkaEncodeError,
  Reader,
  unsignedVarintSize,
  utf8Length,
  varintSize,
  varlongSize,
  Writer,
} from "./wire.ts";

export const MAGIC_V2 = 2;
/** Bytes before a batch's records: baseOffset (8) … records count (4). */
export const BATCH_HEADER_BYTES = 61;
/** Where the length field ends: what a batch's length does not count. */
export const LOG_OVERHEAD = 12;
export const ATTRIBUTES_OFFSET = 21;

/** The attributes bit of a control batch. */
export const CONTROL_ATTRIBUTE = 0x20;

export interface RecordHeader {
  readonly key: string;
  readonly value: Uint8Array | null;
}

export interface KafkaRecord {
  readonly attributes: number;
  readonly timestampDelta: bigint;
  readonly offsetDelta: number;
  readonly key: Uint8Array | null;
  readonly value: Uint8Array | null;
  readonly headers: readonly RecordHeader[];
}

export interface RecordBatch {
  readonly baseOffset: bigint;
  readonly partitionLeaderEpoch: number;
  /** Compression (bits 0-2, only none here), timestamp type, transactional, control. */
  readonly attributes: number;
  readonly lastOffsetDelta: number;
  readonly baseTimestamp: bigint;
  readonly maxTimestamp: bigint;
  readonly producerId: bigint;
  readonly producerEpoch: number;
  readonly baseSequence: number;
  readonly records: readonly KafkaRecord[];
}

export const isControlBatch = (batch: RecordBatch): boolean => (batch.attributes & CONTROL_ATTRIBUTE) !== 0;

const nullableBytesSize = (b: Uint8Array | null): number =>
  b === null ? varintSize(-1) : varintSize(b.length) + b.length;

/** A record's body size: what its leading varint length counts. */
const recordBodySize = (r: KafkaRecord): number => {
  let n = 1 + varlongSize(r.timestampDelta) + varintSize(r.offsetDelta);
  n += nullableBytesSize(r.key) + nullableBytesSize(r.value);
  n += varintSize(r.headers.length);
  for (const h of r.headers) {
    const key = utf8Length(h.key);
    n += varintSize(key) + key + nullableBytesSize(h.value);
  }
  return n;
};

/** The size of a batch as written, given its records' body sizes. */
const batchSize = (bodies: readonly number[]): number =>
  bodies.reduce((n, body) => n + varintSize(body) + body, BATCH_HEADER_BYTES);

const writeNullableBytes = (w: Writer, b: Uint8Array | null): void => {
  if (b === null) w.varint(-1);
  else {
    w.varint(b.length);
    w.raw(b);
  }
};

/** A batch's fields before its records, and how many records follow; where its CRC goes. */
const writeBatchHeader = (
  w: Writer,
  batch: Omit<RecordBatch, "records">,
  size: number,
  count: number,
): number => {
  if ((batch.attributes & 0x07) !== 0)
    throw new KafkaEncodeError("compressed record batches are not written here (compression must be none)");
  w.int64(batch.baseOffset);
  w.int32(size - LOG_OVERHEAD);
  w.int32(batch.partitionLeaderEpoch);
  w.int8(MAGIC_V2);
  const crcAt = w.offset;
  w.uint32(0);
  w.int16(batch.attributes);
  w.int32(batch.lastOffsetDelta);
  w.int64(batch.baseTimestamp);
  w.int64(batch.maxTimestamp);
  w.int64(batch.producerId);
  w.int16(batch.producerEpoch);
  w.int32(batch.baseSequence);
  w.int32(count);
  return crcAt;
};

/** Check the batch came out at its size, then fill in its CRC-32C. */
const sealBatch = (w: Writer, start: number, size: number, crcAt: number): void => {
  if (w.offset - start !== size)
    throw new Error(`record batch sized ${size} bytes, wrote ${w.offset - start}`);
  const crc = crc32c(w.buffer.subarray(start + ATTRIBUTES_OFFSET, w.offset));
  new DataView(w.buffer.buffer, w.buffer.byteOffset).setUint32(crcAt, crc);
};

/** Write a batch whose records' body sizes are known (sized once, for the buffer and the rows). */
const writeBatch = (w: Writer, batch: RecordBatch, bodies: readonly number[]): void => {
  const start = w.offset;
  const size = batchSize(bodies);
  const crcAt = writeBatchHeader(w, batch, size, batch.records.length);
  for (const [i, r] of batch.records.entries()) {
    w.varint(bodies[i]!);
    w.int8(r.attributes);
    w.varlong(r.timestampDelta);
    w.varint(r.offsetDelta);
    writeNullableBytes(w, r.key);
    writeNullableBytes(w, r.value);
    w.varint(r.headers.length);
    for (const h of r.headers) {
      w.varint(utf8Length(h.key));
      w.utf8(h.key);
      writeNullableBytes(w, h.value);
    }
  }
  sealBatch(w, start, size, crcAt);
};

/**
 * A record whose value is written straight into its batch, sized first: a log of many small metadata
 * records needs no buffer per record. It has no headers, attributes 0 and its batch's timestamp.
 */
export interface RecordToWrite {
  readonly key: Uint8Array | null;
  readonly valueSize: number;
  readonly writeValue: (w: Writer) => void;
}

/** A batch of `records` at offset deltas 0, 1, …, in one buffer. */
export const encodeBatchInPlace = (
  batch: Omit<RecordBatch, "records" | "lastOffsetDelta">,
  records: readonly RecordToWrite[],
): Uint8Array => {
  const bodies = records.map(
    (r, i) => 3 + varintSize(i) + nullableBytesSize(r.key) + varintSize(r.valueSize) + r.valueSize,
  );
  const size = batchSize(bodies);
  const w = Writer.ofSize(size);
  const crcAt = writeBatchHeader(w, { ...batch, lastOffsetDelta: records.length - 1 }, size, records.length);
  for (const [i, r] of records.entries()) {
    w.varint(bodies[i]!);
    w.int8(0); // attributes
    w.varlong(0n); // timestampDelta
    w.varint(i);
    writeNullableBytes(w, r.key);
    w.varint(r.valueSize);
    const valueStart = w.offset;
    r.writeValue(w);
    if (w.offset - valueStart !== r.valueSize)
      throw new Error(`a record value sized ${r.valueSize} bytes wrote ${w.offset - valueStart}`);
    w.varint(0); // headers
  }
  sealBatch(w, 0, size, crcAt);
  return w.buffer;
};

export const encodeRecordBatch = (batch: RecordBatch): Uint8Array => {
  const bodies = batch.records.map(recordBodySize);
  const w = Writer.ofSize(batchSize(bodies));
  writeBatch(w, batch, bodies);
  return w.buffer;
};

const readNullableBytes = (r: Reader, what: string): Uint8Array | null => {
  const n = r.varint();
  if (n < -1) throw new KafkaDecodeError(`${what} has length ${n}`);
  return n === -1 ? null : r.raw(n, what);
};

/** One batch, checked: magic, length, CRC, record count and every record's length. */
export const readRecordBatch = (r: Reader): RecordBatch => {
  const start = r.offset;
  const baseOffset = r.int64();
  const length = r.int32();
  if (length < BATCH_HEADER_BYTES - LOG_OVERHEAD)
    throw new KafkaDecodeError(
      `a record batch at offset ${start} claims ${length} bytes, fewer than its header`,
    );
  if (length > r.remaining)
    throw new KafkaDecodeError(
      `a record batch at offset ${start} claims ${length} bytes; ${r.remaining} remain`,
    );
  const end = r.offset + length;
  const batch = new Reader(r.buffer, r.offset, end);
  const partitionLeaderEpoch = batch.int32();
  const magic = batch.int8();
  if (magic !== MAGIC_V2)
    throw new KafkaDecodeError(`a record batch at offset ${start} has magic ${magic}, not 2`);
  const crc = batch.uint32();
  const actual = crc32c(r.buffer.subarray(batch.offset, end));
  if (crc !== actual)
    throw new KafkaDecodeError(
      `a record batch at offset ${start} fails its CRC-32C (stored ${crc.toString(16)}, computed ${actual.toString(16)})`,
    );
  const attributes = batch.int16();
  if ((attributes & 0x07) !== 0)
    throw new KafkaDecodeError(
      `a record batch at offset ${start} is compressed (codec ${attributes & 0x07})`,
    );
  const lastOffsetDelta = batch.int32();
  const baseTimestamp = batch.int64();
  const maxTimestamp = batch.int64();
  const producerId = batch.int64();
  const producerEpoch = batch.int16();
  const baseSequence = batch.int32();
  const count = batch.int32();
  if (count < 0 || count > batch.remaining)
    throw new KafkaDecodeError(`a record batch at offset ${start} claims ${count} records`);
  const records: KafkaRecord[] = [];
  for (let i = 0; i < count; i++) {
    const size = batch.varint();
    if (size < 0 || size > batch.remaining)
      throw new KafkaDecodeError(`record ${i} of the batch at ${start} claims ${size} bytes`);
    const rec = new Reader(batch.buffer, batch.offset, batch.offset + size);
    const recordAttributes = rec.int8();
    const timestampDelta = rec.varlong();
    const offsetDelta = rec.varint();
    const key = readNullableBytes(rec, "a record key");
    const value = readNullableBytes(rec, "a record value");
    const headerCount = rec.varint();
    if (headerCount < 0 || headerCount > rec.remaining)
      throw new KafkaDecodeError(`record ${i} of the batch at ${start} claims ${headerCount} headers`);
    const headers: RecordHeader[] = [];
    for (let h = 0; h < headerCount; h++) {
      const keyBytes = readNullableBytes(rec, "a header key");
      if (keyBytes === null) throw new KafkaDecodeError(`a header key of record ${i} is null`);
      headers.push({
        key: new TextDecoder().decode(keyBytes),
        value: readNullableBytes(rec, "a header value"),
      });
    }
    if (rec.remaining !== 0)
      throw new KafkaDecodeError(
        `record ${i} of the batch at ${start} has ${rec.remaining} bytes after its headers`,
      );
    batch.offset = rec.offset;
    records.push({ attributes: recordAttributes, timestampDelta, offsetDelta, key, value, headers });
  }
  if (batch.remaining !== 0)
    throw new KafkaDecodeError(
      `the batch at ${start} has ${batch.remaining} bytes after its ${count} records`,
    );
  r.offset = end;
  return {
    baseOffset,
    partitionLeaderEpoch,
    attributes,
    lastOffsetDelta,
    baseTimestamp,
    maxTimestamp,
    producerId,
    producerEpoch,
    baseSequence,
    records,
  };
};

/** Every whole batch in `bytes`; a partial batch at the end is left for the caller (a Fetch may cut one). */
export const readRecordBatches = (bytes: Uint8Array): { batches: RecordBatch[]; partialBytes: number } => {
  const r = new Reader(bytes);
  const batches: RecordBatch[] = [];
  while (r.remaining >= LOG_OVERHEAD) {
    const length = new DataView(bytes.buffer, bytes.byteOffset + r.offset + 8, 4).getInt32(0);
    if (length >= 0 && LOG_OVERHEAD + length > r.remaining) break;
    batches.push(readRecordBatch(r));
  }
  return { batches, partialBytes: r.remaining };
};

// ---- KRaft's records -------------------------------------------------------------------------------

/** Control record types (ControlRecordType): KRaft's, and a transaction's markers. */
export const ControlRecordType = {
  ABORT: 0,
  COMMIT: 1,
  LEADER_CHANGE: 2,
  SNAPSHOT_HEADER: 3,
  SNAPSHOT_FOOTER: 4,
  KRAFT_VERSION: 5,
  KRAFT_VOTERS: 6,
} as const;

/** A control record's key: version 0 and its type. */
export const controlRecordKey = (type: number): Uint8Array => {
  const w = Writer.ofSize(4);
  w.int16(0);
  w.int16(type);
  return w.buffer;
};

export const controlRecordType = (key: Uint8Array | null): number => {
  if (key === null || key.length < 4) throw new KafkaDecodeError("a control record has no key");
  const r = new Reader(key);
  const version = r.int16();
  if (version < 0) throw new KafkaDecodeError(`a control record key has version ${version}`);
  return r.int16();
};

/** A metadata record's value as Kafka frames it: frame version 1, its type, its version, the record. */
export const metadataRecordValue = <T>(codec: MessageCodec<T>, value: T, version: number): Uint8Array => {
  const body = codec.size(value, version);
  const w = Writer.ofSize(
    unsignedVarintSize(1) + unsignedVarintSize(codec.apiKey) + unsignedVarintSize(version) + body,
  );
  w.unsignedVarint(1);
  w.unsignedVarint(codec.apiKey);
  w.unsignedVarint(version);
  codec.write(w, value, version);
  return w.buffer;
};

/** A metadata record's frame: its type and version, and where its message starts. */
export const metadataRecordFrame = (
  bytes: Uint8Array,
): { apiKey: number; version: number; body: Uint8Array } => {
  const r = new Reader(bytes);
  const frameVersion = r.unsignedVarint();
  if (frameVersion !== 1)
    throw new KafkaDecodeError(`a metadata record has frame version ${frameVersion}, not 1`);
  const apiKey = r.unsignedVarint();
  const version = r.unsignedVarint();
  return { apiKey, version, body: bytes.subarray(r.offset) };
};
