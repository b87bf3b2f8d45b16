// Metadata scenario transcripts: scripts against a simulated KRaft cluster (controllers over Raft,
// brokers as observers) and the trace of every controller and broker step they cause. Raft's own
// steps run underneath unchanged and are summarised (who leads, what committed); the Raft-level
// transcripts in spec/scenarios show them in full. Same file format as the Raft transcripts.
import * as Schema from "effect/Schema";
import type { BrokerEffect, BrokerInput, BrokerState } from "../metadata/broker.ts";
import type { ControllerEffect, ControllerInput, ControllerState } from "../metadata/controller.ts";
import { configsOf, findTopic, type MetadataImage, partitionsOf, topicsOf } from "../metadata/image.ts";
import type { MetadataRecord } from "../metadata/records.ts";
import { RESOURCE_BROKER, RESOURCE_TOPIC } from "../metadata/records.ts";
import {
  CONFIG_APPEND,
  CONFIG_DELETE,
  CONFIG_SET,
  CONFIG_SUBTRACT,
  ControllerRequest,
  type ControllerResponse,
  ELECTION_PREFERRED,
  ELECTION_UNCLEAN,
  type IncrementalAlterConfigsRequest,
} from "../metadata/requests.ts";
import type { TimerKind } from "../raft/state.ts";
import { type FormatOptions, formatValue } from "./format.ts";
import {
  activeController,
  adminRequest,
  brokerInput,
  committedRecords,
  crashNode,
  DEFAULT_METADATA_CLUSTER,
  deliverMetaMessage,
  deliverRaftMessage,
  describeBody,
  dropMetaMessage,
  expireSession,
  fireHeartbeat,
  fireIdleTimer,
  fireRaftTimer,
  flushNode,
  initialMetadataWorld,
  isControllerIndex,
  type MetadataClusterSpec,
  type MetadataWorld,
  type MetaOutcome,
  type MetaStep,
  metadataViolation,
  type NodeStepRecord,
  startNode,
  takeSnapshot,
  trimLog,
} from "./metadata-world.ts";
import { type Block, parseTranscript, renderTranscript, type Transcript } from "./scenario.ts";

export { parseTranscript, renderTranscript };

interface Session {
  spec: MetadataClusterSpec;
  world: MetadataWorld;
  lastViolation: string | null;
  /** Partitioned node groups: messages between groups are lost. */
  groups: readonly (readonly number[])[] | null;
  readonly observe: MetaStepObserver | undefined;
}

/**
 * Sees every step a metadata transcript makes, with the world before it (null when a new cluster
 * starts from nothing); the conformance vectors are made this way.
 */
export type MetaStepObserver = (
  steps: readonly MetaStep[],
  spec: MetadataClusterSpec,
  before: MetadataWorld | null,
  /** The same steps as whole-node steps (spec/node's inputs and effects, starts with their storage). */
  nodeSteps: readonly NodeStepRecord[],
) => void;

const decodeRequest = Schema.decodeUnknownSync(ControllerRequest);

const OPTIONS: FormatOptions = { clusterId: DEFAULT_METADATA_CLUSTER.clusterId };
const fmt = (value: unknown): string => formatValue(value, OPTIONS);

// ---- rendering --------------------------------------------------------------------------------------

const formatRecord = (r: MetadataRecord): string => fmt(r);

const formatControllerInput = (input: ControllerInput): string => {
  switch (input._tag) {
    case "Request":
      return `Request from ${input.from}#${input.correlationId} ${fmt(input.request)}`;
    case "Committed": {
      const first = input.records[0]!.offset;
      const last = input.records[input.records.length - 1]!.offset;
      return `Committed ${first}..${last}`;
    }
    case "LoadSnapshot":
      return formatLoad(input);
    default:
      return fmt(input)
        .replace(/^(\w+)\{/, "$1 {")
        .replace(/ \{\}$/, "");
  }
};

/** A snapshot load names the snapshot and how many records it holds, not each of them. */
const formatLoad = (input: {
  endOffset: number;
  epoch: number;
  records: readonly MetadataRecord[];
}): string => `LoadSnapshot ${input.endOffset}-${input.epoch} (${input.records.length} records)`;

const formatControllerEffect = (e: ControllerEffect): string[] => {
  switch (e._tag) {
    case "Propose":
      return [
        `Propose e${e.epoch} @${e.baseOffset}`,
        ...e.records.map((r, i) => `  ${e.baseOffset + i} ${formatRecord(r)}`),
      ];
    case "Respond":
      return [`Respond ->${e.to}#${e.correlationId} ${fmt(e.response)}`];
    default:
      return [
        fmt(e)
          .replace(/^(\w+)\{/, "$1 {")
          .replace(/ \{\}$/, ""),
      ];
  }
};

const formatController = (s: ControllerState): string => {
  const role = s.active ? `active e${s.epoch} next=${s.nextOffset}` : `standby e${s.epoch}`;
  const pending =
    s.pending.length === 0
      ? ""
      : ` pending=[${s.pending.map((p) => `${p.to}#${p.correlationId}@${p.lastOffset}`).join(" ")}]`;
  const sessions =
    s.sessions.length === 0
      ? ""
      : ` sessions=[${s.sessions.map((x) => `${x.brokerId}@${x.metadataOffset}`).join(" ")}]`;
  return `${role} committed@${s.committed.offset}${s.image.offset !== s.committed.offset ? ` image@${s.image.offset}` : ""}${pending}${sessions}`;
};

const formatBrokerInput = (input: BrokerInput): string => {
  switch (input._tag) {
    case "Committed": {
      const first = input.records[0]!.offset;
      const last = input.records[input.records.length - 1]!.offset;
      return `Committed ${first}..${last}`;
    }
    case "Response":
      return `Response #${input.correlationId} ${fmt(input.response)}`;
    case "LoadSnapshot":
      return formatLoad(input);
    default:
      return fmt(input)
        .replace(/^(\w+)\{/, "$1 {")
        .replace(/ \{\}$/, "");
  }
};

const formatBrokerEffect = (e: BrokerEffect): string => {
  if (e._tag === "SendToController") return `Send ->${e.to}#${e.correlationId} ${fmt(e.request)}`;
  return fmt(e)
    .replace(/^(\w+)\{/, "$1 {")
    .replace(/ \{\}$/, "");
};

const formatBroker = (s: BrokerState): string =>
  `${s.lifecycle} epoch=${s.brokerEpoch} controller=${s.controllerId} image@${s.image.offset}${s.caughtUp ? " caught-up" : ""}`;

/** Controller and broker steps in full; Raft steps only as leadership and commit changes. */
const renderSteps = (steps: readonly MetaStep[]): string[] => {
  const lines: string[] = [];
  for (const s of steps) {
    switch (s.layer) {
      case "raft": {
        const st = s.step;
        for (const e of st.effects) {
          if (e._tag === "LeaderChanged" && e.leaderId === st.node)
            lines.push(`raft n${st.node} leads epoch ${e.epoch}`);
          if (e._tag === "IllegalState") lines.push(`raft n${st.node} IllegalState ${e.rule}: ${e.detail}`);
          // Snapshots (R77–R84): what each node's Raft layer did with them.
          if (e._tag === "WriteSnapshot")
            lines.push(`raft n${st.node} writes snapshot ${e.endOffset}-${e.epoch}`);
          if (e._tag === "SnapshotRefused")
            lines.push(
              `raft n${st.node} refuses to ${e.operation === "create" ? "snapshot at" : "start the log at"} ${e.endOffset}: ${e.reason}`,
            );
          if (e._tag === "DeleteLogBefore") lines.push(`raft n${st.node} log starts at ${e.offset}`);
          if (e._tag === "InstallSnapshot")
            lines.push(
              `raft n${st.node} installs snapshot ${e.endOffset}-${e.epoch} downloaded from the leader`,
            );
          if (e._tag === "LoadSnapshot")
            lines.push(`raft n${st.node} tells its listener to load snapshot ${e.endOffset}-${e.epoch}`);
        }
        break;
      }
      case "controller":
        lines.push(`c${s.node} ${formatControllerInput(s.input)}`);
        for (const e of s.effects) for (const l of formatControllerEffect(e)) lines.push(`  ${l}`);
        lines.push(`  = ${formatController(s.after)}`);
        break;
      case "broker":
        lines.push(`b${s.node} ${formatBrokerInput(s.input)}`);
        for (const e of s.effects) lines.push(`  ${formatBrokerEffect(e)}`);
        lines.push(`  = ${formatBroker(s.after)}`);
        break;
      case "admin":
        lines.push(`admin <- n${s.from}#${s.correlationId} ${fmt(s.response)}`);
        break;
      case "note":
        lines.push(s.text);
        break;
    }
  }
  return lines;
};

/** The image as a few readable lines: brokers, then each partition. */
export const formatImage = (image: MetadataImage): string[] => {
  const lines = [
    `offset=${image.offset} epoch=${image.epoch} features=[${image.features.map((f) => `${f.name}=${f.level}`).join(" ")}]`,
  ];
  for (const b of image.brokers) {
    const flags = [
      b.fenced ? "fenced" : "unfenced",
      ...(b.inControlledShutdown ? ["shutting-down"] : []),
    ].join(" ");
    lines.push(`broker ${b.id} epoch=${b.epoch} ${flags}`);
  }
  for (const t of topicsOf(image)) {
    for (const p of partitionsOf(t)) {
      lines.push(
        `${t.name}-${p.partitionId} leader=${p.leader} leaderEpoch=${p.leaderEpoch} partitionEpoch=${p.partitionEpoch} replicas=[${p.replicas.join(" ")}] isr=[${p.isr.join(" ")}]${p.leaderRecoveryState === 1 ? " RECOVERING" : ""}`,
      );
    }
  }
  for (const c of configsOf(image))
    lines.push(
      `config ${c.resourceType === RESOURCE_TOPIC ? "topic" : "broker"}:${c.resourceName} ${c.name}=${c.value}`,
    );
  return lines;
};

// ---- driving the cluster ----------------------------------------------------------------------------

const crosses = (session: Session, from: number, to: number): boolean => {
  if (session.groups === null) return false;
  const groupOf = (id: number) => session.groups!.findIndex((g) => g.includes(id));
  const a = groupOf(from);
  const b = groupOf(to);
  return a < 0 || b < 0 ? from !== to : a !== b;
};

/** Deliver messages and complete flushes until nothing is in flight. */
const stabilize = (session: Session, apply: (o: MetaOutcome) => void): string[] | null => {
  for (let i = 0; i < 10_000; i++) {
    const w = session.world;
    const flushing = w.raft.nodes.findIndex((n) => n.state !== null && n.flushRequested);
    if (flushing >= 0) {
      apply(flushNode(w, session.spec, flushing));
      continue;
    }
    const raft = w.raft.network[0];
    if (raft !== undefined) {
      if (crosses(session, raft.from, raft.to)) {
        session.world = { ...w, raft: { ...w.raft, network: w.raft.network.slice(1) } };
      } else {
        apply(deliverRaftMessage(w, session.spec, 0));
      }
      continue;
    }
    const meta = w.network[0];
    if (meta !== undefined) {
      // A failure notice is the requester's own transport speaking: no partition stands in its way.
      if (crosses(session, meta.from, meta.to) && meta.body.kind !== "failed")
        apply(dropMetaMessage(w, session.spec, 0));
      else apply(deliverMetaMessage(w, session.spec, 0));
      continue;
    }
    return null;
  }
  return ["!! still busy after 10000 steps"];
};

/** Fire the timers that keep replication moving: parked fetches answered, observers retrying. */
const propagate = (session: Session, apply: (o: MetaOutcome) => void): void => {
  for (let round = 0; round < 8; round++) {
    let fired = false;
    session.world.raft.nodes.forEach((slot, index) => {
      for (const timer of ["fetchWait", "retryBackoff"] as const satisfies readonly TimerKind[]) {
        if (session.world.raft.nodes[index]?.state?.timers.includes(timer) && slot.state !== null) {
          apply(fireRaftTimer(session.world, session.spec, index, timer));
          fired = true;
          stabilize(session, apply);
        }
      }
    });
    if (!fired) return;
    const hw = session.world.raft.committed.length;
    const behind = session.world.raft.nodes.some((n) => n.state !== null && n.state.highWatermark < hw);
    if (!behind) return;
  }
};

const nodeIndex = (session: Session, text: string | undefined): number => {
  const id = Number(text);
  const index = id - 1;
  if (!Number.isInteger(id) || index < 0 || index >= session.world.apps.length) {
    throw new Error(
      `no node "${text}": controllers are 1..${session.spec.controllers}, brokers ${session.spec.controllers + 1}..${session.spec.controllers + session.spec.brokers}`,
    );
  }
  return index;
};

const parseCluster = (args: readonly string[]): MetadataClusterSpec => {
  let spec = DEFAULT_METADATA_CLUSTER;
  for (const arg of args) {
    const [name, value] = arg.split("=");
    const n = Number(value);
    switch (name) {
      case "controllers":
        spec = { ...spec, controllers: n };
        break;
      case "brokers":
        spec = { ...spec, brokers: n };
        break;
      case "noop":
        spec = { ...spec, controller: { ...spec.controller, noOpIntervalMs: value === "on" ? 500 : 0 } };
        break;
      default:
        throw new Error(`unknown cluster option "${arg}" (controllers=N brokers=N noop=on|off)`);
    }
  }
  return spec;
};

const options = (args: readonly string[]): Map<string, string> => {
  const out = new Map<string, string>();
  for (const a of args) {
    const i = a.indexOf("=");
    if (i > 0) out.set(a.slice(0, i), a.slice(i + 1));
  }
  return out;
};

const targetController = (session: Session, opts: Map<string, string>): number => {
  const to = opts.get("to");
  if (to !== undefined) return Number(to);
  return activeController(session.world) ?? 1;
};

/** `assignments=4,5/5,6`: each partition's replicas, partitions separated by slashes. */
const assignmentsOf = (opts: ReadonlyMap<string, string>): number[][] | undefined =>
  opts
    .get("assignments")
    ?.split("/")
    .map((group) => group.split(",").map(Number));

type AlterConfig = IncrementalAlterConfigsRequest["resources"][number]["configs"][number];

/** A config value written so is sent as null. */
const NULL_VALUE = "<null>";

const adminOp = (args: readonly string[]): ControllerRequest => {
  const [op, ...rest] = args;
  const opts = options(rest);
  const positional = rest.filter((a) => !a.includes("="));
  switch (op) {
    case "create-topic": {
      const configs = [...opts.entries()]
        .filter(([k]) => k.includes("."))
        .map(([name, value]) => ({ name, value: value === NULL_VALUE ? null : value }));
      const assignments = (assignmentsOf(opts) ?? []).map((brokerIds, partitionIndex) => ({
        partitionIndex,
        brokerIds,
      }));
      // Several names: one request creating each of them with the same options.
      return {
        _tag: "CreateTopicsRequest",
        validateOnly: opts.get("validate-only") === "true",
        topics: (positional.length > 0 ? positional : [""]).map((name) => ({
          name,
          numPartitions: Number(opts.get("partitions") ?? (assignments.length > 0 ? -1 : -1)),
          replicationFactor: Number(opts.get("rf") ?? -1),
          assignments,
          configs,
        })),
      };
    }
    case "delete-topic":
      return { _tag: "DeleteTopicsRequest", topics: [{ name: positional[0] ?? "", topicId: null }] };
    case "create-partitions":
      return {
        _tag: "CreatePartitionsRequest",
        validateOnly: false,
        topics: [
          {
            name: positional[0] ?? "",
            count: Number(opts.get("count")),
            assignments: assignmentsOf(opts)?.map((brokerIds) => ({ brokerIds })) ?? null,
          },
        ],
      };
    case "elect-leaders": {
      const [topic, partition] = (positional[1] ?? "").split(":");
      return {
        _tag: "ElectLeadersRequest",
        electionType: positional[0] === "unclean" ? ELECTION_UNCLEAN : ELECTION_PREFERRED,
        topicPartitions:
          topic === undefined || topic === "" ? null : [{ topic, partitions: [Number(partition ?? 0)] }],
      };
    }
    case "alter-config": {
      // Each `topic:NAME` or `broker:ID` starts a resource; the `key…=value` after it are its
      // operations, in order (a key may repeat): `key=value` sets, `key=` deletes, `key+=items`
      // appends to a list, `key-=items` subtracts; a value of <null> is sent as null.
      const resources: { resourceType: number; resourceName: string; configs: AlterConfig[] }[] = [];
      for (const arg of rest) {
        const i = arg.indexOf("=");
        if (i < 0) {
          const [type, name] = arg.split(":");
          resources.push({
            resourceType: type === "broker" ? RESOURCE_BROKER : RESOURCE_TOPIC,
            resourceName: name ?? "",
            configs: [],
          });
          continue;
        }
        const key = arg.slice(0, i);
        if (key === "to") continue;
        const text = arg.slice(i + 1);
        const resource = resources.at(-1);
        if (resource === undefined)
          throw new Error(`alter-config: ${arg} comes before any topic:NAME or broker:ID`);
        const value = text === NULL_VALUE ? null : text;
        resource.configs.push(
          key.endsWith("+")
            ? { name: key.slice(0, -1), configOperation: CONFIG_APPEND, value }
            : key.endsWith("-")
              ? { name: key.slice(0, -1), configOperation: CONFIG_SUBTRACT, value }
              : value === ""
                ? { name: key, configOperation: CONFIG_DELETE, value: null }
                : { name: key, configOperation: CONFIG_SET, value },
        );
      }
      return { _tag: "IncrementalAlterConfigsRequest", validateOnly: false, resources };
    }
    case "describe-config": {
      const [type, name] = (positional[0] ?? "").split(":");
      return {
        _tag: "DescribeConfigsRequest",
        resources: [
          {
            resourceType: type === "broker" ? RESOURCE_BROKER : RESOURCE_TOPIC,
            resourceName: name ?? "",
            configurationKeys: null,
          },
        ],
      };
    }
    default:
      throw new Error(
        `unknown admin operation "${op}" (create-topic, delete-topic, create-partitions, elect-leaders, alter-config, describe-config)`,
      );
  }
};

const runCommand = (session: Session, command: string): string[] => {
  const [verb, ...args] = command.split(/\s+/);
  const lines: string[] = [];
  const apply = (o: MetaOutcome, fresh = false): void => {
    session.observe?.(o.steps, session.spec, fresh ? null : session.world, o.nodeSteps ?? []);
    session.world = o.world;
    lines.push(...renderSteps(o.steps));
  };
  const settle = (): void => {
    const busy = stabilize(session, apply);
    if (busy !== null) lines.push(...busy);
  };
  switch (verb) {
    case "cluster": {
      session.spec = parseCluster(args);
      session.groups = null;
      apply(initialMetadataWorld(session.spec), true);
      return lines;
    }
    case "elect": {
      // A controller's election (or, as a follower, fetch) timer runs out; the election and the
      // first writes play out.
      const index = nodeIndex(session, args[0]);
      const timers = session.world.raft.nodes[index]?.state?.timers ?? [];
      const timer = timers.includes("election") ? "election" : timers.includes("fetch") ? "fetch" : null;
      if (timer === null) return [`!! node ${args[0]} has no election or fetch timer armed`];
      apply(fireRaftTimer(session.world, session.spec, index, timer));
      settle();
      propagate(session, apply);
      return lines;
    }
    case "stabilize":
      settle();
      return lines;
    case "sync":
      // Parked fetches are answered and observers retry until every running node has the HW.
      settle();
      propagate(session, apply);
      return lines;
    case "heartbeat": {
      const ids =
        args.length > 0
          ? args.map((a) => nodeIndex(session, a))
          : session.world.apps.map((_, i) => i).filter((i) => session.world.apps[i]!.broker !== null);
      for (const index of ids) {
        if (session.world.apps[index]!.broker === null) {
          lines.push(`!! node ${index + 1} runs no broker`);
          continue;
        }
        apply(fireHeartbeat(session.world, session.spec, index));
      }
      settle();
      propagate(session, apply);
      return lines;
    }
    case "timeout": {
      const index = nodeIndex(session, args[0]);
      const timer = args[1] as TimerKind;
      if (session.world.raft.nodes[index]?.state?.timers.includes(timer) !== true)
        return [`!! raft timer ${args[1]} is not armed on node ${args[0]}`];
      apply(fireRaftTimer(session.world, session.spec, index, timer));
      return lines;
    }
    case "expire": {
      // `expire C B`: controller C's session for broker B runs out (R118).
      const index = nodeIndex(session, args[0]);
      const brokerId = Number(args[1]);
      if (!session.world.apps[index]!.sessionTimers.includes(brokerId))
        return [`!! controller ${args[0]} has no session timer for broker ${args[1]}`];
      apply(expireSession(session.world, session.spec, index, brokerId));
      return lines;
    }
    case "idle": {
      const index = nodeIndex(session, args[0]);
      if (!session.world.apps[index]!.idleTimer) return [`!! controller ${args[0]} has no idle timer armed`];
      apply(fireIdleTimer(session.world, session.spec, index));
      return lines;
    }
    case "admin": {
      const request = adminOp(args);
      apply(adminRequest(session.world, targetController(session, options(args)), request));
      return lines;
    }
    case "inject": {
      // `inject C FROM#CORRELATION JSON`: a raw request reaches controller C.
      const index = nodeIndex(session, args[0]);
      const link = /^(\d+)#(\d+)$/.exec(args[1] ?? "");
      if (link === null) throw new Error(`inject C FROM#CORRELATION JSON, got "${args[1]}"`);
      // "topic:NAME" in a string stands for that topic's id, as the active controller knows it.
      const text = args
        .slice(2)
        .join(" ")
        .replace(/"topic:([A-Za-z0-9._-]+)"/g, (_, name: string) => {
          const image = session.world.apps.find((a) => a.controller?.active === true)?.controller?.committed;
          const topic = image === undefined ? undefined : findTopic(image, name);
          if (topic === undefined) throw new Error(`inject: no topic ${name} on an active controller`);
          return JSON.stringify(topic.topicId);
        });
      const request = decodeRequest(JSON.parse(text));
      const from = Number(link[1]);
      const correlationId = Number(link[2]);
      const w = session.world;
      session.world = {
        ...w,
        network: [
          {
            from,
            to: index + 1,
            correlationId,
            toStart: w.apps[index]!.starts,
            fromStart: w.apps[from - 1]?.starts ?? 0,
            body: { kind: "request", request },
          },
          ...w.network,
        ],
      };
      apply(deliverMetaMessage(session.world, session.spec, 0));
      return lines;
    }
    case "isr": {
      // `isr LEADER TOPIC:PARTITION join|leave FOLLOWER [epoch=E]`: what replication tells the leader.
      const index = nodeIndex(session, args[0]);
      const broker = session.world.apps[index]!.broker;
      if (broker === null) return [`!! node ${args[0]} runs no broker`];
      const [topicName, partition] = (args[1] ?? "").split(":");
      const topic = findTopic(broker.image, topicName ?? "");
      if (topic === undefined) return [`!! broker ${args[0]} does not know topic ${topicName}`];
      const follower = Number(args[3]);
      const followerEpoch = options(args).has("epoch")
        ? Number(options(args).get("epoch"))
        : (session.world.apps[follower - 1]?.broker?.brokerEpoch ?? -1);
      apply(
        brokerInput(session.world, session.spec, index, {
          _tag: "IsrChange",
          topicId: topic.topicId,
          partitionId: Number(partition ?? 0),
          follower,
          followerEpoch,
          join: args[2] === "join",
        }),
      );
      return lines;
    }
    case "shutdown-broker": {
      const index = nodeIndex(session, args[0]);
      if (session.world.apps[index]!.broker === null) return [`!! node ${args[0]} runs no broker`];
      apply(brokerInput(session.world, session.spec, index, { _tag: "BeginControlledShutdown" }));
      return lines;
    }
    case "crash": {
      const index = nodeIndex(session, args[0]);
      if (session.world.raft.nodes[index]!.state === null) return [`!! node ${args[0]} is already down`];
      apply(crashNode(session.world, session.spec, index));
      return lines;
    }
    case "restart": {
      const index = nodeIndex(session, args[0]);
      if (session.world.raft.nodes[index]!.state !== null) return [`!! node ${args[0]} is running`];
      apply(startNode(session.world, session.spec, index));
      return lines;
    }
    case "snapshot":
    case "trim": {
      const index = nodeIndex(session, args[0]);
      if (session.world.raft.nodes[index]!.state === null) return [`!! node ${args[0]} is down`];
      // `snapshot N [at=OFFSET]`: at the node's image (its listener's offset) unless told otherwise.
      const at = options(args.slice(1)).get("at");
      const outcome =
        verb === "snapshot"
          ? takeSnapshot(session.world, session.spec, index, at === undefined ? undefined : Number(at))
          : trimLog(session.world, session.spec, index);
      apply(outcome);
      // A node refuses before its Raft layer sees the request when its image is elsewhere (R131).
      if (!outcome.steps.some((s) => s.layer === "raft"))
        for (const step of outcome.nodeSteps ?? [])
          for (const e of step.effects)
            if (e._tag === "SnapshotRefused")
              lines.push(`n${step.node} refuses to snapshot at ${e.endOffset}: ${e.reason}`);
      return lines;
    }
    case "partition":
      session.groups = args
        .join(" ")
        .split("|")
        .map((g) => g.trim().split(/\s+/).filter(Boolean).map(Number));
      return [];
    case "heal":
      session.groups = null;
      return [];
    case "deliver-meta":
    case "drop-meta": {
      // The first controller-channel message on a link, e.g. `deliver-meta 0->1`.
      const position = session.world.network.findIndex((e) => `${e.from}->${e.to}` === args[0]);
      if (position < 0) return [`!! no metadata message ${args[0]} in flight`];
      const step = verb === "deliver-meta" ? deliverMetaMessage : dropMetaMessage;
      apply(step(session.world, session.spec, position));
      return lines;
    }
    case "network":
      return [
        ...session.world.raft.network.map((e) => `raft ${e.from}->${e.to} ${e.message._tag}`),
        ...session.world.network.map(
          (e) => `meta ${e.from}->${e.to}#${e.correlationId} ${describeBody(e.body)}`,
        ),
      ];
    case "image": {
      const index = nodeIndex(session, args[0]);
      const app = session.world.apps[index]!;
      const image = app.controller?.committed ?? app.broker?.image;
      if (image === undefined) return [`!! node ${args[0]} is down`];
      return formatImage(image);
    }
    case "status":
      return session.world.apps.map((app, i) => {
        const id = i + 1;
        if (app.controller !== null) return `n${id} controller ${formatController(app.controller)}`;
        if (app.broker !== null) return `n${id} broker ${formatBroker(app.broker)}`;
        return `n${id} ${isControllerIndex(session.spec, i) ? "controller" : "broker"} down`;
      });
    case "log":
      return committedRecords(session.world).map((r) => `${r.offset} e${r.epoch} ${formatRecord(r.record)}`);
    case "check":
      return [metadataViolation(session.world) ?? "ok"];
    default:
      throw new Error(`unknown command "${verb}"`);
  }
};

/** Run every block; the output of each, plus a line for any property newly broken after it. */
export const runMetadataTranscript = (transcript: Transcript, observe?: MetaStepObserver): string[][] => {
  const initial = initialMetadataWorld(DEFAULT_METADATA_CLUSTER);
  // The default cluster is seen only if the transcript keeps it (a first `cluster` replaces it).
  if (!transcript.blocks[0]?.command.startsWith("cluster"))
    observe?.(initial.steps, DEFAULT_METADATA_CLUSTER, null, initial.nodeSteps ?? []);
  const session: Session = {
    spec: DEFAULT_METADATA_CLUSTER,
    world: initial.world,
    lastViolation: null,
    groups: null,
    observe,
  };
  return transcript.blocks.map((block: Block) => {
    const lines = runCommand(session, block.command);
    const violation = metadataViolation(session.world);
    if (violation !== null && violation !== session.lastViolation && block.command !== "check")
      lines.push(`!! ${violation}`);
    session.lastViolation = violation;
    return lines;
  });
};

export type { ControllerResponse };
