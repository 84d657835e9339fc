import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { splitSchemeNamePort } from './proxy.ts';

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
});
