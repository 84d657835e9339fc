import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { builtinKinds } from './registry.ts';

describe('kind registry', () => {
  const registry = builtinKinds();

  it('serves the GA kinds with scope, verbs, short names and subresources', () => {
    const deployments = registry.lookup('apps', 'v1', 'deployments')!;
    assert.equal(deployments.kind, 'Deployment');
    assert.equal(deployments.listKind, 'DeploymentList');
    assert.equal(deployments.namespaced, true);
    assert.deepEqual(deployments.shortNames, ['deploy']);
    assert.deepEqual(deployments.categories, ['all']);
    assert.deepEqual(Object.keys(deployments.subresources).sort(), ['scale', 'status']);
    assert.equal(deployments.subresources.scale.group, 'autoscaling');
    assert.ok(deployments.verbs.includes('watch'));
    const nodes = registry.lookupKind('', 'v1', 'Node')!;
    assert.equal(nodes.namespaced, false);
    assert.equal(nodes.plural, 'nodes');
    assert.deepEqual(registry.lookup('', 'v1', 'namespaces')!.verbs.includes('deletecollection'), false);
  });

  it('serves no alpha or beta versions', () => {
    for (const r of registry.resources) assert.match(r.version, /^v\d+$/, `${r.group}/${r.version}/${r.plural}`);
  });

  it('lists the core group first and the preferred version first', () => {
    const groups = registry.groups();
    assert.equal(groups[0].name, '');
    const autoscaling = groups.find((g) => g.name === 'autoscaling')!;
    assert.deepEqual(autoscaling.versions, ['v2', 'v1']);
  });

  it('gives every served version of a resource its own storage unless there is one version', () => {
    const keys = registry.resources.map((r) => r.storageResource);
    assert.equal(new Set(keys).size, keys.length);
    assert.equal(registry.lookup('', 'v1', 'pods')!.storageResource, 'core/pods');
  });
});
