"""An independent, event-driven implementation of the KRaft Raft layer.

Written from openkraft's documentation (README.md, conformance/README.md,
spec/README.md, the JSON Schemas) and its conformance vectors, without reading
the reference reducers.  Rule IDs (R14, R48, ...) are those of spec/README.md.

The node is a plain object with an explicit state.  ``RaftNode.start()`` is a
process start and ``RaftNode.handle(input)`` one input; both return the list
of effects the shell must carry out.  ``RaftNode.projection()`` is the state
the conformance runner compares.

Effects are produced in the order the logic runs; ``Effects.finish()`` then
applies this implementation's own (free, R14) ordering: timer effects first,
sends to several peers in reverse order.  The orderings that matter (persist
before send, truncate before append before flush/ack, listener notifications
in order) are preserved by that rewrite.
"""

from __future__ import annotations


METADATA_TOPIC = "__cluster_metadata"
METADATA_TOPIC_ID = "AAAAAAAAAAAAAAAAAAAAAQ"  # R1: the UUID with value 1 (base64)

UNATTACHED = "Unattached"
PROSPECTIVE = "Prospective"
CANDIDATE = "Candidate"
LEADER = "Leader"
FOLLOWER = "Follower"
RESIGNED = "Resigned"

MAX_CORRELATION_ID = 2147483647


class Violations:
    """Deliberate rule violations switched on with ``adapter.py --violate``."""

    def __init__(self, rule: str | None = None):
        self.rule = rule

    def on(self, rule: str) -> bool:
        return self.rule == rule


class Effects:
    """Collects effects of one step and applies this node's free ordering."""

    def __init__(self):
        self.items: list[dict] = []

    def add(self, effect: dict):
        self.items.append(effect)

    def finish(self, violations: Violations) -> list[dict]:
        items = self.items
        if violations.on("R14"):
            # R14 broken on purpose: sends go out before the quorum-state
            # write that they depend on.
            sends = [e for e in items if e["_tag"] == "Send"]
            rest = [e for e in items if e["_tag"] != "Send"]
            return sends + rest
        # Free choice (R14): timers first.  Their relative order is kept,
        # so what each timer ends up as is unchanged (R31).
        timers = [e for e in items if e["_tag"] in ("SetTimer", "CancelTimer")]
        rest = [e for e in items if e["_tag"] not in ("SetTimer", "CancelTimer")]
        # Free choice (R14): every maximal run of Sends is emitted in reverse.
        out: list[dict] = []
        run: list[dict] = []
        for e in rest:
            if e["_tag"] == "Send":
                run.append(e)
                continue
            out.extend(reversed(run))
            run = []
            out.append(e)
        out.extend(reversed(run))
        return timers + out


class RaftNode:
    def __init__(self, config: dict, quorum_state: dict | None, log: dict,
                 recovering: bool = False, first_correlation_id: int = 1,
                 violations: Violations | None = None):
        self.v = violations or Violations()
        self.cfg = config
        self.node_id: int = config["nodeId"]
        self.directory_id = config.get("directoryId")
        self.cluster_id: str = config["clusterId"]
        self.voters: list[dict] = list(config["voters"])  # R8: voter set is data
        self.voter_ids: list[int] = [v["id"] for v in self.voters]
        self.is_voter = any(self._key_matches(v, self.node_id, self.directory_id) for v in self.voters)
        self.election_ms: int = config["electionTimeoutMs"]
        self.backoff_max_ms: int = config["electionBackoffMaxMs"]
        self.fetch_timeout_ms: int = config["fetchTimeoutMs"]
        self.fetch_max_wait_ms: int = config["fetchMaxWaitMs"]
        self.retry_backoff_ms: int = config["retryBackoffMs"]
        self.pre_vote: bool = config["preVote"]
        self.check_quorum: bool = config["checkQuorum"]

        # The log's shape (payloads stay with the shell).
        self.log_start: int = log.get("startOffset", 0)
        self.log_end: int = log["endOffset"]
        self.flushed: int = log["flushedOffset"]
        self.epochs: list[list[int]] = [[e["epoch"], e["startOffset"]] for e in log["epochs"]]
        # R77: snapshots as [end offset, epoch, size], oldest first.
        self.snapshots: list[list[int]] = [[x["endOffset"], x["epoch"], x["size"]]
                                           for x in log.get("snapshots", [])]
        self.snapshot_max_bytes: int = config.get("fetchSnapshotMaxBytes", 8 * 1024 * 1024)  # R82

        self.quorum_state = quorum_state
        # What quorum-state holds, as a PersistElectionState effect would write it.
        self.on_disk: dict | None = None
        if quorum_state is not None:
            self.on_disk = {"_tag": "PersistElectionState", "epoch": quorum_state["epoch"],
                            "leaderId": quorum_state["leaderId"]}
            if quorum_state.get("votedKey") is not None:
                self.on_disk["votedKey"] = dict(quorum_state["votedKey"])
        self.recovering = bool(recovering)  # R146
        # Free choice (R40): our own correlation ids, far above the spec's.
        self.next_cid = 1000 + 7 * max(first_correlation_id - 1, 0)

        # Durable election state (R12) and the role (R9).
        self.role = UNATTACHED
        self.epoch = 0
        self.leader_id = -1
        self.voted: dict | None = None

        self.high_watermark = self.log_start  # R79: what lies below the log start is committed
        self.armed: set[str] = set()
        self.in_flight: dict[int, tuple[int, str]] = {}  # cid -> (dest, api)
        self.announced: tuple[int, int] | None = None  # last LeaderChanged
        self.shutting_down = False
        self.shutdown_pending = False  # R35: waiting for a leader to finish

        self._reset_role_state()
        self._observer_rotation_start()
        self.fx = Effects()

    # ------------------------------------------------------------------ utils
    @staticmethod
    def _key_matches(stored: dict, rid: int, directory: str | None) -> bool:
        # R5: a stored key with a directory id matches only the same pair.
        if stored.get("id") != rid:
            return False
        if stored.get("directoryId") is not None:
            return stored.get("directoryId") == directory
        return True

    def _reset_role_state(self):
        self.granted: set[int] = set()
        self.rejected: set[int] = set()
        # Leader
        self.epoch_start = 0
        self.leader_hw_known = False
        self.progress: dict[int, int] = {}  # voter id -> end offset
        self.observers: dict[int, int] = {}  # observer id -> end offset (R76)
        self.cq_fetched: set[int] = set()
        self.begin_acked: set[int] = set()
        # R56: voters that fetched within the current resend interval (used with check quorum off).
        self.fetched_in_interval: set[int] = set()
        self.parked: list[tuple[int, int, dict]] = []
        # Follower
        self.fetched_from_leader = False
        self.fetch_pending_flush = False
        self.downloading: list[int] | None = None  # R83: [end offset, epoch, position]
        # Resigned
        self.end_acked: set[int] = set()
        self.preferred: list[int] = []

    def majority(self) -> int:
        return len(self.voter_ids) // 2 + 1  # R6

    def other_voters(self) -> list[int]:
        return [v for v in self.voter_ids if v != self.node_id]

    def last_epoch(self) -> int:
        if self.epochs:
            return self.epochs[-1][0]
        # R81: a log with nothing above its snapshot reports the snapshot's epoch.
        return self.snapshots[-1][1] if self.snapshots else 0

    def flushed_last_epoch(self) -> int:
        # R16: the epoch of the last *flushed* record (R81: below the log start, the snapshot's).
        e = self.snapshots[0][1] if self.log_start > 0 and self.snapshots else 0
        for ep, start in self.epochs:
            if start < self.flushed:
                e = ep
        return e

    def end_offset_for_epoch(self, epoch: int) -> tuple[int, int]:
        """(largest known epoch <= epoch, the end of that epoch in this log)."""
        best = None
        for i, (ep, start) in enumerate(self.epochs):
            if ep <= epoch:
                nxt = self.epochs[i + 1][1] if i + 1 < len(self.epochs) else self.log_end
                best = (ep, nxt)
        if best is None:
            if not self.epochs:
                return (self.last_epoch(), self.log_end) if self.snapshots else (-1, -1)
            if self.log_start > 0 and self.snapshots and self.epochs[0][1] == self.log_start:
                # R81: older than the log start: where the snapshot at the start ends.
                return (self.snapshots[0][1], self.snapshots[0][0])
            # Older than every epoch here: the log diverges from its first record.
            return (epoch, self.epochs[0][1])
        return best

    def new_cid(self) -> int:
        cid = self.next_cid
        self.next_cid += 7
        if self.next_cid > MAX_CORRELATION_ID:
            self.next_cid = 1000
        return cid

    # --------------------------------------------------------------- effects
    def persist(self):
        """R12/R14/R15: write epoch, leader and vote durably.

        Free choice (R15): a write identical to what quorum-state already
        holds is skipped (the reference re-writes on every transition)."""
        e = {"_tag": "PersistElectionState", "epoch": self.epoch, "leaderId": self.leader_id}
        if self.voted is not None:
            e["votedKey"] = dict(self.voted)
        if e == self.on_disk:
            return
        self.on_disk = dict(e)
        self.fx.add(e)

    def set_timer(self, timer: str, delay: int, jitter: int = 0):
        self.armed.add(timer)
        self.fx.add({"_tag": "SetTimer", "timer": timer, "delayMs": delay, "jitterMs": jitter})

    def election_timer(self):
        # R31 (free choice): the spec asks for [T, 2T); we arm [T + T/4, T + 3T/4].
        t = self.election_ms
        self.set_timer("election", t + t // 4, t // 2)

    def cancel(self, timer: str):
        if timer in self.armed:
            self.armed.discard(timer)
            self.fx.add({"_tag": "CancelTimer", "timer": timer})

    def send(self, to: int, message: dict, cid: int, api: str | None = None):
        e = {"_tag": "Send", "to": to, "message": message}
        if cid is not None:
            e["correlationId"] = cid
        self.fx.add(e)
        if api is not None:
            self.in_flight[cid] = (to, api)

    def illegal(self, rule: str, detail: str):
        # R40 (free choice): IllegalState text is ours.
        self.fx.add({"_tag": "IllegalState", "rule": rule, "detail": "python-raft: " + detail})

    def visible_leader(self) -> tuple[int, int] | None:
        """What the listener should know (R86); None: nothing to announce."""
        if self.role == RESIGNED:
            return None
        if self.role == LEADER:
            if not self.leader_hw_known:
                return None  # R58: only after the first commit of the epoch
            return (self.node_id, self.epoch)
        if self.role == CANDIDATE:
            return (-1, self.epoch)
        return (self.leader_id, self.epoch)

    def notify_leader(self):
        vis = self.visible_leader()
        if vis is not None and vis != self.announced:
            self.announced = vis
            self.fx.add({"_tag": "LeaderChanged", "leaderId": vis[0], "epoch": vis[1]})

    def take_effects(self) -> list[dict]:
        self.notify_leader()
        out = self.fx.finish(self.v)
        self.fx = Effects()
        return out

    # ------------------------------------------------------------- projection
    def projection(self) -> dict:
        voted = None
        if self.role not in (LEADER, RESIGNED) and self.voted is not None:
            voted = self.voted["id"]
        leader = self.leader_id
        if self.role in (LEADER, RESIGNED):
            leader = self.node_id
        if self.role == CANDIDATE:
            leader = -1
        return {
            "role": self.role,
            "epoch": self.epoch,
            "leaderId": leader,
            "votedId": voted,
            "log": {
                "startOffset": self.log_start,
                "endOffset": self.log_end,
                "flushedOffset": self.flushed,
                "epochs": [{"epoch": e, "startOffset": s} for e, s in self.epochs],
                "snapshots": [{"endOffset": x[0], "epoch": x[1]} for x in self.snapshots],
            },
            "highWatermark": self.high_watermark,
            "recovering": self.recovering,
        }

    # ---------------------------------------------------------------- startup
    def start(self) -> list[dict]:
        qs = self.quorum_state
        epoch = qs["epoch"] if qs else 0
        leader = qs["leaderId"] if qs else -1
        voted = qs.get("votedKey") if qs else None
        if self.last_epoch() > epoch:
            # R18: the log is newer than quorum-state.
            epoch, leader, voted = self.last_epoch(), -1, None
        self.epoch, self.leader_id, self.voted = epoch, leader, voted
        self.announced = None
        if leader == self.node_id and self.is_voter:
            # R19: never restart as leader.
            self.persist()
            self._enter_resigned(preferred=[])
        elif (voted is not None and voted.get("id") == self.node_id and leader == -1
              and self.is_voter and not self.recovering):
            # R20: resume a candidacy in the same epoch.
            self.role = CANDIDATE
            self.persist()
            self.granted = {self.node_id}
            self.election_timer()
            self._send_vote_requests(pre_vote=False)
            self._maybe_election_won()
        elif leader != -1 and leader != self.node_id and leader in self.voter_ids:
            # R21: follow a known, reachable leader.
            self.role = FOLLOWER
            self.persist()
            self.set_timer("fetch", self.fetch_timeout_ms)
            self._send_fetch()
        else:
            # R21: otherwise Unattached with the stored vote.
            self.role = UNATTACHED
            self.persist()
            self._unattached_timers(fresh=True)
            # R22: a lone voter elects itself.
            if self.is_voter and not self.recovering and self.other_voters() == [] :
                self._on_election_timeout()
        if self.snapshots:
            # R84: a new listener loads the newest snapshot there is.
            self.fx.add({"_tag": "LoadSnapshot", "endOffset": self.snapshots[-1][0],
                         "epoch": self.snapshots[-1][1]})
        return self.take_effects()

    # ------------------------------------------------------------ transitions
    def _leave_role(self):
        """R30: leaving a role forgets requests in flight, refuses parked fetches."""
        refused = []
        if self.role == LEADER:
            refused = self.parked
            self.parked = []
            for t in ("checkQuorum", "beginQuorumEpoch", "fetchWait"):
                self.cancel(t)
        self.cancel("fetch")
        self.cancel("retryBackoff")
        self.in_flight.clear()
        self._reset_role_state()
        self.refused = refused
        if self.shutting_down and self.is_voter:
            self.shutdown_pending = True  # R35: a voter waits for a leader again

    def _refuse_parked(self):
        """R30: parked fetches are refused, naming what the node knows now."""
        refused, self.refused = getattr(self, "refused", []), []
        for frm, cid, _m in refused:
            self._fetch_error(frm, cid, "NOT_LEADER_OR_FOLLOWER")

    def _unattached_timers(self, fresh: bool):
        if self.is_voter and not self.recovering:
            if fresh:
                self.election_timer()
            elif "election" not in self.armed:
                # R31: the remaining time is kept; it has run out already.
                self.set_timer("election", 0, 0)
        else:
            # R11/R74/R146: no election timer; find the leader by fetching.
            self.cancel("election")
            self._send_fetch()

    def _enter_unattached(self, epoch: int, leader: int = -1, voted: dict | None = None,
                          keep_timer: bool | None = None):
        prev = self.role
        if keep_timer is None:
            # R31: from Candidate, Unattached, an unrejected Prospective or
            # Resigned the remaining time is kept (a lost pre-vote passes
            # keep_timer=False explicitly).
            keep_timer = prev in (CANDIDATE, UNATTACHED, RESIGNED, PROSPECTIVE)
        self._leave_role()
        new_epoch = epoch != self.epoch
        if new_epoch:
            self.voted = None  # R29
        else:
            voted = self.voted if voted is None else voted
        self.role = UNATTACHED
        self.epoch = epoch
        self.leader_id = leader
        self.voted = voted
        self.persist()
        self._refuse_parked()
        self._unattached_timers(fresh=not keep_timer)

    def _enter_follower(self, epoch: int, leader: int):
        if epoch != self.epoch:
            self.voted = None  # R29
        self._leave_role()
        self.cancel("election")
        self.role = FOLLOWER
        self.epoch = epoch
        self.leader_id = leader
        self.persist()
        self._refuse_parked()
        self.set_timer("fetch", self.fetch_timeout_ms)  # R32
        self._send_fetch()
        if self.shutdown_pending:
            self.shutdown_pending = False  # R35: a successor is known

    def _enter_prospective(self):
        self._leave_role()
        self.role = PROSPECTIVE
        self.granted = {self.node_id}
        self.election_timer()
        self._send_vote_requests(pre_vote=True)
        self._maybe_election_won()

    def _enter_candidate(self):
        self._leave_role()
        self.role = CANDIDATE
        self.epoch += 1
        self.leader_id = -1
        self.voted = {"id": self.node_id}
        if self.directory_id is not None:
            self.voted["directoryId"] = self.directory_id
        self.persist()
        self.granted = {self.node_id}
        self.election_timer()
        self._send_vote_requests(pre_vote=False)
        self._maybe_election_won()

    def _enter_leader(self):
        granted = sorted(self.granted)
        self._leave_role()
        self.cancel("election")
        self.role = LEADER
        self.leader_id = self.node_id
        self.persist()  # R54
        self.epoch_start = self.log_end
        self.leader_hw_known = False
        self.progress = {v: -1 for v in self.other_voters()}
        # R55: the LeaderChange control record opens the epoch.
        self._append(self.epoch, 1, control={
            "_tag": "LeaderChangeMessage",
            "leaderId": self.node_id,
            "voters": [dict(v) for v in self.voters],
            "grantingVoters": [{"id": g} for g in granted],
        })
        self._flush()
        others = self.other_voters()
        self.fetched_in_interval = set()
        if others:
            if self.check_quorum:
                self.set_timer("checkQuorum", self.fetch_timeout_ms * 3 // 2)  # R33
            self.set_timer("beginQuorumEpoch", self.fetch_timeout_ms // 2)  # R33
            for v in others:  # R56
                self._send_begin_epoch(v)
        if self.shutting_down:
            # R35: a leadership won while shutting down is handed on at once.
            self._enter_resigned(self._preferred_successors())

    def _enter_resigned(self, preferred: list[int]):
        self._leave_role()
        self.cancel("election")
        self.role = RESIGNED
        self.leader_id = self.node_id
        self.preferred = preferred
        self._refuse_parked()
        self.election_timer()
        for v in self.other_voters():  # R72
            self._send_end_epoch(v)

    # -------------------------------------------------------------- messages
    def _vote_request(self, to: int, pre_vote: bool) -> dict:
        # R43: a standard vote carries the bumped epoch (already bumped here).
        return {
            "_tag": "VoteRequest", "clusterId": self.cluster_id, "voterId": to,
            "topicName": METADATA_TOPIC, "partitionIndex": 0,
            "replicaEpoch": self.epoch, "replicaId": self.node_id,
            # R16: advertise the flushed log only.
            "lastOffsetEpoch": self.flushed_last_epoch(), "lastOffset": self.flushed,
            "preVote": pre_vote,
        }

    def _send_vote_requests(self, pre_vote: bool):
        for v in self.other_voters():  # R45
            self.send(v, self._vote_request(v, pre_vote), self.new_cid(), "Vote")

    def _send_begin_epoch(self, to: int):
        msg = {"_tag": "BeginQuorumEpochRequest", "clusterId": self.cluster_id, "voterId": to,
               "topicName": METADATA_TOPIC, "partitionIndex": 0,
               "leaderId": self.node_id, "leaderEpoch": self.epoch}
        self.send(to, msg, self.new_cid(), "BeginQuorumEpoch")

    def _send_end_epoch(self, to: int):
        msg = {"_tag": "EndQuorumEpochRequest", "clusterId": self.cluster_id,
               "topicName": METADATA_TOPIC, "partitionIndex": 0,
               "leaderId": self.node_id, "leaderEpoch": self.epoch,
               "preferredCandidates": [{"id": p} for p in self.preferred]}
        self.send(to, msg, self.new_cid(), "EndQuorumEpoch")

    def _observer_rotation_start(self):
        # R74 (free choice): which voter a node without a leader it can reach
        # asks is ours.  The reference walks the voter list forward from
        # position (node id mod n); python-raft walks it BACKWARDS from
        # position (node id + 1) mod n.  With voters 1..n a recovering voter
        # thus asks itself last; observer 4 of voters 1, 2, 3 asks 3, then 2,
        # then 1 (the reference: 2, 3, 1).
        n = len(self.voter_ids)
        self.rotation = (self.node_id + 1) % n if n else 0

    def _rotate(self):
        """R74/R75: move the rotation one step on, i.e. back one place in the
        voter list (our free choice of direction).  When it moves is the
        rule's, not ours: after a failed fetch or an unusable answer that
        leaves the node fetching without a leader."""
        self.rotation -= 1
        if self.voter_ids:
            self.rotation %= len(self.voter_ids)

    def fetch_target(self) -> int | None:
        if self.role == FOLLOWER:
            return self.leader_id
        if self.role == UNATTACHED and (not self.is_voter or self.recovering):
            # R74: never itself (a recovering voter is in the list); the next
            # voter in our order instead, and nobody when it is the only one.
            n = len(self.voter_ids)
            for k in range(n):
                voter = self.voter_ids[(self.rotation - k) % n]
                if voter != self.node_id:
                    return voter
            return None
        return None

    def _send_fetch(self):
        to = self.fetch_target()
        if to is None:
            return
        if self.role == FOLLOWER and self.downloading is not None:
            # R83: the next part of the snapshot instead of records.
            end, epoch, position = self.downloading
            msg = {"_tag": "FetchSnapshotRequest", "clusterId": self.cluster_id,
                   "replicaId": self.node_id, "maxBytes": self.snapshot_max_bytes,
                   "topicName": METADATA_TOPIC, "partitionIndex": 0,
                   "currentLeaderEpoch": self.epoch,
                   "snapshotId": {"endOffset": end, "epoch": epoch}, "position": position}
            if self.directory_id is not None:
                msg["replicaDirectoryId"] = self.directory_id
            self.send(to, msg, self.new_cid(), "FetchSnapshot")
            return
        # R16/R61: a voter fetches only once its log is flushed.
        if (self.is_voter and self.flushed < self.log_end) and not self.v.on("R16"):
            self.fetch_pending_flush = True
            return
        self.fetch_pending_flush = False
        offset = self.log_end  # with --violate R16 this may not be flushed yet
        msg = {"_tag": "FetchRequest", "clusterId": self.cluster_id, "replicaId": self.node_id,
               "maxWaitMs": self.fetch_max_wait_ms, "topicId": METADATA_TOPIC_ID, "partition": 0,
               "currentLeaderEpoch": self.epoch, "fetchOffset": offset,
               "lastFetchedEpoch": self.last_epoch()}
        if self.directory_id is not None:
            msg["replicaDirectoryId"] = self.directory_id
        self.send(to, msg, self.new_cid(), "Fetch")

    def _response_leader(self) -> int:
        if self.role in (LEADER, RESIGNED):
            return self.node_id
        if self.role == CANDIDATE:
            return -1
        return self.leader_id

    # --------------------------------------------------------------- the log
    def _append(self, epoch: int, count: int, control: dict | None = None):
        base = self.log_end
        e = {"_tag": "AppendRecords", "baseOffset": base, "epoch": epoch, "count": count}
        if control is not None:
            e["control"] = control
        self.fx.add(e)
        if not self.epochs or self.epochs[-1][0] != epoch:
            self.epochs.append([epoch, base])
        self.log_end = base + count

    def _flush(self):
        """R16: voters (and the leader) flush what they appended; observers do not."""
        if self.is_voter or self.role == LEADER:
            self.fx.add({"_tag": "FlushLog", "offset": self.log_end})

    def _truncate(self, offset: int):
        # R67: cache entries at or past the cut go too (KAFKA-10706).
        self.fx.add({"_tag": "TruncateLog", "offset": offset})
        self.log_end = offset
        self.flushed = min(self.flushed, offset)
        self.epochs = [e for e in self.epochs if e[1] < offset]

    def _records_from(self, offset: int) -> list[dict]:
        out = []
        for i, (ep, start) in enumerate(self.epochs):
            end = self.epochs[i + 1][1] if i + 1 < len(self.epochs) else self.log_end
            lo = max(start, offset)
            if lo < end:
                out.append({"baseOffset": lo, "epoch": ep, "count": end - lo})
        return out

    # ============================================================== handlers
    def _shutdown_ready(self) -> bool:
        """R35: a voter may stop once another node leads (or it takes no part in elections)."""
        if not self.shutting_down:
            return False
        if not self.is_voter or self.recovering or len(self.voter_ids) == 1:
            return True
        return self.role == FOLLOWER or (
            self.role == UNATTACHED and self.leader_id >= 0 and self.leader_id != self.node_id)

    def handle(self, inp: dict) -> list[dict]:
        ready_before = self._shutdown_ready()
        self._dispatch(inp)
        if not ready_before and self._shutdown_ready():
            self.notify_leader()  # R86: the listener hears of the leader first
            self.fx.add({"_tag": "ShutdownComplete"})
        return self.take_effects()

    def _dispatch(self, inp: dict):
        tag = inp["_tag"]
        if tag == "Received":
            self._received(inp)
        elif tag == "TimerExpired":
            self._timer(inp["timer"])
        elif tag == "ClientAppend":
            self._client_append(inp)
        elif tag == "LogFlushed":
            self._log_flushed(inp["offset"])
        elif tag == "RequestFailed":
            self._request_failed(inp)
        elif tag == "Resign":
            self._resign(inp)
        elif tag == "Shutdown":
            self._shutdown()
        elif tag == "CreateSnapshot":
            self._create_snapshot(inp["endOffset"], inp["size"])
        elif tag == "DeleteBeforeSnapshot":
            self._delete_before_snapshot(inp["endOffset"])

    # ------------------------------------------------------------- snapshots
    def _epoch_before(self, offset: int) -> int | None:
        """R77: the epoch of the record at offset - 1, if this log can name it."""
        if offset <= self.log_start or not self.epochs:
            if offset == 0:
                return 0
            for end, epoch, _size in self.snapshots:
                if end == offset:
                    return epoch
            return None
        if offset > self.log_end:
            return None
        found = None
        for epoch, start in self.epochs:
            if start >= offset:
                break
            found = epoch
        return found

    def _refuse_snapshot(self, op: str, end: int, reason: str):
        self.fx.add({"_tag": "SnapshotRefused", "operation": op, "endOffset": end, "reason": reason})

    def _create_snapshot(self, end: int, size: int):
        newest = self.snapshots[-1][0] if self.snapshots else None
        if end > self.high_watermark:
            return self._refuse_snapshot("create", end, "above the high watermark")
        if end < self.log_start or end <= 0:
            return self._refuse_snapshot("create", end, "below the log start")
        if newest is not None and end <= newest:
            return self._refuse_snapshot("create", end, "not newer than the newest snapshot")
        epoch = self._epoch_before(end)
        if epoch is None:
            return self._refuse_snapshot("create", end, "epoch unknown")
        self.fx.add({"_tag": "WriteSnapshot", "endOffset": end, "epoch": epoch})
        self.snapshots.append([end, epoch, size])

    def _delete_before_snapshot(self, end: int):
        if not any(x[0] == end for x in self.snapshots):
            return self._refuse_snapshot("deleteBefore", end, "no such snapshot")
        if end <= self.log_start:
            return self._refuse_snapshot("deleteBefore", end, "log starts there already")
        if end > self.high_watermark:
            return self._refuse_snapshot("deleteBefore", end, "above the high watermark")
        self.fx.add({"_tag": "DeleteLogBefore", "offset": end})  # R79
        kept = []
        for i, (epoch, start) in enumerate(self.epochs):
            stop = self.epochs[i + 1][1] if i + 1 < len(self.epochs) else self.log_end
            if stop > end:
                kept.append([epoch, max(start, end)])
        self.epochs = kept
        self.log_start = end
        self.log_end = max(self.log_end, end)
        self.flushed = max(self.flushed, end)
        self.snapshots = [x for x in self.snapshots if x[0] >= end]

    def _snapshot_to_send(self, offset: int, last_epoch: int) -> list[int] | None:
        """R63(a), R65: the snapshot a fetch must be answered with, if any."""
        if not self.snapshots:
            return None
        newest, earliest = self.snapshots[-1], self.snapshots[0]
        if offset == 0:
            return newest
        if self.log_start == 0:
            return None
        if (offset < self.log_start or (offset == self.log_start and last_epoch != earliest[1])
                or last_epoch < earliest[1]):
            return newest
        return None

    def _fetch_snapshot_error(self, to: int, cid, code: str):
        self.send(to, {"_tag": "FetchSnapshotResponse", "errorCode": code,
                       "leaderId": self._response_leader(), "leaderEpoch": self.epoch,
                       "snapshotId": {"endOffset": -1, "epoch": -1}, "size": -1, "position": -1,
                       "bytes": 0}, cid)

    def _on_fetch_snapshot_request(self, frm: int, cid, m: dict):
        if m["clusterId"] is not None and m["clusterId"] != self.cluster_id:
            return self._fetch_snapshot_error(frm, cid, "INCONSISTENT_CLUSTER_ID")  # R36
        if m["topicName"] != METADATA_TOPIC or m["partitionIndex"] != 0:
            return self._fetch_snapshot_error(frm, cid, "UNKNOWN_TOPIC_OR_PARTITION")
        if m["currentLeaderEpoch"] < self.epoch:
            return self._fetch_snapshot_error(frm, cid, "FENCED_LEADER_EPOCH")  # R38
        if m["currentLeaderEpoch"] > self.epoch:
            return self._fetch_snapshot_error(frm, cid, "UNKNOWN_LEADER_EPOCH")
        if self.role != LEADER:
            return self._fetch_snapshot_error(frm, cid, "NOT_LEADER_OR_FOLLOWER")
        if self.shutting_down:
            return self._fetch_snapshot_error(frm, cid, "BROKER_NOT_AVAILABLE")
        sid = m["snapshotId"]
        found = next((x for x in self.snapshots if x[0] == sid["endOffset"] and x[1] == sid["epoch"]), None)
        if found is None:
            return self._fetch_snapshot_error(frm, cid, "SNAPSHOT_NOT_FOUND")  # R83
        size, position = found[2], m["position"]
        if position < 0 or position >= size:
            return self._fetch_snapshot_error(frm, cid, "POSITION_OUT_OF_RANGE")
        self.send(frm, {"_tag": "FetchSnapshotResponse", "errorCode": "NONE",
                        "leaderId": self.node_id, "leaderEpoch": self.epoch,
                        "snapshotId": {"endOffset": found[0], "epoch": found[1]}, "size": size,
                        "position": position, "bytes": max(0, min(m["maxBytes"], size - position))}, cid)
        rid = m["replicaId"]
        if any(self._key_matches(v, rid, m.get("replicaDirectoryId")) for v in self.voters) \
                and rid != self.node_id:
            self._check_quorum_fetch(rid)  # R83: counts for check quorum, not the high watermark

    def _on_fetch_snapshot_response(self, frm: int, m: dict):
        if self.role != FOLLOWER or frm != self.leader_id:
            return
        d = self.downloading
        if m["errorCode"] != "NONE" or d is None:
            self.downloading = None  # R83: start over with a Fetch
            self.set_timer("fetch", self.fetch_timeout_ms)
            return
        sid = m["snapshotId"]
        if sid["endOffset"] != d[0] or sid["epoch"] != d[1] or m["position"] != d[2]:
            self.illegal("R83", f"part {sid} at {m['position']} does not continue {d}")
            return
        self.fx.add({"_tag": "WriteSnapshotChunk", "endOffset": d[0], "epoch": d[1], "position": d[2]})
        position = d[2] + m["bytes"]
        if position < m["size"]:
            self.downloading = [d[0], d[1], position]
            self.set_timer("fetch", self.fetch_timeout_ms)
            return
        end, epoch = d[0], d[1]
        if end < self.high_watermark:
            self.illegal("R83", f"snapshot {end} ends below the high watermark {self.high_watermark}")
            return
        self.fx.add({"_tag": "InstallSnapshot", "endOffset": end, "epoch": epoch})
        self.fx.add({"_tag": "LoadSnapshot", "endOffset": end, "epoch": epoch})  # R84
        if end > self.high_watermark:
            self.high_watermark = end
            self.fx.add({"_tag": "HighWatermarkUpdated", "offset": end})
        self.log_start = self.log_end = self.flushed = end
        self.epochs = []
        self.snapshots = [[end, epoch, m["size"]]]
        self.downloading = None
        self.set_timer("fetch", self.fetch_timeout_ms)

    # ---------------------------------------------------------------- timers
    def _timer(self, timer: str):
        if timer not in self.armed:
            return  # R31: a stale expiry is ignored
        self.armed.discard(timer)
        if timer == "election":
            self._on_election_timeout()
        elif timer == "fetch":
            self._on_fetch_timeout()
        elif timer == "checkQuorum":
            self._on_check_quorum_timeout()
        elif timer == "beginQuorumEpoch":
            self._on_begin_epoch_timer()
        elif timer == "fetchWait":
            self._answer_parked()
        elif timer == "retryBackoff":
            self._send_fetch()

    def _on_election_timeout(self):
        if self.role == UNATTACHED:
            if not self.is_voter or self.recovering:
                return
            if self.pre_vote:
                self._enter_prospective()  # R23
            else:
                self._enter_candidate()
        elif self.role == PROSPECTIVE:
            # R24: a timed-out pre-vote goes back, keeping its vote.
            self._prospective_lost(rejected=False)
        elif self.role == CANDIDATE:
            # R25: Prospective (Kafka 4.0) or, without pre-vote, a new candidacy.
            if self.pre_vote:
                self._enter_prospective()
            else:
                self._enter_candidate()
        elif self.role == RESIGNED:
            # R28: Unattached in the next epoch.
            self._enter_unattached(self.epoch + 1)

    def _prospective_lost(self, rejected: bool):
        if self.leader_id != -1 and self.leader_id in self.voter_ids:
            self._enter_follower(self.epoch, self.leader_id)
        else:
            # R24/R41: Unattached in the same epoch, keeping its vote and the
            # leader it knew but cannot reach (not in its voter set), as when it
            # learnt of it; R31: the kept timer (0+0 once it has run out).
            self._enter_unattached(self.epoch, self.leader_id, self.voted, keep_timer=not rejected)

    def _on_fetch_timeout(self):
        if self.role == FOLLOWER:
            if self.is_voter and not self.recovering:
                if self.pre_vote:
                    self._enter_prospective()  # R27
                else:
                    self._enter_candidate()
            else:
                # R27/R146: Unattached in the same epoch keeping the leader id.
                self._enter_unattached(self.epoch, self.leader_id, keep_timer=False)

    def _on_check_quorum_timeout(self):
        if self.role != LEADER:
            return
        if self.v.on("R57"):
            # R57 broken on purpose: never resign for want of a quorum.
            self.set_timer("checkQuorum", self.fetch_timeout_ms * 3 // 2)
            return
        # R57: no majority fetched within the interval: resign.
        self._enter_resigned(self._preferred_successors())

    def _on_begin_epoch_timer(self):
        if self.role != LEADER:
            return
        # R56 (openkraft): resend only to voters that neither answered nor fetched. With check quorum
        # off nothing else would fence a stale leader, so answers and fetches count only within the
        # interval that ends now.
        expiring = not self.check_quorum
        waiting = {d for d, api in self.in_flight.values() if api == "BeginQuorumEpoch"}
        for v in self.other_voters():
            fetched = v in self.fetched_in_interval if expiring else self.progress.get(v, -1) >= 0
            if v not in self.begin_acked and not fetched and v not in waiting:
                self._send_begin_epoch(v)
        if expiring:
            self.begin_acked = set()
            self.fetched_in_interval = set()
        self.set_timer("beginQuorumEpoch", self.fetch_timeout_ms // 2)

    def _preferred_successors(self) -> list[int]:
        # R72: best replicated first.
        others = self.other_voters()
        return sorted(others, key=lambda v: (-self.progress.get(v, -1), self.voter_ids.index(v)))

    # ---------------------------------------------------------------- client
    def _client_append(self, inp: dict):
        cid = inp.get("correlationId")
        if self.role != LEADER or self.shutting_down:
            self._client_rejected("append", "NOT_LEADER_OR_FOLLOWER", cid)
            return
        if inp["epoch"] != self.epoch:
            # R87: only the leader of exactly that epoch accepts.
            self._client_rejected("append", "NOT_LEADER_OR_FOLLOWER", cid)
            return
        base = self.log_end
        self._append(self.epoch, inp["count"])
        self._flush()
        acc = {"_tag": "AppendAccepted", "epoch": self.epoch, "baseOffset": base,
               "lastOffset": base + inp["count"] - 1}
        if cid is not None:
            acc["correlationId"] = cid
        self.fx.add(acc)
        self._answer_parked()

    def _client_rejected(self, op: str, code: str, cid):
        e = {"_tag": "ClientRejected", "operation": op, "errorCode": code}
        if cid is not None:
            e["correlationId"] = cid
        self.fx.add(e)

    def _resign(self, inp: dict):
        epoch = inp["epoch"]
        if epoch < self.epoch:
            return  # R87: ignored for an older epoch
        if self.role == LEADER and epoch == self.epoch:
            self._enter_resigned(self._preferred_successors())
            return
        self._client_rejected("resign", "NOT_LEADER_OR_FOLLOWER", inp.get("correlationId"))

    def _shutdown(self):
        # R35
        if self.shutting_down:
            return
        self.shutting_down = True
        if self._shutdown_ready():
            return
        self.shutdown_pending = True
        if self.role == LEADER:
            self._enter_resigned(self._preferred_successors())

    def _log_flushed(self, offset: int):
        if offset <= self.flushed:
            return
        self.flushed = min(offset, self.log_end)
        if self.role == LEADER:
            self._update_leader_hw()  # R16: the leader counts its flushed log
        elif self.fetch_pending_flush and self.flushed >= self.log_end:
            self._send_fetch()  # R16: flushed, so the fetch may go

    # ------------------------------------------------------- request failed
    def _request_failed(self, inp: dict):
        cid = inp["correlationId"]
        entry = self.in_flight.pop(cid, None)
        if entry is None:
            return  # a failure of a request no longer in flight
        dest, api = entry
        if api == "Vote" and self.role in (PROSPECTIVE, CANDIDATE):
            self.send(dest, self._vote_request(dest, self.role == PROSPECTIVE), self.new_cid(), "Vote")  # R45
        elif api == "EndQuorumEpoch" and self.role == RESIGNED:
            # R72: again to every voter that has not acknowledged and is not
            # being asked right now.
            asking = {d for d, a in self.in_flight.values() if a == "EndQuorumEpoch"}
            for v in self.other_voters():
                if v not in self.end_acked and v not in asking:
                    self._send_end_epoch(v)
        elif api == "FetchSnapshot":
            self._send_fetch()  # R83: asked again at once, as a Fetch is (R75)
        elif api == "Fetch":
            if self.role == UNATTACHED and (not self.is_voter or self.recovering):
                self._rotate()  # R75: try the next voter (in our order)
                self._send_fetch()
            else:
                self._send_fetch()  # R75: retried at once
        # BeginQuorumEpoch (R56): wait for the resend timer.

    # ------------------------------------------------------------- receiving
    def _received(self, inp: dict):
        msg = inp["message"]
        t = msg["_tag"]
        frm = inp["from"]
        cid = inp.get("correlationId")
        if t == "VoteRequest":
            self._on_vote_request(frm, cid, msg)
        elif t == "BeginQuorumEpochRequest":
            self._on_begin_epoch_request(frm, cid, msg)
        elif t == "EndQuorumEpochRequest":
            self._on_end_epoch_request(frm, cid, msg)
        elif t == "FetchRequest":
            self._on_fetch_request(frm, cid, msg)
        elif t == "FetchSnapshotRequest":
            self._on_fetch_snapshot_request(frm, cid, msg)
        elif t == "DescribeQuorumRequest":
            self._on_describe_quorum(frm, cid, msg)
        elif t in ("AddRaftVoterRequest", "RemoveRaftVoterRequest"):
            self._on_voter_change(frm, cid, msg)
        else:
            self._on_response(frm, cid, msg)

    # ---- common handling of epochs and leaders (R41, R42)
    def _learn(self, epoch: int, leader: int) -> bool:
        """A message names `leader` for `epoch`.  Returns False on R42 conflicts."""
        if epoch > self.epoch:
            # R41: follow the named, reachable leader, else Unattached.
            if leader != -1 and leader != self.node_id and leader in self.voter_ids:
                self._enter_follower(epoch, leader)
            elif leader == self.node_id:
                self.illegal("R42", f"told that node {leader} leads epoch {epoch}")
                return False
            else:
                # R41: a leader without endpoints is remembered, not followed.
                self._enter_unattached(epoch, leader)
            return True
        if epoch == self.epoch and leader != -1:
            if leader == self.node_id:
                if self.role not in (LEADER, RESIGNED):
                    self.illegal("R42", f"told that this node {leader} leads epoch {epoch}, role {self.role}")
                    return False
                return True
            known = self._response_leader()
            if known == -1 or (self.role == UNATTACHED and known == leader):
                if leader in self.voter_ids:
                    self._enter_follower(epoch, leader)
                return True
            if known != leader:
                self.illegal("R42", f"epoch {epoch} is led by {known}, a message names {leader}")
                return False
        return True
        return True

    # ---- Vote
    def _vote_response(self, to: int, cid, code: str, granted: bool = False):
        self.send(to, {"_tag": "VoteResponse", "errorCode": code,
                       "leaderId": self._response_leader(), "leaderEpoch": self.epoch,
                       "voteGranted": granted}, cid)

    def _log_ok(self, last_epoch: int, last_offset: int) -> bool:
        # R48: the candidate's (last epoch, end offset) is at least ours.
        if self.v.on("R48"):
            return True  # R48 broken on purpose
        return (last_epoch, last_offset) >= (self.last_epoch(), self.log_end)

    def _on_vote_request(self, frm: int, cid, m: dict):
        if m["clusterId"] is not None and m["clusterId"] != self.cluster_id:
            self._vote_response(frm, cid, "INCONSISTENT_CLUSTER_ID")  # R36
            return
        # R46: validation.
        bad = (m["replicaId"] < 0 or m["replicaEpoch"] < 0 or m["lastOffsetEpoch"] < 0
               or m["lastOffset"] < 0
               or (not m["preVote"] and m["lastOffsetEpoch"] >= m["replicaEpoch"])
               or (m["preVote"] and m["lastOffsetEpoch"] > m["replicaEpoch"])
               or m["topicName"] != METADATA_TOPIC or m["partitionIndex"] != 0)
        if bad:
            self._vote_response(frm, cid, "INVALID_REQUEST")
            return
        if m["replicaEpoch"] < self.epoch:
            self._vote_response(frm, cid, "FENCED_LEADER_EPOCH")  # R37
            return
        if m["replicaEpoch"] > self.epoch:
            self._enter_unattached(m["replicaEpoch"], -1)  # R47: adopt it first
        # R47/R100: a request meant for another replica.
        if m["voterId"] not in (-1, self.node_id) or (
                m.get("voterDirectoryId") is not None and self.directory_id is not None
                and m.get("voterDirectoryId") != self.directory_id):
            self._vote_response(frm, cid, "INVALID_VOTER_KEY")
            return
        cand = m["replicaId"]
        ok = self._log_ok(m["lastOffsetEpoch"], m["lastOffset"])
        if m["preVote"]:
            granted = self._grant_pre_vote(ok)  # R50: changes nothing
            self._vote_response(frm, cid, "NONE", granted)
            return
        granted = False
        if self.recovering:
            granted = False  # R146
        elif self.role in (UNATTACHED, PROSPECTIVE):
            if self.voted is not None:
                granted = self.voted.get("id") == cand  # R49: same candidate again
            elif self.leader_id != -1:
                granted = False
            elif ok:
                granted = True
                self._record_vote(m)
        self._vote_response(frm, cid, "NONE", granted)

    def _record_vote(self, m: dict):
        # R51: persist the vote and reset the election timer before answering; R11: an observer
        # records its vote but keeps no election timer.
        key = {"id": m["replicaId"]}
        if m.get("replicaDirectoryId") is not None:
            key["directoryId"] = m["replicaDirectoryId"]
        self.voted = key
        self.persist()
        if self.is_voter:
            self.election_timer()

    def _grant_pre_vote(self, ok: bool) -> bool:
        if self.recovering:
            return False  # R146
        if self.role in (UNATTACHED, PROSPECTIVE, CANDIDATE, RESIGNED):
            return ok
        if self.role == FOLLOWER:
            return ok and not self.fetched_from_leader
        return False

    # ---- responses
    def _on_response(self, frm: int, cid, m: dict):
        entry = self.in_flight.get(cid)
        if entry is None or entry[0] != frm:
            return  # R40(0): answers nothing in flight
        del self.in_flight[cid]
        api = entry[1]
        code = m["errorCode"]
        epoch = m["leaderEpoch"]
        leader = m["leaderId"]
        if code == "INCONSISTENT_CLUSTER_ID":
            # R36/R149: reported by the node layer; here the fetcher moves on.
            self._fetch_retry(api)
            return
        if epoch < self.epoch or code == "UNKNOWN_LEADER_EPOCH":
            # R40(a): stale; R68: a fetcher retries after a backoff.
            self._fetch_retry(api)
            return
        if epoch > self.epoch:
            learned = self._learn(epoch, leader)  # R40(b)
            if not learned or (api == "Fetch" and self.role == UNATTACHED and not self._fetching()):
                self._fetch_retry(api)  # R42: a fetcher told nonsense backs off, as after any failure
            return
        # Same epoch.
        if leader != -1 and (self._response_leader() != leader or (
                self.role == UNATTACHED and leader in self.voter_ids)):
            if not self._learn(epoch, leader):  # R40(c)
                self._fetch_retry(api)
                return
            if not (api == "Fetch" and code == "NONE" and self.role == FOLLOWER):
                return
            # R40(c): only NONE goes further: the answer is handled as the
            # new leader's.
        if code == "INVALID_REQUEST":
            # R40(d): a bug on our side.
            self.illegal("R40", f"replica {frm} rejected our {api} request as invalid")
            self._fetch_retry(api)
            return
        if code in ("FENCED_LEADER_EPOCH", "NOT_LEADER_OR_FOLLOWER"):
            self._fetch_retry(api, code)  # R68, R74
            return
        if api == "FetchSnapshot" and code in ("NONE", "UNSUPPORTED_VERSION", "SNAPSHOT_NOT_FOUND",
                                               "POSITION_OUT_OF_RANGE"):
            self._on_fetch_snapshot_response(frm, m)
            if not self._fetching():
                self._send_fetch()
            return
        if code != "NONE" and not (api == "Vote" and code == "UNSUPPORTED_VERSION"):
            self._fetch_retry(api)
            return
        if api == "Vote":
            self._on_vote_response(frm, m)
        elif api == "BeginQuorumEpoch":
            if self.role == LEADER:
                self.begin_acked.add(frm)
        elif api == "EndQuorumEpoch":
            if self.role == RESIGNED:
                self.end_acked.add(frm)
        elif api == "Fetch":
            self._on_fetch_response(frm, m)

    def _apis_in_flight(self) -> set:
        return {api for _d, api in self.in_flight.values()}

    def _fetching(self) -> bool:
        """A Fetch or FetchSnapshot is on its way: one at a time (R61, R82)."""
        return bool(self._apis_in_flight() & {"Fetch", "FetchSnapshot"})

    def _fetch_retry(self, api: str, code: str = ""):
        """R68/R74: a fetch that got no usable answer is retried after a backoff;
        a leaderless fetcher (observer, recovering voter) tries the next voter."""
        if api not in ("Fetch", "FetchSnapshot") or self.fetch_target() is None:
            return
        if self.role == UNATTACHED:
            # R74: a leaderless fetcher moves the rotation on (in our order).
            self._rotate()
        elif code in ("NOT_LEADER_OR_FOLLOWER", "FENCED_LEADER_EPOCH") and self.fetch_target() in self.voter_ids:
            # R74: a follower's target stays its leader, and the kept position
            # becomes its leader's place in the voter list (not the one after
            # it): once leaderless it asks that voter first, then walks on in
            # our (backward) order (as the reference does with its forward
            # order: adversarial-raft/n4#17 step 26,
            # 34-recovery-after-corrupt-disk/n2#1 step 4).
            self.rotation = self.voter_ids.index(self.fetch_target())
        self.set_timer("retryBackoff", self._retry_backoff())

    def _retry_backoff(self) -> int:
        # R68 (free choice): within [0, retry.backoff.ms]; we wait half.
        return self.retry_backoff_ms // 2

    def _on_vote_response(self, frm: int, m: dict):
        if self.role not in (PROSPECTIVE, CANDIDATE):
            return
        if m["errorCode"] == "UNSUPPORTED_VERSION" and self.role == PROSPECTIVE:
            self._enter_candidate()  # R24: a voter that does not understand pre-vote
            return
        if m["errorCode"] != "NONE":
            return  # R52: an answer with an error is neither a grant nor a rejection
        if m["voteGranted"]:
            self.granted.add(frm)  # R52
        else:
            self.rejected.add(frm)
        if self._maybe_election_won():
            return
        # R53: lost when even every unanswered voter could not make a majority.
        if len(self.voter_ids) - len(self.rejected) < self.majority():
            if self.role == PROSPECTIVE:
                self._prospective_lost(rejected=True)  # R24
            # R25: a rejected candidate waits out its timer (KAFKA-18345).

    def _maybe_election_won(self) -> bool:
        if len(self.granted) >= self.majority():
            if self.role == PROSPECTIVE:
                self._enter_candidate()
                return True
            if self.role == CANDIDATE:
                self._enter_leader()
                return True
        return False

    # ---- BeginQuorumEpoch (R59, R60)
    def _on_begin_epoch_request(self, frm: int, cid, m: dict):
        def answer(code):
            self.send(frm, {"_tag": "BeginQuorumEpochResponse", "errorCode": code,
                            "leaderId": self._response_leader(), "leaderEpoch": self.epoch}, cid)
        if m["clusterId"] is not None and m["clusterId"] != self.cluster_id:
            answer("INCONSISTENT_CLUSTER_ID")
            return
        if (m["leaderId"] < 0 or m["leaderEpoch"] < 0 or m["topicName"] != METADATA_TOPIC
                or m["partitionIndex"] != 0):
            answer("INVALID_REQUEST")
            return
        if m["leaderEpoch"] < self.epoch:
            answer("FENCED_LEADER_EPOCH")
            return
        if not self._learn(m["leaderEpoch"], m["leaderId"]):
            return
        if m["voterId"] not in (-1, self.node_id):
            answer("INVALID_VOTER_KEY")  # R100
            return
        answer("NONE")

    # ---- EndQuorumEpoch (R71, R72)
    def _on_end_epoch_request(self, frm: int, cid, m: dict):
        def answer(code):
            self.send(frm, {"_tag": "EndQuorumEpochResponse", "errorCode": code,
                            "leaderId": self._response_leader(), "leaderEpoch": self.epoch}, cid)
        if m["clusterId"] is not None and m["clusterId"] != self.cluster_id:
            answer("INCONSISTENT_CLUSTER_ID")
            return
        if (m["leaderId"] < 0 or m["leaderEpoch"] < 0 or m["topicName"] != METADATA_TOPIC
                or m["partitionIndex"] != 0):
            answer("INVALID_REQUEST")
            return
        if m["leaderEpoch"] < self.epoch:
            answer("FENCED_LEADER_EPOCH")
            return
        if not self._learn(m["leaderEpoch"], m["leaderId"]):
            return
        if self.role == FOLLOWER and self.leader_id == m["leaderId"]:
            ids = [p["id"] for p in m["preferredCandidates"]]
            self.set_timer("fetch", self._end_epoch_backoff(ids))
        answer("NONE")

    def _end_epoch_backoff(self, preferred: list[int]) -> int:
        # R72 (free choice): within [0, election.backoff.max.ms].  Linear,
        # not exponential: position i (0-based) of n waits (i+1)/(n+2) of the
        # maximum; a follower that is not named waits (n+1)/(n+2) of it.
        n = len(preferred)
        if self.node_id not in preferred:
            return self.backoff_max_ms * (n + 1) // (n + 2)
        i = preferred.index(self.node_id)
        return self.backoff_max_ms * (i + 1) // (n + 2)

    # ---- Fetch, leader side (R63-R65, R69, R76)
    def _fetch_error(self, to: int, cid, code: str):
        self.send(to, {"_tag": "FetchResponse", "errorCode": code, "highWatermark": -1,
                       "logStartOffset": self.log_start, "leaderId": self._response_leader(),
                       "leaderEpoch": self.epoch, "records": []}, cid)

    def _on_fetch_request(self, frm: int, cid, m: dict):
        if m["clusterId"] is not None and m["clusterId"] != self.cluster_id:
            self._fetch_error(frm, cid, "INCONSISTENT_CLUSTER_ID")  # R36
            return
        if (m["topicId"] != METADATA_TOPIC_ID or m["partition"] != 0 or m["fetchOffset"] < 0
                or m["lastFetchedEpoch"] < 0 or m["maxWaitMs"] < 0
                or m["lastFetchedEpoch"] > m["currentLeaderEpoch"]):
            self._fetch_error(frm, cid, "INVALID_REQUEST")
            return
        # R38
        if m["currentLeaderEpoch"] < self.epoch:
            self._fetch_error(frm, cid, "FENCED_LEADER_EPOCH")
            return
        if m["currentLeaderEpoch"] > self.epoch:
            self._fetch_error(frm, cid, "UNKNOWN_LEADER_EPOCH")
            return
        if self.role != LEADER:
            self._fetch_error(frm, cid, "NOT_LEADER_OR_FOLLOWER")
            return
        if self.shutting_down:
            self._fetch_error(frm, cid, "BROKER_NOT_AVAILABLE")
            return
        is_voter = frm in self.voter_ids
        off, lfe = m["fetchOffset"], m["lastFetchedEpoch"]
        snapshot = self._snapshot_to_send(off, lfe)
        if snapshot is not None:
            # R63(a), R65: download the newest snapshot first.
            self.send(frm, {"_tag": "FetchResponse", "errorCode": "NONE",
                            "highWatermark": self._leader_hw_field(), "logStartOffset": self.log_start,
                            "snapshotId": {"endOffset": snapshot[0], "epoch": snapshot[1]},
                            "leaderId": self.node_id, "leaderEpoch": self.epoch, "records": []}, cid)
            return
        # R65: divergence.
        diverging = None
        if off > 0 or lfe > 0:
            ep, end = self.end_offset_for_epoch(lfe)
            if ep != lfe or end < off:
                diverging = {"epoch": ep, "endOffset": end}
        if diverging is not None:
            self.send(frm, {"_tag": "FetchResponse", "errorCode": "NONE",
                            "highWatermark": self._leader_hw_field(), "logStartOffset": self.log_start,
                            "divergingEpoch": diverging, "leaderId": self.node_id,
                            "leaderEpoch": self.epoch, "records": []}, cid)
            return
        # Record the valid fetch (R63, R69: going back is accepted).
        if is_voter and frm != self.node_id:
            self._check_quorum_fetch(frm)  # R57, R70
        if is_voter:
            self.progress[frm] = off
            self.fetched_in_interval.add(frm)
        elif frm >= 0:
            self.observers[frm] = off  # R76: never counts
        self._update_leader_hw()
        if off < self.log_end or m["maxWaitMs"] == 0:
            self._answer_fetch(frm, cid, off)
        else:
            self._park(frm, cid, m)

    def _check_quorum_fetch(self, frm: int):
        if not self.check_quorum:
            return
        self.cq_fetched.add(frm)
        if len(self.cq_fetched) >= self.majority() - 1:
            self.cq_fetched = set()
            self.set_timer("checkQuorum", self.fetch_timeout_ms * 3 // 2)  # restart the interval

    def _leader_hw_field(self) -> int:
        return self.high_watermark if self.leader_hw_known else -1

    def _answer_fetch(self, to: int, cid, offset: int):
        self.send(to, {"_tag": "FetchResponse", "errorCode": "NONE",
                       "highWatermark": self._leader_hw_field(), "logStartOffset": self.log_start,
                       "leaderId": self.node_id, "leaderEpoch": self.epoch,
                       "records": self._records_from(offset)}, cid)

    def _park(self, frm: int, cid, m: dict):
        # R63: an older parked fetch of the same replica is answered first.
        older = [p for p in self.parked if p[0] == frm]
        if older:
            self.parked = [p for p in self.parked if p[0] != frm]
            for o in older:
                self._answer_fetch(o[0], o[1], o[2]["fetchOffset"])
        self.parked.append((frm, cid, m))
        if "fetchWait" not in self.armed:
            self.set_timer("fetchWait", self.fetch_max_wait_ms)

    def _answer_parked(self, error: str | None = None):
        parked, self.parked = self.parked, []
        for frm, cid, m in parked:
            if error is not None:
                self._fetch_error(frm, cid, error)
            else:
                self._answer_fetch(frm, cid, m["fetchOffset"])
        self.cancel("fetchWait")

    def _update_leader_hw(self):
        """R64: the largest offset a majority of voters reached."""
        if self.role != LEADER:
            return
        own = self.log_end if self.v.on("R16") else self.flushed  # R16: flushed only
        offsets = [own if v == self.node_id else self.progress.get(v, -1)
                   for v in self.voter_ids]
        if self.v.on("R64"):
            hw = max(offsets)  # R64 broken on purpose: no majority needed
        else:
            offsets.sort(reverse=True)
            hw = offsets[self.majority() - 1]
        if hw <= self.epoch_start:
            return  # R64: must cover a record of the current epoch
        if self.leader_hw_known and hw <= self.high_watermark:
            return
        first = not self.leader_hw_known
        self.leader_hw_known = True
        old = self.high_watermark
        self.high_watermark = max(hw, old) if not first else hw
        if self.high_watermark != old or first:
            self.fx.add({"_tag": "HighWatermarkUpdated", "offset": self.high_watermark})
        if first:
            self.notify_leader()  # R58
        if self.parked:
            self._answer_parked()

    # ---- Fetch, follower side (R66-R68)
    def _on_fetch_response(self, frm: int, m: dict):
        if self.role == UNATTACHED:
            return
        if self.role != FOLLOWER or frm != self.leader_id:
            return
        self.fetched_from_leader = True
        div = m.get("divergingEpoch")
        sid = m.get("snapshotId")
        if sid is not None and div is None:
            # R66(ii): download this snapshot first (an id below 0 is ignored).
            if sid["endOffset"] >= 0 and sid["epoch"] >= 0:
                self.downloading = [sid["endOffset"], sid["epoch"], 0]
            self.set_timer("fetch", self.fetch_timeout_ms)
            if not self._fetching():
                self._send_fetch()
            return
        if div is not None:
            # R67: epoch 0 is not looked up: the smaller of the leader's end
            # and ours.  Otherwise our end of that epoch, capped by the
            # leader's when we have the epoch itself.
            if div["epoch"] == 0:
                cut = min(div["endOffset"], self.log_end)
            else:
                ep, end = self.end_offset_for_epoch(div["epoch"])
                cut = min(div["endOffset"], end) if ep == div["epoch"] else (end if ep >= 0 else 0)
            if cut < self.high_watermark:
                self.illegal("R66", f"asked to truncate to {cut} below the high watermark {self.high_watermark}")
                if not self._fetching():
                    self._send_fetch()
                return
            self._truncate(cut)
            self.set_timer("fetch", self.fetch_timeout_ms)
            if not self._fetching():
                self._send_fetch()
            return
        appended = False
        for r in m["records"]:
            if r["baseOffset"] != self.log_end or r["epoch"] > m["leaderEpoch"]:
                break  # R66: records not at the log end, or of an epoch above the leader's, are not taken
            self._append(r["epoch"], r["count"])
            appended = True
        if appended:
            self._flush()
        hw = m["highWatermark"]
        if hw >= 0:
            hw = min(hw, self.log_end)  # R66: capped at the log end
            if hw > self.high_watermark:
                self.high_watermark = hw
                self.fx.add({"_tag": "HighWatermarkUpdated", "offset": hw})
        if self.recovering and m["highWatermark"] >= 0 and self.flushed >= m["highWatermark"]:
            self.recovering = False
            self.fx.add({"_tag": "RecoveryComplete"})  # R146
        self.set_timer("fetch", self.fetch_timeout_ms)  # R32
        if not self._fetching():
            self._send_fetch()

    # ---- DescribeQuorum (R88)
    def _on_voter_change(self, frm: int, cid, m: dict):
        """R93: this implementation has static voters (kraft.version 0): after the cluster id, the
        leadership and the first commit of its epoch are checked, every voter change is
        UNSUPPORTED_VERSION."""
        response = "AddRaftVoterResponse" if m["_tag"] == "AddRaftVoterRequest" else "RemoveRaftVoterResponse"
        if m["clusterId"] is not None and m["clusterId"] != self.cluster_id:
            code, text = "INCONSISTENT_CLUSTER_ID", f"this quorum's cluster id is {self.cluster_id}"
        elif self.role != LEADER or self.shutting_down:
            code, text = "NOT_LEADER_OR_FOLLOWER", "this node does not lead the quorum"
        elif not self.leader_hw_known:
            code, text = "REQUEST_TIMED_OUT", "the leader has not yet committed a record of its epoch"
        else:
            code, text = "UNSUPPORTED_VERSION", "kraft.version is 0: the voter set is static (controller.quorum.voters)"
        self.send(frm, {"_tag": response, "errorCode": code, "errorMessage": text}, cid)

    def _on_describe_quorum(self, frm: int, cid, m: dict):
        def err(code):
            self.send(frm, {"_tag": "DescribeQuorumResponse", "errorCode": code,
                            "leaderId": self._response_leader(), "leaderEpoch": self.epoch,
                            "highWatermark": -1, "currentVoters": [], "observers": []}, cid)
        if m["topicName"] != METADATA_TOPIC or m["partitionIndex"] != 0:
            err("UNKNOWN_TOPIC_OR_PARTITION")
            return
        if self.role != LEADER:
            err("NOT_LEADER_OR_FOLLOWER")
            return
        voters = []
        for v in self.voter_ids:
            end = self.flushed if v == self.node_id else self.progress.get(v, -1)
            voters.append({"replicaId": v, "logEndOffset": end,
                           "lastFetchTimestamp": -1, "lastCaughtUpTimestamp": -1})
        observers = [{"replicaId": o, "logEndOffset": e, "lastFetchTimestamp": -1,
                      "lastCaughtUpTimestamp": -1} for o, e in sorted(self.observers.items())]
        self.send(frm, {"_tag": "DescribeQuorumResponse", "errorCode": "NONE",
                        "leaderId": self.node_id, "leaderEpoch": self.epoch,
                        "highWatermark": self._leader_hw_field(),
                        "currentVoters": voters, "observers": observers}, cid)
