// Deterministic ids for the spec: the controller names new topics without a random number
// generator (R121 asks for a fresh random id; a hash of where the topic is created in the log is
// just as unique, and replays identically).

const BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

const hash32 = (text: string, seed: number): number => {
  let h = seed >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  return h >>> 0;
};

/** A Kafka Uuid (base64url, 22 characters) from a text. Never the reserved ids 0 and 1. */
export const uuidFrom = (text: string): string => {
  const bytes: number[] = [];
  for (const seed of [0x811c9dc5, 0x9e3779b1, 0x85ebca77, 0xc2b2ae3d]) {
    const h = hash32(text, seed);
    bytes.push((h >>> 24) & 0xff, (h >>> 16) & 0xff, (h >>> 8) & 0xff, h & 0xff);
  }
  bytes[0] = (bytes[0]! | 0x10) & 0x7f;
  let out = "";
  for (let i = 0; i < 16; i += 3) {
    const a = bytes[i]!;
    const b = bytes[i + 1] ?? 0;
    const c = bytes[i + 2] ?? 0;
    const n = (a << 16) | (b << 8) | c;
    out += BASE64URL[(n >> 18) & 63]! + BASE64URL[(n >> 12) & 63]!;
    if (i + 1 < 16) out += BASE64URL[(n >> 6) & 63]!;
    if (i + 2 < 16) out += BASE64URL[n & 63]!;
  }
  return out;
};
