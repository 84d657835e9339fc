// The admission plugins skiff runs, in kube-apiserver's order (its
// AllOrderedPlugins list): the order matters because later plugins see what
// earlier ones added (LimitRanger's defaults before ResourceQuota counts them).
import { AdmissionChain, type AdmissionPlugin } from './chain.ts';
import { defaultStorageClass } from './default-storage-class.ts';
import { defaultTolerationSeconds } from './default-toleration-seconds.ts';
import { limitRanger } from './limit-ranger.ts';
import { namespaceLifecycle } from './namespace-lifecycle.ts';
import { priorityAdmission } from './priority.ts';
import { serviceAccountAdmission } from './service-account.ts';
import { resourceQuotaAdmission } from './resource-quota.ts';

export function defaultAdmissionPlugins(): AdmissionPlugin[] {
  return [
    namespaceLifecycle,
    limitRanger,
    serviceAccountAdmission,
    priorityAdmission,
    defaultTolerationSeconds,
    defaultStorageClass,
    // Last: it counts what every other plugin has set.
    resourceQuotaAdmission,
  ];
}

export const defaultAdmissionChain = () => new AdmissionChain(defaultAdmissionPlugins());
