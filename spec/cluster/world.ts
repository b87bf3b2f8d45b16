// A simulated cluster of nodes running the Raft reducers unchanged: the shell that the scenario
// transcripts, the property tests and the model checker share. It is pure: every operation returns
// a new world. It carries out effects as the runtime does — quorum-state writes are durable at once,
// log appends only once the world itself has flushed them — and it keeps the "ghost" history the
// cluster-wide properties need (which node led which epoch, what was ever committed). The disk is the
// world's: what a crash keeps is what the world wrote and flushed, never what a node's state claims.

import { checkEffect, checkStep } from "../invariants/transitions.ts";
import type { Mark } from "../marks.ts";
import type { RaftEffect, RaftInput } from "../raft/io.ts";
import { isRequest, type RaftMessage, requestApiOf } from "../raft/messages.ts";
import type { Listener, Voter } from "../raft/primitives.ts";
import { SUPPORTED_KRAFT_VERSIONS } from "../raft/primitives.ts";
import { initialize } from "../raft/startup.ts";
import type {
  ElectionState,
  LogState,
  NodeState,
  RaftConfig,
  SnapshotInfo,
  VoterSetEntry,
} from "../raft/state.ts";
import { makeConfig } from "../raft/state.ts";
import { step } from "../raft/step.ts";
import { supportedKraftVersionsOf } from "../raft/update-voter-set.ts";

/**
 * A record as the world stores it: the epoch that wrote it and its value: 0 for a LeaderChange, a
 * client's value below VOTERS_RECORD, and for a VotersRecord (R90) VOTERS_RECORD plus the bit mask of
 * its voter ids (bit i-1 for node i), MAX_DYNAMIC_NODES bits up of those named by the directory id of
 * a replaced disk (R100), and MAX_DYNAMIC_NODES bits further up of those whose entry names the moved
 * controller listener (R99). Every entry names one controller listener and openkraft's kraft.version
 * range, as the world's nodes have them. Records of the other kinds are epoch * 2^16 + value; a
 * VotersRecord, whose value needs more bits, is negative (-1 - (epoch * 2^22 + its bits)), so that the
 * static worlds' records keep their numbers.
 */
export type Entry = number;
const VALUE_BITS = 65536;
const VOTERS_VALUE_BITS = 2 ** 22;
export const VOTERS_RECORD = 0x8000;
export const makeEntry = (epoch: number, value: number): Entry =>
  value < VOTERS_RECORD
    ? epoch * VALUE_BITS + value
    : -1 - (epoch * VOTERS_VALUE_BITS + value - VOTERS_RECORD);
export const entryEpoch = (entry: Entry): number =>
  entry >= 0 ? Math.floor(entry / VALUE_BITS) : Math.floor((-1 - entry) / VOTERS_VALUE_BITS);
export const entryValue = (entry: Entry): number =>
  entry >= 0 ? entry % VALUE_BITS : VOTERS_RECORD + ((-1 - entry) % VOTERS_VALUE_BITS);
/** Whether a record is a client's value (not a control record). */
export const isClientValue = (value: number): boolean => value > 0 && value < VOTERS_RECORD;

/**
 * The directory id of node `id` in a kraft.version 1 cluster: its Uuid with value `id` (R5), or with
 * value 2^64 + `id` once its disk was replaced and formatted anew (R100).
 */
export const directoryIdOf = (id: number, replaced = false): string =>
  `AAAAAAAAAAAAAAAAAAA${replaced ? "B" : "A"}${String.fromCharCode(65 + (id >> 6))}${"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[id & 63]}`;

/** The most nodes a kraft.version 1 world holds: a VotersRecord value keeps two bits per node. */
export const MAX_DYNAMIC_NODES = 7;

/** Whether an entry names node `id`'s controller listener as it is after a move (R99), or before. */
const listenerMoved = (v: Voter): boolean => {
  const listeners = v.listeners ?? [];
  const [only] = listeners;
  const range = v.supportedKraftVersions ?? SUPPORTED_KRAFT_VERSIONS;
  for (const moved of [false, true]) {
    const expected = controllerListenersOf(v.id, moved)[0]!;
    if (
      listeners.length === 1 &&
      only?.name === expected.name &&
      only.host === expected.host &&
      only.port === expected.port &&
      range.minSupportedVersion === SUPPORTED_KRAFT_VERSIONS.minSupportedVersion &&
      range.maxSupportedVersion === SUPPORTED_KRAFT_VERSIONS.maxSupportedVersion
    )
      return moved;
  }
  throw new Error(
    `a simulated VotersRecord names node ${v.id}'s controller listener and openkraft's kraft.version range, not ${JSON.stringify(v)}`,
  );
};

/** R90: the value the world stores for a VotersRecord naming `voters`. */
export const votersRecordValue = (voters: readonly Voter[]): number => {
  let bits = 0;
  for (const v of voters) {
    if (v.id < 1 || v.id > MAX_DYNAMIC_NODES)
      throw new Error(`a simulated VotersRecord names nodes 1..${MAX_DYNAMIC_NODES}, not ${v.id}`);
    bits |= 1 << (v.id - 1);
    if (v.directoryId === directoryIdOf(v.id, true)) bits |= 1 << (v.id - 1 + MAX_DYNAMIC_NODES);
    if (listenerMoved(v)) bits |= 1 << (v.id - 1 + 2 * MAX_DYNAMIC_NODES);
  }
  return VOTERS_RECORD + bits;
};

/** Whether the entry of node `id` in a stored VotersRecord value names its moved listener (R99). */
const movedInValue = (value: number, id: number): boolean =>
  ((value - VOTERS_RECORD) & (1 << (id - 1 + 2 * MAX_DYNAMIC_NODES))) !== 0;

/** The keys (voterKey) of the voters a stored VotersRecord value names, in id order. */
export const voterKeysOfValue = (value: number): number[] => {
  const keys: number[] = [];
  const bits = value - VOTERS_RECORD;
  for (let i = 0; i < MAX_DYNAMIC_NODES; i++)
    if ((bits & (1 << i)) !== 0)
      keys.push((i + 1) * 2 + ((bits & (1 << (i + MAX_DYNAMIC_NODES))) !== 0 ? 1 : 0));
  return keys;
};

/** A voter's label (voterLabel) from its key. */
export const labelOfVoterKey = (key: number): string => `${key >> 1}${(key & 1) === 1 ? "'" : ""}`;

/** The voter set a stored VotersRecord value names (directory ids and listeners as the world gives them). */
export const votersOfValue = (value: number): Voter[] =>
  voterKeysOfValue(value).map((key) => ({
    id: key >> 1,
    directoryId: directoryIdOf(key >> 1, (key & 1) === 1),
    listeners: controllerListenersOf(key >> 1, movedInValue(value, key >> 1)),
    supportedKraftVersions: SUPPORTED_KRAFT_VERSIONS,
  }));

/** Whether a stored value is a VotersRecord. */
export const isVotersValue = (value: number): boolean => value >= VOTERS_RECORD;

/** The directory ids of replaced disks (R100), by node id, made once. */
const REPLACED_DIRECTORY_IDS: readonly string[] = Array.from({ length: MAX_DYNAMIC_NODES + 1 }, (_, id) =>
  directoryIdOf(id, true),
);

/** Whether a voter names a replaced disk (R100). */
const isReplacedDisk = (v: Voter): boolean =>
  v.directoryId !== undefined &&
  v.directoryId === (REPLACED_DIRECTORY_IDS[v.id] ?? directoryIdOf(v.id, true));

/** A voter as transcripts show it: its id, primed when it names a replaced disk (R100). */
export const voterLabel = (v: Voter): string => labelOfVoterKey(voterKey(v));

/** A voter as a number that tells apart what its label does: twice its id, plus one when primed. */
export const voterKey = (v: Voter): number => v.id * 2 + (isReplacedDisk(v) ? 1 : 0);

/** An id a voter list names more than once, or null. */
const repeatedVoterId = (voters: readonly Voter[]): number | null => {
  for (let i = 1; i < voters.length; i++)
    for (let j = 0; j < i; j++) if (voters[i]!.id === voters[j]!.id) return voters[i]!.id;
  return null;
};

/** Whether two voter lists name the same voters by label, in any order (R5, R100). */
export const sameVoterKeys = (a: readonly Voter[], b: readonly Voter[]): boolean => {
  if (a.length !== b.length) return false;
  // Mostly the same voters in the same order.
  if (a.every((v, i) => v.id === b[i]!.id && v.directoryId === b[i]!.directoryId)) return true;
  const keysOfA = a.map(voterKey).sort((x, y) => x - y);
  const keysOfB = b.map(voterKey).sort((x, y) => x - y);
  return keysOfA.every((key, i) => key === keysOfB[i]);
};

/** A stored record as transcripts show it: `epoch:c` (LeaderChange), `epoch:vN`, `epoch:voters=1,2'`. */
export const formatEntry = (entry: Entry): string => {
  const value = entryValue(entry);
  const shown =
    value === 0
      ? "c"
      : isVotersValue(value)
        ? `voters=${votersOfValue(value)
            .map((v) => `${voterLabel(v)}${movedInValue(value, v.id) ? "@moved" : ""}`)
            .join(",")}`
        : `v${value}`;
  return `${entryEpoch(entry)}:${shown}`;
};

export interface NodeSlot {
  /** The running node, or null while it is crashed. */
  readonly state: NodeState | null;
  /** quorum-state as on disk. */
  readonly persisted: ElectionState | null;
  /** The log's records as the process sees them (written, not necessarily flushed). */
  readonly entries: readonly Entry[];
  /**
   * How many of `entries` are on disk: the world flushed them (a truncation is durable at once, as
   * the runtime fsyncs it). A crash keeps exactly these; they are always a prefix of `entries`.
   */
  readonly durable: number;
  /** A FlushLog is outstanding. */
  readonly flushRequested: boolean;
  /**
   * The shell's durable mark that records were cut from this disk that may have been acknowledged
   * (R146): set when the world corrupts the disk, passed to every start, cleared by RecoveryComplete.
   */
  readonly recovering: boolean;
  /**
   * Ghost: the records a corruption cut from this disk, from offset `lostFrom` (-1: none), kept until
   * the disk holds that many records again. A voter that lost a committed record this way still
   * counts as holding it for CommittedDurability: the fault, not the protocol, took it.
   */
  readonly lostFrom: number;
  readonly lost: readonly Entry[];
  /**
   * The log start on disk (R79): records below it are no longer in the log, and `entries` keeps them
   * only as the content of the snapshots (each snapshot's content is the prefix it replaces).
   */
  readonly startOffset: number;
  /** The snapshots on disk, oldest first (R77, R79); their `size` is their end offset here. */
  readonly snapshots: readonly SnapshotInfo[];
  /** A snapshot being downloaded (R83), with the records received so far; a crash loses it. */
  readonly partial: SnapshotDownloadOnDisk | null;
  /** The disk was replaced and formatted anew: the node has a new directory id (R100); absent: never. */
  readonly replaced?: true;
}

export interface SnapshotDownloadOnDisk {
  readonly endOffset: number;
  readonly epoch: number;
  readonly entries: readonly Entry[];
}

/**
 * A message in flight, with the correlation id of its request/response pair (as Kafka's request
 * header carries it). A Fetch response carries the values of its records, as the wire would.
 */
export interface Envelope {
  readonly from: number;
  readonly to: number;
  readonly message: RaftMessage;
  readonly correlationId: number | undefined;
  readonly payload: readonly Entry[] | null;
}

export interface World {
  readonly nodes: readonly NodeSlot[];
  readonly network: readonly Envelope[];
  /** Ghost: leaders[e] is the node that became leader of epoch e, or -1. */
  readonly leaders: readonly number[];
  /** Ghost: the longest log prefix any leader ever committed. */
  readonly committed: readonly Entry[];
  readonly valuesAppended: number;
  readonly crashes: number;
  readonly duplicates: number;
  /** Disks the world corrupted so far. */
  readonly corruptions: number;
  /** Disks the world replaced so far (absent: none). */
  readonly diskReplacements?: number;
  /** AddRaftVoter and RemoveRaftVoter requests operators sent so far (absent: none). */
  readonly voterChanges?: number;
  /** Fetch answers the network delivered with a forged batch epoch so far (absent: none). */
  readonly forgedEpochs?: number;
  /** The first transition property this history broke, if any (see spec/invariants). */
  readonly broken: string | null;
}

export interface ClusterSpec {
  readonly voters: number;
  readonly observers: number;
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  readonly clusterId: string;
  /** R63, KIP-1166: whether fetches carry the replica's high watermark (absent: they do). */
  readonly fetchHighWatermark?: boolean;
  /** R82: how many records (bytes here: one per record) one FetchSnapshot answer carries at most. */
  readonly snapshotChunk?: number;
  /**
   * R89: kraft.version 1: every node has a directory id, nodes 1..voters are the bootstrap voter set
   * (R92), and VotersRecords in the log change it (R91). Absent: 0, static voters.
   */
  readonly kraftVersion?: 1;
  /** R150: the nodes with auto-join on (controller.quorum.auto.join.enable); absent: none. */
  readonly autoJoin?: readonly number[];
  /** R96: nodes of a release before KIP-853, which support kraft.version 0 only; absent: none. */
  readonly kraftVersion0Only?: readonly number[];
  /**
   * R99: nodes whose controller listener moved (another port) since their disks were formatted: their
   * configuration names the new one, their bootstrap entry the old; absent: none.
   */
  readonly movedListeners?: readonly number[];
}

export const DEFAULT_CLUSTER: ClusterSpec = {
  voters: 3,
  observers: 0,
  preVote: true,
  checkQuorum: true,
  clusterId: "openkraft-sim",
};

/** Node ids are 1..voters for voters, then the observers. */
export const nodeIdOf = (index: number): number => index + 1;
export const indexOfNode = (id: number): number => id - 1;

/** The bootstrap voters: nodes 1..voters, with their directory ids under kraft.version 1. */
export const bootstrapVoters = (cluster: ClusterSpec): Voter[] =>
  Array.from({ length: cluster.voters }, (_, i) =>
    cluster.kraftVersion === 1
      ? {
          id: nodeIdOf(i),
          directoryId: directoryIdOf(nodeIdOf(i)),
          // R90: as `kraft format --initial-controllers` writes them: the controller listener, 0 to 1.
          listeners: controllerListenersOf(nodeIdOf(i)),
          supportedKraftVersions: SUPPORTED_KRAFT_VERSIONS,
        }
      : { id: nodeIdOf(i) },
  );

/**
 * R92: what a disk formatted with no voter (a replaced disk) starts from: the bootstrap servers, which
 * are the other initial controllers, known by their ids alone. It learns the voters from the log (R55).
 */
const bootstrapServers = (cluster: ClusterSpec, id: number): Voter[] =>
  bootstrapVoters(cluster)
    .filter((v) => v.id !== id)
    .map((v) => ({ id: v.id }));

const makeNodeConfig = (cluster: ClusterSpec, id: number, replaced: boolean): RaftConfig =>
  makeConfig({
    nodeId: id,
    clusterId: cluster.clusterId,
    // R92: an initial controller's disk holds the bootstrap set; an observer's and a replaced disk's
    // (formatted with --no-initial-controllers) name no voter.
    voters:
      cluster.kraftVersion === 1 && (replaced || id > cluster.voters)
        ? bootstrapServers(cluster, id)
        : bootstrapVoters(cluster),
    ...(cluster.kraftVersion === 1 ? { kraftVersion: 1, directoryId: directoryIdOf(id, replaced) } : {}),
    preVote: cluster.preVote,
    checkQuorum: cluster.checkQuorum,
    ...(cluster.fetchHighWatermark === false ? { fetchHighWatermark: false } : {}),
    ...(cluster.snapshotChunk === undefined ? {} : { fetchSnapshotMaxBytes: cluster.snapshotChunk }),
    ...(cluster.kraftVersion === 1
      ? { listeners: controllerListenersOf(id, cluster.movedListeners?.includes(id) === true) }
      : {}),
    ...(cluster.autoJoin?.includes(id) === true ? { autoJoin: true } : {}),
    ...(cluster.kraftVersion0Only?.includes(id) === true
      ? { supportedKraftVersions: { minSupportedVersion: 0, maxSupportedVersion: 0 } }
      : {}),
  });

// Configurations are immutable values; building them once per cluster keeps them off the hot path.
const configs = new WeakMap<ClusterSpec, RaftConfig[]>();

/**
 * Node `id`'s configuration; `replaced`: after its disk was replaced, with the directory id of the new
 * disk (R100). A replaced disk, formatted with `--no-initial-controllers`, finds the leader through
 * the other initial controllers, knowing no voter (R92).
 */
export const nodeConfig = (cluster: ClusterSpec, id: number, replaced = false): RaftConfig => {
  let list = configs.get(cluster);
  const total = cluster.voters + cluster.observers;
  if (list === undefined) {
    list = Array.from({ length: 2 * total }, (_, i) =>
      makeNodeConfig(cluster, nodeIdOf(i % total), i >= total),
    );
    configs.set(cluster, list);
  }
  return list[id - 1 + (replaced ? total : 0)] ?? makeNodeConfig(cluster, id, replaced);
};

/** The configuration node `index` of the world runs with (its disk's directory id). */
export const slotConfig = (world: World, cluster: ClusterSpec, index: number): RaftConfig =>
  nodeConfig(cluster, nodeIdOf(index), world.nodes[index]?.replaced === true);

/** R91: the VotersRecords among stored records from the log start on, and the one in force there. */
const voterSetsOfEntries = (entries: readonly Entry[], startOffset: number): VoterSetEntry[] => {
  const voterSets: VoterSetEntry[] = [];
  for (let offset = 0; offset < entries.length; offset++) {
    const value = entryValue(entries[offset]!);
    if (!isVotersValue(value)) continue;
    if (offset < startOffset) voterSets.length = 0;
    voterSets.push({ offset, voters: votersOfValue(value) });
  }
  return voterSets;
};

/**
 * The log shape of stored entries, all of them durable: the log from `startOffset` on, and the
 * snapshots (R77) that replace what lies below it.
 */
export const logStateOf = (
  entries: readonly Entry[],
  startOffset = 0,
  snapshots: readonly SnapshotInfo[] = [],
): LogState => {
  const epochs: { epoch: number; startOffset: number }[] = [];
  for (let offset = startOffset; offset < entries.length; offset++) {
    const epoch = entryEpoch(entries[offset]!);
    if (epochs.length === 0 || epochs[epochs.length - 1]!.epoch !== epoch)
      epochs.push({ epoch, startOffset: offset });
  }
  const end = Math.max(entries.length, startOffset);
  const log: LogState = { startOffset, endOffset: end, flushedOffset: end, epochs };
  const voterSets = voterSetsOfEntries(entries, startOffset);
  const withSets = voterSets.length === 0 ? log : { ...log, voterSets };
  return snapshots.length === 0 ? withSets : { ...withSets, snapshots };
};

/** A process start is not a reducer input; traces show it as this pseudo-input. */
export interface StartInput {
  readonly _tag: "Start";
}

export interface StepTrace {
  readonly node: number;
  readonly input: RaftInput | StartInput;
  /** null for a process start. */
  readonly before: NodeState | null;
  readonly after: NodeState;
  readonly effects: readonly RaftEffect[];
  /** The rule branches the step took (spec/marks.ts). */
  readonly marks?: readonly Mark[];
  /** For a process start: the configuration it started with. */
  readonly config?: RaftConfig;
  /** For a process start: what its storage held (quorum-state, the durable log, the recovery mark). */
  readonly storage?: {
    readonly quorumState: ElectionState | null;
    readonly log: LogState;
    readonly recovering?: boolean;
    readonly firstCorrelationId?: number;
  };
}

export interface Outcome {
  readonly world: World;
  /** The reducer steps this operation caused, in order (a restart has before = after). */
  readonly steps: readonly StepTrace[];
}

/**
 * R74's free choice made another way: node `index`'s fetch for the leader, in flight, goes to voter
 * `to` instead, as if its rotation had stood there (the cursor moves with it). What an
 * implementation that picks voters otherwise does; `kraft conformance explore` follows it with this,
 * and the transcripts say `redirect N TO`. Null when the node has no such fetch in flight or `to` is
 * not a voter.
 */
export const redirectLeaderlessFetch = (world: World, index: number, to: number): World | null => {
  const slot = world.nodes[index];
  const state = slot?.state;
  if (slot === undefined || state == null) return null;
  const redirected = redirectFetchState(state, to);
  if (redirected === null) return null;
  const from = nodeIdOf(index);
  const position = world.network.findIndex(
    (e) =>
      e.from === from &&
      e.to === redirected.from &&
      e.correlationId === redirected.correlationId &&
      e.message._tag === "FetchRequest",
  );
  if (position < 0) return null;
  const network = world.network.slice();
  network[position] = { ...network[position]!, to };
  return { ...replaceNode(world, index, { ...slot, state: redirected.state }), network };
};

/**
 * The node side of redirectLeaderlessFetch: a leaderless node's fetch in flight recorded as sent to
 * voter `to`, its rotation standing there. Null when there is no such fetch or `to` is not a voter.
 */
export const redirectFetchState = (
  state: NodeState,
  to: number,
): { readonly state: NodeState; readonly from: number; readonly correlationId: number } | null => {
  if (state.role._tag !== "Unattached") return null;
  const cursor = state.voters.findIndex((v) => v.id === to);
  const request = state.inflight.find((r) => r.api === "Fetch");
  if (cursor < 0 || request === undefined) return null;
  return {
    state: {
      ...state,
      bootstrapCursor: cursor,
      inflight: state.inflight.map((r) => (r === request ? { ...r, destination: to } : r)),
    },
    from: request.destination,
    correlationId: request.correlationId,
  };
};

const replaceNode = (world: World, index: number, slot: NodeSlot): World => {
  const nodes = world.nodes.slice();
  nodes[index] = slot;
  return { ...world, nodes };
};

/**
 * The value the world stores for record `i` of an AppendRecords (0 for a control record): the
 * payload the shell holds for the input being handled.
 */
export type PayloadOf = (effect: Extract<RaftEffect, { _tag: "AppendRecords" }>, i: number) => number;

/** Payloads of a client's values, or of the Fetch answer being handled (R63(c)). */
const payloadSource =
  (clientValues: readonly number[], fetched: Envelope | null): PayloadOf =>
  (effect, i) => {
    if (effect.control?._tag === "VotersRecord") return votersRecordValue(effect.control.voters);
    if (effect.control !== undefined) return 0;
    if (fetched?.payload) {
      const base = (fetched.message as { records: readonly { baseOffset: number }[] }).records[0]!.baseOffset;
      return entryValue(fetched.payload[effect.baseOffset + i - base] ?? 0);
    }
    return clientValues[i] ?? clientValues[0] ?? 0;
  };

/**
 * The node's log shape against the world's records: the same end and epochs (its appends and
 * truncations are what it thinks they are), and nothing counted as flushed that the world has not
 * flushed (LogShapeMatchesDisk, FlushedWithinDisk; R16, R67).
 */
const logClaimProblem = (
  id: number,
  state: NodeState,
  entries: readonly Entry[],
  durable: number,
  startOffset: number,
  snapshots: readonly SnapshotInfo[],
): string | null => {
  const log = state.log;
  if (log.endOffset !== entries.length) {
    return `LogShapeMatchesDisk: node ${id} believes its log ends at ${log.endOffset}, but its appends and truncations left ${entries.length} records (R67)`;
  }
  if (log.startOffset !== startOffset) {
    return `LogShapeMatchesDisk: node ${id} believes its log starts at ${log.startOffset}, but its disk's starts at ${startOffset} (R79)`;
  }
  const claimed = log.snapshots ?? [];
  if (
    claimed.length !== snapshots.length ||
    claimed.some((x, i) => x.endOffset !== snapshots[i]!.endOffset || x.epoch !== snapshots[i]!.epoch)
  ) {
    return `LogShapeMatchesDisk: node ${id} believes it has snapshots ${claimed.map((x) => `${x.endOffset}-${x.epoch}`).join(",") || "none"}, but its disk holds ${snapshots.map((x) => `${x.endOffset}-${x.epoch}`).join(",") || "none"} (R77, R79)`;
  }
  // R79 (SnapshotAtLogStart): once the log start is above 0, a snapshot ends exactly there.
  if (startOffset > 0 && snapshots[0]?.endOffset !== startOffset) {
    return `SnapshotAtLogStart: node ${id}'s log starts at ${startOffset}, but its oldest snapshot ends at ${snapshots[0]?.endOffset ?? "none"} (R79, R134)`;
  }
  let run = -1;
  let at = 0;
  for (let offset = startOffset; offset < entries.length; offset++) {
    const epoch = entryEpoch(entries[offset]!);
    if (epoch === run) continue;
    run = epoch;
    const cached = log.epochs[at++];
    if (cached === undefined || cached.epoch !== epoch || cached.startOffset !== offset) {
      return `LogShapeMatchesDisk: node ${id}'s epoch cache does not match its records at offset ${offset} (R3, R67)`;
    }
  }
  if (at !== log.epochs.length)
    return `LogShapeMatchesDisk: node ${id}'s epoch cache names an epoch its records do not hold (R67)`;
  // R91: the VotersRecords the node counts are those its records hold, and its voter set the newest
  // (keys compared as sets: the order a record lists them in is not the world's to keep; a replaced
  // disk's key is primed, R5, R100).
  const ids = (voters: readonly Voter[]): string => voters.map(voterLabel).sort().join(",");
  const shown = (sets: readonly VoterSetEntry[]): string =>
    sets.map((x) => `${x.offset}:${ids(x.voters)}`).join(" ") || "none";
  const claimedSets = log.voterSets ?? [];
  // R96: a voter set names each id once (a leader refuses an id it holds with DUPLICATE_VOTER, and
  // Kafka's voter sets are keyed by id). Checked first: the world's records keep one key per id.
  const twice = repeatedVoterId(state.voters);
  if (twice !== null)
    return `VoterIdsUnique: node ${id} uses voters ${ids(state.voters)}, which name node ${twice} twice (R96)`;
  for (const set of claimedSets) {
    const repeated = repeatedVoterId(set.voters);
    if (repeated !== null)
      return `VoterIdsUnique: node ${id} counts voters ${ids(set.voters)} from offset ${set.offset}, which name node ${repeated} twice (R96)`;
  }
  const diskSets = voterSetsOfEntries(entries, startOffset);
  if (
    claimedSets.length !== diskSets.length ||
    claimedSets.some(
      (x, i) => x.offset !== diskSets[i]!.offset || !sameVoterKeys(x.voters, diskSets[i]!.voters),
    )
  )
    return `VoterSetMatchesLog: node ${id} counts voter sets ${shown(claimedSets)}, but its records hold ${shown(diskSets)} (R91)`;
  const newest = diskSets[diskSets.length - 1];
  if (newest !== undefined && !sameVoterKeys(state.voters, newest.voters))
    return `VoterSetMatchesLog: node ${id} uses voters ${ids(state.voters)}, but the newest VotersRecord in its log names ${ids(newest.voters)} (R91)`;
  if (log.flushedOffset > durable) {
    return `FlushedWithinDisk: node ${id} counts ${log.flushedOffset} records as flushed, but only ${durable} reached the disk (R16)`;
  }
  return null;
};

/**
 * Carry out one step's effects in order, as the runtime would, checking the transition properties
 * that only the effect stream can show (R14, R16, R144).
 */
export const applyEffects = (
  world: World,
  index: number,
  before: NodeState | null,
  after: NodeState,
  effects: readonly RaftEffect[],
  payloadOf: PayloadOf,
  request: RaftMessage | null,
  /** The records of the FetchSnapshot answer being handled (R83), for WriteSnapshotChunk. */
  chunk: readonly Entry[] | null = null,
  /** The node's bootstrap voter set (R92), which FlushedFetchOffset needs once voter sets change. */
  bootstrapVoters?: readonly Voter[],
): World => {
  const id = nodeIdOf(index);
  let slot = world.nodes[index]!;
  let network: Envelope[] | null = null;
  let committed = world.committed;
  let broken = world.broken;
  let entries = slot.entries;
  let durable = slot.durable;
  let persisted = slot.persisted;
  let flushRequested = slot.flushRequested;
  let recovering = slot.recovering;
  let startOffset = slot.startOffset;
  let snapshots = slot.snapshots;
  let partial = slot.partial;
  let loaded = false;
  // R98: a leader that commits its own removal resigns in the same step, and still committed as leader.
  const ledBefore = before?.role._tag === "Leader" && before.epoch === after.epoch;
  for (const effect of effects) {
    broken ??= checkEffect(effect, {
      id,
      persisted,
      entries,
      durable,
      committed,
      state: after,
      request,
      ledBefore,
      ...(bootstrapVoters === undefined ? {} : { bootstrapVoters }),
    });
    switch (effect._tag) {
      case "Send": {
        let payload: Entry[] | null = null;
        if (effect.message._tag === "FetchResponse" && effect.message.records.length > 0) {
          const first = effect.message.records[0]!.baseOffset;
          const last = effect.message.records[effect.message.records.length - 1]!;
          payload = entries.slice(first, last.baseOffset + last.count);
        }
        if (effect.message._tag === "FetchSnapshotResponse" && effect.message.bytes > 0) {
          const { position, bytes } = effect.message;
          payload = entries.slice(position, position + bytes);
        }
        network ??= world.network.slice();
        network.push({
          from: id,
          to: effect.to,
          message: effect.message,
          correlationId: effect.correlationId,
          payload,
        });
        break;
      }
      case "PersistElectionState":
        persisted =
          effect.votedKey === undefined
            ? { epoch: effect.epoch, leaderId: effect.leaderId }
            : { epoch: effect.epoch, leaderId: effect.leaderId, votedKey: effect.votedKey };
        break;
      case "AppendRecords": {
        if (effect.baseOffset !== entries.length) {
          // The disk only grows at its end; anything else would leave an unflushed record inside the
          // durable prefix (R66, R67: a log is truncated before it is overwritten).
          broken ??= `AppendAtLogEnd: node ${id} appended at offset ${effect.baseOffset} but its log ends at ${entries.length} (R66, R67)`;
          break;
        }
        const next = entries.slice();
        for (let i = 0; i < effect.count; i++)
          next[effect.baseOffset + i] = makeEntry(effect.epoch, payloadOf(effect, i));
        entries = next;
        break;
      }
      case "TruncateLog":
        // The runtime fsyncs a truncation, so the disk loses the records at once.
        if (effect.offset < entries.length) entries = entries.slice(0, effect.offset);
        durable = Math.min(durable, entries.length);
        break;
      case "FlushLog":
        flushRequested = true;
        break;
      case "RecoveryComplete":
        recovering = false;
        break;
      case "WriteSnapshot":
        broken ??= snapshotContentProblem(id, "wrote", effect.endOffset, entries, committed);
        snapshots = [
          ...snapshots,
          { endOffset: effect.endOffset, epoch: effect.epoch, size: effect.endOffset },
        ];
        break;
      case "DeleteLogBefore":
        startOffset = effect.offset;
        snapshots = snapshots.filter((x) => x.endOffset >= effect.offset);
        durable = Math.max(durable, Math.min(effect.offset, entries.length));
        break;
      case "WriteSnapshotChunk": {
        const received = chunk ?? [];
        if (effect.position === 0) {
          partial = { endOffset: effect.endOffset, epoch: effect.epoch, entries: received };
        } else if (
          partial === null ||
          partial.endOffset !== effect.endOffset ||
          partial.epoch !== effect.epoch ||
          partial.entries.length !== effect.position
        ) {
          broken ??= `SnapshotChunkInOrder: node ${id} wrote snapshot ${effect.endOffset}-${effect.epoch} at byte ${effect.position}, but its partial download holds ${partial === null ? "nothing" : `${partial.endOffset}-${partial.epoch} up to ${partial.entries.length}`} (R83)`;
        } else {
          partial = { ...partial, entries: [...partial.entries, ...received] };
        }
        break;
      }
      case "InstallSnapshot": {
        const downloaded = partial?.entries ?? [];
        if (
          partial === null ||
          partial.endOffset !== effect.endOffset ||
          partial.epoch !== effect.epoch ||
          downloaded.length !== effect.endOffset
        ) {
          broken ??= `SnapshotDownloadedWhole: node ${id} installed snapshot ${effect.endOffset}-${effect.epoch} but downloaded ${downloaded.length} of its records (R83)`;
          break;
        }
        broken ??= snapshotContentProblem(id, "installed", effect.endOffset, downloaded, committed);
        entries = downloaded;
        durable = downloaded.length;
        startOffset = effect.endOffset;
        snapshots = [{ endOffset: effect.endOffset, epoch: effect.epoch, size: effect.endOffset }];
        partial = null;
        break;
      }
      case "LoadSnapshot":
        loaded = true;
        // R84, R134: a replica the listener knows as leader never loads a snapshot.
        if (before?.role._tag === "Leader")
          broken ??= `LeaderNeverLoadSnapshot: node ${id} leads epoch ${before.epoch} and loads snapshot ${effect.endOffset}-${effect.epoch} (R84, R134)`;
        break;
      case "HighWatermarkUpdated":
        if ((after.role._tag === "Leader" || ledBefore) && effect.offset > committed.length)
          committed = entries.slice(0, effect.offset);
        break;
      case "AppendAccepted":
        // R87: only the leader of exactly that epoch takes a write; any other role refuses it.
        if (
          world.leaders[effect.epoch] !== id ||
          after.role._tag !== "Leader" ||
          after.epoch !== effect.epoch
        ) {
          broken ??= `AcceptedOnlyByLeader: node ${id} accepted a client write in epoch ${effect.epoch} as ${after.role._tag} of epoch ${after.epoch} (R87)`;
        }
        break;
      default:
        break;
    }
  }
  // R84 (ListenerLoadsSnapshot): a listener whose next offset falls below the log start loads a
  // snapshot after an install, and a new listener (a process start) loads the newest one there is.
  const mustLoad =
    effects.some((e) => e._tag === "InstallSnapshot") || (before === null && snapshots.length > 0);
  if (mustLoad && !loaded)
    broken ??= `ListenerLoadsSnapshot: node ${id}'s log starts at ${startOffset}, beyond what its listener has, and it was not told to load a snapshot (R84)`;
  // What the node believes of its log must be what its effects did to the world's disk (R16, R67).
  broken ??= logClaimProblem(id, after, entries, durable, startOffset, snapshots);
  slot = settleLost({
    ...slot,
    state: after,
    persisted,
    entries,
    durable,
    flushRequested,
    recovering,
    startOffset,
    snapshots,
    partial,
  });
  let leaders = world.leaders;
  if (after.role._tag === "Leader" && before?.role._tag !== "Leader") {
    const previous = leaders[after.epoch] ?? -1;
    if (previous >= 0 && previous !== id)
      broken ??= `ElectionSafety: epoch ${after.epoch} had leader ${previous}, now ${id}`;
    if (previous !== id) {
      const next = leaders.slice();
      while (next.length <= after.epoch) next.push(-1);
      next[after.epoch] = id;
      leaders = next;
    }
  }
  broken ??= checkStep(before, after);
  const result: World = { ...replaceNode(world, index, slot), committed, leaders, broken };
  return network === null ? result : { ...result, network };
};

/**
 * R77, R135 (SnapshotMatchesCommitted): a snapshot holds exactly the committed prefix it replaces;
 * one that ends beyond anything ever committed, or differs from it, breaks the property.
 */
const snapshotContentProblem = (
  id: number,
  verb: string,
  endOffset: number,
  entries: readonly Entry[],
  committed: readonly Entry[],
): string | null => {
  if (endOffset > committed.length)
    return `SnapshotMatchesCommitted: node ${id} ${verb} a snapshot ending at ${endOffset}, beyond the ${committed.length} records ever committed (R77, R144)`;
  for (let offset = 0; offset < endOffset; offset++) {
    if (entries[offset] !== committed[offset])
      return `SnapshotMatchesCommitted: node ${id} ${verb} a snapshot whose record at offset ${offset} is not the committed one (R77, R135)`;
  }
  return null;
};

/** Feed one input to a running node and carry out what it asks. */
export const applyInput = (
  world: World,
  cluster: ClusterSpec,
  index: number,
  input: RaftInput,
  fetched: Envelope | null = null,
  values?: readonly number[],
): Outcome => {
  const slot = world.nodes[index]!;
  const before = slot.state;
  if (before === null) return { world, steps: [] };
  const clientValues = values ?? [input._tag === "ClientAppend" ? world.valuesAppended + 1 : 0];
  const config = slotConfig(world, cluster, index);
  const result = step(before, input, config);
  const request = input._tag === "Received" && isRequest(input.message) ? input.message : null;
  let next = applyEffects(
    world,
    index,
    before,
    result.state,
    result.effects,
    payloadSource(clientValues, fetched),
    request,
    fetched?.message._tag === "FetchSnapshotResponse" ? fetched.payload : null,
    config.voters,
  );
  if (input._tag === "ClientAppend" && result.effects.some((e) => e._tag === "AppendAccepted")) {
    next = { ...next, valuesAppended: next.valuesAppended + 1 };
  }
  return {
    world: next,
    steps: [
      {
        node: nodeIdOf(index),
        input,
        before,
        after: result.state,
        effects: result.effects,
        marks: result.marks,
      },
    ],
  };
};

/** A stopped node on a freshly formatted disk. */
export const FORMATTED_SLOT: NodeSlot = {
  state: null,
  persisted: null,
  entries: [],
  durable: 0,
  flushRequested: false,
  recovering: false,
  lostFrom: -1,
  lost: [],
  startOffset: 0,
  snapshots: [],
  partial: null,
};

/** A freshly formatted cluster: every node starts from empty storage. */
export const initialWorld = (cluster: ClusterSpec): Outcome => {
  const total = cluster.voters + cluster.observers;
  let world: World = {
    nodes: Array.from({ length: total }, () => FORMATTED_SLOT),
    network: [],
    leaders: [],
    committed: [],
    valuesAppended: 0,
    crashes: 0,
    duplicates: 0,
    corruptions: 0,
    broken: null,
  };
  const steps: StepTrace[] = [];
  for (let index = 0; index < total; index++) {
    const outcome = startNode(world, cluster, index);
    world = outcome.world;
    steps.push(...outcome.steps);
  }
  return { world, steps };
};

/** Start (or restart) a node from what its storage holds (R18–R22). */
export const startNode = (world: World, cluster: ClusterSpec, index: number): Outcome => {
  const storage = storageOf(world, index);
  const config = slotConfig(world, cluster, index);
  const result = initialize(
    storage.quorumState ?? undefined,
    storage.log,
    config,
    storage.recovering,
    storage.firstCorrelationId,
  );
  return applyStart(world, index, result.state, result.effects, storage, result.marks, config);
};

/** What node `index`'s storage holds for a process start, and where its request ids start. */
export interface StartStorage {
  readonly quorumState: ElectionState | null;
  readonly log: LogState;
  readonly recovering: boolean;
  readonly firstCorrelationId: number;
}

export const storageOf = (world: World, index: number): StartStorage => {
  const slot = world.nodes[index]!;
  const log = logStateOf(slot.entries, slot.startOffset, slot.snapshots);
  // The new process has new connections: answers to its predecessor's requests, still on their way,
  // must not be taken for answers to its own (R40(0)), so its request ids start past theirs.
  const id = nodeIdOf(index);
  let firstCorrelationId = 1;
  for (const e of world.network) {
    const requester = isRequest(e.message) ? e.from : e.to;
    if (requester === id && e.correlationId !== undefined)
      firstCorrelationId = Math.max(firstCorrelationId, e.correlationId + 1);
  }
  for (const other of world.nodes) {
    const role = other.state?.role;
    if (role?._tag !== "Leader") continue;
    for (const p of role.parkedFetches)
      if (p.replicaId === id && p.correlationId !== undefined)
        firstCorrelationId = Math.max(firstCorrelationId, p.correlationId + 1);
  }
  return { quorumState: slot.persisted, log, recovering: slot.recovering, firstCorrelationId };
};

/** Carry out a process start's effects (the Raft layer's `initialize`) on the world. */
export const applyStart = (
  world: World,
  index: number,
  state: NodeState,
  effects: readonly RaftEffect[],
  storage: StartStorage,
  marks: readonly Mark[] = [],
  /** The configuration it started with (its bootstrap voter set is R92's, for FlushedFetchOffset). */
  config?: RaftConfig,
): Outcome => ({
  // A lone voter leads from its start: its LeaderChange, and the bootstrap set's VotersRecord (R55).
  world: applyEffects(
    world,
    index,
    null,
    state,
    effects,
    payloadSource([], null),
    null,
    null,
    config?.voters,
  ),
  steps: [
    {
      node: nodeIdOf(index),
      input: { _tag: "Start" },
      before: null,
      after: state,
      effects,
      marks,
      ...(config === undefined ? {} : { config }),
      storage: {
        quorumState: storage.quorumState,
        log: storage.log,
        recovering: storage.recovering,
        firstCorrelationId: storage.firstCorrelationId,
      },
    },
  ],
});

/**
 * Deliver the message at `position` of the network. A crashed receiver loses it; if it is a request,
 * the sender's transport finds no one at the other end and reports the request failed.
 */
export const deliver = (world: World, cluster: ClusterSpec, position: number): Outcome => {
  const envelope = world.network[position]!;
  const network = world.network.slice();
  network.splice(position, 1);
  const without: World = { ...world, network };
  const index = indexOfNode(envelope.to);
  if (index < 0 || index >= world.nodes.length || world.nodes[index]!.state === null)
    return failRequests(without, cluster, requestFailures([envelope]));
  const input: RaftInput =
    envelope.correlationId === undefined
      ? { _tag: "Received", from: envelope.from, message: envelope.message }
      : {
          _tag: "Received",
          from: envelope.from,
          message: envelope.message,
          correlationId: envelope.correlationId,
        };
  return applyInput(without, cluster, index, input, envelope);
};

/**
 * Lose the message at `position`. The requester's transport notices (a timeout or a broken
 * connection) and reports the request failed.
 */
export const drop = (world: World, cluster: ClusterSpec, position: number): Outcome => {
  const envelope = world.network[position]!;
  const network = world.network.slice();
  network.splice(position, 1);
  const without: World = { ...world, network };
  const api = requestApiOf(envelope.message);
  if (api === null || envelope.correlationId === undefined) return { world: without, steps: [] };
  const request = isRequest(envelope.message);
  const requester = request ? envelope.from : envelope.to;
  const destination = request ? envelope.to : envelope.from;
  const index = indexOfNode(requester);
  if (world.nodes[index]?.state == null) return { world: without, steps: [] };
  return applyInput(without, cluster, index, {
    _tag: "RequestFailed",
    destination,
    api,
    correlationId: envelope.correlationId,
  });
};

/**
 * Deliver a copy of the message at `position` and keep the original in flight, so that it can
 * arrive again later: duplication, as a network may cause.
 */
export const duplicate = (world: World, cluster: ClusterSpec, position: number): Outcome => {
  const envelope = world.network[position]!;
  const counted: World = {
    ...world,
    duplicates: world.duplicates + 1,
    network: [...world.network, envelope],
  };
  return deliver(counted, cluster, counted.network.length - 1);
};

/** Whether a message is a Fetch answer that carries records: the only kind whose epoch can be forged. */
export const carriesRecords = (
  message: RaftMessage,
): message is Extract<RaftMessage, { _tag: "FetchResponse" }> =>
  message._tag === "FetchResponse" && message.records.length > 0;

/**
 * Deliver the Fetch answer at `position` with its last batch's epoch raised above the answer's leader
 * epoch: a flipped bit in a batch's partition leader epoch, which the batch CRC does not cover, or a
 * forged answer (KAFKA-18723). Only answers that carry records can be forged.
 */
export const forgeEpoch = (world: World, cluster: ClusterSpec, position: number): Outcome => {
  const envelope = world.network[position]!;
  const message = envelope.message;
  if (!carriesRecords(message)) return { world, steps: [] };
  const last = message.records.length - 1;
  const records = message.records.map((batch, i) =>
    i === last ? { ...batch, epoch: message.leaderEpoch + 1 } : batch,
  );
  const network = world.network.slice();
  network[position] = { ...envelope, message: { ...message, records } };
  const forged: World = { ...world, network, forgedEpochs: (world.forgedEpochs ?? 0) + 1 };
  return deliver(forged, cluster, position);
};

/** Fire an armed timer. */
export const fireTimer = (
  world: World,
  cluster: ClusterSpec,
  index: number,
  timer: NodeState["timers"][number],
): Outcome => applyInput(world, cluster, index, { _tag: "TimerExpired", timer });

/** A slot after an fsync: every record written so far is on disk. */
export const flushedSlot = (slot: NodeSlot): NodeSlot =>
  settleLost({ ...slot, durable: slot.entries.length, flushRequested: false });

/** Ghost: records lost to a corruption are forgotten once the disk holds that many again. */
const settleLost = (slot: NodeSlot): NodeSlot =>
  slot.lostFrom >= 0 && slot.durable >= slot.lostFrom + slot.lost.length
    ? { ...slot, lostFrom: -1, lost: [] }
    : slot;

/**
 * The world carries out an outstanding flush (an fsync): every record written so far reaches the
 * disk, and the node is told how far (R16).
 */
export const flush = (world: World, cluster: ClusterSpec, index: number): Outcome => {
  const slot = world.nodes[index]!;
  if (slot.state === null || !slot.flushRequested) return { world, steps: [] };
  const flushed = replaceNode(world, index, flushedSlot(slot));
  return applyInput(flushed, cluster, index, { _tag: "LogFlushed", offset: slot.entries.length });
};

/**
 * A client asks `index` to append one value in the epoch it believes current: the node's own, or
 * `behind` epochs older (a client that has not yet heard of the latest election). Only the leader of
 * exactly that epoch accepts it (R87).
 */
export const clientAppend = (world: World, cluster: ClusterSpec, index: number, behind = 0): Outcome => {
  const state = world.nodes[index]!.state;
  if (state === null) return { world, steps: [] };
  const epoch = Math.max(0, state.epoch - behind);
  return applyInput(world, cluster, index, { _tag: "ClientAppend", epoch, count: 1 });
};

/** The port of a simulated node's controller listener, and the one it moved to (R99). */
export const CONTROLLER_PORT = 9093;
export const MOVED_CONTROLLER_PORT = 9094;

const listenersOf = (id: number, moved: boolean): readonly Listener[] => [
  { name: "CONTROLLER", host: `node-${id}`, port: moved ? MOVED_CONTROLLER_PORT : CONTROLLER_PORT },
];

/** Made once: states hold them by the thousand. */
const LISTENERS: readonly (readonly [readonly Listener[], readonly Listener[]])[] = Array.from(
  { length: MAX_DYNAMIC_NODES + 1 },
  (_, id) => [listenersOf(id, false), listenersOf(id, true)],
);

/**
 * R95, R99, R150: the controller listener a node of the simulated world names for itself, or (`moved`)
 * the one it names once its listener moved to another port.
 */
export const controllerListenersOf = (id: number, moved = false): readonly Listener[] =>
  LISTENERS[id]?.[moved ? 1 : 0] ?? listenersOf(id, moved);

/** The node id operators' requests come from, and their answers go to (R95). */
export const OPERATOR_ID = -1;

/**
 * An operator asks node `index` to add node `voterId` to the voter set (AddRaftVoter, R96), to remove
 * it (RemoveRaftVoter, R97), or to rewrite its entry (UpdateRaftVoter, R99: `kraft quorum
 * update-controller`, with the node's listeners, its kraft.version range and the epoch the operator
 * read from the node), naming the node's directory id.
 */
export const requestVoterChange = (
  world: World,
  cluster: ClusterSpec,
  index: number,
  api: "AddRaftVoter" | "RemoveRaftVoter" | "UpdateRaftVoter",
  voterId: number,
): Outcome => {
  const state = world.nodes[index]!.state;
  if (state === null) return { world, steps: [] };
  // The operator names the node's disk as it is now for an add or an update, and the entry the voter
  // set holds (kraft quorum describe shows it) for a removal: after a disk replacement, the old one
  // (R100).
  const current = directoryIdOf(voterId, world.nodes[indexOfNode(voterId)]?.replaced === true);
  const voterDirectoryId =
    api === "RemoveRaftVoter"
      ? (state.voters.find((v) => v.id === voterId)?.directoryId ?? current)
      : current;
  // The node's listeners and kraft.version range as its configuration names them.
  const voterConfig = nodeConfig(cluster, voterId);
  const listeners = voterConfig.listeners ?? controllerListenersOf(voterId);
  const message: RaftMessage =
    api === "AddRaftVoter"
      ? {
          _tag: "AddRaftVoterRequest",
          clusterId: cluster.clusterId,
          timeoutMs: 30000,
          voterId,
          voterDirectoryId,
          listeners,
        }
      : api === "UpdateRaftVoter"
        ? {
            _tag: "UpdateRaftVoterRequest",
            clusterId: cluster.clusterId,
            currentLeaderEpoch: state.epoch,
            voterId,
            voterDirectoryId,
            listeners,
            kraftVersionFeature: supportedKraftVersionsOf(voterConfig),
          }
        : { _tag: "RemoveRaftVoterRequest", clusterId: cluster.clusterId, voterId, voterDirectoryId };
  const counted: World = { ...world, voterChanges: (world.voterChanges ?? 0) + 1 };
  return applyInput(counted, cluster, index, { _tag: "Received", from: OPERATOR_ID, message });
};

/**
 * The state machine of node `index` asks for a snapshot at its high watermark (R77), or (`ahead`) at
 * its log end, which only a state machine ahead of the commit would; its size here is its end offset
 * (one byte per record).
 */
export const createSnapshot = (world: World, cluster: ClusterSpec, index: number, ahead = false): Outcome => {
  const state = world.nodes[index]!.state;
  if (state === null) return { world, steps: [] };
  const endOffset = ahead ? state.log.endOffset : state.highWatermark;
  return applyInput(world, cluster, index, {
    _tag: "CreateSnapshot",
    endOffset,
    size: Math.max(1, endOffset),
  });
};

/** Retention asks node `index` to move its log start to its newest snapshot (R79, R80). */
export const deleteBeforeSnapshot = (world: World, cluster: ClusterSpec, index: number): Outcome => {
  const slot = world.nodes[index]!;
  const newest = slot.snapshots[slot.snapshots.length - 1];
  if (slot.state === null || newest === undefined) return { world, steps: [] };
  return applyInput(world, cluster, index, { _tag: "DeleteBeforeSnapshot", endOffset: newest.endOffset });
};

/**
 * The requests among `lost` were sent to a process that is not there: each sender hears from its
 * transport that its request failed (a broken or refused connection). The inputs, by sender index.
 */
export interface RequestFailure {
  readonly index: number;
  readonly input: RaftInput;
}

export const requestFailures = (lost: readonly Envelope[]): RequestFailure[] => {
  const failures: RequestFailure[] = [];
  for (const e of lost) {
    const api = requestApiOf(e.message);
    if (api === null || e.correlationId === undefined || !isRequest(e.message)) continue;
    failures.push({
      index: indexOfNode(e.from),
      input: { _tag: "RequestFailed", destination: e.to, api, correlationId: e.correlationId },
    });
  }
  return failures;
};

const failRequests = (world: World, cluster: ClusterSpec, failures: readonly RequestFailure[]): Outcome => {
  let next = world;
  const steps: StepTrace[] = [];
  for (const { index, input } of failures) {
    const outcome = applyInput(next, cluster, index, input);
    next = outcome.world;
    steps.push(...outcome.steps);
  }
  return { world: next, steps };
};

/**
 * Kill a node: the disk keeps exactly what the world flushed to it, whatever the node believed; the
 * quorum-state the world wrote survives (R14). Its connections die with it: nothing still on its way
 * to it arrives, and whoever was waiting on it for an answer learns that its request failed.
 */
export const crash = (world: World, cluster: ClusterSpec, index: number): Outcome => {
  if (world.nodes[index]!.state === null) return { world, steps: [] };
  return failRequests(crashDown(world, index), cluster, unansweredBy(world, nodeIdOf(index)));
};

/**
 * What node `id` going down fails: each peer's request to it still on the wire, and each it took and
 * held without answering yet (a parked fetch, R61) — all but those whose answer is already on its way
 * back. Their senders' connections break, so each hears that its request failed (R40).
 */
export const unansweredBy = (world: World, id: number): RequestFailure[] => {
  const failures = requestFailures(world.network.filter((e) => e.to === id));
  world.nodes.forEach((slot, index) => {
    const requester = nodeIdOf(index);
    if (slot.state === null || requester === id) return;
    for (const r of slot.state.inflight) {
      if (r.destination !== id) continue;
      // The request itself (failed above) or its answer, not a request of `id`'s own that happens to
      // carry the same number: each node counts its correlation ids apart (R40).
      const onTheWire = world.network.some(
        (e) =>
          e.correlationId === r.correlationId &&
          (isRequest(e.message) ? e.from === requester && e.to === id : e.from === id && e.to === requester),
      );
      if (!onTheWire)
        failures.push({
          index,
          input: { _tag: "RequestFailed", destination: id, api: r.api, correlationId: r.correlationId },
        });
    }
  });
  return failures;
};

/** The node goes down (see `crash`) without its peers hearing of it yet. */
export const crashDown = (world: World, index: number): World => {
  const slot = world.nodes[index]!;
  if (slot.state === null) return world;
  const id = nodeIdOf(index);
  return {
    ...replaceNode({ ...world, network: world.network.filter((e) => e.to !== id) }, index, {
      ...slot,
      ...afterCrash(slot),
      state: null,
      flushRequested: false,
      partial: null,
    }),
    crashes: world.crashes + 1,
  };
};

/**
 * What a crash leaves on a disk: the flushed records, and the snapshots (written durably). A
 * snapshot ending beyond the flushed records makes the next start truncate the log fully to it, as
 * Kafka's log recovery does (R83): the log then starts and ends at its end.
 */
const afterCrash = (slot: NodeSlot): Pick<NodeSlot, "entries" | "durable" | "startOffset"> => {
  const newest = slot.snapshots[slot.snapshots.length - 1]?.endOffset ?? 0;
  if (newest <= slot.durable)
    return {
      entries: slot.entries.slice(0, slot.durable),
      durable: slot.durable,
      startOffset: slot.startOffset,
    };
  return { entries: slot.entries.slice(0, newest), durable: newest, startOffset: newest };
};

/**
 * Ghost: what the disk loses when it is cut at `offset`, merged with what it lost before: for every
 * offset ever lost, the first record lost there.
 */
const ghostOfCut = (slot: NodeSlot, offset: number): Pick<NodeSlot, "lostFrom" | "lost"> => {
  const before = slot.lostFrom;
  const lostFrom = before >= 0 ? Math.min(before, offset) : offset;
  const end = Math.max(slot.durable, before >= 0 ? before + slot.lost.length : 0);
  const lost: Entry[] = [];
  for (let k = lostFrom; k < end; k++) {
    const earlier = before >= 0 && k >= before ? slot.lost[k - before] : undefined;
    lost.push(earlier ?? slot.entries[k]!);
  }
  return lost.length === 0 ? { lostFrom: -1, lost: [] } : { lostFrom, lost };
};

/**
 * A bad sector on a stopped node's disk: the record at `offset` no longer reads back, so at the next
 * start the CRC check cuts the log there — records that were flushed, and may have been acknowledged,
 * are gone. The shell keeps a durable mark of the cut and reports it at every start until the node
 * says it has recovered (R146).
 */
export const corrupt = (world: World, index: number, offset: number): World => {
  const slot = world.nodes[index]!;
  // Only the log's records can be cut: what a snapshot holds is read back whole (R77).
  const floor = Math.max(slot.startOffset, slot.snapshots[slot.snapshots.length - 1]?.endOffset ?? 0);
  if (slot.state !== null || offset < floor || offset >= slot.durable) return world;
  return {
    ...replaceNode(world, index, {
      ...slot,
      ...ghostOfCut(slot, offset),
      entries: slot.entries.slice(0, offset),
      durable: offset,
      recovering: true,
    }),
    corruptions: world.corruptions + 1,
  };
};

/**
 * A stopped node's disk is replaced and formatted anew (`kraft format --no-initial-controllers`, as
 * an operator does after a disk failure): the log, its snapshots and quorum-state are gone, and the
 * node comes back with a new directory id (R100). Its old key can never vote again; the records the
 * old disk held stay in the ghost (as after a corruption) until the new disk holds that many. Only a
 * kraft.version 1 cluster can survive it, and each disk is replaced at most once here.
 */
export const replaceDisk = (world: World, cluster: ClusterSpec, index: number): World => {
  const slot = world.nodes[index]!;
  if (cluster.kraftVersion !== 1 || slot.state !== null || slot.replaced === true) return world;
  if (world.nodes.length > MAX_DYNAMIC_NODES)
    throw new Error(`a world whose disks are replaced holds at most ${MAX_DYNAMIC_NODES} nodes`);
  return {
    ...replaceNode(world, index, { ...FORMATTED_SLOT, ...ghostOfCut(slot, 0), replaced: true }),
    diskReplacements: (world.diskReplacements ?? 0) + 1,
  };
};

// ---- starting states -------------------------------------------------------------------------------

/** Deliver every message and complete every flush until nothing is left (parked fetches stay parked). */
export const settleAll = (start: World, cluster: ClusterSpec): World => settle(start, cluster, worldOf);

/** Takes an outcome's world, and may keep its steps (a start point's, for conformance vectors). */
type Take = (outcome: Outcome) => World;
const worldOf: Take = (outcome) => outcome.world;
const keepingSteps =
  (steps: StepTrace[]): Take =>
  (outcome) => {
    steps.push(...outcome.steps);
    return outcome.world;
  };

const settle = (start: World, cluster: ClusterSpec, take: Take): World => {
  let world = start;
  for (let i = 0; i < 10_000; i++) {
    const flushing = world.nodes.findIndex((n) => n.state !== null && n.flushRequested);
    if (flushing >= 0) world = take(flush(world, cluster, flushing));
    else if (world.network.length > 0) world = take(deliver(world, cluster, 0));
    else return world;
  }
  throw new Error("the cluster did not settle");
};

/**
 * Where a run may start instead of a freshly formatted cluster (as the TLA+ specs start from an
 * established leader, R139): node 1 leads epoch 1 and one client value is committed — durable on
 * node 1 and node 2 — while node 1's answer carrying it to the other nodes is still on its way. The
 * faults that matter after a commit (crashes, a corrupt disk, elections) are then a few steps away
 * instead of the twenty it takes to get here.
 */
export const committedStart = (cluster: ClusterSpec, take: Take = worldOf): World => {
  if (cluster.voters < 2) throw new Error("the committed start needs at least two voters");
  let world = settle(take(fireTimer(take(initialWorld(cluster)), cluster, 0, "election")), cluster, take);
  world = take(clientAppend(world, cluster, 0));
  // Replicate to node 2 only: flush, deliver what passes between nodes 1 and 2.
  for (let i = 0; i < 1000 && world.committed.length < 2; i++) {
    const flushing = world.nodes.findIndex((n, index) => index < 2 && n.state !== null && n.flushRequested);
    if (flushing >= 0) {
      world = take(flush(world, cluster, flushing));
      continue;
    }
    const position = world.network.findIndex((e) => e.from <= 2 && e.to <= 2);
    if (position < 0) break;
    world = take(deliver(world, cluster, position));
  }
  if (world.committed.length < 2 || world.nodes[0]!.state?.role._tag !== "Leader")
    throw new Error("the committed start could not be built");
  return world;
};

/**
 * Where voter changes start (R96, R101): node 1 leads epoch 1, one client value is committed on every
 * node, and every observer follows node 1 and has caught up — what `kraft format
 * --no-initial-controllers` and a start bring a new controller to before an operator adds it. The
 * voters and observers have fetched again and wait at node 1 for news.
 */
export const joinedStart = (cluster: ClusterSpec, take: Take = worldOf): World => {
  let world = settle(take(fireTimer(take(initialWorld(cluster)), cluster, 0, "election")), cluster, take);
  for (let index = cluster.voters; index < world.nodes.length; index++) {
    if (world.nodes[index]!.state?.timers.includes("retryBackoff"))
      world = settle(take(fireTimer(world, cluster, index, "retryBackoff")), cluster, take);
  }
  world = settle(take(clientAppend(world, cluster, 0)), cluster, take);
  const leader = world.nodes[0]!.state;
  if (
    leader?.role._tag !== "Leader" ||
    world.committed.length < 2 ||
    world.nodes.some((slot) => slot.state?.role._tag !== (slot === world.nodes[0] ? "Leader" : "Follower"))
  )
    throw new Error("the joined start could not be built");
  return world;
};

/** The starting points of a run: a fresh cluster, a committed value, or observers caught up. */
export type StartPoint = "fresh" | "committed" | "joined";

export const startWorld = (cluster: ClusterSpec, start: StartPoint): World =>
  startOutcome(cluster, start).world;

/**
 * A start point with every step taken to build it, from each node's Start on: what conformance
 * vectors replay, since a node's lifetime begins at its Start.
 */
export const startOutcome = (cluster: ClusterSpec, start: StartPoint): Outcome => {
  const steps: StepTrace[] = [];
  const take = keepingSteps(steps);
  const world =
    start === "committed"
      ? committedStart(cluster, take)
      : start === "joined"
        ? joinedStart(cluster, take)
        : take(initialWorld(cluster));
  return { world, steps };
};
