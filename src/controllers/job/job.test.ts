// The Job and TTL-after-finished controllers against a real API server in
// this process, over the real client, with stand-in nodes that bind pods
// and run them; tests end pods with finishPod (exit code → Succeeded or
// Failed). Backoff and batching are shortened so the folder stays fast.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { resources, type KubeObject } from '../../client/interface.ts';
import { getControllerOf } from '../framework/controller-ref.ts';
import type { Pod } from '../framework/types.ts';
import { waitFor } from '../testing/harness.ts';
import { JobController } from './controller.ts';
import { finishPod, startTestbed, type Testbed } from './test-support.ts';
import { TtlAfterFinishedController } from './ttlafterfinished.ts';
import { JOB_TRACKING_FINALIZER, jobsResource, type Job } from './types.ts';

function job(name: string, spec: Record<string, unknown> = {}, templateSpec: Record<string, unknown> = {}) {
  return {
    apiVersion: 'batch/v1', kind: 'Job', metadata: { name },
    spec: {
      template: { spec: { restartPolicy: 'Never', terminationGracePeriodSeconds: 0, containers: [{ name: 'main', image: 'registry.example/work:1' }], ...templateSpec } },
      ...spec,
    },
  };
}

const condition = (j: Job, type: string) => j.status?.conditions?.find((c) => c.type === type && c.status === 'True');

describe('job controller', () => {
  let t: Testbed;

  before(async () => {
    t = await startTestbed();
    await t.startControllers((informers) => {
      const common = { client: t.client, informers, logger: t.logger };
      return [
        new JobController({ ...common, podFailureBackoffMs: 50, maxPodFailureBackoffMs: 200, batchPeriodMs: 20 }),
        new TtlAfterFinishedController(common),
      ];
    });
  });

  after(async () => {
    if (process.env.SHOW_WARNINGS) console.log(t?.warnings);
    await t?.stop();
  });

  const getJob = (ns: string, name: string) => t.client.get<Job>({ ...jobsResource, namespace: ns, name });
  const podsOf = async (ns: string, name: string) =>
    (await t.client.list<Pod>({ ...resources.pods, namespace: ns }, { labelSelector: `batch.kubernetes.io/job-name=${name}` })).items;
  const livePods = async (ns: string, name: string) =>
    (await podsOf(ns, name)).filter((p) => !p.metadata.deletionTimestamp && p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed');
  const events = async (ns: string, name: string) =>
    (await t.client.list<KubeObject & { reason: string; message: string; involvedObject: { name: string } }>({ ...resources.events, namespace: ns }))
      .items.filter((e) => e.involvedObject.name === name);
  /** Wait for `count` running pods of the Job and return them. */
  const running = (ns: string, name: string, count: number) => waitFor(`${count} running pods of ${name}`, async () => {
    const list = (await livePods(ns, name)).filter((p) => p.status?.phase === 'Running');
    return list.length === count && list;
  });

  it('runs completions 3 with parallelism 2, counts exactly 3, and releases every finalizer', async () => {
    const ns = await t.namespace('job-complete');
    const created = await t.client.create<Job>({ ...jobsResource, namespace: ns }, job('count', { completions: 3, parallelism: 2 }));
    const first = await running(ns, 'count', 2);
    for (const pod of first) {
      assert.deepEqual(pod.metadata.finalizers, [JOB_TRACKING_FINALIZER]);
      assert.equal(pod.metadata.labels?.['batch.kubernetes.io/job-name'], 'count');
      assert.equal(pod.metadata.labels?.['batch.kubernetes.io/controller-uid'], created.metadata.uid);
      assert.equal(pod.metadata.labels?.['job-name'], 'count');
      assert.equal(pod.metadata.labels?.['controller-uid'], created.metadata.uid);
      assert.deepEqual(getControllerOf(pod), { apiVersion: 'batch/v1', kind: 'Job', name: 'count', uid: created.metadata.uid, controller: true, blockOwnerDeletion: true });
      assert.match(pod.metadata.name!, /^count-[a-z0-9]{5}$/);
    }
    const status = await waitFor('active 2, ready 2', async () => {
      const s = (await getJob(ns, 'count')).status;
      return s?.active === 2 && s.ready === 2 && s;
    });
    assert.ok(status.startTime);
    assert.deepEqual(status.uncountedTerminatedPods, {});

    await Promise.all(first.map((p) => finishPod(t.client, p, 0)));
    const [third] = await waitFor('the third pod', async () => {
      const list = (await livePods(ns, 'count')).filter((p) => p.status?.phase === 'Running');
      return list.length === 1 && !first.some((f) => f.metadata.uid === list[0]!.metadata.uid) && list;
    });
    await finishPod(t.client, third!, 0);
    const done = await waitFor('Complete', async () => {
      const j = await getJob(ns, 'count');
      return condition(j, 'Complete') && j;
    });
    assert.equal(done.status?.succeeded, 3);
    assert.equal(done.status?.failed, undefined);
    assert.equal(done.status?.active, undefined);
    assert.ok(done.status?.completionTime);
    assert.deepEqual(done.status?.uncountedTerminatedPods, {});
    assert.deepEqual(done.status?.conditions?.map((c) => [c.type, c.status, c.reason]), [
      ['SuccessCriteriaMet', 'True', 'CompletionsReached'], ['Complete', 'True', 'CompletionsReached'],
    ]);
    const all = await podsOf(ns, 'count');
    assert.equal(all.length, 3, 'no pod beyond the completions');
    assert.ok(all.every((p) => !p.metadata.finalizers?.includes(JOB_TRACKING_FINALIZER)), 'finalizers removed');
    await waitFor('Completed event', async () => (await events(ns, 'count')).some((e) => e.reason === 'Completed' && e.message === 'Job completed'));
    const created3 = (await events(ns, 'count')).filter((e) => e.reason === 'SuccessfulCreate').map((e) => e.message).sort();
    assert.deepEqual(created3, all.map((p) => `Created pod: ${p.metadata.name}`).sort());
    // Level-triggered and exact: more syncs change nothing.
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal((await getJob(ns, 'count')).status?.succeeded, 3);
  });

  it('replaces failed pods until backoffLimit, then fails the Job', async () => {
    const ns = await t.namespace('job-backoff');
    await t.client.create({ ...jobsResource, namespace: ns }, job('flaky', { backoffLimit: 1 }));
    const [a] = await running(ns, 'flaky', 1);
    await finishPod(t.client, a!, 1);
    const [b] = await waitFor('a replacement', async () => {
      const list = (await livePods(ns, 'flaky')).filter((p) => p.status?.phase === 'Running');
      return list.length === 1 && list[0]!.metadata.uid !== a!.metadata.uid && list;
    });
    // The replacement may be created in the same sync that counts the failure,
    // before the status write lands; wait for the count rather than race it.
    await waitFor('failed 1', async () => (await getJob(ns, 'flaky')).status?.failed === 1);
    await finishPod(t.client, b!, 1);
    const failed = await waitFor('Failed', async () => {
      const j = await getJob(ns, 'flaky');
      return condition(j, 'Failed') && j;
    });
    assert.equal(failed.status?.failed, 2);
    assert.equal(condition(failed, 'Failed')?.reason, 'BackoffLimitExceeded');
    assert.equal(condition(failed, 'FailureTarget')?.message, 'Job has reached the specified backoff limit');
    assert.equal(failed.status?.completionTime, undefined);
    assert.equal((await podsOf(ns, 'flaky')).length, 2);
    await waitFor('BackoffLimitExceeded event', async () => (await events(ns, 'flaky')).some((e) => e.reason === 'BackoffLimitExceeded'));
  });

  it('gives each pod of an Indexed Job its index and reports completedIndexes', async () => {
    const ns = await t.namespace('job-indexed');
    await t.client.create({ ...jobsResource, namespace: ns }, job('idx', { completions: 3, parallelism: 3, completionMode: 'Indexed' }));
    const pods = await running(ns, 'idx', 3);
    const byIndex = new Map(pods.map((p) => [p.metadata.annotations?.['batch.kubernetes.io/job-completion-index'], p]));
    assert.deepEqual([...byIndex.keys()].sort(), ['0', '1', '2']);
    for (const [index, pod] of byIndex) {
      assert.equal(pod.metadata.labels?.['batch.kubernetes.io/job-completion-index'], index);
      assert.equal((pod.spec as { hostname?: string }).hostname, `idx-${index}`);
      assert.match(pod.metadata.name!, new RegExp(`^idx-${index}-[a-z0-9]{5}$`));
      const env = (pod.spec as { containers: { env?: { name: string; valueFrom?: { fieldRef?: { fieldPath?: string } } }[] }[] }).containers[0]!.env ?? [];
      assert.deepEqual(env.find((e) => e.name === 'JOB_COMPLETION_INDEX')?.valueFrom?.fieldRef?.fieldPath, "metadata.labels['batch.kubernetes.io/job-completion-index']");
    }
    await finishPod(t.client, byIndex.get('1')!, 0);
    await finishPod(t.client, byIndex.get('2')!, 0);
    await waitFor('completedIndexes 1,2', async () => (await getJob(ns, 'idx')).status?.completedIndexes === '1,2');
    await finishPod(t.client, byIndex.get('0')!, 0);
    const done = await waitFor('Complete', async () => {
      const j = await getJob(ns, 'idx');
      return condition(j, 'Complete') && j;
    });
    assert.equal(done.status?.completedIndexes, '0-2');
    assert.equal(done.status?.succeeded, 3);
  });

  it('fails an index for good after backoffLimitPerIndex and reports failedIndexes', async () => {
    const ns = await t.namespace('job-per-index');
    await t.client.create({ ...jobsResource, namespace: ns }, job('per', { completions: 2, parallelism: 2, completionMode: 'Indexed', backoffLimitPerIndex: 1 }));
    const pods = await running(ns, 'per', 2);
    const byIndex = new Map(pods.map((p) => [p.metadata.annotations?.['batch.kubernetes.io/job-completion-index'], p]));
    assert.equal(byIndex.get('1')!.metadata.annotations?.['batch.kubernetes.io/job-index-failure-count'], '0');
    await finishPod(t.client, byIndex.get('1')!, 1);
    const retry = await waitFor('index 1 retried', async () => (await livePods(ns, 'per'))
      .find((p) => p.status?.phase === 'Running' && p.metadata.annotations?.['batch.kubernetes.io/job-completion-index'] === '1'));
    assert.equal(retry.metadata.annotations?.['batch.kubernetes.io/job-index-failure-count'], '1');
    await finishPod(t.client, retry, 1);
    await waitFor('failedIndexes 1', async () => (await getJob(ns, 'per')).status?.failedIndexes === '1');
    await finishPod(t.client, byIndex.get('0')!, 0);
    const failed = await waitFor('Failed', async () => {
      const j = await getJob(ns, 'per');
      return condition(j, 'Failed') && j;
    });
    assert.equal(condition(failed, 'Failed')?.reason, 'FailedIndexes');
    assert.equal(failed.status?.completedIndexes, '0');
    assert.equal(failed.status?.failed, 2);
  });

  it('ends an Indexed Job early when its success policy is met', async () => {
    const ns = await t.namespace('job-success-policy');
    await t.client.create({ ...jobsResource, namespace: ns }, job('leader', {
      completions: 3, parallelism: 3, completionMode: 'Indexed', successPolicy: { rules: [{ succeededIndexes: '0' }] },
    }));
    const pods = await running(ns, 'leader', 3);
    await finishPod(t.client, pods.find((p) => p.metadata.annotations?.['batch.kubernetes.io/job-completion-index'] === '0')!, 0);
    const done = await waitFor('Complete', async () => {
      const j = await getJob(ns, 'leader');
      return condition(j, 'Complete') && j;
    });
    assert.equal(condition(done, 'SuccessCriteriaMet')?.reason, 'SuccessPolicy');
    assert.equal(condition(done, 'Complete')?.message, 'Matched rules at index 0');
    assert.equal(done.status?.completedIndexes, '0');
    assert.equal(done.status?.failed, undefined, 'pods stopped after success are not failures');
    await waitFor('the other pods gone', async () => (await podsOf(ns, 'leader')).length === 1);
  });

  it('fails the Job at activeDeadlineSeconds', async () => {
    const ns = await t.namespace('job-deadline');
    await t.client.create({ ...jobsResource, namespace: ns }, job('slow', { activeDeadlineSeconds: 2, parallelism: 2, completions: 2 }));
    // startTime has whole seconds, so the deadline may come up to a second early: only wait for the pods to exist.
    await waitFor('2 pods', async () => (await podsOf(ns, 'slow')).length === 2);
    const failed = await waitFor('Failed', async () => {
      const j = await getJob(ns, 'slow');
      return condition(j, 'Failed') && j;
    }, 8000);
    assert.equal(condition(failed, 'Failed')?.reason, 'DeadlineExceeded');
    assert.equal(condition(failed, 'Failed')?.message, 'Job was active longer than specified deadline');
    assert.equal(failed.status?.failed, 2, 'the pods it stopped count as failed');
    await waitFor('pods gone', async () => (await podsOf(ns, 'slow')).length === 0);
  });

  it('fails the Job on a podFailurePolicy FailJob exit code, and ignores what Ignore rules match', async () => {
    const ns = await t.namespace('job-pfp');
    await t.client.create({ ...jobsResource, namespace: ns }, job('pfp', {
      backoffLimit: 6,
      podFailurePolicy: { rules: [
        { action: 'Ignore', onExitCodes: { operator: 'In', values: [3] } },
        { action: 'FailJob', onExitCodes: { containerName: 'main', operator: 'In', values: [42] } },
      ] },
    }));
    const [a] = await running(ns, 'pfp', 1);
    await finishPod(t.client, a!, 3);
    const [b] = await waitFor('a replacement', async () => {
      const list = (await livePods(ns, 'pfp')).filter((p) => p.status?.phase === 'Running');
      return list.length === 1 && list[0]!.metadata.uid !== a!.metadata.uid && list;
    });
    assert.equal((await getJob(ns, 'pfp')).status?.failed, undefined, 'an ignored failure is not counted');
    await finishPod(t.client, b!, 42);
    const failed = await waitFor('Failed', async () => {
      const j = await getJob(ns, 'pfp');
      return condition(j, 'Failed') && j;
    });
    assert.equal(condition(failed, 'Failed')?.reason, 'PodFailurePolicy');
    assert.equal(condition(failed, 'Failed')?.message, `Container main for pod ${ns}/${b!.metadata.name} failed with exit code 42 matching FailJob rule at index 1`);
    assert.equal(failed.status?.failed, 1);
  });

  it('suspends (deleting pods, not counting them) and resumes', async () => {
    const ns = await t.namespace('job-suspend');
    await t.client.create({ ...jobsResource, namespace: ns }, job('sus', { suspend: true, parallelism: 2, completions: 4 }));
    const suspended = await waitFor('Suspended', async () => {
      const j = await getJob(ns, 'sus');
      return condition(j, 'Suspended') && j;
    });
    assert.equal(condition(suspended, 'Suspended')?.reason, 'JobSuspended');
    assert.equal(suspended.status?.startTime, undefined, 'a Job created suspended has not started');
    assert.equal((await podsOf(ns, 'sus')).length, 0);

    await t.client.patch({ ...jobsResource, namespace: ns, name: 'sus' }, 'merge', { spec: { suspend: false } });
    await running(ns, 'sus', 2);
    const resumed = await getJob(ns, 'sus');
    assert.equal(resumed.status?.conditions?.find((c) => c.type === 'Suspended')?.status, 'False');
    assert.ok(resumed.status?.startTime);
    await waitFor('Resumed event', async () => (await events(ns, 'sus')).some((e) => e.reason === 'Resumed'));

    await t.client.patch({ ...jobsResource, namespace: ns, name: 'sus' }, 'merge', { spec: { suspend: true } });
    const again = await waitFor('suspended with no pods', async () => {
      const j = await getJob(ns, 'sus');
      return condition(j, 'Suspended') && (await podsOf(ns, 'sus')).length === 0 && !j.status?.active && j.status?.terminating === 0 && j;
    });
    assert.equal(again.status?.failed, undefined, 'pods deleted by suspension are not failures');
  });

  it('deletes a finished Job and its pods after ttlSecondsAfterFinished', async () => {
    const ns = await t.namespace('job-ttl');
    await t.client.create({ ...jobsResource, namespace: ns }, job('short', { ttlSecondsAfterFinished: 1 }));
    const [pod] = await running(ns, 'short', 1);
    await finishPod(t.client, pod!, 0);
    await waitFor('Complete', async () => condition(await getJob(ns, 'short'), 'Complete'));
    await waitFor('the Job deleted', async () => !(await t.client.list<Job>({ ...jobsResource, namespace: ns })).items.some((j) => j.metadata.name === 'short'), 8000);
    await waitFor('its pod deleted', async () => (await podsOf(ns, 'short')).length === 0);
  });

  it('adopts a matching orphan pod (adding the finalizer) and counts it', async () => {
    const ns = await t.namespace('job-adopt');
    const labels = { app: 'adopt' };
    await t.client.create({ ...resources.pods, namespace: ns }, {
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'stray', labels },
      spec: { restartPolicy: 'Never', terminationGracePeriodSeconds: 0, containers: [{ name: 'main', image: 'x' }] },
    });
    await waitFor('the orphan running', async () => (await t.client.get<Pod>({ ...resources.pods, namespace: ns, name: 'stray' })).status?.phase === 'Running');
    const spec = job('adopt', { completions: 1, manualSelector: true, selector: { matchLabels: labels } });
    (spec.spec.template as Record<string, unknown>).metadata = { labels };
    const created = await t.client.create<Job>({ ...jobsResource, namespace: ns }, spec);
    const adopted = await waitFor('adopted with finalizer', async () => {
      const p = await t.client.get<Pod>({ ...resources.pods, namespace: ns, name: 'stray' });
      return getControllerOf(p)?.uid === created.metadata.uid && p.metadata.finalizers?.includes(JOB_TRACKING_FINALIZER) && p;
    });
    await finishPod(t.client, adopted, 0);
    const done = await waitFor('Complete', async () => {
      const j = await getJob(ns, 'adopt');
      return condition(j, 'Complete') && j;
    });
    assert.equal(done.status?.succeeded, 1);
    const pods = (await t.client.list<Pod>({ ...resources.pods, namespace: ns })).items;
    assert.deepEqual(pods.map((p) => p.metadata.name), ['stray'], 'the adopted pod did the work');
    assert.deepEqual(pods[0]!.metadata.finalizers ?? [], []);
  });

  it('counts exactly across restarts, including one between recording a pod and releasing it', async () => {
    const ns = await t.namespace('job-restart');
    await t.client.create({ ...jobsResource, namespace: ns }, job('steady', { completions: 4, parallelism: 2 }));
    const first = await running(ns, 'steady', 2);
    await waitFor('status active 2', async () => (await getJob(ns, 'steady')).status?.active === 2);
    await t.stopControllers();
    // While no controller runs: one pod finishes normally; the other finishes and is left exactly as a
    // controller that crashed mid-hand-off leaves it: uid in uncountedTerminatedPods, finalizer already gone.
    await finishPod(t.client, first[0]!, 0);
    const crashed = await finishPod(t.client, first[1]!, 0);
    const current = await getJob(ns, 'steady');
    await t.client.update({ ...jobsResource, namespace: ns, name: 'steady', subresource: 'status' }, {
      ...current, status: { ...current.status, uncountedTerminatedPods: { succeeded: [crashed.metadata.uid] } },
    });
    await t.client.patch({ ...resources.pods, namespace: ns, name: crashed.metadata.name }, 'strategic', { metadata: { '$deleteFromPrimitiveList/finalizers': [JOB_TRACKING_FINALIZER] } });
    await t.startControllers((informers) => [new JobController({ client: t.client, informers, logger: t.logger, podFailureBackoffMs: 50, batchPeriodMs: 20 }), new TtlAfterFinishedController({ client: t.client, informers, logger: t.logger })]);

    await waitFor('both counted', async () => (await getJob(ns, 'steady')).status?.succeeded === 2);
    const second = await waitFor('two more pods', async () => {
      const list = (await livePods(ns, 'steady')).filter((p) => p.status?.phase === 'Running');
      return list.length === 2 && list;
    });
    await Promise.all(second.map((p) => finishPod(t.client, p, 0)));
    const done = await waitFor('Complete', async () => {
      const j = await getJob(ns, 'steady');
      return condition(j, 'Complete') && j;
    });
    assert.equal(done.status?.succeeded, 4);
    assert.deepEqual(done.status?.uncountedTerminatedPods, {});
    const all = await podsOf(ns, 'steady');
    assert.equal(all.length, 4);
    assert.ok(all.every((p) => !p.metadata.finalizers?.length));
  });
});
