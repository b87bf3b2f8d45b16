// `kraft metadata dump PATH`: the records of Kafka-format metadata log segments (`*.log`) and
// snapshots (`*.checkpoint`), or of every one in a `__cluster_metadata-0` directory, one line per
// record: offset, leader epoch, type and the record itself. Apache Kafka's own segments decode with
// it; it reads record batches with src/kafka/records.ts and records with the generated codecs.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { decodeMessage, type MessageCodec } from "../kafka/codec.ts";
import * as generated from "../kafka/generated/messages.ts";
import {
  ControlRecordType,
  controlRecordType,
  isControlBatch,
  metadataRecordFrame,
  readRecordBatches,
} from "../kafka/records.ts";
import { KafkaDecodeError } from "../kafka/wire.ts";
import { type FlagSpec, parseFlags, renderHelp, UsageError } from "./flags.ts";

interface Io {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
}

const FLAGS: readonly FlagSpec[] = [
  { kind: "boolean", name: "json", default: false, description: "one JSON object per record" },
  {
    kind: "integer",
    name: "limit",
    min: 1,
    max: 100_000_000,
    placeholder: "N",
    description: "stop after N records",
  },
  { kind: "boolean", name: "help", alias: "h", default: false, description: "show this help" },
];

export const METADATA_HELP = renderHelp(
  "kraft metadata dump PATH [--json] [--limit N]",
  "The records of Kafka-format metadata log segments (*.log) and snapshots (*.checkpoint): a file, or every one in a directory such as __cluster_metadata-0, in offset order. Exit 1 if a batch is corrupt (its CRC, its framing), naming the file and byte offset.",
  FLAGS,
);

/** The largest file read at once (Kafka's default metadata segment is 1 GiB). */
const MAX_FILE_BYTES = 1 << 30;

const codecsByKind = (kind: string): Map<number, MessageCodec<unknown>> =>
  new Map(generated.CODECS.filter((c) => c.kind === kind).map((c) => [c.apiKey, c]));

const CONTROL_CODECS: ReadonlyMap<number, MessageCodec<unknown>> = new Map([
  [ControlRecordType.LEADER_CHANGE, generated.LeaderChangeMessage as MessageCodec<unknown>],
  [ControlRecordType.SNAPSHOT_HEADER, generated.SnapshotHeaderRecord as MessageCodec<unknown>],
  [ControlRecordType.SNAPSHOT_FOOTER, generated.SnapshotFooterRecord as MessageCodec<unknown>],
  [ControlRecordType.KRAFT_VERSION, generated.KRaftVersionRecord as MessageCodec<unknown>],
  [ControlRecordType.KRAFT_VOTERS, generated.VotersRecord as MessageCodec<unknown>],
]);

const CONTROL_NAMES = new Map(Object.entries(ControlRecordType).map(([name, type]) => [type, name]));

/** The files to read: the one given, or a directory's snapshots and segments in offset order. */
const filesOf = (path: string): string[] => {
  let stat: ReturnType<typeof statSync>;
  try {
    stat = statSync(path);
  } catch {
    throw new UsageError(`${path}: no such file or directory`);
  }
  if (!stat.isDirectory()) return [path];
  const files = readdirSync(path)
    .filter((f) => /^\d{20}\.log$/.test(f) || /^\d{20}-\d{10}\.checkpoint$/.test(f))
    .sort();
  if (files.length === 0)
    throw new UsageError(`${path} holds no Kafka log segment (*.log) or snapshot (*.checkpoint)`);
  return files.map((f) => join(path, f));
};

const json = (value: unknown): string =>
  JSON.stringify(value, (_key, v: unknown) =>
    typeof v === "bigint" ? v.toString() : v instanceof Uint8Array ? Buffer.from(v).toString("base64") : v,
  );

export const runMetadata = (argv: readonly string[], io: Io): number => {
  const { values, positional } = parseFlags(FLAGS, argv);
  if (values["help"] === true) {
    io.out(METADATA_HELP);
    return 0;
  }
  if (positional[0] !== "dump" || positional.length !== 2)
    throw new UsageError(`kraft metadata takes "dump PATH", got "${positional.join(" ")}"`);
  const metadataCodecs = codecsByKind("metadata");
  const limit = typeof values["limit"] === "number" ? values["limit"] : Number.POSITIVE_INFINITY;
  let printed = 0;
  for (const file of filesOf(positional[1]!)) {
    const size = statSync(file).size;
    if (size > MAX_FILE_BYTES)
      throw new UsageError(`${file} is ${size} bytes, more than the ${MAX_FILE_BYTES} read at once`);
    const bytes = readFileSync(file);
    let read: ReturnType<typeof readRecordBatches>;
    try {
      read = readRecordBatches(bytes);
    } catch (error) {
      if (!(error instanceof KafkaDecodeError)) throw error;
      io.err(`kraft metadata dump: ${file}: ${error.message}`);
      return 1;
    }
    if (values["json"] !== true) io.out(`# ${file}: ${read.batches.length} batches`);
    for (const batch of read.batches) {
      for (const record of batch.records) {
        if (printed >= limit) return 0;
        const offset = batch.baseOffset + BigInt(record.offsetDelta);
        let type: string;
        let value: unknown;
        try {
          if (isControlBatch(batch)) {
            const controlType = controlRecordType(record.key);
            type = CONTROL_NAMES.get(controlType as never) ?? `control ${controlType}`;
            const codec = CONTROL_CODECS.get(controlType);
            value =
              codec === undefined || record.value === null ? null : decodeMessage(codec, record.value, 0);
          } else {
            if (record.value === null) throw new KafkaDecodeError("a metadata record has no value");
            const frame = metadataRecordFrame(record.value);
            const codec = metadataCodecs.get(frame.apiKey);
            if (codec === undefined)
              throw new KafkaDecodeError(`metadata record type ${frame.apiKey} is unknown`);
            value = decodeMessage(codec, frame.body, frame.version);
            type = `${codec.name} v${frame.version}`;
          }
        } catch (error) {
          if (!(error instanceof KafkaDecodeError)) throw error;
          io.err(`kraft metadata dump: ${file}: the record at offset ${offset}: ${error.message}`);
          return 1;
        }
        io.out(
          values["json"] === true
            ? json({ offset, leaderEpoch: batch.partitionLeaderEpoch, type, record: value })
            : `${offset}\tepoch ${batch.partitionLeaderEpoch}\t${type}\t${json(value)}`,
        );
        printed++;
      }
    }
    if (read.partialBytes > 0)
      io.err(
        `kraft metadata dump: ${file}: the last ${read.partialBytes} bytes are a partial batch (a torn write), not shown`,
      );
  }
  return 0;
};
