// Random well-typed requests against an active controller (R113–R126): it never throws, a request it
// refuses writes nothing, and whatever it accepts keeps the image's invariants.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { imageProblem, reportsSuccess } from "../invariants/metadata.ts";
import {
  type ControllerState,
  controllerStep,
  DEFAULT_CONTROLLER_CONFIG,
  initialControllerState,
} from "./controller.ts";
import { findBroker, type OffsetRecord, topicsOf } from "./image.ts";
import type { ControllerRequest } from "./requests.ts";

const config = { ...DEFAULT_CONTROLLER_CONFIG, nodeId: 1, clusterId: "c" };
const TOPIC_IDS = ["AAAAAAAAAAAAAAAAAAAAAQ", "AAAAAAAAAAAAAAAAAAAAAg"];
// Mostly the registered brokers (4 to 6), so that most requests get past the first check.
const broker = fc.oneof(
  { arbitrary: fc.constantFrom(4, 5, 6), weight: 3 },
  { arbitrary: fc.integer({ min: -1, max: 7 }), weight: 1 },
);
const epoch = fc.integer({ min: -1, max: 30 });
const name = fc.oneof(
  { arbitrary: fc.constantFrom("t", "u"), weight: 3 },
  { arbitrary: fc.constantFrom("", "a b", "x".repeat(250), "__cluster_metadata"), weight: 1 },
);
const brokers = fc.array(broker, { maxLength: 4 });
const configEntry = fc.record({
  name: fc.constantFrom(
    "retention.ms",
    "cleanup.policy",
    "unclean.leader.election.enable",
    "nope",
    "log.cleaner.threads",
  ),
  value: fc.option(fc.constantFrom("1", "-7", "compact", "true", "false", "x"), { nil: null }),
});

const request: fc.Arbitrary<ControllerRequest> = fc.oneof(
  fc.record({
    _tag: fc.constant("BrokerRegistrationRequest" as const),
    brokerId: broker,
    clusterId: fc.constantFrom("c", "other"),
    incarnationId: fc.constantFrom("IIIIIIIIIIIIIIIIIIIIIA", "IIIIIIIIIIIIIIIIIIIIIB"),
    listeners: fc.constant([]),
    features: fc.constantFrom(
      [{ name: "metadata.version", minSupportedVersion: 7, maxSupportedVersion: 21 }],
      [{ name: "metadata.version", minSupportedVersion: 1, maxSupportedVersion: 3 }],
      [],
    ),
    rack: fc.constant(null),
    previousBrokerEpoch: epoch,
  }),
  fc.record({
    _tag: fc.constant("BrokerHeartbeatRequest" as const),
    brokerId: broker,
    brokerEpoch: epoch,
    currentMetadataOffset: epoch,
    wantFence: fc.boolean(),
    wantShutDown: fc.boolean(),
  }),
  fc.record({
    _tag: fc.constant("CreateTopicsRequest" as const),
    validateOnly: fc.boolean(),
    topics: fc.array(
      fc.record({
        name,
        numPartitions: fc.integer({ min: -2, max: 3 }),
        replicationFactor: fc.integer({ min: -2, max: 4 }),
        assignments: fc.array(
          fc.record({ partitionIndex: fc.integer({ min: 0, max: 2 }), brokerIds: brokers }),
          { maxLength: 2 },
        ),
        configs: fc.array(configEntry, { maxLength: 2 }),
      }),
      { maxLength: 2 },
    ),
  }),
  fc.record({
    _tag: fc.constant("DeleteTopicsRequest" as const),
    topics: fc.array(
      fc.record({
        name: fc.option(name, { nil: null }),
        topicId: fc.option(fc.constantFrom(...TOPIC_IDS), { nil: null }),
      }),
      { maxLength: 2 },
    ),
  }),
  fc.record({
    _tag: fc.constant("CreatePartitionsRequest" as const),
    validateOnly: fc.boolean(),
    topics: fc.array(
      fc.record({
        name,
        count: fc.integer({ min: -1, max: 4 }),
        assignments: fc.option(fc.array(fc.record({ brokerIds: brokers }), { maxLength: 3 }), { nil: null }),
      }),
      { maxLength: 2 },
    ),
  }),
  fc.record({
    _tag: fc.constant("AlterPartitionRequest" as const),
    brokerId: broker,
    brokerEpoch: epoch,
    topics: fc.array(
      fc.record({
        topicId: fc.constantFrom(...TOPIC_IDS),
        partitions: fc.array(
          fc.record({
            partitionIndex: fc.integer({ min: 0, max: 2 }),
            leaderEpoch: fc.integer({ min: -1, max: 3 }),
            newIsrWithEpochs: fc.array(fc.record({ brokerId: broker, brokerEpoch: epoch }), { maxLength: 3 }),
            leaderRecoveryState: fc.integer({ min: -1, max: 2 }),
            partitionEpoch: fc.integer({ min: -1, max: 4 }),
          }),
          { maxLength: 2 },
        ),
      }),
      { maxLength: 2 },
    ),
  }),
  fc.record({
    _tag: fc.constant("ElectLeadersRequest" as const),
    electionType: fc.integer({ min: 0, max: 2 }),
    topicPartitions: fc.option(
      fc.array(
        fc.record({ topic: name, partitions: fc.array(fc.integer({ min: 0, max: 2 }), { maxLength: 2 }) }),
        { maxLength: 2 },
      ),
      { nil: null },
    ),
  }),
  fc.record({
    _tag: fc.constant("IncrementalAlterConfigsRequest" as const),
    validateOnly: fc.boolean(),
    resources: fc.array(
      fc.record({
        resourceType: fc.constantFrom(2, 4, 7),
        resourceName: fc.constantFrom("t", "u", "", "4", "four"),
        configs: fc.array(
          fc.record({
            name: configEntry.map((c) => c.name),
            configOperation: fc.integer({ min: 0, max: 4 }),
            value: configEntry.map((c) => c.value),
          }),
          { maxLength: 2 },
        ),
      }),
      { maxLength: 2 },
    ),
  }),
);

/** An active controller that commits everything it proposes at once, as a healthy quorum would. */
const serve = (
  requests: readonly (ControllerRequest | ((s: ControllerState) => ControllerRequest))[],
): ControllerState => {
  const proposed = new Map<number, OffsetRecord["record"]>();
  const remember = (effects: ReturnType<typeof controllerStep>["effects"]): void => {
    for (const e of effects) {
      if (e._tag !== "Propose") continue;
      e.records.forEach((r, i) => {
        proposed.set(e.baseOffset + i, r);
      });
    }
  };
  const commitAll = (state: ControllerState): ReturnType<typeof controllerStep> => {
    const records: OffsetRecord[] = [];
    for (let offset = state.committed.offset + 1; offset < state.nextOffset; offset++) {
      records.push({ offset, epoch: 1, record: proposed.get(offset)! });
    }
    if (records.length === 0) return { state, effects: [], marks: [] };
    return controllerStep({ ...state, proposals: [] }, { _tag: "Committed", records }, config);
  };
  const activation = controllerStep(
    initialControllerState(1),
    { _tag: "LeaderChange", leaderId: 1, epoch: 1, logEndOffset: 0 },
    config,
  );
  remember(activation.effects);
  let s = commitAll(activation.state).state;
  requests.forEach((item, i) => {
    const req = typeof item === "function" ? item(s) : item;
    const result = controllerStep(s, { _tag: "Request", from: 4, correlationId: i, request: req }, config);
    const wrote = result.effects.some((e) => e._tag === "Propose");
    remember(result.effects);
    const committed = commitAll(result.state);
    // Every request is answered, at once or at commit; a refusal writes nothing.
    const answers = [...result.effects, ...committed.effects].filter(
      (e) => e._tag === "Respond" && e.correlationId === i,
    );
    expect(answers).toHaveLength(1);
    const answer = answers[0]!;
    if (answer._tag === "Respond" && !reportsSuccess(answer.response)) expect(wrote).toBe(false);
    // A write is answered only once it commits.
    if (wrote) expect(result.effects.some((e) => e._tag === "Respond")).toBe(false);
    s = committed.state;
    expect(imageProblem(s.committed)).toBeNull();
    expect(s.image).toEqual(s.committed);
  });
  return s;
};

describe("random requests against the controller", () => {
  it("never throw, write nothing when refused, and keep the image's invariants", () => {
    const registrations: ControllerRequest[] = [4, 5, 6].flatMap((id, k) => [
      {
        _tag: "BrokerRegistrationRequest",
        brokerId: id,
        clusterId: "c",
        incarnationId: `IIIIIIIIIIIIIIIIIIIII${"CDE"[k]}`,
        listeners: [],
        features: [{ name: "metadata.version", minSupportedVersion: 7, maxSupportedVersion: 21 }],
        rack: null,
        previousBrokerEpoch: -1,
      },
    ]);
    // Brokers 4 and 5 unfenced, 6 left fenced: requests can name a broker that may not lead
    // (KAFKA-13916).
    const unfence =
      (id: number) =>
      (s: ControllerState): ControllerRequest => ({
        _tag: "BrokerHeartbeatRequest",
        brokerId: id,
        brokerEpoch: findBroker(s.image, id)?.epoch ?? -1,
        currentMetadataOffset: s.committed.offset,
        wantFence: false,
        wantShutDown: false,
      });
    // Topics t and u exist from the start, so that requests naming a topic act on one.
    const topics: ControllerRequest = {
      _tag: "CreateTopicsRequest",
      validateOnly: false,
      topics: [
        {
          name: "t",
          numPartitions: -1,
          replicationFactor: -1,
          assignments: [{ partitionIndex: 0, brokerIds: [4] }],
          configs: [],
        },
        { name: "u", numPartitions: 2, replicationFactor: 2, assignments: [], configs: [] },
      ],
    };
    const setup = [...registrations, unfence(4), unfence(5), topics];
    // The runs start where the setup says: else they fall back to runs without topics, which never
    // reached the bug they are here for.
    const start = serve(setup);
    expect(start.committed.brokers.map((b) => [b.id, b.fenced])).toEqual([
      [4, false],
      [5, false],
      [6, true],
    ]);
    expect(topicsOf(start.committed).map((t) => [t.name, t.partitions.size])).toEqual([
      ["t", 1],
      ["u", 2],
    ]);
    fc.assert(
      fc.property(fc.array(request, { minLength: 1, maxLength: 40 }), (requests) => {
        serve([...setup, ...requests]);
      }),
      { numRuns: 1500 },
    );
  });
});
