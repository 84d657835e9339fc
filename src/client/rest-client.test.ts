import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { startInProcessServer, type InProcessServer } from '../../test/support/in-process-server.ts';
import { ApiStatusError, isAlreadyExists, isConflict, isNotFound, resources, type KubeObject, type WatchEvent } from './interface.ts';
import { createRestClient, loadKubeconfig, RequestTimeoutError, resourcePath, type RestClient } from './rest-client.ts';
import { startTcpProxy } from './testing/tcp-proxy.ts';
import { LineSplitter } from './watch-stream.ts';

const configmaps = { group: '', version: 'v1', resource: 'configmaps', namespace: 'default' };
const pods = { ...resources.pods, namespace: 'default' };
const podBody = (name: string) => ({
  apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { containers: [{ name: 'c', image: 'busybox' }] },
});

describe('resourcePath', () => {
  it('builds core, group, namespaced, cluster-scoped and subresource paths', () => {
    assert.equal(resourcePath({ group: '', version: 'v1', resource: 'pods' }), '/api/v1/pods');
    assert.equal(resourcePath({ ...pods, name: 'p', subresource: 'status' }), '/api/v1/namespaces/default/pods/p/status');
    assert.equal(resourcePath({ group: 'apps', version: 'v1', resource: 'deployments', namespace: 'ns' }), '/apis/apps/v1/namespaces/ns/deployments');
    assert.equal(resourcePath({ ...resources.namespaces, name: 'kube-system' }), '/api/v1/namespaces/kube-system');
    assert.equal(resourcePath({ ...resources.nodes, name: 'a b' }), '/api/v1/nodes/a%20b');
    assert.throws(() => resourcePath({ ...pods, subresource: 'status' }), /needs a name/);
  });
});

describe('LineSplitter', () => {
  it('returns only complete lines, across chunk and UTF-8 character boundaries', () => {
    const splitter = new LineSplitter();
    const bytes = Buffer.from('{"a":"é"}\n{"b":"€"}\n{"c":1}');
    const lines: string[] = [];
    for (let i = 0; i < bytes.length; i++) lines.push(...splitter.push(bytes.subarray(i, i + 1)));
    lines.push(...splitter.end());
    assert.deepEqual(lines.map((l) => JSON.parse(l)), [{ a: 'é' }, { b: '€' }, { c: 1 }]);
  });
});

describe('rest client against a real API server', () => {
  let server: InProcessServer;
  let client: RestClient;
  before(async () => {
    server = await startInProcessServer();
    client = createRestClient({ server: server.url, caCert: server.caCert, token: server.token });
  });
  after(async () => {
    await client.close();
    await server.close();
  });

  it('creates, reads, lists, updates and deletes a ConfigMap', async () => {
    const created = await client.create(configmaps, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm1', labels: { app: 'x' } }, data: { a: '1' } });
    assert.equal(created.metadata.name, 'cm1');
    assert.ok(created.metadata.uid);
    const got = await client.get({ ...configmaps, name: 'cm1' });
    assert.deepEqual(got.data, { a: '1' });
    const listed = await client.list(configmaps, { labelSelector: 'app=x' });
    assert.deepEqual(listed.items.map((i) => i.metadata.name), ['cm1']);
    assert.equal((await client.list(configmaps, { labelSelector: 'app=y' })).items.length, 0);
    const updated = await client.update({ ...configmaps, name: 'cm1' }, { ...got, data: { a: '2' } });
    assert.deepEqual(updated.data, { a: '2' });
    assert.notEqual(updated.metadata.resourceVersion, got.metadata.resourceVersion);
    await client.delete({ ...configmaps, name: 'cm1' });
    await assert.rejects(client.get({ ...configmaps, name: 'cm1' }), (e) => isNotFound(e));
  });

  it('creates and deletes a Pod and writes its status through the status subresource', async () => {
    const pod = await client.create<KubeObject>(pods, podBody('p1'));
    const withStatus = { ...pod, status: { phase: 'Running' }, spec: { ...(pod.spec as object), activeDeadlineSeconds: 5 } };
    const updated = await client.update({ ...pods, name: 'p1', subresource: 'status' }, withStatus);
    assert.equal((updated.status as { phase: string }).phase, 'Running');
    // The status subresource ignores spec changes.
    assert.equal((updated.spec as { activeDeadlineSeconds?: number }).activeDeadlineSeconds, undefined);
    const patched = await client.patch({ ...pods, name: 'p1', subresource: 'status' }, 'merge', { status: { message: 'hi' } });
    assert.equal((patched.status as { message: string }).message, 'hi');
    await client.delete({ ...pods, name: 'p1' }, { gracePeriodSeconds: 0 });
  });

  it('sends every patch type with its content type', async () => {
    await client.create(configmaps, { metadata: { name: 'patched' }, data: { a: '1' } });
    const ref = { ...configmaps, name: 'patched' };
    let cm = await client.patch(ref, 'json', [{ op: 'add', path: '/data/b', value: '2' }]);
    assert.deepEqual(cm.data, { a: '1', b: '2' });
    cm = await client.patch(ref, 'merge', { data: { a: null } });
    assert.deepEqual(cm.data, { b: '2' });
    cm = await client.patch(ref, 'strategic', { metadata: { labels: { s: 'yes' } } });
    assert.deepEqual(cm.metadata.labels, { s: 'yes' });
    const apply = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'patched', namespace: 'default' }, data: { c: 'applied' } };
    cm = await client.patch(ref, 'apply', apply, { fieldManager: 'test-a' });
    assert.deepEqual(cm.data, { b: '2', c: 'applied' });
    // Another manager changing the same field conflicts unless forced.
    const other = { ...apply, data: { c: 'other' } };
    await assert.rejects(client.patch(ref, 'apply', other, { fieldManager: 'test-b' }), (e) => isConflict(e));
    cm = await client.patch(ref, 'apply', other, { fieldManager: 'test-b', force: true });
    assert.equal((cm.data as Record<string, string>).c, 'other');
    const dry = await client.patch(ref, 'merge', { data: { c: 'dry' } }, { dryRun: true });
    assert.equal((dry.data as Record<string, string>).c, 'dry');
    assert.equal(((await client.get(ref)).data as Record<string, string>).c, 'other');
  });

  it('turns error answers into ApiStatusError with the Status code and reason', async () => {
    await assert.rejects(client.get({ ...configmaps, name: 'missing' }), (e) => e instanceof ApiStatusError && e.code === 404 && e.reason === 'NotFound');
    await client.create(configmaps, { metadata: { name: 'dup' } });
    await assert.rejects(client.create(configmaps, { metadata: { name: 'dup' } }), (e) => isAlreadyExists(e) && (e as ApiStatusError).code === 409);
    const stale = await client.get({ ...configmaps, name: 'dup' });
    await client.update({ ...configmaps, name: 'dup' }, { ...stale, data: { x: '1' } });
    await assert.rejects(client.update({ ...configmaps, name: 'dup' }, { ...stale, data: { x: '2' } }), (e) => isConflict(e));
    await assert.rejects(client.create(configmaps, { metadata: { name: 'Not_Valid' } }), (e) => {
      assert.ok(e instanceof ApiStatusError);
      assert.equal(e.code, 422);
      assert.equal(e.reason, 'Invalid');
      assert.equal(e.status?.kind, 'Status');
      return true;
    });
  });

  it('watches events in order and ends the iterator on stop()', async () => {
    const list = await client.list(configmaps);
    const watch = client.watch(configmaps, { resourceVersion: list.metadata.resourceVersion });
    await client.create(configmaps, { metadata: { name: 'w1' }, data: { v: '1' } });
    await client.patch({ ...configmaps, name: 'w1' }, 'merge', { data: { v: '2' } });
    await client.delete({ ...configmaps, name: 'w1' });
    const seen: string[] = [];
    for await (const event of watch) {
      seen.push(`${event.type} ${event.object.metadata.name} ${(event.object.data as { v?: string } | undefined)?.v ?? ''}`);
      if (seen.length === 3) watch.stop();
    }
    assert.deepEqual(seen, ['ADDED w1 1', 'MODIFIED w1 2', 'DELETED w1 2']);
    assert.deepEqual(await watch[Symbol.asyncIterator]().next(), { value: undefined, done: true });
  });

  it('ends the iterator when the server ends the watch', async () => {
    const watch = client.watch(configmaps, { fieldSelector: 'metadata.name=none', timeoutSeconds: 1 });
    const events: WatchEvent[] = [];
    for await (const event of watch) events.push(event);
    assert.deepEqual(events, []);
  });

  it('watches one object by name', async () => {
    await client.create(configmaps, { metadata: { name: 'one' } });
    await client.create(configmaps, { metadata: { name: 'two' } });
    const watch = client.watch({ ...configmaps, name: 'two' }, { resourceVersion: '0' });
    for await (const event of watch) {
      assert.equal(event.type, 'ADDED');
      assert.equal(event.object.metadata.name, 'two');
      break;
    }
  });

  it('rejects the iterator when the watch cannot be set up', async () => {
    const watch = client.watch(configmaps, { resourceVersion: 'not-a-version' });
    await assert.rejects(async () => {
      for await (const _ of watch) assert.fail('no events expected');
    }, (e) => e instanceof ApiStatusError && e.code === 400);
  });

  it('fails open watches and reconnects for the next request after the connection drops', async () => {
    const watch = client.watch(configmaps, { resourceVersion: '0' });
    const iterator = watch[Symbol.asyncIterator]();
    const first = await iterator.next(); // established
    assert.equal(first.done, false);
    client.resetConnection();
    await assert.rejects(async () => { while (!(await iterator.next()).done); }, /watch stream/);
    const again = await client.list(configmaps);
    assert.ok(again.items.length > 0);
  });

  it('queues requests beyond maxConcurrentStreams instead of failing them', async () => {
    const narrow = createRestClient({ server: server.url, caCert: server.caCert, token: server.token, maxConcurrentStreams: 1 });
    try {
      const names = await Promise.all(Array.from({ length: 8 }, () => narrow.get({ ...resources.namespaces, name: 'default' })));
      assert.equal(names.length, 8);
    } finally {
      await narrow.close();
    }
  });

  it('loads a kubeconfig with embedded or referenced credentials', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'skiff-kubeconfig-'));
    try {
      const b64 = (s: string) => Buffer.from(s).toString('base64');
      const config = (cluster: object) => stringify({
        apiVersion: 'v1', kind: 'Config', 'current-context': 'ctx',
        clusters: [{ name: 'c', cluster: { server: server.url, ...cluster } }],
        users: [{ name: 'u', user: { token: server.token } }],
        contexts: [{ name: 'ctx', context: { cluster: 'c', user: 'u' } }],
      });
      writeFileSync(join(dir, 'embedded.yaml'), config({ 'certificate-authority-data': b64(server.caCert) }));
      writeFileSync(join(dir, 'ca.crt'), server.caCert);
      writeFileSync(join(dir, 'referenced.yaml'), config({ 'certificate-authority': 'ca.crt' }));
      for (const file of ['embedded.yaml', 'referenced.yaml']) {
        const options = loadKubeconfig(join(dir, file));
        assert.equal(options.server, server.url);
        assert.equal(options.caCert, server.caCert);
        assert.equal(options.token, server.token);
        const fromFile = createRestClient(options);
        try {
          assert.equal((await fromFile.get({ ...resources.namespaces, name: 'default' })).metadata.name, 'default');
        } finally {
          await fromFile.close();
        }
      }
      assert.throws(() => loadKubeconfig(join(dir, 'embedded.yaml'), { context: 'nope' }), /no context named "nope"/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('rest client over a failing network', () => {
  let server: InProcessServer;
  before(async () => { server = await startInProcessServer(); });
  after(async () => { await server.close(); });

  it('retries a read once when the connection breaks before the answer, but not a write', async () => {
    const proxy = await startTcpProxy(server.url);
    const client = createRestClient({ server: proxy.url, caCert: server.caCert, token: server.token, pingIntervalMs: 0 });
    try {
      await client.get({ ...resources.namespaces, name: 'default' });
      assert.equal(proxy.connections(), 1);
      proxy.mode = 'cut-on-next-request';
      const ns = await client.get({ ...resources.namespaces, name: 'default' });
      assert.equal(ns.metadata.name, 'default');
      assert.equal(proxy.connections(), 2);
      proxy.mode = 'cut-on-next-request';
      await assert.rejects(client.create(configmaps, { metadata: { name: 'maybe' } }), /before a response/);
      // The write was never retried, so the object does not exist.
      await assert.rejects(client.get({ ...configmaps, name: 'maybe' }), (e) => isNotFound(e));
    } finally {
      await client.close();
      await proxy.close();
    }
  });

  it('fails a watch whose connection drops, then reconnects', async () => {
    const proxy = await startTcpProxy(server.url);
    const client = createRestClient({ server: proxy.url, caCert: server.caCert, token: server.token, pingIntervalMs: 0 });
    try {
      const iterator = client.watch(configmaps, { resourceVersion: '0' })[Symbol.asyncIterator]();
      await client.create(configmaps, { metadata: { name: 'before-drop' } });
      assert.equal((await iterator.next()).done, false);
      proxy.dropConnections();
      await assert.rejects(async () => { while (!(await iterator.next()).done); }, /watch stream/);
      assert.ok((await client.list(configmaps)).items.length > 0);
      assert.equal(proxy.connections(), 2);
    } finally {
      await client.close();
      await proxy.close();
    }
  });

  it('times a request out when no answer comes', async () => {
    const proxy = await startTcpProxy(server.url);
    const client = createRestClient({ server: proxy.url, caCert: server.caCert, token: server.token, timeoutMs: 200, pingIntervalMs: 0 });
    try {
      await client.get({ ...resources.namespaces, name: 'default' });
      proxy.mode = 'blackhole';
      const started = Date.now();
      await assert.rejects(client.list(configmaps), (e) => e instanceof RequestTimeoutError);
      assert.ok(Date.now() - started < 2000);
    } finally {
      await client.close();
      await proxy.close();
    }
  });
});
