// Defaults for the smaller API groups: networking, discovery, storage,
// scheduling, autoscaling, rbac, admissionregistration, apiextensions,
// flowcontrol.
import { setDefault } from './pod.ts';

type Obj = Record<string, any>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const list = (v: unknown): Obj[] => (Array.isArray(v) ? v.filter(isObj) : []);
const spec = (o: Obj): Obj => (isObj(o.spec) ? o.spec : (o.spec = {}));

export function defaultNetworkPolicy(np: Obj): void {
  const s = spec(np);
  for (const dir of ['ingress', 'egress']) {
    for (const rule of list(s[dir])) for (const port of list(rule.ports)) setDefault(port, 'protocol', 'TCP');
  }
  if (!Array.isArray(s.policyTypes) || s.policyTypes.length === 0) {
    // Ingress is always implied; Egress only when egress rules are given.
    s.policyTypes = Array.isArray(s.egress) && s.egress.length > 0 ? ['Ingress', 'Egress'] : ['Ingress'];
  }
}

export function defaultEndpointSlice(slice: Obj): void {
  for (const port of list(slice.ports)) {
    if (port.name == null) port.name = '';
    if (port.protocol == null) port.protocol = 'TCP';
  }
}

export function defaultStorageClass(sc: Obj): void {
  setDefault(sc, 'reclaimPolicy', 'Delete');
  setDefault(sc, 'volumeBindingMode', 'Immediate');
}

export function defaultCSIDriver(driver: Obj): void {
  const s = spec(driver);
  if (s.attachRequired == null) s.attachRequired = true;
  if (s.podInfoOnMount == null) s.podInfoOnMount = false;
  if (s.storageCapacity == null) s.storageCapacity = false;
  setDefault(s, 'fsGroupPolicy', 'ReadWriteOnceWithFSType');
  if (s.requiresRepublish == null) s.requiresRepublish = false;
  if (!Array.isArray(s.volumeLifecycleModes) || s.volumeLifecycleModes.length === 0) s.volumeLifecycleModes = ['Persistent'];
  if (s.seLinuxMount == null) s.seLinuxMount = false;
}

export function defaultPriorityClass(pc: Obj): void {
  setDefault(pc, 'preemptionPolicy', 'PreemptLowerPriority');
}

const scaleUpPolicies = () => [
  { type: 'Pods', value: 4, periodSeconds: 15 },
  { type: 'Percent', value: 100, periodSeconds: 15 },
];
const scaleDownPolicies = () => [{ type: 'Percent', value: 100, periodSeconds: 15 }];

function scalingRules(rules: unknown, defaults: { window: number; policies: () => Obj[] }): Obj {
  const r = isObj(rules) ? rules : {};
  if (!Array.isArray(r.policies) || r.policies.length === 0) r.policies = defaults.policies();
  setDefault(r, 'selectPolicy', 'Max');
  if (r.stabilizationWindowSeconds == null) r.stabilizationWindowSeconds = defaults.window;
  return r;
}

export function defaultHPA(hpa: Obj, version: string): void {
  const s = spec(hpa);
  if (s.minReplicas == null) s.minReplicas = 1;
  if (version === 'v1') return;
  if (!Array.isArray(s.metrics) || s.metrics.length === 0) {
    s.metrics = [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } } }];
  }
  // A given behavior is completed; an absent one stays absent (the controller uses the defaults).
  if (isObj(s.behavior)) {
    s.behavior.scaleUp = scalingRules(s.behavior.scaleUp, { window: 0, policies: scaleUpPolicies });
    s.behavior.scaleDown = scalingRules(s.behavior.scaleDown, { window: 300, policies: scaleDownPolicies });
  }
}

export function defaultRoleBinding(rb: Obj): void {
  if (isObj(rb.roleRef)) setDefault(rb.roleRef, 'apiGroup', 'rbac.authorization.k8s.io');
  for (const subject of list(rb.subjects)) {
    if (subject.apiGroup) continue;
    if (subject.kind === 'ServiceAccount') subject.apiGroup = '';
    else if (subject.kind === 'User' || subject.kind === 'Group') subject.apiGroup = 'rbac.authorization.k8s.io';
  }
}

function defaultWebhook(hook: Obj, mutating: boolean): void {
  setDefault(hook, 'failurePolicy', 'Fail');
  setDefault(hook, 'matchPolicy', 'Equivalent');
  if (hook.namespaceSelector == null) hook.namespaceSelector = {};
  if (hook.objectSelector == null) hook.objectSelector = {};
  if (hook.timeoutSeconds == null) hook.timeoutSeconds = 10;
  if (mutating) setDefault(hook, 'reinvocationPolicy', 'Never');
  for (const rule of list(hook.rules)) setDefault(rule, 'scope', '*');
  const svc = hook.clientConfig?.service;
  if (isObj(svc) && svc.port == null) svc.port = 443;
}

export function defaultWebhookConfiguration(cfg: Obj, mutating: boolean): void {
  for (const hook of list(cfg.webhooks)) defaultWebhook(hook, mutating);
}

export function defaultAdmissionPolicy(policy: Obj): void {
  const s = spec(policy);
  setDefault(s, 'failurePolicy', 'Fail');
  const mc = s.matchConstraints;
  if (isObj(mc)) {
    setDefault(mc, 'matchPolicy', 'Equivalent');
    if (mc.namespaceSelector == null) mc.namespaceSelector = {};
    if (mc.objectSelector == null) mc.objectSelector = {};
    for (const rule of list(mc.resourceRules)) setDefault(rule, 'scope', '*');
  }
}

export function defaultCRD(crd: Obj): void {
  const s = spec(crd);
  if (!isObj(s.conversion)) s.conversion = { strategy: 'None' };
  const svc = s.conversion.webhook?.clientConfig?.service;
  if (s.conversion.strategy === 'Webhook' && isObj(svc) && svc.port == null) svc.port = 443;
}

export function defaultFlowSchema(fs: Obj): void {
  const s = spec(fs);
  if (s.matchingPrecedence == null || s.matchingPrecedence === 0) s.matchingPrecedence = 1000;
}

export function defaultPriorityLevel(plc: Obj): void {
  const s = spec(plc);
  if (isObj(s.limited)) {
    if (s.limited.nominalConcurrencyShares == null) s.limited.nominalConcurrencyShares = 30;
    if (s.limited.lendablePercent == null) s.limited.lendablePercent = 0;
    const q = s.limited.limitResponse?.queuing;
    if (isObj(q)) {
      if (!q.handSize) q.handSize = 8;
      if (!q.queues) q.queues = 64;
      if (!q.queueLengthLimit) q.queueLengthLimit = 50;
    }
  }
  if (isObj(s.exempt)) {
    if (s.exempt.nominalConcurrencyShares == null) s.exempt.nominalConcurrencyShares = 0;
    if (s.exempt.lendablePercent == null) s.exempt.lendablePercent = 0;
  }
}
