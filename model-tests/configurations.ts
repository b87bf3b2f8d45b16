// The model-checking configurations the project runs: in CI (exhaustive, pinned state count) and as
// the benchmark's reference (the bounds at which TLC cannot finish a public TLA+ KRaft spec).
import { type Bounds, DEFAULT_BOUNDS } from "../spec/cluster/actions.ts";
import { type ClusterSpec, DEFAULT_CLUSTER } from "../spec/cluster/world.ts";

export interface Configuration {
  readonly cluster: ClusterSpec;
  readonly bounds: Bounds;
  readonly symmetry: boolean;
}

/** 3 voters, one election, one client value, any message may be lost; pre-vote and check quorum on. */
export const CI_CONFIGURATION: Configuration = {
  cluster: { ...DEFAULT_CLUSTER, voters: 3 },
  bounds: { ...DEFAULT_BOUNDS, maxEpoch: 1, maxValues: 1, maxValuesPerEpoch: 1, maxCrashes: 0, loss: true },
  symmetry: true,
};

/** Distinct states of CI_CONFIGURATION. A deliberate change to the model updates this number. */
export const CI_DISTINCT_STATES = 2_368_257;

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
 * Distinct states of `kraft check --model metadata` at its defaults (3 controllers, 2 brokers, one
 * topic of one partition, one broker crash, one session expiry, one delay, max epoch 2, depth 14).
 */
export const METADATA_CI_DISTINCT_STATES = 353_519;
