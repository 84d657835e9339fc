import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { aggregateMessage, applyLimitRangeDefaults, claimLimitViolations, LIMIT_RANGER_ANNOTATION, podLimitViolations, type DefaultablePod, type LimitRangeLike } from './limit-ranges.ts';
import { validateLimitRange } from '../validation/limit-range.ts';
import { formatFieldError } from '../validation/errors.ts';

const range = (...limits: NonNullable<LimitRangeLike['spec']>['limits'] & object): LimitRangeLike => ({ metadata: { name: 'lr' }, spec: { limits } });
const pod = (...containers: { name: string; resources?: { requests?: Record<string, string>; limits?: Record<string, string> } }[]): DefaultablePod =>
  ({ metadata: {}, spec: { containers } });

describe('LimitRange defaults', () => {
  it('fill missing requests and limits and say so in the annotation', () => {
    const p = pod({ name: 'web' }, { name: 'side', resources: { limits: { cpu: '1' }, requests: { cpu: '1' } } });
    const changed = applyLimitRangeDefaults(range({ type: 'Container', default: { cpu: '0.5', memory: '256Mi' }, defaultRequest: { cpu: '100m', memory: '128Mi' } }), p);
    assert.equal(changed, true);
    assert.deepEqual(p.spec!.containers![0].resources, { limits: { cpu: '500m', memory: '256Mi' }, requests: { cpu: '100m', memory: '128Mi' } });
    assert.deepEqual(p.spec!.containers![1].resources, { limits: { cpu: '1', memory: '256Mi' }, requests: { cpu: '1', memory: '128Mi' } });
    assert.equal(p.metadata.annotations![LIMIT_RANGER_ANNOTATION],
      'LimitRanger plugin set: cpu, memory request for container web; cpu, memory limit for container web; memory request for container side; memory limit for container side');
  });
  it('leave a pod that names everything alone', () => {
    const p = pod({ name: 'web', resources: { limits: { cpu: '1' }, requests: { cpu: '1' } } });
    assert.equal(applyLimitRangeDefaults(range({ type: 'Container', default: { cpu: '2' }, defaultRequest: { cpu: '1' } }), p), false);
    assert.equal(p.metadata.annotations, undefined);
  });
});

describe('LimitRange constraints', () => {
  it('min and max per container, with upstream\'s messages', () => {
    const lr = range({ type: 'Container', min: { cpu: '100m' }, max: { memory: '1Gi' } });
    assert.deepEqual(podLimitViolations(lr, pod({ name: 'a', resources: { requests: { cpu: '50m', memory: '1Gi' }, limits: { memory: '2Gi' } } })), [
      'minimum cpu usage per Container is 100m, but request is 50m',
      'maximum memory usage per Container is 1Gi, but limit is 2Gi',
    ]);
    assert.deepEqual(podLimitViolations(lr, pod({ name: 'a', resources: { requests: { memory: '1Gi' } } })), [
      'minimum cpu usage per Container is 100m.  No request is specified',
      'maximum memory usage per Container is 1Gi.  No limit is specified',
    ]);
    assert.deepEqual(podLimitViolations(lr, pod({ name: 'a', resources: { requests: { cpu: '0.1' }, limits: { memory: '1024Mi' } } })), []);
  });
  it('the limit/request ratio', () => {
    const lr = range({ type: 'Container', maxLimitRequestRatio: { cpu: '2' } });
    assert.deepEqual(podLimitViolations(lr, pod({ name: 'a', resources: { requests: { cpu: '100m' }, limits: { cpu: '300m' } } })),
      ['cpu max limit to request ratio per Container is 2, but provided ratio is 3.000000']);
    assert.deepEqual(podLimitViolations(lr, pod({ name: 'a', resources: { limits: { cpu: '300m' } } })),
      ['cpu max limit to request ratio per Container is 2, but no request is specified or request is 0']);
  });
  it('Pod items check the pod\'s totals', () => {
    const lr = range({ type: 'Pod', max: { cpu: '1' } });
    const p = pod({ name: 'a', resources: { requests: { cpu: '600m' }, limits: { cpu: '600m' } } }, { name: 'b', resources: { requests: { cpu: '600m' }, limits: { cpu: '600m' } } });
    assert.deepEqual(podLimitViolations(lr, p), ['maximum cpu usage per Pod is 1, but limit is 1200m']);
  });
  it('claims: min and max storage of the request', () => {
    const lr = range({ type: 'PersistentVolumeClaim', min: { storage: '1Gi' }, max: { storage: '10Gi' } });
    assert.deepEqual(claimLimitViolations(lr, { spec: { resources: { requests: { storage: '20Gi' } } } }), ['maximum storage usage per PersistentVolumeClaim is 10Gi, but request is 20Gi']);
    assert.deepEqual(claimLimitViolations(lr, { spec: { resources: { requests: { storage: '500Mi' } } } }), ['minimum storage usage per PersistentVolumeClaim is 1Gi, but request is 500Mi']);
    assert.deepEqual(claimLimitViolations(lr, { spec: { resources: { requests: { storage: '5Gi' } } } }), []);
  });
  it('several errors aggregate as upstream prints them', () => {
    assert.equal(aggregateMessage(['a']), 'a');
    assert.equal(aggregateMessage(['a', 'b']), '[a, b]');
  });
});

describe('LimitRange validation', () => {
  const messages = (lr: unknown) => validateLimitRange(lr).map(formatFieldError);
  it('accepts a consistent range', () => {
    assert.deepEqual(messages(range({ type: 'Container', min: { cpu: '100m' }, max: { cpu: '2' }, default: { cpu: '1' }, defaultRequest: { cpu: '500m' }, maxLimitRequestRatio: { cpu: '4' } })), []);
  });
  it('refuses defaults outside min/max and duplicate types', () => {
    const errs = messages(range(
      { type: 'Container', min: { cpu: '200m' }, max: { cpu: '1' }, default: { cpu: '2' }, defaultRequest: { cpu: '100m' } },
      { type: 'Container' },
    ));
    assert.ok(errs.some((e) => e.includes('spec.limits[0].defaultRequest[cpu]') && e.includes('min value 200m is greater than default request value 100m')), errs.join('\n'));
    assert.ok(errs.some((e) => e.includes('spec.limits[0].default[cpu]') && e.includes('default value 2 is greater than max value 1')), errs.join('\n'));
    assert.ok(errs.some((e) => e.startsWith('spec.limits[1].type: Duplicate value')), errs.join('\n'));
  });
  it('Pod items take no defaults; claim items need min or max storage', () => {
    const errs = messages(range({ type: 'Pod', default: { cpu: '1' } }, { type: 'PersistentVolumeClaim' }));
    assert.ok(errs.some((e) => e.includes("spec.limits[0].default: Forbidden: may not be specified when `type` is 'Pod'")), errs.join('\n'));
    assert.ok(errs.some((e) => e.includes('spec.limits[1].limits: Required value: either minimum or maximum storage value is required')), errs.join('\n'));
  });
});
