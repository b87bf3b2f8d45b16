// A map from 64-bit fingerprints to 32-bit values in typed arrays (open addressing, no objects): the
// liveness check's memo of how far each state is from its goal.

const EMPTY = -1;

export class FingerprintMap {
  private table: Int32Array;
  private mask: number;
  private high: Int32Array;
  private low: Int32Array;
  private values: Int32Array;
  size = 0;

  constructor(expected = 1 << 12) {
    let capacity = 1 << 10;
    while (capacity * 3 < expected * 4) capacity <<= 1;
    this.table = new Int32Array(capacity).fill(EMPTY);
    this.mask = capacity - 1;
    const entries = Math.max(1024, expected);
    this.high = new Int32Array(entries);
    this.low = new Int32Array(entries);
    this.values = new Int32Array(entries);
  }

  get bytes(): number {
    return this.table.byteLength + this.high.byteLength + this.low.byteLength + this.values.byteLength;
  }

  private slotOf(high: number, low: number): number {
    let slot = (low ^ Math.imul(high, 0x27d4eb2f)) & this.mask;
    for (;;) {
      const index = this.table[slot]!;
      if (index === EMPTY || (this.low[index] === low && this.high[index] === high)) return slot;
      slot = (slot + 1) & this.mask;
    }
  }

  /** The value stored for a fingerprint, or `missing`. */
  get(high: number, low: number, missing: number): number {
    const index = this.table[this.slotOf(high, low)]!;
    return index === EMPTY ? missing : this.values[index]!;
  }

  set(high: number, low: number, value: number): void {
    let slot = this.slotOf(high, low);
    const existing = this.table[slot]!;
    if (existing !== EMPTY) {
      this.values[existing] = value;
      return;
    }
    if (this.size === this.values.length) this.growEntries();
    if ((this.size + 1) * 4 > this.table.length * 3) {
      this.growTable();
      slot = this.slotOf(high, low);
    }
    const index = this.size++;
    this.high[index] = high;
    this.low[index] = low;
    this.values[index] = value;
    this.table[slot] = index;
  }

  private growTable(): void {
    this.table = new Int32Array(this.table.length * 2).fill(EMPTY);
    this.mask = this.table.length - 1;
    for (let i = 0; i < this.size; i++) this.table[this.slotOf(this.high[i]!, this.low[i]!)] = i;
  }

  private growEntries(): void {
    const capacity = Math.ceil(this.values.length * 1.5);
    const grow = (array: Int32Array): Int32Array => {
      const bigger = new Int32Array(capacity);
      bigger.set(array);
      return bigger;
    };
    this.high = grow(this.high);
    this.low = grow(this.low);
    this.values = grow(this.values);
  }
}
