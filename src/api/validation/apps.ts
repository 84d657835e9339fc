// apps/v1: Deployments, ReplicaSets, DaemonSets, StatefulSets,
// ControllerRevisions (pkg/apis/apps/validation behaviour).
import {
  type FieldError, child, forbidden, goIntOrString, goLabelSelector, immutable, invalid, notSupported, nonNegative,
  required,
} from './errors.ts';
import { deepEqual } from './equal.ts';
import { validateLabelSelector, validateSelectorMatchesTemplate } from './meta.ts';
import { isValidPercent } from './names.ts';
import { validatePodTemplateSpec } from './pod.ts';
import { validatePVCSpec } from './pvc.ts';

/** The selector checks all apps kinds share; `what` names the kind in the empty-selector message. */
function validateSelectorAndTemplate(spec: any, what: string): FieldError[] {
  const errs: FieldError[] = [];
  if (spec.selector == null) {
    errs.push(required('spec.selector'));
  } else {
    errs.push(...validateLabelSelector(spec.selector, 'spec.selector'));
    if (Object.keys(spec.selector.matchLabels ?? {}).length + (spec.selector.matchExpressions ?? []).length === 0) {
      errs.push(invalid('spec.selector', goLabelSelector(spec.selector), `empty selector is invalid for ${what}`));
    }
  }
  errs.push(...validateSelectorMatchesTemplate({
    selector: spec.selector,
    templateLabels: spec.template?.metadata?.labels,
    selectorPath: 'spec.selector',
    labelsPath: 'spec.template.metadata.labels',
  }));
  return errs;
}

/** Workload templates run until deleted: restartPolicy must be Always and there is no deadline. */
function validateWorkloadTemplate(spec: any, kind: string): FieldError[] {
  const errs = validatePodTemplateSpec(spec.template, 'spec.template');
  const rp = spec.template?.spec?.restartPolicy;
  if (rp !== 'Always') errs.push(notSupported('spec.template.spec.restartPolicy', rp ?? '', ['Always']));
  if (spec.template?.spec?.activeDeadlineSeconds != null) {
    const p = 'spec.template.spec.activeDeadlineSeconds';
    if (kind === 'DaemonSet') errs.push(invalid(p, spec.template.spec.activeDeadlineSeconds, 'activeDeadlineSeconds in DaemonSet is not Supported'));
    else if (kind === 'StatefulSet') errs.push(invalid(p, spec.template.spec.activeDeadlineSeconds, 'must not be specified'));
    else errs.push(forbidden(p, `activeDeadlineSeconds in ${kind === 'Deployment' ? 'ReplicaSet' : kind} is not Supported`));
  }
  return errs;
}

/** ValidatePositiveIntOrPercent. */
function validateIntOrPercent(value: unknown, path: string): FieldError[] {
  if (typeof value === 'string') return isValidPercent(value).map((m) => invalid(path, goIntOrString(value), m));
  if (typeof value === 'number') return nonNegative(path, value);
  if (value == null) return [];
  return [invalid(path, goIntOrString(value), "must be an integer or percentage (e.g '5%')")];
}

/** The int value, or the percentage number for "NN%". */
const intOrPercentValue = (v: unknown): number => (typeof v === 'number' ? v : typeof v === 'string' ? parseInt(v, 10) || 0 : 0);

function notMoreThan100Percent(value: unknown, path: string): FieldError[] {
  if (typeof value === 'string' && isValidPercent(value).length === 0 && intOrPercentValue(value) > 100) {
    return [invalid(path, goIntOrString(value), 'must not be greater than 100%')];
  }
  return [];
}

function validateDeploymentStrategy(strategy: any): FieldError[] {
  const path = 'spec.strategy';
  switch (strategy?.type) {
    case 'Recreate':
      return strategy.rollingUpdate != null
        ? [forbidden(child(path, 'rollingUpdate'), "may not be specified when strategy `type` is 'Recreate'")]
        : [];
    case 'RollingUpdate': {
      const ru = strategy.rollingUpdate;
      if (ru == null) return [required(child(path, 'rollingUpdate'), 'this should be defaulted and never be nil')];
      const rp = child(path, 'rollingUpdate');
      const errs = [
        ...validateIntOrPercent(ru.maxUnavailable, child(rp, 'maxUnavailable')),
        ...validateIntOrPercent(ru.maxSurge, child(rp, 'maxSurge')),
      ];
      if (intOrPercentValue(ru.maxUnavailable) === 0 && intOrPercentValue(ru.maxSurge) === 0) {
        errs.push(invalid(child(rp, 'maxUnavailable'), goIntOrString(ru.maxUnavailable ?? 0), 'may not be 0 when `maxSurge` is 0'));
      }
      errs.push(...notMoreThan100Percent(ru.maxUnavailable, child(rp, 'maxUnavailable')));
      return errs;
    }
    default:
      return [notSupported(path, strategy ?? null, ['Recreate', 'RollingUpdate'])];
  }
}

export function validateDeployment(d: any): FieldError[] {
  const spec = d.spec ?? {};
  const errs = nonNegative('spec.replicas', spec.replicas);
  errs.push(...validateSelectorAndTemplate(spec, 'deployment'));
  errs.push(...validateWorkloadTemplate(spec, 'Deployment'));
  errs.push(...validateDeploymentStrategy(spec.strategy));
  errs.push(...nonNegative('spec.minReadySeconds', spec.minReadySeconds));
  errs.push(...nonNegative('spec.revisionHistoryLimit', spec.revisionHistoryLimit));
  if (spec.progressDeadlineSeconds != null) {
    errs.push(...nonNegative('spec.progressDeadlineSeconds', spec.progressDeadlineSeconds));
    if (spec.progressDeadlineSeconds <= (spec.minReadySeconds ?? 0)) {
      errs.push(invalid('spec.progressDeadlineSeconds', spec.progressDeadlineSeconds, 'must be greater than minReadySeconds'));
    }
  }
  return errs;
}

export function validateReplicaSet(rs: any): FieldError[] {
  const spec = rs.spec ?? {};
  const errs = nonNegative('spec.replicas', spec.replicas);
  errs.push(...nonNegative('spec.minReadySeconds', spec.minReadySeconds));
  // Upstream's ReplicaSet check reuses the Deployment wording.
  errs.push(...validateSelectorAndTemplate(spec, 'deployment'));
  errs.push(...validateWorkloadTemplate(spec, 'ReplicaSet'));
  return errs;
}

function validateDaemonSetStrategy(strategy: any): FieldError[] {
  const path = 'spec.updateStrategy';
  switch (strategy?.type) {
    case 'OnDelete':
      return [];
    case 'RollingUpdate': {
      const ru = strategy.rollingUpdate;
      if (ru == null) return [required(child(path, 'rollingUpdate'))];
      const rp = child(path, 'rollingUpdate');
      const errs = [
        ...validateIntOrPercent(ru.maxUnavailable, child(rp, 'maxUnavailable')),
        ...validateIntOrPercent(ru.maxSurge, child(rp, 'maxSurge')),
        ...notMoreThan100Percent(ru.maxUnavailable, child(rp, 'maxUnavailable')),
        ...notMoreThan100Percent(ru.maxSurge, child(rp, 'maxSurge')),
      ];
      const hasUnavailable = intOrPercentValue(ru.maxUnavailable) !== 0;
      const hasSurge = intOrPercentValue(ru.maxSurge) !== 0;
      if (hasUnavailable && hasSurge) errs.push(invalid(child(rp, 'maxSurge'), goIntOrString(ru.maxSurge), 'may not be set when maxUnavailable is non-zero'));
      if (!hasUnavailable && !hasSurge) errs.push(required(child(rp, 'maxUnavailable'), 'cannot be 0 when maxSurge is 0'));
      return errs;
    }
    default:
      return [notSupported(path, strategy ?? null, ['RollingUpdate', 'OnDelete'])];
  }
}

export function validateDaemonSet(ds: any): FieldError[] {
  const spec = ds.spec ?? {};
  const errs = validateSelectorAndTemplate(spec, 'daemonset');
  errs.push(...validateWorkloadTemplate(spec, 'DaemonSet'));
  errs.push(...nonNegative('spec.minReadySeconds', spec.minReadySeconds));
  errs.push(...nonNegative('spec.templateGeneration', spec.templateGeneration));
  errs.push(...validateDaemonSetStrategy(spec.updateStrategy));
  errs.push(...nonNegative('spec.revisionHistoryLimit', spec.revisionHistoryLimit));
  return errs;
}

const retentionPolicies = ['Retain', 'Delete'];

/**
 * The template as the controller makes pods from it: each volumeClaimTemplate
 * becomes a volume of the same name, so containers may mount claims by name.
 */
function withClaimVolumes(spec: any): any {
  const claims = (Array.isArray(spec.volumeClaimTemplates) ? spec.volumeClaimTemplates : []).filter((t: any) => typeof t?.metadata?.name === 'string');
  if (claims.length === 0 || !spec.template?.spec) return spec;
  const existing = Array.isArray(spec.template.spec.volumes) ? spec.template.spec.volumes : [];
  const names = new Set(existing.map((v: any) => v?.name));
  const added = claims.filter((t: any) => !names.has(t.metadata.name)).map((t: any) => ({ name: t.metadata.name, persistentVolumeClaim: { claimName: t.metadata.name } }));
  return { ...spec, template: { ...spec.template, spec: { ...spec.template.spec, volumes: [...existing, ...added] } } };
}

export function validateStatefulSet(sts: any): FieldError[] {
  const spec = sts.spec ?? {};
  const errs: FieldError[] = [];
  switch (spec.podManagementPolicy) {
    case undefined:
    case null:
    case '':
      errs.push(required('spec.podManagementPolicy'));
      break;
    case 'OrderedReady':
    case 'Parallel':
      break;
    default:
      errs.push(invalid('spec.podManagementPolicy', spec.podManagementPolicy, "must be 'OrderedReady' or 'Parallel'"));
  }
  const us = spec.updateStrategy ?? {};
  switch (us.type) {
    case undefined:
    case null:
    case '':
      errs.push(required('spec.updateStrategy'));
      break;
    case 'OnDelete':
      if (us.rollingUpdate != null) {
        errs.push(invalid('spec.updateStrategy.rollingUpdate', us.rollingUpdate, "only allowed for updateStrategy 'RollingUpdate'"));
      }
      break;
    case 'RollingUpdate':
      errs.push(...nonNegative('spec.updateStrategy.rollingUpdate.partition', us.rollingUpdate?.partition));
      if (us.rollingUpdate?.maxUnavailable != null) {
        const mu = us.rollingUpdate.maxUnavailable;
        const p = 'spec.updateStrategy.rollingUpdate.maxUnavailable';
        errs.push(...validateIntOrPercent(mu, p), ...notMoreThan100Percent(mu, p));
        if (intOrPercentValue(mu) === 0) errs.push(invalid(p, goIntOrString(mu), 'must be greater than 0'));
      }
      break;
    default:
      errs.push(invalid('spec.updateStrategy', us, "must be 'RollingUpdate' or 'OnDelete'"));
  }
  const policy = spec.persistentVolumeClaimRetentionPolicy;
  if (policy != null) {
    for (const f of ['whenDeleted', 'whenScaled'] as const) {
      if (policy[f] != null && !retentionPolicies.includes(policy[f])) {
        errs.push(notSupported(`spec.persistentVolumeClaimRetentionPolicy.${f}`, policy[f], retentionPolicies));
      }
    }
  }
  errs.push(...nonNegative('spec.replicas', spec.replicas));
  errs.push(...nonNegative('spec.minReadySeconds', spec.minReadySeconds));
  errs.push(...nonNegative('spec.revisionHistoryLimit', spec.revisionHistoryLimit));
  if (spec.ordinals != null) errs.push(...nonNegative('spec.ordinals.start', spec.ordinals.start));
  errs.push(...validateSelectorAndTemplate(spec, 'statefulset'));
  errs.push(...validateWorkloadTemplate(withClaimVolumes(spec), 'StatefulSet'));
  (Array.isArray(spec.volumeClaimTemplates) ? spec.volumeClaimTemplates : []).forEach((t: any, i: number) => {
    errs.push(...validatePVCSpec({ spec: t?.spec ?? {}, path: `spec.volumeClaimTemplates[${i}].spec` }));
  });
  return errs;
}

/** apps/v1 selectors are frozen at creation. */
function selectorImmutable(spec: any, oldSpec: any): FieldError[] {
  return deepEqual(spec.selector, oldSpec.selector) ? [] : [immutable('spec.selector', goLabelSelector(spec.selector))];
}

// Upstream's strategies append the selector check after the spec checks.
export const validateDeploymentUpdate = (d: any, old: any): FieldError[] =>
  [...validateDeployment(d), ...selectorImmutable(d.spec ?? {}, old.spec ?? {})];
export const validateReplicaSetUpdate = (rs: any, old: any): FieldError[] =>
  [...validateReplicaSet(rs), ...selectorImmutable(rs.spec ?? {}, old.spec ?? {})];
export const validateDaemonSetUpdate = (ds: any, old: any): FieldError[] =>
  [...validateDaemonSet(ds), ...selectorImmutable(ds.spec ?? {}, old.spec ?? {})];

const statefulSetMutable = [
  'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy', 'minReadySeconds',
];

export function validateStatefulSetUpdate(sts: any, old: any): FieldError[] {
  const errs: FieldError[] = [];
  const strip = (spec: any) => Object.fromEntries(Object.entries(spec ?? {}).filter(([k]) => !statefulSetMutable.includes(k)));
  if (!deepEqual(strip(sts.spec), strip(old.spec))) {
    errs.push(forbidden('spec', "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden"));
  }
  errs.push(...validateStatefulSet(sts));
  return errs;
}

export function validateControllerRevision(cr: any): FieldError[] {
  const errs: FieldError[] = [];
  if (cr.data == null) errs.push(required('data', 'data is mandatory'));
  errs.push(...nonNegative('revision', cr.revision));
  return errs;
}

export function validateControllerRevisionUpdate(cr: any, old: any): FieldError[] {
  const errs = validateControllerRevision(cr);
  if (!deepEqual(cr.data, old.data)) errs.push(immutable('data', cr.data ?? null));
  return errs;
}
