// Naming messages in flight, as transcript commands do: `A->B#ID Type @N` (any part optional). The
// scenario runner finds the message a command names with it, and the checker writes commands that
// name exactly the message it took, so both sides must read a filter the same way.
import type { Envelope } from "./world.ts";

export interface Filter {
  readonly from: number | null;
  readonly to: number | null;
  /** `A->B#C`: the message of that request/response pair's correlation id. */
  readonly correlationId: number | null;
  readonly types: readonly string[];
  /** `@N`: the Nth matching message in flight (identical copies, after a duplicate), not the first. */
  readonly nth: number | null;
}

export const parseFilter = (correlationIds: readonly string[]): Filter => {
  let from: number | null = null;
  let to: number | null = null;
  let id: number | null = null;
  let nth: number | null = null;
  const types: string[] = [];
  for (const correlationId of correlationIds) {
    const link = /^(\*|-?\d+)->(\*|-?\d+)(?:#(\d+))?$/.exec(correlationId);
    const ordinal = /^@([1-9]\d*)$/.exec(correlationId);
    if (ordinal !== null) {
      nth = Number(ordinal[1]);
    } else if (link !== null) {
      from = link[1] === "*" ? null : Number(link[1]);
      to = link[2] === "*" ? null : Number(link[2]);
      id = link[3] === undefined ? null : Number(link[3]);
    } else {
      types.push(correlationId);
    }
  }
  return { from, to, correlationId: id, types, nth };
};

export const matches = (envelope: Envelope, filter: Filter): boolean =>
  (filter.from === null || envelope.from === filter.from) &&
  (filter.to === null || envelope.to === filter.to) &&
  (filter.correlationId === null || envelope.correlationId === filter.correlationId) &&
  (filter.types.length === 0 || filter.types.some((t) => envelope.message._tag.startsWith(t)));

/** Positions of the in-flight messages a filter matches, in network order. */
export const matchingPositions = (network: readonly Envelope[], filter: Filter): number[] => {
  const positions: number[] = [];
  network.forEach((e, i) => {
    if (matches(e, filter)) positions.push(i);
  });
  return positions;
};

/** The filter naming one message exactly: its link, correlation id and type. */
export const exactFilter = (e: Envelope): Filter => ({
  from: e.from,
  to: e.to,
  correlationId: e.correlationId ?? null,
  types: [e.message._tag],
  nth: null,
});
