import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KeyCodec, prefixEnd, toEtcdRevision, toStoreRevision } from './codec.ts';
import { classify } from './connection.ts';

const bytes = (buffer: Buffer) => [...buffer];

describe('etcd codec', () => {
  it('ends a prefix range after the last key with that prefix, in bytes', () => {
    assert.deepEqual(bytes(prefixEnd(Buffer.from('/a/'))), bytes(Buffer.from('/a0')));
    assert.deepEqual(bytes(prefixEnd(Buffer.from([0x61, 0xff, 0xff]))), [0x62]);
    assert.deepEqual(bytes(prefixEnd(Buffer.from([0xff]))), [0]);
    assert.deepEqual(bytes(prefixEnd(Buffer.alloc(0))), [0]);
    // A multi-byte last character: the range covers its continuation bytes.
    assert.deepEqual(bytes(prefixEnd(Buffer.from('中'))), [0xe4, 0xb8, 0xae]);
  });

  it('maps keys below the key prefix and ranges strictly after a key', () => {
    const codec = new KeyCodec('/c');
    assert.equal(codec.encode('/registry/x').toString(), '/c/registry/x');
    assert.equal(codec.decode(Buffer.from('/c/registry/x')), '/registry/x');
    const range = codec.range('/p/', '/p/b');
    assert.equal(range.key.toString(), '/c/p/b\u0000');
    assert.equal(range.range_end.toString(), '/c/p0');
    assert.equal(codec.range('/p/', '/a').key.toString(), '/c/p/', 'an after-key before the prefix starts at the prefix');
    const all = new KeyCodec('').range('');
    assert.deepEqual([bytes(all.key), bytes(all.range_end)], [[0], [0]]);
  });

  it('offsets revisions by one (an empty etcd is at revision 1)', () => {
    assert.equal(toStoreRevision('1'), 0);
    assert.equal(toEtcdRevision(0), 1);
    assert.equal(toStoreRevision(toEtcdRevision(41)), 41);
  });

  it('tells unsent, unavailable and timed-out calls from etcd answers', () => {
    assert.equal(classify(new Error('14 UNAVAILABLE: No connection established. Last error: connect ECONNREFUSED 127.0.0.1:1')), 'unsent');
    assert.equal(classify(new Error('14 UNAVAILABLE: Connection dropped')), 'unavailable');
    assert.equal(classify(new Error('14 UNAVAILABLE: etcdserver: leader changed')), 'unavailable');
    assert.equal(classify(new Error('4 DEADLINE_EXCEEDED: Deadline exceeded after 5.001s')), 'timeout');
    assert.equal(classify(new Error('11 OUT_OF_RANGE: etcdserver: mvcc: required revision has been compacted')), 'answer');
  });
});
