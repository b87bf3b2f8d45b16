import { AdminClient } from "../src/cli/client.ts";
import { KafkaClient } from "../src/kafka/client.ts";
import { CreateTopicsRequest, CreateTopicsResponse } from "../src/kafka/generated/messages.ts";
import { LocalCluster, sleep, waitFor } from "../src/testing/local-cluster.ts";

const cluster = await LocalCluster.create(3, 2, []);
cluster.startAll();
const leader = await cluster.waitForLeader(60_000);
await sleep(3000);
const addr = cluster.node(leader.nodeId).address;
const json = await AdminClient.connect(addr);
const kafka = await KafkaClient.connect(addr);
let seq = 0;
const p50 = (xs: number[]) => xs.sort((a, b) => a - b)[xs.length >> 1]!.toFixed(2);
for (let round = 0; round < 3; round++) {
  const j: number[] = [],
    k: number[] = [];
  for (let i = 0; i < 200; i++) {
    let t = performance.now();
    await json.request({
      _tag: "CreateTopicsRequest",
      validateOnly: false,
      topics: [{ name: `j${seq++}`, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
    });
    j.push(performance.now() - t);
    t = performance.now();
    await kafka.request(CreateTopicsRequest, CreateTopicsResponse, {
      ...CreateTopicsRequest.defaults(),
      timeoutMs: 10000,
      topics: [{ name: `k${seq++}`, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
    });
    k.push(performance.now() - t);
  }
  console.log({ jsonP50: p50(j), kafkaP50: p50(k) });
}
json.close();
kafka.close();
await cluster.destroy();
