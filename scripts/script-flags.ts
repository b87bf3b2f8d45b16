// The flags of a script (a benchmark, a mutation run), from one table (src/cli/flags.ts): --help prints
// the usage, and bad input exits 2 with what is wrong instead of running with a NaN bound.
import { type FlagSpec, type FlagValues, parseFlags, renderHelp, UsageError } from "../src/cli/flags.ts";

export const scriptFlags = (
  usage: string,
  summary: string,
  specs: readonly FlagSpec[],
  argv: readonly string[] = process.argv.slice(2),
): FlagValues => {
  const table: readonly FlagSpec[] = [
    ...specs,
    { kind: "boolean", name: "help", alias: "h", default: false, description: "show this help" },
  ];
  try {
    const { values, positional } = parseFlags(table, argv);
    if (values["help"] === true) {
      process.stdout.write(`${renderHelp(usage, summary, table)}\n`);
      process.exit(0);
    }
    if (positional.length > 0) throw new UsageError(`unexpected argument "${positional.join(" ")}"`);
    return values;
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    const words = usage.split(" ");
    const command = words.slice(0, words[0] === "npm" ? 3 : 2).join(" ");
    process.stderr.write(`${command}: ${error.message} (--help shows the options)\n`);
    process.exit(2);
  }
};
