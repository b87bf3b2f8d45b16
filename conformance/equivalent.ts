// Operator swaps in the reducers that no input can tell apart from the spec (sweep-mutants.ts): each
// was read, and why it is equivalent is written beside it. A site is named by its file, its line's
// text and the replacement, so that it stays named while lines move.

export interface EquivalentSite {
  readonly file: string;
  /** The line, trimmed, as it is in the spec. */
  readonly text: string;
  readonly replacement: string;
  readonly why: string;
}

export const EQUIVALENT_SITES: readonly EquivalentSite[] = [];
