// Printers for the batch API group: jobs and cron jobs.
import type { KindPrinter, Obj, PrintContext } from './types.ts';
import { ageColumn, containerColumns, formatLabelSelector, int, nameColumn, str } from './helpers.ts';
import { humanDuration, parseTimestamp, translateTimestampSince } from './time.ts';

const conditionTrue = (job: Obj, type: string): boolean => {
  const conditions: Obj[] = Array.isArray(job?.status?.conditions) ? job.status.conditions : [];
  return conditions.find((c) => c?.type === type)?.status === 'True';
};

/** Complete, Failed, Terminating, Suspended, FailureTarget or Running: the first that applies. */
export function jobStatus(job: Obj): string {
  if (conditionTrue(job, 'Complete')) return 'Complete';
  if (conditionTrue(job, 'Failed')) return 'Failed';
  if (job?.metadata?.deletionTimestamp) return 'Terminating';
  if (conditionTrue(job, 'Suspended')) return 'Suspended';
  if (conditionTrue(job, 'FailureTarget')) return 'FailureTarget';
  return 'Running';
}

/** "2/3"; without spec.completions "1/1", or "0/1 of 4" for a parallel work queue. */
function completions(job: Obj): string {
  const succeeded = int(job?.status?.succeeded);
  if (job?.spec?.completions != null) return `${succeeded}/${int(job.spec.completions)}`;
  const parallelism = int(job?.spec?.parallelism);
  return parallelism > 1 ? `${succeeded}/1 of ${parallelism}` : `${succeeded}/1`;
}

/** Running time so far, or start-to-completion once complete; empty before it starts. */
function jobDuration(job: Obj, ctx: PrintContext): string {
  const start = parseTimestamp(job?.status?.startTime);
  if (start === undefined) return '';
  const end = parseTimestamp(job?.status?.completionTime);
  return humanDuration((end ?? ctx.now) - start);
}

const jobPrinter: KindPrinter = {
  columns: [
    nameColumn,
    { name: 'Status', description: 'Overall state of the job.', cell: jobStatus },
    { name: 'Completions', description: 'Succeeded pods out of required completions.', cell: completions },
    { name: 'Duration', description: 'How long the job ran (or has been running).', cell: jobDuration },
    ageColumn,
    ...containerColumns((o) => o?.spec?.template),
    { name: 'Selector', priority: 1, description: 'Label selector of the pods of the job.', cell: (o) => formatLabelSelector(o?.spec?.selector) },
  ],
};

const cronJobPrinter: KindPrinter = {
  columns: [
    nameColumn,
    { name: 'Schedule', description: 'Cron schedule.', cell: (o) => str(o?.spec?.schedule) },
    { name: 'Timezone', description: 'Time zone of the schedule.', cell: (o) => str(o?.spec?.timeZone ?? '<none>') },
    {
      name: 'Suspend',
      type: 'boolean',
      description: 'Whether new runs are suspended.',
      cell: (o) => (o?.spec?.suspend == null ? '<unset>' : o.spec.suspend === true ? 'True' : 'False'),
    },
    { name: 'Active', type: 'integer', description: 'Jobs running now.', cell: (o) => (Array.isArray(o?.status?.active) ? o.status.active.length : 0) },
    {
      name: 'Last Schedule',
      description: 'Time since a job was last scheduled.',
      cell: (o, ctx) => (o?.status?.lastScheduleTime ? translateTimestampSince(o.status.lastScheduleTime, ctx.now) : '<none>'),
    },
    ageColumn,
    ...containerColumns((o) => o?.spec?.jobTemplate?.spec?.template),
    {
      name: 'Selector',
      priority: 1,
      description: 'Label selector of the jobs\' pods.',
      cell: (o) => formatLabelSelector(o?.spec?.jobTemplate?.spec?.selector),
    },
  ],
};

export const batchPrinters: Record<string, KindPrinter> = {
  Job: jobPrinter,
  CronJob: cronJobPrinter,
};
