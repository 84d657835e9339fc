// Pods, pod templates and the PodSpec they share (core ValidatePodSpec,
// ValidatePodTemplateSpec, ValidatePodCreate/Update).
import {
  type FieldError, child, duplicate, forbidden, index, invalid, notSupported, required, inclusiveRangeError, NOT_POSITIVE,
} from './errors.ts';
import { deepEqual, describeDiff } from './equal.ts';
import { validateAnnotations, validateLabelName, validateLabels, validateLabelSelector, validateObjectMetaUpdate } from './meta.ts';
import { isDNS1123Label, isIP, isLabelValue, isQualifiedName, nameIsDNSSubdomain } from './names.ts';
import {
  type ContainerContext, validateContainers, validateContainersOnlyForPod, validateInitContainers, validateSecurityContext,
} from './containers.ts';
import { validateVolumes } from './volumes.ts';

const MAX_INT32 = 2147483647;
const restartPolicies = ['Always', 'OnFailure', 'Never'];
const dnsPolicies = ['ClusterFirstWithHostNet', 'ClusterFirst', 'Default', 'None'];

export interface PodSpecOptions {
  spec: any;
  path: string;
  /** True for a Pod object (stricter than a template: hostPort must equal containerPort under hostNetwork, …). */
  isPod: boolean;
  /** The pod's name, for generic ephemeral volume claim names. */
  podName?: string;
}

export function validatePodSpec(options: PodSpecOptions): FieldError[] {
  const { path, isPod } = options;
  const spec = options.spec ?? {};
  const errs: FieldError[] = [];
  if (spec.terminationGracePeriodSeconds == null) errs.push(required(child(path, 'terminationGracePeriodSeconds')));
  const vols = validateVolumes({ volumes: spec.volumes, path: child(path, 'volumes'), podName: options.podName, isPod });
  errs.push(...vols.errors);
  const ctx: ContainerContext = {
    volumes: vols.volumes,
    gracePeriod: typeof spec.terminationGracePeriodSeconds === 'number' ? spec.terminationGracePeriodSeconds : undefined,
    restartPolicy: spec.restartPolicy ?? '',
  };
  errs.push(...validateContainers(spec.containers, child(path, 'containers'), ctx));
  errs.push(...validateInitContainers({ containers: spec.initContainers, regular: spec.containers, path: child(path, 'initContainers'), ctx }));
  errs.push(...validateEphemeralContainerNames(spec, child(path, 'ephemeralContainers')));
  errs.push(...validateHostNetworkPorts(spec, path, isPod));
  errs.push(...enumValue(spec.restartPolicy, restartPolicies, child(path, 'restartPolicy')));
  errs.push(...enumValue(spec.dnsPolicy, dnsPolicies, child(path, 'dnsPolicy')));
  errs.push(...validateLabels(spec.nodeSelector, child(path, 'nodeSelector')));
  errs.push(...validatePodSecurityContext(spec.securityContext, child(path, 'securityContext')));
  (Array.isArray(spec.imagePullSecrets) ? spec.imagePullSecrets : []).forEach((s: any, i: number) => {
    if (s && Object.keys(s).some((k) => k !== 'name')) errs.push(invalid(index(child(path, 'imagePullSecrets'), i), s, 'only name may be set'));
  });
  errs.push(...validateAffinity(spec.affinity, child(path, 'affinity')));
  errs.push(...validateDNSConfig(spec, child(path, 'dnsConfig')));
  (Array.isArray(spec.readinessGates) ? spec.readinessGates : []).forEach((g: any, i: number) => {
    const p = child(index(child(path, 'readinessGates'), i), 'conditionType');
    errs.push(...isQualifiedName(String(g?.conditionType ?? '')).map((m) => invalid(p, g?.conditionType ?? '', m)));
  });
  const gates = new Set<string>();
  (Array.isArray(spec.schedulingGates) ? spec.schedulingGates : []).forEach((g: any, i: number) => {
    const p = index(child(path, 'schedulingGates'), i);
    const name = String(g?.name ?? '');
    errs.push(...isQualifiedName(name).map((m) => invalid(p, name, m)));
    if (gates.has(name)) errs.push(duplicate(p, name));
    gates.add(name);
  });
  errs.push(...validateTopologySpread(spec.topologySpreadConstraints, child(path, 'topologySpreadConstraints')));
  for (const [field, value] of [['serviceAccountName', spec.serviceAccountName], ['nodeName', spec.nodeName], ['priorityClassName', spec.priorityClassName]]) {
    if (typeof value === 'string' && value) {
      for (const m of nameIsDNSSubdomain(value, false)) errs.push(invalid(child(path, field), value, m));
    }
  }
  const ads = spec.activeDeadlineSeconds;
  if (typeof ads === 'number' && (ads < 1 || ads > MAX_INT32)) {
    errs.push(invalid(child(path, 'activeDeadlineSeconds'), ads, inclusiveRangeError(1, MAX_INT32)));
  }
  for (const f of ['hostname', 'subdomain'] as const) {
    if (typeof spec[f] === 'string' && spec[f]) errs.push(...isDNS1123Label(spec[f]).map((m) => invalid(child(path, f), spec[f], m)));
  }
  errs.push(...validateTolerations(spec.tolerations, child(path, 'tolerations')));
  (Array.isArray(spec.hostAliases) ? spec.hostAliases : []).forEach((a: any, i: number) => {
    const p = index(child(path, 'hostAliases'), i);
    if (!isIP(String(a?.ip ?? ''))) errs.push(invalid(child(p, 'ip'), a?.ip ?? '', 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)'));
    (Array.isArray(a?.hostnames) ? a.hostnames : []).forEach((h: string, j: number) => {
      for (const m of nameIsDNSSubdomain(String(h), false)) errs.push(invalid(index(child(p, 'hostnames'), j), h, m));
    });
  });
  if (typeof spec.runtimeClassName === 'string') {
    for (const m of nameIsDNSSubdomain(spec.runtimeClassName, false)) errs.push(invalid(child(path, 'runtimeClassName'), spec.runtimeClassName, m));
  }
  if (spec.preemptionPolicy != null) errs.push(...enumValue(spec.preemptionPolicy, ['PreemptLowerPriority', 'Never'], child(path, 'preemptionPolicy')));
  if (spec.os != null) {
    if (!spec.os.name) errs.push(required(child(path, 'os', 'name'), 'cannot be empty'));
    else if (!['linux', 'windows'].includes(spec.os.name)) errs.push(notSupported(child(path, 'os'), spec.os.name, ['linux', 'windows']));
  }
  return errs;
}

function enumValue(value: unknown, allowed: readonly string[], path: string): FieldError[] {
  if (value === undefined || value === null || value === '') return [required(path)];
  return allowed.includes(String(value)) ? [] : [notSupported(path, value, allowed)];
}

function validateEphemeralContainerNames(spec: any, path: string): FieldError[] {
  const errs: FieldError[] = [];
  const names = new Set<string>([...(spec.containers ?? []), ...(spec.initContainers ?? [])].map((c: any) => c?.name));
  (Array.isArray(spec.ephemeralContainers) ? spec.ephemeralContainers : []).forEach((ec: any, i: number) => {
    const p = index(path, i);
    if (!ec?.name) errs.push(required(child(p, 'name')));
    else if (names.has(ec.name)) errs.push(duplicate(child(p, 'name'), ec.name));
    else names.add(ec.name);
    if (!ec?.image) errs.push(required(child(p, 'image')));
    for (const f of ['ports', 'livenessProbe', 'readinessProbe', 'startupProbe', 'lifecycle', 'resources']) {
      if (ec?.[f] != null && !(Array.isArray(ec[f]) && ec[f].length === 0)) errs.push(forbidden(child(p, f), 'cannot be set for an Ephemeral Container'));
    }
  });
  return errs;
}

function validateHostNetworkPorts(spec: any, path: string, isPod: boolean): FieldError[] {
  if (spec.hostNetwork !== true) return [];
  const errs: FieldError[] = [];
  (Array.isArray(spec.containers) ? spec.containers : []).forEach((c: any, i: number) => {
    (Array.isArray(c?.ports) ? c.ports : []).forEach((port: any, j: number) => {
      const hp = port?.hostPort ?? 0;
      // A template may leave hostPort 0: it is defaulted when the pod is created.
      if ((isPod || hp !== 0) && hp !== port?.containerPort) {
        errs.push(invalid(child(index(child(index(child(path, 'containers'), i), 'ports'), j), 'hostPort'), hp, 'must match `containerPort` when `hostNetwork` is true'));
      }
    });
  });
  return errs;
}

function validatePodSecurityContext(sc: any, path: string): FieldError[] {
  if (sc == null) return [];
  const errs = validateSecurityContext({ runAsUser: sc.runAsUser, runAsGroup: sc.runAsGroup }, path);
  const MAX = 4294967295;
  if (typeof sc.fsGroup === 'number' && (sc.fsGroup < 0 || sc.fsGroup > MAX)) errs.push(invalid(child(path, 'fsGroup'), sc.fsGroup, inclusiveRangeError(0, MAX)));
  (Array.isArray(sc.supplementalGroups) ? sc.supplementalGroups : []).forEach((g: unknown, i: number) => {
    if (typeof g === 'number' && (g < 0 || g > MAX)) errs.push(invalid(index(child(path, 'supplementalGroups'), i), g, inclusiveRangeError(0, MAX)));
  });
  if (sc.fsGroupChangePolicy != null && !['Always', 'OnRootMismatch'].includes(sc.fsGroupChangePolicy)) {
    errs.push(notSupported(child(path, 'fsGroupChangePolicy'), sc.fsGroupChangePolicy, ['Always', 'OnRootMismatch']));
  }
  return errs;
}

function validateDNSConfig(spec: any, path: string): FieldError[] {
  const cfg = spec.dnsConfig;
  if (spec.dnsPolicy === 'None') {
    if (cfg == null) return [required(path, 'must provide `dnsConfig` when `dnsPolicy` is None')];
    if (!(Array.isArray(cfg.nameservers) && cfg.nameservers.length)) {
      return [required(child(path, 'nameservers'), 'must provide at least one DNS nameserver when `dnsPolicy` is None')];
    }
  }
  if (cfg == null) return [];
  const errs: FieldError[] = [];
  const ns: unknown[] = Array.isArray(cfg.nameservers) ? cfg.nameservers : [];
  if (ns.length > 3) errs.push(invalid(child(path, 'nameservers'), ns, 'must not have more than 3 nameservers'));
  ns.forEach((n, i) => {
    if (!isIP(String(n))) errs.push(invalid(index(child(path, 'nameservers'), i), n, 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)'));
  });
  const searches: unknown[] = Array.isArray(cfg.searches) ? cfg.searches : [];
  if (searches.length > 32) errs.push(invalid(child(path, 'searches'), searches, 'must not have more than 32 search paths'));
  (Array.isArray(cfg.options) ? cfg.options : []).forEach((o: any, i: number) => {
    if (!o?.name) errs.push(required(index(child(path, 'options'), i), 'must not be empty'));
  });
  return errs;
}

/** ValidateTolerations. */
export function validateTolerations(tolerations: unknown, path: string): FieldError[] {
  const errs: FieldError[] = [];
  (Array.isArray(tolerations) ? tolerations : []).forEach((t: any, i: number) => {
    const p = index(path, i);
    const k = t?.key ?? '';
    const op = t?.operator ?? '';
    if (k) errs.push(...validateLabelName(k, child(p, 'key')));
    if (!k && op !== 'Exists') {
      errs.push(invalid(child(p, 'operator'), op, 'operator must be Exists when `key` is empty, which means "match all values and all keys"'));
    }
    if (t?.tolerationSeconds != null && t?.effect !== 'NoExecute') {
      errs.push(invalid(child(p, 'effect'), t?.effect ?? '', "effect must be 'NoExecute' when `tolerationSeconds` is set"));
    }
    if (op === 'Equal' || op === '') {
      const msgs = isLabelValue(String(t?.value ?? ''));
      if (msgs.length) errs.push(invalid(child(p, 'operator'), t?.value ?? '', msgs.join(';')));
    } else if (op === 'Exists') {
      if (t?.value) errs.push(invalid(child(p, 'operator'), t.value, "value must be empty when `operator` is 'Exists'"));
    } else {
      errs.push(notSupported(child(p, 'operator'), op, ['Equal', 'Exists']));
    }
    if (t?.effect && !['NoSchedule', 'PreferNoSchedule', 'NoExecute'].includes(t.effect)) {
      errs.push(notSupported(child(p, 'effect'), t.effect, ['NoSchedule', 'PreferNoSchedule', 'NoExecute']));
    }
  });
  return errs;
}

function validateNodeSelectorTerm(term: any, path: string): FieldError[] {
  const errs: FieldError[] = [];
  (Array.isArray(term?.matchExpressions) ? term.matchExpressions : []).forEach((rq: any, j: number) => {
    const p = index(child(path, 'matchExpressions'), j);
    const values: unknown[] = Array.isArray(rq?.values) ? rq.values : [];
    switch (rq?.operator) {
      case 'In':
      case 'NotIn':
        if (!values.length) errs.push(required(child(p, 'values'), "must be specified when `operator` is 'In' or 'NotIn'"));
        break;
      case 'Exists':
      case 'DoesNotExist':
        if (values.length) errs.push(forbidden(child(p, 'values'), "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"));
        break;
      case 'Gt':
      case 'Lt':
        if (values.length !== 1) errs.push(required(child(p, 'values'), "must be specified single value when `operator` is 'Lt' or 'Gt'"));
        break;
      default:
        errs.push(invalid(child(p, 'operator'), rq?.operator ?? '', 'not a valid selector operator'));
    }
    errs.push(...validateLabelName(String(rq?.key ?? ''), child(p, 'key')));
  });
  return errs;
}

function validatePodAffinityTerms(terms: unknown, path: string, weighted: boolean): FieldError[] {
  const errs: FieldError[] = [];
  (Array.isArray(terms) ? terms : []).forEach((t: any, i: number) => {
    let p = index(path, i);
    let term = t;
    if (weighted) {
      if (typeof t?.weight !== 'number' || t.weight <= 0 || t.weight > 100) errs.push(invalid(child(p, 'weight'), t?.weight ?? 0, 'must be in the range 1-100'));
      p = child(p, 'podAffinityTerm');
      term = t?.podAffinityTerm ?? {};
    }
    errs.push(...validateLabelSelector(term?.labelSelector, child(p, 'labelSelector')));
    errs.push(...validateLabelSelector(term?.namespaceSelector, child(p, 'namespaceSelector')));
    if (!term?.topologyKey) errs.push(required(child(p, 'topologyKey'), 'can not be empty'));
    errs.push(...validateLabelName(String(term?.topologyKey ?? ''), child(p, 'topologyKey')));
  });
  return errs;
}

function validateAffinity(affinity: any, path: string): FieldError[] {
  if (affinity == null) return [];
  const errs: FieldError[] = [];
  const na = affinity.nodeAffinity;
  if (na?.requiredDuringSchedulingIgnoredDuringExecution) {
    const termsPath = child(path, 'nodeAffinity', 'requiredDuringSchedulingIgnoredDuringExecution', 'nodeSelectorTerms');
    const terms: any[] = na.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms ?? [];
    if (!terms.length) errs.push(required(termsPath, 'must have at least one node selector term'));
    terms.forEach((t, i) => errs.push(...validateNodeSelectorTerm(t, index(termsPath, i))));
  }
  (Array.isArray(na?.preferredDuringSchedulingIgnoredDuringExecution) ? na.preferredDuringSchedulingIgnoredDuringExecution : [])
    .forEach((t: any, i: number) => {
      const p = index(child(path, 'nodeAffinity', 'preferredDuringSchedulingIgnoredDuringExecution'), i);
      if (typeof t?.weight !== 'number' || t.weight <= 0 || t.weight > 100) errs.push(invalid(child(p, 'weight'), t?.weight ?? 0, 'must be in the range 1-100'));
      errs.push(...validateNodeSelectorTerm(t?.preference, child(p, 'preference')));
    });
  for (const kind of ['podAffinity', 'podAntiAffinity'] as const) {
    const a = affinity[kind];
    if (!a) continue;
    errs.push(...validatePodAffinityTerms(a.requiredDuringSchedulingIgnoredDuringExecution, child(path, kind, 'requiredDuringSchedulingIgnoredDuringExecution'), false));
    errs.push(...validatePodAffinityTerms(a.preferredDuringSchedulingIgnoredDuringExecution, child(path, kind, 'preferredDuringSchedulingIgnoredDuringExecution'), true));
  }
  return errs;
}

function validateTopologySpread(constraints: unknown, path: string): FieldError[] {
  const list: any[] = Array.isArray(constraints) ? constraints : [];
  const errs: FieldError[] = [];
  list.forEach((c, i) => {
    const p = index(path, i);
    if (typeof c?.maxSkew !== 'number' || c.maxSkew <= 0) errs.push(invalid(child(p, 'maxSkew'), c?.maxSkew ?? 0, NOT_POSITIVE));
    if (!c?.topologyKey) errs.push(required(child(p, 'topologyKey'), 'can not be empty'));
    if (!['DoNotSchedule', 'ScheduleAnyway'].includes(c?.whenUnsatisfiable)) {
      errs.push(notSupported(child(p, 'whenUnsatisfiable'), c?.whenUnsatisfiable ?? '', ['DoNotSchedule', 'ScheduleAnyway']));
    }
    if (list.slice(i + 1).some((o) => o?.topologyKey === c?.topologyKey && o?.whenUnsatisfiable === c?.whenUnsatisfiable)) {
      errs.push(duplicate(child(p, '{topologyKey, whenUnsatisfiable}'), `{${c?.topologyKey}, ${c?.whenUnsatisfiable}}`));
    }
    if (c?.minDomains != null) {
      if (c.minDomains <= 0) errs.push(invalid(child(p, 'minDomains'), c.minDomains, NOT_POSITIVE));
      if (c.whenUnsatisfiable !== 'DoNotSchedule') {
        errs.push(invalid(child(p, 'minDomains'), c.minDomains, `can only use minDomains if whenUnsatisfiable=DoNotSchedule, not ${c.whenUnsatisfiable}`));
      }
    }
    errs.push(...validateLabelSelector(c?.labelSelector, child(p, 'labelSelector')));
  });
  return errs;
}

/** ValidatePodTemplateSpec: labels/annotations are checked on `<path>.labels`, as upstream reports them. */
export function validatePodTemplateSpec(template: any, path: string): FieldError[] {
  const t = template ?? {};
  const meta = t.metadata ?? {};
  const errs = validateLabels(meta.labels, child(path, 'labels'));
  errs.push(...validateAnnotations(meta.annotations, child(path, 'annotations')));
  errs.push(...validatePodSpec({ spec: t.spec ?? {}, path: child(path, 'spec'), isPod: false }));
  if (Array.isArray(t.spec?.ephemeralContainers) && t.spec.ephemeralContainers.length) {
    errs.push(forbidden(child(path, 'spec', 'ephemeralContainers'), 'ephemeral containers not allowed in pod template'));
  }
  return errs;
}

/** The pod-only part of ValidatePodCreate (metadata is checked by the caller). */
export function validatePodObject(pod: any): FieldError[] {
  const spec = pod.spec ?? {};
  const errs = validatePodSpec({ spec, path: 'spec', isPod: true, podName: pod.metadata?.name });
  if (!spec.serviceAccountName) {
    (Array.isArray(spec.volumes) ? spec.volumes : []).forEach((v: any, vi: number) => {
      (Array.isArray(v?.projected?.sources) ? v.projected.sources : []).forEach((s: any, si: number) => {
        if (s?.serviceAccountToken) {
          errs.push(forbidden(`spec.volumes[${vi}].projected.sources[${si}].serviceAccountToken`, 'must not be specified when serviceAccountName is not set'));
        }
      });
    });
  }
  errs.push(...validateContainersOnlyForPod(spec.containers, 'spec.containers'));
  errs.push(...validateContainersOnlyForPod(spec.initContainers, 'spec.initContainers'));
  return errs;
}

const updatablePodSpecFields = [
  '`spec.containers[*].image`',
  '`spec.initContainers[*].image`',
  '`spec.activeDeadlineSeconds`',
  '`spec.tolerations` (only additions to existing tolerations)',
  '`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)',
];

/** ValidatePodUpdate: only images, activeDeadlineSeconds (downwards), added tolerations and removed scheduling gates. */
export function validatePodUpdate(pod: any, oldPod: any): FieldError[] {
  const errs = validateObjectMetaUpdate({ meta: pod.metadata, oldMeta: oldPod.metadata });
  errs.push(...validatePodObject(pod));
  const spec = pod.spec ?? {};
  const oldSpec = oldPod.spec ?? {};
  for (const list of ['containers', 'initContainers'] as const) {
    const n = spec[list] ?? [];
    const o = oldSpec[list] ?? [];
    if (n.length !== o.length) {
      errs.push(forbidden(`spec.${list}`, 'pod updates may not add or remove containers'));
      return errs;
    }
    n.forEach((c: any, i: number) => {
      if (!c?.image) errs.push(required(`spec.${list}[${i}].image`));
    });
  }
  const ads = spec.activeDeadlineSeconds;
  if (ads != null) {
    if (ads < 0 || ads > MAX_INT32) return [...errs, invalid('spec.activeDeadlineSeconds', ads, inclusiveRangeError(0, MAX_INT32))];
    if (oldSpec.activeDeadlineSeconds != null && oldSpec.activeDeadlineSeconds < ads) {
      return [...errs, invalid('spec.activeDeadlineSeconds', ads, 'must be less than or equal to previous value')];
    }
  } else if (oldSpec.activeDeadlineSeconds != null) {
    errs.push(invalid('spec.activeDeadlineSeconds', null, 'must not update from a positive integer to nil value'));
  }
  for (const old of oldSpec.tolerations ?? []) {
    const kept = (spec.tolerations ?? []).some((t: any) => deepEqual({ ...old, tolerationSeconds: t?.tolerationSeconds }, t));
    if (!kept) {
      errs.push(forbidden('spec.tolerations', 'existing toleration can not be modified except its tolerationSeconds'));
      break;
    }
  }
  const oldGates = new Set((oldSpec.schedulingGates ?? []).map((g: any) => g?.name));
  (spec.schedulingGates ?? []).forEach((g: any, i: number) => {
    if (!oldGates.has(g?.name)) errs.push(forbidden(`spec.schedulingGates[${i}].name`, `only deletion is allowed, but found new scheduling gate '${g?.name}'`));
  });
  if (deepEqual(spec, oldSpec)) return errs;

  const munged = structuredClone(spec);
  for (const list of ['containers', 'initContainers'] as const) {
    (munged[list] ?? []).forEach((c: any, i: number) => {
      c.image = oldSpec[list][i].image;
    });
  }
  munged.activeDeadlineSeconds = oldSpec.activeDeadlineSeconds;
  munged.schedulingGates = oldSpec.schedulingGates;
  munged.tolerations = oldSpec.tolerations;
  if (typeof oldSpec.terminationGracePeriodSeconds === 'number' && oldSpec.terminationGracePeriodSeconds < 0 && munged.terminationGracePeriodSeconds === 1) {
    munged.terminationGracePeriodSeconds = oldSpec.terminationGracePeriodSeconds;
  }
  // Gated pods may gain node selector entries (never lose or change them).
  if ((oldSpec.schedulingGates ?? []).length > 0 && !deepEqual(munged.nodeSelector, oldSpec.nodeSelector)) {
    const changed = Object.entries(oldSpec.nodeSelector ?? {}).some(([k, v]) => munged.nodeSelector?.[k] !== v);
    if (changed) errs.push(invalid('spec.nodeSelector', munged.nodeSelector, 'only additions to spec.nodeSelector are allowed (no mutations or deletions)'));
    munged.nodeSelector = oldSpec.nodeSelector;
  }
  if (!deepEqual(munged, oldSpec)) {
    errs.push(forbidden('spec', `pod updates may not change fields other than ${updatablePodSpecFields.join(',')}\n${describeDiff(oldSpec, munged, 'spec')}`));
  }
  return errs;
}
