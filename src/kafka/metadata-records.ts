// The spec's metadata records and control records (spec/metadata/records.ts, spec/raft/messages.ts)
// as Kafka writes them in `__cluster_metadata`: a metadata record is a record value framed with its
// type and version (R107–R111), a control record a versioned key and value (R55). Both directions
// are total over the spec's records; reading Kafka's own logs, a record type the spec does not model
// comes back as `unmodelled` with Kafka's fields, never silently dropped.

import type { MetadataRecord } from "../../spec/metadata/records.ts";
import type { ControlRecord } from "../../spec/raft/messages.ts";
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

/** R55: a LeaderChangeMessage as Kafka writes it. */
export const encodeControlRecord = (control: ControlRecord): { key: Uint8Array; value: Uint8Array } => {
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

/** The control records KRaft writes: a LeaderChangeMessage, or another type by its name. */
export const decodeControlRecord = (
  key: Uint8Array | null,
  value: Uint8Array | null,
): ControlRecord | { readonly _tag: "OtherControl"; readonly type: number } => {
  const type = controlRecordType(key);
  if (type !== ControlRecordType.LEADER_CHANGE) return { _tag: "OtherControl", type };
  if (value === null) throw new KafkaDecodeError("a LeaderChangeMessage has no value");
  const decoded = decodeMessage(generated.LeaderChangeMessage, value, LEADER_CHANGE_VERSION);
  const voter = (v: generated.LeaderChangeMessageVoter) => ({ id: v.voterId });
  return {
    _tag: "LeaderChangeMessage",
    leaderId: decoded.leaderId,
    voters: decoded.voters.map(voter),
    grantingVoters: decoded.grantingVoters.map(voter),
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
        if (decoded._tag !== "LeaderChangeMessage")
          throw new KafkaDecodeError(`control record type ${decoded.type} is not one this version writes`);
        return { epoch: batch.partitionLeaderEpoch, control: decoded, record: null };
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
