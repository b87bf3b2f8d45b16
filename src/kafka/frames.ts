// Kafka request and response frame bodies as one node builds and reads them for another: the header
// (request v2 / response v1 for flexible versions, v1 / v0 before), then the message, in one buffer.
// The transport adds the length prefix.
import { decodeMessage, type MessageCodec } from "./codec.ts";
import { ApiVersionsResponse, RequestHeader, ResponseHeader } from "./generated/messages.ts";
import { Reader, Writer } from "./wire.ts";

/** Whether `version` of a message is a flexible one (compact forms, tagged fields). */
export const flexibleVersion = (codec: MessageCodec<unknown>, version: number): boolean =>
  codec.lowestFlexibleVersion >= 0 && version >= codec.lowestFlexibleVersion;

/**
 * The response header's version: v1 for a flexible version, v0 before, and v0 for ApiVersions at
 * every version (KIP-511: a client reads that answer before it knows what the server speaks).
 */
export const responseHeaderVersion = (codec: MessageCodec<unknown>, version: number): number =>
  codec.apiKey !== ApiVersionsResponse.apiKey && flexibleVersion(codec, version) ? 1 : 0;

/** How openkraft names itself in ApiVersions (KIP-511's client software fields). */
export const CLIENT_SOFTWARE = { clientSoftwareName: "openkraft", clientSoftwareVersion: "0" } as const;

/** A request ready for the wire, with what its answer is read as. */
export interface OutgoingRequest {
  readonly apiKey: number;
  readonly version: number;
  /** The request header, then the message. */
  readonly body: Uint8Array;
}

/** A request frame body: `data` of `codec` at `version` (by default the highest Kafka 4.4 speaks). */
export const requestFrame = <T>(
  codec: MessageCodec<T>,
  data: T,
  correlationId: number,
  clientId: string,
  version: number = codec.highestVersion,
): OutgoingRequest => {
  const header = { requestApiKey: codec.apiKey, requestApiVersion: version, correlationId, clientId };
  const headerVersion = flexibleVersion(codec as MessageCodec<unknown>, version) ? 2 : 1;
  const w = Writer.ofSize(RequestHeader.size(header, headerVersion) + codec.size(data, version));
  RequestHeader.write(w, header, headerVersion);
  codec.write(w, data, version);
  return { apiKey: codec.apiKey, version, body: w.buffer };
};

/** A response frame body: `data` of `codec` at `version`, under `correlationId`. */
export const responseFrame = <T>(
  codec: MessageCodec<T>,
  data: T,
  version: number,
  correlationId: number,
): Uint8Array => {
  const header = { correlationId };
  const headerVersion = responseHeaderVersion(codec as MessageCodec<unknown>, version);
  const w = Writer.ofSize(ResponseHeader.size(header, headerVersion) + codec.size(data, version));
  ResponseHeader.write(w, header, headerVersion);
  codec.write(w, data, version);
  return w.buffer;
};

/** The message of a response frame body (its header skipped); a KafkaDecodeError if it does not read. */
export const readResponseFrame = <T>(codec: MessageCodec<T>, body: Uint8Array, version: number): T => {
  const r = new Reader(body);
  ResponseHeader.read(r, responseHeaderVersion(codec as MessageCodec<unknown>, version));
  return decodeMessage(codec, body.subarray(r.offset), version);
};
