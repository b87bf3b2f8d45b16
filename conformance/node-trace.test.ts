// The node trace replay: every whole-node step of random metadata-world runs with faults (the same
// spec/node the runtime runs, stepped by the checker's world) is explained when replayed through
// spec/node from the trace alone, and an altered or missing step is caught at its line. A real
// cluster's trace is replayed in conformance.test.ts (kraft conformance check-trace).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  applyMetaAction,
  DEFAULT_META_BOUNDS,
  enabledMetaActions,
  type MetaBounds,
  withinMetaBounds,
} from "../spec/cluster/metadata-actions.ts";
import {
  DEFAULT_METADATA_CLUSTER,
  initialMetadataWorld,
  type MetadataClusterSpec,
  type NodeStepRecord,
} from "../spec/cluster/metadata-world.ts";
import { replayNodeTrace } from "./node-trace.ts";
import type { TraceLine } from "./trace.ts";

const SPEC: MetadataClusterSpec = { ...DEFAULT_METADATA_CLUSTER, brokers: 2 };
const BOUNDS: MetaBounds = {
  ...DEFAULT_META_BOUNDS,
  maxEpoch: 4,
  maxLogLength: 40,
  maxControllerCrashes: 1,
  maxBrokerCrashes: 2,
  maxSessionExpiries: 1,
  maxDelays: 1,
  maxControlledShutdowns: 1,
  maxForgedFrames: 1,
  raftLoss: true,
  metaLoss: true,
};

/** The node steps of a run that takes the `choices`-th enabled action at each step. */
const runSteps = (choices: readonly number[]): NodeStepRecord[] => {
  const initial = initialMetadataWorld(SPEC);
  let world = initial.world;
  const steps: NodeStepRecord[] = [...(initial.nodeSteps ?? [])];
  for (const choice of choices) {
    const candidates = enabledMetaActions(world, SPEC, BOUNDS)
      .map((action) => applyMetaAction(world, SPEC, BOUNDS, action))
      .filter((o) => withinMetaBounds(o.world, BOUNDS));
    if (candidates.length === 0) break;
    const outcome = candidates[choice % candidates.length]!;
    world = outcome.world;
    steps.push(...(outcome.nodeSteps ?? []));
  }
  return steps;
};

/** The trace the runtime would write: a start carries its stored records only at a node's first start. */
const traceOf = (steps: readonly NodeStepRecord[]): TraceLine[] => {
  const started = new Set<number>();
  return steps.map((s, i) => {
    const line =
      "start" in s
        ? {
            node: s.node,
            layer: "node",
            input: { _tag: "Start" },
            config: s.start.config,
            storage: { ...s.start.storage, quorumState: s.start.storage.quorumState ?? null },
            ...(started.has(s.node)
              ? {}
              : { records: s.start.log.records(0, s.start.storage.log.endOffset) }),
            effects: s.effects,
          }
        : { node: s.node, layer: "node", input: s.input, effects: s.effects };
    started.add(s.node);
    return { text: JSON.stringify(line), where: `walk:${i + 1}` };
  });
};

describe("node trace replay", () => {
  it("explains every whole-node step of random metadata-world runs with every kind of fault", () => {
    fc.assert(
      fc.property(fc.array(fc.nat(), { minLength: 20, maxLength: 120 }), (choices) => {
        const steps = runSteps(choices);
        const verdict = replayNodeTrace(traceOf(steps));
        expect(verdict).toEqual({
          ok: true,
          nodes: SPEC.controllers + SPEC.brokers,
          steps: steps.filter((s) => !("start" in s)).length,
          lifetimes: steps.filter((s) => "start" in s).length,
        });
      }),
      { numRuns: 100, seed: 20261202 },
    );
  });

  it("catches an altered effect and a missing step at their lines", () => {
    const steps = runSteps(Array.from({ length: 60 }, (_, i) => (i * 7) % 5));
    const lines = traceOf(steps);
    const at = lines.findIndex((l) => l.text.includes('"_tag":"SetTimer"') && !l.text.includes('"Start"'));
    expect(at).toBeGreaterThan(0);
    const altered = lines.map((l, i) =>
      i === at
        ? { ...l, text: l.text.replace(/"delayMs":(\d+)/, (_m, d: string) => `"delayMs":${Number(d) + 1}`) }
        : l,
    );
    const verdict = replayNodeTrace(altered);
    expect(verdict.ok).toBe(false);
    if (!verdict.ok) {
      expect(verdict.where).toBe(`walk:${at + 1}`);
      expect(verdict.problem).toMatch(/^effect \d+ is not what spec\/node does with this input$/);
    }

    // A node step the trace lost: a later step of that node cannot be explained.
    const dropAt = lines.findIndex(
      (l, i) => i > 10 && l.text.includes('"PersistElectionState"') && !l.text.includes('"Start"'),
    );
    expect(dropAt).toBeGreaterThan(0);
    const missing = replayNodeTrace(lines.filter((_, i) => i !== dropAt));
    expect(missing.ok).toBe(false);
  });
});
