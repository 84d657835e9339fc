import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { applyMergePatch, mergeValue } from './merge-patch.ts';
import { PatchError } from './errors.ts';

describe('mergeValue (RFC 7386)', () => {
  // The test vectors of RFC 7386, appendix A.
  const vectors: Array<[unknown, unknown, unknown]> = [
    [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
    [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
    [{ a: 'b' }, { a: null }, {}],
    [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
    [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
    [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
    [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
    [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
    [['a', 'b'], ['c', 'd'], ['c', 'd']],
    [{ a: 'b' }, ['c'], ['c']],
    [{ a: 'foo' }, null, null],
    [{ a: 'foo' }, 'bar', 'bar'],
    [{ e: null }, { a: 1 }, { e: null, a: 1 }],
    [[1, 2], { a: 'b', c: null }, { a: 'b' }],
    [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
  ];
  for (const [target, patch, expected] of vectors) {
    it(`${JSON.stringify(target)} + ${JSON.stringify(patch)}`, () => {
      assert.deepEqual(mergeValue(target, patch), expected);
    });
  }
});

describe('applyMergePatch', () => {
  it('merges what kubectl scale and CRD apply send', () => {
    const deployment = { kind: 'Deployment', metadata: { name: 'x', labels: { a: '1', b: '2' } }, spec: { replicas: 1, paused: true } };
    assert.deepEqual(applyMergePatch(deployment, { spec: { replicas: 3, paused: null }, metadata: { labels: { b: null, c: '3' } } }), {
      kind: 'Deployment', metadata: { name: 'x', labels: { a: '1', c: '3' } }, spec: { replicas: 3 },
    });
  });

  it('replaces lists whole (no merge keys in a merge patch)', () => {
    const pod = { spec: { containers: [{ name: 'a', image: 'a' }, { name: 'b', image: 'b' }] } };
    assert.deepEqual(applyMergePatch(pod, { spec: { containers: [{ name: 'b', image: 'b2' }] } }), {
      spec: { containers: [{ name: 'b', image: 'b2' }] },
    });
  });

  it('modifies neither argument and shares no structure with them', () => {
    const original = { metadata: { labels: { a: '1' } }, spec: { list: [1, 2], keep: { deep: true } } };
    const patch = { metadata: { labels: { b: '2' } }, spec: { added: { x: [1] } } };
    const before = structuredClone(original);
    const patchBefore = structuredClone(patch);
    const result = applyMergePatch(original, patch) as typeof original & { spec: { added: { x: number[] } } };
    assert.deepEqual(original, before);
    assert.deepEqual(patch, patchBefore);
    result.spec.keep.deep = false;
    result.spec.list.push(3);
    result.spec.added.x.push(2);
    assert.deepEqual(original, before);
    assert.deepEqual(patch, patchBefore);
  });

  it('keeps "__proto__" as an ordinary member', () => {
    const patch = JSON.parse('{"metadata":{"__proto__":{"polluted":true}}}');
    const result = applyMergePatch({ metadata: {} }, patch) as { metadata: Record<string, unknown> };
    assert.ok(Object.hasOwn(result.metadata, '__proto__'));
    assert.equal(Object.getPrototypeOf(result.metadata), Object.prototype);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  it('answers 400 for a patch that is not an object', () => {
    for (const bad of [null, [], 'x', 1]) {
      assert.throws(() => applyMergePatch({}, bad), (e: unknown) => e instanceof PatchError && e.code === 400);
    }
  });
});
