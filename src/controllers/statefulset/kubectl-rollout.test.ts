// The real kubectl's rollout commands for StatefulSets and DaemonSets against
// the in-process server with both controllers running: `rollout status`
// reads the status fields the controllers keep, `rollout history` and
// `undo` read and apply their ControllerRevisions. kubectl runs as a child
// process (asynchronously: the server lives in this very process).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { resources } from '../../client/interface.ts';
import { controllerRevisionsResource, type ControllerRevision } from '../framework/history.ts';
import { startHarness, waitFor, type Harness } from '../testing/harness.ts';

const KUBECTL = '/usr/bin/kubectl';
const run = promisify(execFile);

const statefulSetYaml = `apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: web
spec:
  replicas: 3
  serviceName: web
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      terminationGracePeriodSeconds: 0
      containers:
      - name: web
        image: registry.example/web:1
`;

const daemonSetYaml = `apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: agent
spec:
  selector:
    matchLabels: {app: agent}
  template:
    metadata:
      labels: {app: agent}
    spec:
      terminationGracePeriodSeconds: 0
      containers:
      - name: agent
        image: registry.example/agent:1
`;

describe('kubectl rollout for statefulsets and daemonsets', { skip: !existsSync(KUBECTL) && 'kubectl is not installed' }, () => {
  let h: Harness;
  let dir: string;

  before(async () => {
    h = await startHarness({ controllers: 'statefulset,daemonset' });
    dir = mkdtempSync(join(tmpdir(), 'skiff-sts-rollout-'));
    writeFileSync(join(dir, 'kubeconfig'), [
      'apiVersion: v1', 'kind: Config',
      'clusters:', '- name: t', '  cluster:', `    server: ${h.server.url}`, `    certificate-authority-data: ${Buffer.from(h.server.caCert).toString('base64')}`,
      'users:', '- name: t', '  user:', `    token: ${h.server.token}`,
      'contexts:', '- name: t', '  context: {cluster: t, user: t, namespace: roll}', 'current-context: t', '',
    ].join('\n'));
    writeFileSync(join(dir, 'sts.yaml'), statefulSetYaml);
    writeFileSync(join(dir, 'ds.yaml'), daemonSetYaml);
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
  const revisionNumbers = async (prefix: string) => (await h.client.list<ControllerRevision>({ ...controllerRevisionsResource, namespace: 'roll' }))
    .items.filter((r) => r.metadata.name!.startsWith(prefix)).map((r) => r.revision).sort();

  it('statefulset: status, set image, history and undo', async () => {
    await kubectl('apply', '-f', join(dir, 'sts.yaml'));
    assert.match(await kubectl('rollout', 'status', 'sts/web', '--timeout=30s'), /partitioned roll out complete: 3 new pods have been updated/);

    await kubectl('set', 'image', 'sts/web', 'web=registry.example/web:2');
    assert.match(await kubectl('rollout', 'status', 'sts/web', '--timeout=30s'), /partitioned roll out complete: 3 new pods have been updated/);
    assert.equal(await kubectl('get', 'pod/web-0', '-o', 'jsonpath={.spec.containers[0].image}'), 'registry.example/web:2');
    const history = await kubectl('rollout', 'history', 'sts/web');
    assert.match(history, /^1\s/m);
    assert.match(history, /^2\s/m);

    assert.match(await kubectl('rollout', 'undo', 'sts/web'), /rolled back/);
    assert.match(await kubectl('rollout', 'status', 'sts/web', '--timeout=30s'), /partitioned roll out complete: 3 new pods have been updated/);
    assert.equal(await kubectl('get', 'sts/web', '-o', 'jsonpath={.spec.template.spec.containers[0].image}'), 'registry.example/web:1');
    await waitFor('the first template renumbered', async () => (await revisionNumbers('web-')).join() === '2,3');
    await waitFor('pods back on the first image', async () => (await kubectl('get', 'pods', '-l', 'app=web', '-o', 'jsonpath={.items[*].spec.containers[0].image}'))
      .split(' ').filter((i) => i === 'registry.example/web:1').length === 3, 20_000);
  });

  it('daemonset: status, set image and undo', async () => {
    for (const name of ['kubectl-node-1', 'kubectl-node-2']) {
      await h.client.create(resources.nodes, { apiVersion: 'v1', kind: 'Node', metadata: { name } });
    }
    await kubectl('apply', '-f', join(dir, 'ds.yaml'));
    assert.match(await kubectl('rollout', 'status', 'ds/agent', '--timeout=30s'), /daemon set "agent" successfully rolled out/);
    assert.equal(await kubectl('get', 'ds/agent', '-o', 'jsonpath={.status.desiredNumberScheduled}/{.status.numberAvailable}'), '2/2');

    await kubectl('set', 'image', 'ds/agent', 'agent=registry.example/agent:2');
    assert.match(await kubectl('rollout', 'status', 'ds/agent', '--timeout=30s'), /daemon set "agent" successfully rolled out/);
    assert.equal(await kubectl('get', 'ds/agent', '-o', 'jsonpath={.status.updatedNumberScheduled}'), '2');

    assert.match(await kubectl('rollout', 'undo', 'ds/agent'), /rolled back/);
    assert.match(await kubectl('rollout', 'status', 'ds/agent', '--timeout=30s'), /daemon set "agent" successfully rolled out/);
    await waitFor('pods back on the first image', async () => (await kubectl('get', 'pods', '-l', 'app=agent', '-o', 'jsonpath={.items[*].spec.containers[0].image}'))
      .split(' ').join() === 'registry.example/agent:1,registry.example/agent:1', 20_000);
    assert.equal((await revisionNumbers('agent-')).join(), '2,3');
  });
});
