// PersistentVolumeClaim specs: standalone claims, StatefulSet
// volumeClaimTemplates and generic ephemeral volumes share these rules.
import { type FieldError, child, forbidden, invalid, key, notSupported, required, NOT_POSITIVE } from './errors.ts';
import { deepEqual, describeDiff } from './equal.ts';
import { validateLabelSelector } from './meta.ts';
import { nameIsDNSSubdomain } from './names.ts';
import { compareQuantities, isZero, isNegative, parseQuantity } from './quantity.ts';

const accessModes = ['ReadOnlyMany', 'ReadWriteMany', 'ReadWriteOnce', 'ReadWriteOncePod'];
const volumeModes = ['Block', 'Filesystem'];

export function validatePVCSpec(options: { spec: any; path: string }): FieldError[] {
  const { spec, path } = options;
  const errs: FieldError[] = [];
  const modes: unknown[] = Array.isArray(spec.accessModes) ? spec.accessModes : [];
  if (modes.length === 0) errs.push(required(child(path, 'accessModes'), 'at least 1 access mode is required'));
  if (spec.selector) errs.push(...validateLabelSelector(spec.selector, child(path, 'selector')));
  let rwop = false;
  let other = false;
  for (const mode of modes) {
    if (!accessModes.includes(String(mode))) errs.push(notSupported(child(path, 'accessModes'), mode, accessModes));
    if (mode === 'ReadWriteOncePod') rwop = true;
    else if (accessModes.includes(String(mode))) other = true;
  }
  if (rwop && other) errs.push(forbidden(child(path, 'accessModes'), 'may not use ReadWriteOncePod with other access modes'));

  const storagePath = key(child(path, 'resources'), 'storage');
  const storage = spec.resources?.requests?.storage;
  if (storage === undefined || storage === null) {
    errs.push(required(storagePath));
  } else {
    const q = parseQuantity(storage);
    if (q && (isZero(q) || isNegative(q))) errs.push(invalid(storagePath, String(storage), NOT_POSITIVE));
  }
  if (typeof spec.storageClassName === 'string' && spec.storageClassName) {
    for (const m of nameIsDNSSubdomain(spec.storageClassName, false)) {
      errs.push(invalid(child(path, 'storageClassName'), spec.storageClassName, m));
    }
  }
  if (spec.volumeMode != null && !volumeModes.includes(spec.volumeMode)) {
    errs.push(notSupported(child(path, 'volumeMode'), spec.volumeMode, volumeModes));
  }
  return errs;
}

/** Claims are immutable once created, except for growing a bound claim's storage request. */
export function validatePVCUpdate(options: { object: any; oldObject: any }): FieldError[] {
  const { object, oldObject } = options;
  const errs: FieldError[] = [];
  const spec = structuredClone(object.spec ?? {});
  const oldSpec = structuredClone(oldObject.spec ?? {});
  // The volume binder fills volumeName once.
  if (!oldSpec.volumeName) oldSpec.volumeName = spec.volumeName;
  const bound = (object.status?.phase ?? oldObject.status?.phase) === 'Bound';
  if (bound) {
    if (spec.resources?.requests) spec.resources.requests.storage = oldSpec.resources?.requests?.storage;
    if (spec.volumeAttributesClassName != null) spec.volumeAttributesClassName = oldSpec.volumeAttributesClassName;
  }
  if (!deepEqual(spec, oldSpec)) {
    errs.push(forbidden('spec', `spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims\n${describeDiff(oldSpec, spec, 'spec')}`));
  }
  const newSize = parseQuantity(object.spec?.resources?.requests?.storage);
  const oldSize = parseQuantity(oldObject.spec?.resources?.requests?.storage);
  if (newSize && oldSize && compareQuantities(newSize, oldSize) < 0) {
    // Shrinking is allowed only to recover from a failed expansion, never below what was provisioned.
    const capacity = parseQuantity(oldObject.status?.capacity?.storage ?? '0') ?? { num: 0n, den: 1n };
    if (compareQuantities(newSize, capacity) <= 0) {
      errs.push(forbidden('spec.resources.requests.storage', 'field can not be less than status.capacity'));
    }
  }
  return errs;
}
