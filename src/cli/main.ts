// The `kraft` command: dispatches to a subcommand and maps outcomes to exit codes
// (0 success, 1 a failed check or operation, 2 bad usage).
import { readFileSync } from "node:fs";
import { CHECK_HELP, runCheck } from "./check.ts";
import { UsageError } from "./flags.ts";

interface Command {
  readonly summary: string;
  readonly help: string;
  readonly run: (argv: readonly string[]) => number | Promise<number>;
}

const io = {
  out: (text: string) => process.stdout.write(text.endsWith("\n") ? text : `${text}\n`),
  err: (text: string) =>
    process.stderr.write(text.endsWith("\n") || text.startsWith("\r") ? text : `${text}\n`),
  isTTY: process.stderr.isTTY === true,
};

const COMMANDS: Record<string, Command> = {
  check: {
    summary: "model-check a small KRaft cluster built from the spec reducers",
    help: CHECK_HELP,
    run: (argv) => runCheck(argv, io),
  },
};

const version = (): string => {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
    version: string;
  };
  return pkg.version;
};

const mainHelp = (): string =>
  [
    "usage: kraft <command> [options]",
    "",
    "openkraft: a formally checked specification of KRaft, Apache Kafka's Raft metadata quorum.",
    "",
    "commands:",
    ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(12)}${c.summary}`),
    "",
    "Run `kraft <command> --help` for a command's options. `kraft --version` prints the version.",
  ].join("\n");

export const main = async (argv: readonly string[]): Promise<number> => {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    io.out(mainHelp());
    return name === undefined ? 2 : 0;
  }
  if (name === "--version" || name === "-v") {
    io.out(version());
    return 0;
  }
  const command = COMMANDS[name];
  if (command === undefined) {
    io.err(`kraft: unknown command "${name}"; commands: ${Object.keys(COMMANDS).join(", ")} (kraft --help)`);
    return 2;
  }
  try {
    return await command.run(rest);
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`kraft ${name}: ${error.message}\n(see kraft ${name} --help)`);
      return 2;
    }
    throw error;
  }
};
