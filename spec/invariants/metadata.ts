// The controller layer's properties, stated independently of the code they check: what every image
// must satisfy, what every committed record may do to the image before it, and what a controller
// step may do with the request it handles. The metadata world checks them on every step; the model
// checker reports the first one broken with a shortest trace.
import type { ControllerEffect, ControllerInput, ControllerState } from "../metadata/controller.ts";
import {
  apply,
  type BrokerRegistration,
  type ConfigEntry,
  findTopicById,
  type MetadataImage,
  type PartitionState,
  type TopicImage,
} from "../metadata/image.ts";
import {
  LEADER_RECOVERING,
  type MetadataRecord,
  NO_LEADER,
  NO_LEADER_CHANGE,
  RESOURCE_BROKER,
  RESOURCE_TOPIC,
} from "../metadata/records.ts";
import { type ControllerResponse, ELECTION_UNCLEAN } from "../metadata/requests.ts";

const partitionName = (topic: string, p: PartitionState): string => `${topic}-${p.partitionId}`;

// ---- the image read as plain data ----------------------------------------------------------------
// These properties judge the image module as well, so they read its chunks themselves rather than
// through its lookups: a bug in a lookup must not blind the checks of what it finds.

const items = <T>(collection: { readonly chunks: readonly (readonly T[])[] }): T[] =>
  collection.chunks.flat();
const findBroker = (image: MetadataImage, id: number): BrokerRegistration | undefined =>
  image.brokers.find((b) => b.id === id);
const partitionsOf = (topic: TopicImage): PartitionState[] => items(topic.partitions);
const findTopic = (image: MetadataImage, name: string): TopicImage | undefined =>
  items(image.topics).find((t) => t.name === name);
const topicWithId = (image: MetadataImage, topicId: string): TopicImage | undefined =>
  items(image.topics).find((t) => t.topicId === topicId);
const findPartition = (topic: TopicImage, partitionId: number): PartitionState | undefined =>
  partitionsOf(topic).find((p) => p.partitionId === partitionId);
const findPartitionById = (image: MetadataImage, topicId: string, partitionId: number) => {
  const topic = topicWithId(image, topicId);
  return topic === undefined ? undefined : findPartition(topic, partitionId);
};
const configsOf = (image: MetadataImage): ConfigEntry[] => items(image.configs).flatMap((r) => r.entries);

/** Every (broker, topic, partition) the index of partitions by broker holds, as `broker/topic/id`. */
const indexedTriples = (image: MetadataImage): string[] =>
  items(image.partitionsByBroker).flatMap((b) =>
    items(b.topics).flatMap((t) => items(t.partitionIds).map((id) => `${b.brokerId}/${t.name}/${id}`)),
  );

/**
 * R123: unclean.leader.election.enable as the topic sets it, else as the cluster-wide broker default
 * sets it (read from the plain list of configs, not through the image module's lookups).
 */
const uncleanEnabled = (image: MetadataImage, topic: string): boolean => {
  const unclean = configsOf(image).filter((c) => c.name === "unclean.leader.election.enable");
  const setting = (resourceType: number, resourceName: string) =>
    unclean.find((c) => c.resourceType === resourceType && c.resourceName === resourceName)?.value;
  return (setting(RESOURCE_TOPIC, topic) ?? setting(RESOURCE_BROKER, "")) === "true";
};

/**
 * R119: a broker may lead or join an ISR when registered, unfenced and not shutting down. Stated here
 * again rather than taken from the image module, so that a bug there cannot blind these checks.
 */
const isUsable = (image: MetadataImage, id: number): boolean => {
  const broker = findBroker(image, id);
  return broker !== undefined && !broker.fenced && !broker.inControlledShutdown;
};

/**
 * Invariants of one image: partition leaders are in their ISR (or absent), ISRs are non-empty
 * subsets of the replicas without ELR (R123, R124), leaders are usable brokers (R119), a fenced or
 * shutting-down broker is in no ISR it shares with others (R117, R124), and topic names and ids are
 * one-to-one (R109), and topic configs belong to existing topics (R111). The image's own indexes must
 * agree with what they index.
 */
export const imageProblem = (image: MetadataImage): string | null => {
  const names = new Set<string>();
  const ids = new Set<string>();
  const triples = indexedTriples(image);
  const indexed = new Set(triples);
  let indexable = 0;
  for (const chunk of image.topics.chunks)
    for (const topic of chunk) {
      if (names.has(topic.name)) return `TopicNameUnique: two topics are named ${topic.name}`;
      if (ids.has(topic.topicId)) return `TopicIdUnique: two topics have id ${topic.topicId}`;
      names.add(topic.name);
      ids.add(topic.topicId);
      // The image finds a topic by id through its index: an index that disagrees loses the topic.
      if (findTopicById(image, topic.topicId) !== topic)
        return `TopicIdUnique: topic ${topic.name}'s id ${topic.topicId} does not find it`;
      for (const p of partitionsOf(topic)) {
        const name = partitionName(topic.name, p);
        // Fences and elections find a broker's partitions through this index: one missing is never
        // moved. It holds each partition under its ISR members and its leader, or no leader (-1).
        const members = p.isr.includes(p.leader) ? p.isr : [...p.isr, p.leader];
        for (const id of members) {
          indexable++;
          if (!indexed.has(`${id}/${topic.name}/${p.partitionId}`))
            return `PartitionIndexComplete: ${name} is not indexed under ${id === NO_LEADER ? "no leader" : `broker ${id}`}`;
        }
        if (p.isr.length === 0) return `IsrNonEmpty: ${name} has an empty ISR`;
        if (new Set(p.isr).size !== p.isr.length)
          return `IsrDistinct: ${name} has ISR ${JSON.stringify(p.isr)}`;
        const stray = p.isr.find((id) => !p.replicas.includes(id));
        if (stray !== undefined)
          return `IsrWithinReplicas: ${name} has ISR member ${stray} outside replicas ${JSON.stringify(p.replicas)}`;
        if (p.leader !== NO_LEADER && !p.isr.includes(p.leader)) {
          return `LeaderInIsr: ${name} is led by ${p.leader}, not in ISR ${JSON.stringify(p.isr)}`;
        }
        if (p.leader !== NO_LEADER && !isUsable(image, p.leader)) {
          return `LeaderUsable: ${name} is led by broker ${p.leader}, which is not registered, unfenced and running`;
        }
        if (p.isr.length > 1) {
          const unusable = p.isr.find((id) => !isUsable(image, id));
          if (unusable !== undefined)
            return `IsrUsable: ${name} keeps unusable broker ${unusable} in ISR ${JSON.stringify(p.isr)}`;
        }
      }
    }
  if (image.topicNamesById.size !== names.size)
    return `TopicIdUnique: ${image.topicNamesById.size} topic ids for ${names.size} topics`;
  // R111: a topic's configs go with it (DeleteTopics); left behind, a new topic of the name inherits them.
  for (const c of configsOf(image))
    if (c.resourceType === RESOURCE_TOPIC && findTopic(image, c.resourceName) === undefined)
      return `TopicConfigsExist: ${c.name} is set for topic ${c.resourceName}, which does not exist`;
  if (triples.length !== indexable)
    return `PartitionIndexExact: the index holds ${triples.length} broker-partition pairs, the partitions have ${indexable}`;
  return null;
};

/**
 * What a committed record may do to the image before it (R114, R119, R122, R123): it must fit; a
 * leader it names must be usable then; a change of leader bumps the leader epoch and every change the
 * partition epoch; a leader from outside the ISR only by an unclean election the topic allows; new
 * ISR members only usable brokers; a new incarnation's broker epoch is its own offset, above the last.
 */
export const recordProblem = (
  before: MetadataImage,
  record: MetadataRecord,
  offset: number,
  epoch: number,
  replay: typeof apply = apply,
): string | null => {
  // `replay` is the image replay being judged (R122: its epoch bumps are part of what is checked).
  const applied = replay(before, record, offset, epoch);
  if (applied.problem !== undefined) return `RecordsFit: offset ${offset}: ${applied.problem}`;
  const after = applied.image;
  switch (record._tag) {
    case "RegisterBrokerRecord": {
      const previous = findBroker(before, record.brokerId);
      if (previous !== undefined && previous.incarnationId === record.incarnationId) {
        return previous.epoch === record.brokerEpoch
          ? null
          : `BrokerEpochKept: broker ${record.brokerId} re-registered the same incarnation with epoch ${record.brokerEpoch}, was ${previous.epoch}`;
      }
      if (record.brokerEpoch !== offset)
        return `BrokerEpochIsOffset: broker ${record.brokerId} registered at offset ${offset} with epoch ${record.brokerEpoch}`;
      if (previous !== undefined && record.brokerEpoch <= previous.epoch) {
        return `BrokerEpochIncreases: broker ${record.brokerId} went from epoch ${previous.epoch} to ${record.brokerEpoch}`;
      }
      return null;
    }
    case "PartitionRecord": {
      if (record.leader !== NO_LEADER && !isUsable(before, record.leader)) {
        return `LeaderUsableWhenChosen: offset ${offset} creates a partition led by unusable broker ${record.leader}`;
      }
      const unusable = record.isr.find((id) => !isUsable(before, id));
      if (unusable !== undefined)
        return `IsrUsableWhenAdded: offset ${offset} creates a partition with unusable ISR member ${unusable}`;
      return null;
    }
    case "PartitionChangeRecord": {
      const old = findPartitionById(before, record.topicId, record.partitionId)!;
      const now = findPartitionById(after, record.topicId, record.partitionId)!;
      const name = `${topicWithId(before, record.topicId)?.name}-${record.partitionId}`;
      if (now.partitionEpoch !== old.partitionEpoch + 1)
        return `PartitionEpochBumps: ${name} went from partition epoch ${old.partitionEpoch} to ${now.partitionEpoch} at offset ${offset}`;
      const expectedLeaderEpoch = record.leader === NO_LEADER_CHANGE ? old.leaderEpoch : old.leaderEpoch + 1;
      if (now.leaderEpoch !== expectedLeaderEpoch) {
        return `LeaderEpochBumps: ${name} went from leader epoch ${old.leaderEpoch} to ${now.leaderEpoch} at offset ${offset} (leader ${record.leader})`;
      }
      if (record.leader !== NO_LEADER_CHANGE && record.leader !== NO_LEADER) {
        if (!isUsable(before, record.leader))
          return `LeaderUsableWhenChosen: offset ${offset} makes unusable broker ${record.leader} leader of ${name}`;
        if (
          !old.isr.includes(record.leader) &&
          (now.leaderRecoveryState !== LEADER_RECOVERING ||
            now.isr.length !== 1 ||
            now.isr[0] !== record.leader)
        ) {
          // An unclean leader may miss committed records: it must lead alone and recover (R123).
          return `UncleanLeaderRecovers: ${name} got leader ${record.leader} from outside ISR ${JSON.stringify(old.isr)} without ISR [${record.leader}] and RECOVERING`;
        }
      }
      const added = now.isr.find((id) => !old.isr.includes(id) && !isUsable(before, id));
      if (added !== undefined)
        return `IsrUsableWhenAdded: offset ${offset} adds unusable broker ${added} to the ISR of ${name}`;
      return null;
    }
    case "TopicRecord":
      return findTopic(before, record.name) === undefined
        ? null
        : `TopicNameUnique: offset ${offset} creates ${record.name} again`;
    default:
      return null;
  }
};

/** Whether an answer reports that anything succeeded. */
export const reportsSuccess = (response: ControllerResponse): boolean => {
  switch (response._tag) {
    case "BrokerRegistrationResponse":
    case "BrokerHeartbeatResponse":
      return response.errorCode === "NONE";
    case "CreateTopicsResponse":
      return response.topics.some((t) => t.errorCode === "NONE");
    case "DeleteTopicsResponse":
      return response.responses.some((t) => t.errorCode === "NONE");
    case "CreatePartitionsResponse":
      return response.results.some((t) => t.errorCode === "NONE");
    case "AlterPartitionResponse":
      return (
        response.errorCode === "NONE" &&
        response.topics.some((t) => t.partitions.some((p) => p.errorCode === "NONE"))
      );
    case "ElectLeadersResponse":
      return (
        response.errorCode === "NONE" &&
        response.replicaElectionResults.some((t) => t.partitionResult.some((p) => p.errorCode === "NONE"))
      );
    case "IncrementalAlterConfigsResponse":
    case "AlterConfigsResponse":
      return response.responses.some((r) => r.errorCode === "NONE");
    case "DescribeConfigsResponse":
      return response.results.some((r) => r.errorCode === "NONE");
  }
};

/**
 * What one controller step may do (R104, R106, R113–R116, R126): write only while active and in its
 * own epoch, at the offsets it expects; accept an AlterPartition only from the registered incarnation
 * for ISR members of their registered epochs (KIP-903); register a new incarnation only when the old
 * one's session is gone; unfence only a broker that has caught up.
 */
export const controllerStepProblem = (
  before: ControllerState,
  input: ControllerInput,
  after: ControllerState,
  effects: readonly ControllerEffect[],
): string | null => {
  const proposals = effects.filter((e) => e._tag === "Propose");
  let unclean: string | null = null;
  for (const p of proposals) {
    if (!before.active && !after.active)
      return `WritesOnlyWhenActive: node ${before.nodeId} proposed while standby`;
    if (p.epoch !== after.epoch)
      return `WritesInOwnEpoch: node ${after.nodeId} proposed for epoch ${p.epoch} while in ${after.epoch}`;
  }
  if (proposals.length === 0) return null;
  const records = proposals.flatMap((p) => p.records);
  // R123: a leader from outside the ISR only when the topic allows unclean elections or an admin
  // asked for one.
  const uncleanAsked =
    input._tag === "Request" &&
    input.request._tag === "ElectLeadersRequest" &&
    input.request.electionType === ELECTION_UNCLEAN;
  let image = before.image;
  for (const p of proposals) {
    p.records.forEach((record, i) => {
      if (record._tag === "PartitionChangeRecord" && record.leader >= 0 && !uncleanAsked) {
        const topic = topicWithId(image, record.topicId);
        const old = topic === undefined ? undefined : findPartition(topic, record.partitionId);
        const allowed = topic !== undefined && uncleanEnabled(image, topic.name);
        if (old !== undefined && !old.isr.includes(record.leader) && !allowed) {
          unclean ??= `CleanElection: node ${after.nodeId} made ${record.leader} leader of ${topic?.name}-${record.partitionId} from outside ISR ${JSON.stringify(old.isr)}`;
        }
      }
      image = apply(image, record, p.baseOffset + i, p.epoch).image;
    });
  }
  if (unclean !== null) return unclean;
  if (input._tag !== "Request") return null;
  const request = input.request;
  switch (request._tag) {
    case "AlterPartitionRequest": {
      const requester = findBroker(before.image, request.brokerId);
      if (requester?.epoch !== request.brokerEpoch) {
        return `AlterPartitionFromCurrentIncarnation: accepted an AlterPartition from broker ${request.brokerId} epoch ${request.brokerEpoch}, registered ${requester?.epoch ?? "nowhere"}`;
      }
      for (const t of request.topics) {
        for (const p of t.partitions) {
          for (const m of p.newIsrWithEpochs) {
            const b = findBroker(before.image, m.brokerId);
            const wrote = records.some(
              (r) =>
                r._tag === "PartitionChangeRecord" &&
                r.topicId === t.topicId &&
                r.partitionId === p.partitionIndex,
            );
            if (
              wrote &&
              (b === undefined ||
                !isUsable(before.image, m.brokerId) ||
                (m.brokerEpoch !== -1 && b.epoch !== m.brokerEpoch))
            ) {
              return `IsrMembersEligible: accepted ${m.brokerId} (epoch ${m.brokerEpoch}) into an ISR while it is ${b === undefined ? "unregistered" : `epoch ${b.epoch}, fenced=${b.fenced}`}`;
            }
          }
        }
      }
      return null;
    }
    case "BrokerRegistrationRequest": {
      const existing = findBroker(before.image, request.brokerId);
      const live = before.sessions.some((x) => x.brokerId === request.brokerId);
      const registered = records.some(
        (r) => r._tag === "RegisterBrokerRecord" && r.incarnationId === request.incarnationId,
      );
      if (
        registered &&
        existing !== undefined &&
        existing.incarnationId !== request.incarnationId &&
        !existing.fenced &&
        live
      ) {
        return `NoDuplicateRegistration: broker ${request.brokerId} registered a new incarnation while the old one is live`;
      }
      return null;
    }
    case "BrokerHeartbeatRequest": {
      const broker = findBroker(before.image, request.brokerId);
      const unfenced = records.some(
        (r) =>
          r._tag === "BrokerRegistrationChangeRecord" && r.brokerId === request.brokerId && r.fenced === -1,
      );
      if (unfenced && broker !== undefined && request.currentMetadataOffset < broker.epoch) {
        return `UnfenceWhenCaughtUp: unfenced broker ${request.brokerId} at metadata offset ${request.currentMetadataOffset}, before its registration at ${broker.epoch}`;
      }
      return null;
    }
    default:
      return null;
  }
};
