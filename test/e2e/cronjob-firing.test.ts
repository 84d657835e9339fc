// A CronJob firing for real in `skiff server` (no fake clock): with schedule
// `* * * * *` it creates, at the next minute boundary, a Job named
// `<cronjob>-<minutes since epoch>` owned by the CronJob, records
// status.lastScheduleTime (kubectl's LAST SCHEDULE column), and a suspended
// CronJob created at the same time fires nothing. Waits at most ~75 s.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually, startServer, type ServerHandle } from './harness.ts';

interface Job { metadata: { name: string; ownerReferences?: { kind: string; name: string; uid: string; controller?: boolean }[] } }

describe('cronjob firing on the real clock', () => {
  let server: ServerHandle;
  const json = (args: string[]) => JSON.parse(server.k([...args, '-o', 'json']));
  const cronJob = (name: string, suspend: boolean) => JSON.stringify({
    apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name },
    spec: {
      schedule: '* * * * *', suspend,
      jobTemplate: { spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox', command: ['true'] }] } } } },
    },
  });
  before(async () => {
    server = await startServer({ extraArgs: ['--simulated-nodes', '1'] });
  });
  after(async () => server?.stop());

  it('creates a Job at the next minute boundary, owned by the CronJob, and stops when suspended', { timeout: 110_000 }, async () => {
    server.k(['apply', '-f', '-'], { input: cronJob('every-minute', false) });
    server.k(['apply', '-f', '-'], { input: cronJob('paused', true) });
    const cron = json(['get', 'cronjob', 'every-minute']);
    const created = Date.parse(cron.metadata.creationTimestamp);
    // The first scheduled time is the first minute boundary after creation.
    const boundary = (Math.floor(created / 60_000) + 1) * 60_000;
    assert.match(server.k(['get', 'cronjob', 'every-minute']), /^every-minute\s+\* \* \* \* \*\s+<none>\s+False\s+0\s+<none>\s/m);

    const jobs = (await eventually(() => {
      const items: Job[] = json(['get', 'jobs']).items;
      return items.length ? items : undefined;
    }, { timeoutMs: Math.max(0, boundary - Date.now()) + 15_000, intervalMs: 500 })) as Job[];
    assert.ok(Date.now() >= boundary - 1_000, 'no Job before the scheduled time');
    assert.equal(jobs.length, 1, `one Job, from the unsuspended CronJob only: ${jobs.map((j) => j.metadata.name)}`);
    const [job] = jobs;
    assert.equal(job.metadata.name, `every-minute-${boundary / 60_000}`);
    const owner = job.metadata.ownerReferences?.find((r) => r.controller);
    assert.ok(owner, 'the Job has a controller reference');
    assert.equal(owner.kind, 'CronJob');
    assert.equal(owner.name, 'every-minute');
    assert.equal(owner.uid, cron.metadata.uid);

    const status = await eventually(() => {
      const s = json(['get', 'cronjob', 'every-minute']).status;
      return s?.lastScheduleTime && s.active?.length ? s : undefined;
    }, { timeoutMs: 10_000 });
    assert.equal(Date.parse(status.lastScheduleTime), boundary);
    assert.deepEqual(status.active.map((r: { name: string }) => r.name), [job.metadata.name]);
    const table = server.k(['get', 'cronjob', 'every-minute']);
    assert.match(table.split('\n')[0], /LAST SCHEDULE/);
    assert.match(table, /^every-minute\s+\* \* \* \* \*\s+<none>\s+False\s+1\s+\d+s\s/m);
    // The Job runs a pod on the simulated node.
    await eventually(() => json(['get', 'pods', '-l', `batch.kubernetes.io/job-name=${job.metadata.name}`]).items.length === 1, { timeoutMs: 15_000 });

    const paused = json(['get', 'cronjob', 'paused']);
    assert.equal(paused.status?.lastScheduleTime, undefined, 'a suspended CronJob does not fire');
    assert.match(server.k(['get', 'cronjob', 'paused']), /^paused\s+\* \* \* \* \*\s+<none>\s+True\s+0\s+<none>\s/m);

    server.k(['patch', 'cronjob', 'every-minute', '-p', '{"spec":{"suspend":true}}']);
    assert.equal(json(['get', 'cronjob', 'every-minute']).spec.suspend, true);
    assert.match(server.k(['get', 'cronjob', 'every-minute']), /^every-minute\s+\* \* \* \* \*\s+<none>\s+True\s+1\s+\d+s\s/m);
  });
});
