// Every property check must be able to fail: each is shown a state or step that breaks it, and a
// healthy cluster that does not. Rules: R14, R16, R29, R42, R66, R134, R135, R136, R144, R145.
import { describe, expect, it } from "vitest";
import {
  applyEffects,
  clientAppend,
  controllerListenersOf,
  DEFAULT_CLUSTER,
  deliver,
  directoryIdOf,
  fireTimer,
  flush,
  initialWorld,
  makeEntry,
  votersRecordValue,
  type World,
} from "../cluster/world.ts";
import type { RaftEffect } from "../raft/io.ts";
import type { NodeState } from "../raft/state.ts";
import {
  committedDurability,
  electionSafety,
  epochIsPersisted,
  firstViolation,
  highWatermarkInOwnEpoch,
  leaderCompleteness,
  logMatching,
  majorityReachedHighWatermark,
  recordsFromLeaders,
  voterChangesOneAtATime,
} from "./cluster.ts";
import { checkEffect, checkStep, type EffectContext } from "./transitions.ts";

/** Deliver and flush until nothing is left to do. */
const settle = (start: World): World => {
  let world = start;
  for (let i = 0; i < 500; i++) {
    const flushing = world.nodes.findIndex((n) => n.state !== null && n.flushRequested);
    if (flushing >= 0) world = flush(world, DEFAULT_CLUSTER, flushing).world;
    else if (world.network.length > 0) world = deliver(world, DEFAULT_CLUSTER, 0).world;
    else return world;
  }
  throw new Error("did not settle");
};

/** Three voters, node 1 leading epoch 1 with one committed value. */
const healthy = (): World => {
  let world = initialWorld(DEFAULT_CLUSTER).world;
  world = settle(fireTimer(world, DEFAULT_CLUSTER, 0, "election").world);
  return settle(clientAppend(world, DEFAULT_CLUSTER, 0).world);
};

const withNode = (world: World, index: number, change: (s: NodeState) => NodeState): World => {
  const nodes = world.nodes.slice();
  const slot = nodes[index]!;
  nodes[index] = { ...slot, state: change(slot.state!) };
  return { ...world, nodes };
};

describe("cluster invariants", () => {
  const world = healthy();

  it("hold on a healthy cluster that committed a value", () => {
    expect(world.committed.length).toBe(2);
    expect(firstViolation(world, 3)).toBeNull();
  });

  it("ElectionSafety catches two leaders of one epoch", () => {
    const broken = withNode(world, 1, (s) => ({ ...s, role: world.nodes[0]!.state!.role }));
    expect(electionSafety(broken)).toMatch(/^ElectionSafety: nodes 1 and 2 both lead epoch 1/);
  });

  it("LogMatching catches logs that agree on an epoch but differ before it", () => {
    const nodes = world.nodes.slice();
    nodes[2] = { ...nodes[2]!, entries: [makeEntry(1, 0), makeEntry(1, 9)] };
    expect(logMatching({ ...world, nodes })).toMatch(/^LogMatching: nodes 1 and 3/);
  });

  it("LeaderCompleteness catches a newest leader without a committed record", () => {
    const nodes = world.nodes.slice();
    nodes[0] = { ...nodes[0]!, entries: nodes[0]!.entries.slice(0, 1) };
    expect(leaderCompleteness({ ...world, nodes })).toMatch(/lacks committed offset 1/);
  });

  it("CommittedDurability catches a committed record on a minority", () => {
    const nodes = world.nodes.map((n, i) => (i === 0 ? n : { ...n, entries: n.entries.slice(0, 1) }));
    expect(committedDurability({ ...world, nodes }, 3)).toMatch(/durable on 1 of 3 voters/);
  });

  it("MajorityReachedHighWatermark catches a leader counting records nobody flushed", () => {
    // The followers' own states still claim everything flushed: only the world's disks count.
    const nodes = world.nodes.map((n, i) => (i === 0 ? n : { ...n, durable: 0 }));
    expect(majorityReachedHighWatermark({ ...world, nodes }, 3)).toMatch(/only 1 of its 3 voters/);
  });

  it("CommittedDurability reads the world's disks, not what the nodes believe they flushed", () => {
    const nodes = world.nodes.map((n, i) => (i === 0 ? n : { ...n, durable: 1 }));
    expect(nodes[1]!.state!.log.flushedOffset).toBe(2);
    expect(committedDurability({ ...world, nodes }, 3)).toMatch(
      /committed offset 1 is durable on 1 of 3 voters/,
    );
  });

  it("HighWatermarkInOwnEpoch catches a leader whose high watermark stops at its epoch start (KAFKA-12619)", () => {
    const leader = world.nodes[0]!.state!.role;
    if (leader._tag !== "Leader") throw new Error("node 1 leads");
    expect(highWatermarkInOwnEpoch(world, 3)).toBeNull();
    const broken = withNode(world, 0, (s) => ({
      ...s,
      role: { ...leader, highWatermark: leader.epochStartOffset },
    }));
    expect(highWatermarkInOwnEpoch(broken, 3)).toBe(
      `HighWatermarkInOwnEpoch: leader 1 of epoch 1 has high watermark ${leader.epochStartOffset}, not past its epoch start offset ${leader.epochStartOffset}`,
    );
  });

  it("RecordsFromLeaders catches a record of an epoch nobody led, or above its holder's (KAFKA-18723)", () => {
    expect(recordsFromLeaders(world, 3)).toBeNull();
    const end = world.nodes[1]!.entries.length;
    // Node 2, a follower in epoch 1, took a batch whose epoch a flipped bit raised to 2.
    const forged: World = {
      ...world,
      nodes: world.nodes.map((slot, i) =>
        i === 1 ? { ...slot, entries: [...slot.entries, makeEntry(2, 9)] } : slot,
      ),
    };
    expect(recordsFromLeaders(forged, 3)).toBe(
      `RecordsFromLeaders: node 2 holds a record of epoch 2 at offset ${end}, but no node has led epoch 2 (R66)`,
    );
    // Once node 3 has led epoch 2, the record is still above node 2's own epoch.
    const leaders = [...forged.leaders];
    while (leaders.length <= 2) leaders.push(-1);
    leaders[2] = 3;
    expect(recordsFromLeaders({ ...forged, leaders }, 3)).toBe(
      `RecordsFromLeaders: node 2 holds a record of epoch 2 at offset ${end}, above its own epoch 1 (R14, R18, R66)`,
    );
  });

  it("MonotonicEpoch catches a running epoch that quorum-state does not hold", () => {
    const broken = withNode(world, 2, (s) => ({ ...s, epoch: 7 }));
    expect(epochIsPersisted(broken)).toMatch(/runs in epoch 7 but quorum-state holds 1/);
  });

  it("reports the first broken property of the list, including the recorded step properties", () => {
    expect(firstViolation({ ...world, broken: "VoteOncePerEpoch: x" }, 3)).toBe("VoteOncePerEpoch: x");
  });
});

describe("step properties", () => {
  const world = healthy();
  const leader = world.nodes[0]!.state!;
  const ctx: EffectContext = {
    id: 1,
    persisted: { epoch: 1, leaderId: 1, votedKey: { id: 1 } },
    entries: world.nodes[0]!.entries,
    durable: world.nodes[0]!.durable,
    committed: world.committed,
    state: leader,
    request: null,
  };
  const voteRequest = {
    _tag: "VoteRequest" as const,
    clusterId: null,
    voterId: 1,
    topicName: "__cluster_metadata",
    partitionIndex: 0,
    replicaEpoch: 2,
    replicaId: 3,
    lastOffsetEpoch: 1,
    lastOffset: 2,
    preVote: false,
  };
  const send = (message: RaftEffect & { _tag: "Send" }) => message;

  it("accept what a correct node does", () => {
    const ok: RaftEffect[] = [
      send({
        _tag: "Send",
        to: 2,
        message: { _tag: "BeginQuorumEpochResponse", errorCode: "NONE", leaderId: 1, leaderEpoch: 1 },
      }),
      { _tag: "PersistElectionState", epoch: 2, leaderId: -1 },
      { _tag: "TruncateLog", offset: 2 },
      { _tag: "HighWatermarkUpdated", offset: 2 },
      { _tag: "FlushLog", offset: 2 },
    ];
    for (const effect of ok) expect(checkEffect(effect, ctx)).toBeNull();
    expect(checkStep(leader, leader)).toBeNull();
    expect(checkStep(null, leader)).toBeNull();
  });

  it("PersistBeforeSend catches a message naming an epoch not yet durable (R14)", () => {
    const effect = send({ _tag: "Send", to: 2, message: { ...voteRequest, replicaEpoch: 2, replicaId: 1 } });
    expect(checkEffect(effect, ctx)).toMatch(/^PersistBeforeSend: node 1 sent VoteRequest for epoch 2/);
  });

  it("PersistBeforeSend catches a granted vote that quorum-state does not record (R51)", () => {
    const granted = send({
      _tag: "Send",
      to: 3,
      message: { _tag: "VoteResponse", errorCode: "NONE", leaderId: -1, leaderEpoch: 2, voteGranted: true },
    });
    const context = { ...ctx, persisted: { epoch: 2, leaderId: -1 }, request: voteRequest };
    expect(checkEffect(granted, context)).toMatch(
      /granted its vote in epoch 2 to 3 before quorum-state recorded it/,
    );
    const recorded = { ...context, persisted: { epoch: 2, leaderId: -1, votedKey: { id: 3 } } };
    expect(checkEffect(granted, recorded)).toBeNull();
    expect(checkEffect(granted, { ...context, request: { ...voteRequest, preVote: true } })).toBeNull();
  });

  it("FlushedFetchOffset catches a voter reporting unflushed records (R16)", () => {
    const follower = world.nodes[1]!.state!;
    const fetch = send({
      _tag: "Send",
      to: 1,
      message: {
        _tag: "FetchRequest",
        clusterId: null,
        replicaId: 2,
        maxWaitMs: 500,
        topicId: "AAAAAAAAAAAAAAAAAAAAAQ",
        partition: 0,
        currentLeaderEpoch: 1,
        fetchOffset: 5,
        lastFetchedEpoch: 1,
      },
    });
    expect(checkEffect(fetch, { ...ctx, id: 2, state: follower })).toMatch(
      /^FlushedFetchOffset: voter 2 fetched from offset 5 but only 2 records are on its disk/,
    );
    // The node's own claim does not matter: a state saying 5 are flushed is not believed.
    const claims = { ...follower, log: { ...follower.log, endOffset: 5, flushedOffset: 5 } };
    expect(checkEffect(fetch, { ...ctx, id: 2, state: claims })).toMatch(/^FlushedFetchOffset/);
    expect(checkEffect(fetch, { ...ctx, id: 2, state: follower, durable: 5 })).toBeNull();
  });

  it("MonotonicEpoch, VoteOncePerEpoch and SingleLeader judge quorum-state writes", () => {
    expect(checkEffect({ _tag: "PersistElectionState", epoch: 0, leaderId: -1 }, ctx)).toMatch(
      /^MonotonicEpoch/,
    );
    expect(checkEffect({ _tag: "PersistElectionState", epoch: 1, leaderId: 1 }, ctx)).toMatch(
      /^VoteOncePerEpoch: node 1 voted for 1 in epoch 1, then persisted no vote/,
    );
    expect(
      checkEffect({ _tag: "PersistElectionState", epoch: 1, leaderId: 1, votedKey: { id: 2 } }, ctx),
    ).toMatch(/^VoteOncePerEpoch: node 1 voted for 1 in epoch 1, then persisted a vote for 2/);
    expect(
      checkEffect({ _tag: "PersistElectionState", epoch: 1, leaderId: 2, votedKey: { id: 1 } }, ctx),
    ).toMatch(/^SingleLeader: node 1 recorded leader 1 for epoch 1, then 2/);
    expect(
      checkEffect({ _tag: "PersistElectionState", epoch: 1, leaderId: 1 }, { ...ctx, persisted: null }),
    ).toBeNull();
  });

  it("NeverTruncateCommitted and CommittedPrefixAgreement guard the committed prefix", () => {
    expect(checkEffect({ _tag: "TruncateLog", offset: 1 }, ctx)).toMatch(
      /^NeverTruncateCommitted: node 1 truncated to 1/,
    );
    const diverged = { ...ctx, entries: [makeEntry(1, 0), makeEntry(1, 42)] };
    expect(checkEffect({ _tag: "HighWatermarkUpdated", offset: 2 }, diverged)).toMatch(
      /^CommittedPrefixAgreement/,
    );
    // A follower may not hand its state machine more than any leader ever committed.
    const follower = { ...ctx, id: 2, state: world.nodes[1]!.state! };
    expect(checkEffect({ _tag: "HighWatermarkUpdated", offset: 2 }, follower)).toBeNull();
    expect(checkEffect({ _tag: "HighWatermarkUpdated", offset: 3 }, follower)).toMatch(
      /^CommittedPrefixAgreement: node 2 hands offsets up to 3 to its state machine as committed, but no leader ever committed past 2/,
    );
  });

  it("NoIllegalState reports what the reducer flagged", () => {
    expect(checkEffect({ _tag: "IllegalState", rule: "R42", detail: "two leaders" }, ctx)).toBe(
      "NoIllegalState: node 1: R42: two leaders (R136)",
    );
  });

  it("checkStep catches epoch and high-watermark regressions and a high watermark past the log end", () => {
    expect(checkStep(leader, { ...leader, epoch: 0 })).toMatch(/^MonotonicEpoch/);
    expect(checkStep(leader, { ...leader, highWatermark: 1 })).toMatch(/^MonotonicHighWatermark/);
    expect(checkStep(leader, { ...leader, highWatermark: 9 })).toMatch(/^HighWatermarkWithinLog/);
  });
});

// The world judges these from what the effects did to its disk, never from what a node says.
describe("VoterChangesOneAtATime (R93, R145)", () => {
  const world = healthy();
  const withEntries = (extra: number[]) => {
    const nodes = world.nodes.slice();
    nodes[0] = { ...nodes[0]!, entries: [...nodes[0]!.entries, ...extra] };
    return { ...world, nodes };
  };
  const voters = (...ids: number[]) =>
    makeEntry(1, votersRecordValue(ids.map((id) => ({ id, listeners: controllerListenersOf(id) }))));

  it("accepts one uncommitted change that adds one voter", () => {
    expect(voterChangesOneAtATime(withEntries([voters(1, 2, 3, 4)]), 3)).toBeNull();
  });

  it("catches two uncommitted changes of one epoch, and a change of two voters at once", () => {
    expect(voterChangesOneAtATime(withEntries([voters(1, 2, 3, 4), voters(1, 2, 4)]), 3)).toBe(
      "VoterChangesOneAtATime: node 1's log holds two uncommitted voter changes of epoch 1, the second at offset 3 (R93, R145)",
    );
    expect(voterChangesOneAtATime(withEntries([voters(1)]), 3)).toBe(
      "VoterChangesOneAtATime: node 1's log goes from voters 1,2,3 to 1 at offset 2 (R93)",
    );
  });
});

describe("step properties the world judges from its disk (R16, R66, R67, R87)", () => {
  const world = healthy();
  const follower = world.nodes[1]!.state!;
  const leader = world.nodes[0]!.state!;
  const payload = () => 7;
  const judged = (index: number, before: NodeState, after: NodeState, effects: RaftEffect[]) =>
    applyEffects(world, index, before, after, effects, payload, null).broken;

  it("accept a correct append and flush", () => {
    const appended = { ...leader, log: { ...leader.log, endOffset: 3 } };
    expect(
      judged(0, leader, appended, [
        { _tag: "AppendRecords", baseOffset: 2, epoch: 1, count: 1 },
        { _tag: "AppendAccepted", epoch: 1, baseOffset: 2, lastOffset: 2 },
      ]),
    ).toBeNull();
  });

  it("LogShapeMatchesDisk catches a node whose log is not what its effects left", () => {
    const longer = { ...follower, log: { ...follower.log, endOffset: 3 } };
    expect(judged(1, follower, longer, [])).toBe(
      "LogShapeMatchesDisk: node 2 believes its log ends at 3, but its appends and truncations left 2 records (R67)",
    );
    const wrongEpochs = { ...follower, log: { ...follower.log, epochs: [{ epoch: 2, startOffset: 0 }] } };
    expect(judged(1, follower, wrongEpochs, [])).toBe(
      "LogShapeMatchesDisk: node 2's epoch cache does not match its records at offset 0 (R3, R67)",
    );
  });

  it("VoterSetMatchesLog catches a node counting a VotersRecord its records do not hold (R91)", () => {
    const claims = {
      ...follower,
      log: { ...follower.log, voterSets: [{ offset: 1, voters: [{ id: 1 }, { id: 2 }] }] },
    };
    expect(judged(1, follower, claims, [])).toBe(
      "VoterSetMatchesLog: node 2 counts voter sets 1:1,2, but its records hold none (R91)",
    );
  });

  it("VoterIdsUnique catches a voter set that names an id twice (R96), before comparing it with the disk", () => {
    const replaced = directoryIdOf(2, true);
    const twice = [{ id: 1 }, { id: 2 }, { id: 2, directoryId: replaced }];
    expect(judged(1, follower, { ...follower, voters: twice }, [])).toBe(
      "VoterIdsUnique: node 2 uses voters 1,2,2', which name node 2 twice (R96)",
    );
    const counted = { ...follower, log: { ...follower.log, voterSets: [{ offset: 1, voters: twice }] } };
    expect(judged(1, follower, counted, [])).toBe(
      "VoterIdsUnique: node 2 counts voters 1,2,2' from offset 1, which name node 2 twice (R96)",
    );
  });

  it("FlushedWithinDisk catches a node counting an unflushed record as flushed", () => {
    const appended = { ...follower, log: { ...follower.log, endOffset: 3, flushedOffset: 3 } };
    expect(
      judged(1, follower, appended, [{ _tag: "AppendRecords", baseOffset: 2, epoch: 1, count: 1 }]),
    ).toBe("FlushedWithinDisk: node 2 counts 3 records as flushed, but only 2 reached the disk (R16)");
  });

  it("AppendAtLogEnd catches an append that does not start at the end of the disk's log", () => {
    expect(
      judged(1, follower, follower, [{ _tag: "AppendRecords", baseOffset: 1, epoch: 1, count: 1 }]),
    ).toBe("AppendAtLogEnd: node 2 appended at offset 1 but its log ends at 2 (R66, R67)");
  });

  it("the snapshot properties catch a log start without a snapshot, a snapshot beyond the commit, parts out of order, a partial install, a leader loading and a listener not told (R77-R84)", () => {
    const committed = world.committed.length;
    const trimmed = {
      ...follower,
      log: {
        ...follower.log,
        startOffset: 1,
        epochs: follower.log.epochs.map((e) => ({ ...e, startOffset: 1 })),
      },
    };
    expect(judged(1, follower, trimmed, [{ _tag: "DeleteLogBefore", offset: 1 }])).toBe(
      "SnapshotAtLogStart: node 2's log starts at 1, but its oldest snapshot ends at none (R79, R134)",
    );
    expect(
      judged(1, follower, follower, [{ _tag: "WriteSnapshot", endOffset: committed + 1, epoch: 1 }]),
    ).toBe(
      `SnapshotMatchesCommitted: node 2 wrote a snapshot ending at ${committed + 1}, beyond the ${committed} records ever committed (R77, R144)`,
    );
    expect(
      judged(1, follower, follower, [{ _tag: "WriteSnapshotChunk", endOffset: 2, epoch: 1, position: 1 }]),
    ).toBe(
      "SnapshotChunkInOrder: node 2 wrote snapshot 2-1 at byte 1, but its partial download holds nothing (R83)",
    );
    expect(judged(1, follower, follower, [{ _tag: "InstallSnapshot", endOffset: 2, epoch: 1 }])).toBe(
      "SnapshotDownloadedWhole: node 2 installed snapshot 2-1 but downloaded 0 of its records (R83)",
    );
    expect(judged(0, leader, leader, [{ _tag: "LoadSnapshot", endOffset: 2, epoch: 1 }])).toBe(
      `LeaderNeverLoadSnapshot: node 1 leads epoch ${leader.epoch} and loads snapshot 2-1 (R84, R134)`,
    );
    // A whole download installed without the listener being told to load it.
    const slot = world.nodes[1]!;
    const downloading = {
      ...world,
      nodes: world.nodes.map((n, i) =>
        i === 1 ? { ...slot, partial: { endOffset: committed, epoch: 1, entries: world.committed } } : n,
      ),
    };
    expect(
      applyEffects(
        downloading,
        1,
        follower,
        follower,
        [{ _tag: "InstallSnapshot", endOffset: committed, epoch: 1 }],
        payload,
        null,
      ).broken,
    ).toBe(
      `ListenerLoadsSnapshot: node 2's log starts at ${committed}, beyond what its listener has, and it was not told to load a snapshot (R84)`,
    );
  });

  it("AcceptedOnlyByLeader catches a write taken by a node that does not lead that epoch", () => {
    const appended = { ...follower, log: { ...follower.log, endOffset: 3 } };
    expect(
      judged(1, follower, appended, [
        { _tag: "AppendRecords", baseOffset: 2, epoch: 1, count: 1 },
        { _tag: "AppendAccepted", epoch: 1, baseOffset: 2, lastOffset: 2 },
      ]),
    ).toBe("AcceptedOnlyByLeader: node 2 accepted a client write in epoch 1 as Follower of epoch 1 (R87)");
    // The leader itself, but for an epoch it does not lead: a stale client's write.
    const appendedByLeader = { ...leader, log: { ...leader.log, endOffset: 3 } };
    expect(
      judged(0, leader, appendedByLeader, [
        { _tag: "AppendRecords", baseOffset: 2, epoch: 1, count: 1 },
        { _tag: "AppendAccepted", epoch: 0, baseOffset: 2, lastOffset: 2 },
      ]),
    ).toBe("AcceptedOnlyByLeader: node 1 accepted a client write in epoch 0 as Leader of epoch 1 (R87)");
  });
});
