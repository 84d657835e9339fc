// Defaults for apps/v1 and batch/v1 workloads, and the Job selector the
// server generates once the Job has a UID.
import { defaultPVCSpec, defaultPodTemplate, setDefault } from './pod.ts';

type Obj = Record<string, any>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const list = (v: unknown): Obj[] => (Array.isArray(v) ? v.filter(isObj) : []);
const spec = (o: Obj): Obj => (isObj(o.spec) ? o.spec : (o.spec = {}));

/** The template is a struct upstream: it is always there (and defaulted), even when omitted. */
function template(s: Obj): void {
  if (!isObj(s.template)) s.template = {};
  defaultPodTemplate(s.template);
}

export function defaultDeployment(d: Obj): void {
  const s = spec(d);
  if (s.replicas == null) s.replicas = 1;
  const strategy = isObj(s.strategy) ? s.strategy : (s.strategy = {});
  setDefault(strategy, 'type', 'RollingUpdate');
  if (strategy.type === 'RollingUpdate') {
    const ru = isObj(strategy.rollingUpdate) ? strategy.rollingUpdate : (strategy.rollingUpdate = {});
    if (ru.maxUnavailable == null) ru.maxUnavailable = '25%';
    if (ru.maxSurge == null) ru.maxSurge = '25%';
  }
  if (s.revisionHistoryLimit == null) s.revisionHistoryLimit = 10;
  if (s.progressDeadlineSeconds == null) s.progressDeadlineSeconds = 600;
  template(s);
}

export function defaultReplicaSet(rs: Obj): void {
  const s = spec(rs);
  if (s.replicas == null) s.replicas = 1;
  template(s);
}

export function defaultDaemonSet(ds: Obj): void {
  const s = spec(ds);
  const us = isObj(s.updateStrategy) ? s.updateStrategy : (s.updateStrategy = {});
  setDefault(us, 'type', 'RollingUpdate');
  if (us.type === 'RollingUpdate') {
    const ru = isObj(us.rollingUpdate) ? us.rollingUpdate : (us.rollingUpdate = {});
    if (ru.maxUnavailable == null) ru.maxUnavailable = 1;
    if (ru.maxSurge == null) ru.maxSurge = 0;
  }
  if (s.revisionHistoryLimit == null) s.revisionHistoryLimit = 10;
  template(s);
}

export function defaultStatefulSet(sts: Obj): void {
  const s = spec(sts);
  setDefault(s, 'podManagementPolicy', 'OrderedReady');
  const us = isObj(s.updateStrategy) ? s.updateStrategy : (s.updateStrategy = {});
  if (!us.type) {
    us.type = 'RollingUpdate';
    if (!isObj(us.rollingUpdate)) us.rollingUpdate = {};
  }
  // An explicit RollingUpdate without rollingUpdate stays without it (as upstream).
  if (us.type === 'RollingUpdate' && isObj(us.rollingUpdate) && us.rollingUpdate.partition == null) us.rollingUpdate.partition = 0;
  const retention = isObj(s.persistentVolumeClaimRetentionPolicy) ? s.persistentVolumeClaimRetentionPolicy : (s.persistentVolumeClaimRetentionPolicy = {});
  setDefault(retention, 'whenDeleted', 'Retain');
  setDefault(retention, 'whenScaled', 'Retain');
  if (s.replicas == null) s.replicas = 1;
  if (s.revisionHistoryLimit == null) s.revisionHistoryLimit = 10;
  template(s);
  for (const claim of list(s.volumeClaimTemplates)) {
    defaultPVCSpec(isObj(claim.spec) ? claim.spec : (claim.spec = {}));
    // Claim templates are full PVC objects upstream, so their status is defaulted too.
    if (!isObj(claim.status)) claim.status = {};
    setDefault(claim.status, 'phase', 'Pending');
  }
}

function defaultPodFailurePolicy(s: Obj): void {
  for (const rule of list(s.podFailurePolicy?.rules)) {
    for (const pattern of list(rule.onPodConditions)) setDefault(pattern, 'status', 'True');
  }
}

export function defaultJob(job: Obj): void {
  const s = spec(job);
  // A non-parallel job may leave both unset: then both are 1.
  if (s.completions == null && s.parallelism == null) {
    s.completions = 1;
    s.parallelism = 1;
  }
  if (s.parallelism == null) s.parallelism = 1;
  // With per-index limits the global limit is effectively off (MaxInt32).
  if (s.backoffLimit == null) s.backoffLimit = s.backoffLimitPerIndex != null ? 2147483647 : 6;
  const labels = s.template?.metadata?.labels;
  if (isObj(labels) && !(isObj(job.metadata?.labels) && Object.keys(job.metadata.labels).length)) {
    job.metadata = { ...(job.metadata ?? {}), labels: { ...labels } };
  }
  setDefault(s, 'completionMode', 'NonIndexed');
  if (s.suspend == null) s.suspend = false;
  defaultPodFailurePolicy(s);
  if (s.podReplacementPolicy == null) s.podReplacementPolicy = s.podFailurePolicy != null ? 'Failed' : 'TerminatingOrFailed';
  if (s.manualSelector == null) s.manualSelector = false;
  template(s);
}

export function defaultCronJob(cj: Obj): void {
  const s = spec(cj);
  setDefault(s, 'concurrencyPolicy', 'Allow');
  if (s.suspend == null) s.suspend = false;
  if (s.successfulJobsHistoryLimit == null) s.successfulJobsHistoryLimit = 3;
  if (s.failedJobsHistoryLimit == null) s.failedJobsHistoryLimit = 1;
  const jt = isObj(s.jobTemplate) ? s.jobTemplate : (s.jobTemplate = {});
  const js = isObj(jt.spec) ? jt.spec : (jt.spec = {});
  defaultPodFailurePolicy(js);
  template(js);
}

export const JOB_NAME_LABEL = 'batch.kubernetes.io/job-name';
export const CONTROLLER_UID_LABEL = 'batch.kubernetes.io/controller-uid';
export const LEGACY_JOB_NAME_LABEL = 'job-name';
export const LEGACY_CONTROLLER_UID_LABEL = 'controller-uid';

/**
 * Upstream's Job strategy generates the selector at create time, once the UID
 * is known (so it cannot be part of decode-time defaulting). Unless the user
 * set manualSelector: true, the pod template gets job-name/controller-uid
 * labels (new and legacy keys; user-set values are kept so that validation
 * can reject conflicts) and the selector matches the new controller-uid label.
 * Call after assigning metadata.uid and before validation.
 */
export function generateJobSelector(job: any): void {
  if (!isObj(job)) return;
  const s = spec(job);
  if (s.manualSelector === true) return;
  const name = String(job.metadata?.name ?? '');
  const uid = String(job.metadata?.uid ?? '');
  if (!isObj(s.template)) s.template = {};
  if (!isObj(s.template.metadata)) s.template.metadata = {};
  const labels = isObj(s.template.metadata.labels) ? s.template.metadata.labels : (s.template.metadata.labels = {});
  for (const k of [LEGACY_JOB_NAME_LABEL, JOB_NAME_LABEL]) if (!(k in labels)) labels[k] = name;
  for (const k of [LEGACY_CONTROLLER_UID_LABEL, CONTROLLER_UID_LABEL]) if (!(k in labels)) labels[k] = uid;
  const selector = isObj(s.selector) ? s.selector : (s.selector = {});
  const matchLabels = isObj(selector.matchLabels) ? selector.matchLabels : (selector.matchLabels = {});
  if (!(CONTROLLER_UID_LABEL in matchLabels)) matchLabels[CONTROLLER_UID_LABEL] = uid;
  // Upstream stores the Job without labels and copies the template labels on
  // read (defaulting runs on every decode); doing it here keeps reads stable.
  if (!(isObj(job.metadata?.labels) && Object.keys(job.metadata.labels).length)) {
    job.metadata = { ...(job.metadata ?? {}), labels: { ...labels } };
  }
}
