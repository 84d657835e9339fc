// LimitRanger, DefaultStorageClass and LimitRange validation on a real
// in-process API server, over HTTPS as kubectl sends them.
import assert from 'node:assert/strict';
import { request } from 'node:https';
import { after, before, describe, it } from 'node:test';
import { startInProcessServer, type InProcessServer } from '../../../test/support/in-process-server.ts';

interface Reply {
  status: number;
  body: any;
}

describe('LimitRanger and DefaultStorageClass admission', () => {
  let server: InProcessServer;
  before(async () => {
    server = await startInProcessServer();
  });
  after(async () => server?.close());

  const call = (method: string, path: string, body?: unknown): Promise<Reply> => new Promise((resolve, reject) => {
    const url = new URL(path, server.url);
    const req = request(url, {
      method, ca: server.caCert, agent: false,
      headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json', accept: 'application/json' },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : undefined });
      });
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
  const create = async (path: string, body: unknown, expected = 201): Promise<any> => {
    const reply = await call('POST', path, body);
    assert.equal(reply.status, expected, JSON.stringify(reply.body));
    return reply.body;
  };
  const namespace = async (name: string) => {
    await create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
    // Pods need their namespace's default ServiceAccount once ServiceAccount admission runs; harmless before.
    await call('POST', `/api/v1/namespaces/${name}/serviceaccounts`, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default' } });
  };
  const limitRange = (ns: string, limits: unknown[]) =>
    create(`/api/v1/namespaces/${ns}/limitranges`, { apiVersion: 'v1', kind: 'LimitRange', metadata: { name: 'lr' }, spec: { limits } });
  const pod = (ns: string, name: string, containers: unknown[], expected = 201) =>
    create(`/api/v1/namespaces/${ns}/pods`, { apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { containers } }, expected);

  it('gives containers the defaults, with the annotation', async () => {
    await namespace('lr-defaults');
    await limitRange('lr-defaults', [{ type: 'Container', default: { cpu: '500m', memory: '256Mi' }, defaultRequest: { cpu: '100m' } }]);
    const created = await pod('lr-defaults', 'p', [
      { name: 'bare', image: 'busybox' },
      { name: 'limited', image: 'busybox', resources: { limits: { cpu: '300m' } } },
    ]);
    const [bare, limited] = created.spec.containers;
    // The LimitRange's own defaulting makes defaultRequest.memory = default.memory.
    assert.deepEqual(bare.resources, { limits: { cpu: '500m', memory: '256Mi' }, requests: { cpu: '100m', memory: '256Mi' } });
    // A container with only a limit requests that limit (pod defaulting), not the range's defaultRequest.
    assert.deepEqual(limited.resources, { limits: { cpu: '300m', memory: '256Mi' }, requests: { cpu: '300m', memory: '256Mi' } });
    assert.equal(created.metadata.annotations['kubernetes.io/limit-ranger'],
      'LimitRanger plugin set: cpu, memory request for container bare; cpu, memory limit for container bare; memory request for container limited; memory limit for container limited');
  });

  it('refuses pods outside min/max with 403 and upstream\'s message', async () => {
    await namespace('lr-bounds');
    await limitRange('lr-bounds', [{ type: 'Container', min: { cpu: '100m' }, max: { memory: '1Gi' } }]);
    const small = await pod('lr-bounds', 'small', [{ name: 'c', image: 'busybox', resources: { requests: { cpu: '50m' }, limits: { cpu: '50m', memory: '512Mi' } } }], 403);
    assert.equal(small.message, 'pods "small" is forbidden: minimum cpu usage per Container is 100m, but request is 50m');
    assert.equal(small.reason, 'Forbidden');
    const big = await pod('lr-bounds', 'big', [{ name: 'c', image: 'busybox', resources: { limits: { cpu: '1', memory: '2Gi' } } }], 403);
    assert.equal(big.message, 'pods "big" is forbidden: maximum memory usage per Container is 1Gi, but limit is 2Gi');
    await pod('lr-bounds', 'fits', [{ name: 'c', image: 'busybox', resources: { limits: { cpu: '1', memory: '1Gi' } } }]);
  });

  it('checks claims against PersistentVolumeClaim items', async () => {
    await namespace('lr-claims');
    await limitRange('lr-claims', [{ type: 'PersistentVolumeClaim', max: { storage: '10Gi' } }]);
    const refused = await create('/api/v1/namespaces/lr-claims/persistentvolumeclaims', {
      apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'huge' },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '20Gi' } } },
    }, 403);
    assert.equal(refused.message, 'persistentvolumeclaims "huge" is forbidden: maximum storage usage per PersistentVolumeClaim is 10Gi, but request is 20Gi');
  });

  it('refuses an inconsistent LimitRange (422)', async () => {
    await namespace('lr-invalid');
    const reply = await call('POST', '/api/v1/namespaces/lr-invalid/limitranges', {
      apiVersion: 'v1', kind: 'LimitRange', metadata: { name: 'bad' },
      spec: { limits: [{ type: 'Container', max: { cpu: '1' }, defaultRequest: { cpu: '2' } }] },
    });
    assert.equal(reply.status, 422);
    assert.match(reply.body.message, /spec\.limits\[0\]\.defaultRequest\[cpu\]: Invalid value: .*default request value 2 is greater than max value 1/);
  });

  it('gives class-less claims the newest default StorageClass', async () => {
    await namespace('dsc');
    const storageClass = (name: string, isDefault: boolean) => create('/apis/storage.k8s.io/v1/storageclasses', {
      apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass', metadata: { name, annotations: isDefault ? { 'storageclass.kubernetes.io/is-default-class': 'true' } : {} },
      provisioner: 'example.com/disk', volumeBindingMode: 'Immediate',
    });
    const claim = (name: string, storageClassName?: string | null) => create('/api/v1/namespaces/dsc/persistentvolumeclaims', {
      apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } }, ...(storageClassName === undefined ? {} : { storageClassName }) },
    });
    // The server's own default class (local-path) would win the first claims: start without it.
    assert.equal((await call('DELETE', '/apis/storage.k8s.io/v1/storageclasses/local-path')).status, 200);
    assert.equal((await claim('before-any')).spec.storageClassName, undefined);
    await storageClass('plain', false);
    await storageClass('old-default', true);
    assert.equal((await claim('one')).spec.storageClassName, 'old-default');
    // Creation timestamps have whole seconds: the newer default must be at least a second younger.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await storageClass('new-default', true);
    assert.equal((await claim('two')).spec.storageClassName, 'new-default');
    assert.equal((await claim('explicit', 'plain')).spec.storageClassName, 'plain');
    assert.equal((await claim('empty', '')).spec.storageClassName, '', 'an empty class asks for none');
  });
});
