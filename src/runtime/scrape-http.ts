// The metrics port's HTTP: just enough HTTP/1.1 for scrapers and curl (GET or HEAD, one request per
// connection, then close), on node:net. Node's http module cost every node about 10 MB of resident
// memory for two read-only endpoints.
import { createServer, type Server, type Socket } from "node:net";

export interface ScrapeResponse {
  readonly contentType: string;
  readonly body: string;
}

/** Each path's handler; a path without one answers 404. */
export type ScrapeRoutes = Readonly<Record<string, () => ScrapeResponse>>;

/** The most a request's head may take, and how long a client may take to send it. */
const MAX_HEAD_BYTES = 8192;
const HEAD_TIMEOUT_MS = 5000;

const STATUS_TEXT: Record<number, string> = {
  200: "OK",
  400: "Bad Request",
  404: "Not Found",
  405: "Method Not Allowed",
};

const reply = (socket: Socket, status: number, response: ScrapeResponse, head: boolean): void => {
  const body = Buffer.from(response.body);
  socket.end(
    Buffer.concat([
      Buffer.from(
        `HTTP/1.1 ${status} ${STATUS_TEXT[status]}\r\ncontent-type: ${response.contentType}\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n`,
      ),
      head ? Buffer.alloc(0) : body,
    ]),
  );
};

const plain = (text: string): ScrapeResponse => ({ contentType: "text/plain", body: `${text}\n` });

/** Answer one request on a connection. */
const handle = (socket: Socket, routes: ScrapeRoutes): void => {
  let received = Buffer.alloc(0);
  socket.setTimeout(HEAD_TIMEOUT_MS, () => socket.destroy());
  socket.on("error", () => {});
  socket.on("data", (chunk: Buffer) => {
    received = Buffer.concat([received, chunk]);
    const end = received.indexOf("\r\n\r\n");
    if (end < 0) {
      if (received.length > MAX_HEAD_BYTES) reply(socket, 400, plain("request head too long"), false);
      return;
    }
    socket.removeAllListeners("data");
    const match = /^([A-Z]+) (\S+) HTTP\/1\.[01]$/.exec(
      received.subarray(0, received.indexOf("\r\n")).toString("latin1"),
    );
    if (match === null) {
      reply(socket, 400, plain("not an HTTP/1.x request"), false);
      return;
    }
    const [, method, target] = match as unknown as [string, string, string];
    if (method !== "GET" && method !== "HEAD") {
      reply(socket, 405, plain(`${method} is not supported; use GET`), false);
      return;
    }
    const route = routes[target.split("?")[0]!];
    if (route === undefined)
      reply(socket, 404, plain(`no such path; try ${Object.keys(routes).join(" ")}`), method === "HEAD");
    else reply(socket, 200, route(), method === "HEAD");
  });
};

/** Listen on host:port; resolves with the server once bound, rejects with the bind error. */
export const serveScrape = (port: number, host: string, routes: ScrapeRoutes): Promise<Server> =>
  new Promise((resolve, reject) => {
    const server = createServer((socket) => handle(socket, routes));
    server.once("error", reject);
    server.listen(port, host, () => {
      server.removeListener("error", reject);
      resolve(server);
    });
  });
