// The real kubectl's batch commands against the in-process server with the
// Job, CronJob and TTL-after-finished controllers running (as the
// controller manager builds them): `create job`, `wait --for=condition=complete`,
// `create cronjob` and `create job --from=cronjob/x`. kubectl runs as a
// child process (asynchronously: the server lives in this very process);
// the test plays the kubelet that ends the pods.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { resources } from '../../client/interface.ts';
import { getControllerOf } from '../framework/controller-ref.ts';
import type { Pod } from '../framework/types.ts';
import { startHarness, waitFor, type Harness } from '../testing/harness.ts';
import { finishPod } from '../job/test-support.ts';
import { jobsResource, type Job } from '../job/types.ts';

const KUBECTL = '/usr/bin/kubectl';
const run = promisify(execFile);

describe('kubectl create job / cronjob with the controllers', { skip: !existsSync(KUBECTL) && 'kubectl is not installed' }, () => {
  let h: Harness;
  let dir: string;

  before(async () => {
    h = await startHarness({ controllers: 'job,cronjob,ttl-after-finished' });
    dir = mkdtempSync(join(tmpdir(), 'skiff-batch-'));
    writeFileSync(join(dir, 'kubeconfig'), [
      'apiVersion: v1', 'kind: Config',
      'clusters:', '- name: t', '  cluster:', `    server: ${h.server.url}`, `    certificate-authority-data: ${Buffer.from(h.server.caCert).toString('base64')}`,
      'users:', '- name: t', '  user:', `    token: ${h.server.token}`,
      'contexts:', '- name: t', '  context: {cluster: t, user: t, namespace: batch}', 'current-context: t', '',
    ].join('\n'));
    await h.namespace('batch');
  });

  after(async () => {
    if (process.env.SHOW_WARNINGS) console.log(h?.warnings);
    await h?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const kubectl = async (...args: string[]) => {
    const { stdout } = await run(KUBECTL, ['--kubeconfig', join(dir, 'kubeconfig'), '--cache-dir', join(dir, 'cache'), ...args], { timeout: 40_000 });
    return stdout;
  };
  /** Play the kubelet: the Job's pod exits 0. */
  const finishPodOf = async (job: string) => {
    const pod = await waitFor(`a pod of ${job}`, async () => (await h.client.list<Pod>({ ...resources.pods, namespace: 'batch' }, { labelSelector: `batch.kubernetes.io/job-name=${job}` })).items[0]);
    await finishPod(h.client, pod, 0);
  };

  it('create job, then wait for it to complete', async () => {
    assert.match(await kubectl('create', 'job', 'hello', '--image=registry.example/hello:1', '--', 'echo', 'hi'), /job.batch\/hello created/);
    const waiting = kubectl('wait', '--for=condition=complete', 'job/hello', '--timeout=30s');
    await finishPodOf('hello');
    assert.match(await waiting, /job.batch\/hello condition met/);
    assert.equal(await kubectl('get', 'job/hello', '-o', 'jsonpath={.status.succeeded}'), '1');
    const pod = (await h.client.list<Pod>({ ...resources.pods, namespace: 'batch' }, { labelSelector: 'batch.kubernetes.io/job-name=hello' })).items[0]!;
    assert.deepEqual(pod.metadata.finalizers ?? [], [], 'the tracking finalizer is gone once counted');
    assert.match(await kubectl('get', 'jobs'), /hello\s+Complete\s+1\/1/);
  });

  it('create cronjob, and a Job from it by hand', async () => {
    assert.match(await kubectl('create', 'cronjob', 'nightly', '--image=registry.example/nightly:1', '--schedule=0 3 * * *', '--', 'sh', '-c', 'date'), /cronjob.batch\/nightly created/);
    assert.equal(await kubectl('get', 'cronjob/nightly', '-o', 'jsonpath={.spec.schedule}'), '0 3 * * *');
    assert.match(await kubectl('create', 'job', 'manual', '--from=cronjob/nightly'), /job.batch\/manual created/);
    const job = await h.client.get<Job>({ ...jobsResource, namespace: 'batch', name: 'manual' });
    assert.equal(job.metadata.annotations?.['cronjob.kubernetes.io/instantiate'], 'manual');
    assert.equal(getControllerOf(job)?.kind, 'CronJob');
    const waiting = kubectl('wait', '--for=condition=complete', 'job/manual', '--timeout=30s');
    await finishPodOf('manual');
    assert.match(await waiting, /job.batch\/manual condition met/);
    // The CronJob's own schedule has not come: it made no Job of its own.
    const names = (await h.client.list<Job>({ ...jobsResource, namespace: 'batch' })).items.map((j) => j.metadata.name).sort();
    assert.deepEqual(names, ['hello', 'manual']);
  });
});
