// The metadata model's state encoding: a metadata world (spec/cluster/metadata-world.ts) as 32-bit
// words, and back. The words depend only on the state, never on which states a thread saw before, so
// a search worker's words mean the same in the search thread (a worker decodes words the search
// thread wrote, and the search thread decodes and fingerprints words a worker wrote).
//
// Layout: the Raft world as the Raft codec writes it, its record values numbered within the state
// (by first appearance in the logs) and followed by those records; the distinct images of the state,
// each once, that controllers and brokers refer to by position; then the controllers, brokers,
// timers, the request channel and the ghost history, as tagged words.
//
// Equal states are what they were when each part was compared as JSON text: a value is written as
// its JSON shape (an object's keys in order, with undefined ones left out), so two values get equal
// words exactly when JSON.stringify gives them equal text. Strings and object shapes are numbered by a
// vocabulary every thread builds alike (the spec's schemas, the model's bootstrapped world); anything
// else is written out in full. Broker correlation ids are renumbered as before (only which requests
// are outstanding matters), and the channel stays first in, first out per link with no order across
// links.
//
// No JSON and little work per state: what a state shares with the one it came from (records, images,
// apps) is remembered by object while encoding and by words while decoding. Those caches only save
// work; the words never depend on them.

import type * as SchemaAST from "effect/SchemaAST";
import type {
  AppSlot,
  MetadataClusterSpec,
  MetadataWorld,
  MetaEnvelope,
} from "../../spec/cluster/metadata-world.ts";
import { bootstrappedWorld, incarnationOf, raftSpecOf } from "../../spec/cluster/metadata-world.ts";
import {
  type ClusterSpec,
  type Entry,
  entryEpoch,
  entryValue,
  makeEntry,
  type NodeSlot,
  type World,
} from "../../spec/cluster/world.ts";
import { BrokerState } from "../../spec/metadata/broker.ts";
import { BROKER_CONFIGS, TOPIC_CONFIGS } from "../../spec/metadata/configs.ts";
import { ControllerState } from "../../spec/metadata/controller.ts";
import { MetadataImage } from "../../spec/metadata/image.ts";
import { MetadataRecord } from "../../spec/metadata/records.ts";
import { FIRST_FORWARD_ID, Forward, KraftNode, NodeRequest, NodeResponse } from "../../spec/node/node.ts";
import { decodeWorld, encodeCanonical } from "./raft-codec.ts";
import { ALL_REDUCTIONS, type Reductions } from "./reductions.ts";
import { DecodeCache, hashWords, keepWords, type WordWriter } from "./words.ts";

// ---- tagged words --------------------------------------------------------------------------------

// A value's first word: a tag in the low 4 bits, a payload above it.
const TAG_BITS = 4;
const TAG_MASK = 15;
/** An integer in [-2^27, 2^27): the payload. */
const T_INT = 0;
/** null, false or true: payload 0, 1, 2. */
const T_CONST = 1;
/** A string of the vocabulary: payload its number. */
const T_STRING = 2;
/** Any other string: payload its length, then its UTF-16 code units, two to a word. */
const T_STRING_INLINE = 3;
/** An array: payload its length, then its elements. */
const T_ARRAY = 4;
/** An object of a known shape: payload the shape's number, then its values in key order. */
const T_OBJECT = 5;
/** An object of any other shape: payload its key count, then each key (a string) and its value. */
const T_OBJECT_INLINE = 6;
/** A number that is not a small integer: two words, its float64 bits. */
const T_DOUBLE = 7;
/** An image of the state: payload its position in the state's image table. */
const T_IMAGE = 8;

/** How often the encoding met a shape or string outside the vocabulary (the slow, longer forms). */
export const metadataCodecStats = { inlineShapes: 0, inlineStrings: 0 };

const SMALL_MIN = -(2 ** 27);
const SMALL_MAX = 2 ** 27 - 1;
const NULL_WORD = T_CONST;
const FALSE_WORD = T_CONST | (1 << TAG_BITS);
const TRUE_WORD = T_CONST | (2 << TAG_BITS);
const CONSTANTS = [null, false, true] as const;

/** Parts of images and records whose words are at least this long are remembered per object. */
const CACHE_MIN = 6;

/** Apps remembered per position (see writeApp). */
const RECENT_APPS = 4;

/** A record value the Raft codec is known to leave out of its words. */
const UNWRITTEN = 0x7000;

const float = new Float64Array(1);
const floatWords = new Int32Array(float.buffer);

/** Words kept for later (a value's, an app's), as keepWords keeps them. */
type Kept = readonly number[];

const hashKept = (words: Kept): number => {
  let h = 0x2545f491 ^ words.length;
  for (let i = 0; i < words.length; i++) {
    h = Math.imul(h ^ words[i]!, 0x9e3779b1);
    h ^= h >>> 15;
  }
  return h;
};

const sameKept = (a: Kept, b: Kept): boolean => {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
};

/** Lexicographic order of two word sequences. */
const compareKept = (a: Kept, b: Kept): number => {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! < b[i]! ? -1 : 1;
  return a.length - b.length;
};

const sampleHash = (words: Int32Array, start: number, end: number): number => {
  let h = 0x2545f491 ^ (end - start);
  for (let i = start; i < end; i += 7) {
    h = Math.imul(h ^ words[i]!, 0x9e3779b1);
    h ^= h >>> 15;
  }
  return h;
};

// ---- the vocabulary: strings and object shapes with fixed numbers -------------------------------

class ShapeNode {
  id = -1;
  readonly next = new Map<string, ShapeNode>();
}

/**
 * Strings and object shapes (key sequences) numbered by a fixed procedure: the spec's schemas, then
 * what the bootstrapped world of the model's options holds. Every thread builds the same one; any
 * string or shape outside it is written out in full.
 */
class Vocabulary {
  readonly strings: string[] = [];
  readonly stringIds = new Map<string, number>();
  readonly shapes: (readonly string[])[] = [];
  private readonly root = new ShapeNode();

  addString(s: string): void {
    if (this.stringIds.has(s)) return;
    this.stringIds.set(s, this.strings.length);
    this.strings.push(s);
  }

  addShape(keys: readonly string[]): void {
    let node = this.root;
    for (const k of keys) {
      let next = node.next.get(k);
      if (next === undefined) {
        next = new ShapeNode();
        node.next.set(k, next);
      }
      node = next;
    }
    if (node.id >= 0) return;
    node.id = this.shapes.length;
    this.shapes.push(keys);
  }

  /** The number of `o`'s shape (its keys with a defined value, in order), or -1. */
  shapeOf(o: Readonly<Record<string, unknown>>): number {
    let node: ShapeNode | undefined = this.root;
    for (const k in o) {
      if (o[k] === undefined) continue;
      node = node.next.get(k);
      if (node === undefined) return -1;
    }
    return node.id;
  }

  /** Every string and object shape in `value`, in a fixed order. */
  addValue(value: unknown): void {
    if (typeof value === "string") this.addString(value);
    else if (Array.isArray(value)) for (const v of value) this.addValue(v);
    else if (typeof value === "object" && value !== null) {
      const o = value as Record<string, unknown>;
      const keys: string[] = [];
      for (const k in o) if (o[k] !== undefined) keys.push(k);
      this.addShape(keys);
      for (const k of keys) this.addValue(o[k]);
    }
  }

  /** The object shapes and string literals a schema declares. */
  addSchema(ast: SchemaAST.AST, seen: Set<SchemaAST.AST>): void {
    if (seen.has(ast)) return;
    seen.add(ast);
    switch (ast._tag) {
      case "Objects":
        this.addShape(ast.propertySignatures.map((p) => String(p.name)));
        for (const p of ast.propertySignatures) this.addSchema(p.type, seen);
        return;
      case "Union":
        for (const t of ast.types) this.addSchema(t, seen);
        return;
      case "Arrays":
        for (const t of ast.elements) this.addSchema(t, seen);
        for (const t of ast.rest) this.addSchema(t, seen);
        return;
      case "Literal":
        if (typeof ast.literal === "string") this.addString(ast.literal);
        return;
      case "Suspend":
        this.addSchema(ast.thunk(), seen);
        return;
      default:
        return;
    }
  }
}

/** The shapes of the world's own (schema-less) objects, as metadata-world.ts builds them. */
const WORLD_SHAPES: readonly (readonly string[])[] = [
  ["from", "to", "correlationId", "toStart", "fromStart", "body"],
  ["kind", "request"],
  ["kind", "response"],
  ["kind"],
  ["node", "to", "correlationId", "baseOffset", "lastOffset", "epoch"],
  ["node", "from", "correlationId", "fromStart"],
  ["endOffset", "epoch"],
];

const buildVocabulary = (
  spec: MetadataClusterSpec,
  partitions: number,
  adminOps: readonly NodeRequest[],
): Vocabulary => {
  const v = new Vocabulary();
  const seen = new Set<SchemaAST.AST>();
  for (const schema of [
    MetadataImage,
    MetadataRecord,
    ControllerState,
    BrokerState,
    NodeRequest,
    NodeResponse,
    Forward,
    KraftNode,
  ])
    v.addSchema(schema.ast, seen);
  for (const shape of WORLD_SHAPES) v.addShape(shape);
  for (const def of [...TOPIC_CONFIGS, ...BROKER_CONFIGS]) {
    v.addString(def.name);
    v.addString(def.default);
  }
  v.addString(spec.clusterId);
  const world = bootstrappedWorld(spec, partitions);
  v.addValue(world.apps);
  v.addValue(world.records);
  v.addValue(world.network);
  v.addValue(adminOps);
  // A restarted broker registers with its next incarnation.
  for (let id = spec.controllers + 1; id <= spec.controllers + spec.brokers; id++)
    for (let start = 0; start < 16; start++) v.addString(incarnationOf(id, start));
  return v;
};

// ---- correlation ids -----------------------------------------------------------------------------

/**
 * Broker correlation ids only ever grow; only which requests are outstanding matters. Each node's
 * live ids are renumbered 1..k in order, so runs that differ only in how many heartbeats came before
 * meet; forwarded requests' ids (spec/node) apart, from FIRST_FORWARD_ID, so that they never meet the
 * node's own after decoding.
 */
class Renumbering {
  private readonly live: number[][] = [];
  private readonly forwarded: number[][] = [];
  /** Nodes noted since the last reset. */
  private readonly touched: number[] = [];

  reset(): void {
    for (const node of this.touched) {
      this.live[node]!.length = 0;
      this.forwarded[node]!.length = 0;
    }
    this.touched.length = 0;
  }

  note(node: number, id: number): void {
    if (node < 0) return;
    while (this.live.length <= node) {
      this.live.push([]);
      this.forwarded.push([]);
    }
    const live = this.live[node]!;
    const forwarded = this.forwarded[node]!;
    if (live.length === 0 && forwarded.length === 0) this.touched.push(node);
    const list = id >= FIRST_FORWARD_ID ? forwarded : live;
    if (!list.includes(id)) list.push(id);
  }

  sort(): void {
    for (const node of this.touched) {
      const live = this.live[node]!;
      const forwarded = this.forwarded[node]!;
      if (live.length > 1) live.sort((a, b) => a - b);
      if (forwarded.length > 1) forwarded.sort((a, b) => a - b);
    }
  }

  renumbered(node: number, id: number): number {
    if (node < 0 || node >= this.live.length) return id;
    const live = this.live[node]!.indexOf(id);
    if (live >= 0) return live + 1;
    const forwarded = this.forwarded[node]!.indexOf(id);
    return forwarded >= 0 ? FIRST_FORWARD_ID + forwarded : id;
  }

  /** How many of the node's own ids are outstanding. */
  liveCount(node: number): number {
    return node < 0 || node >= this.live.length ? 0 : this.live[node]!.length;
  }
}

const requesterOf = (e: MetaEnvelope): number => (e.body.kind === "request" ? e.from : e.to);

// ---- caches --------------------------------------------------------------------------------------

/** A value's words (an image, a record) and their hash. */
interface Words {
  readonly words: Kept;
  readonly hash: number;
}

/** A world's records: for each value, the class of equal records it is in (1..), and each class's words. */
interface RecordClasses {
  readonly classOf: Kept;
  readonly words: readonly Words[];
}

/** An app's words (its length first) and what they depend on besides the app (see appDeps). */
interface AppWords {
  readonly app: AppSlot;
  readonly words: Kept;
  readonly deps: Kept;
}

/** A decoded app and the images it refers to, by position in its state's table. */
interface DecodedApp {
  readonly app: AppSlot;
  readonly positions: Kept;
  readonly images: readonly MetadataImage[];
}

interface DecodedRaft {
  readonly raft: World;
  readonly records: readonly MetadataRecord[];
}

// ---- the codec -----------------------------------------------------------------------------------

export class MetadataCodec {
  readonly reductions: Reductions;
  private readonly vocabulary: Vocabulary;
  private readonly raftSpec: ClusterSpec;
  private readonly valueWords = new WeakMap<object, Kept>();
  private readonly inlineStrings = new Map<string, Kept>();
  private readonly imageWords = new WeakMap<MetadataImage, Words>();
  private readonly recordInfo = new WeakMap<MetadataRecord, Words>();
  private readonly recordClasses = new WeakMap<readonly MetadataRecord[], RecordClasses>();
  /** While a state is encoded: each record class's number (0: none yet), and the classes by number. */
  private numberOfClass = new Int32Array(64);
  private readonly numbered: number[] = [];
  private readonly renumbering = new Renumbering();
  /** Per app position, the apps written last: a successor shares all but one or two with its parent. */
  private readonly recentApps: AppWords[][] = [];
  private readonly decodedApps = new DecodeCache<DecodedApp>(4);
  private readonly deps: number[] = [];
  private readonly imageUses: number[] = [];
  private readonly ids: number[] = [];
  private readonly order: number[] = [];
  private readonly decodedRafts = new DecodeCache<DecodedRaft>(4);
  private readonly decodedImages = new DecodeCache<MetadataImage>(8);
  private readonly decodedRecords = new DecodeCache<MetadataRecord>(8);
  /** The state's distinct images while it is encoded, and each app's references into them. */
  private images: Words[] = [];
  private imageObjects: MetadataImage[] = [];
  private imagePositions: number[] = [];
  private imageRefs: number[] = [];
  // Decoding: the words being read, where, and the state's images.
  private words: Int32Array = new Int32Array(0);
  private at = 0;
  private end = 0;
  private stateImages: MetadataImage[] = [];

  /**
   * The model's cluster, the partitions of its topic, the requests its admin client may send, and what
   * the Raft world's encoding may leave out (src/checker/reductions.ts).
   */
  constructor(
    spec: MetadataClusterSpec,
    partitions: number,
    adminOps: readonly NodeRequest[],
    reductions: Reductions = ALL_REDUCTIONS,
  ) {
    this.reductions = reductions;
    this.vocabulary = buildVocabulary(spec, partitions, adminOps);
    this.raftSpec = raftSpecOf(spec);
  }

  // ---- values

  private writeNumber(w: WordWriter, n: number): void {
    if (Number.isInteger(n) && n >= SMALL_MIN && n <= SMALL_MAX) w.push(n << TAG_BITS);
    // As JSON writes them.
    else if (!Number.isFinite(n)) w.push(NULL_WORD);
    else {
      float[0] = n;
      w.push(T_DOUBLE);
      w.push(floatWords[0]!);
      w.push(floatWords[1]!);
    }
  }

  private writeString(w: WordWriter, s: string): void {
    const id = this.vocabulary.stringIds.get(s);
    if (id !== undefined) {
      w.push(T_STRING | (id << TAG_BITS));
      return;
    }
    let words = this.inlineStrings.get(s);
    if (words === undefined) {
      metadataCodecStats.inlineStrings++;
      const packed = [T_STRING_INLINE | (s.length << TAG_BITS)];
      for (let i = 0; i < s.length; i += 2)
        packed.push(s.charCodeAt(i) | (i + 1 < s.length ? s.charCodeAt(i + 1) << 16 : 0));
      words = packed;
      // Strings outside the vocabulary are few (error messages, a broken property's text).
      if (this.inlineStrings.size < 10_000) this.inlineStrings.set(s, words);
    }
    w.appendKept(words);
  }

  /** A value; with `cached`, objects inside it are looked up and remembered by identity. */
  private writeValue(w: WordWriter, value: unknown, cached = false): void {
    switch (typeof value) {
      case "number":
        this.writeNumber(w, value);
        return;
      case "string":
        this.writeString(w, value);
        return;
      case "boolean":
        w.push(value ? TRUE_WORD : FALSE_WORD);
        return;
      case "object": {
        if (value === null) {
          w.push(NULL_WORD);
          return;
        }
        if (!cached) {
          this.writeComposite(w, value, false);
          return;
        }
        const words = this.valueWords.get(value);
        if (words !== undefined) {
          w.appendKept(words);
          return;
        }
        const start = w.length;
        this.writeComposite(w, value, true);
        if (w.length - start >= CACHE_MIN) this.valueWords.set(value, keepWords(w.words, start, w.length));
        return;
      }
      default:
        // undefined, functions, symbols: what JSON writes in an array.
        w.push(NULL_WORD);
    }
  }

  /** An array or object, its parts looked up in the cache but not itself. */
  private writeComposite(w: WordWriter, value: object, cached: boolean): void {
    if (Array.isArray(value)) {
      w.push(T_ARRAY | (value.length << TAG_BITS));
      // JSON writes a missing element as null.
      for (const v of value as readonly unknown[]) this.writeValue(w, v === undefined ? null : v, cached);
    } else {
      const o = value as Readonly<Record<string, unknown>>;
      if (this.writeShape(w, o)) {
        for (const k in o) {
          const v = o[k];
          if (v !== undefined) this.writeValue(w, v, cached);
        }
      } else {
        for (const k in o) {
          const v = o[k];
          if (v === undefined) continue;
          this.writeString(w, k);
          this.writeValue(w, v, cached);
        }
      }
    }
  }

  /**
   * Write an object's first word. True for a known shape: its values follow in key order; false for
   * an inline one: each key and its value follow.
   */
  private writeShape(w: WordWriter, o: Readonly<Record<string, unknown>>): boolean {
    const shape = this.vocabulary.shapeOf(o);
    if (shape >= 0) {
      w.push(T_OBJECT | (shape << TAG_BITS));
      return true;
    }
    metadataCodecStats.inlineShapes++;
    let count = 0;
    for (const k in o) if (o[k] !== undefined) count++;
    w.push(T_OBJECT_INLINE | (count << TAG_BITS));
    return false;
  }

  /** An object with one field's value replaced by `number` (a renumbered correlation id). */
  private writeObjectWith(w: WordWriter, value: object, key: string, number: number): void {
    const o = value as Readonly<Record<string, unknown>>;
    const known = this.writeShape(w, o);
    for (const k in o) {
      const v = o[k];
      if (v === undefined) continue;
      if (!known) this.writeString(w, k);
      if (k === key) this.writeNumber(w, number);
      else this.writeValue(w, v);
    }
  }

  private readValue(): unknown {
    const word = this.words[this.at++]!;
    const payload = word >> TAG_BITS;
    switch (word & TAG_MASK) {
      case T_INT:
        return payload;
      case T_CONST:
        return CONSTANTS[payload];
      case T_STRING:
        return this.vocabulary.strings[payload];
      case T_STRING_INLINE:
        return this.readInlineString(payload);
      case T_ARRAY: {
        const out: unknown[] = [];
        for (let i = 0; i < payload; i++) out.push(this.readValue());
        return out;
      }
      case T_OBJECT: {
        const o: Record<string, unknown> = {};
        for (const k of this.vocabulary.shapes[payload]!) o[k] = this.readValue();
        return o;
      }
      case T_OBJECT_INLINE: {
        const o: Record<string, unknown> = {};
        for (let i = 0; i < payload; i++) {
          const k = this.readValue() as string;
          o[k] = this.readValue();
        }
        return o;
      }
      case T_DOUBLE:
        floatWords[0] = this.words[this.at++]!;
        floatWords[1] = this.words[this.at++]!;
        return float[0]!;
      case T_IMAGE:
        this.imageUses.push(payload);
        return this.stateImages[payload];
      default:
        throw new Error(`metadata state encoding: no value has tag ${word & TAG_MASK}`);
    }
  }

  private readInlineString(length: number): string {
    let s = "";
    for (let i = 0; i < length; i++) {
      const word = this.words[this.at + (i >> 1)]!;
      s += String.fromCharCode((i & 1) === 0 ? word & 0xffff : word >>> 16);
    }
    this.at += (length + 1) >> 1;
    return s;
  }

  private next(): number {
    if (this.at >= this.end) throw new Error("metadata state encoding ended early");
    return this.words[this.at++]!;
  }

  // ---- records and the Raft part

  private recordWords(record: MetadataRecord, scratch: WordWriter): Words {
    return this.keptWords(this.recordInfo, record, scratch);
  }

  /** A record's or image's words, made once per object: states share most of them. */
  private keptWords<T extends object>(cache: WeakMap<T, Words>, value: T, scratch: WordWriter): Words {
    let cached = cache.get(value);
    if (cached === undefined) {
      const start = scratch.length;
      this.writeComposite(scratch, value, true);
      const words = keepWords(scratch.words, start, scratch.length);
      scratch.length = start;
      cached = { words, hash: hashKept(words) };
      cache.set(value, cached);
    }
    return cached;
  }

  /** Which of a world's record values hold equal records (kept per records array: states share them). */
  private classesOf(records: readonly MetadataRecord[], scratch: WordWriter): RecordClasses {
    let classes = this.recordClasses.get(records);
    if (classes === undefined) {
      const classOf: number[] = [0];
      const words: Words[] = [];
      for (let v = 1; v <= records.length; v++) {
        const info = this.recordWords(records[v - 1]!, scratch);
        let c = 0;
        for (let k = 0; k < words.length; k++) {
          const other = words[k]!;
          if (other.hash === info.hash && sameKept(other.words, info.words)) {
            c = k + 1;
            break;
          }
        }
        if (c === 0) {
          words.push(info);
          c = words.length;
        }
        classOf.push(c);
      }
      classes = { classOf, words };
      this.recordClasses.set(records, classes);
    }
    return classes;
  }

  /** Number the records of `entries` not numbered yet, in order; false if some number is not its value. */
  private numberLog(entries: readonly Entry[], classOf: Kept): boolean {
    const numbers = this.numberOfClass;
    let same = true;
    for (let i = 0; i < entries.length; i++) {
      const value = entryValue(entries[i]!);
      if (value === 0) continue;
      const c = classOf[value];
      if (c === undefined || c === 0)
        throw new Error(`metadata state encoding: no record for value ${value}`);
      let n = numbers[c]!;
      if (n === 0) {
        this.numbered.push(c);
        n = this.numbered.length;
        numbers[c] = n;
      }
      if (n !== value) same = false;
    }
    return same;
  }

  /**
   * The Raft world with its record values numbered within the state, then the records by number.
   * Equal records get one number, whatever value the world gave each. Values in the logs (and the
   * ghost committed log) are numbered as they first appear there; values only in messages come after
   * them, in the order of their records' words, and only if the Raft codec keeps their message.
   */
  private writeRaftSection(w: WordWriter, world: MetadataWorld): void {
    const raft = world.raft;
    const { classOf, words } = this.classesOf(world.records, w);
    if (this.numberOfClass.length <= words.length) this.numberOfClass = new Int32Array(words.length * 2 + 2);
    const numbers = this.numberOfClass;
    const numbered = this.numbered;
    numbered.length = 0;
    let same = this.numberLog(raft.committed, classOf);
    for (const slot of raft.nodes) {
      if (!this.numberLog(slot.entries, classOf)) same = false;
      if (slot.lostFrom >= 0 && !this.numberLog(slot.lost, classOf)) same = false;
      if (slot.partial !== null && !this.numberLog(slot.partial.entries, classOf)) same = false;
    }
    const inLogs = numbered.length;
    // Records only in messages: each once, in the order of their words.
    let extra: number[] | undefined;
    for (const e of raft.network) {
      const payload = e.payload;
      if (payload === null) continue;
      for (let i = 0; i < payload.length; i++) {
        const value = entryValue(payload[i]!);
        if (value === 0) continue;
        const c = classOf[value];
        if (c === undefined || c === 0)
          throw new Error(`metadata state encoding: no record for value ${value}`);
        const n = numbers[c]!;
        if (n === 0) {
          extra ??= [];
          if (!extra.includes(c)) extra.push(c);
        } else if (n !== value) same = false;
      }
    }
    const start = w.length;
    w.push(0);
    w.push(0);
    if (extra === undefined) {
      // Decoded worlds and most of their successors are numbered so already: nothing to rewrite.
      const canonical = !same
        ? this.renumbered(raft, classOf)
        : raft.valuesAppended === 0
          ? raft
          : { ...raft, valuesAppended: 0 };
      encodeCanonical(w, canonical, this.raftSpec, false, this.reductions);
    } else {
      const byWords = (a: number, b: number): number => {
        const x = words[a - 1]!.words;
        const y = words[b - 1]!.words;
        return compareKept(x, y);
      };
      extra.sort(byWords);
      for (const c of extra) {
        numbered.push(c);
        numbers[c] = numbered.length;
      }
      encodeCanonical(w, this.renumbered(raft, classOf), this.raftSpec, false, this.reductions);
      // Keep those the Raft codec wrote (it leaves out messages nobody waits for), and write again.
      const seen = this.writtenValues(w, start);
      const kept = extra.filter((c) => seen.has(numbers[c]!));
      if (kept.length !== extra.length) {
        numbered.length = inLogs;
        for (const c of extra) numbers[c] = 0;
        for (const c of kept) {
          numbered.push(c);
          numbers[c] = numbered.length;
        }
        w.length = start + 2;
        encodeCanonical(w, this.renumbered(raft, classOf), this.raftSpec, false, this.reductions);
        for (const v of this.writtenValues(w, start))
          if (v > numbered.length) throw new Error("metadata state encoding: a record left out is written");
      }
    }
    w.words[start + 1] = w.length - start - 2;
    w.push(numbered.length);
    for (const c of numbered) {
      const record = words[c - 1]!.words;
      w.push(record.length);
      w.appendKept(record);
      numbers[c] = 0;
    }
    if (extra !== undefined) for (const c of extra) numbers[c] = 0;
    w.words[start] = w.length - start - 1;
  }

  /** The Raft world with each record value replaced by its number (records left out: past them). */
  private renumbered(raft: World, classOf: Kept): World {
    const numbers = this.numberOfClass;
    const map = new Int32Array(classOf.length);
    for (let v = 1; v < classOf.length; v++) {
      const n = numbers[classOf[v]!]!;
      map[v] = n === 0 ? UNWRITTEN : n;
    }
    return renumberedRaft(raft, map);
  }

  /** The record values in the messages of the Raft words at `start` (after the two length words). */
  private writtenValues(w: WordWriter, start: number): Set<number> {
    const written = decodeWorld(w.words, start + 2, w.length, this.raftSpec);
    const seen = new Set<number>();
    for (const e of written.network) for (const entry of e.payload ?? []) seen.add(entryValue(entry));
    return seen;
  }

  private readRaftSection(): DecodedRaft {
    const start = this.at;
    const end = start + 1 + this.next();
    // Every seventh word picks the slot; a hit still compares every word.
    const hash = sampleHash(this.words, start, end);
    const cached = this.decodedRafts.get(this.words, start, end, hash);
    if (cached !== undefined) {
      this.at = end;
      return cached;
    }
    const raftLength = this.next();
    const raft = decodeWorld(this.words, this.at, this.at + raftLength, this.raftSpec);
    this.at += raftLength;
    const count = this.next();
    const records: MetadataRecord[] = [];
    const classOf: number[] = [0];
    const classes: Words[] = [];
    for (let i = 0; i < count; i++) {
      const length = this.next();
      const recordStart = this.at;
      const recordEnd = recordStart + length;
      const record = this.readCached(this.decodedRecords, recordEnd, "a record");
      let info = this.recordInfo.get(record);
      if (info === undefined) {
        const kept = keepWords(this.words, recordStart, recordEnd);
        info = { words: kept, hash: hashKept(kept) };
        this.recordInfo.set(record, info);
      }
      records.push(record);
      classes.push(info);
      classOf.push(i + 1);
    }
    // The table holds each record once: its values are their own classes.
    this.recordClasses.set(records, { classOf, words: classes });
    if (this.at !== end) throw new Error("metadata state encoding: the Raft part's length is wrong");
    const decoded: DecodedRaft = {
      // The Raft codec keeps only whether a step property broke.
      raft: { ...raft, broken: raft.broken === null ? null : "a Raft step property was broken" },
      records,
    };
    this.decodedRafts.set(this.words, start, end, hash, decoded);
    return decoded;
  }

  // ---- images

  private wordsOfImage(image: MetadataImage, scratch: WordWriter): Words {
    return this.keptWords(this.imageWords, image, scratch);
  }

  /** The position of `image` in the state's table of distinct images, added if new. */
  private imageRef(image: MetadataImage, scratch: WordWriter): number {
    const objects = this.imageObjects;
    for (let i = 0; i < objects.length; i++) if (objects[i] === image) return this.imagePositions[i]!;
    const words = this.wordsOfImage(image, scratch);
    const images = this.images;
    let position = images.length;
    for (let i = 0; i < images.length; i++) {
      const other = images[i]!;
      if (other.hash === words.hash && sameKept(other.words, words.words)) {
        position = i;
        break;
      }
    }
    if (position === images.length) images.push(words);
    objects.push(image);
    this.imagePositions.push(position);
    return position;
  }

  private writeImages(w: WordWriter, world: MetadataWorld): void {
    this.images.length = 0;
    this.imageObjects.length = 0;
    this.imagePositions.length = 0;
    const refs = this.imageRefs;
    refs.length = 0;
    for (const app of world.apps) {
      if (app.controller !== null) {
        refs.push(this.imageRef(app.controller.image, w));
        refs.push(this.imageRef(app.controller.committed, w));
      }
      if (app.broker !== null) refs.push(this.imageRef(app.broker.image, w));
    }
    w.push(this.images.length);
    for (const image of this.images) {
      w.push(image.words.length);
      w.appendKept(image.words);
    }
  }

  private readImages(): void {
    const count = this.next();
    const images = this.stateImages;
    images.length = 0;
    for (let i = 0; i < count; i++) {
      const length = this.next();
      images.push(this.readCached(this.decodedImages, this.at + length, "an image"));
    }
  }

  /** The value in the words from here to `end`, decoded once per distinct run of words. */
  private readCached<T>(cache: DecodeCache<T>, end: number, what: string): T {
    const start = this.at;
    const hash = hashWords(this.words, start, end);
    let value = cache.get(this.words, start, end, hash);
    if (value === undefined) {
      value = this.readValue() as T;
      if (this.at !== end) throw new Error(`metadata state encoding: ${what}'s length is wrong`);
      cache.set(this.words, start, end, hash, value);
    }
    this.at = end;
    return value;
  }

  // ---- the world

  /**
   * The positions 0..count-1 in the order `compare` gives, ties in position order (a stable sort, as
   * Array.prototype.sort): insertion sort, the lists are short.
   */
  private orderBy(count: number, compare: (a: number, b: number) => number): number[] {
    const order = this.order;
    order.length = 0;
    for (let i = 0; i < count; i++) {
      let j = i;
      order.push(i);
      while (j > 0 && compare(order[j - 1]!, i) > 0) {
        order[j] = order[j - 1]!;
        j--;
      }
      order[j] = i;
    }
    return order;
  }

  private writeController(w: WordWriter, c: ControllerState, image: number, committed: number): void {
    const n = this.renumbering;
    const o = c as unknown as Readonly<Record<string, unknown>>;
    const known = this.writeShape(w, o);
    for (const k in o) {
      const v = o[k];
      if (v === undefined) continue;
      if (!known) this.writeString(w, k);
      if (k === "image") w.push(T_IMAGE | (image << TAG_BITS));
      else if (k === "committed") w.push(T_IMAGE | (committed << TAG_BITS));
      else if (k === "pending") {
        w.push(T_ARRAY | (c.pending.length << TAG_BITS));
        for (const p of c.pending)
          this.writeObjectWith(w, p, "correlationId", n.renumbered(p.to, p.correlationId));
      } else this.writeValue(w, v);
    }
  }

  private writeBroker(w: WordWriter, b: BrokerState, id: number, image: number): void {
    const n = this.renumbering;
    const o = b as unknown as Readonly<Record<string, unknown>>;
    const known = this.writeShape(w, o);
    for (const k in o) {
      const v = o[k];
      if (v === undefined) continue;
      if (!known) this.writeString(w, k);
      if (k === "image") w.push(T_IMAGE | (image << TAG_BITS));
      else if (k === "lifecycleInflight" || k === "alterInflight") {
        const x = v as BrokerState["lifecycleInflight"];
        if (x === null) w.push(NULL_WORD);
        else this.writeObjectWith(w, x, "correlationId", n.renumbered(id, x.correlationId));
      } else if (k === "nextCorrelationId") this.writeNumber(w, n.liveCount(id) + 1);
      else this.writeValue(w, v);
    }
  }

  /** `items` as an array, each with `key` replaced by its id in `ids`, in the given order. */
  private writeList(
    w: WordWriter,
    items: readonly object[],
    key: string,
    ids: number[],
    order: number[],
  ): void {
    w.push(T_ARRAY | (items.length << TAG_BITS));
    for (const i of order) this.writeObjectWith(w, items[i]!, key, ids[i]!);
  }

  /**
   * What an app's words depend on besides the app: the positions of its images in the state's table
   * and its correlation ids as renumbered in the state.
   */
  private appDeps(app: AppSlot, id: number, ref: number, deps: number[]): void {
    const n = this.renumbering;
    const refs = this.imageRefs;
    deps.length = 0;
    const c = app.controller;
    if (c !== null) {
      deps.push(refs[ref++]!, refs[ref++]!);
      for (const p of c.pending) deps.push(n.renumbered(p.to, p.correlationId));
    }
    const b = app.broker;
    if (b !== null) {
      deps.push(refs[ref]!, n.liveCount(id));
      const l = b.lifecycleInflight;
      const a = b.alterInflight;
      deps.push(l === null ? -1 : n.renumbered(id, l.correlationId));
      deps.push(a === null ? -1 : n.renumbered(id, a.correlationId));
    }
    for (const f of app.forwards) deps.push(n.renumbered(id, f.id));
  }

  /** An app's length and words: remembered per app, which successors share with their parent. */
  private writeApp(w: WordWriter, app: AppSlot, id: number, ref: number): void {
    const deps = this.deps;
    this.appDeps(app, id, ref, deps);
    const recent = this.recentApps[id] ?? [];
    this.recentApps[id] = recent;
    for (let k = 0; k < recent.length; k++) {
      const entry = recent[k]!;
      if (entry.app === app && sameKept(entry.deps, deps)) {
        w.appendKept(entry.words);
        return;
      }
    }
    const start = w.length;
    w.push(0);
    const refs = this.imageRefs;
    const c = app.controller;
    if (c === null) w.push(NULL_WORD);
    else {
      this.writeController(w, c, refs[ref]!, refs[ref + 1]!);
      ref += 2;
    }
    const b = app.broker;
    if (b === null) w.push(NULL_WORD);
    else this.writeBroker(w, b, id, refs[ref]!);
    this.writeNumber(w, app.listenerOffset);
    this.writeValue(w, app.snapshotToLoad);
    const forwards = app.forwards;
    const ids = this.ids;
    ids.length = 0;
    for (const f of forwards) ids.push(this.renumbering.renumbered(id, f.id));
    this.writeList(
      w,
      forwards,
      "id",
      ids,
      this.orderBy(forwards.length, (x, y) => ids[x]! - ids[y]!),
    );
    this.writeValue(w, app.sessionTimers);
    w.push(app.idleTimer ? TRUE_WORD : FALSE_WORD);
    w.push(app.heartbeatTimer ? TRUE_WORD : FALSE_WORD);
    this.writeNumber(w, app.starts);
    this.writeNumber(w, app.lastBrokerEpoch);
    w.words[start] = w.length - start - 1;
    if (recent.length === RECENT_APPS) recent.pop();
    recent.unshift({ app, words: keepWords(w.words, start, w.length), deps: deps.slice() });
  }

  encode(world: MetadataWorld, w: WordWriter): void {
    this.writeRaftSection(w, world);
    this.writeImages(w, world);
    const n = this.renumbering;
    noteCorrelationIds(n, world);
    const ids = this.ids;
    const apps = world.apps;
    let ref = 0;
    w.push(apps.length);
    for (let i = 0; i < apps.length; i++) {
      const app = apps[i]!;
      this.writeApp(w, app, i + 1, ref);
      ref += (app.controller === null ? 0 : 2) + (app.broker === null ? 0 : 1);
    }
    // The channel's links are first in, first out; the order across links means nothing.
    const network = world.network;
    ids.length = 0;
    for (const e of network)
      ids.push(e.from < 0 || e.to < 0 ? e.correlationId : n.renumbered(requesterOf(e), e.correlationId));
    this.writeList(
      w,
      network,
      "correlationId",
      ids,
      this.orderBy(network.length, (a, b) => {
        const x = network[a]!;
        const y = network[b]!;
        return x.from - y.from || x.to - y.to;
      }),
    );
    const writes = world.writes;
    ids.length = 0;
    for (const x of writes) ids.push(n.renumbered(x.to, x.correlationId));
    this.writeList(
      w,
      writes,
      "correlationId",
      ids,
      this.orderBy(writes.length, (a, b) => {
        const x = writes[a]!;
        const y = writes[b]!;
        return x.node - y.node || x.to - y.to || ids[a]! - ids[b]!;
      }),
    );
    const origins = world.origins;
    ids.length = 0;
    for (const x of origins) ids.push(n.renumbered(x.from, x.correlationId));
    this.writeList(
      w,
      origins,
      "correlationId",
      ids,
      this.orderBy(origins.length, (a, b) => {
        const x = origins[a]!;
        const y = origins[b]!;
        return x.node - y.node || x.from - y.from || ids[a]! - ids[b]!;
      }),
    );
    this.writeValue(w, world.adminAnswers);
    w.push(world.adminRequests);
    w.push(world.controllerCrashes);
    w.push(world.brokerCrashes);
    w.push(world.sessionExpiries);
    w.push(world.shutdowns);
    w.push(world.delays);
    w.push(world.forgedFrames);
    this.writeValue(w, world.broken);
  }

  /** An app: the one decoded last from the same words if its images are the same objects too. */
  private readApp(): AppSlot {
    const length = this.next();
    const start = this.at;
    const end = start + length;
    const hash = hashWords(this.words, start, end);
    const cached = this.decodedApps.get(this.words, start, end, hash);
    if (cached !== undefined) {
      let same = true;
      for (let k = 0; k < cached.positions.length; k++)
        if (this.stateImages[cached.positions[k]!] !== cached.images[k]) same = false;
      if (same) {
        this.at = end;
        return cached.app;
      }
    }
    const uses = this.imageUses;
    uses.length = 0;
    const controller = this.readValue() as ControllerState | null;
    const broker = this.readValue() as BrokerState | null;
    const listenerOffset = this.readValue() as number;
    const snapshotToLoad = this.readValue() as KraftNode["snapshotToLoad"];
    const forwards = this.readValue() as KraftNode["forwards"];
    const sessionTimers = this.readValue() as number[];
    const idleTimer = this.readValue() as boolean;
    const heartbeatTimer = this.readValue() as boolean;
    const starts = this.readValue() as number;
    const lastBrokerEpoch = this.readValue() as number;
    if (this.at !== end) throw new Error("metadata state encoding: an app's length is wrong");
    const app: AppSlot = {
      controller,
      broker,
      listenerOffset,
      snapshotToLoad,
      forwards,
      nextForwardId: FIRST_FORWARD_ID + forwards.length,
      sessionTimers,
      idleTimer,
      heartbeatTimer,
      starts,
      lastBrokerEpoch,
    };
    this.decodedApps.set(this.words, start, end, hash, {
      app,
      positions: uses.slice(),
      images: uses.map((p) => this.stateImages[p]!),
    });
    return app;
  }

  decode(words: Int32Array, start: number, end: number): MetadataWorld {
    this.words = words;
    this.at = start;
    this.end = end;
    const { raft, records } = this.readRaftSection();
    this.readImages();
    const count = this.next();
    const apps: AppSlot[] = [];
    for (let i = 0; i < count; i++) apps.push(this.readApp());
    const network = this.readValue() as MetadataWorld["network"];
    const writes = this.readValue() as MetadataWorld["writes"];
    const origins = this.readValue() as MetadataWorld["origins"];
    const adminAnswers = this.readValue() as number[];
    const adminRequests = this.next();
    const controllerCrashes = this.next();
    const brokerCrashes = this.next();
    const sessionExpiries = this.next();
    const shutdowns = this.next();
    const delays = this.next();
    const forgedFrames = this.next();
    const broken = this.readValue() as string | null;
    if (this.at !== end) throw new Error("metadata state encoding: words left over");
    return {
      raft,
      apps,
      records,
      network,
      writes,
      origins,
      adminRequests,
      adminAnswers,
      controllerCrashes,
      brokerCrashes,
      sessionExpiries,
      shutdowns,
      delays,
      forgedFrames,
      broken,
    };
  }
}

const noteCorrelationIds = (n: Renumbering, world: MetadataWorld): void => {
  n.reset();
  const apps = world.apps;
  for (let i = 0; i < apps.length; i++) {
    const b = apps[i]!.broker;
    if (b === null) continue;
    if (b.lifecycleInflight !== null) n.note(i + 1, b.lifecycleInflight.correlationId);
    if (b.alterInflight !== null) n.note(i + 1, b.alterInflight.correlationId);
  }
  for (const e of world.network) n.note(requesterOf(e), e.correlationId);
  for (const o of world.origins) n.note(o.from, o.correlationId);
  for (const x of world.writes) n.note(x.to, x.correlationId);
  for (const app of apps) {
    const c = app.controller;
    if (c !== null) for (const p of c.pending) n.note(p.to, p.correlationId);
  }
  for (let i = 0; i < apps.length; i++) for (const f of apps[i]!.forwards) n.note(i + 1, f.id);
  n.sort();
};

const renumberedLog = (entries: readonly Entry[], numbers: Int32Array): Entry[] =>
  entries.map((e) => {
    const value = entryValue(e);
    return value === 0 ? e : makeEntry(entryEpoch(e), numbers[value]!);
  });

/** The Raft world with record values renumbered and the append counter dropped. */
const renumberedRaft = (raft: World, numbers: Int32Array): World => ({
  ...raft,
  valuesAppended: 0,
  nodes: raft.nodes.map(
    (slot): NodeSlot => ({
      ...slot,
      entries: renumberedLog(slot.entries, numbers),
      lost: renumberedLog(slot.lost, numbers),
      partial:
        slot.partial === null
          ? null
          : { ...slot.partial, entries: renumberedLog(slot.partial.entries, numbers) },
    }),
  ),
  network: raft.network.map((e) =>
    e.payload === null ? e : { ...e, payload: renumberedLog(e.payload, numbers) },
  ),
  committed: renumberedLog(raft.committed, numbers),
});
