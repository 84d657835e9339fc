// The CronJob controller: a Job per scheduled time.
//
// sync(key), after upstream's CronJob controller (v2):
// 1. Delete finished Jobs beyond the history limits (oldest first).
// 2. Reconcile status.active with the Jobs the CronJob controls: drop the
//    finished (SawCompletedJob) and the vanished (MissingJob), note
//    lastSuccessfulTime.
// 3. Unless being deleted, suspended, or with a bad schedule/zone: find the
//    latest scheduled time that is due and not yet acted on (only the
//    latest: after downtime nothing is replayed, and more than 100 missed
//    times earn a TooManyMissedTimes warning). Too late for
//    startingDeadlineSeconds: skip it. Forbid with a Job active: skip it.
//    Replace: delete the active Jobs. Then create the Job
//    `<cronjob>-<minutes since epoch>` (the name is the lock: the same time
//    can never run twice) and record it in status.active and
//    lastScheduleTime.
// 4. Write the status if it changed, and come back just after the next
//    scheduled time.
// The clock is `now` (ControllerOptions): tests drive time with a fake one
// and call requeueAll() when they move it.
import { splitKey } from '../../client/cache.ts';
import type { Informer } from '../../client/informer.ts';
import { isAlreadyExists, isNotFound } from '../../client/interface.ts';
import { Controller, type ControllerOptions } from '../framework/controller.ts';
import { getControllerOf, resolveControllerRef } from '../framework/controller-ref.ts';
import { CONTROLLER_UID_INDEX } from '../framework/informers.ts';
import { rfc3339 } from '../framework/types.ts';
import { deleteJobWithPods } from '../job/delete.ts';
import { cronJobsResource, finishedCondition, isJobFinished, jobsResource, type CronJob, type Job, type ObjectReference } from '../job/types.ts';
import { parseSchedule, type Schedule } from './schedule.ts';
import { jobFromTemplate, jobNameFor, mostRecentScheduleTime, nextScheduleDelay, rfc1123z, TOO_MANY_MISSED } from './utils.ts';
import { isTimeZone } from '../../api/validation/cron.ts';

const isNamespaceTerminating = (error: unknown) => /because it is being terminated/.test((error as Error)?.message ?? '');

export class CronJobController extends Controller {
  readonly name = 'cronjob';
  protected readonly component = 'cronjob-controller';
  private readonly cronJobs: Informer<CronJob>;
  private readonly jobs: Informer<Job>;

  constructor(options: ControllerOptions) {
    super(options);
    this.cronJobs = this.watch<CronJob>(cronJobsResource, {
      onAdd: (cj) => this.enqueue(cj),
      onUpdate: (old, cj) => this.onCronJobUpdated(old, cj),
    });
    this.jobs = this.watch<Job>(jobsResource, {
      onAdd: (job) => this.enqueueOwner(job),
      onUpdate: (old, job) => {
        if (old.metadata.resourceVersion === job.metadata.resourceVersion) return;
        if (getControllerOf(old)?.uid !== getControllerOf(job)?.uid) this.enqueueOwner(old);
        this.enqueueOwner(job);
      },
      onDelete: (job) => this.enqueueOwner(job),
    });
  }

  /** Look at every CronJob again now (a test moved its fake clock). */
  requeueAll(): void {
    for (const cj of this.cronJobs.lister.list()) this.enqueue(cj);
  }

  // ---- handlers: only keys ---------------------------------------------------

  private enqueueOwner(job: Job): void {
    const owner = resolveControllerRef({
      ref: getControllerOf(job), kind: 'CronJob', group: 'batch', lookup: (name) => this.cronJobs.lister.get(job.metadata.namespace, name),
    });
    if (owner) this.enqueue(owner);
  }

  private onCronJobUpdated(old: CronJob, cj: CronJob): void {
    if (old.spec.schedule === cj.spec.schedule && old.spec.timeZone === cj.spec.timeZone) {
      this.enqueue(cj);
      return;
    }
    // A new schedule: look again at its next time (sooner than the old one's, if it is).
    let schedule: Schedule;
    try {
      schedule = parseSchedule(cj.spec.schedule, cj.spec.timeZone);
    } catch {
      this.recorder.record({ object: cj, type: 'Warning', reason: 'UnParseableCronJobSchedule', message: `unparseable schedule for cronjob: ${cj.spec.schedule}` });
      return;
    }
    const delay = nextScheduleDelay({ cronJob: cj, schedule, now: this.now() });
    if (delay !== undefined) this.enqueueAfter(cj, delay);
  }

  // ---- sync --------------------------------------------------------------------

  protected async sync(key: string): Promise<void> {
    const [namespace, name] = splitKey(key);
    const cached = this.cronJobs.lister.get(namespace, name);
    if (!cached) return;
    const cronJob: CronJob = structuredClone(cached);
    cronJob.status ??= {};
    const jobs = this.jobs.lister.byIndex(CONTROLLER_UID_INDEX, cronJob.metadata.uid ?? '').filter((j) => j.metadata.namespace === namespace);
    let changed = await this.cleanupFinishedJobs(cronJob, jobs);
    let delay: number | undefined;
    let syncError: unknown;
    try {
      const result = await this.syncCronJob(cronJob, jobs);
      delay = result.delay;
      changed ||= result.changed;
    } catch (error) {
      syncError = error;
    }
    if (changed) {
      await this.client.update({ ...cronJobsResource, namespace, name, subresource: 'status' }, cronJob);
    }
    if (syncError !== undefined) throw syncError;
    if (delay !== undefined) this.enqueueAfter(key, delay);
  }

  private async syncCronJob(cronJob: CronJob, jobs: readonly Job[]): Promise<{ delay?: number; changed: boolean }> {
    const now = this.now();
    const status = cronJob.status!;
    const active = (status.active ??= []);
    let changed = false;
    const inActive = (uid: string | undefined) => active.some((r) => r.uid === uid);
    const removeActive = (uid: string | undefined) => {
      const at = active.findIndex((r) => r.uid === uid);
      if (at >= 0) active.splice(at, 1);
    };

    const children = new Set<string>();
    for (const job of jobs) {
      children.add(job.metadata.uid!);
      const found = inActive(job.metadata.uid);
      if (!found && !isJobFinished(job)) {
        // Not ours in status: we may have crashed between creating it and writing status, or someone made it for us.
        const fresh = await this.client.get<CronJob>({ ...cronJobsResource, namespace: cronJob.metadata.namespace, name: cronJob.metadata.name });
        if (fresh.status?.active?.some((r) => r.uid === job.metadata.uid)) continue;
        this.recorder.record({ object: cronJob, type: 'Warning', reason: 'UnexpectedJob', message: `Saw a job that the controller did not create or forgot: ${job.metadata.name}` });
      } else if (found && isJobFinished(job)) {
        removeActive(job.metadata.uid);
        changed = true;
        this.recorder.record({ object: cronJob, type: 'Normal', reason: 'SawCompletedJob', message: `Saw completed job: ${job.metadata.name}, status: ${finishedCondition(job)!.type}` });
      }
      if (isJobFinished(job) && finishedCondition(job)!.type === 'Complete') {
        // Finished Jobs count whether or not we saw them active.
        const completed = job.status?.completionTime;
        if (completed && (!status.lastSuccessfulTime || Date.parse(completed) > Date.parse(status.lastSuccessfulTime))) {
          status.lastSuccessfulTime = completed;
          changed = true;
        }
      }
    }
    // An active Job we no longer see: ask the API (the cache may lag) before forgetting it.
    for (const ref of [...active]) {
      if (children.has(ref.uid!)) continue;
      try {
        await this.client.get({ ...jobsResource, namespace: ref.namespace ?? cronJob.metadata.namespace, name: ref.name });
      } catch (error) {
        if (!isNotFound(error)) throw error;
        this.recorder.record({ object: cronJob, type: 'Normal', reason: 'MissingJob', message: `Active job went missing: ${ref.name}` });
        removeActive(ref.uid);
        changed = true;
      }
    }

    if (cronJob.metadata.deletionTimestamp) return { changed };
    const zone = cronJob.spec.timeZone;
    if (zone !== undefined && zone !== null && !isTimeZone(zone)) {
      this.recorder.record({ object: cronJob, type: 'Warning', reason: 'UnknownTimeZone', message: `invalid timeZone: "${zone}": unknown time zone ${zone}` });
      return { changed };
    }
    if (cronJob.spec.suspend) return { changed };
    if (/TZ/.test(cronJob.spec.schedule)) {
      this.recorder.record({ object: cronJob, type: 'Warning', reason: 'UnsupportedSchedule', message: `CRON_TZ or TZ used in schedule "${cronJob.spec.schedule}" is not officially supported, see https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/ for more details` });
    }
    let schedule: Schedule;
    try {
      schedule = parseSchedule(cronJob.spec.schedule, zone);
    } catch (error) {
      this.recorder.record({ object: cronJob, type: 'Warning', reason: 'UnparseableSchedule', message: `unparseable schedule: "${cronJob.spec.schedule}" : ${(error as Error).message}` });
      return { changed };
    }
    const nextDelay = () => nextScheduleDelay({ cronJob, schedule, now });

    let due;
    try {
      due = mostRecentScheduleTime({ cronJob, schedule, now, includeStartingDeadline: true });
    } catch (error) {
      this.recorder.record({ object: cronJob, type: 'Warning', reason: 'InvalidSchedule', message: `invalid schedule: ${cronJob.spec.schedule} : ${(error as Error).message}` });
      return { changed };
    }
    const scheduled = due.mostRecent;
    if (!scheduled) return { changed, delay: nextDelay() };
    if (due.missed > TOO_MANY_MISSED) {
      this.recorder.record({ object: cronJob, type: 'Warning', reason: 'TooManyMissedTimes', message: `too many missed start times: ${due.missed}. Set or decrease .spec.startingDeadlineSeconds or check clock skew` });
    }
    const deadline = cronJob.spec.startingDeadlineSeconds;
    if (deadline !== undefined && deadline !== null && scheduled.getTime() + deadline * 1000 < now.getTime()) {
      this.recorder.record({ object: cronJob, type: 'Warning', reason: 'MissSchedule', message: `Missed scheduled time to start a job: ${rfc1123z(scheduled)}` });
      return { changed, delay: nextDelay() };
    }
    const name = jobNameFor(cronJob, scheduled);
    if (active.some((r) => r.name === name) || (status.lastScheduleTime && Date.parse(status.lastScheduleTime) === scheduled.getTime())) {
      return { changed, delay: nextDelay() };
    }
    if (cronJob.spec.concurrencyPolicy === 'Forbid' && active.length > 0) {
      // Racy by nature (an active Job we have not seen yet), as upstream: fine when runs are far enough apart.
      this.recorder.record({ object: cronJob, type: 'Normal', reason: 'JobAlreadyActive', message: 'Not starting job because prior execution is running and concurrency policy is Forbid' });
      return { changed, delay: nextDelay() };
    }
    if (cronJob.spec.concurrencyPolicy === 'Replace') {
      for (const ref of [...active]) {
        const job = this.jobs.lister.get(ref.namespace ?? cronJob.metadata.namespace, ref.name!) ?? { metadata: { namespace: cronJob.metadata.namespace, name: ref.name, uid: ref.uid } } as Job;
        await this.deleteJob(cronJob, job);
        removeActive(ref.uid);
        changed = true;
      }
    }

    let created: Job;
    try {
      created = await this.client.create<Job>({ ...jobsResource, namespace: cronJob.metadata.namespace }, jobFromTemplate(cronJob, scheduled));
      this.recorder.record({ object: cronJob, type: 'Normal', reason: 'SuccessfulCreate', message: `Created job ${created.metadata.name}` });
    } catch (error) {
      if (isNamespaceTerminating(error)) return { changed };
      if (!isAlreadyExists(error)) {
        this.recorder.record({ object: cronJob, type: 'Warning', reason: 'FailedCreate', message: `Error creating job: ${(error as Error).message}` });
        throw error;
      }
      // Made before (we crashed before writing status, or the write was lost): record it unless someone else owns it.
      created = await this.client.get<Job>({ ...jobsResource, namespace: cronJob.metadata.namespace, name });
      if (getControllerOf(created)?.uid !== cronJob.metadata.uid || inActive(created.metadata.uid)) return { changed };
    }
    active.push(objectReference(created));
    status.lastScheduleTime = rfc3339(scheduled);
    return { changed: true, delay: nextDelay() };
  }

  /** Delete a Job (and its pods: there is no garbage collector yet); false when it failed. */
  private async deleteJob(cronJob: CronJob, job: Job): Promise<boolean> {
    try {
      await deleteJobWithPods({ client: this.client, job });
    } catch (error) {
      if (!isNotFound(error)) {
        this.recorder.record({ object: cronJob, type: 'Warning', reason: 'FailedDelete', message: `Deleted job: ${(error as Error).message}` });
        return false;
      }
    }
    this.recorder.record({ object: cronJob, type: 'Normal', reason: 'SuccessfulDelete', message: `Deleted job ${job.metadata.name}` });
    return true;
  }

  /** Delete finished Jobs beyond successfulJobsHistoryLimit / failedJobsHistoryLimit, oldest first. Returns whether status changed. */
  private async cleanupFinishedJobs(cronJob: CronJob, jobs: readonly Job[]): Promise<boolean> {
    const limits = { Complete: cronJob.spec.successfulJobsHistoryLimit, Failed: cronJob.spec.failedJobsHistoryLimit };
    let changed = false;
    for (const [type, limit] of Object.entries(limits)) {
      if (limit === undefined || limit === null) continue;
      const finished = jobs.filter((j) => finishedCondition(j)?.type === type).sort(byStartTime);
      for (const job of finished.slice(0, Math.max(0, finished.length - limit))) {
        if (!(await this.deleteJob(cronJob, job))) continue;
        const before = cronJob.status!.active?.length ?? 0;
        cronJob.status!.active = (cronJob.status!.active ?? []).filter((r) => r.uid !== job.metadata.uid);
        if (cronJob.status!.active.length !== before) changed = true;
      }
    }
    return changed;
  }
}

/** Oldest first by status.startTime; Jobs that never started sort last; ties by name. */
function byStartTime(a: Job, b: Job): number {
  const sa = a.status?.startTime ? Date.parse(a.status.startTime) : undefined;
  const sb = b.status?.startTime ? Date.parse(b.status.startTime) : undefined;
  if (sa === sb) return (a.metadata.name ?? '').localeCompare(b.metadata.name ?? '');
  if (sa === undefined) return 1;
  if (sb === undefined) return -1;
  return sa - sb;
}

function objectReference(job: Job): ObjectReference {
  return { apiVersion: 'batch/v1', kind: 'Job', namespace: job.metadata.namespace, name: job.metadata.name, uid: job.metadata.uid, resourceVersion: job.metadata.resourceVersion };
}
