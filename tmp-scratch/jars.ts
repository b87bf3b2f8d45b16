import { kafkaJar, kafkaToolsClasspath } from "../scripts/kafka-jars.ts";

console.log(await kafkaToolsClasspath());
console.log(await kafkaJar("kafka_2.13"));
