// The transport's frames, as Kafka frames them: a 4-byte big-endian length, then the body, which is
// Kafka's binary protocol (a request or response header, then the message: src/kafka/).

/** The largest frame accepted by default (Kafka's socket.request.max.bytes, 100 MiB). */
export const MAX_FRAME_BYTES = 104_857_600;

/**
 * A request a node sends a peer: its frame body, and `key`, the request to fail if it never leaves
 * (its dial failed).
 */
export interface Outgoing {
  readonly body: Uint8Array;
  readonly key: string;
}

export class FrameError extends Error {
  override readonly name = "FrameError";
}

/** A frame: the length prefix, then the body, in one buffer. */
export const encodeFrame = (body: Uint8Array): Buffer => {
  const out = Buffer.allocUnsafe(4 + body.length);
  out.writeUInt32BE(body.length, 0);
  out.set(body, 4);
  return out;
};

/** Splits a byte stream into frame bodies; a large frame's chunks are joined once, when complete. */
export class FrameReader {
  private chunks: Buffer[] = [];
  /** Bytes received and not yet returned in a frame. */
  buffered = 0;
  private readonly maxFrameBytes: number;

  /** `maxFrameBytes`: socket.request.max.bytes; a longer frame is refused as soon as its length is read. */
  constructor(maxFrameBytes: number = MAX_FRAME_BYTES) {
    this.maxFrameBytes = maxFrameBytes;
  }
  /** The length of the frame being assembled, once its prefix has arrived. */
  private needed = -1;

  /** Feed bytes; returns the complete frame bodies, or throws FrameError on an impossible length. */
  push(chunk: Buffer): Buffer[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const bodies: Buffer[] = [];
    for (;;) {
      if (this.needed < 0) {
        if (this.buffered < 4) break;
        const head = this.take(4);
        const length = head.readUInt32BE(0);
        if (length > this.maxFrameBytes)
          throw new FrameError(
            `a frame of ${length} bytes is larger than ${this.maxFrameBytes} (socket.request.max.bytes)`,
          );
        if (length === 0) throw new FrameError("an empty frame (a frame has a body of at least one byte)");
        this.needed = length;
      }
      if (this.buffered < this.needed) break;
      bodies.push(this.take(this.needed));
      this.needed = -1;
    }
    return bodies;
  }

  /** Remove and return the first `n` buffered bytes (n <= buffered). */
  private take(n: number): Buffer {
    const first = this.chunks[0]!;
    let out: Buffer;
    if (first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
    } else {
      out = Buffer.allocUnsafe(n);
      let filled = 0;
      while (filled < n) {
        const c = this.chunks[0]!;
        const part = Math.min(c.length, n - filled);
        c.copy(out, filled, 0, part);
        filled += part;
        if (part === c.length) this.chunks.shift();
        else this.chunks[0] = c.subarray(part);
      }
    }
    this.buffered -= n;
    return out;
  }
}
