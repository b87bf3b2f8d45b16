// The visited set of an explicit-state search: for every distinct state, its 64-bit fingerprint, the
// index of the state it was first reached from and the action that led there. Stored in typed
// arrays, indexed by state number, with an open-addressing table from fingerprint to state number:
// between 20 and 33 bytes a state, and no objects.

const EMPTY = -1;

export class VisitedSet {
  private table: Int32Array;
  private mask: number;
  fingerprintHigh: Int32Array;
  fingerprintLow: Int32Array;
  parents: Int32Array;
  actions: Uint16Array;
  size = 0;

  constructor(expected = 1 << 16) {
    let capacity = 1 << 10;
    while (capacity * 3 < expected * 4) capacity <<= 1;
    this.table = new Int32Array(capacity).fill(EMPTY);
    this.mask = capacity - 1;
    const states = Math.max(1024, expected);
    this.fingerprintHigh = new Int32Array(states);
    this.fingerprintLow = new Int32Array(states);
    this.parents = new Int32Array(states);
    this.actions = new Uint16Array(states);
  }

  /** Bytes held by the set's arrays. */
  get bytes(): number {
    return (
      this.table.byteLength +
      this.fingerprintHigh.byteLength +
      this.fingerprintLow.byteLength +
      this.parents.byteLength +
      this.actions.byteLength
    );
  }

  /** Bytes the next growth would add (so a memory budget can refuse it in advance). */
  get nextGrowthBytes(): number {
    const tableGrowth = (this.size + 1) * 4 > this.table.length * 3 ? this.table.byteLength * 2 : 0;
    const stateGrowth = this.size === this.parents.length ? Math.ceil(this.parents.length * 1.5) * 14 : 0;
    return tableGrowth + stateGrowth;
  }

  /** The state number of a fingerprint, or -1. */
  find(high: number, low: number): number {
    let slot = (low ^ Math.imul(high, 0x27d4eb2f)) & this.mask;
    for (;;) {
      const index = this.table[slot]!;
      if (index === EMPTY) return -1;
      if (this.fingerprintLow[index] === low && this.fingerprintHigh[index] === high) return index;
      slot = (slot + 1) & this.mask;
    }
  }

  /** Add a fingerprint not yet present; returns its state number. */
  add(high: number, low: number, parent: number, action: number): number {
    if (this.size === this.parents.length) this.growStates();
    if ((this.size + 1) * 4 > this.table.length * 3) this.growTable();
    const index = this.size++;
    this.fingerprintHigh[index] = high;
    this.fingerprintLow[index] = low;
    this.parents[index] = parent;
    this.actions[index] = action;
    this.insert(index);
    return index;
  }

  private insert(index: number): void {
    let slot =
      (this.fingerprintLow[index]! ^ Math.imul(this.fingerprintHigh[index]!, 0x27d4eb2f)) & this.mask;
    while (this.table[slot] !== EMPTY) slot = (slot + 1) & this.mask;
    this.table[slot] = index;
  }

  private growTable(): void {
    this.table = new Int32Array(this.table.length * 2).fill(EMPTY);
    this.mask = this.table.length - 1;
    for (let i = 0; i < this.size; i++) this.insert(i);
  }

  private growStates(): void {
    const capacity = Math.ceil(this.parents.length * 1.5);
    const grow = <T extends Int32Array | Uint16Array>(array: T, make: (n: number) => T): T => {
      const bigger = make(capacity);
      bigger.set(array);
      return bigger;
    };
    this.fingerprintHigh = grow(this.fingerprintHigh, (n) => new Int32Array(n));
    this.fingerprintLow = grow(this.fingerprintLow, (n) => new Int32Array(n));
    this.parents = grow(this.parents, (n) => new Int32Array(n));
    this.actions = grow(this.actions, (n) => new Uint16Array(n));
  }

  /** The state numbers on the path from an initial state to `index`, first to last. */
  pathTo(index: number): number[] {
    const path: number[] = [];
    for (let i = index; i >= 0; i = this.parents[i]!) path.push(i);
    return path.reverse();
  }
}
