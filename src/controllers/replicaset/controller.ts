// The ReplicaSet (and ReplicationController) controller: keep N pods.
//
// sync(key), after upstream's syncReplicaSet:
// 1. The ReplicaSet from the cache (gone: forget its expectations, done).
// 2. Its active pods: those in the namespace, not finished, not being
//    deleted, claimed by controllerRef (adopt matching orphans, release ours
//    that stopped matching).
// 3. If the cache is trustworthy (expectations satisfied) and the
//    ReplicaSet is not being deleted: create the missing pods in slow-start
//    batches, or delete the surplus, least valuable first.
// 4. Recompute status from the pods and write it when it changed; when
//    pods are ready but not yet available (minReadySeconds), come back then.
import { isNotFound, resources, type KubeObject } from '../../client/interface.ts';
import type { Informer } from '../../client/informer.ts';
import { splitKey } from '../../client/cache.ts';
import { Controller, type ControllerOptions } from '../framework/controller.ts';
import { claimObjects, getControllerOf, newControllerRef, recheckOwner, resolveControllerRef } from '../framework/controller-ref.ts';
import { Expectations } from '../framework/expectations.ts';
import { CONTROLLER_UID_INDEX } from '../framework/informers.ts';
import { isPodActive, isPodReady, podsToDelete } from '../framework/pods.ts';
import { slowStartBatch } from '../framework/slow-start.ts';
import { keyOf, type Pod, type ReplicaSet } from '../framework/types.ts';
import type { ReplicaKind } from './kinds.ts';
import { calculateStatus, statusChanged } from './status.ts';

/** At most this many pods are created or deleted in one sync (upstream's burstReplicas). */
export const BURST_REPLICAS = 500;

export interface ReplicaSetControllerOptions extends ControllerOptions {
  kind: ReplicaKind;
  /** Expectations time-to-live (default 5 minutes). */
  expectationsTtlMs?: number;
}

const sameLabels = (a: Record<string, string> | undefined, b: Record<string, string> | undefined) =>
  JSON.stringify(Object.entries(a ?? {}).sort()) === JSON.stringify(Object.entries(b ?? {}).sort());

/** A create refused because the namespace is going away: nothing to retry, nothing to report. */
const isNamespaceTerminating = (error: unknown) => /because it is being terminated/.test((error as Error)?.message ?? '')
  || ((error as { status?: { details?: { causes?: { type?: string }[] } } })?.status?.details?.causes ?? []).some((c) => c.type === 'NamespaceTerminating');

export class ReplicaSetController extends Controller {
  readonly name: string;
  protected readonly component: string;
  readonly expectations: Expectations;
  private readonly kind: ReplicaKind;
  private readonly sets: Informer<ReplicaSet>;
  private readonly pods: Informer<Pod>;

  constructor(options: ReplicaSetControllerOptions) {
    super(options);
    this.kind = options.kind;
    this.name = options.kind.controllerName;
    this.component = options.kind.component;
    this.expectations = new Expectations({ ttlMs: options.expectationsTtlMs });
    this.sets = this.watch<ReplicaSet>(this.kind.resource, {
      onAdd: (rs) => this.enqueue(rs),
      onUpdate: (old, rs) => {
        // Deleted and recreated under the same name between two events: the old one's pods wait for nothing.
        if (old.metadata.uid !== rs.metadata.uid) this.onSetDeleted(old);
        this.enqueue(rs);
      },
      onDelete: (rs) => this.onSetDeleted(rs),
    });
    this.pods = this.watch<Pod>(resources.pods, {
      onAdd: (pod) => this.onPodAdded(pod),
      onUpdate: (old, pod) => this.onPodUpdated(old, pod),
      onDelete: (pod) => this.onPodDeleted(pod),
    });
  }

  // ---- handlers: only keys ---------------------------------------------------

  private onSetDeleted(rs: ReplicaSet): void {
    this.expectations.delete(keyOf(rs));
    this.enqueue(rs);
  }

  /** The ReplicaSet of ours that controls the pod, if any. */
  private ownerOf(pod: Pod): ReplicaSet | undefined {
    return resolveControllerRef({
      ref: getControllerOf(pod), kind: this.kind.kind, group: this.kind.group,
      lookup: (name) => this.sets.lister.get(pod.metadata.namespace, name),
    });
  }

  /** ReplicaSets whose selector matches an orphan pod: one of them may adopt it. */
  private setsMatching(pod: Pod): ReplicaSet[] {
    return this.sets.lister.list(pod.metadata.namespace ?? '').filter((rs) => {
      try {
        const selector = this.kind.selectorOf(rs);
        return !selector.isEmpty() && selector.matches(pod.metadata.labels);
      } catch {
        return false;
      }
    });
  }

  private onPodAdded(pod: Pod): void {
    if (pod.metadata.deletionTimestamp) {
      // Restarted controller seeing a pod already being deleted: it must not count as a creation.
      this.onPodDeleted(pod);
      return;
    }
    if (getControllerOf(pod)) {
      const rs = this.ownerOf(pod);
      if (!rs) return;
      this.expectations.creationObserved(keyOf(rs));
      this.enqueue(rs);
      return;
    }
    for (const rs of this.setsMatching(pod)) this.enqueue(rs);
  }

  private onPodUpdated(old: Pod, pod: Pod): void {
    if (old.metadata.resourceVersion === pod.metadata.resourceVersion) return;
    const labelsChanged = !sameLabels(old.metadata.labels, pod.metadata.labels);
    if (pod.metadata.deletionTimestamp) {
      // Marked for deletion: the owner can replace it now rather than after the grace period.
      this.onPodDeleted(pod);
      if (labelsChanged) this.onPodDeleted(old);
      return;
    }
    const oldRef = getControllerOf(old);
    const ref = getControllerOf(pod);
    const refChanged = oldRef?.uid !== ref?.uid;
    if (refChanged && oldRef) {
      const previous = this.ownerOf(old);
      if (previous) this.enqueue(previous);
    }
    if (ref) {
      const rs = this.ownerOf(pod);
      if (!rs) return;
      this.enqueue(rs);
      // Ready now, available only after minReadySeconds: look again then.
      const minReady = rs.spec.minReadySeconds ?? 0;
      if (minReady > 0 && !isPodReady(old) && isPodReady(pod)) this.enqueueAfter(rs, minReady * 1000 + 1000);
      return;
    }
    if (labelsChanged || refChanged) for (const rs of this.setsMatching(pod)) this.enqueue(rs);
  }

  private onPodDeleted(pod: Pod): void {
    const rs = this.ownerOf(pod);
    if (!rs) return;
    const key = keyOf(rs);
    this.expectations.deletionObserved(key, keyOf(pod));
    this.enqueue(key);
  }

  // ---- sync --------------------------------------------------------------------

  protected async sync(key: string): Promise<void> {
    const [namespace, name] = splitKey(key);
    const cached = this.sets.lister.get(namespace, name);
    if (!cached) {
      this.expectations.delete(key);
      return;
    }
    const needsSync = this.expectations.satisfied(key);
    let selector;
    try {
      selector = this.kind.selectorOf(cached);
    } catch (error) {
      // Validation keeps bad selectors out; retrying cannot fix one.
      this.logger.warn(`${this.name}: ${key} has an invalid selector: ${(error as Error).message}`);
      return;
    }
    if (selector.isEmpty() || selector.matchesNothing) {
      this.logger.warn(`${this.name}: ${key} has an empty selector; not managing pods`);
      return;
    }
    const active = this.pods.lister.list(namespace).filter(isPodActive);
    const pods = await claimObjects({
      client: this.client, resource: resources.pods, owner: cached, selector, objects: active,
      canAdopt: recheckOwner({ client: this.client, ref: { ...this.kind.resource, namespace, name }, owner: cached }),
    });

    let manageError: unknown;
    if (needsSync && !cached.metadata.deletionTimestamp) {
      try {
        await this.manageReplicas(cached, pods);
      } catch (error) {
        manageError = error;
      }
    }

    const rs: ReplicaSet = structuredClone(cached);
    const status = calculateStatus({ rs, pods, manageError, now: this.now() });
    let current: ReplicaSet = rs;
    if (statusChanged(rs, status)) {
      current = await this.client.update<ReplicaSet>({ ...this.kind.resource, namespace, name, subresource: 'status' }, { ...rs, status });
    }
    const minReady = current.spec.minReadySeconds ?? 0;
    const replicas = current.spec.replicas ?? 1;
    if (manageError === undefined && minReady > 0 && (current.status?.readyReplicas ?? 0) === replicas && (current.status?.availableReplicas ?? 0) !== replicas) {
      this.enqueueAfter(key, minReady * 1000);
    }
    if (manageError !== undefined) throw manageError;
  }

  /** Create or delete pods so that `pods.length` becomes spec.replicas (at most BURST_REPLICAS at a time). */
  private async manageReplicas(rs: ReplicaSet, pods: readonly Pod[]): Promise<void> {
    const key = keyOf(rs);
    const diff = pods.length - (rs.spec.replicas ?? 1);
    if (diff < 0) {
      const count = Math.min(-diff, BURST_REPLICAS);
      // Expect them before creating: the informer may report a new pod before create() returns.
      this.expectations.expectCreations(key, count);
      const { successes, error } = await slowStartBatch(count, 1, () => this.createPod(rs));
      // Creations never attempted (or failed) will never be observed.
      for (let i = successes; i < count; i++) this.expectations.creationObserved(key);
      if (error !== undefined) throw error;
    } else if (diff > 0) {
      const victims = podsToDelete(pods, this.relatedPods(rs), Math.min(diff, BURST_REPLICAS), this.now());
      this.expectations.expectDeletions(key, victims.map(keyOf));
      const results = await Promise.allSettled(victims.map((pod) => this.deletePod(rs, pod)));
      let firstError: unknown;
      results.forEach((result, i) => {
        if (result.status === 'fulfilled') return;
        // A failed delete will never be observed; a pod already gone was observed (or will be).
        this.expectations.deletionObserved(key, keyOf(victims[i]));
        if (!isNotFound(result.reason)) firstError ??= result.reason;
      });
      if (firstError !== undefined) throw firstError;
    }
  }

  /**
   * The pods of every ReplicaSet with the same controller (a Deployment's
   * old and new ReplicaSets), so scale-down thins out crowded nodes first.
   */
  private relatedPods(rs: ReplicaSet): Pod[] {
    const owner = getControllerOf(rs);
    const family = owner ? this.sets.lister.byIndex(CONTROLLER_UID_INDEX, owner.uid) : [];
    const uids = new Set([rs.metadata.uid!, ...family.map((r) => r.metadata.uid!)]);
    return [...uids].flatMap((uid) => this.pods.lister.byIndex(CONTROLLER_UID_INDEX, uid));
  }

  private async createPod(rs: ReplicaSet): Promise<void> {
    const template = rs.spec.template ?? {};
    const meta = template.metadata ?? {};
    const namespace = rs.metadata.namespace!;
    const labels = { ...(meta.labels ?? {}) };
    const metadata: KubeObject['metadata'] = { generateName: `${rs.metadata.name}-`, namespace, labels, ownerReferences: [newControllerRef(rs)] };
    if (meta.annotations && Object.keys(meta.annotations).length) metadata.annotations = { ...meta.annotations };
    if (meta.finalizers?.length) metadata.finalizers = [...meta.finalizers];
    try {
      if (!Object.keys(labels).length) throw new Error('unable to create pods, no labels');
      const pod = await this.client.create({ ...resources.pods, namespace }, { apiVersion: 'v1', kind: 'Pod', metadata, spec: structuredClone(template.spec ?? {}) });
      this.recorder.record({ object: rs, type: 'Normal', reason: 'SuccessfulCreate', message: `Created pod: ${pod.metadata.name}` });
    } catch (error) {
      if (isNamespaceTerminating(error)) {
        // Counted as done (nothing to retry), but no pod will ever be observed for it.
        this.expectations.creationObserved(keyOf(rs));
        return;
      }
      this.recorder.record({ object: rs, type: 'Warning', reason: 'FailedCreate', message: `Error creating: ${(error as Error).message}` });
      throw error;
    }
  }

  private async deletePod(rs: ReplicaSet, pod: Pod): Promise<void> {
    try {
      await this.client.delete({ ...resources.pods, namespace: pod.metadata.namespace, name: pod.metadata.name }, { preconditions: { uid: pod.metadata.uid } });
      this.recorder.record({ object: rs, type: 'Normal', reason: 'SuccessfulDelete', message: `Deleted pod: ${pod.metadata.name}` });
    } catch (error) {
      if (!isNotFound(error)) this.recorder.record({ object: rs, type: 'Warning', reason: 'FailedDelete', message: `Error deleting: ${(error as Error).message}` });
      throw error;
    }
  }
}
