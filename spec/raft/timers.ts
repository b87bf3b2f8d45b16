// What each timer's expiry means in each role (R24–R28, R32, R33, R57, R63(d)).

import { mark } from "../marks.ts";
import { askablePosition, continueFetching } from "./fetch-follower.ts";
import { expireParkedFetches } from "./fetch-leader.ts";
import {
  beginQuorumEpochResendMs,
  preferredSuccessors,
  sendBeginQuorumEpoch,
  usesCheckQuorum,
} from "./leader.ts";
import { armTimer, electsAsVoter, hasTimer, type Out } from "./node.ts";
import { NO_ID } from "./primitives.ts";
import type { NodeState, RaftConfig, TimerKind } from "./state.ts";
import { enterCandidate, enterProspective, enterResigned, enterUnattached } from "./transitions.ts";
import { onUpdateVoterSetTimeout } from "./update-voter-set.ts";
import { endProspective } from "./vote.ts";

/** R23, R24, R27: a voter whose leader went quiet starts an election, with a pre-vote first if enabled. */
const startElection = (s: NodeState, config: RaftConfig, out: Out): NodeState =>
  config.preVote ? enterProspective(s, config, out) : enterCandidate(s, config, out);

const onElectionTimeout = (s: NodeState, config: RaftConfig, out: Out): NodeState => {
  const role = s.role;
  switch (role._tag) {
    case "Unattached":
      if (!electsAsVoter(s)) return s;
      mark(out, "R23:unattached-times-out");
      return startElection(s, config, out);
    // R24: a pre-vote that ran out of time; its timer is spent, so Unattached fires again at once.
    case "Prospective":
      mark(out, "R24:prevote-timed-out");
      return endProspective(s, config, out, role, "keep");
    // R25: [4.0+] a candidate that did not win goes back to pre-voting; [3.9] it stands again.
    case "Candidate":
      mark(out, "R25:election-timed-out");
      return startElection(s, config, out);
    // R28: a resigned leader moves to the next epoch, never back into its own.
    case "Resigned":
      mark(out, "R28:resigned-moves-to-next-epoch");
      return enterUnattached(s, config, out, s.epoch + 1, -1, undefined, "keep");
    case "Leader":
    case "Follower":
      return s;
  }
};

/** R27: a follower that heard nothing from its leader for a fetch timeout. */
const onFetchTimeout = (s: NodeState, config: RaftConfig, out: Out): NodeState => {
  const role = s.role;
  if (role._tag === "Unattached" && s.quietLeaderId !== NO_ID) {
    mark(out, "R74:quiet-leader-asked-again");
    return { ...s, quietLeaderId: NO_ID };
  }
  if (role._tag !== "Follower") return s;
  if (electsAsVoter(s)) {
    mark(out, "R27:follower-loses-leader");
    return startElection(s, config, out);
  }
  mark(out, "R74:observer-loses-leader");
  // An observer (or a voter recovering lost records, R146) forgets the leader's liveness but keeps
  // its id, and asks the voters again.
  // It asks the other voters first, for one fetch timeout, and does not take the quiet leader back
  // on their word in this epoch: only the leader's own answer, or a newer epoch, brings it back.
  const quiet: NodeState = {
    ...s,
    quietLeaderId: role.leaderId,
    bootstrapCursor: askablePosition(s, s.bootstrapCursor, role.leaderId),
  };
  const next = armTimer(quiet, out, "fetch", config.fetchTimeoutMs);
  return enterUnattached(next, config, out, s.epoch, role.leaderId, role.votedKey, "keep");
};

export const handleTimerExpired = (
  s: NodeState,
  config: RaftConfig,
  out: Out,
  timer: TimerKind,
): NodeState => {
  // A timer that was cancelled or re-armed after this expiry was queued is stale.
  if (!hasTimer(s, timer)) {
    mark(out, "R31:stale-timer-ignored");
    return s;
  }
  const next: NodeState = { ...s, timers: s.timers.filter((t) => t !== timer) };
  const role = next.role;
  switch (timer) {
    case "election":
      return onElectionTimeout(next, config, out);
    case "fetch":
      return onFetchTimeout(next, config, out);
    case "checkQuorum":
      // R57: not enough voters fetched within the interval: resign.
      if (role._tag === "Leader") mark(out, "R57:leader-without-quorum-resigns");
      return role._tag === "Leader"
        ? enterResigned(next, config, out, preferredSuccessors(next, role))
        : next;
    case "beginQuorumEpoch": {
      // R56: resend to the voters that have not acknowledged the epoch. Where check quorum does not
      // watch this leader (R57: a set of one without it, or check quorum off), the acknowledgements
      // also expire with the interval, as Kafka 4.x resends to voters that have not fetched within
      // it: a voter that follows a later leader is asked again and fences this one.
      if (role._tag !== "Leader") return next;
      mark(out, "R56:begin-epoch-resent");
      const sent = sendBeginQuorumEpoch(
        armTimer(next, out, "beginQuorumEpoch", beginQuorumEpochResendMs(config)),
        config,
        out,
      );
      if (usesCheckQuorum(sent, config)) return sent;
      const leader = sent.role as typeof role;
      return {
        ...sent,
        role: {
          ...leader,
          voterStates: leader.voterStates.map((v) =>
            v.id !== s.nodeId && v.acknowledged ? { ...v, acknowledged: false } : v,
          ),
        },
      };
    }
    case "fetchWait":
      return expireParkedFetches(next, config, out);
    case "retryBackoff":
      return continueFetching(next, config, out, false);
    case "updateVoterSet":
      return onUpdateVoterSetTimeout(next, config, out);
  }
};
