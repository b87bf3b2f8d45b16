// A counterexample written as a scenario transcript must replay: parsed and run again, it gives the
// same text, and it shows the state that broke the property. The properties here are probes that
// the correct spec breaks on purpose, so that the test needs no seeded bug.
import { describe, expect, it } from "vitest";
import { DEFAULT_BOUNDS } from "../../spec/cluster/actions.ts";
import { parseTranscript, renderTranscript, runTranscript } from "../../spec/cluster/scenario.ts";
import { DEFAULT_CLUSTER, type World } from "../../spec/cluster/world.ts";
import { search } from "./engine.ts";
import type { Model } from "./model.ts";
import { raftModel } from "./raft-model.ts";
import { counterexampleTranscript } from "./transcript.ts";

const cluster = DEFAULT_CLUSTER;
const setup = { cluster, start: "fresh" as const, commandLine: "kraft check (test)", rules: "R1 R2" };

const probed = (model: Model<World>, probe: Model<World>["properties"][number]): Model<World> => ({
  ...model,
  properties: [probe],
});

const replays = (transcript: string): void => {
  const parsed = parseTranscript(transcript);
  expect(renderTranscript(parsed, runTranscript(parsed))).toBe(transcript);
};

describe("counterexample transcripts", () => {
  it("turn a shortest safety counterexample into commands that replay it", () => {
    const base = raftModel({ cluster, bounds: { ...DEFAULT_BOUNDS, maxCrashes: 0 }, symmetry: true });
    const model = probed(base, {
      kind: "always",
      name: "NoValueCommitted",
      rules: "R1",
      check: (w) =>
        w.nodes.some((n) => n.state !== null && n.state.highWatermark >= 2) ? "a value committed" : null,
    });
    const result = search(model, { mode: "bfs", maxSeconds: 60 });
    expect(result.result).toBe("violation");
    const transcript = counterexampleTranscript(result, setup);
    expect(transcript).not.toBeNull();
    const text = transcript ?? "";
    expect(text.split("\n").slice(0, 3)).toEqual([
      "# kraft check counterexample: NoValueCommitted (R1 R2).",
      "# a value committed",
      "# Found by: kraft check (test)",
    ]);
    expect(text).toContain("> cluster voters=3 observers=0 prevote=on checkquorum=on\n");
    // One command per step of the trace, then the disks, the states and the invariants.
    const commands = text.split("\n").filter((l) => l.startsWith("> "));
    expect(commands.length).toBe(1 + (result.trace?.length ?? 0) - 1 + 3);
    expect(commands.slice(-3)).toEqual(["> disk", "> state", "> check"]);
    expect(text).toMatch(/= Leader e\d+ .*hw=2/);
    replays(text);
  });

  it("mark where the fair schedule of a liveness counterexample starts", () => {
    const base = raftModel({ cluster, bounds: { ...DEFAULT_BOUNDS, maxCrashes: 0 }, symmetry: true });
    const model = probed(base, {
      kind: "eventually",
      name: "EventuallyEpochFive",
      rules: "R137",
      suffix: "healed",
      goal: (w) => (w.nodes.some((n) => n.state !== null && n.state.epoch >= 5) ? null : "epoch below 5"),
    });
    const result = search(model, { mode: "bfs", maxSeconds: 60, livenessBound: 5_000 });
    expect(result.result).toBe("violation");
    expect(result.property).toBe("EventuallyEpochFive");
    const text = counterexampleTranscript(result, { ...setup, fairness: "messages first" }) ?? "";
    expect(text).toContain("# From here on, no more faults: the fair schedule the liveness check follows");
    expect(text).toMatch(/# \d+ ms pass \(\d+ ms since the last fault\)\n> timeout \d \w+/);
    replays(text);
  });

  it("start a committed-start counterexample from the committed cluster", () => {
    const base = raftModel({
      cluster,
      bounds: { ...DEFAULT_BOUNDS, maxCrashes: 0 },
      symmetry: true,
      start: "committed",
    });
    const model = probed(base, {
      kind: "always",
      name: "NoSecondValue",
      rules: "R1",
      check: (w) => (w.nodes.some((n) => n.entries.length >= 3) ? "a second value appended" : null),
    });
    const result = search(model, { mode: "bfs", maxSeconds: 60 });
    expect(result.result).toBe("violation");
    const text = counterexampleTranscript(result, { ...setup, start: "committed" }) ?? "";
    expect(text).toContain("> cluster voters=3 observers=0 prevote=on checkquorum=on start=committed\n");
    // No Start lines: the cluster is already running, node 1 leading with the value committed.
    expect(text).toMatch(/start=committed\nn1 Leader e1 start=0 hw=2 .*\nn2 Follower e1 leader=1/);
    replays(text);
  });
});
