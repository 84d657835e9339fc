// PersistentVolumes, claims and StorageClasses as the binder and the
// local-path provisioner read them, and upstream's annotation names.
import type { LabelSelectorObject } from '../../api/selectors/index.ts';
import type { KubeObject } from '../../client/interface.ts';

export const resourcesOf = {
  claims: { group: '', version: 'v1', resource: 'persistentvolumeclaims' },
  volumes: { group: '', version: 'v1', resource: 'persistentvolumes' },
  classes: { group: 'storage.k8s.io', version: 'v1', resource: 'storageclasses' },
  nodes: { group: '', version: 'v1', resource: 'nodes' },
} as const;

/** On both: the controller (not the user) filled claimRef / volumeName. */
export const ANN_BOUND_BY_CONTROLLER = 'pv.kubernetes.io/bound-by-controller';
/** On claims: binding finished once; from then a missing volume means the claim is Lost. */
export const ANN_BIND_COMPLETED = 'pv.kubernetes.io/bind-completed';
/** On volumes: which provisioner made it (and so deletes it). */
export const ANN_PROVISIONED_BY = 'pv.kubernetes.io/provisioned-by';
/** On claims: the provisioner asked to make a volume for it. */
export const ANN_STORAGE_PROVISIONER = 'volume.kubernetes.io/storage-provisioner';
export const ANN_BETA_STORAGE_PROVISIONER = 'volume.beta.kubernetes.io/storage-provisioner';
/** On claims: the node the scheduler chose for a WaitForFirstConsumer claim's first pod. */
export const ANN_SELECTED_NODE = 'volume.kubernetes.io/selected-node';
const ANN_BETA_CLASS = 'volume.beta.kubernetes.io/storage-class';

export const LOCAL_PATH_PROVISIONER = 'rancher.io/local-path';

export interface ObjectReference {
  apiVersion?: string;
  kind?: string;
  namespace?: string;
  name?: string;
  uid?: string;
  resourceVersion?: string;
}

export interface PersistentVolume extends KubeObject {
  spec?: {
    capacity?: Record<string, string>;
    accessModes?: string[];
    storageClassName?: string;
    persistentVolumeReclaimPolicy?: string;
    volumeMode?: string;
    claimRef?: ObjectReference | null;
    nodeAffinity?: unknown;
    hostPath?: { path: string; type?: string };
    local?: { path: string };
    [field: string]: unknown;
  };
  status?: { phase?: string; message?: string; reason?: string; lastPhaseTransitionTime?: string };
}

export interface PersistentVolumeClaim extends KubeObject {
  spec?: {
    accessModes?: string[];
    resources?: { requests?: Record<string, string> };
    storageClassName?: string | null;
    volumeName?: string;
    selector?: LabelSelectorObject | null;
    volumeMode?: string;
    [field: string]: unknown;
  };
  status?: { phase?: string; capacity?: Record<string, string>; accessModes?: string[]; [field: string]: unknown };
}

export interface StorageClass extends KubeObject {
  provisioner?: string;
  parameters?: Record<string, string>;
  reclaimPolicy?: string;
  volumeBindingMode?: string;
  mountOptions?: string[];
}

/** The class a claim asks for ('' = none), the beta annotation first, as upstream. */
export function claimClass(claim: PersistentVolumeClaim): string {
  return claim.metadata.annotations?.[ANN_BETA_CLASS] ?? claim.spec?.storageClassName ?? '';
}

export function volumeClass(volume: PersistentVolume): string {
  return volume.metadata.annotations?.[ANN_BETA_CLASS] ?? volume.spec?.storageClassName ?? '';
}

export const hasAnnotation = (obj: KubeObject, name: string) => obj.metadata.annotations?.[name] !== undefined;

/** The volume's claimRef points at this claim (by uid when the ref has one). */
export function isVolumeBoundToClaim(volume: PersistentVolume, claim: PersistentVolumeClaim): boolean {
  const ref = volume.spec?.claimRef;
  if (!ref) return false;
  if (ref.name !== claim.metadata.name || ref.namespace !== claim.metadata.namespace) return false;
  return !ref.uid || ref.uid === claim.metadata.uid;
}

export const rfc3339 = (date: Date) => date.toISOString().replace(/\.\d{3}Z$/, 'Z');
