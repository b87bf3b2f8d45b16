import { describe, expect, it } from "vitest";
import { Random } from "../../checker/random.ts";
import { DEFAULT_LIMITS } from "../config.ts";
import { silentLog } from "../log.ts";
import type { TransportHandlers } from "../services.ts";
import { SimNetwork, simNetwork } from "./network.ts";
import { Scheduler } from "./scheduler.ts";

const handlers: TransportHandlers = {
  onKafkaRequest: () => {},
  onKafkaResponse: () => {},
  onClose: () => {},
  onUndelivered: () => {},
};
const listener = { name: "CONTROLLER", host: "n1", port: 9093 };

describe("the simulated network", () => {
  it("frees a crashed node's ports, and a node that crashed while starting binds nothing", async () => {
    const network = new SimNetwork(new Scheduler(), new Random(1));
    let firstAlive = true;
    const first = simNetwork(network, 1, () => firstAlive).transport(handlers, silentLog, DEFAULT_LIMITS);
    await first.listen(listener);
    const second = simNetwork(network, 1, () => true).transport(handlers, silentLog, DEFAULT_LIMITS);
    await expect(second.listen(listener)).rejects.toThrow(/the port is in use/);
    // The first process dies without closing anything (kill -9): its port is free for the next.
    firstAlive = false;
    await expect(first.listen({ ...listener, port: 9094 })).rejects.toThrow(/the node is down/);
    await second.listen(listener);
  });
});
