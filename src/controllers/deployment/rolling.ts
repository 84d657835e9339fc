// RollingUpdate (upstream's deployment/rolling.go). Each sync takes one
// step and returns; the sets' status changes bring the Deployment back:
// 1. grow the new set, keeping all pods ≤ replicas + maxSurge;
// 2. else shrink old sets, keeping available pods ≥ replicas − maxUnavailable
//    (first sets' unavailable pods, which cost no availability, oldest set
//    first; then available ones);
// 3. once complete, prune old revisions.
import type { Deployment, ReplicaSet } from '../framework/types.ts';
import { syncRolloutStatus } from './progress.ts';
import { cleanupDeployment, getAllReplicaSetsAndSyncRevision, scaleReplicaSetAndRecordEvent, type SyncContext } from './sync.ts';
import {
  availableReplicaCount, byCreation, deploymentComplete, desiredReplicas, filterActive, maxUnavailable, newRSNewReplicas, replicaCount, specReplicas,
} from './util.ts';

export async function rolloutRolling(ctx: SyncContext, d: Deployment, sets: readonly ReplicaSet[]): Promise<void> {
  const { newRS, oldRSs } = await getAllReplicaSetsAndSyncRevision(ctx, d, sets, true);
  const allRSs = [...oldRSs, newRS];
  if (await reconcileNewReplicaSet(ctx, allRSs, newRS!, d)) {
    await syncRolloutStatus(ctx, allRSs, newRS, d);
    return;
  }
  if (await reconcileOldReplicaSets(ctx, allRSs, filterActive(oldRSs), newRS!, d)) {
    await syncRolloutStatus(ctx, allRSs, newRS, d);
    return;
  }
  if (deploymentComplete(d, d.status ?? {})) await cleanupDeployment(ctx, oldRSs, d);
  await syncRolloutStatus(ctx, allRSs, newRS, d);
}

async function reconcileNewReplicaSet(ctx: SyncContext, allRSs: readonly (ReplicaSet | undefined)[], newRS: ReplicaSet, d: Deployment): Promise<boolean> {
  const desired = desiredReplicas(d);
  if (specReplicas(newRS) === desired) return false;
  // Larger than wanted (the Deployment shrank): straight down, no budget applies.
  if (specReplicas(newRS) > desired) return (await scaleReplicaSetAndRecordEvent(ctx, newRS, desired, d)).scaled;
  return (await scaleReplicaSetAndRecordEvent(ctx, newRS, newRSNewReplicas(d, allRSs, newRS), d)).scaled;
}

async function reconcileOldReplicaSets(ctx: SyncContext, allRSs: (ReplicaSet | undefined)[], oldRSs: ReplicaSet[], newRS: ReplicaSet, d: Deployment): Promise<boolean> {
  if (replicaCount(oldRSs) === 0) return false;
  const allPods = replicaCount(allRSs);
  const minAvailable = desiredReplicas(d) - maxUnavailable(d);
  const newUnavailable = specReplicas(newRS) - (newRS.status?.availableReplicas ?? 0);
  // Pods we may remove now: everything above the availability floor, not counting new pods still starting.
  const maxScaledDown = allPods - minAvailable - newUnavailable;
  if (maxScaledDown <= 0) return false;
  const { cleaned, sets } = await cleanupUnhealthyReplicas(ctx, oldRSs, d, maxScaledDown);
  const scaledDown = await scaleDownOldReplicaSets(ctx, [...sets, newRS], sets, d);
  return cleaned + scaledDown > 0;
}

/** Remove old sets' unavailable pods first (oldest set first): they cost no availability. */
async function cleanupUnhealthyReplicas(ctx: SyncContext, oldRSs: ReplicaSet[], d: Deployment, maxCleanup: number): Promise<{ cleaned: number; sets: ReplicaSet[] }> {
  const sets = [...oldRSs].sort(byCreation);
  let cleaned = 0;
  for (let i = 0; i < sets.length && cleaned < maxCleanup; i++) {
    const rs = sets[i];
    const unavailable = specReplicas(rs) - (rs.status?.availableReplicas ?? 0);
    if (specReplicas(rs) === 0 || unavailable <= 0) continue;
    const count = Math.min(maxCleanup - cleaned, unavailable);
    sets[i] = (await scaleReplicaSetAndRecordEvent(ctx, rs, specReplicas(rs) - count, d)).rs;
    cleaned += count;
  }
  return { cleaned, sets };
}

/** Then available old pods, down to the availability floor, oldest set first. */
async function scaleDownOldReplicaSets(ctx: SyncContext, allRSs: readonly ReplicaSet[], oldRSs: ReplicaSet[], d: Deployment): Promise<number> {
  const minAvailable = desiredReplicas(d) - maxUnavailable(d);
  const available = availableReplicaCount(allRSs);
  if (available <= minAvailable) return 0;
  const budget = available - minAvailable;
  let scaledDown = 0;
  for (const rs of [...oldRSs].sort(byCreation)) {
    if (scaledDown >= budget) break;
    if (specReplicas(rs) === 0) continue;
    const count = Math.min(specReplicas(rs), budget - scaledDown);
    await scaleReplicaSetAndRecordEvent(ctx, rs, specReplicas(rs) - count, d);
    scaledDown += count;
  }
  return scaledDown;
}
