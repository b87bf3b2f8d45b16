import { spawnSync } from "node:child_process";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MetadataErrorCode } from "../../spec/metadata/requests.ts";
import { ErrorCode as RaftErrorCode } from "../../spec/raft/primitives.ts";
import { decodeMessage, encodeMessage, type FieldDescriptor } from "./codec.ts";
import { KafkaError } from "./errors.ts";
import * as generated from "./generated/messages.ts";
import { CODECS, DESCRIPTORS } from "./generated/messages.ts";
import golden from "./golden.json" with { type: "json" };
import {
  isKafkaUuid,
  KafkaDecodeError,
  KafkaEncodeError,
  Reader,
  randomUuid,
  uuidBytes,
  uuidString,
  Writer,
  ZERO_UUID,
} from "./wire.ts";

const codecs = CODECS;

const inRange = (range: string, version: number): boolean => {
  if (range === "none") return false;
  if (range.endsWith("+")) return version >= Number(range.slice(0, -1));
  const [lo, hi] = range.split("-").map(Number);
  return version >= lo! && version <= (hi ?? lo)!;
};

const defaults = (struct: string): Record<string, unknown> =>
  (generated as unknown as Record<string, () => Record<string, unknown>>)[`default${struct}`]!();

// Whole code points from every plane (no lone surrogates: they have no UTF-8 form).
const utf8 = fc.string({ unit: "grapheme", maxLength: 12 });

const scalar = (type: string): fc.Arbitrary<unknown> => {
  switch (type) {
    case "int8":
      return fc.integer({ min: -128, max: 127 });
    case "int16":
      return fc.integer({ min: -32768, max: 32767 });
    case "uint16":
      return fc.integer({ min: 0, max: 65535 });
    case "int32":
      return fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
    case "uint32":
      return fc.integer({ min: 0, max: 2 ** 32 - 1 });
    case "int64":
      return fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });
    case "float64":
      return fc.double({ noNaN: true }).map((d) => (Object.is(d, -0) ? 0 : d));
    case "bool":
      return fc.boolean();
    case "uuid":
      return fc.uint8Array({ minLength: 16, maxLength: 16 }).map(uuidString);
    case "string":
      return utf8;
    case "bytes":
    case "records":
      return fc.uint8Array({ maxLength: 12 });
    default:
      throw new Error(`no arbitrary for ${type}`);
  }
};

/** Any value of `struct` as `version` carries it: fields the version lacks keep their defaults. */
const structOf = (struct: string, version: number, depth = 0): fc.Arbitrary<Record<string, unknown>> => {
  const fields = DESCRIPTORS[struct]!;
  const base = defaults(struct);
  const parts: Record<string, fc.Arbitrary<unknown>> = {};
  for (const f of fields) {
    if (!inRange(f.versions, version)) continue;
    parts[f.key] = fieldOf(f, version, depth);
  }
  return fc.record(parts).map((values) => ({ ...base, ...values }));
};

const fieldOf = (f: FieldDescriptor, version: number, depth: number): fc.Arbitrary<unknown> => {
  const element = f.struct ? structOf(f.type, version, depth + 1) : scalar(f.type);
  const value = f.array ? fc.array(element, { maxLength: depth > 2 ? 0 : 3 }) : element;
  return inRange(f.nullable, version) ? fc.option(value, { nil: null, freq: 4 }) : value;
};

describe("Kafka message codecs generated from Kafka 4.4's definitions", () => {
  it("cover the APIs, headers and records openkraft speaks, with Kafka 4.4's versions", () => {
    const byName = new Map(codecs.map((c) => [c.name, c]));
    // A few ranges as Kafka 4.4's ApiKeys reports them (Kafka 4 dropped old versions, KIP-896).
    expect(byName.get("FetchRequest")).toMatchObject({ apiKey: 1, lowestVersion: 4, highestVersion: 18 });
    expect(byName.get("VoteRequest")).toMatchObject({ apiKey: 52, lowestVersion: 0, highestVersion: 2 });
    expect(byName.get("ApiVersionsRequest")).toMatchObject({ apiKey: 18, lowestFlexibleVersion: 3 });
    expect(byName.get("PartitionRecord")).toMatchObject({ kind: "metadata", apiKey: 3 });
    expect(codecs.length).toBeGreaterThan(80);
  });

  it("property: decode(encode(x)) = x for every message and every version", () => {
    for (const codec of codecs) {
      for (let version = codec.lowestVersion; version <= codec.highestVersion; version++) {
        fc.assert(
          fc.property(structOf(codec.descriptor, version), (value) => {
            const bytes = encodeMessage(codec, value, version);
            expect(decodeMessage(codec, bytes, version)).toEqual(value);
          }),
          { numRuns: 25, seed: 42 + version },
        );
      }
    }
  });

  it("property: any bytes decode to a message or a KafkaDecodeError, nothing else", () => {
    for (const codec of codecs) {
      for (let version = codec.lowestVersion; version <= codec.highestVersion; version++) {
        fc.assert(
          fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
            try {
              decodeMessage(codec, bytes, version);
            } catch (error) {
              expect(error).toBeInstanceOf(KafkaDecodeError);
            }
          }),
          { numRuns: 20, seed: 7 + version },
        );
      }
    }
  });

  it("a truncated message is a decode error naming what was short", () => {
    const bytes = encodeMessage(
      generated.ApiVersionsRequest,
      {
        ...generated.ApiVersionsRequest.defaults(),
        clientSoftwareName: "kcat",
        clientSoftwareVersion: "1.7.0",
      },
      3,
    );
    expect(() => decodeMessage(generated.ApiVersionsRequest, bytes.subarray(0, bytes.length - 2), 3)).toThrow(
      /a string needs 5 bytes at offset 6, but only 4 remain/,
    );
    expect(() => decodeMessage(generated.ApiVersionsRequest, new Uint8Array([...bytes, 0]), 3)).toThrow(
      /1 bytes left over/,
    );
  });

  it("refuses a value a version cannot carry, as Kafka does", () => {
    const vote = { ...generated.VoteRequest.defaults(), topics: [] };
    // ClusterId is nullable; VoterId (ignorable) is dropped before v1; PreVote is in v2 only and is
    // not ignorable: a pre-vote cannot be sent to a voter that speaks only v1.
    const preVote = {
      ...vote,
      topics: [
        {
          ...generated.defaultVoteRequestTopicData(),
          partitions: [{ ...generated.defaultVoteRequestPartitionData(), preVote: true }],
        },
      ],
    };
    expect(() => encodeMessage(generated.VoteRequest, preVote, 1)).toThrow(KafkaEncodeError);
    expect(() => encodeMessage(generated.VoteRequest, preVote, 1)).toThrow(/preVote is not in version 1/);
    expect(decodeMessage(generated.VoteRequest, encodeMessage(generated.VoteRequest, preVote, 2), 2)).toEqual(
      preVote,
    );
    expect(() => encodeMessage(generated.VoteRequest, vote, 3)).toThrow(/versions 0-2, not 3/);
  });

  it("UUIDs print as Kafka prints them and round-trip", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (bytes) => {
        expect(uuidBytes(uuidString(bytes))).toEqual(bytes);
      }),
    );
    // Kafka's Uuid.METADATA_TOPIC_ID prints as AAAAAAAAAAAAAAAAAAAAAQ (the long 1).
    const one = new Uint8Array(16);
    one[15] = 1;
    expect(uuidString(one)).toBe("AAAAAAAAAAAAAAAAAAAAAQ");
    expect(() => uuidBytes("AAAAAAAAAAAAAAAAAAAAAB")).toThrow(/not a canonical/);
  });

  it("a new random UUID is never reserved (0, 1) and never starts with '-', as Kafka's Uuid.randomUuid", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (bytes) => {
        const id = randomUuid(() => bytes);
        expect(isKafkaUuid(id)).toBe(true);
        expect(id.startsWith("-")).toBe(false);
        expect([ZERO_UUID, "AAAAAAAAAAAAAAAAAAAAAQ"]).not.toContain(id);
        // Any other draw is kept as it is.
        const text = uuidString(bytes);
        if (!text.startsWith("-") && text !== ZERO_UUID && text !== "AAAAAAAAAAAAAAAAAAAAAQ")
          expect(id).toBe(text);
      }),
    );
    // A degenerate source (a stub's zeros) still ends; "-" becomes "e".
    const one = new Uint8Array(16);
    one[15] = 1;
    expect(randomUuid(() => new Uint8Array(16))).toBe("EAAAAAAAAAAAAAAAAAAAAA");
    expect(randomUuid(() => one)).toBe("EAAAAAAAAAAAAAAAAAAAAQ");
    const dash = new Uint8Array(16).fill(0xf8);
    expect(uuidString(dash)[0]).toBe("-");
    expect(randomUuid(() => dash)[0]).toBe("e");
  });

  it("varints: zigzag and unsigned forms at their edges", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
        fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
        (i, l) => {
          const w = Writer.ofSize(15);
          w.varint(i);
          w.varlong(l);
          const r = new Reader(w.buffer, 0, w.offset);
          expect(r.varint()).toBe(i);
          expect(r.varlong()).toBe(l);
        },
      ),
    );
    expect(() => new Reader(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0x01])).unsignedVarint()).toThrow(
      /longer than 5 bytes/,
    );
  });

  it(`golden bytes from Kafka ${golden.kafka}'s own serializers decode and encode back byte for byte`, () => {
    const byName = new Map(codecs.map((c) => [c.name, c]));
    const decoded = new Map<string, Record<string, unknown>>();
    // Record batches ("batch:…") are records.test.ts's.
    for (const g of golden.messages.filter((m) => !m.name.startsWith("batch:"))) {
      const codec = byName.get(g.name);
      expect(codec, g.name).toBeDefined();
      const bytes = Buffer.from(g.hex, "hex");
      const value = decodeMessage(codec!, bytes, g.version) as Record<string, unknown>;
      expect(Buffer.from(encodeMessage(codec!, value, g.version)).toString("hex"), g.name).toBe(g.hex);
      decoded.set(g.name, value);
    }
    // The values are the ones KafkaGolden.java set, field for field.
    expect(decoded.get("RequestHeader")).toEqual({
      requestApiKey: 18,
      requestApiVersion: 3,
      correlationId: 7,
      clientId: "rdkafka",
    });
    expect(decoded.get("ApiVersionsRequest")).toMatchObject({
      clientSoftwareName: "kcat",
      clientSoftwareVersion: "1.7.0",
    });
    const vote = decoded.get("VoteRequest") as unknown as generated.VoteRequestData;
    expect(vote.clusterId).toBe("MkU3OEVBNTcwNTJENDM2Qk");
    expect(vote.topics[0]!.partitions[0]).toEqual({
      partitionIndex: 0,
      replicaEpoch: 5,
      replicaId: 1,
      replicaDirectoryId: "Wtx4FqWiQmKa3mD5DS3b7A",
      voterDirectoryId: "AAAAAAAAAAAAAAAAAAAAAA",
      lastOffsetEpoch: 4,
      lastOffset: 1234n,
      preVote: true,
    });
    const fetch = decoded.get("FetchRequest") as unknown as generated.FetchRequestData;
    expect(fetch.clusterId).toBe("MkU3OEVBNTcwNTJENDM2Qk");
    expect(fetch.replicaState).toEqual({ replicaId: 2, replicaEpoch: -1n });
    expect(fetch.topics[0]!.partitions[0]).toMatchObject({
      fetchOffset: 42n,
      lastFetchedEpoch: 5,
      replicaDirectoryId: "Wtx4FqWiQmKa3mD5DS3b7A",
    });
    const begin = decoded.get("BeginQuorumEpochRequest") as unknown as generated.BeginQuorumEpochRequestData;
    expect(begin.leaderEndpoints).toEqual([{ name: "CONTROLLER", host: "localhost", port: 9093 }]);
    const record = decoded.get("RegisterBrokerRecord") as unknown as generated.RegisterBrokerRecordData;
    expect(record).toMatchObject({
      brokerId: 4,
      brokerEpoch: 10n,
      rack: null,
      fenced: true,
      logDirs: ["Wtx4FqWiQmKa3mD5DS3b7A"],
    });
  });

  it(`error codes: openkraft's table is Kafka ${golden.kafka}'s, and names every error the spec answers with`, () => {
    const kafka = golden.errors as Record<string, number>;
    const ours: Readonly<Record<string, number>> = KafkaError;
    for (const [name, code] of Object.entries(ours)) expect(kafka[name], name).toBe(code);
    for (const name of [...MetadataErrorCode.literals, ...RaftErrorCode.literals])
      expect(ours[name], name).toBeDefined();
  });

  it("the committed codecs match what the generator writes from Kafka's jars (npm run generate:kafka)", () => {
    const result = spawnSync(
      process.execPath,
      [join(import.meta.dirname, "..", "..", "scripts", "generate-kafka-messages.ts"), "--check"],
      { encoding: "utf8" },
    );
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
  }, 180_000);
});
