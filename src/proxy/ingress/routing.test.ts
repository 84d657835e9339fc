import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backend } from './fake-view.ts';
import { isServedIngress, normalizeHost, pathOnly, RouteTable } from './routing.ts';
import type { HttpIngressPath, Ingress, IngressBackend, IngressClass, IngressRule } from './types.ts';

function ingress(name: string, spec: Ingress['spec'], options: { namespace?: string; created?: string; annotations?: Record<string, string> } = {}): Ingress {
  return {
    metadata: { name, namespace: options.namespace ?? 'default', creationTimestamp: options.created ?? '2024-01-01T00:00:00Z', annotations: options.annotations },
    spec,
  };
}

const path = (p: string | undefined, pathType: HttpIngressPath['pathType'], to: IngressBackend): HttpIngressPath => ({ path: p, pathType, backend: to });
const rule = (host: string | undefined, ...paths: HttpIngressPath[]): IngressRule => ({ host, http: { paths } });
/** The service name a request is routed to, or undefined. */
const target = (table: RouteTable, host: string, url: string) => table.match(host, url)?.backend.service?.name;

const ourClass = (name: string, isDefault: boolean, controller = 'skiff.dev/ingress-controller'): IngressClass => ({
  metadata: { name, annotations: isDefault ? { 'ingressclass.kubernetes.io/is-default-class': 'true' } : {} },
  spec: { controller },
});

describe('which Ingresses are served', () => {
  it('by ingressClassName (skiff, or another class whose controller is ours)', () => {
    const classes = [ourClass('skiff', false), ourClass('internal', false), ourClass('nginx', false, 'k8s.io/ingress-nginx')];
    assert.equal(isServedIngress(ingress('a', { ingressClassName: 'skiff' }), classes), true);
    assert.equal(isServedIngress(ingress('a', { ingressClassName: 'internal' }), classes), true);
    assert.equal(isServedIngress(ingress('a', { ingressClassName: 'nginx' }), classes), false);
    assert.equal(isServedIngress(ingress('a', { ingressClassName: 'skiff' }), []), true, 'our own class name even before its IngressClass exists');
  });

  it('without a class only while one of our IngressClasses is the default', () => {
    assert.equal(isServedIngress(ingress('a', {}), [ourClass('skiff', true)]), true);
    assert.equal(isServedIngress(ingress('a', {}), [ourClass('skiff', false)]), false);
    assert.equal(isServedIngress(ingress('a', {}), [ourClass('skiff', false), ourClass('nginx', true, 'k8s.io/ingress-nginx')]), false);
  });

  it('by the legacy kubernetes.io/ingress.class annotation, which decides alone when present', () => {
    const classes = [ourClass('skiff', true)];
    assert.equal(isServedIngress(ingress('a', {}, { annotations: { 'kubernetes.io/ingress.class': 'skiff' } }), classes), true);
    assert.equal(isServedIngress(ingress('a', {}, { annotations: { 'kubernetes.io/ingress.class': 'nginx' } }), classes), false);
  });

  it('honours another class name', () => {
    assert.equal(isServedIngress(ingress('a', { ingressClassName: 'edge' }), [], { className: 'edge' }), true);
    assert.equal(isServedIngress(ingress('a', { ingressClassName: 'skiff' }), [], { className: 'edge' }), false);
  });
});

describe('route table: paths', () => {
  const table = new RouteTable([ingress('paths', { rules: [rule(undefined,
    path('/', 'Prefix', backend('root', 80)),
    path('/foo', 'Prefix', backend('foo', 80)),
    path('/foo/bar/', 'Prefix', backend('foobar', 80)),
    path('/foo', 'Exact', backend('foo-exact', 80)),
    path('/exact', 'Exact', backend('exact', 80)),
    path('/impl', 'ImplementationSpecific', backend('impl', 80)),
  )] })]);

  it('Prefix matches element-wise on /, ignoring a trailing slash in the rule', () => {
    assert.equal(target(table, 'x', '/foo/'), 'foo');
    assert.equal(target(table, 'x', '/foo/baz'), 'foo');
    assert.equal(target(table, 'x', '/foobar'), 'root', '/foo does not match /foobar');
    assert.equal(target(table, 'x', '/foo/bar'), 'foobar', '/foo/bar/ matches /foo/bar');
    assert.equal(target(table, 'x', '/foo/bar/baz?q=1'), 'foobar');
    assert.equal(target(table, 'x', '/foo/barbaz'), 'foo');
    assert.equal(target(table, 'x', '/'), 'root');
    assert.equal(target(table, 'x', '/FOO'), 'root', 'case-sensitive');
  });

  it('Exact matches the whole path only and beats a Prefix of the same length', () => {
    assert.equal(target(table, 'x', '/foo'), 'foo-exact');
    assert.equal(target(table, 'x', '/foo?x=1'), 'foo-exact');
    assert.equal(target(table, 'x', '/exact'), 'exact');
    assert.equal(target(table, 'x', '/exact/'), 'root');
    assert.equal(target(table, 'x', '/exact/more'), 'root');
  });

  it('ImplementationSpecific is a Prefix', () => {
    assert.equal(target(table, 'x', '/impl/a/b'), 'impl');
    assert.equal(target(table, 'x', '/implx'), 'root');
  });

  it('a path left out is /', () => {
    const t = new RouteTable([ingress('a', { rules: [rule('h', path(undefined, 'ImplementationSpecific', backend('all', 80)))] })]);
    assert.equal(target(t, 'h', '/anything/at/all'), 'all');
  });

  it('without a / rule an unmatched path has no route', () => {
    const t = new RouteTable([ingress('a', { rules: [rule('h', path('/api', 'Prefix', backend('api', 80)))] })]);
    assert.equal(t.match('h', '/other'), undefined);
  });
});

describe('route table: hosts', () => {
  const table = new RouteTable([
    ingress('hosts', { rules: [
      rule('foo.example.com', path('/', 'Prefix', backend('foo', 80))),
      rule('*.example.com', path('/', 'Prefix', backend('wild', 80))),
      rule('api.example.com', path('/v1', 'Prefix', backend('api', 80))),
      rule(undefined, path('/', 'Prefix', backend('any', 80))),
    ] }),
  ]);

  it('exact hosts, case-insensitively and without port', () => {
    assert.equal(target(table, 'foo.example.com', '/'), 'foo');
    assert.equal(target(table, 'FOO.Example.com:8080', '/x'), 'foo');
    assert.equal(target(table, 'foo.example.com.', '/x'), 'foo');
  });

  it('a wildcard covers exactly one label', () => {
    assert.equal(target(table, 'bar.example.com', '/'), 'wild');
    assert.equal(target(table, 'a.bar.example.com', '/'), 'any');
    assert.equal(target(table, 'example.com', '/'), 'any');
  });

  it('the most specific host group answers alone: no fall-through to host-less rules', () => {
    assert.equal(target(table, 'api.example.com', '/v1/users'), 'api');
    assert.equal(table.match('api.example.com', '/other'), undefined);
  });

  it('host-less rules take every other host, also IP addresses and requests without Host', () => {
    assert.equal(target(table, '192.0.2.10:80', '/'), 'any');
    assert.equal(target(table, '[2001:db8::1]:443', '/'), 'any');
    assert.equal(target(table, '', '/'), 'any');
  });

  it('rules of several Ingresses for one host are merged; on equal paths the older Ingress wins', () => {
    const t = new RouteTable([
      ingress('young', { rules: [rule('h', path('/a', 'Prefix', backend('young', 80)), path('/b', 'Prefix', backend('b', 80)))] }, { created: '2024-02-01T00:00:00Z' }),
      ingress('old', { rules: [rule('h', path('/a', 'Prefix', backend('old', 80)))] }, { created: '2024-01-01T00:00:00Z' }),
    ]);
    assert.equal(target(t, 'h', '/a'), 'old');
    assert.equal(target(t, 'h', '/b'), 'b');
  });

  it('backends resolve in the namespace of their Ingress', () => {
    const t = new RouteTable([ingress('a', { rules: [rule('h', path('/', 'Prefix', backend('s', 80)))] }, { namespace: 'shop' })]);
    assert.deepEqual(t.match('h', '/'), { namespace: 'shop', backend: backend('s', 80), ingress: 'shop/a' });
  });
});

describe('route table: default backends', () => {
  it('the defaultBackend of the host\'s Ingress, else of any Ingress (oldest first), else none', () => {
    const t = new RouteTable([
      ingress('catchall', { defaultBackend: backend('fallback', 80) }, { created: '2024-01-01T00:00:00Z' }),
      ingress('shop', { defaultBackend: backend('shop-default', 80), rules: [rule('shop.test', path('/cart', 'Prefix', backend('cart', 80)))] }, { created: '2024-02-01T00:00:00Z' }),
      ingress('blog', { rules: [rule('blog.test', path('/posts', 'Prefix', backend('posts', 80)))] }, { created: '2024-03-01T00:00:00Z' }),
    ]);
    assert.equal(target(t, 'shop.test', '/cart/1'), 'cart');
    assert.equal(target(t, 'shop.test', '/other'), 'shop-default');
    assert.equal(target(t, 'blog.test', '/other'), 'fallback');
    assert.equal(target(t, 'unknown.test', '/'), 'fallback');
    assert.equal(new RouteTable([]).match('x', '/'), undefined);
  });
});

describe('route table: TLS', () => {
  it('exact host sections first, then wildcard ones, then sections without hosts', () => {
    const t = new RouteTable([ingress('a', { tls: [
      { hosts: ['*.example.com'], secretName: 'wild' },
      { hosts: ['Foo.example.com'], secretName: 'foo' },
      { secretName: 'any' },
      { hosts: ['nosecret.example.com'] },
    ] }, { namespace: 'web' })]);
    assert.deepEqual(t.tlsCandidates('foo.example.com').map((c) => c.secretName), ['foo', 'wild', 'any']);
    assert.deepEqual(t.tlsCandidates('bar.example.com').map((c) => c.secretName), ['wild', 'any']);
    assert.deepEqual(t.tlsCandidates('other.test').map((c) => [c.namespace, c.secretName, c.anyHost]), [['web', 'any', true]]);
  });
});

describe('request parsing', () => {
  it('normalizes Host headers and request targets', () => {
    assert.equal(normalizeHost('Example.COM:80'), 'example.com');
    assert.equal(normalizeHost('[::1]:8080'), '[::1]');
    assert.equal(normalizeHost(undefined), '');
    assert.equal(pathOnly('/a/b?c=d#e'), '/a/b');
    assert.equal(pathOnly('http://h:1/x?y'), '/x');
    assert.equal(pathOnly('http://h'), '/');
    assert.equal(pathOnly(''), '/');
  });
});
