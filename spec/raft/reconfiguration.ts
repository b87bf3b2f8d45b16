// Dynamic voter sets (KIP-853): the leader's side of AddRaftVoter, RemoveRaftVoter and UpdateRaftVoter
// (R93–R99), and the leader's bookkeeping when the voter set in its log changes (R94). The follower's
// side (a VotersRecord is in force as soon as it is in the log, and reverts on truncation, R91) is in
// log.ts and fetch-follower.ts.
import { type Mark, mark } from "../marks.ts";
import {
  beginQuorumEpochResendMs,
  checkQuorumTimeoutMs,
  completeParkedFetches,
  newProgress,
  usesCheckQuorum,
  writeVotersRecord,
} from "./leader.ts";
import { currentVoters, latestVoterSetOffset } from "./log.ts";
import type {
  AddRaftVoterRequest,
  AddRaftVoterResponse,
  ApiVersionsResponse,
  RemoveRaftVoterRequest,
  RemoveRaftVoterResponse,
  UpdateRaftVoterRequest,
  UpdateRaftVoterResponse,
} from "./messages.ts";
import {
  armTimer,
  cancelTimer,
  hasTimer,
  knownLeader,
  type Out,
  otherVoters,
  respond,
  sendRequest,
} from "./node.ts";
import {
  type ErrorCode,
  type KRaftVersionRange,
  SUPPORTED_KRAFT_VERSIONS,
  type Voter,
} from "./primitives.ts";
import type { Leader, NodeState, PendingVoterChange, RaftConfig } from "./state.ts";

/** Kafka's zero Uuid: "no directory id", which a voter of a dynamic quorum must not have (R96). */
export const ZERO_UUID = "AAAAAAAAAAAAAAAAAAAAAA";

type VoterChangeApi = PendingVoterChange["api"];

/** Who asked for a voter change, kept by the leader to answer it later (R93, R96, R97). */
interface VoterChangeAsker {
  readonly requesterId: number;
  readonly correlationId?: number;
}

const askedBy = (requesterId: number, correlationId: number | undefined): VoterChangeAsker => ({
  requesterId,
  ...(correlationId === undefined ? {} : { correlationId }),
});

const answer = (api: VoterChangeApi, errorCode: ErrorCode, errorMessage: string | null) =>
  api === "AddRaftVoter"
    ? ({ _tag: "AddRaftVoterResponse", errorCode, errorMessage } satisfies AddRaftVoterResponse)
    : ({ _tag: "RemoveRaftVoterResponse", errorCode, errorMessage } satisfies RemoveRaftVoterResponse);

interface Refusal {
  readonly errorCode: ErrorCode;
  readonly message: string;
  /** Absent for a defensive branch no input reaches (it says why). */
  readonly mark?: Mark;
}

const refuse = (
  out: Out,
  api: VoterChangeApi,
  to: number,
  correlationId: number | undefined,
  refusal: Refusal,
): void => {
  if (refusal.mark !== undefined) mark(out, refusal.mark);
  respond(out, to, answer(api, refusal.errorCode, refusal.message), correlationId);
};

/**
 * R93: what every voter change must pass before its own checks: the right cluster, this node
 * leads, kraft.version 1, and the one-change-at-a-time rule: no change pending, a high watermark
 * (its LeaderChange committed, so earlier leaders are fenced), and the newest voter set committed.
 */
const commonRefusal = (s: NodeState, config: RaftConfig, clusterId: string | null): Refusal | undefined => {
  if (clusterId !== null && clusterId !== config.clusterId)
    return {
      errorCode: "INCONSISTENT_CLUSTER_ID",
      message: `this quorum's cluster id is ${config.clusterId}`,
      mark: "R93:voter-change-foreign-cluster",
    };
  const role = s.role;
  if (role._tag !== "Leader" || s.shuttingDown)
    return {
      errorCode: "NOT_LEADER_OR_FOLLOWER",
      message: "this node does not lead the quorum",
      mark: "R93:voter-change-to-non-leader",
    };
  if (role.addingVoter !== undefined)
    return {
      errorCode: "REQUEST_TIMED_OUT",
      message: `the leader is still asking replica ${role.addingVoter.voter.id} for its kraft.version range (an earlier AddRaftVoter)`,
      mark: "R93:voter-change-while-pending",
    };
  if (role.pendingVoterChange !== undefined)
    return {
      errorCode: "REQUEST_TIMED_OUT",
      message: "the leader is still committing an earlier voter change",
      mark: "R93:voter-change-while-pending",
    };
  if (role.highWatermark < 0)
    return {
      errorCode: "REQUEST_TIMED_OUT",
      message: "the leader has not yet committed a record of its epoch",
      mark: "R93:voter-change-before-first-commit",
    };
  if ((config.kraftVersion ?? 0) < 1)
    return {
      errorCode: "UNSUPPORTED_VERSION",
      message: "kraft.version is 0: the voter set is static (controller.quorum.voters)",
      mark: "R93:voter-change-static-quorum",
    };
  // An UpdateRaftVoter is answered before its record commits (R99), so its VotersRecord can be the
  // uncommitted one (an earlier leader's is committed once this leader has a high watermark).
  if (latestVoterSetOffset(s.log) >= role.highWatermark)
    return {
      errorCode: "REQUEST_TIMED_OUT",
      message: "the newest voter set is not committed yet",
      mark: "R93:voter-change-before-set-committed",
    };
  return undefined;
};

/**
 * R101 as the model has it: a replica is caught up when the leader saw it fetch from at least its
 * high watermark, so it holds every committed record (Kafka also asks that this was within the
 * last hour; the model has no clock).
 */
const caughtUp = (role: Leader, key: Voter): boolean =>
  role.observerStates.some(
    (o) =>
      o.id === key.id &&
      o.directoryId === key.directoryId &&
      role.highWatermark >= 0 &&
      o.endOffset >= role.highWatermark,
  );

/**
 * R96: add a voter: refused unless R93 holds and the new voter has a directory id, a listener and an
 * id not in the set; then the leader asks it for its kraft.version range (ApiVersions) and goes on
 * when it answers (handleApiVersionsResponse).
 */
export const handleAddRaftVoterRequest = (
  s: NodeState,
  config: RaftConfig,
  out: Out,
  from: number,
  request: AddRaftVoterRequest,
  correlationId: number | undefined,
): NodeState => {
  const api = "AddRaftVoter";
  const role = s.role;
  // R90: the new entry names the listeners asked for; its kraft.version range comes with ApiVersions.
  const voter: Voter = {
    id: request.voterId,
    directoryId: request.voterDirectoryId,
    listeners: request.listeners,
  };
  const refusal: Refusal | undefined =
    commonRefusal(s, config, request.clusterId) ??
    (request.voterDirectoryId === ZERO_UUID
      ? {
          errorCode: "INVALID_REQUEST",
          message: "the new voter must have a directory id",
          mark: "R96:add-voter-without-directory-id",
        }
      : s.voters.some((v) => v.id === request.voterId)
        ? {
            errorCode: "DUPLICATE_VOTER",
            message: `voter ${request.voterId} is already in the voter set`,
            mark: "R96:add-voter-duplicate",
          }
        : request.listeners.length === 0
          ? {
              errorCode: "INVALID_REQUEST",
              message: "the new voter has no listener for the leader to name",
              mark: "R96:add-voter-without-listener",
            }
          : undefined);
  if (refusal !== undefined || role._tag !== "Leader") {
    if (refusal !== undefined) refuse(out, api, from, correlationId, refusal);
    return s;
  }
  mark(out, "R96:add-voter-asks-versions");
  const asked = sendRequest(s, out, voter.id, "ApiVersions", { _tag: "ApiVersionsRequest" });
  const leader = asked.role as Leader;
  return {
    ...asked,
    role: {
      ...leader,
      addingVoter: { voter, ...askedBy(from, correlationId) },
    },
  };
};

/** The kraft.version a dynamic quorum's leader has finalized (R89); a voter must support it (R96, R99). */
const FINALIZED_KRAFT_VERSION = 1;

const coversFinalized = (range: KRaftVersionRange): boolean =>
  range.minSupportedVersion <= FINALIZED_KRAFT_VERSION &&
  FINALIZED_KRAFT_VERSION <= range.maxSupportedVersion;

export const handleApiVersionsRequest = (
  s: NodeState,
  config: RaftConfig,
  out: Out,
  from: number,
  correlationId: number | undefined,
): NodeState => {
  mark(out, "R96:versions-answered");
  const kraftVersion = config.supportedKraftVersions ?? SUPPORTED_KRAFT_VERSIONS;
  respond(out, from, { _tag: "ApiVersionsResponse", errorCode: "NONE", kraftVersion }, correlationId);
  return s;
};

/**
 * R96, R101: the voter-to-be answered (or its request failed, `response` null): unless it failed,
 * lacks the finalized kraft.version or has not caught up, the leader appends VotersRecord(old ∪ new).
 */
export const handleApiVersionsResponse = (
  s: NodeState,
  config: RaftConfig,
  out: Out,
  from: number,
  response: ApiVersionsResponse | null,
): NodeState => {
  const role = s.role;
  const adding = role._tag === "Leader" ? role.addingVoter : undefined;
  if (role._tag !== "Leader" || adding === undefined || adding.voter.id !== from) return s;
  const { addingVoter: _asked, ...rest } = role;
  const next: NodeState = { ...s, role: rest };
  const range = response?.kraftVersion ?? null;
  const refusal: Refusal | undefined =
    response === null || response.errorCode !== "NONE"
      ? {
          errorCode: "REQUEST_TIMED_OUT",
          message: `replica ${from} did not answer ApiVersions${response === null ? "" : ` (${response.errorCode})`}`,
          mark: "R96:add-voter-versions-failed",
        }
      : range === null || !coversFinalized(range)
        ? {
            errorCode: "INVALID_REQUEST",
            message: `replica ${from} does not support kraft.version ${FINALIZED_KRAFT_VERSION}`,
            mark: "R96:add-voter-kraft-version-unsupported",
          }
        : !caughtUp(rest, adding.voter)
          ? {
              errorCode: "REQUEST_TIMED_OUT",
              message: `replica ${from} has not caught up with the leader; start it as an observer and retry`,
              mark: "R101:add-voter-not-caught-up",
            }
          : undefined;
  if (refusal !== undefined) {
    refuse(out, "AddRaftVoter", adding.requesterId, adding.correlationId, refusal);
    return next;
  }
  mark(out, "R96:voter-added");
  const added: Voter = range === null ? adding.voter : { ...adding.voter, supportedKraftVersions: range };
  return appendVoterChange(next, config, out, [...next.voters, added], {
    api: "AddRaftVoter",
    ...askedBy(adding.requesterId, adding.correlationId),
  });
};

/** R97: remove the voter with exactly this key, as long as one voter is left. */
export const handleRemoveRaftVoterRequest = (
  s: NodeState,
  config: RaftConfig,
  out: Out,
  from: number,
  request: RemoveRaftVoterRequest,
  correlationId: number | undefined,
): NodeState => {
  const api = "RemoveRaftVoter";
  const remaining = s.voters.filter(
    (v) => !(v.id === request.voterId && v.directoryId === request.voterDirectoryId),
  );
  const refusal: Refusal | undefined =
    commonRefusal(s, config, request.clusterId) ??
    (remaining.length === s.voters.length
      ? {
          errorCode: "VOTER_NOT_FOUND",
          message: `no voter ${request.voterId} with directory id ${request.voterDirectoryId}`,
          mark: "R97:remove-voter-not-found",
        }
      : remaining.length === 0
        ? {
            errorCode: "VOTER_NOT_FOUND",
            message: "the last voter cannot be removed",
            mark: "R97:remove-last-voter",
          }
        : undefined);
  if (refusal !== undefined) {
    refuse(out, api, from, correlationId, refusal);
    return s;
  }
  mark(out, request.voterId === s.nodeId ? "R98:leader-removes-itself" : "R97:voter-removed");
  return appendVoterChange(s, config, out, remaining, { api, ...askedBy(from, correlationId) });
};

/** R99: why the leader refuses an update, in Kafka's order, or undefined when it takes it. */
const updateRefusal = (
  s: NodeState,
  config: RaftConfig,
  request: UpdateRaftVoterRequest,
): Refusal | undefined => {
  const common = commonRefusal(s, config, request.clusterId);
  if (common?.errorCode === "INCONSISTENT_CLUSTER_ID") return common;
  if (request.currentLeaderEpoch < s.epoch)
    return { errorCode: "FENCED_LEADER_EPOCH", message: "", mark: "R99:update-voter-fenced-epoch" };
  if (request.currentLeaderEpoch > s.epoch)
    return { errorCode: "UNKNOWN_LEADER_EPOCH", message: "", mark: "R99:update-voter-unknown-epoch" };
  if (common?.errorCode === "NOT_LEADER_OR_FOLLOWER") return common;
  const range = request.kraftVersionFeature;
  if (
    request.voterDirectoryId === ZERO_UUID ||
    request.listeners.length === 0 ||
    range.minSupportedVersion < 0 ||
    range.minSupportedVersion > range.maxSupportedVersion
  )
    return { errorCode: "INVALID_REQUEST", message: "", mark: "R99:update-voter-invalid" };
  if (common !== undefined) return common;
  if (!coversFinalized(range))
    return { errorCode: "INVALID_REQUEST", message: "", mark: "R99:update-voter-version-unsupported" };
  if (!s.voters.some((v) => v.id === request.voterId && v.directoryId === request.voterDirectoryId))
    return { errorCode: "VOTER_NOT_FOUND", message: "", mark: "R99:update-voter-not-found" };
  return undefined;
};

/**
 * R99: a voter rewrites its own entry (listeners, supported kraft.version range). Checked as Kafka
 * checks it: the cluster, the epoch the voter believes in (R38), that this node leads, the request's
 * own fields, then R93's one-change-at-a-time rule, the range, and the voter's key. The leader appends
 * the VotersRecord (the same keys, this voter's entry with the listeners and range asked for) and
 * answers at once, without waiting for the commit.
 */
export const handleUpdateRaftVoterRequest = (
  s: NodeState,
  config: RaftConfig,
  out: Out,
  from: number,
  request: UpdateRaftVoterRequest,
  correlationId: number | undefined,
): NodeState => {
  const refusal = updateRefusal(s, config, request);
  const answer = (errorCode: ErrorCode): UpdateRaftVoterResponse => ({
    _tag: "UpdateRaftVoterResponse",
    errorCode,
    leaderId: knownLeader(s),
    leaderEpoch: s.epoch,
  });
  if (refusal !== undefined) {
    if (refusal.mark !== undefined) mark(out, refusal.mark);
    respond(out, from, answer(refusal.errorCode), correlationId);
    return s;
  }
  mark(out, "R99:voter-updated");
  const updated = s.voters.map((v) =>
    v.id === request.voterId
      ? {
          id: v.id,
          directoryId: request.voterDirectoryId,
          listeners: request.listeners,
          supportedKraftVersions: request.kraftVersionFeature,
        }
      : v,
  );
  const next = appendVoterChange(s, config, out, updated, undefined);
  respond(out, from, answer("NONE"), correlationId);
  return next;
};

/** R91, R94: append the VotersRecord; the leader counts with the new set from this moment. */
const appendVoterChange = (
  s: NodeState,
  config: RaftConfig,
  out: Out,
  voters: readonly Voter[],
  pending: Omit<PendingVoterChange, "offset"> | undefined,
): NodeState => {
  const offset = s.log.endOffset;
  const log = writeVotersRecord(s.log, s.epoch, voters, out);
  out.effects.push({ _tag: "FlushLog", offset: log.endOffset });
  const role = s.role as Leader;
  const next: NodeState = {
    ...s,
    log,
    voters: currentVoters(log, config.voters),
    role: pending === undefined ? role : { ...role, pendingVoterChange: { ...pending, offset } },
  };
  // R63(d): the new record is news for every parked fetch.
  return completeParkedFetches(applyLeaderVoterSet(next, config, out), config, out);
};

/**
 * R94: the leader's replica bookkeeping follows its voter set: a new voter starts with no offset
 * counted (its fetches as an observer were not flushed), a removed one becomes an observer (its
 * fetches are still served); check quorum and BeginQuorumEpoch cover the other voters of the new set.
 */
export const applyLeaderVoterSet = (s: NodeState, config: RaftConfig, out: Out): NodeState => {
  const role = s.role;
  if (role._tag !== "Leader") return s;
  // A new voter's offset as an observer is not durable (observers do not flush, R16): it counts
  // only once it fetches as a voter.
  const voterStates = s.voters.map((v) => {
    const known = role.voterStates.find((p) => p.id === v.id);
    if (known !== undefined) return known;
    const observed = role.observerStates.find((p) => p.id === v.id);
    return observed === undefined ? newProgress(v) : { ...observed, endOffset: -1, acknowledged: false };
  });
  const observerStates = [
    ...role.observerStates.filter((p) => !s.voters.some((v) => v.id === p.id)),
    ...role.voterStates.filter((p) => p.id !== s.nodeId && !s.voters.some((v) => v.id === p.id)),
  ];
  let next: NodeState = {
    ...s,
    role: {
      ...role,
      voterStates,
      observerStates,
      fetchedVoters: role.fetchedVoters.filter((id) => s.voters.some((v) => v.id === id)),
    },
  };
  // R57: a set of one never loses its quorum (KAFKA-16144); a larger one checks it.
  const checks = usesCheckQuorum(next, config);
  if (checks && !hasTimer(next, "checkQuorum"))
    next = armTimer(next, out, "checkQuorum", checkQuorumTimeoutMs(config));
  if (!checks) next = cancelTimer(next, out, "checkQuorum");
  if (otherVoters(next).length > 0 && !hasTimer(next, "beginQuorumEpoch"))
    next = armTimer(next, out, "beginQuorumEpoch", beginQuorumEpochResendMs(config));
  return next;
};

/**
 * R96–R98: once the high watermark passes the pending VotersRecord, the change is committed: the
 * requester is answered. A leader the committed set no longer holds resigns (R98).
 */
export const completeVoterChange = (s: NodeState, out: Out): { state: NodeState; resign: boolean } => {
  const role = s.role;
  if (role._tag !== "Leader") return { state: s, resign: false };
  let next = s;
  const pending = role.pendingVoterChange;
  if (pending !== undefined && role.highWatermark > pending.offset) {
    mark(out, "R96:voter-change-committed-answered");
    respond(out, pending.requesterId, answer(pending.api, "NONE", null), pending.correlationId);
    const { pendingVoterChange: _done, ...rest } = role;
    next = { ...s, role: rest };
  }
  const resign = !s.voters.some((v) => v.id === s.nodeId) && role.highWatermark > latestVoterSetOffset(s.log);
  return { state: next, resign };
};

/** R93: a leader that steps down with a change pending tells its requester to try the new leader. */
export const failPendingVoterChange = (role: Leader, out: Out): void => {
  const fail = (api: VoterChangeApi, asked: VoterChangeAsker, before: string): void => {
    mark(out, "R93:pending-voter-change-fails-on-step-down");
    respond(
      out,
      asked.requesterId,
      answer(api, "NOT_LEADER_OR_FOLLOWER", `the leader stepped down before the change was ${before}`),
      asked.correlationId,
    );
  };
  const { addingVoter: adding, pendingVoterChange: pending } = role;
  if (adding !== undefined) fail("AddRaftVoter", adding, "appended");
  if (pending !== undefined) fail(pending.api, pending, "committed");
};
