// Snapshots in a real cluster (R77–R84, R131, R80): every node snapshots its image as records commit
// and moves its log start to the newest snapshot; a broker that was down while the log start moved
// past its log end catches up through FetchSnapshot, loads the image and replays the records after
// it; a controller restarts from its own snapshot.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LocalCluster, TEST_TIMEOUTS, waitFor } from "../testing/local-cluster.ts";

const timeout = (name: string): number => TEST_TIMEOUTS.find(([n]) => n === name)![1];
/** Long enough for elections, sessions and fetches to play out several times on a loaded machine. */
const WAIT_MS = 20 * timeout("broker.session.timeout.ms");

let cluster: LocalCluster;

beforeAll(async () => {
  cluster = await LocalCluster.create(3, 2, [
    ...TEST_TIMEOUTS,
    // A NoOpRecord every 100 ms and a snapshot per ~2 KB of records, the log start moved to each.
    ["metadata.max.idle.interval.ms", 100],
    ["metadata.log.max.record.bytes.between.snapshots", 2000],
    ["metadata.max.retention.bytes", 1],
  ]);
  cluster.startAll();
}, WAIT_MS);

afterAll(async () => {
  await cluster?.destroy();
}, WAIT_MS);

const createTopic = (name: string) =>
  waitFor(
    `topic ${name}`,
    async () => {
      try {
        const result = await cluster.createTopic(4, name, 2, 2);
        return result.errorCode === "NONE" || result.errorCode === "TOPIC_ALREADY_EXISTS"
          ? result
          : undefined;
      } catch {
        return undefined;
      }
    },
    WAIT_MS,
    100,
  );

const topicNames = async (id: number): Promise<string[]> =>
  (await cluster.topics(id)).map((t) => t.name).sort();

describe("snapshots in the reference cluster", () => {
  it(
    "a broker down while the log start moved past its log end catches up through FetchSnapshot",
    async () => {
      const leader = await cluster.waitForLeader(WAIT_MS);
      for (const b of [4, 5])
        await waitFor(
          `broker ${b} running`,
          async () => ((await cluster.status(b)).brokerState === "RUNNING" ? true : undefined),
          WAIT_MS,
        );
      await createTopic("before");
      await waitFor(
        "broker 5 has the topic",
        async () => ((await topicNames(5)).includes("before") ? true : undefined),
        WAIT_MS,
      );
      const down = await cluster.status(5);
      await cluster.kill(5);
      await createTopic("while-down");
      // The leader snapshots and moves its log start past everything broker 5 has.
      const moved = await waitFor(
        "the leader's log start past broker 5's log end",
        async () => {
          const s = await cluster.status(leader.nodeId);
          return s.logStartOffset > down.logEndOffset ? s : undefined;
        },
        WAIT_MS,
      );
      expect(moved.snapshotEndOffset).toBeGreaterThanOrEqual(moved.logStartOffset);
      cluster.start(5);
      const back = await waitFor(
        "broker 5 running again",
        async () => {
          try {
            const s = await cluster.status(5);
            return s.brokerState === "RUNNING" ? s : undefined;
          } catch {
            return undefined;
          }
        },
        WAIT_MS,
      );
      // Its log starts at a snapshot it downloaded: nothing below the leader's log start was fetched.
      expect(back.logStartOffset).toBeGreaterThan(down.logEndOffset);
      expect(back.snapshotEndOffset).toBe(back.logStartOffset);
      expect(cluster.stderr(5)).toContain("installed a snapshot downloaded from the leader");
      await createTopic("after");
      await waitFor(
        "broker 5's image as the leader's",
        async () => {
          const [mine, theirs] = await Promise.all([topicNames(5), topicNames(leader.nodeId)]);
          return mine.join() === theirs.join() && mine.includes("after") ? mine : undefined;
        },
        WAIT_MS,
      );
      expect(await topicNames(5)).toEqual(["after", "before", "while-down"]);
    },
    6 * WAIT_MS,
  );

  it(
    "a controller restarts from its own snapshot and the log after it",
    async () => {
      const leader = await cluster.waitForLeader(WAIT_MS);
      const standby = [1, 2, 3].find((id) => id !== leader.nodeId)!;
      const before = await waitFor(
        `controller ${standby} with a snapshot`,
        async () => {
          const s = await cluster.status(standby);
          return s.snapshotEndOffset > 0 ? s : undefined;
        },
        WAIT_MS,
      );
      await cluster.stop(standby);
      cluster.start(standby);
      const again = await waitFor(
        `controller ${standby} caught up again`,
        async () => {
          try {
            const s = await cluster.status(standby);
            return s.metadataOffset >= before.metadataOffset ? s : undefined;
          } catch {
            return undefined;
          }
        },
        WAIT_MS,
      );
      expect(again.logStartOffset).toBeGreaterThan(0);
      expect(await topicNames(standby)).toEqual(await topicNames(leader.nodeId));
    },
    4 * WAIT_MS,
  );
});
