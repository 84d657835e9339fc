import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CronJob } from '../job/types.ts';
import { parseSchedule } from './schedule.ts';
import { formatInZone, jobFromTemplate, jobNameFor, mostRecentScheduleTime, nextScheduleDelay, rfc1123z } from './utils.ts';

function cronJob(schedule: string, extra: { created?: string; last?: string; deadline?: number; timeZone?: string } = {}): CronJob {
  return {
    apiVersion: 'batch/v1', kind: 'CronJob',
    metadata: { name: 'cj', namespace: 'ns', uid: 'u-1', creationTimestamp: extra.created ?? '2025-01-06T00:00:00Z' },
    spec: {
      schedule, timeZone: extra.timeZone, startingDeadlineSeconds: extra.deadline,
      jobTemplate: { metadata: { labels: { a: 'b' } }, spec: { template: { spec: { restartPolicy: 'Never' } } } },
    },
    status: extra.last ? { lastScheduleTime: extra.last } : {},
  };
}

const due = (cj: CronJob, now: string, includeStartingDeadline = true) => {
  const r = mostRecentScheduleTime({ cronJob: cj, schedule: parseSchedule(cj.spec.schedule, cj.spec.timeZone), now: new Date(now), includeStartingDeadline });
  return { mostRecent: r.mostRecent?.toISOString(), missed: r.missed };
};

describe('which scheduled time is due', () => {
  it('nothing before the first time; the latest one after downtime, with an estimate of how many were missed', () => {
    assert.deepEqual(due(cronJob('0 * * * *'), '2025-01-06T00:59:00Z'), { mostRecent: undefined, missed: 0 });
    assert.deepEqual(due(cronJob('0 * * * *'), '2025-01-06T01:00:30Z'), { mostRecent: '2025-01-06T01:00:00.000Z', missed: 1 });
    assert.deepEqual(due(cronJob('0 * * * *'), '2025-01-06T05:30:00Z'), { mostRecent: '2025-01-06T05:00:00.000Z', missed: 5 });
    // Counted from the last scheduled time, not creation.
    assert.deepEqual(due(cronJob('0 * * * *', { last: '2025-01-06T04:00:00Z' }), '2025-01-06T05:30:00Z'), { mostRecent: '2025-01-06T05:00:00.000Z', missed: 1 });
  });

  it('finds the latest time of an irregular schedule across a long gap', () => {
    // Weekdays at 09:00: created Monday, now the next Sunday: Friday's run is the one due.
    const r = due(cronJob('0 9 * * 1-5'), '2025-01-12T12:00:00Z');
    assert.equal(r.mostRecent, '2025-01-10T09:00:00.000Z');
  });

  it('a year of missed minutes is quick', () => {
    const started = performance.now();
    const r = due(cronJob('* * * * *'), '2026-01-06T00:00:30Z');
    assert.equal(r.mostRecent, '2026-01-06T00:00:00.000Z');
    assert.equal(r.missed, 525600);
    assert.ok(performance.now() - started < 500);
  });

  it('startingDeadlineSeconds bounds how far back a run may still start', () => {
    const cj = cronJob('0 * * * *', { deadline: 600 });
    assert.deepEqual(due(cj, '2025-01-06T05:20:00Z'), { mostRecent: undefined, missed: 0 });
    assert.equal(due(cj, '2025-01-06T05:05:00Z').mostRecent, '2025-01-06T05:00:00.000Z');
    // For requeueing the deadline is ignored.
    assert.equal(due(cj, '2025-01-06T05:20:00Z', false).mostRecent, '2025-01-06T05:00:00.000Z');
  });

  it('comes back just after the next scheduled time', () => {
    const cj = cronJob('0 * * * *');
    assert.equal(nextScheduleDelay({ cronJob: cj, schedule: parseSchedule('0 * * * *'), now: new Date('2025-01-06T05:20:00Z') }), 40 * 60_000 + 100);
    assert.equal(nextScheduleDelay({ cronJob: cj, schedule: parseSchedule('0 0 30 2 *'), now: new Date('2025-01-06T05:20:00Z') }), undefined);
  });
});

describe('the Job for a scheduled time', () => {
  it('is named by minutes since the epoch, owned, annotated in the zone', () => {
    const cj = cronJob('0 9 * * *', { timeZone: 'America/New_York' });
    const at = new Date('2025-07-01T13:00:00Z');
    assert.equal(jobNameFor(cj, at), `cj-${Date.parse('2025-07-01T13:00:00Z') / 60_000}`);
    const job = jobFromTemplate(cj, at);
    assert.equal(job.metadata.annotations?.['batch.kubernetes.io/cronjob-scheduled-timestamp'], '2025-07-01T09:00:00-04:00');
    assert.deepEqual(job.metadata.labels, { a: 'b' });
    assert.deepEqual(job.metadata.ownerReferences, [{ apiVersion: 'batch/v1', kind: 'CronJob', name: 'cj', uid: 'u-1', controller: true, blockOwnerDeletion: true }]);
    assert.deepEqual(job.spec, cj.spec.jobTemplate.spec);
    assert.equal(formatInZone(at, undefined), '2025-07-01T13:00:00Z');
    assert.equal(formatInZone(at, 'Asia/Kolkata'), '2025-07-01T18:30:00+05:30');
    assert.equal(rfc1123z(at), 'Tue, 01 Jul 2025 13:00:00 +0000');
  });
});
