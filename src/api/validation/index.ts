// Semantic validation of API objects (what upstream's strategies run before a
// write): metadata for every kind, then per-kind rules, then update rules when
// the stored object is given. Pure: the caller turns the FieldErrors into a
// 422 Status with formatInvalidMessage/statusCauses.
import { loadSchemaFacts } from '../schema/facts.ts';
import type { FieldError } from './errors.ts';
import { validateObjectMeta, validateObjectMetaUpdate } from './meta.ts';
import { nameIsDNS1035Label, nameIsDNSLabel, nameIsDNSSubdomain, nameIsPathSegment, type NameValidator } from './names.ts';
import { validatePodObject, validatePodUpdate } from './pod.ts';
import { validateService, validateServiceUpdate, type ServiceOptions } from './services.ts';
import {
  validateConfigMap, validateConfigMapUpdate, validateEndpoints, validateNamespace, validateNode, validateNodeUpdate,
  validatePodTemplate, validatePVC, validatePVCObjectUpdate, validateReplicationController, validateSecret,
  validateSecretUpdate,
} from './core.ts';
import {
  validateControllerRevision, validateControllerRevisionUpdate, validateDaemonSet, validateDaemonSetUpdate,
  validateDeployment, validateDeploymentUpdate, validateReplicaSet, validateReplicaSetUpdate, validateStatefulSet,
  validateStatefulSetUpdate,
} from './apps.ts';
import { validateCronJob, validateJob, validateJobUpdate } from './batch.ts';
import { validateLimitRange } from './limit-range.ts';
import {
  validateHorizontalPodAutoscaler, validateIngress, validateNetworkPolicy, validatePodDisruptionBudget,
  validatePriorityClass, validatePriorityClassUpdate, validateRoleBinding, validateRoleBindingUpdate,
  validateStorageClass, validateStorageClassUpdate,
} from './other.ts';

export type { FieldError, FieldErrorType } from './errors.ts';
export { errorBody, formatFieldError, formatInvalidMessage, statusCauses } from './errors.ts';
export { validateAgainstSchema, strictDecodingMessage, unknownFieldWarning, type SchemaResult } from './schema.ts';
export type { ServiceOptions } from './services.ts';

export interface ValidateObjectOptions extends ServiceOptions {
  group: string;
  version: string;
  kind: string;
  object: any;
  /** The stored object, for updates: immutability rules apply. */
  oldObject?: any;
  /** Scope of kinds the schema facts do not know (custom resources); built-in kinds use the facts. */
  namespaced?: boolean;
}

type Check = (obj: any) => FieldError[];
type UpdateCheck = (obj: any, old: any) => FieldError[];

interface KindRules {
  /** How metadata.name is checked (DNS-1123 subdomain when absent). */
  name?: NameValidator;
  /** Kinds with no stored object (reviews) skip metadata validation. */
  noMetadata?: boolean;
  create?: Check;
  /** Update rules; when absent the create rules are re-run on update. */
  update?: UpdateCheck;
}

const rules: Record<string, KindRules> = {
  '/Pod': { create: validatePodObject, update: (p, old) => validatePodUpdate(p, old) },
  '/Service': { name: nameIsDNS1035Label },
  '/Namespace': { name: nameIsDNSLabel, create: validateNamespace },
  '/ConfigMap': { create: validateConfigMap, update: validateConfigMapUpdate },
  '/Secret': { create: validateSecret, update: validateSecretUpdate },
  '/PersistentVolumeClaim': { create: validatePVC, update: validatePVCObjectUpdate },
  '/PodTemplate': { create: validatePodTemplate },
  '/ReplicationController': { create: validateReplicationController },
  '/Node': { create: validateNode, update: validateNodeUpdate },
  '/Endpoints': { create: validateEndpoints },
  '/LimitRange': { create: validateLimitRange },
  '/Binding': { noMetadata: true },
  'apps/Deployment': { create: validateDeployment, update: validateDeploymentUpdate },
  'apps/ReplicaSet': { create: validateReplicaSet, update: validateReplicaSetUpdate },
  'apps/DaemonSet': { create: validateDaemonSet, update: validateDaemonSetUpdate },
  'apps/StatefulSet': { create: validateStatefulSet, update: validateStatefulSetUpdate },
  'apps/ControllerRevision': { create: validateControllerRevision, update: validateControllerRevisionUpdate },
  'batch/Job': { create: validateJob, update: validateJobUpdate },
  'batch/CronJob': { create: (cj) => validateCronJob(cj), update: (cj, old) => validateCronJob(cj, { oldObject: old }) },
  'scheduling.k8s.io/PriorityClass': { create: validatePriorityClass, update: validatePriorityClassUpdate },
  'storage.k8s.io/StorageClass': { create: validateStorageClass, update: validateStorageClassUpdate },
  'policy/PodDisruptionBudget': { create: validatePodDisruptionBudget },
  'autoscaling/HorizontalPodAutoscaler': { create: validateHorizontalPodAutoscaler },
  'networking.k8s.io/Ingress': { create: validateIngress },
  'networking.k8s.io/NetworkPolicy': { create: validateNetworkPolicy },
  // RBAC names may contain ':' (system:controller:…): any valid path segment is allowed.
  'rbac.authorization.k8s.io/Role': { name: nameIsPathSegment },
  'rbac.authorization.k8s.io/ClusterRole': { name: nameIsPathSegment },
  'rbac.authorization.k8s.io/RoleBinding': { name: nameIsPathSegment, create: validateRoleBinding, update: validateRoleBindingUpdate },
  'rbac.authorization.k8s.io/ClusterRoleBinding': { name: nameIsPathSegment, create: validateRoleBinding, update: validateRoleBindingUpdate },
  // Review requests are never stored and have no meaningful metadata.
  'authentication.k8s.io/TokenReview': { noMetadata: true },
  'authentication.k8s.io/TokenRequest': { noMetadata: true },
  'authentication.k8s.io/SelfSubjectReview': { noMetadata: true },
  'authorization.k8s.io/SubjectAccessReview': { noMetadata: true },
  'authorization.k8s.io/SelfSubjectAccessReview': { noMetadata: true },
  'authorization.k8s.io/LocalSubjectAccessReview': { noMetadata: true },
  'authorization.k8s.io/SelfSubjectRulesReview': { noMetadata: true },
  // IPAddress objects are named by the address itself (IPv6 has ':').
  'networking.k8s.io/IPAddress': { name: () => [] },
};

let scopeIndex: Map<string, boolean> | undefined;

/** Whether the facts know `group/Kind` as namespaced (undefined for unknown kinds). */
function factsNamespaced(group: string, kind: string): boolean | undefined {
  if (!scopeIndex) {
    scopeIndex = new Map();
    for (const r of loadSchemaFacts().resources) scopeIndex.set(`${r.group}/${r.kind}`, r.namespaced);
  }
  return scopeIndex.get(`${group}/${kind}`);
}

/**
 * All semantic errors for a create (or an update when `oldObject` is given).
 * Metadata first, then the kind's rules, in upstream's order where known.
 */
export function validateObject(options: ValidateObjectOptions): FieldError[] {
  const { group, kind, object, oldObject } = options;
  const kindRules = rules[`${group}/${kind}`] ?? {};
  const errs: FieldError[] = [];
  if (!kindRules.noMetadata) {
    const namespaced = factsNamespaced(group, kind) ?? options.namespaced ?? true;
    if (oldObject) {
      errs.push(...validateObjectMetaUpdate({ meta: object?.metadata, oldMeta: oldObject.metadata }));
    } else {
      errs.push(...validateObjectMeta({ meta: object?.metadata ?? {}, namespaced, nameValidator: kindRules.name ?? nameIsDNSSubdomain }));
    }
  }
  if (group === '' && kind === 'Service') {
    // Update rules (allocated IPs) come before the shape checks, as upstream orders them.
    if (oldObject) errs.push(...validateServiceUpdate(object ?? {}, oldObject));
    errs.push(...validateService(object ?? {}, options));
    return errs;
  }
  if (oldObject && kindRules.update) {
    // Pod updates re-validate metadata themselves (upstream order), so drop the duplicate.
    if (group === '' && kind === 'Pod') return kindRules.update(object ?? {}, oldObject);
    errs.push(...kindRules.update(object ?? {}, oldObject));
  } else if (kindRules.create) {
    errs.push(...kindRules.create(object ?? {}));
  }
  return errs;
}
