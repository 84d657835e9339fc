// Rollout progress (upstream's deployment/progress.go): the Progressing
// condition says whether a rollout is moving (ReplicaSetUpdated, refreshed
// on every step forward), done (NewReplicaSetAvailable) or stuck past
// progressDeadlineSeconds (False, ProgressDeadlineExceeded — `kubectl
// rollout status` fails on it). Nothing ever wakes a stuck Deployment, so it
// requeues itself for the moment its deadline would pass.
import type { Deployment, ReplicaSet, WorkloadCondition } from '../framework/types.ts';
import { calculateStatus, sameStatus, writeStatus, type SyncContext } from './sync.ts';
import {
  PROGRESSING, REPLICA_FAILURE, deploymentComplete, deploymentProgressing, deploymentTimedOut, getCondition, hasProgressDeadline,
  newCondition, reasons, removeCondition, setCondition,
} from './util.ts';

const subject = (d: Deployment, newRS: ReplicaSet | undefined) => (newRS ? `ReplicaSet "${newRS.metadata.name}"` : `Deployment "${d.metadata.name}"`);

/** A ReplicaFailure of the new set (else of any set) becomes the Deployment's. */
function replicaFailure(allRSs: readonly (ReplicaSet | undefined)[], newRS: ReplicaSet | undefined): WorkloadCondition | undefined {
  const fromSet = (rs: ReplicaSet | undefined) => rs?.status?.conditions?.find((c) => c.type === REPLICA_FAILURE);
  const found = fromSet(newRS) ?? allRSs.map(fromSet).find(Boolean);
  if (!found) return undefined;
  return { ...found, lastUpdateTime: found.lastTransitionTime, lastTransitionTime: found.lastTransitionTime };
}

export async function syncRolloutStatus(ctx: SyncContext, allRSs: readonly (ReplicaSet | undefined)[], newRS: ReplicaSet | undefined, d: Deployment): Promise<void> {
  const now = ctx.now();
  const status = calculateStatus(allRSs, newRS, d, now);
  if (!hasProgressDeadline(d)) removeCondition(status, PROGRESSING);
  const current = getCondition(d.status, PROGRESSING);
  const alreadyComplete = (status.replicas ?? 0) === (status.updatedReplicas ?? 0) && current?.reason === reasons.newReplicaSetAvailable;
  if (hasProgressDeadline(d) && !alreadyComplete) {
    if (deploymentComplete(d, status)) {
      setCondition(status, newCondition(PROGRESSING, 'True', reasons.newReplicaSetAvailable, `${subject(d, newRS)} has successfully progressed.`, now));
    } else if (deploymentProgressing(d, status)) {
      // Progress refreshes lastUpdateTime (the deadline counts from it); the transition time stays while it is True.
      const condition = newCondition(PROGRESSING, 'True', reasons.replicaSetUpdated, `${subject(d, newRS)} is progressing.`, now);
      if (current?.status === 'True') condition.lastTransitionTime = current.lastTransitionTime;
      removeCondition(status, PROGRESSING);
      setCondition(status, condition);
    } else if (deploymentTimedOut(d, status, now)) {
      setCondition(status, newCondition(PROGRESSING, 'False', reasons.timedOut, `${subject(d, newRS)} has timed out progressing.`, now));
    }
  }
  const failure = replicaFailure(allRSs, newRS);
  if (failure) setCondition(status, failure);
  else removeCondition(status, REPLICA_FAILURE);

  if (sameStatus(d.status, status)) {
    requeueStuckDeployment(ctx, d, status);
    return;
  }
  d.status = status;
  await writeStatus(ctx, d);
}

/** Come back when the progress deadline passes, if the rollout is still under way then. */
function requeueStuckDeployment(ctx: SyncContext, d: Deployment, status: NonNullable<Deployment['status']>): void {
  const current = getCondition(d.status, PROGRESSING);
  if (!hasProgressDeadline(d) || !current) return;
  if (deploymentComplete(d, status) || current.reason === reasons.timedOut) return;
  const after = Date.parse(current.lastUpdateTime ?? '') + d.spec.progressDeadlineSeconds! * 1000 - ctx.now().getTime();
  if (!Number.isFinite(after)) return;
  // Within a second of the deadline: the second-resolution timestamps make an exact wake-up pointless.
  if (after < 1000) ctx.enqueueRateLimited(d);
  else ctx.enqueueAfter(d, after);
}

/**
 * A paused Deployment says so (Progressing Unknown, DeploymentPaused), and a
 * resumed one too, so time spent paused never counts against the deadline.
 */
export async function checkPausedConditions(ctx: SyncContext, d: Deployment): Promise<void> {
  if (!hasProgressDeadline(d)) return;
  d.status ??= {};
  const current = getCondition(d.status, PROGRESSING);
  if (current?.reason === reasons.timedOut) return;
  const pausedShown = current?.reason === reasons.paused;
  if (d.spec.paused && !pausedShown) {
    setCondition(d.status, newCondition(PROGRESSING, 'Unknown', reasons.paused, 'Deployment is paused', ctx.now()));
  } else if (!d.spec.paused && pausedShown) {
    setCondition(d.status, newCondition(PROGRESSING, 'Unknown', reasons.resumed, 'Deployment is resumed', ctx.now()));
  } else {
    return;
  }
  await writeStatus(ctx, d);
}
