// Core (v1) kinds other than Pods and Services: ConfigMaps, Secrets,
// Namespaces, PVCs, PodTemplates, ReplicationControllers, Nodes, Endpoints.
import {
  type FieldError, child, duplicate, forbidden, goLiteral, goStringMap, immutable, index, invalid, key, notSupported,
  nonNegative, required, tooLong,
} from './errors.ts';
import { deepEqual } from './equal.ts';
import { validateFinalizerName, validateLabelName } from './meta.ts';
import { isConfigMapKey, isDNS1123Label, isIP, isLabelValue, isValidPortNum } from './names.ts';
import { validatePodTemplateSpec } from './pod.ts';
import { validatePVCSpec, validatePVCUpdate } from './pvc.ts';
import { supportedProtocols } from './containers.ts';
import { matches, selectorFromSet } from '../selectors/index.ts';

/** ConfigMaps and Secrets may hold at most 1 MiB of data. */
export const MAX_SECRET_SIZE = 1024 * 1024;

const sortedKeys = (m: unknown): string[] => (m && typeof m === 'object' ? Object.keys(m).sort() : []);

export function validateConfigMap(cm: any): FieldError[] {
  const errs: FieldError[] = [];
  let total = 0;
  for (const k of sortedKeys(cm.data)) {
    errs.push(...isConfigMapKey(k).map((m) => invalid(key('data', k), k, m)));
    if (cm.binaryData && k in cm.binaryData) errs.push(invalid(key('data', k), k, 'duplicate of key present in binaryData'));
    total += Buffer.byteLength(String(cm.data[k] ?? ''));
  }
  for (const k of sortedKeys(cm.binaryData)) {
    errs.push(...isConfigMapKey(k).map((m) => invalid(key('binaryData', k), k, m)));
    total += Buffer.byteLength(String(cm.binaryData[k] ?? ''), 'base64');
  }
  // Upstream names the whole object with an empty path, which prints as "[]".
  if (total > MAX_SECRET_SIZE) errs.push(tooLong('[]', MAX_SECRET_SIZE));
  return errs;
}

/** `immutable: true` freezes data (and the flag itself). */
function validateImmutableData(options: { object: any; oldObject: any; fields: string[] }): FieldError[] {
  const { object, oldObject } = options;
  if (oldObject.immutable !== true) return [];
  const errs: FieldError[] = [];
  if (object.immutable !== true) errs.push(forbidden('immutable', 'field is immutable when `immutable` is set'));
  for (const f of options.fields) {
    if (!deepEqual(object[f], oldObject[f])) errs.push(forbidden(f, 'field is immutable when `immutable` is set'));
  }
  return errs;
}

export const validateConfigMapUpdate = (cm: any, old: any): FieldError[] =>
  [...validateImmutableData({ object: cm, oldObject: old, fields: ['data', 'binaryData'] }), ...validateConfigMap(cm)];

export function validateSecret(secret: any): FieldError[] {
  const errs: FieldError[] = [];
  const data = secret.data ?? {};
  let total = 0;
  for (const k of sortedKeys(data)) {
    errs.push(...isConfigMapKey(k).map((m) => invalid(key('data', k), k, m)));
    total += Buffer.byteLength(String(data[k] ?? ''), 'base64');
  }
  if (total > MAX_SECRET_SIZE) errs.push(tooLong('data', MAX_SECRET_SIZE));
  const has = (k: string) => Object.hasOwn(data, k);
  switch (secret.type) {
    case 'kubernetes.io/service-account-token':
      if (!secret.metadata?.annotations?.['kubernetes.io/service-account.name']) {
        errs.push(required(key('metadata.annotations', 'kubernetes.io/service-account.name')));
      }
      break;
    case 'kubernetes.io/dockercfg':
    case 'kubernetes.io/dockerconfigjson': {
      const k = secret.type === 'kubernetes.io/dockercfg' ? '.dockercfg' : '.dockerconfigjson';
      if (!has(k)) {
        errs.push(required(key('data', k)));
        break;
      }
      try {
        const parsed = JSON.parse(Buffer.from(String(data[k]), 'base64').toString('utf8'));
        if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('json: cannot unmarshal into Go value of type map[string]interface {}');
      } catch (e) {
        const msg = e instanceof SyntaxError ? 'invalid JSON' : (e as Error).message;
        errs.push(invalid(key('data', k), '<secret contents redacted>', msg));
      }
      break;
    }
    case 'kubernetes.io/basic-auth':
      // Upstream builds these paths from the literal "data[%s]", so they print that way.
      if (!has('username') && !has('password')) {
        errs.push(required(key('data[%s]', 'username')), required(key('data[%s]', 'password')));
      }
      break;
    case 'kubernetes.io/ssh-auth':
      if (!data['ssh-privatekey']) errs.push(required(key('data[%s]', 'ssh-privatekey')));
      break;
    case 'kubernetes.io/tls':
      if (!has('tls.crt')) errs.push(required(key('data', 'tls.crt')));
      if (!has('tls.key')) errs.push(required(key('data', 'tls.key')));
      break;
    default:
      break;
  }
  return errs;
}

export function validateSecretUpdate(secret: any, old: any): FieldError[] {
  const errs: FieldError[] = [];
  if ((secret.type ?? '') !== (old.type ?? '')) errs.push(immutable('type', secret.type ?? ''));
  errs.push(...validateImmutableData({ object: secret, oldObject: old, fields: ['data'] }));
  errs.push(...validateSecret(secret));
  return errs;
}

export function validateNamespace(ns: any): FieldError[] {
  const errs: FieldError[] = [];
  for (const f of ns.spec?.finalizers ?? []) errs.push(...validateFinalizerName(String(f), 'spec.finalizers'));
  return errs;
}

export const validatePVC = (pvc: any): FieldError[] => validatePVCSpec({ spec: pvc.spec ?? {}, path: 'spec' });
export const validatePVCObjectUpdate = (pvc: any, old: any): FieldError[] =>
  [...validatePVC(pvc), ...validatePVCUpdate({ object: pvc, oldObject: old })];

export const validatePodTemplate = (pt: any): FieldError[] => validatePodTemplateSpec(pt.template, 'template');

export function validateReplicationController(rc: any): FieldError[] {
  const spec = rc.spec ?? {};
  const errs = nonNegative('spec.minReadySeconds', spec.minReadySeconds);
  const selector = spec.selector ?? {};
  if (Object.keys(selector).length === 0) errs.push(required('spec.selector'));
  errs.push(...nonNegative('spec.replicas', spec.replicas));
  const template = spec.template;
  if (template == null) {
    errs.push(required('spec.template'));
    return errs;
  }
  if (Object.keys(selector).length > 0 && !matches(selectorFromSet(selector), template.metadata?.labels ?? {})) {
    errs.push(invalid('spec.template.metadata.labels', goLiteral(goStringMap(template.metadata?.labels)), '`selector` does not match template `labels`'));
  }
  errs.push(...validatePodTemplateSpec(template, 'spec.template'));
  const rp = template.spec?.restartPolicy;
  if (rp !== 'Always') errs.push(notSupported('spec.template.spec.restartPolicy', rp ?? '', ['Always']));
  if (template.spec?.activeDeadlineSeconds != null) {
    errs.push(forbidden('spec.template.spec.activeDeadlineSeconds', 'activeDeadlineSeconds in ReplicationController is not Supported'));
  }
  return errs;
}

const taintEffects = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'];

export function validateNode(node: any): FieldError[] {
  const errs: FieldError[] = [];
  const seen = new Set<string>();
  (Array.isArray(node.spec?.taints) ? node.spec.taints : []).forEach((t: any, i: number) => {
    // Upstream reports node taints under metadata.taints.
    const p = index('metadata.taints', i);
    errs.push(...validateLabelName(String(t?.key ?? ''), child(p, 'key')));
    const msgs = isLabelValue(String(t?.value ?? ''));
    if (msgs.length) errs.push(invalid(child(p, 'value'), t?.value ?? '', msgs.join(';')));
    if (!t?.effect) errs.push(required(child(p, 'effect')));
    else if (!taintEffects.includes(t.effect)) errs.push(notSupported(child(p, 'effect'), t.effect, taintEffects));
    const id = `${t?.effect}/${t?.key}`;
    if (seen.has(id)) errs.push({ ...duplicate(p, t), message: 'taints must be unique by key and effect pair' });
    seen.add(id);
  });
  return errs;
}

export function validateNodeUpdate(node: any, old: any): FieldError[] {
  const errs = validateNode(node);
  const oldCIDRs: string[] = old.spec?.podCIDRs ?? [];
  if (oldCIDRs.length && !deepEqual(oldCIDRs, node.spec?.podCIDRs ?? [])) {
    errs.push(forbidden('spec.podCIDRs', 'node updates may not change podCIDR except from "" to valid'));
  }
  if (old.spec?.providerID && old.spec.providerID !== node.spec?.providerID) {
    errs.push(forbidden('spec.providerID', 'node updates may not change providerID except from "" to valid'));
  }
  return errs;
}

export function validateEndpoints(ep: any): FieldError[] {
  const errs: FieldError[] = [];
  (Array.isArray(ep.subsets) ? ep.subsets : []).forEach((ss: any, i: number) => {
    const p = index('subsets', i);
    if (!(ss?.addresses?.length || ss?.notReadyAddresses?.length)) errs.push(required(p, 'must specify `addresses` or `notReadyAddresses`'));
    for (const list of ['addresses', 'notReadyAddresses'] as const) {
      (ss?.[list] ?? []).forEach((a: any, j: number) => {
        const ap = index(child(p, list), j);
        if (!isIP(String(a?.ip ?? ''))) errs.push(invalid(child(ap, 'ip'), a?.ip ?? '', 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)'));
        if (a?.hostname) errs.push(...isDNS1123Label(a.hostname).map((m) => invalid(child(ap, 'hostname'), a.hostname, m)));
      });
    }
    const ports: any[] = ss?.ports ?? [];
    ports.forEach((port, j) => {
      const pp = index(child(p, 'ports'), j);
      if (ports.length > 1 && !port?.name) errs.push(required(child(pp, 'name')));
      else if (port?.name) errs.push(...isDNS1123Label(port.name).map((m) => invalid(child(pp, 'name'), port.name, m)));
      errs.push(...isValidPortNum(port?.port ?? 0).map((m) => invalid(child(pp, 'port'), port?.port ?? 0, m)));
      if (!port?.protocol) errs.push(required(child(pp, 'protocol')));
      else if (!supportedProtocols.includes(port.protocol)) errs.push(notSupported(child(pp, 'protocol'), port.protocol, supportedProtocols));
    });
  });
  return errs;
}

