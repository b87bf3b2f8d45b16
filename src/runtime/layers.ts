// The node's IO services as Effect services, provided by Layers: the live Layer (TCP, the file system,
// Node's timers and crypto) and the simulated one (src/runtime/sim/). A node is a scoped resource built
// from them: a failure at any step of its start releases what was acquired (the directory lock, the
// log's files, bound listeners), and closing the scope stops it. The services are read from the
// context once; the per-message hot path then calls them directly, with no fiber in between.
import * as Context from "effect/Context";
import * as Data from "effect/Data";
import * as Effect from "effect/Effect";
import * as Layer from "effect/Layer";
import type * as Scope from "effect/Scope";
import type { NodeConfig } from "./config.ts";
import { holdDirectoryLock } from "./dir-lock.ts";
import type { Log } from "./log.ts";
import { KraftNode } from "./node.ts";
import {
  type Clock,
  type Disk,
  type Entropy,
  liveClock,
  liveEntropy,
  type Network,
  type NodeServices,
} from "./services.ts";
import { liveDisk } from "./storage.ts";
import { liveNetwork } from "./transport.ts";

export class ClockService extends Context.Service<ClockService, Clock>()("openkraft/Clock") {}
export class EntropyService extends Context.Service<EntropyService, Entropy>()("openkraft/Entropy") {}
export class DiskService extends Context.Service<DiskService, Disk>()("openkraft/Disk") {}
export class NetworkService extends Context.Service<NetworkService, Network>()("openkraft/Network") {}
export class LogService extends Context.Service<LogService, Log>()("openkraft/Log") {}
/** Whether the node may open process-wide things: an HTTP metrics port, a trace file. */
export class ProcessLocalService extends Context.Service<ProcessLocalService, boolean>()(
  "openkraft/ProcessLocal",
) {}

export type NodeServiceKeys =
  | ClockService
  | EntropyService
  | DiskService
  | NetworkService
  | LogService
  | ProcessLocalService;

/** The services as one Layer, from resolved implementations (live or simulated). */
export const servicesLayer = (services: NodeServices): Layer.Layer<NodeServiceKeys> =>
  Layer.mergeAll(
    Layer.succeed(ClockService, services.clock),
    Layer.succeed(EntropyService, services.entropy),
    Layer.succeed(DiskService, services.disk),
    Layer.succeed(NetworkService, services.network),
    Layer.succeed(LogService, services.log),
    Layer.succeed(ProcessLocalService, services.processLocal),
  );

/** The live services: real time, real randomness, the file system, TCP. */
export const liveServices = (log: Log): NodeServices => ({
  clock: liveClock,
  entropy: liveEntropy,
  disk: liveDisk,
  network: liveNetwork,
  log,
  processLocal: true,
});

export const liveLayer = (log: Log): Layer.Layer<NodeServiceKeys> => servicesLayer(liveServices(log));

/** The services read from the context, once. */
export const nodeServices: Effect.Effect<NodeServices, never, NodeServiceKeys> = Effect.gen(function* () {
  return {
    clock: yield* ClockService,
    entropy: yield* EntropyService,
    disk: yield* DiskService,
    network: yield* NetworkService,
    log: yield* LogService,
    processLocal: yield* ProcessLocalService,
  };
});

/** Why a node could not start: one line naming the cause. */
export class NodeStartError extends Data.TaggedError("NodeStartError")<{ readonly message: string }> {}

const startError = (error: unknown): NodeStartError =>
  new NodeStartError({ message: error instanceof Error ? error.message : String(error) });

/**
 * A started node as a scoped resource: opened (lock, log, quorum-state), then started (listeners,
 * timers, dials). If the start fails, the scope's release closes what the open acquired; closing the
 * scope later closes the node.
 */
export const kraftNode = (
  config: NodeConfig,
): Effect.Effect<KraftNode, NodeStartError, NodeServiceKeys | Scope.Scope> =>
  Effect.gen(function* () {
    const services = yield* nodeServices;
    // A real process holds its directory with an OS-level lock first (released by the kernel however
    // the process ends); the node's own .lock file then only names it.
    if (services.processLocal)
      yield* Effect.acquireRelease(
        Effect.tryPromise({ try: () => holdDirectoryLock(config.logDir), catch: startError }),
        (release) => Effect.sync(release),
      );
    const opened = yield* Effect.try({
      try: () => KraftNode.open(config, services),
      catch: startError,
    });
    const node = yield* Effect.acquireRelease(Effect.succeed(opened), (n) => Effect.promise(() => n.close()));
    yield* Effect.tryPromise({ try: () => node.start(), catch: startError });
    return node;
  });
