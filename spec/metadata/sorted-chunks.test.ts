// The image's persistent sorted sequence: against a plain sorted array under any mix of changes, its
// shape the same whatever order the items came in, and the caller's sequence never written.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  CHUNK,
  chunksOf,
  EMPTY_CHUNKS,
  findItem,
  isBoundary,
  itemsOf,
  type OwnedArrays,
  removeItem,
  type SortedChunks,
  setItem,
  shapeProblem,
} from "./sorted-chunks.ts";

interface Item {
  readonly k: string;
  readonly v: number;
}
const key = (item: Item) => item.k;
/** 300 keys, about 9 of them boundaries: sequences of several chunks. */
const KEYS = Array.from({ length: 300 }, (_, i) => `key-${i}`);
const BOUNDARIES = KEYS.filter(isBoundary);

const change = fc.oneof(
  fc.record({ op: fc.constant("set" as const), k: fc.constantFrom(...KEYS), v: fc.nat(9) }),
  fc.record({ op: fc.constant("set" as const), k: fc.constantFrom(...BOUNDARIES), v: fc.nat(9) }),
  fc.record({ op: fc.constant("remove" as const), k: fc.constantFrom(...KEYS), v: fc.constant(0) }),
  fc.record({ op: fc.constant("remove" as const), k: fc.constantFrom(...BOUNDARIES), v: fc.constant(0) }),
);
type Change = typeof change extends fc.Arbitrary<infer C> ? C : never;

const applyChange = (s: SortedChunks<Item>, c: Change, owned: OwnedArrays | null) =>
  c.op === "set" ? setItem(s, { k: c.k, v: c.v }, key, owned) : removeItem(s, c.k, key, owned);

const sorted = (model: Map<string, number>): Item[] =>
  [...model].map(([k, v]) => ({ k, v })).sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : 0));

describe("sorted chunks", () => {
  it("has boundary keys to test with", () => {
    expect(BOUNDARIES.length).toBeGreaterThanOrEqual(4);
  });

  it("holds what a sorted array would, in the one shape its items give, after any changes", () => {
    fc.assert(
      fc.property(fc.array(change, { maxLength: 400 }), (changes) => {
        let s: SortedChunks<Item> = EMPTY_CHUNKS;
        const model = new Map<string, number>();
        for (const c of changes) {
          s = applyChange(s, c, null);
          if (c.op === "set") model.set(c.k, c.v);
          else model.delete(c.k);
          expect(shapeProblem(s, key)).toBeNull();
        }
        const expected = sorted(model);
        expect(itemsOf(s)).toEqual(expected);
        expect(s).toEqual(chunksOf(expected, key));
        for (const k of KEYS.slice(0, 40).concat(BOUNDARIES))
          expect(findItem(s, k, key)).toEqual(model.has(k) ? { k, v: model.get(k) } : undefined);
      }),
      { numRuns: 300 },
    );
  });

  it("changes in place only arrays of its own batch, and gives the same sequence as copying", () => {
    fc.assert(
      fc.property(
        fc.array(change, { maxLength: 200 }),
        fc.array(change, { maxLength: 200 }),
        (first, batch) => {
          let start: SortedChunks<Item> = EMPTY_CHUNKS;
          for (const c of first) start = applyChange(start, c, null);
          const before = structuredClone(start);
          const owned: OwnedArrays = new Set();
          let inPlace = start;
          let copied = start;
          for (const c of batch) {
            inPlace = applyChange(inPlace, c, owned);
            copied = applyChange(copied, c, null);
          }
          expect(start).toEqual(before);
          expect(inPlace).toEqual(copied);
          expect(shapeProblem(inPlace, key)).toBeNull();
        },
      ),
      { numRuns: 300 },
    );
  });

  it("keeps integer keys (partition ids) in numeric order, in the one shape they give, whatever the order they came in", () => {
    interface Partition {
      readonly id: number;
    }
    const byId = (p: Partition) => p.id;
    const ids = Array.from({ length: 1000 }, (_, i) => i);
    // Consecutive ids still end chunks.
    expect(ids.filter(isBoundary).length).toBeGreaterThan(1000 / (2 * CHUNK));
    fc.assert(
      fc.property(fc.shuffledSubarray(ids, { minLength: 1 }), (order) => {
        let s: SortedChunks<Partition> = EMPTY_CHUNKS;
        for (const id of order) s = setItem(s, { id }, byId);
        const sorted = [...order].sort((a, b) => a - b).map((id) => ({ id }));
        expect(shapeProblem(s, byId)).toBeNull();
        expect(s).toEqual(chunksOf(sorted, byId));
        expect(findItem(s, order[0]!, byId)).toEqual({ id: order[0] });
        expect(findItem(s, 1000, byId)).toBeUndefined();
      }),
      { numRuns: 100 },
    );
  });

  it("names what is wrong with a shape it did not build", () => {
    const [x = "", y = ""] = KEYS.filter((k) => !isBoundary(k)).sort();
    const a = { k: x, v: 0 };
    const b = { k: y, v: 0 };
    expect(shapeProblem({ size: 2, chunks: [[b, a]] }, key)).toBe(`key ${x} does not come after ${y}`);
    expect(shapeProblem({ size: 2, chunks: [[a, a]] }, key)).toBe(`key ${x} does not come after ${x}`);
    expect(shapeProblem({ size: 2, chunks: [[a], [b]] }, key)).toBe(
      `chunk 0 ends at ${x}, which is not a boundary`,
    );
    expect(shapeProblem({ size: 1, chunks: [[], [a]] }, key)).toBe("chunk 0 is empty");
    expect(shapeProblem({ size: 3, chunks: [[a, b]] }, key)).toBe("size 3 but 2 items");
    const boundary = { k: BOUNDARIES[0]!, v: 0 };
    const after = { k: `${BOUNDARIES[0]!}z`, v: 0 };
    expect(isBoundary(after.k)).toBe(false);
    expect(shapeProblem({ size: 2, chunks: [[boundary, after]] }, key)).toBe(
      `key ${boundary.k} ends a chunk but is inside chunk 0`,
    );
  });

  it("keeps chunks near their mean size: a change copies few items", () => {
    const items = Array.from({ length: 100_000 }, (_, i) => ({ k: `t${String(i).padStart(6, "0")}`, v: i }));
    const s = chunksOf(items, key);
    const largest = Math.max(...s.chunks.map((c) => c.length));
    expect(s.chunks.length).toBeGreaterThan(100_000 / (2 * CHUNK));
    expect(s.chunks.length).toBeLessThan((2 * 100_000) / CHUNK);
    expect(largest).toBeLessThan(20 * CHUNK);
  });
});
