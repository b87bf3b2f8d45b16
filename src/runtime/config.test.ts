import { describe, expect, it } from "vitest";
import {
  advertisedListener,
  ConfigError,
  controllerListeners,
  isControllerListener,
  nodeConfigFrom,
  PROPERTIES,
  parseProperties,
  renderProperties,
} from "./config.ts";

const base: readonly (readonly [string, string])[] = [
  ["node.id", "1"],
  ["process.roles", "controller"],
  ["controller.quorum.voters", "1@127.0.0.1:9093,2@127.0.0.1:9094,3@[::1]:9095"],
  ["listeners", "CONTROLLER://:9093"],
  ["log.dirs", "/var/kraft"],
];

const configWith = (changes: Record<string, string | null>) => {
  const entries = base
    .filter(([k]) => !(k in changes) || changes[k] !== null)
    .map(([k, v]) => [k, changes[k] ?? v] as const);
  for (const [k, v] of Object.entries(changes))
    if (v !== null && !base.some(([b]) => b === k)) entries.push([k, v]);
  return nodeConfigFrom(parseProperties(renderProperties(entries)));
};

describe("kraft start properties", () => {
  it("takes several controller listeners: a controller binds and names each, and dials by the first", () => {
    const config = configWith({
      "controller.listener.names": "CONTROLLER,INTERNAL",
      listeners: "CONTROLLER://:9093,INTERNAL://:9193",
      "advertised.listeners": "INTERNAL://c1.internal:9193",
    });
    expect(config.controllerListenerNames).toEqual(["CONTROLLER", "INTERNAL"]);
    expect(config.controllerListenerName).toBe("CONTROLLER");
    // R95, R99: a voter names every controller listener, each where others reach it, in Kafka's order.
    expect(controllerListeners(config)).toEqual([
      { name: "CONTROLLER", host: "127.0.0.1", port: 9093 },
      { name: "INTERNAL", host: "c1.internal", port: 9193 },
    ]);
    expect(isControllerListener(config, "INTERNAL")).toBe(true);
    expect(isControllerListener(config, "PLAINTEXT")).toBe(false);
  });

  it("bounds what peers may make a node hold, with Kafka's names; a frame must fit in what may be held", () => {
    expect(configWith({}).limits).toEqual({
      maxFrameBytes: 104857600,
      maxConnections: 1000,
      connectionsMaxIdleMs: 600000,
      queuedMaxRequestBytes: 268435456,
      queuedMaxRequests: 500,
    });
    expect(configWith({ "max.connections": "10", "socket.request.max.bytes": "65536" }).limits).toMatchObject(
      { maxConnections: 10, maxFrameBytes: 65536 },
    );
    expect(() => configWith({ "max.connections": "0" })).toThrow(
      new ConfigError("max.connections must be between 1 and 2147483647, not 0"),
    );
    expect(() =>
      configWith({ "queued.max.request.bytes": "2048", "socket.request.max.bytes": "4096" }),
    ).toThrow(/queued\.max\.request\.bytes \(2048\) is below socket\.request\.max\.bytes \(4096\)/);
  });

  it("takes Kafka's names and defaults", () => {
    const config = configWith({});
    expect(config).toMatchObject({
      nodeId: 1,
      roles: ["controller"],
      voters: [
        { id: 1, host: "127.0.0.1", port: 9093 },
        { id: 2, host: "127.0.0.1", port: 9094 },
        { id: 3, host: "::1", port: 9095 },
      ],
      listeners: [{ name: "CONTROLLER", host: "127.0.0.1", port: 9093 }],
      logDir: "/var/kraft",
      electionTimeoutMs: 1000,
      fetchTimeoutMs: 2000,
      requestTimeoutMs: 2000,
      sessionTimeoutMs: 9000,
      heartbeatIntervalMs: 2000,
      metricsPort: 0,
    });
  });

  it("parses comments, colons and blank lines like Java properties", () => {
    expect([...parseProperties("# c\n! c\n\nnode.id: 5\n  a.b = x y \n")]).toEqual([
      ["node.id", "5"],
      ["a.b", "x y"],
    ]);
    expect(() => parseProperties("node.id=1\njust words")).toThrow(
      new ConfigError('line 2: "just words" is not key=value'),
    );
  });

  it.each([
    [
      { "log.retention.hours": "1" },
      "unknown property log.retention.hours (kraft start --help lists the accepted ones)",
    ],
    [{ "node.id": "one" }, 'node.id must be a whole number, not "one"'],
    [{ "node.id": null }, "node.id is required"],
    [{ "process.roles": "leader" }, 'process.roles: "leader" is not controller or broker'],
    [{ "process.roles": "broker,broker" }, "process.roles names a role twice"],
    [{ "controller.quorum.voters": "1@localhost" }, 'controller.quorum.voters: "localhost" is not host:port'],
    [{ "controller.quorum.voters": "x@h:1" }, 'controller.quorum.voters: "x@h:1" is not id@host:port'],
    [{ "controller.quorum.voters": "1@h:1,1@h:2" }, "controller.quorum.voters names a voter twice"],
    [{ "controller.quorum.voters": "2@h:1" }, "node 1 is a controller but not in controller.quorum.voters"],
    [
      { "process.roles": "broker", listeners: "PLAINTEXT://:9092" },
      "node 1 is in controller.quorum.voters but process.roles has no controller",
    ],
    [
      { listeners: "PLAINTEXT://:9092" },
      "listeners needs a CONTROLLER:// listener on a controller (controller.listener.names lists CONTROLLER)",
    ],
    [
      { "controller.listener.names": "CONTROLLER,CONTROLLER2" },
      "listeners needs a CONTROLLER2:// listener on a controller (controller.listener.names lists CONTROLLER, CONTROLLER2)",
    ],
    [
      { "controller.listener.names": " , " },
      "controller.listener.names is empty: name the controller listener (e.g. CONTROLLER)",
    ],
    [
      { "controller.listener.names": "CONTROLLER,CONTROLLER" },
      "controller.listener.names names CONTROLLER twice: name each listener once",
    ],
    [
      {
        "process.roles": "broker",
        "controller.quorum.voters": "2@h:9093",
        listeners: "PLAINTEXT://:9092,CONTROLLER://:9093",
      },
      "listeners names CONTROLLER, a controller listener (controller.listener.names), but process.roles has no controller: a broker only dials controllers there; remove it from listeners",
    ],
    [{ listeners: "CONTROLLER://:99999" }, "listeners: port 99999 is above 65535"],
    [
      { "process.roles": "controller,broker" },
      "listeners needs a client listener (e.g. PLAINTEXT://:9092) on a broker",
    ],
    [
      { "controller.quorum.fetch.timeout.ms": "0" },
      "controller.quorum.fetch.timeout.ms must be between 1 and 9007199254740991, not 0",
    ],
    [{ "openkraft.metrics.port": "70000" }, "openkraft.metrics.port must be between 0 and 65535, not 70000"],
    [
      { "controller.quorum.auto.join.enable": "yes" },
      'controller.quorum.auto.join.enable must be true or false, not "yes"',
    ],
    [
      { "controller.quorum.auto.join.enable": "true" },
      "controller.quorum.auto.join.enable needs a dynamic quorum (controller.quorum.bootstrap.servers): with controller.quorum.voters the voter set is static",
    ],
    [
      {
        "controller.quorum.auto.join.enable": "true",
        "process.roles": "broker",
        "controller.quorum.voters": null,
        "controller.quorum.bootstrap.servers": "h:1",
        listeners: "PLAINTEXT://:9092",
      },
      "controller.quorum.auto.join.enable is for controllers: process.roles has no controller; remove it",
    ],
    [{ "log.dirs": null }, "log.dirs is required"],
    [
      { "advertised.listeners": "PLAINTEXT://h:9092" },
      "advertised.listeners names PLAINTEXT, which listeners does not define (CONTROLLER): advertise only listeners this node has",
    ],
    [
      { "advertised.listeners": "CONTROLLER://0.0.0.0:9093" },
      "advertised.listeners: CONTROLLER://0.0.0.0:9093 is the nonroutable meta-address 0.0.0.0: advertise a host others can reach",
    ],
    [
      { "advertised.listeners": "CONTROLLER:9093" },
      'advertised.listeners: "CONTROLLER:9093" is not NAME://host:port',
    ],
    [
      {
        "controller.quorum.voters": null,
        "controller.quorum.bootstrap.servers": "h:1",
        listeners: "CONTROLLER://0.0.0.0:9093",
      },
      "listeners: CONTROLLER://0.0.0.0:9093 is bound to the nonroutable meta-address 0.0.0.0, which the voter set would name for this controller: set advertised.listeners=CONTROLLER://<a host others reach>:9093",
    ],
  ])("refuses %j: %s", (changes, message) => {
    expect(() => configWith(changes)).toThrow(new ConfigError(message));
  });

  it("names a listener where others reach it: advertised.listeners, else where it is bound (R99)", () => {
    const dynamic = {
      "controller.quorum.voters": null,
      "controller.quorum.bootstrap.servers": "h:1",
      "process.roles": "controller,broker",
      listeners: "CONTROLLER://0.0.0.0:9093,PLAINTEXT://0.0.0.0:9092",
      "advertised.listeners": "CONTROLLER://node1.example:19093",
    };
    const config = configWith(dynamic);
    expect(controllerListeners(config)).toEqual([{ name: "CONTROLLER", host: "node1.example", port: 19093 }]);
    expect(advertisedListener(config, "PLAINTEXT")).toEqual({
      name: "PLAINTEXT",
      host: "0.0.0.0",
      port: 9092,
    });
    expect(controllerListeners(configWith({}))).toEqual([
      { name: "CONTROLLER", host: "127.0.0.1", port: 9093 },
    ]);
    // A static quorum names its voters in controller.quorum.voters: binding 0.0.0.0 is fine there.
    expect(configWith({ listeners: "CONTROLLER://0.0.0.0:9093" }).advertisedListeners).toEqual([]);
  });

  it("documents every property it reads, and every default parses", () => {
    const defaults = PROPERTIES.filter((p) => p.default !== undefined).map(
      (p) => [p.name, p.default!] as const,
    );
    expect(() => configWith(Object.fromEntries(defaults))).not.toThrow();
  });
});
