import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolveBackend, RoundRobin } from './backends.ts';
import { backend, createFakeView, service, slice } from './fake-view.ts';

const match = (name: string, port: number | string) => ({ namespace: 'web', backend: backend(name, port), ingress: 'web/i' });

describe('backend resolution', () => {
  const view = createFakeView({
    services: [
      service('web', 'app', [{ name: 'http', port: 80, targetPort: 'web' }, { name: 'admin', port: 9000, targetPort: 9090 }]),
      service('web', 'single', [{ port: 80, targetPort: 8080 }]),
      service('web', 'empty', [{ name: 'http', port: 80 }]),
      { metadata: { namespace: 'web', name: 'ext' }, spec: { type: 'ExternalName' } },
    ],
    slices: [
      slice('web', 'app', [{ name: 'http', port: 8080 }, { name: 'admin', port: 9090 }], [['10.42.0.5', true], ['10.42.0.4', true], ['10.42.0.6', false]], 'a'),
      slice('web', 'app', [{ name: 'http', port: 8080 }, { name: 'admin', port: 9090 }], [['10.42.0.7', true], ['10.42.0.4', true]], 'b'),
      slice('web', 'single', [{ port: 8080 }], [['10.42.1.1', true]]),
      slice('web', 'empty', [{ name: 'http', port: 8080 }], [['10.42.2.1', false]]),
      slice('other', 'app', [{ name: 'http', port: 1 }], [['10.9.9.9', true]]),
    ],
  });

  it('resolves a port number or name to the ready endpoints on the target port, over all slices, without duplicates', () => {
    const byNumber = resolveBackend(view, match('app', 80));
    assert.deepEqual(byNumber, { ok: true, key: 'web/app:80', endpoints: [
      { host: '10.42.0.4', port: 8080 }, { host: '10.42.0.5', port: 8080 }, { host: '10.42.0.7', port: 8080 },
    ] });
    const byName = resolveBackend(view, match('app', 'admin'));
    assert.ok(byName.ok);
    assert.deepEqual(byName.endpoints.map((e) => e.port), [9090, 9090, 9090]);
    assert.deepEqual(resolveBackend(view, match('single', 80)), { ok: true, key: 'web/single:80', endpoints: [{ host: '10.42.1.1', port: 8080 }] });
  });

  it('says why there is nothing to proxy to (503)', () => {
    const reason = (name: string, port: number | string) => {
      const r = resolveBackend(view, match(name, port));
      assert.equal(r.ok, false);
      return (r as { reason: string }).reason;
    };
    assert.match(reason('missing', 80), /service web\/missing not found/);
    assert.match(reason('app', 81), /has no TCP port 81/);
    assert.match(reason('app', 'nope'), /has no TCP port nope/);
    assert.match(reason('empty', 80), /no ready endpoints/);
    assert.match(reason('ext', 80), /ExternalName/);
    const resource = resolveBackend(view, { namespace: 'web', ingress: 'web/i', backend: { resource: { kind: 'Bucket', name: 'b' } } });
    assert.equal(resource.ok, false);
  });

  it('a missing ready condition counts as ready', () => {
    const v = createFakeView({
      services: [service('web', 'x', [{ port: 80 }])],
      slices: [{ metadata: { namespace: 'web', name: 'x-1', labels: { 'kubernetes.io/service-name': 'x' } }, addressType: 'IPv4', ports: [{ port: 80 }], endpoints: [{ addresses: ['10.0.0.1'] }] }],
    });
    assert.equal(resolveBackend(v, match('x', 80)).ok, true);
  });
});

describe('round-robin', () => {
  it('takes each endpoint in turn, per backend', () => {
    const rr = new RoundRobin();
    const endpoints = [{ host: 'a', port: 1 }, { host: 'b', port: 1 }, { host: 'c', port: 1 }];
    assert.deepEqual([1, 2, 3, 4].map(() => rr.pick('x', endpoints).host), ['a', 'b', 'c', 'a']);
    assert.equal(rr.pick('y', endpoints).host, 'a');
    assert.deepEqual([1, 2, 3].map(() => rr.pick('x', endpoints.slice(0, 2)).host), ['a', 'b', 'a'], 'still alternating after endpoints changed');
  });
});
