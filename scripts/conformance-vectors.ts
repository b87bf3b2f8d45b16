// `npm run conformance:vectors`: regenerate conformance/vectors/ from the Raft transcripts and
// conformance/schemas/ from the adapter protocol's Effect Schemas.
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { withConventions } from "../conformance/conventions.ts";
import { ruleCoverage } from "../conformance/coverage.ts";
import { markCoverage } from "../conformance/marks.ts";
import { generateSchemas, SCHEMA_DIR } from "../conformance/schemas.ts";
import { generateVectors, renderVectorFile, VECTOR_DIR } from "../conformance/vectors.ts";

mkdirSync(VECTOR_DIR, { recursive: true });
for (const f of readdirSync(VECTOR_DIR)) rmSync(join(VECTOR_DIR, f));
const all = generateVectors();
let count = 0;
for (const [source, vectors] of all) {
  writeFileSync(join(VECTOR_DIR, `${source}.ndjson`), renderVectorFile(vectors));
  count += vectors.length;
}
const coverage = ruleCoverage([...all.values()].flat());
const marks = markCoverage([...all.values()].flat());
mkdirSync(SCHEMA_DIR, { recursive: true });
for (const [name, text] of generateSchemas()) writeFileSync(join(SCHEMA_DIR, name), text);
const readmePath = new URL("../conformance/README.md", import.meta.url).pathname;
const readme = readFileSync(readmePath, "utf8");
const rendered = withConventions(readme, [...all.values()].flat());
if (rendered !== readme) writeFileSync(readmePath, rendered);
process.stdout.write(
  `wrote ${count} vectors to ${VECTOR_DIR} and the schemas to ${SCHEMA_DIR}\n` +
    `rules covered: ${coverage.covered.length}; out of the adapter's reach: ${coverage.outOfReach.length} (${coverage.outOfReach.join(" ")}); missing: ${coverage.missing.length === 0 ? "none" : coverage.missing.join(" ")}\n`,
);
process.stdout.write(
  `coverage marks hit: ${marks.hits.size - marks.unhit.length} of ${marks.hits.size}` +
    (marks.unhit.length === 0
      ? "\n"
      : `; never hit (add a transcript or widen conformance/adversarial.ts): ${marks.unhit.join(" ")}\n`) +
    (marks.undefinedMarks.length === 0
      ? ""
      : `marks built at run time, not literals in spec/ (write them out): ${marks.undefinedMarks.join(" ")}\n`) +
    (marks.unjudgedTaken.length === 0
      ? ""
      : `marks no vector may take (conformance/marks.ts UNJUDGED_MARKS), taken: ${marks.unjudgedTaken.join(" ")}\n`),
);
if (
  coverage.missing.length > 0 ||
  marks.unhit.length > 0 ||
  marks.undefinedMarks.length > 0 ||
  marks.unjudgedTaken.length > 0
)
  process.exitCode = 1;
