// The transport's frames: a 4-byte big-endian length, then the body. A body is either Kafka's binary
// protocol (a request or response header, then the message: src/kafka/) or an openkraft JSON frame,
// validated against the Effect Schemas of the spec's messages, which still carries the requests
// spec/node routes (a broker's own, and what it passes to the controller) and the JSON admin
// client's. The first byte tells them apart: "{" for JSON, never the first byte of a Kafka frame.
import * as Schema from "effect/Schema";
import { NodeRequest, NodeResponse } from "../../spec/node/node.ts";
import type { Connection, TransportHandlers } from "./services.ts";

/** The largest frame accepted by default (Kafka's socket.request.max.bytes, 100 MiB). */
export const MAX_FRAME_BYTES = 104_857_600;

/** Read-only questions a client may ask any node, answered by the shell from the node's image. */
export const ImageQuery = Schema.Union([
  Schema.TaggedStruct("DescribeClusterRequest", {}),
  Schema.TaggedStruct("ListTopicsRequest", { topics: Schema.NullOr(Schema.Array(Schema.String)) }),
]);
export type ImageQuery = typeof ImageQuery.Type;

/** Everything a request frame may carry: what spec/node routes (R148), and image queries. */
export const WireRequest = Schema.Union([NodeRequest, ImageQuery]);
export type WireRequest = typeof WireRequest.Type;

/** Answers: the controller's, or an AdminResponse (a JSON document whose shape is the CLI's concern). */
export { NodeResponse };

export const Frame = Schema.Union([
  Schema.TaggedStruct("Request", { from: Schema.Int, correlationId: Schema.Int, request: WireRequest }),
  Schema.TaggedStruct("Response", { correlationId: Schema.Int, response: NodeResponse }),
]);
export type Frame = typeof Frame.Type;

/**
 * What a node sends a peer: an openkraft JSON frame, or a Kafka request frame body (the KRaft RPCs);
 * `key` names the request to fail if it never leaves (its dial failed).
 */
export type Outgoing = Frame | { readonly _tag: "Kafka"; readonly body: Uint8Array; readonly key: string };

const decodeFrame = Schema.decodeUnknownSync(Frame);

export class FrameError extends Error {
  override readonly name = "FrameError";
}

export const encodeFrame = (frame: Frame): Buffer => encodeFrameText(JSON.stringify(frame));

/** Frame an already encoded body (one copy: the text goes straight into the frame). */
export const encodeFrameText = (text: string): Buffer => {
  const length = Buffer.byteLength(text, "utf8");
  const out = Buffer.allocUnsafe(4 + length);
  out.writeUInt32BE(length, 0);
  out.write(text, 4, "utf8");
  return out;
};

/** Validate one frame body; a FrameError says what is wrong with it. */
export const decodeFrameBody = (body: Buffer): Frame => {
  let json: unknown;
  try {
    json = JSON.parse(body.toString("utf8"));
  } catch {
    throw new FrameError("the frame is not JSON");
  }
  try {
    return decodeFrame(json);
  } catch (error) {
    // The first thing wrong, and where: "Expected … at ["request"]["topics"][0]["replicationFactor"]".
    const [first, second] = String((error as Error).message).split("\n");
    const where = second?.trim().startsWith("at ") === true ? ` ${second.trim()}` : "";
    const problem = `the frame is not a valid message: ${first}${where}`;
    // A request whose envelope is sound but whose content is not (a field out of range, say) gets
    // an answer, as Kafka answers INVALID_REQUEST, instead of a dropped connection.
    const envelope = json as { _tag?: unknown; correlationId?: unknown } | null;
    if (
      envelope !== null &&
      typeof envelope === "object" &&
      envelope._tag === "Request" &&
      Number.isSafeInteger(envelope.correlationId)
    )
      throw new InvalidRequestError(problem, envelope.correlationId as number);
    throw new FrameError(problem);
  }
};

/** The first byte of an openkraft JSON frame ("{"); a Kafka frame starts with 0 (an API key or a correlation id below 2^24). */
const JSON_FRAME_START = 0x7b;

/**
 * Hand one frame body to its handler: Kafka's protocol (a request on a listener, an answer on a
 * connection this node opened) or a JSON frame, decoded here (a FrameError when it does not decode).
 */
export const routeBody = (
  connection: Connection,
  body: Buffer,
  handlers: Pick<TransportHandlers, "onFrame" | "onKafkaRequest" | "onKafkaResponse">,
): void => {
  if (body[0] !== JSON_FRAME_START) {
    if (connection.listener === "outbound") handlers.onKafkaResponse(connection, body);
    else handlers.onKafkaRequest(connection, body);
    return;
  }
  handlers.onFrame(connection, decodeFrameBody(body));
};

/** A request frame whose content is invalid: it is answered INVALID_REQUEST under its correlation id. */
export class InvalidRequestError extends FrameError {
  readonly correlationId: number;
  constructor(message: string, correlationId: number) {
    super(message);
    this.correlationId = correlationId;
  }
}

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
