// The CronJob controller against a real API server in this process, with a
// fake clock: tests move time by minutes or hours and ask the controller to
// look again (requeueAll), instead of waiting for real minutes. No Job
// controller runs here: tests finish Jobs by writing their status.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { resources, type KubeObject } from '../../client/interface.ts';
import { getControllerOf } from '../framework/controller-ref.ts';
import { rfc3339, type Pod } from '../framework/types.ts';
import { waitFor } from '../testing/harness.ts';
import { startTestbed, type Testbed } from '../job/test-support.ts';
import { cronJobsResource, jobsResource, type CronJob, type Job } from '../job/types.ts';
import { CronJobController } from './controller.ts';

const MINUTE = 60_000;

function cronJob(name: string, spec: Record<string, unknown> = {}) {
  return {
    apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name },
    spec: {
      schedule: '* * * * *',
      jobTemplate: {
        metadata: { labels: { app: name }, annotations: { note: 'from-template' } },
        spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'registry.example/cron:1' }] } } },
      },
      ...spec,
    },
  };
}

describe('cronjob controller', () => {
  let t: Testbed;
  let controller: CronJobController | undefined;
  let clock = Date.now();

  const start = () => t.startControllers((informers) => {
    controller = new CronJobController({ client: t.client, informers, logger: t.logger, now: () => new Date(clock) });
    return [controller];
  });

  before(async () => {
    t = await startTestbed();
    await start();
  });

  after(async () => {
    if (process.env.SHOW_WARNINGS) console.log(t?.warnings);
    await t?.stop();
  });

  /** Set the fake clock and have every CronJob looked at again. */
  const setClock = (ms: number) => {
    clock = ms;
    controller?.requeueAll();
  };
  const create = async (ns: string, body: ReturnType<typeof cronJob>) => {
    // The fake clock starts at the real time of creation, as the API server's creationTimestamp does.
    clock = Date.now();
    return t.client.create<CronJob>({ ...cronJobsResource, namespace: ns }, body);
  };
  /** The first scheduled minute after the CronJob was created. */
  const firstMinute = (cj: CronJob) => Math.floor(Date.parse(cj.metadata.creationTimestamp!) / MINUTE) * MINUTE + MINUTE;
  const jobs = async (ns: string) => (await t.client.list<Job>({ ...jobsResource, namespace: ns })).items;
  const jobNames = async (ns: string) => (await jobs(ns)).map((j) => j.metadata.name).sort();
  const getCronJob = (ns: string, name: string) => t.client.get<CronJob>({ ...cronJobsResource, namespace: ns, name });
  const events = async (ns: string, name: string) =>
    (await t.client.list<KubeObject & { reason: string; message: string; involvedObject: { name: string } }>({ ...resources.events, namespace: ns }))
      .items.filter((e) => e.involvedObject.name === name);
  const finishJob = (ns: string, name: string, type: 'Complete' | 'Failed', startedAt: number) => {
    const at = rfc3339(new Date(startedAt + 1000));
    return t.client.patch({ ...jobsResource, namespace: ns, name, subresource: 'status' }, 'merge', {
      status: {
        startTime: rfc3339(new Date(startedAt)),
        ...(type === 'Complete' ? { completionTime: at, succeeded: 1 } : { failed: 1 }),
        conditions: [{ type, status: 'True', lastTransitionTime: at, lastProbeTime: at }],
      },
    });
  };

  it('creates <cronjob>-<minutes since epoch> once its time comes, owned and annotated', async () => {
    const ns = await t.namespace('cj-fire');
    const cj = await create(ns, cronJob('tick', { timeZone: 'Asia/Tokyo' }));
    const due = firstMinute(cj);
    setClock(due - 20_000);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual(await jobNames(ns), [], 'nothing before its time');

    setClock(due + 5000);
    const name = `tick-${due / MINUTE}`;
    const [job] = await waitFor('the job', async () => {
      const list = await jobs(ns);
      return list.length === 1 && list;
    });
    assert.equal(job!.metadata.name, name);
    assert.deepEqual(getControllerOf(job!), { apiVersion: 'batch/v1', kind: 'CronJob', name: 'tick', uid: cj.metadata.uid, controller: true, blockOwnerDeletion: true });
    assert.equal(job!.metadata.labels?.app, 'tick');
    assert.equal(job!.metadata.annotations?.note, 'from-template');
    // In the CronJob's zone: Tokyo is UTC+9.
    const local = new Date(due + 9 * 3_600_000).toISOString().slice(0, 19);
    assert.equal(job!.metadata.annotations?.['batch.kubernetes.io/cronjob-scheduled-timestamp'], `${local}+09:00`);
    const status = await waitFor('status', async () => {
      const s = (await getCronJob(ns, 'tick')).status;
      return s?.active?.length === 1 && s;
    });
    assert.equal(status.lastScheduleTime, rfc3339(new Date(due)));
    assert.deepEqual(status.active![0], { apiVersion: 'batch/v1', kind: 'Job', namespace: ns, name, uid: job!.metadata.uid, resourceVersion: status.active![0]!.resourceVersion });
    await waitFor('SuccessfulCreate', async () => (await events(ns, 'tick')).some((e) => e.reason === 'SuccessfulCreate' && e.message === `Created job ${name}`));

    // Finished: out of active, lastSuccessfulTime set.
    await finishJob(ns, name, 'Complete', due);
    const after = await waitFor('active emptied', async () => {
      const s = (await getCronJob(ns, 'tick')).status;
      return !s?.active?.length && s?.lastSuccessfulTime ? s : undefined;
    });
    assert.equal(after.lastSuccessfulTime, rfc3339(new Date(due + 1000)));
    await waitFor('SawCompletedJob', async () => (await events(ns, 'tick')).some((e) => e.reason === 'SawCompletedJob' && e.message === `Saw completed job: ${name}, status: Complete`));
  });

  it('Forbid skips a run while one is active; the missed run starts once it finishes', async () => {
    const ns = await t.namespace('cj-forbid');
    const cj = await create(ns, cronJob('solo', { concurrencyPolicy: 'Forbid' }));
    const first = firstMinute(cj);
    setClock(first + 1000);
    await waitFor('first job', async () => (await jobNames(ns)).length === 1);
    await waitFor('recorded active', async () => (await getCronJob(ns, 'solo')).status?.active?.length === 1);
    setClock(first + MINUTE + 1000);
    await waitFor('JobAlreadyActive', async () => (await events(ns, 'solo')).some((e) => e.reason === 'JobAlreadyActive'));
    assert.deepEqual(await jobNames(ns), [`solo-${first / MINUTE}`]);

    await finishJob(ns, `solo-${first / MINUTE}`, 'Complete', first);
    await waitFor('the second run', async () => (await jobNames(ns)).includes(`solo-${first / MINUTE + 1}`));
  });

  it('Replace deletes the running Job (and its pods) and starts the new one', async () => {
    const ns = await t.namespace('cj-replace');
    const cj = await create(ns, cronJob('swap', { concurrencyPolicy: 'Replace' }));
    const first = firstMinute(cj);
    setClock(first + 1000);
    const [job] = await waitFor('first job', async () => {
      const list = await jobs(ns);
      return list.length === 1 && list;
    });
    await waitFor('recorded active', async () => (await getCronJob(ns, 'swap')).status?.active?.length === 1);
    // A pod of the running Job (no Job controller here), which must go with it: there is no garbage collector.
    await t.client.create({ ...resources.pods, namespace: ns }, {
      apiVersion: 'v1', kind: 'Pod',
      metadata: { name: 'swap-pod', finalizers: ['batch.kubernetes.io/job-tracking'], ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: job!.metadata.name, uid: job!.metadata.uid, controller: true }] },
      spec: { terminationGracePeriodSeconds: 0, containers: [{ name: 'main', image: 'x' }] },
    });

    setClock(first + MINUTE + 1000);
    await waitFor('only the second job', async () => {
      const names = await jobNames(ns);
      return names.length === 1 && names[0] === `swap-${first / MINUTE + 1}`;
    });
    await waitFor('the old pod gone', async () => !(await t.client.list<Pod>({ ...resources.pods, namespace: ns })).items.some((p) => p.metadata.name === 'swap-pod'));
    await waitFor('SuccessfulDelete', async () => (await events(ns, 'swap')).some((e) => e.reason === 'SuccessfulDelete' && e.message === `Deleted job ${job!.metadata.name}`));
    const status = await waitFor('active is the new one', async () => {
      const s = (await getCronJob(ns, 'swap')).status;
      return s?.active?.length === 1 && s.active[0]!.name === `swap-${first / MINUTE + 1}` && s;
    });
    assert.equal(status.lastScheduleTime, rfc3339(new Date(first + MINUTE)));
  });

  it('keeps only successfulJobsHistoryLimit and failedJobsHistoryLimit finished Jobs', async () => {
    const ns = await t.namespace('cj-history');
    const cj = await create(ns, cronJob('hist', { successfulJobsHistoryLimit: 1, failedJobsHistoryLimit: 1 }));
    const first = firstMinute(cj);
    const outcomes: ('Complete' | 'Failed')[] = ['Complete', 'Complete', 'Failed', 'Complete', 'Failed'];
    for (const [i, outcome] of outcomes.entries()) {
      const at = first + i * MINUTE;
      setClock(at + 1000);
      const name = `hist-${at / MINUTE}`;
      await waitFor(name, async () => (await getCronJob(ns, 'hist')).status?.active?.some((r) => r.name === name));
      await finishJob(ns, name, outcome, at);
    }
    setClock(first + outcomes.length * MINUTE - 1000);
    await waitFor('the oldest finished jobs deleted', async () => {
      const names = await jobNames(ns);
      return names.length === 2 && names;
    });
    assert.deepEqual(await jobNames(ns), [`hist-${first / MINUTE + 3}`, `hist-${first / MINUTE + 4}`]);
  });

  it('after downtime starts only the most recent missed run, and warns about too many missed', async () => {
    const ns = await t.namespace('cj-downtime');
    await t.stopControllers();
    const cj = await create(ns, cronJob('late'));
    const sparse = await t.client.create<CronJob>({ ...cronJobsResource, namespace: ns }, cronJob('sparse', { schedule: '*/30 * * * *' }));
    // Three hours pass with no controller: 180 runs missed for "* * * * *", 6 for "*/30".
    clock = Date.parse(cj.metadata.creationTimestamp!) + 3 * 3_600_000 + 10_000;
    await start();
    const latest = Math.floor(clock / MINUTE) * MINUTE;
    await waitFor('one job each', async () => (await jobNames(ns)).length === 2);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const sparseLatest = Math.floor(clock / (30 * MINUTE)) * 30 * MINUTE;
    assert.deepEqual(await jobNames(ns), [`late-${latest / MINUTE}`, `sparse-${sparseLatest / MINUTE}`].sort());
    const warning = await waitFor('TooManyMissedTimes', async () => (await events(ns, 'late')).find((e) => e.reason === 'TooManyMissedTimes'));
    assert.match(warning.message, /^too many missed start times: 18\d\. Set or decrease \.spec\.startingDeadlineSeconds or check clock skew$/);
    assert.ok(!(await events(ns, 'sparse')).some((e) => e.reason === 'TooManyMissedTimes'));
    assert.equal((await getCronJob(ns, 'late')).status?.lastScheduleTime, rfc3339(new Date(latest)));
    assert.ok(sparse.metadata.uid);
  });

  it('startingDeadlineSeconds skips runs that would start too late', async () => {
    const ns = await t.namespace('cj-deadline');
    const cj = await create(ns, cronJob('prompt', { startingDeadlineSeconds: 30 }));
    const first = firstMinute(cj);
    // 45 s late for the first minute: skipped.
    setClock(first + 45_000);
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.deepEqual(await jobNames(ns), []);
    // 10 s into the next minute: in time.
    setClock(first + MINUTE + 10_000);
    await waitFor('the in-time run', async () => (await jobNames(ns)).join() === `prompt-${first / MINUTE + 1}`);
  });

  it('a suspended CronJob starts nothing until resumed', async () => {
    const ns = await t.namespace('cj-suspend');
    const cj = await create(ns, cronJob('paused', { suspend: true }));
    const first = firstMinute(cj);
    setClock(first + 1000);
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.deepEqual(await jobNames(ns), []);
    await t.client.patch({ ...cronJobsResource, namespace: ns, name: 'paused' }, 'merge', { spec: { suspend: false } });
    await waitFor('the run', async () => (await jobNames(ns)).join() === `paused-${first / MINUTE}`);
  });
});
