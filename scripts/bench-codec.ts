// `npm run bench:codec`: what Kafka's codecs cost (src/kafka/): encode and decode of a few messages
// the cluster sends most, of a metadata record batch, and of a KRaft Fetch answer between nodes, in
// nanoseconds per message and MB/s. Prints one JSON document on stdout.
import { parseArgs } from "node:util";
import { decodeMessage, encodeMessage, type MessageCodec } from "../src/kafka/codec.ts";
import {
  defaultFetchRequestFetchPartition,
  FetchRequest,
  MetadataResponse,
  PartitionRecord,
  type PartitionRecordData,
  VoteRequest,
} from "../src/kafka/generated/messages.ts";
import { decodeRaftResponse, raftResponseFrame } from "../src/kafka/raft-messages.ts";
import { encodeRecordBatch, metadataRecordValue, readRecordBatches } from "../src/kafka/records.ts";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "1" },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (values.help) {
  process.stdout.write("usage: npm run bench:codec -- [--seconds 1]   (seconds per measurement)\n");
  process.exit(0);
}
const seconds = Number(values.seconds);
if (!(seconds > 0 && seconds <= 60)) {
  process.stderr.write(`bench:codec: --seconds must be in (0, 60], not "${values.seconds}"\n`);
  process.exit(2);
}

/** Run `f` repeatedly for the configured time; nanoseconds per call. */
const time = (f: () => unknown): number => {
  for (let i = 0; i < 1000; i++) f();
  let calls = 0;
  const started = process.hrtime.bigint();
  const budget = BigInt(Math.round(seconds * 1e9));
  let elapsed = 0n;
  while (elapsed < budget) {
    for (let i = 0; i < 200; i++) f();
    calls += 200;
    elapsed = process.hrtime.bigint() - started;
  }
  return Number(elapsed) / calls;
};

const measure = <T>(name: string, codec: MessageCodec<T>, value: T, version: number) => {
  const bytes = encodeMessage(codec, value, version);
  const encodeNs = time(() => encodeMessage(codec, value, version));
  const decodeNs = time(() => decodeMessage(codec, bytes, version));
  return {
    name,
    version,
    bytes: bytes.length,
    encodeNs: Math.round(encodeNs),
    decodeNs: Math.round(decodeNs),
    encodeMBps: Math.round((bytes.length / encodeNs) * 1000),
    decodeMBps: Math.round((bytes.length / decodeNs) * 1000),
  };
};

const topicId = "My3je8VlLG3ShQKtBtLaYg";
const metadata = {
  ...MetadataResponse.defaults(),
  clusterId: "GEvbuDUdvZm5QFSxvWEm3A",
  controllerId: 4,
  brokers: [4, 5, 6].map((nodeId) => ({ nodeId, host: "127.0.0.1", port: 19090 + nodeId, rack: null })),
  topics: Array.from({ length: 100 }, (_, t) => ({
    errorCode: 0,
    name: `topic-${t}`,
    topicId,
    isInternal: false,
    topicAuthorizedOperations: -2147483648,
    partitions: Array.from({ length: 10 }, (_, p) => ({
      errorCode: 0,
      partitionIndex: p,
      leaderId: 4 + (p % 3),
      leaderEpoch: 3,
      replicaNodes: [4, 5, 6],
      isrNodes: [4, 5, 6],
      offlineReplicas: [],
    })),
  })),
};
const fetch = {
  ...FetchRequest.defaults(),
  clusterId: "GEvbuDUdvZm5QFSxvWEm3A",
  replicaState: { replicaId: 2, replicaEpoch: -1n },
  maxWaitMs: 500,
  topics: [
    {
      topic: "",
      topicId: "AAAAAAAAAAAAAAAAAAAAAQ",
      partitions: [
        {
          ...defaultFetchRequestFetchPartition(),
          partition: 0,
          currentLeaderEpoch: 6,
          fetchOffset: 4242n,
          lastFetchedEpoch: 6,
          logStartOffset: -1n,
          partitionMaxBytes: 1048576,
          replicaDirectoryId: "Wtx4FqWiQmKa3mD5DS3b7A",
        },
      ],
    },
  ],
};
const vote = {
  ...VoteRequest.defaults(),
  clusterId: "GEvbuDUdvZm5QFSxvWEm3A",
  voterId: 2,
  topics: [
    {
      topicName: "__cluster_metadata",
      partitions: [
        {
          partitionIndex: 0,
          replicaEpoch: 5,
          replicaId: 1,
          replicaDirectoryId: "Wtx4FqWiQmKa3mD5DS3b7A",
          voterDirectoryId: "AAAAAAAAAAAAAAAAAAAAAA",
          lastOffsetEpoch: 4,
          lastOffset: 1234n,
          preVote: true,
        },
      ],
    },
  ],
};

// A batch of 51 metadata records: a CreateTopics of 50 partitions, as bench:cluster's load writes.
const partition = (p: number): PartitionRecordData => ({
  ...PartitionRecord.defaults(),
  partitionId: p,
  topicId,
  replicas: [4, 5, 6],
  isr: [4, 5, 6],
  leader: 4 + (p % 3),
});
const batch = {
  baseOffset: 1000n,
  partitionLeaderEpoch: 6,
  attributes: 0,
  lastOffsetDelta: 49,
  baseTimestamp: 1_800_000_000_000n,
  maxTimestamp: 1_800_000_000_000n,
  producerId: -1n,
  producerEpoch: -1,
  baseSequence: -1,
  records: Array.from({ length: 50 }, (_, p) => ({
    attributes: 0,
    timestampDelta: 0n,
    offsetDelta: p,
    key: null,
    value: metadataRecordValue(PartitionRecord, partition(p), 1),
    headers: [],
  })),
};
const batchBytes = encodeRecordBatch(batch);
const encodeBatchNs = time(() => encodeRecordBatch(batch));
const decodeBatchNs = time(() => readRecordBatches(batchBytes));

// A KRaft Fetch answer between nodes carrying that batch: the leader frames the stored batch bytes as
// they are (no re-encoding), the follower reads the frame and decodes every record to the spec's.
const answered = {
  _tag: "FetchResponse",
  errorCode: "NONE",
  highWatermark: 1000,
  logStartOffset: 0,
  leaderId: 1,
  leaderEpoch: 6,
  records: [{ baseOffset: 1000, epoch: 6, count: 50 }],
} as const;
const fetchAnswering = { topicName: "", topicId: "AAAAAAAAAAAAAAAAAAAAAQ", partitionIndex: 0 };
const fetchAnswer = () => raftResponseFrame(1, 18, 7, answered, fetchAnswering, batchBytes);
const fetchAnswerBytes = fetchAnswer();
const fetchLeaderNs = time(fetchAnswer);
const fetchFollowerNs = time(() => decodeRaftResponse(fetchAnswerBytes, 1, 18));

process.stdout.write(
  `${JSON.stringify(
    {
      node: process.version,
      messages: [
        measure("VoteRequest", VoteRequest, vote, 2),
        measure("FetchRequest", FetchRequest, fetch, 17),
        measure("MetadataResponse (100 topics x 10 partitions)", MetadataResponse, metadata, 12),
      ],
      recordBatch: {
        records: batch.records.length,
        bytes: batchBytes.length,
        encodeNsPerRecord: Math.round(encodeBatchNs / batch.records.length),
        decodeNsPerRecord: Math.round(decodeBatchNs / batch.records.length),
      },
      raftFetchAnswer: {
        records: batch.records.length,
        bytes: fetchAnswerBytes.length,
        leaderFrameNs: Math.round(fetchLeaderNs),
        followerDecodeNsPerRecord: Math.round(fetchFollowerNs / batch.records.length),
      },
    },
    null,
    2,
  )}\n`,
);
