// The table's cross-thread use is tested where it matters, in parallel.test.ts (kraft.version 1 models
// searched with workers give the same outcome as one thread); here, two views of one buffer.
import { describe, expect, it } from "vitest";
import { SharedStrings } from "./shared-strings.ts";

describe("the string table the search's threads share", () => {
  it("numbers a string once, and every view of the buffer reads it back", () => {
    const a = new SharedStrings();
    const b = new SharedStrings(a.buffer);
    const id = a.id("AddRaftVoterRequest");
    expect(a.id("AddRaftVoterRequest")).toBe(id);
    expect(b.text(id)).toBe("AddRaftVoterRequest");
    // Added through the other view: the first finds it under the same number.
    const other = b.id("voterDirectoryId");
    expect(a.id("voterDirectoryId")).toBe(other);
    expect(a.text(other)).toBe("voterDirectoryId");
    expect(b.id("")).toBe(a.id(""));
    expect(() => a.text(99_999)).toThrow(/no string numbered 99999/);
  });

  it("gives each distinct string one number when two views add them interleaved", () => {
    const a = new SharedStrings();
    const b = new SharedStrings(a.buffer);
    const words = Array.from({ length: 400 }, (_, i) => `s${(i * 7) % 150}`);
    const ids = words.map((w, i) => (i % 2 === 0 ? a.id(w) : b.id(w)));
    words.forEach((w, i) => {
      expect(a.text(ids[i]!)).toBe(w);
      expect(b.text(ids[i]!)).toBe(w);
    });
    expect(new Set(ids).size).toBe(150);
    expect(Math.max(...ids)).toBe(149);
  });
});
