// Coverage marks, as TigerBeetle uses them: a reducer notes each rule branch a step takes, and the
// step's result carries the marks. Rule coverage by a transcript's header says a rule was in play;
// marks say which of its branches ran. The conformance vectors must hit every mark in the spec
// (`npm run conformance:vectors` lists the ones never hit; a test fails on any). A mark is a rule id
// from spec/README.md and a branch name: "R45:grant".

/** A coverage mark: `R<rule>:<branch>`. */
export type Mark = `R${number}:${string}`;

/** What a step collects as it runs: its effects, in order, and the marks of the branches it took. */
export interface Collector<E> {
  readonly effects: E[];
  readonly marks: Mark[];
}

export const newCollector = <E>(): Collector<E> => ({ effects: [], marks: [] });

/** Note that this step took the branch `id`. */
export const mark = (out: { readonly marks: Mark[] }, id: Mark): void => {
  out.marks.push(id);
};

/** Note the branch `table` gives for an outcome `key` (an error code), if it names one. */
export const markOutcome = <K extends string>(
  out: { readonly marks: Mark[] },
  table: Partial<Record<K, Mark>>,
  key: K,
): void => {
  const id = table[key];
  if (id !== undefined) out.marks.push(id);
};
