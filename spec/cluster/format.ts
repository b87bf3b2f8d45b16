// One-line renderings of messages, effects, inputs and node states, used by scenario transcripts
// and counterexamples. Every field is shown except those that always hold their one legal value
// (the metadata topic and partition, and the cluster id of the simulated cluster).
import type { RaftEffect, RaftInput } from "../raft/io.ts";
import type { RaftMessage } from "../raft/messages.ts";
import {
  METADATA_PARTITION,
  METADATA_TOPIC_ID,
  METADATA_TOPIC_NAME,
  NO_ID,
  type ReplicaKey,
  type Voter,
} from "../raft/primitives.ts";
import type { LogState, NodeState, ReplicaProgress } from "../raft/state.ts";
import type { StartInput } from "./world.ts";

const DEFAULTS: Record<string, unknown> = {
  topicName: METADATA_TOPIC_NAME,
  partitionIndex: METADATA_PARTITION,
  topicId: METADATA_TOPIC_ID,
  partition: METADATA_PARTITION,
};

export interface FormatOptions {
  /** Field values not worth printing because every message of the run has them. */
  readonly clusterId: string;
}

const key = (k: ReplicaKey): string => (k.directoryId === undefined ? `${k.id}` : `${k.id}/${k.directoryId}`);

const VOTER_FIELDS = new Set(["id", "directoryId", "listeners", "supportedKraftVersions"]);

/**
 * A replica key, or a voter-set entry (R90) as `key@NAME://host:port,…(vMIN..MAX)`: its listeners and
 * the kraft.version range it supports, each when it names them.
 */
const voter = (v: Voter): string => {
  const listeners =
    v.listeners === undefined
      ? ""
      : `@${v.listeners.map((l) => `${l.name}://${l.host}:${l.port}`).join(",")}`;
  const range = v.supportedKraftVersions;
  return `${key(v)}${listeners}${range === undefined ? "" : `(v${range.minSupportedVersion}..${range.maxSupportedVersion})`}`;
};

export const formatValue = (value: unknown, options: FormatOptions): string => {
  if (value === null) return "null";
  if (Array.isArray(value)) return `[${value.map((v) => formatValue(v, options)).join(" ")}]`;
  if (typeof value === "object") {
    const record = value as Record<string, unknown>;
    if (typeof record["id"] === "number" && Object.keys(record).every((k) => VOTER_FIELDS.has(k))) {
      return voter(record as unknown as Voter);
    }
    const tag = typeof record["_tag"] === "string" ? (record["_tag"] as string) : "";
    const fields = Object.entries(record)
      .filter(
        ([k, v]) => k !== "_tag" && DEFAULTS[k] !== v && !(k === "clusterId" && v === options.clusterId),
      )
      .map(([k, v]) => `${k}=${formatValue(v, options)}`);
    return `${tag}{${fields.join(" ")}}`;
  }
  return String(value);
};

export const formatMessage = (message: RaftMessage, options: FormatOptions): string =>
  formatValue(message, options);

export const formatEffect = (effect: RaftEffect, options: FormatOptions, from: number): string => {
  switch (effect._tag) {
    case "Send":
      return `Send ${from}->${effect.to}${effect.correlationId === undefined ? "" : `#${effect.correlationId}`} ${formatMessage(effect.message, options)}`;
    case "SetTimer":
      return `SetTimer ${effect.timer} ${effect.delayMs}${effect.jitterMs > 0 ? `+${effect.jitterMs}` : ""}ms`;
    case "CancelTimer":
      return `CancelTimer ${effect.timer}`;
    default:
      return formatValue(effect, options).replace(/^(\w+)\{/, "$1 {");
  }
};

export const formatInput = (input: RaftInput | StartInput, options: FormatOptions): string => {
  switch (input._tag) {
    case "Received":
      return `Received from ${input.from}${input.correlationId === undefined ? "" : `#${input.correlationId}`}${input.nowMs === undefined ? "" : ` at ${input.nowMs}ms`} ${formatMessage(input.message, options)}`;
    case "TimerExpired":
      return `TimerExpired ${input.timer}`;
    case "Start":
      return "Start";
    default:
      return formatValue(input, options)
        .replace(/^(\w+)\{/, "$1 {")
        .replace(/ \{\}$/, "");
  }
};

export const formatLog = (log: LogState): string => {
  const epochs = log.epochs.map((e) => `e${e.epoch}@${e.startOffset}`).join(",");
  const start = log.startOffset === 0 ? "" : `start=${log.startOffset} `;
  const snapshots =
    log.snapshots === undefined || log.snapshots.length === 0
      ? ""
      : ` snapshots=[${log.snapshots.map((x) => `${x.endOffset}-${x.epoch}`).join(" ")}]`;
  // R91: the VotersRecords in the log, by offset (absent in a static quorum's log).
  const voterSets =
    log.voterSets === undefined || log.voterSets.length === 0
      ? ""
      : ` voter-sets=[${log.voterSets.map((v) => `${v.offset}:${v.voters.map((x) => x.id).join(",")}`).join(" ")}]`;
  return `log=${start}[${epochs}] end=${log.endOffset} flushed=${log.flushedOffset}${snapshots}${voterSets}`;
};

const progress = (p: ReplicaProgress): string => `${p.id}:${p.endOffset}${p.acknowledged ? "" : "?"}`;

/** The role with its fields, e.g. `Leader e2 start=3 hw=4 voters=[1:4 2:4 3:-1?]`. */
export const formatRole = (s: NodeState): string => {
  const role = s.role;
  const head = `${role._tag} e${s.epoch}`;
  switch (role._tag) {
    case "Unattached":
      return `${head} leader=${role.leaderId}${role.votedKey === undefined ? "" : ` voted=${key(role.votedKey)}`}`;
    case "Prospective":
      return `${head} leader=${role.leaderId}${role.votedKey === undefined ? "" : ` voted=${key(role.votedKey)}`} granted=[${role.granted.join(" ")}] rejected=[${role.rejected.join(" ")}]`;
    case "Candidate":
      return `${head} granted=[${role.granted.join(" ")}] rejected=[${role.rejected.join(" ")}]`;
    case "Follower":
      return `${head} leader=${role.leaderId}${role.votedKey === undefined ? "" : ` voted=${key(role.votedKey)}`}${role.hasFetchedFromLeader ? " fetched" : ""}${role.fetchingSnapshot === undefined ? "" : ` downloading=${role.fetchingSnapshot.endOffset}-${role.fetchingSnapshot.epoch}@${role.fetchingSnapshot.position}`}`;
    case "Resigned":
      return `${head} unacked=[${role.unackedVoters.join(" ")}] successors=[${role.preferredSuccessors.map(key).join(" ")}]`;
    case "Leader": {
      const observers =
        role.observerStates.length === 0 ? "" : ` observers=[${role.observerStates.map(progress).join(" ")}]`;
      const parked =
        role.parkedFetches.length === 0
          ? ""
          : ` parked=[${role.parkedFetches.map((p) => `${p.replicaId}@${p.fetchOffset}`).join(" ")}]`;
      const fetched = role.fetchedVoters.length === 0 ? "" : ` fetched=[${role.fetchedVoters.join(" ")}]`;
      const pending =
        role.pendingVoterChange === undefined
          ? ""
          : ` pending=${role.pendingVoterChange.api}@${role.pendingVoterChange.offset}`;
      return `${head} start=${role.epochStartOffset} hw=${role.highWatermark} voters=[${role.voterStates.map(progress).join(" ")}]${observers}${fetched}${parked}${pending}`;
    }
  }
};

/** Everything about a node that can change, on one line. */
export const formatState = (s: NodeState): string => {
  const inflight =
    s.inflight.length === 0
      ? ""
      : ` inflight=[${s.inflight.map((r) => `${r.api}->${r.destination}`).join(" ")}]`;
  const timers = s.timers.length === 0 ? "" : ` timers=[${s.timers.join(" ")}]`;
  const shutdown = s.shuttingDown ? " shutting-down" : "";
  const recovering = s.recovering ? " recovering" : "";
  const quiet = s.quietLeaderId === NO_ID ? "" : ` quiet-leader=${s.quietLeaderId}`;
  return `${formatRole(s)} | ${formatLog(s.log)} hw=${s.highWatermark}${inflight}${timers}${quiet}${shutdown}${recovering}`;
};
