// `kraft quorum plan … --execute`: carry out a model-checked plan against a live dynamic quorum, one
// voter change at a time. Before each step its precondition is checked against what the leader
// describes (the voters are the set the plan expects; a controller to add runs as an observer that
// has caught up, R101; a controller to remove is a voter); a step the leader refused or lost to a
// failover is asked again only while its change is missing (a change the old leader appended may
// still commit under the next one). A run interrupted part-way resumes at the step the voters show.

import type { VoterPlanStep } from "../../spec/cluster/actions.ts";
import { planSets } from "../../spec/cluster/actions.ts";
import { KafkaError } from "../kafka/errors.ts";
import {
  AddRaftVoterRequest,
  AddRaftVoterResponse,
  RemoveRaftVoterRequest,
  RemoveRaftVoterResponse,
} from "../kafka/generated/messages.ts";
import { controllerListeners } from "../runtime/config.ts";
import { AdminFailure, changeVoters, describeQuorum, readControllerConfig, sleep } from "./admin-client.ts";
import { type FlagValues, UsageError } from "./flags.ts";
import type { Io } from "./node-commands.ts";
import { checkPlan, checkSummary, ids, refusalText, voterPlan } from "./plan.ts";

/** A replica as the leader describes it. */
export interface Replica {
  readonly id: number;
  readonly directoryId: string;
  readonly logEndOffset: number;
  readonly lastFetchTimestamp: number;
}

/**
 * The observer entry of controller `id` that is its running disk: after a disk replacement or a
 * removal the leader lists the id more than once (the old key's entry no longer fetches), so the one
 * that fetched last.
 */
export const runningObserver = (observers: readonly Replica[], id: number): Replica | undefined => {
  let best: Replica | undefined;
  for (const o of observers)
    if (o.id === id && (best === undefined || o.lastFetchTimestamp > best.lastFetchTimestamp)) best = o;
  return best;
};

/** The quorum as its leader describes it, asked through the first bootstrap server that answers. */
interface QuorumView {
  readonly server: string;
  readonly leaderId: number;
  readonly highWatermark: number;
  readonly voters: readonly Replica[];
  readonly observers: readonly Replica[];
}

/** How long the checks before the first step wait for a leader: Kafka's default.api.timeout.ms. */
const LEADER_WAIT_MS = 60_000;

/**
 * The quorum as its leader describes it. While a server answers but knows no leader, or every server
 * that answers is not the leader (an election is under way), ask again until `waitMs` has passed;
 * when no server answers at all, fail at once.
 */
export const describeAny = async (
  values: FlagValues,
  servers: readonly string[],
  waitMs: number,
  say?: (line: string) => void,
): Promise<QuorumView> => {
  const deadline = Date.now() + waitMs;
  let waitingSaid = false;
  for (;;) {
    const failures: string[] = [];
    let electing = false;
    for (const server of servers) {
      try {
        const { partition } = await describeQuorum(
          { ...values, "bootstrap-server": server },
          undefined,
          false,
        );
        if (partition.leaderId < 0) {
          failures.push(`${server}: no leader`);
          electing = true;
          continue;
        }
        const replica = (r: (typeof partition.currentVoters)[number]): Replica => ({
          id: r.replicaId,
          directoryId: r.replicaDirectoryId,
          logEndOffset: Number(r.logEndOffset),
          lastFetchTimestamp: Number(r.lastFetchTimestamp),
        });
        return {
          server,
          leaderId: partition.leaderId,
          highWatermark: Number(partition.highWatermark),
          voters: partition.currentVoters.map(replica),
          observers: partition.observers.map(replica),
        };
      } catch (error) {
        if (!(error instanceof AdminFailure)) throw error;
        failures.push(`${server}: ${error.message}`);
        if (error.errorCode === KafkaError.NOT_LEADER_OR_FOLLOWER) electing = true;
      }
    }
    const why = `no bootstrap server described the quorum (${failures.join("; ")})`;
    if (!electing) throw new AdminFailure(why);
    if (Date.now() >= deadline)
      throw new AdminFailure(
        `${why} within ${waitMs} ms: no leader was elected, or the leader is not among --bootstrap-server's controllers`,
      );
    if (!waitingSaid && say !== undefined)
      say(`  no leader among ${servers.join(",")} yet; asking again for up to ${waitMs} ms`);
    waitingSaid = true;
    await sleep(Math.min(250, Math.max(0, deadline - Date.now())));
  }
};

/** A set of node ids as one comparable, printable text: "1,2,4". */
const key = (ids: readonly number[]): string => [...ids].sort((a, b) => a - b).join(",");

const idsOf = (replicas: readonly Replica[]): string => key(replicas.map((r) => r.id));

/** `--controller-configs 4=a.properties,5=b.properties`: each new controller's listeners, from its file. */
const newControllerListeners = (values: FlagValues, adds: readonly number[]) => {
  const text = values["controller-configs"] as string | undefined;
  const files = new Map<number, string>();
  for (const entry of text === undefined ? [] : text.split(",")) {
    const match = /^(\d+)=(.+)$/.exec(entry.trim());
    if (match === null)
      throw new UsageError(
        `--controller-configs: "${entry}" is not ID=FILE (e.g. 4=controller-4.properties)`,
      );
    files.set(Number(match[1]), match[2]!);
  }
  const missing = adds.filter((id) => !files.has(id));
  if (missing.length > 0)
    throw new UsageError(
      `--execute adds controller${missing.length === 1 ? "" : "s"} ${missing.join(",")}: give ${missing.map((id) => `${id}=FILE`).join(",")} in --controller-configs (the properties each was started with, for its listener)`,
    );
  const listeners = new Map<number, ReturnType<typeof controllerListeners>>();
  for (const id of adds) {
    const file = files.get(id)!;
    const config = readControllerConfig(file);
    if (config.nodeId !== id)
      throw new UsageError(
        `--controller-configs: ${file} is node ${config.nodeId}'s, not controller ${id}'s`,
      );
    listeners.set(id, controllerListeners(config));
  }
  return listeners;
};

interface StepResult {
  readonly step: number;
  readonly op: VoterPlanStep["op"];
  readonly id: number;
  readonly voters: readonly number[];
  readonly status: "done" | "already done";
  readonly attempts: number;
  readonly milliseconds: number;
}

export const executePlan = async (values: FlagValues, io: Io): Promise<number> => {
  const serverText = values["bootstrap-server"] as string | undefined;
  if (serverText === undefined)
    throw new UsageError(
      "--execute needs --bootstrap-server HOST:PORT[,HOST:PORT…] (controllers of the quorum)",
    );
  const servers = serverText.split(",").map((s) => s.trim());
  const json = values["json"] === true;
  const stepTimeoutMs = values["step-timeout"] as number;
  // Progress goes to stderr under --json, so stdout holds one JSON document.
  const say = (line: string) => (json ? io.err(line) : io.out(line));
  // Flags first, so a mistake is reported before the model check's minutes.
  const listenersOfNew = newControllerListeners(
    values,
    voterPlan(ids(values, "from"), ids(values, "to"))
      .filter((s) => s.op === "add")
      .map((s) => s.id),
  );
  // The quorum must answer before the model check's seconds are spent.
  let view = await describeAny(values, servers, Math.min(stepTimeoutMs, LEADER_WAIT_MS), say);
  const plan = checkPlan(values);
  const { from, to, steps } = plan;
  if (plan.refused) {
    if (json) io.out(JSON.stringify({ from, to, check: plan.check, refused: true, executed: [] }));
    else io.err(refusalText(plan));
    return 1;
  }
  say(checkSummary(plan));
  const sets = planSets(from, steps);
  view = await describeAny(values, servers, Math.min(stepTimeoutMs, LEADER_WAIT_MS), say);
  const startAt = sets.findIndex((set) => key(set) === idsOf(view.voters));
  if (startAt < 0)
    throw new AdminFailure(
      `the voters are ${idsOf(view.voters)}: neither --from (${key(from)}) nor a set the plan passes through (${sets
        .slice(1)
        .map(key)
        .join(" -> ")}); plan again with --from ${idsOf(view.voters)}`,
    );
  if (startAt === steps.length) say(`the voters are already ${idsOf(view.voters)}: every step is done`);
  else if (startAt > 0) say(`the voters are already ${idsOf(view.voters)}: resuming at step ${startAt + 1}`);
  const executed: StepResult[] = steps.slice(0, startAt).map((s, i) => ({
    step: i + 1,
    ...s,
    voters: sets[i + 1]!,
    status: "already done",
    attempts: 0,
    milliseconds: 0,
  }));
  for (let i = startAt; i < steps.length; i++) {
    const step = steps[i]!;
    const started = Date.now();
    const deadline = started + stepTimeoutMs;
    const label = `step ${i + 1}: ${step.op} controller ${step.id}`;
    const done = (v: QuorumView) => idsOf(v.voters) === key(sets[i + 1]!);
    let attempts = 0;
    let waitingSaid = false;
    let lastRefusal = "";
    say(`${label} (voters after: ${key(sets[i + 1]!)})`);
    for (;;) {
      view = await describeAny(values, servers, Math.max(0, deadline - Date.now())).catch(
        (error: unknown) => {
          if (!(error instanceof AdminFailure)) throw error;
          lastRefusal = error.message;
          return view;
        },
      );
      if (done(view)) break;
      if (Date.now() > deadline)
        throw new AdminFailure(
          `${label} did not take effect within ${stepTimeoutMs} ms (--step-timeout); the voters are ${idsOf(view.voters)}${lastRefusal === "" ? "" : `; last: ${lastRefusal}`}. Run the same command again to resume`,
        );
      const target = { ...values, "bootstrap-server": view.server };
      let change: () => Promise<number>;
      if (step.op === "add") {
        // Precondition (R96, R101): the new controller runs as an observer and has caught up.
        const observer = runningObserver(view.observers, step.id);
        if (observer === undefined || observer.logEndOffset < view.highWatermark) {
          if (!waitingSaid)
            say(
              `  waiting up to ${stepTimeoutMs} ms for controller ${step.id} to run as an observer and catch up (format it with --no-initial-controllers and start it)`,
            );
          waitingSaid = true;
          await sleep(500);
          continue;
        }
        change = () =>
          changeVoters(target, AddRaftVoterRequest, AddRaftVoterResponse, () => ({
            clusterId: null,
            timeoutMs: values["timeout"] as number,
            voterId: step.id,
            voterDirectoryId: observer.directoryId,
            listeners: listenersOfNew.get(step.id)!,
            ackWhenCommitted: true,
          }));
      } else {
        // Precondition (R97): the controller to remove is a voter; its directory id is the leader's.
        const voter = view.voters.find((v) => v.id === step.id);
        if (voter === undefined)
          throw new AdminFailure(
            `${label}: controller ${step.id} is not a voter (voters ${idsOf(view.voters)})`,
          );
        change = () =>
          changeVoters(target, RemoveRaftVoterRequest, RemoveRaftVoterResponse, () => ({
            clusterId: null,
            voterId: step.id,
            voterDirectoryId: voter.directoryId,
          }));
      }
      attempts++;
      try {
        await change();
      } catch (error) {
        if (!(error instanceof AdminFailure)) throw error;
        lastRefusal = error.message;
        say(`  ${error.message}; checking the voters before asking again`);
        await sleep(1000);
      }
    }
    const milliseconds = Date.now() - started;
    executed.push({ step: i + 1, ...step, voters: sets[i + 1]!, status: "done", attempts, milliseconds });
    say(`  done in ${milliseconds} ms: the voters are ${idsOf(view.voters)}`);
  }
  const removed = from.filter((id) => !to.includes(id));
  if (json) io.out(JSON.stringify({ from, to, check: plan.check, refused: false, executed }));
  else
    say(
      `the voters are ${key(to)}${removed.length === 0 ? "" : `; ${removed.length === 1 ? `controller ${removed[0]} is an observer` : `controllers ${removed.join(",")} are observers`} now and may be stopped`}`,
    );
  return 0;
};
