// A stand-in for one node in Kafka's protocol, for tests of clients: it answers ApiVersions as ours
// do, and every request the node's spec would serve with what `answer` says.
import { createServer, type Server } from "node:net";
import type { NodeRequest, NodeResponse } from "../../spec/node/node.ts";
import { handleKafkaRequest } from "../kafka/server.ts";
import { encodeFrame, FrameReader } from "../runtime/codec.ts";

export const fakeKafkaServer = async (
  port: number,
  listener: "CONTROLLER" | "PLAINTEXT",
  answer: (request: NodeRequest) => NodeResponse,
): Promise<Server> => {
  const server = createServer((socket) => {
    const frames = new FrameReader();
    socket.on("data", (chunk) => {
      for (const body of frames.push(chunk)) {
        const outcome = handleKafkaRequest(body, {
          clusterId: "AAAAAAAAAAAAAAAAAAAAAw",
          listenerName: listener,
          controllerListener: listener === "CONTROLLER",
          image: null,
          voters: [],
          controllerListenerName: "CONTROLLER",
          leaderId: -1,
          kraftVersion: 0,
        });
        if (outcome._tag === "Answer") socket.write(encodeFrame(outcome.body));
        else if (outcome._tag === "Forward")
          socket.write(encodeFrame(outcome.respond(answer(outcome.request))));
        else socket.destroy();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return server;
};
