import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { startInProcessServer, type InProcessServer } from '../../test/support/in-process-server.ts';
import { createEventRecorder } from './events.ts';
import { resources, type KubeObject } from './interface.ts';
import { createRestClient, type RestClient } from './rest-client.ts';

type Event = KubeObject & {
  involvedObject: Record<string, string>; reason: string; message: string; type: string; count: number;
  firstTimestamp: string; lastTimestamp: string; source: { component: string; host?: string }; reportingComponent: string;
};

const events = (namespace: string) => ({ ...resources.events, namespace });

describe('event recorder against a real API server', () => {
  let server: InProcessServer;
  let client: RestClient;
  let pod: KubeObject;
  const warnings: string[] = [];
  const logger = { warn: (m: string) => warnings.push(m) };

  before(async () => {
    server = await startInProcessServer();
    client = createRestClient({ server: server.url, caCert: server.caCert, token: server.token });
    pod = await client.create({ ...resources.pods, namespace: 'default' }, {
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web' }, spec: { containers: [{ name: 'c', image: 'busybox' }] },
    });
  });
  after(async () => {
    await client.close();
    await server.close();
  });

  const eventsOf = async (obj: KubeObject) => (await client.list<Event>(events(obj.metadata.namespace ?? 'default'), {
    fieldSelector: `involvedObject.name=${obj.metadata.name},involvedObject.namespace=${obj.metadata.namespace ?? ''},involvedObject.kind=${obj.kind},involvedObject.uid=${obj.metadata.uid}`,
  })).items;

  it('creates an Event that names the object, and counts an identical repeat on it', async () => {
    const recorder = createEventRecorder({ client, component: 'test-scheduler', host: 'node-1', logger });
    recorder.record({ object: pod, type: 'Warning', reason: 'FailedScheduling', message: '0/3 nodes are available' });
    recorder.record({ object: pod, type: 'Warning', reason: 'FailedScheduling', message: '0/3 nodes are available' });
    recorder.record({ object: pod, type: 'Normal', reason: 'Scheduled', message: 'assigned to node-1' });
    await recorder.flush();
    const found = await eventsOf(pod);
    assert.equal(found.length, 2, JSON.stringify(found.map((e) => e.reason)));
    const failed = found.find((e) => e.reason === 'FailedScheduling')!;
    assert.equal(failed.count, 2);
    assert.equal(failed.type, 'Warning');
    assert.match(failed.metadata.name!, /^web\.[0-9a-f]+$/);
    assert.equal(failed.metadata.namespace, 'default');
    assert.deepEqual(failed.involvedObject, {
      kind: 'Pod', namespace: 'default', name: 'web', uid: pod.metadata.uid, apiVersion: 'v1', resourceVersion: pod.metadata.resourceVersion,
    });
    assert.deepEqual(failed.source, { component: 'test-scheduler', host: 'node-1' });
    assert.equal(failed.reportingComponent, 'test-scheduler');
    assert.match(failed.firstTimestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.ok(failed.lastTimestamp >= failed.firstTimestamp);
    assert.equal(found.find((e) => e.reason === 'Scheduled')!.count, 1);
    assert.deepEqual(warnings, []);
  });

  it('starts a new Event when the counted one is gone, or the window has passed', async () => {
    const recorder = createEventRecorder({ client, component: 'c', logger, aggregateWindowMs: 50 });
    const node = { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-x', uid: 'u-1' } };
    recorder.record({ object: node, type: 'Normal', reason: 'Ready', message: 'up' });
    await recorder.flush();
    let found = await client.list<Event>(events('default'), { fieldSelector: 'involvedObject.name=node-x' });
    assert.equal(found.items.length, 1, 'cluster-scoped objects get their events in "default"');
    assert.equal(found.items[0].involvedObject.namespace, undefined);
    await client.delete({ ...events('default'), name: found.items[0].metadata.name });
    recorder.record({ object: node, type: 'Normal', reason: 'Ready', message: 'up' });
    await recorder.flush();
    await new Promise((resolve) => setTimeout(resolve, 80));
    recorder.record({ object: node, type: 'Normal', reason: 'Ready', message: 'up' });
    await recorder.flush();
    found = await client.list<Event>(events('default'), { fieldSelector: 'involvedObject.name=node-x' });
    assert.deepEqual(found.items.map((e) => e.count), [1, 1]);
  });

  it('drops events beyond the pending limit and skips objects it cannot name', async () => {
    const dropWarnings: string[] = [];
    const recorder = createEventRecorder({ client, component: 'c', maxPending: 2, logger: { warn: (m) => dropWarnings.push(m) } });
    const cm = await client.create({ group: '', version: 'v1', resource: 'configmaps', namespace: 'default' }, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'flood' } });
    recorder.record({ object: { metadata: { name: 'no-kind' } }, type: 'Normal', reason: 'X', message: 'x' });
    for (let i = 0; i < 5; i++) recorder.record({ object: cm, type: 'Normal', reason: 'Flood', message: `m${i}` });
    await recorder.flush();
    assert.equal((await eventsOf(cm)).length, 2);
    assert.equal(dropWarnings.length, 2, 'one line for the unnamed object, one for the first drop');
    assert.match(dropWarnings[0], /no apiVersion\/kind/);
    assert.match(dropWarnings[1], /1 dropped/);
  });

  it('limits events about one object to a burst, as upstream\'s spam filter', async () => {
    const recorder = createEventRecorder({ client, component: 'c', logger, spamBurst: 3, spamRefillMs: 60_000 });
    const cm = await client.create({ group: '', version: 'v1', resource: 'configmaps', namespace: 'default' }, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'spammed' } });
    for (let i = 0; i < 10; i++) recorder.record({ object: cm, type: 'Normal', reason: 'Created', message: `Created pod: p${i}` });
    await recorder.flush();
    assert.equal((await eventsOf(cm)).length, 3);
  });

  it('shows up in kubectl describe', { skip: !existsSync('/usr/bin/kubectl') && 'kubectl is not installed' }, async () => {
    const recorder = createEventRecorder({ client, component: 'kubelet', host: 'node-1', logger });
    for (let i = 0; i < 2; i++) recorder.record({ object: pod, type: 'Normal', reason: 'Pulling', message: 'Pulling image "busybox"' });
    await recorder.flush();
    const dir = mkdtempSync(join(tmpdir(), 'skiff-events-'));
    try {
      const kubeconfig = join(dir, 'config');
      writeFileSync(kubeconfig, stringify({
        apiVersion: 'v1', kind: 'Config', 'current-context': 'c',
        clusters: [{ name: 'c', cluster: { server: server.url, 'certificate-authority-data': Buffer.from(server.caCert).toString('base64') } }],
        users: [{ name: 'u', user: { token: server.token } }],
        contexts: [{ name: 'c', context: { cluster: 'c', user: 'u' } }],
      }));
      const { stdout } = await promisify(execFile)('/usr/bin/kubectl', ['--kubeconfig', kubeconfig, 'describe', 'pod', 'web', '-n', 'default'], {
        timeout: 20_000, env: { ...process.env, HOME: dir },
      });
      const section = stdout.slice(stdout.indexOf('Events:'));
      assert.match(section, /Warning\s+FailedScheduling\s+.*\(x2 over .*\)\s+test-scheduler\s+0\/3 nodes are available/);
      assert.match(section, /Normal\s+Pulling\s+.*\(x2 over .*\)\s+kubelet\s+Pulling image "busybox"/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
