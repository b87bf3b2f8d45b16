// The metadata transcript engine's commands as an author meets them: what each prints, and the
// messages for commands that cannot run.
import { describe, expect, it } from "vitest";
import { parseTranscript, runMetadataTranscript } from "./metadata-scenario.ts";

const run = (...commands: string[]): string[][] =>
  runMetadataTranscript(parseTranscript(commands.map((c) => `> ${c}`).join("\n")));

const last = (...commands: string[]): string[] => {
  const outputs = run(...commands);
  return outputs[outputs.length - 1]!;
};

describe("metadata transcript commands", () => {
  it("refuses what cannot be done, saying why", () => {
    const setup = ["cluster controllers=3 brokers=1", "elect 1", "heartbeat", "heartbeat"];
    expect(last(...setup, "timeout 4 election")).toEqual(["!! raft timer election is not armed on node 4"]);
    expect(last(...setup, "expire 1 9")).toEqual(["!! controller 1 has no session timer for broker 9"]);
    expect(last(...setup, "idle 2")).toEqual(["!! controller 2 has no idle timer armed"]);
    expect(last(...setup, "deliver-meta 4->1")).toEqual(["!! no metadata message 4->1 in flight"]);
    expect(last(...setup, "heartbeat 1")).toEqual(["!! node 1 runs no broker"]);
    expect(last(...setup, "shutdown-broker 2")).toEqual(["!! node 2 runs no broker"]);
    expect(last(...setup, "isr 1 t:0 join 4")).toEqual(["!! node 1 runs no broker"]);
    expect(last(...setup, "isr 4 nosuch:0 join 5")).toEqual(["!! broker 4 does not know topic nosuch"]);
    expect(last(...setup, "restart 2")).toEqual(["!! node 2 is running"]);
    expect(last(...setup, "crash 2", "crash 2")).toEqual(["!! node 2 is already down"]);
    expect(last(...setup, "crash 2", "image 2")).toEqual(["!! node 2 is down"]);
    expect(last(...setup, "crash 2", "elect 2")).toEqual(["!! node 2 has no election or fetch timer armed"]);
    expect(() => run("cluster voters=3")).toThrow(
      /unknown cluster option "voters=3" \(controllers=N brokers=N noop=on\|off\)/,
    );
    expect(() => run("cluster", "state 9")).toThrow(/unknown command "state"/);
    expect(() => run("cluster", "crash 9")).toThrow(/no node "9": controllers are 1\.\.3, brokers 4\.\.6/);
    expect(() => run("cluster", "admin shrink-topic t")).toThrow(/unknown admin operation "shrink-topic"/);
    expect(() => run("cluster", "inject 1 nonsense {}")).toThrow(/inject C FROM#CORRELATION JSON/);
    expect(() =>
      run(
        "cluster",
        'inject 1 4#1 {"_tag":"AlterPartitionRequest","brokerId":4,"brokerEpoch":1,"topics":[{"topicId":"topic:t","partitions":[]}]}',
      ),
    ).toThrow(/no topic t on an active controller/);
  });

  it("shows the network, status, idle writes and partitions", () => {
    const outputs = run(
      "cluster controllers=1 brokers=1 noop=on",
      "elect 1",
      "heartbeat",
      "network",
      "idle 1",
      "network",
      "partition 1 | 2",
      "sync",
      "heal",
      "status",
      "admin describe-config broker:2",
      "admin create-partitions nosuch count=2",
      "admin alter-config broker: log.cleaner.threads=",
      "stabilize",
      "drop-meta 2->1",
    );
    expect(outputs[3]).toEqual([]);
    expect(outputs[4]).toEqual(expect.arrayContaining(["  Propose e1 @2", "    2 NoOpRecord{}"]));
    expect(outputs[5]!.some((l) => l.startsWith("raft 1->2 FetchResponse") || l.startsWith("raft "))).toBe(
      true,
    );
    expect(outputs[9]).toEqual([
      expect.stringMatching(/^n1 controller active e1/),
      expect.stringMatching(/^n2 broker /),
    ]);
    expect(outputs[13]!.join("\n")).toMatch(/UNKNOWN_TOPIC_OR_PARTITION/);
    expect(outputs[14]).toEqual(["!! no metadata message 2->1 in flight"]);
  });
});
