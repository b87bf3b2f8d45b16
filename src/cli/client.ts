// A small admin client: one connection to a node, requests answered by correlation id, a timeout per
// request. The CLI commands and the integration tests use it.
import { connect, type Socket } from "node:net";
import { OUTCOME_UNKNOWN } from "../kafka/client.ts";
import {
  decodeFrameBody,
  encodeFrame,
  type Frame,
  FrameReader,
  type NodeResponse,
  type WireRequest,
} from "../runtime/codec.ts";

export { OUTCOME_UNKNOWN };

export class ClientError extends Error {
  override readonly name = "ClientError";
}

export const parseHostPort = (text: string, flag = "--bootstrap-server"): { host: string; port: number } => {
  const match = /^([^:]+):(\d+)$/.exec(text);
  if (match === null || Number(match[2]) > 65535)
    throw new ClientError(`${flag}: "${text}" is not host:port`);
  return { host: match[1]!, port: Number(match[2]) };
};

export class AdminClient {
  private readonly socket: Socket;
  private readonly waiting = new Map<
    number,
    { resolve: (r: NodeResponse) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }
  >();
  private nextCorrelationId = 1;
  private failure: Error | null = null;
  readonly address: string;

  private constructor(socket: Socket, address: string) {
    this.socket = socket;
    this.address = address;
    const reader = new FrameReader();
    socket.on("data", (chunk: Buffer) => {
      for (const body of reader.push(chunk)) {
        const frame = decodeFrameBody(body);
        if (frame._tag !== "Response") continue;
        const waiter = this.waiting.get(frame.correlationId);
        if (waiter === undefined) continue;
        clearTimeout(waiter.timer);
        this.waiting.delete(frame.correlationId);
        waiter.resolve(frame.response);
      }
    });
    socket.on("error", (error) => {
      this.failure = error;
    });
    socket.on("close", () => {
      for (const [id, waiter] of this.waiting) {
        clearTimeout(waiter.timer);
        waiter.reject(
          new ClientError(
            `the connection to ${address} closed before request ${id} was answered${this.failure === null ? "" : ` (${this.failure.message})`}`,
          ),
        );
      }
      this.waiting.clear();
    });
  }

  static connect(address: string, timeoutMs = 5000): Promise<AdminClient> {
    const { host, port } = parseHostPort(address);
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new ClientError(`could not connect to ${address} within ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once("connect", () => {
        clearTimeout(timer);
        resolve(new AdminClient(socket, address));
      });
      socket.once("error", (error: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(
          new ClientError(
            `could not connect to ${address}: ${error.code === "ECONNREFUSED" ? "connection refused (is the node running?)" : error.message}`,
          ),
        );
      });
    });
  }

  request(request: WireRequest, timeoutMs = 10_000): Promise<NodeResponse> {
    const correlationId = this.nextCorrelationId++;
    const frame: Frame = { _tag: "Request", from: -1, correlationId, request };
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(correlationId);
        reject(
          new ClientError(
            `${this.address} did not answer ${request._tag} within ${timeoutMs} ms${READ_ONLY.has(request._tag) ? "" : OUTCOME_UNKNOWN}`,
          ),
        );
      }, timeoutMs);
      this.waiting.set(correlationId, { resolve, reject, timer });
      this.socket.write(encodeFrame(frame));
    });
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Requests that change nothing: a timeout leaves no doubt about them. */
const READ_ONLY: ReadonlySet<string> = new Set([
  "DescribeClusterRequest",
  "ListTopicsRequest",
  "DescribeConfigsRequest",
  "DescribeQuorumAdminRequest",
]);

/** Open a connection, make one request, close. */
export const requestOnce = async (
  address: string,
  request: WireRequest,
  timeoutMs = 10_000,
): Promise<NodeResponse> => {
  const client = await AdminClient.connect(address, timeoutMs);
  try {
    return await client.request(request, timeoutMs);
  } finally {
    client.close();
  }
};
