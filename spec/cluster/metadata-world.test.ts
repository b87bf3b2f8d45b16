// The metadata world under random exploration, in every configuration the checker and the tests use:
// every property holds, every action has a readable name, and the runs reach the behaviours that
// matter (fencing, leadership moving, failover with a pending write, unfencing).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  applyMetaAction,
  DEFAULT_META_BOUNDS,
  describeMetaAction,
  enabledMetaActions,
  type MetaBounds,
  withinMetaBounds,
} from "./metadata-actions.ts";
import {
  ADMIN_ID,
  activeController,
  adminRequest,
  bootstrappedWorld,
  crashNode,
  DEFAULT_METADATA_CLUSTER,
  deliverMetaMessage,
  dropMetaMessage,
  EVENT,
  initialMetadataWorld,
  type MetadataClusterSpec,
  type MetadataWorld,
  metadataViolation,
  startNode,
} from "./metadata-world.ts";

const FAULTY: MetaBounds = {
  ...DEFAULT_META_BOUNDS,
  maxEpoch: 4,
  maxLogLength: 40,
  maxControllerCrashes: 1,
  maxBrokerCrashes: 2,
  maxSessionExpiries: 2,
  maxDelays: 2,
  maxControlledShutdowns: 1,
  raftLoss: true,
  metaLoss: true,
  adminOps: [
    {
      _tag: "CreateTopicsRequest",
      validateOnly: false,
      topics: [{ name: "u", numPartitions: 1, replicationFactor: 2, assignments: [], configs: [] }],
    },
    { _tag: "ElectLeadersRequest", electionType: 0, topicPartitions: null },
  ],
};

const configurations: readonly { name: string; spec: MetadataClusterSpec; bounds: MetaBounds }[] = [
  {
    name: "the checker's: synchronous flushes, slow events when quiet",
    spec: {
      ...DEFAULT_METADATA_CLUSTER,
      brokers: 2,
      syncFlush: true,
      controller: { ...DEFAULT_METADATA_CLUSTER.controller, noOpIntervalMs: 0 },
    },
    bounds: FAULTY,
  },
  {
    name: "every interleaving: flushes, idle writes, any message order, events at any time",
    spec: { ...DEFAULT_METADATA_CLUSTER, brokers: 3 },
    bounds: {
      ...FAULTY,
      raftNetwork: "any",
      metaNetwork: "one",
      slowEventsWhenQuiet: false,
      maxLogLength: 30,
    },
  },
];

const walk = (
  spec: MetadataClusterSpec,
  bounds: MetaBounds,
  start: MetadataWorld,
  choices: readonly number[],
) => {
  let world = start;
  let events = 0;
  let steps = 0;
  for (const choice of choices) {
    const actions = enabledMetaActions(world, spec, bounds);
    if (actions.length === 0) break;
    const action = actions[choice % actions.length]!;
    expect(describeMetaAction(world, action)).toMatch(/\w/);
    const outcome = applyMetaAction(world, spec, bounds, action);
    if (!withinMetaBounds(outcome.world, bounds)) continue;
    world = outcome.world;
    events |= outcome.events;
    steps++;
    const violation = metadataViolation(world);
    if (violation !== null) throw new Error(`${violation} after ${describeMetaAction(world, action)}`);
  }
  return { world, events, steps };
};

describe("the metadata world under random exploration", () => {
  for (const { name, spec, bounds } of configurations) {
    it(`keeps every property: ${name}`, () => {
      const start = bootstrappedWorld(spec, 2);
      let events = 0;
      let steps = 0;
      fc.assert(
        fc.property(fc.array(fc.nat(10_000), { minLength: 50, maxLength: 250 }), (choices) => {
          const result = walk(spec, bounds, start, choices);
          events |= result.events;
          steps += result.steps;
        }),
        { numRuns: 80, seed: 424242 },
      );
      expect(steps).toBeGreaterThan(80 * 40);
      expect(events & EVENT.BROKER_FENCED).toBeTruthy();
      expect(events & EVENT.LEADER_MOVED).toBeTruthy();
    });
  }
});

describe("the metadata world's plumbing", () => {
  const spec: MetadataClusterSpec = { ...DEFAULT_METADATA_CLUSTER, brokers: 1 };
  const CREATE_U = {
    _tag: "CreateTopicsRequest",
    validateOnly: false,
    topics: [{ name: "u", numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
  } as const;

  it("starts every node with a fresh controller or broker and no leader", () => {
    const { world } = initialMetadataWorld(spec);
    expect(world.apps.map((a) => [a.controller !== null, a.broker?.lifecycle ?? null])).toEqual([
      [true, null],
      [true, null],
      [true, null],
      [false, "STARTING"],
    ]);
    expect(activeController(world)).toBeNull();
  });

  it("fails the requests a crashed controller had not answered, and ignores answers for a restarted broker", () => {
    let world = bootstrappedWorld(spec, 1);
    world = {
      ...world,
      network: [
        {
          from: 4,
          to: 1,
          correlationId: 99,
          toStart: world.apps[0]!.starts,
          fromStart: world.apps[3]!.starts,
          body: { kind: "request", request: { _tag: "DescribeConfigsRequest", resources: [] } },
        },
      ],
    };
    const crashed = crashNode(world, spec, 0).world;
    expect(crashed.network).toEqual([
      {
        from: 1,
        to: 4,
        correlationId: 99,
        toStart: world.apps[3]!.starts,
        fromStart: world.apps[0]!.starts,
        body: { kind: "failed" },
      },
    ]);
    expect(crashNode(crashed, spec, 0).steps).toEqual([]);
    // The broker restarts before the failure arrives: the new process ignores it.
    const restarted = startNode(crashNode(world, spec, 3).world, spec, 3).world;
    const stale = { ...restarted, network: crashed.network };
    const delivered = deliverMetaMessage(stale, spec, 0);
    expect(delivered.steps).toEqual([]);
    expect(delivered.world.network).toEqual([]);
  });

  it("turns a lost request or answer into a failure its requester hears of", () => {
    const world = bootstrappedWorld(spec, 1);
    const request = {
      from: 4,
      to: 1,
      correlationId: 7,
      toStart: 1,
      fromStart: 1,
      body: { kind: "request", request: { _tag: "DescribeConfigsRequest", resources: [] } },
    } as const;
    const lostRequest = dropMetaMessage({ ...world, network: [request] }, spec, 0);
    expect(lostRequest.world.network).toEqual([
      { from: 1, to: 4, correlationId: 7, toStart: 1, fromStart: 1, body: { kind: "failed" } },
    ]);
    expect(lostRequest.steps).toEqual([{ layer: "note", text: "lost 4->1#7 DescribeConfigsRequest" }]);
    const answer = {
      ...request,
      from: 1,
      to: 4,
      body: { kind: "response", response: { _tag: "DescribeConfigsResponse", results: [] } },
    } as const;
    expect(dropMetaMessage({ ...world, network: [answer] }, spec, 0).world.network[0]?.body).toEqual({
      kind: "failed",
    });
    // The admin client too: a lost answer breaks its connection, and the failure resolves its request
    // (Kafka's admin client would retry it or time out; either way it does not wait forever).
    const adminAnswer = { ...answer, to: ADMIN_ID };
    const lostAnswer = dropMetaMessage({ ...world, network: [adminAnswer] }, spec, 0).world;
    expect(lostAnswer.network).toEqual([
      { from: 1, to: ADMIN_ID, correlationId: 7, toStart: 1, fromStart: 1, body: { kind: "failed" } },
    ]);
    const resolved = deliverMetaMessage(lostAnswer, spec, 0);
    expect(resolved.world.adminAnswers).toEqual([7]);
    expect(resolved.steps).toEqual([
      { layer: "note", text: "admin: request #7 to n1 failed (its connection broke)" },
    ]);
  });

  // A requester always learns what became of its request: an answer, or a failure from its own
  // transport. Otherwise it waits forever (the liveness check found such runs).
  it("fails the requests a crashed node had taken and not yet answered", () => {
    const world = bootstrappedWorld(spec, 1);
    // The admin asks the broker, which forwards to the active controller; the write is pending there.
    let w = adminRequest(world, 4, CREATE_U).world;
    w = deliverMetaMessage(w, spec, w.network.length - 1).world;
    const forward = w.network.find((e) => e.from === 4 && e.to === 1)!;
    w = deliverMetaMessage(w, spec, w.network.indexOf(forward)).world;
    const atController = {
      node: 0,
      from: 4,
      correlationId: forward.correlationId,
      fromStart: forward.fromStart,
    };
    expect(w.origins).toContainEqual(atController);
    const crashed = crashNode(w, spec, 0).world;
    expect(crashed.origins).toEqual(w.origins.filter((o) => o.node !== 0));
    expect(crashed.network.filter((e) => e.body.kind === "failed")).toEqual([
      {
        from: 1,
        to: 4,
        correlationId: forward.correlationId,
        toStart: forward.fromStart,
        fromStart: forward.toStart,
        body: { kind: "failed" },
      },
    ]);
  });

  it("fails a request that reaches a stopped node or a process that is gone", () => {
    const world = bootstrappedWorld(spec, 1);
    const request = {
      from: 4,
      to: 2,
      correlationId: 5,
      toStart: world.apps[1]!.starts,
      fromStart: world.apps[3]!.starts,
      body: { kind: "request", request: { _tag: "DescribeConfigsRequest", resources: [] } },
    } as const;
    const failed = {
      from: 2,
      to: 4,
      correlationId: 5,
      toStart: request.fromStart,
      fromStart: request.toStart,
      body: { kind: "failed" },
    };
    const down = crashNode(world, spec, 1).world;
    expect(deliverMetaMessage({ ...down, network: [request] }, spec, 0).world.network).toEqual([failed]);
    const restarted = startNode(down, spec, 1).world;
    expect(deliverMetaMessage({ ...restarted, network: [request] }, spec, 0).world.network).toEqual([failed]);
    // An admin client's request to a stopped node fails back to it the same way: a request that is
    // simply lost would leave the client waiting forever (EventuallyAdminAnswered found it).
    const admin = { ...request, from: ADMIN_ID };
    expect(deliverMetaMessage({ ...down, network: [admin] }, spec, 0).world.network).toEqual([
      { ...failed, to: ADMIN_ID },
    ]);
    expect(deliverMetaMessage({ ...restarted, network: [admin] }, spec, 0).world.network).toEqual([
      { ...failed, to: ADMIN_ID },
    ]);
  });

  it("fails the admin client's request a broker had taken when the broker goes down", () => {
    const world = bootstrappedWorld(spec, 1);
    let w = adminRequest(world, 4, CREATE_U).world;
    const sent = w.network[w.network.length - 1]!;
    w = deliverMetaMessage(w, spec, w.network.length - 1).world;
    expect(w.origins).toContainEqual({
      node: 3,
      from: ADMIN_ID,
      correlationId: sent.correlationId,
      fromStart: sent.fromStart,
    });
    const crashed = crashNode(w, spec, 3).world;
    expect(crashed.network.filter((e) => e.to === ADMIN_ID)).toEqual([
      {
        from: 4,
        to: ADMIN_ID,
        correlationId: sent.correlationId,
        toStart: sent.fromStart,
        fromStart: sent.toStart,
        body: { kind: "failed" },
      },
    ]);
  });

  it("never loses a failure: it is the requester's own transport speaking", () => {
    const world = bootstrappedWorld(spec, 1);
    const failed = {
      from: 1,
      to: 4,
      correlationId: 3,
      toStart: 1,
      fromStart: 1,
      body: { kind: "failed" },
    } as const;
    const actions = enabledMetaActions({ ...world, network: [failed] }, spec, {
      ...DEFAULT_META_BOUNDS,
      metaLoss: true,
    });
    expect(actions.filter((a) => a.kind === "drop")).toEqual([]);
    expect(actions.filter((a) => a.kind === "deliver")).toEqual([{ kind: "deliver", position: 0 }]);
  });
});
