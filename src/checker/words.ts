// Compact state encodings: a growable buffer of 32-bit words, its 64-bit fingerprint, and a
// lexicographic comparison (for picking the canonical form among symmetric encodings).

export class WordWriter {
  words: Int32Array;
  length = 0;

  constructor(capacity = 1024) {
    this.words = new Int32Array(capacity);
  }

  push(value: number): void {
    if (this.length === this.words.length) this.grow();
    this.words[this.length++] = value;
  }

  /** Append src[start..end) (one capacity check for the lot). */
  append(src: Int32Array, start: number, end: number): void {
    this.reserve(end - start);
    const dst = this.words;
    let at = this.length;
    for (let i = start; i < end; i++) dst[at++] = src[i]!;
    this.length = at;
  }

  /** Append words kept in a plain array (see keepWords). */
  appendKept(src: readonly number[]): void {
    this.reserve(src.length);
    const dst = this.words;
    let at = this.length;
    for (let i = 0; i < src.length; i++) dst[at++] = src[i]!;
    this.length = at;
  }

  /** Make room for n more words. */
  reserve(n: number): void {
    while (this.length + n > this.words.length) this.grow();
  }

  private grow(): void {
    const bigger = new Int32Array(this.words.length * 2);
    bigger.set(this.words);
    this.words = bigger;
  }

  reset(): void {
    this.length = 0;
  }

  /** A copy of the words written so far. */
  toArray(): Int32Array {
    return this.words.slice(0, this.length);
  }
}

/**
 * words[start..end) kept for later in a plain array: every small typed array costs a buffer of its own
 * outside the heap, which is slow to make and to collect.
 */
export const keepWords = (words: Int32Array, start: number, end: number): number[] => {
  const out: number[] = new Array(end - start);
  for (let i = start; i < end; i++) out[i - start] = words[i]!;
  return out;
};

export class WordReader {
  position: number;
  readonly words: Int32Array;
  readonly end: number;
  constructor(words: Int32Array, start = 0, end = words.length) {
    this.words = words;
    this.position = start;
    this.end = end;
  }

  next(): number {
    if (this.position >= this.end) throw new Error("state encoding ended early");
    return this.words[this.position++]!;
  }
}

/** Lexicographic order of two word sequences. */
export const compareWords = (a: Int32Array, aLength: number, b: Int32Array, bLength: number): number => {
  const n = Math.min(aLength, bLength);
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return aLength - bLength;
};

const PRIME1 = 0x9e3779b1 | 0;
const PRIME2 = 0x85ebca77 | 0;
const PRIME3 = 0xc2b2ae3d | 0;

const mix = (h: number): number => {
  let x = h;
  x ^= x >>> 16;
  x = Math.imul(x, PRIME2);
  x ^= x >>> 13;
  x = Math.imul(x, PRIME3);
  x ^= x >>> 16;
  return x;
};

/** Two independent 32-bit hashes of the words: together a 64-bit fingerprint. */
export const fingerprint = (words: Int32Array, length: number, out: Int32Array): void =>
  fingerprintRange(words, 0, length, out);

/** The fingerprint of words[start..end), as `fingerprint` computes it for those words alone. */
export const fingerprintRange = (words: Int32Array, start: number, end: number, out: Int32Array): void => {
  const length = end - start;
  let h1 = 0x165667b1 ^ length;
  let h2 = 0x27d4eb2f ^ Math.imul(length, PRIME1);
  for (let i = start; i < end; i++) {
    const w = words[i]!;
    h1 = Math.imul(h1 ^ w, PRIME1);
    h1 = (h1 << 13) | (h1 >>> 19);
    h2 = Math.imul(h2 + w, PRIME3);
    h2 = (h2 << 17) | (h2 >>> 15);
    h2 ^= h1;
  }
  out[0] = mix(h1);
  out[1] = mix(h2 ^ 0x5bd1e995);
};

/** A 32-bit hash of words[start..end), for tables of word ranges (not a fingerprint). */
export const hashWords = (words: Int32Array, start: number, end: number): number => {
  let h = 0x2545f491 ^ (end - start);
  for (let i = start; i < end; i++) {
    h = Math.imul(h ^ words[i]!, 0x9e3779b1);
    h ^= h >>> 15;
  }
  return h;
};

/**
 * A cache from word ranges to what they decode to: equal words, the same (immutable) object. Each
 * slot keeps its key in a buffer of its own, overwritten in place, so the cache makes no garbage.
 */
export class DecodeCache<T> {
  private readonly hashes: Int32Array;
  private readonly lengths: Int32Array;
  private readonly keys: Int32Array[];
  private readonly values: (T | undefined)[];
  private readonly mask: number;

  constructor(bits: number) {
    this.hashes = new Int32Array(1 << bits);
    this.lengths = new Int32Array(1 << bits).fill(-1);
    this.keys = Array.from({ length: 1 << bits }, () => new Int32Array(0));
    this.values = new Array<T | undefined>(1 << bits).fill(undefined);
    this.mask = (1 << bits) - 1;
  }

  get(words: Int32Array, start: number, end: number, hash: number): T | undefined {
    const slot = hash & this.mask;
    if (this.hashes[slot] !== hash || this.lengths[slot] !== end - start) return undefined;
    const key = this.keys[slot]!;
    for (let i = start; i < end; i++) if (key[i - start] !== words[i]) return undefined;
    return this.values[slot];
  }

  set(words: Int32Array, start: number, end: number, hash: number, value: T): void {
    const slot = hash & this.mask;
    let key = this.keys[slot]!;
    if (key.length < end - start) {
      key = new Int32Array(Math.max(end - start, key.length * 2));
      this.keys[slot] = key;
    }
    key.set(words.subarray(start, end));
    this.hashes[slot] = hash;
    this.lengths[slot] = end - start;
    this.values[slot] = value;
  }
}
