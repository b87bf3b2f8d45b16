// The spec's metadata records and control records (spec/metadata/records.ts, spec/raft/messages.ts)
// as Kafka writes them in `__cluster_metadata`: a metadata record is a record value framed with its
// type and version (R107–R111), a control record a versioned key and value (R55). Both directions
// are total over the spec's records; reading Kafka's own logs, a record type the spec does not model
// comes back as `unmodelled` with Kafka's fields, never silently dropped.

import type { MetadataRecord } from "../../spec/metadata/records.ts";
import type { ControlRecord, VotersRecord } from "../../spec/raft/messages.ts";
import type { Voter } from "../../spec/raft/primitives.ts";
import { SUPPORTED_KRAFT_VERSIONS } from "../../spec/raft/primitives.ts";
import { decodeMessage, encodeMessage, type MessageCodec } from "./codec.ts";
import * as generated from "./generated/messages.ts";
import {
  CONTROL_ATTRIBUTE,
  ControlRecordType,
  controlRecordKey,
  controlRecordType,
  encodeBatchInPlace,
  isControlBatch,
  metadataRecordFrame,
  metadataRecordValue,
  type RecordBatch,
  type RecordToWrite,
  readRecordBatches,
} from "./records.ts";
import { KafkaDecodeError, safeNumber, unsignedVarintSize, ZERO_UUID } from "./wire.ts";

/**
 * The version each record is written at: the lowest that carries every field the spec models, so
 * nothing is written that the spec cannot stand behind (no log directories, no ELR).
 */
const VERSIONS = {
  RegisterBrokerRecord: 1, // inControlledShutdown from v1
  BrokerRegistrationChangeRecord: 1, // inControlledShutdown from v1
} as const;

/** A spec record as Kafka's: the codec of its type, its fields, the version it is written at. */
interface KafkaForm<T> {
  readonly codec: MessageCodec<T>;
  readonly data: T;
  readonly version: number;
}

// The spec's arrays are readonly, the codecs' mutable: encoding only reads them, so they are passed
// as they are rather than copied per record.
const form = <T>(codec: MessageCodec<T>, data: T, version: number): KafkaForm<unknown> =>
  ({ codec, data, version }) as KafkaForm<unknown>;

const kafkaForm = (record: MetadataRecord): KafkaForm<unknown> => {
  switch (record._tag) {
    case "RegisterBrokerRecord":
      return form(
        generated.RegisterBrokerRecord,
        {
          brokerId: record.brokerId,
          isMigratingZkBroker: false,
          incarnationId: record.incarnationId,
          brokerEpoch: BigInt(record.brokerEpoch),
          endPoints: record.endPoints as generated.RegisterBrokerRecordBrokerEndpoint[],
          features: record.features as generated.RegisterBrokerRecordBrokerFeature[],
          rack: record.rack,
          fenced: record.fenced,
          inControlledShutdown: record.inControlledShutdown,
          logDirs: [],
          cordonedLogDirs: null,
        },
        VERSIONS.RegisterBrokerRecord,
      );
    case "UnregisterBrokerRecord":
      return form(
        generated.UnregisterBrokerRecord,
        { brokerId: record.brokerId, brokerEpoch: BigInt(record.brokerEpoch) },
        0,
      );
    case "FenceBrokerRecord":
      return form(generated.FenceBrokerRecord, { id: record.id, epoch: BigInt(record.epoch) }, 0);
    case "UnfenceBrokerRecord":
      return form(generated.UnfenceBrokerRecord, { id: record.id, epoch: BigInt(record.epoch) }, 0);
    case "BrokerRegistrationChangeRecord":
      return form(
        generated.BrokerRegistrationChangeRecord,
        {
          brokerId: record.brokerId,
          brokerEpoch: BigInt(record.brokerEpoch),
          fenced: record.fenced,
          inControlledShutdown: record.inControlledShutdown,
          logDirs: [],
          cordonedLogDirs: null,
        },
        VERSIONS.BrokerRegistrationChangeRecord,
      );
    case "TopicRecord":
      return form(generated.TopicRecord, { name: record.name, topicId: record.topicId }, 0);
    case "RemoveTopicRecord":
      return form(generated.RemoveTopicRecord, { topicId: record.topicId }, 0);
    case "PartitionRecord":
      return form(
        generated.PartitionRecord,
        {
          partitionId: record.partitionId,
          topicId: record.topicId,
          replicas: record.replicas as number[],
          isr: record.isr as number[],
          removingReplicas: record.removingReplicas as number[],
          addingReplicas: record.addingReplicas as number[],
          leader: record.leader,
          leaderRecoveryState: record.leaderRecoveryState,
          leaderEpoch: record.leaderEpoch,
          partitionEpoch: record.partitionEpoch,
          directories: [],
          eligibleLeaderReplicas: null,
          lastKnownElr: null,
        },
        0,
      );
    case "PartitionChangeRecord":
      return form(
        generated.PartitionChangeRecord,
        {
          partitionId: record.partitionId,
          topicId: record.topicId,
          isr: record.isr as number[] | null,
          leader: record.leader,
          replicas: record.replicas as number[] | null,
          removingReplicas: record.removingReplicas as number[] | null,
          addingReplicas: record.addingReplicas as number[] | null,
          leaderRecoveryState: record.leaderRecoveryState,
          directories: null,
          eligibleLeaderReplicas: null,
          lastKnownElr: null,
        },
        0,
      );
    case "ConfigRecord":
      return form(
        generated.ConfigRecord,
        {
          resourceType: record.resourceType,
          resourceName: record.resourceName,
          name: record.name,
          value: record.value,
        },
        0,
      );
    case "FeatureLevelRecord":
      return form(generated.FeatureLevelRecord, { name: record.name, featureLevel: record.featureLevel }, 0);
    case "NoOpRecord":
      return form(generated.NoOpRecord, {}, 0);
    case "ProducerIdsRecord":
      return form(
        generated.ProducerIdsRecord,
        {
          brokerId: record.brokerId,
          brokerEpoch: BigInt(record.brokerEpoch),
          nextProducerId: BigInt(record.nextProducerId),
        },
        0,
      );
  }
};

/** A record's value as Kafka frames it (frame version 1, its type, its version, the record). */
export const encodeMetadataRecord = (record: MetadataRecord): Uint8Array => {
  const { codec, data, version } = kafkaForm(record);
  return metadataRecordValue(codec, data, version);
};

/** The same value, sized now and written later straight into its record batch. */
const metadataRecordToWrite = (record: MetadataRecord): RecordToWrite => {
  const { codec, data, version } = kafkaForm(record);
  const frame = unsignedVarintSize(1) + unsignedVarintSize(codec.apiKey) + unsignedVarintSize(version);
  return {
    key: null,
    valueSize: frame + codec.size(data, version),
    writeValue: (w) => {
      w.unsignedVarint(1);
      w.unsignedVarint(codec.apiKey);
      w.unsignedVarint(version);
      codec.write(w, data, version);
    },
  };
};

/** A record Kafka writes that the spec does not model (ACLs, controller registrations, …). */
export interface UnmodelledRecord {
  readonly _tag: "Unmodelled";
  readonly type: string;
  readonly version: number;
  readonly data: unknown;
}

const METADATA_CODECS: ReadonlyMap<number, MessageCodec<unknown>> = new Map(
  generated.CODECS.filter((c) => c.kind === "metadata").map((c) => [c.apiKey, c as MessageCodec<unknown>]),
);

/** What a framed record value holds: the spec's record, or Kafka's fields of a type it does not model. */
export const decodeMetadataRecord = (value: Uint8Array): MetadataRecord | UnmodelledRecord => {
  const frame = metadataRecordFrame(value);
  const codec = METADATA_CODECS.get(frame.apiKey);
  if (codec === undefined) throw new KafkaDecodeError(`unknown metadata record type ${frame.apiKey}`);
  const data = decodeMessage(codec, frame.body, frame.version);
  switch (codec) {
    case generated.RegisterBrokerRecord as MessageCodec<unknown>: {
      const r = data as generated.RegisterBrokerRecordData;
      return {
        _tag: "RegisterBrokerRecord",
        brokerId: r.brokerId,
        incarnationId: r.incarnationId,
        brokerEpoch: safeNumber(r.brokerEpoch, "brokerEpoch"),
        endPoints: r.endPoints.map((e) => ({ ...e })),
        features: r.features.map((f) => ({ ...f })),
        rack: r.rack,
        fenced: r.fenced,
        inControlledShutdown: r.inControlledShutdown,
      };
    }
    case generated.UnregisterBrokerRecord as MessageCodec<unknown>: {
      const r = data as generated.UnregisterBrokerRecordData;
      return {
        _tag: "UnregisterBrokerRecord",
        brokerId: r.brokerId,
        brokerEpoch: safeNumber(r.brokerEpoch, "brokerEpoch"),
      };
    }
    case generated.FenceBrokerRecord as MessageCodec<unknown>: {
      const r = data as generated.FenceBrokerRecordData;
      return { _tag: "FenceBrokerRecord", id: r.id, epoch: safeNumber(r.epoch, "epoch") };
    }
    case generated.UnfenceBrokerRecord as MessageCodec<unknown>: {
      const r = data as generated.UnfenceBrokerRecordData;
      return { _tag: "UnfenceBrokerRecord", id: r.id, epoch: safeNumber(r.epoch, "epoch") };
    }
    case generated.BrokerRegistrationChangeRecord as MessageCodec<unknown>: {
      const r = data as generated.BrokerRegistrationChangeRecordData;
      return {
        _tag: "BrokerRegistrationChangeRecord",
        brokerId: r.brokerId,
        brokerEpoch: safeNumber(r.brokerEpoch, "brokerEpoch"),
        fenced: r.fenced,
        inControlledShutdown: r.inControlledShutdown,
      };
    }
    case generated.TopicRecord as MessageCodec<unknown>: {
      const r = data as generated.TopicRecordData;
      return { _tag: "TopicRecord", name: r.name, topicId: r.topicId };
    }
    case generated.RemoveTopicRecord as MessageCodec<unknown>:
      return { _tag: "RemoveTopicRecord", topicId: (data as generated.RemoveTopicRecordData).topicId };
    case generated.PartitionRecord as MessageCodec<unknown>: {
      const r = data as generated.PartitionRecordData;
      return {
        _tag: "PartitionRecord",
        partitionId: r.partitionId,
        topicId: r.topicId,
        replicas: r.replicas,
        isr: r.isr,
        removingReplicas: r.removingReplicas,
        addingReplicas: r.addingReplicas,
        leader: r.leader,
        leaderRecoveryState: r.leaderRecoveryState,
        leaderEpoch: r.leaderEpoch,
        partitionEpoch: r.partitionEpoch,
      };
    }
    case generated.PartitionChangeRecord as MessageCodec<unknown>: {
      const r = data as generated.PartitionChangeRecordData;
      return {
        _tag: "PartitionChangeRecord",
        partitionId: r.partitionId,
        topicId: r.topicId,
        isr: r.isr,
        leader: r.leader,
        replicas: r.replicas,
        removingReplicas: r.removingReplicas,
        addingReplicas: r.addingReplicas,
        leaderRecoveryState: r.leaderRecoveryState,
      };
    }
    case generated.ConfigRecord as MessageCodec<unknown>: {
      const r = data as generated.ConfigRecordData;
      return {
        _tag: "ConfigRecord",
        resourceType: r.resourceType,
        resourceName: r.resourceName,
        name: r.name,
        value: r.value,
      };
    }
    case generated.FeatureLevelRecord as MessageCodec<unknown>: {
      const r = data as generated.FeatureLevelRecordData;
      return { _tag: "FeatureLevelRecord", name: r.name, featureLevel: r.featureLevel };
    }
    case generated.NoOpRecord as MessageCodec<unknown>:
      return { _tag: "NoOpRecord" };
    case generated.ProducerIdsRecord as MessageCodec<unknown>: {
      const r = data as generated.ProducerIdsRecordData;
      return {
        _tag: "ProducerIdsRecord",
        brokerId: r.brokerId,
        brokerEpoch: safeNumber(r.brokerEpoch, "brokerEpoch"),
        nextProducerId: safeNumber(r.nextProducerId, "nextProducerId"),
      };
    }
    default:
      return { _tag: "Unmodelled", type: codec.name.replace(/Data$/, ""), version: frame.version, data };
  }
};

/**
 * The version Kafka 4.4 writes and reads a LeaderChangeMessage at (its golden batch in golden.json is
 * v0): voter directory ids are not kept, as in Kafka.
 */
export const LEADER_CHANGE_VERSION = 0;

/**
 * A control record as the log keeps it: what its encoding at LEADER_CHANGE_VERSION carries, so that a
 * leader's own entry is the one its followers, and itself after a restart, read back.
 */
export const asStoredControl = (control: ControlRecord): ControlRecord =>
  control._tag === "LeaderChangeMessage"
    ? {
        ...control,
        voters: control.voters.map((v) => ({ id: v.id })),
        grantingVoters: control.grantingVoters.map((v) => ({ id: v.id })),
      }
    : control;

/** R90: one listener of a voter, as a VotersRecord and AddRaftVoter carry it. */
export interface VoterEndpoint {
  readonly name: string;
  readonly host: string;
  readonly port: number;
}

/** A node's listeners by its id, as the runtime keeps them to reach it (R90: a VotersRecord names them). */
export interface VoterEndpoints {
  readonly id: number;
  readonly endpoints: readonly VoterEndpoint[];
}

/**
 * A VotersRecord (R90, version 0): each voter with the listeners and kraft.version range of its entry
 * (a voter without a range, one of the bootstrap servers a disk started from, with openkraft's).
 */
export const encodeVotersRecord = (voters: readonly Voter[]): Uint8Array =>
  encodeMessage(
    generated.VotersRecord,
    {
      version: 0,
      voters: voters.map((v) => ({
        voterId: v.id,
        voterDirectoryId: v.directoryId ?? ZERO_UUID,
        endpoints: (v.listeners ?? []).map((e) => ({ name: e.name, host: e.host, port: e.port })),
        kRaftVersionFeature: { ...(v.supportedKraftVersions ?? SUPPORTED_KRAFT_VERSIONS) },
      })),
    },
    0,
  );

/** A replica's key as the spec has it from Kafka's id and directory id (the zero id: none, R89). */
export const voterKey = (id: number, directoryId: string): Voter =>
  directoryId === ZERO_UUID ? { id } : { id, directoryId };

/** A VotersRecord's value as the spec's record: each voter's key, listeners and kraft.version range. */
export const decodeVotersRecord = (value: Uint8Array): VotersRecord => {
  const decoded = decodeMessage(generated.VotersRecord, value, 0);
  const ids = new Set<number>();
  for (const v of decoded.voters) {
    if (ids.has(v.voterId)) throw new KafkaDecodeError(`a VotersRecord names voter ${v.voterId} twice`);
    ids.add(v.voterId);
  }
  return {
    _tag: "VotersRecord",
    voters: decoded.voters.map((v) => ({
      ...voterKey(v.voterId, v.voterDirectoryId),
      listeners: v.endpoints.map((e) => ({ name: e.name, host: e.host, port: e.port })),
      supportedKraftVersions: {
        minSupportedVersion: v.kRaftVersionFeature.minSupportedVersion,
        maxSupportedVersion: v.kRaftVersionFeature.maxSupportedVersion,
      },
    })),
  };
};

/** R90: a KRaftVersionRecord (control type 5) naming `kraftVersion`. */
export const encodeKRaftVersionRecord = (kraftVersion: number): Uint8Array =>
  encodeMessage(generated.KRaftVersionRecord, { version: 0, kRaftVersion: kraftVersion }, 0);

/** R55, R90: a control record as Kafka writes it: a LeaderChangeMessage or a VotersRecord. */
export const encodeControlRecord = (control: ControlRecord): { key: Uint8Array; value: Uint8Array } => {
  if (control._tag === "VotersRecord")
    return {
      key: controlRecordKey(ControlRecordType.KRAFT_VOTERS),
      value: encodeVotersRecord(control.voters),
    };
  const voter = (v: ControlRecord["voters"][number]) => ({
    voterId: v.id,
    voterDirectoryId: ZERO_UUID,
  });
  return {
    key: controlRecordKey(ControlRecordType.LEADER_CHANGE),
    value: encodeMessage(
      generated.LeaderChangeMessage,
      {
        version: LEADER_CHANGE_VERSION,
        leaderId: control.leaderId,
        voters: control.voters.map(voter),
        grantingVoters: control.grantingVoters.map(voter),
      },
      LEADER_CHANGE_VERSION,
    ),
  };
};

/**
 * The control records KRaft writes in its log: a LeaderChangeMessage or a VotersRecord, or another
 * type by its number.
 */
export const decodeControlRecord = (
  key: Uint8Array | null,
  value: Uint8Array | null,
):
  | { readonly control: ControlRecord }
  | { readonly control: { readonly _tag: "OtherControl"; readonly type: number } } => {
  const type = controlRecordType(key);
  if (type === ControlRecordType.KRAFT_VOTERS) {
    if (value === null) throw new KafkaDecodeError("a VotersRecord has no value");
    return { control: decodeVotersRecord(value) };
  }
  if (type !== ControlRecordType.LEADER_CHANGE) return { control: { _tag: "OtherControl", type } };
  if (value === null) throw new KafkaDecodeError("a LeaderChangeMessage has no value");
  const decoded = decodeMessage(generated.LeaderChangeMessage, value, LEADER_CHANGE_VERSION);
  const voter = (v: generated.LeaderChangeMessageVoter) => ({ id: v.voterId });
  return {
    control: {
      _tag: "LeaderChangeMessage",
      leaderId: decoded.leaderId,
      voters: decoded.voters.map(voter),
      grantingVoters: decoded.grantingVoters.map(voter),
    },
  };
};

/** What one log offset holds, as the runtime's log store keeps it. */
export interface LogItem {
  readonly epoch: number;
  readonly control: ControlRecord | null;
  readonly record: MetadataRecord | null;
}

/**
 * Entries of one epoch and one kind (control or metadata) as one Kafka record batch at `baseOffset`,
 * in one buffer: partitionLeaderEpoch is their epoch, every record stamped `timestampMs` (Kafka's
 * append time).
 */
export const encodeLogBatch = (
  baseOffset: number,
  entries: readonly LogItem[],
  timestampMs: number,
): Uint8Array => {
  const first = entries[0];
  if (first === undefined) throw new Error("a record batch needs at least one record");
  const control = first.control !== null;
  const records: RecordToWrite[] = entries.map((e) => {
    if ((e.control !== null) !== control || e.epoch !== first.epoch)
      throw new Error("a record batch holds records of one epoch and one kind");
    if (e.control === null) return metadataRecordToWrite(e.record!);
    const { key, value } = encodeControlRecord(e.control);
    return { key, valueSize: value.length, writeValue: (w) => w.raw(value) };
  });
  return encodeBatchInPlace(
    {
      baseOffset: BigInt(baseOffset),
      partitionLeaderEpoch: first.epoch,
      attributes: control ? CONTROL_ATTRIBUTE : 0,
      baseTimestamp: BigInt(timestampMs),
      maxTimestamp: BigInt(timestampMs),
      producerId: -1n,
      producerEpoch: -1,
      baseSequence: -1,
    },
    records,
  );
};

/** A record of a batch that cannot be read: `index` is its place in the batch. */
export class LogRecordDecodeError extends KafkaDecodeError {
  readonly index: number;
  constructor(index: number, message: string) {
    super(message);
    this.index = index;
  }
}

/**
 * The log items of one Kafka record batch of the metadata log: its LeaderChangeMessages or metadata
 * records, each at the batch's epoch. A record this version cannot read (another control type, a
 * record type the spec does not model, offsets out of order) is a LogRecordDecodeError.
 */
export const decodeLogBatch = (batch: RecordBatch): LogItem[] => {
  const control = isControlBatch(batch);
  return batch.records.map((r, i): LogItem => {
    try {
      if (r.offsetDelta !== i)
        throw new KafkaDecodeError(`offset delta ${r.offsetDelta} where ${i} was expected`);
      if (control) {
        const decoded = decodeControlRecord(r.key, r.value);
        if (decoded.control._tag === "OtherControl")
          throw new KafkaDecodeError(
            `control record type ${decoded.control.type} is not one this version writes`,
          );
        return { epoch: batch.partitionLeaderEpoch, control: decoded.control, record: null };
      }
      if (r.value === null) throw new KafkaDecodeError("a metadata record has no value");
      const decoded = decodeMetadataRecord(r.value);
      if (decoded._tag === "Unmodelled")
        throw new KafkaDecodeError(`${decoded.type} is not a record type this version models`);
      return { epoch: batch.partitionLeaderEpoch, control: null, record: decoded };
    } catch (error) {
      if (error instanceof KafkaDecodeError) throw new LogRecordDecodeError(i, error.message);
      throw error;
    }
  });
};

// ---- snapshots (KIP-630, R78) ----------------------------------------------------------------------

/** Records per data batch of a snapshot (Kafka caps its batches by bytes, 8 MiB; ours stay far below). */
const SNAPSHOT_BATCH_RECORDS = 1000;

/** A control batch at `baseOffset`, of `epoch`, holding `records` (type and value each). */
const controlBatch = (
  baseOffset: number,
  epoch: number,
  records: readonly (readonly [type: number, value: Uint8Array])[],
  timestampMs: number,
): Uint8Array =>
  encodeBatchInPlace(
    {
      baseOffset: BigInt(baseOffset),
      partitionLeaderEpoch: epoch,
      attributes: CONTROL_ATTRIBUTE,
      baseTimestamp: BigInt(timestampMs),
      maxTimestamp: BigInt(timestampMs),
      producerId: -1n,
      producerEpoch: -1,
      baseSequence: -1,
    },
    records.map(([type, value]) => ({
      key: controlRecordKey(type),
      valueSize: value.length,
      writeValue: (w) => w.raw(value),
    })),
  );

/** R91, R92: the voter set a snapshot or the bootstrap checkpoint holds. */
export interface SnapshotVoters {
  readonly kraftVersion: number;
  /** Absent: a kraft.version record alone (a bootstrap checkpoint of a node that joins as observer). */
  readonly voters?: readonly Voter[];
}

/**
 * R78: a snapshot file's bytes as Kafka writes them: a control batch holding a SnapshotHeaderRecord,
 * the state machine's records in batches, then a control batch holding a SnapshotFooterRecord; offsets
 * run from 0 across all of them and every batch carries the snapshot's epoch.
 */
export const encodeSnapshot = (
  epoch: number,
  records: readonly MetadataRecord[],
  lastContainedLogTimestampMs: number,
  nowMs: number,
  voters?: SnapshotVoters,
): Uint8Array => {
  const parts: Uint8Array[] = [];
  const header = encodeMessage(
    generated.SnapshotHeaderRecord,
    { version: 0, lastContainedLogTimestamp: BigInt(lastContainedLogTimestampMs) },
    0,
  );
  // R91, R92: with kraft.version 1 the header's batch also holds the kraft.version and the voter set
  // in force at the snapshot's end, as Kafka's snapshot writer puts them.
  const control: [number, Uint8Array][] = [[ControlRecordType.SNAPSHOT_HEADER, header]];
  if (voters !== undefined) {
    control.push([ControlRecordType.KRAFT_VERSION, encodeKRaftVersionRecord(voters.kraftVersion)]);
    if (voters.voters !== undefined)
      control.push([ControlRecordType.KRAFT_VOTERS, encodeVotersRecord(voters.voters)]);
  }
  parts.push(controlBatch(0, epoch, control, nowMs));
  let offset = control.length;
  for (let i = 0; i < records.length; i += SNAPSHOT_BATCH_RECORDS) {
    const chunk = records.slice(i, i + SNAPSHOT_BATCH_RECORDS);
    parts.push(
      encodeLogBatch(
        offset,
        chunk.map((record) => ({ epoch, control: null, record })),
        nowMs,
      ),
    );
    offset += chunk.length;
  }
  const footer = encodeMessage(generated.SnapshotFooterRecord, { version: 0 }, 0);
  parts.push(controlBatch(offset, epoch, [[ControlRecordType.SNAPSHOT_FOOTER, footer]], nowMs));
  return Buffer.concat(parts);
};

/** What a snapshot file holds: the state machine's records, and when the last of them was appended. */
export interface SnapshotContent {
  readonly records: readonly MetadataRecord[];
  readonly lastContainedLogTimestampMs: number;
  /** Records of types the spec does not model (Kafka's ACLs, controller registrations, …), by type. */
  readonly unmodelled: ReadonlyMap<string, number>;
  /** R91, R92: its KRaftVersionRecord and VotersRecord, when it has them. */
  readonly voters?: SnapshotVoters;
}

/**
 * Read a snapshot file (R78): whole batches only, each checked by CRC; a SnapshotHeaderRecord first
 * and a SnapshotFooterRecord last, nothing after it; offsets in order from 0. Anything else is a
 * KafkaDecodeError naming what is wrong.
 */
export const decodeSnapshot = (bytes: Uint8Array): SnapshotContent => {
  const read = readRecordBatches(bytes);
  if (read.partialBytes > 0)
    throw new KafkaDecodeError(
      `the snapshot ends inside a batch (${read.partialBytes} bytes): it is not whole`,
    );
  const records: MetadataRecord[] = [];
  const unmodelled = new Map<string, number>();
  let timestamp = -1;
  let next = 0;
  let footer = false;
  let kraftVersion = -1;
  let voterSet: ReturnType<typeof decodeVotersRecord> | undefined;
  read.batches.forEach((batch, i) => {
    if (footer) throw new KafkaDecodeError("the snapshot has batches after its SnapshotFooterRecord");
    if (Number(batch.baseOffset) !== next)
      throw new KafkaDecodeError(`a snapshot batch starts at offset ${batch.baseOffset}, not ${next}`);
    next += batch.records.length;
    if (isControlBatch(batch)) {
      for (const r of batch.records) {
        const type = controlRecordType(r.key);
        if (type === ControlRecordType.SNAPSHOT_HEADER) {
          if (i !== 0 || r !== batch.records[0])
            throw new KafkaDecodeError("a SnapshotHeaderRecord that is not the snapshot's first record");
          if (r.value === null) throw new KafkaDecodeError("a SnapshotHeaderRecord has no value");
          const header = decodeMessage(generated.SnapshotHeaderRecord, r.value, 0);
          timestamp = safeNumber(header.lastContainedLogTimestamp, "lastContainedLogTimestamp");
        } else if (type === ControlRecordType.SNAPSHOT_FOOTER) {
          footer = true;
        } else if (type === ControlRecordType.KRAFT_VERSION) {
          if (r.value === null) throw new KafkaDecodeError("a KRaftVersionRecord has no value");
          kraftVersion = decodeMessage(generated.KRaftVersionRecord, r.value, 0).kRaftVersion;
        } else if (type === ControlRecordType.KRAFT_VOTERS) {
          if (r.value === null) throw new KafkaDecodeError("a VotersRecord has no value");
          voterSet = decodeVotersRecord(r.value);
        } else {
          throw new KafkaDecodeError(`control record type ${type} does not belong in a snapshot`);
        }
      }
      return;
    }
    if (i === 0) throw new KafkaDecodeError("the snapshot does not start with a SnapshotHeaderRecord");
    for (const r of batch.records) {
      if (r.value === null) throw new KafkaDecodeError("a metadata record has no value");
      const record = decodeMetadataRecord(r.value);
      if (record._tag === "Unmodelled") unmodelled.set(record.type, (unmodelled.get(record.type) ?? 0) + 1);
      else records.push(record);
    }
  });
  if (timestamp < 0) throw new KafkaDecodeError("the snapshot has no SnapshotHeaderRecord");
  if (!footer) throw new KafkaDecodeError("the snapshot has no SnapshotFooterRecord: it is not whole");
  if (voterSet !== undefined && kraftVersion < 1)
    throw new KafkaDecodeError("the snapshot has a VotersRecord without a KRaftVersionRecord of 1 or more");
  const voters: SnapshotVoters | undefined =
    kraftVersion < 0
      ? undefined
      : voterSet === undefined
        ? { kraftVersion }
        : { kraftVersion, voters: voterSet.voters };
  return {
    records,
    lastContainedLogTimestampMs: timestamp,
    unmodelled,
    ...(voters === undefined ? {} : { voters }),
  };
};
