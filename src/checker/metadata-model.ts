// The metadata model for the checker: controllers and brokers (spec/metadata) on top of the Raft
// reducers (spec/raft), composed by the metadata world (spec/cluster/metadata-world.ts) exactly as
// the scenario transcripts compose them, with the properties of spec/invariants/metadata.ts.
//
// The search starts from a bootstrapped cluster (a controller elected, brokers registered and
// unfenced, a topic created, everything committed), reached by the reducers themselves through a
// fixed script; it then explores every interleaving of faults and timing from there. Exploring the
// bootstrap itself adds depth without adding behaviour the faults do not already reach.

import { formatState } from "../../spec/cluster/format.ts";
import {
  applyMetaAction,
  describeMetaAction,
  enabledMetaActions,
  type MetaAction,
  type MetaBounds,
  metaFairStep,
  startMetaClocks,
  type TimedMetaWorld,
  withinMetaBounds,
} from "../../spec/cluster/metadata-actions.ts";
import {
  bootstrappedWorld,
  describeBody,
  EVENT,
  type MetadataClusterSpec,
  type MetadataWorld,
} from "../../spec/cluster/metadata-world.ts";
import { entryEpoch } from "../../spec/cluster/world.ts";
import { CLUSTER_INVARIANTS } from "../../spec/invariants/cluster.ts";
import {
  activeControllerStable,
  adminAnswered,
  brokersRunning,
  caughtUp,
  leaderWithoutQuorumResigns,
  majorityRunning,
  writesCommitted,
} from "../../spec/invariants/liveness.ts";
import { imageProblem } from "../../spec/invariants/metadata.ts";
import { type MetadataImage, partitionsOf, topicsOf } from "../../spec/metadata/image.ts";
import type { NodeRequest } from "../../spec/node/node.ts";
import { MetadataCodec } from "./metadata-codec.ts";
import type { Always, Eventually, Model, Property, Sometimes } from "./model.ts";
import { withRecipe } from "./recipe.ts";
import { REDUCTION_FLAGS, type Reductions, reductionsWith } from "./reductions.ts";

/**
 * The admin client's requests `kraft check --model metadata --admin-ops` names, on topic u: asked one
 * after another, each of any node once the one before has its answer (R148).
 */
export const ADMIN_OPERATIONS = {
  "create-topic": {
    _tag: "CreateTopicsRequest",
    validateOnly: false,
    topics: [
      {
        name: "u",
        numPartitions: 2,
        replicationFactor: 2,
        assignments: [],
        configs: [{ name: "retention.ms", value: "1000" }],
      },
    ],
  },
  "create-partitions": {
    _tag: "CreatePartitionsRequest",
    topics: [{ name: "u", count: 3, assignments: null }],
    validateOnly: false,
  },
  "elect-leaders": { _tag: "ElectLeadersRequest", electionType: 0, topicPartitions: null },
  "delete-topic": { _tag: "DeleteTopicsRequest", topics: [{ name: "u", topicId: null }] },
} as const satisfies Record<string, NodeRequest>;

export type AdminOperation = keyof typeof ADMIN_OPERATIONS;

export const ADMIN_OPERATION_NAMES = Object.keys(ADMIN_OPERATIONS) as AdminOperation[];

/** The requests of the named admin operations, in order. */
export const adminOpsOf = (names: readonly AdminOperation[]): NodeRequest[] =>
  names.map((name) => ADMIN_OPERATIONS[name]);

export interface MetadataModelOptions {
  readonly spec: MetadataClusterSpec;
  readonly bounds: MetaBounds;
  /** Partitions of the topic the bootstrap creates (replication factor: every broker). */
  readonly partitions: number;
  /** Judge the liveness properties too (default on). */
  readonly liveness?: boolean;
  /** The state-space reductions (src/checker/reductions.ts); those not given are on. */
  readonly reductions?: Partial<Reductions>;
}

// ---- properties --------------------------------------------------------------------------------------

/**
 * Each image's verdict, by object: a state shares most of its images with the state it came from (and
 * with its siblings), and imageProblem depends on the image alone.
 */
const imageVerdicts = new WeakMap<MetadataImage, string | null>();

const judged = (image: MetadataImage): string | null => {
  let verdict = imageVerdicts.get(image);
  if (verdict === undefined) {
    verdict = imageProblem(image);
    imageVerdicts.set(image, verdict);
  }
  return verdict;
};

const imagesProblem = (world: MetadataWorld): string | null => {
  for (let i = 0; i < world.apps.length; i++) {
    const app = world.apps[i]!;
    const problem =
      (app.controller === null ? null : (judged(app.controller.committed) ?? judged(app.controller.image))) ??
      (app.broker === null ? null : judged(app.broker.image));
    if (problem !== null) return `${problem} (image of n${i + 1})`;
  }
  return null;
};

/**
 * R58 (KAFKA-15345, KAFKA-17333): a controller is active only once its node has handed it every record
 * committed in earlier epochs and, where its log holds the epoch it leads, every record up to and
 * including that epoch's LeaderChange record: it never writes from an image that lacks what earlier
 * leaders committed.
 */
export const activeControllerBehind = (world: MetadataWorld): string | null => {
  const committed = world.raft.committed;
  for (let i = 0; i < world.apps.length; i++) {
    const app = world.apps[i]!;
    const controller = app.controller;
    if (controller === null || !controller.active) continue;
    let earlier = committed.length;
    while (earlier > 0 && entryEpoch(committed[earlier - 1]!) >= controller.epoch) earlier--;
    if (app.listenerOffset < earlier)
      return `ActiveControllerCaughtUp: controller n${i + 1} is active in epoch ${controller.epoch} having read the log below offset ${app.listenerOffset} only, but offsets up to ${earlier - 1} were committed in earlier epochs`;
    // Through the LeaderChange record that opens the epoch it leads: a leader knows where that is; any
    // other role only where its log still holds the epoch's start (a log start moved past it clips the
    // epoch cache's entry to the log start).
    const raft = world.raft.nodes[i]?.state ?? null;
    if (raft === null) continue;
    const cached = raft.log.epochs.find((e) => e.epoch === controller.epoch)?.startOffset;
    const start =
      raft.role._tag === "Leader" && raft.epoch === controller.epoch
        ? raft.role.epochStartOffset
        : cached !== undefined && (cached > raft.log.startOffset || raft.log.startOffset === 0)
          ? cached
          : undefined;
    if (start !== undefined && app.listenerOffset <= start)
      return `ActiveControllerCaughtUp: controller n${i + 1} is active in epoch ${controller.epoch} having read the log below offset ${app.listenerOffset} only, but its epoch starts at ${start}`;
  }
  return null;
};

const TRANSITIONS = [
  { name: "SuccessOnlyWhenCommitted", rules: "R104" },
  { name: "WritesOnlyWhenActive", rules: "R104" },
  { name: "WritesInOwnEpoch", rules: "R104 R106" },
  { name: "SameCommittedPrefixSameImage", rules: "R122 R128" },
  { name: "RecordsFit", rules: "R122 R128" },
  { name: "LeaderUsableWhenChosen", rules: "R119 R123" },
  { name: "LeaderEpochBumps", rules: "R122" },
  { name: "PartitionEpochBumps", rules: "R122" },
  { name: "CleanElection", rules: "R123" },
  { name: "UncleanLeaderRecovers", rules: "R123" },
  { name: "IsrUsableWhenAdded", rules: "R119 R126" },
  { name: "BrokerEpochIsOffset", rules: "R114" },
  { name: "BrokerEpochIncreases", rules: "R114" },
  { name: "BrokerEpochKept", rules: "R114" },
  { name: "NoDuplicateRegistration", rules: "R113" },
  { name: "UnfenceWhenCaughtUp", rules: "R115" },
  { name: "AlterPartitionFromCurrentIncarnation", rules: "R126" },
  { name: "IsrMembersEligible", rules: "R126" },
  { name: "TopicNameUnique", rules: "R109 R121" },
  { name: "OnlyBrokersSpeakForThemselves", rules: "R148" },
  { name: "NoIllegalState", rules: "R136 R149" },
  { name: "SnapshotMatchesImage", rules: "R131" },
] as const;

export const metadataProperties = (voters: number, snapshots = false): readonly Property<MetadataWorld>[] => {
  // A name the Raft layer's judge uses too (NoIllegalState) is reported from either history.
  const transitions: Always<MetadataWorld>[] = TRANSITIONS.map(({ name, rules }) => ({
    kind: "always",
    name,
    rules,
    check: (w) =>
      w.broken?.startsWith(`${name}:`)
        ? w.broken
        : w.raft.broken?.startsWith(`${name}:`)
          ? w.raft.broken
          : null,
  }));
  const otherTransition: Always<MetadataWorld> = {
    kind: "always",
    name: "CommittedImageInvariants",
    rules: "R109 R119 R123 R124",
    check: (w) =>
      w.broken !== null && !TRANSITIONS.some((t) => w.broken!.startsWith(`${t.name}:`)) ? w.broken : null,
  };
  const images: Always<MetadataWorld> = {
    kind: "always",
    name: "ImageInvariants",
    rules: "R109 R119 R123 R124",
    check: imagesProblem,
  };
  const caughtUp: Always<MetadataWorld> = {
    kind: "always",
    name: "ActiveControllerCaughtUp",
    rules: "R58 R105",
    check: activeControllerBehind,
  };
  const raft: Always<MetadataWorld> = {
    kind: "always",
    name: "RaftSafety",
    rules: "R134–R145",
    check: (w) => {
      if (w.raft.broken !== null) return w.raft.broken;
      for (const invariant of CLUSTER_INVARIANTS) {
        const problem = invariant.check(w.raft, voters);
        if (problem !== null) return problem;
      }
      return null;
    },
  };
  const sometimes: Sometimes<MetadataWorld>[] = [
    { kind: "sometimes", name: "BrokerFenced", rules: "R117 R118", event: EVENT.BROKER_FENCED },
    { kind: "sometimes", name: "LeaderMoved", rules: "R117 R123", event: EVENT.LEADER_MOVED },
    { kind: "sometimes", name: "FailoverFailedPending", rules: "R104", event: EVENT.FAILOVER_FAILED_PENDING },
    { kind: "sometimes", name: "BrokerUnfenced", rules: "R116", event: EVENT.BROKER_UNFENCED },
    ...(snapshots
      ? [
          {
            kind: "sometimes" as const,
            name: "SnapshotInstalled",
            rules: "R83 R84",
            event: EVENT.SNAPSHOT_INSTALLED,
          },
        ]
      : []),
  ];
  return [...transitions, otherTransition, images, caughtUp, raft, ...sometimes];
};

// ---- encoding ----------------------------------------------------------------------------------------

// One codec per cluster, topic layout and admin requests, shared by the models built from them (swarm
// walks build one per walk): it only holds caches, and its words depend on nothing but the state.
const codecs = new WeakMap<
  MetadataClusterSpec,
  { readonly partitions: number; readonly adminOps: MetaBounds["adminOps"]; readonly codec: MetadataCodec }[]
>();

const codecFor = (options: MetadataModelOptions, reductions: Reductions): MetadataCodec => {
  const { spec, partitions } = options;
  const adminOps = options.bounds.adminOps;
  let built = codecs.get(spec);
  if (built === undefined) {
    built = [];
    codecs.set(spec, built);
  }
  const sameReductions = (other: Reductions): boolean =>
    REDUCTION_FLAGS.every(({ key }) => other[key] === reductions[key]);
  let entry = built.find(
    (x) => x.partitions === partitions && x.adminOps === adminOps && sameReductions(x.codec.reductions),
  );
  if (entry === undefined) {
    entry = { partitions, adminOps, codec: new MetadataCodec(spec, partitions, adminOps, reductions) };
    built.push(entry);
  }
  return entry.codec;
};

// ---- the model ---------------------------------------------------------------------------------------

const isSelfLoop = (before: MetadataWorld, after: MetadataWorld): boolean =>
  after.raft === before.raft &&
  after.apps === before.apps &&
  after.network === before.network &&
  after.broken === before.broken;

/** What the checker assumes of time once faults stop, for the metadata model. */
export const METADATA_FAIRNESS =
  "after the last fault, every stopped node starts again, no message is lost, flushes and messages take no time, and each timer (Raft's, a controller's session and idle timers, a broker's heartbeat) runs out when its duration has passed";

/** The metadata model's liveness properties (R137 with R103–R119). */
export const metadataEventually = (spec: MetadataClusterSpec): readonly Eventually<MetadataWorld>[] => {
  const healed: Eventually<MetadataWorld>[] = [
    {
      kind: "eventually",
      name: "EventuallyActiveController",
      rules: "R137 R103 R58",
      suffix: "healed",
      goal: (w) => activeControllerStable(w, spec.controllers),
    },
    {
      kind: "eventually",
      name: "EventuallyWritesResolved",
      rules: "R137 R64 R87",
      suffix: "healed",
      goal: (w) => writesCommitted(w.raft),
    },
    {
      kind: "eventually",
      name: "EventuallyCaughtUp",
      rules: "R61 R66 R74 R85",
      suffix: "healed",
      goal: (w) => caughtUp(w.raft),
    },
    {
      kind: "eventually",
      name: "EventuallyBrokersRunning",
      rules: "R112 R115 R116 R128",
      suffix: "healed",
      goal: brokersRunning,
    },
    {
      kind: "eventually",
      name: "EventuallyAdminAnswered",
      rules: "R104 R148",
      suffix: "healed",
      goal: adminAnswered,
    },
  ];
  if (!spec.checkQuorum || spec.controllers < 2) return healed;
  return [
    ...healed,
    {
      kind: "eventually",
      name: "EventuallyLeaderWithoutQuorumResigns",
      rules: "R57",
      suffix: "as-is",
      goal: (w) => leaderWithoutQuorumResigns(w.raft, spec.controllers),
      // The as-is schedule stops no controller (only a broker shuts itself down).
      holdsThroughout: (w) => majorityRunning(w.raft, spec.controllers),
    },
  ];
};

export const metadataModel = (options: MetadataModelOptions): Model<MetadataWorld> => {
  const { spec, bounds } = options;
  const reductions = reductionsWith(options.reductions);
  const codec = codecFor(options, reductions);
  // A timed state keeps the voters that fetched in a check-quorum interval: on a fair schedule they
  // decide when the leader's timer is armed again (R57).
  const timedCodec = reductions.checkQuorumFetches
    ? codecFor(options, { ...reductions, checkQuorumFetches: false })
    : codec;
  let cachedWorld: MetadataWorld | undefined;
  let cachedActions: MetaAction[] = [];
  const actionsOf = (world: MetadataWorld): MetaAction[] => {
    if (world !== cachedWorld) {
      cachedWorld = world;
      cachedActions = enabledMetaActions(world, spec, bounds);
    }
    return cachedActions;
  };
  const model: Model<MetadataWorld> = {
    name: "metadata",
    properties: [
      ...metadataProperties(spec.controllers, bounds.snapshots === true),
      ...(options.liveness === false ? [] : metadataEventually(spec)),
    ],
    initialStates: () => [bootstrappedWorld(spec, options.partitions)],
    actionCount: (world) => actionsOf(world).length,
    step: (world, index) => {
      const action = actionsOf(world)[index];
      if (action === undefined) return null;
      const outcome = applyMetaAction(world, spec, bounds, action);
      if (
        !withinMetaBounds(outcome.world, bounds) ||
        (reductions.selfLoops && isSelfLoop(world, outcome.world))
      )
        return null;
      return { state: outcome.world, events: outcome.events };
    },
    encode: (world, w) => codec.encode(world, w),
    decode: (words, start, end) => codec.decode(words, start, end),
    describeAction: (world, index) => {
      const action = actionsOf(world)[index];
      return action === undefined ? `action ${index}` : describeMetaAction(world, action);
    },
    describeState: (world) => {
      const lines = world.apps.map((app, i) => {
        const slot = world.raft.nodes[i]!;
        const raft = slot.state === null ? "down" : formatState(slot.state);
        const c = app.controller;
        const b = app.broker;
        const role =
          c !== null
            ? `controller ${c.active ? `active e${c.epoch}` : "standby"} committed@${c.committed.offset}`
            : b !== null
              ? `broker ${b.lifecycle} epoch=${b.brokerEpoch} image@${b.image.offset}`
              : "down";
        return `n${i + 1} ${role} | ${raft}`;
      });
      const image = world.apps.find((a) => a.controller?.active === true)?.controller?.image;
      const partitions =
        (image === undefined ? [] : topicsOf(image)).flatMap((t) =>
          partitionsOf(t).map(
            (p) =>
              `${t.name}-${p.partitionId} leader=${p.leader} isr=[${p.isr.join(" ")}] epochs=${p.leaderEpoch}/${p.partitionEpoch}`,
          ),
        ) ?? [];
      const fenced = image?.brokers
        .map((x) => `${x.id}:${x.fenced ? "fenced" : "unfenced"}@${x.epoch}`)
        .join(" ");
      const raftInFlight = world.raft.network.map((e) => `${e.from}->${e.to} ${e.message._tag}`);
      const channel = world.network.map(
        (e) => `${e.from < 0 ? "admin" : e.from}->${e.to < 0 ? "admin" : e.to} ${describeBody(e.body)}`,
      );
      const inFlight = [...raftInFlight, ...channel];
      return [
        ...lines,
        ...(image === undefined ? [] : [`brokers ${fenced}`, ...partitions]),
        `in flight: ${inFlight.length === 0 ? "nothing" : inFlight.join(", ")}`,
      ];
    },
    explain: (world, index) => {
      const action = actionsOf(world)[index];
      if (action === undefined) return [];
      return applyMetaAction(world, spec, bounds, action).steps.map(
        (s) => JSON.parse(JSON.stringify(s)) as unknown,
      );
    },
    liveness: {
      fairness: METADATA_FAIRNESS,
      start: (world) => startMetaClocks(world, spec),
      next: (timed, suffix, explain) => {
        const taken = metaFairStep(timed as TimedMetaWorld, spec, suffix as "healed" | "as-is");
        if (taken === null) return null;
        const base = { timed: taken.timed, elapsedMs: taken.elapsedMs };
        if (!explain) return { ...base, action: "" };
        return {
          ...base,
          action: describeMetaAction(timed.state, taken.action),
          details: taken.outcome.steps.map((s) => JSON.parse(JSON.stringify(s)) as unknown),
        };
      },
      encode: (timed, writer) => {
        timedCodec.encode(timed.state, writer);
        writer.push(timed.timers.length);
        for (const t of timed.timers) {
          writer.push(t.key);
          writer.push(t.remainingMs);
        }
      },
    },
    swarm: (random) => {
      // Swarm testing: each walk switches some kinds of fault off, so that the others get room.
      const switches: readonly [string, Partial<MetaBounds>][] = [
        ["raft message loss", { raftLoss: false }],
        ["channel message loss", { metaLoss: false }],
        ["controller crashes", { maxControllerCrashes: 0 }],
        ["broker crashes", { maxBrokerCrashes: 0 }],
        ["session expiries", { maxSessionExpiries: 0 }],
        ["delays", { maxDelays: 0 }],
        ["controlled shutdowns", { maxControlledShutdowns: 0 }],
      ];
      const off = switches.filter(() => random() < 0.5);
      const swarmBounds: MetaBounds = Object.assign({}, bounds, ...off.map(([, change]) => change));
      return {
        model: metadataModel({ ...options, bounds: swarmBounds }),
        disabled: off.map(([name]) => name),
      };
    },
  };
  // Its words mean the same in every thread (metadata-codec.ts), so a worker can rebuild it.
  return withRecipe(model, { module: import.meta.url, factory: "metadataModel", argument: options });
};
