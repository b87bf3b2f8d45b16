// Scenario transcripts: a script of commands against a simulated cluster and the full trace it
// produces (every input, every effect, the state after each step), in the spirit of etcd raft's
// datadriven tests. A transcript file interleaves commands (`> ...`) with their expected output;
// running it yields the actual output, and a rewrite regenerates the file from that.
import * as Schema from "effect/Schema";
import { firstViolation } from "../invariants/cluster.ts";
import type { RaftInput } from "../raft/io.ts";
import { RaftMessage, RequestApi } from "../raft/messages.ts";
import { ElectionState, type TimerKind, TimerKind as TimerKindSchema } from "../raft/state.ts";
import { VOTER_CHANGE_API } from "./actions.ts";
import { type FormatOptions, formatEffect, formatInput, formatState } from "./format.ts";
import { matches, matchingPositions, parseFilter } from "./message-filter.ts";
import {
  applyInput,
  type ClusterSpec,
  carriesRecords,
  clientAppend,
  corrupt,
  crash,
  createSnapshot,
  DEFAULT_CLUSTER,
  deleteBeforeSnapshot,
  deliver,
  directoryIdOf,
  drop,
  duplicate,
  type Envelope,
  fireTimer,
  flush,
  forgeEpoch,
  formatEntry,
  indexOfNode,
  initialWorld,
  type Outcome,
  redirectLeaderlessFetch,
  replaceDisk,
  requestVoterChange,
  type StepTrace,
  startNode,
  startOutcome,
  type World,
} from "./world.ts";

export interface Block {
  /** Comment lines that precede the command, without their leading "#". */
  readonly comments: readonly string[];
  readonly command: string;
  readonly expected: readonly string[];
}

export interface Transcript {
  readonly blocks: readonly Block[];
  readonly trailingComments: readonly string[];
}

/** Split a transcript into command blocks. Output lines are indented or start with "n", "!!" etc. */
export const parseTranscript = (text: string): Transcript => {
  const blocks: Block[] = [];
  let comments: string[] = [];
  let current: { comments: string[]; command: string; expected: string[] } | null = null;
  for (const raw of text.split("\n")) {
    const line = raw.replace(/\s+$/, "");
    if (line.startsWith("#")) {
      if (current !== null) {
        blocks.push(current);
        current = null;
      }
      comments.push(line.slice(1).replace(/^ /, ""));
    } else if (line.startsWith("> ")) {
      if (current !== null) blocks.push(current);
      current = { comments, command: line.slice(2).trim(), expected: [] };
      comments = [];
    } else if (line.length > 0) {
      if (current === null) throw new Error(`output line before any command: "${line}"`);
      current.expected.push(line);
    }
  }
  if (current !== null) blocks.push(current);
  return { blocks, trailingComments: comments };
};

export const renderTranscript = (transcript: Transcript, outputs: readonly (readonly string[])[]): string => {
  const parts: string[] = [];
  transcript.blocks.forEach((block, i) => {
    const lines = [
      ...block.comments.map((c) => (c.length === 0 ? "#" : `# ${c}`)),
      `> ${block.command}`,
      ...(outputs[i] ?? []),
    ];
    parts.push(lines.join("\n"));
  });
  const trailing = transcript.trailingComments.map((c) => (c.length === 0 ? "#" : `# ${c}`)).join("\n");
  return `${parts.join("\n\n")}\n${trailing.length > 0 ? `\n${trailing}\n` : ""}`;
};

interface Session {
  cluster: ClusterSpec;
  world: World;
  groups: readonly (readonly number[])[] | null;
  lastViolation: string | null;
  readonly observe: StepObserver | undefined;
}

/** Sees every reducer step a transcript makes (the conformance vectors are made this way). */
export type StepObserver = (steps: readonly StepTrace[], cluster: ClusterSpec) => void;

const decodeMessage = Schema.decodeUnknownSync(RaftMessage);
const decodeElectionState = Schema.decodeUnknownSync(ElectionState);
const isTimerKind = Schema.is(TimerKindSchema);
const isRequestApi = Schema.is(RequestApi);

const renderSteps = (steps: readonly StepTrace[], options: FormatOptions): string[] => {
  const lines: string[] = [];
  for (const s of steps) {
    lines.push(`n${s.node} ${formatInput(s.input, options)}`);
    for (const effect of s.effects) lines.push(`  ${formatEffect(effect, options, s.node)}`);
    lines.push(`  = ${formatState(s.after)}`);
  }
  return lines;
};

const nodeIndex = (session: Session, correlationId: string | undefined): number => {
  const id = Number(correlationId);
  const index = indexOfNode(id);
  if (!Number.isInteger(id) || index < 0 || index >= session.world.nodes.length) {
    throw new Error(`no node "${correlationId}": nodes are 1..${session.world.nodes.length}`);
  }
  return index;
};

const crossesPartition = (session: Session, envelope: Envelope): boolean => {
  if (session.groups === null) return false;
  const groupOf = (id: number) => session.groups!.findIndex((g) => g.includes(id));
  const a = groupOf(envelope.from);
  const b = groupOf(envelope.to);
  return a < 0 || b < 0 ? envelope.from !== envelope.to : a !== b;
};

const parseCluster = (correlationIds: readonly string[]): ClusterSpec => {
  let cluster: ClusterSpec = DEFAULT_CLUSTER;
  for (const correlationId of correlationIds) {
    const [name, value] = correlationId.split("=");
    const on = value === "on";
    if (
      value !== undefined &&
      (name === "prevote" || name === "checkquorum") &&
      value !== "on" &&
      value !== "off"
    ) {
      throw new Error(`${name} must be on or off, not "${value}"`);
    }
    switch (name) {
      case "voters":
        cluster = { ...cluster, voters: Number(value) };
        break;
      case "observers":
        cluster = { ...cluster, observers: Number(value) };
        break;
      case "prevote":
        cluster = { ...cluster, preVote: on };
        break;
      case "checkquorum":
        cluster = { ...cluster, checkQuorum: on };
        break;
      case "kraft":
        if (value !== "0" && value !== "1") throw new Error(`kraft must be 0 or 1, not "${value}"`);
        cluster = value === "1" ? { ...cluster, kraftVersion: 1 } : withoutKraftVersion(cluster);
        break;
      case "chunk":
        cluster = { ...cluster, snapshotChunk: Number(value) };
        if (!Number.isInteger(cluster.snapshotChunk) || (cluster.snapshotChunk ?? 0) < 1)
          throw new Error(`chunk must be a positive integer, not "${value}"`);
        break;
      case "autojoin":
      case "kraft0only":
      case "moved": {
        const ids = (value ?? "").split(",").map(Number);
        if (ids.some((id) => !Number.isInteger(id) || id < 1))
          throw new Error(`${name} must name node ids, e.g. ${name}=4,5, not "${value}"`);
        cluster =
          name === "autojoin"
            ? { ...cluster, autoJoin: ids }
            : name === "moved"
              ? { ...cluster, movedListeners: ids }
              : { ...cluster, kraftVersion0Only: ids };
        break;
      }
      default:
        throw new Error(
          `unknown cluster option "${correlationId}" (voters=N observers=N prevote=on|off checkquorum=on|off chunk=K kraft=0|1 autojoin=ID,... kraft0only=ID,... moved=ID,...)`,
        );
    }
  }
  if (!Number.isInteger(cluster.voters) || cluster.voters < 1)
    throw new Error("voters must be a positive integer");
  return cluster;
};

const withoutKraftVersion = (cluster: ClusterSpec): ClusterSpec => {
  const { kraftVersion: _static, ...rest } = cluster;
  return rest;
};

/** Run one command; returns its output lines. */
const runCommand = (session: Session, command: string): string[] => {
  const [verb, ...args] = command.split(/\s+/);
  const options: FormatOptions = { clusterId: session.cluster.clusterId };
  const apply = (outcome: Outcome): string[] => {
    session.observe?.(outcome.steps, session.cluster);
    session.world = outcome.world;
    return renderSteps(outcome.steps, options);
  };
  switch (verb) {
    case "cluster": {
      const start = args.find((a) => a.startsWith("start="))?.slice(6) ?? "fresh";
      if (start !== "fresh" && start !== "committed" && start !== "joined")
        throw new Error(`start must be fresh, committed or joined, not "${start}"`);
      const committed = start !== "fresh";
      session.cluster = parseCluster(args.filter((a) => !a.startsWith("start=")));
      session.groups = null;
      if (committed) {
        // The starting point of kraft check --start committed|joined (spec/cluster/world.ts): its
        // steps are not shown, but observers (conformance vectors) see them all from each Start.
        const outcome = startOutcome(session.cluster, start);
        session.observe?.(outcome.steps, session.cluster);
        session.world = outcome.world;
        return [...session.world.nodes.map((slot, i) => `n${i + 1} ${formatState(slot.state!)}`)];
      }
      return apply(initialWorld(session.cluster));
    }
    case "timeout": {
      const index = nodeIndex(session, args[0]);
      const timer = args[1];
      if (!isTimerKind(timer)) throw new Error(`unknown timer "${timer}"`);
      const state = session.world.nodes[index]!.state;
      if (state === null || !state.timers.includes(timer as TimerKind)) {
        return [`!! timer ${timer} is not armed on node ${args[0]}`];
      }
      return apply(fireTimer(session.world, session.cluster, index, timer as TimerKind));
    }
    case "deliver":
    case "drop":
    case "duplicate":
    case "forge-epoch": {
      const filter = parseFilter(args);
      const position = matchingPositions(session.world.network, filter)[(filter.nth ?? 1) - 1] ?? -1;
      if (position < 0) return [`!! no message in flight matches "${args.join(" ")}"`];
      const envelope = session.world.network[position]!;
      if (verb === "deliver") return apply(deliver(session.world, session.cluster, position));
      if (verb === "duplicate") return apply(duplicate(session.world, session.cluster, position));
      if (verb === "forge-epoch") {
        if (!carriesRecords(envelope.message))
          return [`!! forge-epoch needs a FetchResponse that carries records, not ${envelope.message._tag}`];
        return apply(forgeEpoch(session.world, session.cluster, position));
      }
      const outcome = drop(session.world, session.cluster, position);
      return [`dropped ${envelope.from}->${envelope.to} ${envelope.message._tag}`, ...apply(outcome)];
    }
    case "deliver-all":
    case "drop-all": {
      const filter = parseFilter(args);
      const chosen = session.world.network.filter((e) => matches(e, filter));
      if (chosen.length === 0) return [`!! no message in flight matches "${args.join(" ")}"`];
      const lines: string[] = [];
      for (const envelope of chosen) {
        const position = session.world.network.indexOf(envelope);
        if (verb === "deliver-all") {
          lines.push(...apply(deliver(session.world, session.cluster, position)));
        } else {
          lines.push(`dropped ${envelope.from}->${envelope.to} ${envelope.message._tag}`);
          lines.push(...apply(drop(session.world, session.cluster, position)));
        }
      }
      return lines;
    }
    case "stabilize": {
      const lines: string[] = [];
      for (let i = 0; i < 5000; i++) {
        const flushing = session.world.nodes.findIndex((n) => n.state !== null && n.flushRequested);
        if (flushing >= 0) {
          lines.push(...apply(flush(session.world, session.cluster, flushing)));
          continue;
        }
        const envelope = session.world.network[0];
        if (envelope === undefined) return lines;
        const receiver = session.world.nodes[envelope.to - 1];
        if (receiver !== undefined && receiver.state === null) {
          // Nobody there: lost, its sender's transport still waiting (a request-timeout command fails it).
          lines.push(
            `lost ${envelope.from}->${envelope.to} ${envelope.message._tag} (node ${envelope.to} is down)`,
          );
          session.world = { ...session.world, network: session.world.network.slice(1) };
        } else if (crossesPartition(session, envelope)) {
          // Lost on a partitioned link without the sender noticing (its transport would only report
          // a failure after a timeout, and retrying at once would never let the run settle).
          lines.push(`lost ${envelope.from}->${envelope.to} ${envelope.message._tag} (partitioned)`);
          session.world = { ...session.world, network: session.world.network.slice(1) };
        } else {
          lines.push(...apply(deliver(session.world, session.cluster, 0)));
        }
      }
      return [...lines, "!! still busy after 5000 steps"];
    }
    case "lose": {
      // The message vanishes and nobody notices (as on a partitioned link).
      const filter = parseFilter(args);
      const all = session.world.network.filter((e) => matches(e, filter));
      const lost = filter.nth === null ? all : all.slice(filter.nth - 1, filter.nth);
      if (lost.length === 0) return [`!! no message in flight matches "${args.join(" ")}"`];
      session.world = { ...session.world, network: session.world.network.filter((e) => !lost.includes(e)) };
      return lost.map((e) => `lost ${e.from}->${e.to} ${e.message._tag}`);
    }
    case "request-timeout": {
      // The transport of node N gives up on its request to DEST: `request-timeout N DEST API`.
      const index = nodeIndex(session, args[0]);
      const api = args[2];
      if (!isRequestApi(api)) {
        throw new Error(
          `request-timeout N DEST API: API is one of ${RequestApi.literals.join(", ")}, not "${api}"`,
        );
      }
      const state = session.world.nodes[index]!.state;
      const destination = Number(args[1]);
      const inflight = state?.inflight.find((r) => r.destination === destination && r.api === api);
      if (inflight === undefined)
        return [`!! node ${args[0]} has no ${api} request in flight to ${destination}`];
      const input = {
        _tag: "RequestFailed" as const,
        destination,
        api,
        correlationId: inflight.correlationId,
      };
      return apply(applyInput(session.world, session.cluster, index, input));
    }
    case "flush":
      return apply(flush(session.world, session.cluster, nodeIndex(session, args[0])));
    case "append": {
      // `append N [K]`: K values; `append N stale`: one value for the epoch before the node's.
      const index = nodeIndex(session, args[0]);
      const stale = args[1] === "stale";
      const count = args[1] === undefined || stale ? 1 : Number(args[1]);
      const lines: string[] = [];
      for (let i = 0; i < count; i++)
        lines.push(...apply(clientAppend(session.world, session.cluster, index, stale ? 1 : 0)));
      return lines;
    }
    case "crash": {
      const index = nodeIndex(session, args[0]);
      const slot = session.world.nodes[index]!;
      if (slot.state === null) return [`!! node ${args[0]} is already down`];
      const kept = slot.durable;
      const outcome = crash(session.world, session.cluster, index);
      return [`n${args[0]} crashed: kept ${kept} of ${slot.entries.length} records`, ...apply(outcome)];
    }
    case "corrupt": {
      // A bad sector on a stopped node's disk: `corrupt N OFFSET` (found and cut at its next start).
      const index = nodeIndex(session, args[0]);
      const slot = session.world.nodes[index]!;
      const offset = Number(args[1]);
      if (slot.state !== null) return [`!! node ${args[0]} is running; crash it first`];
      if (!Number.isInteger(offset) || offset < 0 || offset >= slot.durable)
        return [
          `!! node ${args[0]} has ${slot.durable} records on disk; corrupt one of offsets 0..${slot.durable - 1}`,
        ];
      session.world = corrupt(session.world, index, offset);
      return [
        `n${args[0]} disk corrupt at offset ${offset}: ${slot.durable - offset} records will be cut at restart`,
      ];
    }
    case "replace-disk": {
      // A stopped node's disk is replaced and formatted anew: a new directory id (R100).
      const index = nodeIndex(session, args[0]);
      const slot = session.world.nodes[index]!;
      if (session.cluster.kraftVersion !== 1)
        return ["!! replace-disk needs a kraft.version 1 cluster (kraft=1 in the cluster line)"];
      if (slot.state !== null) return [`!! node ${args[0]} is running; crash it first`];
      if (slot.replaced === true) return [`!! node ${args[0]}'s disk was replaced already`];
      session.world = replaceDisk(session.world, session.cluster, index);
      return [
        `n${args[0]} disk replaced: ${slot.entries.length} records and quorum-state gone; it starts as ${args[0]}' (directory ${directoryIdOf(index + 1, true)})`,
      ];
    }
    case "snapshot": {
      // The state machine of node N asks for a snapshot at its high watermark (R77); `ahead`: at its
      // log end, as a state machine ahead of the commit would (refused).
      const index = nodeIndex(session, args[0]);
      if (session.world.nodes[index]!.state === null) return [`!! node ${args[0]} is down`];
      return apply(createSnapshot(session.world, session.cluster, index, args[1] === "ahead"));
    }
    case "trim": {
      // Retention asks node N to move its log start to its newest snapshot (R79, R80).
      const index = nodeIndex(session, args[0]);
      if (session.world.nodes[index]!.state === null) return [`!! node ${args[0]} is down`];
      if (session.world.nodes[index]!.snapshots.length === 0) return [`!! node ${args[0]} has no snapshot`];
      return apply(deleteBeforeSnapshot(session.world, session.cluster, index));
    }
    case "restart": {
      const index = nodeIndex(session, args[0]);
      if (session.world.nodes[index]!.state !== null) return [`!! node ${args[0]} is running`];
      return apply(startNode(session.world, session.cluster, index));
    }
    case "quorum-state": {
      // Replace a stopped node's quorum-state file, e.g. with an older copy: `quorum-state N JSON`.
      const index = nodeIndex(session, args[0]);
      const slot = session.world.nodes[index]!;
      if (slot.state !== null) return [`!! node ${args[0]} is running; crash it first`];
      const persisted = decodeElectionState(JSON.parse(args.slice(1).join(" ")));
      const nodes = session.world.nodes.slice();
      nodes[index] = { ...slot, persisted };
      session.world = { ...session.world, nodes };
      return [`n${args[0]} quorum-state=${JSON.stringify(persisted)}`];
    }
    case "resign":
    case "shutdown": {
      const index = nodeIndex(session, args[0]);
      const state = session.world.nodes[index]!.state;
      if (state === null) return [`!! node ${args[0]} is down`];
      const input =
        verb === "resign" ? { _tag: "Resign" as const, epoch: state.epoch } : { _tag: "Shutdown" as const };
      return apply(applyInput(session.world, session.cluster, index, input));
    }
    case "inject": {
      const link = /^(-?\d+)->(\d+)(?:#(\d+))?$/.exec(args[0] ?? "");
      if (link === null)
        throw new Error(`inject needs FROM->TO[#CORRELATION] then a JSON message, got "${args[0]}"`);
      const message = decodeMessage(JSON.parse(args.slice(1).join(" ")));
      const index = nodeIndex(session, link[2]);
      const from = Number(link[1]);
      const input: RaftInput =
        link[3] === undefined
          ? { _tag: "Received", from, message }
          : { _tag: "Received", from, message, correlationId: Number(link[3]) };
      return apply(applyInput(session.world, session.cluster, index, input));
    }
    case "redirect": {
      const index = nodeIndex(session, args[0]);
      const to = Number(args[1]);
      const world = redirectLeaderlessFetch(session.world, index, to);
      if (world === null)
        throw new Error(
          `redirect ${args[0]} ${args[1]}: node ${args[0]} has no fetch for the leader in flight (it must be without a leader), or ${args[1]} is not a voter`,
        );
      session.world = world;
      return [`n${index + 1}'s fetch for the leader goes to ${to} instead (a free choice, R74)`];
    }
    case "add-voter":
    case "remove-voter":
    case "update-voter": {
      // An operator asks node N to add or remove voter V, or to rewrite its entry: `add-voter N V`
      // (R96, R97, R99).
      const index = nodeIndex(session, args[0]);
      const voter = Number(args[1]);
      if (!Number.isInteger(voter) || voter < 1)
        throw new Error(`${verb} N V: V is a node id, not "${args[1]}"`);
      if (session.world.nodes[index]!.state === null) return [`!! node ${args[0]} is down`];
      return apply(requestVoterChange(session.world, session.cluster, index, VOTER_CHANGE_API[verb], voter));
    }
    case "describe": {
      // `describe N [now=MS]`: with `now`, the request arrives when the node's clock reads MS, the
      // time the leader reports for its own fetch and catch-up (R88); without, no clock is given.
      const index = nodeIndex(session, args[0]);
      const now = /^now=(\d+)$/.exec(args[1] ?? "");
      if (args[1] !== undefined && now === null) throw new Error(`describe N [now=MS], got "${args[1]}"`);
      const message = {
        _tag: "DescribeQuorumRequest" as const,
        topicName: "__cluster_metadata",
        partitionIndex: 0,
      };
      const input: RaftInput =
        now === null
          ? { _tag: "Received", from: -1, message }
          : { _tag: "Received", from: -1, message, nowMs: Number(now[1]) };
      return apply(applyInput(session.world, session.cluster, index, input));
    }
    case "partition": {
      const groups = args
        .join(" ")
        .split("|")
        .map((g) => g.trim().split(/\s+/).filter(Boolean).map(Number));
      session.groups = groups;
      return [];
    }
    case "heal":
      session.groups = null;
      return [];
    case "state": {
      const indexes =
        args.length === 0 ? session.world.nodes.map((_, i) => i) : args.map((a) => nodeIndex(session, a));
      return indexes.map((i) => {
        const slot = session.world.nodes[i]!;
        const id = i + 1;
        if (slot.state === null) return `n${id} down, quorum-state=${JSON.stringify(slot.persisted)}`;
        return `n${id} ${formatState(slot.state)}`;
      });
    }
    case "log": {
      const indexes =
        args.length === 0 ? session.world.nodes.map((_, i) => i) : args.map((a) => nodeIndex(session, a));
      return indexes.map((i) => {
        const entries = session.world.nodes[i]!.entries.map(formatEntry);
        return `n${i + 1} [${entries.join(" ")}]`;
      });
    }
    case "network":
      return session.world.network.map((e) => `${e.from}->${e.to} ${e.message._tag}`);
    case "disk": {
      // What each node's disk holds: quorum-state, the flushed records, what is written but unflushed.
      const indexes =
        args.length === 0 ? session.world.nodes.map((_, i) => i) : args.map((a) => nodeIndex(session, a));
      const entry = formatEntry;
      return indexes.map((i) => {
        const slot = session.world.nodes[i]!;
        const q = slot.persisted;
        const quorum =
          q === null
            ? "none"
            : `epoch=${q.epoch} leader=${q.leaderId}${q.votedKey === undefined ? "" : ` voted=${q.votedKey.id}`}`;
        const unflushed = slot.entries.slice(slot.durable).map(entry);
        const snapshots =
          slot.snapshots.length === 0
            ? ""
            : ` snapshots=${slot.snapshots.map((x) => `${x.endOffset}-${x.epoch}`).join(",")} start=${slot.startOffset}`;
        const partial =
          slot.partial === null
            ? ""
            : ` downloading=${slot.partial.endOffset}-${slot.partial.epoch}[${slot.partial.entries.map(entry).join(" ")}]`;
        return `n${i + 1} quorum-state{${quorum}} disk=[${slot.entries.slice(0, slot.durable).map(entry).join(" ")}]${unflushed.length === 0 ? "" : ` unflushed=[${unflushed.join(" ")}]`}${snapshots}${partial}${slot.recovering ? " recovering" : ""}${slot.state === null ? " (down)" : ""}`;
      });
    }
    case "check":
      return [firstViolation(session.world, session.cluster.voters) ?? "ok"];
    default:
      throw new Error(`unknown command "${verb}"`);
  }
};

/** Run every block; the output of each, plus a line for any property newly broken after it. */
export const runTranscript = (transcript: Transcript, observe?: StepObserver): string[][] => {
  const initial = initialWorld(DEFAULT_CLUSTER);
  // The default cluster is seen only if the transcript keeps it (a first `cluster` replaces it).
  if (!transcript.blocks[0]?.command.startsWith("cluster")) observe?.(initial.steps, DEFAULT_CLUSTER);
  const session: Session = {
    cluster: DEFAULT_CLUSTER,
    world: initial.world,
    groups: null,
    lastViolation: null,
    observe,
  };
  return transcript.blocks.map((block) => {
    const lines = runCommand(session, block.command);
    const violation = firstViolation(session.world, session.cluster.voters);
    if (violation !== null && violation !== session.lastViolation && block.command !== "check")
      lines.push(`!! ${violation}`);
    session.lastViolation = violation;
    return lines;
  });
};
