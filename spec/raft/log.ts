// Pure operations on the log's shape (LogState): the epoch cache lookups that drive divergence
// detection (R65, R67) and the bookkeeping of appends, truncations and flushes.
import type { RecordBatch } from "./messages.ts";
import type { EpochStart, LogState } from "./state.ts";

/** R43, R61: the epoch of the last record, or 0 for an empty log (no snapshots yet). */
export const lastEpoch = (log: LogState): number =>
  log.epochs.length === 0 ? 0 : log.epochs[log.epochs.length - 1]!.epoch;

export interface OffsetAndEpoch {
  readonly epoch: number;
  readonly endOffset: number;
}

/**
 * R65, R67: the largest epoch e' <= epoch in this log and the exclusive end offset of e' (the start
 * of the next epoch, or the log end). As Kafka's epoch cache and KafkaMetadataLog answer: when the
 * log holds no epoch <= epoch but a later one, (epoch, start of that later epoch); when it holds
 * no later epoch either, (last epoch, log end).
 */
export const endOffsetForEpoch = (log: LogState, epoch: number): OffsetAndEpoch => {
  const epochs = log.epochs;
  const last = epochs[epochs.length - 1];
  if (last !== undefined && last.epoch === epoch) return { epoch, endOffset: log.endOffset };
  let floor: EpochStart | undefined;
  for (let i = 0; i < epochs.length; i++) {
    const entry = epochs[i]!;
    if (entry.epoch > epoch) {
      return { epoch: floor === undefined ? epoch : floor.epoch, endOffset: entry.startOffset };
    }
    floor = entry;
  }
  return { epoch: lastEpoch(log), endOffset: log.endOffset };
};

/**
 * R16, R43: the epoch of the last flushed record (0 when nothing is flushed): with the flushed offset,
 * what a node can vouch for after a crash.
 */
export const lastFlushedEpoch = (log: LogState): number => {
  let epoch = 0;
  for (const entry of log.epochs) {
    if (entry.startOffset >= log.flushedOffset) break;
    epoch = entry.epoch;
  }
  return epoch;
};

/** Append `count` records written in `epoch` at the end of the log. */
export const appendToLog = (log: LogState, epoch: number, count: number): LogState => {
  const epochs =
    lastEpoch(log) === epoch && log.epochs.length > 0
      ? log.epochs
      : [...log.epochs, { epoch, startOffset: log.endOffset }];
  return {
    startOffset: log.startOffset,
    endOffset: log.endOffset + count,
    flushedOffset: log.flushedOffset,
    epochs,
  };
};

/**
 * R67: cut the log back to end at `offset`. Epoch-cache entries starting at or after the cut are
 * removed even when nothing else is (KAFKA-10706).
 */
export const truncateLog = (log: LogState, offset: number): LogState => {
  const end = Math.min(log.endOffset, offset);
  let keep = log.epochs.length;
  while (keep > 0 && log.epochs[keep - 1]!.startOffset >= end) keep--;
  return {
    startOffset: log.startOffset,
    endOffset: end,
    flushedOffset: Math.min(log.flushedOffset, end),
    epochs: keep === log.epochs.length ? log.epochs : log.epochs.slice(0, keep),
  };
};

/** R16: everything below `offset` (capped at the log end) is durable. */
export const markFlushed = (log: LogState, offset: number): LogState => {
  const flushed = Math.max(log.flushedOffset, Math.min(offset, log.endOffset));
  return flushed === log.flushedOffset ? log : { ...log, flushedOffset: flushed };
};

/** R63(c): the records from `fromOffset` to the log end, one batch per epoch run. */
export const readBatches = (log: LogState, fromOffset: number): readonly RecordBatch[] => {
  if (fromOffset >= log.endOffset) return [];
  const batches: RecordBatch[] = [];
  const epochs = log.epochs;
  for (let i = 0; i < epochs.length; i++) {
    const entry = epochs[i]!;
    const end = i + 1 < epochs.length ? epochs[i + 1]!.startOffset : log.endOffset;
    if (end <= fromOffset) continue;
    const base = Math.max(entry.startOffset, fromOffset);
    if (end > base) batches.push({ baseOffset: base, epoch: entry.epoch, count: end - base });
  }
  return batches;
};
