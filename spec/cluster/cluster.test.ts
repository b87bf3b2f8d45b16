// The simulator's own behaviour: action enumeration under each network and fault setting, bounds,
// and clear errors from the transcript engine on bad scripts.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  applyAction,
  commandOf,
  DEFAULT_BOUNDS,
  describeAction,
  enabledActions,
  withinBounds,
} from "./actions.ts";
import { formatState } from "./format.ts";
import { parseTranscript, renderTranscript, runTranscript } from "./scenario.ts";
import {
  committedStart,
  DEFAULT_CLUSTER,
  entryEpoch,
  entryValue,
  fireTimer,
  initialWorld,
  type World,
} from "./world.ts";

const electing = (): World =>
  fireTimer(initialWorld(DEFAULT_CLUSTER).world, DEFAULT_CLUSTER, 0, "election").world;

describe("actions", () => {
  it("offers every in-flight message in an unordered network, and only link heads in an ordered one", () => {
    const base = electing();
    const world = { ...base, network: [...base.network, base.network[0]!] };
    const unordered = enabledActions(world, { ...DEFAULT_BOUNDS, loss: false });
    expect(unordered.filter((a) => a.kind === "deliver")).toHaveLength(3);
    const ordered = enabledActions(world, { ...DEFAULT_BOUNDS, loss: false, network: "ordered" });
    expect(
      ordered.filter((a) => a.kind === "deliver").map((a) => (a.kind === "deliver" ? a.position : -1)),
    ).toEqual([0, 1]);
  });

  it("offers loss, duplication and crashes only while their bounds and switches allow", () => {
    const world = electing();
    const kinds = (bounds = DEFAULT_BOUNDS) => new Set(enabledActions(world, bounds).map((a) => a.kind));
    // Client writes go to every node in every role (R87), here to nodes with no leader at all.
    expect(kinds({ ...DEFAULT_BOUNDS, maxDuplicates: 1 })).toEqual(
      new Set(["deliver", "drop", "duplicate", "timer", "append", "crash"]),
    );
    expect(kinds({ ...DEFAULT_BOUNDS, disabledFaults: ["loss", "crash"] })).toEqual(
      new Set(["deliver", "timer", "append"]),
    );
    expect(kinds({ ...DEFAULT_BOUNDS, maxCrashes: 0, loss: false, maxValues: 0 })).toEqual(
      new Set(["deliver", "timer"]),
    );
  });

  it("offers a client write to every running node, whatever its role", () => {
    const world = electing();
    const appends = enabledActions(world, DEFAULT_BOUNDS).filter((a) => a.kind === "append");
    expect(appends.map((a) => (a.kind === "append" ? a.node : -1))).toEqual([0, 1, 2]);
    const refused = applyAction(world, DEFAULT_CLUSTER, appends[1]!);
    expect(refused.steps[0]?.effects).toEqual([
      { _tag: "ClientRejected", operation: "append", errorCode: "NOT_LEADER_OR_FOLLOWER" },
    ]);
    expect(refused.world.valuesAppended).toBe(0);
    expect(refused.world.nodes[1]!.entries).toEqual([]);
  });

  it("applies and names each kind of action", () => {
    let world = electing();
    const crash = enabledActions(world, DEFAULT_BOUNDS).find((a) => a.kind === "crash")!;
    expect(describeAction(world, crash)).toBe("crash 1");
    world = applyAction(world, DEFAULT_CLUSTER, crash).world;
    expect(world.nodes[0]!.state).toBeNull();
    expect(world.network.every((e) => e.to !== 1)).toBe(true);
    const restart = enabledActions(world, DEFAULT_BOUNDS).find((a) => a.kind === "restart")!;
    expect(describeAction(world, restart)).toBe("restart 1");
    world = applyAction(world, DEFAULT_CLUSTER, restart).world;
    expect(world.nodes[0]!.state?.role._tag).toBe("Unattached");
    const dup = { kind: "duplicate" as const, position: 0 };
    expect(describeAction(world, dup)).toMatch(/^duplicate 1->2 VoteRequest/);
    const duplicated = applyAction(world, DEFAULT_CLUSTER, dup);
    expect(duplicated.world.network[0]).toBe(world.network[0]);
    expect(duplicated.world.duplicates).toBe(1);
    expect(duplicated.steps[0]?.input._tag).toBe("Received");
    expect(describeAction(world, { kind: "timer", node: 1, timer: "election" })).toBe("timeout 2 election");
  });

  it("treats an epoch above the bound as outside the explored space", () => {
    const world = electing();
    expect(withinBounds(world, DEFAULT_BOUNDS)).toBe(true);
    expect(withinBounds(world, { ...DEFAULT_BOUNDS, maxEpoch: -1 })).toBe(false);
  });
});

describe("transcript engine", () => {
  const run = (script: string) => runTranscript(parseTranscript(script));

  it("round-trips a transcript with comments", () => {
    const text = "# a comment\n> cluster voters=1\nn1 Start\n\n> check\nok\n\n# trailing\n";
    const transcript = parseTranscript(text);
    expect(transcript.blocks.map((b) => b.command)).toEqual(["cluster voters=1", "check"]);
    expect(renderTranscript(transcript, [["n1 Start"], ["ok"]])).toBe(text);
  });

  it("rejects bad scripts with a message naming the problem", () => {
    expect(() => parseTranscript("stray output\n> check\n")).toThrow(/output line before any command/);
    expect(() => run("> frobnicate\n")).toThrow(/unknown command "frobnicate"/);
    expect(() => run("> cluster voters=0\n")).toThrow(/voters must be a positive integer/);
    expect(() => run("> cluster prevote=maybe\n")).toThrow(/prevote must be on or off/);
    expect(() => run("> cluster colour=blue\n")).toThrow(/unknown cluster option "colour=blue"/);
    expect(() => run("> timeout 9 election\n")).toThrow(/no node "9": nodes are 1..3/);
    expect(() => run("> timeout 1 lunch\n")).toThrow(/unknown timer "lunch"/);
    expect(() => run("> request-timeout 1 2 Gossip\n")).toThrow(
      /API is one of Vote, BeginQuorumEpoch, .*UpdateRaftVoter/,
    );
    expect(() => run("> inject 1-2 {}\n")).toThrow(/inject needs FROM->TO/);
  });

  it("reports impossible steps in the transcript instead of failing", () => {
    const outputs = run(
      "> cluster voters=3\n> timeout 1 fetch\n> deliver 1->2\n> drop-all Fetch\n> lose Fetch\n> crash 2\n> crash 2\n> restart 1\n> resign 2\n> shutdown 2\n> quorum-state 1 {}\n> request-timeout 1 2 Vote\n",
    );
    expect(outputs.slice(1)).toEqual([
      ["!! timer fetch is not armed on node 1"],
      ['!! no message in flight matches "1->2"'],
      ['!! no message in flight matches "Fetch"'],
      ['!! no message in flight matches "Fetch"'],
      ["n2 crashed: kept 0 of 0 records"],
      ["!! node 2 is already down"],
      ["!! node 1 is running"],
      ["!! node 2 is down"],
      ["!! node 2 is down"],
      ["!! node 1 is running; crash it first"],
      ["!! node 1 has no Vote request in flight to 2"],
    ]);
  });

  it("prints the network, logs and states on request", () => {
    const outputs = run(
      "> cluster voters=2\n> timeout 1 election\n> network\n> log 1\n> state\n> crash 2\n> state 2\n",
    );
    expect(outputs[2]).toEqual(["1->2 VoteRequest"]);
    expect(outputs[3]).toEqual(["n1 []"]);
    expect(outputs[4]?.[0]).toMatch(/^n1 Prospective e0/);
    expect(outputs[6]).toEqual(['n2 down, quorum-state={"epoch":0,"leaderId":-1}']);
  });

  // kraft check writes counterexamples as transcripts (src/checker/transcript.ts): every action the
  // checker takes must replay, as its command, to exactly the same world.
  it("replays every checker action from its command to the same world", () => {
    const bounds = {
      ...DEFAULT_BOUNDS,
      maxEpoch: 3,
      maxValues: 2,
      maxCrashes: 1,
      maxCorruptions: 1,
      maxDuplicates: 1,
    };
    const entries = (w: World, i: number) =>
      w.nodes[i]!.entries.map((e) => `${entryEpoch(e)}:${entryValue(e) === 0 ? "c" : `v${entryValue(e)}`}`);
    fc.assert(
      fc.property(fc.boolean(), fc.array(fc.nat(), { maxLength: 40 }), (committed, choices) => {
        let world = committed ? committedStart(DEFAULT_CLUSTER) : initialWorld(DEFAULT_CLUSTER).world;
        const commands = [`cluster voters=3${committed ? " start=committed" : ""}`];
        for (const choice of choices) {
          const actions = enabledActions(world, bounds);
          if (actions.length === 0) break;
          const action = actions[choice % actions.length]!;
          const next = applyAction(world, DEFAULT_CLUSTER, action).world;
          if (!withinBounds(next, bounds)) continue;
          commands.push(commandOf(world, action));
          world = next;
        }
        const script = [...commands, "state", "log", "network", "disk"].map((c) => `> ${c}\n`).join("");
        const outputs = run(script);
        const [state, log, network] = outputs.slice(-4);
        expect(state).toEqual(
          world.nodes.map((slot, i) =>
            slot.state === null
              ? `n${i + 1} down, quorum-state=${JSON.stringify(slot.persisted)}`
              : `n${i + 1} ${formatState(slot.state)}`,
          ),
        );
        expect(log).toEqual(world.nodes.map((_, i) => `n${i + 1} [${entries(world, i).join(" ")}]`));
        expect(network).toEqual(world.network.map((e) => `${e.from}->${e.to} ${e.message._tag}`));
        for (const output of outputs) for (const line of output) expect(line).not.toMatch(/^!!/);
      }),
      {
        numRuns: 150,
        // A duplicate whose two copies were both answered: the second answer must be named `@2`.
        examples: [[false, [1185940389, 1765949921, 1494028604, 988979898, 1361716069, 0, 1188542722]]],
      },
    );
  });
});
