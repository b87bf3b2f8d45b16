import { describe, expect, it } from "vitest";
import { Random } from "../checker/random.ts";
import { nodeConfigFrom, parseProperties } from "./config.ts";
import { silentLog } from "./log.ts";
import { KraftNode } from "./node.ts";
import type { NodeServices } from "./services.ts";
import { SimDisk } from "./sim/disk.ts";
import { SimNetwork, simNetwork } from "./sim/network.ts";
import { Scheduler } from "./sim/scheduler.ts";
import { LogStore, QuorumStateStore, writeMetaProperties } from "./storage.ts";

const config = nodeConfigFrom(
  parseProperties(
    "node.id=1\nprocess.roles=controller\ncontroller.quorum.voters=1@n1:9093,2@n2:9093,3@n3:9093\nlisteners=CONTROLLER://n1:9093\nlog.dirs=/n1\n",
  ),
);

const world = () => {
  const scheduler = new Scheduler();
  const disk = new SimDisk(new Random(1), (ms, fn) => scheduler.after(ms, fn));
  disk.mkdirp("/n1");
  writeMetaProperties("/n1", { clusterId: "c2ltdWxhdGVkY2x1c3Rlcg", nodeId: 1, directoryId: "d" }, disk);
  const services: NodeServices = {
    clock: scheduler.clockFor(() => true),
    entropy: { next: () => 0.5, bytes: (n) => new Uint8Array(n) },
    disk,
    network: simNetwork(new SimNetwork(scheduler, new Random(2)), 1, () => true),
    log: silentLog,
    processLocal: false,
  };
  return { scheduler, disk, services };
};

describe("opening a node", () => {
  it("has no effect until start: no timer armed, nothing sent, nothing written", () => {
    const { scheduler, disk, services } = world();
    const node = KraftNode.open(config, services);
    expect(scheduler.pending).toBe(0);
    expect(disk.exists("/n1/quorum-state")).toBe(false);
    expect(node.status().role).toBe("Unattached");
  });

  it("a refused open releases what it took: the lock and the log's files", () => {
    const { disk, services } = world();
    const log = new LogStore("/n1/__cluster_metadata-0", 1 << 20, disk);
    log.append(0, [{ epoch: 1, control: null, record: { _tag: "NoOpRecord" } }]);
    log.close();
    expect(() => KraftNode.open(config, services)).toThrow(
      /quorum-state is missing but the metadata log holds 1 records/,
    );
    // The lock was given back: another open gets as far as the same refusal, not "in use".
    expect(() => KraftNode.open(config, services)).toThrow(/quorum-state is missing/);
    new QuorumStateStore("/n1", "c2ltdWxhdGVkY2x1c3Rlcg", disk).write({ epoch: 1, leaderId: -1 });
    expect(KraftNode.open(config, services).status().logEndOffset).toBe(1);
  });
});
