#!/usr/bin/env node
// The kraft command. Node 22.18+ runs the TypeScript sources directly (type stripping). A node process
// (kraft start) runs from the bundle in dist/ (npm run build, run by npm install) when that build is
// newer than every source: an idle node then keeps about 66 MiB resident instead of about 132 MiB
// (scripts/build.ts says why).
// KRAFT_FROM_SOURCE=1 always runs the sources.
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dirname, "..");

/** Whether dist/ was built after the last change to any TypeScript source it is built from. */
const buildIsFresh = () => {
  const stamp = join(root, "dist", "BUILT");
  if (!existsSync(stamp)) return false;
  const built = statSync(stamp).mtimeMs;
  for (const dir of ["src", "spec"]) {
    for (const entry of readdirSync(join(root, dir), { withFileTypes: true, recursive: true })) {
      if (
        entry.isFile() &&
        entry.name.endsWith(".ts") &&
        statSync(join(entry.parentPath, entry.name)).mtimeMs > built
      )
        return false;
    }
  }
  return true;
};

const fromBuild = process.argv[2] === "start" && process.env.KRAFT_FROM_SOURCE !== "1" && buildIsFresh();
const { main } = await import(fromBuild ? "../dist/main.js" : "../src/cli/main.ts");
process.exitCode = await main(process.argv.slice(2));
