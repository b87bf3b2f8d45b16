// The model-checking configurations the project runs: in CI (exhaustive, pinned state count) and as
// the benchmark's reference (the bounds at which TLC cannot finish a public TLA+ KRaft spec).
import { type Bounds, DEFAULT_BOUNDS } from "../spec/cluster/actions.ts";
import { type ClusterSpec, DEFAULT_CLUSTER, type StartPoint } from "../spec/cluster/world.ts";

export interface Configuration {
  readonly cluster: ClusterSpec;
  readonly bounds: Bounds;
  readonly symmetry: boolean;
  readonly start?: StartPoint;
}

/** 3 voters, one election, one client value, any message may be lost; pre-vote and check quorum on. */
export const CI_CONFIGURATION: Configuration = {
  cluster: { ...DEFAULT_CLUSTER, voters: 3 },
  bounds: { ...DEFAULT_BOUNDS, maxEpoch: 1, maxValues: 1, maxValuesPerEpoch: 1, maxCrashes: 0, loss: true },
  symmetry: true,
};

/** Distinct states of CI_CONFIGURATION. A deliberate change to the model updates this number. */
export const CI_DISTINCT_STATES = 2_331_663;

/**
 * Snapshots (R77–R84): from a committed value, every node may snapshot at its high watermark (or ask
 * above it) and move its log start there; the lagging node downloads the snapshot one record per
 * FetchSnapshot. One election, no loss, no crash.
 */
export const SNAPSHOT_CONFIGURATION: Configuration = {
  cluster: { ...DEFAULT_CLUSTER, voters: 3, snapshotChunk: 1 },
  bounds: { ...DEFAULT_BOUNDS, maxEpoch: 1, maxValues: 1, maxCrashes: 0, loss: false, snapshots: true },
  symmetry: true,
  start: "committed",
};

/** Distinct states of SNAPSHOT_CONFIGURATION. */
export const SNAPSHOT_DISTINCT_STATES = 35_878;

/**
 * One corrupt disk (R146): from a committed value (node 1 leads epoch 1, the value is on nodes 1 and
 * 2), one crash, one bad record on the stopped node's disk, one more election, no loss. Every
 * behaviour of up to CORRUPTION_DEPTH steps is checked, liveness included: the shortest way to lose the
 * committed value without R146 (crash node 2, corrupt it, restart, node 3 elected by 2 and 3) takes 8.
 */
export const CORRUPTION_CONFIGURATION: Configuration = {
  cluster: { ...DEFAULT_CLUSTER, voters: 3 },
  bounds: {
    ...DEFAULT_BOUNDS,
    maxEpoch: 2,
    maxValues: 1,
    maxCrashes: 1,
    maxCorruptions: 1,
    loss: false,
  },
  symmetry: true,
  start: "committed",
};

export const CORRUPTION_DEPTH = 12;

/**
 * Distinct states of CORRUPTION_CONFIGURATION to CORRUPTION_DEPTH. Symmetry reduction picks its
 * representatives from the encoding's layout, so a change of layout alone moves this number (975,245
 * before the snapshot fields; without symmetry the counts are equal), a gap issue 15 should close;
 * 974,738 while a recovering voter's rotation still asked itself, R74).
 */
export const CORRUPTION_DISTINCT_STATES = 953_196;

/**
 * Forged batch epochs (R66, KAFKA-18723): from a committed value, one Fetch answer may arrive with its
 * last batch's epoch raised above its leader's (a flipped bit the batch CRC does not cover), with a
 * crash, loss, a second value and elections up to epoch 3. A follower must drop the batch and fetch
 * again: no record of an epoch nobody led reaches a log (RecordsFromLeaders), and every fair
 * schedule still catches up.
 */
export const FORGED_EPOCH_CONFIGURATION: Configuration = {
  cluster: { ...DEFAULT_CLUSTER, voters: 3 },
  bounds: { ...DEFAULT_BOUNDS, maxEpoch: 3, maxValues: 2, maxCrashes: 1, maxForgedEpochs: 1 },
  symmetry: true,
  start: "committed",
};

export const FORGED_EPOCH_DEPTH = 9;

/** Distinct states of FORGED_EPOCH_CONFIGURATION to FORGED_EPOCH_DEPTH (175,998 without the forgery). */
export const FORGED_EPOCH_DISTINCT_STATES = 240_594;

/**
 * The benchmark's reference: 3 voters, max epoch 3, one client value per epoch, one crash and
 * restart, pre-vote and check quorum on, an unordered lossy network, symmetry on.
 */
export const REFERENCE_CONFIGURATION: Configuration = {
  cluster: { ...DEFAULT_CLUSTER, voters: 3, preVote: true, checkQuorum: true },
  bounds: {
    ...DEFAULT_BOUNDS,
    maxEpoch: 3,
    maxValues: 3,
    maxValuesPerEpoch: 1,
    maxCrashes: 1,
    maxDuplicates: 0,
    loss: true,
    network: "unordered",
  },
  symmetry: true,
};

/**
 * Distinct states of `kraft check --model metadata` at its defaults, a complete search (3 controllers,
 * 2 brokers, one topic of one partition, one controller crash, one broker crash, one session expiry,
 * no pause, max epoch 2, logs of up to 11 entries): every reachable state, the deepest at depth 67.
 * The earlier default (`--quick`: one pause, no controller crash, logs of up to 16 entries, depth 14)
 * has 467,779.
 */
export const METADATA_CI_DISTINCT_STATES = 2_890_199;

/**
 * Dynamic voters (KIP-853, R89–R101): from a value committed on every node with node 4 an observer
 * caught up, operators may ask the leader for two voter changes (add node 4, then remove any voter,
 * the leader included). No loss, no crash, one epoch; every behaviour of up to RECONFIGURATION_DEPTH
 * steps is checked, liveness included: the shortest run that adds node 4 and has the addition
 * committed and answered takes 10 (the leader's ApiVersions to node 4 and its answer included, R96),
 * so the bound leaves room for the second change to be asked for and handled.
 */
export const RECONFIGURATION_CONFIGURATION: Configuration = {
  cluster: { ...DEFAULT_CLUSTER, voters: 3, observers: 1, kraftVersion: 1 },
  bounds: { ...DEFAULT_BOUNDS, maxEpoch: 1, maxValues: 0, maxCrashes: 0, maxVoterChanges: 2, loss: false },
  symmetry: false,
  start: "joined",
};

export const RECONFIGURATION_DEPTH = 12;

/**
 * Distinct states of RECONFIGURATION_CONFIGURATION to RECONFIGURATION_DEPTH (200,067 to depth 11, the
 * bound until the generic codec was made twice as fast; 153,837 to depth 10 before the leader asked a
 * voter-to-be for its ApiVersions, R96; 200,090 to depth 11 while a removed voter's rotation could still
 * ask itself, R74).
 */
export const RECONFIGURATION_DISTINCT_STATES = 348_338;

/**
 * Auto-join (R150): the same start, but no operator: node 4 has controller.quorum.auto.join.enable
 * and asks the leader itself, every fetch timeout, to be added. Every behaviour of up to
 * AUTO_JOIN_DEPTH steps keeps every property, and from each the fair schedule makes node 4 a voter of
 * a committed set (EventuallyAutoJoined): the shortest run that commits the addition takes 10 steps.
 */
export const AUTO_JOIN_CONFIGURATION: Configuration = {
  ...RECONFIGURATION_CONFIGURATION,
  cluster: { ...RECONFIGURATION_CONFIGURATION.cluster, autoJoin: [4] },
  bounds: { ...RECONFIGURATION_CONFIGURATION.bounds, maxVoterChanges: 0 },
};

export const AUTO_JOIN_DEPTH = 11;

/** Distinct states of AUTO_JOIN_CONFIGURATION to AUTO_JOIN_DEPTH. */
export const AUTO_JOIN_DISTINCT_STATES = 41_640;

/**
 * Replaced disks (R100, R150): node 1 leads epoch 1 and has committed a value on node 2 only; two
 * crashes, a second epoch, and one stopped node's disk replaced (formatted anew with a new directory
 * id), node 2 auto-joining. Every behaviour of up to DISK_REPLACEMENT_DEPTH steps keeps every
 * property, and from each the fair schedule elects a leader, resolves the write and makes node 2, if
 * its disk was replaced, a voter again under its new key (EventuallyAutoJoined). The replaced node
 * must neither vote as the voter its old disk was (a candidate lacking the value would win) nor take
 * its own id named as leader for an impossible state.
 */
export const DISK_REPLACEMENT_CONFIGURATION: Configuration = {
  cluster: { ...DEFAULT_CLUSTER, voters: 3, observers: 0, kraftVersion: 1, autoJoin: [2] },
  bounds: {
    ...DEFAULT_BOUNDS,
    maxEpoch: 2,
    maxValues: 1,
    maxCrashes: 2,
    maxDiskReplacements: 1,
    loss: false,
  },
  symmetry: false,
  start: "committed",
};

export const DISK_REPLACEMENT_DEPTH = 8;

/** Distinct states of DISK_REPLACEMENT_CONFIGURATION to DISK_REPLACEMENT_DEPTH. */
export const DISK_REPLACEMENT_DISTINCT_STATES = 319_680;

/**
 * Moved listeners (R99, R34): node 2's controller listener moved to another port since its disk was
 * formatted, so its bootstrap entry names the old one; node 1 leads epoch 1 and has committed a value
 * on node 2. A crash and a second epoch let node 2 lead. Every behaviour of up to MOVED_LISTENER_DEPTH
 * steps keeps every property, and from each the fair schedule has node 2's entry name its new listener
 * in a committed voter set (EventuallyEntriesUpdated): as a follower it asks the leader to rewrite it,
 * as a new leader it rewrites it itself.
 */
export const MOVED_LISTENER_CONFIGURATION: Configuration = {
  cluster: { ...DEFAULT_CLUSTER, voters: 3, observers: 0, kraftVersion: 1, movedListeners: [2] },
  bounds: { ...DEFAULT_BOUNDS, maxEpoch: 2, maxValues: 0, maxCrashes: 1, loss: false },
  symmetry: false,
  start: "committed",
};

export const MOVED_LISTENER_DEPTH = 7;

/** Distinct states of MOVED_LISTENER_CONFIGURATION to MOVED_LISTENER_DEPTH. */
export const MOVED_LISTENER_DISTINCT_STATES = 85_358;
