// batch/v1: Jobs and CronJobs (pkg/apis/batch/validation behaviour).
import {
  type FieldError, goLabelSelector, goLiteral, goStringMap, immutable, invalid, key, notSupported, nonNegative, required,
} from './errors.ts';
import { deepEqual } from './equal.ts';
import { toSelector, validateLabelSelector } from './meta.ts';
import { validatePodTemplateSpec } from './pod.ts';
import { cronScheduleError, isTimeZone } from './cron.ts';
import { matches } from '../selectors/index.ts';

export const JOB_NAME_LABEL = 'batch.kubernetes.io/job-name';
export const CONTROLLER_UID_LABEL = 'batch.kubernetes.io/controller-uid';
export const LEGACY_JOB_NAME_LABEL = 'job-name';
export const LEGACY_CONTROLLER_UID_LABEL = 'controller-uid';

const MAX_PARALLELISM_FOR_INDEXED_JOB = 100000;
const completionModes = ['NonIndexed', 'Indexed'];

/** validateJobSpec: the part shared by Jobs and CronJob job templates. */
function validateJobSpecCommon(spec: any, path: string): FieldError[] {
  const errs: FieldError[] = [];
  for (const f of ['parallelism', 'completions', 'activeDeadlineSeconds', 'backoffLimit', 'ttlSecondsAfterFinished', 'backoffLimitPerIndex', 'maxFailedIndexes']) {
    errs.push(...nonNegative(`${path}.${f}`, spec[f]));
  }
  if (spec.completionMode != null) {
    if (!completionModes.includes(spec.completionMode)) {
      errs.push(notSupported(`${path}.completionMode`, spec.completionMode, completionModes));
    } else if (spec.completionMode === 'Indexed') {
      if (spec.completions == null) errs.push(required(`${path}.completions`, 'when completion mode is Indexed'));
      if (typeof spec.parallelism === 'number' && spec.parallelism > MAX_PARALLELISM_FOR_INDEXED_JOB) {
        errs.push(invalid(`${path}.parallelism`, spec.parallelism, `must be less than or equal to ${MAX_PARALLELISM_FOR_INDEXED_JOB} when completion mode is Indexed`));
      }
    }
  }
  if (spec.backoffLimitPerIndex != null && spec.completionMode !== 'Indexed') {
    errs.push({ type: 'FieldValueForbidden', field: `${path}.backoffLimitPerIndex`, message: 'requires indexed completion mode' });
  }
  if (spec.maxFailedIndexes != null && spec.backoffLimitPerIndex == null) {
    errs.push(required(`${path}.backoffLimitPerIndex`, 'when maxFailedIndexes is specified'));
  }
  if (spec.podReplacementPolicy != null) {
    const allowed = ['TerminatingOrFailed', 'Failed'];
    if (!allowed.includes(spec.podReplacementPolicy)) errs.push(notSupported(`${path}.podReplacementPolicy`, spec.podReplacementPolicy, allowed));
    else if (spec.podFailurePolicy != null && spec.podReplacementPolicy !== 'Failed') {
      errs.push(notSupported(`${path}.podReplacementPolicy`, spec.podReplacementPolicy, ['Failed']));
    }
  }
  errs.push(...validatePodTemplateSpec(spec.template, `${path}.template`));
  const rp = spec.template?.spec?.restartPolicy;
  if (rp !== 'OnFailure' && rp !== 'Never') {
    errs.push(notSupported(`${path}.template.spec.restartPolicy`, rp ?? '', ['OnFailure', 'Never']));
  }
  return errs;
}

function hasLabel(labels: any, labelKey: string, expected: string): FieldError[] {
  const path = key('spec.template.metadata.labels', labelKey);
  if (!labels || !(labelKey in labels)) return [required(path, `must be '${expected}'`)];
  if (labels[labelKey] !== expected) return [invalid(path, goLiteral(goStringMap(labels)), `must be '${expected}'`)];
  return [];
}

/** Unless the user manages the selector, the generated one must be present and select this Job's pods. */
function validateGeneratedSelector(job: any): FieldError[] {
  const spec = job.spec ?? {};
  if (spec.manualSelector === true || spec.selector == null) return [];
  const errs: FieldError[] = [];
  const uid = String(job.metadata?.uid ?? '');
  const name = String(job.metadata?.name ?? '');
  if (!uid) errs.push(required('metadata.uid'));
  const labels = spec.template?.metadata?.labels;
  errs.push(...hasLabel(labels, LEGACY_CONTROLLER_UID_LABEL, uid), ...hasLabel(labels, LEGACY_JOB_NAME_LABEL, name));
  errs.push(...hasLabel(labels, CONTROLLER_UID_LABEL, uid), ...hasLabel(labels, JOB_NAME_LABEL, name));
  const expected = {
    [LEGACY_CONTROLLER_UID_LABEL]: uid, [LEGACY_JOB_NAME_LABEL]: name, [CONTROLLER_UID_LABEL]: uid, [JOB_NAME_LABEL]: name,
  };
  const sel = toSelector(spec.selector);
  if (sel && !matches(sel, expected)) errs.push(invalid('spec.selector', goLabelSelector(spec.selector), '`selector` not auto-generated'));
  return errs;
}

function validateJobSpec(spec: any): FieldError[] {
  const errs = validateJobSpecCommon(spec, 'spec');
  if (spec.selector == null) errs.push(required('spec.selector'));
  else errs.push(...validateLabelSelector(spec.selector, 'spec.selector'));
  const sel = spec.selector == null ? undefined : toSelector(spec.selector);
  if (sel && !matches(sel, spec.template?.metadata?.labels ?? {})) {
    errs.push(invalid('spec.template.metadata.labels', goLiteral(goStringMap(spec.template?.metadata?.labels)), '`selector` does not match template `labels`'));
  }
  return errs;
}

export function validateJob(job: any): FieldError[] {
  return [...validateGeneratedSelector(job), ...validateJobSpec(job.spec ?? {})];
}

/** A suspended job that never started may still have its scheduling directives changed. */
function templateMutableWhileSuspended(template: any): any {
  const t = structuredClone(template ?? {});
  if (t.metadata) {
    delete t.metadata.labels;
    delete t.metadata.annotations;
  }
  if (t.spec) {
    delete t.spec.nodeSelector;
    delete t.spec.tolerations;
    delete t.spec.schedulingGates;
    if (t.spec.affinity) delete t.spec.affinity.nodeAffinity;
  }
  return t;
}

export function validateJobUpdate(job: any, old: any): FieldError[] {
  const spec = job.spec ?? {};
  const oldSpec = old.spec ?? {};
  const errs = validateJobSpec(spec);
  // Elastic indexed jobs may scale completions together with parallelism.
  const elastic = spec.completionMode === 'Indexed' && spec.completions === spec.parallelism && oldSpec.completions === oldSpec.parallelism;
  if (!elastic && spec.completions !== oldSpec.completions) errs.push(immutable('spec.completions', spec.completions ?? null));
  if (!deepEqual(spec.selector, oldSpec.selector)) errs.push(immutable('spec.selector', goLabelSelector(spec.selector)));
  const suspended = oldSpec.suspend === true && !old.status?.startTime;
  const templateChanged = suspended
    ? !deepEqual(templateMutableWhileSuspended(spec.template), templateMutableWhileSuspended(oldSpec.template))
    : !deepEqual(spec.template, oldSpec.template);
  if (templateChanged) errs.push(immutable('spec.template', spec.template ?? null));
  for (const f of ['completionMode', 'podFailurePolicy', 'backoffLimitPerIndex', 'managedBy', 'successPolicy']) {
    if (!deepEqual(spec[f], oldSpec[f])) errs.push(immutable(`spec.${f}`, spec[f] ?? null));
  }
  return errs;
}

const concurrencyPolicies = ['Allow', 'Forbid', 'Replace'];
const validTimeZoneChars = /^[A-Za-z.\-_0-9+]{1,14}$/;

function validateTimeZone(tz: unknown): FieldError[] {
  if (tz == null) return [];
  const zone = String(tz);
  if (zone.length === 0) return [invalid('spec.timeZone', zone, 'timeZone must be nil or non-empty string')];
  for (const part of zone.split('/')) {
    if (part === '.' || part === '..' || part.startsWith('-') || !validTimeZoneChars.test(part)) {
      return [invalid('spec.timeZone', zone, `unknown time zone ${zone}`)];
    }
  }
  const errs: FieldError[] = [];
  if (zone.toLowerCase() === 'local') {
    errs.push(invalid('spec.timeZone', zone, 'timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones'));
  }
  if (!isTimeZone(zone)) errs.push(invalid('spec.timeZone', zone, `unknown time zone ${zone}`));
  return errs;
}

export function validateCronJob(cj: any, options: { oldObject?: any } = {}): FieldError[] {
  const spec = cj.spec ?? {};
  const errs: FieldError[] = [];
  // The controller names Jobs <cronjob>-<11 chars>; Job names stop at 63.
  if (!options.oldObject && String(cj.metadata?.name ?? '').length > 52) {
    errs.push(invalid('metadata.name', cj.metadata.name, 'must be no more than 52 characters'));
  }
  const schedule = typeof spec.schedule === 'string' ? spec.schedule : '';
  if (!schedule) {
    errs.push(required('spec.schedule'));
  } else {
    const err = cronScheduleError(schedule);
    if (err) errs.push(invalid('spec.schedule', schedule, err));
    // TZ in the schedule is tolerated only on objects that already had it.
    const allowTZ = typeof options.oldObject?.spec?.schedule === 'string' && options.oldObject.spec.schedule.includes('TZ');
    if (schedule.includes('TZ')) {
      if (!allowTZ) errs.push(invalid('spec.schedule', schedule, 'cannot use TZ or CRON_TZ in schedule, use timeZone field instead'));
      else if (spec.timeZone != null) errs.push(invalid('spec.schedule', schedule, 'cannot use both timeZone field and TZ or CRON_TZ in schedule'));
    }
  }
  errs.push(...validateTimeZone(spec.timeZone));
  errs.push(...nonNegative('spec.startingDeadlineSeconds', spec.startingDeadlineSeconds));
  if (!spec.concurrencyPolicy) errs.push(required('spec.concurrencyPolicy'));
  else if (!concurrencyPolicies.includes(spec.concurrencyPolicy)) errs.push(notSupported('spec.concurrencyPolicy', spec.concurrencyPolicy, concurrencyPolicies));
  errs.push(...nonNegative('spec.successfulJobsHistoryLimit', spec.successfulJobsHistoryLimit));
  errs.push(...nonNegative('spec.failedJobsHistoryLimit', spec.failedJobsHistoryLimit));
  const jobSpec = spec.jobTemplate?.spec ?? {};
  errs.push(...validateJobSpecCommon(jobSpec, 'spec.jobTemplate.spec'));
  if (jobSpec.selector != null) {
    errs.push(invalid('spec.jobTemplate.spec.selector', goLabelSelector(jobSpec.selector), '`selector` will be auto-generated'));
  }
  if (jobSpec.manualSelector === true) {
    errs.push(notSupported('spec.jobTemplate.spec.manualSelector', true, ['nil', 'false']));
  }
  return errs;
}
