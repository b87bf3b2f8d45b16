// The adapter protocol: how the conformance runner drives an implementation under test. The runner
// writes one JSON object per line on the adapter's stdin and reads one reply per line from its
// stdout. `init` starts a node process from the storage it names (a fresh start or a restart);
// `input` hands it one input. Each reply lists the effects the input produced, in order, and a
// projection of the node's state that any implementation can compute. These schemas are the single
// source: conformance/schemas/*.json are generated from them (npm run conformance:schemas).
import * as Schema from "effect/Schema";
import { RaftEffect, RaftInput } from "../spec/raft/io.ts";
import { Int32, Int64 } from "../spec/raft/primitives.ts";
import { ElectionState, EpochStart, LogState, type NodeState, RaftConfig } from "../spec/raft/state.ts";

/** Start a node process: its configuration and what its storage holds (R18–R22). */
export const Init = Schema.TaggedStruct("init", {
  config: RaftConfig,
  /** quorum-state as on disk, or null for a freshly formatted node. */
  quorumState: Schema.NullOr(ElectionState),
  /** The durable log's shape: every record below endOffset, with the epoch runs. */
  log: LogState,
});
export type Init = typeof Init.Type;

/** One input to the running node: a message, a timer, a client append, a flush report, … */
export const Input = Schema.TaggedStruct("input", { input: RaftInput });
export type Input = typeof Input.Type;

export const AdapterRequest = Schema.Union([Init, Input]);
export type AdapterRequest = typeof AdapterRequest.Type;

/**
 * What the runner compares after every step, besides the effects. `leaderId` is the leader this node
 * knows (itself when it leads or resigned), -1 if none; `votedId` the vote it holds in this epoch
 * (a candidate's is itself), null if none; `log` counts every record appended, flushed or not.
 */
export const Projection = Schema.Struct({
  role: Schema.Literals(["Unattached", "Prospective", "Candidate", "Leader", "Follower", "Resigned"]),
  epoch: Int32,
  leaderId: Int32,
  votedId: Schema.NullOr(Int32),
  log: Schema.Struct({ endOffset: Int64, flushedOffset: Int64, epochs: Schema.Array(EpochStart) }),
  highWatermark: Int64,
});
export type Projection = typeof Projection.Type;

export const Reply = Schema.Union([
  Schema.TaggedStruct("ok", { effects: Schema.Array(RaftEffect), state: Projection }),
  /** The adapter could not process the request (its message is shown to the user). */
  Schema.TaggedStruct("error", { message: Schema.String }),
]);
export type Reply = typeof Reply.Type;

/** The projection of a spec node state. */
export const project = (s: NodeState): Projection => {
  const role = s.role;
  const leaderId =
    role._tag === "Leader" || role._tag === "Resigned"
      ? s.nodeId
      : role._tag === "Candidate"
        ? -1
        : role.leaderId;
  const votedId =
    role._tag === "Candidate"
      ? s.nodeId
      : role._tag === "Unattached" || role._tag === "Prospective" || role._tag === "Follower"
        ? (role.votedKey?.id ?? null)
        : null;
  return {
    role: role._tag,
    epoch: s.epoch,
    leaderId,
    votedId,
    log: { endOffset: s.log.endOffset, flushedOffset: s.log.flushedOffset, epochs: s.log.epochs },
    highWatermark: s.highWatermark,
  };
};

/** One process lifetime of one node in a scenario, with what the spec does at every step. */
export const Vector = Schema.Struct({
  /** `<source>/n<node>#<start>`: the scenario, the node, which start of it (0 = first). */
  name: Schema.String,
  source: Schema.String,
  /** The rules the source scenario exercises (its `# Rules:` line). */
  rules: Schema.Array(Schema.String),
  init: Init,
  start: Schema.Struct({ effects: Schema.Array(RaftEffect), state: Projection }),
  steps: Schema.Array(
    Schema.Struct({ input: RaftInput, effects: Schema.Array(RaftEffect), state: Projection }),
  ),
});
export type Vector = typeof Vector.Type;
