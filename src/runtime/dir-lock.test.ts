import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { holdDirectoryLock } from "./dir-lock.ts";
import { holdsDirectoryLock, lockDirectory } from "./storage.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), "openkraft-lock-"));
  dirs.push(dir);
  return dir;
};

describe.runIf(process.platform === "linux")("the data directory's OS-level lock", () => {
  it("is exclusive while held and free once released", async () => {
    const dir = tempDir();
    const release = await holdDirectoryLock(dir);
    expect(holdsDirectoryLock(dir)).toBe(true);
    await expect(holdDirectoryLock(`${dir}/.`)).rejects.toThrow(/is in use by another process/);
    release();
    expect(holdsDirectoryLock(dir)).toBe(false);
    const again = await holdDirectoryLock(dir);
    again();
  });

  it("makes a .lock file naming a live process that does not hold the directory stale (a reused pid)", async () => {
    const dir = tempDir();
    // Process 1 is alive, but it is not a kraft node: only the OS-level lock says who holds a directory.
    writeFileSync(join(dir, ".lock"), "1\n");
    expect(() => lockDirectory(dir)).toThrow(/in use by process 1/);
    const release = await holdDirectoryLock(dir);
    const unlock = lockDirectory(dir, holdsDirectoryLock(dir));
    expect(readFileSync(join(dir, ".lock"), "utf8")).toBe(`${process.pid}\n`);
    unlock();
    release();
  });
});
