// Pods nominated to nodes by preemption (status.nominatedNodeName) while they
// wait for their victims to leave. The framework counts them on their node so
// that other pods of lower priority do not take the freed room.
import type { Nominator } from './framework/interface.ts';
import { PodInfo } from './framework/pod-info.ts';
import type { Pod } from './framework/types.ts';

export class Nominations implements Nominator {
  private readonly byNode = new Map<string, Map<string, PodInfo>>();
  private readonly nodeOf = new Map<string, string>();

  hasNominatedPods(): boolean {
    return this.nodeOf.size > 0;
  }

  nominatedPodsForNode(nodeName: string): readonly PodInfo[] {
    return [...(this.byNode.get(nodeName)?.values() ?? [])];
  }

  /** Track the pod's nomination (a bound pod has none). */
  update(pod: Pod): void {
    const uid = pod.metadata.uid ?? `${pod.metadata.namespace}/${pod.metadata.name}`;
    const nominated = pod.spec?.nodeName ? undefined : pod.status?.nominatedNodeName;
    this.remove(pod);
    if (!nominated) return;
    let pods = this.byNode.get(nominated);
    if (!pods) this.byNode.set(nominated, (pods = new Map()));
    pods.set(uid, new PodInfo(pod));
    this.nodeOf.set(uid, nominated);
  }

  remove(pod: Pod): void {
    const uid = pod.metadata.uid ?? `${pod.metadata.namespace}/${pod.metadata.name}`;
    const node = this.nodeOf.get(uid);
    if (node === undefined) return;
    this.nodeOf.delete(uid);
    const pods = this.byNode.get(node);
    pods?.delete(uid);
    if (pods?.size === 0) this.byNode.delete(node);
  }
}
