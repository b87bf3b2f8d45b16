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
  type AppSlot,
  bootstrappedWorld,
  describeBody,
  EVENT,
  type MetadataClusterSpec,
  type MetadataWorld,
  type MetaEnvelope,
  raftSpecOf,
} from "../../spec/cluster/metadata-world.ts";
import { entryEpoch, entryValue, makeEntry, type World } from "../../spec/cluster/world.ts";
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
import type { BrokerState } from "../../spec/metadata/broker.ts";
import type { ControllerState } from "../../spec/metadata/controller.ts";
import type { MetadataImage } from "../../spec/metadata/image.ts";
import type { MetadataRecord } from "../../spec/metadata/records.ts";
import { FIRST_FORWARD_ID } from "../../spec/node/node.ts";
import type { Always, Eventually, Model, Property, Sometimes } from "./model.ts";
import { decodeWorld, encodeCanonical } from "./raft-codec.ts";
import type { WordWriter } from "./words.ts";

export interface MetadataModelOptions {
  readonly spec: MetadataClusterSpec;
  readonly bounds: MetaBounds;
  /** Partitions of the topic the bootstrap creates (replication factor: every broker). */
  readonly partitions: number;
  /** Judge the liveness properties too (default on). */
  readonly liveness?: boolean;
}

// ---- properties --------------------------------------------------------------------------------------

const imagesProblem = (world: MetadataWorld): string | null => {
  for (let i = 0; i < world.apps.length; i++) {
    const app = world.apps[i]!;
    const images: MetadataImage[] = [];
    if (app.controller !== null) images.push(app.controller.committed, app.controller.image);
    if (app.broker !== null) images.push(app.broker.image);
    for (const image of images) {
      const problem = imageProblem(image);
      if (problem !== null) return `${problem} (image of n${i + 1})`;
    }
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
  return [...transitions, otherTransition, images, raft, ...sometimes];
};

// ---- encoding ----------------------------------------------------------------------------------------

/**
 * Interned strings: each distinct component (a controller, a broker, the controller channel) is
 * stored once and a state holds its number. Records get global numbers the same way, so Raft entries
 * and payloads can be encoded by the Raft codec unchanged.
 */
class Interner {
  private readonly ids = new Map<string, number>();
  readonly values: string[] = [];
  intern(text: string): number {
    let id = this.ids.get(text);
    if (id === undefined) {
      id = this.values.length;
      this.values.push(text);
      this.ids.set(text, id);
    }
    return id;
  }
}

interface Codec {
  readonly records: Interner;
  readonly recordObjects: MetadataRecord[];
  readonly images: Interner;
  readonly imageObjects: (MetadataImage | undefined)[];
  readonly parts: Interner;
  /** Interned numbers of record and image objects already seen: states share most of them. */
  readonly recordIds: WeakMap<MetadataRecord, number>;
  readonly imageIds: WeakMap<MetadataImage, number>;
}

const newCodec = (): Codec => ({
  records: new Interner(),
  recordObjects: [],
  images: new Interner(),
  imageObjects: [],
  parts: new Interner(),
  recordIds: new WeakMap(),
  imageIds: new WeakMap(),
});

/** The global number of a world's record value (1-based; 0 stays a control record). */
const globalValue = (codec: Codec, world: MetadataWorld, value: number): number => {
  if (value === 0) return 0;
  const record = world.records[value - 1]!;
  let id = codec.recordIds.get(record);
  if (id === undefined) {
    id = codec.records.intern(JSON.stringify(record));
    if (codec.recordObjects.length <= id) codec.recordObjects[id] = record;
    codec.recordIds.set(record, id);
  }
  return id + 1;
};

const mapEntries = (codec: Codec, world: MetadataWorld, entries: readonly number[]): number[] =>
  entries.map((e) => makeEntry(entryEpoch(e), globalValue(codec, world, entryValue(e))));

/** The Raft world with record values renumbered globally and the append counter dropped. */
const canonicalRaft = (codec: Codec, world: MetadataWorld): World => ({
  ...world.raft,
  valuesAppended: 0,
  nodes: world.raft.nodes.map((slot) => ({ ...slot, entries: mapEntries(codec, world, slot.entries) })),
  network: world.raft.network.map((e) =>
    e.payload === null ? e : { ...e, payload: mapEntries(codec, world, e.payload) },
  ),
  committed: mapEntries(codec, world, world.raft.committed),
});

const imageRef = (codec: Codec, image: MetadataImage): number => {
  let id = codec.imageIds.get(image);
  if (id === undefined) {
    id = codec.images.intern(JSON.stringify(image));
    if (codec.imageObjects.length <= id) codec.imageObjects[id] = image;
    codec.imageIds.set(image, id);
  }
  return id;
};

/**
 * Broker correlation ids only ever grow; only which requests are outstanding matters. Renumber each
 * broker's live ids 1..k in order, so runs that differ only in how many heartbeats came before meet.
 */
const correlationMaps = (world: MetadataWorld): Map<number, Map<number, number>> => {
  const live = new Map<number, Set<number>>();
  // Forwarded requests' ids (spec/node) are renumbered apart, from FIRST_FORWARD_ID, so that they never
  // meet the broker's own after decoding.
  const forwards = new Map<number, Set<number>>();
  const note = (broker: number, id: number): void => {
    if (id >= FIRST_FORWARD_ID) {
      let set = forwards.get(broker);
      if (set === undefined) {
        set = new Set();
        forwards.set(broker, set);
      }
      set.add(id);
      return;
    }
    let set = live.get(broker);
    if (set === undefined) {
      set = new Set();
      live.set(broker, set);
    }
    set.add(id);
  };
  world.apps.forEach((app, i) => {
    const b = app.broker;
    if (b === null) return;
    if (b.lifecycleInflight !== null) note(i + 1, b.lifecycleInflight.correlationId);
    if (b.alterInflight !== null) note(i + 1, b.alterInflight.correlationId);
  });
  for (const e of world.network) note(e.body.kind === "request" ? e.from : e.to, e.correlationId);
  for (const o of world.origins) note(o.from, o.correlationId);
  for (const w of world.writes) note(w.to, w.correlationId);
  for (const app of world.apps) for (const p of app.controller?.pending ?? []) note(p.to, p.correlationId);
  world.apps.forEach((app, i) => {
    for (const f of app.forwards) note(i + 1, f.id);
  });
  const maps = new Map<number, Map<number, number>>();
  for (const [broker, ids] of live) {
    if (broker < 0) continue;
    const sorted = [...ids].sort((a, b) => a - b);
    maps.set(broker, new Map(sorted.map((id, k) => [id, k + 1])));
  }
  for (const [node, ids] of forwards) {
    if (node < 0) continue;
    const map = maps.get(node) ?? new Map<number, number>();
    [...ids]
      .sort((a, b) => a - b)
      .forEach((id, k) => {
        map.set(id, FIRST_FORWARD_ID + k);
      });
    maps.set(node, map);
  }
  return maps;
};

const renumbered = (maps: Map<number, Map<number, number>>, broker: number, id: number): number =>
  maps.get(broker)?.get(id) ?? id;

const canonicalController = (
  codec: Codec,
  c: ControllerState,
  maps: Map<number, Map<number, number>>,
): unknown => ({
  ...c,
  image: imageRef(codec, c.image),
  committed: imageRef(codec, c.committed),
  pending: c.pending.map((p) => ({ ...p, correlationId: renumbered(maps, p.to, p.correlationId) })),
});

const canonicalBroker = (
  codec: Codec,
  b: BrokerState,
  maps: Map<number, Map<number, number>>,
  id: number,
): unknown => {
  const map = maps.get(id);
  let size = 0;
  for (const k of map?.keys() ?? []) if (k < FIRST_FORWARD_ID) size++;
  const inflight = (x: BrokerState["lifecycleInflight"]) =>
    x === null ? null : { ...x, correlationId: renumbered(maps, id, x.correlationId) };
  return {
    ...b,
    image: imageRef(codec, b.image),
    lifecycleInflight: inflight(b.lifecycleInflight),
    alterInflight: inflight(b.alterInflight),
    nextCorrelationId: size + 1,
  };
};

const linkOrder = (a: MetaEnvelope, b: MetaEnvelope): number => a.from - b.from || a.to - b.to;

const encodeMeta = (codec: Codec, world: MetadataWorld, w: WordWriter): void => {
  const maps = correlationMaps(world);
  const requester = (e: MetaEnvelope): number => (e.body.kind === "request" ? e.from : e.to);
  w.push(world.apps.length);
  world.apps.forEach((app, i) => {
    const part = {
      c: app.controller === null ? null : canonicalController(codec, app.controller, maps),
      b: app.broker === null ? null : canonicalBroker(codec, app.broker, maps, i + 1),
      l: app.listenerOffset,
      // Only when set, so that the encoding of worlds without snapshots is what it was.
      ...(app.snapshotToLoad === null ? {} : { t: app.snapshotToLoad }),
      f: app.forwards.map((f) => ({ ...f, id: renumbered(maps, i + 1, f.id) })).sort((a, b) => a.id - b.id),
      s: app.sessionTimers,
      i: app.idleTimer,
      h: app.heartbeatTimer,
      n: app.starts,
      e: app.lastBrokerEpoch,
    };
    w.push(codec.parts.intern(JSON.stringify(part)));
  });
  // The channel's links are first in, first out; the order across links means nothing.
  const network = world.network
    .map((e) => ({
      ...e,
      correlationId:
        e.from < 0 || e.to < 0 ? e.correlationId : renumbered(maps, requester(e), e.correlationId),
    }))
    .sort(linkOrder);
  const ghost = {
    network,
    writes: world.writes
      .map((x) => ({ ...x, correlationId: renumbered(maps, x.to, x.correlationId) }))
      .sort((a, b) => a.node - b.node || a.to - b.to || a.correlationId - b.correlationId),
    origins: world.origins
      .map((x) => ({ ...x, correlationId: renumbered(maps, x.from, x.correlationId) }))
      .sort((a, b) => a.node - b.node || a.from - b.from || a.correlationId - b.correlationId),
    answered: world.adminAnswers,
  };
  w.push(codec.parts.intern(JSON.stringify(ghost)));
  w.push(world.adminRequests);
  w.push(world.controllerCrashes);
  w.push(world.brokerCrashes);
  w.push(world.sessionExpiries);
  w.push(world.shutdowns);
  w.push(world.delays);
  w.push(world.forgedFrames);
  w.push(world.broken === null ? -1 : codec.parts.intern(world.broken));
};

const restoreImage = (codec: Codec, ref: unknown): MetadataImage =>
  codec.imageObjects[ref as number] ?? (JSON.parse(codec.images.values[ref as number]!) as MetadataImage);

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
  const raftSpec = raftSpecOf(spec);
  const codec = newCodec();
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
      if (!withinMetaBounds(outcome.world, bounds) || isSelfLoop(world, outcome.world)) return null;
      return { state: outcome.world, events: outcome.events };
    },
    // The Raft part's length, its words (the Raft codec's), then the metadata part.
    encode: (world, w) => {
      const lengthAt = w.length;
      w.push(0);
      encodeCanonical(w, canonicalRaft(codec, world), raftSpec, false);
      w.words[lengthAt] = w.length - lengthAt - 1;
      encodeMeta(codec, world, w);
    },
    decode: (words, start, end) => {
      const raftLength = words[start]!;
      const raft = decodeWorld(words, start + 1, start + 1 + raftLength, raftSpec);
      let at = start + 1 + raftLength;
      const next = (): number => {
        if (at >= end) throw new Error("metadata state encoding ended early");
        return words[at++]!;
      };
      const count = next();
      const apps = Array.from({ length: count }, (_, i) => {
        const part = JSON.parse(codec.parts.values[next()]!) as {
          c: (Omit<ControllerState, "image" | "committed"> & { image: number; committed: number }) | null;
          b: (Omit<BrokerState, "image"> & { image: number }) | null;
          l: number;
          f: AppSlot["forwards"];
          s: number[];
          i: boolean;
          h: boolean;
          n: number;
          e: number;
          t?: { endOffset: number; epoch: number };
        };
        void i;
        return {
          controller:
            part.c === null
              ? null
              : {
                  ...part.c,
                  image: restoreImage(codec, part.c.image),
                  committed: restoreImage(codec, part.c.committed),
                },
          broker: part.b === null ? null : { ...part.b, image: restoreImage(codec, part.b.image) },
          listenerOffset: part.l,
          snapshotToLoad: part.t ?? null,
          forwards: part.f,
          nextForwardId: FIRST_FORWARD_ID + part.f.length,
          sessionTimers: part.s,
          idleTimer: part.i,
          heartbeatTimer: part.h,
          starts: part.n,
          lastBrokerEpoch: part.e,
        };
      });
      const ghost = JSON.parse(codec.parts.values[next()]!) as Pick<
        MetadataWorld,
        "network" | "writes" | "origins"
      > & { answered: number[] };
      const adminRequests = next();
      const controllerCrashes = next();
      const brokerCrashes = next();
      const sessionExpiries = next();
      const shutdowns = next();
      const delays = next();
      const forgedFrames = next();
      const brokenId = next();
      return {
        raft: { ...raft, broken: raft.broken === null ? null : "a Raft step property was broken" },
        apps,
        records: codec.recordObjects.slice(),
        network: ghost.network,
        writes: ghost.writes,
        origins: ghost.origins,
        adminRequests,
        adminAnswers: ghost.answered,
        controllerCrashes,
        brokerCrashes,
        sessionExpiries,
        shutdowns,
        delays,
        forgedFrames,
        broken: brokenId < 0 ? null : codec.parts.values[brokenId]!,
      };
    },
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
        image?.topics.flatMap((t) =>
          t.partitions.map(
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
        model.encode(timed.state, writer);
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
  // No recipe: the encoding names records, images and parts by this instance's interning order, which
  // another thread's instance would number differently, so the model is searched on one thread.
  return model;
};
