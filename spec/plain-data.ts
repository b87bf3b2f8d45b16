// Plain data (what the spec's states, records and messages are: primitives, arrays, plain objects).

/**
 * Whether two pieces of plain data hold the same content, whatever their keys' order. Parts they share
 * are not walked: two images that differ by a few records cost a few chunks to compare.
 */
export const sameContent = (a: unknown, b: unknown): boolean => {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameContent(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  let count = 0;
  for (const key in ra) {
    count++;
    if (!Object.hasOwn(rb, key) || !sameContent(ra[key], rb[key])) return false;
  }
  for (const _ in rb) count--;
  return count === 0;
};
