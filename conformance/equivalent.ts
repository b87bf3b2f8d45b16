// Operator swaps in the reducers that no input can tell apart from the spec (sweep-mutants.ts): each
// was read, and why it is equivalent is written beside it. A site is named by its file, its line's
// text and the replacement, so that it stays named while lines move.

export interface EquivalentSite {
  readonly file: string;
  /** The line, trimmed, as it is in the spec. */
  readonly text: string;
  readonly replacement: string;
  readonly why: string;
}

export const EQUIVALENT_SITES: readonly EquivalentSite[] = [
  {
    file: "metadata/ids.ts",
    text: "if (i + 2 < 16) out += BASE64URL[n & 63]!;",
    replacement: " <= ",
    why: "The loop's i takes only 0, 3, 6, 9, 12 and 15, so i + 2 is never 16 and < 16 and <= 16 agree every time.",
  },
  {
    file: "metadata/image.ts",
    text: "if (scratch !== null) {",
    replacement: "===",
    why: "Every reducer path reaches withMember with a scratch (Writer and replay each make one; only withTopics, which no reducer calls, passes null), and without the remembered entry withMember takes its general path, which builds the same index the shortcut does.",
  },
  {
    file: "metadata/sorted-chunks.ts",
    text: "for (let i = 0; i < key.length; i++) hash = Math.imul(hash ^ key.charCodeAt(i), 0x01000193);",
    replacement: " <= ",
    why: "The hash only decides where chunks end; every function of the module uses the same isBoundary, lookups search by key whatever the chunking, and images are seen only flattened (imageView, itemsOf, snapshotRecords), so another deterministic hash gives the same items in the same order.",
  },
  {
    file: "metadata/sorted-chunks.ts",
    text: "const present = position < chunk.length && key(chunk[position]!) === k;",
    replacement: " <= ",
    why: "Here the chunk is the first whose last key is not below k (a key past the last one returned earlier), so itemPosition is at most chunk.length - 1 and position < chunk.length always holds.",
  },
  {
    file: "metadata/sorted-chunks.ts",
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the spec's line, verbatim
    text: "if (previous !== null && !(previous < k)) return `key ${k} does not come after ${previous}`;",
    replacement: " <= ",
    why: "shapeProblem checks sequences decoded from outside and is called by no reducer (only by tests), so no input reaches it.",
  },
  {
    file: "metadata/image.ts",
    text: "a.name < b.name ? -1 : a.name > b.name ? 1 : 0,",
    replacement: " >= ",
    why: "Both comparators (configs, features) insert into a list from which the entry of the same name was just filtered out, and sortedInsert compares only the new item with the others, so two equal names are never compared.",
  },
  {
    file: "metadata/image.ts",
    text: "if (record.nextProducerId < image.nextProducerId) {",
    replacement: " <= ",
    why: "No controller writes a ProducerIdsRecord (AllocateProducerIds is not modelled), and a snapshot holds one only when the image's next producer id is above 0 and replays it onto the empty image (0), so a record never carries a value equal to the image's (Kafka's replay refuses equal too).",
  },
];
