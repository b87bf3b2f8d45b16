// Random walks over a simulated cluster, driven by a list of choices so that fast-check can shrink
// a failing schedule to a short one.
import {
  type Action,
  applyAction,
  type Bounds,
  describeAction,
  enabledActions,
  withinBounds,
} from "../cluster/actions.ts";
import { type ClusterSpec, initialWorld, type World } from "../cluster/world.ts";
import { firstViolation } from "../invariants/cluster.ts";

export interface WalkResult {
  readonly world: World;
  readonly trace: readonly string[];
  readonly violation: string | null;
  readonly worlds: readonly World[];
}

/** Take one enabled action per choice (choice modulo the number enabled) until a property breaks. */
export const walk = (
  cluster: ClusterSpec,
  bounds: Bounds,
  choices: readonly number[],
  keepWorlds = false,
  /** How many times more likely a delivery or flush is than any other action. */
  progressWeight = 6,
): WalkResult => {
  let world = initialWorld(cluster).world;
  const trace: string[] = [];
  const worlds: World[] = [];
  let violation = firstViolation(world, cluster.voters);
  for (const choice of choices) {
    if (violation !== null) break;
    const enabled: Action[] = enabledActions(world, bounds);
    if (enabled.length === 0) break;
    const actions: Action[] = [];
    for (const action of enabled) {
      const weight = action.kind === "deliver" || action.kind === "flush" ? progressWeight : 1;
      for (let i = 0; i < weight; i++) actions.push(action);
    }
    const action = actions[choice % actions.length]!;
    const next = applyAction(world, cluster, action).world;
    if (!withinBounds(next, bounds)) continue;
    trace.push(describeAction(world, action));
    world = next;
    if (keepWorlds) worlds.push(world);
    violation = firstViolation(world, cluster.voters);
  }
  return { world, trace, violation, worlds };
};
