// Recreate (upstream's deployment/recreate.go): scale every old set to 0,
// wait until no old pod runs any more (terminating ones included: two
// versions must never run side by side), then create or grow the new set to
// full size at once.
import type { Deployment, Pod, ReplicaSet } from '../framework/types.ts';
import { syncRolloutStatus } from './progress.ts';
import { cleanupDeployment, getAllReplicaSetsAndSyncRevision, scaleReplicaSetAndRecordEvent, type SyncContext } from './sync.ts';
import { actualReplicaCount, deploymentComplete, desiredReplicas, filterActive } from './util.ts';

/** Pods of the Deployment's sets, by set uid. */
export type PodsBySet = Map<string, Pod[]>;

export async function rolloutRecreate(ctx: SyncContext, d: Deployment, sets: readonly ReplicaSet[], podsBySet: PodsBySet): Promise<void> {
  let { newRS, oldRSs } = await getAllReplicaSetsAndSyncRevision(ctx, d, sets, false);
  let allRSs = [...oldRSs, newRS];

  let scaledDown = false;
  for (const rs of filterActive(oldRSs)) {
    if ((await scaleReplicaSetAndRecordEvent(ctx, rs, 0, d)).scaled) scaledDown = true;
  }
  if (scaledDown || oldPodsRunning(newRS, oldRSs, podsBySet)) {
    await syncRolloutStatus(ctx, allRSs, newRS, d);
    return;
  }
  if (!newRS) {
    ({ newRS, oldRSs } = await getAllReplicaSetsAndSyncRevision(ctx, d, sets, true));
    allRSs = [...oldRSs, newRS];
  }
  await scaleReplicaSetAndRecordEvent(ctx, newRS!, desiredReplicas(d), d);
  if (deploymentComplete(d, d.status ?? {})) await cleanupDeployment(ctx, oldRSs, d);
  await syncRolloutStatus(ctx, allRSs, newRS, d);
}

/** Any old set still reporting pods, or any pod of an old set not finished (Unknown counts as running). */
function oldPodsRunning(newRS: ReplicaSet | undefined, oldRSs: readonly ReplicaSet[], podsBySet: PodsBySet): boolean {
  if (actualReplicaCount(oldRSs) > 0) return true;
  for (const [uid, pods] of podsBySet) {
    if (newRS && uid === newRS.metadata.uid) continue;
    if (pods.some((p) => p.status?.phase !== 'Failed' && p.status?.phase !== 'Succeeded')) return true;
  }
  return false;
}
