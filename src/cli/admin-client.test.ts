// Admin commands during an election: Kafka's retriable answers (NOT_LEADER_OR_FOLLOWER,
// NOT_CONTROLLER, LEADER_NOT_AVAILABLE) are asked again until --timeout, as Kafka's admin client does;
// a server that cannot be reached fails at once.
import { describe, expect, it } from "vitest";
import type { NodeRequest, NodeResponse } from "../../spec/node/node.ts";
import type { DescribeQuorumResponse } from "../../spec/raft/messages.ts";
import { fakeKafkaServer } from "../testing/fake-kafka-server.ts";
import { freeBasePort } from "../testing/local-cluster.ts";
import { runQuorum, runTopics } from "./admin.ts";
import { AdminFailure } from "./admin-client.ts";

const quorum = (errorCode: DescribeQuorumResponse["errorCode"], leaderId: number): NodeResponse => ({
  _tag: "AdminResponse",
  errorCode: "NONE",
  errorMessage: null,
  body: {
    _tag: "DescribeQuorumResponse",
    errorCode,
    leaderId,
    leaderEpoch: 4,
    highWatermark: leaderId < 0 ? -1 : 17,
    currentVoters:
      leaderId < 0
        ? []
        : [1, 2, 3].map((replicaId) => ({
            replicaId,
            replicaDirectoryId: "AAAAAAAAAAAAAAAAAAAABA",
            logEndOffset: 17,
            lastFetchTimestamp: -1,
            lastCaughtUpTimestamp: -1,
          })),
    observers: [],
  },
});

const io = () => {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (t: string) => out.push(t), err: (t: string) => err.push(t) } };
};

describe("admin commands during an election", () => {
  it("kraft quorum describe asks again while no leader is known, and says so once", async () => {
    const port = await freeBasePort(1);
    let asked = 0;
    const server = await fakeKafkaServer(port, "CONTROLLER", () =>
      ++asked < 4 ? quorum("NOT_LEADER_OR_FOLLOWER", -1) : quorum("NONE", 2),
    );
    try {
      const { out, err, io: streams } = io();
      const code = await runQuorum(
        ["describe", "--bootstrap-server", `127.0.0.1:${port}`, "--timeout", "30000", "--json"],
        streams,
      );
      expect(code).toBe(0);
      expect(asked).toBe(4);
      expect(JSON.parse(out[0]!)).toMatchObject({ leaderId: 2, leaderEpoch: 4, highWatermark: 17 });
      expect(err).toEqual([
        `127.0.0.1:${port} answered NOT_LEADER_OR_FOLLOWER: an election is under way; asking again for up to 30000 ms (--timeout)`,
      ]);
    } finally {
      server.close();
    }
  });

  it("gives up after --timeout, saying how long it waited and what to check", async () => {
    const port = await freeBasePort(1);
    let asked = 0;
    const server = await fakeKafkaServer(port, "CONTROLLER", () => {
      asked++;
      return quorum("NOT_LEADER_OR_FOLLOWER", -1);
    });
    try {
      const started = Date.now();
      const failure = await runQuorum(
        ["describe", "--bootstrap-server", `127.0.0.1:${port}`, "--timeout", "800"],
        io().io,
      ).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(AdminFailure);
      expect((failure as AdminFailure).message).toBe(
        "NOT_LEADER_OR_FOLLOWER (no leader within 800 ms, --timeout: is a majority of the controllers up?)",
      );
      // Backing off 100, 200, 400 ms: on an idle machine the fourth answer comes at about 700 ms and
      // a fifth would be past 800; a loaded one fits fewer, never more, and never gives up early.
      expect(asked).toBeGreaterThanOrEqual(2);
      expect(asked).toBeLessThanOrEqual(4);
      expect(Date.now() - started).toBeGreaterThanOrEqual(100 * (2 ** (asked - 1) - 1));
    } finally {
      server.close();
    }
  });

  it("kraft topics create is sent again while the broker knows no active controller (NOT_CONTROLLER)", async () => {
    const port = await freeBasePort(1);
    const requests: NodeRequest[] = [];
    const server = await fakeKafkaServer(port, "PLAINTEXT", (request) => {
      requests.push(request);
      return requests.length < 3
        ? {
            _tag: "AdminResponse",
            errorCode: "NOT_CONTROLLER",
            errorMessage: "no controller is known",
            body: null,
          }
        : {
            _tag: "CreateTopicsResponse",
            topics: [
              {
                name: "orders",
                topicId: "AAAAAAAAAAAAAAAAAAAAAQ",
                errorCode: "NONE",
                errorMessage: null,
                numPartitions: 3,
                replicationFactor: 1,
              },
            ],
          };
    });
    try {
      const { out, err, io: streams } = io();
      const code = await runTopics(
        ["create", "--topic", "orders", "--partitions", "3", "--bootstrap-server", `127.0.0.1:${port}`],
        streams,
      );
      expect(code).toBe(0);
      expect(requests.map((r) => r._tag)).toEqual([
        "CreateTopicsRequest",
        "CreateTopicsRequest",
        "CreateTopicsRequest",
      ]);
      expect(out).toEqual([
        "created topic orders (id AAAAAAAAAAAAAAAAAAAAAQ) with 3 partition(s), replication factor 1",
      ]);
      expect(err).toEqual([
        `127.0.0.1:${port} answered NOT_CONTROLLER: an election is under way; asking again for up to 10000 ms (--timeout)`,
      ]);
    } finally {
      server.close();
    }
  });

  it("a read is asked again after REQUEST_TIMED_OUT (the leader it was passed on to is gone); a write is not", async () => {
    const port = await freeBasePort(1);
    const timedOut: NodeResponse = {
      _tag: "AdminResponse",
      errorCode: "REQUEST_TIMED_OUT",
      errorMessage: "node 1 did not answer",
      body: null,
    };
    const requests: string[] = [];
    const server = await fakeKafkaServer(port, "CONTROLLER", (request) => {
      requests.push(request._tag);
      return requests.length < 2
        ? timedOut
        : request._tag === "CreateTopicsRequest"
          ? timedOut
          : quorum("NONE", 3);
    });
    try {
      const read = io();
      expect(
        await runQuorum(["describe", "--bootstrap-server", `127.0.0.1:${port}`, "--json"], read.io),
      ).toBe(0);
      expect(JSON.parse(read.out[0]!)).toMatchObject({ leaderId: 3 });
      expect(read.err).toEqual([
        `127.0.0.1:${port} answered REQUEST_TIMED_OUT; asking again for up to 10000 ms (--timeout)`,
      ]);
      // A CreateTopics that timed out may still commit: it is not sent again, the operator is told.
      const write = io();
      expect(
        await runTopics(["create", "--topic", "orders", "--bootstrap-server", `127.0.0.1:${port}`], write.io),
      ).toBe(1);
      expect(requests).toEqual([
        "DescribeQuorumAdminRequest",
        "DescribeQuorumAdminRequest",
        "CreateTopicsRequest",
      ]);
      expect(write.err).toEqual(["kraft topics create: REQUEST_TIMED_OUT: node 1 did not answer"]);
    } finally {
      server.close();
    }
  });

  it("fails at once when nothing answers: that is no election", async () => {
    const port = await freeBasePort(1);
    const started = Date.now();
    const failure = await runQuorum(
      ["describe", "--bootstrap-server", `127.0.0.1:${port}`, "--timeout", "60000"],
      io().io,
    ).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(AdminFailure);
    expect((failure as AdminFailure).message).toMatch(/could not connect/);
    expect(Date.now() - started).toBeLessThan(30_000);
  });
});
