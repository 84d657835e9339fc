import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, parseSchedulerConfiguration } from './config.ts';

describe('KubeSchedulerConfiguration', () => {
  it('defaults to one default-scheduler profile', () => {
    const cfg = parseSchedulerConfiguration('apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\n');
    assert.equal(cfg.profiles.length, 1);
    assert.equal(cfg.profiles[0]!.schedulerName, 'default-scheduler');
    assert.equal(cfg.percentageOfNodesToScore, undefined);
  });

  it('reads profiles, plugin sets with weights, plugin args and percentages', () => {
    const cfg = parseSchedulerConfiguration(`
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
percentageOfNodesToScore: 30
profiles:
- schedulerName: bin-packer
  percentageOfNodesToScore: 70
  plugins:
    score:
      enabled:
      - name: NodeResourcesFit
        weight: 5
      disabled:
      - name: ImageLocality
  pluginConfig:
  - name: NodeResourcesFit
    args:
      apiVersion: kubescheduler.config.k8s.io/v1
      kind: NodeResourcesFitArgs
      scoringStrategy:
        type: MostAllocated
- schedulerName: other
`);
    assert.equal(cfg.percentageOfNodesToScore, 30);
    const [p, q] = cfg.profiles;
    assert.equal(p!.schedulerName, 'bin-packer');
    assert.equal(p!.percentageOfNodesToScore, 70);
    assert.deepEqual(p!.plugins.score, { enabled: [{ name: 'NodeResourcesFit', weight: 5 }], disabled: [{ name: 'ImageLocality' }] });
    assert.deepEqual(p!.pluginConfig.NodeResourcesFit, { scoringStrategy: { type: 'MostAllocated' } });
    assert.equal(q!.schedulerName, 'other');
  });

  it('rejects what upstream rejects, naming the field', () => {
    const bad = (text: string, re: RegExp) => assert.throws(() => parseSchedulerConfiguration(text), (e: unknown) => e instanceof ConfigError && re.test(e.message));
    bad('apiVersion: kubescheduler.config.k8s.io/v1beta3\n', /apiVersion: Unsupported value/);
    bad('apiVersion: kubescheduler.config.k8s.io/v1\npercentageOfNodesToScore: 101\n', /percentageOfNodesToScore: Invalid value: 101/);
    bad('apiVersion: kubescheduler.config.k8s.io/v1\nprofiles: [{schedulerName: a}, {schedulerName: a}]\n', /profiles\[1\].schedulerName: Duplicate value/);
    bad('apiVersion: kubescheduler.config.k8s.io/v1\nprofiles: [{plugins: {sideways: {}}}]\n', /unknown extension point/);
    bad('apiVersion: kubescheduler.config.k8s.io/v1\nprofiles: [{plugins: {score: {enabled: [{weight: 2}]}}}]\n', /score.enabled\[0\].name: Required value/);
    bad('{', /not valid YAML/);
  });

  it('accepts JSON', () => {
    const cfg = parseSchedulerConfiguration(JSON.stringify({ apiVersion: 'kubescheduler.config.k8s.io/v1', kind: 'KubeSchedulerConfiguration', profiles: [{ schedulerName: 'x' }] }));
    assert.equal(cfg.profiles[0]!.schedulerName, 'x');
  });
});
