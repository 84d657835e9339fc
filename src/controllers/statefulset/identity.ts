// A StatefulSet pod's stable identity, as pure functions (upstream's
// stateful_set_utils): the name `<set>-<ordinal>` (ordinals from
// spec.ordinals.start), hostname = pod name and subdomain = serviceName (so
// DNS gives each pod a stable name), the pod-name and pod-index labels, and
// its claims `<template>-<set>-<ordinal>` from volumeClaimTemplates, named
// in the pod's volumes — plus the ownerReferences a claim carries under the
// set's persistentVolumeClaimRetentionPolicy.
import type { LabelSelectorObject } from '../../api/selectors/index.ts';
import type { KubeObject, OwnerReference } from '../../client/interface.ts';
import { newControllerRef } from '../framework/controller-ref.ts';
import { CONTROLLER_REVISION_HASH_LABEL } from '../framework/history.ts';
import type { Pod, PodTemplate, WorkloadCondition } from '../framework/types.ts';

export const POD_NAME_LABEL = 'statefulset.kubernetes.io/pod-name';
export const POD_INDEX_LABEL = 'apps.kubernetes.io/pod-index';
/** The history package's own hash label, which StatefulSet revisions carry upstream. */
export const REVISION_HASH_LABEL = 'controller.kubernetes.io/hash';
export const statefulSetsResource = { group: 'apps', version: 'v1', resource: 'statefulsets' } as const;

export type RetentionPolicyType = 'Retain' | 'Delete';

export interface ClaimTemplate {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; labels?: Record<string, string>; annotations?: Record<string, string>; [field: string]: unknown };
  spec?: Record<string, unknown>;
  [field: string]: unknown;
}

export interface StatefulSetStatus {
  observedGeneration?: number;
  replicas: number;
  readyReplicas?: number;
  currentReplicas?: number;
  updatedReplicas?: number;
  currentRevision?: string;
  updateRevision?: string;
  collisionCount?: number;
  availableReplicas: number;
  conditions?: WorkloadCondition[];
}

export interface StatefulSet extends KubeObject {
  spec: {
    replicas?: number;
    selector?: LabelSelectorObject;
    template: PodTemplate;
    serviceName?: string;
    podManagementPolicy?: 'OrderedReady' | 'Parallel';
    updateStrategy?: { type?: 'RollingUpdate' | 'OnDelete'; rollingUpdate?: { partition?: number; maxUnavailable?: number | string } };
    volumeClaimTemplates?: ClaimTemplate[];
    persistentVolumeClaimRetentionPolicy?: { whenDeleted?: RetentionPolicyType; whenScaled?: RetentionPolicyType };
    minReadySeconds?: number;
    revisionHistoryLimit?: number;
    ordinals?: { start?: number };
  };
  status?: StatefulSetStatus;
}

export interface Claim extends KubeObject {
  spec?: Record<string, unknown>;
}

interface PodVolume {
  name: string;
  persistentVolumeClaim?: { claimName: string; readOnly?: boolean };
  [source: string]: unknown;
}

const POD_NAME = /^(.*)-([0-9]+)$/;
const MAX_INT32 = 2 ** 31 - 1;

/** The set's name and the ordinal in a pod's name; ordinal -1 when it has none. */
export function parentAndOrdinal(podName: string | undefined): { parent: string; ordinal: number } {
  const m = POD_NAME.exec(podName ?? '');
  if (!m) return { parent: '', ordinal: -1 };
  const ordinal = Number(m[2]);
  return { parent: m[1], ordinal: Number.isSafeInteger(ordinal) && ordinal <= MAX_INT32 ? ordinal : -1 };
}

export const ordinalOf = (pod: Pod) => parentAndOrdinal(pod.metadata.name).ordinal;
export const replicasOf = (set: StatefulSet) => set.spec.replicas ?? 1;
export const startOrdinal = (set: StatefulSet) => set.spec.ordinals?.start ?? 0;
export const endOrdinal = (set: StatefulSet) => startOrdinal(set) + replicasOf(set) - 1;
export const podName = (set: StatefulSet, ordinal: number) => `${set.metadata.name}-${ordinal}`;
export const claimName = (set: StatefulSet, template: ClaimTemplate, ordinal: number) => `${template.metadata?.name}-${set.metadata.name}-${ordinal}`;
export const isMemberOf = (set: StatefulSet, pod: Pod) => parentAndOrdinal(pod.metadata.name).parent === set.metadata.name;
export const podRevision = (pod: Pod) => pod.metadata.labels?.[CONTROLLER_REVISION_HASH_LABEL] ?? '';

export function inOrdinalRange(set: StatefulSet, ordinal: number): boolean {
  return ordinal >= startOrdinal(set) && ordinal <= endOrdinal(set);
}

/** Name, namespace and pod-name / pod-index labels are the set's for this ordinal. */
export function identityMatches(set: StatefulSet, pod: Pod): boolean {
  const { parent, ordinal } = parentAndOrdinal(pod.metadata.name);
  return ordinal >= 0 && parent === set.metadata.name && pod.metadata.name === podName(set, ordinal)
    && pod.metadata.namespace === set.metadata.namespace
    && pod.metadata.labels?.[POD_NAME_LABEL] === pod.metadata.name
    && pod.metadata.labels?.[POD_INDEX_LABEL] === String(ordinal);
}

/** The pod mounts each of its claims under the claim template's name. */
export function storageMatches(set: StatefulSet, pod: Pod): boolean {
  const ordinal = ordinalOf(pod);
  if (ordinal < 0) return false;
  const volumes = new Map(((pod.spec?.volumes ?? []) as PodVolume[]).map((v) => [v.name, v]));
  return (set.spec.volumeClaimTemplates ?? []).every((t) => volumes.get(t.metadata?.name ?? '')?.persistentVolumeClaim?.claimName === claimName(set, t, ordinal));
}

/** The claims of the pod with this ordinal: template plus name, namespace and the selector's labels. */
export function claimsFor(set: StatefulSet, ordinal: number): Claim[] {
  const matchLabels = set.spec.selector?.matchLabels ?? {};
  return (set.spec.volumeClaimTemplates ?? []).map((t) => {
    const { status: _status, ...template } = structuredClone(t) as ClaimTemplate & { status?: unknown };
    const metadata: KubeObject['metadata'] = { name: claimName(set, t, ordinal), namespace: set.metadata.namespace, labels: { ...(t.metadata?.labels ?? {}), ...matchLabels } };
    if (t.metadata?.annotations && Object.keys(t.metadata.annotations).length) metadata.annotations = { ...t.metadata.annotations };
    return { ...template, apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata, spec: template.spec ?? {} };
  });
}

/** Identity labels for a pod with this name and ordinal. */
export function identityLabels(set: StatefulSet, ordinal: number): Record<string, string> {
  return { [POD_NAME_LABEL]: podName(set, ordinal), [POD_INDEX_LABEL]: String(ordinal) };
}

/**
 * A new member pod from `template` (the template of the revision it is made
 * at): controllerRef, identity, hostname/subdomain, claim volumes (replacing
 * template volumes of the same name), and the revision label.
 */
export function newStatefulPod(options: { set: StatefulSet; template: PodTemplate; ordinal: number; revision: string }): Pod {
  const { set, template, ordinal } = options;
  const meta = template.metadata ?? {};
  const name = podName(set, ordinal);
  const labels = { ...(meta.labels ?? {}), ...identityLabels(set, ordinal), [CONTROLLER_REVISION_HASH_LABEL]: options.revision };
  const metadata: KubeObject['metadata'] = {
    name, generateName: `${set.metadata.name}-`, namespace: set.metadata.namespace, labels, ownerReferences: [newControllerRef(set)],
  };
  if (meta.annotations && Object.keys(meta.annotations).length) metadata.annotations = { ...meta.annotations };
  if (meta.finalizers?.length) metadata.finalizers = [...meta.finalizers];
  const spec: Record<string, unknown> = structuredClone(template.spec ?? {});
  spec.hostname = name;
  if (set.spec.serviceName) spec.subdomain = set.spec.serviceName;
  const claims = set.spec.volumeClaimTemplates ?? [];
  if (claims.length) {
    const claimVolumes: PodVolume[] = claims.map((t) => ({ name: t.metadata!.name!, persistentVolumeClaim: { claimName: claimName(set, t, ordinal) } }));
    const taken = new Set(claimVolumes.map((v) => v.name));
    spec.volumes = [...claimVolumes, ...((spec.volumes ?? []) as PodVolume[]).filter((v) => !taken.has(v.name))];
  }
  return { apiVersion: 'v1', kind: 'Pod', metadata, spec };
}

// ---- claim retention ------------------------------------------------------------

export function retentionPolicy(set: StatefulSet): { whenDeleted: RetentionPolicyType; whenScaled: RetentionPolicyType } {
  const p = set.spec.persistentVolumeClaimRetentionPolicy ?? {};
  // Anything but Delete is treated as Retain, as upstream does with unknown values.
  return { whenDeleted: p.whenDeleted === 'Delete' ? 'Delete' : 'Retain', whenScaled: p.whenScaled === 'Delete' ? 'Delete' : 'Retain' };
}

const hasRef = (claim: Claim, owner: KubeObject) => (claim.metadata.ownerReferences ?? []).some((r) => r.uid === owner.metadata.uid);

/** A plain (non-controller) reference: the claim is not the set's to manage, only to outlive or not. */
const ownerRef = (owner: KubeObject, apiVersion: string, kind: string): OwnerReference =>
  ({ apiVersion: owner.apiVersion || apiVersion, kind: owner.kind || kind, name: owner.metadata.name!, uid: owner.metadata.uid! });

/**
 * Which owners a claim should have (upstream's claimOwnerMatchesSetAndPod):
 * whenDeleted=Delete → the set, while its pod is in range; whenScaled=Delete
 * → the pod, once it is scaled away. Once an owner is gone the claim goes
 * with it (see the controller's collectClaims).
 */
function wantedOwners(set: StatefulSet, pod: Pod): { set: boolean; pod: boolean } {
  const policy = retentionPolicy(set);
  const scaledDown = !inOrdinalRange(set, ordinalOf(pod));
  const byScale = policy.whenScaled === 'Delete' && scaledDown;
  return { set: policy.whenDeleted === 'Delete' && !byScale, pod: byScale };
}

export function claimOwnersMatch(set: StatefulSet, pod: Pod, claim: Claim): boolean {
  const wanted = wantedOwners(set, pod);
  return hasRef(claim, set) === wanted.set && (pod.metadata.uid ? hasRef(claim, pod) : false) === wanted.pod;
}

/** The claim's ownerReferences under the policy, or undefined when they are right already. */
export function claimOwnersFor(set: StatefulSet, pod: Pod, claim: Claim): OwnerReference[] | undefined {
  if (claimOwnersMatch(set, pod, claim)) return undefined;
  const wanted = wantedOwners(set, pod);
  const refs = (claim.metadata.ownerReferences ?? []).filter((r) => r.uid !== set.metadata.uid && r.uid !== pod.metadata.uid);
  if (wanted.set) refs.push(ownerRef(set, 'apps/v1', 'StatefulSet'));
  if (wanted.pod && pod.metadata.uid) refs.push(ownerRef(pod, 'v1', 'Pod'));
  return refs;
}

/**
 * A claim left over from an earlier pod of this name while scale-down
 * deletion applies (upstream's PodClaimIsStale): it names a Pod owner that
 * is not this pod, and will be deleted; a new pod must wait for that rather
 * than mount data meant to be thrown away.
 */
export function claimIsStale(set: StatefulSet, pod: Pod, claim: Claim | undefined): boolean {
  if (!claim || retentionPolicy(set).whenScaled !== 'Delete') return false;
  return (claim.metadata.ownerReferences ?? []).some((r) => r.kind === 'Pod' && r.name === pod.metadata.name && r.uid !== pod.metadata.uid);
}
