// The data directory's lock held by the operating system: a Unix socket in Linux's abstract namespace,
// named after the directory's real path, bound for as long as the process lives. The kernel releases
// it when the process ends however it ends (kill -9 included), so it is never stale and never taken by
// a reused pid. The .lock file beside it only names the holder for messages. Elsewhere than Linux,
// the .lock file alone is the lock.
import { createHash } from "node:crypto";
import { createServer } from "node:net";
import { join } from "node:path";
import type { Cancel } from "./services.ts";
import { heldDirectoryLocks, lockHolder, realDirectory, StorageError } from "./storage.ts";

const lockAddress = (real: string): string =>
  `\0openkraft-dir-lock-${createHash("sha256").update(real).digest("hex").slice(0, 40)}`;

/** Take `dir`'s OS-level lock, or fail naming the process that holds it. */
export const holdDirectoryLock = (dir: string): Promise<Cancel> => {
  if (process.platform !== "linux") return Promise.resolve(() => {});
  const real = realDirectory(dir);
  return new Promise((resolve, reject) => {
    // Anyone connecting (a probe) is hung up on at once.
    const server = createServer((socket) => socket.destroy());
    server.once("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "EADDRINUSE") {
        const holder = lockHolder(dir);
        reject(
          new StorageError(
            `${dir} is in use by ${holder === null ? "another process" : `process ${holder} (lock file ${join(dir, ".lock")})`}; stop it first or use another directory`,
          ),
        );
      } else reject(new StorageError(`could not lock ${dir}: ${error.message}`));
    });
    server.listen(lockAddress(real), () => {
      // The lock alone must not keep a process alive.
      server.unref();
      heldDirectoryLocks.add(real);
      resolve(() => {
        heldDirectoryLocks.delete(real);
        server.close();
      });
    });
  });
};
