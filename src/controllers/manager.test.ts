// The controller manager: --controllers parsing, and leader election through
// a real Lease on the in-process server (one of two managers leads; when it
// stops the other takes over; an unreleased Lease must expire first).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { resources, type ApiClient, type KubeObject } from '../client/interface.ts';
import { createLeaderElector, type LeaseSpec } from '../client/leader-election.ts';
import type { ReplicaSet } from './framework/types.ts';
import { CONTROLLER_MANAGER_LEASE, startControllerManager, type ControllerManager } from './manager.ts';
import { controllerDescriptors, enabledControllers, isControllerEnabled, parseControllersFlag } from './registry.ts';
import { newClient, quietLogger, sleep, startFakeNodes, waitFor, type FakeNodes } from './testing/harness.ts';
import { startInProcessServer, type InProcessServer } from '../../test/support/in-process-server.ts';

describe('--controllers', () => {
  it('parses upstream syntax', () => {
    assert.deepEqual(parseControllersFlag(undefined), ['*']);
    assert.deepEqual(parseControllersFlag(''), ['*']);
    assert.deepEqual(parseControllersFlag('*,-cronjob'), ['*', '-cronjob']);
    assert.deepEqual(parseControllersFlag(' replicaset-controller , -deployment '), ['replicaset', '-deployment']);
    assert.throws(() => parseControllersFlag('*,-nosuch'), /"nosuch" is not in the list of known controllers/);
    assert.throws(() => parseControllersFlag('replicasets'), /not in the list of known controllers/);
  });

  it('decides like kube-controller-manager', () => {
    assert.equal(isControllerEnabled('deployment', ['*']), true);
    assert.equal(isControllerEnabled('deployment', ['*', '-deployment']), false);
    assert.equal(isControllerEnabled('deployment', ['-deployment', '*']), false);
    assert.equal(isControllerEnabled('deployment', ['replicaset']), false);
    assert.equal(isControllerEnabled('tokencleaner', ['*']), false, 'off by default');
    assert.equal(isControllerEnabled('tokencleaner', ['*', 'tokencleaner']), true);
    // "*" is every registered controller not off by default, in registry order; "-x" removes x.
    const all = controllerDescriptors.filter((d) => !d.disabledByDefault).map((d) => d.name);
    assert.ok(all.includes('cronjob') && all.includes('deployment'));
    assert.deepEqual(enabledControllers('*').map((d) => d.name), all);
    assert.deepEqual(enabledControllers('*,-cronjob').map((d) => d.name), all.filter((n) => n !== 'cronjob'));
    assert.deepEqual(enabledControllers('*,-deployment').map((d) => d.name), all.filter((n) => n !== 'deployment'));
    assert.deepEqual(enabledControllers('deployment').map((d) => d.name), ['deployment']);
    assert.deepEqual(enabledControllers('cronjob,job').map((d) => d.name), ['job', 'cronjob']);
  });

  it('rejects a bad value before starting anything', async () => {
    await assert.rejects(startControllerManager({ client: {} as ApiClient, controllers: 'bogus' }), /"bogus" is not in the list of known controllers/);
  });
});

describe('leader election', () => {
  let server: InProcessServer;
  let client: ApiClient;
  let nodes: FakeNodes;
  const warnings: string[] = [];
  const managers: ControllerManager[] = [];

  before(async () => {
    server = await startInProcessServer();
    client = newClient(server);
    nodes = startFakeNodes({ client });
  });

  after(async () => {
    for (const m of managers) await m.stop();
    await nodes?.stop();
    await client?.close();
    await server?.close();
  });

  const timing = { leaseDurationMs: 2000, renewDeadlineMs: 1500, retryPeriodMs: 100 };
  const lease = async () => (await client.get({ ...resources.leases, ...CONTROLLER_MANAGER_LEASE })).spec as LeaseSpec;
  const replicaSet = (name: string) => ({
    apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name },
    spec: { replicas: 2, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { terminationGracePeriodSeconds: 0, containers: [{ name: 'c', image: 'i' }] } } },
  });
  const reconciled = (name: string) => waitFor(`${name} reconciled`, async () =>
    (await client.get<ReplicaSet>({ group: 'apps', version: 'v1', resource: 'replicasets', namespace: 'default', name })).status?.readyReplicas === 2);

  it('one of two managers leads; when it stops the other takes over', async () => {
    for (const identity of ['cm-a', 'cm-b']) {
      managers.push(await startControllerManager({ client, leaderElection: true, identity, leaderElectionTiming: timing, controllers: 'replicaset', logger: quietLogger(warnings) }));
    }
    const leader = await waitFor('a leader', () => managers.find((m) => m.isLeading()));
    const follower = managers.find((m) => m !== leader)!;
    await sleep(300);
    assert.equal(follower.isLeading(), false, 'only one leads');
    const held = await lease();
    assert.equal(held.holderIdentity, leader.identity);
    assert.equal(held.leaseDurationSeconds, 2);
    assert.match(held.renewTime!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);

    await client.create({ group: 'apps', version: 'v1', resource: 'replicasets', namespace: 'default' }, replicaSet('one'));
    await reconciled('one');

    const stoppedAt = Date.now();
    await leader.stop();
    await waitFor('the follower leads', () => follower.isLeading());
    // Released, not expired: the takeover needs a retry period, not a lease duration.
    assert.ok(Date.now() - stoppedAt < 1500, `took over after ${Date.now() - stoppedAt} ms`);
    const taken = await lease();
    assert.equal(taken.holderIdentity, follower.identity);
    assert.ok((taken.leaseTransitions ?? 0) >= 1);

    await client.create({ group: 'apps', version: 'v1', resource: 'replicasets', namespace: 'default' }, replicaSet('two'));
    await reconciled('two');
  });

  it('waits for an unreleased lease to expire, judged by its own clock', async () => {
    const events: string[] = [];
    const elector = (identity: string, releaseOnStop: boolean) => createLeaderElector({
      client, namespace: 'default', name: 'crash-test', identity, releaseOnStop,
      leaseDurationMs: 1000, renewDeadlineMs: 800, retryPeriodMs: 50,
      onStartedLeading: () => { events.push(`${identity} started`); },
      onStoppedLeading: () => { events.push(`${identity} stopped`); },
      logger: quietLogger(warnings),
    });
    const a = elector('a', false);
    a.start();
    await waitFor('a leads', () => a.isLeader());
    const b = elector('b', true);
    b.start();
    try {
      await sleep(200);
      assert.equal(b.isLeader(), false);
      const crashedAt = Date.now();
      await a.stop(); // as if the process died: no release
      await waitFor('b leads', () => b.isLeader(), 5000);
      const waited = Date.now() - crashedAt;
      assert.ok(waited >= 700, `b took over after only ${waited} ms`);
      assert.deepEqual(events, ['a started', 'a stopped', 'b started']);
      const spec = (await client.get<KubeObject>({ ...resources.leases, namespace: 'default', name: 'crash-test' })).spec as LeaseSpec;
      assert.equal(spec.holderIdentity, 'b');
      assert.equal(spec.leaseTransitions, 1);
    } finally {
      await b.stop();
    }
    const released = (await client.get<KubeObject>({ ...resources.leases, namespace: 'default', name: 'crash-test' })).spec as LeaseSpec;
    assert.equal(released.holderIdentity, '');
  });
});
