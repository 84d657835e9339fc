// Pods by spec.nodeName, kept from a pod informer's events (upstream adds a
// nodeName indexer to the shared pod informer; ours index only by owner).
// The node controllers ask "which pods are on node X" on every node change
// and health pass; scanning every pod each time would not scale.
import type { Lister } from '../../client/cache.ts';
import type { InformerEventHandler } from '../../client/informer.ts';
import type { Pod } from '../framework/types.ts';
import { keyOf } from '../framework/types.ts';

export class PodsByNode {
  private readonly keysByNode = new Map<string, Set<string>>();
  private readonly nodeOfKey = new Map<string, string>();
  private lister: Lister<Pod> | undefined;

  /** Handlers to register on the pod informer (before any other handler that reads this index). */
  readonly handler: InformerEventHandler<Pod> = {
    onAdd: (pod) => this.set(pod),
    onUpdate: (_old, pod) => this.set(pod),
    onDelete: (pod) => this.unset(keyOf(pod)),
  };

  bind(lister: Lister<Pod>): void {
    this.lister = lister;
  }

  /** The cached pods bound to `nodeName`. */
  podsOn(nodeName: string): Pod[] {
    const keys = this.keysByNode.get(nodeName);
    if (!keys || !this.lister) return [];
    const pods: Pod[] = [];
    for (const key of keys) {
      const pod = this.lister.getByKey(key);
      if (pod?.spec?.nodeName === nodeName) pods.push(pod);
    }
    return pods;
  }

  private set(pod: Pod): void {
    const key = keyOf(pod);
    const nodeName = pod.spec?.nodeName ?? '';
    if (this.nodeOfKey.get(key) === nodeName) return;
    this.unset(key);
    if (!nodeName) return;
    this.nodeOfKey.set(key, nodeName);
    let keys = this.keysByNode.get(nodeName);
    if (!keys) this.keysByNode.set(nodeName, (keys = new Set()));
    keys.add(key);
  }

  private unset(key: string): void {
    const nodeName = this.nodeOfKey.get(key);
    if (nodeName === undefined) return;
    this.nodeOfKey.delete(key);
    const keys = this.keysByNode.get(nodeName);
    keys?.delete(key);
    if (keys?.size === 0) this.keysByNode.delete(nodeName);
  }
}
