// Apache Kafka 4.4 itself, run from its Maven jars for tests that confront openkraft with the real
// thing: one combined broker and controller, formatted with Kafka's own StorageTool (--standalone,
// kraft.version 1), on ports outside the ephemeral range.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { kafkaServerClasspath } from "../../scripts/kafka-jars.ts";
import { randomUuid } from "../kafka/wire.ts";
import { freeBasePort, waitFor } from "./local-cluster.ts";

export const hasJava = spawnSync("java", ["-version"], { encoding: "utf8" }).status === 0;

const portOpen = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on("error", () => resolve(false));
  });

export class ApacheKafka {
  private output = "";
  private exit: number | null | undefined;
  readonly dir: string;
  readonly clusterId: string;
  readonly brokerAddress: string;
  readonly controllerAddress: string;
  private readonly process: ChildProcess;

  private constructor(
    dir: string,
    clusterId: string,
    brokerAddress: string,
    controllerAddress: string,
    process: ChildProcess,
  ) {
    this.dir = dir;
    this.clusterId = clusterId;
    this.brokerAddress = brokerAddress;
    this.controllerAddress = controllerAddress;
    this.process = process;
    process.stdout?.on("data", (d: Buffer) => this.collect(d));
    process.stderr?.on("data", (d: Buffer) => this.collect(d));
    process.on("exit", (code) => {
      this.exit = code;
    });
  }

  private collect(data: Buffer): void {
    // The last 64 KiB is enough to say why it failed.
    this.output = (this.output + data.toString("utf8")).slice(-65_536);
  }

  /** The metadata log's directory, as Kafka lays it out. */
  get metadataLog(): string {
    return join(this.dir, "data", "__cluster_metadata-0");
  }

  /**
   * Format `dir` and start Kafka in it; resolves once the broker's listener accepts connections.
   * `properties` are added to (or override) the server's configuration.
   */
  static async start(
    dir: string,
    timeoutMs: number,
    properties: Readonly<Record<string, string>> = {},
  ): Promise<ApacheKafka> {
    const classpath = await kafkaServerClasspath();
    const base = await freeBasePort(1);
    const broker = base + 1;
    const controller = base + 101;
    mkdirSync(join(dir, "data"), { recursive: true });
    const config = join(dir, "server.properties");
    const settings: Record<string, string> = {
      "process.roles": "broker,controller",
      "node.id": "1",
      "controller.quorum.bootstrap.servers": `127.0.0.1:${controller}`,
      listeners: `PLAINTEXT://127.0.0.1:${broker},CONTROLLER://127.0.0.1:${controller}`,
      "advertised.listeners": `PLAINTEXT://127.0.0.1:${broker},CONTROLLER://127.0.0.1:${controller}`,
      "controller.listener.names": "CONTROLLER",
      "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
      "log.dirs": join(dir, "data"),
      "offsets.topic.replication.factor": "1",
      "transaction.state.log.replication.factor": "1",
      "transaction.state.log.min.isr": "1",
      ...properties,
    };
    writeFileSync(
      config,
      `${Object.entries(settings)
        .map(([k, v]) => `${k}=${v}`)
        .join("\n")}\n`,
    );
    const clusterId = randomUuid(() => crypto.getRandomValues(new Uint8Array(16)));
    const format = spawnSync(
      "java",
      ["-cp", classpath, "kafka.tools.StorageTool", "format", "-t", clusterId, "-c", config, "--standalone"],
      { encoding: "utf8", timeout: timeoutMs },
    );
    if (format.status !== 0)
      throw new Error(
        `Kafka's StorageTool format failed (${format.status}): ${format.stdout}${format.stderr}`,
      );
    const child = spawn("java", ["-Xmx512m", "-cp", classpath, "kafka.Kafka", config], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    const kafka = new ApacheKafka(dir, clusterId, `127.0.0.1:${broker}`, `127.0.0.1:${controller}`, child);
    try {
      await waitFor(
        "Apache Kafka's broker listener",
        async () => {
          if (kafka.exit !== undefined)
            throw new Error(`Apache Kafka exited (${kafka.exit}) while starting: ${kafka.output}`);
          return (await portOpen(broker)) ? true : undefined;
        },
        timeoutMs,
        200,
      );
    } catch (error) {
      await kafka.stop(timeoutMs);
      throw error;
    }
    return kafka;
  }

  /** Stop it as an operator would (SIGTERM: a controlled shutdown), SIGKILL after `timeoutMs`. */
  async stop(timeoutMs: number): Promise<void> {
    if (this.exit !== undefined) return;
    const exited = new Promise<void>((resolve) => this.process.once("exit", () => resolve()));
    this.process.kill("SIGTERM");
    const timer = setTimeout(() => this.process.kill("SIGKILL"), timeoutMs);
    await exited;
    clearTimeout(timer);
  }
}
