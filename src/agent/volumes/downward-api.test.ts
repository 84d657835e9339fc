import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { extractFieldPath, formatMap, goQuote, resourceFieldValue } from './downward-api.ts';
import type { Pod } from './types-internal.ts';

const pod: Pod = {
  metadata: { name: 'web', namespace: 'ns', uid: 'u-1', labels: { b: '2', a: 'x"y' }, annotations: { note: 'line\nbreak' } },
  spec: {
    containers: [
      { name: 'app', resources: { limits: { cpu: '250m', memory: '64Mi' }, requests: { cpu: '100m', memory: '32Mi' } } },
      { name: 'bare' },
    ],
  },
};

describe('downward API values', () => {
  it('quotes as Go %q and formats maps sorted, without a trailing newline', () => {
    assert.equal(goQuote('a"b\\c\td\x01é'), '"a\\"b\\\\c\\td\\x01é"');
    assert.equal(formatMap({ b: '2', a: '1' }), 'a="1"\nb="2"');
    assert.equal(formatMap(undefined), '');
  });

  it('projects metadata fields', () => {
    assert.equal(extractFieldPath(pod, 'metadata.name'), 'web');
    assert.equal(extractFieldPath(pod, 'metadata.namespace'), 'ns');
    assert.equal(extractFieldPath(pod, 'metadata.uid'), 'u-1');
    assert.equal(extractFieldPath(pod, 'metadata.labels'), 'a="x\\"y"\nb="2"');
    assert.equal(extractFieldPath(pod, 'metadata.annotations'), 'note="line\\nbreak"');
    assert.equal(extractFieldPath(pod, "metadata.labels['b']"), '2');
    assert.equal(extractFieldPath(pod, "metadata.labels['missing']"), '');
    assert.throws(() => extractFieldPath(pod, 'spec.nodeName'), { message: 'unsupported fieldPath: spec.nodeName' });
  });

  it('divides resources rounding up, with node allocatable for unset limits', () => {
    const nodeAllocatable = { cpu: '2', memory: '4Gi' };
    const value = (resource: string, containerName = 'app', divisor?: string) => resourceFieldValue({ pod, ref: { containerName, resource, divisor }, nodeAllocatable });
    assert.equal(value('limits.cpu'), '1');
    assert.equal(value('limits.cpu', 'app', '1m'), '250');
    assert.equal(value('requests.cpu', 'app', '1m'), '100');
    assert.equal(value('limits.memory'), String(64 * 1024 * 1024));
    assert.equal(value('limits.memory', 'app', '1Mi'), '64');
    assert.equal(value('requests.memory', 'app', '1Mi'), '32');
    assert.equal(value('limits.cpu', 'bare'), '2');
    assert.equal(value('limits.memory', 'bare', '1Gi'), '4');
    assert.throws(() => value('limits.cpu', 'nope'), /failed to find container "nope"/);
  });
});
