// The canonical encoding of a simulated cluster (spec/cluster/world.ts) as 32-bit words, and its
// decoding. Canonical means:
// - sets are written sorted;
// - correlation ids are renumbered: the reducers only compare them for equality, so each node's
//   requests in flight get 1..k in a fixed order, and every other id (a request the node has given
//   up on, or the answer to one) becomes 0, which matches nothing;
// - the network is a set: copies of one message, which only stale resends produce, are kept once
//   (re-delivery is explored by the bounded "duplicate" fault instead); answers nobody waits for any
//   more, and abandoned requests the receiver can only refuse, are left out, since delivering or
//   losing them changes nothing;
// - with symmetry, voters are relabelled by the permutation giving the smallest encoding among those
//   that sort them by a relabelling-invariant signature, so symmetric states encode identically.
// Leaving out stale messages, writing copies once and leaving out the check-quorum fetches (below)
// are reductions that can each be turned off (reductions.ts), to check that they change no verdict.

import {
  type ClusterSpec,
  type Envelope,
  logStateOf,
  type NodeSlot,
  nodeConfig,
  type World,
} from "../../spec/cluster/world.ts";
import {
  type RaftMessage,
  type RecordBatch,
  type RequestApi,
  RequestApi as RequestApiSchema,
} from "../../spec/raft/messages.ts";
import type { ErrorCode, ReplicaKey } from "../../spec/raft/primitives.ts";
import {
  ErrorCode as ErrorCodes,
  METADATA_PARTITION,
  METADATA_TOPIC_ID,
  METADATA_TOPIC_NAME,
} from "../../spec/raft/primitives.ts";
import type {
  ElectionState,
  InflightRequest,
  NodeState,
  ParkedFetch,
  ReplicaProgress,
  Role,
  SnapshotInfo,
  TimerKind,
} from "../../spec/raft/state.ts";
import { TimerKind as TimerKinds } from "../../spec/raft/state.ts";
import { ALL_REDUCTIONS, type Reductions } from "./reductions.ts";
import { compareWords, WordReader, WordWriter } from "./words.ts";

/** How a FetchRequest without a high watermark is encoded (a real one is -1 or more). */
const NO_HIGH_WATERMARK = -2;
const optionalHighWatermark = (word: number): { highWatermark?: number } =>
  word === NO_HIGH_WATERMARK ? {} : { highWatermark: word };

/** Where the forged Fetch answers' count starts in the word it shares with the corrupt disks'. */
const FORGED_EPOCHS_UNIT = 65536;

const ERROR_CODES: readonly ErrorCode[] = ErrorCodes.literals;
const TIMERS: readonly TimerKind[] = TimerKinds.literals;
const APIS: readonly RequestApi[] = RequestApiSchema.literals;
const MESSAGE_TAGS = [
  "VoteRequest",
  "VoteResponse",
  "BeginQuorumEpochRequest",
  "BeginQuorumEpochResponse",
  "EndQuorumEpochRequest",
  "EndQuorumEpochResponse",
  "FetchRequest",
  "FetchResponse",
  "FetchSnapshotRequest",
  "FetchSnapshotResponse",
] as const;
const ROLE_TAGS = ["Unattached", "Prospective", "Candidate", "Leader", "Follower", "Resigned"] as const;

const fail = (what: string): never => {
  throw new Error(`state codec: ${what} cannot occur in a checked cluster`);
};

/** How node ids are renamed: perm[oldIndex] = newIndex (ids are index + 1). */
export type Permutation = Int32Array;

interface Context {
  readonly cluster: ClusterSpec;
  readonly perm: Permutation;
  readonly reductions: Reductions;
  /** Per node (old index): its requests in flight in the order they are written. */
  readonly inflight: (readonly InflightRequest[] | null)[];
}

const relabel = (ctx: Context, id: number): number => {
  if (id < 1 || id > ctx.perm.length) return id;
  return ctx.perm[id - 1]! + 1;
};

/** The new number of a requester's correlation id: 1..k for requests in flight, 0 for the rest. */
const renumber = (ctx: Context, requesterId: number, correlationId: number | undefined): number => {
  if (correlationId === undefined) return 0;
  const live = ctx.inflight[requesterId - 1];
  if (live === undefined || live === null) return 0;
  for (let k = 0; k < live.length; k++) if (live[k]!.correlationId === correlationId) return k + 1;
  return 0;
};

const mask = (ctx: Context, ids: readonly number[]): number => {
  let bits = 0;
  for (const id of ids) bits |= 1 << (relabel(ctx, id) - 1);
  return bits;
};

const idsOfMask = (bits: number, total: number): number[] => {
  const ids: number[] = [];
  for (let i = 0; i < total; i++) if ((bits & (1 << i)) !== 0) ids.push(i + 1);
  return ids;
};

// Scratch space of the writers below (encoding is never re-entered): no allocation per state.
let sortKeys = new Int32Array(16);
let sortOrder = new Int32Array(16);

/** Fill sortOrder[0..keys) with 0..n-1 ordered by sortKeys (insertion sort: a handful of entries). */
const sortByKeys = (n: number): void => {
  for (let i = 0; i < n; i++) {
    let j = i;
    while (j > 0 && sortKeys[sortOrder[j - 1]!]! > sortKeys[i]!) {
      sortOrder[j] = sortOrder[j - 1]!;
      j--;
    }
    sortOrder[j] = i;
  }
};

const reserveSortSpace = (n: number): void => {
  if (sortKeys.length < n) {
    sortKeys = new Int32Array(n * 2);
    sortOrder = new Int32Array(n * 2);
  }
};

/** Write the relabelled ids of `keys` in increasing order. */
const writeSortedIds = (w: WordWriter, ctx: Context, keys: readonly { readonly id: number }[]): void => {
  reserveSortSpace(keys.length);
  for (let i = 0; i < keys.length; i++) sortKeys[i] = relabel(ctx, keys[i]!.id);
  sortByKeys(keys.length);
  for (let i = 0; i < keys.length; i++) w.push(sortKeys[sortOrder[i]!]!);
};

const key = (k: ReplicaKey | undefined, ctx: Context): number => {
  if (k === undefined) return -1;
  if (k.directoryId !== undefined) fail("a directory id");
  return relabel(ctx, k.id);
};

// ---- encoding ------------------------------------------------------------------------------------

const writeProgress = (w: WordWriter, p: ReplicaProgress): void => {
  if (p.lastFetchTimestamp !== -1 || p.lastCaughtUpTimestamp !== -1 || p.directoryId !== undefined)
    fail("a timestamp");
  w.push(p.endOffset);
  w.push(p.acknowledged ? 1 : 0);
};

const writeRole = (w: WordWriter, ctx: Context, s: NodeState): void => {
  const role = s.role;
  w.push(ROLE_TAGS.indexOf(role._tag));
  switch (role._tag) {
    case "Unattached":
      w.push(relabel(ctx, role.leaderId));
      w.push(key(role.votedKey, ctx));
      return;
    case "Prospective":
      w.push(relabel(ctx, role.leaderId));
      w.push(key(role.votedKey, ctx));
      w.push(mask(ctx, role.granted));
      w.push(mask(ctx, role.rejected));
      return;
    case "Candidate":
      w.push(mask(ctx, role.granted));
      w.push(mask(ctx, role.rejected));
      return;
    case "Follower": {
      w.push(relabel(ctx, role.leaderId));
      w.push(key(role.votedKey, ctx));
      w.push(role.hasFetchedFromLeader ? 1 : 0);
      const download = role.fetchingSnapshot;
      w.push(download === undefined ? -1 : download.endOffset);
      if (download !== undefined) {
        w.push(download.epoch);
        w.push(download.position);
      }
      return;
    }
    case "Resigned":
      w.push(mask(ctx, role.unackedVoters));
      w.push(role.preferredSuccessors.length);
      // R72: the order only sets how long each successor waits, which the checker does not model.
      writeSortedIds(w, ctx, role.preferredSuccessors);
      return;
    case "Leader": {
      w.push(role.epochStartOffset);
      w.push(role.highWatermark);
      const voters = ctx.cluster.voters;
      if (role.voterStates.length !== voters) fail("a missing voter");
      reserveSortSpace(voters);
      for (let i = 0; i < voters; i++) sortKeys[i] = relabel(ctx, role.voterStates[i]!.id);
      sortByKeys(voters);
      const self = relabel(ctx, s.nodeId) - 1;
      for (let i = 0; i < voters; i++) {
        if (sortKeys[sortOrder[i]!] !== i + 1) fail("a missing voter");
        const v = role.voterStates[sortOrder[i]!]!;
        // The leader's own entry is only a copy of its flushed offset (R64 reads the log itself).
        if (i === self) w.push(v.acknowledged ? 1 : 0);
        else writeProgress(w, v);
      }
      const observers = role.observerStates;
      reserveSortSpace(observers.length);
      for (let i = 0; i < observers.length; i++) sortKeys[i] = relabel(ctx, observers[i]!.id);
      sortByKeys(observers.length);
      w.push(observers.length);
      for (let i = 0; i < observers.length; i++) {
        w.push(sortKeys[sortOrder[i]!]!);
        writeProgress(w, observers[sortOrder[i]!]!);
      }
      // Which voters fetched in this check-quorum interval (R57) only decides when the timer is reset;
      // the checker lets timers run out at any moment anyway, so it cannot change what happens next.
      w.push(ctx.reductions.checkQuorumFetches ? 0 : mask(ctx, role.fetchedVoters));
      const parkedFetches = role.parkedFetches;
      reserveSortSpace(parkedFetches.length);
      for (let i = 0; i < parkedFetches.length; i++) sortKeys[i] = relabel(ctx, parkedFetches[i]!.replicaId);
      sortByKeys(parkedFetches.length);
      w.push(parkedFetches.length);
      for (let i = 0; i < parkedFetches.length; i++) {
        const p = parkedFetches[sortOrder[i]!]!;
        if (p.replicaDirectoryId !== undefined) fail("a directory id");
        w.push(relabel(ctx, p.replicaId));
        w.push(p.fetchOffset);
        w.push(renumber(ctx, p.replicaId, p.correlationId));
      }
      return;
    }
  }
};

/** Snapshots as (end offset, epoch): in the model a snapshot's size is its end offset (world.ts). */
const writeSnapshots = (w: WordWriter, snapshots: readonly SnapshotInfo[]): void => {
  w.push(snapshots.length);
  for (const x of snapshots) {
    if (x.size !== x.endOffset) fail("a snapshot size other than its end offset");
    w.push(x.endOffset);
    w.push(x.epoch);
  }
};

const sameSnapshots = (a: readonly SnapshotInfo[], b: readonly SnapshotInfo[]): boolean =>
  a.length === b.length && a.every((x, i) => x.endOffset === b[i]!.endOffset && x.epoch === b[i]!.epoch);

const readSnapshots = (r: WordReader): SnapshotInfo[] =>
  Array.from({ length: r.next() }, () => {
    const endOffset = r.next();
    return { endOffset, epoch: r.next(), size: endOffset };
  });

const writeSlot = (w: WordWriter, ctx: Context, slot: NodeSlot, oldIndex: number): void => {
  const self = oldIndex + 1;
  if (slot.replaced === true) fail("a replaced disk (kraft.version 1 only)");
  const p = slot.persisted;
  w.push(p === null ? -2 : p.epoch);
  if (p !== null) {
    w.push(relabel(ctx, p.leaderId));
    w.push(key(p.votedKey, ctx));
  }
  w.push(slot.entries.length);
  for (const e of slot.entries) w.push(e);
  w.push(slot.durable);
  w.push((slot.flushRequested ? 1 : 0) | (slot.recovering ? 2 : 0));
  w.push(slot.lostFrom);
  if (slot.lostFrom >= 0) {
    w.push(slot.lost.length);
    for (const e of slot.lost) w.push(e);
  }
  w.push(slot.startOffset);
  writeSnapshots(w, slot.snapshots);
  const partial = slot.partial;
  w.push(partial === null ? -1 : partial.endOffset);
  if (partial !== null) {
    w.push(partial.epoch);
    w.push(partial.entries.length);
    for (const e of partial.entries) w.push(e);
  }
  const s = slot.state;
  if (s === null) {
    w.push(0);
    return;
  }
  // A node whose log shape is not its records has broken LogShapeMatchesDisk; its state is never
  // expanded, but its encoding must still tell it apart, so the shape is written out.
  if (
    s.log.startOffset !== slot.startOffset ||
    s.log.endOffset !== slot.entries.length ||
    !sameSnapshots(s.log.snapshots ?? [], slot.snapshots)
  ) {
    w.push(2);
    w.push(s.log.startOffset);
    w.push(s.log.endOffset);
    w.push(s.log.epochs.length);
    for (const e of s.log.epochs) {
      w.push(e.epoch);
      w.push(e.startOffset);
    }
    writeSnapshots(w, s.log.snapshots ?? []);
  } else {
    w.push(1);
  }
  w.push(s.epoch);
  w.push(s.highWatermark);
  w.push(s.log.flushedOffset);
  w.push(s.bootstrapCursor);
  w.push(relabel(ctx, s.quietLeaderId));
  w.push((s.shuttingDown ? 1 : 0) | (s.recovering ? 2 : 0));
  let timers = 0;
  for (const t of s.timers) timers |= 1 << TIMERS.indexOf(t);
  w.push(timers);
  const inflight = ctx.inflight[oldIndex] ?? [];
  w.push(inflight.length);
  for (const r of inflight) {
    w.push(relabel(ctx, r.destination));
    w.push(APIS.indexOf(r.api));
    w.push(renumber(ctx, self, r.correlationId));
  }
  writeRole(w, ctx, s);
};

const clusterCode = (ctx: Context, clusterId: string | null): number =>
  clusterId === null ? 1 : clusterId === ctx.cluster.clusterId ? 0 : fail(`cluster id ${clusterId}`);

const checkTopic = (topicName: string, partition: number): void => {
  if (topicName !== METADATA_TOPIC_NAME || partition !== METADATA_PARTITION) fail("another topic");
};

const writeMessage = (w: WordWriter, ctx: Context, m: RaftMessage): void => {
  const tag = MESSAGE_TAGS.indexOf(m._tag as (typeof MESSAGE_TAGS)[number]);
  if (tag < 0) fail(m._tag);
  w.push(tag);
  switch (m._tag) {
    case "VoteRequest":
      checkTopic(m.topicName, m.partitionIndex);
      if (m.replicaDirectoryId !== undefined || m.voterDirectoryId !== undefined) fail("a directory id");
      w.push(clusterCode(ctx, m.clusterId));
      w.push(relabel(ctx, m.voterId));
      w.push(m.replicaEpoch);
      w.push(relabel(ctx, m.replicaId));
      w.push(m.lastOffsetEpoch);
      w.push(m.lastOffset);
      w.push(m.preVote ? 1 : 0);
      return;
    case "BeginQuorumEpochRequest":
      checkTopic(m.topicName, m.partitionIndex);
      if (m.voterDirectoryId !== undefined) fail("a directory id");
      w.push(clusterCode(ctx, m.clusterId));
      w.push(relabel(ctx, m.voterId));
      w.push(relabel(ctx, m.leaderId));
      w.push(m.leaderEpoch);
      return;
    case "EndQuorumEpochRequest":
      checkTopic(m.topicName, m.partitionIndex);
      w.push(clusterCode(ctx, m.clusterId));
      w.push(relabel(ctx, m.leaderId));
      w.push(m.leaderEpoch);
      w.push(m.preferredCandidates.length);
      writeSortedIds(w, ctx, m.preferredCandidates);
      return;
    case "FetchRequest":
      if (m.topicId !== METADATA_TOPIC_ID || m.partition !== METADATA_PARTITION) fail("another topic");
      if (m.replicaDirectoryId !== undefined) fail("a directory id");
      w.push(clusterCode(ctx, m.clusterId));
      w.push(relabel(ctx, m.replicaId));
      w.push(m.maxWaitMs);
      w.push(m.currentLeaderEpoch);
      w.push(m.fetchOffset);
      w.push(m.lastFetchedEpoch);
      // R63 (KIP-1166): a high watermark is -1 or more; -2 stands for a fetch without one.
      w.push(m.highWatermark ?? NO_HIGH_WATERMARK);
      return;
    case "FetchSnapshotRequest":
      checkTopic(m.topicName, m.partitionIndex);
      if (m.replicaDirectoryId !== undefined) fail("a directory id");
      w.push(clusterCode(ctx, m.clusterId));
      w.push(relabel(ctx, m.replicaId));
      w.push(m.maxBytes);
      w.push(m.currentLeaderEpoch);
      w.push(m.snapshotId.endOffset);
      w.push(m.snapshotId.epoch);
      w.push(m.position);
      return;
    case "FetchSnapshotResponse":
      w.push(ERROR_CODES.indexOf(m.errorCode));
      w.push(relabel(ctx, m.leaderId));
      w.push(m.leaderEpoch);
      w.push(m.snapshotId.endOffset);
      w.push(m.snapshotId.epoch);
      w.push(m.size);
      w.push(m.position);
      w.push(m.bytes);
      return;
    case "VoteResponse":
      w.push(ERROR_CODES.indexOf(m.errorCode));
      w.push(relabel(ctx, m.leaderId));
      w.push(m.leaderEpoch);
      w.push(m.voteGranted ? 1 : 0);
      return;
    case "BeginQuorumEpochResponse":
    case "EndQuorumEpochResponse":
      w.push(ERROR_CODES.indexOf(m.errorCode));
      w.push(relabel(ctx, m.leaderId));
      w.push(m.leaderEpoch);
      return;
    case "FetchResponse":
      w.push(ERROR_CODES.indexOf(m.errorCode));
      w.push(m.highWatermark);
      w.push(m.logStartOffset);
      if (m.divergingEpoch === undefined) {
        w.push(-2);
      } else {
        w.push(m.divergingEpoch.epoch);
        w.push(m.divergingEpoch.endOffset);
      }
      if (m.snapshotId === undefined) {
        w.push(-2);
      } else {
        w.push(m.snapshotId.endOffset);
        w.push(m.snapshotId.epoch);
      }
      w.push(relabel(ctx, m.leaderId));
      w.push(m.leaderEpoch);
      w.push(m.records.length);
      for (const r of m.records) {
        w.push(r.baseOffset);
        w.push(r.epoch);
        w.push(r.count);
      }
      return;
    default:
      fail(m._tag);
  }
};

/** Requests end in "Request", responses in "Response": their last letters differ ("t", "e"). */
const isRequestTag = (tag: string): boolean => tag.charCodeAt(tag.length - 1) === 116;

/** The requester of a request/response pair: whose correlation-id namespace it uses. */
const requesterOf = (e: Envelope): number => (isRequestTag(e.message._tag) ? e.from : e.to);

const writeEnvelope = (w: WordWriter, ctx: Context, e: Envelope): void => {
  w.push(relabel(ctx, e.from));
  w.push(relabel(ctx, e.to));
  writeMessage(w, ctx, e.message);
  const payload = e.payload;
  w.push(payload === null ? -1 : payload.length);
  if (payload !== null) for (const v of payload) w.push(v);
  w.push(renumber(ctx, requesterOf(e), e.correlationId));
};

const networkWords = new WordWriter(4096);

/**
 * The answer to a request its requester no longer waits for: delivering or losing it changes nothing
 * (R40(0)), so the encoding leaves it out.
 */
const isStaleResponse = (ctx: Context, e: Envelope): boolean =>
  !isRequestTag(e.message._tag) && renumber(ctx, e.to, e.correlationId) === 0;

/**
 * A request its sender gave up on that the receiver will only ever refuse or answer without changing
 * (its epoch is behind the receiver's, which never goes back; or it is a pre-vote for an epoch the
 * receiver has reached, R50): its answer would be stale too, so it is left out.
 */
const isInertRequest = (ctx: Context, world: World, e: Envelope): boolean => {
  const m = e.message;
  if (!isRequestTag(m._tag) || renumber(ctx, e.from, e.correlationId) !== 0) return false;
  const receiver = world.nodes[e.to - 1]?.state;
  if (receiver === undefined || receiver === null) return false;
  switch (m._tag) {
    case "VoteRequest":
      return m.replicaEpoch < receiver.epoch || (m.preVote && m.replicaEpoch === receiver.epoch);
    case "BeginQuorumEpochRequest":
    case "EndQuorumEpochRequest":
      return m.leaderEpoch < receiver.epoch;
    case "FetchRequest":
    case "FetchSnapshotRequest":
      return m.currentLeaderEpoch < receiver.epoch;
    default:
      return false;
  }
};

let starts = new Int32Array(64);
let lengths = new Int32Array(64);
let order = new Int32Array(64);
let hashes = new Int32Array(64);

const compareByHash = (a: number, b: number): number => {
  const d = hashes[a]! - hashes[b]!;
  return d !== 0 ? d : compareEnvelopes(a, b);
};

/** Lexicographic order of two envelopes encoded in `networkWords`. */
const compareEnvelopes = (a: number, b: number): number => {
  const words = networkWords.words;
  const la = lengths[a]!;
  const lb = lengths[b]!;
  const sa = starts[a]!;
  const sb = starts[b]!;
  const n = la < lb ? la : lb;
  for (let i = 0; i < n; i++) {
    const d = words[sa + i]! - words[sb + i]!;
    if (d !== 0) return d;
  }
  return la - lb;
};

/** Whether the i-th envelope in sorted order encodes exactly as the one before it. */
const isCopyOfPrevious = (i: number): boolean => i > 0 && compareByHash(order[i]!, order[i - 1]!) === 0;

/** The network as a set: envelopes ordered by their encodings, each distinct one written once. */
const writeNetwork = (w: WordWriter, ctx: Context, world: World): void => {
  const network = world.network;
  if (starts.length < network.length) {
    starts = new Int32Array(network.length * 2);
    lengths = new Int32Array(network.length * 2);
    order = new Int32Array(network.length * 2);
    hashes = new Int32Array(network.length * 2);
  }
  networkWords.reset();
  let count = 0;
  const dropStale = ctx.reductions.staleMessages;
  for (const e of network) {
    if (dropStale && (isStaleResponse(ctx, e) || isInertRequest(ctx, world, e))) continue;
    const start = networkWords.length;
    writeEnvelope(networkWords, ctx, e);
    const length = networkWords.length - start;
    starts[count] = start;
    lengths[count] = length;
    // Any order that depends only on the encodings is canonical: hash first, words on a tie.
    const words = networkWords.words;
    let h = 0x2545f491;
    for (let k = start; k < start + length; k++) h = Math.imul(h ^ words[k]!, 0x9e3779b1);
    hashes[count] = h ^ (h >>> 15);
    // Insertion sort: a network holds a handful of messages.
    let j = count;
    while (j > 0 && compareByHash(order[j - 1]!, count) > 0) {
      order[j] = order[j - 1]!;
      j--;
    }
    order[j] = count;
    count++;
  }
  const mergeCopies = ctx.reductions.messageCopies;
  let distinct = 0;
  for (let i = 0; i < count; i++) if (!(mergeCopies && isCopyOfPrevious(i))) distinct++;
  w.push(distinct);
  const words = networkWords.words;
  for (let i = 0; i < count; i++) {
    const index = order[i]!;
    if (mergeCopies && isCopyOfPrevious(i)) continue;
    const start = starts[index]!;
    w.append(words, start, start + lengths[index]!);
  }
};

/** Encode `world` with node ids renamed by `perm`. */
/** A node's requests in flight by relabelled destination, then API (at most one of each pair). */
const sortInflight = (ctx: Context, inflight: readonly InflightRequest[]): readonly InflightRequest[] => {
  if (inflight.length <= 1) return inflight;
  const key = (r: InflightRequest): number => relabel(ctx, r.destination) * 8 + APIS.indexOf(r.api);
  if (inflight.length === 2)
    return key(inflight[0]!) <= key(inflight[1]!) ? inflight : [inflight[1]!, inflight[0]!];
  return inflight.slice().sort((a, b) => key(a) - key(b));
};

let inverse = new Int32Array(8);
// Reused by every encoding (encodeWith is never re-entered): the hot loop allocates nothing per state.
const inflightBuffer: (readonly InflightRequest[] | null)[] = [];

/** Encode `world` with node ids renamed by `perm`. */
export const encodeWith = (
  w: WordWriter,
  world: World,
  cluster: ClusterSpec,
  perm: Permutation,
  reductions: Reductions = ALL_REDUCTIONS,
): void => {
  const total = world.nodes.length;
  const inflight = inflightBuffer;
  inflight.length = total;
  const ctx: Context = { cluster, perm, inflight, reductions };
  // Each node's correlation ids in flight are renumbered 1..k in this order.
  for (let i = 0; i < total; i++) {
    const s = world.nodes[i]!.state;
    inflight[i] = s === null ? null : sortInflight(ctx, s.inflight);
  }
  // A state that broke a step property is never expanded, but must not be mistaken for a clean one.
  w.push(world.broken === null ? 0 : 1);
  w.push(world.valuesAppended);
  w.push(world.crashes);
  w.push(world.duplicates);
  // Corrupt disks and forged answers share a word: each bound is a handful.
  w.push(world.corruptions + (world.forgedEpochs ?? 0) * FORGED_EPOCHS_UNIT);
  w.push(world.leaders.length);
  for (const l of world.leaders) w.push(relabel(ctx, l));
  w.push(world.committed.length);
  for (const e of world.committed) w.push(e);
  if (inverse.length < total) inverse = new Int32Array(total * 2);
  for (let i = 0; i < total; i++) inverse[perm[i]!] = i;
  for (let j = 0; j < total; j++) {
    const old = inverse[j]!;
    writeSlot(w, ctx, world.nodes[old]!, old);
  }
  writeNetwork(w, ctx, world);
};

// ---- symmetry ------------------------------------------------------------------------------------

const SIGNATURE_LENGTH = 12;

/**
 * A summary of a voter that does not mention any node id, so relabelling cannot change it: written
 * into `out` at `at`.
 */
const writeSignature = (world: World, index: number, out: Int32Array, at: number): void => {
  // Only what the encoding itself keeps: messages are left out, since the encoding drops some of
  // them (stale answers, duplicates) and the signature must not tell such states apart.
  const slot = world.nodes[index]!;
  const s = slot.state;
  const id = index + 1;
  let leaderOf = 0;
  for (const l of world.leaders) if (l === id) leaderOf++;
  let entries = 0x811c9dc5;
  for (const e of slot.entries) entries = Math.imul(entries ^ e, 0x01000193);
  let timers = 0;
  if (s !== null) for (const t of s.timers) timers |= 1 << TIMERS.indexOf(t);
  out[at] = s === null ? -1 : ROLE_TAGS.indexOf(s.role._tag);
  out[at + 1] = s?.epoch ?? -1;
  out[at + 2] = slot.persisted?.epoch ?? -1;
  out[at + 3] = slot.persisted?.leaderId === id ? 1 : 0;
  out[at + 4] = slot.entries.length;
  out[at + 5] = entries;
  out[at + 6] = s?.highWatermark ?? -1;
  out[at + 7] = s?.log.flushedOffset ?? -1;
  out[at + 8] = (slot.flushRequested ? 1 : 0) | (slot.recovering ? 2 : 0) | (slot.durable << 2);
  out[at + 9] = s?.inflight.length ?? 0;
  out[at + 10] = (s?.shuttingDown ? 1 : 0) | (s?.recovering ? 2 : 0) | (timers << 2);
  out[at + 11] = leaderOf;
};

const permutationCache: Int32Array[][] = [];

/** Every permutation of 0..n-1, as arrays p with p[newIndex] = oldIndex. */
const allPermutations = (n: number): Int32Array[] => {
  const cached = permutationCache[n];
  if (cached !== undefined) return cached;
  const out: Int32Array[] = [];
  const build = (prefix: number[], rest: number[]): void => {
    if (rest.length === 0) out.push(Int32Array.from(prefix));
    rest.forEach((item, i) => {
      build([...prefix, item], [...rest.slice(0, i), ...rest.slice(i + 1)]);
    });
  };
  build(
    [],
    Array.from({ length: n }, (_, i) => i),
  );
  permutationCache[n] = out;
  return out;
};

const identities: Int32Array[] = [];
/** The permutation that renames nothing: an exact, non-canonical encoding. */
export const identityPermutation = (n: number): Permutation => identity(n);
const identity = (n: number): Permutation => {
  let cached = identities[n];
  if (cached === undefined) {
    cached = Int32Array.from({ length: n }, (_, i) => i);
    identities[n] = cached;
  }
  return cached;
};

let voterOrder = new Int32Array(8);
let permBuffer = new Int32Array(0);
// The smallest encoding so far and the one being tried: swapped, never copied, when one wins.
let best = new WordWriter(1024);
let candidate = new WordWriter(1024);
let signatures = new Int32Array(0);

/** How much work symmetry reduction does: canonical encodings asked for, and encodings tried. */
export const symmetryStats = { canonical: 0, encodings: 0 };

const compareSignatures = (a: number, b: number): number => {
  for (let k = 0; k < SIGNATURE_LENGTH; k++) {
    const d = signatures[a * SIGNATURE_LENGTH + k]! - signatures[b * SIGNATURE_LENGTH + k]!;
    if (d !== 0) return d;
  }
  return 0;
};

/**
 * The canonical encoding of `world` into `w`. With symmetry, voters are relabelled: among the
 * orders that sort them by signature (ties in every order), the one giving the smallest encoding.
 * Observers keep their ids.
 */
export const encodeCanonical = (
  w: WordWriter,
  world: World,
  cluster: ClusterSpec,
  symmetry: boolean,
  reductions: Reductions = ALL_REDUCTIONS,
): void => {
  const total = world.nodes.length;
  const voters = cluster.voters;
  if (!symmetry || voters < 2) {
    encodeWith(w, world, cluster, identity(total), reductions);
    return;
  }
  symmetryStats.canonical++;
  if (signatures.length < voters * SIGNATURE_LENGTH) signatures = new Int32Array(voters * SIGNATURE_LENGTH);
  for (let i = 0; i < voters; i++) writeSignature(world, i, signatures, i * SIGNATURE_LENGTH);
  // Voters in order of signature (insertion sort: a handful of voters), noting whether any tie.
  if (voterOrder.length < voters) voterOrder = new Int32Array(voters);
  const order = voterOrder;
  let ties = false;
  for (let i = 0; i < voters; i++) {
    let j = i;
    while (j > 0) {
      const c = compareSignatures(order[j - 1]!, i);
      if (c === 0) ties = true;
      if (c <= 0) break;
      order[j] = order[j - 1]!;
      j--;
    }
    order[j] = i;
  }
  const permFor = (arrangement: Int32Array): Permutation => {
    if (permBuffer.length !== total) permBuffer = new Int32Array(total);
    const perm = permBuffer;
    for (let j = 0; j < total; j++) perm[j] = j;
    for (let j = 0; j < voters; j++) perm[arrangement[j]!] = j;
    return perm;
  };
  if (!ties) {
    symmetryStats.encodings++;
    encodeWith(w, world, cluster, permFor(order), reductions);
    return;
  }
  // Ties: every order that lists the voters by non-decreasing signature; keep the smallest encoding.
  let haveBest = false;
  for (const arrangement of allPermutations(voters)) {
    let sorted = true;
    for (let j = 1; j < voters && sorted; j++)
      if (compareSignatures(arrangement[j - 1]!, arrangement[j]!) > 0) sorted = false;
    if (!sorted) continue;
    symmetryStats.encodings++;
    candidate.reset();
    encodeWith(candidate, world, cluster, permFor(arrangement), reductions);
    if (!haveBest || compareWords(candidate.words, candidate.length, best.words, best.length) < 0) {
      const won = candidate;
      candidate = best;
      best = won;
      haveBest = true;
    }
  }
  w.append(best.words, 0, best.length);
};

// ---- decoding ------------------------------------------------------------------------------------

const readKey = (r: WordReader): ReplicaKey | undefined => {
  const id = r.next();
  return id < 0 ? undefined : { id };
};

const readProgress = (r: WordReader, id: number): ReplicaProgress => ({
  id,
  endOffset: r.next(),
  acknowledged: r.next() === 1,
  lastFetchTimestamp: -1,
  lastCaughtUpTimestamp: -1,
});

const withKey = <T extends object>(
  base: T,
  votedKey: ReplicaKey | undefined,
): T & { votedKey?: ReplicaKey } => (votedKey === undefined ? base : { ...base, votedKey });

const readRole = (
  r: WordReader,
  cluster: ClusterSpec,
  total: number,
  index: number,
  flushedOffset: number,
): Role => {
  const tag = ROLE_TAGS[r.next()];
  switch (tag) {
    case "Unattached": {
      const leaderId = r.next();
      return withKey({ _tag: "Unattached" as const, leaderId }, readKey(r));
    }
    case "Prospective": {
      const leaderId = r.next();
      const votedKey = readKey(r);
      const granted = idsOfMask(r.next(), total);
      const rejected = idsOfMask(r.next(), total);
      return { ...withKey({ _tag: "Prospective" as const, leaderId }, votedKey), granted, rejected };
    }
    case "Candidate":
      return { _tag: "Candidate", granted: idsOfMask(r.next(), total), rejected: idsOfMask(r.next(), total) };
    case "Follower": {
      const leaderId = r.next();
      const votedKey = readKey(r);
      const hasFetchedFromLeader = r.next() === 1;
      const downloadEnd = r.next();
      const follower = {
        ...withKey({ _tag: "Follower" as const, leaderId }, votedKey),
        hasFetchedFromLeader,
      };
      return downloadEnd < 0
        ? follower
        : { ...follower, fetchingSnapshot: { endOffset: downloadEnd, epoch: r.next(), position: r.next() } };
    }
    case "Resigned": {
      const unackedVoters = idsOfMask(r.next(), total);
      const count = r.next();
      const preferredSuccessors = Array.from({ length: count }, () => ({ id: r.next() }));
      return { _tag: "Resigned", unackedVoters, preferredSuccessors };
    }
    case "Leader": {
      const epochStartOffset = r.next();
      const highWatermark = r.next();
      const voterStates = Array.from({ length: cluster.voters }, (_, i) =>
        i === index
          ? {
              id: i + 1,
              endOffset: flushedOffset,
              acknowledged: r.next() === 1,
              lastFetchTimestamp: -1,
              lastCaughtUpTimestamp: -1,
            }
          : readProgress(r, i + 1),
      );
      const observerStates = Array.from({ length: r.next() }, () => readProgress(r, r.next()));
      const fetchedVoters = idsOfMask(r.next(), total);
      const parkedFetches: ParkedFetch[] = Array.from({ length: r.next() }, () => ({
        replicaId: r.next(),
        fetchOffset: r.next(),
        correlationId: r.next(),
      }));
      return {
        _tag: "Leader",
        epochStartOffset,
        highWatermark,
        voterStates,
        observerStates,
        fetchedVoters,
        parkedFetches,
      };
    }
    default:
      throw new Error("state codec: unknown role");
  }
};

const readSlot = (r: WordReader, cluster: ClusterSpec, index: number, total: number): NodeSlot => {
  const epoch = r.next();
  let persisted: ElectionState | null = null;
  if (epoch !== -2) {
    const leaderId = r.next();
    persisted = withKey({ epoch, leaderId }, readKey(r));
  }
  const entries = readWords(r, r.next());
  const durable = r.next();
  const diskFlags = r.next();
  const lostFrom = r.next();
  const lost = lostFrom < 0 ? [] : readWords(r, r.next());
  const startOffset = r.next();
  const snapshots = readSnapshots(r);
  const partialEnd = r.next();
  const partial =
    partialEnd < 0
      ? null
      : { endOffset: partialEnd, epoch: r.next(), entries: Array.from({ length: r.next() }, () => r.next()) };
  const disk = {
    persisted,
    entries,
    durable,
    flushRequested: (diskFlags & 1) !== 0,
    recovering: (diskFlags & 2) !== 0,
    lostFrom,
    lost,
    startOffset,
    snapshots,
    partial,
  };
  const running = r.next();
  if (running === 0) return { state: null, ...disk };
  let shape = logStateOf(entries, startOffset, snapshots);
  if (running === 2) {
    const logStart = r.next();
    const endOffset = r.next();
    const epochs = Array.from({ length: r.next() }, () => ({ epoch: r.next(), startOffset: r.next() }));
    const claimed = readSnapshots(r);
    shape = { startOffset: logStart, endOffset, flushedOffset: endOffset, epochs };
    if (claimed.length > 0) shape = { ...shape, snapshots: claimed };
  }
  const config = nodeConfig(cluster, index + 1);
  const nodeEpoch = r.next();
  const highWatermark = r.next();
  const flushedOffset = r.next();
  const bootstrapCursor = r.next();
  const quietLeaderId = r.next();
  const flags = r.next();
  const shuttingDown = (flags & 1) !== 0;
  const recovering = (flags & 2) !== 0;
  const timerBits = r.next();
  const timers = TIMERS.filter((_, i) => (timerBits & (1 << i)) !== 0);
  const inflight: InflightRequest[] = Array.from({ length: r.next() }, () => ({
    destination: r.next(),
    api: APIS[r.next()]!,
    correlationId: r.next(),
  }));
  const role = readRole(r, cluster, total, index, flushedOffset);
  const state: NodeState = {
    nodeId: index + 1,
    epoch: nodeEpoch,
    role,
    log: { ...shape, flushedOffset },
    highWatermark,
    voters: config.voters,
    inflight,
    timers,
    bootstrapCursor,
    quietLeaderId,
    shuttingDown,
    recovering,
    // The next correlation id follows the ones in flight (stale ones are 0 and match nothing).
    nextCorrelationId: inflight.length + 1,
  };
  return { state, ...disk };
};

/** The next `count` words as an array. */
const readWords = (r: WordReader, count: number): number[] => {
  const out = new Array<number>(count);
  for (let i = 0; i < count; i++) out[i] = r.next();
  return out;
};

const readBatches = (r: WordReader): RecordBatch[] =>
  Array.from({ length: r.next() }, () => ({ baseOffset: r.next(), epoch: r.next(), count: r.next() }));

const readMessage = (r: WordReader, cluster: ClusterSpec): RaftMessage => {
  const tag = MESSAGE_TAGS[r.next()];
  const clusterId = () => (r.next() === 1 ? null : cluster.clusterId);
  switch (tag) {
    case "VoteRequest":
      return {
        _tag: "VoteRequest",
        clusterId: clusterId(),
        voterId: r.next(),
        topicName: METADATA_TOPIC_NAME,
        partitionIndex: METADATA_PARTITION,
        replicaEpoch: r.next(),
        replicaId: r.next(),
        lastOffsetEpoch: r.next(),
        lastOffset: r.next(),
        preVote: r.next() === 1,
      };
    case "BeginQuorumEpochRequest":
      return {
        _tag: "BeginQuorumEpochRequest",
        clusterId: clusterId(),
        voterId: r.next(),
        topicName: METADATA_TOPIC_NAME,
        partitionIndex: METADATA_PARTITION,
        leaderId: r.next(),
        leaderEpoch: r.next(),
      };
    case "EndQuorumEpochRequest": {
      const id = clusterId();
      const leaderId = r.next();
      const leaderEpoch = r.next();
      const preferredCandidates = Array.from({ length: r.next() }, () => ({ id: r.next() }));
      return {
        _tag: "EndQuorumEpochRequest",
        clusterId: id,
        topicName: METADATA_TOPIC_NAME,
        partitionIndex: METADATA_PARTITION,
        leaderId,
        leaderEpoch,
        preferredCandidates,
      };
    }
    case "FetchRequest":
      return {
        _tag: "FetchRequest",
        clusterId: clusterId(),
        replicaId: r.next(),
        maxWaitMs: r.next(),
        topicId: METADATA_TOPIC_ID,
        partition: METADATA_PARTITION,
        currentLeaderEpoch: r.next(),
        fetchOffset: r.next(),
        lastFetchedEpoch: r.next(),
        ...optionalHighWatermark(r.next()),
      };
    case "VoteResponse":
      return {
        _tag: "VoteResponse",
        errorCode: ERROR_CODES[r.next()]!,
        leaderId: r.next(),
        leaderEpoch: r.next(),
        voteGranted: r.next() === 1,
      };
    case "BeginQuorumEpochResponse":
    case "EndQuorumEpochResponse":
      return { _tag: tag, errorCode: ERROR_CODES[r.next()]!, leaderId: r.next(), leaderEpoch: r.next() };
    case "FetchResponse": {
      const errorCode = ERROR_CODES[r.next()]!;
      const highWatermark = r.next();
      const logStartOffset = r.next();
      const divergingFirst = r.next();
      const divergingEpoch =
        divergingFirst === -2 ? undefined : { epoch: divergingFirst, endOffset: r.next() };
      const snapshotEnd = r.next();
      const snapshotId = snapshotEnd === -2 ? undefined : { endOffset: snapshotEnd, epoch: r.next() };
      const leaderId = r.next();
      const leaderEpoch = r.next();
      const records = readBatches(r);
      const base = {
        _tag: "FetchResponse" as const,
        errorCode,
        highWatermark,
        logStartOffset,
        leaderId,
        leaderEpoch,
        records,
      };
      const withDiverging = divergingEpoch === undefined ? base : { ...base, divergingEpoch };
      return snapshotId === undefined ? withDiverging : { ...withDiverging, snapshotId };
    }
    case "FetchSnapshotRequest":
      return {
        _tag: "FetchSnapshotRequest",
        clusterId: clusterId(),
        replicaId: r.next(),
        maxBytes: r.next(),
        topicName: METADATA_TOPIC_NAME,
        partitionIndex: METADATA_PARTITION,
        currentLeaderEpoch: r.next(),
        snapshotId: { endOffset: r.next(), epoch: r.next() },
        position: r.next(),
      };
    case "FetchSnapshotResponse":
      return {
        _tag: "FetchSnapshotResponse",
        errorCode: ERROR_CODES[r.next()]!,
        leaderId: r.next(),
        leaderEpoch: r.next(),
        snapshotId: { endOffset: r.next(), epoch: r.next() },
        size: r.next(),
        position: r.next(),
        bytes: r.next(),
      };
    default:
      throw new Error("state codec: unknown message");
  }
};

export const decodeWorld = (words: Int32Array, start: number, end: number, cluster: ClusterSpec): World => {
  const r = new WordReader(words, start, end);
  const broken = r.next() === 0 ? null : "a step property was broken before this state was encoded";
  const valuesAppended = r.next();
  const crashes = r.next();
  const duplicates = r.next();
  const faults = r.next();
  const corruptions = faults % FORGED_EPOCHS_UNIT;
  const forgedEpochs = Math.floor(faults / FORGED_EPOCHS_UNIT);
  const leaders = readWords(r, r.next());
  const committed = readWords(r, r.next());
  const total = cluster.voters + cluster.observers;
  const nodes = new Array<NodeSlot>(total);
  for (let i = 0; i < total; i++) nodes[i] = readSlot(r, cluster, i, total);
  const count = r.next();
  const network = new Array<Envelope>(count);
  for (let k = 0; k < count; k++) {
    const from = r.next();
    const to = r.next();
    const message = readMessage(r, cluster);
    const payloadLength = r.next();
    const payload = payloadLength < 0 ? null : readWords(r, payloadLength);
    const correlation = r.next();
    network[k] = { from, to, message, payload, correlationId: correlation === 0 ? undefined : correlation };
  }
  return {
    nodes,
    network,
    leaders,
    committed,
    valuesAppended,
    crashes,
    duplicates,
    corruptions,
    ...(forgedEpochs > 0 ? { forgedEpochs } : {}),
    broken,
  };
};
