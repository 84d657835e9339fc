// Jobs and CronJobs in `skiff server` with simulated nodes. Simulated pods
// keep running until their status is patched (as kwok users do), so the test
// finishes them with `kubectl patch --subresource=status`.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually, startServer, type ServerHandle } from './harness.ts';

describe('jobs on simulated nodes', () => {
  let server: ServerHandle;
  const json = (args: string[]) => JSON.parse(server.k([...args, '-o', 'json']));
  const finish = (pod: { metadata: { name: string }; spec: { containers: { name: string }[] } }, exitCode: number) => {
    const terminated = { exitCode, reason: exitCode === 0 ? 'Completed' : 'Error', startedAt: new Date().toISOString().replace(/\.\d+Z$/, 'Z'), finishedAt: new Date().toISOString().replace(/\.\d+Z$/, 'Z') };
    const status = {
      phase: exitCode === 0 ? 'Succeeded' : 'Failed',
      containerStatuses: pod.spec.containers.map((c) => ({ name: c.name, ready: false, restartCount: 0, image: 'busybox', imageID: '', state: { terminated } })),
    };
    server.k(['patch', 'pod', pod.metadata.name, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status })]);
  };
  const runningPods = (selector: string) =>
    eventually(() => {
      const pods = json(['get', 'pods', '-l', selector]).items.filter((p: { status: { phase: string }; metadata: { deletionTimestamp?: string } }) => p.status.phase === 'Running' && !p.metadata.deletionTimestamp);
      return pods.length ? pods : undefined;
    }, { timeoutMs: 20_000 });
  before(async () => {
    server = await startServer({ extraArgs: ['--simulated-nodes', '2'] });
  });
  after(async () => server?.stop());

  it('completes a Job when its pods succeed, counting each once', async () => {
    server.k(['create', 'job', 'once', '--image=busybox', '--', 'true']);
    const [pod] = await runningPods('batch.kubernetes.io/job-name=once');
    assert.ok(pod.metadata.finalizers.includes('batch.kubernetes.io/job-tracking'));
    finish(pod, 0);
    assert.match(server.k(['wait', '--for=condition=complete', 'job/once', '--timeout=30s']), /condition met/);
    const job = json(['get', 'job', 'once']);
    assert.equal(job.status.succeeded, 1);
    assert.match(server.k(['get', 'job', 'once']), /^once\s+Complete\s+1\/1\s/m);
    await eventually(() => !json(['get', 'pod', pod.metadata.name]).metadata.finalizers?.length, { timeoutMs: 10_000 });
  });

  it('fails a Job after backoffLimit failures', async () => {
    server.k(['apply', '-f', '-'], { input: JSON.stringify({
      apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'flaky' },
      spec: { backoffLimit: 0, template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox' }] } } },
    }) });
    const [pod] = await runningPods('batch.kubernetes.io/job-name=flaky');
    finish(pod, 1);
    assert.match(server.k(['wait', '--for=condition=failed', 'job/flaky', '--timeout=30s']), /condition met/);
    const failed = json(['get', 'job', 'flaky']).status.conditions.find((c: { type: string }) => c.type === 'Failed');
    assert.equal(failed.reason, 'BackoffLimitExceeded');
  });

  it('starts a Job from a CronJob', async () => {
    server.k(['create', 'cronjob', 'nightly', '--image=busybox', '--schedule=0 3 * * *', '--', 'true']);
    server.k(['create', 'job', 'manual', '--from=cronjob/nightly']);
    await runningPods('batch.kubernetes.io/job-name=manual');
    assert.equal(json(['get', 'cronjob', 'nightly']).spec.schedule, '0 3 * * *');
  });
});
