// `npm run kafka-tool -- TOOL ARGS…`: run one of Apache Kafka 4.4's own command-line tools (its jars
// from Maven Central, cached) against any cluster, the reference cluster included:
//   npm run kafka-tool -- kafka-metadata-quorum --bootstrap-server 127.0.0.1:19094 describe --status
import { spawnSync } from "node:child_process";
import { KAFKA_TOOLS, KAFKA_VERSION, kafkaToolsClasspath } from "./kafka-jars.ts";

const [tool, ...args] = process.argv.slice(2);
const main = tool === undefined ? undefined : KAFKA_TOOLS[tool];
if (main === undefined) {
  process.stderr.write(
    `usage: npm run kafka-tool -- TOOL ARGS…  (Apache Kafka ${KAFKA_VERSION}'s tools; needs java)\n` +
      `TOOL: ${Object.keys(KAFKA_TOOLS).join(", ")}${tool === undefined || tool === "--help" ? "" : ` (not "${tool}")`}\n` +
      "e.g.  npm run kafka-tool -- kafka-metadata-quorum --bootstrap-server 127.0.0.1:19094 describe --status\n",
  );
  process.exit(tool === "--help" ? 0 : 2);
}
let classpath: string;
try {
  classpath = await kafkaToolsClasspath();
} catch (error) {
  process.stderr.write(`kafka-tool: could not fetch Kafka's jars: ${(error as Error).message}\n`);
  process.exit(1);
}
const run = spawnSync("java", ["-cp", classpath, main, ...args], { stdio: "inherit" });
if (run.error !== undefined) {
  process.stderr.write(`kafka-tool: cannot run java (${run.error.message}); install a JDK 17 or newer\n`);
  process.exit(1);
}
process.exit(run.status ?? 1);
