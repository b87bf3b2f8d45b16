// A state encoding for the worlds the compact codec (raft-codec.ts) does not lay out: voter sets that
// change (kraft.version 1, KIP-853), with directory ids and control records of their own. The world is
// written as its plain structure (messages ordered by link, correlation ids renumbered 1..k per
// requester as the compact codec does, so that request counters do not make the state space infinite;
// stale answers left out and identical messages written once, as there). Larger than the compact
// codec and without symmetry reduction; exact: decoding gives back the world the encoding was made
// from, up to the renumbering.
import type { Envelope, NodeSlot, World } from "../../spec/cluster/world.ts";
import { isRequest } from "../../spec/raft/messages.ts";
import type { InflightRequest, NodeState } from "../../spec/raft/state.ts";
import { ALL_REDUCTIONS, type Reductions } from "./reductions.ts";
import { SharedStrings } from "./shared-strings.ts";
import { DecodeCache, hashWords, keepWords, WordWriter } from "./words.ts";

// The structure is written word by word: a tag in the low 3 bits of a value's first word, a payload
// above it (strings and object keys as numbers of a table of every string met so far, shared by the
// search's threads and kept as long as the process). Object keys keep the order the reducers build
// them in, so the same state built two ways may encode twice (sound, only less reduction).
const TAG_BITS = 3;
const TAG_MASK = 7;
/** null, false, true: payload 0, 1, 2. */
const T_CONST = 0;
/** An integer in [-2^28, 2^28): the payload. */
const T_INT = 1;
/** Any other 32-bit integer: the next word. */
const T_WIDE_INT = 2;
/** A string: payload its number in the table. */
const T_STRING = 3;
/** An array: payload its length, then its elements. */
const T_ARRAY = 4;
/** An object: payload its count of defined keys, then each key (its string's number) and its value. */
const T_OBJECT = 5;

const SMALL_MIN = -(2 ** 28);
const SMALL_MAX = 2 ** 28 - 1;
const NULL_WORD = T_CONST;
const FALSE_WORD = T_CONST | (1 << TAG_BITS);
const TRUE_WORD = T_CONST | (2 << TAG_BITS);

// The strings' table is shared with the search's worker threads (shared-strings.ts): a worker
// attaches to the search thread's table before it encodes anything.
let table: SharedStrings | undefined;

const strings = (): SharedStrings => {
  table ??= new SharedStrings();
  return table;
};

/** The buffer of this thread's string table, for the search's workers to attach to. */
export const genericStringsBuffer = (): SharedArrayBuffer => strings().buffer;

/** Use the string table in `buffer` (a worker, before it encodes or decodes a state). */
export const useGenericStrings = (buffer: SharedArrayBuffer): void => {
  if (table?.buffer === buffer) return;
  table = new SharedStrings(buffer);
  // Words remembered so far hold the old table's string numbers.
  forgetWords();
};

const intern = (text: string): number => strings().id(text);

// ---- correlation ids -----------------------------------------------------------------------------

/** While a world is encoded: each node's requests in flight (null: not running), and the reductions. */
const context: { readonly inflight: (readonly InflightRequest[] | null)[]; reductions: Reductions } = {
  inflight: [],
  reductions: ALL_REDUCTIONS,
};

/**
 * A correlation id as the encoding writes it: a node's live ids renumbered 1..k in the order of its
 * requests in flight; a node's stale ids match nothing (0); operators (and other non-nodes) keep
 * theirs.
 */
const renumber = (requester: number, id: number | undefined): number | undefined => {
  if (id === undefined) return undefined;
  if (requester < 1 || requester > context.inflight.length) return id;
  const live = context.inflight[requester - 1];
  if (live === null || live === undefined) return 0;
  for (let k = 0; k < live.length; k++) if (live[k]!.correlationId === id) return k + 1;
  return 0;
};

// ---- encoding ------------------------------------------------------------------------------------

/**
 * The words of objects and arrays that depend on nothing else (all but a node's state and an
 * envelope, which carry correlation ids), remembered by identity: a successor shares all but a few of
 * them with the state it came from. Only saves work; the words never depend on it.
 */
let plainWords = new WeakMap<object, readonly number[]>();
/**
 * The words of a running node's state, and for a leader what its role's correlation ids were renumbered
 * to (another node's requests decide them) and whether its fetched voters were left out.
 */
type KeptState = { readonly words: readonly number[]; readonly context: readonly number[] };
let stateWords = new WeakMap<NodeState, KeptState>();
/** The words of a slot whose node is down or does not lead (they depend on nothing else). */
let slotWords = new WeakMap<NodeSlot, readonly number[]>();
/** The words of an envelope, and what its correlation id was renumbered to. */
type KeptEnvelope = { readonly words: readonly number[]; readonly id: number | undefined };
let envelopeCache = new WeakMap<Envelope, KeptEnvelope>();
/** Forget every remembered part (see useGenericStrings). */
const forgetWords = (): void => {
  plainWords = new WeakMap();
  stateWords = new WeakMap();
  slotWords = new WeakMap();
  envelopeCache = new WeakMap();
  decoded = new DecodeCache<unknown>(DECODED_BITS);
};

/** Values shorter than this are written anew each time rather than remembered. */
const CACHE_MIN = 8;

const keep = (w: WordWriter, start: number): number[] => keepWords(w.words, start, w.length);

const writeNumber = (w: WordWriter, value: number): void => {
  if (!Number.isInteger(value) || value > 2147483647 || value < -2147483648)
    throw new Error(`the generic state encoding holds 32-bit integers, not ${value}`);
  if (value >= SMALL_MIN && value <= SMALL_MAX) w.push((value << TAG_BITS) | T_INT);
  else {
    w.push(T_WIDE_INT);
    w.push(value);
  }
};

type Fields = Readonly<Record<string, unknown>>;

const definedKeys = (record: Fields): number => {
  let count = 0;
  for (const key in record) if (record[key] !== undefined) count++;
  return count;
};

// Objects are written key by key in several places below, each with its own exceptions; the loops
// stay inline rather than behind a callback, which measured 15% slower on the search's hot path.
const writeValue = (w: WordWriter, value: unknown): void => {
  if (value === null) {
    w.push(NULL_WORD);
    return;
  }
  switch (typeof value) {
    case "boolean":
      w.push(value ? TRUE_WORD : FALSE_WORD);
      return;
    case "number":
      writeNumber(w, value);
      return;
    case "string":
      w.push((intern(value) << TAG_BITS) | T_STRING);
      return;
    case "object": {
      const kept = plainWords.get(value);
      if (kept !== undefined) {
        w.appendKept(kept);
        return;
      }
      const start = w.length;
      if (Array.isArray(value)) {
        w.push((value.length << TAG_BITS) | T_ARRAY);
        for (const item of value) writeValue(w, item);
      } else {
        const record = value as Fields;
        w.push((definedKeys(record) << TAG_BITS) | T_OBJECT);
        for (const key in record) {
          const item = record[key];
          if (item === undefined) continue;
          w.push(intern(key));
          writeValue(w, item);
        }
      }
      if (w.length - start >= CACHE_MIN) plainWords.set(value, keep(w, start));
      return;
    }
    default:
      throw new Error(`the generic state encoding cannot hold a ${typeof value}`);
  }
};

/**
 * A record whose correlation id is renumbered for `requester`: its other keys in order, then the
 * renumbered id (left out when it has none).
 */
const writeAsked = (w: WordWriter, record: Fields, requester: number): void => {
  const id = renumber(requester, record["correlationId"] as number | undefined);
  let count = id === undefined ? 0 : 1;
  for (const key in record) if (key !== "correlationId" && record[key] !== undefined) count++;
  w.push((count << TAG_BITS) | T_OBJECT);
  for (const key in record) {
    const item = record[key];
    if (key === "correlationId" || item === undefined) continue;
    w.push(intern(key));
    writeValue(w, item);
  }
  if (id !== undefined) {
    w.push(intern("correlationId"));
    writeNumber(w, id);
  }
};

type LeaderRole = Extract<NodeState["role"], { readonly _tag: "Leader" }>;

/** A leader's role: its parked fetches and voter changes under their requesters' numbering. */
const writeLeader = (w: WordWriter, role: LeaderRole): void => {
  const fields = role as unknown as Fields;
  w.push((definedKeys(fields) << TAG_BITS) | T_OBJECT);
  for (const key in fields) {
    const item = fields[key];
    if (item === undefined) continue;
    w.push(intern(key));
    switch (key) {
      case "fetchedVoters":
        // As in the compact codec: which voters fetched this check-quorum interval only decides when
        // the timer is reset, and the checker lets timers run out at any moment anyway.
        if (context.reductions.checkQuorumFetches) w.push(T_ARRAY);
        else writeValue(w, item);
        break;
      case "parkedFetches":
        w.push((role.parkedFetches.length << TAG_BITS) | T_ARRAY);
        for (const p of role.parkedFetches) writeAsked(w, p as unknown as Fields, p.replicaId);
        break;
      // R150: a voter change an auto-joining node asked for is answered under its numbering.
      case "pendingVoterChange":
      case "addingVoter":
        writeAsked(w, item as Fields, (item as { readonly requesterId: number }).requesterId);
        break;
      default:
        writeValue(w, item);
    }
  }
};

const NO_CONTEXT: readonly number[] = [];

/** What a leader's words depend on besides its own state (see writeLeader). */
const leaderContext = (role: LeaderRole): number[] => {
  const out = [context.reductions.checkQuorumFetches ? 1 : 0];
  for (const p of role.parkedFetches) out.push(renumber(p.replicaId, p.correlationId) ?? -1);
  for (const asked of [role.pendingVoterChange, role.addingVoter])
    if (asked !== undefined) out.push(renumber(asked.requesterId, asked.correlationId) ?? -1);
  return out;
};

const sameContext = (a: readonly number[], b: readonly number[]): boolean =>
  a.length === b.length && a.every((x, i) => x === b[i]);

/** A running node: its requests in flight renumbered 1..k, the next id k + 1. */
const writeState = (w: WordWriter, s: NodeState): void => {
  const now = s.role._tag === "Leader" ? leaderContext(s.role) : NO_CONTEXT;
  const kept = stateWords.get(s);
  if (kept !== undefined && sameContext(kept.context, now)) {
    w.appendKept(kept.words);
    return;
  }
  const start = w.length;
  const fields = s as unknown as Fields;
  w.push((definedKeys(fields) << TAG_BITS) | T_OBJECT);
  for (const key in fields) {
    const item = fields[key];
    if (item === undefined) continue;
    w.push(intern(key));
    switch (key) {
      case "inflight":
        w.push((s.inflight.length << TAG_BITS) | T_ARRAY);
        s.inflight.forEach((r, k) => {
          const request = r as unknown as Fields;
          w.push((definedKeys(request) << TAG_BITS) | T_OBJECT);
          for (const field in request) {
            const value = request[field];
            if (value === undefined) continue;
            w.push(intern(field));
            writeValue(w, field === "correlationId" ? k + 1 : value);
          }
        });
        break;
      case "nextCorrelationId":
        writeNumber(w, s.inflight.length + 1);
        break;
      case "role":
        if (s.role._tag === "Leader") writeLeader(w, s.role);
        else writeValue(w, item);
        break;
      default:
        writeValue(w, item);
    }
  }
  stateWords.set(s, { words: keep(w, start), context: now });
};

const writeSlot = (w: WordWriter, slot: NodeSlot): void => {
  const plain = slot.state === null || slot.state.role._tag !== "Leader";
  if (plain) {
    const kept = slotWords.get(slot);
    if (kept !== undefined) {
      w.appendKept(kept);
      return;
    }
  }
  const start = w.length;
  const fields = slot as unknown as Fields;
  w.push((definedKeys(fields) << TAG_BITS) | T_OBJECT);
  for (const key in fields) {
    const item = fields[key];
    if (item === undefined) continue;
    w.push(intern(key));
    if (key === "state" && slot.state !== null) writeState(w, slot.state);
    else writeValue(w, item);
  }
  if (plain) slotWords.set(slot, keep(w, start));
};

/** An envelope, its correlation id renumbered for the node that asked. */
const writeEnvelope = (w: WordWriter, e: Envelope): void => {
  const id = renumber(isRequest(e.message) ? e.from : e.to, e.correlationId);
  const kept = envelopeCache.get(e);
  if (kept !== undefined && kept.id === id) {
    w.appendKept(kept.words);
    return;
  }
  const start = w.length;
  const fields = e as unknown as Fields;
  let count = 0;
  for (const key in fields) if ((key === "correlationId" ? id : fields[key]) !== undefined) count++;
  w.push((count << TAG_BITS) | T_OBJECT);
  for (const key in fields) {
    const item = key === "correlationId" ? id : fields[key];
    if (item === undefined) continue;
    w.push(intern(key));
    writeValue(w, item);
  }
  envelopeCache.set(e, { words: keep(w, start), id });
};

// The network's envelopes, written apart first to be ordered and told apart.
const envelopeWords = new WordWriter(1024);
const order: number[] = [];
const starts: number[] = [];
const ends: number[] = [];
const hashes: number[] = [];

/** Whether written envelopes a and b are the same words. */
const sameEnvelope = (a: number, b: number): boolean => {
  const length = ends[a]! - starts[a]!;
  if (hashes[a] !== hashes[b] || length !== ends[b]! - starts[b]!) return false;
  const words = envelopeWords.words;
  const sa = starts[a]!;
  const sb = starts[b]!;
  for (let i = 0; i < length; i++) if (words[sa + i] !== words[sb + i]) return false;
  return true;
};

/**
 * Messages of one link keep their order (an ordered network delivers them so); links are sorted. A
 * response no request in flight waits for is ignored on arrival (R40(0)), and an answer to an operator
 * goes to no node: neither can change what happens next (the compact codec drops them too). As in the
 * compact codec, the network is a set: identical messages are written once (a sender that gave up and
 * asked again leaves copies its renumbering makes equal, which would otherwise pile up without bound).
 */
const writeNetwork = (w: WordWriter, network: readonly Envelope[]): void => {
  const dropStale = context.reductions.staleMessages;
  order.length = 0;
  for (let i = 0; i < network.length; i++) {
    const e = network[i]!;
    if (dropStale && e.to < 1) continue;
    if (dropStale && !isRequest(e.message) && (renumber(e.to, e.correlationId) ?? 0) === 0) continue;
    order.push(i);
  }
  order.sort((a, b) => {
    const ea = network[a]!;
    const eb = network[b]!;
    return ea.from * 4096 + ea.to - (eb.from * 4096 + eb.to) || a - b;
  });
  envelopeWords.reset();
  starts.length = 0;
  ends.length = 0;
  hashes.length = 0;
  for (const i of order) {
    const start = envelopeWords.length;
    writeEnvelope(envelopeWords, network[i]!);
    const k = starts.length;
    starts.push(start);
    ends.push(envelopeWords.length);
    hashes.push(hashWords(envelopeWords.words, start, envelopeWords.length));
    if (context.reductions.messageCopies) {
      for (let j = 0; j < k; j++)
        if (sameEnvelope(j, k)) {
          starts.pop();
          ends.pop();
          hashes.pop();
          envelopeWords.length = start;
          break;
        }
    }
  }
  w.push((starts.length << TAG_BITS) | T_ARRAY);
  w.append(envelopeWords.words, 0, envelopeWords.length);
};

export const encodeGeneric = (w: WordWriter, world: World, reductions: Reductions = ALL_REDUCTIONS): void => {
  context.inflight.length = 0;
  for (const slot of world.nodes) context.inflight.push(slot.state === null ? null : slot.state.inflight);
  context.reductions = reductions;
  const fields = world as unknown as Fields;
  w.push((definedKeys(fields) << TAG_BITS) | T_OBJECT);
  for (const key in fields) {
    const item = fields[key];
    if (item === undefined) continue;
    w.push(intern(key));
    if (key === "nodes") {
      w.push((world.nodes.length << TAG_BITS) | T_ARRAY);
      for (const slot of world.nodes) writeSlot(w, slot);
    } else if (key === "network") writeNetwork(w, world.network);
    else writeValue(w, item);
  }
};

// ---- decoding ------------------------------------------------------------------------------------

/** The decoded values table's size: 2^12 slots, each holding the last value whose words hash there. */
const DECODED_BITS = 12;

/**
 * Objects and arrays decoded lately, by their words: a state shares most of its parts with states
 * decoded before it, and giving back the same objects lets the encoder find their words by identity.
 * Only saves work and garbage: equal words decode to equal values either way.
 */
let decoded = new DecodeCache<unknown>(DECODED_BITS);
/** The depths at which values are looked up: a node's slot, its fields and its state's fields. */
const SHARED_FROM_DEPTH = 2;
const SHARED_TO_DEPTH = 4;

/** Where the value that starts at words[i] ends. */
const skipValue = (words: Int32Array, i: number): number => {
  const word = words[i]!;
  let at = i + 1;
  switch (word & TAG_MASK) {
    case T_WIDE_INT:
      return at + 1;
    case T_ARRAY:
      for (let k = word >> TAG_BITS; k > 0; k--) at = skipValue(words, at);
      return at;
    case T_OBJECT:
      // Each key is a plain word (its string's number) before its value.
      for (let k = word >> TAG_BITS; k > 0; k--) at = skipValue(words, at + 1);
      return at;
    default:
      return at;
  }
};

/** `at.i` moves past the value; `finish` makes the value that is shared (an envelope's missing id). */
const readValue = (
  words: Int32Array,
  at: { i: number },
  depth: number,
  finish?: (v: unknown) => unknown,
): unknown => {
  const word = words[at.i]!;
  const tag = word & TAG_MASK;
  if ((tag === T_ARRAY || tag === T_OBJECT) && depth >= SHARED_FROM_DEPTH && depth <= SHARED_TO_DEPTH) {
    const start = at.i;
    const end = skipValue(words, start);
    if (end - start >= CACHE_MIN) {
      const hash = hashWords(words, start, end);
      const known = decoded.get(words, start, end, hash);
      if (known !== undefined) {
        at.i = end;
        return known;
      }
      const made = readFresh(words, at, depth);
      const value = finish === undefined ? made : finish(made);
      decoded.set(words, start, end, hash, value);
      return value;
    }
  }
  const made = readFresh(words, at, depth);
  return finish === undefined ? made : finish(made);
};

const readFresh = (words: Int32Array, at: { i: number }, depth: number): unknown => {
  const word = words[at.i++]!;
  const payload = word >> TAG_BITS;
  switch (word & TAG_MASK) {
    case T_CONST:
      if (payload === 0) return null;
      if (payload === 1) return false;
      if (payload === 2) return true;
      break;
    case T_INT:
      return payload;
    case T_WIDE_INT:
      return words[at.i++]!;
    case T_STRING:
      return strings().text(payload);
    case T_ARRAY: {
      const items: unknown[] = new Array(payload);
      for (let k = 0; k < payload; k++) items[k] = readValue(words, at, depth + 1);
      return items;
    }
    case T_OBJECT: {
      const record: Record<string, unknown> = {};
      for (let k = 0; k < payload; k++) {
        const key = strings().text(words[at.i++]!);
        record[key] = readValue(words, at, depth + 1);
      }
      return record;
    }
  }
  throw new Error(`bad word ${word} in a generic state encoding`);
};

/** An envelope written without a correlation id comes back with the key, undefined. */
const finishEnvelope = (value: unknown): unknown => {
  const e = value as Envelope;
  return e.correlationId === undefined ? { ...e, correlationId: undefined } : e;
};

export const decodeGeneric = (words: Int32Array, start: number, _end: number): World => {
  const at = { i: start };
  const head = words[at.i++]!;
  if ((head & TAG_MASK) !== T_OBJECT)
    throw new Error(`bad word ${head} at the start of a generic state encoding`);
  const world: Record<string, unknown> = {};
  for (let k = 0; k < head >> TAG_BITS; k++) {
    const key = strings().text(words[at.i++]!);
    if (key === "network") {
      const length = words[at.i++]! >> TAG_BITS;
      const network: unknown[] = new Array(length);
      for (let m = 0; m < length; m++) network[m] = readValue(words, at, 2, finishEnvelope);
      world[key] = network;
    } else world[key] = readValue(words, at, 1);
  }
  return world as unknown as World;
};
