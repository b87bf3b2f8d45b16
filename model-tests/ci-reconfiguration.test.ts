// The checker's proof, to a depth bound, that voter changes (KIP-853) keep every property: every
// behaviour of up to RECONFIGURATION_DEPTH steps from a committed value with an observer caught up,
// where operators ask the leader to add a voter and remove one, and from each of their states the fair
// schedule reaches every liveness goal. Random walks then go deeper, with crashes and elections
// between the steps of a change.
import { availableParallelism } from "node:os";
import { describe, expect, it } from "vitest";
import { search } from "../src/checker/engine.ts";
import { raftModel } from "../src/checker/raft-model.ts";
import {
  AUTO_JOIN_CONFIGURATION,
  AUTO_JOIN_DEPTH,
  AUTO_JOIN_DISTINCT_STATES,
  type Configuration,
  DISK_REPLACEMENT_CONFIGURATION,
  DISK_REPLACEMENT_DEPTH,
  DISK_REPLACEMENT_DISTINCT_STATES,
  MOVED_LISTENER_CONFIGURATION,
  MOVED_LISTENER_DEPTH,
  MOVED_LISTENER_DISTINCT_STATES,
  RECONFIGURATION_CONFIGURATION,
  RECONFIGURATION_DEPTH,
  RECONFIGURATION_DISTINCT_STATES,
} from "./configurations.ts";

/** Every core: the outcome is the same for any number of workers (src/checker/parallel.test.ts). */
const WORKERS = availableParallelism();

/** Every behaviour of `config` to `depth` keeps every property, and there are `distinct` of them. */
const exhaust = (config: Configuration, depth: number, distinct: number) => {
  const result = search(raftModel(config), { mode: "bfs", workers: WORKERS, depth, maxSeconds: 900 });
  expect(result.violation).toBeUndefined();
  expect(result.result).toBe("ok");
  expect(result.distinctStates).toBe(distinct);
  return result;
};

/** 1,000 seeded walks of up to 150 steps of `config`, none breaking a property. */
const walk = (config: Configuration) => {
  const walks = search(raftModel(config), {
    mode: "simulate",
    seed: 1,
    walks: 1000,
    depth: 150,
    maxSeconds: 600,
  });
  expect(walks.violation).toBeUndefined();
  return walks;
};

describe("model checking in CI: voter changes", () => {
  it("keeps every property in every behaviour within the depth bound", () => {
    const result = exhaust(
      RECONFIGURATION_CONFIGURATION,
      RECONFIGURATION_DEPTH,
      RECONFIGURATION_DISTINCT_STATES,
    );
    expect(result.depthBound).toBe(RECONFIGURATION_DEPTH);
    // Not vacuous: within the bound a voter change is committed and its requester answered.
    expect(result.sometimesReached).toContain("VoterChangeCommitted");
    console.log(
      `CI reconfiguration check: ${result.distinctStates} distinct states to depth ${RECONFIGURATION_DEPTH}, ${result.liveness?.states} timed states, ${result.seconds.toFixed(1)} s`,
    );
  }, 900_000);

  it("keeps every property on random walks with crashes and elections between the steps of a change", () => {
    const config = {
      ...RECONFIGURATION_CONFIGURATION,
      bounds: {
        ...RECONFIGURATION_CONFIGURATION.bounds,
        maxEpoch: 3,
        maxCrashes: 2,
        maxValues: 2,
        loss: true,
        // Operators also rewrite voters' entries (UpdateRaftVoter, R99) between the other changes.
        voterUpdates: true,
      },
    };
    const result = search(raftModel(config), {
      mode: "simulate",
      seed: 1,
      walks: 2000,
      depth: 150,
      maxSeconds: 600,
    });
    expect(result.violation).toBeUndefined();
    expect(result.result).toBe("ok");
    expect(result.sometimesReached).toContain("VoterChangeCommitted");
    console.log(
      `CI reconfiguration walks: ${result.distinctStates} distinct states on 2,000 walks of up to 150 steps, ${result.seconds.toFixed(1)} s`,
    );
  }, 900_000);

  it("an auto-joining controller (R150) becomes a voter by itself, and every property holds on the way", () => {
    const result = exhaust(AUTO_JOIN_CONFIGURATION, AUTO_JOIN_DEPTH, AUTO_JOIN_DISTINCT_STATES);
    expect(result.liveness?.properties).toContain("EventuallyAutoJoined");
    expect(result.sometimesReached).toContain("VoterChangeCommitted");
    // With crashes, loss, elections and writes between its asks.
    const walks = walk({
      ...AUTO_JOIN_CONFIGURATION,
      bounds: { ...AUTO_JOIN_CONFIGURATION.bounds, maxEpoch: 3, maxCrashes: 2, maxValues: 2, loss: true },
    });
    expect(walks.sometimesReached).toContain("VoterChangeCommitted");
    console.log(
      `CI auto-join check: ${result.distinctStates} distinct states to depth ${AUTO_JOIN_DEPTH}, ${result.seconds.toFixed(1)} s; ${walks.distinctStates} on 1,000 walks, ${walks.seconds.toFixed(1)} s`,
    );
  }, 900_000);

  it("a replaced disk (R100) never votes as its old key, and rejoins by itself (R150)", () => {
    const result = exhaust(
      DISK_REPLACEMENT_CONFIGURATION,
      DISK_REPLACEMENT_DEPTH,
      DISK_REPLACEMENT_DISTINCT_STATES,
    );
    expect(result.liveness?.properties).toContain("EventuallyAutoJoined");
    // Deeper, with loss and every fault: any node's disk may be replaced, and every node auto-joins.
    // Safety only: random walks seldom finish a rejoin (the fair schedules above judge that).
    const walks = walk({
      ...DISK_REPLACEMENT_CONFIGURATION,
      cluster: { ...DISK_REPLACEMENT_CONFIGURATION.cluster, autoJoin: [1, 2, 3] },
      bounds: { ...DISK_REPLACEMENT_CONFIGURATION.bounds, maxEpoch: 3, maxCrashes: 3, loss: true },
    });
    expect(walks.result).toBe("ok");
    console.log(
      `CI disk replacement check: ${result.distinctStates} distinct states to depth ${DISK_REPLACEMENT_DEPTH}, ${result.seconds.toFixed(1)} s; ${walks.distinctStates} on 1,000 walks, ${walks.seconds.toFixed(1)} s`,
    );
  }, 900_000);

  it("a controller whose listener moved (R99) has its entry rewritten, as a follower or as a new leader", () => {
    const result = exhaust(
      MOVED_LISTENER_CONFIGURATION,
      MOVED_LISTENER_DEPTH,
      MOVED_LISTENER_DISTINCT_STATES,
    );
    expect(result.liveness?.properties).toContain("EventuallyEntriesUpdated");
    // Deeper, with loss, writes and two moved controllers; safety only.
    const walks = walk({
      ...MOVED_LISTENER_CONFIGURATION,
      cluster: { ...MOVED_LISTENER_CONFIGURATION.cluster, movedListeners: [1, 2] },
      bounds: {
        ...MOVED_LISTENER_CONFIGURATION.bounds,
        maxEpoch: 3,
        maxCrashes: 2,
        maxValues: 2,
        loss: true,
      },
    });
    expect(walks.result).toBe("ok");
    console.log(
      `CI moved listener check: ${result.distinctStates} distinct states to depth ${MOVED_LISTENER_DEPTH}, ${result.seconds.toFixed(1)} s; ${walks.distinctStates} on 1,000 walks, ${walks.seconds.toFixed(1)} s`,
    );
  }, 900_000);
});
