// The admin client says when a request's outcome is unknown: a write that timed out may have been
// carried out all the same, while a read that timed out changed nothing.
import { createServer, type Server, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requestOnce } from "./client.ts";

let server: Server;
let address = "";
const sockets: Socket[] = [];

beforeAll(async () => {
  // A node that accepts connections and never answers.
  server = createServer((socket) => {
    sockets.push(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const bound = server.address();
  if (bound === null || typeof bound === "string") throw new Error("no port");
  address = `127.0.0.1:${bound.port}`;
});
afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe("a request that gets no answer", () => {
  it("a write: says its outcome is unknown and to check before retrying", async () => {
    const write = requestOnce(
      address,
      {
        _tag: "CreateTopicsRequest",
        validateOnly: false,
        topics: [{ name: "t", numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
      },
      300,
    );
    await expect(write).rejects.toThrow(
      `${address} did not answer CreateTopicsRequest within 300 ms; its outcome is unknown: it may still have been carried out (check, e.g. with kraft topics describe, before retrying)`,
    );
  });

  it("a read: only that it timed out", async () => {
    await expect(requestOnce(address, { _tag: "ListTopicsRequest", topics: null }, 300)).rejects.toThrow(
      new RegExp(`^${address} did not answer ListTopicsRequest within 300 ms$`),
    );
  });
});
