// `npm run bench:restart`: how long a controller takes to restart, and how much memory it holds, as
// the metadata history grows (10k, 100k, 1M records by default), with and without snapshots (R131,
// R80). The history is written with the node's own storage code into a formatted node directory: a
// topic and its partition, then config changes to it (each replayed like any record; the image stays
// small). "log" keeps the whole history in the log; "snapshot" keeps what retention leaves: a snapshot
// of the image and the last 1,000 records after it. A single-controller node is then started as a real
// process and timed until its image reaches the last record; its resident memory is read then. One
// JSON document on stdout, progress on stderr.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { EMPTY_IMAGE, replay, snapshotRecords } from "../spec/metadata/image.ts";
import type { MetadataRecord } from "../spec/metadata/records.ts";
import { type LogEntry, LogStore, QuorumStateStore } from "../src/runtime/storage.ts";
import { LocalCluster, TEST_TIMEOUTS, waitFor } from "../src/testing/local-cluster.ts";

const { values } = parseArgs({
  options: {
    records: { type: "string", default: "10000,100000,1000000" },
    tail: { type: "string", default: "1000" },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (values.help) {
  process.stdout.write(`usage: npm run bench:restart -- [--records 10000,100000,1000000] [--tail 1000]

Restart time and resident memory of a controller whose metadata history holds each number of
records, with the whole history in the log ("log") and with a snapshot plus --tail records ("snapshot").
`);
  process.exit(0);
}
const counts = values.records.split(",").map(Number);
const tail = Number(values.tail);
if (counts.some((n) => !Number.isInteger(n) || n < 10) || !Number.isInteger(tail) || tail < 1) {
  process.stderr.write(
    "bench:restart: --records takes whole numbers of at least 10, --tail one of at least 1\n",
  );
  process.exit(2);
}

const TOPIC_ID = "AAAAAAAAAAAAAAAAAAAAAQ";
/** The record at `offset` of the history. */
const recordAt = (offset: number): MetadataRecord => {
  if (offset === 0) return { _tag: "FeatureLevelRecord", name: "metadata.version", featureLevel: 21 };
  if (offset === 1) return { _tag: "TopicRecord", name: "history", topicId: TOPIC_ID };
  if (offset === 2)
    return {
      _tag: "PartitionRecord",
      partitionId: 0,
      topicId: TOPIC_ID,
      replicas: [1],
      isr: [1],
      removingReplicas: [],
      addingReplicas: [],
      leader: 1,
      leaderRecoveryState: 0,
      leaderEpoch: 0,
      partitionEpoch: 0,
    };
  return {
    _tag: "ConfigRecord",
    resourceType: 2,
    resourceName: "history",
    name: "retention.ms",
    value: String(offset),
  };
};

/** Write `records` of history (epoch 1) into node 1's log directory; with a snapshot, trim it. */
const writeHistory = (dataDir: string, records: number, withSnapshot: boolean): void => {
  const log = new LogStore(join(dataDir, "__cluster_metadata-0"), 8 * 1024 * 1024);
  const batch = 1000;
  for (let from = 0; from < records; from += batch) {
    const entries: LogEntry[] = [];
    for (let o = from; o < Math.min(records, from + batch); o++)
      entries.push({ epoch: 1, control: null, record: recordAt(o) });
    log.append(from, entries);
  }
  log.flush();
  if (withSnapshot && records > tail) {
    const end = records - tail;
    const history = Array.from({ length: end }, (_, o) => ({ offset: o, epoch: 1, record: recordAt(o) }));
    const image = replay(EMPTY_IMAGE, history).image;
    log.snapshots.writeRecords(end, 1, snapshotRecords(image), Date.now(), Date.now());
    log.deleteBefore(end);
  }
  log.close();
  new QuorumStateStore(dataDir, readClusterId(dataDir)).write({ epoch: 1, leaderId: 1, votedKey: { id: 1 } });
};

const readClusterId = (dataDir: string): string =>
  /cluster\.id=(.+)/.exec(readFileSync(join(dataDir, "meta.properties"), "utf8"))![1]!.trim();

const rssMB = (pid: number): number => {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m === null ? Number.NaN : Math.round(Number(m[1]) / 1024);
};

interface Row {
  readonly records: number;
  readonly variant: "log" | "snapshot";
  readonly logRecords: number;
  readonly restartMs: number;
  readonly rssMB: number;
}

const rows: Row[] = [];
for (const records of counts) {
  for (const variant of ["log", "snapshot"] as const) {
    const cluster = await LocalCluster.create(1, 0, TEST_TIMEOUTS);
    try {
      const node = cluster.node(1);
      process.stderr.write(`bench:restart: writing ${records} records (${variant})...\n`);
      writeHistory(join(node.dir, "data"), records, variant === "snapshot");
      const started = performance.now();
      cluster.start(1);
      const status = await waitFor(
        `node 1's image at offset ${records - 1}`,
        async () => {
          try {
            const s = await cluster.status(1);
            return s.metadataOffset >= records - 1 ? s : undefined;
          } catch {
            return undefined;
          }
        },
        600_000,
        20,
      );
      const restartMs = Math.round(performance.now() - started);
      const row: Row = {
        records,
        variant,
        logRecords: status.logEndOffset - status.logStartOffset,
        restartMs,
        rssMB: rssMB(cluster.pid(1)),
      };
      rows.push(row);
      process.stderr.write(`bench:restart: ${JSON.stringify(row)}\n`);
    } finally {
      await cluster.destroy();
    }
  }
}
process.stdout.write(`${JSON.stringify({ benchmark: "restart", tail, rows }, null, 2)}\n`);
