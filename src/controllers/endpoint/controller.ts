// The Endpoints controller: the legacy v1 Endpoints object, named as its
// Service, for every Service with a selector (not ExternalName) — upstream's
// pkg/controller/endpoint.
//
// sync(key), after upstream's syncService:
// 1. The Service from the cache. Gone: delete the Endpoints of that name
//    (they carry no ownerReference upstream; this controller removes them).
// 2. No selector or ExternalName: leave any Endpoints alone (they may be
//    maintained by hand, as the `kubernetes` Service's are by the API server).
// 3. Subsets from the selected pods (subsets.ts), labels from the Service
//    (plus service.kubernetes.io/headless without a cluster IP); nothing is
//    written when subsets, labels and the capacity annotation already agree.
// 4. Otherwise create or update, with the last-change trigger time and,
//    above 1000 addresses, truncated and annotated over-capacity.
// On start every existing Endpoints object is looked at once, so those whose
// Service went away while no controller ran are deleted too.
import { splitKey } from '../../client/cache.ts';
import type { Informer } from '../../client/informer.ts';
import { isConflict, isNotFound, resources, type KubeObject } from '../../client/interface.ts';
import { Controller, StaleReadError, type ControllerOptions } from '../framework/controller.ts';
import { keyOf, type Pod } from '../framework/types.ts';
import {
  HEADLESS_LABEL, isNamespaceTerminating, isServiceIPSet, LAST_CHANGE_TRIGGER_TIME_ANNOTATION, managesEndpoints,
  selectorMatches, serviceSelector, servicesSelecting, servicesToUpdateOnPodChange, type Service,
} from '../endpointslice/pod-endpoints.ts';
import { isNewer } from '../endpointslice/slice-tracker.ts';
import { formatTriggerTime, TriggerTimeTracker } from '../endpointslice/trigger-time.ts';
import { capacityAnnotationCorrect, computeSubsets, OVER_CAPACITY_ANNOTATION, subsetsEqual, truncateSubsets, type EndpointSubset } from './subsets.ts';

export const endpointsResource = { group: '', version: 'v1', resource: 'endpoints' } as const;
/** Endpoints holding a leader-election record (old-style locks) are never cleaned up. */
const LEADER_ANNOTATION = 'control-plane.alpha.kubernetes.io/leader';
/** Default delay between a pod change and the sync it causes. */
export const DEFAULT_BATCH_PERIOD_MS = 100;

export interface Endpoints extends KubeObject {
  subsets?: EndpointSubset[];
}

export interface EndpointControllerOptions extends ControllerOptions {
  /** Upstream's --endpoint-updates-batch-period, in milliseconds (default 100). */
  batchPeriodMs?: number;
}

const withoutHeadless = (labels: Record<string, string> | undefined) => {
  const { [HEADLESS_LABEL]: _headless, ...rest } = labels ?? {};
  return rest;
};
const sameMap = (a: Record<string, string> | undefined, b: Record<string, string> | undefined) => {
  const ka = Object.keys(a ?? {});
  return ka.length === Object.keys(b ?? {}).length && ka.every((k) => a![k] === b?.[k]);
};

export class EndpointController extends Controller {
  readonly name = 'endpoint';
  protected readonly component = 'endpoint-controller';
  private readonly batchPeriodMs: number;
  private readonly triggerTimes = new TriggerTimeTracker();
  /** Service key → resourceVersion of the Endpoints we last wrote: a cache behind it is not planned from. */
  private readonly written = new Map<string, string>();
  private readonly services: Informer<Service>;
  private readonly pods: Informer<Pod>;
  private readonly endpoints: Informer<Endpoints>;

  constructor(options: EndpointControllerOptions) {
    super(options);
    this.batchPeriodMs = options.batchPeriodMs ?? DEFAULT_BATCH_PERIOD_MS;
    this.services = this.watch<Service>(resources.services, {
      onAdd: (service) => this.enqueue(service),
      onUpdate: (_old, service) => this.enqueue(service),
      onDelete: (service) => this.enqueue(service),
    });
    this.pods = this.watch<Pod>(resources.pods, {
      onAdd: (pod) => this.enqueueServices(this.servicesOf(pod)),
      onUpdate: (old, pod) => this.enqueueServices(servicesToUpdateOnPodChange(this.services.lister.list(pod.metadata.namespace), old, pod)),
      onDelete: (pod) => this.enqueueServices(this.servicesOf(pod)),
    });
    this.endpoints = this.watch<Endpoints>(endpointsResource, {
      // Those present at start: leftovers of Services deleted meanwhile are found (upstream's checkLeftoverEndpoints).
      onAdd: (ep, isInInitialList) => {
        if (isInInitialList && !ep.metadata.annotations?.[LEADER_ANNOTATION]) this.enqueue(ep);
      },
      // Deleted by someone else: put back if its Service still wants it.
      onDelete: (ep) => {
        this.written.delete(keyOf(ep));
        this.enqueue(ep);
      },
    });
  }

  private servicesOf(pod: Pod): Set<string> {
    return servicesSelecting(this.services.lister.list(pod.metadata.namespace), pod.metadata.labels);
  }

  private enqueueServices(keys: Set<string>): void {
    for (const key of keys) this.enqueueAfter(key, this.batchPeriodMs);
  }

  protected async sync(key: string): Promise<void> {
    const [namespace, name] = splitKey(key);
    const service = this.services.lister.get(namespace, name);
    if (!service) {
      try {
        await this.client.delete({ ...endpointsResource, namespace, name });
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
      this.triggerTimes.delete(key);
      this.written.delete(key);
      return;
    }
    if (!managesEndpoints(service)) return;
    const current = this.endpoints.lister.get(namespace, name);
    const wrote = this.written.get(key);
    if (wrote !== undefined && (!current || isNewer(wrote, current.metadata.resourceVersion))) {
      throw new StaleReadError(`Endpoints informer cache is out of date for ${key}`);
    }

    const selector = serviceSelector(service)!;
    const pods = this.pods.lister.list(namespace).filter((pod) => selectorMatches(selector, pod.metadata.labels));
    // Computed on every sync, so the tracker learns what this one saw even when nothing is written.
    const triggerTime = this.triggerTimes.compute(key, service, pods);
    const { subsets } = computeSubsets(service, pods);

    if (current && subsetsEqual(current.subsets, subsets) && sameMap(withoutHeadless(current.metadata.labels), service.metadata.labels)
      && capacityAnnotationCorrect(current.metadata.annotations, current.subsets ?? [])) return;

    const annotations = { ...(current?.metadata.annotations ?? {}) };
    if (triggerTime) annotations[LAST_CHANGE_TRIGGER_TIME_ANNOTATION] = formatTriggerTime(triggerTime);
    else delete annotations[LAST_CHANGE_TRIGGER_TIME_ANNOTATION];
    const truncated = truncateSubsets(subsets);
    if (truncated) annotations[OVER_CAPACITY_ANNOTATION] = 'truncated';
    else delete annotations[OVER_CAPACITY_ANNOTATION];
    const labels = { ...(service.metadata.labels ?? {}) };
    if (!isServiceIPSet(service)) labels[HEADLESS_LABEL] = '';

    const base: Endpoints = current ? structuredClone(current) as Endpoints : { apiVersion: 'v1', kind: 'Endpoints', metadata: { name, namespace } };
    const next: Endpoints = { ...base, apiVersion: 'v1', kind: 'Endpoints', metadata: { ...base.metadata, labels, annotations } };
    const finalSubsets = truncated ?? subsets;
    if (finalSubsets.length > 0) next.subsets = finalSubsets;
    else delete next.subsets;
    const stored = await this.writeEndpoints(service, next, !current);
    if (stored) this.written.set(key, stored.metadata.resourceVersion ?? '');
  }

  private async writeEndpoints(service: Service, endpoints: Endpoints, create: boolean): Promise<Endpoints | undefined> {
    const { namespace, name } = service.metadata;
    try {
      if (create) return await this.client.create<Endpoints>({ ...endpointsResource, namespace }, endpoints);
      return await this.client.update<Endpoints>({ ...endpointsResource, namespace, name }, endpoints);
    } catch (error) {
      // The namespace is going away: creates will keep failing, drop the key.
      if (create && isNamespaceTerminating(error)) return undefined;
      // Someone wrote meanwhile: routine, the retry reads the newer object.
      if (isConflict(error)) throw error;
      this.recorder.record(create
        ? { object: endpoints, type: 'Warning', reason: 'FailedToCreateEndpoint', message: `Failed to create endpoint for service ${namespace}/${name}: ${(error as Error).message}` }
        : { object: endpoints, type: 'Warning', reason: 'FailedToUpdateEndpoint', message: `Failed to update endpoint ${namespace}/${name}: ${(error as Error).message}` });
      throw error;
    }
  }
}
