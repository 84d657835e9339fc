import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { computePodRequests, isExtendedResourceName, isScalarResourceName, milliValue, wholeValue, DEFAULT_MEMORY_REQUEST, DEFAULT_MILLI_CPU_REQUEST } from './resources.ts';
import { makePod } from '../testing/harness.ts';

describe('quantities', () => {
  it('converts cpu to milli-cores and the rest to whole units, rounding up', () => {
    assert.equal(milliValue('100m'), 100);
    assert.equal(milliValue('1'), 1000);
    assert.equal(milliValue('0.5'), 500);
    assert.equal(milliValue('0.0001'), 1);
    assert.equal(milliValue(2), 2000);
    assert.equal(wholeValue('128Mi'), 128 * 1024 * 1024);
    assert.equal(wholeValue('1G'), 1e9);
    assert.equal(wholeValue('1e3'), 1000);
    assert.equal(wholeValue('1.5'), 2);
    assert.equal(wholeValue('500m'), 1);
    assert.equal(wholeValue('garbage'), 0);
  });

  it('classifies resource names', () => {
    assert.ok(isScalarResourceName('example.com/gpu'));
    assert.ok(isScalarResourceName('hugepages-2Mi'));
    assert.ok(!isScalarResourceName('cpu'));
    assert.ok(isExtendedResourceName('nvidia.com/gpu'));
    assert.ok(!isExtendedResourceName('kubernetes.io/something'));
    assert.ok(!isExtendedResourceName('hugepages-2Mi'));
  });
});

describe('pod requests', () => {
  it('sums containers and takes the max with each init container', () => {
    const pod = makePod({
      name: 'p',
      initContainers: [{ cpu: '2', memory: '1G' }, { cpu: '2', memory: '3G' }],
      containers: [{ cpu: '2', memory: '1G' }, { cpu: '1', memory: '1G' }],
    });
    const r = computePodRequests(pod);
    assert.equal(r.requests.milliCPU, 3000);
    assert.equal(r.requests.memory, 3e9);
  });

  it('counts sidecars (restartPolicy Always) with the containers and under later init containers', () => {
    const pod = makePod({
      name: 'p',
      initContainers: [{ cpu: '500m', restartPolicy: 'Always' }, { cpu: '2' }],
      containers: [{ cpu: '1' }],
    });
    // regular: 1 + sidecar 0.5 = 1.5; init peak: 2 + sidecar 0.5 = 2.5
    assert.equal(computePodRequests(pod).requests.milliCPU, 2500);
    const small = makePod({ name: 'q', initContainers: [{ cpu: '500m', restartPolicy: 'Always' }, { cpu: '100m' }], containers: [{ cpu: '1' }] });
    assert.equal(computePodRequests(small).requests.milliCPU, 1500);
  });

  it('adds overhead and extended resources; pod-level requests replace container sums', () => {
    const pod = makePod({ name: 'p', cpu: '1', memory: '1Gi', extended: { 'example.com/gpu': 2 }, overhead: { cpu: '250m', memory: '100Mi' } });
    const r = computePodRequests(pod);
    assert.equal(r.requests.milliCPU, 1250);
    assert.equal(r.requests.memory, 1024 ** 3 + 100 * 1024 ** 2);
    assert.equal(r.requests.get('example.com/gpu'), 2);
    pod.spec!.resources = { requests: { cpu: '3' } };
    assert.equal(computePodRequests(pod).requests.milliCPU, 3250);
  });

  it('counts missing CPU/memory requests at the defaults for scoring only', () => {
    const r = computePodRequests(makePod({ name: 'p' }));
    assert.equal(r.requests.milliCPU, 0);
    assert.equal(r.nonZeroMilliCPU, DEFAULT_MILLI_CPU_REQUEST);
    assert.equal(r.nonZeroMemory, DEFAULT_MEMORY_REQUEST);
    const explicitZero = computePodRequests(makePod({ name: 'q', cpu: 0, memory: 0 }));
    assert.equal(explicitZero.nonZeroMilliCPU, 0);
  });
});
