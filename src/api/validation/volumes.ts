// Pod volumes (core ValidateVolumes and the common volume sources). Exotic
// in-tree cloud sources are only checked for "exactly one source".
import {
  type FieldError, child, duplicate, forbidden, index, invalid, notSupported, required,
} from './errors.ts';
import { isDNS1123Label, isLabelKey, nameIsDNSSubdomain } from './names.ts';
import { parseQuantity, isNegative } from './quantity.ts';
import { validatePVCSpec } from './pvc.ts';

/** The volume source fields, in upstream's checking order (the first one set wins). */
const sourceFields = [
  'emptyDir', 'hostPath', 'gitRepo', 'gcePersistentDisk', 'awsElasticBlockStore', 'secret', 'nfs', 'iscsi', 'glusterfs',
  'flocker', 'persistentVolumeClaim', 'rbd', 'cinder', 'cephfs', 'quobyte', 'downwardAPI', 'fc', 'flexVolume',
  'configMap', 'azureFile', 'vsphereVolume', 'photonPersistentDisk', 'portworxVolume', 'azureDisk', 'storageos',
  'projected', 'scaleIO', 'csi', 'ephemeral', 'image',
] as const;

// Upstream reports two of these under misspelled paths; kept so messages match.
const forbiddenPathName: Record<string, string> = { cephfs: 'cephFS', downwardAPI: 'downwarAPI' };

const FILE_MODE_ERROR = 'must be a number between 0 and 0777 (octal), both inclusive';

export interface VolumesResult {
  /** name → volume, for the volumes that validated (mounts may only refer to these). */
  volumes: Map<string, any>;
  errors: FieldError[];
}

export function validateVolumes(options: { volumes: unknown; path: string; podName?: string; isPod: boolean }): VolumesResult {
  const list: any[] = Array.isArray(options.volumes) ? options.volumes : [];
  const volumes = new Map<string, any>();
  const errors: FieldError[] = [];
  list.forEach((vol, i) => {
    const p = index(options.path, i);
    const namePath = child(p, 'name');
    const name = typeof vol?.name === 'string' ? vol.name : '';
    const el = validateVolumeSource({ volume: vol ?? {}, path: p, podName: options.podName, isPod: options.isPod });
    if (!name) el.push(required(namePath));
    else el.push(...isDNS1123Label(name).map((m) => invalid(namePath, name, m)));
    if (volumes.has(name)) el.push(duplicate(namePath, name));
    if (el.length === 0) volumes.set(name, vol);
    else errors.push(...el);
  });
  return { volumes, errors };
}

function validateVolumeSource(options: { volume: any; path: string; podName?: string; isPod: boolean }): FieldError[] {
  const { volume, path } = options;
  const errs: FieldError[] = [];
  let count = 0;
  for (const f of sourceFields) {
    if (volume[f] == null) continue;
    if (count > 0) {
      errs.push(forbidden(child(path, forbiddenPathName[f] ?? f), 'may not specify more than 1 volume type'));
      continue;
    }
    count++;
    const src = volume[f];
    const sp = child(path, f);
    switch (f) {
      case 'emptyDir': {
        const q = src.sizeLimit == null ? undefined : parseQuantity(src.sizeLimit);
        if (q && isNegative(q)) errs.push(forbidden(child(sp, 'sizeLimit'), 'SizeLimit field must be a valid resource quantity'));
        break;
      }
      case 'hostPath':
        errs.push(...validateHostPath(src, sp));
        break;
      case 'secret':
        if (!src.secretName) errs.push(required(child(sp, 'secretName')));
        errs.push(...validateMode(src.defaultMode, child(sp, 'defaultMode')));
        errs.push(...validateKeyToPaths(src.items, child(sp, 'items')));
        break;
      case 'configMap':
        if (!src.name) errs.push(required(child(sp, 'name')));
        errs.push(...validateMode(src.defaultMode, child(sp, 'defaultMode')));
        errs.push(...validateKeyToPaths(src.items, child(sp, 'items')));
        break;
      case 'persistentVolumeClaim':
        if (!src.claimName) errs.push(required(child(sp, 'claimName')));
        break;
      case 'nfs':
        if (!src.server) errs.push(required(child(sp, 'server')));
        if (!src.path) errs.push(required(child(sp, 'path')));
        if (!String(src.path ?? '').startsWith('/')) errs.push(invalid(child(sp, 'path'), src.path ?? '', 'must be an absolute path'));
        break;
      case 'downwardAPI':
        errs.push(...validateMode(src.defaultMode, child(sp, 'defaultMode')));
        for (const item of Array.isArray(src.items) ? src.items : []) errs.push(...validateDownwardAPIFile(item, sp));
        break;
      case 'projected':
        errs.push(...validateProjected(src, sp));
        break;
      case 'csi':
        if (!src.driver) errs.push(required(child(sp, 'driver')));
        break;
      case 'ephemeral':
        errs.push(...validateEphemeral(src, sp));
        if (options.podName && volume.name) {
          const pvcName = `${options.podName}-${volume.name}`;
          for (const m of nameIsDNSSubdomain(pvcName, false)) errs.push(invalid(child(path, 'name'), volume.name, `PVC name "${pvcName}": ${m}`));
        }
        break;
      case 'image':
        if (options.isPod && !src.reference) errs.push(required(child(sp, 'reference')));
        errs.push(...validatePullPolicy(src.pullPolicy, child(sp, 'pullPolicy')));
        break;
      default:
        break;
    }
  }
  if (count === 0) errs.push(required(path, 'must specify a volume type'));
  return errs;
}

const hostPathTypes = ['', 'BlockDevice', 'CharDevice', 'Directory', 'DirectoryOrCreate', 'File', 'FileOrCreate', 'Socket'];

function validateHostPath(src: any, path: string): FieldError[] {
  if (!src.path) return [required(child(path, 'path'))];
  const errs = validatePathNoBacksteps(src.path, child(path, 'path'));
  if (src.type != null && !hostPathTypes.includes(src.type)) errs.push(notSupported(child(path, 'type'), src.type, hostPathTypes));
  return errs;
}

export const supportedPullPolicies = ['Always', 'IfNotPresent', 'Never'];

export function validatePullPolicy(policy: unknown, path: string): FieldError[] {
  if (policy === undefined || policy === null || policy === '') return [required(path)];
  return supportedPullPolicies.includes(String(policy)) ? [] : [notSupported(path, policy, supportedPullPolicies)];
}

function validateMode(mode: unknown, path: string): FieldError[] {
  return typeof mode === 'number' && (mode > 0o777 || mode < 0) ? [invalid(path, mode, FILE_MODE_ERROR)] : [];
}

function validateKeyToPaths(items: unknown, path: string): FieldError[] {
  const errs: FieldError[] = [];
  (Array.isArray(items) ? items : []).forEach((kp: any, i: number) => {
    const p = index(path, i);
    if (!kp?.key) errs.push(required(child(p, 'key')));
    if (!kp?.path) errs.push(required(child(p, 'path')));
    errs.push(...validateLocalNonReservedPath(String(kp?.path ?? ''), child(p, 'path')));
    errs.push(...validateMode(kp?.mode, child(p, 'mode')));
  });
  return errs;
}

export function validatePathNoBacksteps(target: string, path: string): FieldError[] {
  return target.split('/').includes('..') ? [invalid(path, target, "must not contain '..'")] : [];
}

export function validateLocalDescendingPath(target: string, path: string): FieldError[] {
  const errs: FieldError[] = [];
  if (target.startsWith('/')) errs.push(invalid(path, target, 'must be a relative path'));
  errs.push(...validatePathNoBacksteps(target, path));
  return errs;
}

function validateLocalNonReservedPath(target: string, path: string): FieldError[] {
  const errs = validateLocalDescendingPath(target, path);
  if (target.startsWith('..') && !target.startsWith('../')) errs.push(invalid(path, target, "must not start with '..'"));
  return errs;
}

const volumeFieldPaths = ['metadata.annotations', 'metadata.labels', 'metadata.name', 'metadata.namespace', 'metadata.uid'];

function validateDownwardAPIFile(file: any, path: string): FieldError[] {
  const errs: FieldError[] = [];
  if (!file?.path) errs.push(required(child(path, 'path')));
  errs.push(...validateLocalNonReservedPath(String(file?.path ?? ''), child(path, 'path')));
  if (file?.fieldRef) {
    errs.push(...validateObjectFieldSelector({ ref: file.fieldRef, allowed: volumeFieldPaths, path: child(path, 'fieldRef') }));
    if (file.resourceFieldRef) errs.push(invalid(path, 'resource', 'fieldRef and resourceFieldRef can not be specified simultaneously'));
  } else if (file?.resourceFieldRef) {
    if (!file.resourceFieldRef.containerName) errs.push(required(child(path, 'resourceFieldRef', 'containerName')));
  } else {
    errs.push(required(path, 'one of fieldRef and resourceFieldRef is required'));
  }
  errs.push(...validateMode(file?.mode, child(path, 'mode')));
  return errs;
}

function validateProjected(src: any, path: string): FieldError[] {
  const errs = validateMode(src.defaultMode, child(path, 'defaultMode'));
  const seenPaths = new Set<string>();
  (Array.isArray(src.sources) ? src.sources : []).forEach((s: any, i: number) => {
    const sp = index(child(path, 'sources'), i);
    let n = 0;
    for (const kind of ['secret', 'configMap'] as const) {
      if (!s?.[kind]) continue;
      n++;
      const kp = child(sp, kind);
      if (!s[kind].name) errs.push(required(child(kp, 'name')));
      errs.push(...validateKeyToPaths(s[kind].items, child(kp, 'items')));
      for (const item of Array.isArray(s[kind].items) ? s[kind].items : []) {
        if (!item?.path) continue;
        if (seenPaths.has(item.path)) errs.push(invalid(path, s[kind].name ?? '', 'conflicting duplicate paths'));
        seenPaths.add(item.path);
      }
    }
    if (s?.downwardAPI) {
      n++;
      for (const item of Array.isArray(s.downwardAPI.items) ? s.downwardAPI.items : []) {
        errs.push(...validateDownwardAPIFile(item, child(sp, 'downwardAPI')));
      }
    }
    if (s?.serviceAccountToken) {
      n++;
      const tp = child(sp, 'serviceAccountToken');
      const exp = s.serviceAccountToken.expirationSeconds;
      if (typeof exp === 'number' && exp < 600) errs.push(invalid(child(tp, 'expirationSeconds'), exp, 'may not specify a duration less than 10 minutes'));
      if (typeof exp === 'number' && exp > 2 ** 32) errs.push(invalid(child(tp, 'expirationSeconds'), exp, 'may not specify a duration larger than 2^32 seconds'));
      if (!s.serviceAccountToken.path) errs.push(required(child(tp, 'path')));
    }
    if (s?.clusterTrustBundle) n++;
    if (s?.podCertificate) n++;
    if (n > 1) errs.push(forbidden(sp, 'may not specify more than 1 volume type per source'));
  });
  return errs;
}

function validateEphemeral(src: any, path: string): FieldError[] {
  const tmpl = src.volumeClaimTemplate;
  if (!tmpl) return [required(child(path, 'volumeClaimTemplate'))];
  return validatePVCSpec({ spec: tmpl.spec ?? {}, path: child(path, 'volumeClaimTemplate', 'spec') });
}

/** fieldRef of env vars and downward API files. */
export function validateObjectFieldSelector(options: { ref: any; allowed: readonly string[]; path: string }): FieldError[] {
  const { ref, allowed, path } = options;
  if (!ref.apiVersion) return [required(child(path, 'apiVersion'))];
  if (!ref.fieldPath) return [required(child(path, 'fieldPath'))];
  const fieldPath = String(ref.fieldPath);
  if (ref.apiVersion !== 'v1') {
    return [invalid(child(path, 'fieldPath'), fieldPath, `error converting fieldPath: unsupported pod version: ${ref.apiVersion}`)];
  }
  const sub = /^([^[]+)\['(.*)'\]$/.exec(fieldPath);
  if (sub) {
    const [, base, subscript] = sub;
    if (base !== 'metadata.annotations' && base !== 'metadata.labels') {
      return [invalid(child(path, 'fieldPath'), fieldPath, `error converting fieldPath: field label does not support subscript: ${fieldPath}`)];
    }
    // Annotation keys are case-insensitive; label keys are not.
    const keyToCheck = base === 'metadata.annotations' ? subscript!.toLowerCase() : subscript!;
    return isLabelKeyErrors(keyToCheck, path);
  }
  if (!convertibleFieldPaths.has(fieldPath)) {
    return [invalid(child(path, 'fieldPath'), fieldPath, `error converting fieldPath: field label not supported: ${fieldPath}`)];
  }
  const internal = fieldPath === 'spec.host' ? 'spec.nodeName' : fieldPath;
  return allowed.includes(internal) ? [] : [notSupported(child(path, 'fieldPath'), internal, allowed)];
}

const convertibleFieldPaths = new Set([
  'metadata.annotations', 'metadata.labels', 'metadata.name', 'metadata.namespace', 'metadata.uid', 'spec.nodeName',
  'spec.restartPolicy', 'spec.serviceAccountName', 'spec.schedulerName', 'status.phase', 'status.hostIP',
  'status.hostIPs', 'status.podIP', 'status.podIPs', 'spec.host',
]);

const isLabelKeyErrors = (k: string, path: string): FieldError[] => isLabelKey(k).map((m) => invalid(path, k, m));
