// The DaemonSet controller: one pod per eligible node.
//
// sync(key), after upstream's syncDaemonSet:
// 1. The DaemonSet from the cache (gone: forget its expectations, done).
// 2. Its revisions (claimed by controllerRef): the revision of the current
//    template is found or made; its hash labels new pods.
// 3. Its pods (claimed), grouped by the node each is on or pinned to.
// 4. If the cache is trustworthy (expectations met): create pods where they
//    are missing, delete those that must go (plan.ts), then, for
//    RollingUpdate, replace old pods within maxUnavailable / maxSurge;
//    prune old revisions.
// 5. Recompute status and write it when it changed.
//
// New pods are not bound here: each carries a required node affinity
// naming its node (metadata.name In [node]) and the scheduler binds it, so
// resources, ports and preemption are checked as for any pod.
import { selectorFromLabelSelector, type LabelSelector } from '../../api/selectors/index.ts';
import { splitKey } from '../../client/cache.ts';
import type { Informer } from '../../client/informer.ts';
import { isNotFound, resources, type KubeObject } from '../../client/interface.ts';
import { Controller, type ControllerOptions } from '../framework/controller.ts';
import { claimObjects, getControllerOf, newControllerRef, recheckOwner, resolveControllerRef } from '../framework/controller-ref.ts';
import { Expectations } from '../framework/expectations.ts';
import {
  CONTROLLER_REVISION_HASH_LABEL, controllerRevisionsResource, syncRevisions, truncateHistory, type ControllerRevision,
} from '../framework/history.ts';
import { isPodReady } from '../framework/pods.ts';
import { slowStartBatch } from '../framework/slow-start.ts';
import { keyOf, type Pod } from '../framework/types.ts';
import { nodeShouldRunDaemonPod, pinToNode, targetNodeOf, withDaemonTolerations, type Node } from './nodes.ts';
import {
  POD_TEMPLATE_GENERATION_LABEL, calculateStatus, daemonSetsResource, planManage, planRollingUpdate, statusChanged, templateGeneration,
  templateSpec, type DaemonSet, type NodePods,
} from './plan.ts';

/** At most this many pods are created, and this many deleted, in one sync (upstream's burstReplicas). */
export const BURST_REPLICAS = 250;

/** Backoff before replacing a failed daemon pod again on the same node: 1 s doubling to 15 min, as upstream. */
const FAILED_POD_BACKOFF = { initialMs: 1000, maxMs: 15 * 60_000 };

const isNamespaceTerminating = (error: unknown) => /because it is being terminated/.test((error as Error)?.message ?? '');

const sameLabels = (a: Record<string, string> | undefined, b: Record<string, string> | undefined) =>
  JSON.stringify(Object.entries(a ?? {}).sort()) === JSON.stringify(Object.entries(b ?? {}).sort());

export interface DaemonSetControllerOptions extends ControllerOptions {
  expectationsTtlMs?: number;
}

export class DaemonSetController extends Controller {
  readonly name = 'daemonset';
  protected readonly component = 'daemonset-controller';
  /** Creations and deletions are tracked apart: one sync may do both. */
  readonly creations: Expectations;
  readonly deletions: Expectations;
  private readonly sets: Informer<DaemonSet>;
  private readonly pods: Informer<Pod>;
  private readonly nodes: Informer<Node>;
  private readonly revisions: Informer<ControllerRevision>;
  private readonly failedBackoff = new Map<string, { delayMs: number; at: number }>();

  constructor(options: DaemonSetControllerOptions) {
    super(options);
    this.creations = new Expectations({ ttlMs: options.expectationsTtlMs });
    this.deletions = new Expectations({ ttlMs: options.expectationsTtlMs });
    this.sets = this.watch<DaemonSet>(daemonSetsResource, {
      onAdd: (ds) => this.enqueue(ds),
      onUpdate: (old, ds) => {
        if (old.metadata.uid !== ds.metadata.uid) this.forget(keyOf(old));
        this.enqueue(ds);
      },
      onDelete: (ds) => {
        this.forget(keyOf(ds));
        this.enqueue(ds);
      },
    });
    this.pods = this.watch<Pod>(resources.pods, {
      onAdd: (pod) => this.onPodAdded(pod),
      onUpdate: (old, pod) => this.onPodUpdated(old, pod),
      onDelete: (pod) => this.onPodDeleted(pod),
    });
    this.nodes = this.watch<Node>(resources.nodes, {
      onAdd: (node) => this.onNodeChanged(undefined, node),
      onUpdate: (old, node) => this.onNodeChanged(old, node),
      // Its pods must go (see planManage): every set looks again.
      onDelete: () => { for (const ds of this.sets.lister.list()) this.enqueue(ds); },
    });
    this.revisions = this.watch<ControllerRevision>(controllerRevisionsResource, {
      onDelete: (cr) => { const ds = this.ownerOf(cr); if (ds) this.enqueue(ds); },
    });
  }

  private forget(key: string): void {
    this.creations.delete(key);
    this.deletions.delete(key);
  }

  // ---- handlers: only keys ---------------------------------------------------

  private ownerOf(obj: KubeObject): DaemonSet | undefined {
    return resolveControllerRef({
      ref: getControllerOf(obj), kind: 'DaemonSet', group: 'apps',
      lookup: (name) => this.sets.lister.get(obj.metadata.namespace, name),
    });
  }

  private setsMatching(pod: Pod): DaemonSet[] {
    return this.sets.lister.list(pod.metadata.namespace ?? '').filter((ds) => {
      try {
        const selector = selectorFromLabelSelector(ds.spec.selector);
        return !selector.isEmpty() && selector.matches(pod.metadata.labels);
      } catch {
        return false;
      }
    });
  }

  private onPodAdded(pod: Pod): void {
    if (pod.metadata.deletionTimestamp) {
      this.onPodDeleted(pod);
      return;
    }
    if (getControllerOf(pod)) {
      const ds = this.ownerOf(pod);
      if (!ds) return;
      this.creations.creationObserved(keyOf(ds));
      this.enqueue(ds);
      return;
    }
    for (const ds of this.setsMatching(pod)) this.enqueue(ds);
  }

  private onPodUpdated(old: Pod, pod: Pod): void {
    if (old.metadata.resourceVersion === pod.metadata.resourceVersion) return;
    if (pod.metadata.deletionTimestamp) {
      this.onPodDeleted(pod);
      return;
    }
    const oldRef = getControllerOf(old);
    const ref = getControllerOf(pod);
    if (oldRef && oldRef.uid !== ref?.uid) {
      const previous = this.ownerOf(old);
      if (previous) this.enqueue(previous);
    }
    if (ref) {
      const ds = this.ownerOf(pod);
      if (!ds) return;
      this.enqueue(ds);
      // Ready now, available only after minReadySeconds: look again then.
      const minReady = ds.spec.minReadySeconds ?? 0;
      if (minReady > 0 && !isPodReady(old) && isPodReady(pod)) this.enqueueAfter(ds, minReady * 1000 + 1000);
      return;
    }
    if (oldRef || !sameLabels(old.metadata.labels, pod.metadata.labels)) for (const ds of this.setsMatching(pod)) this.enqueue(ds);
  }

  private onPodDeleted(pod: Pod): void {
    const ds = this.ownerOf(pod);
    if (!ds) return;
    this.deletions.deletionObserved(keyOf(ds), keyOf(pod));
    this.enqueue(ds);
  }

  /** A node came, or its labels, taints or name-pinned placement may have changed: the sets it concerns look again. */
  private onNodeChanged(old: Node | undefined, node: Node): void {
    if (old && old.metadata.resourceVersion === node.metadata.resourceVersion) return;
    for (const ds of this.sets.lister.list()) {
      const spec = templateSpec(ds);
      const now = nodeShouldRunDaemonPod(node, spec);
      const before = old ? nodeShouldRunDaemonPod(old, spec) : { shouldRun: false, shouldContinueRunning: false };
      if (!old || now.shouldRun !== before.shouldRun || now.shouldContinueRunning !== before.shouldContinueRunning) this.enqueue(ds);
    }
  }

  // ---- sync --------------------------------------------------------------------

  protected async sync(key: string): Promise<void> {
    const [namespace, name] = splitKey(key);
    const cached = this.sets.lister.get(namespace, name);
    if (!cached) {
      this.forget(key);
      return;
    }
    let selector: LabelSelector;
    try {
      selector = selectorFromLabelSelector(cached.spec.selector);
    } catch (error) {
      this.logger.warn(`daemonset: ${key} has an invalid selector: ${(error as Error).message}`);
      return;
    }
    if (selector.isEmpty()) {
      this.recorder.record({ object: cached, type: 'Warning', reason: 'SelectingAll', message: 'This daemon set is selecting all pods. A non-empty selector is required.' });
      return;
    }
    // Being deleted: the garbage collector's turn; nothing to create, no status to keep.
    if (cached.metadata.deletionTimestamp) return;

    const ds: DaemonSet = structuredClone(cached);
    const ref = { ...daemonSetsResource, namespace, name };
    const canAdopt = recheckOwner({ client: this.client, ref, owner: cached });
    const owned = await claimObjects({
      client: this.client, resource: controllerRevisionsResource, owner: cached, selector,
      objects: this.revisions.lister.list(namespace), canAdopt,
    });
    const { update, revisions, collisionCount } = await syncRevisions({
      client: this.client, owner: cached, template: ds.spec.template, revisions: owned, collisionCount: ds.status?.collisionCount,
    });
    if (collisionCount !== (ds.status?.collisionCount ?? 0)) ds.status = { ...(ds.status ?? emptyStatus()), collisionCount };
    const hash = update.metadata.labels?.[CONTROLLER_REVISION_HASH_LABEL] ?? '';

    const nodes = this.nodes.lister.list();
    let nodePods = await this.nodePods(cached, selector, canAdopt);
    const trusted = this.creations.satisfied(key) && this.deletions.satisfied(key);
    let syncError: unknown;
    if (trusted) {
      try {
        const manage = planManage({ ds, nodes, nodePods, hash });
        const failed = manage.failedPods.filter(({ pod, node }) => this.mayReplaceFailed(ds, pod, node));
        const victims = [...manage.podsToDelete, ...failed.map((f) => f.pod), ...manage.orphanedPods];
        await this.syncNodes(ds, victims, manage.nodesNeedingPods, hash, new Set(manage.orphanedPods));
        if (ds.spec.updateStrategy?.type !== 'OnDelete' && this.creations.satisfied(key) && this.deletions.satisfied(key)) {
          nodePods = this.groupByNode(this.ownedPods(cached));
          const rolling = planRollingUpdate({ ds, nodes, nodePods, hash, now: this.now() });
          await this.syncNodes(ds, rolling.podsToDelete, rolling.nodesNeedingPods, hash);
        }
        await this.cleanupHistory(ds, revisions, update, nodePods);
      } catch (error) {
        syncError = error;
      }
    }

    const status = calculateStatus({ ds, nodes, nodePods: this.groupByNode(this.ownedPods(cached)), hash, now: this.now(), observe: trusted });
    if (statusChanged(cached.status, status)) {
      await this.client.update<DaemonSet>({ ...ref, subresource: 'status' }, { ...ds, status });
    }
    const minReady = ds.spec.minReadySeconds ?? 0;
    if (minReady > 0 && status.numberReady !== (status.numberAvailable ?? 0)) this.enqueueAfter(key, minReady * 1000);
    if (syncError !== undefined) throw syncError;
  }

  /** The set's pods from the cache (claimed: orphans adopted, ours that stopped matching released), by node. */
  private async nodePods(ds: DaemonSet, selector: LabelSelector, canAdopt: () => Promise<void>): Promise<NodePods> {
    // Pods already finished and being deleted are as good as gone.
    const candidates = this.pods.lister.list(ds.metadata.namespace).filter((p) => !(p.metadata.deletionTimestamp && isFinished(p)));
    const pods = await claimObjects({ client: this.client, resource: resources.pods, owner: ds, selector, objects: candidates, canAdopt });
    return this.groupByNode(pods);
  }

  /** Pods controlled by the set per the cache, without claiming (for re-reads within one sync). */
  private ownedPods(ds: DaemonSet): Pod[] {
    return this.pods.lister.list(ds.metadata.namespace)
      .filter((p) => getControllerOf(p)?.uid === ds.metadata.uid && !(p.metadata.deletionTimestamp && isFinished(p)));
  }

  private groupByNode(pods: readonly Pod[]): NodePods {
    const map: NodePods = new Map();
    for (const pod of pods) {
      const node = targetNodeOf(pod) ?? '';
      const list = map.get(node);
      if (list) list.push(pod);
      else map.set(node, [pod]);
    }
    return map;
  }

  /** Failed pods are replaced with per-node backoff: a kubelet that keeps rejecting the pod must not meet a hot loop. */
  private mayReplaceFailed(ds: DaemonSet, pod: Pod, node: string): boolean {
    const now = Date.now();
    const backoffKey = `${ds.metadata.uid}/${node}`;
    const entry = this.failedBackoff.get(backoffKey);
    if (entry && now - entry.at < entry.delayMs) {
      this.enqueueAfter(ds, entry.delayMs - (now - entry.at));
      return false;
    }
    // Entries idle for longer than the longest delay are stale.
    for (const [k, e] of this.failedBackoff) if (now - e.at > 2 * FAILED_POD_BACKOFF.maxMs) this.failedBackoff.delete(k);
    const delayMs = entry && now - entry.at < 2 * FAILED_POD_BACKOFF.maxMs ? Math.min(entry.delayMs * 2, FAILED_POD_BACKOFF.maxMs) : FAILED_POD_BACKOFF.initialMs;
    this.failedBackoff.set(backoffKey, { delayMs, at: now });
    this.recorder.record({
      object: ds, type: 'Warning', reason: 'FailedDaemonPod',
      message: `Found failed daemon pod ${pod.metadata.namespace}/${pod.metadata.name} on node ${node}, will try to kill it`,
    });
    return true;
  }

  /** Create pods on `nodes` (slow start) and delete `victims` (those in `force` without grace), at most BURST_REPLICAS each, under expectations. */
  private async syncNodes(ds: DaemonSet, victims: readonly Pod[], nodes: readonly string[], hash: string, force: ReadonlySet<Pod> = new Set()): Promise<void> {
    const key = keyOf(ds);
    const toCreate = nodes.slice(0, BURST_REPLICAS);
    const toDelete = victims.slice(0, BURST_REPLICAS);
    if (!toCreate.length && !toDelete.length) return;
    // Expect them before writing: the informer may report a new pod before create() returns.
    this.creations.expectCreations(key, toCreate.length);
    this.deletions.expectDeletions(key, toDelete.map(keyOf));
    let firstError: unknown;
    if (toCreate.length) {
      const { successes, error } = await slowStartBatch(toCreate.length, 1, (i) => this.createPod(ds, toCreate[i], hash));
      // Creations that failed or were never tried will never be observed.
      for (let i = successes; i < toCreate.length; i++) this.creations.creationObserved(key);
      firstError = error;
    }
    const results = await Promise.allSettled(toDelete.map((pod) => this.deletePod(ds, pod, force.has(pod))));
    results.forEach((result, i) => {
      if (result.status === 'fulfilled') return;
      this.deletions.deletionObserved(key, keyOf(toDelete[i]));
      if (!isNotFound(result.reason)) firstError ??= result.reason;
    });
    if (firstError !== undefined) throw firstError;
  }

  private async createPod(ds: DaemonSet, nodeName: string, hash: string): Promise<void> {
    const template = ds.spec.template ?? {};
    const meta = template.metadata ?? {};
    const namespace = ds.metadata.namespace!;
    const generation = templateGeneration(ds);
    const labels: Record<string, string> = { ...(meta.labels ?? {}), [CONTROLLER_REVISION_HASH_LABEL]: hash };
    if (generation !== undefined) labels[POD_TEMPLATE_GENERATION_LABEL] = String(generation);
    const metadata: KubeObject['metadata'] = { generateName: `${ds.metadata.name}-`, namespace, labels, ownerReferences: [newControllerRef(ds)] };
    if (meta.annotations && Object.keys(meta.annotations).length) metadata.annotations = { ...meta.annotations };
    if (meta.finalizers?.length) metadata.finalizers = [...meta.finalizers];
    const spec = structuredClone(templateSpec(ds));
    spec.tolerations = withDaemonTolerations(spec);
    spec.affinity = pinToNode(spec.affinity, nodeName);
    try {
      const pod = await this.client.create({ ...resources.pods, namespace }, { apiVersion: 'v1', kind: 'Pod', metadata, spec });
      this.recorder.record({ object: ds, type: 'Normal', reason: 'SuccessfulCreate', message: `Created pod: ${pod.metadata.name}` });
    } catch (error) {
      if (isNamespaceTerminating(error)) {
        this.creations.creationObserved(keyOf(ds));
        return;
      }
      this.recorder.record({ object: ds, type: 'Warning', reason: 'FailedCreate', message: `Error creating: ${(error as Error).message}` });
      throw error;
    }
  }

  private async deletePod(ds: DaemonSet, pod: Pod, force: boolean): Promise<void> {
    try {
      const grace = force ? { gracePeriodSeconds: 0 } : {};
      await this.client.delete({ ...resources.pods, namespace: pod.metadata.namespace, name: pod.metadata.name }, { ...grace, preconditions: { uid: pod.metadata.uid } });
      this.recorder.record({ object: ds, type: 'Normal', reason: 'SuccessfulDelete', message: `Deleted pod: ${pod.metadata.name}` });
    } catch (error) {
      if (!isNotFound(error)) this.recorder.record({ object: ds, type: 'Warning', reason: 'FailedDelete', message: `Error deleting: ${(error as Error).message}` });
      throw error;
    }
  }

  /** Keep revisionHistoryLimit unused revisions; those of the current template and of live pods stay. */
  private async cleanupHistory(ds: DaemonSet, revisions: readonly ControllerRevision[], update: ControllerRevision, nodePods: NodePods): Promise<void> {
    const liveHashes = new Set<string>();
    for (const pods of nodePods.values()) for (const p of pods) liveHashes.add(p.metadata.labels?.[CONTROLLER_REVISION_HASH_LABEL] ?? '');
    const live = new Set([update.metadata.name!, ...revisions.filter((r) => liveHashes.has(r.metadata.labels?.[CONTROLLER_REVISION_HASH_LABEL] ?? '\0')).map((r) => r.metadata.name!)]);
    await truncateHistory({ client: this.client, revisions, live, limit: ds.spec.revisionHistoryLimit ?? 10 });
  }
}

const isFinished = (pod: Pod) => pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';

const emptyStatus = () => ({ currentNumberScheduled: 0, numberMisscheduled: 0, desiredNumberScheduled: 0, numberReady: 0 });
