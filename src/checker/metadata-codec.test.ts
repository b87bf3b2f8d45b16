// The metadata model's words depend only on the state: the same for every path to it and in every
// thread (a codec that saw other states first), and decoding them gives back a world that encodes to
// the same words, so a search expands exactly the states it stored, in any thread.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { MetaBounds } from "../../spec/cluster/metadata-actions.ts";
import type { MetadataWorld } from "../../spec/cluster/metadata-world.ts";
import { entryEpoch, entryValue, makeEntry } from "../../spec/cluster/world.ts";
import type { NodeRequest } from "../../spec/node/node.ts";
import { metadataConfigOfArgs } from "../cli/check.ts";
import { MetadataCodec, metadataCodecStats } from "./metadata-codec.ts";
import { metadataModel } from "./metadata-model.ts";
import { WordWriter } from "./words.ts";

/** At --quick's bounds (a pause, no controller crash), which these tests' paths take. */
const configOf = (...flags: string[]) => metadataConfigOfArgs(["--model", "metadata", "--quick", ...flags]);

const wordsOf = (codec: MetadataCodec, world: MetadataWorld): Int32Array => {
  const w = new WordWriter(64);
  codec.encode(world, w);
  return w.toArray();
};

const codecFor = (config: ReturnType<typeof configOf>) =>
  new MetadataCodec(config.spec, config.partitions, config.bounds.adminOps);

const ADMIN_OPS: readonly NodeRequest[] = [
  {
    _tag: "CreateTopicsRequest",
    validateOnly: false,
    topics: [
      {
        name: "u",
        numPartitions: 1,
        replicationFactor: 2,
        assignments: [],
        configs: [{ name: "retention.ms", value: "never" }],
      },
    ],
  },
  { _tag: "ElectLeadersRequest", electionType: 1, topicPartitions: null },
  { _tag: "DescribeQuorumAdminRequest" },
];

describe("metadata state encoding", () => {
  it("round-trips every state of a breadth-first search, and another codec writes and reads the same words", () => {
    const config = configOf();
    const model = metadataModel({ ...config, liveness: false });
    const codec = codecFor(config);
    const inlineBefore = metadataCodecStats.inlineShapes;
    const seen = new Map<string, Int32Array>();
    let level = [wordsOf(codec, model.initialStates()[0]!)];
    for (let depth = 0; depth < 5; depth++) {
      const next: Int32Array[] = [];
      for (const words of level) {
        // As the search does: expand the decoded state.
        const state = codec.decode(words, 0, words.length);
        expect(wordsOf(codec, state)).toEqual(words);
        for (let action = 0; action < model.actionCount(state); action++) {
          const successor = model.step(state, action);
          if (successor === null) continue;
          const successorWords = wordsOf(codec, successor.state);
          const key = successorWords.join(",");
          if (seen.has(key)) continue;
          seen.set(key, successorWords);
          next.push(successorWords);
        }
      }
      level = next;
    }
    expect(seen.size).toBeGreaterThan(1000);
    // A codec that has seen nothing, then the states in the opposite order (as another thread would).
    const other = codecFor(config);
    for (const words of [...seen.values()].reverse()) {
      const decoded = other.decode(words, 0, words.length);
      expect(wordsOf(other, decoded)).toEqual(words);
      expect(wordsOf(codec, decoded)).toEqual(words);
    }
    // Every object the model makes has a shape of the vocabulary (the short form).
    expect(metadataCodecStats.inlineShapes).toBe(inlineBefore);
  });

  it("gives states reached by different paths the same words", () => {
    const config = configOf();
    const model = metadataModel({ ...config, liveness: false });
    const codec = codecFor(config);
    const start = model.initialStates()[0]!;
    const take = (world: MetadataWorld, description: string): MetadataWorld => {
      for (let action = 0; action < model.actionCount(world); action++)
        if (model.describeAction(world, action) === description) return model.step(world, action)!.state;
      throw new Error(`no action ${description}`);
    };
    const expiry = "session of broker 4 expires on controller 1";
    const timeout = "timeout 2 fetch (delayed)";
    const one = take(take(start, expiry), timeout);
    const other = take(take(start, timeout), expiry);
    // Not the same objects, nor the same text: correlation ids and record values differ.
    expect(JSON.stringify(one)).not.toBe(JSON.stringify(other));
    expect(wordsOf(codec, one)).toEqual(wordsOf(codec, other));
  });

  it("numbers record values within the state: unused, duplicated or permuted records change nothing", () => {
    const config = configOf();
    const model = metadataModel({ ...config, liveness: false });
    const codec = codecFor(config);
    const world = model.initialStates()[0]!;
    const words = wordsOf(codec, world);
    const records = world.records;
    // The same records in the opposite order, with a copy of the first and an unused one appended.
    const count = records.length;
    const reversed = [...records].reverse();
    const renumber = (entries: readonly number[]) =>
      entries.map((e) => (entryValue(e) === 0 ? e : makeEntry(entryEpoch(e), count - entryValue(e) + 1)));
    const raft = world.raft;
    const shuffled: MetadataWorld = {
      ...world,
      records: [...reversed, { ...records[0]! }, { _tag: "NoOpRecord" }],
      raft: {
        ...raft,
        committed: renumber(raft.committed),
        nodes: raft.nodes.map((slot) => ({ ...slot, entries: renumber(slot.entries) })),
        network: raft.network.map((e) => (e.payload === null ? e : { ...e, payload: renumber(e.payload) })),
      },
    };
    expect(wordsOf(codec, shuffled)).toEqual(words);
    // A record appended twice, with two values, is one record.
    const last = raft.nodes[0]!.entries.length - 1;
    const duplicated: MetadataWorld = {
      ...world,
      records: [...records, records[entryValue(raft.nodes[0]!.entries[last]!) - 1]!],
      raft: {
        ...raft,
        nodes: raft.nodes.map((slot, i) =>
          i === 0
            ? {
                ...slot,
                entries: slot.entries.map((e, k) => (k === last ? makeEntry(entryEpoch(e), count + 1) : e)),
              }
            : slot,
        ),
      },
    };
    expect(wordsOf(codec, duplicated)).toEqual(words);
  });

  it("writes a record only a message holds if, and only if, the Raft codec keeps the message", () => {
    const config = configOf();
    const model = metadataModel({ ...config, liveness: false });
    const codec = codecFor(config);
    const start = model.initialStates()[0]!;
    let world = start;
    for (let action = 0; action < model.actionCount(start); action++)
      if (model.describeAction(start, action) === "session of broker 4 expires on controller 1")
        world = model.step(start, action)!.state;
    const at = world.raft.network.findIndex((e) => e.payload !== null && e.payload.length > 0);
    expect(at).toBeGreaterThanOrEqual(0);
    const envelope = world.raft.network[at]!;
    // The answer carries, last, a record no log holds.
    const payload = envelope.payload!;
    const last = payload[payload.length - 1]!;
    const onlyInMessage = (correlationId: number | undefined): MetadataWorld => ({
      ...world,
      records: [...world.records, { _tag: "FeatureLevelRecord", name: "kraft.version", featureLevel: 1 }],
      raft: {
        ...world.raft,
        network: world.raft.network.map((e, i) =>
          i === at
            ? {
                ...e,
                correlationId,
                payload: [...payload.slice(0, -1), makeEntry(entryEpoch(last), world.records.length + 1)],
              }
            : e,
        ),
      },
    });
    const kept = onlyInMessage(envelope.correlationId);
    const words = wordsOf(codec, kept);
    const decoded = codec.decode(words, 0, words.length);
    expect(decoded.records).toHaveLength(new Set(world.records.map((r) => JSON.stringify(r))).size + 1);
    const value =
      decoded.records.findIndex((r) => r._tag === "FeatureLevelRecord" && r.featureLevel === 1) + 1;
    expect(value).toBe(decoded.records.length);
    const payloads = decoded.raft.network.flatMap((e) => e.payload ?? []);
    expect(payloads.map(entryValue)).toContain(value);
    expect(wordsOf(codec, decoded)).toEqual(words);
    // An answer nobody waits for is left out, and its record with it.
    const stale = onlyInMessage(999_999);
    const without: MetadataWorld = {
      ...world,
      raft: { ...world.raft, network: world.raft.network.filter((_, i) => i !== at) },
    };
    expect(wordsOf(codec, stale)).toEqual(wordsOf(codec, without));
  });

  it("tells values apart exactly as their JSON text does", () => {
    const config = configOf();
    const model = metadataModel({ ...config, liveness: false });
    const codec = codecFor(config);
    const world = model.initialStates()[0]!;
    const withRequest = (request: unknown, broken: string | null = null): MetadataWorld => ({
      ...world,
      broken,
      network: [
        ...world.network,
        {
          from: -1,
          to: 1,
          correlationId: 7,
          toStart: 0,
          fromStart: 0,
          body: { kind: "request", request: request as NodeRequest },
        },
      ],
    });
    const odd = {
      _tag: "Unheard",
      text: "naïve ✓ ünïcödé",
      numbers: [0.5, -0, 2 ** 40, -(2 ** 27), 2 ** 27, Number.NaN, null],
      nested: { b: 1, a: [true, false, { deep: "x" }] },
      missing: undefined,
    };
    const words = wordsOf(codec, withRequest(odd, "SomeProperty: a text no vocabulary holds"));
    const decoded = codec.decode(words, 0, words.length);
    const envelope = decoded.network[decoded.network.length - 1]!;
    expect(JSON.stringify(envelope.body)).toBe(JSON.stringify({ kind: "request", request: odd }));
    expect(decoded.broken).toBe("SomeProperty: a text no vocabulary holds");
    expect(wordsOf(codec, decoded)).toEqual(words);
    // As in JSON: key order counts, undefined keys and -0 do not, NaN is null.
    const same = (a: unknown, b: unknown) =>
      wordsOf(codec, withRequest(a)).join() === wordsOf(codec, withRequest(b)).join();
    expect(same({ a: 1, b: 2 }, { b: 2, a: 1 })).toBe(false);
    expect(same({ a: 1, b: undefined }, { a: 1 })).toBe(true);
    expect(same({ a: -0 }, { a: 0 })).toBe(true);
    expect(same({ a: Number.NaN }, { a: null })).toBe(true);
    expect(same({ a: 2 ** 40 }, { a: 2 ** 40 + 1 })).toBe(false);
    expect(same({ a: "1" }, { a: 1 })).toBe(false);
    expect(same({ a: [] }, { a: {} })).toBe(false);
  });

  it("round-trips random walks with every kind of fault, snapshots and admin requests (property)", () => {
    const config = configOf("--brokers", "2", "--snapshots", "--message-loss");
    const bounds: MetaBounds = {
      ...config.bounds,
      maxEpoch: 3,
      maxLogLength: 24,
      maxControllerCrashes: 1,
      maxBrokerCrashes: 2,
      maxSessionExpiries: 2,
      maxDelays: 2,
      maxControlledShutdowns: 1,
      maxForgedFrames: 1,
      adminOps: ADMIN_OPS,
    };
    const model = metadataModel({ ...config, bounds, liveness: false });
    const codec = codecFor({ ...config, bounds });
    const start = model.initialStates()[0]!;
    fc.assert(
      fc.property(fc.array(fc.nat(), { minLength: 1, maxLength: 60 }), (choices) => {
        // A fresh codec per walk: nothing it saw before can shape its words.
        const fresh = codecFor({ ...config, bounds });
        let world = start;
        for (const choice of choices) {
          const count = model.actionCount(world);
          if (count === 0) break;
          const next = model.step(world, choice % count);
          if (next === null) continue;
          const words = wordsOf(codec, next.state);
          expect(wordsOf(fresh, next.state)).toEqual(words);
          world = fresh.decode(words, 0, words.length);
          expect(wordsOf(codec, world)).toEqual(words);
        }
      }),
      { numRuns: 100, seed: 20261204 },
    );
  });
});
