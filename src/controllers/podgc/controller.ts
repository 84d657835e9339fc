// The pod garbage collector (kube-controller-manager's "podgc"). Every pass
// (upstream: 20 s) it force-deletes, with grace period 0:
// - terminated pods (Succeeded/Failed) beyond --terminated-pod-gc-threshold,
//   evicted ones first, then oldest first;
// - terminating pods on a node that is not ready and carries the
//   node.kubernetes.io/out-of-service taint (the node is known to be down:
//   its kubelet will never finish them);
// - orphans: pods bound to a node that does not exist, once the node has
//   been missing for a quarantine period (40 s; a node the cache has not
//   caught up with yet must not cost pods) and a GET confirms it is gone —
//   these get a DisruptionTarget condition (DeletionByPodGC);
// - terminating pods that were never scheduled.
// Pods not yet finished are marked phase Failed first, so their owners
// (Jobs) count them, as no kubelet will ever report on them.
import type { Informer } from '../../client/informer.ts';
import { isNotFound, resources } from '../../client/interface.ts';
import { Controller, type ControllerOptions } from '../framework/controller.ts';
import type { Pod, PodCondition } from '../framework/types.ts';
import { forEachLimited } from '../nodelifecycle/parallel.ts';
import { isNodeReady, TAINT_OUT_OF_SERVICE } from '../nodelifecycle/taints.ts';
import type { NodeObject } from '../nodelifecycle/types.ts';
import { addConditionAndDeletePod } from '../tainteviction/evict.ts';

const GC_KEY = 'gc';
/** Deletions in flight at once. */
const DELETE_PARALLELISM = 16;

export const PODGC_DEFAULTS = Object.freeze({ terminatedPodThreshold: 12_500, periodMs: 20_000, quarantineMs: 40_000 });

const isTerminated = (pod: Pod) => !['Pending', 'Running', 'Unknown'].includes(pod.status?.phase ?? 'Pending');
const isEvicted = (pod: Pod) => pod.status?.phase === 'Failed' && pod.status?.reason === 'Evicted';

/** Evicted first, then by creation time, then by name (upstream's byEvictionAndCreationTimestamp). */
export function gcOrder(a: Pod, b: Pod): number {
  if (isEvicted(a) !== isEvicted(b)) return isEvicted(a) ? -1 : 1;
  const ta = a.metadata.creationTimestamp ?? '';
  const tb = b.metadata.creationTimestamp ?? '';
  if (ta !== tb) return Date.parse(ta) - Date.parse(tb);
  return (a.metadata.name ?? '') < (b.metadata.name ?? '') ? -1 : 1;
}

export class PodGcController extends Controller {
  readonly name = 'podgc';
  protected readonly component = 'pod-garbage-collector';
  private readonly pods: Informer<Pod>;
  private readonly nodes: Informer<NodeObject>;
  private readonly threshold: number;
  private readonly periodMs: number;
  private readonly quarantineMs: number;
  /** Missing node name → when it was first seen missing (controller time). */
  private readonly missingSince = new Map<string, number>();

  constructor(options: ControllerOptions) {
    super(options);
    this.threshold = options.tuning?.terminatedPodGcThreshold ?? PODGC_DEFAULTS.terminatedPodThreshold;
    this.periodMs = options.tuning?.podGcPeriodMs ?? PODGC_DEFAULTS.periodMs;
    this.quarantineMs = options.tuning?.podGcQuarantineMs ?? PODGC_DEFAULTS.quarantineMs;
    // The pass reads the caches; no handler needs to wake it.
    this.pods = this.watch<Pod>(resources.pods, {});
    this.nodes = this.watch<NodeObject>(resources.nodes, {});
    this.enqueue(GC_KEY);
  }

  protected async sync(key: string): Promise<void> {
    if (key !== GC_KEY) return;
    try {
      await this.gc();
    } finally {
      this.enqueueAfter(GC_KEY, this.periodMs);
    }
  }

  private async gc(): Promise<void> {
    const pods = this.pods.lister.list();
    if (this.threshold > 0) await this.gcTerminated(pods);
    await this.gcTerminatingOutOfService(pods);
    await this.gcOrphaned(pods);
    await this.gcUnscheduledTerminating(pods);
  }

  private async gcTerminated(pods: readonly Pod[]): Promise<void> {
    const terminated = pods.filter(isTerminated);
    const excess = terminated.length - this.threshold;
    if (excess <= 0) return;
    this.logger.info(`podgc: deleting ${excess} terminated pods beyond the threshold of ${this.threshold}`);
    await this.forceDeleteAll(terminated.sort(gcOrder).slice(0, excess));
  }

  private async gcTerminatingOutOfService(pods: readonly Pod[]): Promise<void> {
    const doomed = pods.filter((pod) => {
      if (!pod.metadata.deletionTimestamp || !pod.spec?.nodeName) return false;
      const node = this.nodes.lister.get(undefined, pod.spec.nodeName);
      return !!node && !isNodeReady(node) && (node.spec?.taints ?? []).some((t) => t.key === TAINT_OUT_OF_SERVICE);
    });
    await this.forceDeleteAll(doomed.sort(gcOrder));
  }

  private async gcOrphaned(pods: readonly Pod[]): Promise<void> {
    const now = this.now().getTime();
    const missing = new Set<string>();
    for (const pod of pods) {
      const nodeName = pod.spec?.nodeName;
      if (nodeName && !this.nodes.lister.get(undefined, nodeName)) missing.add(nodeName);
    }
    for (const name of this.missingSince.keys()) if (!missing.has(name)) this.missingSince.delete(name);
    const deleted = new Set<string>();
    for (const name of missing) {
      const since = this.missingSince.get(name);
      if (since === undefined) {
        this.missingSince.set(name, now);
        continue;
      }
      if (now - since < this.quarantineMs) continue;
      // The cache says gone for the whole quarantine; ask the API server to be sure.
      if (await this.nodeGone(name)) deleted.add(name);
    }
    if (!deleted.size) return;
    const condition: PodCondition = { type: 'DisruptionTarget', status: 'True', reason: 'DeletionByPodGC', message: 'PodGC: node no longer exists' };
    for (const pod of pods) {
      if (!deleted.has(pod.spec?.nodeName ?? '')) continue;
      this.logger.info(`podgc: deleting pod ${pod.metadata.namespace}/${pod.metadata.name}: its node ${pod.spec!.nodeName} no longer exists`);
      await this.forceDelete(pod, condition);
    }
  }

  private async gcUnscheduledTerminating(pods: readonly Pod[]): Promise<void> {
    await this.forceDeleteAll(pods.filter((pod) => pod.metadata.deletionTimestamp && !pod.spec?.nodeName));
  }

  private async nodeGone(name: string): Promise<boolean> {
    try {
      await this.client.get({ ...resources.nodes, name });
      return false;
    } catch (error) {
      if (isNotFound(error)) return true;
      this.logger.warn(`podgc: checking node ${name}: ${(error as Error)?.message ?? error}`);
      return false;
    }
  }

  private async forceDeleteAll(pods: readonly Pod[]): Promise<void> {
    await forEachLimited(pods, DELETE_PARALLELISM, (pod) => this.forceDelete(pod));
  }

  /** Mark the pod Failed (with `condition`, if any) unless it finished, then delete it with grace 0. */
  private async forceDelete(pod: Pod, condition?: PodCondition): Promise<void> {
    const key = `${pod.metadata.namespace}/${pod.metadata.name}`;
    try {
      await addConditionAndDeletePod({
        client: this.client,
        namespace: pod.metadata.namespace!,
        name: pod.metadata.name!,
        uid: pod.metadata.uid,
        condition,
        markFailed: true,
        gracePeriodSeconds: 0,
        now: this.now,
      });
    } catch (error) {
      this.logger.warn(`podgc: deleting pod ${key}: ${(error as Error)?.message ?? error}`);
    }
  }
}
