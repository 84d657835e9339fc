// Smaller groups: scheduling, storage, policy, autoscaling, networking.
// Only the rules users commonly trip over are checked here.
import {
  type FieldError, child, forbidden, goIntOrString, goLiteral, goQuote, immutable, index, invalid, notSupported, nonNegative, required,
} from './errors.ts';
import { deepEqual } from './equal.ts';
import { validateLabelSelector } from './meta.ts';
import { isDNS1123Label, isDNS1123Subdomain, isQualifiedName, isValidPercent, isValidPortName, isValidPortNum } from './names.ts';
import { supportedProtocols } from './containers.ts';

const HIGHEST_USER_PRIORITY = 1000000000;
const systemPriorityClasses: Record<string, number> = { 'system-node-critical': 2000001000, 'system-cluster-critical': 2000000000 };

export function validatePriorityClass(pc: any): FieldError[] {
  const errs: FieldError[] = [];
  const name = String(pc.metadata?.name ?? '');
  if (name.startsWith('system-')) {
    const value = systemPriorityClasses[name];
    if (value === undefined) {
      errs.push(forbidden('metadata.name', `priority class names with 'system-' prefix are reserved for system use only. error: ${name} is not a known system priority class`));
    } else if (pc.value !== value) {
      errs.push(forbidden('metadata.name', `priority class names with 'system-' prefix are reserved for system use only. error: value of ${name} PriorityClass must be ${value}`));
    }
  } else if (typeof pc.value === 'number' && pc.value > HIGHEST_USER_PRIORITY) {
    errs.push(forbidden('value', `maximum allowed value of a user defined priority is ${HIGHEST_USER_PRIORITY}`));
  }
  if (pc.preemptionPolicy != null && !['PreemptLowerPriority', 'Never'].includes(pc.preemptionPolicy)) {
    errs.push(notSupported('preemptionPolicy', pc.preemptionPolicy, ['PreemptLowerPriority', 'Never']));
  }
  return errs;
}

export function validatePriorityClassUpdate(pc: any, old: any): FieldError[] {
  const errs = validatePriorityClass(pc);
  if (pc.value !== old.value) errs.push(forbidden('value', 'may not be changed in an update.'));
  if ((pc.preemptionPolicy ?? null) !== (old.preemptionPolicy ?? null)) errs.push(immutable('preemptionPolicy', pc.preemptionPolicy ?? null));
  return errs;
}

export function validateStorageClass(sc: any): FieldError[] {
  const errs: FieldError[] = [];
  if (!sc.provisioner) errs.push(required('provisioner'));
  else errs.push(...isQualifiedName(String(sc.provisioner).toLowerCase()).map((m) => invalid('provisioner', sc.provisioner, m)));
  if (sc.reclaimPolicy != null && !['Delete', 'Retain'].includes(sc.reclaimPolicy)) {
    errs.push(notSupported('reclaimPolicy', sc.reclaimPolicy, ['Delete', 'Retain']));
  }
  if (sc.volumeBindingMode == null) errs.push(required('volumeBindingMode'));
  else if (!['Immediate', 'WaitForFirstConsumer'].includes(sc.volumeBindingMode)) {
    errs.push(notSupported('volumeBindingMode', sc.volumeBindingMode, ['Immediate', 'WaitForFirstConsumer']));
  }
  return errs;
}

export function validateStorageClassUpdate(sc: any, old: any): FieldError[] {
  const errs = validateStorageClass(sc);
  if (!deepEqual(sc.parameters, old.parameters)) errs.push(forbidden('parameters', 'updates to parameters are forbidden.'));
  if (sc.provisioner !== old.provisioner) errs.push(forbidden('provisioner', 'updates to provisioner are forbidden.'));
  if ((sc.reclaimPolicy ?? '') !== (old.reclaimPolicy ?? '')) errs.push(forbidden('reclaimPolicy', 'updates to reclaimPolicy are forbidden.'));
  if ((sc.volumeBindingMode ?? null) !== (old.volumeBindingMode ?? null)) errs.push(immutable('volumeBindingMode', sc.volumeBindingMode ?? null));
  return errs;
}

function intOrPercent(value: unknown, path: string): FieldError[] {
  if (value == null) return [];
  if (typeof value === 'number') return nonNegative(path, value);
  if (typeof value === 'string') {
    const errs = isValidPercent(value).map((m) => invalid(path, goIntOrString(value), m));
    if (!errs.length && parseInt(value, 10) > 100) errs.push(invalid(path, goIntOrString(value), 'must not be greater than 100%'));
    return errs;
  }
  return [invalid(path, goIntOrString(value), "must be an integer or percentage (e.g '5%')")];
}

export function validatePodDisruptionBudget(pdb: any): FieldError[] {
  const spec = pdb.spec ?? {};
  const errs: FieldError[] = [];
  if (spec.minAvailable != null && spec.maxUnavailable != null) {
    errs.push(invalid('spec', spec, 'minAvailable and maxUnavailable cannot be both set'));
  }
  errs.push(...intOrPercent(spec.minAvailable, 'spec.minAvailable'), ...intOrPercent(spec.maxUnavailable, 'spec.maxUnavailable'));
  errs.push(...validateLabelSelector(spec.selector, 'spec.selector'));
  const policies = ['AlwaysAllow', 'IfHealthyBudget'];
  if (spec.unhealthyPodEvictionPolicy != null && !policies.includes(spec.unhealthyPodEvictionPolicy)) {
    errs.push(notSupported('spec.unhealthyPodEvictionPolicy', spec.unhealthyPodEvictionPolicy, policies));
  }
  return errs;
}

export function validateHorizontalPodAutoscaler(hpa: any): FieldError[] {
  const spec = hpa.spec ?? {};
  const errs: FieldError[] = [];
  const ref = spec.scaleTargetRef ?? {};
  if (!ref.kind) errs.push(required('spec.scaleTargetRef.kind'));
  if (!ref.name) errs.push(required('spec.scaleTargetRef.name'));
  if (typeof spec.minReplicas === 'number' && spec.minReplicas < 1) {
    errs.push(invalid('spec.minReplicas', spec.minReplicas, 'must be greater than or equal to 1'));
  }
  if (typeof spec.maxReplicas !== 'number' || spec.maxReplicas < 1) {
    errs.push(invalid('spec.maxReplicas', spec.maxReplicas ?? 0, 'must be greater than 0'));
  }
  if (typeof spec.minReplicas === 'number' && typeof spec.maxReplicas === 'number' && spec.maxReplicas < spec.minReplicas) {
    errs.push(invalid('spec.maxReplicas', spec.maxReplicas, 'must be greater than or equal to `minReplicas`'));
  }
  if (typeof spec.targetCPUUtilizationPercentage === 'number' && spec.targetCPUUtilizationPercentage < 1) {
    errs.push(invalid('spec.targetCPUUtilizationPercentage', spec.targetCPUUtilizationPercentage, 'must be greater than or equal to 1'));
  }
  return errs;
}

const pathTypes = ['Exact', 'ImplementationSpecific', 'Prefix'];

function validateIngressBackend(backend: any, path: string): FieldError[] {
  const errs: FieldError[] = [];
  const svc = backend?.service;
  const res = backend?.resource;
  if (svc && res) errs.push(invalid(path, '', 'cannot set both resource and service backends'));
  else if (svc) {
    if (!svc.name) errs.push(required(child(path, 'service', 'name')));
    else errs.push(...isDNS1123Label(svc.name).map((m) => invalid(child(path, 'service', 'name'), svc.name, m)));
    const port = svc.port ?? {};
    if (port.name && port.number) errs.push(invalid(child(path, 'service', 'port'), port, 'cannot set both port name & port number'));
    else if (port.name) errs.push(...isValidPortName(port.name).map((m) => invalid(child(path, 'service', 'port', 'name'), port.name, m)));
    else if (port.number) errs.push(...isValidPortNum(port.number).map((m) => invalid(child(path, 'service', 'port', 'number'), port.number, m)));
    else errs.push(required(child(path, 'service', 'port'), 'port name or number is required'));
  } else if (!res) {
    errs.push(invalid(path, '', 'resource or service backend is required'));
  }
  return errs;
}

export function validateIngress(ing: any): FieldError[] {
  const spec = ing.spec ?? {};
  const errs: FieldError[] = [];
  if (spec.defaultBackend) errs.push(...validateIngressBackend(spec.defaultBackend, 'spec.defaultBackend'));
  else if (!(spec.rules ?? []).length) errs.push(invalid('spec.rules', [], 'either `defaultBackend` or `rules` must be specified'));
  (spec.rules ?? []).forEach((rule: any, i: number) => {
    const rp = index('spec.rules', i);
    if (rule?.host) {
      const host = String(rule.host);
      const msgs = host.startsWith('*.') ? isDNS1123Subdomain(host.slice(2)) : isDNS1123Subdomain(host);
      errs.push(...msgs.map((m) => invalid(child(rp, 'host'), host, m)));
    }
    (rule?.http?.paths ?? []).forEach((p: any, j: number) => {
      const pp = index(child(rp, 'http', 'paths'), j);
      if (p?.pathType == null) errs.push(required(child(pp, 'pathType'), 'pathType must be specified'));
      else if (!pathTypes.includes(p.pathType)) errs.push(notSupported(child(pp, 'pathType'), p.pathType, pathTypes));
      else if (p.pathType !== 'ImplementationSpecific' && !String(p.path ?? '').startsWith('/')) {
        errs.push(invalid(child(pp, 'path'), p.path ?? '', 'must be an absolute path'));
      }
      errs.push(...validateIngressBackend(p?.backend, child(pp, 'backend')));
    });
  });
  return errs;
}

export function validateNetworkPolicy(np: any): FieldError[] {
  const spec = np.spec ?? {};
  const errs = validateLabelSelector(spec.podSelector, 'spec.podSelector');
  for (const dir of ['ingress', 'egress'] as const) {
    (spec[dir] ?? []).forEach((rule: any, i: number) => {
      (rule?.ports ?? []).forEach((port: any, j: number) => {
        const pp = index(child(index(`spec.${dir}`, i), 'ports'), j);
        if (port?.protocol != null && !supportedProtocols.includes(port.protocol)) {
          errs.push(notSupported(child(pp, 'protocol'), port.protocol, supportedProtocols));
        }
      });
    });
  }
  (spec.policyTypes ?? []).forEach((t: string, i: number) => {
    if (!['Ingress', 'Egress'].includes(t)) errs.push(notSupported(index('spec.policyTypes', i), t, ['Ingress', 'Egress']));
  });
  return errs;
}

export function validateRoleBinding(rb: any): FieldError[] {
  const errs: FieldError[] = [];
  const ref = rb.roleRef ?? {};
  if (ref.apiGroup !== 'rbac.authorization.k8s.io') errs.push(notSupported('roleRef.apiGroup', ref.apiGroup ?? '', ['rbac.authorization.k8s.io']));
  const kinds = rb.kind === 'ClusterRoleBinding' ? ['ClusterRole'] : ['Role', 'ClusterRole'];
  if (!kinds.includes(ref.kind)) errs.push(notSupported('roleRef.kind', ref.kind ?? '', kinds));
  if (!ref.name) errs.push(required('roleRef.name'));
  (rb.subjects ?? []).forEach((s: any, i: number) => {
    const p = index('subjects', i);
    if (!s?.name) errs.push(required(child(p, 'name')));
    if (!['ServiceAccount', 'User', 'Group'].includes(s?.kind)) errs.push(notSupported(child(p, 'kind'), s?.kind ?? '', ['ServiceAccount', 'User', 'Group']));
    if (s?.kind === 'ServiceAccount' && s.apiGroup) errs.push(notSupported(child(p, 'apiGroup'), s.apiGroup, ['']));
    if (s?.kind === 'ServiceAccount' && !s.namespace && rb.kind === 'ClusterRoleBinding') errs.push(required(child(p, 'namespace')));
  });
  return errs;
}

export function validateRoleBindingUpdate(rb: any, old: any): FieldError[] {
  const errs = validateRoleBinding(rb);
  if (!deepEqual(rb.roleRef, old.roleRef)) {
    const r = rb.roleRef ?? {};
    const text = `rbac.RoleRef{APIGroup:${goQuote(r.apiGroup ?? '')}, Kind:${goQuote(r.kind ?? '')}, Name:${goQuote(r.name ?? '')}}`;
    errs.push(invalid('roleRef', goLiteral(text), 'cannot change roleRef'));
  }
  return errs;
}
