// The conventions the runner relies on, as code: what every projection field means (typed, so a new
// field cannot go undocumented), and what the spec does where an implementer would otherwise guess —
// the fields of an error answer, which voter an observer asks first, what a failed request triggers,
// how request ids are numbered — shown by running the spec itself. `npm run conformance:vectors`
// renders them, with a complete worked example taken from a committed vector, into
// conformance/README.md; a test fails when the README is not what this renders.

import type { RaftEffect } from "../spec/raft/io.ts";
import type { RaftMessage } from "../spec/raft/messages.ts";
import { METADATA_PARTITION, METADATA_TOPIC_ID, METADATA_TOPIC_NAME } from "../spec/raft/primitives.ts";
import { initialize } from "../spec/raft/startup.ts";
import { EMPTY_LOG, makeConfig, type NodeState, type RaftConfig } from "../spec/raft/state.ts";
import { step } from "../spec/raft/step.ts";
import type {
  BrokerProjection,
  ControllerProjection,
  NodeProjection,
  Projection,
  Vector,
} from "./protocol.ts";
import { decodeVector } from "./runner.ts";

/** Every field of the Raft projection and what it means. */
export const RAFT_PROJECTION: Readonly<Record<keyof Projection, string>> = {
  role: "Unattached, Prospective (pre-voting), Candidate, Leader, Follower or Resigned (a leader that stepped down in its epoch)",
  epoch:
    "the current epoch (quorum-state's, or a newer one the node moved to in memory: Prospective keeps the old one)",
  leaderId:
    "the leader the node knows for its epoch: itself when Leader or Resigned, -1 when none (always -1 as Candidate)",
  votedId:
    "the id the node's vote in this epoch went to: itself as Candidate, null as Leader or Resigned or when it has not voted",
  log: "endOffset (every record appended, flushed or not), flushedOffset (what the shell reported flushed with LogFlushed) and the epoch runs (each epoch with the offset its first record has)",
  highWatermark: "the highest offset the node knows committed, plus one (Kafka's convention); 0 at start",
  recovering:
    "R146: the node cut records at startup that it may have acknowledged and has not yet caught up past them",
};

export const CONTROLLER_PROJECTION: Readonly<Record<keyof ControllerProjection, string>> = {
  active: "whether this controller is the active one (its Raft layer leads and told it so)",
  epoch: "the epoch of the last leader change it heard of",
  nextOffset: "the offset its next proposed record will have",
  committed: "the metadata image of the committed records",
  image:
    "the image with its own proposed, not yet committed records on top (equal to committed when standby)",
};

export const BROKER_PROJECTION: Readonly<Record<keyof BrokerProjection, string>> = {
  lifecycle:
    "STARTING, RECOVERY, RUNNING, PENDING_CONTROLLED_SHUTDOWN or SHUTTING_DOWN (Kafka's BrokerLifecycleManager)",
  brokerEpoch: "the epoch the controller gave this incarnation, -1 before registration",
  controllerId: "the active controller as Raft reported it, -1 if none",
  controllerEpoch: "the epoch of that report",
  image: "the image it published: committed records only",
};

export const NODE_PROJECTION: Readonly<Record<keyof NodeProjection, string>> = {
  raft: "the Raft projection above",
  controller:
    "null when the node has no controller; else `active`, `epoch`, `nextOffset` as above and `committedOffset`, the offset of the last record its committed image holds (-1 before any)",
  broker:
    "null when the node has no broker; else `lifecycle`, `brokerEpoch`, `controllerId`, `controllerEpoch` as above and `imageOffset`, the offset of the last record its published image holds (-1 before any)",
  forwarding:
    "how many client requests the node passed on to the active controller still await an answer (R148)",
};

const config: RaftConfig = makeConfig({
  nodeId: 1,
  clusterId: "openkraft-sim",
  voters: [{ id: 1 }, { id: 2 }, { id: 3 }],
});

/** Node 1 of three voters, following leader 2 in epoch 2. */
const follower = (): NodeState => {
  let s = initialize(undefined, EMPTY_LOG, config).state;
  s = step(
    s,
    {
      _tag: "Received",
      from: 2,
      correlationId: 1,
      message: {
        _tag: "BeginQuorumEpochRequest",
        clusterId: config.clusterId,
        voterId: 1,
        topicName: METADATA_TOPIC_NAME,
        partitionIndex: METADATA_PARTITION,
        leaderId: 2,
        leaderEpoch: 2,
      },
    },
    config,
  ).state;
  return s;
};

const stale: Record<string, RaftMessage> = {
  VoteRequest: {
    _tag: "VoteRequest",
    clusterId: config.clusterId,
    voterId: 1,
    topicName: METADATA_TOPIC_NAME,
    partitionIndex: METADATA_PARTITION,
    replicaEpoch: 1,
    replicaId: 3,
    lastOffsetEpoch: 0,
    lastOffset: 0,
    preVote: false,
  },
  FetchRequest: {
    _tag: "FetchRequest",
    clusterId: config.clusterId,
    replicaId: 3,
    maxWaitMs: 500,
    topicId: METADATA_TOPIC_ID,
    partition: METADATA_PARTITION,
    currentLeaderEpoch: 2,
    fetchOffset: 0,
    lastFetchedEpoch: 0,
  },
  EndQuorumEpochRequest: {
    _tag: "EndQuorumEpochRequest",
    clusterId: config.clusterId,
    topicName: METADATA_TOPIC_NAME,
    partitionIndex: METADATA_PARTITION,
    leaderId: 3,
    leaderEpoch: 1,
    preferredCandidates: [],
  },
  DescribeQuorumRequest: {
    _tag: "DescribeQuorumRequest",
    topicName: METADATA_TOPIC_NAME,
    partitionIndex: METADATA_PARTITION,
  },
};

const answerOf = (s: NodeState, message: RaftMessage): unknown =>
  step(s, { _tag: "Received", from: 3, correlationId: 9, message }, config).effects.find(
    (e) => e._tag === "Send",
  )?.message ?? null;

/** The first message a step sends. */
const sendOf = (effects: readonly RaftEffect[]): Extract<RaftEffect, { _tag: "Send" }> | undefined =>
  effects.find((e): e is Extract<RaftEffect, { _tag: "Send" }> => e._tag === "Send");

/** A step's effects in a few words. */
const describeEffects = (effects: readonly RaftEffect[]): string =>
  effects.length === 0
    ? "nothing (it waits)"
    : effects
        .map((e) =>
          e._tag === "Send"
            ? `sends ${e.message._tag} to ${e.to} again, with a new id`
            : e._tag === "SetTimer"
              ? `arms ${e.timer} (${e.delayMs} ms)`
              : e._tag,
        )
        .join(", ");

const json = (value: unknown): string => `\`${JSON.stringify(value)}\``;

/** The conventions section of conformance/README.md. */
export const renderConventions = (vectors: readonly Vector[]): string => {
  const lines: string[] = [];
  const table = (title: string, fields: Readonly<Record<string, string>>) => {
    lines.push(`**${title}**`, "", "| field | meaning |", "|---|---|");
    for (const [field, meaning] of Object.entries(fields)) lines.push(`| \`${field}\` | ${meaning} |`);
    lines.push("");
  };
  table("The Raft projection", RAFT_PROJECTION);
  table("The controller projection", CONTROLLER_PROJECTION);
  table("The broker projection", BROKER_PROJECTION);
  table("The whole node's projection", NODE_PROJECTION);

  const s = follower();
  lines.push(
    "**Error answers.** An answer that refuses carries what the node knows now (its leader and epoch) and every other field at its empty value. Node 1, following leader 2 in epoch 2, answers requests that name an older epoch (or, for Fetch, a node that does not lead) with:",
    "",
  );
  for (const message of Object.values(stale)) lines.push(`- ${message._tag}: ${json(answerOf(s, message))}`);
  lines.push("");

  const observerConfig = makeConfig({ nodeId: 5, clusterId: "openkraft-sim", voters: config.voters });
  const observer = initialize(undefined, EMPTY_LOG, observerConfig);
  const firstFetch = sendOf(observer.effects);
  const afterFailure = step(
    observer.state,
    {
      _tag: "RequestFailed",
      destination: firstFetch?.to ?? -1,
      api: "Fetch",
      correlationId: firstFetch?.correlationId ?? -1,
    },
    observerConfig,
  );
  const secondFetch = sendOf(afterFailure.effects);
  const refused = step(
    afterFailure.state,
    {
      _tag: "Received",
      from: secondFetch?.to ?? -1,
      ...(secondFetch?.correlationId === undefined ? {} : { correlationId: secondFetch.correlationId }),
      message: {
        _tag: "FetchResponse",
        errorCode: "NOT_LEADER_OR_FOLLOWER",
        highWatermark: -1,
        logStartOffset: 0,
        leaderId: -1,
        leaderEpoch: 0,
        records: [],
      },
    },
    observerConfig,
  );
  const afterBackoff = step(refused.state, { _tag: "TimerExpired", timer: "retryBackoff" }, observerConfig);
  lines.push(
    `**Observer rotation (R74, R75).** An observer that knows no leader asks the voters in the order of the voter list, starting at its id modulo the number of voters: observer 5 of voters 1, 2, 3 fetches from ${firstFetch?.to} first. When that request fails (RequestFailed) it asks ${secondFetch?.to} at once; when ${secondFetch?.to} answers NOT_LEADER_OR_FOLLOWER without naming a leader, it arms ${json(refused.effects.find((e) => e._tag === "SetTimer"))} and, when that fires, asks ${sendOf(afterBackoff.effects)?.to}. An answer naming a leader makes it follow that leader. Which voter it asks is a free choice (Kafka picks one at random): the runner accepts a fetch for the leader to any voter but the node itself, and where yours differs from the reference's a vector stops there without failing (its later inputs answer the reference's request), while \`kraft conformance explore\` follows your choice (a transcript line \`redirect N TO\`).`,
    "",
  );

  // A candidate in epoch 1 (no pre-vote), then the leader it becomes, then that leader resigned.
  const standard = makeConfig({ ...config, preVote: false });
  const candidate = step(
    initialize(undefined, EMPTY_LOG, standard).state,
    { _tag: "TimerExpired", timer: "election" },
    standard,
  );
  const votes = candidate.effects.filter((e) => e._tag === "Send");
  const voteTo2 = votes.find((e) => e._tag === "Send" && e.to === 2);
  const leader = step(
    candidate.state,
    {
      _tag: "Received",
      from: 3,
      correlationId: votes.find((e) => e._tag === "Send" && e.to === 3)?.correlationId ?? -1,
      message: { _tag: "VoteResponse", errorCode: "NONE", leaderId: -1, leaderEpoch: 1, voteGranted: true },
    },
    standard,
  );
  const beginTo2 = leader.effects.find(
    (e) => e._tag === "Send" && e.to === 2 && e.message._tag === "BeginQuorumEpochRequest",
  );
  const resigned = step(leader.state, { _tag: "Resign", epoch: 1 }, standard);
  const endTo2 = resigned.effects.find(
    (e) => e._tag === "Send" && e.to === 2 && e.message._tag === "EndQuorumEpochRequest",
  );
  const failed = (
    state: NodeState,
    api: "Vote" | "BeginQuorumEpoch" | "EndQuorumEpoch" | "Fetch",
    sent: RaftEffect | undefined,
  ) =>
    describeEffects(
      step(
        state,
        {
          _tag: "RequestFailed",
          destination: 2,
          api,
          correlationId: sent?._tag === "Send" ? (sent.correlationId ?? -1) : -1,
        },
        standard,
      ).effects,
    );
  const followerState = follower();
  lines.push(
    `**Request ids (R40).** A process numbers the requests it sends from \`firstCorrelationId\` of its init (default 1), one more per request, wrapping from 2147483647 to 1; answers carry the id of the request they answer, and an answer whose id matches no request in flight is ignored. The first election of a fresh node 1 sends its vote requests with ids ${votes.map((e) => (e._tag === "Send" ? e.correlationId : -1)).join(" and ")}. The runner maps these ids to yours as your requests appear and rewrites later answers to use yours.`,
    "",
    "**Failed requests.** What node 1 does when the transport gives up on a request to voter 2 (RequestFailed); a failure of a request no longer in flight is ignored:",
    "",
    `- its vote request as a candidate (R45): ${failed(candidate.state, "Vote", voteTo2)}`,
    `- its BeginQuorumEpoch as a new leader (R56): ${failed(leader.state, "BeginQuorumEpoch", beginTo2)}`,
    `- its EndQuorumEpoch as a resigned leader (R72): ${failed(resigned.state, "EndQuorumEpoch", endTo2)} (in general: to every voter that has not acknowledged and has none in flight)`,
    `- its fetch as a follower of 2 (R75): ${describeEffects(step(followerState, { _tag: "RequestFailed", destination: 2, api: "Fetch", correlationId: followerState.inflight.find((r) => r.api === "Fetch")?.correlationId ?? -1 }, config).effects)}`,
    "",
    "**Timers.** `SetTimer` asks the shell to fire `TimerExpired` after `delayMs` plus a uniform draw from `[0, jitterMs)`; arming a running timer restarts it; an expiry of a timer that was cancelled or re-armed since is stale and ignored (R31). The durations an implementation may choose are in spec/README.md.",
    "",
  );

  // As the vector file holds it, whether `vectors` were just generated or read back.
  const found = vectors.find((v) => v.name === "02-first-election-single-voter/n1#0");
  const example = found === undefined ? undefined : decodeVector(JSON.parse(JSON.stringify(found)));
  if (example !== undefined && example.layer === "raft") {
    lines.push(
      `**A complete vector**, \`${example.name}\` (conformance/vectors/${example.source}.ndjson): the runner sends the lines marked →, the reference adapter answers the lines marked ←.`,
      "",
      "```",
      `→ ${JSON.stringify(example.init)}`,
      `← ${JSON.stringify({ _tag: "ok", ...example.start })}`,
    );
    for (const s of example.steps) {
      lines.push(`→ ${JSON.stringify({ _tag: "input", input: s.input })}`);
      lines.push(`← ${JSON.stringify({ _tag: "ok", effects: s.effects, state: s.state })}`);
    }
    lines.push("```", "", `Its coverage marks: ${(example.marks ?? []).join(", ")}.`);
  }
  return lines.join("\n");
};

export const CONVENTIONS_BEGIN =
  "<!-- conventions:begin (generated by npm run conformance:vectors; do not edit) -->";
export const CONVENTIONS_END = "<!-- conventions:end -->";

/** The README with its conventions block rendered afresh. */
export const withConventions = (readme: string, vectors: readonly Vector[]): string => {
  const start = readme.indexOf(CONVENTIONS_BEGIN);
  const end = readme.indexOf(CONVENTIONS_END);
  if (start < 0 || end < 0)
    throw new Error(`conformance/README.md needs the markers ${CONVENTIONS_BEGIN} and ${CONVENTIONS_END}`);
  return `${readme.slice(0, start)}${CONVENTIONS_BEGIN}\n\n${renderConventions(vectors)}\n\n${readme.slice(end)}`;
};
