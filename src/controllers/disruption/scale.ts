// The expected number of pods of a budget whose size is relative (a
// percentage minAvailable, or maxUnavailable): the sum of the scales of the
// controllers of its pods, each controller counted once, as upstream's
// getExpectedScale. Known workload kinds are read from the informer caches
// (a Deployment's pods count by the Deployment's replicas, not their
// ReplicaSet's); any other controller through its scale subresource.
import { builtinKinds } from '../../api/registry.ts';
import type { Lister } from '../../client/cache.ts';
import { isNotFound, type ApiClient, type KubeObject, type OwnerReference } from '../../client/interface.ts';
import { getControllerOf, groupOf } from '../framework/controller-ref.ts';
import type { Pod } from '../framework/types.ts';

interface Scaled extends KubeObject {
  spec?: { replicas?: number; [field: string]: unknown };
}

export interface ScaleSources {
  client: ApiClient;
  replicationControllers: Lister<Scaled>;
  replicaSets: Lister<Scaled>;
  deployments: Lister<Scaled>;
  statefulSets: Lister<Scaled>;
}

export interface ExpectedScale {
  expectedPods: number;
  /** Selected pods without a controller (upstream warns, and leaves them out). */
  unmanagedPods: string[];
}

interface ControllerScale {
  uid: string;
  replicas: number;
}

type Finder = (sources: ScaleSources, ref: OwnerReference, namespace: string) => Promise<ControllerScale | undefined> | ControllerScale | undefined;

const replicasOf = (obj: Scaled) => obj.spec?.replicas ?? 1;

const isKind = (ref: OwnerReference, kind: string, groups: readonly string[]) => ref.kind === kind && groups.includes(groupOf(ref.apiVersion));

/** The cached object the reference names, if it is that very object (same uid). */
function cached(lister: Lister<Scaled>, namespace: string, ref: OwnerReference): Scaled | undefined {
  const obj = lister.get(namespace, ref.name);
  return obj && obj.metadata.uid === ref.uid ? obj : undefined;
}

const replicationController: Finder = (s, ref, namespace) => {
  if (!isKind(ref, 'ReplicationController', [''])) return undefined;
  const rc = cached(s.replicationControllers, namespace, ref);
  return rc && { uid: rc.metadata.uid!, replicas: replicasOf(rc) };
};

const deployment: Finder = (s, ref, namespace) => {
  if (!isKind(ref, 'ReplicaSet', ['apps', 'extensions'])) return undefined;
  const rs = cached(s.replicaSets, namespace, ref);
  const owner = rs && getControllerOf(rs);
  if (!owner || !isKind(owner, 'Deployment', ['apps', 'extensions'])) return undefined;
  const d = cached(s.deployments, namespace, owner);
  return d && { uid: d.metadata.uid!, replicas: replicasOf(d) };
};

const replicaSet: Finder = (s, ref, namespace) => {
  if (!isKind(ref, 'ReplicaSet', ['apps', 'extensions'])) return undefined;
  const rs = cached(s.replicaSets, namespace, ref);
  // One controlled by a Deployment is counted through the Deployment.
  if (!rs || getControllerOf(rs)?.kind === 'Deployment') return undefined;
  return { uid: rs.metadata.uid!, replicas: replicasOf(rs) };
};

const statefulSet: Finder = (s, ref, namespace) => {
  if (!isKind(ref, 'StatefulSet', ['apps'])) return undefined;
  const set = cached(s.statefulSets, namespace, ref);
  return set && { uid: set.metadata.uid!, replicas: replicasOf(set) };
};

/** Any other controller: its scale subresource (an error when the kind is unknown or has none). */
const scaleSubresource: Finder = async (s, ref, namespace) => {
  const slash = ref.apiVersion.indexOf('/');
  const group = slash < 0 ? '' : ref.apiVersion.slice(0, slash);
  const version = slash < 0 ? ref.apiVersion : ref.apiVersion.slice(slash + 1);
  const resource = builtinKinds().lookupKind(group, version, ref.kind);
  if (!resource) throw new Error(`no matches for kind "${ref.kind}" in version "${ref.apiVersion}"`);
  const qualified = resource.group ? `${resource.plural}.${resource.group}` : resource.plural;
  if (!resource.subresources.scale) throw new Error(`${qualified} does not implement the scale subresource`);
  try {
    const scale = await s.client.get<Scaled>({ group, version, resource: resource.plural, namespace, name: ref.name, subresource: 'scale' });
    return scale.metadata.uid === ref.uid ? { uid: ref.uid, replicas: scale.spec?.replicas ?? 0 } : undefined;
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
};

const finders: readonly Finder[] = [replicationController, deployment, replicaSet, statefulSet, scaleSubresource];

/** Sum of the scales of the pods' controllers; throws when a pod's controller cannot be found. */
export async function expectedScale(sources: ScaleSources, pods: readonly Pod[]): Promise<ExpectedScale> {
  const scales = new Map<string, number>();
  const unmanagedPods: string[] = [];
  for (const pod of pods) {
    const ref = getControllerOf(pod);
    if (!ref) {
      unmanagedPods.push(pod.metadata.name!);
      continue;
    }
    if (scales.has(ref.uid)) continue;
    let found: ControllerScale | undefined;
    for (const finder of finders) {
      found = await finder(sources, ref, pod.metadata.namespace ?? '');
      if (found) break;
    }
    if (!found) throw new Error(`found no controllers for pod "${pod.metadata.name}"`);
    scales.set(found.uid, found.replicas);
  }
  let expectedPods = 0;
  for (const replicas of scales.values()) expectedPods += replicas;
  return { expectedPods, unmanagedPods };
}
