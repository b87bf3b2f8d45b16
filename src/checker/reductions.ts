// The state-space reductions of the checker's models, beside symmetry (RaftModelOptions.symmetry).
// Each one merges states or skips steps on a claim about the reducers: that what it leaves out cannot
// change what happens next. Each can be turned off, so that the claim itself is tested: the verdict
// and the counterexample's length must be the same with it on and off (npm run mutants --
// --reductions compare; model-tests/reductions.test.ts).

export interface Reductions {
  /** Answers no request in flight waits for, and requests their receiver can only refuse, are left out of the state. */
  readonly staleMessages: boolean;
  /** Copies of one message in flight count once (re-delivery is the bounded duplicate fault). */
  readonly messageCopies: boolean;
  /** Which voters fetched in the leader's current check-quorum interval (R57) is left out of the state. */
  readonly checkQuorumFetches: boolean;
  /** Steps that provably return to the state they start from are not taken. */
  readonly selfLoops: boolean;
}

/** Each reduction's command-line flag and what it does: `kraft check --help` prints these. */
export const REDUCTION_FLAGS: readonly {
  readonly key: keyof Reductions;
  readonly flag: string;
  readonly description: string;
}[] = [
  {
    key: "staleMessages",
    flag: "drop-stale-messages",
    description:
      "leave out of the state the answers no request in flight waits for, and the requests their receiver can only refuse",
  },
  {
    key: "messageCopies",
    flag: "merge-message-copies",
    description: "count copies of one message in flight once (re-delivery is the bounded --duplicates fault)",
  },
  {
    key: "checkQuorumFetches",
    flag: "forget-check-quorum-fetches",
    description:
      "leave out of the state which voters fetched in a leader's check-quorum interval (R57: it only decides when the armed timer is armed again, and timers may run out at any moment)",
  },
  {
    key: "selfLoops",
    flag: "skip-self-loops",
    description: "do not take steps that provably return to the state they start from",
  },
];

export const ALL_REDUCTIONS: Reductions = {
  staleMessages: true,
  messageCopies: true,
  checkQuorumFetches: true,
  selfLoops: true,
};

export const NO_REDUCTIONS: Reductions = {
  staleMessages: false,
  messageCopies: false,
  checkQuorumFetches: false,
  selfLoops: false,
};

/** The reductions given, the others on. */
export const reductionsWith = (given: Partial<Reductions> | undefined): Reductions =>
  given === undefined ? ALL_REDUCTIONS : { ...ALL_REDUCTIONS, ...given };

/** The reductions turned off, by flag name (for reports). */
export const reductionsOff = (reductions: Reductions): string[] =>
  REDUCTION_FLAGS.filter((r) => !reductions[r.key]).map((r) => r.flag);
