// The generic state encoding (voter sets that change) must be exact: decoding a state and encoding it
// again gives the same words, so the search expands exactly the states it stored; and the parts it
// remembers by identity must not change them.
import { describe, expect, it } from "vitest";
import { applyAction, DEFAULT_BOUNDS, enabledActions, withinBounds } from "../../spec/cluster/actions.ts";
import { DEFAULT_CLUSTER, fireTimer, joinedStart, type World } from "../../spec/cluster/world.ts";
import { decodeGeneric, encodeGeneric, genericStringsBuffer, useGenericStrings } from "./generic-codec.ts";
import { SharedStrings } from "./shared-strings.ts";
import { WordWriter } from "./words.ts";

const cluster = { ...DEFAULT_CLUSTER, voters: 3, observers: 1, kraftVersion: 1 as const };
const bounds = { ...DEFAULT_BOUNDS, maxEpoch: 2, maxValues: 1, maxCrashes: 1, maxVoterChanges: 2 };

const encode = (world: World): Int32Array => {
  const w = new WordWriter();
  encodeGeneric(w, world);
  return w.toArray();
};

describe("generic state encoding", () => {
  it("round-trips every state of seeded walks with voter changes, crashes and loss", () => {
    let seed = 11;
    const random = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x7fffffff;
    };
    let checked = 0;
    for (let walk = 0; walk < 20; walk++) {
      let world = joinedStart(cluster);
      for (let step = 0; step < 60; step++) {
        const actions = enabledActions(world, bounds);
        if (actions.length === 0) break;
        const next = applyAction(world, cluster, actions[Math.floor(random() * actions.length)]!).world;
        if (!withinBounds(next, bounds)) continue;
        world = next;
        const words = encode(world);
        // The words of parts remembered by identity are those a fresh copy of the world gets.
        expect(encode(structuredClone(world))).toEqual(words);
        const decoded = decodeGeneric(words, 0, words.length);
        expect(encode(decoded)).toEqual(words);
        // Decoding the same words again shares the parts it decoded before, and means the same.
        const again = decodeGeneric(words, 0, words.length);
        expect(again).toEqual(decoded);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(500);
  });

  it("renumbers request ids and leaves out stale answers and copies", () => {
    // The leader answers its parked fetches: answers are in flight.
    const world = fireTimer(joinedStart(cluster), cluster, 0, "fetchWait").world;
    expect(world.network.length).toBeGreaterThan(0);
    const words = encode(world);
    const decoded = decodeGeneric(words, 0, words.length);
    for (const slot of decoded.nodes) {
      const state = slot.state!;
      expect(state.inflight.map((r) => r.correlationId)).toEqual(state.inflight.map((_, k) => k + 1));
      expect(state.nextCorrelationId).toBe(state.inflight.length + 1);
    }
    const doubled = { ...world, network: [...world.network, world.network[0]!] };
    expect(encode(doubled)).toEqual(words);
    // An answer to a request no longer in flight is left out.
    const stale = { ...world.network[0]!, correlationId: 999 };
    expect(encode({ ...world, network: [...world.network, stale] })).toEqual(words);
  });

  it("renumbers an answer anew when its requester's other requests change, though the answer is the same object", () => {
    const world = fireTimer(joinedStart(cluster), cluster, 0, "fetchWait").world;
    const answer = world.network.find((e) => e.correlationId !== undefined && e.to > 1)!;
    const requester = world.nodes[answer.to - 1]!;
    const state = requester.state!;
    // Another request sent before the fetch, still in flight: the fetch is now the requester's second.
    const earlier = { destination: 1, api: state.inflight[0]!.api, correlationId: -5 };
    const busier: World = {
      ...world,
      nodes: world.nodes.map((slot) =>
        slot === requester ? { ...slot, state: { ...state, inflight: [earlier, ...state.inflight] } } : slot,
      ),
    };
    const words = encode(world);
    const busierWords = encode(busier);
    expect(busierWords).not.toEqual(words);
    expect(busierWords).toEqual(encode(structuredClone(busier)));
    expect(encode(world)).toEqual(words);
  });

  it("forgets what it remembered when it is given another string table (whose numbers differ)", () => {
    const world = fireTimer(joinedStart(cluster), cluster, 0, "fetchWait").world;
    const first = genericStringsBuffer();
    encode(world);
    try {
      useGenericStrings(new SharedStrings().buffer);
      // A string the old table numbered early comes first in the new one, so the numbers differ.
      encode({ ...world, network: [] });
      expect(encode(world)).toEqual(encode(structuredClone(world)));
    } finally {
      useGenericStrings(first);
    }
  });
});
