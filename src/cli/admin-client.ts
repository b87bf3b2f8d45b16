// What the admin commands share: one request over a fresh connection (refusals and client failures as
// AdminFailures, exit 1), and the quorum's leader found and asked for a voter change (KIP-853).
import { KafkaClient, KafkaClientError } from "../kafka/client.ts";
import type { MessageCodec } from "../kafka/codec.ts";
import { errorName, KafkaError } from "../kafka/errors.ts";
import {
  DescribeQuorumRequest,
  DescribeQuorumResponse,
  MetadataRequest,
} from "../kafka/generated/messages.ts";
import type { NodeConfig } from "../runtime/config.ts";
import { type FlagSpec, type FlagValues, UsageError } from "./flags.ts";
import { readNodeConfig } from "./node-commands.ts";

/** How long an admin command waits for each answer (--timeout). */
export const TIMEOUT_FLAG: FlagSpec = {
  kind: "integer",
  name: "timeout",
  min: 100,
  max: 600_000,
  default: 10_000,
  placeholder: "MS",
  description: "how long to wait for an answer, asking again while a leader or controller is elected",
};

/** A controller's properties file, refused with what to do if it names no controller. */
export const readControllerConfig = (file: string): NodeConfig => {
  const config = readNodeConfig(file);
  if (!config.roles.includes("controller"))
    throw new UsageError(`${file}: node ${config.nodeId} has no controller role (process.roles)`);
  return config;
};

/** The first broker of `kraft cluster up`: Kafka's tools take a broker as --bootstrap-server too. */
export const DEFAULT_SERVER = "127.0.0.1:19094";

export const server = (values: FlagValues): string =>
  (values["bootstrap-server"] as string | undefined) ?? DEFAULT_SERVER;

export class AdminFailure extends Error {
  override readonly name = "AdminFailure";
  /** The Kafka error code a server answered with, when the failure is a refusal. */
  readonly errorCode: number | undefined;
  constructor(message: string, errorCode?: number) {
    super(message);
    this.errorCode = errorCode;
  }
}

/**
 * Kafka's answers that mean "no leader or active controller just now": a client asks again (they are
 * retriable in Kafka's admin client, which retries them until default.api.timeout.ms).
 */
export const ELECTION_ERRORS: ReadonlySet<number> = new Set([
  KafkaError.NOT_LEADER_OR_FOLLOWER,
  KafkaError.NOT_CONTROLLER,
  KafkaError.LEADER_NOT_AVAILABLE,
]);

/** The first of `codes` that says an election is under way, if any. */
export const electionError = (...codes: readonly (number | undefined)[]): number | undefined =>
  codes.find((code) => code !== undefined && ELECTION_ERRORS.has(code));

/**
 * As electionError, for a request that only reads: REQUEST_TIMED_OUT too (the node it was passed on
 * to did not answer: it is gone, and an election follows), since asking again changes nothing.
 */
export const readRetryError = (...codes: readonly (number | undefined)[]): number | undefined =>
  codes.find(
    (code) => code !== undefined && (ELECTION_ERRORS.has(code) || code === KafkaError.REQUEST_TIMED_OUT),
  );

/** Kafka's admin client waits retry.backoff.ms (100) before asking again, doubling to retry.backoff.max.ms (1000). */
const RETRY_BACKOFF_MS = 100;
const RETRY_BACKOFF_MAX_MS = 1000;

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface AskOptions<Res> {
  /** The request changes the cluster (the client asks once a server has said it serves writes). */
  readonly write?: boolean;
  /**
   * The error code in an answer that means an election is under way (ELECTION_ERRORS): the request
   * is sent again, backing off, until --timeout has passed since the first; then the last answer is
   * returned. Absent: asked once (a voter change is not repeated: it may have been appended).
   */
  readonly electing?: (answer: Res) => number | undefined;
  /** Where to say, once, that the command waits for an election (stderr). */
  readonly say?: (line: string) => void;
}

/**
 * One request over a fresh connection, asked again while the answer says an election is under way
 * (options.electing); a client-side failure becomes an AdminFailure (exit 1). A server that cannot
 * be reached fails at once: that is no election, and waiting would only hide it.
 */
export const ask = async <Req, Res>(
  values: FlagValues,
  request: MessageCodec<Req>,
  response: MessageCodec<Res>,
  build: (version: number) => Req,
  options: AskOptions<Res> = {},
): Promise<Res> => {
  const timeoutMs = values["timeout"] as number;
  const deadline = Date.now() + timeoutMs;
  let backoffMs = RETRY_BACKOFF_MS;
  let said = false;
  for (;;) {
    const answer = await askOnce(values, request, response, build, options.write ?? false);
    const code = options.electing?.(answer);
    if (code === undefined || Date.now() + backoffMs > deadline) return answer;
    if (!said)
      options.say?.(
        `${server(values)} answered ${errorName(code)}${ELECTION_ERRORS.has(code) ? ": an election is under way" : ""}; asking again for up to ${timeoutMs} ms (--timeout)`,
      );
    said = true;
    await sleep(backoffMs);
    backoffMs = Math.min(2 * backoffMs, RETRY_BACKOFF_MAX_MS);
  }
};

const askOnce = async <Req, Res>(
  values: FlagValues,
  request: MessageCodec<Req>,
  response: MessageCodec<Res>,
  build: (version: number) => Req,
  write: boolean,
): Promise<Res> => {
  const timeoutMs = values["timeout"] as number;
  let client: KafkaClient | undefined;
  try {
    client = await KafkaClient.connect(server(values), timeoutMs);
    const version = client.version(request as MessageCodec<unknown>);
    if (version === null)
      throw new AdminFailure(
        `${server(values)} does not serve ${request.name.replace(/Request(Data)?$/, "")}${request === (MetadataRequest as MessageCodec<unknown>) ? " (a controller's listener does not): give a broker's address with --bootstrap-server" : ""}`,
      );
    return await client.request(request, response, build(version), { timeoutMs, write });
  } catch (error) {
    if (error instanceof KafkaClientError) throw new AdminFailure(error.message);
    throw error;
  } finally {
    client?.close();
  }
};

/** "NAME: message" of a non-zero error code. */
export const refusal = (code: number, message: string | null): string =>
  `${errorName(code)}${message === null || message === "" ? "" : `: ${message}`}`;

export const METADATA_TOPIC = "__cluster_metadata";

/**
 * DescribeQuorum of the server given, refusals as AdminFailures; while it says an election is under
 * way it is asked again for up to --timeout, unless `wait` is false (a caller with servers to try).
 */
export const describeQuorum = async (values: FlagValues, say?: (line: string) => void, wait = true) => {
  const answer = await ask(
    values,
    DescribeQuorumRequest,
    DescribeQuorumResponse,
    () => ({ topics: [{ topicName: METADATA_TOPIC, partitions: [{ partitionIndex: 0 }] }] }),
    {
      ...(wait
        ? { electing: (a) => readRetryError(a.errorCode, a.topics[0]?.partitions[0]?.errorCode) }
        : {}),
      ...(say === undefined ? {} : { say }),
    },
  );
  const refused = (code: number, message: string | null) =>
    new AdminFailure(
      `${refusal(code, message)}${wait && readRetryError(code) !== undefined ? ` (no leader within ${values["timeout"] as number} ms, --timeout: is a majority of the controllers up?)` : ""}`,
      code,
    );
  if (answer.errorCode !== KafkaError.NONE) throw refused(answer.errorCode, answer.errorMessage);
  const partition = answer.topics[0]?.partitions[0];
  if (partition === undefined)
    throw new AdminFailure(`${server(values)} described no ${METADATA_TOPIC} partition`);
  if (partition.errorCode !== KafkaError.NONE) throw refused(partition.errorCode, partition.errorMessage);
  return { answer, partition };
};

/** The leader's controller address, from DescribeQuorum v2's nodes. */
export const leaderAddress = async (
  values: FlagValues,
  say?: (line: string) => void,
): Promise<{ leaderId: number; leaderEpoch: number; address: string }> => {
  const { answer, partition } = await describeQuorum(values, say);
  if (partition.leaderId < 0)
    throw new AdminFailure(
      `the quorum had no leader within ${values["timeout"] as number} ms (--timeout): is a majority of the controllers up?`,
    );
  const listener = answer.nodes.find((n) => n.nodeId === partition.leaderId)?.listeners[0];
  if (listener === undefined)
    throw new AdminFailure(
      `${server(values)} did not say where leader ${partition.leaderId} listens (DescribeQuorum v2's nodes)`,
    );
  return {
    leaderId: partition.leaderId,
    leaderEpoch: partition.leaderEpoch,
    address: `${listener.host}:${listener.port}`,
  };
};

/** What an operator should do after a voter change's refusal, where the code alone does not say. */
const CHANGE_HINTS: ReadonlyMap<number, string> = new Map([
  [
    KafkaError.REQUEST_TIMED_OUT,
    " (another change may be pending, or the new controller has not caught up yet; the change may still commit: check with kraft quorum describe, then retry)",
  ],
  [
    KafkaError.NOT_LEADER_OR_FOLLOWER,
    " (the leader changed while the change was pending; the next leader may still commit it: check with kraft quorum describe, then retry)",
  ],
]);

/** Send a voter change to the leader and wait for its answer (after the commit, R96, R97). */
export const changeVoters = async <Req, Res extends { errorCode: number; errorMessage: string | null }>(
  values: FlagValues,
  request: MessageCodec<Req>,
  response: MessageCodec<Res>,
  build: (version: number) => Req,
  say?: (line: string) => void,
): Promise<number> => {
  const { leaderId, address } = await leaderAddress(values, say);
  const answer = await ask({ ...values, "bootstrap-server": address }, request, response, build, {
    write: true,
  });
  if (answer.errorCode !== KafkaError.NONE)
    throw new AdminFailure(
      `leader ${leaderId} refused: ${refusal(answer.errorCode, answer.errorMessage)}${CHANGE_HINTS.get(answer.errorCode) ?? ""}`,
    );
  return leaderId;
};
