// Plans the EndpointSlice writes for one Service (upstream's endpointslice
// Reconciler), with as little churn as possible:
// - pods are grouped by the ports they resolve the Service's ports to (a
//   named targetPort may differ per pod); each group has its own slices;
// - per group, endpoints already in a slice stay there (updated in place
//   when their conditions changed), gone ones are removed, slices left empty
//   are deleted;
// - new endpoints first fill the slices being updated anyway (fullest
//   first), then one unchanged slice they all fit in, then new slices of at
//   most maxEndpointsPerSlice;
// - a slice about to be deleted is reused (updated) instead of creating one;
// - with no endpoints at all, one empty placeholder slice remains.
// Pure: the controller performs the writes.
import type { Pod } from '../framework/types.ts';
import { shouldPodBeInEndpoints, type Service } from './pod-endpoints.ts';
import {
  addressTypesFor, endpointKey, endpointPortsFor, endpointsEqualBeyondKey, newSlice, ownedBy, podToEndpoint, portMapKey,
  sliceLabels, type AddressType, type EndpointSlice, type Node, type SliceEndpoint, type SlicePort,
} from './slices.ts';

/** Upstream's --max-endpoints-per-slice default. */
export const DEFAULT_MAX_ENDPOINTS_PER_SLICE = 100;

export interface SlicePlan {
  /** New slices (generateName set, no name). */
  create: EndpointSlice[];
  /** Changed copies of existing slices (with their resourceVersion). */
  update: EndpointSlice[];
  delete: EndpointSlice[];
  /** Pods left out for now (their node is unknown): the sync is retried. */
  errors: string[];
}

export interface PlanOptions {
  service: Service;
  /** The pods the Service selects. */
  pods: readonly Pod[];
  /** The slices labelled for this Service and managed by this controller (none being deleted). */
  existing: readonly EndpointSlice[];
  nodeByName: (name: string) => Node | undefined;
  maxEndpointsPerSlice?: number;
}

interface DesiredGroup {
  ports: SlicePort[];
  /** Endpoint key → endpoint; insertion order is the order endpoints are placed. */
  endpoints: Map<string, SliceEndpoint>;
}

export function planSlices(options: PlanOptions): SlicePlan {
  const plan: SlicePlan = { create: [], update: [], delete: [], errors: [] };
  const types = addressTypesFor(options.service);
  const byType = new Map<string, EndpointSlice[]>();
  for (const slice of options.existing) {
    // The Service no longer has this family.
    if (!types.includes(slice.addressType as AddressType)) plan.delete.push(slice);
    else byType.set(slice.addressType, [...(byType.get(slice.addressType) ?? []), slice]);
  }
  for (const addressType of types) {
    const part = planForAddressType({ ...options, addressType, existing: byType.get(addressType) ?? [] });
    plan.create.push(...part.create);
    plan.update.push(...part.update);
    plan.delete.push(...part.delete);
    plan.errors.push(...part.errors);
  }
  return plan;
}

function desiredGroups(options: PlanOptions & { addressType: AddressType }, errors: string[]): Map<string, DesiredGroup> {
  const { service } = options;
  const groups = new Map<string, DesiredGroup>();
  const pods = [...options.pods].sort((a, b) => (a.metadata.name! < b.metadata.name! ? -1 : a.metadata.name! > b.metadata.name! ? 1 : 0));
  for (const pod of pods) {
    if (!shouldPodBeInEndpoints(pod, true)) continue;
    const ports = endpointPortsFor(service, pod);
    const key = portMapKey(ports);
    let group = groups.get(key);
    if (!group) groups.set(key, group = { ports, endpoints: new Map() });
    const nodeName = (pod.spec?.nodeName as string | undefined) ?? '';
    const node = options.nodeByName(nodeName);
    // An unknown node: leave the pod out for now and come back (unless the user asked to publish everything).
    if (!node && !service.spec?.publishNotReadyAddresses) {
      errors.push(`skipping Pod ${pod.metadata.name} for Service ${service.metadata.namespace}/${service.metadata.name}: Node ${nodeName} Not Found`);
      continue;
    }
    const endpoint = podToEndpoint({ pod, node, service, addressType: options.addressType });
    if (endpoint.addresses.length > 0) group.endpoints.set(endpointKey(endpoint), endpoint);
  }
  return groups;
}

/** Placeholders are compared on what makes them one: labels, address type, and being empty. */
function isSamePlaceholder(slice: EndpointSlice, placeholder: EndpointSlice): boolean {
  const labels = (s: EndpointSlice) => JSON.stringify(Object.entries(s.metadata.labels ?? {}).sort());
  return slice.metadata.namespace === placeholder.metadata.namespace && labels(slice) === labels(placeholder)
    && slice.addressType === placeholder.addressType && (slice.endpoints ?? []).length === 0 && (slice.ports ?? []).length === 0;
}

function planForAddressType(options: PlanOptions & { addressType: AddressType }): SlicePlan {
  const { service, addressType } = options;
  const max = options.maxEndpointsPerSlice ?? DEFAULT_MAX_ENDPOINTS_PER_SLICE;
  const plan: SlicePlan = { create: [], update: [], delete: [], errors: [] };
  const existingByPorts = new Map<string, EndpointSlice[]>();
  for (const slice of options.existing) {
    // A namesake's leftovers (the Service was deleted and created again).
    if (!ownedBy(slice, service)) plan.delete.push(slice);
    else {
      const key = portMapKey(slice.ports);
      existingByPorts.set(key, [...(existingByPorts.get(key) ?? []), slice]);
    }
  }
  const desired = desiredGroups(options, plan.errors);
  for (const [key, group] of desired) {
    const part = planPortGroup({ service, existing: existingByPorts.get(key) ?? [], group, addressType, max });
    plan.create.push(...part.create);
    plan.update.push(...part.update);
    plan.delete.push(...part.delete);
  }
  for (const [key, slices] of existingByPorts) if (!desired.has(key)) plan.delete.push(...slices);

  if (plan.create.length === 0 && plan.delete.length === options.existing.length) {
    const placeholder = newSlice(service, [], addressType);
    if (plan.delete.length === 1 && isSamePlaceholder(plan.delete[0], placeholder)) plan.delete = [];
    else plan.create.push(placeholder);
  }

  // Reuse slices about to be deleted rather than creating new ones.
  const keep: EndpointSlice[] = [];
  for (const doomed of plan.delete) {
    const fresh = plan.create.at(-1);
    if (fresh && doomed.addressType === fresh.addressType && ownedBy(doomed, service)) {
      plan.create.pop();
      plan.update.push({ ...fresh, metadata: { ...structuredClone(doomed.metadata), labels: fresh.metadata.labels } });
    } else {
      keep.push(doomed);
    }
  }
  plan.delete = keep;
  return plan;
}

function planPortGroup(options: {
  service: Service;
  existing: readonly EndpointSlice[];
  group: DesiredGroup;
  addressType: AddressType;
  max: number;
}): Pick<SlicePlan, 'create' | 'update' | 'delete'> {
  const { service, group, max } = options;
  const wanted = group.endpoints;
  const toUpdate = new Map<string, EndpointSlice>();
  const unchanged = new Map<string, EndpointSlice>();
  const toDelete: EndpointSlice[] = [];

  // 1. Keep wanted endpoints where they are (refreshed), drop the rest.
  for (const slice of options.existing) {
    const kept: SliceEndpoint[] = [];
    let refreshed = false;
    for (const endpoint of slice.endpoints ?? []) {
      const key = endpointKey(endpoint);
      const want = wanted.get(key);
      if (!want) continue;
      kept.push(want);
      if (!endpointsEqualBeyondKey(want, endpoint)) refreshed = true;
      wanted.delete(key);
    }
    const { labels, changed: labelsChanged } = sliceLabels(slice, service);
    const name = slice.metadata.name!;
    if (refreshed || kept.length !== (slice.endpoints ?? []).length) {
      if (kept.length === 0) toDelete.push(slice);
      else toUpdate.set(name, { ...structuredClone(slice), metadata: { ...structuredClone(slice.metadata), labels }, endpoints: kept });
    } else if (labelsChanged) {
      toUpdate.set(name, { ...structuredClone(slice), metadata: { ...structuredClone(slice.metadata), labels } });
    } else {
      unchanged.set(name, slice);
    }
  }

  const remaining = [...wanted.values()];
  // 2. Fill the slices being written anyway, fullest first.
  const updating = [...toUpdate.values()].sort((a, b) => (b.endpoints?.length ?? 0) - (a.endpoints?.length ?? 0));
  for (const slice of updating) {
    const room = max - (slice.endpoints?.length ?? 0);
    if (room > 0 && remaining.length > 0) slice.endpoints = [...(slice.endpoints ?? []), ...remaining.splice(0, room)];
  }

  // 3. The rest: into the one unchanged slice that fits them most snugly, else new slices.
  const create: EndpointSlice[] = [];
  while (remaining.length > 0) {
    let target: EndpointSlice | undefined;
    if (remaining.length < max && unchanged.size > 0) {
      const fit = closestFit([...unchanged.values()], remaining.length, max);
      if (fit) {
        target = structuredClone(fit) as EndpointSlice;
        unchanged.delete(fit.metadata.name!);
        toUpdate.set(fit.metadata.name!, target);
      }
    }
    if (!target) {
      target = newSlice(service, group.ports, options.addressType);
      create.push(target);
    }
    const room = max - (target.endpoints?.length ?? 0);
    target.endpoints = [...(target.endpoints ?? []), ...remaining.splice(0, room)];
  }
  return { create, update: [...toUpdate.values()], delete: toDelete };
}

/** The slice that `count` more endpoints would leave closest to full (upstream's getSliceToFill). */
function closestFit(slices: readonly EndpointSlice[], count: number, max: number): EndpointSlice | undefined {
  let best: EndpointSlice | undefined;
  let bestGap = max;
  for (const slice of slices) {
    const gap = max - (count + (slice.endpoints?.length ?? 0));
    if (gap >= 0 && gap < bestGap) {
      best = slice;
      bestGap = gap;
      if (gap === 0) break;
    }
  }
  return best;
}
