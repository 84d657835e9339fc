// What some plugins read besides nodes and pods: PodDisruptionBudgets (for
// preemption) and the Services and controllers that select a pod (for
// PodTopologySpread's default constraints). Informer caches, read
// synchronously during a cycle.
import { createInformer, type Informer } from '../client/informer.ts';
import { resources, type ApiClient, type KubeObject } from '../client/interface.ts';
import type { DataProviders } from './framework/interface.ts';
import type { LabelSelected, MapSelected, PodDisruptionBudget } from './framework/types.ts';

export class ClusterData {
  readonly informers: Informer<KubeObject>[];
  readonly providers: DataProviders;

  constructor(client: ApiClient) {
    const watch = (ref: { group: string; version: string; resource: string }) => createInformer({ client, ref });
    const pdbs = watch(resources.podDisruptionBudgets);
    const services = watch(resources.services);
    const replicationControllers = watch({ group: '', version: 'v1', resource: 'replicationcontrollers' });
    const replicaSets = watch({ group: 'apps', version: 'v1', resource: 'replicasets' });
    const statefulSets = watch({ group: 'apps', version: 'v1', resource: 'statefulsets' });
    this.informers = [pdbs, services, replicationControllers, replicaSets, statefulSets];
    this.providers = {
      pdbs: () => pdbs.lister.list() as unknown as PodDisruptionBudget[],
      services: (namespace) => services.lister.list(namespace) as unknown as MapSelected[],
      replicationController: (namespace, name) => replicationControllers.lister.get(namespace, name) as unknown as MapSelected | undefined,
      replicaSet: (namespace, name) => replicaSets.lister.get(namespace, name) as unknown as LabelSelected | undefined,
      statefulSet: (namespace, name) => statefulSets.lister.get(namespace, name) as unknown as LabelSelected | undefined,
    };
  }
}
