// The `kraft` command: dispatches to a subcommand and maps outcomes to exit codes
// (0 success, 1 a failed check or operation, 2 bad usage).
import { readFileSync } from "node:fs";
import { UsageError } from "./flags.ts";

/** A subcommand; its module is loaded only when it runs (a node process loads no checker). */
interface Command {
  readonly summary: string;
  readonly run: (argv: readonly string[]) => number | Promise<number>;
}

// A reader that stopped reading (`kraft … | head`) is not an error: end quietly, as Unix tools do.
for (const stream of [process.stdout, process.stderr])
  stream.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE") process.exit(0);
    throw error;
  });

const io = {
  out: (text: string) => process.stdout.write(text.endsWith("\n") ? text : `${text}\n`),
  err: (text: string) =>
    process.stderr.write(text.endsWith("\n") || text.startsWith("\r") ? text : `${text}\n`),
  isTTY: process.stderr.isTTY === true,
};

const COMMANDS: Record<string, Command> = {
  check: {
    summary: "model-check a small KRaft cluster built from the spec reducers",
    run: async (argv) => (await import("./check.ts")).runCheck(argv, io),
  },
  conformance: {
    summary: "check an implementation against the spec (run, explore, adapter, check-trace, cluster)",
    run: async (argv) => (await import("./conformance.ts")).runConformanceCommand(argv, io),
  },
  cluster: {
    summary: "start a local cluster of controller and broker processes (cluster up)",
    run: async (argv) => (await import("./cluster.ts")).runClusterUp(argv, io),
  },
  start: {
    summary: "run one node from a properties file",
    run: async (argv) => (await import("./node-commands.ts")).runStart(argv, io),
  },
  format: {
    summary: "prepare a node's data directory",
    run: async (argv) => (await import("./node-commands.ts")).runFormat(argv, io),
  },
  "random-cluster-id": {
    summary: "print a new cluster id",
    run: async (argv) => {
      if (argv.includes("--help") || argv.includes("-h")) {
        io.out("usage: kraft random-cluster-id\n\nPrint a new random cluster id for kraft format.");
        return 0;
      }
      if (argv.length > 0)
        throw new UsageError(`kraft random-cluster-id takes no arguments, got "${argv.join(" ")}"`);
      io.out((await import("./node-commands.ts")).randomClusterId());
      return 0;
    },
  },
  quorum: {
    summary: "describe the metadata quorum (quorum describe)",
    run: async (argv) => (await import("./admin.ts")).runQuorum(argv, io),
  },
  topics: {
    summary: "create, list, describe and delete topics",
    run: async (argv) => (await import("./admin.ts")).runTopics(argv, io),
  },
  brokers: {
    summary: "list the registered brokers (brokers list)",
    run: async (argv) => (await import("./admin.ts")).runBrokers(argv, io),
  },
  metadata: {
    summary: "decode Kafka-format metadata log segments and snapshots (metadata dump)",
    run: async (argv) => (await import("./metadata.ts")).runMetadata(argv, io),
  },
};

const version = (): string => {
  // From src/cli or from its bundle in dist/.
  for (const path of ["../../package.json", "../package.json"]) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(path, import.meta.url), "utf8")) as {
        name?: string;
        version: string;
      };
      if (pkg.name === "openkraft") return pkg.version;
    } catch {
      // Not there: try the next place.
    }
  }
  return "unknown";
};

const mainHelp = (): string =>
  [
    "usage: kraft <command> [options]",
    "",
    "openkraft: a formally checked specification of KRaft, Apache Kafka's Raft metadata quorum.",
    "",
    "commands:",
    ...Object.entries(COMMANDS).map(
      ([name, c]) =>
        `  ${name.padEnd(Math.max(...Object.keys(COMMANDS).map((n) => n.length)) + 2)}${c.summary}`,
    ),
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
    if (error instanceof Error && error.name === "AdminFailure") {
      io.err(`kraft ${name}: ${error.message}`);
      return 1;
    }
    io.err(`kraft ${name}: ${describeFailure(error)}`);
    if (process.env["KRAFT_DEBUG"] === "1" && error instanceof Error && error.stack !== undefined)
      io.err(error.stack);
    return 1;
  }
};

/** What the operating system said, for people: the path and the cause, never a stack trace. */
const SYSTEM_ERRORS: Readonly<Record<string, string>> = {
  ENOENT: "does not exist",
  ENOTDIR: "is not a directory (or a part of the path is a file)",
  EISDIR: "is a directory, where a file is needed",
  EEXIST: "already exists and is not a directory",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  ENOSPC: "no space left on the device",
  EROFS: "the file system is read-only",
  EADDRINUSE: "the address is already in use (another process listens on that port)",
  EADDRNOTAVAIL: "the address is not available on this machine",
  EMFILE: "too many open files (raise the limit with ulimit -n)",
};

export const describeFailure = (error: unknown): string => {
  if (error instanceof Error && "code" in error && typeof error.code === "string") {
    const e = error as NodeJS.ErrnoException & { address?: string; port?: number };
    const what = SYSTEM_ERRORS[e.code ?? ""] ?? e.message;
    const where = e.path ?? (e.port !== undefined ? `${e.address ?? ""}:${e.port}` : undefined);
    return `${where === undefined ? "" : `${where}: `}${what} (${e.code}${e.syscall === undefined ? "" : ` in ${e.syscall}`})`;
  }
  return `unexpected failure: ${error instanceof Error ? error.message : String(error)} (KRAFT_DEBUG=1 shows where)`;
};
