// A small declarative flag parser: one table per command gives parsing, validation with messages
// that name the flag and its allowed values, and the --help text. Bad input is a UsageError, which
// the CLI turns into exit code 2.

export class UsageError extends Error {
  override readonly name = "UsageError";
}

interface Common {
  readonly name: string;
  readonly description: string;
  /** A one-letter alias, e.g. "j" for -j. */
  readonly alias?: string;
  /** The mode of the command the flag applies to (e.g. a model), if not all: given elsewhere, refused. */
  readonly scope?: string;
}

export type FlagSpec =
  | (Common & { readonly kind: "boolean"; readonly default: boolean })
  | (Common & {
      readonly kind: "integer";
      readonly default?: number;
      readonly min?: number;
      readonly max?: number;
      readonly placeholder?: string;
    })
  | (Common & { readonly kind: "choice"; readonly choices: readonly string[]; readonly default: string })
  | (Common & { readonly kind: "string"; readonly default?: string; readonly placeholder?: string });

export type FlagValues = Record<string, string | number | boolean | undefined>;

const parseValue = (spec: FlagSpec, raw: string): string | number => {
  switch (spec.kind) {
    case "integer": {
      if (!/^-?\d+$/.test(raw)) throw new UsageError(`--${spec.name} needs a whole number, not "${raw}"`);
      const n = Number(raw);
      if (spec.min !== undefined && n < spec.min) {
        throw new UsageError(
          `--${spec.name} must be at least ${spec.min}${spec.max === undefined ? "" : ` and at most ${spec.max}`}, not ${n}`,
        );
      }
      if (spec.max !== undefined && n > spec.max) {
        throw new UsageError(
          `--${spec.name} must be at most ${spec.max}${spec.min === undefined ? "" : ` and at least ${spec.min}`}, not ${n}`,
        );
      }
      return n;
    }
    case "choice":
      if (!spec.choices.includes(raw)) {
        throw new UsageError(`--${spec.name} must be one of ${spec.choices.join(", ")}, not "${raw}"`);
      }
      return raw;
    case "string":
      if (raw.length === 0) throw new UsageError(`--${spec.name} needs a value`);
      return raw;
    case "boolean":
      throw new UsageError(`--${spec.name} takes no value`);
  }
};

/** Parse `argv` against `specs`; positional arguments are returned separately. */
export const parseFlags = (
  specs: readonly FlagSpec[],
  argv: readonly string[],
): {
  readonly values: FlagValues;
  readonly positional: readonly string[];
  /** The flags the command line gave (not left at their defaults). */
  readonly given: ReadonlySet<string>;
} => {
  const values: FlagValues = {};
  const given = new Set<string>();
  for (const spec of specs) values[spec.name] = spec.default;
  const positional: string[] = [];
  const byName = new Map(specs.map((s) => [s.name, s] as const));
  const byAlias = new Map(specs.filter((s) => s.alias !== undefined).map((s) => [s.alias!, s] as const));
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") {
      positional.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith("-") || arg === "-") {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    const namePart = eq >= 0 ? arg.slice(0, eq) : arg;
    const inline = eq >= 0 ? arg.slice(eq + 1) : undefined;
    let spec: FlagSpec | undefined;
    let negated = false;
    if (namePart.startsWith("--")) {
      const name = namePart.slice(2);
      spec = byName.get(name);
      if (spec === undefined && name.startsWith("no-")) {
        const positive = byName.get(name.slice(3));
        if (positive?.kind === "boolean") {
          spec = positive;
          negated = true;
        }
      }
    } else {
      spec = byAlias.get(namePart.slice(1));
    }
    if (spec === undefined) {
      const known = specs.map((s) => `--${s.name}`).join(", ");
      throw new UsageError(`unknown flag ${namePart}; known flags: ${known}`);
    }
    given.add(spec.name);
    if (spec.kind === "boolean") {
      if (inline !== undefined) {
        if (inline !== "true" && inline !== "false")
          throw new UsageError(`--${spec.name} is on or off: use --${spec.name} or --no-${spec.name}`);
        values[spec.name] = inline === "true";
      } else {
        values[spec.name] = !negated;
      }
      continue;
    }
    const raw = inline ?? argv[++i];
    if (raw === undefined)
      throw new UsageError(
        `--${spec.name} needs a value${spec.kind === "choice" ? ` (${spec.choices.join(", ")})` : ""}`,
      );
    values[spec.name] = parseValue(spec, raw);
  }
  return { values, positional, given };
};

/**
 * Refuse flags given for another mode than `mode` (their `scope`), naming the flag, the mode it is
 * for and the mode in use (`describe` names a mode, e.g. "the metadata model (--model metadata)").
 */
export const refuseOutOfScope = (
  specs: readonly FlagSpec[],
  given: ReadonlySet<string>,
  mode: string,
  describe: (scope: string) => string,
): void => {
  for (const spec of specs) {
    if (spec.scope === undefined || spec.scope === mode || !given.has(spec.name)) continue;
    throw new UsageError(`--${spec.name} applies to ${describe(spec.scope)} only, not to ${describe(mode)}`);
  }
};

/** The help text of a command, from its flag table. */
export const renderHelp = (
  usage: string,
  summary: string,
  specs: readonly FlagSpec[],
  notes: readonly string[] = [],
): string => {
  const rows = specs.map((s) => {
    const alias = s.alias === undefined ? "    " : `-${s.alias}, `;
    let left: string;
    switch (s.kind) {
      case "boolean":
        left = `--[no-]${s.name}`;
        break;
      case "choice":
        left = `--${s.name} ${s.choices.join("|")}`;
        break;
      case "integer":
        left = `--${s.name} ${s.placeholder ?? "N"}`;
        break;
      case "string":
        left = `--${s.name} ${s.placeholder ?? "VALUE"}`;
        break;
    }
    const fallback =
      s.kind === "boolean"
        ? ` (default: ${s.default ? "on" : "off"})`
        : s.default === undefined
          ? ""
          : ` (default: ${s.default})`;
    return { left: `  ${alias}${left}`, right: `${s.description}${fallback}` };
  });
  const width = Math.max(...rows.map((r) => r.left.length)) + 2;
  const lines = rows.map((r) => `${r.left.padEnd(width)}${r.right}`);
  return [
    `usage: ${usage}`,
    "",
    summary,
    "",
    "options:",
    ...lines,
    ...(notes.length > 0 ? ["", ...notes] : []),
  ].join("\n");
};
