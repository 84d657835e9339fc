// DefaultStorageClass admission: a new claim that names no class (neither
// spec.storageClassName, even "", nor the beta annotation) gets the default
// StorageClass, the one annotated storageclass.kubernetes.io/is-default-class
// "true" (or the beta annotation); with several defaults, the newest wins
// (ties: the smaller name), as upstream since 1.26.
import { isCoreKind, type AdmissionPlugin } from './chain.ts';
import type { KubeObject } from '../registry/resource-store.ts';
import { listPolicyObjects } from './object-lookup.ts';

const IS_DEFAULT = 'storageclass.kubernetes.io/is-default-class';
const IS_DEFAULT_BETA = 'storageclass.beta.kubernetes.io/is-default-class';
const BETA_CLASS = 'volume.beta.kubernetes.io/storage-class';

export const isDefaultClass = (sc: KubeObject): boolean =>
  sc.metadata.annotations?.[IS_DEFAULT] === 'true' || sc.metadata.annotations?.[IS_DEFAULT_BETA] === 'true';

/** The default class among `classes`: newest first, then by name. */
export function pickDefaultClass(classes: readonly KubeObject[]): KubeObject | undefined {
  const defaults = classes.filter(isDefaultClass);
  defaults.sort((a, b) => {
    const ta = Date.parse(a.metadata.creationTimestamp ?? '') || 0;
    const tb = Date.parse(b.metadata.creationTimestamp ?? '') || 0;
    if (ta !== tb) return tb - ta;
    return (a.metadata.name ?? '') < (b.metadata.name ?? '') ? -1 : 1;
  });
  return defaults[0];
}

export const defaultStorageClass: AdmissionPlugin = {
  name: 'DefaultStorageClass',
  async admit(attributes) {
    if (attributes.operation !== 'CREATE' || !isCoreKind(attributes, 'PersistentVolumeClaim') || !attributes.object) return;
    const pvc = attributes.object;
    const spec = (pvc.spec ??= {}) as { storageClassName?: string | null };
    if (spec.storageClassName != null || pvc.metadata.annotations?.[BETA_CLASS] !== undefined) return;
    const resource = attributes.parts.registry.lookup('storage.k8s.io', 'v1', 'storageclasses')!;
    const chosen = pickDefaultClass(await listPolicyObjects(attributes.parts.store, resource));
    if (chosen) spec.storageClassName = chosen.metadata.name;
  },
};
