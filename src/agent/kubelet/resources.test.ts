import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { containerResources, milliCpuToQuota, milliCpuToShares, milliValue, oomScoreAdj, podRequests, qosClassOf, wholeValue } from './resources.ts';

const GiB = 1024 ** 3;

describe('quantities', () => {
  it('milli and whole values round up', () => {
    assert.equal(milliValue('250m'), 250);
    assert.equal(milliValue('1.5'), 1500);
    assert.equal(milliValue('0.0001'), 1);
    assert.equal(wholeValue('64Mi'), 64 * 1024 * 1024);
    assert.equal(wholeValue('1k'), 1000);
    assert.equal(wholeValue(undefined), 0);
  });
});

describe('QoS class', () => {
  it('BestEffort, Burstable, Guaranteed', () => {
    assert.equal(qosClassOf({ containers: [{ name: 'a' }] }), 'BestEffort');
    assert.equal(qosClassOf({ containers: [{ name: 'a', resources: { requests: { cpu: '100m' } } }] }), 'Burstable');
    assert.equal(qosClassOf({ containers: [{ name: 'a', resources: { limits: { cpu: '1', memory: '1Gi' } } }] }), 'Guaranteed');
    assert.equal(qosClassOf({ containers: [{ name: 'a', resources: { limits: { cpu: '1', memory: '1Gi' }, requests: { cpu: '500m', memory: '1Gi' } } }] }), 'Burstable');
    assert.equal(qosClassOf({ containers: [{ name: 'a', resources: { limits: { cpu: '1', memory: '1Gi' } } }, { name: 'b' }] }), 'Burstable');
  });
});

describe('cgroup values (kubelet arithmetic)', () => {
  it('cpu shares', () => {
    assert.equal(milliCpuToShares(0), 2);
    assert.equal(milliCpuToShares(1), 2);
    assert.equal(milliCpuToShares(100), 102);
    assert.equal(milliCpuToShares(1000), 1024);
    assert.equal(milliCpuToShares(10_000_000), 262144);
  });
  it('cpu quota', () => {
    assert.equal(milliCpuToQuota(0), 0);
    assert.equal(milliCpuToQuota(500), 50_000);
    assert.equal(milliCpuToQuota(1), 1000);
    assert.equal(milliCpuToQuota(2000), 200_000);
  });
  it('oom_score_adj by QoS', () => {
    const container = { name: 'a', resources: { requests: { memory: '1Gi' } } };
    assert.equal(oomScoreAdj({ qos: 'Guaranteed', container, memoryCapacityBytes: 4 * GiB }), -997);
    assert.equal(oomScoreAdj({ qos: 'BestEffort', container: { name: 'a' }, memoryCapacityBytes: 4 * GiB }), 1000);
    assert.equal(oomScoreAdj({ qos: 'Burstable', container, memoryCapacityBytes: 4 * GiB }), 750);
    assert.equal(oomScoreAdj({ qos: 'Burstable', container: { name: 'a', resources: { requests: { memory: '4Gi' } } }, memoryCapacityBytes: 4 * GiB }), 3);
    assert.equal(oomScoreAdj({ qos: 'Burstable', container: { name: 'a', resources: { requests: { cpu: '1' } } }, memoryCapacityBytes: 4 * GiB }), 999);
    assert.equal(oomScoreAdj({ qos: 'BestEffort', container: { name: 'a' }, memoryCapacityBytes: 4 * GiB, priority: 2_000_001_000 }), -997);
  });
  it('container resources: shares from the request (or the limit), quota and memory from limits', () => {
    assert.deepEqual(containerResources({ container: { name: 'a', resources: { requests: { cpu: '250m' }, limits: { cpu: '500m', memory: '128Mi' } } }, qos: 'Burstable', memoryCapacityBytes: 4 * GiB }),
      { cpuShares: 256, cpuQuotaMicros: 50_000, cpuPeriodMicros: 100_000, memoryLimitBytes: 128 * 1024 * 1024, oomScoreAdj: 1000 - 1 });
    assert.deepEqual(containerResources({ container: { name: 'a', resources: { limits: { cpu: '1' } } }, qos: 'Burstable', memoryCapacityBytes: GiB }),
      { cpuShares: 1024, cpuQuotaMicros: 100_000, cpuPeriodMicros: 100_000, oomScoreAdj: 999 });
    assert.deepEqual(containerResources({ container: { name: 'a' }, qos: 'BestEffort', memoryCapacityBytes: GiB }), { cpuShares: 2, oomScoreAdj: 1000 });
  });
});

describe('pod requests for admission', () => {
  it('max of (apps + sidecars) and the init peak, plus overhead', () => {
    const r = podRequests({
      containers: [{ name: 'a', resources: { requests: { cpu: '100m', memory: '100Mi' } } }, { name: 'b', resources: { requests: { cpu: '200m' } } }],
      initContainers: [
        { name: 'sidecar', restartPolicy: 'Always', resources: { requests: { cpu: '50m' } } },
        { name: 'big-init', resources: { requests: { cpu: '1', memory: '50Mi' } } },
      ],
      overhead: { cpu: '10m' },
    });
    assert.equal(r.get('cpu'), 1050 + 10);
    assert.equal(r.get('memory'), 100 * 1024 * 1024);
  });
  it('limits stand in for absent requests', () => {
    assert.equal(podRequests({ containers: [{ name: 'a', resources: { limits: { cpu: '2' } } }] }).get('cpu'), 2000);
  });
});
