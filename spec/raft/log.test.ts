// The log-shape operations checked against a brute-force model: a plain array holding the epoch of
// every record. Rules: R3, R43, R65, R67 (KAFKA-10706), R16.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { logStateOf, makeEntry } from "../cluster/world.ts";
import { appendToLog, endOffsetForEpoch, lastEpoch, markFlushed, readBatches, truncateLog } from "./log.ts";
import type { LogState } from "./state.ts";

/** Nondecreasing epochs, one per record, as any real log has. */
const epochsArb = fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 12 }).map((steps) => {
  let epoch = 1;
  return steps.map((step) => (epoch += step));
});

const shapeOf = (epochs: readonly number[]): LogState => logStateOf(epochs.map((e) => makeEntry(e, 1)));

/** The brute-force answer of R65's lookup. */
const referenceEndOffsetForEpoch = (epochs: readonly number[], epoch: number) => {
  const last = epochs[epochs.length - 1];
  if (last === epoch) return { epoch, endOffset: epochs.length };
  const higher = epochs.findIndex((e) => e > epoch);
  if (higher < 0) return { epoch: last ?? 0, endOffset: epochs.length };
  return { epoch: higher === 0 ? epoch : epochs[higher - 1]!, endOffset: higher };
};

describe("log shape", () => {
  it("finds the end of an epoch as Kafka's epoch cache does", () => {
    fc.assert(
      fc.property(epochsArb, fc.integer({ min: 0, max: 40 }), (epochs, epoch) => {
        expect(endOffsetForEpoch(shapeOf(epochs), epoch)).toEqual(referenceEndOffsetForEpoch(epochs, epoch));
      }),
    );
  });

  it("answers the cases of R65 by example", () => {
    const log = shapeOf([1, 1, 3, 3, 4]);
    expect(endOffsetForEpoch(log, 4)).toEqual({ epoch: 4, endOffset: 5 });
    expect(endOffsetForEpoch(log, 2)).toEqual({ epoch: 1, endOffset: 2 });
    expect(endOffsetForEpoch(log, 0)).toEqual({ epoch: 0, endOffset: 0 });
    expect(endOffsetForEpoch(log, 9)).toEqual({ epoch: 4, endOffset: 5 });
    expect(endOffsetForEpoch(shapeOf([]), 3)).toEqual({ epoch: 0, endOffset: 0 });
    expect(lastEpoch(shapeOf([]))).toBe(0);
    expect(lastEpoch(log)).toBe(4);
  });

  it("appends and truncates like the record array", () => {
    fc.assert(
      fc.property(epochsArb, fc.nat({ max: 14 }), fc.integer({ min: 1, max: 3 }), (epochs, cut, count) => {
        const truncated = truncateLog(shapeOf(epochs), cut);
        expect(truncated).toEqual(shapeOf(epochs.slice(0, cut)));
        const epoch = (epochs[Math.min(cut, epochs.length) - 1] ?? 1) + (count % 2);
        const appended = appendToLog(truncated, epoch, count);
        const expected = [...epochs.slice(0, cut), ...Array<number>(count).fill(epoch)];
        expect({ ...appended, flushedOffset: appended.endOffset }).toEqual(shapeOf(expected));
        expect(appended.flushedOffset).toBe(truncated.flushedOffset);
      }),
    );
  });

  it("drops epoch-cache entries at the truncation point even when nothing else goes (KAFKA-10706)", () => {
    const log: LogState = {
      startOffset: 0,
      endOffset: 3,
      flushedOffset: 3,
      epochs: [
        { epoch: 1, startOffset: 0 },
        { epoch: 2, startOffset: 3 },
      ],
    };
    expect(truncateLog(log, 3).epochs).toEqual([{ epoch: 1, startOffset: 0 }]);
  });

  it("reads batches that describe exactly the records from an offset on", () => {
    fc.assert(
      fc.property(epochsArb, fc.nat({ max: 14 }), (epochs, from) => {
        const batches = readBatches(shapeOf(epochs), from);
        const described = batches.flatMap((b) => Array<number>(b.count).fill(b.epoch));
        expect(described).toEqual(epochs.slice(from));
        if (batches.length > 0) expect(batches[0]!.baseOffset).toBe(from);
      }),
    );
  });

  it("flushes only forward and never past the log end (R16)", () => {
    const log = appendToLog(shapeOf([1]), 1, 2);
    expect(log.flushedOffset).toBe(1);
    expect(markFlushed(log, 2).flushedOffset).toBe(2);
    expect(markFlushed(log, 9).flushedOffset).toBe(3);
    expect(markFlushed(markFlushed(log, 3), 1).flushedOffset).toBe(3);
    expect(markFlushed(log, 0)).toBe(log);
  });
});
