// The admission plugins skiff runs, in kube-apiserver's order (its
// AllOrderedPlugins list): the order matters because later plugins see what
// earlier ones added (LimitRanger's defaults before ResourceQuota counts them).
import { AdmissionChain, type AdmissionPlugin } from './chain.ts';
import { namespaceLifecycle } from './namespace-lifecycle.ts';
import { priorityAdmission } from './priority.ts';

export function defaultAdmissionPlugins(): AdmissionPlugin[] {
  return [
    namespaceLifecycle,
    priorityAdmission,
  ];
}

export const defaultAdmissionChain = () => new AdmissionChain(defaultAdmissionPlugins());
