// Seeded bugs: each is a small change to one rule of spec/raft that a real implementer could make.
// They are applied to a copy of spec/ (never to spec/ itself) and the model checker must find a
// counterexample for every one. `npm run mutants` runs them.
import type { Bounds } from "../spec/cluster/actions.ts";
import type { MetaBounds } from "../spec/cluster/metadata-actions.ts";
import type { ClusterSpec, StartPoint } from "../spec/cluster/world.ts";
import type { ControllerRequest } from "../spec/metadata/requests.ts";

/** A file under spec/, the exact text to replace (it must occur once), and the replacement. */
export interface Edit {
  readonly file: string;
  readonly find: string;
  readonly replace: string;
}

/**
 * The kind of bug a mutant stands for: the protocol's own rules, durability (what reached the disk),
 * roles that must refuse a request, liveness (the cluster gets stuck), and the composition of the
 * layers inside a node.
 */
export type MutantClass = "protocol" | "durability" | "roles" | "liveness" | "composition";

export interface Mutant {
  readonly name: string;
  readonly class: MutantClass;
  /** The rule the change breaks (spec/README.md). */
  readonly rule: string;
  readonly description: string;
  readonly edits: readonly Edit[];
  /** The cluster and bounds to check the mutant with. */
  readonly cluster?: Partial<ClusterSpec>;
  readonly bounds?: Partial<Bounds>;
  /** Where the Raft model's runs start (default: a freshly formatted cluster). */
  readonly start?: StartPoint;
  /** Check with the metadata model (controllers and brokers over Raft) instead of the Raft model. */
  readonly metadata?: MetadataSetup;
}

export interface MetadataSetup {
  readonly brokers: number;
  readonly partitions: number;
  readonly bounds: Partial<MetaBounds>;
  /** The bfs depth bound. */
  readonly depth: number;
  /** Judge the liveness properties in bfs too (costly in the metadata model; off unless asked). */
  readonly liveness?: boolean;
}

/** The metadata bounds mutants start from: no faults unless the mutant asks for them. */
export const QUIET_METADATA: Partial<MetaBounds> = {
  maxEpoch: 1,
  maxBrokerCrashes: 0,
  maxControllerCrashes: 0,
  maxSessionExpiries: 0,
  maxDelays: 0,
  maxControlledShutdowns: 0,
};

const createTopic = (
  name: string,
  brokerIds: number[],
  configs: { name: string; value: string }[] = [],
): ControllerRequest => ({
  _tag: "CreateTopicsRequest",
  validateOnly: false,
  topics: [
    {
      name,
      numPartitions: -1,
      replicationFactor: -1,
      assignments: [{ partitionIndex: 0, brokerIds }],
      configs,
    },
  ],
});

/** An admin's IncrementalAlterConfigs that SETs one configuration of one topic. */
const setTopicConfig = (topic: string, name: string, value: string): ControllerRequest => ({
  _tag: "IncrementalAlterConfigsRequest",
  validateOnly: false,
  resources: [{ resourceType: 2, resourceName: topic, configs: [{ name, configOperation: 0, value }] }],
});

/** Snapshot mutants: one value committed, one crash, snapshots and log-start moves (R77–R84). */
const SNAPSHOT_BOUNDS: Partial<Bounds> = {
  maxEpoch: 1,
  maxValues: 1,
  maxCrashes: 1,
  loss: false,
  snapshots: true,
};

/**
 * Metadata snapshot mutants: a broker crash and a session expiry (so that a broker is fenced and a
 * leader moves), snapshots and log-start moves anywhere; a restarted broker catches up from one.
 */
const METADATA_SNAPSHOTS: Partial<MetaBounds> = {
  ...QUIET_METADATA,
  maxBrokerCrashes: 1,
  maxSessionExpiries: 1,
  snapshots: true,
};

/** Dynamic voter sets (KIP-853): three voters and a caught-up observer, one voter change. */
const RECONFIGURATION = {
  cluster: { voters: 3, observers: 1, kraftVersion: 1 as const },
  bounds: { maxEpoch: 1, maxValues: 0, maxVoterChanges: 1, loss: false },
  start: "joined" as const,
};

/** Auto-join mutants (R150): node 4 asks to join by itself while the leader takes a write. */
const AUTO_JOIN = {
  cluster: { voters: 3, observers: 1, kraftVersion: 1 as const, autoJoin: [4] },
  bounds: { maxEpoch: 1, maxValues: 2, maxValuesPerEpoch: 2, maxVoterChanges: 0, loss: false },
  start: "joined" as const,
};

/**
 * Replaced disks (R100, R150): from a value committed on nodes 1 and 2, a stopped node's disk may be
 * replaced (a new directory id) and node 2 auto-joins; two crashes and a second epoch let a candidate
 * that lacks the value ask the replaced node for its vote.
 */
const DISK_REPLACEMENT = {
  cluster: { voters: 3, observers: 0, kraftVersion: 1 as const, autoJoin: [2] },
  bounds: { maxEpoch: 2, maxValues: 1, maxCrashes: 2, maxDiskReplacements: 1, loss: false },
  start: "committed" as const,
};

/**
 * Moved listeners (R99): node 2's controller listener moved since its disk was formatted; from every
 * node holding the bootstrap set, a second epoch and a crash let node 2 follow and lead.
 */
const MOVED_LISTENER = {
  cluster: { voters: 3, observers: 0, kraftVersion: 1 as const, movedListeners: [2] },
  bounds: { maxEpoch: 2, maxValues: 0, maxCrashes: 1, loss: false },
  start: "committed" as const,
};

export const MUTANTS: readonly Mutant[] = [
  {
    name: "vote-without-log-check",
    class: "protocol",
    rule: "R48",
    description: "grant a standard vote without comparing logs",
    edits: [
      {
        file: "raft/vote.ts",
        find: `    } else if (!logIsUpToDate(next, request)) {
      mark(out, "R48:vote-log-behind");
    } else {`,
        replace: "    } else {",
      },
    ],
    cluster: { preVote: false },
    bounds: { maxEpoch: 2, maxValues: 1, loss: false },
  },
  {
    name: "vote-twice-in-an-epoch",
    class: "protocol",
    rule: "R49",
    description: "grant a standard vote to a second candidate in the same epoch",
    edits: [
      {
        file: "raft/vote.ts",
        find: "granted = replicaKeyMatches(role.votedKey, candidate);",
        replace: "granted = true;",
      },
    ],
    bounds: { maxEpoch: 1, maxValues: 0, loss: false },
  },
  {
    name: "majority-off-by-one",
    class: "protocol",
    rule: "R6",
    description: "compute a majority as half the voters",
    edits: [
      {
        file: "raft/primitives.ts",
        find: "export const majority = (n: number): number => Math.floor(n / 2) + 1;",
        replace: "export const majority = (n: number): number => Math.max(1, Math.floor(n / 2));",
      },
    ],
    bounds: { maxEpoch: 1, maxValues: 0, loss: false },
  },
  {
    name: "grant-vote-without-persisting",
    class: "durability",
    rule: "R14",
    description: "answer a granted vote without writing it to quorum-state",
    edits: [
      {
        file: "raft/vote.ts",
        find: `      out.effects.push({
        _tag: "PersistElectionState",
        epoch: next.epoch,
        leaderId: role.leaderId,
        votedKey: candidate,
      });`,
        replace: "",
      },
    ],
    bounds: { maxEpoch: 1, maxValues: 0, loss: false },
  },
  {
    name: "reply-before-persisting-vote",
    class: "durability",
    rule: "R14",
    description: "send the granted vote before the quorum-state write",
    edits: [
      {
        file: "raft/vote.ts",
        find: `  respond(out, from, voteResponse(next, "NONE", granted), correlationId);
  return next;
};

// ---- receiving a response (R52)`,
        replace: `  if (granted) {
    const persisted = out.effects.findIndex((e) => e._tag === "PersistElectionState" && e.votedKey !== undefined);
    if (persisted >= 0) {
      const write = out.effects.splice(persisted, 1)[0]!;
      respond(out, from, voteResponse(next, "NONE", granted), correlationId);
      out.effects.push(write);
      return next;
    }
  }
  respond(out, from, voteResponse(next, "NONE", granted), correlationId);
  return next;
};

// ---- receiving a response (R52)`,
      },
    ],
    bounds: { maxEpoch: 1, maxValues: 0, loss: false },
  },
  {
    name: "candidate-skips-persisting-epoch",
    class: "durability",
    rule: "R15",
    description: "ask for votes in a new epoch without writing it first",
    edits: [{ file: "raft/transitions.ts", find: "  persist(out, epoch, NO_ID, localKey(s));", replace: "" }],
    bounds: { maxEpoch: 1, maxValues: 0, loss: false },
  },
  {
    name: "follower-skips-persisting-leader",
    class: "durability",
    rule: "R15",
    description: "follow a leader of a new epoch without writing the epoch first",
    edits: [
      {
        file: "raft/transitions.ts",
        find: `  persist(out, epoch, leaderId, votedKey);
  let next = leave(s, out, epoch, leaderId);
  next = withRole(
    next,
    epoch,
    votedKey === undefined
      ? { _tag: "Follower"`,
        replace: `  let next = leave(s, out, epoch, leaderId);
  next = withRole(
    next,
    epoch,
    votedKey === undefined
      ? { _tag: "Follower"`,
      },
    ],
    bounds: { maxEpoch: 1, maxValues: 0, loss: false },
  },
  {
    name: "restart-former-leader-as-leader",
    class: "protocol",
    rule: "R19",
    description: "restart a node whose quorum-state names it leader as Leader, not Resigned",
    edits: [
      {
        file: "raft/startup.ts",
        find: "      state = enterResigned(boot, config, out, []);",
        replace:
          '      state = enterLeader({ ...boot, role: { _tag: "Candidate", granted: [config.nodeId], rejected: [] } }, config, out);',
      },
      { file: "raft/startup.ts", find: "  enterFollower,", replace: "  enterFollower,\n  enterLeader," },
    ],
    bounds: { maxEpoch: 1, maxValues: 1, maxCrashes: 1, loss: false },
  },
  {
    name: "resigned-leads-again",
    class: "protocol",
    rule: "R28",
    description: "let a Resigned node lead again in the same epoch when its timer runs out",
    edits: [
      {
        file: "raft/timers.ts",
        find: '      return enterUnattached(s, config, out, s.epoch + 1, -1, undefined, "keep");',
        replace: "      return enterLeader(s, config, out);",
      },
      {
        file: "raft/timers.ts",
        find: "import { enterCandidate, ",
        replace: "import { enterCandidate, enterLeader, ",
      },
    ],
    bounds: { maxEpoch: 1, maxValues: 1, maxCrashes: 1, loss: false },
  },
  {
    name: "resigned-stays-in-its-epoch",
    class: "protocol",
    rule: "R28",
    description: "move a Resigned node to Unattached in its own epoch instead of the next",
    edits: [
      {
        file: "raft/timers.ts",
        find: '      return enterUnattached(s, config, out, s.epoch + 1, -1, undefined, "keep");',
        replace: '      return enterUnattached(s, config, out, s.epoch, -1, undefined, "keep");',
      },
    ],
    bounds: { maxEpoch: 1, maxValues: 0, loss: false },
  },
  {
    name: "drop-vote-on-prospective-fallback",
    class: "protocol",
    rule: "R29",
    description: "forget the vote cast when a lost pre-vote falls back to Unattached in the same epoch",
    edits: [
      {
        file: "raft/vote.ts",
        find: "  return enterUnattached(s, config, out, s.epoch, role.leaderId, role.votedKey, timer);",
        replace: "  return enterUnattached(s, config, out, s.epoch, role.leaderId, undefined, timer);",
      },
    ],
    bounds: { maxEpoch: 2, maxValues: 0, loss: false },
  },
  {
    name: "restart-forgets-vote",
    class: "protocol",
    rule: "R21",
    description: "ignore the vote recorded in quorum-state at startup",
    edits: [
      {
        file: "raft/startup.ts",
        find: "    const votedKey = stored.votedKey;",
        replace: "    const votedKey = undefined;",
      },
    ],
    bounds: { maxEpoch: 1, maxValues: 0, maxCrashes: 1, loss: false },
  },
  {
    name: "observer-counts-toward-high-watermark",
    class: "protocol",
    rule: "R64",
    description: "count an observer's fetch offset in the high watermark",
    edits: [
      {
        file: "raft/leader.ts",
        find: "  const offsets = voterStates.map((v) => v.endOffset);",
        replace: "  const offsets = [...voterStates, ...role.observerStates].map((v) => v.endOffset);",
      },
    ],
    // Three voters: with two, every majority holds the leader, so MajorityReachedHighWatermark (which
    // asks only that every majority include a holder, R94) cannot tell the observer's vote apart.
    cluster: { voters: 3, observers: 1 },
    bounds: { maxEpoch: 1, maxValues: 1, loss: false },
  },
  {
    name: "high-watermark-from-the-best-replica",
    class: "protocol",
    rule: "R64",
    description: "take the largest fetch offset instead of the one a majority reached",
    edits: [
      {
        file: "raft/leader.ts",
        find: "  const candidate = offsets[quorumSize(s) - 1] ?? -1;",
        replace: "  const candidate = offsets[0] ?? -1;",
      },
    ],
    bounds: { maxEpoch: 1, maxValues: 1, loss: false },
  },
  {
    name: "leader-counts-unflushed-records",
    class: "durability",
    rule: "R16",
    description: "count the leader's own unflushed records toward the high watermark",
    edits: [
      {
        file: "raft/leader.ts",
        find: "const ownEndOffset = (s: NodeState): number => s.log.flushedOffset;",
        replace: "const ownEndOffset = (s: NodeState): number => s.log.endOffset;",
      },
    ],
    bounds: { maxEpoch: 1, maxValues: 1, loss: false },
  },
  {
    name: "fetch-before-flush",
    class: "durability",
    rule: "R16",
    description: "let a voter report records it has not flushed yet",
    edits: [
      {
        file: "raft/fetch-follower.ts",
        find: "  if (isVoter(s) && s.log.flushedOffset < s.log.endOffset) {",
        replace: "  if (false) {",
      },
    ],
    bounds: { maxEpoch: 1, maxValues: 1, loss: false },
  },
  {
    name: "skip-divergence-check",
    class: "protocol",
    rule: "R65",
    description: "serve a fetch without checking the follower's last epoch against the leader's log",
    edits: [
      {
        file: "raft/fetch-leader.ts",
        find: "  if (!(s.log.startOffset === 0 && request.fetchOffset === 0)) {",
        replace: "  if (false) {",
      },
    ],
    bounds: { maxEpoch: 2, maxValues: 2, loss: false },
  },
  {
    name: "high-watermark-before-truncating",
    class: "protocol",
    rule: "R66",
    description: "take the leader's high watermark before truncating on divergence",
    edits: [
      {
        file: "raft/fetch-follower.ts",
        find: '    out.effects.push({ _tag: "TruncateLog", offset });',
        replace: `    if (response.highWatermark > highWatermark) {
      highWatermark = Math.min(response.highWatermark, log.endOffset);
      out.effects.push({ _tag: "HighWatermarkUpdated", offset: highWatermark });
    }
    out.effects.push({ _tag: "TruncateLog", offset });`,
      },
    ],
    cluster: { preVote: false, checkQuorum: false },
    bounds: { maxEpoch: 2, maxValues: 2, loss: false },
  },
  // ---- durability: what reached the world's disk, not what a node claims --------------------------
  {
    name: "follower-counts-append-as-flushed",
    class: "durability",
    rule: "R16",
    description: "a follower counts records it appended as flushed before the shell flushed them",
    edits: [
      {
        file: "raft/fetch-follower.ts",
        find: "        log = appendBatch(log, batch);",
        replace:
          "        log = { ...appendBatch(log, batch), flushedOffset: batch.baseOffset + batch.count };",
      },
    ],
    bounds: { maxEpoch: 1, maxValues: 1, loss: false },
  },
  {
    name: "leader-append-counts-as-flushed",
    class: "durability",
    rule: "R16",
    description: "a leader counts a client's records as flushed when it appends them",
    edits: [
      {
        file: "raft/client.ts",
        find: "  const log = appendToLog(s.log, epoch, count);",
        replace:
          "  const log = { ...appendToLog(s.log, epoch, count), flushedOffset: s.log.endOffset + count };",
      },
    ],
    bounds: { maxEpoch: 1, maxValues: 1, loss: false },
  },
  {
    name: "truncate-keeps-flushed-mark",
    class: "durability",
    rule: "R67",
    description: "keep the flushed offset where it was when the log is truncated below it",
    edits: [
      {
        file: "raft/log.ts",
        find: "    flushedOffset: Math.min(log.flushedOffset, end),",
        replace: "    flushedOffset: log.flushedOffset,",
      },
    ],
    bounds: { maxEpoch: 2, maxValues: 2, loss: false },
  },
  {
    name: "forget-lost-records",
    class: "durability",
    rule: "R146",
    description: "a voter that cut corrupt records it had flushed at startup votes as if it never had them",
    edits: [
      {
        file: "raft/startup.ts",
        find: "  recovering: recovering && voters.length > 1 && voters.some((v) => v.id === config.nodeId),",
        replace: "  recovering: false,",
      },
    ],
    bounds: { maxEpoch: 2, maxValues: 1, maxCrashes: 2, maxCorruptions: 1, loss: false },
    start: "committed",
  },
  {
    name: "recovery-ends-at-first-answer",
    class: "durability",
    rule: "R146",
    description:
      "a recovering voter takes its first answer from a leader for its recovery, whatever its high watermark",
    edits: [
      {
        file: "raft/fetch-follower.ts",
        find: "  if (s.recovering && response.highWatermark >= 0 && s.log.flushedOffset >= response.highWatermark) {",
        replace: "  if (s.recovering) {",
      },
    ],
    bounds: { maxEpoch: 2, maxValues: 1, maxCrashes: 2, maxCorruptions: 1, loss: false },
    start: "committed",
  },
  {
    name: "recovering-voter-asks-itself",
    class: "protocol",
    rule: "R74",
    description:
      "a recovering voter's rotation over the voters includes its own id, so it sends itself a Fetch for the leader (and waits a retry backoff for its own NOT_LEADER_OR_FOLLOWER)",
    edits: [
      {
        file: "raft/fetch-follower.ts",
        find: "    if (id !== s.nodeId && (id !== quietLeaderId || !othersLeft)) return at;",
        replace: "    if (id !== quietLeaderId || !othersLeft) return at;",
      },
      {
        file: "raft/fetch-follower.ts",
        find: "    return id === s.nodeId ? undefined : id;",
        replace: "    return id;",
      },
    ],
    bounds: { maxEpoch: 2, maxValues: 1, maxCrashes: 2, maxCorruptions: 1, loss: false },
    start: "committed",
  },
  // ---- roles that must refuse a client's write (R87) ---------------------------------------------
  {
    name: "resigned-accepts-writes",
    class: "roles",
    rule: "R87",
    description: "a resigned leader still accepts writes in its epoch",
    edits: [
      {
        file: "raft/client.ts",
        find: '  if (s.role._tag !== "Leader" || epoch !== s.epoch || s.shuttingDown) {',
        replace:
          '  if ((s.role._tag !== "Leader" && s.role._tag !== "Resigned") || epoch !== s.epoch || s.shuttingDown) {',
      },
    ],
    bounds: { maxEpoch: 1, maxValues: 1, loss: false },
  },
  {
    name: "follower-accepts-writes",
    class: "roles",
    rule: "R87",
    description: "a follower appends a client's write to its own log",
    edits: [
      {
        file: "raft/client.ts",
        find: '  if (s.role._tag !== "Leader" || epoch !== s.epoch || s.shuttingDown) {',
        replace:
          '  if ((s.role._tag !== "Leader" && s.role._tag !== "Follower") || epoch !== s.epoch || s.shuttingDown) {',
      },
    ],
    bounds: { maxEpoch: 1, maxValues: 1, loss: false },
  },
  {
    name: "stale-epoch-write-accepted",
    class: "roles",
    rule: "R87",
    description: "a leader accepts a write a client addressed to an earlier epoch",
    edits: [
      {
        file: "raft/client.ts",
        find: '  if (s.role._tag !== "Leader" || epoch !== s.epoch || s.shuttingDown) {',
        replace: '  if (s.role._tag !== "Leader" || epoch > s.epoch || s.shuttingDown) {',
      },
    ],
    bounds: { maxEpoch: 1, maxValues: 1, loss: false },
  },
  // ---- liveness: the cluster must not get stuck ----------------------------------------------------
  {
    name: "no-check-quorum-resignation",
    class: "liveness",
    rule: "R57",
    description: "a leader whose check-quorum timer runs out keeps leading",
    edits: [
      {
        file: "raft/timers.ts",
        find: `      return role._tag === "Leader"
        ? enterResigned(next, config, out, preferredSuccessors(next, role))
        : next;`,
        replace: "      return next;",
      },
    ],
    bounds: { maxEpoch: 1, maxValues: 0, maxCrashes: 2, loss: false },
  },
  {
    name: "high-watermark-not-propagated",
    class: "liveness",
    rule: "R66",
    description: "a follower ignores the high watermark its leader sends",
    edits: [
      {
        file: "raft/fetch-follower.ts",
        find: "    if (response.highWatermark >= 0) {",
        replace: "    if (false) {",
      },
    ],
    bounds: { maxEpoch: 1, maxValues: 1, loss: false },
  },
  {
    name: "candidate-waits-forever",
    class: "liveness",
    rule: "R25",
    description: "a candidate whose election timer runs out does nothing",
    edits: [
      {
        file: "raft/timers.ts",
        find: `    case "Candidate":
      mark(out, "R25:election-timed-out");
      return startElection(s, config, out);`,
        replace: `    case "Candidate":
      return s;`,
      },
    ],
    bounds: { maxEpoch: 1, maxValues: 0, loss: true },
  },
  {
    name: "leader-change-record-not-flushed",
    class: "liveness",
    rule: "R55",
    description: "a new leader never asks for its LeaderChange record to be flushed",
    edits: [
      {
        file: "raft/leader.ts",
        find: `  out.effects.push({ _tag: "FlushLog", offset: log.endOffset });
  let next: NodeState = {`,
        replace: "  let next: NodeState = {",
      },
    ],
    bounds: { maxEpoch: 1, maxValues: 0, loss: false },
  },
  // ---- the controller layer (metadata model) ------------------------------------------------------
  {
    name: "skip-leader-epoch-bump",
    class: "protocol",
    rule: "R122",
    description: "replay a leader change without bumping the leader epoch",
    edits: [
      {
        file: "metadata/image.ts",
        find: "leaderEpoch: record.leader === NO_LEADER_CHANGE ? partition.leaderEpoch : partition.leaderEpoch + 1,",
        replace: "leaderEpoch: partition.leaderEpoch,",
      },
    ],
    metadata: { brokers: 2, partitions: 1, bounds: { ...QUIET_METADATA, maxSessionExpiries: 1 }, depth: 30 },
  },
  {
    name: "fence-without-moving-leadership",
    class: "protocol",
    rule: "R117",
    description: "fence a broker without taking it out of the ISRs first",
    edits: [
      {
        file: "metadata/controller.ts",
        find: "const fenceRecords = (writer: Writer, broker: BrokerRegistration): void => {\n  removeFromIsrs(writer, broker.id);",
        replace: "const fenceRecords = (writer: Writer, broker: BrokerRegistration): void => {",
      },
    ],
    metadata: { brokers: 2, partitions: 1, bounds: { ...QUIET_METADATA, maxSessionExpiries: 1 }, depth: 30 },
  },
  {
    name: "index-misses-leaderless-partitions",
    class: "protocol",
    rule: "R117",
    description:
      "keep the index of partitions by broker without the leaderless ones, so an unfenced broker never gets them",
    edits: [
      {
        file: "metadata/image.ts",
        find: "  p.isr.includes(p.leader) ? p.isr : [...p.isr, p.leader];",
        replace: "  p.isr;",
      },
    ],
    metadata: { brokers: 1, partitions: 1, bounds: { ...QUIET_METADATA, maxSessionExpiries: 1 }, depth: 30 },
  },
  {
    name: "fence-moves-only-leadership",
    class: "protocol",
    rule: "R124",
    description:
      "fence a broker by moving the leadership of the partitions it leads, leaving it in the other ISRs",
    edits: [
      {
        file: "metadata/controller.ts",
        find: "      if (!partition.isr.includes(brokerId)) continue;",
        replace: "      if (partition.leader !== brokerId) continue;",
      },
    ],
    metadata: { brokers: 2, partitions: 2, bounds: { ...QUIET_METADATA, maxSessionExpiries: 1 }, depth: 30 },
  },
  {
    name: "topic-deletion-keeps-configs",
    class: "protocol",
    rule: "R111",
    description: "delete a topic but keep its configs, which a new topic of the same name then inherits",
    edits: [
      {
        file: "metadata/image.ts",
        find: "          configs: removeItem(image.configs, resourceKey(RESOURCE_TOPIC, topic.name), byResource, owned),",
        replace: "          configs: image.configs,",
      },
    ],
    metadata: {
      brokers: 2,
      partitions: 1,
      bounds: {
        ...QUIET_METADATA,
        adminOps: [
          createTopic("u", [4], [{ name: "retention.ms", value: "1000" }]),
          { _tag: "DeleteTopicsRequest", topics: [{ name: "u", topicId: null }] },
        ],
      },
      depth: 40,
    },
  },
  {
    name: "shutting-down-broker-usable",
    class: "protocol",
    rule: "R119",
    description: "count a broker in controlled shutdown as usable, so it may be elected leader again",
    edits: [
      {
        file: "metadata/image.ts",
        find: "  return broker !== undefined && !broker.fenced && !broker.inControlledShutdown;",
        replace: "  return broker !== undefined && !broker.fenced;",
      },
    ],
    metadata: {
      brokers: 2,
      partitions: 1,
      bounds: { ...QUIET_METADATA, maxControlledShutdowns: 1, maxSessionExpiries: 1 },
      depth: 40,
    },
  },
  {
    name: "controlled-shutdown-target-moves",
    class: "liveness",
    rule: "R116",
    description:
      "let a broker in controlled shutdown go only once the other active brokers have caught up with the controller's latest offset, not the offset at which its shutdown began: steady writes hold it up for ever, as Kafka did before KAFKA-14292",
    edits: [
      {
        file: "metadata/controller.ts",
        find: "        x.metadataOffset >= session.controlledShutdownOffset,",
        replace: "        x.metadataOffset >= s.nextOffset - 1,",
      },
    ],
    metadata: {
      brokers: 2,
      partitions: 1,
      bounds: {
        ...QUIET_METADATA,
        maxControlledShutdowns: 1,
        adminOps: [createTopic("u", [5])],
      },
      depth: 40,
      liveness: true,
    },
  },
  {
    name: "config-for-missing-topic",
    class: "protocol",
    rule: "R111",
    description:
      "accept IncrementalAlterConfigs for a topic that does not exist, which a later topic of that name inherits",
    edits: [
      {
        file: "metadata/controller.ts",
        find: '    return findTopic(image, resourceName) === undefined\n      ? ["UNKNOWN_TOPIC_OR_PARTITION",',
        replace: '    return false\n      ? ["UNKNOWN_TOPIC_OR_PARTITION",',
      },
    ],
    metadata: {
      brokers: 2,
      partitions: 1,
      bounds: {
        ...QUIET_METADATA,
        adminOps: [setTopicConfig("u", "retention.ms", "1000")],
      },
      depth: 30,
    },
  },
  {
    name: "unchanged-config-written",
    class: "protocol",
    rule: "R111",
    description:
      "write a ConfigRecord for every IncrementalAlterConfigs operation on a topic, the ones that change nothing too (Kafka writes those only for a broker, KAFKA-14136)",
    edits: [
      {
        file: "metadata/controller.ts",
        find: "if (value !== stored || r.resourceType === RESOURCE_BROKER) changes.push",
        replace: "if (true) changes.push",
      },
    ],
    metadata: {
      brokers: 2,
      partitions: 1,
      bounds: {
        ...QUIET_METADATA,
        adminOps: [setTopicConfig("t", "retention.ms", "604800000")],
      },
      depth: 30,
    },
  },
  {
    name: "answer-before-commit",
    class: "protocol",
    rule: "R104",
    description: "answer a write as soon as it is proposed",
    edits: [
      {
        file: "metadata/controller.ts",
        find: '  if (writer.records.length === 0) {\n    out.effects.push({ _tag: "Respond", to, correlationId, response });\n    return s;\n  }',
        replace:
          '  out.effects.push({ _tag: "Respond", to, correlationId, response });\n  if (writer.records.length === 0) {\n    return s;\n  }',
      },
    ],
    metadata: {
      brokers: 2,
      partitions: 1,
      bounds: { ...QUIET_METADATA, adminOps: [createTopic("u", [4])] },
      depth: 30,
    },
  },
  {
    name: "create-topic-on-fenced-broker",
    class: "protocol",
    rule: "R121",
    description: "put every replica of a new partition into its ISR, usable or not",
    edits: [
      {
        file: "metadata/controller.ts",
        find: "  const isr = replicas.filter((id) => isUsable(image, id));",
        replace: "  const isr = replicas.slice();",
      },
    ],
    metadata: {
      brokers: 2,
      partitions: 1,
      bounds: { ...QUIET_METADATA, maxSessionExpiries: 1, adminOps: [createTopic("u", [4, 5])] },
      depth: 40,
    },
  },
  {
    name: "broker-epoch-after-its-record",
    class: "protocol",
    rule: "R114",
    description: "give a new broker incarnation an epoch one past its registration record",
    edits: [
      {
        file: "metadata/controller.ts",
        find: "  const brokerEpoch = writer.nextOffset;",
        replace: "  const brokerEpoch = writer.nextOffset + 1;",
      },
    ],
    metadata: {
      brokers: 1,
      partitions: 1,
      bounds: { ...QUIET_METADATA, maxBrokerCrashes: 1, maxSessionExpiries: 1 },
      depth: 40,
    },
  },
  {
    name: "register-over-a-live-session",
    class: "protocol",
    rule: "R113",
    description: "let a second incarnation register while the first one's session is live",
    edits: [
      {
        file: "metadata/controller.ts",
        find: "  if (existing !== undefined && !existing.fenced && live)",
        replace: "  if (existing !== undefined && !existing.fenced && live && false)",
      },
    ],
    metadata: { brokers: 1, partitions: 1, bounds: { ...QUIET_METADATA, maxBrokerCrashes: 1 }, depth: 30 },
  },
  {
    name: "unfence-before-caught-up",
    class: "protocol",
    rule: "R115",
    description: "unfence a broker before it has replayed its own registration",
    edits: [
      {
        file: "metadata/controller.ts",
        find: "  const caughtUp = request.currentMetadataOffset >= broker.epoch;",
        replace: "  const caughtUp = true;",
      },
    ],
    metadata: {
      brokers: 1,
      partitions: 1,
      bounds: { ...QUIET_METADATA, maxBrokerCrashes: 1, maxSessionExpiries: 1 },
      depth: 40,
    },
  },
  {
    name: "unclean-election-without-permission",
    class: "protocol",
    rule: "R123",
    description: "elect a replica from outside the ISR although the topic does not allow it",
    edits: [
      {
        file: "metadata/partition-change.ts",
        find: "  if (request.uncleanAllowed) {",
        replace: "  if (true) {",
      },
    ],
    metadata: {
      brokers: 2,
      partitions: 1,
      bounds: { ...QUIET_METADATA, maxBrokerCrashes: 1, maxSessionExpiries: 1 },
      depth: 40,
    },
  },
  {
    name: "accept-isr-member-of-stale-epoch",
    class: "protocol",
    rule: "R126",
    description:
      "accept an AlterPartition naming an ISR member with a broker epoch it no longer has (KIP-903)",
    edits: [
      {
        file: "metadata/controller.ts",
        find: "        const epochMatches = m.brokerEpoch === -1 || b?.epoch === m.brokerEpoch;",
        replace: "        const epochMatches = true;",
      },
    ],
    metadata: {
      brokers: 2,
      partitions: 1,
      bounds: { ...QUIET_METADATA, maxBrokerCrashes: 1, maxSessionExpiries: 1 },
      depth: 60,
    },
  },
  // ---- the node: layers composed (spec/node) and requests routed --------------------------------
  {
    name: "leader-change-not-told-to-controller",
    class: "composition",
    rule: "R147",
    description: "the node never tells its controller that the Raft leader changed",
    edits: [
      {
        file: "node/node.ts",
        find: `        if (run.state.controller !== null) {
          queue.push({
            layer: "controller",
            input: {
              _tag: "LeaderChange",`,
        replace: `        if (run.state.controller !== null && false) {
          queue.push({
            layer: "controller",
            input: {
              _tag: "LeaderChange",`,
      },
    ],
    metadata: {
      brokers: 1,
      partitions: 1,
      bounds: { ...QUIET_METADATA, maxControllerCrashes: 1 },
      depth: 8,
      liveness: true,
    },
  },
  {
    name: "commits-not-handed-to-broker",
    class: "composition",
    rule: "R147",
    description: "the node never hands its broker the records Raft committed",
    edits: [
      {
        file: "node/node.ts",
        find: '  if (run.state.broker !== null) queue.push({ layer: "broker", input: { _tag: "Committed", records } });',
        replace: "",
      },
    ],
    metadata: {
      brokers: 1,
      partitions: 1,
      bounds: { ...QUIET_METADATA, maxBrokerCrashes: 1 },
      depth: 6,
      liveness: true,
    },
  },
  {
    name: "forwarded-answer-dropped",
    class: "composition",
    rule: "R148",
    description: "a node passes a client's request on to the active controller but never relays the answer",
    edits: [
      {
        file: "node/node.ts",
        find: `        mark(run, input._tag === "Response" ? "R148:answer-relayed" : "R148:forward-failed");
        effects.push({`,
        replace: `        mark(run, input._tag === "Response" ? "R148:answer-relayed" : "R148:forward-failed");
        if (input._tag === "Response") return;
        effects.push({`,
      },
    ],
    metadata: {
      brokers: 1,
      partitions: 1,
      bounds: { ...QUIET_METADATA, adminOps: [createTopic("u", [4])] },
      depth: 10,
      liveness: true,
    },
  },
  {
    name: "client-speaks-for-a-broker",
    class: "composition",
    rule: "R148",
    description: "a node serves or passes on a client's BrokerHeartbeat as if a broker had sent it",
    edits: [
      {
        file: "node/node.ts",
        find: "      if (lifecycle && from < 0) {",
        replace: "      if (lifecycle && from < -1000000) {",
      },
    ],
    metadata: {
      brokers: 1,
      partitions: 1,
      bounds: {
        ...QUIET_METADATA,
        adminOps: [
          {
            _tag: "BrokerHeartbeatRequest",
            brokerId: 4,
            brokerEpoch: 0,
            currentMetadataOffset: 0,
            wantFence: true,
            wantShutDown: true,
          },
        ],
      },
      depth: 6,
    },
  },
  {
    name: "foreign-cluster-answer-fatal",
    class: "composition",
    rule: "R149",
    description: "a node treats any answer naming another cluster as fatal, even one that answers nothing",
    edits: [
      {
        file: "node/node.ts",
        find: `        if (foreign && !isAnswerTo(run.state.raft, raftInput.from, api, raftInput.correlationId))
          mark(run, "R149:foreign-answer-ignored");
        else if (foreign) {
          mark(run, "R149:foreign-answer-reported");`,
        replace: `        if (foreign) {
          effects.push({ _tag: "IllegalState", rule: "R149", detail: "another cluster answered" });`,
      },
    ],
    metadata: { brokers: 1, partitions: 1, bounds: { ...QUIET_METADATA, maxForgedFrames: 1 }, depth: 3 },
  },
  // ---- roles and liveness in the metadata layer ---------------------------------------------------
  {
    name: "standby-controller-writes",
    class: "roles",
    rule: "R104",
    description: "a standby controller serves a write as if it were active",
    edits: [
      {
        file: "metadata/controller.ts",
        find: `  if (!s.active) {
    mark(out, "R104:standby-answers-not-controller");
    out.effects.push({ _tag: "Respond", to: from, correlationId, response: notController(req) });
    return s;
  }`,
        replace: "",
      },
    ],
    metadata: {
      brokers: 1,
      partitions: 1,
      bounds: { ...QUIET_METADATA, maxEpoch: 2, maxDelays: 1, maxBrokerCrashes: 1 },
      depth: 12,
    },
  },
  {
    name: "heartbeat-not-rearmed",
    class: "liveness",
    rule: "R115",
    description: "a broker's heartbeat timer is not armed again once it ran",
    edits: [
      {
        file: "metadata/broker.ts",
        find: `const tick = (s: BrokerState, config: BrokerConfig, out: Out): BrokerState => {
  out.effects.push({ _tag: "ArmHeartbeatTimer", delayMs: config.heartbeatIntervalMs });`,
        replace: `const tick = (s: BrokerState, config: BrokerConfig, out: Out): BrokerState => {
  if (s.lifecycle === "STARTING") out.effects.push({ _tag: "ArmHeartbeatTimer", delayMs: config.heartbeatIntervalMs });`,
      },
    ],
    metadata: { brokers: 1, partitions: 1, bounds: { ...QUIET_METADATA }, depth: 4, liveness: true },
  },
  {
    name: "fetched-records-not-read",
    class: "composition",
    rule: "R147",
    description:
      "records a follower appends and sees committed in the same step are read from the shell's log, which does not have them yet",
    edits: [
      {
        file: "node/node.ts",
        find: "        overlay.append(effect.baseOffset, effect.epoch, payloads);",
        replace: "",
      },
    ],
    metadata: { brokers: 1, partitions: 1, bounds: { ...QUIET_METADATA, maxBrokerCrashes: 1 }, depth: 8 },
  },
  {
    name: "leader-change-not-told-to-broker",
    class: "composition",
    rule: "R147",
    description: "the node never tells its broker which controller leads",
    edits: [
      {
        file: "node/node.ts",
        find: `        if (run.state.broker !== null) {
          queue.push({
            layer: "broker",
            input: { _tag: "LeaderChange", leaderId: effect.leaderId, epoch: effect.epoch },
          });
        }`,
        replace: "",
      },
    ],
    metadata: {
      brokers: 1,
      partitions: 1,
      bounds: { ...QUIET_METADATA, maxBrokerCrashes: 1 },
      depth: 4,
      liveness: true,
    },
  },

  // ---- snapshots (R77–R84) ------------------------------------------------------------------------
  {
    name: "leader-serves-records-below-log-start",
    class: "protocol",
    rule: "R65",
    description: "a leader answers a fetch below its log start with records instead of its snapshot",
    edits: [
      {
        file: "raft/fetch-leader.ts",
        find: "  const newest = latestSnapshot(log);\n  if (newest === undefined) return undefined;",
        replace:
          "  const newest = latestSnapshot(log);\n  if (newest === undefined || newest.endOffset >= 0) return undefined;",
      },
    ],
    cluster: { snapshotChunk: 1 },
    bounds: SNAPSHOT_BOUNDS,
    start: "committed",
  },
  {
    name: "snapshot-above-high-watermark",
    class: "protocol",
    rule: "R77",
    description: "take a snapshot above the high watermark when the state machine asks",
    edits: [
      {
        file: "raft/snapshot.ts",
        find: "  if (endOffset > s.highWatermark) {",
        replace: "  if (endOffset > s.log.endOffset) {",
      },
    ],
    cluster: { snapshotChunk: 1 },
    bounds: SNAPSHOT_BOUNDS,
    start: "committed",
  },
  {
    name: "log-start-keeps-epoch-cache",
    class: "protocol",
    rule: "R79",
    description: "move the log start without dropping the epoch cache entries below it",
    edits: [
      {
        file: "raft/log.ts",
        find: "    if (end <= offset) continue;",
        replace: "",
      },
    ],
    cluster: { snapshotChunk: 1 },
    bounds: SNAPSHOT_BOUNDS,
    start: "committed",
  },
  {
    name: "last-epoch-ignores-snapshot",
    class: "liveness",
    rule: "R81",
    description: "a log holding only a snapshot reports epoch 0 as its last epoch",
    edits: [
      {
        file: "raft/log.ts",
        find: "  log.epochs.length === 0 ? (latestSnapshot(log)?.epoch ?? 0) : log.epochs[log.epochs.length - 1]!.epoch;",
        replace: "  log.epochs.length === 0 ? 0 : log.epochs[log.epochs.length - 1]!.epoch;",
      },
    ],
    cluster: { snapshotChunk: 1 },
    bounds: SNAPSHOT_BOUNDS,
    start: "committed",
  },
  {
    name: "log-start-past-snapshot",
    class: "durability",
    rule: "R79",
    description: "retention deletes the whole log up to its end rather than up to the snapshot it names",
    edits: [
      {
        file: "raft/snapshot.ts",
        find: `  out.effects.push({ _tag: "DeleteLogBefore", offset: endOffset });
  return { ...s, log: deleteLogBefore(s.log, endOffset) };`,
        replace: `  out.effects.push({ _tag: "DeleteLogBefore", offset: s.log.endOffset });
  return { ...s, log: deleteLogBefore(s.log, s.log.endOffset) };`,
      },
    ],
    cluster: { snapshotChunk: 1 },
    bounds: { ...SNAPSHOT_BOUNDS, maxValues: 2, maxValuesPerEpoch: 2, maxCrashes: 0 },
    start: "committed",
  },
  {
    name: "snapshot-chunk-from-start",
    class: "protocol",
    rule: "R83",
    description: "a leader answers every FetchSnapshot from byte 0, whatever position was asked for",
    edits: [
      {
        file: "raft/snapshot.ts",
        find: "      position: request.position,\n      bytes:",
        replace: "      position: 0,\n      bytes:",
      },
    ],
    cluster: { snapshotChunk: 1 },
    bounds: SNAPSHOT_BOUNDS,
    start: "committed",
  },
  {
    name: "snapshot-installed-before-whole",
    class: "durability",
    rule: "R83",
    description: "install a downloaded snapshot one part before its last",
    edits: [
      {
        file: "raft/snapshot.ts",
        find: "  if (position < response.size) {",
        replace: "  if (position < response.size - 1) {",
      },
    ],
    cluster: { snapshotChunk: 1 },
    bounds: SNAPSHOT_BOUNDS,
    start: "committed",
  },
  {
    name: "snapshot-install-keeps-log-tail",
    class: "protocol",
    rule: "R83",
    description: "install a snapshot by moving the log start instead of truncating the log fully",
    edits: [
      {
        file: "raft/snapshot.ts",
        find: "  const log = logOfSnapshot(snapshot, response.voterSet);",
        replace: "  const log = { ...s.log, startOffset: snapshot.endOffset, snapshots: [snapshot] };",
      },
    ],
    cluster: { snapshotChunk: 1 },
    bounds: SNAPSHOT_BOUNDS,
    start: "committed",
  },
  {
    name: "snapshot-installed-not-loaded",
    class: "protocol",
    rule: "R84",
    description: "install a downloaded snapshot without telling the listener to load it",
    edits: [
      {
        file: "raft/snapshot.ts",
        find: '  out.effects.push({ _tag: "LoadSnapshot", endOffset: snapshot.endOffset, epoch: snapshot.epoch });',
        replace: "",
      },
    ],
    cluster: { snapshotChunk: 1 },
    bounds: SNAPSHOT_BOUNDS,
    start: "committed",
  },
  {
    name: "start-without-loading-snapshot",
    class: "protocol",
    rule: "R84",
    description: "a process that finds a snapshot starts without its listener loading it",
    edits: [
      {
        file: "raft/startup.ts",
        find: "  if (newest !== undefined) {",
        replace: "  if (newest !== undefined && log.startOffset < 0) {",
      },
    ],
    cluster: { snapshotChunk: 1 },
    bounds: SNAPSHOT_BOUNDS,
    start: "committed",
  },
  // ---- metadata snapshots (R84, R131) -----------------------------------------------------------
  {
    name: "snapshot-forgets-fencing",
    class: "protocol",
    rule: "R131",
    description: "write every broker into a metadata snapshot as unfenced",
    edits: [
      { file: "metadata/image.ts", find: "      fenced: b.fenced,\n", replace: "      fenced: false,\n" },
    ],
    metadata: { brokers: 2, partitions: 1, bounds: METADATA_SNAPSHOTS, depth: 40 },
  },
  {
    name: "snapshot-forgets-configs",
    class: "protocol",
    rule: "R131",
    description: "write a metadata snapshot without the image's configs",
    edits: [
      {
        file: "metadata/image.ts",
        find: '  for (const c of configsOf(image)) records.push({ _tag: "ConfigRecord", ...c });',
        replace: "",
      },
    ],
    metadata: {
      brokers: 2,
      partitions: 1,
      bounds: {
        ...METADATA_SNAPSHOTS,
        adminOps: [createTopic("u", [4], [{ name: "retention.ms", value: "1000" }])],
      },
      depth: 40,
    },
  },
  {
    name: "snapshot-resets-leader-epochs",
    class: "protocol",
    rule: "R131",
    description: "write partitions into a metadata snapshot with their leader epoch back at 0",
    edits: [
      {
        file: "metadata/image.ts",
        find: '    for (const p of partitionsOf(t)) records.push({ _tag: "PartitionRecord", topicId: t.topicId, ...p });',
        replace:
          '    for (const p of partitionsOf(t)) records.push({ _tag: "PartitionRecord", topicId: t.topicId, ...p, leaderEpoch: 0 });',
      },
    ],
    metadata: { brokers: 2, partitions: 1, bounds: METADATA_SNAPSHOTS, depth: 40 },
  },
  {
    name: "broker-ignores-snapshot",
    class: "composition",
    rule: "R84",
    description: "a broker told to load a snapshot keeps the image it had",
    edits: [
      {
        file: "metadata/broker.ts",
        find: "      next = { ...s, image: loaded.image };",
        replace: "      next = { ...s, image: { ...s.image, offset: loaded.image.offset } };",
      },
    ],
    metadata: { brokers: 2, partitions: 1, bounds: METADATA_SNAPSHOTS, depth: 40 },
  },
  {
    name: "snapshot-loaded-over-old-image",
    class: "composition",
    rule: "R84",
    description:
      "a running broker loads a snapshot on top of the image it had, so what the snapshot no longer holds (a topic deleted meanwhile) stays in its image, as Kafka's MetadataLoader did before KAFKA-14894",
    edits: [
      {
        file: "metadata/broker.ts",
        find: "      const loaded = loadSnapshotImage(input.records, input.endOffset, input.epoch);",
        replace:
          "      const merged = replay(s.image, input.records.map((record) => ({ offset: input.endOffset - 1, epoch: input.epoch, record })));\n      const loaded = { image: { ...merged.image, offset: input.endOffset - 1, epoch: input.epoch }, problems: [] as string[] };",
      },
    ],
    metadata: {
      brokers: 1,
      partitions: 1,
      bounds: {
        ...QUIET_METADATA,
        snapshots: true,
        adminOps: [
          createTopic("u", [4]),
          { _tag: "DeleteTopicsRequest", topics: [{ name: "u", topicId: null }] },
        ],
      },
      depth: 40,
    },
  },
  {
    name: "load-restarts-listener-at-zero",
    class: "composition",
    rule: "R84",
    description: "after loading a snapshot, hand the listener the log from offset 0 again",
    edits: [
      {
        file: "node/node.ts",
        find: "      run.state = { ...run.state, listenerOffset: input.endOffset, snapshotToLoad: null };",
        replace: "      run.state = { ...run.state, listenerOffset: 0, snapshotToLoad: null };",
      },
    ],
    // Replayed again from 0, the records a broker has are skipped; below a log start they are gone,
    // and the broker never catches up: a liveness bug.
    metadata: { brokers: 2, partitions: 1, bounds: METADATA_SNAPSHOTS, depth: 40, liveness: true },
  },
  // ---- dynamic voter sets (KIP-853): runs start with an observer caught up (joined) ----------------
  {
    name: "voter-change-while-pending",
    class: "protocol",
    rule: "R93",
    description: "the leader takes a second voter change before the first is committed",
    edits: [
      {
        file: "raft/reconfiguration.ts",
        find: "  if (role.pendingVoterChange !== undefined)",
        replace: "  if (role.pendingVoterChange === null)",
      },
      {
        file: "raft/reconfiguration.ts",
        find: "  if (latestVoterSetOffset(s.log) >= role.highWatermark)",
        replace: "  if (latestVoterSetOffset(s.log) >= Number.MAX_SAFE_INTEGER)",
      },
    ],
    ...RECONFIGURATION,
    bounds: { ...RECONFIGURATION.bounds, maxVoterChanges: 2 },
  },
  {
    name: "voter-change-before-first-commit",
    class: "protocol",
    rule: "R93",
    description: "a new leader takes a voter change before its LeaderChange is committed",
    edits: [
      {
        file: "raft/reconfiguration.ts",
        find: "  if (role.highWatermark < 0)",
        replace: "  if (role.highWatermark < -1)",
      },
    ],
    ...RECONFIGURATION,
  },
  {
    name: "voter-set-kept-on-truncation",
    class: "durability",
    rule: "R91",
    description: "a truncation that removes a VotersRecord keeps its voter set in force",
    edits: [
      {
        file: "raft/log.ts",
        find: "  if (keepSets === sets.length) return truncated;",
        replace: "  if (keepSets >= 0) return truncated;",
      },
    ],
    ...RECONFIGURATION,
    bounds: { ...RECONFIGURATION.bounds, maxEpoch: 2, maxCrashes: 1 },
  },
  {
    name: "fetched-voter-set-ignored",
    class: "protocol",
    rule: "R91",
    description:
      "a follower appends a fetched VotersRecord but keeps its old voter set until it is committed",
    edits: [
      {
        file: "raft/log.ts",
        find: "    : appendVotersRecord(log, batch.epoch, batch.voters);",
        replace: "    : appendToLog(log, batch.epoch, batch.count);",
      },
    ],
    ...RECONFIGURATION,
  },
  {
    name: "observer-fetch-counted-for-new-voter",
    class: "durability",
    rule: "R94",
    description: "the leader counts a fetch a new voter sent as an observer, before it had flushed anything",
    edits: [
      {
        file: "raft/fetch-leader.ts",
        find: "    if (request.fetchOffset <= voterSince(s.log, config.voters, request.replicaId)) {",
        replace:
          "    if (request.fetchOffset < 0 && voterSince(s.log, config.voters, request.replicaId) > 0) {",
      },
    ],
    ...RECONFIGURATION,
  },
  {
    name: "add-voter-not-caught-up",
    class: "protocol",
    rule: "R101",
    description: "the leader adds a voter that has not caught up",
    edits: [
      {
        file: "raft/reconfiguration.ts",
        find: "        : !caughtUp(rest, adding.voter)\n",
        replace: "        : false && !caughtUp(rest, adding.voter)\n",
      },
    ],
    ...RECONFIGURATION,
  },
  {
    name: "duplicate-voter-added",
    class: "protocol",
    rule: "R96",
    description:
      "the leader adds a voter whose id is already in the set: a controller whose disk was replaced joins under its new key while its old entry still votes",
    edits: [
      {
        file: "raft/reconfiguration.ts",
        find: "      : s.voters.some((v) => v.id === request.voterId)",
        replace: "      : s.voters.some((v) => v.id === -request.voterId)",
      },
    ],
    ...DISK_REPLACEMENT,
    bounds: { ...DISK_REPLACEMENT.bounds, maxEpoch: 1, maxCrashes: 1 },
  },
  {
    name: "last-voter-removed",
    class: "protocol",
    rule: "R97",
    description: "the leader removes the last voter of the set",
    edits: [
      {
        file: "raft/reconfiguration.ts",
        find: "      : remaining.length === 0",
        replace: "      : remaining.length < 0",
      },
    ],
    ...RECONFIGURATION,
    cluster: { voters: 1, observers: 1, kraftVersion: 1 },
  },
  {
    name: "snapshot-voter-set-ignored",
    class: "protocol",
    rule: "R91",
    description:
      "a replica installing a downloaded snapshot ignores the voter set it holds and keeps the one it had",
    edits: [
      {
        file: "raft/snapshot.ts",
        find: "  const log = logOfSnapshot(snapshot, response.voterSet);",
        replace: "  const log = logOfSnapshot(snapshot);",
      },
      {
        file: "raft/snapshot.ts",
        find: "    voters: currentVoters(log, config.voters),\n",
        replace: "",
      },
    ],
    cluster: { voters: 3, observers: 0, kraftVersion: 1, snapshotChunk: 2 },
    bounds: { maxEpoch: 1, maxValues: 0, maxVoterChanges: 1, maxCrashes: 0, loss: false, snapshots: true },
    start: "joined",
  },
  {
    name: "removed-leader-never-resigns",
    class: "liveness",
    rule: "R98",
    description: "a leader whose own removal is committed goes on leading",
    edits: [
      {
        file: "raft/step.ts",
        find: '    if (completed.resign && next.role._tag === "Leader") {',
        replace: '    if (completed.resign && next.role._tag === "Resigned") {',
      },
    ],
    ...RECONFIGURATION,
  },
  {
    name: "leader-outside-voter-set-ignored",
    class: "liveness",
    rule: "R91",
    description: "a replica follows only leaders its own voter set holds, even with kraft.version 1",
    edits: [
      {
        file: "raft/transitions.ts",
        find: "  leaderReachable(s, leaderId) || config.kraftVersion === 1;",
        replace: "  leaderReachable(s, leaderId) || config.kraftVersion === 2;",
      },
    ],
    ...RECONFIGURATION,
    bounds: { ...RECONFIGURATION.bounds, maxEpoch: 2, maxCrashes: 1 },
  },
  {
    name: "stale-leader-never-asked-again",
    class: "liveness",
    rule: "R56",
    description:
      "a leader resends BeginQuorumEpoch only to voters that never followed it, so a leader that removed itself from two voters leads its stale epoch forever once the other elects itself",
    edits: [
      {
        file: "raft/timers.ts",
        find: "            v.id !== s.nodeId && v.acknowledged ? { ...v, acknowledged: false } : v,",
        replace: "            v,",
      },
    ],
    cluster: { voters: 2, observers: 0, kraftVersion: 1 as const },
    bounds: { maxEpoch: 2, maxValues: 0, maxVoterChanges: 1, maxCrashes: 0, loss: true },
    start: "joined" as const,
  },
  {
    name: "controller-ignores-control-records",
    class: "composition",
    rule: "R106",
    description:
      "the active controller is not told of a VotersRecord the Raft leader appended, so its next proposal lands one offset later than it expects and it resigns at every voter change (a dynamic quorum's controller fails over for each add, remove or update)",
    edits: [
      {
        file: "metadata/controller.ts",
        find: "      if (s.active && s.proposals.length === 0 && input.endOffset > s.nextOffset) {\n",
        replace: "      if (s.active && s.proposals.length === 0 && input.endOffset < 0) {\n",
      },
    ],
  },
  {
    name: "update-voter-ignores-epoch",
    class: "protocol",
    rule: "R99",
    description: "the leader takes an UpdateRaftVoter from a voter that believes in an earlier epoch",
    edits: [
      {
        file: "raft/reconfiguration.ts",
        find: "  if (request.currentLeaderEpoch < s.epoch)\n",
        replace: "  if (request.currentLeaderEpoch < 0)\n",
      },
    ],
    ...RECONFIGURATION,
  },
  {
    name: "update-voter-waits-for-nothing",
    class: "protocol",
    rule: "R93",
    description: "a voter change is taken while an update's VotersRecord is still uncommitted",
    edits: [
      {
        file: "raft/reconfiguration.ts",
        find: "  if (latestVoterSetOffset(s.log) >= role.highWatermark)\n",
        replace: "  if (latestVoterSetOffset(s.log) >= role.highWatermark + 1000)\n",
      },
    ],
    ...RECONFIGURATION,
    bounds: { ...RECONFIGURATION.bounds, maxVoterChanges: 2, voterUpdates: true },
  },
  {
    name: "add-voter-ignores-kraft-version-range",
    class: "protocol",
    rule: "R96",
    description:
      "the leader adds a voter whose ApiVersions lists no kraft.version 1 (a node of a release before KIP-853)",
    edits: [
      {
        file: "raft/reconfiguration.ts",
        find: "      : range === null || !coversFinalized(range)\n",
        replace: "      : false\n",
      },
    ],
    ...RECONFIGURATION,
  },
  {
    name: "auto-join-asks-once",
    class: "liveness",
    rule: "R150",
    description:
      "an auto-joining observer asks once and never again: refused while it catches up with a write, it stays an observer",
    edits: [
      {
        file: "raft/update-voter-set.ts",
        find: "  const next = armUpdateVoterSet(s, config, out);\n",
        replace: "  const next = s;\n",
      },
    ],
    ...AUTO_JOIN,
  },
  {
    name: "voter-never-updates-own-entry",
    class: "liveness",
    rule: "R99",
    description:
      "a voter whose listener moved never asks the leader to rewrite its entry: the voter set names where it no longer listens, for good",
    edits: [
      {
        file: "raft/update-voter-set.ts",
        find: "    if (entry === undefined || !ownEntryNeedsUpdate(next, config, entry)) return next;\n",
        replace: "    if (entry !== null) return next;\n",
      },
    ],
    ...MOVED_LISTENER,
  },
  {
    name: "voter-update-keeps-old-listeners",
    class: "liveness",
    rule: "R99",
    description:
      "the leader takes an UpdateRaftVoter and answers NONE but writes the voter's entry as it was: the voter asks again every period and its entry never changes",
    edits: [
      {
        file: "raft/reconfiguration.ts",
        find: "          listeners: request.listeners,\n          supportedKraftVersions: request.kraftVersionFeature,\n",
        replace:
          "          ...(v.listeners === undefined ? {} : { listeners: v.listeners }),\n          supportedKraftVersions: request.kraftVersionFeature,\n",
      },
    ],
    ...MOVED_LISTENER,
  },
  {
    name: "leader-keeps-own-stale-entry",
    class: "liveness",
    rule: "R99",
    description:
      "a leader whose own entry names a listener it moved from never rewrites it (a leader sends no UpdateRaftVoter): while it leads, the voter set names where it no longer listens",
    edits: [
      {
        file: "raft/leader.ts",
        find: "    config.listeners !== undefined &&\n",
        replace: "    config.listeners === null &&\n",
      },
    ],
    ...MOVED_LISTENER,
  },
  {
    name: "auto-join-over-stale-entry",
    class: "protocol",
    rule: "R150",
    description:
      "a controller whose disk was replaced asks to be added while the voter set still holds its old entry (the leader refuses it DUPLICATE_VOTER for ever)",
    edits: [
      {
        file: "raft/update-voter-set.ts",
        find: "  if (stale?.directoryId !== undefined) {\n",
        replace: "  if (stale?.directoryId === null) {\n",
      },
    ],
    ...DISK_REPLACEMENT,
    bounds: { ...DISK_REPLACEMENT.bounds, maxEpoch: 1, maxCrashes: 1 },
  },
  {
    name: "vote-ignores-voter-key",
    class: "protocol",
    rule: "R100",
    description:
      "a replica grants a vote meant for another directory id of its id: a replaced disk votes as the voter its old disk was, and a candidate that lacks a committed value wins",
    edits: [
      {
        file: "raft/vote.ts",
        find: "      request.voterDirectoryId === s.directoryId));\n",
        replace: "      true));\n",
      },
    ],
    ...DISK_REPLACEMENT,
  },
  {
    name: "replica-key-ignores-directory",
    class: "protocol",
    rule: "R5",
    description:
      "replica keys compared by id alone: a controller whose disk was replaced (a new directory id) is taken for the voter its old disk was, with the votes that disk cast",
    edits: [
      {
        file: "raft/primitives.ts",
        find: "  stored.id === candidate.id &&\n  (stored.directoryId === undefined || stored.directoryId === candidate.directoryId);\n",
        replace: "  stored.id === candidate.id;\n",
      },
    ],
    ...DISK_REPLACEMENT,
  },
  {
    name: "leader-keeps-bootstrap-voters-off-the-log",
    class: "protocol",
    rule: "R55",
    description:
      "a leader whose voter set is still the bootstrap checkpoint's does not write it into the log: a replaced disk, which knows only bootstrap servers, fetches the whole log and never learns that the voter set holds its old entry, so auto-join never repairs it",
    edits: [
      {
        file: "raft/leader.ts",
        find: "  } else if (config.kraftVersion === 1 && s.log.voterSets === undefined) {\n",
        replace: "  } else if (config.kraftVersion === 1 && s.log.voterSets === null) {\n",
      },
    ],
    ...DISK_REPLACEMENT,
  },
  {
    name: "replaced-disk-told-it-leads",
    class: "protocol",
    rule: "R100",
    description:
      "a replaced disk takes an answer naming its own id as leader for an impossible state, as Kafka 4.2 does (it halts): a leader's disk replaced and restarted before the others elect again",
    edits: [
      {
        file: "raft/common.ts",
        find: "    if (s.directoryId !== undefined && !isVoter(s)) {\n",
        replace: "    if (s.directoryId === null && !isVoter(s)) {\n",
      },
    ],
    ...DISK_REPLACEMENT,
    bounds: { ...DISK_REPLACEMENT.bounds, maxEpoch: 1, maxCrashes: 1 },
  },
  // ---- bugs Apache Kafka shipped and fixed, re-created here ---------------------------------------
  {
    name: "high-watermark-at-epoch-start",
    class: "protocol",
    rule: "R64",
    description:
      "a new leader takes a majority at its epoch start offset as the high watermark, committing earlier epochs' records before a record of its own epoch is replicated (KAFKA-12619)",
    edits: [
      {
        file: "raft/leader.ts",
        find: "  if (candidate <= role.epochStartOffset || candidate <= role.highWatermark) {",
        replace: "  if (candidate < role.epochStartOffset || candidate <= role.highWatermark) {",
      },
    ],
    bounds: { maxEpoch: 3, maxValues: 2, loss: false },
  },
  {
    name: "listener-told-it-leads-at-election",
    class: "composition",
    rule: "R58",
    description:
      "the leader tells the controller it leads as soon as it is elected, before the controller has read the previous epochs' committed records, so it writes from a stale image (KAFKA-15345)",
    edits: [
      {
        file: "raft/leader.ts",
        find: '  out.effects.push({ _tag: "FlushLog", offset: log.endOffset });\n  let next: NodeState = {',
        replace:
          '  out.effects.push({ _tag: "FlushLog", offset: log.endOffset });\n  out.effects.push({ _tag: "LeaderChanged", leaderId: s.nodeId, epoch: s.epoch });\n  let next: NodeState = {',
      },
      {
        file: "raft/leader.ts",
        find: '  if (role.highWatermark < 0) out.effects.push({ _tag: "LeaderChanged", leaderId: s.nodeId, epoch: s.epoch });\n',
        replace: "",
      },
    ],
    metadata: {
      brokers: 1,
      partitions: 1,
      bounds: { ...QUIET_METADATA, maxEpoch: 2, maxControllerCrashes: 1, maxDelays: 1 },
      depth: 14,
    },
  },
  {
    name: "truncation-keeps-epoch-at-cut",
    class: "protocol",
    rule: "R12",
    description:
      "truncating the log keeps the epoch-cache entry that starts exactly at the cut, so the log names an epoch it holds no record of (KAFKA-10706)",
    edits: [
      {
        file: "raft/log.ts",
        find: "  while (keep > 0 && log.epochs[keep - 1]!.startOffset >= end) keep--;",
        replace: "  while (keep > 0 && log.epochs[keep - 1]!.startOffset > end) keep--;",
      },
    ],
    bounds: { maxEpoch: 2, maxValues: 2, loss: false },
  },
  {
    name: "diverging-fetch-counts-progress",
    class: "protocol",
    rule: "R65",
    description:
      "the leader records a replica's fetch offset before checking that its log matches, so a diverging replica counts toward the high watermark (KAFKA-13141)",
    edits: [
      {
        file: "raft/fetch-leader.ts",
        find: "  // R63(a), R65: a replica that needs records this log replaced by a snapshot (or that starts from\n",
        replace:
          '  if (s.role._tag === "Leader") s = recordReplicaFetch(s, config, out, s.role, request, nowMs);\n  // R63(a), R65: a replica that needs records this log replaced by a snapshot (or that starts from\n',
      },
    ],
    bounds: { maxEpoch: 2, maxValues: 2, loss: false },
  },
  {
    name: "high-watermark-counts-removed-leader",
    class: "protocol",
    rule: "R64",
    description:
      "a leader that removed itself from the voter set still counts its own log toward the high watermark (KAFKA-16530)",
    edits: [
      {
        file: "raft/leader.ts",
        find: "  const offsets = voterStates.map((v) => v.endOffset);\n",
        replace:
          "  const offsets = voterStates.map((v) => v.endOffset);\n  if (!voterStates.some((v) => v.id === s.nodeId)) offsets.push(own);\n",
      },
    ],
    // With four voters the leader and one other are no majority of the three left.
    cluster: { voters: 4, observers: 0, kraftVersion: 1 as const },
    bounds: { maxEpoch: 2, maxValues: 1, maxVoterChanges: 1, loss: false },
    start: "joined" as const,
  },
  {
    name: "check-quorum-counts-absent-leader",
    class: "liveness",
    rule: "R57",
    description:
      "check quorum takes the leader as one of the voters even after it removed itself, so it needs one fetch too few to stay in office (KAFKA-16531)",
    edits: [
      {
        file: "raft/leader.ts",
        find: "  const needed = quorumSize(s) - (role.voterStates.some((v) => v.id === s.nodeId) ? 1 : 0);",
        replace: "  const needed = quorumSize(s) - 1;",
      },
    ],
    ...RECONFIGURATION,
    bounds: { ...RECONFIGURATION.bounds, maxEpoch: 2, maxCrashes: 1 },
  },
  {
    name: "observer-never-returns-to-leader",
    class: "liveness",
    rule: "R74",
    description:
      "an observer that lost its leader keeps asking the bootstrap voters and never takes back the leader they name (KAFKA-19354)",
    edits: [
      {
        file: "raft/timers.ts",
        find: "    return { ...s, quietLeaderId: NO_ID };",
        replace: "    return s;",
      },
    ],
    cluster: { voters: 3, observers: 1 },
    bounds: { maxEpoch: 1, maxValues: 1, loss: true },
  },
  {
    name: "single-voter-checks-quorum",
    class: "liveness",
    rule: "R57",
    description:
      "a leader that is the only voter runs check quorum, finds no other voter fetching and resigns at every interval (KAFKA-16144)",
    edits: [
      {
        file: "raft/leader.ts",
        find: "  config.checkQuorum && s.voters.length > 1;",
        replace: "  config.checkQuorum;",
      },
    ],
    cluster: { voters: 1, observers: 1 },
    bounds: { maxEpoch: 2, maxValues: 1, loss: false },
  },
  {
    name: "new-controller-forgets-broker-sessions",
    class: "protocol",
    rule: "R105",
    description:
      "a newly active controller starts no session for the unfenced brokers it inherits, so one that dies during the failover is never fenced and keeps leading (KAFKA-18138)",
    edits: [
      {
        file: "metadata/controller.ts",
        find: "  for (const b of next.image.brokers) {\n    if (!b.fenced)\n",
        replace: "  for (const b of next.image.brokers) {\n    if (!b.fenced && false)\n",
      },
    ],
    metadata: {
      brokers: 2,
      partitions: 1,
      bounds: { ...QUIET_METADATA, maxEpoch: 2, maxControllerCrashes: 1, maxBrokerCrashes: 1 },
      depth: 16,
      liveness: true,
    },
  },
  {
    name: "fenced-broker-joins-isr",
    class: "protocol",
    rule: "R126",
    description:
      "AlterPartition adds a fenced or shutting-down broker to the ISR, so a broker that may not lead can be elected (KAFKA-13916, KIP-841)",
    edits: [
      {
        file: "metadata/controller.ts",
        find: "        if (b === undefined || !isUsable(writer.image, m.brokerId) || !epochMatches)",
        replace: "        if (b === undefined || !epochMatches)",
      },
    ],
    metadata: {
      brokers: 2,
      partitions: 1,
      bounds: { ...QUIET_METADATA, maxBrokerCrashes: 1, maxSessionExpiries: 1 },
      depth: 60,
    },
  },
  {
    name: "same-incarnation-new-epoch",
    class: "protocol",
    rule: "R114",
    description:
      "a registration retried by the same incarnation gets a new broker epoch, so the broker's heartbeats with the epoch it was first given are refused (KAFKA-16952)",
    edits: [
      {
        file: "metadata/controller.ts",
        find: "  if (existing !== undefined && existing.incarnationId === request.incarnationId) {",
        replace:
          "  if (existing !== undefined && existing.incarnationId === request.incarnationId && false) {",
      },
      {
        file: "metadata/controller.ts",
        find: "  if (existing !== undefined && !existing.fenced && live) {",
        replace:
          "  if (existing !== undefined && !existing.fenced && live && existing.incarnationId !== request.incarnationId) {",
      },
    ],
    metadata: {
      brokers: 1,
      partitions: 1,
      bounds: { ...QUIET_METADATA, maxBrokerCrashes: 1, maxSessionExpiries: 1, metaLoss: true },
      depth: 18,
    },
  },
  {
    name: "configs-of-refused-topic-written",
    class: "protocol",
    rule: "R121",
    description:
      "CreateTopics writes a topic's ConfigRecords before its partitions are checked, so a refused topic leaves configs behind (KAFKA-14612)",
    edits: [
      {
        file: "metadata/controller.ts",
        find: "  const leaderless = assignments\n",
        replace:
          '  if (!validateOnly)\n    for (const c of configs)\n      writer.add({ _tag: "ConfigRecord", resourceType: RESOURCE_TOPIC, resourceName: topic.name, name: c.name, value: c.value });\n  const leaderless = assignments\n',
      },
      {
        file: "metadata/controller.ts",
        find: "    for (const c of configs)\n      writer.add({\n",
        replace: "    for (const c of configs.slice(configs.length))\n      writer.add({\n",
      },
    ],
    metadata: {
      brokers: 1,
      partitions: 1,
      bounds: {
        ...QUIET_METADATA,
        maxSessionExpiries: 1,
        adminOps: [createTopic("u", [4], [{ name: "retention.ms", value: "1000" }])],
      },
      depth: 12,
    },
  },
  {
    name: "partitions-added-on-fenced-brokers",
    class: "protocol",
    rule: "R121",
    description:
      "CreatePartitions takes a manual assignment whose replicas are all fenced: the new partition has no leader and an empty ISR (KAFKA-13916, KIP-841)",
    edits: [
      {
        file: "metadata/controller.ts",
        find: "        const leaderless = leaderlessProblem(writer.image, given, current + i);",
        replace: "        const leaderless: string | null = null;",
      },
    ],
    metadata: {
      brokers: 1,
      partitions: 1,
      bounds: {
        ...QUIET_METADATA,
        maxSessionExpiries: 1,
        adminOps: [
          {
            _tag: "CreatePartitionsRequest",
            validateOnly: false,
            topics: [{ name: "t", count: 2, assignments: [{ brokerIds: [4] }] }],
          },
        ],
      },
      depth: 12,
    },
  },
  {
    name: "unfence-waits-for-controller-log-end",
    class: "liveness",
    rule: "R115",
    description:
      "a fenced broker is unfenced only once it has replayed everything the controller committed, which a busy log never lets it reach, instead of its own registration record (KAFKA-13959)",
    edits: [
      {
        file: "metadata/controller.ts",
        find: "  const caughtUp = request.currentMetadataOffset >= broker.epoch;",
        replace: "  const caughtUp = request.currentMetadataOffset >= s.committed.offset;",
      },
    ],
    metadata: {
      brokers: 1,
      partitions: 1,
      bounds: { ...QUIET_METADATA, maxSessionExpiries: 1 },
      depth: 12,
      liveness: true,
    },
  },
  {
    name: "snapshot-id-is-last-offset",
    class: "protocol",
    rule: "R131",
    description:
      "a metadata snapshot is named by the last offset it holds instead of the offset after it, so a node loading it replays that record a second time (KAFKA-14618)",
    edits: [
      {
        file: "node/node.ts",
        find: "    : node.listenerOffset;\n",
        replace: "    : node.listenerOffset - 1;\n",
      },
      {
        file: "node/node.ts",
        find: "(run.state.snapshotToLoad !== null || raftInput.endOffset !== run.state.listenerOffset)",
        replace:
          "(run.state.snapshotToLoad !== null || raftInput.endOffset !== run.state.listenerOffset - 1)",
      },
    ],
    metadata: {
      brokers: 2,
      partitions: 1,
      bounds: { ...METADATA_SNAPSHOTS, adminOps: [createTopic("u", [4])] },
      depth: 40,
    },
  },
  {
    name: "resigned-restart-told-it-leads",
    class: "composition",
    rule: "R19",
    description:
      "a former leader restarted as Resigned tells its controller that it leads its old epoch, so the controller takes writes the Raft layer will never append (KAFKA-17333)",
    edits: [
      {
        file: "raft/startup.ts",
        find: '  if (state.role._tag !== "Resigned" && state.role._tag !== "Leader") {\n    const leaderId =\n      state.role._tag === "Follower" || state.role._tag === "Unattached" ? state.role.leaderId : NO_ID;',
        replace:
          '  if (state.role._tag !== "Leader") {\n    const leaderId =\n      state.role._tag === "Follower" || state.role._tag === "Unattached" ? state.role.leaderId : state.role._tag === "Resigned" ? config.nodeId : NO_ID;',
      },
    ],
    metadata: {
      brokers: 1,
      partitions: 1,
      bounds: { ...QUIET_METADATA, maxControllerCrashes: 1 },
      depth: 10,
    },
  },
  {
    name: "follower-appends-future-epoch-batch",
    class: "protocol",
    rule: "R66",
    description:
      "a follower appends a fetched batch of an epoch above its leader's, as Kafka did before KAFKA-18723: a corrupt or forged answer puts an epoch no leader has had into its log and epoch cache",
    edits: [
      {
        file: "raft/fetch-follower.ts",
        find: "        if (batch.epoch > response.leaderEpoch || batch.baseOffset !== log.endOffset) {",
        replace: "        if (batch.baseOffset !== log.endOffset) {",
      },
    ],
    bounds: { maxEpoch: 2, maxValues: 1, loss: false, maxForgedEpochs: 1 },
  },
];
