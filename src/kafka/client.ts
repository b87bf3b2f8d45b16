// A small client of Kafka's binary protocol: one connection, the ApiVersions handshake (KIP-511:
// a v0 answer with UNSUPPORTED_VERSION says which versions to retry with), then requests at the
// highest version both sides speak, answered by correlation id, each with a timeout. The CLI, the
// black-box conformance mode and the cluster benchmark use it, so they work against Apache Kafka too.
import { connect, type Socket } from "node:net";
import { FrameReader } from "../runtime/codec.ts";
import { decodeMessage, type MessageCodec } from "./codec.ts";
import { KafkaError } from "./errors.ts";
import { CLIENT_SOFTWARE, flexibleVersion, responseHeaderVersion } from "./frames.ts";
import {
  ApiVersionsRequest,
  ApiVersionsResponse,
  type ApiVersionsResponseData,
  RequestHeader,
  ResponseHeader,
} from "./generated/messages.ts";
import { KafkaDecodeError, Reader, Writer } from "./wire.ts";

export class KafkaClientError extends Error {
  override readonly name = "KafkaClientError";
}

/** What a caller must know when a write times out: it may have been carried out all the same. */
export const OUTCOME_UNKNOWN =
  "; its outcome is unknown: it may still have been carried out (check, e.g. with kraft topics describe, before retrying)";

export const parseHostPort = (text: string, flag = "--bootstrap-server"): { host: string; port: number } => {
  const match = /^([^:]+):(\d+)$/.exec(text);
  if (match === null || Number(match[2]) > 65535)
    throw new KafkaClientError(`${flag}: "${text}" is not host:port`);
  return { host: match[1]!, port: Number(match[2]) };
};

/** The largest response accepted (Kafka's clients take what the broker sends; this bounds memory). */
const MAX_RESPONSE_BYTES = 100 * 1024 * 1024;

interface Waiter {
  readonly response: MessageCodec<unknown>;
  readonly version: number;
  /** ApiVersions answers with header v0 whatever its version (KIP-511). */
  readonly headerVersion: number;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
}

export class KafkaClient {
  readonly address: string;
  private readonly socket: Socket;
  private readonly clientId: string;
  private readonly waiting = new Map<number, Waiter>();
  private nextCorrelationId = 1;
  private failure: Error | null = null;
  private closed = false;
  /** The server's version range per API key, from ApiVersions. */
  private versions = new Map<number, { min: number; max: number }>();

  private constructor(socket: Socket, address: string, clientId: string) {
    this.socket = socket;
    this.address = address;
    this.clientId = clientId;
    const reader = new FrameReader(MAX_RESPONSE_BYTES);
    socket.on("data", (chunk: Buffer) => {
      let bodies: Buffer[];
      try {
        bodies = reader.push(chunk);
      } catch (error) {
        this.fail(new KafkaClientError(`${address} sent a bad frame: ${(error as Error).message}`));
        return;
      }
      for (const body of bodies) this.onResponse(body);
    });
    socket.on("error", (error) => {
      this.failure = error;
    });
    socket.on("close", () => {
      this.closed = true;
      this.fail(
        new KafkaClientError(
          `the connection to ${address} closed${this.failure === null ? "" : ` (${this.failure.message})`}`,
        ),
      );
    });
  }

  /** Connect and agree on versions; rejects with a one-line reason. */
  static async connect(address: string, timeoutMs = 10_000, clientId = "openkraft"): Promise<KafkaClient> {
    const { host, port } = parseHostPort(address);
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = connect({ host, port });
      const timer = setTimeout(() => {
        s.destroy();
        reject(new KafkaClientError(`could not connect to ${address} within ${timeoutMs} ms`));
      }, timeoutMs);
      s.once("connect", () => {
        clearTimeout(timer);
        resolve(s);
      });
      s.once("error", (error: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(
          new KafkaClientError(
            `could not connect to ${address}: ${error.code === "ECONNREFUSED" ? "connection refused (is the node running?)" : error.message}`,
          ),
        );
      });
    });
    const client = new KafkaClient(socket, address, clientId);
    try {
      await client.handshake(timeoutMs);
    } catch (error) {
      client.close();
      throw error;
    }
    return client;
  }

  private async handshake(timeoutMs: number): Promise<void> {
    const ask = (version: number) =>
      this.send(
        ApiVersionsRequest as MessageCodec<unknown>,
        ApiVersionsResponse as MessageCodec<unknown>,
        { ...ApiVersionsRequest.defaults(), ...CLIENT_SOFTWARE },
        version,
        timeoutMs,
      ) as Promise<ApiVersionsResponseData>;
    let answer = await ask(ApiVersionsRequest.highestVersion);
    if (answer.errorCode === KafkaError.UNSUPPORTED_VERSION) {
      // KIP-511: retry at the highest version the server says it speaks.
      const theirs = answer.apiKeys.find((k) => k.apiKey === ApiVersionsRequest.apiKey);
      if (theirs === undefined) throw new KafkaClientError(`${this.address} does not speak ApiVersions`);
      answer = await ask(Math.min(theirs.maxVersion, ApiVersionsRequest.highestVersion));
    }
    if (answer.errorCode !== KafkaError.NONE)
      throw new KafkaClientError(`${this.address} answered ApiVersions with error ${answer.errorCode}`);
    this.versions = new Map(answer.apiKeys.map((k) => [k.apiKey, { min: k.minVersion, max: k.maxVersion }]));
  }

  /** Whether the server serves an API (at a version this client speaks). */
  serves(codec: MessageCodec<unknown>): boolean {
    return this.version(codec) !== null;
  }

  /** The version a request for `codec` goes at: the highest both sides speak; null if none. */
  version(codec: MessageCodec<unknown>): number | null {
    const theirs = this.versions.get(codec.apiKey);
    if (theirs === undefined) return null;
    const version = Math.min(theirs.max, codec.highestVersion);
    return version >= Math.max(theirs.min, codec.lowestVersion) ? version : null;
  }

  /**
   * Send a request at the highest version both sides speak; resolves with the response. `write`
   * says whether a timeout leaves its outcome in doubt (it is said in the error).
   */
  request<Req, Res>(
    request: MessageCodec<Req>,
    response: MessageCodec<Res>,
    value: Req,
    options: { readonly timeoutMs?: number; readonly write?: boolean } = {},
  ): Promise<Res> {
    const version = this.version(request as MessageCodec<unknown>);
    if (version === null) {
      const theirs = this.versions.get(request.apiKey);
      return Promise.reject(
        new KafkaClientError(
          theirs === undefined
            ? `${this.address} does not serve ${request.name.replace(/Data$/, "")} (not in its ApiVersions)`
            : `${this.address} speaks ${request.name.replace(/Data$/, "")} versions ${theirs.min}-${theirs.max}, this client ${request.lowestVersion}-${request.highestVersion}`,
        ),
      );
    }
    return this.send(
      request as MessageCodec<unknown>,
      response as MessageCodec<unknown>,
      value,
      version,
      options.timeoutMs ?? 10_000,
      options.write ?? false,
    ) as Promise<Res>;
  }

  private send(
    request: MessageCodec<unknown>,
    response: MessageCodec<unknown>,
    value: unknown,
    version: number,
    timeoutMs: number,
    write = false,
  ): Promise<unknown> {
    if (this.closed)
      return Promise.reject(new KafkaClientError(`the connection to ${this.address} is closed`));
    const correlationId = this.nextCorrelationId++;
    const header = {
      requestApiKey: request.apiKey,
      requestApiVersion: version,
      correlationId,
      clientId: this.clientId,
    };
    const headerVersion = flexibleVersion(request, version) ? 2 : 1;
    const size = RequestHeader.size(header, headerVersion) + request.size(value, version);
    const w = Writer.ofSize(4 + size);
    w.int32(size);
    RequestHeader.write(w, header, headerVersion);
    request.write(w, value, version);
    const name = request.name.replace(/Data$/, "");
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(correlationId);
        reject(
          new KafkaClientError(
            `${this.address} did not answer ${name} within ${timeoutMs} ms${write ? OUTCOME_UNKNOWN : ""}`,
          ),
        );
      }, timeoutMs);
      this.waiting.set(correlationId, {
        response,
        version,
        headerVersion: responseHeaderVersion(response, version),
        resolve,
        reject,
        timer,
      });
      this.socket.write(w.buffer);
    });
  }

  private onResponse(body: Buffer): void {
    if (body.length < 4) {
      this.fail(new KafkaClientError(`${this.address} sent a response of ${body.length} bytes`));
      return;
    }
    const correlationId = body.readInt32BE(0);
    const waiter = this.waiting.get(correlationId);
    if (waiter === undefined) {
      this.fail(
        new KafkaClientError(`${this.address} answered correlation id ${correlationId}, never asked`),
      );
      return;
    }
    this.waiting.delete(correlationId);
    clearTimeout(waiter.timer);
    try {
      const r = new Reader(body);
      ResponseHeader.read(r, waiter.headerVersion);
      const message = body.subarray(r.offset);
      try {
        waiter.resolve(decodeMessage(waiter.response, message, waiter.version));
      } catch (error) {
        // KIP-511: an ApiVersions the server cannot parse is answered in v0 (UNSUPPORTED_VERSION).
        if (waiter.response !== (ApiVersionsResponse as MessageCodec<unknown>) || waiter.version === 0)
          throw error;
        waiter.resolve(decodeMessage(waiter.response, message, 0));
      }
    } catch (error) {
      if (!(error instanceof KafkaDecodeError)) throw error;
      waiter.reject(
        new KafkaClientError(
          `${this.address} sent a ${waiter.response.name} this client cannot read: ${error.message}`,
        ),
      );
    }
  }

  private fail(error: Error): void {
    for (const waiter of this.waiting.values()) {
      clearTimeout(waiter.timer);
      waiter.reject(error);
    }
    this.waiting.clear();
    if (!this.closed) this.socket.destroy();
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Open a connection, make one request, close. */
export const requestOnce = async <Req, Res>(
  address: string,
  request: MessageCodec<Req>,
  response: MessageCodec<Res>,
  value: Req,
  options: { readonly timeoutMs?: number; readonly write?: boolean } = {},
): Promise<Res> => {
  const client = await KafkaClient.connect(address, options.timeoutMs ?? 10_000);
  try {
    return await client.request(request, response, value, options);
  } finally {
    client.close();
  }
};
