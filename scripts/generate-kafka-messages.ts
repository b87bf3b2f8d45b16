// `npm run generate:kafka`: write src/kafka/generated/messages.ts, the typed encoders and decoders
// of the Kafka messages openkraft speaks, from Apache Kafka 4.4's own JSON message definitions (read
// from its jars, scripts/kafka-jars.ts: exactly the versions Kafka 4.4 speaks). `--check` exits 1
// when the committed file is stale. The generated code sizes a message, then writes it into one
// buffer; fields a version lacks decode to their defaults, and a non-default value in a version that
// lacks a non-ignorable field is refused, as Kafka refuses it.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { KAFKA_VERSION, kafkaDefinitions } from "./kafka-jars.ts";

const OUT = join(import.meta.dirname, "..", "src", "kafka", "generated", "messages.ts");

/** The APIs openkraft speaks (request and response of each), and the records and headers it frames. */
const APIS = [
  "ApiVersions",
  "Metadata",
  "CreateTopics",
  "DeleteTopics",
  "CreatePartitions",
  "DescribeCluster",
  "DescribeConfigs",
  "AlterConfigs",
  "IncrementalAlterConfigs",
  "ElectLeaders",
  "DescribeQuorum",
  "Vote",
  "BeginQuorumEpoch",
  "EndQuorumEpoch",
  "Fetch",
  "FetchSnapshot",
  "BrokerRegistration",
  "BrokerHeartbeat",
  "AlterPartition",
  "Envelope",
  "AddRaftVoter",
  "RemoveRaftVoter",
  "UpdateRaftVoter",
  "ControllerRegistration",
];
const DATA = [
  "RequestHeader",
  "ResponseHeader",
  "LeaderChangeMessage",
  "SnapshotHeaderRecord",
  "SnapshotFooterRecord",
  "KRaftVersionRecord",
  "VotersRecord",
];

interface FieldSpec {
  readonly name: string;
  readonly type: string;
  readonly versions: string;
  readonly nullableVersions?: string;
  readonly taggedVersions?: string;
  readonly tag?: number;
  readonly default?: string | number | boolean;
  readonly ignorable?: boolean;
  readonly flexibleVersions?: string;
  readonly fields?: readonly FieldSpec[];
  readonly about?: string;
}
interface MessageSpec {
  readonly name: string;
  readonly type: string;
  readonly apiKey?: number;
  readonly validVersions: string;
  readonly flexibleVersions: string;
  readonly fields: readonly FieldSpec[];
  readonly commonStructs?: readonly { name: string; versions: string; fields: readonly FieldSpec[] }[];
}

/** A version range; hi is Infinity for "N+"; an empty range is lo > hi. */
interface Range {
  readonly lo: number;
  readonly hi: number;
}
const NONE: Range = { lo: 1, hi: 0 };
const parseRange = (text: string | undefined): Range => {
  if (text === undefined || text === "none") return NONE;
  if (text.endsWith("+")) return { lo: Number(text.slice(0, -1)), hi: Number.POSITIVE_INFINITY };
  const [lo, hi] = text.split("-");
  return { lo: Number(lo), hi: Number(hi ?? lo) };
};
const intersect = (a: Range, b: Range): Range => ({ lo: Math.max(a.lo, b.lo), hi: Math.min(a.hi, b.hi) });
const isEmpty = (r: Range) => r.lo > r.hi;
/** A TypeScript condition that `version` is in `r`, given that it is within `valid`. */
const cond = (r: Range, valid: Range): string => {
  const x = intersect(r, valid);
  if (isEmpty(x)) return "false";
  const parts: string[] = [];
  if (x.lo > valid.lo) parts.push(`version >= ${x.lo}`);
  if (x.hi < valid.hi) parts.push(`version <= ${x.hi}`);
  return parts.length === 0 ? "true" : parts.join(" && ");
};
const rangeText = (r: Range) =>
  isEmpty(r) ? "none" : r.hi === Number.POSITIVE_INFINITY ? `${r.lo}+` : `${r.lo}-${r.hi}`;

/** Whether code uses identifier `name` (not merely a word in a message). */
const uses = (code: string, name: string): boolean =>
  new RegExp(`(\\(|, |\\{|&& |!|^|\\s)${name}(\\.|\\)|,| >=| <=|;|\\})`, "m").test(code);

/** `if (c) a else b`, with a constant condition folded (tsc refuses unreachable branches). */
const branch = (c: string, a: string, b: string): string =>
  c === "true" ? a : c === "false" ? b : `if (${c}) ${a} else ${b}`;

const camel = (name: string) => name.charAt(0).toLowerCase() + name.slice(1);

const PRIMITIVES: Readonly<
  Record<string, { ts: string; size: string; write: string; read: string; zero: string }>
> = {
  int8: { ts: "number", size: "1", write: "int8", read: "int8", zero: "0" },
  int16: { ts: "number", size: "2", write: "int16", read: "int16", zero: "0" },
  uint16: { ts: "number", size: "2", write: "uint16", read: "uint16", zero: "0" },
  int32: { ts: "number", size: "4", write: "int32", read: "int32", zero: "0" },
  uint32: { ts: "number", size: "4", write: "uint32", read: "uint32", zero: "0" },
  int64: { ts: "bigint", size: "8", write: "int64", read: "int64", zero: "0n" },
  float64: { ts: "number", size: "8", write: "float64", read: "float64", zero: "0" },
  bool: { ts: "boolean", size: "1", write: "bool", read: "bool", zero: "false" },
  uuid: { ts: "string", size: "16", write: "uuid", read: "uuid", zero: "ZERO_UUID" },
};

interface Field {
  readonly spec: FieldSpec;
  readonly key: string;
  readonly versions: Range;
  readonly nullable: Range;
  readonly tagged: Range;
  /** Compact forms apply where the message is flexible, unless the field says otherwise. */
  readonly flexible: Range;
  readonly array: boolean;
  /** The element's Kafka type: a primitive, string, bytes, records, or a struct's TS name. */
  readonly element: string;
  readonly struct: boolean;
}

interface Struct {
  readonly name: string;
  readonly fields: readonly Field[];
}

class Generator {
  private readonly out: string[] = [];
  private readonly descriptors: string[] = [];
  private readonly codecs: string[] = [];
  private readonly names: string[] = [];

  message(spec: MessageSpec): void {
    const valid = parseRange(spec.validVersions);
    const flexible = parseRange(spec.flexibleVersions);
    const common = new Map((spec.commonStructs ?? []).map((c) => [c.name, c.fields] as const));
    const structs: Struct[] = [];
    const build = (name: string, fields: readonly FieldSpec[]): Struct => {
      const resolved: Field[] = fields.map((f) => {
        const array = f.type.startsWith("[]");
        const base = array ? f.type.slice(2) : f.type;
        const isStruct = /^[A-Z]/.test(base);
        let element = base;
        if (isStruct) {
          const inner = f.fields ?? common.get(base);
          if (inner === undefined) throw new Error(`${spec.name}: no definition of struct ${base}`);
          element = `${spec.name}${base}`;
          if (!structs.some((s) => s.name === element)) build(element, inner);
        }
        return {
          spec: f,
          key: camel(f.name),
          versions: intersect(parseRange(f.versions), valid),
          nullable: intersect(parseRange(f.nullableVersions), valid),
          tagged: intersect(parseRange(f.taggedVersions), valid),
          flexible: f.flexibleVersions === undefined ? flexible : parseRange(f.flexibleVersions),
          array,
          element,
          struct: isStruct,
        };
      });
      const struct = { name, fields: resolved };
      structs.push(struct);
      return struct;
    };
    const top = build(`${spec.name}Data`, spec.fields);
    for (const s of structs) this.struct(s, valid, flexible);
    const kind = spec.type;
    this.names.push(spec.name);
    this.codecs.push(
      `export const ${spec.name}: MessageCodec<${top.name}> = {
  name: "${spec.name}",
  kind: "${kind}",
  apiKey: ${spec.apiKey ?? -1},
  lowestVersion: ${valid.lo},
  highestVersion: ${valid.hi},
  lowestFlexibleVersion: ${isEmpty(flexible) ? -1 : flexible.lo},
  size: size${top.name},
  write: write${top.name},
  read: read${top.name},
  defaults: default${top.name},
  descriptor: "${top.name}",
};`,
    );
  }

  private fieldTs(f: Field): string {
    const element = f.struct
      ? f.element
      : f.element === "string"
        ? "string"
        : f.element === "bytes" || f.element === "records"
          ? "Uint8Array"
          : PRIMITIVES[f.element]!.ts;
    const t = f.array ? `${element}[]` : element;
    return isEmpty(f.nullable) ? t : `${t} | null`;
  }

  private defaultOf(f: Field): string {
    const d = f.spec.default;
    if (d === "null") return "null";
    if (f.array) return "[]";
    if (f.struct) return `default${f.element}()`;
    if (f.element === "string") return JSON.stringify(d === undefined ? "" : String(d));
    if (f.element === "bytes" || f.element === "records") return "new Uint8Array(0)";
    if (d === undefined || d === "") return PRIMITIVES[f.element]!.zero;
    if (f.element === "bool") return String(d === true || d === "true");
    if (f.element === "int64") return `${BigInt(d)}n`;
    if (f.element === "uuid") return "ZERO_UUID";
    return String(Number(d));
  }

  /** Whether the value `v` is the field's default (tagged fields are written only when it is not). */
  private isDefault(f: Field, v: string): string {
    const d = this.defaultOf(f);
    if (d === "null") return `${v} === null`;
    if (f.array) return `${v} !== null && ${v}.length === 0`;
    if (f.struct) return `isDeepDefault(${v}, ${d})`;
    if (f.element === "bytes" || f.element === "records") return `${v} !== null && ${v}.length === 0`;
    return `${v} === ${d}`;
  }

  /** Size (`mode` size) or write (`mode` write) of one value of field `f` held in `v`. */
  private valueCode(f: Field, v: string, mode: "size" | "write", valid: Range, element = false): string {
    const compact = cond(f.flexible, valid);
    const nullable = !isEmpty(f.nullable);
    if (f.array && !element) {
      const item = this.valueCode(f, "e", mode, valid, true);
      const nullCheck = nullable
        ? `if (${v} === null) { ${mode === "size" ? "n += (" + compact + ") ? 1 : 4;" : branch(compact, "w.unsignedVarint(0);", "w.int32(-1);")} } else `
        : "";
      const fixed = !f.struct && PRIMITIVES[f.element] !== undefined ? PRIMITIVES[f.element]!.size : null;
      if (mode === "size" && fixed !== null)
        return `${nullCheck}{ n += ((${compact}) ? unsignedVarintSize(${v}.length + 1) : 4) + ${v}.length * ${fixed}; }`;
      if (mode === "size")
        return `${nullCheck}{ n += (${compact}) ? unsignedVarintSize(${v}.length + 1) : 4; for (const e of ${v}) { ${item} } }`;
      return `${nullCheck}{ ${branch(compact, `w.unsignedVarint(${v}.length + 1);`, `w.int32(${v}.length);`)} for (const e of ${v}) { ${item} } }`;
    }
    const type = f.element;
    if (f.struct) {
      if (nullable && !element)
        return mode === "size"
          ? `n += 1; if (${v} !== null) n += size${type}(${v}, version);`
          : `if (${v} === null) w.int8(-1); else { w.int8(1); write${type}(w, ${v}, version); }`;
      return mode === "size" ? `n += size${type}(${v}, version);` : `write${type}(w, ${v}, version);`;
    }
    if (type === "string") {
      if (mode === "size")
        return `{ const len = ${v} === null ? -1 : utf8Length(${v}); n += (${compact}) ? compactSize(len) : stringSize(len); }`;
      return branch(compact, `w.compactString(${v});`, `w.string(${v});`);
    }
    if (type === "bytes" || type === "records") {
      if (mode === "size")
        return `{ const len = ${v} === null ? -1 : ${v}.length; n += (${compact}) ? compactSize(len) : bytesSize(len); }`;
      return branch(compact, `w.compactBytes(${v});`, `w.bytes(${v});`);
    }
    const p = PRIMITIVES[type];
    if (p === undefined) throw new Error(`unknown type ${type}`);
    return mode === "size" ? `n += ${p.size};` : `w.${p.write}(${v});`;
  }

  private readCode(f: Field, valid: Range, element = false): string {
    const compact = cond(f.flexible, valid);
    const nullable = cond(f.nullable, valid);
    const name = f.spec.name;
    if (f.array && !element) {
      const item = this.readCode(f, valid, true);
      const refuseNull = `throw new KafkaDecodeError("${name} is null in a version where it cannot be");`;
      const onNull =
        nullable === "true"
          ? "return null as never;"
          : nullable === "false"
            ? refuseNull
            : `if (!(${nullable})) ${refuseNull} return null as never;`;
      return `((): ${this.fieldTs(f)} => { const count = r.arrayLength(${compact}); if (count < 0) { ${onNull} } const a = new Array(count); for (let i = 0; i < count; i++) a[i] = ${item}; return a; })()`;
    }
    const type = f.element;
    if (f.struct) {
      if (!isEmpty(f.nullable) && !element)
        return `(r.int8() < 0 ? (${nullable} ? null : nullError("${name}")) : read${type}(r, version))`;
      return `read${type}(r, version)`;
    }
    if (type === "string" || type === "bytes" || type === "records") {
      const fn = type === "string" ? "String" : "Bytes";
      const read = `((${compact}) ? r.compact${fn}() : r.${camel(fn)}())`;
      return isEmpty(f.nullable) && !element
        ? `nonNull(${read}, "${name}")`
        : element
          ? `nonNull(${read}, "${name}")`
          : `nullableIn(${read}, ${nullable}, "${name}")`;
    }
    return `r.${PRIMITIVES[type]!.read}()`;
  }

  /** An arrow function whose unused parameters are marked so, with `if (false)` lines left out. */
  private fn(
    head: string,
    params: readonly [string, string][],
    ret: string,
    body: readonly string[],
  ): string {
    const kept = body.filter(
      (line) => !/^\s*(if|\} else if) \(false\)/.test(line) && !line.includes("if ((false)"),
    );
    const text = kept.join("\n");
    const list = params.map(([name, type]) => `${uses(text, name) ? name : `_${name}`}: ${type}`).join(", ");
    return `export const ${head} = (${list}): ${ret} => {\n${text}\n};`;
  }

  private struct(s: Struct, valid: Range, flexible: Range): void {
    const flex = cond(flexible, valid);
    const lines: string[] = [];
    lines.push(`export interface ${s.name} {`);
    for (const f of s.fields) {
      if (f.spec.about !== undefined) lines.push(`  /** ${f.spec.about.replace(/\*\//g, "* /")} */`);
      lines.push(`  ${f.key}: ${this.fieldTs(f)};`);
    }
    lines.push("}");
    // Defaults.
    lines.push(`export const default${s.name} = (): ${s.name} => ({`);
    for (const f of s.fields) lines.push(`  ${f.key}: ${this.defaultOf(f)},`);
    lines.push("});");
    const untagged = s.fields.filter((f) => !isEmpty(f.versions));
    const tagged = s.fields
      .filter((f) => !isEmpty(intersect(f.tagged, f.versions)))
      .sort((a, b) => (a.spec.tag ?? 0) - (b.spec.tag ?? 0));
    const plain = (f: Field) => {
      const inVersion = cond(f.versions, valid);
      const isTagged = cond(intersect(f.tagged, f.versions), valid);
      return isTagged === "false" ? inVersion : `(${inVersion}) && !(${isTagged})`;
    };
    // Size.
    const sizeBody: string[] = [];
    sizeBody.push("  let n = 0;");
    for (const f of untagged)
      sizeBody.push(`  if (${plain(f)}) ${this.valueCode(f, `v.${f.key}`, "size", valid)}`);
    if (flex !== "false") {
      sizeBody.push(`  if (${flex}) {`);
      sizeBody.push("    let count = 0;");
      for (const f of tagged) {
        sizeBody.push(
          `    if ((${cond(intersect(f.tagged, f.versions), valid)}) && !(${this.isDefault(f, `v.${f.key}`)})) { count++; const start = n; ${this.valueCode(f, `v.${f.key}`, "size", valid)} n += unsignedVarintSize(${f.spec.tag}) + unsignedVarintSize(n - start); }`,
        );
      }
      sizeBody.push("    n += unsignedVarintSize(count);");
      sizeBody.push("  }");
    }
    sizeBody.push("  return n;");
    lines.push(
      this.fn(
        `size${s.name}`,
        [
          ["v", s.name],
          ["version", "number"],
        ],
        "number",
        sizeBody,
      ),
    );
    // Write.
    const writeBody: string[] = [];
    for (const f of s.fields) {
      const inVersion = plain(f);
      const anyVersion = cond(f.versions, valid);
      const nullCheck =
        isEmpty(f.nullable) || cond(f.nullable, valid) === "true"
          ? ""
          : `if (v.${f.key} === null && !(${cond(f.nullable, valid)})) throw new KafkaEncodeError(\`${s.name}.${f.key} cannot be null in version \${version}\`); `;
      if (!isEmpty(f.versions))
        writeBody.push(
          `  if (${inVersion}) { ${nullCheck}${this.valueCode(f, `v.${f.key}`, "write", valid)} }`,
        );
      if (f.spec.ignorable !== true && anyVersion !== "true")
        writeBody.push(
          `  if (!(${anyVersion}) && !(${this.isDefault(f, `v.${f.key}`)})) throw new KafkaEncodeError(\`${s.name}.${f.key} is not in version \${version}\`);`,
        );
    }
    if (flex !== "false") {
      writeBody.push(`  if (${flex}) {`);
      writeBody.push("    let count = 0;");
      for (const f of tagged)
        writeBody.push(
          `    if ((${cond(intersect(f.tagged, f.versions), valid)}) && !(${this.isDefault(f, `v.${f.key}`)})) count++;`,
        );
      writeBody.push("    w.unsignedVarint(count);");
      for (const f of tagged) {
        writeBody.push(
          `    if ((${cond(intersect(f.tagged, f.versions), valid)}) && !(${this.isDefault(f, `v.${f.key}`)})) { w.unsignedVarint(${f.spec.tag}); let n = 0; ${this.valueCode(f, `v.${f.key}`, "size", valid)} w.unsignedVarint(n); ${this.valueCode(f, `v.${f.key}`, "write", valid)} }`,
        );
      }
      writeBody.push("  }");
    }
    lines.push(
      this.fn(
        `write${s.name}`,
        [
          ["w", "Writer"],
          ["v", s.name],
          ["version", "number"],
        ],
        "void",
        writeBody,
      ),
    );
    // Read.
    const readBody: string[] = [];
    readBody.push(`  const v = default${s.name}();`);
    for (const f of untagged) readBody.push(`  if (${plain(f)}) v.${f.key} = ${this.readCode(f, valid)};`);
    if (flex !== "false") {
      readBody.push(`  if (${flex}) {`);
      readBody.push("    const count = r.unsignedVarint();");
      readBody.push("    for (let i = 0; i < count; i++) {");
      readBody.push("      const tag = r.unsignedVarint();");
      readBody.push("      const size = r.unsignedVarint();");
      readBody.push("      const start = r.offset;");
      readBody.push("      switch (tag) {");
      for (const f of tagged)
        readBody.push(
          cond(intersect(f.tagged, f.versions), valid) === "true"
            ? `        case ${f.spec.tag}: v.${f.key} = ${this.readCode(f, valid)}; break;`
            : `        case ${f.spec.tag}: if (${cond(intersect(f.tagged, f.versions), valid)}) { v.${f.key} = ${this.readCode(f, valid)}; break; } r.discard(size); break;`,
        );
      readBody.push("        default: r.discard(size);");
      readBody.push("      }");
      // The generated line holds a template literal of its own: its placeholders are escaped here.
      readBody.push(
        `      if (r.offset !== start + size) throw new KafkaDecodeError(\`tagged field \${tag} of ${s.name} claims \${size} bytes but holds \${r.offset - start}\`);`,
      );
      readBody.push("    }");
      readBody.push("  }");
    }
    readBody.push("  return v;");
    lines.push(
      this.fn(
        `read${s.name}`,
        [
          ["r", "Reader"],
          ["version", "number"],
        ],
        s.name,
        readBody,
      ),
    );
    this.out.push(lines.join("\n"));
    // The descriptor: what the property tests build values from.
    this.descriptors.push(
      `  ${s.name}: [${s.fields
        .map(
          (f) =>
            `{ key: "${f.key}", type: "${f.element}", array: ${f.array}, struct: ${f.struct}, versions: "${rangeText(f.versions)}", nullable: "${rangeText(f.nullable)}", tagged: "${rangeText(intersect(f.tagged, f.versions))}" }`,
        )
        .join(", ")}],`,
    );
  }

  /** Import only what the generated code uses. */
  private imports(body: string): string {
    const used = (names: readonly string[]) =>
      names.filter((n) => new RegExp(`\\b${n.replace(/^type /, "")}\\b`).test(body));
    const wire = used([
      "bytesSize",
      "compactSize",
      "KafkaDecodeError",
      "KafkaEncodeError",
      "type Reader",
      "stringSize",
      "unsignedVarintSize",
      "utf8Length",
      "type Writer",
      "ZERO_UUID",
    ]);
    const codec = used([
      "type AnyMessageCodec",
      "type FieldDescriptor",
      "isDeepDefault",
      "type MessageCodec",
      "nonNull",
      "nullableIn",
      "nullError",
    ]);
    return `import { ${wire.join(", ")} } from "../wire.ts";\nimport { ${codec.join(", ")} } from "../codec.ts";`;
  }

  render(): string {
    const body = this.out.join("\n\n");
    return `// Generated by scripts/generate-kafka-messages.ts from Apache Kafka ${KAFKA_VERSION}'s message definitions
// (kafka-clients, kafka-metadata and kafka-raft jars). Do not edit: run npm run generate:kafka.
${this.imports(`${body}\n${this.codecs.join("\n")}\nAnyMessageCodec FieldDescriptor`)}

${body}

${this.codecs.join("\n\n")}

/** Every codec above. */
export const CODECS: readonly AnyMessageCodec[] = [
${this.names.map((n) => `  ${n},`).join("\n")}
];

/** Each struct's fields, for tests that build values of any message and version. */
export const DESCRIPTORS: Readonly<Record<string, readonly FieldDescriptor[]>> = {
${this.descriptors.join("\n")}
};
`;
  }
}

const generate = async (): Promise<string> => {
  const messages = await kafkaDefinitions("kafka-clients", "common/message");
  const metadata = await kafkaDefinitions("kafka-metadata", "common/metadata");
  const raft = await kafkaDefinitions("kafka-raft", "common/message");
  const g = new Generator();
  const need = (map: Map<string, unknown>, name: string): MessageSpec => {
    const spec = map.get(name);
    if (spec === undefined) throw new Error(`Kafka ${KAFKA_VERSION} has no definition of ${name}`);
    return spec as MessageSpec;
  };
  for (const api of APIS) {
    g.message(need(messages, `${api}Request`));
    g.message(need(messages, `${api}Response`));
  }
  for (const name of DATA) g.message(need(messages, name));
  g.message(need(raft, "QuorumStateData"));
  for (const name of [...metadata.keys()].sort()) g.message(need(metadata, name));
  return g.render();
};

const { values } = parseArgs({ options: { check: { type: "boolean", default: false } } });
const text = await generate();
if (values.check) {
  const current = readFileSync(OUT, "utf8");
  if (current !== text) {
    process.stderr.write(
      "generate:kafka: src/kafka/generated/messages.ts is stale; run npm run generate:kafka\n",
    );
    process.exit(1);
  }
  process.stdout.write("generate:kafka: up to date\n");
} else {
  writeFileSync(OUT, text);
  process.stdout.write(`generate:kafka: wrote ${OUT}\n`);
}
