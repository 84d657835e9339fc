// The real kubectl's rollout commands against the in-process server with the
// Deployment and ReplicaSet controllers running: what `rollout status`,
// `history`, `undo`, `restart`, `pause` and `resume` read and write is
// exactly what the controllers maintain. kubectl runs as a child process
// (asynchronously: the server lives in this very process).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { Deployment, ReplicaSet } from '../framework/types.ts';
import { startHarness, waitFor, type Harness } from '../testing/harness.ts';

const KUBECTL = '/usr/bin/kubectl';
const run = promisify(execFile);

describe('kubectl rollout with the controllers', { skip: !existsSync(KUBECTL) && 'kubectl is not installed' }, () => {
  let h: Harness;
  let dir: string;

  before(async () => {
    h = await startHarness({ controllers: 'deployment,replicaset' });
    dir = mkdtempSync(join(tmpdir(), 'skiff-rollout-'));
    writeFileSync(join(dir, 'kubeconfig'), [
      'apiVersion: v1', 'kind: Config',
      'clusters:', '- name: t', '  cluster:', `    server: ${h.server.url}`, `    certificate-authority-data: ${Buffer.from(h.server.caCert).toString('base64')}`,
      'users:', '- name: t', '  user:', `    token: ${h.server.token}`,
      'contexts:', '- name: t', '  context: {cluster: t, user: t, namespace: roll}', 'current-context: t', '',
    ].join('\n'));
    await h.namespace('roll');
  });

  after(async () => {
    await h?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const kubectl = async (...args: string[]) => {
    const { stdout } = await run(KUBECTL, ['--kubeconfig', join(dir, 'kubeconfig'), '--cache-dir', join(dir, 'cache'), ...args], { timeout: 40_000 });
    return stdout;
  };
  const revision = async () => (await h.client.get<Deployment>({ group: 'apps', version: 'v1', resource: 'deployments', namespace: 'roll', name: 'web' })).metadata.annotations?.['deployment.kubernetes.io/revision'];

  it('status, set image, history, undo, restart, pause and resume', async () => {
    await kubectl('create', 'deployment', 'web', '--image=registry.example/web:1', '--replicas=3');
    await kubectl('annotate', 'deployment/web', 'kubernetes.io/change-cause=first release');
    assert.match(await kubectl('rollout', 'status', 'deployment/web', '--timeout=30s'), /deployment "web" successfully rolled out/);

    await kubectl('set', 'image', 'deployment/web', 'web=registry.example/web:2');
    await kubectl('annotate', '--overwrite', 'deployment/web', 'kubernetes.io/change-cause=second release');
    assert.match(await kubectl('rollout', 'status', 'deployment/web', '--timeout=30s'), /successfully rolled out/);
    await waitFor('revision 2', async () => (await revision()) === '2');
    // The change-cause reaches each revision's ReplicaSet.
    await waitFor('change-cause on the new set', async () => (await h.client.list<ReplicaSet>({ group: 'apps', version: 'v1', resource: 'replicasets', namespace: 'roll' }))
      .items.some((rs) => rs.metadata.annotations?.['kubernetes.io/change-cause'] === 'second release'));
    const history = await kubectl('rollout', 'history', 'deployment/web');
    assert.match(history, /^1\s+first release$/m);
    assert.match(history, /^2\s+second release$/m);

    assert.match(await kubectl('rollout', 'undo', 'deployment/web'), /rolled back/);
    assert.match(await kubectl('rollout', 'status', 'deployment/web', '--timeout=30s'), /successfully rolled out/);
    assert.equal(await kubectl('get', 'deployment/web', '-o', 'jsonpath={.spec.template.spec.containers[0].image}'), 'registry.example/web:1');
    await waitFor('revision 3', async () => (await revision()) === '3');
    const afterUndo = await kubectl('rollout', 'history', 'deployment/web');
    assert.match(afterUndo, /^2\s+second release$/m);
    assert.match(afterUndo, /^3\s+first release$/m);
    assert.doesNotMatch(afterUndo, /^1\s/m);

    await kubectl('rollout', 'restart', 'deployment/web');
    assert.match(await kubectl('rollout', 'status', 'deployment/web', '--timeout=30s'), /successfully rolled out/);
    await waitFor('revision 4', async () => (await revision()) === '4');

    await kubectl('rollout', 'pause', 'deployment/web');
    await kubectl('set', 'image', 'deployment/web', 'web=registry.example/web:3');
    await waitFor('paused observed', async () => /paused/i.test(await kubectl('get', 'deployment/web', '-o', 'jsonpath={.status.conditions[?(@.type=="Progressing")].reason}')));
    assert.equal(await revision(), '4');
    await kubectl('rollout', 'resume', 'deployment/web');
    assert.match(await kubectl('rollout', 'status', 'deployment/web', '--timeout=30s'), /successfully rolled out/);
    await waitFor('revision 5', async () => (await revision()) === '5');

    const described = await kubectl('describe', 'deployment/web');
    assert.match(described, /ScalingReplicaSet\s+.*Scaled up replica set web-\w+ from 0 to 3/);
    assert.match(described, /NewReplicaSet:\s+web-\w+ \(3\/3 replicas created\)/);
  });
});
