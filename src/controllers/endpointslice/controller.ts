// The EndpointSlice controller: for every Service with a selector (not
// ExternalName), discovery.k8s.io/v1 EndpointSlices listing the selected
// pods' addresses, conditions and resolved ports (upstream's
// pkg/controller/endpointslice).
//
// sync(key), after upstream's syncService:
// 1. The Service from the cache. Gone: forget it, and delete the slices it
//    still owns (upstream leaves that to the garbage collector; doing it
//    here keeps a cluster without one, or with it switched off, clean, and
//    changes nothing when it runs — a slice orphaned on purpose no longer
//    names the Service as owner).
// 2. No selector or ExternalName: not ours, nothing touched.
// 3. Its pods and its managed slices from the caches; if the slice cache
//    misses one of our own writes, retry later rather than plan twice.
// 4. Plan (reconcile.ts) and write: creates (not while the Service is being
//    deleted), updates, deletes, each written slice stamped with the
//    last-change trigger time.
// Pod events requeue the Services concerned after a short batching delay;
// slice changes by others requeue their Service after a second.
import { splitKey } from '../../client/cache.ts';
import type { Informer } from '../../client/informer.ts';
import { isNotFound, resources } from '../../client/interface.ts';
import { Controller, StaleReadError, type ControllerOptions } from '../framework/controller.ts';
import type { Pod } from '../framework/types.ts';
import {
  isNamespaceTerminating, LAST_CHANGE_TRIGGER_TIME_ANNOTATION, MANAGED_BY_LABEL, managesEndpoints, selectorMatches,
  SERVICE_NAME_LABEL, serviceSelector, servicesSelecting, servicesToUpdateOnPodChange, type Service,
} from './pod-endpoints.ts';
import { DEFAULT_MAX_ENDPOINTS_PER_SLICE, planSlices, type SlicePlan } from './reconcile.ts';
import { SliceTracker } from './slice-tracker.ts';
import { CONTROLLER_NAME, endpointSlicesResource, type EndpointSlice, type Node } from './slices.ts';
import { formatTriggerTime, TriggerTimeTracker } from './trigger-time.ts';

/** Default delay between a pod change and the sync it causes, so bursts of pod updates make one write. */
export const DEFAULT_BATCH_PERIOD_MS = 100;
/** Upstream's endpointSliceChangeMinSyncDelay: a slice changed by someone else is looked at after this. */
const SLICE_CHANGE_DELAY_MS = 1000;

export interface EndpointSliceControllerOptions extends ControllerOptions {
  /** Upstream's --max-endpoints-per-slice (default 100). */
  maxEndpointsPerSlice?: number;
  /** Upstream's --endpointslice-updates-batch-period, in milliseconds (default 100). */
  batchPeriodMs?: number;
}

const isManaged = (slice: EndpointSlice) => slice.metadata.labels?.[MANAGED_BY_LABEL] === CONTROLLER_NAME;
const serviceKeyOf = (slice: EndpointSlice) => {
  const name = slice.metadata.labels?.[SERVICE_NAME_LABEL];
  return name ? `${slice.metadata.namespace}/${name}` : undefined;
};

export class EndpointSliceController extends Controller {
  readonly name = 'endpointslice';
  protected readonly component = 'endpoint-slice-controller';
  private readonly maxEndpointsPerSlice: number;
  private readonly batchPeriodMs: number;
  private readonly tracker = new SliceTracker();
  private readonly triggerTimes = new TriggerTimeTracker();
  private readonly services: Informer<Service>;
  private readonly pods: Informer<Pod>;
  private readonly nodes: Informer<Node>;
  private readonly slices: Informer<EndpointSlice>;

  constructor(options: EndpointSliceControllerOptions) {
    super(options);
    this.maxEndpointsPerSlice = options.maxEndpointsPerSlice ?? DEFAULT_MAX_ENDPOINTS_PER_SLICE;
    this.batchPeriodMs = options.batchPeriodMs ?? DEFAULT_BATCH_PERIOD_MS;
    this.nodes = this.watch<Node>(resources.nodes, {});
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
    this.slices = this.watch<EndpointSlice>(endpointSlicesResource, {
      onAdd: (slice) => this.onSliceChanged(slice),
      onUpdate: (old, slice) => this.onSliceUpdated(old, slice),
      onDelete: (slice) => this.onSliceDeleted(slice),
    });
  }

  // ---- handlers: only keys ---------------------------------------------------

  private servicesOf(pod: Pod): Set<string> {
    return servicesSelecting(this.services.lister.list(pod.metadata.namespace), pod.metadata.labels);
  }

  private enqueueServices(keys: Set<string>): void {
    for (const key of keys) this.enqueueAfter(key, this.batchPeriodMs);
  }

  private requeueForSlice(slice: EndpointSlice): void {
    const key = serviceKeyOf(slice);
    if (key) this.enqueueAfter(key, Math.max(SLICE_CHANGE_DELAY_MS, this.batchPeriodMs));
  }

  private onSliceChanged(slice: EndpointSlice): void {
    const key = serviceKeyOf(slice);
    if (key && isManaged(slice) && this.tracker.shouldSync(key, slice)) this.requeueForSlice(slice);
  }

  private onSliceUpdated(old: EndpointSlice, slice: EndpointSlice): void {
    if (old.metadata.labels?.[SERVICE_NAME_LABEL] !== slice.metadata.labels?.[SERVICE_NAME_LABEL]) {
      this.requeueForSlice(old);
      this.requeueForSlice(slice);
      return;
    }
    if (isManaged(old) !== isManaged(slice)) this.requeueForSlice(slice);
    else this.onSliceChanged(slice);
  }

  private onSliceDeleted(slice: EndpointSlice): void {
    const key = serviceKeyOf(slice);
    // Not deleted by us: put it back.
    if (key && isManaged(slice) && !this.tracker.handleDeletion(key, slice)) this.requeueForSlice(slice);
  }

  // ---- sync --------------------------------------------------------------------

  protected async sync(key: string): Promise<void> {
    const [namespace, name] = splitKey(key);
    const service = this.services.lister.get(namespace, name);
    if (!service) {
      this.triggerTimes.delete(key);
      await this.deleteLeftovers(namespace, name);
      this.tracker.deleteService(key);
      return;
    }
    if (!managesEndpoints(service)) return;

    const selector = serviceSelector(service)!;
    const pods = this.pods.lister.list(namespace).filter((pod) => selectorMatches(selector, pod.metadata.labels));
    const slices = this.managedSlices(namespace, name).filter((s) => !s.metadata.deletionTimestamp);
    if (this.tracker.stale(key, slices)) throw new StaleReadError(`EndpointSlice informer cache is out of date for ${key}`);
    // Computed on every sync, so the tracker learns what this one saw even when nothing is written.
    const triggerTime = this.triggerTimes.compute(key, service, pods);
    const plan = planSlices({
      service, pods, existing: slices, maxEndpointsPerSlice: this.maxEndpointsPerSlice,
      nodeByName: (nodeName) => this.nodes.lister.get(undefined, nodeName),
    });
    try {
      await this.write(key, service, plan, triggerTime);
      if (plan.errors.length > 0) throw new Error(plan.errors.join('; '));
    } catch (error) {
      this.recorder.record({
        object: { ...service, apiVersion: 'v1', kind: 'Service' }, type: 'Warning', reason: 'FailedToUpdateEndpointSlices',
        message: `Error updating Endpoint Slices for Service ${key}: ${(error as Error).message}`,
      });
      throw error;
    }
  }

  private managedSlices(namespace: string, serviceName: string): EndpointSlice[] {
    return this.slices.lister.list(namespace).filter((s) => isManaged(s) && s.metadata.labels?.[SERVICE_NAME_LABEL] === serviceName);
  }

  private async write(key: string, service: Service, plan: SlicePlan, triggerTime: Date | undefined): Promise<void> {
    const namespace = service.metadata.namespace!;
    const stamp = (slice: EndpointSlice) => {
      const annotations = { ...(slice.metadata.annotations ?? {}) };
      if (triggerTime) annotations[LAST_CHANGE_TRIGGER_TIME_ANNOTATION] = formatTriggerTime(triggerTime);
      else delete annotations[LAST_CHANGE_TRIGGER_TIME_ANNOTATION];
      return { ...slice, apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { ...slice.metadata, annotations } };
    };
    // New slices for a Service on its way out would race the garbage collector.
    if (!service.metadata.deletionTimestamp) {
      for (const slice of plan.create) {
        try {
          this.tracker.wrote(key, await this.client.create<EndpointSlice>({ ...endpointSlicesResource, namespace }, stamp(slice)));
        } catch (error) {
          if (isNamespaceTerminating(error)) return;
          throw new Error(`failed to create EndpointSlice for Service ${key}: ${(error as Error).message}`, { cause: error });
        }
      }
    }
    for (const slice of plan.update) {
      const ref = { ...endpointSlicesResource, namespace, name: slice.metadata.name };
      this.tracker.wrote(key, await this.client.update<EndpointSlice>(ref, stamp(slice)));
    }
    for (const slice of plan.delete) await this.deleteSlice(key, slice);
  }

  private async deleteSlice(key: string, slice: EndpointSlice): Promise<void> {
    try {
      await this.client.delete({ ...endpointSlicesResource, namespace: slice.metadata.namespace, name: slice.metadata.name }, { preconditions: { uid: slice.metadata.uid } });
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    this.tracker.expectDeletion(key, slice);
  }

  /** The slices a deleted Service still owns (the Service named by the label, as controller). */
  private async deleteLeftovers(namespace: string, serviceName: string): Promise<void> {
    const owned = this.managedSlices(namespace, serviceName).filter((slice) => !slice.metadata.deletionTimestamp
      && (slice.metadata.ownerReferences ?? []).some((o) => o.controller && o.kind === 'Service' && o.apiVersion === 'v1' && o.name === serviceName));
    for (const slice of owned) await this.deleteSlice(`${namespace}/${serviceName}`, slice);
  }
}
