// npm run bench:check: the model checker on the reference configuration (model-tests/
// configurations.ts) for at most 120 s, single-threaded; prints one JSON line.

import { REFERENCE_CONFIGURATION } from "../model-tests/configurations.ts";
import { search } from "../src/checker/engine.ts";
import { raftModel } from "../src/checker/raft-model.ts";

const seconds = Number(process.argv[2] ?? 120);
const result = search(raftModel(REFERENCE_CONFIGURATION), { mode: "bfs", maxSeconds: seconds });
const { trace: _trace, violatingState: _state, ...fields } = result;
console.log(
  JSON.stringify({
    benchmark: "check",
    configuration:
      "3 voters, max epoch 3, one value per epoch, one crash, pre-vote, check quorum, lossy unordered network, symmetry",
    ...fields,
    distinctPerSecond: Math.round(result.distinctPerSecond),
    targets: { distinctPerSecond: 30000, bytesPerState: 40 },
    meetsTargets: result.distinctPerSecond >= 30000 && result.bytesPerState <= 40,
  }),
);
