// Structured logs through Effect's Logger: one JSON line per event on stderr, annotated with the
// node id, its role and epoch (whatever the context function reports at the time) and the event's
// fields. The hot paths log only what an operator needs to follow the cluster.
import * as Effect from "effect/Effect";
import * as Logger from "effect/Logger";
import * as ManagedRuntime from "effect/ManagedRuntime";

export interface Log {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

const runtime = ManagedRuntime.make(Logger.layer([Logger.withConsoleError(Logger.formatJson)]));

export const makeLog = (context: () => Record<string, unknown> = () => ({})): Log => {
  const emit = (
    level: (message: string) => Effect.Effect<void>,
    message: string,
    fields: Record<string, unknown> = {},
  ): void => {
    runtime.runSync(level(message).pipe(Effect.annotateLogs({ ...context(), ...fields })));
  };
  return {
    info: (message, fields) => emit(Effect.logInfo, message, fields),
    warn: (message, fields) => emit(Effect.logWarning, message, fields),
    error: (message, fields) => emit(Effect.logError, message, fields),
  };
};

/** A log that drops everything (tests, quiet tools). */
export const silentLog: Log = { info: () => {}, warn: () => {}, error: () => {} };
