// Apache Kafka's jars from Maven Central, cached and checked against Maven's SHA-1, and the files in
// them. The message generator reads Kafka 4.4's own JSON message definitions from these jars (the
// exact versions Kafka 4.4 speaks); nothing read from them is copied into the project.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { inflateRawSync } from "node:zlib";

export const KAFKA_VERSION = "4.4.0";
const MAVEN = process.env["OPENKRAFT_MAVEN_URL"] ?? "https://repo1.maven.org/maven2";
export const CACHE_DIR = process.env["OPENKRAFT_CACHE"] ?? join(homedir(), ".cache", "openkraft");

/** The path of `org.apache.kafka:<artifact>:<version>`'s jar in the cache, downloaded if missing. */
export const kafkaJar = (artifact: string, version = KAFKA_VERSION): Promise<string> =>
  mavenJar("org.apache.kafka", artifact, version);

/** The path of a Maven artifact's jar in the cache, downloaded if missing. */
export const mavenJar = async (group: string, artifact: string, version: string): Promise<string> => {
  const dir = join(CACHE_DIR, "maven", group, artifact, version);
  const path = join(dir, `${artifact}-${version}.jar`);
  if (existsSync(path)) return path;
  const url = `${MAVEN}/${group.replaceAll(".", "/")}/${artifact}/${version}/${artifact}-${version}.jar`;
  const get = async (u: string): Promise<Buffer> => {
    const response = await fetch(u, { signal: AbortSignal.timeout(120_000) });
    if (!response.ok) throw new Error(`GET ${u}: HTTP ${response.status}`);
    return Buffer.from(await response.arrayBuffer());
  };
  const [jar, sha1] = await Promise.all([get(url), get(`${url}.sha1`)]);
  const expected = sha1.toString("utf8").trim().split(/\s+/)[0];
  const actual = createHash("sha1").update(jar).digest("hex");
  if (actual !== expected) throw new Error(`${url}: SHA-1 ${actual}, Maven says ${expected}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${path}.part`, jar);
  renameSync(`${path}.part`, path);
  return path;
};

/** The files of a zip (a jar) whose names `wanted` accepts, by name. */
export const zipEntries = (zip: Buffer, wanted: (name: string) => boolean): Map<string, Buffer> => {
  // The end of central directory record: signature 0x06054b50, within the last 64 KiB + 22 bytes.
  let eocd = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 65_557); i--)
    if (zip.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  if (eocd < 0) throw new Error("not a zip file: no end of central directory");
  const count = zip.readUInt16LE(eocd + 10);
  let at = zip.readUInt32LE(eocd + 16);
  const out = new Map<string, Buffer>();
  for (let i = 0; i < count; i++) {
    if (zip.readUInt32LE(at) !== 0x02014b50) throw new Error("zip: bad central directory entry");
    const method = zip.readUInt16LE(at + 10);
    const compressed = zip.readUInt32LE(at + 20);
    const nameLength = zip.readUInt16LE(at + 28);
    const extraLength = zip.readUInt16LE(at + 30);
    const commentLength = zip.readUInt16LE(at + 32);
    const local = zip.readUInt32LE(at + 42);
    const name = zip.toString("utf8", at + 46, at + 46 + nameLength);
    at += 46 + nameLength + extraLength + commentLength;
    if (!wanted(name)) continue;
    const dataAt = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    const data = zip.subarray(dataAt, dataAt + compressed);
    if (method === 0) out.set(name, Buffer.from(data));
    else if (method === 8) out.set(name, inflateRawSync(data));
    else throw new Error(`zip: ${name} uses compression method ${method}`);
  }
  return out;
};

/** Kafka's JSON definitions in a jar (`common/message/`, `common/metadata/`, …), comments stripped. */
export const kafkaDefinitions = async (artifact: string, folder: string): Promise<Map<string, unknown>> => {
  const jar = readFileSync(await kafkaJar(artifact));
  const files = zipEntries(jar, (name) => name.startsWith(`${folder}/`) && name.endsWith(".json"));
  const out = new Map<string, unknown>();
  for (const [name, data] of files) {
    // Kafka's definitions carry // comments (the license header, notes on versions).
    const text = data
      .toString("utf8")
      .split("\n")
      .map((line) => (line.trimStart().startsWith("//") ? "" : line))
      .join("\n");
    out.set(name.slice(folder.length + 1, -".json".length), JSON.parse(text));
  }
  return out;
};

/** SLF4J's API, which Kafka's classes log through (with no binding it logs nothing). */
export const slf4jApiJar = (): Promise<string> => mavenJar("org.slf4j", "slf4j-api", "2.0.17");

/**
 * What Apache Kafka's command-line tools need on the classpath (kafka-tools and what it loads for
 * the tools in KAFKA_TOOLS), downloaded into the cache if missing.
 */
export const kafkaToolsClasspath = async (): Promise<string> =>
  (
    await Promise.all([
      ...[
        "kafka-tools",
        "kafka-tools-api",
        "kafka-clients",
        "kafka-server-common",
        "kafka-metadata",
        "kafka-raft",
        "kafka-storage",
        "kafka-storage-api",
        // kafka-configs checks its arguments against the broker's config definitions, which load
        // the coordinators' configs too.
        "kafka-server",
        "kafka-group-coordinator",
        "kafka-group-coordinator-api",
        "kafka-transaction-coordinator",
        "kafka-share-coordinator",
        "kafka-coordinator-common",
      ].map((artifact) => kafkaJar(artifact)),
      mavenJar("commons-validator", "commons-validator", "1.10.0"),
      mavenJar("net.sourceforge.argparse4j", "argparse4j", "0.7.0"),
      mavenJar("net.sf.jopt-simple", "jopt-simple", "5.0.4"),
      mavenJar("com.fasterxml.jackson.core", "jackson-databind", "2.19.2"),
      mavenJar("com.fasterxml.jackson.core", "jackson-core", "2.19.2"),
      mavenJar("com.fasterxml.jackson.core", "jackson-annotations", "2.19.2"),
      mavenJar("com.fasterxml.jackson.datatype", "jackson-datatype-jdk8", "2.19.2"),
      slf4jApiJar(),
    ])
  ).join(":");

/** The Kafka tools `npm run kafka-tool` runs, by their script names in Kafka's bin/. */
export const KAFKA_TOOLS: Readonly<Record<string, string>> = {
  "kafka-topics": "org.apache.kafka.tools.TopicCommand",
  "kafka-metadata-quorum": "org.apache.kafka.tools.MetadataQuorumCommand",
  "kafka-cluster": "org.apache.kafka.tools.ClusterTool",
  "kafka-configs": "org.apache.kafka.tools.ConfigCommand",
  "kafka-dump-log": "org.apache.kafka.tools.DumpLogSegments",
  "kafka-features": "org.apache.kafka.tools.FeatureCommand",
};

/**
 * Apache Kafka 4.4.0's broker and controller (`kafka.Kafka`, `kafka.tools.StorageTool`) and what they
 * load: the compile and runtime dependencies of kafka_2.13's POM, followed through Kafka's own
 * artifacts' POMs, plus the third-party jars those need (jackson-core and -annotations, snakeyaml,
 * commons-validator's). Exact versions, so a run is reproducible.
 */
const KAFKA_SERVER_JARS = [
  ...[
    "kafka_2.13",
    "kafka-clients",
    "kafka-coordinator-common",
    "kafka-group-coordinator",
    "kafka-group-coordinator-api",
    "kafka-metadata",
    "kafka-raft",
    "kafka-server",
    "kafka-server-common",
    "kafka-share-coordinator",
    "kafka-storage",
    "kafka-storage-api",
    "kafka-tools-api",
    "kafka-transaction-coordinator",
  ].map((artifact) => `org.apache.kafka:${artifact}:${KAFKA_VERSION}`),
  "at.yawk.lz4:lz4-java:1.11.2",
  "com.dynatrace.hash4j:hash4j:0.22.0",
  "com.fasterxml.jackson.core:jackson-annotations:2.21",
  "com.fasterxml.jackson.core:jackson-core:2.21.7",
  "com.fasterxml.jackson.core:jackson-databind:2.21.7",
  "com.fasterxml.jackson.dataformat:jackson-dataformat-yaml:2.21.7",
  "com.fasterxml.jackson.datatype:jackson-datatype-jdk8:2.21.7",
  "com.github.ben-manes.caffeine:caffeine:3.2.0",
  "com.github.luben:zstd-jni:1.5.7-17",
  "com.google.re2j:re2j:1.8",
  "com.typesafe.scala-logging:scala-logging_2.13:3.9.6",
  "com.yammer.metrics:metrics-core:2.2.0",
  "commons-beanutils:commons-beanutils:1.11.0",
  "commons-collections:commons-collections:3.2.2",
  "commons-digester:commons-digester:2.1",
  "commons-logging:commons-logging:1.3.5",
  "commons-validator:commons-validator:1.10.1",
  "net.sf.jopt-simple:jopt-simple:5.0.4",
  "net.sourceforge.argparse4j:argparse4j:0.7.0",
  "org.apache.logging.log4j:log4j-api:2.25.5",
  "org.apache.logging.log4j:log4j-core:2.25.5",
  "org.bitbucket.b_c:jose4j:0.9.6",
  "org.hdrhistogram:HdrHistogram:2.2.2",
  "org.pcollections:pcollections:4.0.2",
  "org.scala-lang:scala-library:2.13.18",
  "org.scala-lang:scala-reflect:2.13.18",
  "org.slf4j:slf4j-api:1.7.36",
  "org.xerial.snappy:snappy-java:1.1.10.7",
  "org.yaml:snakeyaml:2.4",
];

/** The classpath of Apache Kafka's server, downloaded into the cache if missing (about 45 MB). */
export const kafkaServerClasspath = async (): Promise<string> =>
  (
    await Promise.all(
      KAFKA_SERVER_JARS.map((coordinates) => {
        const [group, artifact, version] = coordinates.split(":") as [string, string, string];
        return mavenJar(group, artifact, version);
      }),
    )
  ).join(":");
