// The Raft layer of KRaft as pure reducers: see spec/README.md for the rules they implement.
export * from "./io.ts";
export * from "./log.ts";
export * from "./messages.ts";
export { castVote, isVoter, knownLeader, localKey } from "./node.ts";
export * from "./primitives.ts";
export { initialize } from "./startup.ts";
export * from "./state.ts";
export { step } from "./step.ts";
