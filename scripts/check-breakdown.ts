// Where a model checker's time goes, per state: samples states of a model by a short breadth-first
// walk, then times each part of expanding them on its own (decode, actions, encode, fingerprint,
// visited-set insert, safety properties). Used by bench:check.
import type { Model } from "../src/checker/model.ts";
import { VisitedSet } from "../src/checker/visited.ts";
import { fingerprint, WordWriter } from "../src/checker/words.ts";

export interface Breakdown {
  /** States sampled, and successors (generated states) they have. */
  readonly states: number;
  readonly successors: number;
  /** Microseconds per state taken up. */
  readonly decodeUs: number;
  /** Microseconds per successor: one action taken, its state encoded, fingerprinted, inserted, judged. */
  readonly stepUs: number;
  readonly encodeUs: number;
  readonly fingerprintUs: number;
  readonly insertUs: number;
  readonly safetyUs: number;
  readonly wordsPerState: number;
}

const timed = (repeat: number, body: () => void): number => {
  const start = performance.now();
  for (let i = 0; i < repeat; i++) body();
  return performance.now() - start;
};

export const breakdown = <S>(model: Model<S>, sample = 20_000, repeat = 3): Breakdown => {
  const writer = new WordWriter();
  const fp = new Int32Array(2);
  // A breadth-first sample of distinct states.
  const seen = new Set<string>();
  const states: S[] = [];
  let frontier = [...model.initialStates()];
  while (states.length < sample && frontier.length > 0) {
    const next: S[] = [];
    for (const s of frontier) {
      if (states.length >= sample) break;
      writer.reset();
      model.encode(s, writer);
      const key = writer.toArray().join(",");
      if (seen.has(key)) continue;
      seen.add(key);
      states.push(s);
      const n = model.actionCount(s);
      for (let a = 0; a < n; a++) {
        const r = model.step(s, a);
        if (r !== null) next.push(r.state);
      }
    }
    frontier = next;
  }
  const encodings = states.map((s) => {
    writer.reset();
    model.encode(s, writer);
    return writer.toArray();
  });
  const successors: S[] = [];
  for (const s of states) {
    const n = model.actionCount(s);
    for (let a = 0; a < n; a++) {
      const r = model.step(s, a);
      if (r !== null) successors.push(r.state);
    }
  }
  const successorWords = successors.map((s) => {
    writer.reset();
    model.encode(s, writer);
    return writer.toArray();
  });
  const perState = (ms: number) => Number(((ms * 1000) / (repeat * states.length)).toFixed(3));
  const perSuccessor = (ms: number) => Number(((ms * 1000) / (repeat * successors.length)).toFixed(3));
  const decodeMs = timed(repeat, () => {
    for (const e of encodings) model.decode(e, 0, e.length);
  });
  const stepMs = timed(repeat, () => {
    for (const s of states) {
      const n = model.actionCount(s);
      for (let a = 0; a < n; a++) model.step(s, a);
    }
  });
  const encodeMs = timed(repeat, () => {
    for (const s of successors) {
      writer.reset();
      model.encode(s, writer);
    }
  });
  const fingerprintMs = timed(repeat, () => {
    for (const w of successorWords) fingerprint(w, w.length, fp);
  });
  const fingerprints = successorWords.map((w) => {
    fingerprint(w, w.length, fp);
    return [fp[0]!, fp[1]!] as const;
  });
  const insertMs = timed(repeat, () => {
    const visited = new VisitedSet(fingerprints.length);
    for (const [high, low] of fingerprints) if (visited.find(high, low) < 0) visited.add(high, low, 0, 0);
  });
  const safetyMs = timed(repeat, () => {
    for (const s of successors)
      for (const p of model.properties) if (p.kind === "always" && p.check(s) !== null) break;
  });
  return {
    states: states.length,
    successors: successors.length,
    decodeUs: perState(decodeMs),
    stepUs: perSuccessor(stepMs),
    encodeUs: perSuccessor(encodeMs),
    fingerprintUs: perSuccessor(fingerprintMs),
    insertUs: perSuccessor(insertMs),
    safetyUs: perSuccessor(safetyMs),
    wordsPerState: Math.round(successorWords.reduce((n, w) => n + w.length, 0) / successorWords.length),
  };
};
