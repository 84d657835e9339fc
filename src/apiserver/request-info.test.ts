import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseBool, parseRequestInfo } from './request-info.ts';

const parse = (method: string, url: string) => {
  const u = new URL(url, 'https://x');
  return parseRequestInfo(method, u.pathname, u.searchParams);
};

describe('parseRequestInfo', () => {
  it('reads namespaced items, collections and subresources', () => {
    assert.deepEqual(
      { ...parse('GET', '/apis/apps/v1/namespaces/shop/deployments/web/scale'), parts: undefined, path: undefined },
      { isResourceRequest: true, verb: 'get', group: 'apps', version: 'v1', namespace: 'shop', resource: 'deployments', name: 'web', subresource: 'scale', parts: undefined, path: undefined },
    );
    const list = parse('GET', '/api/v1/pods');
    assert.equal(list.verb, 'list');
    assert.equal(list.namespace, undefined);
    assert.equal(parse('DELETE', '/api/v1/namespaces/a/configmaps').verb, 'deletecollection');
    assert.equal(parse('DELETE', '/api/v1/namespaces/a/configmaps/b').verb, 'delete');
    assert.equal(parse('POST', '/api/v1/namespaces/a/configmaps').verb, 'create');
    assert.equal(parse('PATCH', '/api/v1/nodes/n1/status').subresource, 'status');
    assert.equal(parse('GET', '/api/v1/namespaces/shop/pods/web:80/proxy/a/b').subresource, 'proxy');
    assert.equal(parse('GET', '/api/v1/namespaces/shop/pods/web:80/proxy/a/b').name, 'web:80');
  });

  it('treats namespaces and their status/finalize as the namespaces resource', () => {
    const ns = parse('GET', '/api/v1/namespaces/shop');
    assert.equal(ns.resource, 'namespaces');
    assert.equal(ns.name, 'shop');
    assert.equal(ns.namespace, undefined);
    const status = parse('PUT', '/api/v1/namespaces/shop/status');
    assert.equal(status.resource, 'namespaces');
    assert.equal(status.subresource, 'status');
    assert.equal(parse('PUT', '/api/v1/namespaces/shop/finalize').subresource, 'finalize');
  });

  it('recognizes watches by parameter and by the legacy /watch/ path', () => {
    assert.equal(parse('GET', '/api/v1/pods?watch=true').verb, 'watch');
    assert.equal(parse('GET', '/api/v1/pods?watch=True').verb, 'watch');
    assert.equal(parse('GET', '/api/v1/pods?watch=false').verb, 'list');
    const legacy = parse('GET', '/api/v1/watch/namespaces/a/pods');
    assert.equal(legacy.verb, 'watch');
    assert.equal(legacy.namespace, 'a');
  });

  it('marks discovery and other paths as non-resource requests', () => {
    for (const path of ['/api', '/apis', '/apis/apps', '/api/v1', '/apis/apps/v1', '/version', '/openapi/v3']) {
      assert.equal(parse('GET', path).isResourceRequest, false, path);
    }
  });

  it('parses booleans as Go does', () => {
    for (const yes of ['1', 't', 'T', 'true', 'True', 'TRUE']) assert.equal(parseBool(yes), true);
    for (const no of [null, '', '0', 'false', 'yes']) assert.equal(parseBool(no), false);
  });
});
