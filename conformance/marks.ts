// Coverage marks (spec/marks.ts): every rule branch the spec notes, and which of them the vectors
// take. A vector's marks come from running it through this copy of the spec, so they cannot drift
// from the reducers; the marks the spec defines come from its source, so a new branch is reported
// unhit until a vector takes it.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Mark } from "../spec/marks.ts";
import { brokerStep, initialBrokerState } from "../spec/metadata/broker.ts";
import { controllerStep, initialControllerState } from "../spec/metadata/controller.ts";
import { initializeNode, nodeStep } from "../spec/node/node.ts";
import { initialize } from "../spec/raft/startup.ts";
import { step } from "../spec/raft/step.ts";
import type { RaftVector, Vector } from "./protocol.ts";
import { NodeSession } from "./shell-log.ts";

const SPEC_DIR = new URL("../spec/", import.meta.url).pathname;

/** The layers whose reducers the vectors drive. */
const MARKED_DIRS = ["raft", "metadata", "node"];

const MARK_LITERAL = /"(R\d+:[a-z0-9-]+)"/g;

/** Every mark the spec's reducers can note, with the file that notes it. */
export const definedMarks = (): Map<Mark, string> => {
  const marks = new Map<Mark, string>();
  for (const dir of MARKED_DIRS) {
    for (const file of readdirSync(join(SPEC_DIR, dir)).sort()) {
      if (!file.endsWith(".ts") || file.endsWith(".test.ts")) continue;
      const text = readFileSync(join(SPEC_DIR, dir, file), "utf8");
      for (const m of text.matchAll(MARK_LITERAL)) marks.set(m[1] as Mark, `spec/${dir}/${file}`);
    }
  }
  return marks;
};

/** A Raft vector's node as the spec starts it from the vector's storage. */
export const startRaftVector = (init: RaftVector["init"]) =>
  initialize(
    init.quorumState ?? undefined,
    init.log,
    init.config,
    init.recovering ?? false,
    init.firstCorrelationId ?? 1,
  );

/** The marks of each step of a vector when run through the spec: the start's first, then each step's. */
export const stepMarks = (v: Vector): (readonly Mark[])[] => {
  const out: (readonly Mark[])[] = [];
  if (v.layer === "raft") {
    const start = startRaftVector(v.init);
    out.push(start.marks);
    let state = start.state;
    for (const s of v.steps) {
      const result = step(state, s.input, v.init.config);
      out.push(result.marks);
      state = result.state;
    }
  } else if (v.layer === "controller") {
    out.push([]);
    let state = initialControllerState(v.init.config.nodeId);
    for (const s of v.steps) {
      const result = controllerStep(state, s.input, v.init.config);
      out.push(result.marks);
      state = result.state;
    }
  } else if (v.layer === "node") {
    const { session, result } = NodeSession.start({ initializeNode, nodeStep }, v.init);
    out.push(result.marks);
    for (const s of v.steps) out.push(session.step(s.input).marks);
  } else {
    out.push([]);
    let state = initialBrokerState(v.init.config.brokerId, v.init.incarnationId, v.init.previousBrokerEpoch);
    for (const s of v.steps) {
      const result = brokerStep(state, s.input, v.init.config);
      out.push(result.marks);
      state = result.state;
    }
  }
  return out;
};

/** The marks one vector takes when run through the spec. */
export const marksOfVector = (v: Vector): Set<Mark> => new Set(stepMarks(v).flat());

/** The rules of a set of marks, in rule order. */
export const rulesOfMarks = (marks: Iterable<Mark>): string[] =>
  [...new Set([...marks].map((m) => m.slice(0, m.indexOf(":"))))].sort(
    (a, b) => Number(a.slice(1)) - Number(b.slice(1)),
  );

/**
 * Branches of openkraft's own hardening against input no Kafka node sends, where Kafka does otherwise:
 * no vector asks for them, so that an implementation doing as Kafka does passes. Each with why.
 */
export const UNJUDGED_MARKS: Readonly<Record<string, string>> = {
  "R113:registration-invalid-id":
    "openkraft refuses a BrokerRegistration with a negative broker id (INVALID_REQUEST); Kafka's ClusterControlManager.registerBroker has no such check and registers it, and no Kafka broker sends one (its node.id is checked when it starts)",
};

export interface MarkCoverage {
  /** How many vectors take each mark the spec defines (0: never hit), the unjudged ones left out. */
  readonly hits: ReadonlyMap<Mark, number>;
  readonly unhit: readonly Mark[];
  /** Marks a vector took that the spec's source does not define: a mark built at run time. */
  readonly undefinedMarks: readonly string[];
  /** Unjudged marks (UNJUDGED_MARKS) a vector took anyway: that vector asks what it must not. */
  readonly unjudgedTaken: readonly Mark[];
}

export const markCoverage = (vectors: readonly Vector[]): MarkCoverage => {
  const defined = [...definedMarks().keys()].filter((m) => UNJUDGED_MARKS[m] === undefined);
  const hits = new Map<Mark, number>(defined.sort().map((m) => [m, 0]));
  const strays = new Set<string>();
  const unjudged = new Set<Mark>();
  for (const v of vectors) {
    for (const m of marksOfVector(v)) {
      const n = hits.get(m);
      if (UNJUDGED_MARKS[m] !== undefined) unjudged.add(m);
      else if (n === undefined) strays.add(m);
      else hits.set(m, n + 1);
    }
  }
  return {
    hits,
    unhit: [...hits].filter(([, n]) => n === 0).map(([m]) => m),
    undefinedMarks: [...strays].sort(),
    unjudgedTaken: [...unjudged].sort(),
  };
};
