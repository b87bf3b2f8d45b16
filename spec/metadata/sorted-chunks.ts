// A persistent sorted sequence for the image's large collections (its topics and each topic's
// partitions, the topics' ids, its configs, and each broker's partitions): a change copies one chunk
// of about CHUNK items and the list of chunks, not every item, so creating one topic costs the same in
// an image of ten topics or a hundred thousand (issue 12).
//
// Its shape depends only on its items, never on the order they came in: a chunk ends right after each
// item whose key hashes to a boundary (one key in CHUNK), and the last chunk at the end. Two sequences
// of the same items are therefore deep-equal, as the model checker's state encoding, snapshot-equals-
// log checks and tests expect of any image value.
import * as Schema from "effect/Schema";

/**
 * The items' mean number per chunk (a power of two). A change copies a chunk and the list of chunks:
 * 64 keeps both short up to a few hundred thousand items (measured: 32 and 256 were no better).
 */
export const CHUNK = 64;

export interface SortedChunks<T> {
  readonly size: number;
  /** No chunk is empty; every chunk but the last ends with a boundary item, and only there. */
  readonly chunks: readonly (readonly T[])[];
}

export const SortedChunks = <S extends Schema.Top>(item: S) =>
  Schema.Struct({ size: Schema.Int, chunks: Schema.Array(Schema.Array(item)) });

export const EMPTY_CHUNKS: SortedChunks<never> = { size: 0, chunks: [] };

/**
 * Arrays made within one batch of changes, which nobody else sees until it ends: later changes of the
 * same batch may write them in place instead of copying them again.
 */
export type OwnedArrays = Set<readonly unknown[]>;

/** A key: all the keys of one sequence are strings, or all are integers. */
export type Key = string | number;

/**
 * Whether an item with this key ends its chunk: FNV-1a of a string's UTF-16 code units, or an
 * integer's bits mixed (so that consecutive ids, as partitions have, still end chunks at random).
 */
export const isBoundary = (key: Key): boolean => {
  let hash: number;
  if (typeof key === "number") {
    hash = Math.imul(key ^ (key >>> 16), 0x45d9f3b);
    hash = Math.imul(hash ^ (hash >>> 16), 0x45d9f3b);
    hash ^= hash >>> 16;
  } else {
    hash = 0x811c9dc5;
    for (let i = 0; i < key.length; i++) hash = Math.imul(hash ^ key.charCodeAt(i), 0x01000193);
  }
  return (hash & (CHUNK - 1)) === 0;
};

/** `items` (sorted by key, keys distinct) as chunks. */
export const chunksOf = <T>(items: readonly T[], key: (item: T) => Key): SortedChunks<T> => ({
  size: items.length,
  chunks: split(items, key),
});

const split = <T>(items: readonly T[], key: (item: T) => Key): T[][] => {
  const chunks: T[][] = [];
  let chunk: T[] = [];
  for (const item of items) {
    chunk.push(item);
    if (isBoundary(key(item))) {
      chunks.push(chunk);
      chunk = [];
    }
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
};

/** Every item, in key order. */
export const itemsOf = <T>(sequence: SortedChunks<T>): T[] => sequence.chunks.flat() as T[];

/** The first chunk whose last key is not below `k`, or the number of chunks if none. */
const chunkPosition = <T>(chunks: readonly (readonly T[])[], k: Key, key: (item: T) => Key): number => {
  let low = 0;
  let high = chunks.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    const chunk = chunks[middle]!;
    if (key(chunk[chunk.length - 1]!) < k) low = middle + 1;
    else high = middle;
  }
  return low;
};

/** The first position in a chunk whose key is not below `k`. */
const itemPosition = <T>(chunk: readonly T[], k: Key, key: (item: T) => Key): number => {
  let low = 0;
  let high = chunk.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (key(chunk[middle]!) < k) low = middle + 1;
    else high = middle;
  }
  return low;
};

export const findItem = <T>(sequence: SortedChunks<T>, k: Key, key: (item: T) => Key): T | undefined => {
  const chunk = sequence.chunks[chunkPosition(sequence.chunks, k, key)];
  if (chunk === undefined) return undefined;
  const item = chunk[itemPosition(chunk, k, key)];
  return item !== undefined && key(item) === k ? item : undefined;
};

/** Where the item of key `k` is (its chunk and place in it), if present. */
export const locate = <T>(
  sequence: SortedChunks<T>,
  k: Key,
  key: (item: T) => Key,
): { readonly chunk: number; readonly position: number } | null => {
  const at = chunkPosition(sequence.chunks, k, key);
  const chunk = sequence.chunks[at];
  if (chunk === undefined) return null;
  const position = itemPosition(chunk, k, key);
  return position < chunk.length && key(chunk[position]!) === k ? { chunk: at, position } : null;
};

/** The item at a place `locate` gave. */
export const itemAt = <T>(
  sequence: SortedChunks<T>,
  place: { readonly chunk: number; readonly position: number },
): T => sequence.chunks[place.chunk]![place.position]!;

/** The sequence with `item` in place of the one at a place `locate` gave (same key). */
export const replaceAt = <T>(
  sequence: SortedChunks<T>,
  place: { readonly chunk: number; readonly position: number },
  item: T,
  owned: OwnedArrays | null = null,
): SortedChunks<T> => {
  const outer = writable(sequence.chunks, owned);
  const changed = writable(outer[place.chunk]!, owned);
  changed[place.position] = item;
  outer[place.chunk] = changed;
  return { size: sequence.size, chunks: outer };
};

/** `array` as one this batch may change: itself if the batch made it, else a copy it then owns. */
const writable = <T>(array: readonly T[], owned: OwnedArrays | null): T[] => {
  if (owned?.has(array) === true) return array as T[];
  const copy = array.slice();
  owned?.add(copy);
  return copy;
};

const made = <T>(array: T[], owned: OwnedArrays | null): T[] => {
  owned?.add(array);
  return array;
};

/** The sequence with `item` in place of the one of its key, or added. */
export const setItem = <T>(
  sequence: SortedChunks<T>,
  item: T,
  key: (item: T) => Key,
  owned: OwnedArrays | null = null,
): SortedChunks<T> => {
  const k = key(item);
  const chunks = sequence.chunks;
  if (chunks.length === 0) return { size: 1, chunks: made([made([item], owned)], owned) };
  // Items mostly come in key order (a topic's partitions): past the last key needs no search.
  const lastChunk = chunks[chunks.length - 1]!;
  const found = key(lastChunk[lastChunk.length - 1]!) < k ? chunks.length : chunkPosition(chunks, k, key);
  if (found === chunks.length) {
    // Past the last key: after a boundary it starts a chunk, else it ends the last one (the last chunk
    // needs no boundary at its end, and may have one).
    const outer = writable(chunks, owned);
    if (isBoundary(key(lastChunk[lastChunk.length - 1]!))) outer.push(made([item], owned));
    else {
      const changed = writable(lastChunk, owned);
      changed.push(item);
      outer[outer.length - 1] = changed;
    }
    return { size: sequence.size + 1, chunks: outer };
  }
  const at = Math.min(found, chunks.length - 1);
  const chunk = chunks[at]!;
  const position = itemPosition(chunk, k, key);
  const present = position < chunk.length && key(chunk[position]!) === k;
  const outer = writable(chunks, owned);
  if (present || !isBoundary(k)) {
    // The chunk's boundaries stay: a replaced key was already there, and a new key that is no boundary
    // lands before the chunk's last item or at the end of the last chunk, which needs none.
    const changed = writable(chunk, owned);
    if (present) changed[position] = item;
    else changed.splice(position, 0, item);
    outer[at] = changed;
    return { size: present ? sequence.size : sequence.size + 1, chunks: outer };
  }
  // A new boundary key ends a chunk: the chunk splits after it.
  const before = made(chunk.slice(0, position), owned);
  before.push(item);
  const after = chunk.slice(position);
  if (after.length === 0) outer.splice(at, 1, before);
  else outer.splice(at, 1, before, made(after, owned));
  return { size: sequence.size + 1, chunks: outer };
};

/** The sequence without the item of key `k` (unchanged if absent). */
export const removeItem = <T>(
  sequence: SortedChunks<T>,
  k: Key,
  key: (item: T) => Key,
  owned: OwnedArrays | null = null,
): SortedChunks<T> => {
  const chunks = sequence.chunks;
  const at = chunkPosition(chunks, k, key);
  const chunk = chunks[at];
  if (chunk === undefined) return sequence;
  const position = itemPosition(chunk, k, key);
  if (position >= chunk.length || key(chunk[position]!) !== k) return sequence;
  const outer = writable(chunks, owned);
  const next = chunks[at + 1];
  if (position === chunk.length - 1 && next !== undefined) {
    // The chunk's boundary is gone: it joins the next chunk.
    const joined = made(chunk.slice(0, position), owned);
    for (const item of next) joined.push(item);
    outer.splice(at, 2, joined);
  } else if (chunk.length === 1) {
    outer.splice(at, 1);
  } else {
    const changed = writable(chunk, owned);
    changed.splice(position, 1);
    outer[at] = changed;
  }
  return { size: sequence.size - 1, chunks: outer };
};

/**
 * What is wrong with a sequence's shape, if anything: keys out of order or repeated, an empty chunk,
 * a boundary inside a chunk or missing at its end, or a size that is not the count. A sequence built
 * by this module's functions never has a problem; one decoded from outside may.
 */
export const shapeProblem = <T>(sequence: SortedChunks<T>, key: (item: T) => Key): string | null => {
  let previous: Key | null = null;
  let count = 0;
  for (let c = 0; c < sequence.chunks.length; c++) {
    const chunk = sequence.chunks[c]!;
    if (chunk.length === 0) return `chunk ${c} is empty`;
    for (let i = 0; i < chunk.length; i++) {
      const k = key(chunk[i]!);
      if (previous !== null && !(previous < k)) return `key ${k} does not come after ${previous}`;
      const last = i === chunk.length - 1;
      const lastChunk = c === sequence.chunks.length - 1;
      if (isBoundary(k) && !last) return `key ${k} ends a chunk but is inside chunk ${c}`;
      if (!isBoundary(k) && last && !lastChunk) return `chunk ${c} ends at ${k}, which is not a boundary`;
      previous = k;
      count++;
    }
  }
  return count === sequence.size ? null : `size ${sequence.size} but ${count} items`;
};
