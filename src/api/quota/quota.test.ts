import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  addAmounts, amountOf, calculateQuotaUsage, checkQuotas, evaluatorFor, evaluatorsForNames, formatAmount, podEvaluator,
  podMatchesScope, prettyPrint, pvcEvaluator, QuotaRefusal, serviceEvaluator, usageToJson, type QuotaObject, type ResourceQuotaLike,
} from './index.ts';

const now = new Date('2025-01-01T00:00:00Z');
const fmt = (s: string) => formatAmount(amountOf(s)!);

describe('quantities', () => {
  it('print canonically as resource.Quantity does', () => {
    assert.equal(fmt('0.5'), '500m');
    assert.equal(fmt('1.5'), '1500m');
    assert.equal(fmt('2000'), '2k');
    assert.equal(fmt('1500'), '1500');
    assert.equal(fmt('1.5Gi'), '1536Mi');
    assert.equal(fmt('0.5Ki'), '512');
    assert.equal(fmt('12e10'), '120e9');
    assert.equal(fmt('0.0000000001'), '1n');
    assert.equal(fmt('0'), '0');
  });
  it('keep the first non-zero operand\'s format in sums', () => {
    assert.equal(formatAmount(addAmounts(amountOf('128Mi')!, amountOf('128Mi')!)), '256Mi');
    assert.equal(formatAmount(addAmounts(amountOf('0')!, amountOf('1Gi')!)), '1Gi');
    assert.equal(formatAmount(addAmounts(amountOf('500m')!, amountOf('0.5')!)), '1');
  });
});

const container = (name: string, requests?: Record<string, string>, limits?: Record<string, string>) => ({ name, resources: { requests, limits } });
const pod = (spec: Record<string, unknown>, extra: Partial<QuotaObject> = {}): QuotaObject => ({ metadata: { name: 'p', namespace: 'ns' }, spec, ...extra });

describe('pod usage', () => {
  it('sums containers and sidecars, takes the init peak, adds overhead', () => {
    const usage = podEvaluator.usage(pod({
      containers: [container('a', { cpu: '100m', memory: '64Mi' }, { cpu: '200m' }), container('b', { cpu: '200m', memory: '64Mi' })],
      initContainers: [
        { ...container('side', { cpu: '50m' }), restartPolicy: 'Always' },
        container('init', { cpu: '1', memory: '32Mi' }),
      ],
      overhead: { cpu: '10m' },
    }), now);
    // containers + sidecar = 350m; init alone (1) + sidecars started before it (50m) = 1050m wins; + 10m overhead.
    assert.deepEqual(usageToJson(usage), {
      'count/pods': '1', cpu: '1060m', 'limits.cpu': '210m', memory: '128Mi', pods: '1', 'requests.cpu': '1060m', 'requests.memory': '128Mi',
    });
  });
  it('counts a finished pod only in count/pods', () => {
    const usage = podEvaluator.usage(pod({ containers: [container('a', { cpu: '1' })] }, { status: { phase: 'Succeeded' } }), now);
    assert.deepEqual(usageToJson(usage), { 'count/pods': '1' });
  });
  it('stops counting a pod stuck past its deletion grace period', () => {
    const deleting = pod({ containers: [] }, { metadata: { name: 'p', deletionTimestamp: '2024-12-31T23:59:00Z', deletionGracePeriodSeconds: 30 } });
    assert.deepEqual(usageToJson(podEvaluator.usage(deleting, now)), { 'count/pods': '1' });
  });
  it('charges extended resources and hugepages as requests.<name>', () => {
    const usage = podEvaluator.usage(pod({ containers: [container('a', { 'example.com/gpu': '2', 'hugepages-2Mi': '4Mi' })] }), now);
    assert.equal(formatAmount(usage.get('requests.example.com/gpu')!), '2');
    assert.equal(formatAmount(usage.get('requests.hugepages-2Mi')!), '4Mi');
  });
});

describe('other evaluators', () => {
  it('services count node ports and load balancers', () => {
    const lb = serviceEvaluator.usage({ spec: { type: 'LoadBalancer', ports: [{ port: 80 }, { port: 443 }] } }, now);
    assert.deepEqual(usageToJson(lb), { 'count/services': '1', services: '1', 'services.loadbalancers': '1', 'services.nodeports': '2' });
  });
  it('claims charge storage per class, rounded up to whole bytes', () => {
    const usage = pvcEvaluator.usage({ spec: { storageClassName: 'fast', resources: { requests: { storage: '1500m' } } } }, now);
    assert.deepEqual(usageToJson(usage), {
      'count/persistentvolumeclaims': '1', 'fast.storageclass.storage.k8s.io/persistentvolumeclaims': '1',
      'fast.storageclass.storage.k8s.io/requests.storage': '2', persistentvolumeclaims: '1', 'requests.storage': '2',
    });
  });
  it('counts any kind with count/<resource>.<group>, and the legacy names', () => {
    assert.deepEqual(usageToJson(evaluatorFor('apps', 'deployments').usage({}, now)), { 'count/deployments.apps': '1' });
    assert.deepEqual(usageToJson(evaluatorFor('', 'configmaps').usage({}, now)), { configmaps: '1', 'count/configmaps': '1' });
    assert.deepEqual(evaluatorsForNames(['pods', 'count/deployments.apps', 'secrets']).map((e) => `${e.group}/${e.resource}`), ['/pods', '/secrets', 'apps/deployments']);
  });
});

describe('scopes', () => {
  const bestEffort = pod({ containers: [container('a')] });
  const burstable = pod({ containers: [container('a', { memory: '1Mi' })], activeDeadlineSeconds: 10, priorityClassName: 'high' });
  it('BestEffort, Terminating and their opposites', () => {
    assert.equal(podMatchesScope(bestEffort as never, { scopeName: 'BestEffort', operator: 'Exists' }), true);
    assert.equal(podMatchesScope(burstable as never, { scopeName: 'NotBestEffort', operator: 'Exists' }), true);
    assert.equal(podMatchesScope(burstable as never, { scopeName: 'Terminating', operator: 'Exists' }), true);
    assert.equal(podMatchesScope(bestEffort as never, { scopeName: 'NotTerminating', operator: 'Exists' }), true);
  });
  it('PriorityClass with In, NotIn, Exists, DoesNotExist', () => {
    const m = (p: QuotaObject, operator: string, values?: string[]) => podMatchesScope(p as never, { scopeName: 'PriorityClass', operator, values });
    assert.equal(m(burstable, 'In', ['high']), true);
    assert.equal(m(burstable, 'NotIn', ['high']), false);
    assert.equal(m(bestEffort, 'NotIn', ['high']), true);
    assert.equal(m(bestEffort, 'Exists'), false);
    assert.equal(m(bestEffort, 'DoesNotExist'), true);
  });
  it('CrossNamespacePodAffinity', () => {
    const cross = pod({ containers: [], affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ namespaces: ['other'] }] } } });
    assert.equal(podMatchesScope(cross as never, { scopeName: 'CrossNamespacePodAffinity', operator: 'Exists' }), true);
    assert.equal(podMatchesScope(bestEffort as never, { scopeName: 'CrossNamespacePodAffinity', operator: 'Exists' }), false);
  });
});

const quota = (name: string, hard: Record<string, string>, used?: Record<string, string>, spec: Partial<ResourceQuotaLike['spec']> = {}): ResourceQuotaLike => ({
  metadata: { name, namespace: 'ns', resourceVersion: '5' },
  spec: { hard, ...spec },
  status: { hard, used: used ?? Object.fromEntries(Object.keys(hard).map((k) => [k, '0'])) },
});

const create = (object: QuotaObject) => ({ operation: 'CREATE' as const, subresource: '', object });
const refusal = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof QuotaRefusal, String(error));
    return error.message;
  }
  assert.fail('expected a refusal');
};

describe('checkQuotas', () => {
  const small = pod({ containers: [container('app', { cpu: '500m' }, { cpu: '500m' })] });
  it('charges each covering quota', () => {
    const charges = checkQuotas({ quotas: [quota('q', { pods: '2', 'requests.cpu': '1' }, { pods: '1', 'requests.cpu': '0' })], evaluator: podEvaluator, write: create(small), now });
    assert.equal(charges.length, 1);
    assert.equal(prettyPrint(charges[0].used), 'pods=2,requests.cpu=500m');
  });
  it('refuses beyond hard with upstream\'s message', () => {
    const message = refusal(() => checkQuotas({ quotas: [quota('q', { pods: '2' }, { pods: '2' })], evaluator: podEvaluator, write: create(small), now }));
    assert.equal(message, 'exceeded quota: q, requested: pods=1, used: pods=2, limited: pods=2');
  });
  it('refuses containers that do not name a quota\'d compute resource', () => {
    const bare = pod({ containers: [container('web'), container('log', { cpu: '1' })] });
    const message = refusal(() => checkQuotas({ quotas: [quota('compute', { 'limits.cpu': '2', 'requests.memory': '1Gi' })], evaluator: podEvaluator, write: create(bare), now }));
    assert.equal(message, 'failed quota: compute: must specify limits.cpu for: log,web; requests.memory for: log,web');
  });
  it('refuses while usage is unknown, ignores quotas without status.hard', () => {
    const unknown: ResourceQuotaLike = { metadata: { name: 'q' }, spec: { hard: { pods: '1' } }, status: { hard: { pods: '1' } } };
    assert.equal(refusal(() => checkQuotas({ quotas: [unknown], evaluator: podEvaluator, write: create(small), now })), 'status unknown for quota: q, resources: pods');
    const fresh: ResourceQuotaLike = { metadata: { name: 'q' }, spec: { hard: { pods: '1' } } };
    assert.deepEqual(checkQuotas({ quotas: [fresh], evaluator: podEvaluator, write: create(small), now }), []);
  });
  it('skips quotas whose scope the pod is outside', () => {
    const q = quota('be', { pods: '0' }, undefined, { scopes: ['BestEffort'] });
    assert.deepEqual(checkQuotas({ quotas: [q], evaluator: podEvaluator, write: create(small), now }), []);
  });
  it('charges a claim update only for the growth', () => {
    const old = { metadata: { name: 'c', resourceVersion: '3' }, spec: { resources: { requests: { storage: '1Gi' } } } };
    const grown = { metadata: { name: 'c', resourceVersion: '3' }, spec: { resources: { requests: { storage: '3Gi' } } } };
    const q = quota('s', { 'requests.storage': '4Gi' }, { 'requests.storage': '1Gi' });
    const [charge] = checkQuotas({ quotas: [q], evaluator: pvcEvaluator, write: { operation: 'UPDATE', subresource: '', object: grown, oldObject: old }, now });
    assert.equal(prettyPrint(charge.used), 'requests.storage=3Gi');
    const message = refusal(() => checkQuotas({
      quotas: [quota('s', { 'requests.storage': '2Gi' }, { 'requests.storage': '1Gi' })], evaluator: pvcEvaluator,
      write: { operation: 'UPDATE', subresource: '', object: grown, oldObject: old }, now,
    }));
    assert.equal(message, 'exceeded quota: s, requested: requests.storage=2Gi, used: requests.storage=1Gi, limited: requests.storage=2Gi');
  });
  it('ignores pod updates that keep the Terminating scope', () => {
    const update = { operation: 'UPDATE' as const, subresource: '', object: small, oldObject: small };
    assert.deepEqual(checkQuotas({ quotas: [quota('q', { pods: '0' })], evaluator: podEvaluator, write: update, now }), []);
  });
});

describe('calculateQuotaUsage', () => {
  it('sums the objects in scope, zero for what nothing uses', () => {
    const q = quota('q', { pods: '5', 'requests.cpu': '4', 'count/deployments.apps': '3', services: '2' }, undefined, { scopes: ['NotTerminating'] });
    const pods = [
      pod({ containers: [container('a', { cpu: '250m' })] }),
      pod({ containers: [container('a', { cpu: '250m' })] }),
      pod({ containers: [container('a', { cpu: '1' })], activeDeadlineSeconds: 5 }),
      pod({ containers: [container('a', { cpu: '1' })] }, { status: { phase: 'Failed' } }),
    ];
    const used = calculateQuotaUsage({ quota: q, objectsOf: (group, resource) => (resource === 'pods' ? pods : group === 'apps' ? [{}] : []), now });
    // Scoped quotas count only pods: services and deployments stay at zero.
    assert.deepEqual(usageToJson(used), { 'count/deployments.apps': '0', pods: '2', 'requests.cpu': '500m', services: '0' });
  });
});
