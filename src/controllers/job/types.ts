// The slices of batch/v1 Jobs and CronJobs the Job, CronJob and
// TTL-after-finished controllers read and write, and the well-known names
// (labels, annotations, the tracking finalizer) they share with kubectl and
// with workloads that read them. Only what the controllers use is typed;
// everything else passes through untouched.
import type { LabelSelectorObject } from '../../api/selectors/index.ts';
import type { KubeObject } from '../../client/interface.ts';
import type { ResourceType } from '../framework/informers.ts';
import type { PodTemplate } from '../framework/types.ts';

export const jobsResource: ResourceType = { group: 'batch', version: 'v1', resource: 'jobs' };
export const cronJobsResource: ResourceType = { group: 'batch', version: 'v1', resource: 'cronjobs' };

/** On every pod a Job creates; removed once the pod's outcome is in the Job's status (so it is never lost or counted twice). */
export const JOB_TRACKING_FINALIZER = 'batch.kubernetes.io/job-tracking';
export const JOB_NAME_LABEL = 'batch.kubernetes.io/job-name';
export const CONTROLLER_UID_LABEL = 'batch.kubernetes.io/controller-uid';
/** Annotation (and, since PodIndexLabel, label) naming an Indexed Job pod's index. */
export const COMPLETION_INDEX_ANNOTATION = 'batch.kubernetes.io/job-completion-index';
export const COMPLETION_INDEX_ENV = 'JOB_COMPLETION_INDEX';
/** With backoffLimitPerIndex: failures counted against the index so far, carried from pod to replacement pod. */
export const INDEX_FAILURE_COUNT_ANNOTATION = 'batch.kubernetes.io/job-index-failure-count';
/** Failures the pod failure policy ignored for the index (they still delay the replacement). */
export const INDEX_IGNORED_FAILURE_COUNT_ANNOTATION = 'batch.kubernetes.io/job-index-ignored-failure-count';
export const CRONJOB_SCHEDULED_TIMESTAMP_ANNOTATION = 'batch.kubernetes.io/cronjob-scheduled-timestamp';
/** spec.managedBy value meaning "this controller"; any other value leaves the Job to someone else. */
export const JOB_CONTROLLER_NAME = 'kubernetes.io/job-controller';

export interface JobCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  lastProbeTime?: string;
  lastTransitionTime?: string;
}

export interface PodFailurePolicyRule {
  action: 'FailJob' | 'FailIndex' | 'Ignore' | 'Count';
  onExitCodes?: { containerName?: string; operator: 'In' | 'NotIn'; values: number[] };
  onPodConditions?: { type: string; status?: string }[];
}

export interface SuccessPolicyRule {
  succeededIndexes?: string;
  succeededCount?: number;
}

export interface JobSpec {
  parallelism?: number;
  completions?: number | null;
  activeDeadlineSeconds?: number;
  backoffLimit?: number;
  backoffLimitPerIndex?: number;
  maxFailedIndexes?: number;
  selector?: LabelSelectorObject;
  manualSelector?: boolean;
  template: PodTemplate;
  ttlSecondsAfterFinished?: number;
  completionMode?: 'NonIndexed' | 'Indexed';
  suspend?: boolean;
  podFailurePolicy?: { rules: PodFailurePolicyRule[] };
  successPolicy?: { rules: SuccessPolicyRule[] };
  podReplacementPolicy?: 'TerminatingOrFailed' | 'Failed';
  managedBy?: string;
}

export interface JobStatus {
  conditions?: JobCondition[];
  startTime?: string;
  completionTime?: string;
  active?: number;
  succeeded?: number;
  failed?: number;
  terminating?: number;
  ready?: number;
  completedIndexes?: string;
  failedIndexes?: string;
  uncountedTerminatedPods?: { succeeded?: string[]; failed?: string[] };
}

export interface Job extends KubeObject {
  spec: JobSpec;
  status?: JobStatus;
}

export interface ObjectReference {
  apiVersion?: string;
  kind?: string;
  namespace?: string;
  name?: string;
  uid?: string;
  resourceVersion?: string;
}

export interface CronJob extends KubeObject {
  spec: {
    schedule: string;
    timeZone?: string;
    startingDeadlineSeconds?: number;
    concurrencyPolicy?: 'Allow' | 'Forbid' | 'Replace';
    suspend?: boolean;
    successfulJobsHistoryLimit?: number;
    failedJobsHistoryLimit?: number;
    jobTemplate: { metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> }; spec: JobSpec };
  };
  status?: { active?: ObjectReference[]; lastScheduleTime?: string; lastSuccessfulTime?: string };
}

export function findCondition(job: Job, type: string): JobCondition | undefined {
  return job.status?.conditions?.find((c) => c.type === type);
}

const conditionTrue = (job: Job, type: string) => findCondition(job, type)?.status === 'True';

/** The terminal condition (Complete or Failed, status True), if the Job has finished. */
export function finishedCondition(job: Job): JobCondition | undefined {
  return job.status?.conditions?.find((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True');
}

export const isJobFinished = (job: Job) => finishedCondition(job) !== undefined;
export const isJobSucceeded = (job: Job) => conditionTrue(job, 'Complete');
export const isIndexedJob = (job: Job) => job.spec.completionMode === 'Indexed';
export const hasBackoffLimitPerIndex = (job: Job) => job.spec.backoffLimitPerIndex !== undefined && job.spec.backoffLimitPerIndex !== null;
export const isSuspended = (job: Job) => job.spec.suspend === true;
/** With podReplacementPolicy Failed a pod is replaced only once it has fully failed, not while it terminates. */
export const onlyReplaceFailedPods = (job: Job) => job.spec.podReplacementPolicy === 'Failed' || job.spec.podFailurePolicy != null;
export const hasTrackingFinalizer = (obj: KubeObject) => obj.metadata.finalizers?.includes(JOB_TRACKING_FINALIZER) ?? false;
