// The shape of a generated message codec, and encoding and decoding a whole message with it.
import { KafkaDecodeError, KafkaEncodeError, Reader, Writer } from "./wire.ts";

export interface MessageCodec<T> {
  readonly name: string;
  /** request, response, header, data (control records, quorum-state) or metadata (a record). */
  readonly kind: string;
  /** The API key of a request or response, the record type of a metadata record; -1 otherwise. */
  readonly apiKey: number;
  readonly lowestVersion: number;
  readonly highestVersion: number;
  /** The first version with compact forms and tagged fields; -1 if none. */
  readonly lowestFlexibleVersion: number;
  readonly size: (value: T, version: number) => number;
  readonly write: (w: Writer, value: T, version: number) => void;
  readonly read: (r: Reader, version: number) => T;
  readonly defaults: () => T;
  /** The name of its top-level struct in DESCRIPTORS. */
  readonly descriptor: string;
}

/** A codec whatever its message: lists of codecs (by API key, by record type) hold these. */
// biome-ignore lint/suspicious/noExplicitAny: a codec of any message; its user pairs values with it by API key
export type AnyMessageCodec = MessageCodec<any>;

/** One field of a generated struct, for tests that build values of any message and version. */
export interface FieldDescriptor {
  readonly key: string;
  /** A Kafka primitive type, string, bytes or records, or a struct's descriptor name. */
  readonly type: string;
  readonly array: boolean;
  readonly struct: boolean;
  readonly versions: string;
  readonly nullable: string;
  readonly tagged: string;
}

/** Why `version` is not one of the codec's, or null when it is. */
const versionProblem = (
  codec: { name: string; lowestVersion: number; highestVersion: number },
  version: number,
) =>
  !Number.isInteger(version) || version < codec.lowestVersion || version > codec.highestVersion
    ? `${codec.name} has versions ${codec.lowestVersion}-${codec.highestVersion}, not ${version}`
    : null;

/** `value` as `version` of the message: sized first, then written into one buffer of that size. */
export const encodeMessage = <T>(codec: MessageCodec<T>, value: T, version: number): Uint8Array => {
  const problem = versionProblem(codec, version);
  if (problem !== null) throw new KafkaEncodeError(problem);
  const size = codec.size(value, version);
  const w = Writer.ofSize(size);
  codec.write(w, value, version);
  if (w.offset !== size) throw new Error(`${codec.name} v${version}: sized ${size} bytes, wrote ${w.offset}`);
  return w.buffer;
};

/** Decode exactly `bytes` as `version` of the message; trailing bytes are an error. */
export const decodeMessage = <T>(codec: MessageCodec<T>, bytes: Uint8Array, version: number): T => {
  const problem = versionProblem(codec, version);
  if (problem !== null) throw new KafkaDecodeError(problem);
  const r = new Reader(bytes);
  let value: T;
  try {
    value = codec.read(r, version);
  } catch (error) {
    if (error instanceof KafkaDecodeError) throw error;
    // A RangeError from a typed array or a TextDecoder is still malformed input.
    throw new KafkaDecodeError(`${codec.name} v${version}: ${(error as Error).message}`);
  }
  if (r.remaining !== 0)
    throw new KafkaDecodeError(`${codec.name} v${version}: ${r.remaining} bytes left over after the message`);
  return value;
};

// ---- helpers the generated code calls ----------------------------------------------------------

export const nonNull = <T>(value: T | null, field: string): T => {
  if (value === null) throw new KafkaDecodeError(`${field} is null, which it cannot be`);
  return value;
};

export const nullableIn = <T>(value: T | null, allowed: boolean, field: string): T | null => {
  if (value === null && !allowed)
    throw new KafkaDecodeError(`${field} is null in a version where it cannot be`);
  return value;
};

export const nullError = (field: string): never => {
  throw new KafkaDecodeError(`${field} is null in a version where it cannot be`);
};

/** Whether a struct equals its default, field by field (a tagged struct is written only when not). */
export const isDeepDefault = (value: unknown, defaults: unknown): boolean => {
  if (value === defaults) return true;
  if (value instanceof Uint8Array && defaults instanceof Uint8Array)
    return value.length === defaults.length && value.every((b, i) => b === defaults[i]);
  if (Array.isArray(value) && Array.isArray(defaults))
    return value.length === defaults.length && value.every((v, i) => isDeepDefault(v, defaults[i]));
  if (typeof value === "object" && value !== null && typeof defaults === "object" && defaults !== null) {
    const a = value as Record<string, unknown>;
    const b = defaults as Record<string, unknown>;
    return Object.keys(b).every((k) => isDeepDefault(a[k], b[k]));
  }
  return false;
};
