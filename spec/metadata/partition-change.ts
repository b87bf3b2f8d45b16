// Partition leader election and ISR changes (R123–R125), as Kafka's PartitionChangeBuilder: given a
// partition and what should change, the PartitionChangeRecord to write, or null when nothing does.
import type { PartitionState } from "./image.ts";
import { LEADER_RECOVERING, NO_LEADER, NO_LEADER_CHANGE, type PartitionChangeRecord } from "./records.ts";

export type Election = "online" | "preferred";

export interface ChangeRequest {
  /** The ISR to end up with (before the leader choice may shrink it for an unclean election). */
  readonly targetIsr?: readonly number[];
  readonly election: Election;
  /** Whether the topic allows an unclean election (R123). */
  readonly uncleanAllowed: boolean;
  /** R119: may this broker lead or be in the ISR (registered, unfenced, not shutting down)? */
  readonly acceptable: (brokerId: number) => boolean;
  /** Set the leader recovery state (AlterPartition). */
  readonly leaderRecoveryState?: number;
}

const sameList = (a: readonly number[], b: readonly number[]): boolean =>
  a.length === b.length && a.every((x, i) => x === b[i]);

export interface LeaderChoice {
  readonly leader: number;
  readonly isr: readonly number[];
  readonly recovering: boolean;
}

/** R123: choose the leader for a target ISR. */
export const chooseLeader = (
  partition: PartitionState,
  targetIsr: readonly number[],
  request: ChangeRequest,
): LeaderChoice => {
  const valid = (id: number): boolean => targetIsr.includes(id) && request.acceptable(id);
  const firstValid = partition.replicas.find(valid);
  if (request.election === "preferred") {
    const preferred = partition.replicas[0];
    if (preferred !== undefined && valid(preferred))
      return { leader: preferred, isr: targetIsr, recovering: false };
    if (valid(partition.leader)) return { leader: partition.leader, isr: targetIsr, recovering: false };
    return { leader: firstValid ?? NO_LEADER, isr: targetIsr, recovering: false };
  }
  if (valid(partition.leader)) return { leader: partition.leader, isr: targetIsr, recovering: false };
  if (firstValid !== undefined) return { leader: firstValid, isr: targetIsr, recovering: false };
  if (request.uncleanAllowed) {
    // An unclean leader may miss committed records: it becomes the only ISR member and recovers.
    const unclean = partition.replicas.find((id) => request.acceptable(id));
    if (unclean !== undefined) return { leader: unclean, isr: [unclean], recovering: true };
  }
  return { leader: NO_LEADER, isr: targetIsr, recovering: false };
};

/**
 * Build the change record. Without eligible leader replicas (KIP-966, not modelled) the ISR is never
 * written empty: the last member stays, and the partition goes leaderless (R124).
 */
export const buildPartitionChange = (
  topicId: string,
  partition: PartitionState,
  request: ChangeRequest,
): PartitionChangeRecord | null => {
  let targetIsr = request.targetIsr ?? partition.isr;
  if (targetIsr.length === 0)
    targetIsr = partition.isr.length > 0 ? [partition.isr[partition.isr.length - 1]!] : [];
  const choice = chooseLeader(partition, targetIsr, request);
  const recoveryState = choice.recovering
    ? LEADER_RECOVERING
    : (request.leaderRecoveryState ?? partition.leaderRecoveryState);
  const isrChanged = !sameList(choice.isr, partition.isr);
  const leaderChanged = choice.leader !== partition.leader;
  const recoveryChanged = recoveryState !== partition.leaderRecoveryState;
  if (!isrChanged && !leaderChanged && !recoveryChanged) return null;
  return {
    _tag: "PartitionChangeRecord",
    partitionId: partition.partitionId,
    topicId,
    isr: isrChanged ? choice.isr : null,
    leader: leaderChanged ? choice.leader : NO_LEADER_CHANGE,
    replicas: null,
    removingReplicas: null,
    addingReplicas: null,
    leaderRecoveryState: recoveryChanged ? recoveryState : -1,
  };
};
