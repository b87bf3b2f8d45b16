// `kraft metadata dump PATH`: the records of Kafka-format metadata log segments (`*.log`) and
// snapshots (`*.checkpoint`), or of every one in a `__cluster_metadata-0` directory, one line per
// record: offset, leader epoch, type and the record itself. Apache Kafka's own segments decode with
// it; it reads record batches with src/kafka/records.ts and records with the generated codecs. With
// --at-offset it prints the image at an offset instead, replayed by the spec from the latest snapshot
// at or below it and the log (src/kafka/metadata-records.ts turns Kafka's records into the spec's).
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import {
  apply as applyRecord,
  configsOf,
  EMPTY_IMAGE,
  imageView,
  type MetadataImage,
  newReplayScratch,
  partitionsOf,
  topicsOf,
} from "../../spec/metadata/image.ts";
import { decodeMessage, type MessageCodec } from "../kafka/codec.ts";
import * as generated from "../kafka/generated/messages.ts";
import { decodeMetadataRecord } from "../kafka/metadata-records.ts";
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
  {
    kind: "integer",
    name: "at-offset",
    min: 0,
    max: Number.MAX_SAFE_INTEGER,
    placeholder: "N",
    description:
      "print the metadata image at offset N instead of the records: the latest snapshot at or below it, then the log",
  },
  { kind: "boolean", name: "help", alias: "h", default: false, description: "show this help" },
];

export const METADATA_HELP = renderHelp(
  "kraft metadata dump PATH [--json] [--limit N] [--at-offset N]",
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

/** A snapshot's name: `<endOffset>-<epoch>.checkpoint`; null for a log segment. */
const snapshotId = (file: string): { endOffset: number; epoch: number } | null => {
  const m = /(\d{20})-(\d{10})\.checkpoint$/.exec(file);
  return m === null ? null : { endOffset: Number(m[1]), epoch: Number(m[2]) };
};

/** The batches of one file, or a one-line reason it cannot be read (exit 1). */
const batchesOf = (file: string, io: Io): ReturnType<typeof readRecordBatches> | null => {
  const size = statSync(file).size;
  if (size > MAX_FILE_BYTES)
    throw new UsageError(`${file} is ${size} bytes, more than the ${MAX_FILE_BYTES} read at once`);
  try {
    const read = readRecordBatches(readFileSync(file));
    if (read.partialBytes > 0)
      io.err(
        `kraft metadata dump: ${file}: the last ${read.partialBytes} bytes are a partial batch (a torn write), not shown`,
      );
    return read;
  } catch (error) {
    if (!(error instanceof KafkaDecodeError)) throw error;
    io.err(`kraft metadata dump: ${file}: ${error.message}`);
    return null;
  }
};

/**
 * The image at `atOffset`: the latest snapshot ending at or below `atOffset + 1`, then the log's
 * metadata records from its end up to `atOffset`, replayed by the spec (R122). Records of types the
 * spec does not model are counted, not applied.
 */
const imageAt = (files: readonly string[], atOffset: number, asJson: boolean, io: Io): number => {
  const snapshots = files
    .map((file) => ({ file, id: snapshotId(file) }))
    .filter((s) => s.id !== null && s.id.endOffset <= atOffset + 1)
    .sort((a, b) => a.id!.endOffset - b.id!.endOffset);
  const base = snapshots.at(-1);
  let image: MetadataImage = EMPTY_IMAGE;
  const problems: string[] = [];
  const unmodelled = new Map<string, number>();
  const scratch = newReplayScratch();
  let next = base === undefined ? 0 : base.id!.endOffset;
  const applyValue = (value: Uint8Array | null, offset: number, epoch: number, file: string): boolean => {
    try {
      if (value === null) throw new KafkaDecodeError("a metadata record has no value");
      const record = decodeMetadataRecord(value);
      if (record._tag === "Unmodelled") {
        unmodelled.set(record.type, (unmodelled.get(record.type) ?? 0) + 1);
        return true;
      }
      const applied = applyRecord(image, record, offset, epoch, scratch);
      image = applied.image;
      if (applied.problem !== undefined) problems.push(`offset ${offset}: ${applied.problem}`);
      return true;
    } catch (error) {
      if (!(error instanceof KafkaDecodeError)) throw error;
      io.err(`kraft metadata dump: ${file}: the record at offset ${offset}: ${error.message}`);
      return false;
    }
  };
  if (base !== undefined) {
    const read = batchesOf(base.file, io);
    if (read === null) return 1;
    for (const batch of read.batches) {
      if (isControlBatch(batch)) continue;
      for (const r of batch.records)
        if (!applyValue(r.value, base.id!.endOffset - 1, base.id!.epoch, base.file)) return 1;
    }
  }
  for (const file of files) {
    if (snapshotId(file) !== null) continue;
    const read = batchesOf(file, io);
    if (read === null) return 1;
    for (const batch of read.batches) {
      for (const r of batch.records) {
        const offset = Number(batch.baseOffset) + r.offsetDelta;
        if (offset < next || offset > atOffset) continue;
        if (offset !== next) {
          io.err(
            `kraft metadata dump: no record at offset ${next} (the log goes on at ${offset}) and no snapshot covers it: the image at ${atOffset} cannot be built`,
          );
          return 1;
        }
        next = offset + 1;
        if (!isControlBatch(batch) && !applyValue(r.value, offset, batch.partitionLeaderEpoch, file))
          return 1;
      }
    }
  }
  if (next <= atOffset) {
    io.err(
      `kraft metadata dump: the records end at offset ${next - 1}, below ${atOffset}; the image there is not known`,
    );
    return 1;
  }
  const skipped = Object.fromEntries([...unmodelled.entries()].sort());
  if (asJson) {
    io.out(
      json({
        atOffset,
        snapshot: base?.file ?? null,
        image: imageView(image),
        notModelled: skipped,
        problems,
      }),
    );
    return 0;
  }
  io.out(`# the image at offset ${atOffset}${base === undefined ? "" : ` (from ${base.file})`}`);
  io.out(`features: ${image.features.map((f) => `${f.name}=${f.level}`).join(", ")}`);
  for (const b of image.brokers)
    io.out(
      `broker ${b.id}: epoch ${b.epoch}${b.fenced ? ", fenced" : ""}${b.inControlledShutdown ? ", in controlled shutdown" : ""}; ${b.endPoints.map((e) => `${e.name}://${e.host}:${e.port}`).join(", ")}`,
    );
  for (const t of topicsOf(image)) {
    io.out(`topic ${t.name} (${t.topicId}): ${t.partitions.size} partitions`);
    for (const p of partitionsOf(t))
      io.out(
        `  partition ${p.partitionId}: leader ${p.leader}, leader epoch ${p.leaderEpoch}, replicas ${p.replicas.join(",")}, isr ${p.isr.join(",")}`,
      );
  }
  for (const c of configsOf(image))
    io.out(
      `config ${c.resourceType === 2 ? "topic" : c.resourceType === 4 ? "broker" : `type ${c.resourceType}`} ${c.resourceName === "" ? "(default)" : c.resourceName}: ${c.name}=${c.value}`,
    );
  if (unmodelled.size > 0)
    io.out(
      `# records of types the spec does not model, not applied: ${Object.entries(skipped)
        .map(([type, n]) => `${type} ×${n}`)
        .join(", ")}`,
    );
  for (const problem of problems) io.out(`# a record that does not fit the image: ${problem}`);
  return 0;
};

export const runMetadata = (argv: readonly string[], io: Io): number => {
  const { values, positional } = parseFlags(FLAGS, argv);
  if (values["help"] === true) {
    io.out(METADATA_HELP);
    return 0;
  }
  if (positional[0] !== "dump" || positional.length !== 2)
    throw new UsageError(`kraft metadata takes "dump PATH", got "${positional.join(" ")}"`);
  const files = filesOf(positional[1]!);
  if (typeof values["at-offset"] === "number")
    return imageAt(files, values["at-offset"], values["json"] === true, io);
  const metadataCodecs = codecsByKind("metadata");
  const limit = typeof values["limit"] === "number" ? values["limit"] : Number.POSITIVE_INFINITY;
  let printed = 0;
  for (const file of files) {
    const read = batchesOf(file, io);
    if (read === null) return 1;
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
  }
  return 0;
};
