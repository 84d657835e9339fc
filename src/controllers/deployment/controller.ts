// The Deployment controller: a ReplicaSet per pod template, rolled from old
// to new by the Deployment's strategy.
//
// sync(key), after upstream's syncDeployment:
// - claim ReplicaSets by controllerRef (adopt matching orphans, release
//   ours that stopped matching);
// - being deleted: status only; paused: record it, resize only; resized
//   (a set's desired-replicas annotation disagrees): resize proportionally;
// - otherwise roll: Recreate or RollingUpdate, one step per sync.
// The ReplicaSet controller does the pods; this one only sizes sets and
// watches their status, so its handlers follow ReplicaSets (and, for
// Recreate, pod deletions: the new set waits for the last old pod to go).
import type { Informer } from '../../client/informer.ts';
import { splitKey } from '../../client/cache.ts';
import { resources } from '../../client/interface.ts';
import { selectorFromLabelSelector, type LabelSelector } from '../../api/selectors/index.ts';
import { Controller, type ControllerOptions } from '../framework/controller.ts';
import { claimObjects, getControllerOf, recheckOwner, resolveControllerRef } from '../framework/controller-ref.ts';
import type { Deployment, Pod, ReplicaSet } from '../framework/types.ts';
import { checkPausedConditions } from './progress.ts';
import { rolloutRecreate, type PodsBySet } from './recreate.ts';
import { rolloutRolling } from './rolling.ts';
import { deploymentsResource, isScalingEvent, replicaSetsResource, syncScaleOnly, syncStatusOnly, writeStatus, type SyncContext } from './sync.ts';

const sameLabels = (a: Record<string, string> | undefined, b: Record<string, string> | undefined) =>
  JSON.stringify(Object.entries(a ?? {}).sort()) === JSON.stringify(Object.entries(b ?? {}).sort());

export class DeploymentController extends Controller {
  readonly name = 'deployment';
  protected readonly component = 'deployment-controller';
  private readonly deployments: Informer<Deployment>;
  private readonly replicaSets: Informer<ReplicaSet>;
  private readonly pods: Informer<Pod>;

  constructor(options: ControllerOptions) {
    super(options);
    this.deployments = this.watch<Deployment>(deploymentsResource, {
      onAdd: (d) => this.enqueue(d),
      onUpdate: (_old, d) => this.enqueue(d),
      onDelete: (d) => this.enqueue(d),
    });
    this.replicaSets = this.watch<ReplicaSet>(replicaSetsResource, {
      onAdd: (rs) => this.onReplicaSetAdded(rs),
      onUpdate: (old, rs) => this.onReplicaSetUpdated(old, rs),
      onDelete: (rs) => this.enqueueOwner(rs),
    });
    this.pods = this.watch<Pod>(resources.pods, {
      onDelete: (pod) => this.onPodDeleted(pod),
    });
  }

  // ---- handlers: only keys ---------------------------------------------------

  private ownerOf(rs: ReplicaSet): Deployment | undefined {
    return resolveControllerRef({
      ref: getControllerOf(rs), kind: 'Deployment', group: 'apps',
      lookup: (name) => this.deployments.lister.get(rs.metadata.namespace, name),
    });
  }

  private enqueueOwner(rs: ReplicaSet): void {
    const d = this.ownerOf(rs);
    if (d) this.enqueue(d);
  }

  /** Deployments whose selector matches an orphan set: one of them may adopt it. */
  private deploymentsMatching(rs: ReplicaSet): Deployment[] {
    return this.deployments.lister.list(rs.metadata.namespace ?? '').filter((d) => {
      try {
        const selector = selectorFromLabelSelector(d.spec?.selector);
        return !selector.isEmpty() && selector.matches(rs.metadata.labels);
      } catch {
        return false;
      }
    });
  }

  private onReplicaSetAdded(rs: ReplicaSet): void {
    if (getControllerOf(rs)) {
      this.enqueueOwner(rs);
      return;
    }
    for (const d of this.deploymentsMatching(rs)) this.enqueue(d);
  }

  private onReplicaSetUpdated(old: ReplicaSet, rs: ReplicaSet): void {
    if (old.metadata.resourceVersion === rs.metadata.resourceVersion) return;
    const oldRef = getControllerOf(old);
    const ref = getControllerOf(rs);
    const refChanged = oldRef?.uid !== ref?.uid;
    if (refChanged && oldRef) this.enqueueOwner(old);
    if (ref) {
      this.enqueueOwner(rs);
      return;
    }
    if (refChanged || !sameLabels(old.metadata.labels, rs.metadata.labels)) for (const d of this.deploymentsMatching(rs)) this.enqueue(d);
  }

  /** Recreate waits for old pods to be gone; their deletion is the signal to go on. */
  private onPodDeleted(pod: Pod): void {
    const rs = resolveControllerRef({
      ref: getControllerOf(pod), kind: 'ReplicaSet', group: 'apps',
      lookup: (name) => this.replicaSets.lister.get(pod.metadata.namespace, name),
    });
    const d = rs && this.ownerOf(rs);
    if (d?.spec.strategy?.type === 'Recreate') this.enqueue(d);
  }

  // ---- sync --------------------------------------------------------------------

  private context(): SyncContext {
    return {
      client: this.client,
      recorder: this.recorder,
      replicaSets: this.replicaSets.lister,
      now: this.now,
      logger: this.logger,
      enqueueAfter: (d, ms) => this.enqueueAfter(d, ms),
      enqueueRateLimited: (d) => this.enqueueRateLimited(d),
    };
  }

  protected async sync(key: string): Promise<void> {
    const [namespace, name] = splitKey(key);
    const cached = this.deployments.lister.get(namespace, name);
    if (!cached) return;
    const d: Deployment = structuredClone(cached);
    d.status ??= {};
    const ctx = this.context();

    let selector: LabelSelector;
    try {
      selector = selectorFromLabelSelector(d.spec.selector);
    } catch (error) {
      this.logger.warn(`deployment: ${key} has an invalid selector: ${(error as Error).message}`);
      return;
    }
    if (selector.isEmpty()) {
      this.recorder.record({ object: d, type: 'Warning', reason: 'SelectingAll', message: 'This deployment is selecting all pods. A non-empty selector is required.' });
      if ((d.status.observedGeneration ?? 0) < (d.metadata.generation ?? 0)) {
        d.status.observedGeneration = d.metadata.generation;
        await writeStatus(ctx, d);
      }
      return;
    }

    const sets = await claimObjects({
      client: this.client, resource: replicaSetsResource, owner: cached, selector,
      objects: this.replicaSets.lister.list(namespace),
      canAdopt: recheckOwner({ client: this.client, ref: { ...deploymentsResource, namespace, name }, owner: cached }),
    });
    if (d.metadata.deletionTimestamp) return syncStatusOnly(ctx, d, sets);

    await checkPausedConditions(ctx, d);
    if (d.spec.paused) return syncScaleOnly(ctx, d, sets);
    if (isScalingEvent(d, sets)) return syncScaleOnly(ctx, d, sets);
    if (d.spec.strategy?.type === 'Recreate') return rolloutRecreate(ctx, d, sets, this.podsBySet(d, selector, sets));
    return rolloutRolling(ctx, d, sets);
  }

  /** The Deployment's pods grouped by the set that controls them (Recreate waits on these). */
  private podsBySet(d: Deployment, selector: LabelSelector, sets: readonly ReplicaSet[]): PodsBySet {
    const map: PodsBySet = new Map(sets.map((rs) => [rs.metadata.uid!, []]));
    for (const pod of this.pods.lister.list(d.metadata.namespace)) {
      if (!selector.matches(pod.metadata.labels)) continue;
      const ref = getControllerOf(pod);
      if (ref) map.get(ref.uid)?.push(pod);
    }
    return map;
  }
}
