// The disruption controller against a real API server in this process, with
// the ReplicaSet and Deployment controllers and stand-in nodes that report
// pods Running and Ready (and finish their deletions).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { PodDisruptionBudget } from '../../api/disruption/budget.ts';
import { resources, type KubeObject } from '../../client/interface.ts';
import type { Pod } from '../framework/types.ts';
import { HOLD_LABEL, startHarness, waitFor, type Harness } from '../testing/harness.ts';

const deployments = { group: 'apps', version: 'v1', resource: 'deployments' };
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

function deployment(name: string, replicas: number, labels: Record<string, string>) {
  return {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name },
    spec: {
      replicas, selector: { matchLabels: labels },
      template: { metadata: { labels }, spec: { terminationGracePeriodSeconds: 0, containers: [{ name: 'app', image: 'registry.example/app:1' }] } },
    },
  };
}

function budget(name: string, spec: Record<string, unknown>) {
  return { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name }, spec };
}

function barePod(name: string, labels: Record<string, string>, metadata: Record<string, unknown> = {}) {
  return {
    apiVersion: 'v1', kind: 'Pod', metadata: { name, labels, ...metadata },
    spec: { terminationGracePeriodSeconds: 0, containers: [{ name: 'app', image: 'registry.example/app:1' }] },
  };
}

describe('disruption controller', () => {
  let h: Harness;

  before(async () => {
    h = await startHarness({ controllers: 'disruption,replicaset,deployment' });
  });

  after(async () => {
    if (process.env.SHOW_WARNINGS) console.log(h?.warnings);
    await h?.stop();
  });

  const getPdb = (namespace: string, name: string) => h.client.get<PodDisruptionBudget>({ ...resources.podDisruptionBudgets, namespace, name });
  const createPdb = (namespace: string, name: string, spec: Record<string, unknown>) =>
    h.client.create<PodDisruptionBudget>({ ...resources.podDisruptionBudgets, namespace }, budget(name, spec));
  const statusWhere = (namespace: string, name: string, what: string, check: (s: NonNullable<PodDisruptionBudget['status']>) => boolean) =>
    waitFor(what, async () => {
      const pdb = await getPdb(namespace, name);
      return pdb.status && check(pdb.status) ? pdb : undefined;
    }, 20_000);
  const events = async (namespace: string, name: string) =>
    (await h.client.list<KubeObject & { reason: string; message: string; involvedObject: { name: string } }>({ ...resources.events, namespace }))
      .items.filter((e) => e.involvedObject.name === name);

  it('computes the status of an integer minAvailable from the selected pods', async () => {
    const ns = await h.namespace('pdb-min');
    await h.client.create({ ...deployments, namespace: ns }, deployment('web', 3, { app: 'web' }));
    await createPdb(ns, 'web', { minAvailable: 2, selector: { matchLabels: { app: 'web' } } });
    const pdb = await statusWhere(ns, 'web', 'allowed 1', (s) => s.currentHealthy === 3 && s.disruptionsAllowed === 1);
    const { conditions, ...numbers } = pdb.status!;
    assert.deepEqual(numbers, { observedGeneration: 1, disruptionsAllowed: 1, currentHealthy: 3, desiredHealthy: 2, expectedPods: 3 });
    assert.equal(conditions?.length, 1);
    assert.equal(conditions![0].type, 'DisruptionAllowed');
    assert.equal(conditions![0].status, 'True');
    assert.equal(conditions![0].reason, 'SufficientPods');
    assert.equal(conditions![0].observedGeneration, 1);

    // A spec change is observed (a new generation) and followed.
    await h.client.patch({ ...resources.podDisruptionBudgets, namespace: ns, name: 'web' }, 'merge', { spec: { minAvailable: 3 } });
    const tighter = await statusWhere(ns, 'web', 'generation 2 observed', (s) => s.observedGeneration === 2);
    assert.equal(tighter.status!.disruptionsAllowed, 0);
    assert.equal(tighter.status!.desiredHealthy, 3);
    assert.equal(tighter.status!.conditions![0].status, 'False');
    assert.equal(tighter.status!.conditions![0].reason, 'InsufficientPods');
  });

  it('sizes maxUnavailable and percentage budgets by the scale of the Deployment', async () => {
    const ns = await h.namespace('pdb-scale');
    await h.client.create({ ...deployments, namespace: ns }, deployment('api', 4, { app: 'api' }));
    await createPdb(ns, 'max', { maxUnavailable: 1, selector: { matchLabels: { app: 'api' } } });
    const max = await statusWhere(ns, 'max', 'max: 4 healthy', (s) => s.currentHealthy === 4);
    assert.equal(max.status!.expectedPods, 4);
    assert.equal(max.status!.desiredHealthy, 3);
    assert.equal(max.status!.disruptionsAllowed, 1);

    await h.client.delete({ ...resources.podDisruptionBudgets, namespace: ns, name: 'max' });
    await createPdb(ns, 'pct', { minAvailable: '30%', selector: { matchLabels: { app: 'api' } } });
    const pct = await statusWhere(ns, 'pct', 'pct: 4 healthy', (s) => s.currentHealthy === 4);
    // 30% of 4, rounded up.
    assert.equal(pct.status!.desiredHealthy, 2);
    assert.equal(pct.status!.disruptionsAllowed, 2);

    // Scaling the Deployment changes the expected count.
    await h.client.patch({ ...deployments, namespace: ns, name: 'api', subresource: 'scale' }, 'merge', { spec: { replicas: 6 } });
    const scaled = await statusWhere(ns, 'pct', 'expects 6', (s) => s.expectedPods === 6 && s.currentHealthy === 6);
    assert.equal(scaled.status!.desiredHealthy, 2);
  });

  it('an empty selector selects every pod of the namespace; an unready pod is not healthy', async () => {
    const ns = await h.namespace('pdb-empty');
    await h.client.create({ ...resources.pods, namespace: ns }, barePod('a', { x: '1' }));
    await h.client.create({ ...resources.pods, namespace: ns }, barePod('b', { y: '2', [HOLD_LABEL]: 'unready' }));
    await createPdb(ns, 'all', { minAvailable: 1, selector: {} });
    await statusWhere(ns, 'all', 'two pods seen, one healthy', (s) => s.expectedPods === 2 && s.currentHealthy === 1);
    // b never becomes ready: it must never count.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const pdb = await getPdb(ns, 'all');
    assert.equal(pdb.status!.currentHealthy, 1);
    assert.equal(pdb.status!.disruptionsAllowed, 0);
  });

  it('fails safe when the expected count cannot be computed, and warns about unmanaged pods', async () => {
    const ns = await h.namespace('pdb-fail');
    const jobOwner = { apiVersion: 'batch/v1', kind: 'Job', name: 'batch', uid: '6f1d0c9e-0000-4000-8000-000000000001', controller: true };
    await h.client.create({ ...resources.pods, namespace: ns }, barePod('job-pod', { app: 'job' }, { ownerReferences: [jobOwner] }));
    await createPdb(ns, 'job', { maxUnavailable: 1, selector: { matchLabels: { app: 'job' } } });
    const failed = await waitFor('SyncFailed', async () => {
      const pdb = await getPdb(ns, 'job');
      return pdb.status?.conditions?.find((c) => c.reason === 'SyncFailed') ? pdb : undefined;
    });
    const condition = failed.status!.conditions![0];
    assert.equal(condition.status, 'False');
    assert.equal(condition.message, 'jobs.batch does not implement the scale subresource');
    assert.equal(failed.status!.disruptionsAllowed, 0);
    await waitFor('CalculateExpectedPodCountFailed event', async () =>
      (await events(ns, 'job')).some((e) => e.reason === 'CalculateExpectedPodCountFailed'));

    await h.client.create({ ...resources.pods, namespace: ns }, barePod('loose', { app: 'loose' }));
    await createPdb(ns, 'loose', { minAvailable: '50%', selector: { matchLabels: { app: 'loose' } } });
    await waitFor('UnmanagedPods event', async () => (await events(ns, 'loose')).some((e) => e.reason === 'UnmanagedPods'));
    const loose = await statusWhere(ns, 'loose', 'synced', (s) => s.observedGeneration === 1);
    assert.equal(loose.status!.expectedPods, 0);
    assert.equal(loose.status!.disruptionsAllowed, 0);
  });

  it('keeps recent disruptedPods entries (not healthy meanwhile) and drops those that timed out', async () => {
    const ns = await h.namespace('pdb-disrupted');
    await h.client.create({ ...resources.pods, namespace: ns }, barePod('p1', { app: 'd' }));
    await h.client.create({ ...resources.pods, namespace: ns }, barePod('p2', { app: 'd' }));
    await createPdb(ns, 'd', { minAvailable: 1, selector: { matchLabels: { app: 'd' } } });
    const synced = await statusWhere(ns, 'd', 'two healthy', (s) => s.currentHealthy === 2);
    // As the eviction subresource would write them: one approved just now, one long ago (its deletion never came).
    const recent = iso(Date.now() - 5000);
    await h.client.update({ ...resources.podDisruptionBudgets, namespace: ns, name: 'd', subresource: 'status' }, {
      ...synced, status: { ...synced.status, disruptedPods: { p1: recent, p2: iso(Date.now() - 3 * 60_000) } },
    });
    const pruned = await statusWhere(ns, 'd', 'p2 dropped', (s) => !s.disruptedPods?.p2);
    assert.deepEqual(pruned.status!.disruptedPods, { p1: recent });
    assert.equal(pruned.status!.currentHealthy, 1);
    assert.equal(pruned.status!.disruptionsAllowed, 0);
    await waitFor('NotDeleted event', async () => (await events(ns, 'p2')).some((e) => e.reason === 'NotDeleted'));
  });

  it('resets a stale DisruptionTarget condition of a pod that was not deleted', async () => {
    const ns = await h.namespace('pdb-stale');
    await h.client.create({ ...resources.pods, namespace: ns }, barePod('s', { app: 's' }));
    const ref = { ...resources.pods, namespace: ns, name: 's' };
    const running = await waitFor('running', async () => {
      const p = await h.client.get<Pod>(ref);
      return p.status?.phase === 'Running' && p;
    });
    const conditions = [...(running.status!.conditions ?? []), {
      type: 'DisruptionTarget', status: 'True', reason: 'EvictionByEvictionAPI', message: 'Eviction API: evicting', lastTransitionTime: iso(Date.now() - 3 * 60_000),
    }];
    await h.client.update({ ...ref, subresource: 'status' }, { ...running, status: { ...running.status, conditions } });
    const reset = await waitFor('condition reset', async () => {
      const p = await h.client.get<Pod>(ref);
      const c = p.status?.conditions?.find((x) => x.type === 'DisruptionTarget');
      return c?.status === 'False' && c;
    });
    assert.equal(reset.reason, undefined);
  });
});
