// A Raft trace as openkraft.trace.file records it (one NDJSON file per node), made by the spec's
// simulated cluster instead of real processes: three voters start and follow the fault-free fair
// schedule (an election with pre-votes, then fetches). For tests of `kraft conformance check-trace`.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { fairStep, startClocks } from "../../spec/cluster/actions.ts";
import { DEFAULT_CLUSTER, initialWorld, nodeConfig } from "../../spec/cluster/world.ts";

/** Write `node-N.trace` for each node into `dir` after `steps` fair steps; returns the file paths. */
export const writeRecordedTrace = (dir: string, steps: number): string[] => {
  const cluster = DEFAULT_CLUSTER;
  const start = initialWorld(cluster);
  const files = new Map<number, string[]>();
  const record = (node: number, line: object): void => {
    files.set(node, [...(files.get(node) ?? []), JSON.stringify(line)]);
  };
  let time = 1_000;
  for (const s of start.steps) {
    record(s.node, {
      time,
      node: s.node,
      layer: "raft",
      input: { _tag: "Start" },
      config: nodeConfig(cluster, s.node),
      storage: {
        quorumState: s.storage?.quorumState ?? null,
        log: s.storage?.log,
        recovering: s.storage?.recovering ?? false,
      },
      effects: s.effects,
    });
  }
  let timed = startClocks(start.world, cluster);
  for (let i = 0; i < steps; i++) {
    const taken = fairStep(timed, cluster, "healed");
    if (taken === null) break;
    time += taken.elapsedMs;
    for (const s of taken.outcome.steps)
      record(s.node, { time, node: s.node, layer: "raft", input: s.input, effects: s.effects });
    timed = taken.timed;
  }
  return [...files].map(([node, lines]) => {
    const path = join(dir, `node-${node}.trace`);
    writeFileSync(path, `${lines.join("\n")}\n`);
    return path;
  });
};
