// Operator swaps in spec/ that the conformance vectors cannot be asked to kill (sweep-mutants.ts):
// each was read, and why is written beside it. "equivalent": no input can tell the mutant from the
// spec. "unreachable": the code is not run by the reducers the adapter protocol drives (a helper of
// the runtime or the model's world, or tooling); the model checker or the runtime's tests judge it.
// A site is named by its file, its line's text, the replacement and, where the same swap fits twice on
// the line, its column: so that it stays named while lines move.

export interface EquivalentSite {
  readonly file: string;
  /** The line, trimmed, as it is in the spec. */
  readonly text: string;
  readonly replacement: string;
  /** The column of the swap in the untrimmed line, when the line has it more than once. */
  readonly column?: number;
  readonly kind: "equivalent" | "unreachable";
  readonly why: string;
}

export const EQUIVALENT_SITES: readonly EquivalentSite[] = [
  {
    file: "raft/leader.ts",
    text: 'if (role._tag !== "Leader" || role.parkedFetches.length === 0) return s;',
    replacement: " && ",
    kind: "equivalent",
    why: "Every caller runs it on a Leader (a client append and a flush that moved the high watermark on the leader, the leader's own VotersRecord, and the fetchWait timer, which only a leader arms and every role change cancels; a stale expiry is dropped before the handler), so the mutant differs only for a leader with nothing parked: it notes a coverage mark (not behaviour), leaves parkedFetches empty and cancels fetchWait, which is never armed then (it is armed when the first fetch parks and cancelled when they are all answered), so the normal form drops the cancel.",
  },
  {
    file: "raft/snapshot.ts",
    text: "} else if (endOffset < s.log.startOffset || endOffset <= 0) {",
    replacement: " <= ",
    column: 23,
    kind: "equivalent",
    why: "It adds only endOffset === log start, which is refused either way: a log start of 0 is refused by endOffset <= 0, and a log start above 0 sits on a snapshot that ends there, the newest always stays (deleteLogBefore, logOfSnapshot), so the next branch refuses it as not newer. Only the mark and the SnapshotRefused reason change, and the reason's wording is free (allowed.ts).",
  },
  {
    file: "raft/startup.ts",
    text: "voters.length === 0 || voters.some((v) => v.id === config.nodeId)",
    replacement: " && ",
    kind: "equivalent",
    why: "Equivalent as the rules judge it: with voters the mutant starts a voter's rotation at its id modulo the number of voters instead of at the first, and a voter asks the rotation only while recovering (R146) or once removed; which voter a node without a reachable leader asks is R74's free choice (a vector stops there without failing), and bootstrapCursor is not in the projection. With no voters the rotation is never read (fetchTarget needs one), and a node learns voters only from its log, which startup reads first.",
  },
  {
    file: "raft/log.ts",
    text: "if (offset === 0) return 0;",
    replacement: "!==",
    kind: "equivalent",
    why: "epochBefore's only caller is handleCreateSnapshot, after its checks: the end offset is above 0, at or above the log start and at or below the high watermark (so at or below the log end). This branch then holds only for an end offset equal to a log start above 0 (a log without records above its start ends there), which the check against the newest snapshot, ending at or above the log start, has refused already: the mutated line is never reached with a request that goes on.",
  },
  {
    file: "raft/quorum-epoch.ts",
    text: "return Math.min(max, (max >> (preferred.length - 1)) << (position - 1));",
    replacement: "",
    kind: "equivalent",
    why: "Equivalent as the rules judge it: the mutant doubles the wait of a preferred successor after the first (still capped at election.backoff.max.ms), and R72 leaves that wait free within [0, election.backoff.max.ms] (allowed.ts judges a fetch timer armed under an R72 mark by that range); nothing else reads it.",
  },
  {
    file: "raft/fetch-follower.ts",
    text: "candidate < response.highWatermark",
    replacement: " <= ",
    kind: "equivalent",
    why: "The comparison is an argument of mark(): it only picks which coverage mark the step notes (capped at the log end or taken), and marks are not behaviour; the high watermark taken is Math.min(...) either way.",
  },
  {
    file: "raft/quorum-epoch.ts",
    text: "if (position < 0) return max;",
    replacement: " <= ",
    kind: "equivalent",
    why: "Equivalent as the rules judge it: the first preferred successor then waits election.backoff.max.ms instead of 0 before standing, and R72 leaves that wait free within [0, election.backoff.max.ms] (allowed.ts judges a fetch timer armed under an R72 mark by that range); nothing else reads the position.",
  },
  {
    file: "raft/update-voter-set.ts",
    text: 'if (role._tag !== "Follower" || listeners === undefined) return s;',
    replacement: " && ",
    kind: "equivalent",
    why: "The updateVoterSet timer is armed only by armUpdateVoterSet, on a Follower with listeners configured; every role change cancels it (cancelTimersExcept keeps only election or fetch) and a stale expiry is dropped before this handler, so when it runs both conditions are always false.",
  },
  {
    file: "raft/leader.ts",
    text: "return voterStates.every((v, i) => v === role.voterStates[i])",
    replacement: "!==",
    kind: "equivalent",
    why: "Only the leader's own entry can differ, so the mutant either returns an equal copy or (a lone leader) keeps its own stale endOffset, which nothing reads: updateHighWatermark rewrites it from the flushed offset before counting, preferredSuccessors and the removed-voter observers skip the leader, DescribeQuorum reports the leader's log end, and the projection holds no voter progress.",
  },
  {
    file: "metadata/ids.ts",
    text: "if (i + 2 < 16) out += BASE64URL[n & 63]!;",
    replacement: " <= ",
    kind: "equivalent",
    why: "The loop's i takes only 0, 3, 6, 9, 12 and 15, so i + 2 is never 16 and < 16 and <= 16 agree every time.",
  },
  {
    file: "metadata/image.ts",
    text: "if (scratch !== null) {",
    replacement: "===",
    kind: "equivalent",
    why: "Every reducer path reaches withMember with a scratch (Writer and replay each make one; only withTopics, which no reducer calls, passes null), and without the remembered entry withMember takes its general path, which builds the same index the shortcut does.",
  },
  {
    file: "metadata/sorted-chunks.ts",
    text: "for (let i = 0; i < key.length; i++) hash = Math.imul(hash ^ key.charCodeAt(i), 0x01000193);",
    replacement: " <= ",
    kind: "equivalent",
    why: "The hash only decides where chunks end; every function of the module uses the same isBoundary, lookups search by key whatever the chunking, and images are seen only flattened (imageView, itemsOf, snapshotRecords), so another deterministic hash gives the same items in the same order.",
  },
  {
    file: "metadata/sorted-chunks.ts",
    text: "const present = position < chunk.length && key(chunk[position]!) === k;",
    replacement: " <= ",
    kind: "equivalent",
    why: "Here the chunk is the first whose last key is not below k (a key past the last one returned earlier), so itemPosition is at most chunk.length - 1 and position < chunk.length always holds.",
  },
  {
    file: "metadata/sorted-chunks.ts",
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the spec's line, verbatim
    text: "if (previous !== null && !(previous < k)) return `key ${k} does not come after ${previous}`;",
    replacement: " <= ",
    kind: "unreachable",
    why: "shapeProblem checks sequences decoded from outside and is called by no reducer (only by tests), so no input reaches it.",
  },
  {
    file: "metadata/image.ts",
    text: "a.name < b.name ? -1 : a.name > b.name ? 1 : 0,",
    replacement: " >= ",
    kind: "equivalent",
    why: "Both comparators (configs, features) insert into a list from which the entry of the same name was just filtered out, and sortedInsert compares only the new item with the others, so two equal names are never compared.",
  },
  {
    file: "metadata/image.ts",
    text: "if (record.nextProducerId < image.nextProducerId) {",
    replacement: " <= ",
    kind: "equivalent",
    why: "No controller writes a ProducerIdsRecord (AllocateProducerIds is not modelled), and a snapshot holds one only when the image's next producer id is above 0 and replays it onto the empty image (0), so a record never carries a value equal to the image's (Kafka's replay refuses equal too).",
  },
  {
    file: "metadata/partition-change.ts",
    text: "if (valid(partition.leader)) return { leader: partition.leader, isr: targetIsr, recovering: false };",
    replacement: "true",
    column: 97,
    kind: "equivalent",
    why: "In a preferred election the answer is used only when its leader is replicas[0] (electLeaders answers PREFERRED_LEADER_NOT_AVAILABLE otherwise), and this branch keeps a current leader that is not the preferred one, so its recovering flag is never read.",
  },
  {
    file: "metadata/controller.ts",
    text: "while (i > 0 && others[i - 1]!.brokerId > session.brokerId) i--;",
    replacement: " >= ",
    column: 42,
    kind: "equivalent",
    why: "others excludes the session's own broker, so no entry has an equal broker id and > and >= stop the insertion at the same place.",
  },
  {
    file: "metadata/image.ts",
    text: "a.name < b.name ? -1 : a.name > b.name ? 1 : 0,",
    replacement: " <= ",
    kind: "equivalent",
    why: "As for >= on the same line: both comparators (configs, features) insert into a list from which the entry of the same name was just filtered out, and sortedInsert compares only the new item with the others, so two equal names are never compared.",
  },
  {
    file: "metadata/image.ts",
    text: "created = false,",
    replacement: "true",
    kind: "equivalent",
    why: "The default of replaceTopic's created is never used: its three callers pass it (TopicRecord true, PartitionRecord and PartitionChangeRecord false).",
  },
  {
    file: "metadata/image.ts",
    text: "return { image: replaceTopic(image, { ...topic, partitions }, scratch, false, index) };",
    replacement: "true",
    kind: "equivalent",
    why: "PartitionRecord and PartitionChangeRecord replace a topic found by its id, so topicNamesById already maps that id to that name; created = true only sets the same entry again (setItem replaces the item of its key), and the image holds the same content.",
  },
  {
    file: "metadata/image.ts",
    text: "if (scratch !== null && place !== null) scratch.last = { topics, topic, place };",
    replacement: " || ",
    kind: "equivalent",
    why: "place is null exactly when scratch is: it is null when there is no scratch, and otherwise locate finds the topic setItem has just put in topics. So && and || agree every time.",
  },
  {
    file: "metadata/image.ts",
    text: "return { image: { ...image, brokers: image.brokers.filter((b) => b.id !== record.brokerId) } };",
    replacement: "===",
    kind: "equivalent",
    why: "No controller writes an UnregisterBrokerRecord (UnregisterBroker, KIP-500's decommissioning, is not modelled) and a snapshot holds each registration as it stands, never an unregistration, so no replay meets one. Kafka's replay removes only that broker (ClusterControlManager.replay(UnregisterBrokerRecord)).",
  },
  {
    file: "metadata/image.ts",
    text: "const removed = record.featureLevel === 0 && record.name !== METADATA_VERSION;",
    replacement: "!==",
    kind: "equivalent",
    why: "The only FeatureLevelRecord any controller writes is metadata.version's, at activation (UpdateFeatures is not modelled), and a snapshot holds the image's features, which are only that one; for metadata.version both forms say not removed.",
  },
  {
    file: "metadata/broker.ts",
    text: "caughtUp: false,",
    replacement: "true",
    kind: "equivalent",
    why: "The broker's caughtUp is written, never read: no branch of brokerStep decides by it and the broker projection the vectors compare leaves it out (only the transcripts' status line shows it).",
  },
  {
    file: "metadata/broker.ts",
    text: 's.lifecycle === "PENDING_CONTROLLED_SHUTDOWN" ? "R116:heartbeat-asks-to-shut-down" : "R115:heartbeats",',
    replacement: "!==",
    kind: "equivalent",
    why: "The comparison is an argument of mark(): it picks which coverage mark the heartbeat notes, and marks are not behaviour; the request's wantShutDown is computed on its own line.",
  },
  {
    file: "metadata/broker.ts",
    text: 'if (s.alterInflight !== null || s.controllerId < 0 || s.brokerEpoch < 0 || s.lifecycle === "SHUTTING_DOWN")',
    replacement: " && ",
    column: 74,
    kind: "equivalent",
    why: "The mutant differs only for a broker in SHUTTING_DOWN, and a broker enters it only in the step that emits ShutdownNow, on which its node stops (the world's stopNode; a runtime exits), so no IsrChange ever reaches one.",
  },
  {
    file: "metadata/controller.ts",
    text: "if (p.leader !== NO_LEADER && acceptable(p.leader) && p.isr.includes(p.leader))",
    replacement: " || ",
    column: 57,
    kind: "equivalent",
    why: "In every image a controller holds, a partition's leader, when it has one, is in its ISR and usable (the LeaderInIsr and LeaderUsable image invariants, spec/invariants/metadata.ts: fencing and controlled shutdown move leadership in the same write, AlterPartition refuses an ISR without its leader), and -1 is never in an ISR; so (leader set and usable) or (leader in ISR) is leader set, as the spec's test is. Kafka's electLeader tests only partition.hasLeader() for an unclean election.",
  },
  {
    file: "metadata/controller.ts",
    text: "const image = s.image.offset === last && sameContent(s.image, replayed.image) ? s.image : replayed.image;",
    replacement: "!==",
    kind: "equivalent",
    why: "sameContent compares the offset too, so with the offsets different it never holds and the mutant always keeps the replayed image; where the spec keeps its own image instead, the two have the same content (the choice only shares memory), and the projection is content.",
  },
  {
    file: "metadata/controller.ts",
    text: "offset: endOffset - 1,",
    replacement: "",
    kind: "equivalent",
    why: "Both are offsets in ReplayProblem reports of loadSnapshot that no run produces: Raft never tells its leader to load a snapshot (R84, LeaderNeverLoadSnapshot; the node passes LoadSnapshot on only from Raft's), and every snapshot a node loads was written by a node as snapshotRecords of its committed image (R131), which rebuilds that image without a problem (SnapshotMatchesImage).",
  },
  {
    file: "metadata/controller.ts",
    text: "if (!s.active || expected === undefined) break;",
    replacement: " && ",
    kind: "equivalent",
    why: "The node hands the controller AppendAccepted only for the proposal it made in the same step (work.proposal), which Raft accepted as leader: the controller is then active with that proposal first in proposals. So !active and expected === undefined are both false or both true, and || and && agree.",
  },
  ...(
    [
      "LeaderChanged: true,",
      "RecoveryComplete: true,",
      "InstallSnapshot: true,",
      "PersistElectionState: true,",
      "SetTimer: true,",
      "WriteSnapshotChunk: true,",
    ] as const
  ).map((text) => ({
    file: "node/node.ts",
    text,
    replacement: "false",
    kind: "unreachable" as const,
    why: "The table behind isRaftEffect, which only tooling (the runner, trace tools, the model's world) calls: the node's reducer never reads it (and isRaftEffect asks Object.hasOwn for the key, so not even it reads the value).",
  })),
  ...(
    [
      [
        "return endOffset === null || image === undefined ? null : { endOffset, records: snapshotRecords(image) };",
        "!==",
      ],
      [
        "return endOffset === null || image === undefined ? null : { endOffset, records: snapshotRecords(image) };",
        " && ",
      ],
      [
        "node.snapshotToLoad !== null || node.listenerOffset <= 0 || committedImage(node) === undefined",
        "===",
      ],
      [
        "node.snapshotToLoad !== null || node.listenerOffset <= 0 || committedImage(node) === undefined",
        "!==",
      ],
      [
        "node.snapshotToLoad !== null || node.listenerOffset <= 0 || committedImage(node) === undefined",
        " < ",
      ],
      [
        "node.snapshotToLoad !== null || node.listenerOffset <= 0 || committedImage(node) === undefined",
        " && ",
      ],
      ["(policy.maxIntervalMs > 0 && bytesSinceLast > 0 && msSinceLast >= policy.maxIntervalMs);", " > "],
      ["(policy.maxIntervalMs > 0 && bytesSinceLast > 0 && msSinceLast >= policy.maxIntervalMs);", " >= "],
      ["(policy.maxIntervalMs > 0 && bytesSinceLast > 0 && msSinceLast >= policy.maxIntervalMs);", " || "],
      ["bytesSinceLast >= policy.maxBytesBetween ||", " > "],
    ] as const
  ).map(([text, replacement]) => ({
    file: "node/node.ts",
    text,
    replacement,
    kind: "unreachable" as const,
    why: "snapshotContent, snapshotEnd and snapshotDue (R131) are called by the runtime and the model's world when a snapshot is due, not by the node's reducer: the adapter protocol has no input for it, so the vectors cannot show it (the model checker's snapshot configuration and the runtime's snapshot tests do).",
  })),
  ...([" > ", " || "] as const).map((replacement) => ({
    file: "node/node.ts",
    text: 'overlay.base >= 0 && end > overlay.base ? "R147:committed-fetched-in-step" : "R147:committed-told",',
    replacement,
    kind: "equivalent" as const,
    why: "The condition is an argument of mark(): it only picks which coverage mark handCommitted notes (records fetched in this step or told before), and marks are not behaviour; the records handed on are overlay.read(...) either way.",
  })),
  {
    file: "node/node.ts",
    text: 'if (run.state.controller !== null && effect.operation === "append" && work.proposal !== undefined) {',
    replacement: " || ",
    column: 75,
    kind: "equivalent",
    why: "The mutant is (controller && append) || proposal. A work item has a proposal only when routeController queued the controller's Propose as a ClientAppend (so the node has a controller), and a ClientAppend is only ever refused with operation append, so with a proposal both agree. Without one they differ only for a ClientAppend the shell itself sends a node, refused: no Kafka process has that (the metadata log's only writer is the controller), and neither the runtime, the model's world nor any vector sends one (AppendRecords of such an append would even carry no records).",
  },
  {
    file: "metadata/sorted-chunks.ts",
    text: "return (hash & (CHUNK - 1)) === 0;",
    replacement: "!==",
    kind: "equivalent",
    why: "isBoundary only decides where chunks end (here: after almost every key instead of one in 64). Every function of the module asks the same isBoundary, lookups search by key whatever the chunking, and images are seen only flattened (imageView, itemsOf, snapshotRecords), so the items and their order are the same.",
  },
  {
    file: "metadata/sorted-chunks.ts",
    text: "if (chunk.length > 0) chunks.push(chunk);",
    replacement: " >= ",
    kind: "unreachable",
    why: "In split, behind chunksOf, which only tests call: every reducer builds its sequences from EMPTY_CHUNKS with setItem and removeItem.",
  },
  {
    file: "metadata/sorted-chunks.ts",
    text: "const at = Math.min(found, chunks.length - 1);",
    replacement: "",
    kind: "equivalent",
    why: "found === chunks.length returned just above, so found is at most chunks.length - 1 here and Math.min(found, chunks.length) is found too.",
  },
  {
    file: "metadata/sorted-chunks.ts",
    text: "if (position === chunk.length - 1 && next !== undefined) {",
    replacement: "",
    kind: "equivalent",
    why: "With the mutant, removing a chunk's last (boundary) item never joins the chunk to the next one: the chunk then ends without a boundary, which only the shape (shapeProblem, deep equality in the model's world) sees. Keys stay sorted across chunks and the size is right, so findItem, locate and setItem (which search by each chunk's last key) find the same items, and every reader of an image flattens it (imageView, itemsOf, snapshotRecords): no reducer output differs.",
  },
  {
    file: "raft/reconfiguration.ts",
    text: 'if (role._tag !== "Leader") return { state: s, resign: false };',
    replacement: "true",
    kind: "equivalent",
    why: "completeVoterChange's only caller is step, which calls it only when the new state's role is Leader (and resigns only if it still is), so this early return is never taken.",
  },
  {
    file: "raft/reconfiguration.ts",
    text: "role.highWatermark >= 0 &&",
    replacement: " > ",
    kind: "equivalent",
    why: "A leader's high watermark is -1 until it covers a record of its epoch (updateHighWatermark takes a candidate only above epochStartOffset, which is 0 or more), so it is never 0: >= 0 and > 0 agree on every leader.",
  },
  {
    file: "raft/vote.ts",
    text: "if (role.granted.includes(from) || role.rejected.includes(from)) return s;",
    replacement: " && ",
    kind: "equivalent",
    why: "Defensive: an answer reaches here only when it matches the Vote request in flight to that voter by correlation id (R40, takeInflight), a voter is asked again only while it has not answered in this election (R45), and a node never asks itself; so from is in neither list here and both forms go on.",
  },
  {
    file: "raft/log.ts",
    text: "if (end <= fromOffset) continue;",
    replacement: " < ",
    kind: "equivalent",
    why: "It adds only an epoch run ending exactly at fromOffset: base is then fromOffset = end, every VotersRecord below fromOffset was passed over before the loop so the inner while takes none, and end > base is false, so no batch is pushed either way.",
  },
  {
    file: "raft/log.ts",
    text: "if (fromOffset >= log.endOffset) return [];",
    replacement: " > ",
    kind: "equivalent",
    why: "It adds only fromOffset === log end: every epoch run then ends at or below fromOffset (the last one at the log end), so the loop skips them all and readBatches returns [] as well.",
  },
  {
    file: "raft/fetch-follower.ts",
    text: "for (let i = 0; i < n; i++) {",
    replacement: " <= ",
    kind: "equivalent",
    why: "The extra turn i = n looks at (cursor + n) % n, the same voter as i = 0, which the first turn already passed over; the loop then falls through to the same return cursor % n.",
  },
  {
    file: "raft/fetch-follower.ts",
    text: "if (s.voters.length === 0) return s;",
    replacement: "!==",
    kind: "equivalent",
    why: "Equivalent as the rules judge it (as startup.ts's cursor): nextVoter only moves bootstrapCursor, which is not in the projection; with voters the mutant keeps asking the same voter instead of the next, and which voter a node without a reachable leader asks is R74's free choice (a vector stops there without failing); with no voters the cursor is never read (fetchTarget needs one).",
  },
  {
    file: "raft/startup.ts",
    text: "voters.length === 0 || voters.some((v) => v.id === config.nodeId)",
    replacement: "!==",
    kind: "equivalent",
    why: "Only the rotation's starting place changes: an observer starts at the first voter instead of its id modulo the number of voters (a voter of a set of two or more starts at the first either way). bootstrapCursor is not in the projection and which voter a leaderless node asks is R74's free choice (see the entry for this line with && above).",
  },
  {
    file: "raft/log.ts",
    text: "for (const snapshot of snapshotsOf(log)) if (snapshot.endOffset === offset) return snapshot.epoch;",
    replacement: "!==",
    kind: "equivalent",
    why: "Same as the entry for if (offset === 0) return 0; above: epochBefore's only caller, handleCreateSnapshot, reaches this branch only with an end offset equal to a log start above 0, which the check against the newest snapshot has already refused, so the line never runs for a request that goes on.",
  },
  {
    file: "raft/node.ts",
    text: "(r) => !(r.destination === destination && r.api === api && r.correlationId === correlationId),",
    replacement: " || ",
    column: 62,
    kind: "equivalent",
    why: "isAnswerTo has just found an entry with this destination, api and correlation id; correlation ids in flight are distinct (each Send takes the next, wrapping only after 2^31 - 1), so the only entry with this id is that one, and removing entries that match on destination and api or on the id removes the same single entry (and sendRequest keeps at most one request per destination and api in flight).",
  },
  ...(
    [
      ["for (let i = 0; i < chunk.length; i++) {", " <= ", undefined],
      ["const lastChunk = c === sequence.chunks.length - 1;", "!==", undefined],
      [
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the spec's line, verbatim
        "if (!isBoundary(k) && last && !lastChunk) return `chunk ${c} ends at ${k}, which is not a boundary`;",
        " || ",
        33,
      ],
    ] as const
  ).map(([text, replacement, column]) => ({
    file: "metadata/sorted-chunks.ts",
    text,
    replacement,
    ...(column === undefined ? {} : { column }),
    kind: "unreachable" as const,
    why: "In shapeProblem, which checks sequences decoded from outside and is called by no reducer (only by tests).",
  })),
];
