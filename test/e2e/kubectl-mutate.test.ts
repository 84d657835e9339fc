// Changing and removing objects with kubectl: label, annotate, patch (json,
// merge, strategic), replace, edit, scale, delete, delete --all, and
// optimistic-concurrency conflicts.
import assert from 'node:assert/strict';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startServer, type ServerHandle } from './harness.ts';

describe('kubectl label, annotate, patch, replace, edit, scale, delete', () => {
  let server: ServerHandle;
  const json = (args: string[]) => JSON.parse(server.k([...args, '-o', 'json']));
  before(async () => {
    // The namespace controller alone: it finishes `kubectl delete namespace` and writes nothing else.
    server = await startServer({ apiOnly: true, extraArgs: ['--controllers', 'namespace'] });
    server.k(['create', 'deployment', 'web', '--image=nginx:1.27', '--replicas=2']);
    server.k(['create', 'configmap', 'conf', '--from-literal=a=1']);
  });
  after(async () => server?.stop());

  it('labels and annotates, and removes them again', () => {
    server.k(['label', 'deploy', 'web', 'tier=front']);
    server.k(['annotate', 'deploy', 'web', 'owner=team-a']);
    let deploy = json(['get', 'deploy', 'web']);
    assert.equal(deploy.metadata.labels.tier, 'front');
    assert.equal(deploy.metadata.annotations.owner, 'team-a');
    const conflict = server.kubectl(['label', 'deploy', 'web', 'tier=back']);
    assert.notEqual(conflict.status, 0);
    assert.match(conflict.stderr, /already has a value \(front\)/);
    server.k(['label', 'deploy', 'web', 'tier-']);
    deploy = json(['get', 'deploy', 'web']);
    assert.equal(deploy.metadata.labels.tier, undefined);
  });

  it('patches with json, merge and strategic patches', () => {
    server.k(['patch', 'deploy', 'web', '--type', 'json', '-p', '[{"op":"replace","path":"/spec/replicas","value":5}]']);
    assert.equal(json(['get', 'deploy', 'web']).spec.replicas, 5);
    const failing = server.kubectl(['patch', 'deploy', 'web', '--type', 'json', '-p', '[{"op":"test","path":"/spec/replicas","value":9},{"op":"replace","path":"/spec/replicas","value":1}]']);
    assert.notEqual(failing.status, 0);
    assert.equal(json(['get', 'deploy', 'web']).spec.replicas, 5, 'a failed JSON patch changes nothing');
    server.k(['patch', 'cm', 'conf', '--type', 'merge', '-p', '{"data":{"a":null,"b":"2"}}']);
    assert.deepEqual(json(['get', 'cm', 'conf']).data, { b: '2' });
    server.k(['patch', 'deploy', 'web', '-p', '{"spec":{"template":{"spec":{"containers":[{"name":"sidecar","image":"busybox"}]}}}}']);
    const names = json(['get', 'deploy', 'web']).spec.template.spec.containers.map((c: { name: string }) => c.name);
    assert.deepEqual(names.sort(), ['nginx', 'sidecar']);
    const bad = server.kubectl(['patch', 'deploy', 'web', '--type', 'merge', '-p', '{"spec":{"replicas":-1}}']);
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /is invalid: spec.replicas: Invalid value: -1/);
  });

  it('replaces and refuses a stale resourceVersion', () => {
    const cm = json(['get', 'cm', 'conf']);
    cm.data = { replaced: 'yes' };
    server.k(['replace', '-f', '-'], { input: JSON.stringify(cm) });
    assert.deepEqual(json(['get', 'cm', 'conf']).data, { replaced: 'yes' });
    cm.data = { stale: 'write' };
    const stale = server.kubectl(['replace', '-f', '-'], { input: JSON.stringify(cm) });
    assert.notEqual(stale.status, 0);
    assert.match(stale.stderr, /the object has been modified; please apply your changes to the latest version and try again/);
  });

  it('edits with KUBE_EDITOR', () => {
    const editor = join(server.dataDir, 'editor.sh');
    writeFileSync(editor, '#!/bin/sh\nsed -i "s/replaced: \\"\\{0,1\\}yes\\"\\{0,1\\}/replaced: edited/" "$1"\n');
    chmodSync(editor, 0o755);
    server.k(['edit', 'cm', 'conf'], { env: { KUBE_EDITOR: editor, EDITOR: editor } });
    assert.deepEqual(json(['get', 'cm', 'conf']).data, { replaced: 'edited' });
  });

  it('scales through the scale subresource', () => {
    assert.match(server.k(['scale', 'deploy', 'web', '--replicas=7']), /deployment.apps\/web scaled/);
    assert.equal(json(['get', 'deploy', 'web']).spec.replicas, 7);
    const scale = JSON.parse(server.k(['get', '--raw', '/apis/apps/v1/namespaces/default/deployments/web/scale']));
    assert.equal(scale.kind, 'Scale');
    assert.equal(scale.spec.replicas, 7);
    assert.equal(scale.status.selector, 'app=web');
  });

  it('deletes one object, a finalized one, and all of a kind', () => {
    assert.match(server.k(['delete', 'cm', 'conf']), /configmap "conf" deleted/);
    assert.notEqual(server.kubectl(['get', 'cm', 'conf']).status, 0);
    server.k(['create', 'configmap', 'held', '--from-literal=x=1']);
    server.k(['patch', 'cm', 'held', '--type', 'merge', '-p', '{"metadata":{"finalizers":["example.com/hold"]}}']);
    server.k(['delete', 'cm', 'held', '--wait=false']);
    const held = json(['get', 'cm', 'held']);
    assert.ok(held.metadata.deletionTimestamp, 'marked for deletion while a finalizer remains');
    server.k(['patch', 'cm', 'held', '--type', 'merge', '-p', '{"metadata":{"finalizers":null}}']);
    assert.notEqual(server.kubectl(['get', 'cm', 'held']).status, 0);
    for (const n of ['a', 'b', 'c']) server.k(['create', 'configmap', `bulk-${n}`, '--from-literal=k=v']);
    server.k(['delete', 'cm', '--all']);
    assert.equal(server.k(['get', 'cm', '-o', 'name']).includes('bulk-'), false);
  });

  it('deletes a namespace with its content', () => {
    server.k(['create', 'namespace', 'scratch']);
    server.k(['create', 'configmap', 'inside', '--from-literal=a=b', '-n', 'scratch']);
    server.k(['delete', 'namespace', 'scratch', '--timeout=30s']);
    assert.notEqual(server.kubectl(['get', 'ns', 'scratch']).status, 0);
    const create = server.kubectl(['create', 'configmap', 'late', '--from-literal=a=b', '-n', 'scratch']);
    assert.match(create.stderr, /namespaces "scratch" not found/);
  });
});
