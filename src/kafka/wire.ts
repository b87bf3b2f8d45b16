// Kafka's primitive wire types (the protocol guide's "Protocol Primitive Types"): fixed-width
// big-endian integers, varints, strings and byte arrays in their classic (int16/int32 length) and
// compact (unsigned varint length + 1) forms, UUIDs and tagged fields. The generated message codecs
// (src/kafka/generated/) size a message first, then write it into one buffer of exactly that size.
import { METADATA_TOPIC_ID } from "../../spec/raft/primitives.ts";

/** Bytes that are not a valid encoding of the message they claim to be. */
export class KafkaDecodeError extends Error {
  override readonly name = "KafkaDecodeError";
}

/** A value that cannot be encoded in the version asked for (Kafka's UnsupportedVersionException). */
export class KafkaEncodeError extends Error {
  override readonly name = "KafkaEncodeError";
}

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder("utf-8", { fatal: true });

/** The UTF-8 length of a string, without encoding it. */
export const utf8Length = (s: string): number => {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 4;
        i++;
      } else n += 3;
    } else n += 3;
  }
  return n;
};

/** Bytes an unsigned varint takes. */
export const unsignedVarintSize = (value: number): number => {
  let v = value >>> 0;
  let n = 1;
  while (v >= 0x80) {
    v >>>= 7;
    n++;
  }
  return n;
};

/** Bytes a zigzag (signed) varint takes. */
export const varintSize = (value: number): number => unsignedVarintSize((value << 1) ^ (value >> 31));

/** Bytes a zigzag (signed) varlong takes. */
export const varlongSize = (value: bigint): number => {
  let v = BigInt.asUintN(64, (value << 1n) ^ (value >> 63n));
  let n = 1;
  while (v >= 0x80n) {
    v >>= 7n;
    n++;
  }
  return n;
};

/** Sizes of the string and byte forms, given the payload's byte length (-1: null). */
export const stringSize = (bytes: number): number => 2 + Math.max(0, bytes);
export const compactSize = (bytes: number): number => unsignedVarintSize(bytes + 1) + Math.max(0, bytes);
export const bytesSize = (bytes: number): number => 4 + Math.max(0, bytes);

/** A writer over a buffer already sized for the whole message. */
export class Writer {
  readonly buffer: Uint8Array;
  private readonly view: DataView;
  offset: number;

  constructor(buffer: Uint8Array, offset = 0) {
    this.buffer = buffer;
    this.view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
    this.offset = offset;
  }

  static ofSize(size: number): Writer {
    return new Writer(new Uint8Array(size));
  }

  int8(v: number): void {
    this.view.setInt8(this.offset, v);
    this.offset += 1;
  }
  int16(v: number): void {
    this.view.setInt16(this.offset, v);
    this.offset += 2;
  }
  uint16(v: number): void {
    this.view.setUint16(this.offset, v);
    this.offset += 2;
  }
  int32(v: number): void {
    this.view.setInt32(this.offset, v);
    this.offset += 4;
  }
  uint32(v: number): void {
    this.view.setUint32(this.offset, v);
    this.offset += 4;
  }
  int64(v: bigint): void {
    this.view.setBigInt64(this.offset, v);
    this.offset += 8;
  }
  float64(v: number): void {
    this.view.setFloat64(this.offset, v);
    this.offset += 8;
  }
  bool(v: boolean): void {
    this.buffer[this.offset++] = v ? 1 : 0;
  }
  unsignedVarint(value: number): void {
    let v = value >>> 0;
    while (v >= 0x80) {
      this.buffer[this.offset++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.buffer[this.offset++] = v;
  }
  varint(v: number): void {
    this.unsignedVarint((v << 1) ^ (v >> 31));
  }
  varlong(value: bigint): void {
    let v = BigInt.asUintN(64, (value << 1n) ^ (value >> 63n));
    while (v >= 0x80n) {
      this.buffer[this.offset++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.buffer[this.offset++] = Number(v);
  }
  raw(bytes: Uint8Array): void {
    this.buffer.set(bytes, this.offset);
    this.offset += bytes.length;
  }
  /** UTF-8 of `s`, whose length the caller has already written. */
  utf8(s: string): void {
    const { written } = textEncoder.encodeInto(s, this.buffer.subarray(this.offset));
    this.offset += written;
  }
  string(s: string | null): void {
    if (s === null) {
      this.int16(-1);
      return;
    }
    this.int16(utf8Length(s));
    this.utf8(s);
  }
  compactString(s: string | null): void {
    if (s === null) {
      this.unsignedVarint(0);
      return;
    }
    this.unsignedVarint(utf8Length(s) + 1);
    this.utf8(s);
  }
  bytes(b: Uint8Array | null): void {
    if (b === null) {
      this.int32(-1);
      return;
    }
    this.int32(b.length);
    this.raw(b);
  }
  compactBytes(b: Uint8Array | null): void {
    if (b === null) {
      this.unsignedVarint(0);
      return;
    }
    this.unsignedVarint(b.length + 1);
    this.raw(b);
  }
  uuid(id: string): void {
    // Decoded straight into the buffer: a record batch of partitions writes one per record.
    writeUuid(id, this.buffer, this.offset);
    this.offset += 16;
  }
}

/** A bounds-checked reader; every overrun or malformed length is a KafkaDecodeError. */
export class Reader {
  readonly buffer: Uint8Array;
  private readonly view: DataView;
  offset: number;
  readonly end: number;

  constructor(buffer: Uint8Array, offset = 0, end = buffer.length) {
    this.buffer = buffer;
    this.view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
    this.offset = offset;
    this.end = end;
  }

  get remaining(): number {
    return this.end - this.offset;
  }

  private need(n: number, what: string): void {
    if (n < 0 || this.offset + n > this.end)
      throw new KafkaDecodeError(
        `${what} needs ${n} bytes at offset ${this.offset}, but only ${this.end - this.offset} remain`,
      );
  }

  int8(): number {
    this.need(1, "an int8");
    return this.view.getInt8(this.offset++);
  }
  int16(): number {
    this.need(2, "an int16");
    const v = this.view.getInt16(this.offset);
    this.offset += 2;
    return v;
  }
  uint16(): number {
    this.need(2, "a uint16");
    const v = this.view.getUint16(this.offset);
    this.offset += 2;
    return v;
  }
  int32(): number {
    this.need(4, "an int32");
    const v = this.view.getInt32(this.offset);
    this.offset += 4;
    return v;
  }
  uint32(): number {
    this.need(4, "a uint32");
    const v = this.view.getUint32(this.offset);
    this.offset += 4;
    return v;
  }
  int64(): bigint {
    this.need(8, "an int64");
    const v = this.view.getBigInt64(this.offset);
    this.offset += 8;
    return v;
  }
  float64(): number {
    this.need(8, "a float64");
    const v = this.view.getFloat64(this.offset);
    this.offset += 8;
    return v;
  }
  bool(): boolean {
    this.need(1, "a boolean");
    return this.buffer[this.offset++] !== 0;
  }
  unsignedVarint(): number {
    let value = 0;
    for (let shift = 0; shift <= 28; shift += 7) {
      this.need(1, "a varint");
      const b = this.buffer[this.offset++]!;
      value |= (b & 0x7f) << shift;
      if ((b & 0x80) === 0) return value >>> 0;
    }
    throw new KafkaDecodeError(`a varint at offset ${this.offset - 5} is longer than 5 bytes`);
  }
  varint(): number {
    const v = this.unsignedVarint();
    return (v >>> 1) ^ -(v & 1);
  }
  varlong(): bigint {
    let value = 0n;
    for (let shift = 0n; shift <= 63n; shift += 7n) {
      this.need(1, "a varlong");
      const b = this.buffer[this.offset++]!;
      value |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return BigInt.asIntN(64, (value >> 1n) ^ -(value & 1n));
    }
    throw new KafkaDecodeError(`a varlong at offset ${this.offset - 10} is longer than 10 bytes`);
  }
  raw(n: number, what = "bytes"): Uint8Array {
    this.need(n, what);
    const out = this.buffer.subarray(this.offset, this.offset + n);
    this.offset += n;
    return out;
  }
  private utf8(n: number): string {
    const bytes = this.raw(n, "a string");
    try {
      return textDecoder.decode(bytes);
    } catch {
      throw new KafkaDecodeError(`a string at offset ${this.offset - n} is not valid UTF-8`);
    }
  }
  string(): string | null {
    const n = this.int16();
    if (n < -1) throw new KafkaDecodeError(`a string length of ${n} at offset ${this.offset - 2}`);
    return n === -1 ? null : this.utf8(n);
  }
  compactString(): string | null {
    const n = this.unsignedVarint() - 1;
    return n === -1 ? null : this.utf8(n);
  }
  bytes(): Uint8Array | null {
    const n = this.int32();
    if (n < -1) throw new KafkaDecodeError(`a byte array length of ${n} at offset ${this.offset - 4}`);
    return n === -1 ? null : this.raw(n);
  }
  compactBytes(): Uint8Array | null {
    const n = this.unsignedVarint() - 1;
    return n === -1 ? null : this.raw(n);
  }
  /** An array's element count (-1: null), checked against what is left: each element is a byte at least. */
  arrayLength(compact: boolean): number {
    const n = compact ? this.unsignedVarint() - 1 : this.int32();
    if (n < -1 || n > this.remaining)
      throw new KafkaDecodeError(`an array of ${n} elements at offset ${this.offset} cannot fit the frame`);
    return n;
  }
  uuid(): string {
    return uuidString(this.raw(16, "a uuid"));
  }
  /** Skip a tagged field this version does not know. */
  discard(n: number): void {
    this.need(n, "a tagged field");
    this.offset += n;
  }
}

// ---- UUIDs: Kafka prints them as URL-safe base64 without padding (22 characters) ----------------

const BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const BASE64URL_INDEX = new Int8Array(128).fill(-1);
for (let i = 0; i < BASE64URL.length; i++) BASE64URL_INDEX[BASE64URL.charCodeAt(i)] = i;

export const ZERO_UUID = "AAAAAAAAAAAAAAAAAAAAAA";

/** An int64 the spec keeps as a JS number (offsets, epochs, ids): beyond 2^53 is a decode error, not rounded. */
export const safeNumber = (value: bigint, field: string): number => {
  if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER))
    throw new KafkaDecodeError(`${field} ${value} is beyond what this implementation models (2^53)`);
  return Number(value);
};

export const uuidString = (bytes: Uint8Array): string => {
  let out = "";
  let i = 0;
  for (; i + 3 <= 15; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out += BASE64URL[n >> 18]! + BASE64URL[(n >> 12) & 63]! + BASE64URL[(n >> 6) & 63]! + BASE64URL[n & 63]!;
  }
  const last = bytes[15]!;
  return out + BASE64URL[last >> 2]! + BASE64URL[(last & 3) << 4]!;
};

export const uuidBytes = (id: string): Uint8Array => {
  const out = new Uint8Array(16);
  writeUuid(id, out, 0);
  return out;
};

/**
 * A new random Kafka UUID with Kafka's Uuid.randomUuid guarantees: never the reserved ids 0 and 1, and
 * never one whose text starts with "-", which command-line tools would read as an option. Kafka draws
 * again; this mends the one draw instead, so a degenerate source (all zeros) cannot loop forever.
 */
export const randomUuid = (randomBytes16: () => Uint8Array): string => {
  const bytes = Uint8Array.from(randomBytes16());
  // "-" is the 62nd base64url digit: the first 6 bits 111110. Clearing the top bit makes it "e".
  if (bytes[0]! >> 2 === 62) bytes[0] = bytes[0]! & 0x7f;
  const text = uuidString(bytes);
  if (text !== ZERO_UUID && text !== METADATA_TOPIC_ID) return text;
  bytes[0] = 0x10; // 0 and 1 have a zero first byte
  return uuidString(bytes);
};

/** Whether `text` is a Kafka UUID as Kafka prints one: 22 base64url characters, the last 4 bits zero. */
export const isKafkaUuid = (text: string): boolean => {
  try {
    writeUuid(text, new Uint8Array(16), 0);
    return true;
  } catch {
    return false;
  }
};

/** Decode a Kafka UUID's 22 base64url characters into `out` at `at` (16 bytes). */
const writeUuid = (id: string, out: Uint8Array, at: number): void => {
  if (id.length !== 22) throw new KafkaEncodeError(`"${id}" is not a Kafka UUID (22 base64url characters)`);
  let bits = 0;
  let acc = 0;
  let o = at;
  const end = at + 16;
  for (let i = 0; i < 22; i++) {
    const code = id.charCodeAt(i);
    const v = code > 127 ? -1 : (BASE64URL_INDEX[code] ?? -1);
    if (v < 0) throw new KafkaEncodeError(`"${id}" is not a Kafka UUID`);
    acc = ((acc << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      if (o < end) out[o++] = (acc >> bits) & 0xff;
    }
  }
  // 22 characters carry 132 bits: the last 4 must be zero, or two texts would name one id.
  if ((acc & 0xf) !== 0) throw new KafkaEncodeError(`"${id}" is not a canonical Kafka UUID`);
};
