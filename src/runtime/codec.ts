// The wire codec: length-prefixed frames (a 4-byte big-endian length, then the body) whose body is
// JSON validated against the Effect Schemas of the spec's messages. Everything the transport carries
// is a Frame; swapping this module for Apache Kafka's binary protocol (request header with apiKey,
// apiVersion and correlation id, then the message) changes no caller.
import * as Schema from "effect/Schema";
import { MetadataRecord } from "../../spec/metadata/records.ts";
import { NodeRequest, NodeResponse } from "../../spec/node/node.ts";
import { ControlRecord, RaftMessage } from "../../spec/raft/messages.ts";

/** The largest frame accepted by default (Kafka's socket.request.max.bytes, 100 MiB). */
export const MAX_FRAME_BYTES = 104_857_600;

/** A log position as a Fetch response carries it: its epoch and a control or metadata record. */
export const WireEntry = Schema.Struct({
  epoch: Schema.Int,
  control: Schema.NullOr(ControlRecord),
  record: Schema.NullOr(MetadataRecord),
});
export type WireEntry = typeof WireEntry.Type;

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
  /** A Raft RPC; a Fetch response carries the entries of its batches. */
  Schema.TaggedStruct("Raft", {
    from: Schema.Int,
    correlationId: Schema.optionalKey(Schema.Int),
    message: RaftMessage,
    entries: Schema.optionalKey(Schema.Array(WireEntry)),
  }),
  Schema.TaggedStruct("Request", { from: Schema.Int, correlationId: Schema.Int, request: WireRequest }),
  Schema.TaggedStruct("Response", { correlationId: Schema.Int, response: NodeResponse }),
]);
export type Frame = typeof Frame.Type;

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
