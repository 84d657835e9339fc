// DELETE with propagation policies, against an API server alone (no garbage
// collector runs, so the finalizers the policies add stay where they are).
import assert from 'node:assert/strict';
import { request } from 'node:https';
import { after, before, describe, it } from 'node:test';
import { startInProcessServer, type InProcessServer } from '../../../test/support/in-process-server.ts';

interface Answer {
  status: number;
  warning: string | undefined;
  body: any;
}

function call(server: InProcessServer, method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<Answer> {
  const url = new URL(path, server.url);
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method, ca: server.caCert, agent: false,
      headers: {
        authorization: `Bearer ${server.token}`, accept: 'application/json',
        // Node sends a DELETE body without chunked encoding: its length must be given.
        ...(payload ? { 'content-type': contentType, 'content-length': String(payload.length) } : {}),
      },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const warning = res.headers.warning;
        resolve({ status: res.statusCode!, warning: Array.isArray(warning) ? warning.join('; ') : warning, body: text ? JSON.parse(text) : undefined });
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}

const NS = 'gc-api';
const cm = (name: string) => `/api/v1/namespaces/${NS}/configmaps/${name}`;

describe('DELETE with propagation policies', () => {
  let server: InProcessServer;
  const create = async (path: string, object: unknown) => {
    const answer = await call(server, 'POST', path, object);
    assert.equal(answer.status, 201, JSON.stringify(answer.body));
    return answer.body;
  };
  const createConfigMap = (name: string, finalizers?: string[]) =>
    create(`/api/v1/namespaces/${NS}/configmaps`, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, finalizers } });
  const del = (path: string, options?: Record<string, unknown>, query = '') => call(server, 'DELETE', path + query, options && { kind: 'DeleteOptions', apiVersion: 'v1', ...options });

  before(async () => {
    server = await startInProcessServer();
    await create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
    // Pods need the namespace's default ServiceAccount (no controller makes it here).
    await create(`/api/v1/namespaces/${NS}/serviceaccounts`, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default' } });
  });
  after(async () => {
    await server.close();
  });

  it('Foreground marks the object with the foregroundDeletion finalizer; Orphan with orphan; Background deletes at once', async () => {
    await createConfigMap('fg');
    const foreground = await del(cm('fg'), { propagationPolicy: 'Foreground' });
    assert.equal(foreground.status, 200);
    assert.ok(foreground.body.metadata.deletionTimestamp);
    assert.equal(foreground.body.metadata.deletionGracePeriodSeconds, 0);
    assert.deepEqual(foreground.body.metadata.finalizers, ['foregroundDeletion']);
    assert.equal((await call(server, 'GET', cm('fg'))).status, 200, 'stays until the collector removes the finalizer');

    await createConfigMap('orphan');
    const orphan = await del(cm('orphan'), undefined, '?propagationPolicy=Orphan');
    assert.deepEqual(orphan.body.metadata.finalizers, ['orphan']);

    await createConfigMap('bg');
    const background = await del(cm('bg'), { propagationPolicy: 'Background' });
    assert.equal(background.body.kind, 'Status');
    assert.equal(background.body.status, 'Success');
    assert.equal((await call(server, 'GET', cm('bg'))).status, 404);
  });

  it('the deprecated orphanDependents: true orphans, false deletes (202 while finalizers keep the object)', async () => {
    await createConfigMap('od-true');
    assert.deepEqual((await del(cm('od-true'), { orphanDependents: true })).body.metadata.finalizers, ['orphan']);
    await createConfigMap('od-query');
    assert.deepEqual((await del(cm('od-query'), undefined, '?orphanDependents=true')).body.metadata.finalizers, ['orphan']);
    await createConfigMap('od-false', ['example.com/keep']);
    const kept = await del(cm('od-false'), { orphanDependents: false });
    assert.equal(kept.status, 202);
    assert.deepEqual(kept.body.metadata.finalizers, ['example.com/keep']);
  });

  it('rejects invalid DeleteOptions with 422', async () => {
    await createConfigMap('invalid');
    const both = await del(cm('invalid'), { orphanDependents: true, propagationPolicy: 'Foreground' });
    assert.equal(both.status, 422);
    assert.equal(both.body.message, 'DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Invalid value: "Foreground": orphanDependents and deletionPropagation cannot be both set');
    const unknown = await del(cm('invalid'), { propagationPolicy: 'Sideways' });
    assert.equal(unknown.status, 422);
    assert.match(unknown.body.message, /propagationPolicy: Unsupported value: "Sideways": supported values: "Foreground", "Background", "Orphan", "nil"/);
  });

  it('defaults: v1 ReplicationControllers and batch/v1 Jobs orphan (Jobs with a warning); other kinds delete in the background', async () => {
    const template = { metadata: { labels: { app: 'x' } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } };
    await create(`/api/v1/namespaces/${NS}/replicationcontrollers`, {
      apiVersion: 'v1', kind: 'ReplicationController', metadata: { name: 'rc' }, spec: { replicas: 0, selector: { app: 'x' }, template },
    });
    const rc = await del(`/api/v1/namespaces/${NS}/replicationcontrollers/rc`);
    assert.deepEqual(rc.body.metadata.finalizers, ['orphan']);
    assert.equal(rc.warning, undefined);

    await create(`/apis/batch/v1/namespaces/${NS}/jobs`, {
      apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'job' }, spec: { template: { spec: { ...template.spec, restartPolicy: 'Never' } } },
    });
    const job = await del(`/apis/batch/v1/namespaces/${NS}/jobs/job`);
    assert.deepEqual(job.body.metadata.finalizers, ['orphan']);
    assert.match(job.warning ?? '', /child pods are preserved by default when jobs are deleted; set propagationPolicy=Background to remove them or set propagationPolicy=Orphan to suppress this warning/);

    await create(`/apis/apps/v1/namespaces/${NS}/deployments`, {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'deploy' }, spec: { replicas: 0, selector: { matchLabels: { app: 'x' } }, template: { ...template, spec: { containers: template.spec.containers } } },
    });
    const deployment = await del(`/apis/apps/v1/namespaces/${NS}/deployments/deploy`);
    assert.equal(deployment.body.kind, 'Status');
  });

  it('a first mark bumps the generation; the object’s own finalizers survive a policy', async () => {
    await create(`/apis/apps/v1/namespaces/${NS}/deployments`, {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'gen', finalizers: ['example.com/keep'] },
      spec: { replicas: 0, selector: { matchLabels: { app: 'g' } }, template: { metadata: { labels: { app: 'g' } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } } },
    });
    const marked = await del(`/apis/apps/v1/namespaces/${NS}/deployments/gen`, { propagationPolicy: 'Foreground' });
    assert.equal(marked.body.metadata.generation, 2);
    assert.deepEqual(marked.body.metadata.finalizers, ['example.com/keep', 'foregroundDeletion']);
    const again = await del(`/apis/apps/v1/namespaces/${NS}/deployments/gen`, { propagationPolicy: 'Foreground' });
    assert.equal(again.body.metadata.generation, 2, 'no second bump');
    assert.equal(again.body.metadata.resourceVersion, marked.body.metadata.resourceVersion, 'nothing changed, nothing written');
  });

  it('an object already being deleted switches policy; when no finalizer is left it is deleted', async () => {
    await createConfigMap('switch');
    await del(cm('switch'), { propagationPolicy: 'Foreground' });
    const orphaning = await del(cm('switch'), { propagationPolicy: 'Orphan' });
    assert.deepEqual(orphaning.body.metadata.finalizers, ['orphan']);
    // Without a policy the object's own GC finalizer decides: unchanged.
    assert.deepEqual((await del(cm('switch'))).body.metadata.finalizers, ['orphan']);
    const background = await del(cm('switch'), { propagationPolicy: 'Background' });
    assert.equal(background.body.kind, 'Status');
    assert.equal((await call(server, 'GET', cm('switch'))).status, 404);
  });

  it('removing the last finalizer of an object marked for deletion deletes it', async () => {
    await createConfigMap('last', ['example.com/a']);
    const marked = await del(cm('last'), { propagationPolicy: 'Foreground' });
    assert.deepEqual(marked.body.metadata.finalizers, ['example.com/a', 'foregroundDeletion']);
    const patched = await call(server, 'PATCH', cm('last'), [{ op: 'remove', path: '/metadata/finalizers/1' }], 'application/json-patch+json');
    assert.equal(patched.status, 200);
    assert.equal((await call(server, 'GET', cm('last'))).status, 200);
    const last = await call(server, 'PATCH', cm('last'), { metadata: { finalizers: null } }, 'application/merge-patch+json');
    assert.equal(last.status, 200);
    assert.equal((await call(server, 'GET', cm('last'))).status, 404);
  });

  it('deletecollection applies the same options to every object', async () => {
    for (const name of ['col-a', 'col-b']) {
      await create(`/api/v1/namespaces/${NS}/configmaps`, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, labels: { set: 'col' } } });
    }
    const answer = await del(`/api/v1/namespaces/${NS}/configmaps`, { propagationPolicy: 'Foreground' }, '?labelSelector=set%3Dcol');
    assert.equal(answer.status, 200);
    for (const name of ['col-a', 'col-b']) {
      const object = (await call(server, 'GET', cm(name))).body;
      assert.deepEqual(object.metadata.finalizers, ['foregroundDeletion']);
      assert.ok(object.metadata.deletionTimestamp);
    }
  });

  it('pods: an unscheduled pod goes at once; with Foreground it is marked and stays', async () => {
    const pod = (name: string) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { containers: [{ name: 'c', image: 'busybox' }] } });
    await create(`/api/v1/namespaces/${NS}/pods`, pod('plain'));
    assert.equal((await del(`/api/v1/namespaces/${NS}/pods/plain`)).body.kind, 'Status');
    await create(`/api/v1/namespaces/${NS}/pods`, pod('fg'));
    const marked = await del(`/api/v1/namespaces/${NS}/pods/fg`, { propagationPolicy: 'Foreground' });
    assert.deepEqual(marked.body.metadata.finalizers, ['foregroundDeletion']);
    assert.equal(marked.body.metadata.deletionGracePeriodSeconds, 0);
  });
});
