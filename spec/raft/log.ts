// Pure operations on the log's shape (LogState): the epoch cache lookups that drive divergence
// detection (R65, R67) and the bookkeeping of appends, truncations and flushes.
import type { RecordBatch } from "./messages.ts";
import type { Voter } from "./primitives.ts";
import type { EpochStart, LogState, SnapshotInfo, VoterSetEntry } from "./state.ts";

const NO_SNAPSHOTS: readonly SnapshotInfo[] = [];

const NO_VOTER_SETS: readonly VoterSetEntry[] = [];

/** R91: the VotersRecords of the log, oldest first. */
export const voterSetsOf = (log: LogState): readonly VoterSetEntry[] => log.voterSets ?? NO_VOTER_SETS;

/**
 * R91, R92: the voter set in force at the log end: the newest VotersRecord, or the bootstrap set
 * when the log holds none.
 */
export const currentVoters = (log: LogState, bootstrap: readonly Voter[]): readonly Voter[] => {
  const sets = log.voterSets;
  return sets === undefined || sets.length === 0 ? bootstrap : sets[sets.length - 1]!.voters;
};

/** R93(d): the offset of the newest VotersRecord, or -1. */
export const latestVoterSetOffset = (log: LogState): number => {
  const sets = log.voterSets;
  return sets === undefined || sets.length === 0 ? -1 : sets[sets.length - 1]!.offset;
};

/**
 * R16, R94: the offset of the VotersRecord from which replica `id` has been a voter without a break,
 * or -1 when it already was one in the bootstrap set (or the oldest set this log still knows). A
 * replica learns it is a voter only by appending that record: what it fetched before, it fetched as
 * an observer, which does not flush.
 */
export const voterSince = (log: LogState, bootstrap: readonly Voter[], id: number): number => {
  const sets = voterSetsOf(log);
  let since = -1;
  for (let k = sets.length - 1; k >= 0; k--) {
    if (!sets[k]!.voters.some((v) => v.id === id)) return since;
    since = sets[k]!.offset;
  }
  return bootstrap.some((v) => v.id === id) || sets.length === 0 ? -1 : since;
};

/** R77: the log's snapshots, oldest first. */
export const snapshotsOf = (log: LogState): readonly SnapshotInfo[] => log.snapshots ?? NO_SNAPSHOTS;

/** R77: the newest snapshot, if any. */
export const latestSnapshot = (log: LogState): SnapshotInfo | undefined => {
  const snapshots = log.snapshots;
  return snapshots === undefined ? undefined : snapshots[snapshots.length - 1];
};

/** R79: the oldest snapshot, the one the log start sits on once it is above 0. */
export const earliestSnapshot = (log: LogState): SnapshotInfo | undefined => log.snapshots?.[0];

/**
 * R43, R61, R81: the epoch of the last record; for a log with no records above its snapshot, the
 * newest snapshot's epoch; 0 for an empty log without snapshots.
 */
export const lastEpoch = (log: LogState): number =>
  log.epochs.length === 0 ? (latestSnapshot(log)?.epoch ?? 0) : log.epochs[log.epochs.length - 1]!.epoch;

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
      if (floor === undefined) {
        // R81: an epoch older than every record above the log start ends, as far as this log can
        // say, where the snapshot at the log start ends.
        const earliest = earliestSnapshot(log);
        if (earliest !== undefined && entry.startOffset === log.startOffset && log.startOffset > 0)
          return { epoch: earliest.epoch, endOffset: earliest.endOffset };
      }
      return { epoch: floor === undefined ? epoch : floor.epoch, endOffset: entry.startOffset };
    }
    floor = entry;
  }
  return { epoch: lastEpoch(log), endOffset: log.endOffset };
};

/**
 * R77: the epoch of the record at `offset - 1` (what a snapshot ending at `offset` is named by), or
 * undefined when this log cannot say (the record is below the log start and no snapshot ends there).
 */
export const epochBefore = (log: LogState, offset: number): number | undefined => {
  if (offset <= log.startOffset || log.epochs.length === 0) {
    if (offset === 0) return 0;
    for (const snapshot of snapshotsOf(log)) if (snapshot.endOffset === offset) return snapshot.epoch;
    return undefined;
  }
  if (offset > log.endOffset) return undefined;
  let epoch: number | undefined;
  for (const entry of log.epochs) {
    if (entry.startOffset >= offset) break;
    epoch = entry.epoch;
  }
  return epoch;
};

/**
 * R79: the log starts at `offset` (the end of one of its snapshots): the records below it and every
 * snapshot ending before it are gone; the epoch cache keeps only what covers the records left.
 */
export const deleteLogBefore = (log: LogState, offset: number): LogState => {
  const epochs: EpochStart[] = [];
  for (let i = 0; i < log.epochs.length; i++) {
    const entry = log.epochs[i]!;
    const end = i + 1 < log.epochs.length ? log.epochs[i + 1]!.startOffset : log.endOffset;
    if (end <= offset) continue;
    epochs.push(entry.startOffset >= offset ? entry : { epoch: entry.epoch, startOffset: offset });
  }
  const deleted: LogState = {
    startOffset: offset,
    endOffset: Math.max(log.endOffset, offset),
    flushedOffset: Math.max(log.flushedOffset, offset),
    epochs,
    snapshots: snapshotsOf(log).filter((snapshot) => snapshot.endOffset >= offset),
  };
  // R91: the set in force at the new log start stays known, with every later one.
  const sets = voterSetsOf(log);
  let first = 0;
  while (first + 1 < sets.length && sets[first + 1]!.offset < offset) first++;
  return sets.length === 0 ? deleted : { ...deleted, voterSets: sets.slice(first) };
};

/**
 * R83, R91: the log truncated fully to a downloaded snapshot: it starts and ends where the snapshot
 * does, with the voter set the snapshot holds (none: the bootstrap set).
 */
export const logOfSnapshot = (snapshot: SnapshotInfo, voterSet?: VoterSetEntry): LogState => ({
  startOffset: snapshot.endOffset,
  endOffset: snapshot.endOffset,
  flushedOffset: snapshot.endOffset,
  epochs: [],
  snapshots: [snapshot],
  ...(voterSet === undefined ? {} : { voterSets: [voterSet] }),
});

/** R91: the VotersRecord in force just below `offset` (a snapshot's end), if any. */
export const voterSetBefore = (log: LogState, offset: number): VoterSetEntry | undefined => {
  let found: VoterSetEntry | undefined;
  for (const set of voterSetsOf(log)) if (set.offset < offset) found = set;
  return found;
};

/**
 * R16, R43: the epoch of the last flushed record (0 when nothing is flushed): with the flushed offset,
 * what a node can vouch for after a crash.
 */
export const lastFlushedEpoch = (log: LogState): number => {
  // R81: below the log start, the snapshot there speaks for the records it replaced.
  let epoch = log.startOffset > 0 ? (earliestSnapshot(log)?.epoch ?? 0) : 0;
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
  return { ...log, endOffset: log.endOffset + count, epochs };
};

/** R91: append one VotersRecord written in `epoch`: the new set is in force at once. */
export const appendVotersRecord = (log: LogState, epoch: number, voters: readonly Voter[]): LogState => ({
  ...appendToLog(log, epoch, 1),
  voterSets: [...voterSetsOf(log), { offset: log.endOffset, voters }],
});

/** R66, R91: append a fetched batch; a VotersRecord among them is in force at once. */
export const appendBatch = (log: LogState, batch: RecordBatch): LogState =>
  batch.voters === undefined
    ? appendToLog(log, batch.epoch, batch.count)
    : appendVotersRecord(log, batch.epoch, batch.voters);

/**
 * R67: cut the log back to end at `offset`. Epoch-cache entries starting at or after the cut are
 * removed even when nothing else is (KAFKA-10706); so are VotersRecords, reverting the voter set to
 * the one before them (R91).
 */
export const truncateLog = (log: LogState, offset: number): LogState => {
  const end = Math.min(log.endOffset, offset);
  let keep = log.epochs.length;
  while (keep > 0 && log.epochs[keep - 1]!.startOffset >= end) keep--;
  const truncated: LogState = {
    ...log,
    endOffset: end,
    flushedOffset: Math.min(log.flushedOffset, end),
    epochs: keep === log.epochs.length ? log.epochs : log.epochs.slice(0, keep),
  };
  const sets = log.voterSets;
  if (sets === undefined) return truncated;
  let keepSets = sets.length;
  while (keepSets > 0 && sets[keepSets - 1]!.offset >= end) keepSets--;
  if (keepSets === sets.length) return truncated;
  if (keepSets > 0) return { ...truncated, voterSets: sets.slice(0, keepSets) };
  const { voterSets: _dropped, ...rest } = truncated;
  return rest;
};

/** R16: everything below `offset` (capped at the log end) is durable. */
export const markFlushed = (log: LogState, offset: number): LogState => {
  const flushed = Math.max(log.flushedOffset, Math.min(offset, log.endOffset));
  return flushed === log.flushedOffset ? log : { ...log, flushedOffset: flushed };
};

/**
 * R63(c): the records from `fromOffset` to the log end, one batch per epoch run, and each
 * VotersRecord a batch of its own that names its voter set (R91).
 */
export const readBatches = (log: LogState, fromOffset: number): readonly RecordBatch[] => {
  if (fromOffset >= log.endOffset) return [];
  const batches: RecordBatch[] = [];
  const epochs = log.epochs;
  const sets = voterSetsOf(log);
  let nextSet = 0;
  while (nextSet < sets.length && sets[nextSet]!.offset < fromOffset) nextSet++;
  for (let i = 0; i < epochs.length; i++) {
    const entry = epochs[i]!;
    const end = i + 1 < epochs.length ? epochs[i + 1]!.startOffset : log.endOffset;
    if (end <= fromOffset) continue;
    let base = Math.max(entry.startOffset, fromOffset);
    while (nextSet < sets.length && sets[nextSet]!.offset < end) {
      const set = sets[nextSet++]!;
      if (set.offset > base) batches.push({ baseOffset: base, epoch: entry.epoch, count: set.offset - base });
      batches.push({ baseOffset: set.offset, epoch: entry.epoch, count: 1, voters: set.voters });
      base = set.offset + 1;
    }
    if (end > base) batches.push({ baseOffset: base, epoch: entry.epoch, count: end - base });
  }
  return batches;
};
