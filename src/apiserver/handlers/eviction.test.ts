// The eviction subresource against a real API server in this process. No
// controllers run: each test writes the budget's status itself, so every
// branch of the handler is reached deterministically.
import assert from 'node:assert/strict';
import { request as httpsRequest } from 'node:https';
import { after, before, describe, it } from 'node:test';
import { startInProcessServer, type InProcessServer } from '../../../test/support/in-process-server.ts';
import { encodeKubernetesProtobuf } from '../../api/protobuf/index.ts';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  json: any;
}

describe('eviction subresource', () => {
  let server: InProcessServer;
  let counter = 0;

  before(async () => {
    server = await startInProcessServer();
  });

  after(async () => {
    await server?.close();
  });

  function call(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<Reply> {
    const url = new URL(path, server.url);
    const payload = body === undefined ? undefined : Buffer.isBuffer(body) || body instanceof Uint8Array ? Buffer.from(body) : Buffer.from(JSON.stringify(body));
    return new Promise((resolve, reject) => {
      const req = httpsRequest(url, {
        method, ca: server.caCert, agent: false,
        headers: { authorization: `Bearer ${server.token}`, accept: 'application/json', ...(payload ? { 'content-type': contentType, 'content-length': payload.length } : {}) },
      }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = text;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, json });
        });
      });
      req.on('error', reject);
      req.end(payload);
    });
  }

  async function ok(method: string, path: string, body?: unknown): Promise<any> {
    const reply = await call(method, path, body);
    assert.ok(reply.status < 300, `${method} ${path}: ${reply.status} ${JSON.stringify(reply.json)}`);
    return reply.json;
  }

  async function namespace(): Promise<string> {
    const name = `ev-${++counter}`;
    await ok('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
    // No controller makes the default ServiceAccount here, and pods need it (ServiceAccount admission).
    await ok('POST', `/api/v1/namespaces/${name}/serviceaccounts`, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default' } });
    return name;
  }

  /** A pod on node n1; `phase` Running makes it ready unless `ready` is false. */
  async function pod(ns: string, name: string, options: { phase?: string; ready?: boolean; labels?: Record<string, string> } = {}): Promise<any> {
    const created = await ok('POST', `/api/v1/namespaces/${ns}/pods`, {
      apiVersion: 'v1', kind: 'Pod', metadata: { name, labels: options.labels ?? { app: 'web' } },
      spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'registry.example/app:1' }] },
    });
    const phase = options.phase ?? 'Running';
    if (phase === 'Pending') return created;
    const ready = options.ready !== false && phase === 'Running' ? 'True' : 'False';
    return ok('PUT', `/api/v1/namespaces/${ns}/pods/${name}/status`, {
      ...created, status: { phase, conditions: [{ type: 'Ready', status: ready, lastTransitionTime: '2025-01-01T00:00:00Z' }] },
    });
  }

  async function budget(ns: string, name: string, status: Record<string, unknown>, spec: Record<string, unknown> = {}): Promise<any> {
    const created = await ok('POST', `/apis/policy/v1/namespaces/${ns}/poddisruptionbudgets`, {
      apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name },
      spec: { minAvailable: 1, selector: { matchLabels: { app: 'web' } }, ...spec },
    });
    return ok('PUT', `/apis/policy/v1/namespaces/${ns}/poddisruptionbudgets/${name}/status`, { ...created, status: { observedGeneration: 1, ...status } });
  }

  const evict = (ns: string, name: string, extra: Record<string, unknown> = {}, query = '') =>
    call('POST', `/api/v1/namespaces/${ns}/pods/${name}/eviction${query}`, { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name, namespace: ns }, ...extra });
  const getPod = (ns: string, name: string) => call('GET', `/api/v1/namespaces/${ns}/pods/${name}`);
  const getBudget = (ns: string, name: string) => ok('GET', `/apis/policy/v1/namespaces/${ns}/poddisruptionbudgets/${name}`);

  it('evicts a pod no budget covers: DisruptionTarget condition, then a graceful deletion', async () => {
    const ns = await namespace();
    await pod(ns, 'p');
    const reply = await evict(ns, 'p');
    assert.equal(reply.status, 201);
    assert.deepEqual(reply.json, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 });
    const after = (await getPod(ns, 'p')).json;
    assert.ok(after.metadata.deletionTimestamp, 'marked for deletion (bound pods terminate gracefully)');
    assert.equal(after.metadata.deletionGracePeriodSeconds, 30);
    const condition = after.status.conditions.find((c: any) => c.type === 'DisruptionTarget');
    assert.equal(condition.status, 'True');
    assert.equal(condition.reason, 'EvictionByEvictionAPI');
    assert.equal(condition.message, 'Eviction API: evicting');
  });

  it('spends the budget with the pod recorded in disruptedPods, then refuses with 429', async () => {
    const ns = await namespace();
    await pod(ns, 'a');
    await pod(ns, 'b');
    await budget(ns, 'web', { disruptionsAllowed: 1, currentHealthy: 2, desiredHealthy: 1, expectedPods: 2 });
    const first = await evict(ns, 'a', { deleteOptions: { gracePeriodSeconds: 5 } });
    assert.equal(first.status, 201);
    assert.equal((await getPod(ns, 'a')).json.metadata.deletionGracePeriodSeconds, 5);
    const pdb = await getBudget(ns, 'web');
    assert.equal(pdb.status.disruptionsAllowed, 0);
    assert.deepEqual(Object.keys(pdb.status.disruptedPods), ['a']);
    assert.equal(pdb.status.conditions[0].type, 'DisruptionAllowed');
    assert.equal(pdb.status.conditions[0].reason, 'InsufficientPods');

    const second = await evict(ns, 'b');
    assert.equal(second.status, 429);
    assert.equal(second.json.reason, 'TooManyRequests');
    assert.equal(second.json.message, "Cannot evict pod as it would violate the pod's disruption budget.");
    assert.deepEqual(second.json.details.causes, [{ reason: 'DisruptionBudget', message: 'The disruption budget web needs 1 healthy pods and has 2 currently' }]);
    assert.equal(second.headers['retry-after'], undefined, 'upstream suggests no delay for a spent budget');
    assert.equal((await getPod(ns, 'b')).json.metadata.deletionTimestamp, undefined);
  });

  it('refuses while the budget has not observed its generation, with Retry-After', async () => {
    const ns = await namespace();
    await pod(ns, 'p');
    await budget(ns, 'web', { observedGeneration: 0, disruptionsAllowed: 5 });
    const reply = await evict(ns, 'p');
    assert.equal(reply.status, 429);
    assert.equal(reply.headers['retry-after'], '10');
    assert.equal(reply.json.details.retryAfterSeconds, 10);
    assert.deepEqual(reply.json.details.causes, [{ reason: 'DisruptionBudget', message: 'The disruption budget web is still being processed by the server.' }]);
  });

  it('refuses a pod under two budgets', async () => {
    const ns = await namespace();
    await pod(ns, 'p');
    await budget(ns, 'one', { disruptionsAllowed: 1 });
    await budget(ns, 'two', { disruptionsAllowed: 1 }, { selector: {} });
    const reply = await evict(ns, 'p');
    assert.equal(reply.json.status, 'Failure');
    assert.equal(reply.json.code, 500);
    assert.equal(reply.json.message, 'This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.');
    assert.equal((await getPod(ns, 'p')).json.metadata.deletionTimestamp, undefined);
  });

  it('deletes pods no budget counts (pending, finished) without checking the budget', async () => {
    const ns = await namespace();
    await pod(ns, 'pending', { phase: 'Pending' });
    await pod(ns, 'done', { phase: 'Succeeded' });
    await budget(ns, 'web', { disruptionsAllowed: 0, currentHealthy: 0, desiredHealthy: 1 });
    assert.equal((await evict(ns, 'pending')).status, 201);
    assert.equal((await evict(ns, 'done')).status, 201);
    // Finished pods go at once (grace 0); the pending one is bound, so it terminates gracefully.
    assert.equal((await getPod(ns, 'done')).status, 404);
    assert.ok((await getPod(ns, 'pending')).json.metadata.deletionTimestamp);
    assert.equal((await getBudget(ns, 'web')).status.disruptedPods, undefined);
  });

  it('lets an unready pod go without spending a budget that is met, or one that always allows it', async () => {
    const ns = await namespace();
    await pod(ns, 'sick', { ready: false });
    await budget(ns, 'web', { disruptionsAllowed: 0, currentHealthy: 2, desiredHealthy: 2 });
    assert.equal((await evict(ns, 'sick')).status, 201);
    assert.equal((await getBudget(ns, 'web')).status.disruptionsAllowed, 0);

    const ns2 = await namespace();
    await pod(ns2, 'sick', { ready: false });
    await budget(ns2, 'web', { disruptionsAllowed: 0, currentHealthy: 0, desiredHealthy: 2 });
    assert.equal((await evict(ns2, 'sick')).status, 429, 'IfHealthyBudget: the budget is not met');
    await call('PATCH', `/apis/policy/v1/namespaces/${ns2}/poddisruptionbudgets/web`, { spec: { unhealthyPodEvictionPolicy: 'AlwaysAllow' } }, 'application/merge-patch+json');
    // The spec change makes the budget unobserved; mark generation 2 as observed.
    const current = await getBudget(ns2, 'web');
    await ok('PUT', `/apis/policy/v1/namespaces/${ns2}/poddisruptionbudgets/web/status`, { ...current, status: { ...current.status, observedGeneration: 2 } });
    assert.equal((await evict(ns2, 'sick')).status, 201);
  });

  it('dry run changes nothing', async () => {
    const ns = await namespace();
    await pod(ns, 'p');
    await budget(ns, 'web', { disruptionsAllowed: 1, currentHealthy: 2, desiredHealthy: 1 });
    assert.equal((await evict(ns, 'p', {}, '?dryRun=All')).status, 201);
    assert.equal((await evict(ns, 'p', { deleteOptions: { dryRun: ['All'] } })).status, 201);
    const p = (await getPod(ns, 'p')).json;
    assert.equal(p.metadata.deletionTimestamp, undefined);
    assert.equal(p.status.conditions.some((c: any) => c.type === 'DisruptionTarget'), false);
    assert.equal((await getBudget(ns, 'web')).status.disruptionsAllowed, 1);
  });

  it('takes protobuf bodies (policy/v1 and v1beta1) and checks the name', async () => {
    const ns = await namespace();
    await pod(ns, 'v1');
    await pod(ns, 'beta');
    const v1 = encodeKubernetesProtobuf({ apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: 'v1', namespace: ns }, deleteOptions: { gracePeriodSeconds: 7 } });
    const proto = 'application/vnd.kubernetes.protobuf';
    assert.equal((await call('POST', `/api/v1/namespaces/${ns}/pods/v1/eviction`, v1, proto)).status, 201);
    assert.equal((await getPod(ns, 'v1')).json.metadata.deletionGracePeriodSeconds, 7);
    // v1beta1's message is v1's: encode as v1, then relabel the envelope.
    const beta = Buffer.from(encodeKubernetesProtobuf({ apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: 'beta', namespace: ns } }));
    const relabelled = Buffer.from(beta.toString('latin1').replace('policy/v1', 'policy/v1beta1'), 'latin1');
    const fixedLength = fixEnvelopeLengths(relabelled, 'policy/v1beta1'.length - 'policy/v1'.length);
    assert.equal((await call('POST', `/api/v1/namespaces/${ns}/pods/beta/eviction`, fixedLength, proto)).status, 201);

    const wrong = await evict(ns, 'other');
    assert.equal(wrong.status, 404);
    const mismatch = await call('POST', `/api/v1/namespaces/${ns}/pods/v1/eviction`, { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: 'x' } });
    assert.equal(mismatch.status, 400);
    assert.equal(mismatch.json.message, 'name in URL does not match name in Eviction object');
  });

  it('approves exactly as many concurrent evictions as the budget allows', async () => {
    const ns = await namespace();
    const names = ['c1', 'c2', 'c3', 'c4'];
    for (const name of names) await pod(ns, name);
    await budget(ns, 'web', { disruptionsAllowed: 2, currentHealthy: 4, desiredHealthy: 2, expectedPods: 4 });
    const replies = await Promise.all(names.map((name) => evict(ns, name)));
    const codes = replies.map((r) => r.status).sort();
    assert.deepEqual(codes, [201, 201, 429, 429]);
    const pdb = await getBudget(ns, 'web');
    assert.equal(pdb.status.disruptionsAllowed, 0);
    assert.equal(Object.keys(pdb.status.disruptedPods).length, 2);
  });
});

/**
 * The protobuf envelope (runtime.Unknown) nests typeMeta{apiVersion}: after
 * lengthening apiVersion by `delta` bytes, the lengths of apiVersion and of
 * typeMeta grow by it too. Both are single-byte varints in these small bodies.
 */
function fixEnvelopeLengths(body: Buffer, delta: number): Buffer {
  const out = Buffer.from(body);
  // magic (4), then field 1 (typeMeta) tag 0x0a, its length, then field 1 (apiVersion) tag 0x0a, its length.
  assert.equal(out[4], 0x0a);
  out[5] += delta;
  assert.equal(out[6], 0x0a);
  out[7] += delta;
  return out;
}
