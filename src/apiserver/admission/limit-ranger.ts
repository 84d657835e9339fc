// LimitRanger admission: the LimitRanges of a namespace give new pods'
// containers their default requests and limits (mutating phase, with the
// kubernetes.io/limit-ranger annotation) and refuse pods and claims outside
// their min/max/ratio (validating phase), 403 with upstream's messages.
// Pod updates are not checked (containers' resources are immutable there).
import {
  aggregateMessage, applyLimitRangeDefaults, claimLimitViolations, podLimitViolations,
  type DefaultablePod, type LimitRangeLike,
} from '../../api/quota/index.ts';
import { errors } from '../errors.ts';
import { groupResource } from '../handlers/context.ts';
import { isCoreKind, type AdmissionAttributes, type AdmissionPlugin } from './chain.ts';
import { listPolicyObjects } from './object-lookup.ts';

async function limitRangesOf(attributes: AdmissionAttributes): Promise<readonly LimitRangeLike[]> {
  const resource = attributes.parts.registry.lookup('', 'v1', 'limitranges')!;
  return (await listPolicyObjects(attributes.parts.store, resource, attributes.namespace)) as readonly LimitRangeLike[];
}

/** Pods on create, claims on create and update; never subresources, nor objects being deleted. */
function applies(attributes: AdmissionAttributes): 'pod' | 'claim' | undefined {
  const { operation, namespace, object, oldObject } = attributes;
  if (!namespace || !object || oldObject?.metadata.deletionTimestamp) return undefined;
  if (isCoreKind(attributes, 'Pod') && operation === 'CREATE') return 'pod';
  if (isCoreKind(attributes, 'PersistentVolumeClaim') && (operation === 'CREATE' || operation === 'UPDATE')) return 'claim';
  return undefined;
}

/**
 * Upstream defaults a pod (requests from limits) when it is decoded, before
 * admission; here defaulting runs after the mutating phase, so do that one
 * step first: a container that names only a limit keeps it as its request
 * instead of getting the range's defaultRequest.
 */
function requestsFromLimits(pod: DefaultablePod): void {
  for (const c of [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])]) {
    const limits = c.resources?.limits;
    if (!limits) continue;
    const requests = (c.resources!.requests ??= {});
    for (const [name, value] of Object.entries(limits)) if (!(name in requests)) requests[name] = value;
  }
}

function refuse(attributes: AdmissionAttributes, problems: string[]): never {
  const meta = attributes.object!.metadata;
  throw errors.forbidden(groupResource(attributes.resource), meta.name || meta.generateName || '', aggregateMessage(problems));
}

export const limitRanger: AdmissionPlugin = {
  name: 'LimitRanger',
  async admit(attributes) {
    if (applies(attributes) !== 'pod') return;
    const ranges = await limitRangesOf(attributes);
    if (ranges.length === 0) return;
    const pod = attributes.object as DefaultablePod;
    requestsFromLimits(pod);
    for (const range of ranges) applyLimitRangeDefaults(range, pod);
  },
  async validate(attributes) {
    const kind = applies(attributes);
    if (!kind) return;
    const ranges = await limitRangesOf(attributes);
    for (const range of ranges) {
      const problems = kind === 'pod'
        ? podLimitViolations(range, attributes.object as DefaultablePod)
        : claimLimitViolations(range, attributes.object as { spec?: { resources?: { requests?: Record<string, string> } } });
      if (problems.length) refuse(attributes, problems);
    }
  },
};
