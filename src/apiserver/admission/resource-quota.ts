// ResourceQuota admission (validating, last in the chain): a write that adds
// usage is checked against every quota of its namespace that covers it, and
// refused with upstream's 403 messages when a quota would be exceeded, does
// not know its usage yet, or needs a container to name cpu/memory. Otherwise
// the quotas are charged before the object is written, by a compare-and-swap
// of status.used, retried on conflict with the fresh quotas: concurrent
// writers can never both take the last unit (upstream does the same; the
// controller later releases what deletions free). A dry run is checked but
// charges nothing.
import { checkQuotas, evaluatorFor, QuotaRefusal, usageToJson, type QuotaCharge, type ResourceQuotaLike } from '../../api/quota/index.ts';
import type { ResourceInfo } from '../../api/registry.ts';
import { ApiError, errors } from '../errors.ts';
import { groupResource } from '../handlers/context.ts';
import type { KubeObject } from '../registry/resource-store.ts';
import type { AdmissionAttributes, AdmissionPlugin } from './chain.ts';
import { listPolicyObjects } from './object-lookup.ts';

/** Requests that store nothing are never counted. */
const ignored = new Set([
  '/bindings', '/componentstatuses', 'authentication.k8s.io/tokenreviews', 'authentication.k8s.io/selfsubjectreviews',
  'authorization.k8s.io/subjectaccessreviews', 'authorization.k8s.io/selfsubjectaccessreviews',
  'authorization.k8s.io/localsubjectaccessreviews', 'authorization.k8s.io/selfsubjectrulesreviews',
]);

/** Attempts at charging before giving up on conflicts (upstream retries 3 times too). */
const CHARGE_ATTEMPTS = 4;

const quotasResource = (attributes: AdmissionAttributes): ResourceInfo => attributes.parts.registry.lookup('', 'v1', 'resourcequotas')!;

async function quotasOf(attributes: AdmissionAttributes): Promise<readonly ResourceQuotaLike[]> {
  return (await listPolicyObjects(attributes.parts.store, quotasResource(attributes), attributes.namespace)) as readonly ResourceQuotaLike[];
}

function forbidden(attributes: AdmissionAttributes, message: string): ApiError {
  const meta = attributes.object!.metadata;
  return errors.forbidden(groupResource(attributes.resource), meta.name || meta.generateName || '', message);
}

/** Write one quota's new usage if its revision is still the one checked; false on conflict. */
async function charge(attributes: AdmissionAttributes, { quota, used }: QuotaCharge): Promise<boolean> {
  const next = structuredClone(quota) as KubeObject & ResourceQuotaLike;
  next.status = { ...(next.status ?? {}), used: usageToJson(used) };
  try {
    await attributes.parts.store.update(quotasResource(attributes), next, Number(quota.metadata.resourceVersion));
    return true;
  } catch (error) {
    if (error instanceof ApiError && error.code === 409) return false;
    // The quota was deleted meanwhile: it limits nothing any more.
    if (error instanceof ApiError && error.code === 404) return true;
    throw error;
  }
}

async function evaluate(attributes: AdmissionAttributes): Promise<void> {
  const { resource, operation, subresource, object, oldObject } = attributes;
  const evaluator = evaluatorFor(resource.group, resource.plural);
  const write = { operation, subresource, object: object!, oldObject };
  if (!evaluator.handles(write)) return;
  let quotas: readonly ResourceQuotaLike[] = await quotasOf(attributes);
  for (let attempt = 1; quotas.length > 0; attempt++) {
    let charges: QuotaCharge[];
    try {
      charges = checkQuotas({ quotas, evaluator, write, now: new Date() });
    } catch (error) {
      if (error instanceof QuotaRefusal) throw forbidden(attributes, error.message);
      throw error;
    }
    if (attributes.dryRun || charges.length === 0) return;
    const conflicted = new Set<string>();
    for (const c of charges) if (!(await charge(attributes, c))) conflicted.add(c.quota.metadata.name ?? '');
    if (conflicted.size === 0) return;
    if (attempt >= CHARGE_ATTEMPTS) {
      throw errors.conflict(groupResource(quotasResource(attributes)), [...conflicted][0], 'the object has been modified; please apply your changes to the latest version and try again');
    }
    // Re-check only the quotas whose charge lost a race, against their fresh state.
    quotas = (await quotasOf(attributes)).filter((q) => conflicted.has(q.metadata.name ?? ''));
  }
}

export const resourceQuotaAdmission: AdmissionPlugin = {
  name: 'ResourceQuota',
  async validate(attributes) {
    const { resource, namespace, subresource, object } = attributes;
    if (!namespace || !object || subresource !== '') return;
    if (ignored.has(`${resource.group}/${resource.plural}`)) return;
    await evaluate(attributes);
  },
};
