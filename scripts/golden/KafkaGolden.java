// Prints golden bytes for openkraft's codec tests: a few messages built and serialized by Apache
// Kafka's own generated classes (kafka-clients), one JSON line each: name, version, hex; and, first,
// Kafka's table of error codes.
// Run by scripts/golden.ts, which fetches the jars; its output is committed as
// src/kafka/golden.json with the Kafka version that made it.
import java.nio.ByteBuffer;
import java.util.List;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.message.*;
import org.apache.kafka.common.metadata.*;
import org.apache.kafka.common.protocol.ByteBufferAccessor;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.protocol.Message;
import org.apache.kafka.common.protocol.ObjectSerializationCache;
import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.record.internal.MemoryRecords;
import org.apache.kafka.common.record.internal.SimpleRecord;
import org.apache.kafka.metadata.MetadataRecordSerde;
import org.apache.kafka.server.common.ApiMessageAndVersion;

public class KafkaGolden {
  static void print(String name, Message m, int version) {
    ObjectSerializationCache cache = new ObjectSerializationCache();
    int size = m.size(cache, (short) version);
    ByteBuffer buf = ByteBuffer.allocate(size);
    m.write(new ByteBufferAccessor(buf), cache, (short) version);
    StringBuilder hex = new StringBuilder();
    for (byte b : buf.array()) hex.append(String.format("%02x", b));
    System.out.println("{\"name\":\"" + name + "\",\"version\":" + version + ",\"hex\":\"" + hex + "\"}");
  }

  static String hex(ByteBuffer buf) {
    StringBuilder hex = new StringBuilder();
    ByteBuffer b = buf.duplicate();
    while (b.hasRemaining()) hex.append(String.format("%02x", b.get()));
    return hex.toString();
  }

  /** A metadata record's value as KRaft frames it (MetadataRecordSerde). */
  static byte[] metadataValue(Message m, int version) {
    ApiMessageAndVersion record = new ApiMessageAndVersion((org.apache.kafka.common.protocol.ApiMessage) m, (short) version);
    ObjectSerializationCache cache = new ObjectSerializationCache();
    int size = MetadataRecordSerde.INSTANCE.recordSize(record, cache);
    ByteBuffer buf = ByteBuffer.allocate(size);
    MetadataRecordSerde.INSTANCE.write(record, cache, new ByteBufferAccessor(buf));
    return buf.array();
  }

  public static void main(String[] args) {
    StringBuilder errors = new StringBuilder();
    for (Errors e : Errors.values())
      errors.append(errors.length() == 0 ? "" : ",").append("\"").append(e.name()).append("\":").append(e.code());
    System.out.println("{\"errors\":{" + errors + "}}");
    Uuid dir = Uuid.fromString("Wtx4FqWiQmKa3mD5DS3b7A");
    Uuid topic = Uuid.fromString("AAAAAAAAAAAAAAAAAAAAAQ");
    print("RequestHeader", new RequestHeaderData().setRequestApiKey((short) 18).setRequestApiVersion((short) 3)
        .setCorrelationId(7).setClientId("rdkafka"), 2);
    print("ApiVersionsRequest", new ApiVersionsRequestData().setClientSoftwareName("kcat")
        .setClientSoftwareVersion("1.7.0"), 3);
    print("ApiVersionsResponse", new ApiVersionsResponseData().setErrorCode((short) 0).setThrottleTimeMs(0)
        .setApiKeys(new ApiVersionsResponseData.ApiVersionCollection(List.of(
            new ApiVersionsResponseData.ApiVersion().setApiKey((short) 18).setMinVersion((short) 0).setMaxVersion((short) 4),
            new ApiVersionsResponseData.ApiVersion().setApiKey((short) 3).setMinVersion((short) 0).setMaxVersion((short) 12)).iterator())), 3);
    print("VoteRequest", new VoteRequestData().setClusterId("MkU3OEVBNTcwNTJENDM2Qk").setVoterId(2)
        .setTopics(List.of(new VoteRequestData.TopicData().setTopicName("__cluster_metadata")
            .setPartitions(List.of(new VoteRequestData.PartitionData().setPartitionIndex(0).setReplicaEpoch(5)
                .setReplicaId(1).setReplicaDirectoryId(dir).setVoterDirectoryId(Uuid.ZERO_UUID)
                .setLastOffsetEpoch(4).setLastOffset(1234L).setPreVote(true))))), 2);
    print("BeginQuorumEpochRequest", new BeginQuorumEpochRequestData().setClusterId("MkU3OEVBNTcwNTJENDM2Qk")
        .setVoterId(3)
        .setTopics(List.of(new BeginQuorumEpochRequestData.TopicData().setTopicName("__cluster_metadata")
            .setPartitions(List.of(new BeginQuorumEpochRequestData.PartitionData().setPartitionIndex(0)
                .setVoterDirectoryId(dir).setLeaderId(1).setLeaderEpoch(6)))))
        .setLeaderEndpoints(new BeginQuorumEpochRequestData.LeaderEndpointCollection(List.of(
            new BeginQuorumEpochRequestData.LeaderEndpoint().setName("CONTROLLER").setHost("localhost").setPort(9093)).iterator())), 1);
    print("FetchRequest", new FetchRequestData().setClusterId("MkU3OEVBNTcwNTJENDM2Qk").setReplicaId(-1)
        .setReplicaState(new FetchRequestData.ReplicaState().setReplicaId(2).setReplicaEpoch(-1))
        .setMaxWaitMs(500).setMinBytes(0).setMaxBytes(8388608).setIsolationLevel((byte) 0)
        .setTopics(List.of(new FetchRequestData.FetchTopic().setTopicId(topic)
            .setPartitions(List.of(new FetchRequestData.FetchPartition().setPartition(0).setCurrentLeaderEpoch(6)
                .setFetchOffset(42L).setLastFetchedEpoch(5).setLogStartOffset(-1L).setPartitionMaxBytes(0)
                .setReplicaDirectoryId(dir))))), 17);
    print("DescribeQuorumResponse", new DescribeQuorumResponseData().setErrorCode((short) 0)
        .setTopics(List.of(new DescribeQuorumResponseData.TopicData().setTopicName("__cluster_metadata")
            .setPartitions(List.of(new DescribeQuorumResponseData.PartitionData().setPartitionIndex(0)
                .setLeaderId(1).setLeaderEpoch(6).setHighWatermark(100L)
                .setCurrentVoters(List.of(new DescribeQuorumResponseData.ReplicaState().setReplicaId(1)
                    .setReplicaDirectoryId(dir).setLogEndOffset(100L).setLastFetchTimestamp(-1L).setLastCaughtUpTimestamp(-1L)))
                .setObservers(List.of()))))), 2);
    print("MetadataResponse", new MetadataResponseData().setThrottleTimeMs(0).setClusterId("MkU3OEVBNTcwNTJENDM2Qk")
        .setControllerId(1)
        .setBrokers(new MetadataResponseData.MetadataResponseBrokerCollection(List.of(
            new MetadataResponseData.MetadataResponseBroker().setNodeId(4).setHost("localhost").setPort(9092).setRack(null)).iterator()))
        .setTopics(new MetadataResponseData.MetadataResponseTopicCollection(List.of(
            new MetadataResponseData.MetadataResponseTopic().setErrorCode((short) 0).setName("orders").setTopicId(topic)
                .setPartitions(List.of(new MetadataResponseData.MetadataResponsePartition().setPartitionIndex(0)
                    .setLeaderId(4).setLeaderEpoch(0).setReplicaNodes(List.of(4)).setIsrNodes(List.of(4))
                    .setOfflineReplicas(List.of())))).iterator())), 12);
    print("CreateTopicsRequest", new CreateTopicsRequestData().setTimeoutMs(30000).setValidateOnly(false)
        .setTopics(new CreateTopicsRequestData.CreatableTopicCollection(List.of(
            new CreateTopicsRequestData.CreatableTopic().setName("orders").setNumPartitions(3).setReplicationFactor((short) 2)
                .setConfigs(new CreateTopicsRequestData.CreatableTopicConfigCollection(List.of(
                    new CreateTopicsRequestData.CreatableTopicConfig().setName("cleanup.policy").setValue("compact")).iterator()))).iterator())), 7);
    print("LeaderChangeMessage", new LeaderChangeMessage().setVersion((short) 0).setLeaderId(1)
        .setVoters(List.of(new LeaderChangeMessage.Voter().setVoterId(1), new LeaderChangeMessage.Voter().setVoterId(2)))
        .setGrantingVoters(List.of(new LeaderChangeMessage.Voter().setVoterId(1))), 0);
    print("PartitionRecord", new PartitionRecord().setPartitionId(0).setTopicId(topic).setReplicas(List.of(4, 5))
        .setIsr(List.of(4, 5)).setLeader(4).setLeaderEpoch(0).setPartitionEpoch(0)
        .setDirectories(List.of(dir, dir)), 1);
    // Record batches: two metadata records at offsets 100-101 in leader epoch 6, and a LeaderChange
    // control batch.
    MemoryRecords metadata = MemoryRecords.withRecords(100L, Compression.NONE, 6,
        new SimpleRecord(1700000000000L, null, metadataValue(new TopicRecord().setName("orders").setTopicId(topic), 0)),
        new SimpleRecord(1700000000005L, null, metadataValue(new PartitionRecord().setPartitionId(0).setTopicId(topic)
            .setReplicas(List.of(4, 5)).setIsr(List.of(4, 5)).setLeader(4).setLeaderEpoch(0).setPartitionEpoch(0), 0)));
    System.out.println("{\"name\":\"batch:metadata\",\"version\":2,\"hex\":\"" + hex(metadata.buffer()) + "\"}");
    MemoryRecords leaderChange = MemoryRecords.withLeaderChangeMessage(7L, 1700000000000L, 6, ByteBuffer.allocate(256),
        new LeaderChangeMessage().setVersion((short) 0).setLeaderId(1)
            .setVoters(List.of(new LeaderChangeMessage.Voter().setVoterId(1), new LeaderChangeMessage.Voter().setVoterId(2)))
            .setGrantingVoters(List.of(new LeaderChangeMessage.Voter().setVoterId(1))));
    System.out.println("{\"name\":\"batch:leader-change\",\"version\":2,\"hex\":\"" + hex(leaderChange.buffer()) + "\"}");
    // KIP-853's control records (R90): a voter set of two with directory ids and listeners.
    print("VotersRecord", new VotersRecord().setVersion((short) 0).setVoters(List.of(
        new VotersRecord.Voter().setVoterId(1).setVoterDirectoryId(dir)
            .setEndpoints(new VotersRecord.EndpointCollection(List.of(
                new VotersRecord.Endpoint().setName("CONTROLLER").setHost("localhost").setPort(9093)).iterator()))
            .setKRaftVersionFeature(new VotersRecord.KRaftVersionFeature().setMinSupportedVersion((short) 0).setMaxSupportedVersion((short) 1)),
        new VotersRecord.Voter().setVoterId(2).setVoterDirectoryId(topic)
            .setEndpoints(new VotersRecord.EndpointCollection(List.of(
                new VotersRecord.Endpoint().setName("CONTROLLER").setHost("10.0.0.2").setPort(19093)).iterator()))
            .setKRaftVersionFeature(new VotersRecord.KRaftVersionFeature().setMinSupportedVersion((short) 0).setMaxSupportedVersion((short) 1)))), 0);
    print("KRaftVersionRecord", new KRaftVersionRecord().setVersion((short) 0).setKRaftVersion((short) 1), 0);
    print("RegisterBrokerRecord", new RegisterBrokerRecord().setBrokerId(4).setIncarnationId(dir).setBrokerEpoch(10L)
        .setEndPoints(new RegisterBrokerRecord.BrokerEndpointCollection(List.of(
            new RegisterBrokerRecord.BrokerEndpoint().setName("PLAINTEXT").setHost("localhost").setPort(9092).setSecurityProtocol((short) 0)).iterator()))
        .setRack(null).setFenced(true).setLogDirs(List.of(dir)), 3);
  }
}
