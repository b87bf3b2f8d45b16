// Snapshots (KIP-630, R77–R84): creating one at or below the high watermark, moving the log start to
// one, a leader serving FetchSnapshot, and a follower downloading one and truncating its log to it.
import { type Mark, mark, markOutcome } from "../marks.ts";
import { validateClusterId } from "./common.ts";
import { recordVoterFetch } from "./leader.ts";
import {
  currentVoters,
  deleteLogBefore,
  epochBefore,
  latestSnapshot,
  logOfSnapshot,
  snapshotsOf,
  voterSetBefore,
} from "./log.ts";
import type { FetchSnapshotRequest, FetchSnapshotResponse, SnapshotId } from "./messages.ts";
import { armTimer, findVoter, illegalState, knownLeader, type Out, respond, sendRequest } from "./node.ts";
import { type ErrorCode, METADATA_PARTITION, METADATA_TOPIC_NAME } from "./primitives.ts";
import type { Follower, NodeState, RaftConfig, SnapshotInfo } from "./state.ts";

/** R82: Kafka's cap on one FetchSnapshot answer (KafkaRaftClient.MAX_FETCH_SIZE_BYTES, 8 MiB). */
export const DEFAULT_FETCH_SNAPSHOT_MAX_BYTES = 8 * 1024 * 1024;

const refuse = (out: Out, operation: "create" | "deleteBefore", endOffset: number, reason: string): void => {
  out.effects.push({ _tag: "SnapshotRefused", operation, endOffset, reason });
};

/**
 * R77: a snapshot may end at or below the high watermark and at or above the log start, only where
 * this log can name the epoch of its last record, and only beyond the newest snapshot (an equal one
 * exists already). The snapshot is written before anything else happens (WriteSnapshot).
 */
export const handleCreateSnapshot = (s: NodeState, out: Out, endOffset: number, size: number): NodeState => {
  const newest = latestSnapshot(s.log);
  let reason: string | undefined;
  if (endOffset > s.highWatermark) {
    mark(out, "R77:snapshot-above-high-watermark-refused");
    reason = `end offset ${endOffset} is above the high watermark ${s.highWatermark}`;
  } else if (endOffset < s.log.startOffset || endOffset <= 0) {
    mark(out, "R77:snapshot-below-log-start-refused");
    reason = `end offset ${endOffset} is below the log start ${s.log.startOffset} or not above 0`;
  } else if (newest !== undefined && endOffset <= newest.endOffset) {
    mark(out, "R77:snapshot-not-newer-refused");
    reason = `a snapshot ending at ${newest.endOffset} exists already`;
  }
  // Between the log start (where a snapshot ends) and the log end, the log names every epoch.
  const epoch = reason === undefined ? epochBefore(s.log, endOffset) : undefined;
  if (reason !== undefined || epoch === undefined) {
    refuse(out, "create", endOffset, reason ?? "");
    return s;
  }
  mark(out, "R77:snapshot-created");
  out.effects.push({ _tag: "WriteSnapshot", endOffset, epoch });
  const snapshots: readonly SnapshotInfo[] = [...snapshotsOf(s.log), { endOffset, epoch, size }];
  return { ...s, log: { ...s.log, snapshots } };
};

/**
 * R79, R80: the log start moves only to the end of an existing snapshot above it and at or below the
 * high watermark; the records below it and the older snapshots go. The newest snapshot always stays.
 */
export const handleDeleteBeforeSnapshot = (s: NodeState, out: Out, endOffset: number): NodeState => {
  const exists = snapshotsOf(s.log).some((snapshot) => snapshot.endOffset === endOffset);
  let reason: string | undefined;
  if (!exists) {
    mark(out, "R79:log-start-to-unknown-snapshot-refused");
    reason = `no snapshot ends at ${endOffset}`;
  } else if (endOffset <= s.log.startOffset) {
    mark(out, "R79:log-start-not-forward-refused");
    reason = `the log starts at ${s.log.startOffset} already`;
  } else if (endOffset > s.highWatermark) {
    mark(out, "R79:log-start-above-high-watermark-refused");
    reason = `snapshot ${endOffset} is above the high watermark ${s.highWatermark}`;
  }
  if (reason !== undefined) {
    refuse(out, "deleteBefore", endOffset, reason);
    return s;
  }
  mark(out, "R79:log-start-advanced");
  out.effects.push({ _tag: "DeleteLogBefore", offset: endOffset });
  return { ...s, log: deleteLogBefore(s.log, endOffset) };
};

// ---- the leader's side (R83) ---------------------------------------------------------------------

const snapshotError = (s: NodeState, errorCode: ErrorCode): FetchSnapshotResponse => ({
  _tag: "FetchSnapshotResponse",
  errorCode,
  leaderId: knownLeader(s),
  leaderEpoch: s.epoch,
  snapshotId: { endOffset: -1, epoch: -1 },
  size: -1,
  position: -1,
  bytes: 0,
});

/** R36, R1, R38: every reason a FetchSnapshot is refused before the leader looks at the snapshot. */
const fetchSnapshotRequestError = (
  s: NodeState,
  config: RaftConfig,
  request: FetchSnapshotRequest,
): ErrorCode | undefined => {
  const clusterError = validateClusterId(config, request.clusterId);
  if (clusterError !== undefined) return clusterError;
  if (request.topicName !== METADATA_TOPIC_NAME || request.partitionIndex !== METADATA_PARTITION)
    return "UNKNOWN_TOPIC_OR_PARTITION";
  if (request.currentLeaderEpoch < s.epoch) return "FENCED_LEADER_EPOCH";
  if (request.currentLeaderEpoch > s.epoch) return "UNKNOWN_LEADER_EPOCH";
  if (s.role._tag !== "Leader") return "NOT_LEADER_OR_FOLLOWER";
  if (s.shuttingDown) return "BROKER_NOT_AVAILABLE";
  return undefined;
};

/**
 * The branch of each reason a FetchSnapshot is refused (R36, R1, R38). A leader that is shutting
 * down has already resigned (R35), so BROKER_NOT_AVAILABLE is a defensive answer without a mark.
 */
const REFUSAL_MARK: Partial<Record<ErrorCode, Mark>> = {
  INCONSISTENT_CLUSTER_ID: "R36:fetch-snapshot-foreign-cluster",
  UNKNOWN_TOPIC_OR_PARTITION: "R83:fetch-snapshot-unknown-partition",
  FENCED_LEADER_EPOCH: "R83:fetch-snapshot-fenced-epoch",
  UNKNOWN_LEADER_EPOCH: "R83:fetch-snapshot-unknown-epoch",
  NOT_LEADER_OR_FOLLOWER: "R83:fetch-snapshot-to-non-leader",
};

/**
 * R83: the leader answers with the bytes [position, position + min(maxBytes, size - position)) of a
 * snapshot it has; an unknown id is SNAPSHOT_NOT_FOUND, a position outside it POSITION_OUT_OF_RANGE.
 * A valid request from a voter counts for check quorum (R57), never for the high watermark.
 */
export const handleFetchSnapshotRequest = (
  s: NodeState,
  config: RaftConfig,
  out: Out,
  from: number,
  request: FetchSnapshotRequest,
  correlationId: number | undefined,
): NodeState => {
  const error = fetchSnapshotRequestError(s, config, request);
  if (error !== undefined) {
    markOutcome(out, REFUSAL_MARK, error);
    respond(out, from, snapshotError(s, error), correlationId);
    return s;
  }
  const snapshot = snapshotsOf(s.log).find(
    (x) => x.endOffset === request.snapshotId.endOffset && x.epoch === request.snapshotId.epoch,
  );
  if (snapshot === undefined) {
    mark(out, "R83:snapshot-not-found");
    respond(out, from, snapshotError(s, "SNAPSHOT_NOT_FOUND"), correlationId);
    return s;
  }
  if (request.position < 0 || request.position >= snapshot.size) {
    mark(out, "R83:position-out-of-range");
    respond(out, from, snapshotError(s, "POSITION_OUT_OF_RANGE"), correlationId);
    return s;
  }
  mark(out, "R83:snapshot-chunk-sent");
  // R91: the snapshot holds the voter set in force at its end.
  const voterSet = voterSetBefore(s.log, snapshot.endOffset);
  respond(
    out,
    from,
    {
      _tag: "FetchSnapshotResponse",
      errorCode: "NONE",
      leaderId: s.nodeId,
      leaderEpoch: s.epoch,
      snapshotId: { endOffset: snapshot.endOffset, epoch: snapshot.epoch },
      size: snapshot.size,
      position: request.position,
      bytes: Math.max(0, Math.min(request.maxBytes, snapshot.size - request.position)),
      ...(voterSet === undefined ? {} : { voterSet }),
    },
    correlationId,
  );
  const key =
    request.replicaDirectoryId === undefined
      ? { id: request.replicaId }
      : { id: request.replicaId, directoryId: request.replicaDirectoryId };
  return findVoter(s.voters, key) === undefined ? s : recordVoterFetch(s, config, out, request.replicaId);
};

// ---- the follower's side (R66(ii), R83) ------------------------------------------------------------

/** R82: ask the leader for the next part of the snapshot being downloaded. */
export const sendFetchSnapshot = (s: NodeState, config: RaftConfig, out: Out, role: Follower): NodeState => {
  const download = role.fetchingSnapshot;
  if (download === undefined) return s;
  const request: FetchSnapshotRequest = {
    _tag: "FetchSnapshotRequest",
    clusterId: config.clusterId,
    replicaId: s.nodeId,
    ...(s.directoryId === undefined ? {} : { replicaDirectoryId: s.directoryId }),
    maxBytes: config.fetchSnapshotMaxBytes ?? DEFAULT_FETCH_SNAPSHOT_MAX_BYTES,
    topicName: METADATA_TOPIC_NAME,
    partitionIndex: METADATA_PARTITION,
    currentLeaderEpoch: s.epoch,
    snapshotId: { endOffset: download.endOffset, epoch: download.epoch },
    position: download.position,
  };
  return sendRequest(s, out, role.leaderId, "FetchSnapshot", request);
};

/**
 * R66(ii): the leader says this replica must first download snapshot `id`: the download starts
 * from byte 0 (any partial one is dropped), and Fetch waits until it is done.
 */
export const startSnapshotDownload = (s: NodeState, out: Out, role: Follower, id: SnapshotId): NodeState => {
  if (id.endOffset < 0 || id.epoch < 0) {
    mark(out, "R66:invalid-snapshot-id-ignored");
    return s;
  }
  mark(out, "R66:snapshot-download-started");
  return {
    ...s,
    role: { ...role, fetchingSnapshot: { endOffset: id.endOffset, epoch: id.epoch, position: 0 } },
  };
};

/**
 * R83: a NONE answer must continue the download exactly where it stands (else the two sides
 * disagree: fatal); its bytes are written, and when the snapshot is whole it is frozen, the log is
 * truncated fully to it, the high watermark moves to its end and the listener loads it (R84). An
 * error answer drops the download and goes back to Fetch.
 */
export const handleFetchSnapshotResponse = (
  s: NodeState,
  config: RaftConfig,
  out: Out,
  from: number,
  response: FetchSnapshotResponse,
): NodeState => {
  const role = s.role;
  if (role._tag !== "Follower" || role.leaderId !== from) return s;
  const download = role.fetchingSnapshot;
  if (response.errorCode !== "NONE" || download === undefined) {
    mark(
      out,
      response.errorCode === "POSITION_OUT_OF_RANGE"
        ? "R83:position-out-of-range-restarts-fetch"
        : "R83:snapshot-gone-restarts-fetch",
    );
    const { fetchingSnapshot: _dropped, ...rest } = role;
    return armTimer({ ...s, role: rest }, out, "fetch", config.fetchTimeoutMs);
  }
  if (
    response.snapshotId.endOffset !== download.endOffset ||
    response.snapshotId.epoch !== download.epoch ||
    response.position !== download.position
  ) {
    mark(out, "R83:chunk-does-not-continue-download");
    illegalState(
      out,
      "R83",
      `leader ${from} sent snapshot ${response.snapshotId.endOffset}-${response.snapshotId.epoch} from byte ${response.position}, but this node is downloading ${download.endOffset}-${download.epoch} at byte ${download.position}`,
    );
    return s;
  }
  out.effects.push({
    _tag: "WriteSnapshotChunk",
    endOffset: download.endOffset,
    epoch: download.epoch,
    position: download.position,
  });
  const position = download.position + response.bytes;
  if (position < response.size) {
    mark(out, "R83:snapshot-chunk-written");
    const next: NodeState = { ...s, role: { ...role, fetchingSnapshot: { ...download, position } } };
    return armTimer(next, out, "fetch", config.fetchTimeoutMs);
  }
  // R83: never go back below what this node knows is committed.
  if (download.endOffset < s.highWatermark) {
    mark(out, "R83:snapshot-below-high-watermark");
    illegalState(
      out,
      "R83",
      `snapshot ${download.endOffset}-${download.epoch} ends below the high watermark ${s.highWatermark}`,
    );
    return s;
  }
  mark(out, "R83:snapshot-installed");
  const snapshot: SnapshotInfo = {
    endOffset: download.endOffset,
    epoch: download.epoch,
    size: response.size,
  };
  out.effects.push({ _tag: "InstallSnapshot", endOffset: snapshot.endOffset, epoch: snapshot.epoch });
  // R84: the listener's next offset is now below the log start: it loads the snapshot before it
  // hears of commits above it.
  out.effects.push({ _tag: "LoadSnapshot", endOffset: snapshot.endOffset, epoch: snapshot.epoch });
  if (snapshot.endOffset > s.highWatermark)
    out.effects.push({ _tag: "HighWatermarkUpdated", offset: snapshot.endOffset });
  const { fetchingSnapshot: _done, ...rest } = role;
  // R91: the voter set is the one the snapshot holds, or the bootstrap set.
  const log = logOfSnapshot(snapshot, response.voterSet);
  if (response.voterSet !== undefined) mark(out, "R91:installed-snapshot-voter-set");
  const next: NodeState = {
    ...s,
    role: rest,
    log,
    voters: currentVoters(log, config.voters),
    highWatermark: Math.max(s.highWatermark, snapshot.endOffset),
  };
  return armTimer(next, out, "fetch", config.fetchTimeoutMs);
};
