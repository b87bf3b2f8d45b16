// Everything that reaches a node from outside (inputs) and everything it asks the shell to do
// (effects). The shell — runtime or checker — decides when inputs happen and carries out the
// effects strictly in order (R14: a send never overtakes an earlier persist).
import * as Schema from "effect/Schema";
import type { Mark } from "../marks.ts";
import { ControlRecord, RaftMessage, RequestApi } from "./messages.ts";
import { ErrorCode, Int32, Int64, ReplicaKey } from "./primitives.ts";
import { TimerKind } from "./state.ts";

// ---- inputs ------------------------------------------------------------------------------------

/**
 * A message arrived from replica `from` (-1 for a client such as an admin tool). `correlationId` is
 * Kafka's request-header correlation id: on a request it is the id to answer with (the reducer copies
 * it into the response); on a response it names the request this node sent that it answers (R40(0)).
 * `nowMs` is only used for the timestamps DescribeQuorum reports.
 */
export const Received = Schema.TaggedStruct("Received", {
  from: Int32,
  message: RaftMessage,
  correlationId: Schema.optionalKey(Schema.Int),
  nowMs: Schema.optionalKey(Int64),
});
export type Received = typeof Received.Type;

/** A timer armed by SetTimer ran out. */
export const TimerExpired = Schema.TaggedStruct("TimerExpired", { timer: TimerKind });
export type TimerExpired = typeof TimerExpired.Type;

/** R87: prepareAppend(epoch, records) — `count` records whose payload the shell holds. */
export const ClientAppend = Schema.TaggedStruct("ClientAppend", {
  epoch: Int32,
  count: Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)),
  correlationId: Schema.optionalKey(Schema.Int),
});
export type ClientAppend = typeof ClientAppend.Type;

/** The shell finished a FlushLog: everything below `offset` is durable (R16). */
export const LogFlushed = Schema.TaggedStruct("LogFlushed", { offset: Int64 });
export type LogFlushed = typeof LogFlushed.Type;

/** The transport gave up on a request (timeout or disconnect) after its retry backoff. */
export const RequestFailed = Schema.TaggedStruct("RequestFailed", {
  destination: Int32,
  api: RequestApi,
  correlationId: Int32,
});
export type RequestFailed = typeof RequestFailed.Type;

/** R87: resign(epoch), asked by the state machine. */
export const Resign = Schema.TaggedStruct("Resign", { epoch: Int32 });
export type Resign = typeof Resign.Type;

/** R35: begin a graceful shutdown. */
export const Shutdown = Schema.TaggedStruct("Shutdown", {});
export type Shutdown = typeof Shutdown.Type;

/**
 * R77: the state machine has its state as of `endOffset` (exclusive) serialized in `size` bytes and
 * asks for it to become a snapshot. The Raft layer names the epoch and says whether it may.
 */
export const CreateSnapshot = Schema.TaggedStruct("CreateSnapshot", {
  endOffset: Int64,
  size: Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)),
});
export type CreateSnapshot = typeof CreateSnapshot.Type;

/**
 * R79, R80: the shell's retention limits (bytes or age) are exceeded by the log below snapshot
 * `endOffset`; the Raft layer decides whether the log start may move there.
 */
export const DeleteBeforeSnapshot = Schema.TaggedStruct("DeleteBeforeSnapshot", { endOffset: Int64 });
export type DeleteBeforeSnapshot = typeof DeleteBeforeSnapshot.Type;

export const RaftInput = Schema.Union([
  Received,
  TimerExpired,
  ClientAppend,
  LogFlushed,
  RequestFailed,
  Resign,
  Shutdown,
  CreateSnapshot,
  DeleteBeforeSnapshot,
]);
export type RaftInput = typeof RaftInput.Type;

// ---- effects -----------------------------------------------------------------------------------

/**
 * Send a message to replica `to`. A request carries the correlation id this node chose for it; a
 * response carries the correlation id of the request it answers.
 */
export const Send = Schema.TaggedStruct("Send", {
  to: Int32,
  message: RaftMessage,
  correlationId: Schema.optionalKey(Schema.Int),
});
export type Send = typeof Send.Type;

/** R14: write quorum-state durably before carrying out any later effect. */
export const PersistElectionState = Schema.TaggedStruct("PersistElectionState", {
  epoch: Int32,
  leaderId: Int32,
  votedKey: Schema.optionalKey(ReplicaKey),
});
export type PersistElectionState = typeof PersistElectionState.Type;

/**
 * Append `count` records at `baseOffset` stamped with `epoch`. A control record is spelled out;
 * data records are the payload the shell holds for the input being handled (the client's records,
 * or the records of the Fetch response just received).
 */
export const AppendRecords = Schema.TaggedStruct("AppendRecords", {
  baseOffset: Int64,
  epoch: Int32,
  count: Schema.Int,
  control: Schema.optionalKey(ControlRecord),
});
export type AppendRecords = typeof AppendRecords.Type;

/** Remove every record at or above `offset` (R67). */
export const TruncateLog = Schema.TaggedStruct("TruncateLog", { offset: Int64 });
export type TruncateLog = typeof TruncateLog.Type;

/** Make the log durable up to `offset`; the shell answers with LogFlushed (R16). */
export const FlushLog = Schema.TaggedStruct("FlushLog", { offset: Int64 });
export type FlushLog = typeof FlushLog.Type;

/** Arm (or re-arm) a timer for delayMs plus a uniform draw from [0, jitterMs) (R31). */
export const SetTimer = Schema.TaggedStruct("SetTimer", {
  timer: TimerKind,
  delayMs: Schema.Int,
  jitterMs: Schema.Int,
});
export type SetTimer = typeof SetTimer.Type;

export const CancelTimer = Schema.TaggedStruct("CancelTimer", { timer: TimerKind });
export type CancelTimer = typeof CancelTimer.Type;

/** R85: records below `offset` are committed and may be handed to the listener. */
export const HighWatermarkUpdated = Schema.TaggedStruct("HighWatermarkUpdated", { offset: Int64 });
export type HighWatermarkUpdated = typeof HighWatermarkUpdated.Type;

/**
 * R77: write the state machine's state prepared for CreateSnapshot as snapshot
 * `<endOffset>-<epoch>.checkpoint` (fsync and atomic rename) before any later effect.
 */
export const WriteSnapshot = Schema.TaggedStruct("WriteSnapshot", { endOffset: Int64, epoch: Int32 });
export type WriteSnapshot = typeof WriteSnapshot.Type;

/**
 * R79: the log start moves to `offset` (the end of a snapshot): delete the records below it and
 * every snapshot older than the one ending there.
 */
export const DeleteLogBefore = Schema.TaggedStruct("DeleteLogBefore", { offset: Int64 });
export type DeleteLogBefore = typeof DeleteLogBefore.Type;

/**
 * R83: write the bytes of the FetchSnapshot answer being handled at `position` of the partial
 * snapshot `endOffset`-`epoch` (position 0 starts it afresh).
 */
export const WriteSnapshotChunk = Schema.TaggedStruct("WriteSnapshotChunk", {
  endOffset: Int64,
  epoch: Int32,
  position: Int64,
});
export type WriteSnapshotChunk = typeof WriteSnapshotChunk.Type;

/**
 * R83: the download is complete: freeze the snapshot (fsync, rename) and truncate the log fully to
 * it: the log start and end become its end offset, and older snapshots are forgotten.
 */
export const InstallSnapshot = Schema.TaggedStruct("InstallSnapshot", { endOffset: Int64, epoch: Int32 });
export type InstallSnapshot = typeof InstallSnapshot.Type;

/**
 * R84: the listener must rebuild its state from this snapshot before it is handed the records from
 * its end offset on (never on a node that is leader, LeaderNeverLoadSnapshot).
 */
export const LoadSnapshot = Schema.TaggedStruct("LoadSnapshot", { endOffset: Int64, epoch: Int32 });
export type LoadSnapshot = typeof LoadSnapshot.Type;

/** R77, R79: a snapshot request the Raft layer refused, and why (the state machine may try later). */
export const SnapshotRefused = Schema.TaggedStruct("SnapshotRefused", {
  operation: Schema.Literals(["create", "deleteBefore"]),
  endOffset: Int64,
  reason: Schema.String,
});
export type SnapshotRefused = typeof SnapshotRefused.Type;

/** R86: the listener learns of a new epoch or leader (self only after R58). */
export const LeaderChanged = Schema.TaggedStruct("LeaderChanged", { leaderId: Int32, epoch: Int32 });
export type LeaderChanged = typeof LeaderChanged.Type;

/** R87: the client's records were placed at [baseOffset, lastOffset]. */
export const AppendAccepted = Schema.TaggedStruct("AppendAccepted", {
  correlationId: Schema.optionalKey(Schema.Int),
  epoch: Int32,
  baseOffset: Int64,
  lastOffset: Int64,
});
export type AppendAccepted = typeof AppendAccepted.Type;

/** R87, R35: a client operation refused, with the reason. */
export const ClientRejected = Schema.TaggedStruct("ClientRejected", {
  operation: Schema.Literals(["append", "resign"]),
  correlationId: Schema.optionalKey(Schema.Int),
  errorCode: ErrorCode,
});
export type ClientRejected = typeof ClientRejected.Type;

/**
 * R146: the voter has caught up past the records it lost; the shell may forget that it lost them
 * (the durable mark it kept since startup).
 */
export const RecoveryComplete = Schema.TaggedStruct("RecoveryComplete", {});
export type RecoveryComplete = typeof RecoveryComplete.Type;

/** R35: graceful shutdown may now complete. */
export const ShutdownComplete = Schema.TaggedStruct("ShutdownComplete", {});
export type ShutdownComplete = typeof ShutdownComplete.Type;

/**
 * A message that could only be explained by a second leader in one epoch, or by committed data
 * about to be lost (R42, R66). The state is left unchanged; the runtime treats it as fatal and the
 * checker as a property violation.
 */
export const IllegalState = Schema.TaggedStruct("IllegalState", {
  rule: Schema.String,
  detail: Schema.String,
});
export type IllegalState = typeof IllegalState.Type;

export const RaftEffect = Schema.Union([
  Send,
  PersistElectionState,
  AppendRecords,
  TruncateLog,
  FlushLog,
  SetTimer,
  CancelTimer,
  HighWatermarkUpdated,
  LeaderChanged,
  AppendAccepted,
  ClientRejected,
  RecoveryComplete,
  ShutdownComplete,
  IllegalState,
  WriteSnapshot,
  DeleteLogBefore,
  WriteSnapshotChunk,
  InstallSnapshot,
  LoadSnapshot,
  SnapshotRefused,
]);
export type RaftEffect = typeof RaftEffect.Type;

export interface StepResult<S> {
  readonly state: S;
  readonly effects: readonly RaftEffect[];
  /** The rule branches this step took (spec/marks.ts). */
  readonly marks: readonly Mark[];
}
