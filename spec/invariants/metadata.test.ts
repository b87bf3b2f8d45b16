// Each metadata property must be able to fail: hand-made images, records and controller steps that
// break one rule each, and the exact complaint each gets.
import { describe, expect, it } from "vitest";
import {
  type ControllerEffect,
  type ControllerInput,
  type ControllerState,
  initialControllerState,
} from "../metadata/controller.ts";
import {
  apply,
  type ConfigEntry,
  EMPTY_IMAGE,
  imageView,
  type MetadataImage,
  type PartitionState,
  type TopicImage,
  topicsOf,
  withConfigs,
  withTopics,
} from "../metadata/image.ts";
import type { MetadataRecord } from "../metadata/records.ts";
import type { ControllerRequest, ControllerResponse } from "../metadata/requests.ts";
import { EMPTY_CHUNKS } from "../metadata/sorted-chunks.ts";
import { controllerStepProblem, imageProblem, recordProblem, reportsSuccess } from "./metadata.ts";

const T = "AAAAAAAAAAAAAAAAAAAAAQ";
const broker = (id: number, fenced = false, epoch = id) => ({
  id,
  incarnationId: `incarnation${id}`.padEnd(22, "x"),
  epoch,
  endPoints: [],
  features: [],
  rack: null,
  fenced,
  inControlledShutdown: false,
});
const partition = (fields: Partial<PartitionState> = {}): PartitionState => ({
  partitionId: 0,
  replicas: [4, 5],
  isr: [4, 5],
  removingReplicas: [],
  addingReplicas: [],
  leader: 4,
  leaderRecoveryState: 0,
  leaderEpoch: 0,
  partitionEpoch: 0,
  ...fields,
});
const image = (
  p: PartitionState = partition(),
  brokers = [broker(4), broker(5)],
  configs: readonly ConfigEntry[] = [],
): MetadataImage =>
  withTopics(withConfigs({ ...EMPTY_IMAGE, offset: 10, epoch: 1, brokers }, configs), [
    { name: "t", topicId: T, partitions: [p] },
  ]);

describe("image invariants", () => {
  it("hold for a healthy image", () => {
    expect(imageProblem(image())).toBeNull();
    expect(imageProblem(image(partition({ leader: -1, isr: [4] }), [broker(4, true), broker(5)]))).toBeNull();
  });

  it("name what is wrong", () => {
    expect(imageProblem(image(partition({ isr: [] })))).toBe("IsrNonEmpty: t-0 has an empty ISR");
    expect(imageProblem(image(partition({ isr: [4, 4] })))).toBe("IsrDistinct: t-0 has ISR [4,4]");
    expect(imageProblem(image(partition({ isr: [4, 6] })))).toBe(
      "IsrWithinReplicas: t-0 has ISR member 6 outside replicas [4,5]",
    );
    expect(imageProblem(image(partition({ leader: 5, isr: [4] })))).toBe(
      "LeaderInIsr: t-0 is led by 5, not in ISR [4]",
    );
    expect(imageProblem(image(partition(), [broker(4, true), broker(5)]))).toBe(
      "LeaderUsable: t-0 is led by broker 4, which is not registered, unfenced and running",
    );
    expect(imageProblem(image(partition(), [broker(4), broker(5, true)]))).toBe(
      "IsrUsable: t-0 keeps unusable broker 5 in ISR [4,5]",
    );
    // Images no replay builds: the topics held as given, bypassing the sorted structure's rules.
    const twice = image();
    const [t] = topicsOf(twice);
    const holding = (...topics: TopicImage[]): MetadataImage => ({
      ...twice,
      topics: { size: topics.length, chunks: [topics] },
    });
    expect(imageProblem(holding(t!, { name: "t", topicId: "B".repeat(22), partitions: EMPTY_CHUNKS }))).toBe(
      "TopicNameUnique: two topics are named t",
    );
    expect(imageProblem(holding(t!, { name: "u", topicId: T, partitions: EMPTY_CHUNKS }))).toBe(
      `TopicIdUnique: two topics have id ${T}`,
    );
    expect(imageProblem(holding(t!, { name: "u", topicId: "C".repeat(22), partitions: EMPTY_CHUNKS }))).toBe(
      `TopicIdUnique: topic u's id ${"C".repeat(22)} does not find it`,
    );
    expect(imageProblem({ ...twice, topicNamesById: EMPTY_IMAGE.topicNamesById })).toBe(
      `TopicIdUnique: topic t's id ${T} does not find it`,
    );
    expect(imageProblem({ ...twice, topics: EMPTY_IMAGE.topics })).toBe(
      "TopicIdUnique: 1 topic ids for 0 topics",
    );
    // The index of partitions by broker, taken from another image: a partition it misses, one too many.
    expect(imageProblem({ ...twice, partitionsByBroker: EMPTY_IMAGE.partitionsByBroker })).toBe(
      "PartitionIndexComplete: t-0 is not indexed under broker 4",
    );
    const leaderless = image(partition({ leader: -1, isr: [4] }), [broker(4, true), broker(5)]);
    expect(imageProblem({ ...leaderless, partitionsByBroker: twice.partitionsByBroker })).toBe(
      "PartitionIndexComplete: t-0 is not indexed under no leader",
    );
    const more = withTopics(twice, [
      { name: "t", topicId: T, partitions: [partition(), partition({ partitionId: 1 })] },
    ]);
    expect(imageProblem({ ...twice, partitionsByBroker: more.partitionsByBroker })).toBe(
      "PartitionIndexExact: the index holds 4 broker-partition pairs, the partitions have 2",
    );
    const orphan = { resourceType: 2, resourceName: "gone", name: "retention.ms", value: "1" };
    expect(imageProblem(image(partition(), [broker(4), broker(5)], [orphan]))).toBe(
      "TopicConfigsExist: retention.ms is set for topic gone, which does not exist",
    );
    // Broker configs name no topic.
    expect(
      imageProblem(image(partition(), [broker(4), broker(5)], [{ ...orphan, resourceType: 4 }])),
    ).toBeNull();
  });
});

const change = (
  fields: Partial<Extract<MetadataRecord, { _tag: "PartitionChangeRecord" }>>,
): MetadataRecord => ({
  _tag: "PartitionChangeRecord",
  partitionId: 0,
  topicId: T,
  isr: null,
  leader: -2,
  replicas: null,
  removingReplicas: null,
  addingReplicas: null,
  leaderRecoveryState: -1,
  ...fields,
});

describe("record properties", () => {
  const register = (brokerId: number, incarnationId: string, brokerEpoch: number): MetadataRecord => ({
    _tag: "RegisterBrokerRecord",
    brokerId,
    incarnationId,
    brokerEpoch,
    endPoints: [],
    features: [],
    rack: null,
    fenced: true,
    inControlledShutdown: false,
  });

  it("accept what a correct controller writes", () => {
    expect(recordProblem(image(), change({ isr: [4] }), 11, 1)).toBeNull();
    expect(recordProblem(image(), change({ leader: 5, isr: [5] }), 11, 1)).toBeNull();
    expect(recordProblem(image(), register(6, "x".repeat(22), 11), 11, 1)).toBeNull();
    expect(recordProblem(image(), register(4, broker(4).incarnationId, 4), 11, 1)).toBeNull();
    expect(recordProblem(image(), { _tag: "NoOpRecord" }, 11, 1)).toBeNull();
  });

  it("name what is wrong", () => {
    const fenced5 = image(partition({ isr: [4] }), [broker(4), broker(5, true)]);
    expect(recordProblem(image(), change({ partitionId: 9 }), 11, 1)).toBe(
      `RecordsFit: offset 11: no partition 9 of topic id ${T}`,
    );
    expect(recordProblem(fenced5, change({ leader: 5, isr: [5] }), 11, 1)).toBe(
      "LeaderUsableWhenChosen: offset 11 makes unusable broker 5 leader of t-0",
    );
    expect(recordProblem(image(partition({ isr: [4] })), change({ leader: 5 }), 11, 1)).toBe(
      "UncleanLeaderRecovers: t-0 got leader 5 from outside ISR [4] without ISR [5] and RECOVERING",
    );
    expect(recordProblem(fenced5, change({ isr: [4, 5] }), 11, 1)).toBe(
      "IsrUsableWhenAdded: offset 11 adds unusable broker 5 to the ISR of t-0",
    );
    expect(recordProblem(image(), register(6, "x".repeat(22), 12), 11, 1)).toBe(
      "BrokerEpochIsOffset: broker 6 registered at offset 11 with epoch 12",
    );
    expect(recordProblem(image(), register(5, "y".repeat(22), 11), 11, 1)).toBeNull();
    expect(
      recordProblem(
        image(partition(), [broker(4), broker(5, false, 20)]),
        register(5, "y".repeat(22), 11),
        11,
        1,
      ),
    ).toBe("BrokerEpochIncreases: broker 5 went from epoch 20 to 11");
    expect(recordProblem(image(), register(4, broker(4).incarnationId, 9), 11, 1)).toBe(
      "BrokerEpochKept: broker 4 re-registered the same incarnation with epoch 9, was 4",
    );
    expect(recordProblem(image(), { _tag: "TopicRecord", name: "t", topicId: "C".repeat(22) }, 11, 1)).toBe(
      "RecordsFit: offset 11: topic t already exists",
    );
    const created = {
      _tag: "PartitionRecord",
      partitionId: 1,
      topicId: T,
      replicas: [4, 5],
      isr: [4, 5],
      removingReplicas: [],
      addingReplicas: [],
      leader: 5,
      leaderRecoveryState: 0,
      leaderEpoch: 0,
      partitionEpoch: 0,
    } as const;
    expect(recordProblem(fenced5, created, 11, 1)).toBe(
      "LeaderUsableWhenChosen: offset 11 creates a partition led by unusable broker 5",
    );
    expect(recordProblem(fenced5, { ...created, leader: 4 }, 11, 1)).toBe(
      "IsrUsableWhenAdded: offset 11 creates a partition with unusable ISR member 5",
    );
  });
});

describe("the replay's epoch bumps (R122)", () => {
  // A replay that forgets a bump: the record is fine, the image after it is not.
  const forgets =
    (field: "leaderEpoch" | "partitionEpoch") =>
    (before: MetadataImage, record: MetadataRecord, offset: number, epoch: number) => {
      const applied = apply(before, record, offset, epoch);
      const stale = partitionOfImage(before);
      return {
        ...applied,
        image: withTopics(
          applied.image,
          imageView(applied.image).topics.map((t) => ({
            ...t,
            partitions: t.partitions.map((p) => ({ ...p, [field]: stale[field] })),
          })),
        ),
      };
    };
  const partitionOfImage = (img: MetadataImage): PartitionState => imageView(img).topics[0]!.partitions[0]!;

  it("PartitionEpochBumps catches a change that leaves the partition epoch", () => {
    expect(recordProblem(image(), change({ isr: [4] }), 11, 1, forgets("partitionEpoch"))).toBe(
      "PartitionEpochBumps: t-0 went from partition epoch 0 to 0 at offset 11",
    );
  });

  it("LeaderEpochBumps catches a new leader without a new leader epoch", () => {
    expect(recordProblem(image(), change({ leader: 5, isr: [5] }), 11, 1, forgets("leaderEpoch"))).toBe(
      "LeaderEpochBumps: t-0 went from leader epoch 0 to 0 at offset 11 (leader 5)",
    );
    // Without a change of leader the leader epoch stays: the same replay is then correct.
    expect(recordProblem(image(), change({ isr: [4] }), 11, 1, forgets("leaderEpoch"))).toBeNull();
  });
});

describe("controller step properties", () => {
  const active = (img: MetadataImage): ControllerState => ({
    ...initialControllerState(1),
    active: true,
    epoch: 2,
    image: img,
    committed: img,
    nextOffset: 11,
  });
  const propose = (records: MetadataRecord[], epoch = 2): ControllerEffect => ({
    _tag: "Propose",
    epoch,
    baseOffset: 11,
    records,
  });
  const request = (r: ControllerRequest): ControllerInput => ({
    _tag: "Request",
    from: 4,
    correlationId: 1,
    request: r,
  });

  it("write only while active and in their own epoch", () => {
    const standby = initialControllerState(1);
    expect(
      controllerStepProblem(standby, { _tag: "IdleTimeout" }, standby, [
        propose([{ _tag: "NoOpRecord" }], -1),
      ]),
    ).toBe("WritesOnlyWhenActive: node 1 proposed while standby");
    const s = active(image());
    expect(controllerStepProblem(s, { _tag: "IdleTimeout" }, s, [propose([{ _tag: "NoOpRecord" }], 1)])).toBe(
      "WritesInOwnEpoch: node 1 proposed for epoch 1 while in 2",
    );
  });

  it("elect from outside the ISR only when allowed or asked", () => {
    const s = active(image(partition({ leader: -1, isr: [4] }), [broker(4, true), broker(5)]));
    const unclean = [propose([change({ leader: 5, isr: [5], leaderRecoveryState: 1 })])];
    expect(controllerStepProblem(s, { _tag: "SessionExpired", brokerId: 4 }, s, unclean)).toBe(
      "CleanElection: node 1 made 5 leader of t-0 from outside ISR [4]",
    );
    const asked = request({ _tag: "ElectLeadersRequest", electionType: 1, topicPartitions: null });
    expect(controllerStepProblem(s, asked, s, unclean)).toBeNull();
    const allowed = active(
      image(
        partition({ leader: -1, isr: [4] }),
        [broker(4, true), broker(5)],
        [{ resourceType: 2, resourceName: "t", name: "unclean.leader.election.enable", value: "true" }],
      ),
    );
    expect(
      controllerStepProblem(allowed, { _tag: "SessionExpired", brokerId: 4 }, allowed, unclean),
    ).toBeNull();
    // The cluster-wide broker default allows it too, unless the topic says otherwise.
    const setting = (resourceType: number, resourceName: string, value: string) => ({
      resourceType,
      resourceName,
      name: "unclean.leader.election.enable",
      value,
    });
    const unclean4 = (configs: ReturnType<typeof setting>[]) =>
      active(image(partition({ leader: -1, isr: [4] }), [broker(4, true), broker(5)], configs));
    const byDefault = unclean4([setting(4, "", "true")]);
    expect(
      controllerStepProblem(byDefault, { _tag: "SessionExpired", brokerId: 4 }, byDefault, unclean),
    ).toBeNull();
    const overridden = unclean4([setting(4, "", "true"), setting(2, "t", "false")]);
    expect(
      controllerStepProblem(overridden, { _tag: "SessionExpired", brokerId: 4 }, overridden, unclean),
    ).toBe("CleanElection: node 1 made 5 leader of t-0 from outside ISR [4]");
  });

  it("accept AlterPartition only from the current incarnation, for eligible members", () => {
    const s = active(image(partition({ isr: [4] })));
    const alter = (brokerEpoch: number, member: { brokerId: number; brokerEpoch: number }) =>
      request({
        _tag: "AlterPartitionRequest",
        brokerId: 4,
        brokerEpoch,
        topics: [
          {
            topicId: T,
            partitions: [
              {
                partitionIndex: 0,
                leaderEpoch: 0,
                newIsrWithEpochs: [{ brokerId: 4, brokerEpoch: 4 }, member],
                leaderRecoveryState: 0,
                partitionEpoch: 0,
              },
            ],
          },
        ],
      });
    const wrote = [propose([change({ isr: [4, 5] })])];
    expect(controllerStepProblem(s, alter(4, { brokerId: 5, brokerEpoch: 5 }), s, wrote)).toBeNull();
    expect(controllerStepProblem(s, alter(3, { brokerId: 5, brokerEpoch: 5 }), s, wrote)).toBe(
      "AlterPartitionFromCurrentIncarnation: accepted an AlterPartition from broker 4 epoch 3, registered 4",
    );
    expect(controllerStepProblem(s, alter(4, { brokerId: 5, brokerEpoch: 1 }), s, wrote)).toBe(
      "IsrMembersEligible: accepted 5 (epoch 1) into an ISR while it is epoch 5, fenced=false",
    );
    expect(controllerStepProblem(s, alter(4, { brokerId: 7, brokerEpoch: 1 }), s, wrote)).toBe(
      "IsrMembersEligible: accepted 7 (epoch 1) into an ISR while it is unregistered",
    );
  });

  it("register a new incarnation only after the old session, and unfence only caught-up brokers", () => {
    const s = {
      ...active(image()),
      sessions: [{ brokerId: 5, metadataOffset: 10, controlledShutdownOffset: -1 }],
    };
    const registration = request({
      _tag: "BrokerRegistrationRequest",
      brokerId: 5,
      clusterId: "c",
      incarnationId: "z".repeat(22),
      listeners: [],
      features: [],
      rack: null,
      previousBrokerEpoch: -1,
    });
    const registered = [
      propose([
        {
          _tag: "RegisterBrokerRecord",
          brokerId: 5,
          incarnationId: "z".repeat(22),
          brokerEpoch: 11,
          endPoints: [],
          features: [],
          rack: null,
          fenced: true,
          inControlledShutdown: false,
        },
      ]),
    ];
    expect(controllerStepProblem(s, registration, s, registered)).toBe(
      "NoDuplicateRegistration: broker 5 registered a new incarnation while the old one is live",
    );
    expect(controllerStepProblem({ ...s, sessions: [] }, registration, s, registered)).toBeNull();
    const heartbeat = request({
      _tag: "BrokerHeartbeatRequest",
      brokerId: 5,
      brokerEpoch: 5,
      currentMetadataOffset: 4,
      wantFence: false,
      wantShutDown: false,
    });
    const unfence = [
      propose([
        {
          _tag: "BrokerRegistrationChangeRecord",
          brokerId: 5,
          brokerEpoch: 5,
          fenced: -1,
          inControlledShutdown: 0,
        },
      ]),
    ];
    expect(controllerStepProblem(s, heartbeat, s, unfence)).toBe(
      "UnfenceWhenCaughtUp: unfenced broker 5 at metadata offset 4, before its registration at 5",
    );
    expect(controllerStepProblem(s, heartbeat, s, [])).toBeNull();
  });
});

describe("what counts as success", () => {
  it("reads every kind of answer", () => {
    const ok: ControllerResponse[] = [
      { _tag: "BrokerRegistrationResponse", errorCode: "NONE", brokerEpoch: 1 },
      {
        _tag: "BrokerHeartbeatResponse",
        errorCode: "NONE",
        isCaughtUp: true,
        isFenced: false,
        shouldShutDown: false,
      },
      {
        _tag: "CreateTopicsResponse",
        topics: [
          {
            name: "t",
            topicId: null,
            errorCode: "NONE",
            errorMessage: null,
            numPartitions: 1,
            replicationFactor: 1,
          },
        ],
      },
      {
        _tag: "DeleteTopicsResponse",
        responses: [{ name: "t", topicId: null, errorCode: "NONE", errorMessage: null }],
      },
      { _tag: "CreatePartitionsResponse", results: [{ name: "t", errorCode: "NONE", errorMessage: null }] },
      {
        _tag: "AlterPartitionResponse",
        errorCode: "NONE",
        topics: [
          {
            topicId: T,
            partitions: [
              {
                partitionIndex: 0,
                errorCode: "NONE",
                leaderId: 4,
                leaderEpoch: 0,
                isr: [4],
                leaderRecoveryState: 0,
                partitionEpoch: 1,
              },
            ],
          },
        ],
      },
      {
        _tag: "ElectLeadersResponse",
        errorCode: "NONE",
        replicaElectionResults: [
          { topic: "t", partitionResult: [{ partitionId: 0, errorCode: "NONE", errorMessage: null }] },
        ],
      },
      {
        _tag: "IncrementalAlterConfigsResponse",
        responses: [{ errorCode: "NONE", errorMessage: null, resourceType: 2, resourceName: "t" }],
      },
      {
        _tag: "DescribeConfigsResponse",
        results: [{ errorCode: "NONE", errorMessage: null, resourceType: 2, resourceName: "t", configs: [] }],
      },
    ];
    expect(ok.map(reportsSuccess)).toEqual(ok.map(() => true));
    const failed = ok.map(
      (r) => JSON.parse(JSON.stringify(r).replaceAll('"NONE"', '"NOT_CONTROLLER"')) as ControllerResponse,
    );
    expect(failed.map(reportsSuccess)).toEqual(failed.map(() => false));
  });
});
