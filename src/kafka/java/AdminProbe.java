// Apache Kafka's Java AdminClient against a cluster, for src/kafka/clients.integration.test.ts: each
// step prints one JSON line (what it saw, or the exception's class and message).
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.DescribeClusterResult;
import org.apache.kafka.clients.admin.NewPartitions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.QuorumInfo;
import java.util.Set;
import org.apache.kafka.common.ElectionType;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.clients.admin.TopicDescription;

public class AdminProbe {
  static String q(String s) {
    return s == null ? "null" : "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
  }

  static void print(String step, String json) {
    System.out.println("{\"step\":" + q(step) + "," + json + "}");
  }

  static void failed(String step, Throwable e) {
    Throwable cause = e instanceof ExecutionException && e.getCause() != null ? e.getCause() : e;
    print(step, "\"error\":" + q(cause.getClass().getSimpleName()) + ",\"message\":" + q(cause.getMessage()));
  }

  static void quorum(String step, Admin admin) {
    try {
      QuorumInfo q = admin.describeMetadataQuorum().quorumInfo().get();
      String voters = q.voters().stream().map(r -> String.valueOf(r.replicaId())).sorted()
          .collect(Collectors.joining(","));
      String observers = q.observers().stream().map(r -> String.valueOf(r.replicaId())).sorted()
          .collect(Collectors.joining(","));
      print(step, "\"leaderId\":" + q.leaderId() + ",\"leaderEpoch\":" + q.leaderEpoch() + ",\"highWatermark\":"
          + q.highWatermark() + ",\"voters\":[" + voters + "],\"observers\":[" + observers + "]");
    } catch (Exception e) { failed(step, e); }
  }

  public static void main(String[] args) throws Exception {
    Properties props = new Properties();
    props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, args[0]);
    props.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "15000");
    props.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "30000");
    String topic = args[1];
    try (Admin admin = Admin.create(props)) {
      try {
        DescribeClusterResult cluster = admin.describeCluster();
        String nodes = cluster.nodes().get().stream().map(n -> String.valueOf(n.id())).sorted()
            .collect(Collectors.joining(","));
        print("describeCluster", "\"clusterId\":" + q(cluster.clusterId().get()) + ",\"controller\":"
            + cluster.controller().get().id() + ",\"nodes\":[" + nodes + "]");
      } catch (Exception e) { failed("describeCluster", e); }
      try {
        admin.createTopics(List.of(new NewTopic(topic, 3, (short) 2))).all().get();
        print("createTopics", "\"ok\":true");
      } catch (Exception e) { failed("createTopics", e); }
      try {
        admin.createTopics(List.of(new NewTopic(topic, 3, (short) 2))).all().get();
        print("createTopicsAgain", "\"ok\":true");
      } catch (Exception e) { failed("createTopicsAgain", e); }
      try {
        // The broker's image follows the controller's commit: ask until the topic shows.
        java.util.Set<String> listed = admin.listTopics().names().get();
        for (int i = 0; i < 100 && !listed.contains(topic); i++) {
          Thread.sleep(100);
          listed = admin.listTopics().names().get();
        }
        String names = listed.stream().sorted().map(AdminProbe::q).collect(Collectors.joining(","));
        print("listTopics", "\"names\":[" + names + "]");
      } catch (Exception e) { failed("listTopics", e); }
      try {
        admin.createPartitions(Map.of(topic, NewPartitions.increaseTo(4))).all().get();
        print("createPartitions", "\"ok\":true");
      } catch (Exception e) { failed("createPartitions", e); }
      try {
        // The broker's image may lag the controller's commit: ask until the new partition shows.
        TopicDescription d = null;
        for (int i = 0; i < 100; i++) {
          d = admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic);
          if (d.partitions().size() == 4) break;
          Thread.sleep(100);
        }
        String partitions = d.partitions().stream().map(p -> "{\"partition\":" + p.partition() + ",\"leader\":"
            + (p.leader() == null ? -1 : p.leader().id()) + ",\"replicas\":" + p.replicas().size() + ",\"isr\":"
            + p.isr().size() + "}").collect(Collectors.joining(","));
        print("describeTopics", "\"topicId\":" + q(d.topicId().toString()) + ",\"partitions\":[" + partitions + "]");
      } catch (Exception e) { failed("describeTopics", e); }
      try {
        ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, topic);
        admin.incrementalAlterConfigs(Map.of(resource, List.of(new AlterConfigOp(
            new ConfigEntry("retention.ms", "1000"), AlterConfigOp.OpType.SET)))).all().get();
        String value = admin.describeConfigs(List.of(resource)).all().get().get(resource).get("retention.ms").value();
        print("alterConfigs", "\"retention.ms\":" + q(value));
      } catch (Exception e) { failed("alterConfigs", e); }
      try {
        admin.electLeaders(ElectionType.PREFERRED, Set.of(new TopicPartition(topic, 0))).all().get();
        print("electLeaders", "\"ok\":true");
      } catch (Exception e) { failed("electLeaders", e); }
      try {
        admin.deleteTopics(List.of(topic)).all().get();
        print("deleteTopics", "\"ok\":true");
      } catch (Exception e) { failed("deleteTopics", e); }
      quorum("describeMetadataQuorum", admin);
    }
    // As kafka-metadata-quorum --bootstrap-controller does: straight to the controllers (KIP-919).
    Properties controllers = new Properties();
    controllers.put(AdminClientConfig.BOOTSTRAP_CONTROLLERS_CONFIG, args[2]);
    controllers.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "15000");
    controllers.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "30000");
    try (Admin admin = Admin.create(controllers)) {
      try {
        DescribeClusterResult cluster = admin.describeCluster();
        String nodes = cluster.nodes().get().stream().map(n -> String.valueOf(n.id())).sorted()
            .collect(Collectors.joining(","));
        print("describeClusterViaControllers", "\"clusterId\":" + q(cluster.clusterId().get()) + ",\"controller\":"
            + cluster.controller().get().id() + ",\"nodes\":[" + nodes + "]");
      } catch (Exception e) { failed("describeClusterViaControllers", e); }
      quorum("describeMetadataQuorumViaControllers", admin);
    }
  }
}
