// The CronJob controller's arithmetic: which scheduled time is due, when
// to look again, and the Job made for a scheduled time. Pure functions.
import { newControllerRef } from '../framework/controller-ref.ts';
import { rfc3339 } from '../framework/types.ts';
import { CRONJOB_SCHEDULED_TIMESTAMP_ANNOTATION, type CronJob, type Job } from '../job/types.ts';
import type { Schedule } from './schedule.ts';

/** The controller looks again this long after the next scheduled time, so it is surely past. */
export const NEXT_SCHEDULE_DELTA_MS = 100;
/** More missed start times than this earn a TooManyMissedTimes warning. */
export const TOO_MANY_MISSED = 100;

export interface MostRecent {
  /** Where the search started: the last scheduled time, else creation; moved up to now - startingDeadlineSeconds. */
  earliest: Date;
  /** The latest scheduled time in (earliest, now], if any. */
  mostRecent?: Date;
  /** About how many scheduled times fell in (earliest, now] (an estimate for regular schedules, as upstream's). */
  missed: number;
}

/**
 * The latest scheduled time not after `now` that has not been acted on.
 * After downtime many may have passed; only the latest one matters (the
 * controller starts at most one Job per sync, so there is never a storm of
 * catch-up runs), and finding it must not walk every missed time: for
 * a schedule with a steady period the search starts a couple of periods
 * before `now`, going back further only when that finds nothing.
 */
export function mostRecentScheduleTime(options: { cronJob: CronJob; schedule: Schedule; now: Date; includeStartingDeadline: boolean }): MostRecent {
  const { cronJob, schedule, now } = options;
  const last = cronJob.status?.lastScheduleTime ?? cronJob.metadata.creationTimestamp;
  let earliest = new Date(last ? Date.parse(last) : now.getTime());
  const deadline = cronJob.spec.startingDeadlineSeconds;
  if (options.includeStartingDeadline && deadline !== undefined && deadline !== null) {
    const bound = now.getTime() - deadline * 1000;
    if (bound > earliest.getTime()) earliest = new Date(bound);
  }
  const t1 = schedule.next(earliest);
  if (!t1 || t1 > now) return { earliest, missed: 0 };
  const t2 = schedule.next(t1);
  if (!t2 || t2 > now) return { earliest, mostRecent: t1, missed: 1 };
  const period = Math.round((t2.getTime() - t1.getTime()) / 1000) * 1000;
  if (period < 1000) throw new Error('time difference between two schedules is less than 1 second');
  const missed = Math.floor((now.getTime() - t1.getTime()) / period) + 1;
  for (let back = 2; ; back *= 2) {
    const start = new Date(Math.max(t1.getTime(), now.getTime() - back * period));
    let recent: Date | undefined;
    // From `start` itself when it is t1 (next() is strictly after its argument).
    for (let t: Date | undefined = start.getTime() === t1.getTime() ? t1 : schedule.next(start); t && t <= now; t = schedule.next(t)) recent = t;
    if (recent) return { earliest, mostRecent: recent, missed };
  }
}

/** How long until the controller should look at the CronJob again (undefined: never, the schedule has no next time). */
export function nextScheduleDelay(options: { cronJob: CronJob; schedule: Schedule; now: Date }): number | undefined {
  const { earliest, mostRecent } = mostRecentScheduleTime({ ...options, includeStartingDeadline: false });
  const next = options.schedule.next(mostRecent ?? earliest);
  return next ? Math.max(0, next.getTime() + NEXT_SCHEDULE_DELTA_MS - options.now.getTime()) : undefined;
}

/** `<cronjob>-<minutes since epoch of the scheduled time>`: one name per scheduled time, so a time never runs twice. */
export function jobNameFor(cronJob: CronJob, scheduled: Date): string {
  return `${cronJob.metadata.name}-${Math.floor(scheduled.getTime() / 60_000)}`;
}

/** The scheduled time as RFC 3339 in the CronJob's zone ("2025-03-30T09:00:00+02:00"), for the scheduled-timestamp annotation. */
export function formatInZone(date: Date, timeZone: string | undefined): string {
  if (!timeZone || timeZone === 'UTC' || timeZone === 'Etc/UTC') return rfc3339(date);
  const parts: Record<string, string> = {};
  const format = new Intl.DateTimeFormat('en-US', {
    timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit',
  });
  for (const p of format.formatToParts(date)) parts[p.type] = p.value;
  const wall = Date.UTC(Number(parts.year), Number(parts.month) - 1, Number(parts.day), Number(parts.hour), Number(parts.minute), Number(parts.second));
  const offsetMinutes = Math.round((wall - Math.floor(date.getTime() / 1000) * 1000) / 60_000);
  if (offsetMinutes === 0) return `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}:${parts.second}Z`;
  const sign = offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(offsetMinutes);
  const offset = `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
  return `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}:${parts.second}${offset}`;
}

/** The Job for one scheduled time: the template's labels, annotations and spec, owned by the CronJob. */
export function jobFromTemplate(cronJob: CronJob, scheduled: Date): Job {
  const template = cronJob.spec.jobTemplate;
  const annotations = { ...(template.metadata?.annotations ?? {}) };
  annotations[CRONJOB_SCHEDULED_TIMESTAMP_ANNOTATION] = formatInZone(scheduled, cronJob.spec.timeZone);
  const metadata: Job['metadata'] = {
    name: jobNameFor(cronJob, scheduled),
    namespace: cronJob.metadata.namespace,
    annotations,
    ownerReferences: [newControllerRef(cronJob)],
  };
  const labels = template.metadata?.labels;
  if (labels && Object.keys(labels).length) metadata.labels = { ...labels };
  return { apiVersion: 'batch/v1', kind: 'Job', metadata, spec: structuredClone(template.spec) };
}

/** RFC 1123 with numeric zone, as the MissSchedule event prints times ("Mon, 02 Jan 2006 15:04:05 +0000"). */
export function rfc1123z(date: Date): string {
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const p = (n: number) => String(n).padStart(2, '0');
  return `${days[date.getUTCDay()]}, ${p(date.getUTCDate())} ${months[date.getUTCMonth()]} ${date.getUTCFullYear()} ${p(date.getUTCHours())}:${p(date.getUTCMinutes())}:${p(date.getUTCSeconds())} +0000`;
}
