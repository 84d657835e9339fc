import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rewriteLocation, splitSchemeNamePort } from './proxy.ts';

describe('proxy ids', () => {
  it('splits [scheme:]name[:port] as upstream does', () => {
    assert.deepEqual(splitSchemeNamePort('web'), { scheme: '', name: 'web', port: '' });
    assert.deepEqual(splitSchemeNamePort('web:8080'), { scheme: '', name: 'web', port: '8080' });
    assert.deepEqual(splitSchemeNamePort('web:http'), { scheme: '', name: 'web', port: 'http' });
    assert.deepEqual(splitSchemeNamePort('https:web:443'), { scheme: 'https', name: 'web', port: '443' });
    assert.deepEqual(splitSchemeNamePort('http:web:'), { scheme: 'http', name: 'web', port: '' });
    assert.equal(splitSchemeNamePort('ftp:web:21'), undefined);
    assert.equal(splitSchemeNamePort(':80'), undefined);
    assert.equal(splitSchemeNamePort('a:b:c:d'), undefined);
  });

  it('keeps redirects to the backend under the proxy prefix', () => {
    const target = { host: '10.42.0.5', port: 8080 };
    const prefix = '/api/v1/namespaces/default/pods/web:8080/proxy';
    assert.equal(rewriteLocation('/login?next=%2F', target, prefix), `${prefix}/login?next=%2F`);
    assert.equal(rewriteLocation('http://10.42.0.5:8080/a/b', target, prefix), `${prefix}/a/b`);
    assert.equal(rewriteLocation('http://example.com/a', target, prefix), undefined);
    assert.equal(rewriteLocation('relative/path', target, prefix), undefined);
    assert.equal(rewriteLocation('//other.host/x', target, prefix), undefined);
  });
});
