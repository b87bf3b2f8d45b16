// Startup from persisted state (R18–R22).
import { mark } from "../marks.ts";
import type { RaftEffect, StepResult } from "./io.ts";
import { currentVoters, lastEpoch, latestSnapshot } from "./log.ts";
import { armTimer, electsAsVoter, localKey, newOut, type Out } from "./node.ts";
import { NO_ID, replicaKeyMatches, type Voter } from "./primitives.ts";
import type { ElectionState, LogState, NodeState, RaftConfig } from "./state.ts";
import {
  enterCandidate,
  enterFollower,
  enterProspective,
  enterResigned,
  enterUnattached,
  leaderReachable,
} from "./transitions.ts";
import { sendVoteRequests } from "./vote.ts";

/** The state of a process that has just read its quorum-state and log, before choosing a role. */
const bootState = (
  config: RaftConfig,
  epoch: number,
  log: LogState,
  recovering: boolean,
  firstCorrelationId: number,
): NodeState =>
  bootWithVoters(config, epoch, log, recovering, firstCorrelationId, currentVoters(log, config.voters));

const bootWithVoters = (
  config: RaftConfig,
  epoch: number,
  log: LogState,
  recovering: boolean,
  firstCorrelationId: number,
  // R91: the newest VotersRecord in the log, else the bootstrap set.
  voters: readonly Voter[],
): NodeState => ({
  nodeId: config.nodeId,
  ...(config.directoryId === undefined ? {} : { directoryId: config.directoryId }),
  epoch,
  role: { _tag: "Unattached", leaderId: NO_ID },
  log,
  highWatermark: log.startOffset,
  voters,
  inflight: [],
  timers: [],
  // R74: observers start asking the voters at different places; a voter, which asks only while
  // recovering (R146), starts at the first (passing over itself when it asks: askablePosition).
  bootstrapCursor:
    voters.length === 0 || voters.some((v) => v.id === config.nodeId)
      ? 0
      : Math.abs(config.nodeId) % voters.length,
  quietLeaderId: NO_ID,
  shuttingDown: false,
  // R146: a voter set of one has no other copy to recover from; it goes on with what it has.
  recovering: recovering && voters.length > 1 && voters.some((v) => v.id === config.nodeId),
  nextCorrelationId: firstCorrelationId,
});

/** R20: a voter that had voted for itself resumes its candidacy in the same epoch. */
const resumeCandidate = (s: NodeState, config: RaftConfig, out: Out): NodeState => {
  out.effects.push({ _tag: "PersistElectionState", epoch: s.epoch, leaderId: NO_ID, votedKey: localKey(s) });
  let next: NodeState = { ...s, role: { _tag: "Candidate", granted: [s.nodeId], rejected: [] } };
  next = armTimer(next, out, "election", config.electionTimeoutMs, config.electionTimeoutMs);
  return sendVoteRequests(next, config, out);
};

/**
 * R18–R22: choose the starting role from the persisted election state and the log, write it
 * durably, and tell the listener the leader it knows (R86) — except a former leader, which comes back
 * Resigned (R19) and says nothing of its leadership. `recovering` (R146): the shell had to cut records
 * from the log that may have been flushed and acknowledged (a corrupt batch, not an unflushed torn
 * tail), now or at an earlier start whose recovery has not completed. `firstCorrelationId` (R40(0)):
 * where this process's request ids start; a shell whose old connections may still deliver answers
 * (a simulated network) starts past the ids its previous process used.
 */
export const initialize = (
  persisted: ElectionState | undefined,
  log: LogState,
  config: RaftConfig,
  recovering = false,
  firstCorrelationId = 1,
): StepResult<NodeState> => {
  const stored: ElectionState = persisted ?? { epoch: 0, leaderId: NO_ID };
  const out = newOut();
  const logEpoch = lastEpoch(log);
  let state: NodeState;
  if (stored.epoch < logEpoch) {
    // R18: the log has seen a newer epoch than quorum-state recorded.
    mark(out, "R18:log-epoch-newer-than-quorum-state");
    state = enterUnattached(
      bootState(config, logEpoch, log, recovering, firstCorrelationId),
      config,
      out,
      logEpoch,
      NO_ID,
      undefined,
      "fresh",
    );
  } else {
    const boot = bootState(config, stored.epoch, log, recovering, firstCorrelationId);
    const self = localKey(boot);
    const votedKey = stored.votedKey;
    if (stored.leaderId === config.nodeId) {
      // R19: never restart as leader; stay out of this epoch's elections.
      mark(out, "R19:former-leader-restarts-resigned");
      out.effects.push(
        votedKey === undefined
          ? { _tag: "PersistElectionState", epoch: stored.epoch, leaderId: stored.leaderId }
          : { _tag: "PersistElectionState", epoch: stored.epoch, leaderId: stored.leaderId, votedKey },
      );
      state = enterResigned(boot, config, out, []);
    } else if (
      stored.leaderId < 0 &&
      votedKey !== undefined &&
      replicaKeyMatches(votedKey, self) &&
      electsAsVoter(boot)
    ) {
      mark(out, "R20:candidate-resumes");
      state = resumeCandidate(boot, config, out);
    } else if (stored.leaderId >= 0 && leaderReachable(boot, stored.leaderId)) {
      mark(out, "R21:restarts-following-known-leader");
      state = enterFollower(boot, config, out, stored.epoch, stored.leaderId, votedKey);
    } else {
      mark(out, "R21:restarts-unattached");
      state = enterUnattached(boot, config, out, stored.epoch, stored.leaderId, votedKey, "fresh");
    }
  }
  // R22: a lone voter does not wait for a timeout to elect itself.
  if (state.role._tag === "Unattached" && electsAsVoter(state) && state.voters.length === 1) {
    mark(out, "R22:lone-voter-elects-itself");
    state = config.preVote ? enterProspective(state, config, out) : enterCandidate(state, config, out);
  }
  if (state.recovering) mark(out, "R146:restarts-recovering");
  const effects: RaftEffect[] = out.effects.filter((e) => e._tag !== "LeaderChanged");
  // R84: a new listener (its next offset is 0) loads the newest snapshot first, if there is one:
  // always when the log starts above 0, and otherwise to start from the snapshot, not the log's start.
  const newest = latestSnapshot(log);
  if (newest !== undefined) {
    mark(out, "R84:start-loads-snapshot");
    effects.push({ _tag: "LoadSnapshot", endOffset: newest.endOffset, epoch: newest.epoch });
  }
  if (state.role._tag !== "Resigned" && state.role._tag !== "Leader") {
    const leaderId =
      state.role._tag === "Follower" || state.role._tag === "Unattached" ? state.role.leaderId : NO_ID;
    effects.push({ _tag: "LeaderChanged", leaderId, epoch: state.epoch });
  }
  return { state, effects, marks: out.marks };
};
