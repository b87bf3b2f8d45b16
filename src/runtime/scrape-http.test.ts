import { connect, type Server } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { freeBasePort } from "../testing/local-cluster.ts";
import { serveScrape } from "./scrape-http.ts";

const servers: Server[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

const start = async () => {
  const port = (await freeBasePort(1)) + 1;
  servers.push(
    await serveScrape(port, "127.0.0.1", {
      "/metrics": () => ({ contentType: "text/plain; version=0.0.4", body: "kraft_up 1\n" }),
    }),
  );
  return port;
};

/** Send raw bytes; the whole answer once the server closes. */
const raw = (port: number, text: string): Promise<string> =>
  new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => socket.write(text));
    let answer = "";
    socket.on("data", (d) => {
      answer += d.toString();
    });
    socket.on("close", () => resolve(answer));
    socket.on("error", reject);
  });

describe("the metrics port's HTTP", () => {
  it("answers GET with the body, HEAD without, an unknown path 404, other methods 405, garbage 400", async () => {
    const port = await start();
    const ok = await fetch(`http://127.0.0.1:${port}/metrics?x=1`);
    expect(ok.status).toBe(200);
    expect(ok.headers.get("content-type")).toBe("text/plain; version=0.0.4");
    expect(await ok.text()).toBe("kraft_up 1\n");
    const head = await raw(port, "HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    expect(head).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*content-length: 11\r\n[\s\S]*\r\n\r\n$/);
    expect((await fetch(`http://127.0.0.1:${port}/nope`)).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${port}/metrics`, { method: "POST", body: "x" })).status).toBe(405);
    expect(await raw(port, "hello\r\n\r\n")).toMatch(/^HTTP\/1\.1 400 Bad Request/);
    expect(await raw(port, `GET /${"a".repeat(10_000)}`)).toMatch(/^HTTP\/1\.1 400 Bad Request/);
  });

  it("a port in use is a bind error", async () => {
    const port = await start();
    await expect(serveScrape(port, "127.0.0.1", {})).rejects.toThrow(/EADDRINUSE/);
  });
});
