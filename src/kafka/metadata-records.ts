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
  ControlRecordType,
  controlRecordKey,
  controlRecordType,
  type KafkaRecord,
  metadataRecordFrame,
  metadataRecordValue,
  type RecordBatch,
} from "./records.ts";
import { KafkaDecodeError, ZERO_UUID } from "./wire.ts";

/**
 * The version each record is written at: the lowest that carries every field the spec models, so
 * nothing is written that the spec cannot stand behind (no log directories, no ELR).
 */
const VERSIONS = {
  RegisterBrokerRecord: 1, // inControlledShutdown from v1
  BrokerRegistrationChangeRecord: 1, // inControlledShutdown from v1
} as const;

/** A record's value as Kafka frames it (frame version 1, its type, its version, the record). */
export const encodeMetadataRecord = (record: MetadataRecord): Uint8Array => {
  switch (record._tag) {
    case "RegisterBrokerRecord":
      return metadataRecordValue(
        generated.RegisterBrokerRecord,
        {
          brokerId: record.brokerId,
          isMigratingZkBroker: false,
          incarnationId: record.incarnationId,
          brokerEpoch: BigInt(record.brokerEpoch),
          endPoints: record.endPoints.map((e) => ({ ...e })),
          features: record.features.map((f) => ({ ...f })),
          rack: record.rack,
          fenced: record.fenced,
          inControlledShutdown: record.inControlledShutdown,
          logDirs: [],
          cordonedLogDirs: null,
        },
        VERSIONS.RegisterBrokerRecord,
      );
    case "UnregisterBrokerRecord":
      return metadataRecordValue(
        generated.UnregisterBrokerRecord,
        { brokerId: record.brokerId, brokerEpoch: BigInt(record.brokerEpoch) },
        0,
      );
    case "FenceBrokerRecord":
      return metadataRecordValue(
        generated.FenceBrokerRecord,
        { id: record.id, epoch: BigInt(record.epoch) },
        0,
      );
    case "UnfenceBrokerRecord":
      return metadataRecordValue(
        generated.UnfenceBrokerRecord,
        { id: record.id, epoch: BigInt(record.epoch) },
        0,
      );
    case "BrokerRegistrationChangeRecord":
      return metadataRecordValue(
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
      return metadataRecordValue(generated.TopicRecord, { name: record.name, topicId: record.topicId }, 0);
    case "RemoveTopicRecord":
      return metadataRecordValue(generated.RemoveTopicRecord, { topicId: record.topicId }, 0);
    case "PartitionRecord":
      return metadataRecordValue(
        generated.PartitionRecord,
        {
          partitionId: record.partitionId,
          topicId: record.topicId,
          replicas: [...record.replicas],
          isr: [...record.isr],
          removingReplicas: [...record.removingReplicas],
          addingReplicas: [...record.addingReplicas],
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
      return metadataRecordValue(
        generated.PartitionChangeRecord,
        {
          partitionId: record.partitionId,
          topicId: record.topicId,
          isr: record.isr === null ? null : [...record.isr],
          leader: record.leader,
          replicas: record.replicas === null ? null : [...record.replicas],
          removingReplicas: record.removingReplicas === null ? null : [...record.removingReplicas],
          addingReplicas: record.addingReplicas === null ? null : [...record.addingReplicas],
          leaderRecoveryState: record.leaderRecoveryState,
          directories: null,
          eligibleLeaderReplicas: null,
          lastKnownElr: null,
        },
        0,
      );
    case "ConfigRecord":
      return metadataRecordValue(
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
      return metadataRecordValue(
        generated.FeatureLevelRecord,
        { name: record.name, featureLevel: record.featureLevel },
        0,
      );
    case "NoOpRecord":
      return metadataRecordValue(generated.NoOpRecord, {}, 0);
    case "ProducerIdsRecord":
      return metadataRecordValue(
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

/** A number the spec keeps as a JS number (offsets, epochs, ids below 2^53). */
const safe = (value: bigint, field: string): number => {
  if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER))
    throw new KafkaDecodeError(`${field} ${value} is beyond what this implementation models (2^53)`);
  return Number(value);
};

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
        brokerEpoch: safe(r.brokerEpoch, "brokerEpoch"),
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
        brokerEpoch: safe(r.brokerEpoch, "brokerEpoch"),
      };
    }
    case generated.FenceBrokerRecord as MessageCodec<unknown>: {
      const r = data as generated.FenceBrokerRecordData;
      return { _tag: "FenceBrokerRecord", id: r.id, epoch: safe(r.epoch, "epoch") };
    }
    case generated.UnfenceBrokerRecord as MessageCodec<unknown>: {
      const r = data as generated.UnfenceBrokerRecordData;
      return { _tag: "UnfenceBrokerRecord", id: r.id, epoch: safe(r.epoch, "epoch") };
    }
    case generated.BrokerRegistrationChangeRecord as MessageCodec<unknown>: {
      const r = data as generated.BrokerRegistrationChangeRecordData;
      return {
        _tag: "BrokerRegistrationChangeRecord",
        brokerId: r.brokerId,
        brokerEpoch: safe(r.brokerEpoch, "brokerEpoch"),
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
        brokerEpoch: safe(r.brokerEpoch, "brokerEpoch"),
        nextProducerId: safe(r.nextProducerId, "nextProducerId"),
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
 * Entries of one epoch and one kind (control or metadata) as one Kafka record batch at `baseOffset`:
 * partitionLeaderEpoch is their epoch, every record stamped `timestampMs` (Kafka's append time).
 */
export const logBatch = (
  baseOffset: number,
  entries: readonly LogItem[],
  timestampMs: number,
): RecordBatch => {
  const first = entries[0];
  if (first === undefined) throw new Error("a record batch needs at least one record");
  const control = first.control !== null;
  const records: KafkaRecord[] = entries.map((e, i) => {
    if ((e.control !== null) !== control || e.epoch !== first.epoch)
      throw new Error("a record batch holds records of one epoch and one kind");
    const kv =
      e.control !== null
        ? encodeControlRecord(e.control)
        : { key: null, value: encodeMetadataRecord(e.record!) };
    return { attributes: 0, timestampDelta: 0n, offsetDelta: i, key: kv.key, value: kv.value, headers: [] };
  });
  return {
    baseOffset: BigInt(baseOffset),
    partitionLeaderEpoch: first.epoch,
    attributes: control ? 0x20 : 0,
    lastOffsetDelta: entries.length - 1,
    baseTimestamp: BigInt(timestampMs),
    maxTimestamp: BigInt(timestampMs),
    producerId: -1n,
    producerEpoch: -1,
    baseSequence: -1,
    records,
  };
};
