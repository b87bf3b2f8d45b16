// The Raft model for the checker: a simulated cluster (spec/cluster) of voters and observers
// running the spec reducers unchanged, the nondeterministic actions of spec/cluster/actions.ts, and
// the properties of spec/invariants.
import {
  type Action,
  applyAction,
  type Bounds,
  commandOf,
  describeAction,
  enabledActions,
  type FaultKind,
  fairStep,
  planSets,
  type Suffix,
  startClocks,
  type VoterPlan,
  withinBounds,
} from "../../spec/cluster/actions.ts";
import { formatState } from "../../spec/cluster/format.ts";
import {
  type ClusterSpec,
  entryValue,
  formatEntry,
  isClientValue,
  MAX_DYNAMIC_NODES,
  type Outcome,
  type StartPoint,
  startWorld,
  type World,
} from "../../spec/cluster/world.ts";
import { CLUSTER_INVARIANTS } from "../../spec/invariants/cluster.ts";
import {
  autoJoined,
  caughtUp,
  entriesUpdated,
  leaderWithoutQuorumResigns,
  majorityRunning,
  stableLeader,
  writesCommitted,
} from "../../spec/invariants/liveness.ts";
import { sameContent } from "../../spec/plain-data.ts";
import { latestVoterSetOffset } from "../../spec/raft/log.ts";
import type { NodeState } from "../../spec/raft/state.ts";
import { decodeGeneric, encodeGeneric, genericStringsBuffer, useGenericStrings } from "./generic-codec.ts";
import type { Always, Eventually, FairStep, Model, Property, Sometimes } from "./model.ts";
import { decodeWorld, encodeCanonical, encodeWith, identityPermutation } from "./raft-codec.ts";
import { withRecipe } from "./recipe.ts";
import { type Reductions, reductionsWith } from "./reductions.ts";
import type { WordWriter } from "./words.ts";

export interface RaftModelOptions {
  readonly cluster: ClusterSpec;
  readonly bounds: Bounds;
  /** Symmetry reduction over voters (observers are never permuted). */
  readonly symmetry: boolean;
  /** The other reductions (src/checker/reductions.ts); those not given are on. */
  readonly reductions?: Partial<Reductions>;
  /**
   * Where runs start: a freshly formatted cluster, or one where node 1 leads and has just committed a
   * value on node 2 (spec/cluster/world.ts, committedStart).
   */
  readonly start?: StartPoint;
  /**
   * The generic codec's string table to use (its buffer): a search worker's model is given the search
   * thread's, so that both number every string alike. Absent: this thread's own.
   */
  readonly genericStrings?: SharedArrayBuffer;
}

/** Transition events a `sometimes` property can wait for. */
export const EVENT = {
  leaderElected: 1,
  valueCommitted: 2,
  followerTruncated: 4,
  checkQuorumResigned: 8,
  preVoteRejected: 16,
  restartedResigned: 32,
  voterChangeCommitted: 64,
} as const;

/** The events of one transition, read from the reducer steps it caused. */
export const eventsOf = (before: World, outcome: Outcome): number => {
  let events = 0;
  for (const s of outcome.steps) {
    if (s.after.role._tag === "Leader" && s.before?.role._tag !== "Leader") events |= EVENT.leaderElected;
    if (s.input._tag === "Start" && s.after.role._tag === "Resigned") events |= EVENT.restartedResigned;
    if (
      s.input._tag === "TimerExpired" &&
      s.input.timer === "checkQuorum" &&
      s.after.role._tag === "Resigned"
    ) {
      events |= EVENT.checkQuorumResigned;
    }
    for (const e of s.effects) {
      if (e._tag === "TruncateLog" && s.before !== null && e.offset < s.before.log.endOffset) {
        events |= EVENT.followerTruncated;
      }
      if (
        e._tag === "Send" &&
        (e.message._tag === "AddRaftVoterResponse" || e.message._tag === "RemoveRaftVoterResponse") &&
        e.message.errorCode === "NONE"
      ) {
        events |= EVENT.voterChangeCommitted;
      }
      if (
        e._tag === "Send" &&
        e.message._tag === "VoteResponse" &&
        e.message.errorCode === "NONE" &&
        !e.message.voteGranted &&
        s.input._tag === "Received" &&
        s.input.message._tag === "VoteRequest" &&
        s.input.message.preVote
      ) {
        events |= EVENT.preVoteRejected;
      }
    }
  }
  const committed = outcome.world.committed;
  for (let offset = before.committed.length; offset < committed.length; offset++) {
    if (isClientValue(entryValue(committed[offset]!))) events |= EVENT.valueCommitted;
  }
  return events;
};

/** The step properties the world records as `broken`, each reported under its own name. */
const STEP_PROPERTIES: readonly { readonly name: string; readonly rules: string }[] = [
  { name: "ElectionSafety", rules: "R134 R136 R145" },
  { name: "PersistBeforeSend", rules: "R14 R51" },
  { name: "FlushedFetchOffset", rules: "R16" },
  { name: "VoteOncePerEpoch", rules: "R29 R144" },
  { name: "SingleLeader", rules: "R134" },
  { name: "MonotonicEpoch", rules: "R29 R134" },
  { name: "MonotonicHighWatermark", rules: "R134 R144" },
  { name: "HighWatermarkWithinLog", rules: "R2 R66" },
  { name: "NeverTruncateCommitted", rules: "R66 R144" },
  { name: "CommittedPrefixAgreement", rules: "R145" },
  { name: "NoIllegalState", rules: "R42 R66 R136" },
  { name: "LogShapeMatchesDisk", rules: "R3 R67" },
  { name: "VoterIdsUnique", rules: "R96" },
  { name: "VoterSetMatchesLog", rules: "R91" },
  { name: "FlushedWithinDisk", rules: "R16" },
  { name: "AppendAtLogEnd", rules: "R66 R67" },
  { name: "AcceptedOnlyByLeader", rules: "R87" },
  { name: "SnapshotAtLogStart", rules: "R79 R134 R144" },
  { name: "SnapshotMatchesCommitted", rules: "R77 R135 R144" },
  { name: "SnapshotChunkInOrder", rules: "R83" },
  { name: "SnapshotDownloadedWhole", rules: "R83" },
  { name: "LeaderNeverLoadSnapshot", rules: "R84 R134 R145" },
  { name: "ListenerLoadsSnapshot", rules: "R84" },
];

/**
 * What the checker assumes of time once faults stop (spec/README.md, "Liveness"): one sentence, shown
 * with every result.
 */
export const RAFT_FAIRNESS =
  "after the last fault, every crashed node restarts, no message is lost, messages and flushes take no time, and each timer runs out when its duration (an election timeout with half its jitter) has passed (ties: lower node id first)";

/** The liveness properties (R137): the goals a fault-free cluster reaches. */
export const raftEventually = (cluster: ClusterSpec): readonly Eventually<World>[] => {
  const voters = cluster.voters;
  const healed: Eventually<World>[] = [
    {
      kind: "eventually",
      name: "EventuallyStableLeader",
      rules: "R137 R25 R41",
      suffix: "healed",
      goal: (w) => stableLeader(w, voters),
    },
    {
      kind: "eventually",
      name: "EventuallyWritesResolved",
      rules: "R137 R64 R87",
      suffix: "healed",
      goal: writesCommitted,
    },
    {
      kind: "eventually",
      name: "EventuallyCaughtUp",
      rules: "R61 R66 R74 R85",
      suffix: "healed",
      goal: caughtUp,
    },
  ];
  const autoJoin = cluster.autoJoin ?? [];
  if (autoJoin.length > 0 && cluster.kraftVersion === 1)
    healed.push({
      kind: "eventually",
      name: "EventuallyAutoJoined",
      rules: "R150",
      suffix: "healed",
      goal: (w) => autoJoined(w, autoJoin),
    });
  const moved = cluster.movedListeners ?? [];
  if (moved.length > 0 && cluster.kraftVersion === 1)
    healed.push({
      kind: "eventually",
      name: "EventuallyEntriesUpdated",
      rules: "R99 R34",
      suffix: "healed",
      goal: (w) => entriesUpdated(w, moved),
    });
  // With voter sets that change, "a majority of the voters" is not nodes 1..voters: not judged yet.
  if (!cluster.checkQuorum || voters < 2 || cluster.kraftVersion === 1) return healed;
  return [
    ...healed,
    {
      kind: "eventually",
      name: "EventuallyLeaderWithoutQuorumResigns",
      rules: "R57",
      suffix: "as-is",
      goal: (w) => leaderWithoutQuorumResigns(w, voters),
      // The as-is schedule stops no node: with a majority of voters running, no leader ever lacks one.
      holdsThroughout: (w) => majorityRunning(w, voters),
    },
  ];
};

/** A runbook's last voter set is in force and committed on a leader (kraft quorum plan). */
const planCompleted = (plan: VoterPlan) => {
  const sets = planSets(plan.from, plan.steps);
  const target = sets[sets.length - 1]!.join(",");
  return (w: World): boolean =>
    w.nodes.some((n) => {
      const s = n.state;
      return (
        s !== null &&
        s.role._tag === "Leader" &&
        s.voters
          .map((v) => v.id)
          .sort((a, b) => a - b)
          .join(",") === target &&
        s.highWatermark > latestVoterSetOffset(s.log)
      );
    });
};

export const raftProperties = (
  voters: number,
  kraftVersion?: 1,
  plan?: VoterPlan,
): readonly Property<World>[] => {
  const steps: Always<World>[] = STEP_PROPERTIES.map(({ name, rules }) => ({
    kind: "always",
    name,
    rules,
    check: (w) => (w.broken?.startsWith(`${name}:`) ? w.broken : null),
  }));
  const states: Always<World>[] = CLUSTER_INVARIANTS.filter((i) => i.name !== "TransitionProperties").map(
    (i) => ({
      kind: "always",
      name: i.name,
      rules: i.rules,
      check: (w) => i.check(w, voters),
    }),
  );
  const other: Always<World> = {
    kind: "always",
    name: "StepProperty",
    rules: "R14 R16 R29 R134 R144",
    check: (w) =>
      w.broken !== null && !STEP_PROPERTIES.some((p) => w.broken!.startsWith(`${p.name}:`)) ? w.broken : null,
  };
  const sometimes: Sometimes<World>[] = [
    { kind: "sometimes", name: "LeaderElected", rules: "R25 R54", event: EVENT.leaderElected },
    { kind: "sometimes", name: "ValueCommitted", rules: "R64 R87", event: EVENT.valueCommitted },
    { kind: "sometimes", name: "FollowerTruncated", rules: "R66 R67", event: EVENT.followerTruncated },
    { kind: "sometimes", name: "CheckQuorumResigned", rules: "R57", event: EVENT.checkQuorumResigned },
    { kind: "sometimes", name: "PreVoteRejected", rules: "R50", event: EVENT.preVoteRejected },
    { kind: "sometimes", name: "RestartedResigned", rules: "R19", event: EVENT.restartedResigned },
    ...(kraftVersion === 1
      ? [
          {
            kind: "sometimes" as const,
            name: "VoterChangeCommitted",
            rules: "R96 R97",
            event: EVENT.voterChangeCommitted,
          },
        ]
      : []),
    ...(plan === undefined
      ? []
      : [
          {
            kind: "sometimes" as const,
            name: "VoterPlanCompleted",
            rules: "R93 R96 R97",
            holds: planCompleted(plan),
          },
        ]),
  ];
  return [...steps, ...states, other, ...sometimes];
};

const FAULTS: readonly FaultKind[] = ["loss", "duplicate", "crash", "corruption"];

const sameTimers = (a: readonly string[], b: readonly string[]): boolean =>
  a.length === b.length && a.every((t) => b.includes(t));

const sameRequestsInFlight = (a: NodeState["inflight"], b: NodeState["inflight"]): boolean =>
  a.length === b.length && a.every((r) => b.some((q) => q.destination === r.destination && q.api === r.api));

/**
 * Whether a transition leads back to where it started, as the canonical encoding sees it: a lost
 * request the requester sends again at once, a timer that only re-arms itself, or a client write
 * that a non-leader refused. Such steps add no
 * state, so the search need not encode them (a quarter of all steps in lossy runs).
 */
const isSelfLoop = (before: World, action: Action, outcome: Outcome): boolean => {
  if (action.kind === "append") {
    // A write that a node other than the leader refused, changing nothing (R87).
    const step = outcome.steps[0];
    return (
      outcome.steps.length === 1 &&
      step !== undefined &&
      step.after === step.before &&
      step.effects.every((e) => e._tag === "ClientRejected") &&
      outcome.world.broken === before.broken
    );
  }
  if (action.kind !== "drop" && action.kind !== "timer") return false;
  if (outcome.steps.length !== 1) return false;
  const step = outcome.steps[0]!;
  const b = step.before;
  const a = step.after;
  if (b === null || a.role !== b.role || a.log !== b.log || a.epoch !== b.epoch) return false;
  if (
    a.highWatermark !== b.highWatermark ||
    a.shuttingDown !== b.shuttingDown ||
    a.bootstrapCursor !== b.bootstrapCursor ||
    a.quietLeaderId !== b.quietLeaderId
  ) {
    return false;
  }
  if (!sameTimers(a.timers, b.timers) || !sameRequestsInFlight(a.inflight, b.inflight)) return false;
  const after = outcome.world;
  if (
    after.broken !== before.broken ||
    after.committed !== before.committed ||
    after.leaders !== before.leaders
  ) {
    return false;
  }
  const index = step.node - 1;
  for (let i = 0; i < after.nodes.length; i++) {
    const x = after.nodes[i]!;
    const y = before.nodes[i]!;
    if (i === index) {
      if (
        x.persisted !== y.persisted ||
        x.entries !== y.entries ||
        x.durable !== y.durable ||
        x.flushRequested !== y.flushRequested
      )
        return false;
    } else if (x !== y) {
      return false;
    }
  }
  // The network must hold the same messages: for a drop, the lost one sent again unchanged.
  let sends = 0;
  for (const e of step.effects) {
    if (e._tag === "Send") sends++;
    else if (e._tag !== "SetTimer" && e._tag !== "CancelTimer") return false;
  }
  if (action.kind === "timer") return sends === 0 && after.network === before.network;
  const lost = before.network[action.position]!;
  if (sends !== 1 || after.network.length !== before.network.length) return false;
  const resent = after.network[after.network.length - 1]!;
  return resent.from === lost.from && resent.to === lost.to && sameContent(resent.message, lost.message);
};

/** A fair-schedule step as the engine wants it, named and explained only when asked. */
const fairStepOf = (
  world: World,
  taken: NonNullable<ReturnType<typeof fairStep>>,
  explain: boolean,
): FairStep<World> => {
  const base = { timed: taken.timed, elapsedMs: taken.elapsedMs };
  if (!explain) return { ...base, action: "" };
  return {
    ...base,
    action: describeAction(world, taken.action),
    command: commandOf(world, taken.action),
    details: taken.outcome.steps.map((s) => ({
      node: s.node,
      input: s.input,
      effects: s.effects,
      state: s.after,
    })),
  };
};

export const raftModel = (options: RaftModelOptions): Model<World> => {
  const { cluster, bounds } = options;
  if (cluster.kraftVersion === 1 && cluster.voters + cluster.observers > MAX_DYNAMIC_NODES)
    throw new Error(
      `a kraft.version 1 cluster is checked with at most ${MAX_DYNAMIC_NODES} nodes, not ${cluster.voters + cluster.observers}: use fewer voters or observers`,
    );
  if ((bounds.maxDiskReplacements ?? 0) > 0 && cluster.kraftVersion !== 1)
    throw new Error(
      "a replaced disk comes back with a new directory id, which only a kraft.version 1 cluster has (R100)",
    );
  // Voter sets that change (kraft.version 1) are laid out by the generic codec, without symmetry.
  const generic = cluster.kraftVersion === 1;
  if (generic && options.genericStrings !== undefined) useGenericStrings(options.genericStrings);
  const symmetry = options.symmetry && cluster.observers === 0 && !generic;
  const reductions = reductionsWith(options.reductions);
  // On a fair schedule timers run out when their time has passed, so the voters that fetched in a
  // check-quorum interval decide whether the leader re-arms its timer (R57): a timed state keeps them.
  const timedReductions: Reductions = { ...reductions, checkQuorumFetches: false };
  // The engine asks for the action count and then takes actions of the same state in turn.
  let cachedWorld: World | undefined;
  let cachedActions: Action[] = [];
  const actionsOf = (world: World): Action[] => {
    if (world !== cachedWorld) {
      cachedWorld = world;
      cachedActions = enabledActions(world, bounds);
    }
    return cachedActions;
  };
  const plan = options.bounds.voterPlan;
  const completed = plan === undefined ? undefined : planCompleted(plan);
  // R93–R97: after the faults the runbook's operator goes on asking, a few times per step beyond what
  // the run used, so that a plan that can complete does.
  const fairOperator =
    plan === undefined
      ? undefined
      : { plan, maxAsks: (options.bounds.maxVoterChanges ?? 0) + 2 * plan.steps.length + 2 };
  const model: Model<World> = {
    name: "raft",
    properties: [
      ...raftProperties(cluster.voters, cluster.kraftVersion, options.bounds.voterPlan),
      ...raftEventually(cluster),
      ...(plan === undefined || completed === undefined
        ? []
        : [
            {
              kind: "eventually" as const,
              name: "EventuallyVoterPlanCompleted",
              rules: "R93 R96 R97",
              suffix: "healed" as const,
              goal: (w: World) =>
                completed(w)
                  ? null
                  : `the runbook's last voter set (${planSets(plan.from, plan.steps).at(-1)!.join(",")}) is not committed on a leader`,
            },
          ]),
    ],
    initialStates: () => [startWorld(cluster, options.start ?? "fresh")],
    actionCount: (world) => actionsOf(world).length,
    step: (world, index) => {
      const action = actionsOf(world)[index];
      if (action === undefined) return null;
      const outcome = applyAction(world, cluster, action);
      if (
        !withinBounds(outcome.world, bounds) ||
        (reductions.selfLoops && isSelfLoop(world, action, outcome))
      )
        return null;
      return { state: outcome.world, events: eventsOf(world, outcome) };
    },
    encode: (world: World, writer: WordWriter) =>
      generic
        ? encodeGeneric(writer, world, reductions)
        : encodeCanonical(writer, world, cluster, symmetry, reductions),
    decode: (words, start, end) =>
      generic ? decodeGeneric(words, start, end) : decodeWorld(words, start, end, cluster),
    describeAction: (world, index) => {
      const action = actionsOf(world)[index];
      return action === undefined ? `action ${index}` : describeAction(world, action);
    },
    describeState: (world) => {
      const lines = world.nodes.map((slot, i) => {
        const log = slot.entries.map(formatEntry).join(" ");
        if (slot.state === null) return `n${i + 1} down, log [${log}]`;
        return `n${i + 1} ${formatState(slot.state)} [${log}]`;
      });
      const network = world.network.map((e) => `${e.from}->${e.to} ${e.message._tag}`).join(", ");
      return [...lines, `in flight: ${network.length === 0 ? "nothing" : network}`];
    },
    command: (world, index) => {
      const action = actionsOf(world)[index];
      return action === undefined ? undefined : commandOf(world, action);
    },
    explain: (world, index) => {
      const action = actionsOf(world)[index];
      if (action === undefined) return [];
      return applyAction(world, cluster, action).steps.map((s) => ({
        node: s.node,
        input: s.input,
        effects: s.effects,
        state: s.after,
      }));
    },
    liveness: {
      fairness: RAFT_FAIRNESS,
      start: (world) => startClocks(world, cluster),
      next: (timed, suffix, explain) => {
        const taken = fairStep(timed, cluster, suffix as Suffix, fairOperator);
        return taken === null ? null : fairStepOf(timed.state, taken, explain);
      },
      encode: (timed, writer) => {
        if (generic) encodeGeneric(writer, timed.state, timedReductions);
        else
          encodeWith(
            writer,
            timed.state,
            cluster,
            identityPermutation(timed.state.nodes.length),
            timedReductions,
          );
        writer.push(timed.timers.length);
        for (const t of timed.timers) {
          writer.push(t.key);
          writer.push(t.remainingMs);
        }
      },
    },
    swarm: (random) => {
      // A disk replacement or a forged epoch is drawn for only where the bounds allow one (the other
      // draws stay as they were).
      const faults: readonly FaultKind[] = [
        ...FAULTS,
        ...((bounds.maxDiskReplacements ?? 0) > 0 ? (["disk-replacement"] as const) : []),
        ...((bounds.maxForgedEpochs ?? 0) > 0 ? (["forged-epoch"] as const) : []),
      ];
      const disabled = faults.filter(() => random() < 0.5);
      return {
        model: raftModel({ ...options, bounds: { ...bounds, disabledFaults: disabled } }),
        disabled,
      };
    },
  };
  // A worker rebuilds the model with the generic codec's string table of this thread (shared memory).
  return withRecipe(model, {
    module: import.meta.url,
    factory: "raftModel",
    argument: generic ? { ...options, genericStrings: genericStringsBuffer() } : options,
  });
};
