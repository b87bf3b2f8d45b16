// "Your node in our cluster" (`kraft conformance explore`): the implementation plays one node of the
// model checker's simulated cluster, the spec plays the others and, in lockstep, a shadow of that
// node. Each walk is a seeded random schedule of the checker's actions — deliveries in any order,
// loss, duplicates, timers, client appends, flushes, crashes and restarts from what the node's disk
// kept — generated as the run goes. Whenever the schedule reaches the implementation's node, its
// input goes to the adapter (answers to its own requests under its own correlation ids) and the reply
// is judged step by step as the vector runner judges (conformance/judge.ts: free choices followed,
// rules held to), its projected state against the spec's. What the other nodes receive is the spec's
// side of that node: whatever the judge accepts differs from it only in choices that do not change
// what the cluster sees (effect order, timer durations in range, request ids), so the cluster
// properties the checker proves for the spec hold with the implementation in its place. The one
// choice the cluster does see, the voter a fetch for the leader goes to (R74), is followed: the world's
// request is redirected there and the shadow's rotation with it (`redirect N TO` in the transcript). A violation
// ends the walk and comes back as a scenario transcript of the schedule, reproducible from the seed.

import {
  type Action,
  applyAction,
  type Bounds,
  commandOf,
  DEFAULT_BOUNDS,
  enabledActions,
  withinBounds,
} from "../spec/cluster/actions.ts";
import { parseTranscript, renderTranscript, runTranscript } from "../spec/cluster/scenario.ts";
import {
  type ClusterSpec,
  DEFAULT_CLUSTER,
  indexOfNode,
  initialWorld,
  nodeConfig,
  redirectLeaderlessFetch,
  type StepTrace,
} from "../spec/cluster/world.ts";
import { firstViolation } from "../spec/invariants/cluster.ts";
import { contextForInput, nextContext, PROJECTION_RULES, type StepContext } from "../spec/raft/allowed.ts";
import { judgeRaftStep, otherFetchTarget, withStep } from "./judge.ts";
import { rulesOfMarks } from "./marks.ts";
import { project } from "./protocol.ts";
import { AdapterProcess, compareState, describeInput, translate } from "./runner.ts";
import { initOf, seededRandom } from "./walks.ts";

export interface ExploreOptions {
  /** The node the implementation plays (1-based id). */
  readonly node: number;
  readonly seed: number;
  readonly walks: number;
  /** Actions per walk. */
  readonly depth: number;
  readonly cluster?: ClusterSpec;
  readonly bounds?: Bounds;
  readonly timeoutMs?: number;
  readonly onProgress?: (walk: number, walks: number) => void;
}

export interface ExploreViolation {
  readonly walk: number;
  /** The seed that replays this walk alone (`--seed S --walks 1`). */
  readonly seed: number;
  /** The number of actions taken, the last one included. */
  readonly actions: number;
  /** The actions left in the transcript once shrunk. */
  readonly shrunkTo: number;
  readonly input: string;
  readonly what: string;
  readonly rules: readonly string[];
  readonly expected: unknown;
  readonly actual: unknown;
  /** The schedule as a scenario transcript, with the spec's trace of every node. */
  readonly transcript: string;
}

export interface ExploreReport {
  readonly adapter: string;
  readonly node: number;
  readonly walks: number;
  /** Inputs the implementation took, over all walks. */
  readonly steps: number;
  readonly starts: number;
  /** Times the implementation asked another voter for the leader than the spec (R74), and the walk followed it. */
  readonly followed: number;
  /** Walks that ended early: a choice of the implementation's the world could not follow. */
  readonly unfollowed: number;
  readonly ok: boolean;
  readonly violation: ExploreViolation | null;
}

/** The schedule so far as a transcript the scenario runner replays. */
const transcriptOf = (
  cluster: ClusterSpec,
  commands: readonly string[],
  note: string,
  rules: readonly string[],
): string => {
  const text = [
    `# kraft conformance explore: ${note}`,
    `# Rules: ${rules.length === 0 ? "R134" : rules.join(", ")}`,
    `> ${clusterCommand(cluster)}`,
    ...commands.map((c) => `> ${c}`),
    "> state",
  ].join("\n");
  const transcript = parseTranscript(`${text}\n`);
  return renderTranscript(transcript, runTranscript(transcript));
};

/** What goes wrong at one of the implementation's steps: the first difference the judge finds. */
interface Finding {
  readonly actions: number;
  readonly input: string;
  readonly what: string;
  readonly rules: readonly string[];
  readonly expected: unknown;
  readonly actual: unknown;
}

/** The implementation's side of one walk: it plays node `node` of every step the schedule gives it. */
class Player {
  private ids = new Map<number, number>();
  private context: StepContext = { armed: new Set(), persisted: null };
  steps = 0;
  starts = 0;
  /**
   * The voter the implementation asked for the leader where the spec asked another (R74's free
   * choice), in the steps just played; `followable` when no later step of the node in that batch came
   * from the spec's choice. The caller redirects the world's request to follow it.
   */
  redirected: { readonly to: number; readonly followable: boolean } | null = null;
  private readonly process: AdapterProcess;
  private readonly node: number;
  private readonly config: ReturnType<typeof nodeConfig>;
  private readonly timeoutMs: number;

  constructor(process: AdapterProcess, node: number, cluster: ClusterSpec, timeoutMs: number) {
    this.process = process;
    this.node = node;
    this.config = nodeConfig(cluster, node);
    this.timeoutMs = timeoutMs;
  }

  /** Play the implementation's part of these steps; the first difference, or null. */
  async play(trace: readonly StepTrace[], actions: number): Promise<Finding | null> {
    this.redirected = null;
    for (const s of trace) {
      if (s.node !== this.node) continue;
      if (this.redirected !== null) {
        // A later step of the node in the same batch followed the spec's choice, not the implementation's.
        this.redirected = { ...this.redirected, followable: false };
        return null;
      }
      let input: string;
      let reply: Awaited<ReturnType<AdapterProcess["request"]>>;
      if (s.input._tag === "Start") {
        const storage = s.storage!;
        this.ids = new Map();
        this.context = { armed: new Set(), persisted: storage.quorumState };
        input = "Start";
        this.starts++;
        reply = await this.process.request(initOf(this.config, storage), this.timeoutMs);
      } else {
        this.context = contextForInput(this.context, s.input);
        input = describeInput(s.input);
        this.steps++;
        reply = await this.process.request(
          { _tag: "input", input: translate("raft", s.input, this.ids) },
          this.timeoutMs,
        );
      }
      const found = (
        what: string,
        rules: readonly string[],
        expected: unknown,
        actual: unknown,
      ): Finding => ({
        actions,
        input,
        what,
        rules,
        expected,
        actual,
      });
      if (reply._tag === "error") return found("the adapter reported an error", [], null, reply.message);
      if (reply._tag === "unsupported")
        return found("the adapter does not implement what this walk needs", [], null, reply.feature);
      const judged = judgeRaftStep(
        s.effects,
        reply.effects as typeof s.effects,
        this.context,
        s.marks ?? [],
        this.config,
        this.ids,
      );
      if (judged !== null) return found(judged.what, judged.rules, judged.expected, judged.actual);
      this.context = nextContext(this.context, s.effects);
      const state = compareState(project(s.after), reply.state);
      if (state !== null) {
        return found(
          state.what,
          withStep(PROJECTION_RULES[state.field] ?? [], rulesOfMarks(s.marks ?? [])),
          state.expected,
          state.actual,
        );
      }
      const other = otherFetchTarget(s.effects, reply.effects as typeof s.effects, s.marks ?? []);
      if (other !== null) this.redirected = { to: other.implementation, followable: true };
    }
    return null;
  }
}

/** Replay a schedule of transcript commands with the implementation as `node`; its first difference. */
const replay = async (
  process: AdapterProcess,
  node: number,
  cluster: ClusterSpec,
  commands: readonly string[],
  timeoutMs: number,
): Promise<Finding | null> => {
  const batches: (readonly StepTrace[])[] = [];
  try {
    runTranscript(
      parseTranscript(`${[clusterCommand(cluster), ...commands].map((c) => `> ${c}`).join("\n")}\n`),
      (batch) => {
        batches.push(batch);
      },
    );
  } catch {
    return null; // A command that no longer applies: this schedule is not a candidate.
  }
  const player = new Player(process, node, cluster, timeoutMs);
  for (const [i, batch] of batches.entries()) {
    const found = await player.play(batch, i);
    if (found !== null) return found;
  }
  return null;
};

const clusterCommand = (cluster: ClusterSpec): string =>
  `cluster voters=${cluster.voters} observers=${cluster.observers} prevote=${cluster.preVote ? "on" : "off"} checkquorum=${cluster.checkQuorum ? "on" : "off"}`;

/**
 * A shorter schedule that still shows a difference against the same rule: drop one command at a time
 * (from the end, where most are incidental), keeping each drop the implementation still fails with.
 */
const shrink = async (
  process: AdapterProcess,
  node: number,
  cluster: ClusterSpec,
  commands: readonly string[],
  finding: Finding,
  timeoutMs: number,
): Promise<{ commands: string[]; finding: Finding }> => {
  let best = { commands: [...commands], finding };
  const same = (f: Finding | null): f is Finding =>
    f !== null &&
    (f.rules[0] ?? "") === (finding.rules[0] ?? "") &&
    f.what.split(":")[0] === finding.what.split(":")[0];
  // Passes until one drops nothing (a few at most: each pass tries every command once).
  for (let pass = 0, shrunk = true; shrunk && pass < 8; pass++) {
    shrunk = false;
    for (let i = best.commands.length - 1; i >= 0; i--) {
      const candidate = best.commands.filter((_, at) => at !== i);
      const found = await replay(process, node, cluster, candidate, timeoutMs);
      if (same(found)) {
        best = { commands: candidate, finding: found };
        shrunk = true;
      }
    }
  }
  return best;
};

/** Explore: every walk's schedule with the implementation as node `options.node`. */
export const explore = async (adapter: string, options: ExploreOptions): Promise<ExploreReport> => {
  const cluster = options.cluster ?? DEFAULT_CLUSTER;
  const bounds = options.bounds ?? { ...DEFAULT_BOUNDS, maxDuplicates: 1 };
  const timeoutMs = options.timeoutMs ?? 10_000;
  const node = options.node;
  if (!Number.isInteger(node) || node < 1 || node > cluster.voters + cluster.observers)
    throw new Error(
      `--node must be a node of the cluster, 1 to ${cluster.voters + cluster.observers}; got ${node}`,
    );
  const process = new AdapterProcess(adapter);
  let steps = 0;
  let starts = 0;
  let followed = 0;
  let unfollowed = 0;
  try {
    for (let walk = 0; walk < options.walks; walk++) {
      const seed = options.seed + walk;
      const random = seededRandom(seed);
      const player = new Player(process, node, cluster, timeoutMs);
      const commands: string[] = [];
      const initial = initialWorld(cluster);
      let world = initial.world;
      let found = await player.play(initial.steps, 0);
      /** Follow the implementation's choice of voter (R74); false when it cannot be followed. */
      const follow = (): boolean => {
        if (player.redirected === null) return true;
        if (!player.redirected.followable) return false;
        const redirected = redirectLeaderlessFetch(world, indexOfNode(node), player.redirected.to);
        if (redirected === null) return false;
        world = redirected;
        commands.push(`redirect ${node} ${player.redirected.to}`);
        followed++;
        return true;
      };
      let following = found !== null || follow();
      for (let i = 0; found === null && following && i < options.depth; i++) {
        const candidates: { action: Action; outcome: ReturnType<typeof applyAction> }[] = [];
        for (const action of enabledActions(world, bounds)) {
          const outcome = applyAction(world, cluster, action);
          if (withinBounds(outcome.world, bounds)) candidates.push({ action, outcome });
        }
        if (candidates.length === 0) break;
        const chosen = candidates[Math.floor(random() * candidates.length)]!;
        commands.push(commandOf(world, chosen.action));
        world = chosen.outcome.world;
        found = await player.play(chosen.outcome.steps, i + 1);
        following = found !== null || follow();
        // The cluster properties kraft check proves, over the run with the implementation's choices
        // followed (a violation here is the spec's or an unsound free choice, reported all the same).
        const broken = found === null ? (world.broken ?? firstViolation(world, cluster.voters)) : null;
        if (broken !== null)
          found = {
            actions: i + 1,
            input: commands.at(-1) ?? "",
            what: `a cluster property broke: ${broken}`,
            rules: ["R134"],
            expected: null,
            actual: broken,
          };
      }
      if (!following) unfollowed++;
      steps += player.steps;
      starts += player.starts;
      options.onProgress?.(walk + 1, options.walks);
      if (found !== null) {
        const small = await shrink(process, node, cluster, commands, found, timeoutMs);
        const f = small.finding;
        return {
          adapter,
          node,
          walks: walk + 1,
          steps,
          starts,
          followed,
          unfollowed,
          ok: false,
          violation: {
            walk,
            seed,
            actions: found.actions,
            shrunkTo: small.commands.length,
            input: f.input,
            what: f.what,
            rules: f.rules,
            expected: f.expected,
            actual: f.actual,
            transcript: transcriptOf(cluster, small.commands, `node ${node}: ${f.what}`, f.rules),
          },
        };
      }
    }
  } finally {
    process.close();
  }
  return {
    adapter,
    node,
    walks: options.walks,
    steps,
    starts,
    followed,
    unfollowed,
    ok: true,
    violation: null,
  };
};

/** A readable account of an exploration. */
export const renderExplore = (report: ExploreReport): string[] => {
  const followed =
    report.followed === 0
      ? ""
      : `, ${report.followed} choice${report.followed === 1 ? "" : "s"} of voter followed (R74)`;
  const unfollowed =
    report.unfollowed === 0
      ? ""
      : `, ${report.unfollowed} walk${report.unfollowed === 1 ? "" : "s"} ended early at a choice the world could not follow`;
  const head = `kraft conformance explore: node ${report.node} played by ${JSON.stringify(report.adapter)}: ${report.walks} walk${report.walks === 1 ? "" : "s"}, ${report.steps} inputs, ${report.starts} process starts${followed}${unfollowed}`;
  const v = report.violation;
  if (v === null) return [`${head}: every step allowed`];
  return [
    `${head}: VIOLATION in walk ${v.walk} (replay it alone with --seed ${v.seed} --walks 1), after ${v.actions} actions (${v.shrunkTo} once shrunk), at ${v.input}: ${v.what} [${v.rules.join(" ")}]`,
    `  expected: ${JSON.stringify(v.expected)}`,
    `  actual:   ${JSON.stringify(v.actual)}`,
    "the shrunk schedule as a scenario transcript (the spec playing every node):",
    v.transcript.trimEnd(),
  ];
};
