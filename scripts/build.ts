// npm run build (and npm install's prepare): compile the kraft command to JavaScript in dist/, which a
// node process (kraft start) runs instead of the TypeScript sources while dist/BUILT is newer than
// every source (bin/kraft.js checks): Node's type stripping keeps about 30 MB resident for the life of
// the process. Without TypeScript installed (npm install --omit=dev), nothing is built and the
// sources run as they are.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dirname, "..");
const tsc = join(root, "node_modules", ".bin", "tsc");
if (!existsSync(tsc)) {
  process.stdout.write("build: TypeScript is not installed; kraft runs from its TypeScript sources\n");
  process.exit(0);
}
rmSync(join(root, "dist"), { recursive: true, force: true });
const result = spawnSync(tsc, ["-p", join(root, "tsconfig.build.json")], { stdio: "inherit" });
if (result.status !== 0) {
  process.stderr.write("build: tsc failed; kraft runs from its TypeScript sources\n");
  rmSync(join(root, "dist"), { recursive: true, force: true });
  process.exit(result.status ?? 1);
}
mkdirSync(join(root, "dist"), { recursive: true });
writeFileSync(join(root, "dist", "BUILT"), `${new Date().toISOString()}\n`);
process.stdout.write("build: dist/ is up to date\n");
