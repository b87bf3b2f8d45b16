// Every property the checker judges must be able to fail. The properties the metadata world judges
// from its own ghost state (who sent a request, what committed, what each node's image should be) are
// shown failing here on worlds built by the world's own operations, with one fact falsified the way a
// buggy node would; the others are shown failing next to their judges (SHOWN_FAILING lists where),
// and a property that is added without such a test fails the registry below.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DEFAULT_BOUNDS } from "../spec/cluster/actions.ts";
import {
  ADMIN_ID,
  adminRequest,
  bootstrappedWorld,
  crashNode,
  DEFAULT_METADATA_CLUSTER,
  deliverMetaMessage,
  deliverRaftMessage,
  type MetadataWorld,
  settle,
  startNode,
  takeSnapshot,
} from "../spec/cluster/metadata-world.ts";
import { DEFAULT_CLUSTER, initialWorld } from "../spec/cluster/world.ts";
import { imageView, withTopics } from "../spec/metadata/image.ts";
import type { ControllerRequest } from "../spec/metadata/requests.ts";
import { metadataModel } from "../src/checker/metadata-model.ts";
import type { Property } from "../src/checker/model.ts";
import { raftModel } from "../src/checker/raft-model.ts";
import { CHECK_FLAGS, metadataConfigFrom } from "../src/cli/check.ts";
import { parseFlags } from "../src/cli/flags.ts";

const spec = DEFAULT_METADATA_CLUSTER;
const metadata = metadataModel(metadataConfigFrom(parseFlags(CHECK_FLAGS, ["--model", "metadata"]).values));
const raft = raftModel({ cluster: DEFAULT_CLUSTER, bounds: DEFAULT_BOUNDS, symmetry: false });

/** What a property says of a world: its complaint, or null. */
const judge = (name: string, world: MetadataWorld): string | null => {
  const found = metadata.properties.filter((p) => p.name === name);
  expect(found.length).toBeGreaterThan(0);
  for (const p of found) {
    const problem = p.kind === "always" ? p.check(world) : p.kind === "eventually" ? p.goal(world) : null;
    if (problem !== null) return problem;
  }
  return null;
};

const healthy = bootstrappedWorld(spec, 1);
const activeIndex = (w: MetadataWorld): number => w.apps.findIndex((a) => a.controller?.active === true);
const createTopic = (name: string): ControllerRequest => ({
  _tag: "CreateTopicsRequest",
  validateOnly: false,
  topics: [{ name, numPartitions: 1, replicationFactor: 2, assignments: [], configs: [] }],
});

/** The admin's CreateTopics taken by the active controller: proposed, not committed. */
const pendingCreate = (): MetadataWorld => {
  const sent = adminRequest(healthy, activeIndex(healthy) + 1, createTopic("u")).world;
  const taken = deliverMetaMessage(sent, spec, sent.network.length - 1).world;
  expect(taken.writes).toHaveLength(1);
  return taken;
};

describe("the metadata world's own judgements can fail", () => {
  it("the healthy world breaks none of them", () => {
    for (const p of metadata.properties) {
      if (p.kind === "always") expect(p.check(healthy)).toBeNull();
    }
  });

  it("OnlyBrokersSpeakForThemselves: a controller takes a heartbeat from another node (R148)", () => {
    const controller = activeIndex(healthy);
    const broker4 = healthy.apps[3]!.broker!;
    const world = deliverMetaMessage(
      {
        ...healthy,
        network: [
          {
            from: 5,
            to: controller + 1,
            correlationId: 77,
            toStart: healthy.apps[controller]!.starts,
            fromStart: healthy.apps[4]!.starts,
            body: {
              kind: "request",
              request: {
                _tag: "BrokerHeartbeatRequest",
                brokerId: 4,
                brokerEpoch: broker4.brokerEpoch,
                currentMetadataOffset: broker4.image.offset,
                wantFence: true,
                wantShutDown: false,
              },
            },
          },
        ],
      },
      spec,
      0,
    ).world;
    expect(judge("OnlyBrokersSpeakForThemselves", world)).toBe(
      "OnlyBrokersSpeakForThemselves: controller 1 handled a BrokerHeartbeatRequest for broker 4 that came from node 5 (R148)",
    );
  });

  it("SnapshotMatchesImage: a snapshot that does not rebuild the committed image where it ends (R131)", () => {
    const standby = healthy.apps[1]!;
    const committed = standby.controller!.committed;
    expect(judge("SnapshotMatchesImage", takeSnapshot(healthy, spec, 1).world)).toBeNull();
    // A standby whose image holds a producer id block the log never granted.
    const apps = healthy.apps.slice();
    apps[1] = {
      ...standby,
      controller: { ...standby.controller!, committed: { ...committed, nextProducerId: 5000 } },
    };
    expect(judge("SnapshotMatchesImage", takeSnapshot({ ...healthy, apps }, spec, 1).world)).toBe(
      `SnapshotMatchesImage: node 2's snapshot at ${standby.listenerOffset} does not rebuild the committed image there (R131)`,
    );
  });

  it("SuccessOnlyWhenCommitted: a success answered for records that did not commit as written (R104)", () => {
    const pending = pendingCreate();
    const write = pending.writes[0]!;
    // The ghost remembers the write as one record longer than what will commit.
    const longer = { ...pending, writes: [{ ...write, lastOffset: write.lastOffset + 5 }] };
    const done = settle(longer, spec);
    expect(judge("SuccessOnlyWhenCommitted", done)).toBe(
      `SuccessOnlyWhenCommitted: node 1 answered CreateTopicsResponse to ${ADMIN_ID}#1 before offsets ${write.baseOffset}..${write.lastOffset + 5} committed`,
    );
    expect(judge("SuccessOnlyWhenCommitted", settle(pending, spec))).toBeNull();
  });

  it("SameCommittedPrefixSameImage: a controller's committed image that is not the log's replay (R128)", () => {
    const pending = pendingCreate();
    const standby = pending.apps.findIndex((a) => a.controller !== null && !a.controller.active);
    const app = pending.apps[standby]!;
    const committed = app.controller!.committed;
    const forgetful = withTopics(committed, []);
    const apps = pending.apps.slice();
    apps[standby] = { ...app, controller: { ...app.controller!, committed: forgetful, image: forgetful } };
    const done = settle({ ...pending, apps }, spec);
    expect(judge("SameCommittedPrefixSameImage", done)).toMatch(
      new RegExp(
        `^SameCommittedPrefixSameImage: node ${standby + 1}'s image at offset \\d+ differs from the replay of the committed log$`,
      ),
    );
  });

  it("the committed records are judged as they commit: a record that does not fit (R122)", () => {
    const pending = pendingCreate();
    // The proposal's TopicRecord is replaced, before it commits, by one naming a topic that exists.
    const records = pending.records.map((r) =>
      r._tag === "TopicRecord" && r.name === "u" ? { ...r, name: "t" } : r,
    );
    const done = settle({ ...pending, records }, spec);
    expect(judge("RecordsFit", done)).toMatch(/^RecordsFit: .*topic t already exists$/);
  });

  it("CommittedImageInvariants: what the commit check finds wrong with a committed image", () => {
    // The check of each newly committed image (imageProblem, shown failing in
    // spec/invariants/metadata.test.ts) names an image invariant, not a transition: this property
    // reports whatever such name the world records.
    const broken = { ...healthy, broken: "IsrNonEmpty: u-0 has an empty ISR (committed image at offset 12)" };
    expect(judge("CommittedImageInvariants", broken)).toBe(broken.broken);
    for (const p of metadata.properties)
      if (p.kind === "always" && p.name !== "CommittedImageInvariants") expect(p.check(broken)).toBeNull();
  });

  it("NoIllegalState: a message naming a second leader for the epoch (R42)", () => {
    const leader = healthy.raft.nodes.findIndex((n) => n.state?.role._tag === "Leader");
    const other = leader === 0 ? 1 : 0;
    const epoch = healthy.raft.nodes[leader]!.state!.epoch;
    const world = deliverRaftMessage(
      {
        ...healthy,
        raft: {
          ...healthy.raft,
          network: [
            {
              from: other + 1,
              to: 3,
              correlationId: 99,
              payload: null,
              message: {
                _tag: "BeginQuorumEpochRequest",
                clusterId: null,
                voterId: 3,
                topicName: "__cluster_metadata",
                partitionIndex: 0,
                leaderId: other + 1,
                leaderEpoch: epoch,
              },
            },
          ],
        },
      },
      spec,
      0,
    ).world;
    expect(judge("NoIllegalState", world)).toBe(
      `NoIllegalState: node 3: R42: epoch ${epoch} has leader ${leader + 1} here, but a message names leader ${other + 1} (R136)`,
    );
  });

  it("ActiveControllerCaughtUp: a controller active before it read its epoch's LeaderChange record (R58, KAFKA-15345)", () => {
    const active = activeIndex(healthy);
    expect(judge("ActiveControllerCaughtUp", healthy)).toBeNull();
    const role = healthy.raft.nodes[active]!.state!.role;
    if (role._tag !== "Leader") throw new Error("the active controller's node leads");
    const apps = healthy.apps.slice();
    apps[active] = { ...apps[active]!, listenerOffset: role.epochStartOffset };
    expect(judge("ActiveControllerCaughtUp", { ...healthy, apps })).toBe(
      `ActiveControllerCaughtUp: controller n${active + 1} is active in epoch ${healthy.raft.nodes[active]!.state!.epoch} having read the log below offset ${role.epochStartOffset} only, but its epoch starts at ${role.epochStartOffset}`,
    );
    // Active in a later epoch (as after a restart that told it so, KAFKA-17333) without the records
    // committed before it.
    const controller = healthy.apps[active]!.controller!;
    apps[active] = {
      ...apps[active]!,
      controller: { ...controller, epoch: controller.epoch + 1 },
      listenerOffset: 1,
    };
    expect(judge("ActiveControllerCaughtUp", { ...healthy, apps })).toBe(
      `ActiveControllerCaughtUp: controller n${active + 1} is active in epoch ${controller.epoch + 1} having read the log below offset 1 only, but offsets up to ${healthy.raft.committed.length - 1} were committed in earlier epochs`,
    );
  });

  it("ImageInvariants and RaftSafety judge every node's state", () => {
    const apps = healthy.apps.slice();
    const broker = apps[3]!.broker!;
    apps[3] = {
      ...apps[3]!,
      broker: {
        ...broker,
        image: withTopics(
          broker.image,
          imageView(broker.image).topics.map((t) => ({
            ...t,
            partitions: t.partitions.map((p) => ({ ...p, isr: [] })),
          })),
        ),
      },
    };
    expect(judge("ImageInvariants", { ...healthy, apps })).toBe(
      "IsrNonEmpty: t-0 has an empty ISR (image of n4)",
    );
    const nodes = healthy.raft.nodes.map((n, i) =>
      i === 1 ? { ...n, state: { ...n.state!, role: healthy.raft.nodes[0]!.state!.role } } : n,
    );
    expect(judge("RaftSafety", { ...healthy, raft: { ...healthy.raft, nodes } })).toMatch(
      /^ElectionSafety: nodes 1 and 2 both lead epoch \d+/,
    );
  });
});

describe("the catch-alls report a judgement no named property claims", () => {
  it("StepProperty: a step property without a name of its own in the Raft model", () => {
    const world = initialWorld(DEFAULT_CLUSTER).world;
    const broken = { ...world, broken: "SomeNewProperty: node 1 did something (R1)" };
    const reporting = raft.properties.filter((p) => p.kind === "always" && p.check(broken) !== null);
    expect(reporting.map((p) => p.name)).toEqual(["StepProperty"]);
  });
});

describe("the metadata model's liveness goals can fail (R137)", () => {
  it("EventuallyActiveController: the quorum's leader runs the active controller", () => {
    expect(judge("EventuallyActiveController", healthy)).toBeNull();
    const apps = healthy.apps.map((a) =>
      a.controller?.active === true ? { ...a, controller: { ...a.controller, active: false } } : a,
    );
    expect(judge("EventuallyActiveController", { ...healthy, apps })).toBe(
      "controller 1 leads the quorum but is not active",
    );
  });

  it("EventuallyBrokersRunning: every live broker registered, unfenced, running the committed image", () => {
    expect(judge("EventuallyBrokersRunning", healthy)).toBeNull();
    const restarted = crashNode(healthy, spec, 3).world;
    expect(judge("EventuallyBrokersRunning", restarted)).toBeNull();
    const apps = healthy.apps.slice();
    apps[4] = { ...apps[4]!, broker: { ...apps[4]!.broker!, lifecycle: "RECOVERY" } };
    expect(judge("EventuallyBrokersRunning", { ...healthy, apps })).toBe("broker 5 is RECOVERY");
  });

  it("EventuallyAdminAnswered: every admin request answered", () => {
    const sent = adminRequest(healthy, 1, createTopic("v")).world;
    expect(judge("EventuallyAdminAnswered", sent)).toBe("the admin client's request #1 has no answer");
    expect(judge("EventuallyAdminAnswered", settle(sent, spec))).toBeNull();
  });

  it("EventuallyWritesResolved, EventuallyCaughtUp and EventuallyLeaderWithoutQuorumResigns read the quorum", () => {
    const pending = pendingCreate();
    expect(judge("EventuallyWritesResolved", pending)).toMatch(/^leader 1 has records up to \d+ but/);
    expect(judge("EventuallyCaughtUp", pending)).toBeNull();
    const restarted = startNode(crashNode(healthy, spec, 4).world, spec, 4).world;
    expect(judge("EventuallyCaughtUp", restarted)).toMatch(
      /^node 5 has high watermark .* behind the leader's high watermark \d+$/,
    );
    const alone = crashNode(crashNode(healthy, spec, 1).world, spec, 2).world;
    expect(judge("EventuallyLeaderWithoutQuorumResigns", alone)).toBe(
      "leader 1 of epoch 1 still leads with 1 of 3 voters running",
    );
  });
});

// Where each property the checker judges is shown failing (beyond this file).
const SHOWN_FAILING: Readonly<Record<string, string>> = {
  ElectionSafety: "spec/invariants/invariants.test.ts",
  PersistBeforeSend: "spec/invariants/invariants.test.ts",
  FlushedFetchOffset: "spec/invariants/invariants.test.ts",
  VoteOncePerEpoch: "spec/invariants/invariants.test.ts",
  SingleLeader: "spec/invariants/invariants.test.ts",
  MonotonicEpoch: "spec/invariants/invariants.test.ts",
  MonotonicHighWatermark: "spec/invariants/invariants.test.ts",
  HighWatermarkWithinLog: "spec/invariants/invariants.test.ts",
  NeverTruncateCommitted: "spec/invariants/invariants.test.ts",
  CommittedPrefixAgreement: "spec/invariants/invariants.test.ts",
  NoIllegalState: "spec/invariants/invariants.test.ts",
  LogShapeMatchesDisk: "spec/invariants/invariants.test.ts",
  VoterSetMatchesLog: "spec/invariants/invariants.test.ts",
  VoterIdsUnique: "spec/invariants/invariants.test.ts",
  VoterChangesOneAtATime: "spec/invariants/invariants.test.ts",
  FlushedWithinDisk: "spec/invariants/invariants.test.ts",
  AppendAtLogEnd: "spec/invariants/invariants.test.ts",
  AcceptedOnlyByLeader: "spec/invariants/invariants.test.ts",
  SnapshotAtLogStart: "spec/invariants/invariants.test.ts",
  SnapshotMatchesCommitted: "spec/invariants/invariants.test.ts",
  SnapshotChunkInOrder: "spec/invariants/invariants.test.ts",
  SnapshotDownloadedWhole: "spec/invariants/invariants.test.ts",
  LeaderNeverLoadSnapshot: "spec/invariants/invariants.test.ts",
  ListenerLoadsSnapshot: "spec/invariants/invariants.test.ts",
  LogMatching: "spec/invariants/invariants.test.ts",
  LeaderCompleteness: "spec/invariants/invariants.test.ts",
  CommittedDurability: "spec/invariants/invariants.test.ts",
  MajorityReachedHighWatermark: "spec/invariants/invariants.test.ts",
  HighWatermarkInOwnEpoch: "spec/invariants/invariants.test.ts",
  RecordsFromLeaders: "spec/invariants/invariants.test.ts",
  StepProperty: "model-tests/properties-can-fail.test.ts",
  EventuallyStableLeader: "spec/invariants/liveness.test.ts",
  EventuallyWritesResolved: "spec/invariants/liveness.test.ts",
  EventuallyCaughtUp: "spec/invariants/liveness.test.ts",
  EventuallyLeaderWithoutQuorumResigns: "spec/invariants/liveness.test.ts",
  WritesOnlyWhenActive: "spec/invariants/metadata.test.ts",
  WritesInOwnEpoch: "spec/invariants/metadata.test.ts",
  LeaderUsableWhenChosen: "spec/invariants/metadata.test.ts",
  LeaderEpochBumps: "spec/invariants/metadata.test.ts",
  PartitionEpochBumps: "spec/invariants/metadata.test.ts",
  CleanElection: "spec/invariants/metadata.test.ts",
  UncleanLeaderRecovers: "spec/invariants/metadata.test.ts",
  IsrUsableWhenAdded: "spec/invariants/metadata.test.ts",
  BrokerEpochIsOffset: "spec/invariants/metadata.test.ts",
  BrokerEpochIncreases: "spec/invariants/metadata.test.ts",
  BrokerEpochKept: "spec/invariants/metadata.test.ts",
  NoDuplicateRegistration: "spec/invariants/metadata.test.ts",
  UnfenceWhenCaughtUp: "spec/invariants/metadata.test.ts",
  AlterPartitionFromCurrentIncarnation: "spec/invariants/metadata.test.ts",
  IsrMembersEligible: "spec/invariants/metadata.test.ts",
  TopicNameUnique: "spec/invariants/metadata.test.ts",
  RecordsFit: "model-tests/properties-can-fail.test.ts",
  SuccessOnlyWhenCommitted: "model-tests/properties-can-fail.test.ts",
  SameCommittedPrefixSameImage: "model-tests/properties-can-fail.test.ts",
  OnlyBrokersSpeakForThemselves: "model-tests/properties-can-fail.test.ts",
  SnapshotMatchesImage: "model-tests/properties-can-fail.test.ts",
  CommittedImageInvariants: "model-tests/properties-can-fail.test.ts",
  ImageInvariants: "model-tests/properties-can-fail.test.ts",
  ActiveControllerCaughtUp: "model-tests/properties-can-fail.test.ts",
  RaftSafety: "model-tests/properties-can-fail.test.ts",
  EventuallyActiveController: "model-tests/properties-can-fail.test.ts",
  EventuallyBrokersRunning: "model-tests/properties-can-fail.test.ts",
  EventuallyAdminAnswered: "model-tests/properties-can-fail.test.ts",
};

describe("every property has a test that shows it failing", () => {
  const judged = (properties: readonly Property<unknown>[]) =>
    properties.filter((p) => p.kind !== "sometimes").map((p) => p.name);
  const names = new Set([
    ...judged(raft.properties as readonly Property<unknown>[]),
    ...judged(metadata.properties as readonly Property<unknown>[]),
  ]);

  it("lists every property of both models", () => {
    expect([...names].filter((n) => SHOWN_FAILING[n] === undefined)).toEqual([]);
    expect(Object.keys(SHOWN_FAILING).filter((n) => !names.has(n))).toEqual([]);
  });

  it("names each property in the test file said to show it failing", () => {
    const root = join(import.meta.dirname, "..");
    const missing = Object.entries(SHOWN_FAILING).filter(
      ([name, file]) => !readFileSync(join(root, file), "utf8").includes(name),
    );
    expect(missing).toEqual([]);
  });
});
