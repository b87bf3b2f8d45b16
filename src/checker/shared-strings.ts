// A string table every thread of a search shares (a SharedArrayBuffer), so that a string's number in
// an encoding means the same in the search thread and in every worker: the generic codec writes
// strings as these numbers. Append-only; a thread keeps a local copy of what it has read, and takes
// the table's lock only to add a string it has not seen. Which thread adds a string first decides its
// number, so numbers differ from run to run, but within a run a state always encodes to the same
// words, and the search's results do not depend on fingerprint values.

/** The most strings and UTF-16 code units the table holds (about 8.3 MB in all). */
const MAX_STRINGS = 1 << 16;
const MAX_UNITS = 1 << 22;

// Header words: the lock, the number of strings published, the code units used.
const LOCK = 0;
const COUNT = 1;
const USED = 2;
const HEADER = 4;

export class SharedStrings {
  readonly buffer: SharedArrayBuffer;
  private readonly header: Int32Array;
  /** starts[k]: where string k begins in `units`; starts[k + 1] where it ends. */
  private readonly starts: Int32Array;
  private readonly units: Uint16Array;
  private readonly ids = new Map<string, number>();
  private readonly texts: string[] = [];

  constructor(buffer?: SharedArrayBuffer) {
    this.buffer = buffer ?? new SharedArrayBuffer(4 * HEADER + 4 * (MAX_STRINGS + 1) + 2 * MAX_UNITS);
    this.header = new Int32Array(this.buffer, 0, HEADER);
    this.starts = new Int32Array(this.buffer, 4 * HEADER, MAX_STRINGS + 1);
    this.units = new Uint16Array(this.buffer, 4 * HEADER + 4 * (MAX_STRINGS + 1), MAX_UNITS);
  }

  /** The number of `text`, adding it to the table if no thread has yet. */
  id(text: string): number {
    const known = this.ids.get(text);
    if (known !== undefined) return known;
    while (Atomics.compareExchange(this.header, LOCK, 0, 1) !== 0) Atomics.wait(this.header, LOCK, 1, 1);
    try {
      this.catchUp();
      const added = this.ids.get(text);
      if (added !== undefined) return added;
      const count = this.header[COUNT]!;
      const used = this.header[USED]!;
      if (count >= MAX_STRINGS || used + text.length > MAX_UNITS)
        throw new Error(
          `the generic state encoding's string table is full (${count} strings, ${used} code units): the states hold more distinct strings than a checked model should`,
        );
      for (let i = 0; i < text.length; i++) this.units[used + i] = text.charCodeAt(i);
      this.starts[count + 1] = used + text.length;
      this.header[USED] = used + text.length;
      // Published last: a reader that sees the count sees the string.
      Atomics.store(this.header, COUNT, count + 1);
      this.ids.set(text, count);
      this.texts.push(text);
      return count;
    } finally {
      Atomics.store(this.header, LOCK, 0);
      Atomics.notify(this.header, LOCK);
    }
  }

  /** The string numbered `id` (added by any thread). */
  text(id: number): string {
    const local = this.texts[id];
    if (local !== undefined) return local;
    this.catchUp();
    const text = this.texts[id];
    if (text === undefined) throw new Error(`no string numbered ${id} in the generic encoding's table`);
    return text;
  }

  /** Read the strings other threads added since this one last looked. */
  private catchUp(): void {
    const count = Atomics.load(this.header, COUNT);
    for (let k = this.texts.length; k < count; k++) {
      const start = this.starts[k]!;
      const end = this.starts[k + 1]!;
      let text = "";
      for (let i = start; i < end; i += 4096)
        text += String.fromCharCode(...this.units.subarray(i, Math.min(end, i + 4096)));
      this.ids.set(text, k);
      this.texts.push(text);
    }
  }
}
