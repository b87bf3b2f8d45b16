// KIP-853: a node of a dynamic quorum whose disk names no voter (formatted with
// --no-initial-controllers, or a broker) asks controller.quorum.bootstrap.servers for the quorum
// before it starts: DescribeQuorum v2 names the voters by key and their listeners. The Raft layer
// takes that set as its bootstrap set (R92); the VotersRecords it then fetches supersede it (R91).
import type { Voter } from "../../spec/raft/primitives.ts";
import { KafkaClient, KafkaClientError } from "../kafka/client.ts";
import type { MessageCodec } from "../kafka/codec.ts";
import { errorName } from "../kafka/errors.ts";
import { DescribeQuorumRequest, DescribeQuorumResponse } from "../kafka/generated/messages.ts";
import { type VoterEndpoints, voterKey } from "../kafka/metadata-records.ts";
import type { Log } from "./log.ts";

export interface DiscoveredQuorum {
  readonly leaderId: number;
  readonly voters: readonly Voter[];
  readonly endpoints: readonly VoterEndpoints[];
}

/** Why no bootstrap server described the quorum in time. */
export class DiscoveryError extends Error {
  override readonly name = "DiscoveryError";
}

/** One bootstrap server's description of the quorum, or why it gave none. */
const describeOnce = async (address: string, timeoutMs: number): Promise<DiscoveredQuorum | string> => {
  let client: KafkaClient | undefined;
  try {
    client = await KafkaClient.connect(address, timeoutMs, "openkraft-discovery");
    const version = client.version(DescribeQuorumRequest as MessageCodec<unknown>);
    if (version === null || version < 2) return "it does not serve DescribeQuorum v2";
    const answer = await client.request(
      DescribeQuorumRequest,
      DescribeQuorumResponse,
      { topics: [{ topicName: "__cluster_metadata", partitions: [{ partitionIndex: 0 }] }] },
      { timeoutMs },
    );
    const partition = answer.topics[0]?.partitions[0];
    const code = answer.errorCode !== 0 ? answer.errorCode : (partition?.errorCode ?? 0);
    if (code !== 0) return errorName(code);
    if (partition === undefined || partition.leaderId < 0) return "no leader yet";
    return {
      leaderId: partition.leaderId,
      voters: partition.currentVoters.map((v) => voterKey(v.replicaId, v.replicaDirectoryId)),
      endpoints: answer.nodes.map((n) => ({
        id: n.nodeId,
        endpoints: n.listeners.map((l) => ({ name: l.name, host: l.host, port: l.port })),
      })),
    };
  } catch (error) {
    if (error instanceof KafkaClientError) return error.message;
    throw error;
  } finally {
    client?.close();
  }
};

/**
 * Ask the bootstrap servers in turn, every `retryMs`, until one describes a quorum with a leader or
 * `deadlineMs` passes (then a DiscoveryError naming what each said last).
 */
export const discoverVoters = async (
  servers: readonly { readonly host: string; readonly port: number }[],
  options: { readonly timeoutMs: number; readonly retryMs: number; readonly deadlineMs: number },
  log: Log,
): Promise<DiscoveredQuorum> => {
  if (servers.length === 0)
    throw new DiscoveryError(
      "controller.quorum.bootstrap.servers names no controller but this node, whose disk names no voter: list another controller of the quorum",
    );
  const until = Date.now() + options.deadlineMs;
  const last = new Map<string, string>();
  for (let attempt = 0; ; attempt++) {
    for (const s of servers) {
      const address = `${s.host}:${s.port}`;
      const answer = await describeOnce(address, options.timeoutMs);
      if (typeof answer !== "string") {
        log.info("learned the voters from a bootstrap server", {
          server: address,
          leaderId: answer.leaderId,
          voters: answer.voters.map((v) => v.id).join(","),
        });
        return answer;
      }
      if (last.get(address) !== answer && attempt === 0)
        log.warn("a bootstrap server did not describe the quorum; retrying", {
          server: address,
          why: answer,
        });
      last.set(address, answer);
    }
    if (Date.now() + options.retryMs > until)
      throw new DiscoveryError(
        `no controller.quorum.bootstrap.servers described the quorum within ${options.deadlineMs} ms (${[...last].map(([a, why]) => `${a}: ${why}`).join("; ")}); start a controller of the quorum first, or check the addresses`,
      );
    await new Promise((resolve) => setTimeout(resolve, options.retryMs));
  }
};
