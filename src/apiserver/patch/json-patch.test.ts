import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { applyJsonPatch, MAX_JSON_PATCH_OPERATIONS } from './json-patch.ts';
import { PatchError } from './errors.ts';

const pod = () => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'web', labels: { app: 'web' }, finalizers: ['a', 'b'] },
  spec: { containers: [{ name: 'nginx', image: 'nginx:1.25' }] },
});

function patchError(fn: () => unknown): PatchError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof PatchError, `expected a PatchError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected a PatchError');
}

describe('applyJsonPatch', () => {
  it('applies add, replace, remove, move, copy and test in order', () => {
    const result = applyJsonPatch(pod(), [
      { op: 'test', path: '/metadata/labels/app', value: 'web' },
      { op: 'add', path: '/metadata/labels/tier', value: 'front' },
      { op: 'replace', path: '/spec/containers/0/image', value: 'nginx:1.26' },
      { op: 'remove', path: '/metadata/finalizers/0' },
      { op: 'add', path: '/metadata/finalizers/-', value: 'c' },
      { op: 'copy', from: '/metadata/labels/app', path: '/metadata/annotations' },
      { op: 'move', from: '/metadata/annotations', path: '/metadata/labels/copied' },
    ]);
    assert.deepEqual(result, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'web', labels: { app: 'web', tier: 'front', copied: 'web' }, finalizers: ['b', 'c'] },
      spec: { containers: [{ name: 'nginx', image: 'nginx:1.26' }] },
    });
  });

  it('escapes ~1 and ~0 in paths (annotation keys with slashes)', () => {
    const result = applyJsonPatch(pod(), [
      { op: 'add', path: '/metadata/labels/app.kubernetes.io~1name', value: 'x' },
      { op: 'add', path: '/metadata/labels/a~0b', value: 'y' },
    ]) as { metadata: { labels: Record<string, string> } };
    assert.equal(result.metadata.labels['app.kubernetes.io/name'], 'x');
    assert.equal(result.metadata.labels['a~b'], 'y');
  });

  it('is atomic: a failing test op leaves the original untouched and applies nothing', () => {
    const original = pod();
    const before = structuredClone(original);
    const error = patchError(() => applyJsonPatch(original, [
      { op: 'replace', path: '/spec/containers/0/image', value: 'evil' },
      { op: 'test', path: '/metadata/labels/app', value: 'db' },
    ]));
    assert.equal(error.code, 422);
    assert.match(error.message, /operation 1: test failed: value at \/metadata\/labels\/app/);
    assert.deepEqual(original, before);
  });

  it('never modifies the original on success either', () => {
    const original = pod();
    const before = structuredClone(original);
    const result = applyJsonPatch(original, [{ op: 'remove', path: '/metadata/labels' }]);
    assert.deepEqual(original, before);
    assert.notEqual(result, original);
  });

  it('answers 422 for operations that cannot be applied', () => {
    const cases: unknown[][] = [
      [{ op: 'remove', path: '/metadata/missing' }],
      [{ op: 'replace', path: '/nope/deeper', value: 1 }],
      [{ op: 'add', path: '/metadata/finalizers/9', value: 'x' }],
      [{ op: 'move', from: '/missing', path: '/x' }],
      [{ op: 'frobnicate', path: '/x' }],
      [{ op: '_get', path: '/metadata' }], // fast-json-patch private op: not RFC 6902
      [{ path: '/x', value: 1 }],
      [{ op: 'add', value: 1 }],
      [{ op: 'add', path: 'metadata', value: 1 }],
      [{ op: 'add', path: '/x' }],
      [{ op: 'copy', path: '/x' }],
    ];
    for (const ops of cases) {
      const error = patchError(() => applyJsonPatch(pod(), ops));
      assert.equal(error.code, 422, JSON.stringify(ops));
      assert.doesNotMatch(error.message, /"kind": "Pod"/, 'the message must not dump the document');
    }
  });

  it('answers 400 when the document is not a list of operation objects', () => {
    for (const bad of [{ op: 'add' }, 'add', null, 42, [1], [null], [[]]]) {
      const error = patchError(() => applyJsonPatch(pod(), bad));
      assert.equal(error.code, 400, JSON.stringify(bad));
      assert.equal(error.reason, 'BadRequest');
    }
  });

  it('answers 413 above the operation limit, as upstream', () => {
    const ops = Array.from({ length: MAX_JSON_PATCH_OPERATIONS + 1 }, () => ({ op: 'test', path: '/kind', value: 'Pod' }));
    const error = patchError(() => applyJsonPatch(pod(), ops));
    assert.equal(error.code, 413);
    assert.match(String(error.toStatus().message), /^Request entity too large: The allowed maximum operations in a JSON patch is 10000, got 10001$/);
  });

  it('rejects a result that is no longer an object', () => {
    const error = patchError(() => applyJsonPatch(pod(), [{ op: 'replace', path: '', value: [1] }]));
    assert.equal(error.code, 422);
  });

  it('refuses prototype paths without polluting anything', () => {
    const error = patchError(() => applyJsonPatch({}, [{ op: 'add', path: '/__proto__/polluted', value: 1 }]));
    assert.equal(error.code, 422);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  it('renders a 422 Status the way upstream does', () => {
    const error = patchError(() => applyJsonPatch(pod(), [{ op: 'remove', path: '/missing' }]));
    assert.deepEqual(error.toStatus(), {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'the server rejected our request due to an error in our request',
      reason: 'Invalid',
      details: { causes: [{ message: error.message }] },
      code: 422,
    });
  });
});
