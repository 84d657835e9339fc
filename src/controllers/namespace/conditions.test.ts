import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { builtinKinds } from '../../api/registry.ts';
import { CONDITION_TYPES, ConditionUpdater, type NamespaceCondition } from './conditions.ts';
import { deletableResources, discoveryFailureMessage, parseGroupVersion, registryDiscovery } from './discovery.ts';

const at = (time: string) => new ConditionUpdater({ now: () => time });
const byType = (conditions: NamespaceCondition[]) => Object.fromEntries(conditions.map((c) => [c.type, c]));

describe('namespace deletion conditions', () => {
  it('reports every owned condition False with its ok reason when nothing failed', () => {
    const { conditions, changed } = at('T1').apply(undefined);
    assert.equal(changed, true);
    assert.deepEqual(conditions.map((c) => c.type), [...CONDITION_TYPES]);
    assert.deepEqual(conditions.map((c) => `${c.status} ${c.reason}: ${c.message}`), [
      'False ResourcesDiscovered: All resources successfully discovered',
      'False ParsedGroupVersions: All legacy kube types successfully parsed',
      'False ContentDeleted: All content successfully deleted, may be waiting on finalization',
      'False ContentRemoved: All content successfully removed',
      'False ContentHasNoFinalizers: All content-preserving finalizers finished',
    ]);
    assert.equal(at('T2').apply(conditions).changed, false, 'the same outcome writes nothing');
  });

  it('words remaining content and finalizers as upstream, sorted', () => {
    const updater = at('T1');
    updater.contentTotals({
      remainingByResource: new Map([['pods.', 2], ['deployments.apps', 1], ['secrets.', 0]]),
      remainingByFinalizer: new Map([['example.com/x', 1], ['a.io/b', 3]]),
    });
    const c = byType(updater.apply([]).conditions);
    assert.deepEqual(c.NamespaceContentRemaining, {
      type: 'NamespaceContentRemaining', status: 'True', lastTransitionTime: 'T1', reason: 'SomeResourcesRemain',
      message: 'Some resources are remaining: deployments.apps has 1 resource instances, pods. has 2 resource instances',
    });
    assert.equal(c.NamespaceFinalizersRemaining.reason, 'SomeFinalizersRemain');
    assert.equal(c.NamespaceFinalizersRemaining.message, 'Some content in the namespace has finalizers remaining: a.io/b in 3 resource instances, example.com/x in 1 resource instances');
  });

  it('aggregates content failures, and moves lastTransitionTime only when the status flips', () => {
    const first = at('T1');
    first.contentDeletionFailed('b failed');
    first.contentDeletionFailed('a failed');
    first.discoveryFailed('no');
    const failed = first.apply([{ type: 'Other', status: 'True' }]).conditions;
    assert.equal(failed[0].type, 'Other', 'conditions of other types are kept in place');
    assert.equal(byType(failed).NamespaceDeletionContentFailure.message, 'Failed to delete all resource types, 2 remaining: a failed, b failed');
    assert.equal(byType(failed).NamespaceDeletionContentFailure.reason, 'ContentDeletionFailed');
    assert.equal(byType(failed).NamespaceDeletionDiscoveryFailure.reason, 'DiscoveryFailed');

    const again = at('T2');
    again.contentDeletionFailed('c failed');
    const changedMessage = byType(again.apply(failed).conditions);
    assert.equal(changedMessage.NamespaceDeletionContentFailure.lastTransitionTime, 'T1', 'same status: time kept');
    assert.match(changedMessage.NamespaceDeletionContentFailure.message!, /1 remaining: c failed/);
    const recovered = byType(at('T3').apply(failed).conditions);
    assert.equal(recovered.NamespaceDeletionContentFailure.status, 'False');
    assert.equal(recovered.NamespaceDeletionContentFailure.lastTransitionTime, 'T3');
  });
});

describe('namespace deletion discovery', () => {
  it('parses group versions and refuses malformed ones', () => {
    assert.deepEqual(parseGroupVersion('v1'), { group: '', version: 'v1' });
    assert.deepEqual(parseGroupVersion('apps/v1'), { group: 'apps', version: 'v1' });
    assert.throws(() => parseGroupVersion('a/b/c'), /unexpected GroupVersion string: a\/b\/c/);
  });

  it('keeps namespaced resources that can be deleted, with their collection verbs', () => {
    const { resources, parseErrors } = deletableResources([
      { groupVersion: 'v1', resources: [
        { name: 'pods', namespaced: true, verbs: ['list', 'delete', 'deletecollection'] },
        { name: 'pods/status', namespaced: true, verbs: ['get', 'update'] },
        { name: 'bindings', namespaced: true, verbs: ['create'] },
        { name: 'nodes', namespaced: false, verbs: ['delete', 'list'] },
      ] },
      { groupVersion: 'example.com/v1', resources: [{ name: 'widgets', namespaced: true, verbs: ['list', 'delete'] }] },
      { groupVersion: 'bad/group/version', resources: [{ name: 'things', namespaced: true, verbs: ['delete'] }] },
    ]);
    assert.deepEqual(resources, [
      { group: '', version: 'v1', resource: 'pods', list: true, deleteCollection: true },
      { group: 'example.com', version: 'v1', resource: 'widgets', list: true, deleteCollection: false },
    ]);
    assert.deepEqual(parseErrors, ['unexpected GroupVersion string: bad/group/version']);
  });

  it('reads every stored namespaced resource once from the kind registry', async () => {
    const { lists } = await registryDiscovery(builtinKinds())();
    const { resources } = deletableResources(lists);
    const names = resources.map((r) => `${r.group}/${r.version}/${r.resource}`);
    for (const expected of ['/v1/pods', '/v1/configmaps', '/v1/secrets', '/v1/services', 'apps/v1/deployments', 'batch/v1/jobs', 'autoscaling/v2/horizontalpodautoscalers']) {
      assert.ok(names.includes(expected), `${expected} in ${names.join(' ')}`);
    }
    assert.equal(new Set(names).size, names.length);
    assert.ok(!names.includes('/v1/namespaces') && !names.includes('/v1/bindings'));
  });

  it('words partial discovery failures as upstream', () => {
    assert.equal(discoveryFailureMessage(new Map([['metrics.k8s.io/v1beta1', 'stale GroupVersion discovery']])),
      'Discovery failed for some groups, 1 failing: unable to retrieve the complete list of server APIs: metrics.k8s.io/v1beta1: stale GroupVersion discovery');
  });
});
