// Controller names → constructors, and the --controllers switch
// (`skiff server --controllers=*,-cronjob`), with kube-controller-manager's
// rules: "*" turns on every controller that is on by default, "name" turns
// one on, "-name" turns one off; an explicit name wins over "*" whatever
// the order. Names of upstream controllers that skiff has not built yet are
// accepted (so flags written for kube-controller-manager keep working) and
// simply run nothing. Registration is this explicit list, never an import
// side effect.
import type { ControllerOptions, RunningController } from './framework/controller.ts';
import { CronJobController } from './cronjob/controller.ts';
import { DaemonSetController } from './daemonset/controller.ts';
import { DeploymentController } from './deployment/controller.ts';
import { JobController } from './job/controller.ts';
import { TtlAfterFinishedController } from './job/ttlafterfinished.ts';
import { ReplicaSetController } from './replicaset/controller.ts';
import { replicaSetKind, replicationControllerKind } from './replicaset/kinds.ts';
import { StatefulSetController } from './statefulset/controller.ts';

export interface ControllerDescriptor {
  name: string;
  /** Off unless named explicitly (upstream: bootstrapsigner, tokencleaner). */
  disabledByDefault?: boolean;
  create(options: ControllerOptions): RunningController;
}

export const controllerDescriptors: readonly ControllerDescriptor[] = [
  { name: 'replicaset', create: (options) => new ReplicaSetController({ ...options, kind: replicaSetKind }) },
  { name: 'replicationcontroller', create: (options) => new ReplicaSetController({ ...options, kind: replicationControllerKind }) },
  { name: 'deployment', create: (options) => new DeploymentController(options) },
  { name: 'daemonset', create: (options) => new DaemonSetController(options) },
  { name: 'statefulset', create: (options) => new StatefulSetController(options) },
  { name: 'job', create: (options) => new JobController(options) },
  { name: 'cronjob', create: (options) => new CronJobController(options) },
  { name: 'ttl-after-finished', create: (options) => new TtlAfterFinishedController(options) },
];

/** kube-controller-manager's other controllers: valid in --controllers, not implemented (yet). */
export const PLANNED_CONTROLLERS: readonly string[] = [
  'attachdetach', 'bootstrapsigner', 'cloud-node-lifecycle', 'clusterrole-aggregation', 'csrapproving',
  'csrcleaner', 'csrsigning', 'disruption', 'endpoint', 'endpointslice', 'endpointslicemirroring',
  'ephemeral-volume', 'garbagecollector', 'horizontalpodautoscaling', 'legacy-serviceaccount-token-cleaner',
  'namespace', 'nodeipam', 'nodelifecycle', 'persistentvolume-binder', 'persistentvolume-expander', 'podgc',
  'pv-protection', 'pvc-protection', 'resourceclaim', 'resourcequota', 'root-ca-cert-publisher', 'route', 'service',
  'service-cidr', 'serviceaccount', 'serviceaccount-token', 'storage-version-gc',
  'storageversion-migrator', 'taint-eviction', 'tokencleaner', 'ttl',
  'validatingadmissionpolicy-status',
];

const disabledByDefault = () => new Set(['bootstrapsigner', 'tokencleaner', ...controllerDescriptors.filter((d) => d.disabledByDefault).map((d) => d.name)]);

/** Newer kube-controller-manager names carry a "-controller" suffix ("replicaset-controller"); both spellings work. */
const canonicalName = (name: string) => name.replace(/-controller$/, '');

function knownNames(): Set<string> {
  return new Set([...controllerDescriptors.map((d) => d.name), ...PLANNED_CONTROLLERS]);
}

/**
 * Parse and check a --controllers value: comma-separated "*", "name" or
 * "-name". Empty means "*". Throws on an unknown name. Returns the items
 * with names canonical.
 */
export function parseControllersFlag(value: string | undefined): string[] {
  const items = (value ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  if (items.length === 0) return ['*'];
  const known = knownNames();
  return items.map((item) => {
    if (item === '*') return item;
    const negated = item.startsWith('-');
    const name = canonicalName(negated ? item.slice(1) : item);
    if (!known.has(name)) throw new Error(`--controllers: "${negated ? item.slice(1) : item}" is not in the list of known controllers`);
    return negated ? `-${name}` : name;
  });
}

/** Whether `name` runs under the parsed --controllers items (kube-controller-manager's IsControllerEnabled). */
export function isControllerEnabled(name: string, items: readonly string[]): boolean {
  let star = false;
  for (const item of items) {
    if (item === name) return true;
    if (item === `-${name}`) return false;
    if (item === '*') star = true;
  }
  return star && !disabledByDefault().has(name);
}

/** The implemented controllers a --controllers value turns on, in registry order. */
export function enabledControllers(value: string | undefined): ControllerDescriptor[] {
  const items = parseControllersFlag(value);
  return controllerDescriptors.filter((d) => isControllerEnabled(d.name, items));
}
