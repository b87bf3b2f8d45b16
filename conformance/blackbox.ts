// Black-box cluster mode: start an implementation's nodes as processes, drive writes, inject faults
// (kill -9, SIGSTOP/SIGCONT, restart) on a seeded schedule, watch every node's status, and check the
// properties any KRaft quorum must keep: one leader per epoch, a node's high watermark never goes
// back while it runs, no acknowledged write is lost, and the cluster makes progress once healed.
//
// The contract with the implementation (conformance/README.md):
//   --start "CMD"   placeholders {id} {port} {clientPort} {statusPort} {dir} {voters} {clusterId};
//   status          GET http://127.0.0.1:{statusPort}/status → {role, epoch, leaderId, highWatermark};
//   writes, reads   CreateTopics and Metadata in Kafka's binary protocol on {clientPort}, as a Kafka
//                   node's broker listener serves them.
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { requestOnce } from "../src/kafka/client.ts";
import { KafkaError } from "../src/kafka/errors.ts";
import {
  CreateTopicsRequest,
  CreateTopicsResponse,
  MetadataRequest,
  MetadataResponse,
} from "../src/kafka/generated/messages.ts";
import { freeBasePort, sleep } from "../src/testing/local-cluster.ts";
import { seededRandom } from "./walks.ts";

export interface BlackBoxOptions {
  readonly start: string;
  readonly voters: number;
  readonly seconds: number;
  readonly seed: number;
  /** How long a healed cluster has to acknowledge a write (default 30 s). */
  readonly healSeconds?: number;
  readonly onEvent?: (text: string) => void;
}

interface NodeStatus {
  readonly role: string;
  readonly epoch: number;
  readonly leaderId: number;
  readonly highWatermark: number;
}

export interface BlackBoxReport {
  readonly ok: boolean;
  readonly seconds: number;
  readonly faults: { readonly kills: number; readonly pauses: number; readonly restarts: number };
  readonly writes: { readonly attempted: number; readonly acknowledged: number };
  readonly epochs: number;
  readonly statusSamples: number;
  readonly violations: readonly string[];
  /** Where the nodes' data and logs were kept (only when something was violated). */
  readonly kept: string | null;
}

interface Slot {
  readonly id: number;
  readonly port: number;
  readonly clientPort: number;
  readonly statusPort: number;
  readonly dir: string;
  process: ChildProcess | null;
  paused: boolean;
  /** The highest high watermark seen from this process run (reset at a restart). */
  highWatermark: number;
}

export const runBlackBox = async (options: BlackBoxOptions): Promise<BlackBoxReport> => {
  const say = options.onEvent ?? (() => {});
  const next = seededRandom(options.seed);
  const root = mkdtempSync(join(tmpdir(), "openkraft-blackbox-"));
  // Ports from the seed (when free), below the ephemeral range. The fault schedule is the seed's too;
  // the processes' timing is not, so exact replay is the simulator's (npm run simulate -- --seed S).
  const base = await freeBasePort(options.voters * 2, options.seed);
  const slots: Slot[] = Array.from({ length: options.voters }, (_, i) => ({
    id: i + 1,
    port: base + i + 1,
    clientPort: base + options.voters + i + 1,
    statusPort: base + 100 + i + 1,
    dir: join(root, `node-${i + 1}`),
    process: null,
    paused: false,
    highWatermark: -1,
  }));
  const voters = slots.map((s) => `${s.id}@127.0.0.1:${s.port}`).join(",");
  const clusterId = "b1ackb0xC1usterIdAAAAA";
  const violations: string[] = [];
  const leaders = new Map<number, number>();
  const acknowledged: string[] = [];
  let attempted = 0;
  let samples = 0;
  const faults = { kills: 0, pauses: 0, restarts: 0 };

  const startNode = (slot: Slot): void => {
    mkdirSync(slot.dir, { recursive: true });
    const command = options.start
      .replaceAll("{id}", String(slot.id))
      .replaceAll("{port}", String(slot.port))
      .replaceAll("{clientPort}", String(slot.clientPort))
      .replaceAll("{statusPort}", String(slot.statusPort))
      .replaceAll("{dir}", slot.dir)
      .replaceAll("{voters}", voters)
      .replaceAll("{clusterId}", clusterId);
    const log = openSync(join(slot.dir, "node.log"), "a");
    slot.process = spawn(command, { shell: true, detached: true, stdio: ["ignore", log, log] });
    closeSync(log);
    slot.highWatermark = -1;
  };
  const signal = (slot: Slot, sig: NodeJS.Signals): void => {
    if (slot.process?.pid === undefined) return;
    try {
      process.kill(-slot.process.pid, sig);
    } catch {
      // Already gone.
    }
  };
  const running = (s: Slot) =>
    s.process !== null && s.process.exitCode === null && s.process.signalCode === null;

  const status = async (slot: Slot): Promise<NodeStatus | null> => {
    if (!running(slot) || slot.paused) return null;
    try {
      const response = await fetch(`http://127.0.0.1:${slot.statusPort}/status`, {
        signal: AbortSignal.timeout(500),
      });
      return (await response.json()) as NodeStatus;
    } catch {
      return null;
    }
  };
  const observe = async (): Promise<void> => {
    for (const slot of slots) {
      const s = await status(slot);
      if (s === null) continue;
      samples++;
      if (s.role === "Leader") {
        const known = leaders.get(s.epoch);
        if (known !== undefined && known !== slot.id)
          violations.push(
            `SingleLeader: epoch ${s.epoch} was led by node ${known}, now node ${slot.id} leads it`,
          );
        leaders.set(s.epoch, slot.id);
      }
      if (s.highWatermark < slot.highWatermark)
        violations.push(
          `MonotonicHighWatermark: node ${slot.id}'s high watermark went back from ${slot.highWatermark} to ${s.highWatermark}`,
        );
      slot.highWatermark = Math.max(slot.highWatermark, s.highWatermark);
    }
  };
  const write = async (): Promise<boolean> => {
    const name = `bb-${options.seed}-${attempted++}`;
    for (const slot of slots.filter((s) => running(s) && !s.paused)) {
      try {
        const answer = await requestOnce(
          `127.0.0.1:${slot.clientPort}`,
          CreateTopicsRequest,
          CreateTopicsResponse,
          {
            ...CreateTopicsRequest.defaults(),
            timeoutMs: 2000,
            topics: [{ name, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
          },
          { timeoutMs: 2000, write: true },
        );
        if (answer.topics[0]?.errorCode === KafkaError.NONE) {
          acknowledged.push(name);
          return true;
        }
      } catch {
        // Try the next node.
      }
    }
    return false;
  };
  const committedOn = async (slot: Slot): Promise<Set<string> | null> => {
    try {
      const answer = await requestOnce(
        `127.0.0.1:${slot.clientPort}`,
        MetadataRequest,
        MetadataResponse,
        { ...MetadataRequest.defaults(), topics: null, allowAutoTopicCreation: false },
        { timeoutMs: 2000 },
      );
      if (answer.errorCode !== KafkaError.NONE) return null;
      return new Set(answer.topics.filter((t) => t.errorCode === KafkaError.NONE).map((t) => t.name ?? ""));
    } catch {
      return null;
    }
  };

  const started = Date.now();
  try {
    for (const slot of slots) startNode(slot);
    say(`started ${options.voters} nodes in ${root}`);
    const minority = Math.floor((options.voters - 1) / 2);
    const deadline = started + options.seconds * 1000;
    let nextFault = Date.now() + 2000;
    while (Date.now() < deadline) {
      await observe();
      if (next() < 0.5) await write();
      if (Date.now() >= nextFault) {
        nextFault = Date.now() + 1000 + next() * 2000;
        const down = slots.filter((s) => !running(s) || s.paused);
        for (const s of down) {
          if (s.paused) {
            signal(s, "SIGCONT");
            s.paused = false;
            say(`node ${s.id}: SIGCONT`);
          } else {
            startNode(s);
            faults.restarts++;
            say(`node ${s.id}: restarted`);
          }
        }
        if (minority > 0) {
          const victim = slots[Math.floor(next() * slots.length)]!;
          if (!running(victim)) {
            // It stopped on its own: restarted at the next turn.
          } else if (next() < 0.5) {
            signal(victim, "SIGKILL");
            await new Promise((r) => victim.process?.once("exit", r));
            faults.kills++;
            say(`node ${victim.id}: kill -9`);
          } else {
            signal(victim, "SIGSTOP");
            victim.paused = true;
            faults.pauses++;
            say(`node ${victim.id}: SIGSTOP`);
          }
        }
      }
      await sleep(50);
    }
    // Heal: everything runs again; the cluster must make progress and keep every acknowledged write.
    for (const s of slots) {
      if (s.paused) {
        signal(s, "SIGCONT");
        s.paused = false;
      } else if (!running(s)) {
        startNode(s);
        faults.restarts++;
      }
    }
    say("healed: every node runs");
    const healSeconds = options.healSeconds ?? 30;
    const healedBy = Date.now() + healSeconds * 1000;
    let progressed = false;
    while (!progressed && Date.now() < healedBy) {
      await observe();
      progressed = await write();
      if (!progressed) await sleep(200);
    }
    if (!progressed)
      violations.push(`Progress: no write was acknowledged within ${healSeconds} s of healing`);
    for (const slot of slots) {
      let missing: string[] = acknowledged;
      const until = Date.now() + 20_000;
      while (missing.length > 0 && Date.now() < until) {
        const names = await committedOn(slot);
        if (names !== null) missing = acknowledged.filter((n) => !names.has(n));
        if (missing.length > 0) await sleep(200);
      }
      if (missing.length > 0)
        violations.push(
          `CommittedWritesKept: node ${slot.id} lacks ${missing.length} acknowledged writes (first: ${missing[0]})`,
        );
    }
    await observe();
  } finally {
    for (const s of slots) {
      signal(s, "SIGCONT");
      signal(s, "SIGKILL");
    }
    // A failed run keeps the nodes' data and logs for whoever has to find out why.
    if (violations.length === 0) rmSync(root, { recursive: true, force: true });
    else say(`kept the nodes' data and node.log files in ${root}`);
  }
  return {
    ok: violations.length === 0,
    seconds: Math.round((Date.now() - started) / 100) / 10,
    faults,
    writes: { attempted, acknowledged: acknowledged.length },
    epochs: leaders.size,
    statusSamples: samples,
    violations,
    kept: violations.length === 0 ? null : root,
  };
};
