import { kafkaJar, kafkaToolsClasspath, mavenJar } from "../scripts/kafka-jars.ts";

const extra = await Promise.all(
  process.argv.slice(2).map((a) => {
    const p = a.split(":");
    return p.length === 1 ? kafkaJar(p[0]!) : mavenJar(p[0]!, p[1]!, p[2]!);
  }),
);
console.log([await kafkaToolsClasspath(), ...extra].join(":"));
