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
import { DisruptionController } from './disruption/controller.ts';
import { EndpointController } from './endpoint/controller.ts';
import { EndpointSliceController } from './endpointslice/controller.ts';
import { GarbageCollector } from './garbagecollector/controller.ts';
import { HorizontalPodAutoscalerController } from './horizontalpodautoscaler/controller.ts';
import { JobController } from './job/controller.ts';
import { NodeLifecycleController } from './nodelifecycle/controller.ts';
import { PodGcController } from './podgc/controller.ts';
import { PersistentVolumeBinder } from './persistentvolume/binder.ts';
import { LocalPathProvisioner } from './persistentvolume/provisioner.ts';
import { NamespaceController } from './namespace/controller.ts';
import { TtlAfterFinishedController } from './job/ttlafterfinished.ts';
import { ReplicaSetController } from './replicaset/controller.ts';
import { ResourceQuotaController } from './resourcequota/controller.ts';
import { RootCaCertPublisher } from './root-ca-cert-publisher/controller.ts';
import { ServiceAccountsController } from './serviceaccount/controller.ts';
import { ServiceLbController } from './servicelb/controller.ts';
import { replicaSetKind, replicationControllerKind } from './replicaset/kinds.ts';
import { StatefulSetController } from './statefulset/controller.ts';
import { TaintEvictionController } from './tainteviction/controller.ts';

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
  { name: 'nodelifecycle', create: (options) => new NodeLifecycleController(options) },
  { name: 'taint-eviction', create: (options) => new TaintEvictionController(options) },
  { name: 'podgc', create: (options) => new PodGcController(options) },
  { name: 'resourcequota', create: (options) => new ResourceQuotaController(options) },
  { name: 'serviceaccount', create: (options) => new ServiceAccountsController(options) },
  { name: 'root-ca-cert-publisher', create: (options) => new RootCaCertPublisher(options) },
  { name: 'namespace', create: (options) => new NamespaceController(options) },
  { name: 'disruption', create: (options) => new DisruptionController(options) },
  { name: 'endpoint', create: (options) => new EndpointController(options) },
  { name: 'endpointslice', create: (options) => new EndpointSliceController(options) },
  { name: 'garbagecollector', create: (options) => new GarbageCollector(options) },
  { name: 'horizontalpodautoscaling', create: (options) => new HorizontalPodAutoscalerController(options) },
  { name: 'persistentvolume-binder', create: (options) => new PersistentVolumeBinder(options) },
  // Not a kube-controller-manager controller: k3s runs it as a Deployment; skiff runs it here.
  { name: 'local-path-provisioner', create: (options) => new LocalPathProvisioner(options) },
  // Not a kube-controller-manager controller: k3s's servicelb (status.loadBalancer of LoadBalancer Services and skiff Ingresses).
  { name: 'servicelb', create: (options) => new ServiceLbController(options) },
];

/** kube-controller-manager's other controllers: valid in --controllers, not implemented (yet). */
export const PLANNED_CONTROLLERS: readonly string[] = [
  'attachdetach', 'bootstrapsigner', 'cloud-node-lifecycle', 'clusterrole-aggregation', 'csrapproving',
  'csrcleaner', 'csrsigning', 'endpointslicemirroring',
  'ephemeral-volume', 'legacy-serviceaccount-token-cleaner',
  'nodeipam', 'persistentvolume-expander',
  'pv-protection', 'pvc-protection', 'resourceclaim', 'route', 'service',
  'service-cidr', 'serviceaccount-token', 'storage-version-gc',
  'storageversion-migrator', 'tokencleaner', 'ttl',
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
