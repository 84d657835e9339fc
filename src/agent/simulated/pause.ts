// Pausing a hollow node's heartbeats from outside, to play a node failure:
//
//   kubectl label node sim-1 skiff.dev/simulated-heartbeat=paused     # the kubelet "loses" the API server
//   kubectl label node sim-1 skiff.dev/simulated-heartbeat-           # and finds it again
//
// While paused, the node renews no Lease and posts no status, so the node
// lifecycle controller marks it Unknown and taints it unreachable; its pods
// are still served (deletions finished), as a partitioned kubelet would
// once it reconnects. A label (not an annotation) so the simulation watches
// only the paused nodes: one small watch, however many nodes there are.
import { createInformer, type Informer } from '../../client/informer.ts';
import { resources, type ApiClient, type KubeObject } from '../../client/interface.ts';

export const HEARTBEAT_LABEL = 'skiff.dev/simulated-heartbeat';
export const HEARTBEAT_PAUSED = 'paused';

export interface PauseWatchOptions {
  client: ApiClient;
  /** Called with true when a node gets the label, false when it loses it (or is deleted). */
  setPaused: (nodeName: string, paused: boolean) => void;
  warn: (message: string) => void;
}

export function watchPausedNodes(options: PauseWatchOptions): Informer<KubeObject> {
  const informer = createInformer<KubeObject>({
    client: options.client,
    ref: resources.nodes,
    labelSelector: `${HEARTBEAT_LABEL}=${HEARTBEAT_PAUSED}`,
    logger: { warn: options.warn },
  });
  informer.addEventHandler({
    onAdd: (node) => options.setPaused(node.metadata.name!, true),
    // A node that stops matching the selector arrives as a deletion.
    onDelete: (node) => options.setPaused(node.metadata.name!, false),
  });
  informer.start();
  return informer;
}
