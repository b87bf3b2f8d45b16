// Models for the engine's tests that worker threads can rebuild (each has a recipe): small searches
// whose outcome the tests compare across thread counts.
import type { World } from "../../spec/cluster/world.ts";
import type { Model } from "./model.ts";
import { type RaftModelOptions, raftModel } from "./raft-model.ts";
import { withRecipe } from "./recipe.ts";
import type { WordWriter } from "./words.ts";

type Pair = readonly [number, number];

const encodePair = ([a, b]: Pair, w: WordWriter): void => {
  w.push(a);
  w.push(b);
};

/** Two counters from 0, each step incrementing one of them up to `top` (the event 1 marks a step). */
const twoCounters = (top: number) =>
  ({
    initialStates: () => [[0, 0]],
    actionCount: () => 2,
    step: ([a, b], action) => {
      if (action === 0) return a < top ? { state: [a + 1, b], events: 1 } : null;
      return b < top ? { state: [a, b + 1], events: 1 } : null;
    },
    encode: encodePair,
    decode: (words, start) => [words[start]!, words[start + 1]!],
    describeAction: (_, action) => (action === 0 ? "increment a" : "increment b"),
    describeState: ([a, b]) => [`a=${a} b=${b}`],
  }) satisfies Partial<Model<Pair>>;

/**
 * Two counters, each step increments one of them (both bounded by `limit`). "Their sum stays below
 * `bad`" breaks first at depth `bad`; "both reach limit" is a sometimes-property.
 */
export const countersModel = ({ limit, bad }: { limit: number; bad: number }): Model<Pair> =>
  withRecipe(
    {
      name: "counters",
      properties: [
        {
          kind: "always",
          name: "SumBelow",
          rules: "-",
          check: ([a, b]) => (a + b >= bad ? `sum ${a + b}` : null),
        },
        { kind: "sometimes", name: "BothFull", rules: "-", holds: ([a, b]) => a === limit && b === limit },
        { kind: "sometimes", name: "Stepped", rules: "-", event: 1 },
      ],
      ...twoCounters(limit),
    },
    { module: import.meta.url, factory: "countersModel", argument: { limit, bad } },
  );

/**
 * Two counters below `limit`, each step increments one; "not both at limit - 1" breaks only in the far
 * corner, 2 * (limit - 1) steps deep, after about limit² states. From the diagonal the fair schedule
 * increments both at once (elsewhere nothing happens), so from the very first state it breaks the
 * property in limit - 1 steps: a counterexample long before the search's own, which the search must
 * keep rather than search the whole square.
 */
export const cornerModel = ({ limit }: { limit: number }): Model<Pair> =>
  withRecipe(
    {
      name: "corner",
      properties: [
        {
          kind: "always",
          name: "NotInCorner",
          rules: "-",
          check: ([a, b]) => (a === limit - 1 && b === limit - 1 ? "in the corner" : null),
        },
        { kind: "eventually", name: "EventuallyAnything", rules: "-", suffix: "healed", goal: () => null },
      ],
      ...twoCounters(limit - 1),
      liveness: {
        fairness: "both counters go up together",
        start: (state) => ({ state, timers: [] }),
        next: ({ state: [a, b] }) =>
          a === b && a < limit - 1
            ? {
                timed: { state: [a + 1, b + 1], timers: [] },
                elapsedMs: 1,
                action: "increment both",
              }
            : null,
        encode: ({ state }, w) => encodePair(state, w),
      },
    },
    { module: import.meta.url, factory: "cornerModel", argument: { limit } },
  );

/**
 * The Raft model with one more property that a correct cluster breaks: "nothing is ever committed"
 * (safety) or "eventually more than one node leads at once" (liveness, never reached).
 */
export const raftModelBroken = (options: {
  readonly raft: RaftModelOptions;
  readonly broken: "safety" | "liveness";
}): Model<World> => {
  const base = raftModel(options.raft);
  const extra: Model<World>["properties"][number] =
    options.broken === "safety"
      ? {
          kind: "always",
          name: "NothingCommitted",
          rules: "-",
          check: (w) => (w.committed.length > 0 ? `${w.committed.length} committed` : null),
        }
      : {
          kind: "eventually",
          name: "EventuallyNever",
          rules: "-",
          suffix: "healed",
          goal: () => "a goal no state meets",
        };
  return withRecipe(
    { ...base, properties: [...base.properties, extra] },
    { module: import.meta.url, factory: "raftModelBroken", argument: options },
  );
};
