// A search worker thread (search-pool.ts): rebuilds the model from its recipe, then expands each job
// it is sent, in order, answering each on its port and bumping the shared counter the search waits on.

import { workerData } from "node:worker_threads";
import { Expander, type ExpandJob, FingerprintFilter } from "./expand.ts";
import type { Model } from "./model.ts";
import type { WorkerAnswer, WorkerSetup } from "./search-pool.ts";

const setup = workerData as WorkerSetup;
const signal = new Int32Array(setup.signal);

const answer = (message: WorkerAnswer, transfer: ArrayBuffer[] = []): void => {
  setup.port.postMessage(message, transfer);
  Atomics.add(signal, 0, 1);
  Atomics.notify(signal, 0);
};

const describe = (error: unknown): string =>
  error instanceof Error ? (error.stack ?? error.message) : String(error);

try {
  const module = (await import(setup.recipe.module)) as Record<string, unknown>;
  const factory = module[setup.recipe.factory];
  if (typeof factory !== "function")
    throw new Error(`${setup.recipe.module} exports no function ${setup.recipe.factory}`);
  const model = (factory as (argument: unknown) => Model<unknown>)(setup.recipe.argument);
  const visited = new FingerprintFilter(new Int32Array(setup.visited));
  const expander = new Expander(model, setup.livenessBound, undefined, visited, setup.liveness);
  setup.port.on("message", (job: ExpandJob) => {
    try {
      const expansion = expander.expand(job);
      answer({ kind: "expansion", expansion }, [
        expansion.parents.buffer as ArrayBuffer,
        expansion.successors.buffer as ArrayBuffer,
        expansion.wordEnds.buffer as ArrayBuffer,
        expansion.words.buffer as ArrayBuffer,
      ]);
    } catch (error) {
      answer({ kind: "error", message: describe(error) });
    }
  });
  answer({ kind: "ready" });
} catch (error) {
  answer({ kind: "error", message: describe(error) });
}
