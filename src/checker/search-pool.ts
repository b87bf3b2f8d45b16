// Worker threads that expand states for a breadth-first search (expand.ts), driven synchronously: the
// search stays a plain function, and waits for a worker's answer with Atomics.wait on a counter the
// worker bumps after posting, then takes the message with receiveMessageOnPort (no event loop turn).

import { MessageChannel, type MessagePort, receiveMessageOnPort, Worker } from "node:worker_threads";
import type { ExpandJob, Expansion } from "./expand.ts";
import type { ModelRecipe } from "./recipe.ts";

/** What a worker is started with. */
export interface WorkerSetup {
  readonly recipe: ModelRecipe;
  readonly livenessBound: number;
  readonly port: MessagePort;
  readonly signal: SharedArrayBuffer;
  /** The search's filter of visited fingerprints (expand.ts), written by the search thread. */
  readonly visited: SharedArrayBuffer;
  /** The settle times every thread's fair schedules found, one table per schedule (liveness.ts). */
  readonly liveness: readonly SharedArrayBuffer[];
}

/** What a worker answers: ready, an expansion, or what went wrong. */
export type WorkerAnswer =
  | { readonly kind: "ready" }
  | { readonly kind: "expansion"; readonly expansion: Expansion }
  | { readonly kind: "error"; readonly message: string };

/**
 * How long a worker may take to start or to answer before the search gives up on it: generous, since
 * a loaded machine and a liveness walk of thousands of steps are both slow, but a worker that died
 * without a word (its error goes to an event loop this thread does not turn) must not hang the search.
 */
const ANSWER_TIMEOUT_MS = 600_000;

const workerUrl = new URL(
  import.meta.url.endsWith(".js") ? "./search-worker.js" : "./search-worker.ts",
  import.meta.url,
);

class SearchWorker {
  private readonly worker: Worker;
  private readonly port: MessagePort;
  private readonly signal: Int32Array;

  constructor(
    recipe: ModelRecipe,
    livenessBound: number,
    visited: SharedArrayBuffer,
    liveness: readonly SharedArrayBuffer[],
  ) {
    const { port1, port2 } = new MessageChannel();
    const signal = new SharedArrayBuffer(4);
    this.signal = new Int32Array(signal);
    this.port = port1;
    const setup: WorkerSetup = { recipe, livenessBound, port: port2, signal, visited, liveness };
    // The parent's --conditions/--import flags apply; its --eval or --input-type would not.
    this.worker = new Worker(workerUrl, {
      workerData: setup,
      transferList: [port2],
      execArgv: process.execArgv.filter((a) => !a.startsWith("--input-type") && a !== "-e"),
    });
    this.worker.unref();
  }

  send(job: ExpandJob): void {
    // Both arrays were made for this job (slices): nothing else holds their buffers.
    this.port.postMessage(job, [job.words.buffer as ArrayBuffer, job.ends.buffer as ArrayBuffer]);
  }

  /** The worker's next answer, waiting for it. */
  receive(): WorkerAnswer {
    const deadline = performance.now() + ANSWER_TIMEOUT_MS;
    for (;;) {
      const seen = Atomics.load(this.signal, 0);
      const message = receiveMessageOnPort(this.port);
      if (message !== undefined) return message.message as WorkerAnswer;
      if (performance.now() > deadline)
        throw new Error(
          `a search worker gave no answer for ${ANSWER_TIMEOUT_MS / 1000} s (it may have crashed); run again with --workers 1`,
        );
      Atomics.wait(this.signal, 0, seen, 1000);
    }
  }

  close(): void {
    this.port.close();
    void this.worker.terminate();
  }
}

/** A fixed set of workers, each answering its jobs in the order it was given them. */
export class SearchPool {
  private readonly workers: SearchWorker[] = [];

  /** Start `count` workers for the model `recipe` builds; throws if one cannot start. */
  constructor(
    count: number,
    recipe: ModelRecipe,
    livenessBound: number,
    visited: SharedArrayBuffer,
    liveness: readonly SharedArrayBuffer[],
  ) {
    try {
      for (let i = 0; i < count; i++)
        this.workers.push(new SearchWorker(recipe, livenessBound, visited, liveness));
      for (const worker of this.workers) {
        const answer = worker.receive();
        if (answer.kind === "error") throw new Error(`a search worker could not start: ${answer.message}`);
      }
    } catch (error) {
      this.close();
      throw error;
    }
  }

  get size(): number {
    return this.workers.length;
  }

  send(worker: number, job: ExpandJob): void {
    this.workers[worker]!.send(job);
  }

  receive(worker: number): Expansion {
    const answer = this.workers[worker]!.receive();
    if (answer.kind === "expansion") return answer.expansion;
    throw new Error(`a search worker failed: ${answer.kind === "error" ? answer.message : "no expansion"}`);
  }

  close(): void {
    for (const worker of this.workers) worker.close();
  }
}
