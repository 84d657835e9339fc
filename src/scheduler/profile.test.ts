import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultProfileConfig, parseSchedulerConfiguration } from './config.ts';
import type { FilterPlugin } from './framework/interface.ts';
import { buildFramework, buildFrameworks, mergePluginSet } from './profile.ts';
import { inTreeRegistry, mergeRegistries } from './registry.ts';

const cfg = (plugins: string) => parseSchedulerConfiguration(`apiVersion: kubescheduler.config.k8s.io/v1\nprofiles:\n- schedulerName: s\n  plugins:\n${plugins}`).profiles[0]!;

describe('profiles', () => {
  it('expands the default plugins into their extension points with upstream weights', () => {
    const fw = buildFramework();
    const p = fw.extensionPoints;
    assert.deepEqual(p.queueSort, ['PrioritySort']);
    assert.deepEqual(p.preEnqueue, ['SchedulingGates']);
    assert.deepEqual(p.filter, [
      'NodeUnschedulable', 'NodeName', 'TaintToleration', 'NodeAffinity', 'NodePorts', 'NodeResourcesFit', 'PodTopologySpread', 'InterPodAffinity',
    ]);
    assert.deepEqual(p.preFilter, ['NodeAffinity', 'NodePorts', 'NodeResourcesFit', 'PodTopologySpread', 'InterPodAffinity']);
    assert.deepEqual(p.postFilter, ['DefaultPreemption']);
    assert.deepEqual(p.preScore, ['TaintToleration', 'NodeAffinity', 'NodeResourcesFit', 'PodTopologySpread', 'InterPodAffinity', 'NodeResourcesBalancedAllocation']);
    assert.deepEqual(p.score, [
      { name: 'TaintToleration', weight: 3 }, { name: 'NodeAffinity', weight: 2 }, { name: 'NodeResourcesFit', weight: 1 },
      { name: 'PodTopologySpread', weight: 2 }, { name: 'InterPodAffinity', weight: 2 },
      { name: 'NodeResourcesBalancedAllocation', weight: 1 }, { name: 'ImageLocality', weight: 1 },
    ]);
    assert.deepEqual(p.bind, ['DefaultBinder']);
    assert.deepEqual(fw.missingPlugins, ['VolumeRestrictions', 'NodeVolumeLimits', 'VolumeBinding', 'VolumeZone', 'DynamicResources']);
  });

  it('merges plugin sets as upstream does', () => {
    const defaults = [{ name: 'A' }, { name: 'B', weight: 1 }, { name: 'C' }];
    assert.deepEqual(mergePluginSet(defaults, { enabled: [{ name: 'B', weight: 7 }, { name: 'D' }], disabled: [{ name: 'C' }] }).enabled, [{ name: 'A' }, { name: 'B', weight: 7 }, { name: 'D' }]);
    assert.deepEqual(mergePluginSet(defaults, { enabled: [{ name: 'D' }], disabled: [{ name: '*' }] }).enabled, [{ name: 'D' }]);
  });

  it('lets a specific extension point re-weight, disable and reorder', () => {
    const fw = buildFramework(cfg(`    score:
      enabled:
      - {name: ImageLocality, weight: 9}
      disabled:
      - {name: TaintToleration}
    filter:
      disabled:
      - {name: '*'}
      enabled:
      - {name: NodeResourcesFit}
`));
    assert.deepEqual(fw.extensionPoints.score, [
      { name: 'ImageLocality', weight: 9 }, { name: 'NodeAffinity', weight: 2 }, { name: 'NodeResourcesFit', weight: 1 },
      { name: 'PodTopologySpread', weight: 2 }, { name: 'InterPodAffinity', weight: 2 }, { name: 'NodeResourcesBalancedAllocation', weight: 1 },
    ]);
    assert.deepEqual(fw.extensionPoints.filter, ['NodeResourcesFit']);
  });

  it('disables plugins everywhere through multiPoint', () => {
    const fw = buildFramework(cfg(`    multiPoint:
      disabled:
      - {name: NodeResourcesFit}
`));
    assert.ok(!fw.extensionPoints.filter!.includes('NodeResourcesFit'));
    assert.ok(!fw.extensionPoints.score!.some((s) => s.name === 'NodeResourcesFit'));
    assert.ok(!fw.plugins.has('NodeResourcesFit'));
  });

  it('adds out-of-tree plugins from a merged registry and rejects unknown names', () => {
    const mine: FilterPlugin = { name: 'Mine', filter: () => undefined };
    const registry = mergeRegistries(inTreeRegistry(), { Mine: () => mine });
    const fw = buildFramework(cfg(`    multiPoint:
      enabled:
      - {name: Mine}
`), { registry });
    assert.equal(fw.extensionPoints.filter!.at(-1), 'Mine');
    assert.throws(() => buildFramework(cfg(`    filter:
      enabled:
      - {name: Nope}
`)), /plugin "Nope" does not exist/);
  });

  it('passes plugin args and percentages', () => {
    const config = parseSchedulerConfiguration(`
apiVersion: kubescheduler.config.k8s.io/v1
percentageOfNodesToScore: 40
profiles:
- schedulerName: a
  pluginConfig:
  - name: NodeResourcesFit
    args: {scoringStrategy: {type: MostAllocated}}
- schedulerName: b
  percentageOfNodesToScore: 10
`);
    const fws = buildFrameworks(config);
    assert.equal(fws.get('a')!.percentageOfNodesToScore, 40);
    assert.equal(fws.get('b')!.percentageOfNodesToScore, 10);
    assert.equal((fws.get('a')!.plugins.get('NodeResourcesFit') as unknown as { strategy: string }).strategy, 'MostAllocated');
    assert.equal(buildFramework(defaultProfileConfig('x')).profileName, 'x');
  });
});
