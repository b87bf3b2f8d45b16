// A state encoding for the worlds the compact codec (raft-codec.ts) does not lay out: voter sets that
// change (kraft.version 1, KIP-853), with directory ids and control records of their own. The world is
// written as its plain structure (messages ordered by link, correlation ids renumbered 1..k per
// requester as the compact codec does, so that request counters do not make the state space infinite;
// stale answers left out and identical messages written once, as there). Larger than the compact codec and without symmetry reduction;
// exact: decoding gives back the world the encoding was made from, up to the renumbering.
import type { Envelope, NodeSlot, World } from "../../spec/cluster/world.ts";
import { isRequest } from "../../spec/raft/messages.ts";
import type { NodeState } from "../../spec/raft/state.ts";
import { ALL_REDUCTIONS, type Reductions } from "./reductions.ts";
import { SharedStrings } from "./shared-strings.ts";
import type { WordWriter } from "./words.ts";

/** Per node id: its requests in flight, correlation id to its new number 1..k. */
type Renumbering = Map<number, Map<number, number>>;

const renumberingOf = (world: World): Renumbering => {
  const map: Renumbering = new Map();
  world.nodes.forEach((slot, index) => {
    const live = new Map<number, number>();
    slot.state?.inflight.forEach((r, k) => {
      live.set(r.correlationId, k + 1);
    });
    map.set(index + 1, live);
  });
  return map;
};

const renumber = (map: Renumbering, requester: number, id: number | undefined): number | undefined => {
  if (id === undefined) return undefined;
  const live = map.get(requester);
  // Operators (and other non-nodes) keep their ids; a node's stale ids match nothing (0).
  if (live === undefined) return id;
  return live.get(id) ?? 0;
};

/** A voter change's asker and correlation id, the id renumbered when a node asked (R150). */
const renumberedAsker = <T extends { readonly requesterId: number; readonly correlationId?: number }>(
  map: Renumbering,
  asked: T,
): T => {
  const { correlationId, ...rest } = asked;
  const id = renumber(map, asked.requesterId, correlationId);
  return (id === undefined ? rest : { ...rest, correlationId: id }) as T;
};

const normalState = (s: NodeState, map: Renumbering, reductions: Reductions): NodeState => {
  const inflight = s.inflight.map((r, k) => ({ ...r, correlationId: k + 1 }));
  const role = s.role;
  const normalRole =
    role._tag === "Leader"
      ? {
          ...role,
          // As in the compact codec: which voters fetched this check-quorum interval only decides when
          // the timer is reset, and the checker lets timers run out at any moment anyway.
          ...(reductions.checkQuorumFetches ? { fetchedVoters: [] } : {}),
          parkedFetches: role.parkedFetches.map((p) => {
            const { correlationId, ...rest } = p;
            const id = renumber(map, p.replicaId, correlationId);
            return id === undefined ? rest : { ...rest, correlationId: id };
          }),
          // R150: a voter change an auto-joining node asked for is answered under its numbering.
          ...(role.pendingVoterChange === undefined
            ? {}
            : { pendingVoterChange: renumberedAsker(map, role.pendingVoterChange) }),
          ...(role.addingVoter === undefined ? {} : { addingVoter: renumberedAsker(map, role.addingVoter) }),
        }
      : role;
  return { ...s, inflight, role: normalRole, nextCorrelationId: inflight.length + 1 };
};

const normalEnvelope = (e: Envelope, map: Renumbering): Envelope => {
  const requester = isRequest(e.message) ? e.from : e.to;
  return { ...e, correlationId: renumber(map, requester, e.correlationId) };
};

/** The world as the encoding sees it. */
const normalWorld = (world: World, reductions: Reductions): World => {
  const map = renumberingOf(world);
  const nodes: NodeSlot[] = world.nodes.map((slot) =>
    slot.state === null ? slot : { ...slot, state: normalState(slot.state, map, reductions) },
  );
  // Messages of one link keep their order (an ordered network delivers them so); links are sorted.
  // A response no request in flight waits for is ignored on arrival (R40(0)), and an answer to an
  // operator goes to no node: neither can change what happens next (the compact codec drops them too).
  const order: { link: number; i: number }[] = [];
  const dropStale = reductions.staleMessages;
  world.network.forEach((e, i) => {
    if (dropStale && e.to < 1) return;
    if (
      dropStale &&
      !isRequest(e.message) &&
      (e.correlationId === undefined || renumber(map, e.to, e.correlationId) === 0)
    )
      return;
    order.push({ link: e.from * 4096 + e.to, i });
  });
  order.sort((a, b) => a.link - b.link || a.i - b.i);
  // As in the compact codec, the network is a set: identical messages are written once (a sender
  // that gave up and asked again leaves copies its renumbering makes equal, which would otherwise
  // pile up without bound).
  const seen = new Set<string>();
  const network: Envelope[] = [];
  for (const { i } of order) {
    const envelope = normalEnvelope(world.network[i]!, map);
    const text = JSON.stringify(envelope);
    if (reductions.messageCopies && seen.has(text)) continue;
    seen.add(text);
    network.push(envelope);
  }
  return { ...world, nodes, network };
};

// The structure is written word by word: a type tag, then the value (strings and object keys as
// numbers of a table of every string met so far, shared by the search's threads and kept as long as
// the process). Object keys keep the order the reducers build them in, so the
// same state built two ways may encode twice (sound, only less reduction).
const NULL = 0;
const FALSE = 1;
const TRUE = 2;
const INTEGER = 3;
const STRING = 4;
const ARRAY = 5;
const OBJECT = 6;

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
  if (table?.buffer !== buffer) table = new SharedStrings(buffer);
};

const intern = (text: string): number => strings().id(text);

const writeValue = (w: WordWriter, value: unknown): void => {
  if (value === null) {
    w.push(NULL);
    return;
  }
  switch (typeof value) {
    case "boolean":
      w.push(value ? TRUE : FALSE);
      return;
    case "number":
      if (!Number.isInteger(value) || value > 2147483647 || value < -2147483648)
        throw new Error(`the generic state encoding holds 32-bit integers, not ${value}`);
      w.push(INTEGER);
      w.push(value);
      return;
    case "string":
      w.push(STRING);
      w.push(intern(value));
      return;
    case "object": {
      if (Array.isArray(value)) {
        w.push(ARRAY);
        w.push(value.length);
        for (const item of value) writeValue(w, item);
        return;
      }
      const record = value as Record<string, unknown>;
      let count = 0;
      for (const key in record) if (record[key] !== undefined) count++;
      w.push(OBJECT);
      w.push(count);
      for (const key in record) {
        const item = record[key];
        if (item === undefined) continue;
        w.push(intern(key));
        writeValue(w, item);
      }
      return;
    }
    default:
      throw new Error(`the generic state encoding cannot hold a ${typeof value}`);
  }
};

const readValue = (words: Int32Array, at: { i: number }): unknown => {
  const tag = words[at.i++]!;
  switch (tag) {
    case NULL:
      return null;
    case FALSE:
      return false;
    case TRUE:
      return true;
    case INTEGER:
      return words[at.i++]!;
    case STRING:
      return strings().text(words[at.i++]!);
    case ARRAY: {
      const length = words[at.i++]!;
      const items: unknown[] = new Array(length);
      for (let k = 0; k < length; k++) items[k] = readValue(words, at);
      return items;
    }
    case OBJECT: {
      const count = words[at.i++]!;
      const record: Record<string, unknown> = {};
      for (let k = 0; k < count; k++) {
        const key = strings().text(words[at.i++]!);
        record[key] = readValue(words, at);
      }
      return record;
    }
    default:
      throw new Error(`bad tag ${tag} in a generic state encoding`);
  }
};

export const encodeGeneric = (w: WordWriter, world: World, reductions: Reductions = ALL_REDUCTIONS): void => {
  writeValue(w, normalWorld(world, reductions));
};

export const decodeGeneric = (words: Int32Array, start: number, _end: number): World => {
  const parsed = readValue(words, { i: start }) as World;
  // An envelope without a correlation id comes back without the key.
  return {
    ...parsed,
    network: parsed.network.map((e) => ({ ...e, correlationId: e.correlationId ?? undefined })),
  };
};
