import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { encodeFrame, FrameError, FrameReader, MAX_FRAME_BYTES } from "./codec.ts";

/** Frame bodies of a few sizes (a Kafka header alone, a larger message, one byte). */
const frames: Buffer[] = [
  Buffer.from([0, 18, 0, 3, 0, 0, 0, 42, 0, 4, 0x6b, 0x63, 0x61, 0x74, 0]),
  Buffer.alloc(70_000, 7),
  Buffer.from([1]),
];

describe("frames", () => {
  it("property: any split of a stream of frames decodes to the same frames", () => {
    const stream = Buffer.concat(frames.map(encodeFrame));
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: stream.length }), { maxLength: 12 }), (cuts) => {
        const points = [...new Set([0, ...cuts, stream.length])].sort((a, b) => a - b);
        const reader = new FrameReader();
        const out: Buffer[] = [];
        for (let i = 1; i < points.length; i++)
          for (const body of reader.push(stream.subarray(points[i - 1]!, points[i]!)))
            out.push(Buffer.from(body));
        expect(out).toEqual(frames);
      }),
      { numRuns: 300 },
    );
  });

  it("refuses a length above the limit before the body arrives", () => {
    const header = Buffer.alloc(4);
    header.writeUInt32BE(MAX_FRAME_BYTES + 1);
    expect(() => new FrameReader().push(header)).toThrow(
      new FrameError(
        `a frame of ${MAX_FRAME_BYTES + 1} bytes is larger than ${MAX_FRAME_BYTES} (socket.request.max.bytes)`,
      ),
    );
  });

  it("refuses an empty frame with a FrameError, alone or after other bytes", () => {
    const empty = Buffer.alloc(4);
    expect(() => new FrameReader().push(empty)).toThrow(
      new FrameError("an empty frame (a frame has a body of at least one byte)"),
    );
    const body = Buffer.from([0, 1]);
    const one = Buffer.concat([Buffer.from([0, 0, 0, body.length]), body, empty]);
    expect(() => new FrameReader().push(one)).toThrow(FrameError);
  });
});
