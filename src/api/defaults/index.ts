// Server-side defaulting: the values Kubernetes fills in when an object is
// created or updated (upstream runs the same defaulters on every decode).
// Pure and in place; admission-time values (pod priority, service account,
// preemption policy from a PriorityClass) and allocations (cluster IPs, node
// ports, names, UIDs) belong to the API server, not here.
import {
  type CoreDefaultOptions, defaultEndpoints, defaultLimitRange, defaultNamespace, defaultNode, defaultPV, defaultPVC,
  defaultPod, defaultPodTemplateObject, defaultReplicationController, defaultSecret, defaultService,
} from './core.ts';
import {
  defaultCronJob, defaultDaemonSet, defaultDeployment, defaultJob, defaultReplicaSet, defaultStatefulSet,
} from './workloads.ts';
import {
  defaultAdmissionPolicy, defaultCRD, defaultCSIDriver, defaultEndpointSlice, defaultFlowSchema, defaultHPA,
  defaultNetworkPolicy, defaultPriorityClass, defaultPriorityLevel, defaultRoleBinding, defaultStorageClass,
  defaultWebhookConfiguration,
} from './other.ts';

export { generateJobSelector } from './workloads.ts';
export { preserveServiceAllocations } from './core.ts';
export { defaultPullPolicy, imageTag } from './pod.ts';

export interface ApplyDefaultsOptions extends CoreDefaultOptions {
  group: string;
  version: string;
  kind: string;
  object: any;
  /** Defaults to 'create'; a few create-time values (the namespace finalizer) must not come back on update. */
  operation?: 'create' | 'update';
}

type Defaulter = (obj: any, options: ApplyDefaultsOptions) => void;

const defaulters: Record<string, Defaulter> = {
  '/Pod': defaultPod,
  '/PodTemplate': defaultPodTemplateObject,
  '/ReplicationController': defaultReplicationController,
  '/Service': (o, opts) => defaultService(o, opts),
  '/Namespace': (o, opts) => defaultNamespace(o, opts),
  '/Secret': defaultSecret,
  '/PersistentVolumeClaim': defaultPVC,
  '/PersistentVolume': defaultPV,
  '/Endpoints': defaultEndpoints,
  '/Node': defaultNode,
  '/LimitRange': defaultLimitRange,
  'apps/Deployment': defaultDeployment,
  'apps/ReplicaSet': defaultReplicaSet,
  'apps/DaemonSet': defaultDaemonSet,
  'apps/StatefulSet': defaultStatefulSet,
  'batch/Job': defaultJob,
  'batch/CronJob': defaultCronJob,
  'networking.k8s.io/NetworkPolicy': defaultNetworkPolicy,
  'discovery.k8s.io/EndpointSlice': defaultEndpointSlice,
  'storage.k8s.io/StorageClass': defaultStorageClass,
  'storage.k8s.io/CSIDriver': defaultCSIDriver,
  'scheduling.k8s.io/PriorityClass': defaultPriorityClass,
  'autoscaling/HorizontalPodAutoscaler': (o, opts) => defaultHPA(o, opts.version),
  'rbac.authorization.k8s.io/RoleBinding': defaultRoleBinding,
  'rbac.authorization.k8s.io/ClusterRoleBinding': defaultRoleBinding,
  'admissionregistration.k8s.io/ValidatingWebhookConfiguration': (o) => defaultWebhookConfiguration(o, false),
  'admissionregistration.k8s.io/MutatingWebhookConfiguration': (o) => defaultWebhookConfiguration(o, true),
  'admissionregistration.k8s.io/ValidatingAdmissionPolicy': defaultAdmissionPolicy,
  'admissionregistration.k8s.io/MutatingAdmissionPolicy': defaultAdmissionPolicy,
  'apiextensions.k8s.io/CustomResourceDefinition': defaultCRD,
  'flowcontrol.apiserver.k8s.io/FlowSchema': defaultFlowSchema,
  'flowcontrol.apiserver.k8s.io/PriorityLevelConfiguration': defaultPriorityLevel,
};

/** Fills in the defaults of `object` (a parsed JSON object of the given kind) in place. */
export function applyDefaults(options: ApplyDefaultsOptions): void {
  const { object } = options;
  if (typeof object !== 'object' || object === null || Array.isArray(object)) return;
  defaulters[`${options.group}/${options.kind}`]?.(object, options);
}
