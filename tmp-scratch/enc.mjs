import { encodeLogBatch } from "../dist/src/kafka/metadata-records.js";
import { encodeRecordBatch } from "../src/kafka/records.ts";

const topicId = "AAAAAAAAAAAAAAAAAAAAAg";
const entries = Array.from({ length: 51 }, (_, i) => ({
  epoch: 3,
  control: null,
  record:
    i === 0
      ? { _tag: "TopicRecord", name: "bench-123-456", topicId }
      : {
          _tag: "PartitionRecord",
          partitionId: i,
          topicId,
          replicas: [4],
          isr: [4],
          removingReplicas: [],
          addingReplicas: [],
          leader: 4,
          leaderRecoveryState: 0,
          leaderEpoch: 0,
          partitionEpoch: 0,
        },
}));
for (let round = 0; round < 3; round++) {
  let t = performance.now();
  const n = 10000;
  for (let i = 0; i < n; i++) encodeLogBatch(i, entries, 1700000000000);
  const kafkaUs = ((performance.now() - t) * 1000) / (n * 51);
  t = performance.now();
  for (let i = 0; i < n; i++) for (const e of entries) JSON.stringify(e.record);
  const jsonUs = ((performance.now() - t) * 1000) / (n * 51);
  console.log({ kafkaUsPerRecord: kafkaUs.toFixed(3), jsonUsPerRecord: jsonUs.toFixed(3) });
}
