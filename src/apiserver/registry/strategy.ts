// What the API server does to an object on its way into storage, per kind:
// defaulting, server-set fields (status reset, generation, Service IPs and
// ports, Job selectors), schema and semantic validation, immutability.
// Generic for every kind, with small per-kind hooks.
import type { ResourceInfo } from '../../api/registry.ts';
import { applyDefaults, generateJobSelector } from '../../api/defaults/index.ts';
import { statusCauses, validateAgainstSchema, validateObject, type FieldError } from '../../api/validation/index.ts';
import { ApiError, errors } from '../errors.ts';
import type { KubeObject } from './resource-store.ts';
import type { ServiceAllocations } from './service-allocations.ts';

export type FieldValidation = 'Strict' | 'Warn' | 'Ignore';

export interface StrategyDeps {
  services: ServiceAllocations;
}

/**
 * Kinds whose strategy tracks metadata.generation upstream (workloads and other
 * kinds with a spec that a controller observes); everything else has none.
 */
const generationKinds = new Set([
  'Pod', 'ReplicationController', 'Deployment', 'ReplicaSet', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob',
  'HorizontalPodAutoscaler', 'PodDisruptionBudget', 'Ingress', 'NetworkPolicy', 'CustomResourceDefinition',
  'ValidatingAdmissionPolicy', 'MutatingAdmissionPolicy', 'FlowSchema', 'PriorityLevelConfiguration',
  'ResourceClaim', 'ServiceCIDR', 'APIService',
]);
const tracksGeneration = (info: ResourceInfo) => generationKinds.has(info.kind);

export class Strategy {
  private readonly deps: StrategyDeps;
  constructor(deps: StrategyDeps) {
    this.deps = deps;
  }

  /** Schema check; returns the warnings to send (Warn) or throws (Strict). */
  checkSchema(info: ResourceInfo, object: KubeObject, mode: FieldValidation): string[] {
    const { errors: typeErrors, unknownFields } = validateAgainstSchema({ group: info.group, version: info.version, kind: info.kind, object });
    if (typeErrors.length) throw invalid(info, object, typeErrors);
    if (unknownFields.length === 0 || mode === 'Ignore') return [];
    const messages = unknownFields.map((f) => `unknown field "${f}"`);
    if (mode === 'Strict') throw errors.badRequest(`strict decoding error: ${messages.join(', ')}`);
    return messages;
  }

  /** Default, reset server-owned fields and validate a new object. */
  prepareCreate(info: ResourceInfo, object: KubeObject): void {
    dropEmptyMetadataLists(object.metadata);
    applyDefaults({ group: info.group, version: info.version, kind: info.kind, object, operation: 'create' });
    if (tracksGeneration(info)) object.metadata.generation = 1;
    else delete object.metadata.generation;
    if (info.subresources.status && info.kind !== 'Namespace') resetStatus(info, object);
    if (info.kind === 'Namespace') object.status = { phase: 'Active' };
    // The selector is built from the uid, assigned by initializeObjectMeta just before.
    if (info.group === 'batch' && info.kind === 'Job') generateJobSelector(object);
  }

  validateCreate(info: ResourceInfo, object: KubeObject): void {
    const problems = validateObject({ group: info.group, version: info.version, kind: info.kind, object });
    if (problems.length) throw invalid(info, object, problems);
  }

  /** Allocations, taken only for a valid object just before it is written. */
  async beforeCreateWrite(info: ResourceInfo, object: KubeObject): Promise<void> {
    if (info.kind === 'Service' && info.group === '') {
      try {
        this.deps.services.allocate(object);
      } catch (error) {
        // The allocators do not know the Service's name; upstream's message carries it.
        if (error instanceof ApiError && error.reason === 'Invalid') {
          throw errors.invalid({ kind: 'Service', group: '', name: object.metadata.name ?? '', causes: error.details?.causes ?? [] });
        }
        throw error;
      }
    }
  }

  /** Undo allocations when the write failed. */
  afterCreateFailed(info: ResourceInfo, object: KubeObject): void {
    if (info.kind === 'Service' && info.group === '') this.deps.services.release(object);
  }

  afterDelete(info: ResourceInfo, object: KubeObject): void {
    if (info.kind === 'Service' && info.group === '') this.deps.services.release(object);
  }

  /**
   * Prepare an update of the main resource (`status` false) or of the status
   * subresource (`status` true): carry over what the caller may not change,
   * default, bump generation, validate including immutability.
   */
  prepareUpdate(info: ResourceInfo, next: KubeObject, old: KubeObject, options: { status: boolean }): KubeObject {
    let result = next;
    if (options.status) {
      // A status write changes status only (and nothing else, as upstream resets the rest).
      result = { ...structuredClone(old), status: next.status };
      result.metadata = { ...result.metadata, resourceVersion: next.metadata.resourceVersion };
    } else {
      if (info.subresources.status && 'status' in old) result.status = structuredClone(old.status);
      else if (info.subresources.status) delete result.status;
      applyDefaults({ group: info.group, version: info.version, kind: info.kind, object: result, operation: 'update' });
      if (info.kind === 'Service' && info.group === '') this.deps.services.carryOver(result, old);
      // A namespace's spec.finalizers change only through namespaces/NAME/finalize, as upstream.
      if (info.kind === 'Namespace' && info.group === '') keepNamespaceFinalizers(result, old);
    }
    const meta = result.metadata;
    const oldMeta = old.metadata;
    dropEmptyMetadataLists(meta);
    meta.uid = oldMeta.uid;
    meta.creationTimestamp = oldMeta.creationTimestamp;
    meta.namespace = oldMeta.namespace;
    if (oldMeta.deletionTimestamp) {
      meta.deletionTimestamp = oldMeta.deletionTimestamp;
      meta.deletionGracePeriodSeconds = oldMeta.deletionGracePeriodSeconds;
    } else {
      delete meta.deletionTimestamp;
      delete meta.deletionGracePeriodSeconds;
    }
    if (oldMeta.generateName && !meta.generateName) meta.generateName = oldMeta.generateName;
    if (tracksGeneration(info)) {
      meta.generation = oldMeta.generation ?? 1;
      if (!options.status && specChanged(result, old)) meta.generation = (oldMeta.generation ?? 0) + 1;
    } else {
      delete meta.generation;
    }
    const problems = validateObject({ group: info.group, version: info.version, kind: info.kind, object: result, oldObject: old });
    if (problems.length) throw invalid(info, result, problems);
    return result;
  }
}

/** Everything but metadata and status counts as spec (for kinds without a spec field too). */
function specChanged(next: KubeObject, old: KubeObject): boolean {
  const pick = (o: KubeObject) => {
    const { metadata: _m, status: _s, apiVersion: _a, kind: _k, ...rest } = o;
    return rest;
  };
  return JSON.stringify(pick(next)) !== JSON.stringify(pick(old));
}

function resetStatus(info: ResourceInfo, object: KubeObject): void {
  if (info.kind === 'Pod' && info.group === '') {
    object.status = { phase: 'Pending', qosClass: qosClass(object) };
    return;
  }
  // Nodes, PVs, PVCs and CSRs keep status written by their creators (agents, provisioners).
  if (['Node', 'PersistentVolume', 'PersistentVolumeClaim', 'CertificateSigningRequest'].includes(info.kind)) return;
  delete object.status;
}

/** Pod QoS class from requests and limits (Guaranteed, Burstable, BestEffort). */
function qosClass(pod: KubeObject): string {
  const spec = pod.spec as { containers?: any[]; initContainers?: any[] } | undefined;
  const containers = [...(spec?.containers ?? []), ...(spec?.initContainers ?? [])];
  let anySet = false;
  let guaranteed = containers.length > 0;
  for (const c of containers) {
    const requests = c.resources?.requests ?? {};
    const limits = c.resources?.limits ?? {};
    if (Object.keys(requests).length || Object.keys(limits).length) anySet = true;
    for (const resource of ['cpu', 'memory']) {
      const limit = limits[resource];
      const request = requests[resource] ?? limit;
      if (limit === undefined || String(request) !== String(limit)) guaranteed = false;
    }
  }
  if (!anySet) return 'BestEffort';
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

/**
 * Upstream serializes empty ownerReferences / finalizers as absent
 * (omitempty): a patch that removed the last one leaves no empty list behind.
 */
function dropEmptyMetadataLists(meta: KubeObject['metadata']): void {
  if (Array.isArray(meta.ownerReferences) && meta.ownerReferences.length === 0) delete meta.ownerReferences;
  if (Array.isArray(meta.finalizers) && meta.finalizers.length === 0) delete meta.finalizers;
}

function invalid(info: ResourceInfo, object: KubeObject, problems: FieldError[]) {
  return errors.invalid({ kind: info.kind, group: info.group, name: object.metadata?.name ?? object.metadata?.generateName ?? '', causes: statusCauses(problems) });
}

function keepNamespaceFinalizers(next: KubeObject, old: KubeObject): void {
  const kept = (old.spec as { finalizers?: string[] } | undefined)?.finalizers;
  const spec = { ...(next.spec as Record<string, unknown> | undefined) };
  if (kept === undefined) delete spec.finalizers;
  else spec.finalizers = structuredClone(kept);
  next.spec = spec;
}
