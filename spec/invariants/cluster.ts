// Cluster-wide safety properties over a simulated world (R134–R136, R144–R145). Each returns null
// when it holds, or a sentence saying what is wrong. The checker, the property tests and the
// scenario runner all use these; the world itself records the step properties it saw broken.

import {
  entryEpoch,
  entryValue,
  isVotersValue,
  labelOfVoterKey,
  type NodeSlot,
  nodeIdOf,
  voterKeysOfValue,
  votersOfValue,
  type World,
} from "../cluster/world.ts";

/** R92: the bootstrap voter set, nodes 1..voters. */
const bootstrapIds = (voters: number): number[] => {
  // A loop: Array.from({ length }) is slow, and this runs for every state checked.
  const ids: number[] = [];
  for (let i = 0; i < voters; i++) ids.push(nodeIdOf(i));
  return ids;
};

/**
 * R91, R94: the voter sets that can elect a leader or commit records: the newest one committed (the
 * bootstrap set, nodes 1..voters, until a VotersRecord is) and each running leader's own.
 */
const voterSetsInPlay = (world: World, voters: number): readonly (readonly number[])[] => {
  let committedSet: readonly number[] | null = null;
  for (let offset = world.committed.length - 1; offset >= 0 && committedSet === null; offset--) {
    const value = entryValue(world.committed[offset]!);
    if (isVotersValue(value)) committedSet = votersOfValue(value).map((v) => v.id);
  }
  const sets: (readonly number[])[] = [committedSet ?? bootstrapIds(voters)];
  for (const slot of world.nodes) {
    const state = slot.state;
    if (state === null || state.role._tag !== "Leader") continue;
    const ids = state.voters.map((v) => v.id);
    if (!sets.some((set) => set.length === ids.length && set.every((id, i) => id === ids[i]))) sets.push(ids);
  }
  return sets;
};

/**
 * R6: the smallest majority of `n` voters, the properties' own (a bug in the Raft layer's must not
 * blind the properties that judge it).
 */
export const majority = (n: number): number => Math.floor(n / 2) + 1;

/** How many holders of a record set V needs so that every majority of V includes one (R6). */
const intersectingEveryMajority = (size: number): number => size - majority(size) + 1;

const slotsOf = (world: World, ids: readonly number[]): NodeSlot[] =>
  ids.map((id) => world.nodes[id - 1]).filter((slot): slot is NodeSlot => slot !== undefined);

/** Transition properties the world saw broken somewhere in this history. */
export const historyIsClean = (world: World): string | null => world.broken;

/**
 * ElectionSafety (R134, R136, R145): at most one leader per epoch, over the whole history (the world
 * records every election) and right now.
 */
export const electionSafety = (world: World): string | null => {
  const seen = new Map<number, number>();
  for (let index = 0; index < world.nodes.length; index++) {
    const state = world.nodes[index]!.state;
    if (state === null || state.role._tag !== "Leader") continue;
    const other = seen.get(state.epoch);
    if (other !== undefined)
      return `ElectionSafety: nodes ${other} and ${nodeIdOf(index)} both lead epoch ${state.epoch}`;
    seen.set(state.epoch, nodeIdOf(index));
  }
  return null;
};

/**
 * LogMatching (R3, R136, R145): if two logs hold a record with the same offset and epoch, they agree
 * on every record up to it.
 */
export const logMatching = (world: World): string | null => {
  const logs = world.nodes.map((slot) => slot.entries);
  for (let a = 0; a < logs.length; a++) {
    for (let b = a + 1; b < logs.length; b++) {
      const left = logs[a]!;
      const right = logs[b]!;
      const shared = Math.min(left.length, right.length);
      let lastMatch = -1;
      for (let offset = shared - 1; offset >= 0; offset--) {
        if (entryEpoch(left[offset]!) === entryEpoch(right[offset]!)) {
          lastMatch = offset;
          break;
        }
      }
      for (let offset = 0; offset <= lastMatch; offset++) {
        if (left[offset] !== right[offset]) {
          return `LogMatching: nodes ${nodeIdOf(a)} and ${nodeIdOf(b)} agree on the epoch at offset ${lastMatch} but differ at offset ${offset}`;
        }
      }
    }
  }
  return null;
};

/** LeaderCompleteness (R136, R145): the newest leader holds every committed record. */
export const leaderCompleteness = (world: World): string | null => {
  const newest = world.leaders.length - 1;
  for (let index = 0; index < world.nodes.length; index++) {
    const state = world.nodes[index]!.state;
    if (state === null || state.role._tag !== "Leader" || state.epoch !== newest) continue;
    const entries = world.nodes[index]!.entries;
    for (let offset = 0; offset < world.committed.length; offset++) {
      if (entries[offset] !== world.committed[offset]) {
        return `LeaderCompleteness: leader ${nodeIdOf(index)} of epoch ${newest} lacks committed offset ${offset}`;
      }
    }
  }
  return null;
};

/**
 * Whether a voter's disk holds committed record `offset` — or held it until a corruption cut it and
 * has not yet held that many records again (the ghost of what the fault took, R146).
 */
const holds = (slot: NodeSlot, offset: number, committed: number): boolean => {
  if (offset < slot.durable && slot.entries[offset] === committed) return true;
  return slot.lostFrom >= 0 && offset >= slot.lostFrom && slot.lost[offset - slot.lostFrom] === committed;
};

/**
 * CommittedDurability (R16, R135, R145): every committed record is on the disks of enough voters
 * (as the world wrote them) that every majority of a voter set in play includes one — for an odd set,
 * a majority — so no crash of a minority can lose it. A record a disk corruption cut still counts for
 * that voter: the fault took it, and R146 keeps the voter from acting as if it never had it.
 */
export const committedDurability = (world: World, voters: number): string | null => {
  for (const set of voterSetsInPlay(world, voters)) {
    const needed = intersectingEveryMajority(set.length);
    const slots = slotsOf(world, set);
    for (let offset = 0; offset < world.committed.length; offset++) {
      let holders = 0;
      for (const slot of slots) if (holds(slot, offset, world.committed[offset]!)) holders++;
      if (holders < needed) {
        return `CommittedDurability: committed offset ${offset} is durable on ${holders} of ${set.length} voters (${set.join(",")}), fewer than ${needed === majority(set.length) ? "a majority" : `the ${needed} every majority must include`}`;
      }
    }
  }
  return null;
};

/**
 * MajorityReachedHighWatermark (R134): a running leader's high watermark is reached by the disks of
 * a majority of voters (records a corruption cut count as in CommittedDurability).
 */
export const majorityReachedHighWatermark = (world: World, _voters: number): string | null => {
  for (let index = 0; index < world.nodes.length; index++) {
    const state = world.nodes[index]!.state;
    if (state === null || state.role._tag !== "Leader" || state.role.highWatermark < 0) continue;
    const hw = state.role.highWatermark;
    // R94: the leader's own voter set; a set it just grew may not yet hold its high watermark on a
    // majority, but every majority of it must include a holder.
    const set = state.voters.map((v) => v.id);
    const reached = slotsOf(world, set).filter(
      (slot) => slot.durable >= hw || (slot.lostFrom >= 0 && slot.lostFrom + slot.lost.length >= hw),
    ).length;
    if (reached < intersectingEveryMajority(set.length)) {
      return `MajorityReachedHighWatermark: leader ${nodeIdOf(index)} has high watermark ${hw} but only ${reached} of its ${set.length} voters hold that much durably`;
    }
  }
  return null;
};

/**
 * HighWatermarkInOwnEpoch (R64, KAFKA-12619): a leader's high watermark, once it has one, lies past its
 * epoch start offset: the majority it counts holds a record of the leader's own epoch, without which
 * earlier epochs' records are not yet safe to call committed (Raft's figure 8).
 */
export const highWatermarkInOwnEpoch = (world: World, _voters: number): string | null => {
  for (let index = 0; index < world.nodes.length; index++) {
    const state = world.nodes[index]!.state;
    if (state === null || state.role._tag !== "Leader" || state.role.highWatermark < 0) continue;
    if (state.role.highWatermark <= state.role.epochStartOffset)
      return `HighWatermarkInOwnEpoch: leader ${nodeIdOf(index)} of epoch ${state.epoch} has high watermark ${state.role.highWatermark}, not past its epoch start offset ${state.role.epochStartOffset}`;
  }
  return null;
};

/**
 * RecordsFromLeaders (R14, R18, R66): every record in a node's log carries an epoch that some node
 * has led (the world's ghost), and none above a running node's own epoch. Only a leader writes records of its
 * epoch, and a follower takes them only from the leader of the epoch it is in: a corrupt or forged
 * Fetch answer must not put another epoch into its log and epoch cache (KAFKA-18723).
 */
export const recordsFromLeaders = (world: World, _voters: number): string | null => {
  for (let index = 0; index < world.nodes.length; index++) {
    const slot = world.nodes[index]!;
    // A stopped node is not judged against quorum-state: an operator may restore an older copy, and
    // the node starts in its log's epoch then (R18).
    const own = slot.state?.epoch;
    const entries = slot.entries;
    let run = -1;
    for (let offset = slot.startOffset; offset < entries.length; offset++) {
      const epoch = entryEpoch(entries[offset]!);
      if (epoch === run) continue;
      run = epoch;
      if ((world.leaders[epoch] ?? -1) < 0)
        return `RecordsFromLeaders: node ${nodeIdOf(index)} holds a record of epoch ${epoch} at offset ${offset}, but no node has led epoch ${epoch} (R66)`;
      if (own !== undefined && epoch > own)
        return `RecordsFromLeaders: node ${nodeIdOf(index)} holds a record of epoch ${epoch} at offset ${offset}, above its own epoch ${own} (R14, R18, R66)`;
    }
  }
  return null;
};

/**
 * VoterChangesOneAtATime (R93, R145): in every log, consecutive voter sets (the bootstrap set first)
 * differ by one voter at most, and no leader epoch has more than one VotersRecord beyond what was
 * ever committed.
 */
export const voterChangesOneAtATime = (world: World, voters: number): string | null => {
  // Voters by key (R5): a replaced disk's entry (2') is another voter than the old one (2).
  const bootstrap = bootstrapIds(voters).map((id) => id * 2);
  const labels = (keys: readonly number[]): string => keys.map(labelOfVoterKey).join(",");
  for (let index = 0; index < world.nodes.length; index++) {
    const entries = world.nodes[index]!.entries;
    let previous: readonly number[] = bootstrap;
    let uncommittedIn: Set<number> | null = null;
    for (let offset = 0; offset < entries.length; offset++) {
      const value = entryValue(entries[offset]!);
      if (!isVotersValue(value)) continue;
      const set = voterKeysOfValue(value);
      const changed =
        set.filter((key) => !previous.includes(key)).length +
        previous.filter((key) => !set.includes(key)).length;
      if (changed > 1)
        return `VoterChangesOneAtATime: node ${nodeIdOf(index)}'s log goes from voters ${labels(previous)} to ${labels(set)} at offset ${offset} (R93)`;
      previous = set;
      if (offset < world.committed.length) continue;
      const epoch = entryEpoch(entries[offset]!);
      uncommittedIn ??= new Set<number>();
      if (uncommittedIn.has(epoch))
        return `VoterChangesOneAtATime: node ${nodeIdOf(index)}'s log holds two uncommitted voter changes of epoch ${epoch}, the second at offset ${offset} (R93, R145)`;
      uncommittedIn.add(epoch);
    }
  }
  return null;
};

/** MonotonicEpoch, second half (R134): a running node's epoch is the one its quorum-state holds. */
export const epochIsPersisted = (world: World): string | null => {
  for (let index = 0; index < world.nodes.length; index++) {
    const slot = world.nodes[index]!;
    if (slot.state === null) continue;
    const durable = slot.persisted?.epoch ?? -1;
    if (slot.state.epoch !== durable) {
      return `MonotonicEpoch: node ${nodeIdOf(index)} runs in epoch ${slot.state.epoch} but quorum-state holds ${durable} (R134)`;
    }
  }
  return null;
};

export interface ClusterInvariant {
  readonly name: string;
  readonly rules: string;
  readonly check: (world: World, voters: number) => string | null;
}

/** Every state property, in the order they are checked. */
export const CLUSTER_INVARIANTS: readonly ClusterInvariant[] = [
  { name: "TransitionProperties", rules: "R14 R16 R29 R42 R66 R74 R134 R136 R144", check: historyIsClean },
  { name: "ElectionSafety", rules: "R134 R136 R145", check: electionSafety },
  { name: "LogMatching", rules: "R3 R136 R145", check: logMatching },
  { name: "LeaderCompleteness", rules: "R136 R145", check: leaderCompleteness },
  { name: "CommittedDurability", rules: "R16 R135 R145", check: committedDurability },
  { name: "MajorityReachedHighWatermark", rules: "R134", check: majorityReachedHighWatermark },
  { name: "HighWatermarkInOwnEpoch", rules: "R64", check: highWatermarkInOwnEpoch },
  { name: "RecordsFromLeaders", rules: "R14 R18 R66", check: recordsFromLeaders },
  { name: "MonotonicEpoch", rules: "R134", check: epochIsPersisted },
  { name: "VoterChangesOneAtATime", rules: "R93 R145", check: voterChangesOneAtATime },
];

/** The first property the world breaks, or null. */
export const firstViolation = (world: World, voters: number): string | null => {
  for (const invariant of CLUSTER_INVARIANTS) {
    const problem = invariant.check(world, voters);
    if (problem !== null) return problem;
  }
  return null;
};
