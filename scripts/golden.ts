// `npm run golden`: regenerate src/kafka/golden.json, bytes that Apache Kafka's own serializers
// produce for a few messages (scripts/golden/KafkaGolden.java, compiled and run against the
// kafka-clients and kafka-metadata jars with the installed JDK). The codec tests check that openkraft
// decodes each and encodes it back to the same bytes.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KAFKA_VERSION, kafkaJar, slf4jApiJar } from "./kafka-jars.ts";

const source = join(import.meta.dirname, "golden", "KafkaGolden.java");
const out = join(import.meta.dirname, "..", "src", "kafka", "golden.json");
const classpath = [
  await kafkaJar("kafka-clients"),
  await kafkaJar("kafka-metadata"),
  await kafkaJar("kafka-server-common"),
  await slf4jApiJar(),
].join(":");
const classes = mkdtempSync(join(tmpdir(), "openkraft-golden-"));
const run = (command: string, args: readonly string[]): string => {
  const result = spawnSync(command, args, { encoding: "utf8" });
  if (result.error !== undefined || result.status !== 0)
    throw new Error(`${command} failed: ${result.error?.message ?? result.stderr}`);
  return result.stdout;
};
try {
  run("javac", ["-d", classes, "-cp", classpath, source]);
  const [errors, ...lines] = run("java", ["-cp", `${classpath}:${classes}`, "KafkaGolden"])
    .trim()
    .split("\n");
  const golden = {
    kafka: KAFKA_VERSION,
    errors: (JSON.parse(errors!) as { errors: Record<string, number> }).errors,
    messages: lines.map((line) => JSON.parse(line) as unknown),
  };
  writeFileSync(out, `${JSON.stringify(golden, null, 2)}\n`);
  process.stdout.write(`golden: wrote ${lines.length} messages from Kafka ${KAFKA_VERSION} to ${out}\n`);
} finally {
  rmSync(classes, { recursive: true, force: true });
}
