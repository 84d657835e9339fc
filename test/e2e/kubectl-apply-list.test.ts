// `kubectl apply` of a kind: List and of a multi-document file. A List makes
// kubectl validate every item on the client against /openapi/v2, which it reads
// only as protobuf (the gnostic document); before that was served, every List
// apply failed with "proto: cannot parse invalid wire-format data".
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { KUBECTL, startServer, type ServerHandle } from './harness.ts';

const configMap = (name: string, data: string, extra = '') => `
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: ${name}, namespace: lists}
  data: {${data}}${extra}`;

const list = (...items: string[]) => `apiVersion: v1\nkind: List\nitems:${items.join('')}\n`;

const deployment = (replicas: string, containerExtra = '') => `
- apiVersion: apps/v1
  kind: Deployment
  metadata: {name: web, namespace: lists}
  spec:
    replicas: ${replicas}
    selector: {matchLabels: {app: web}}
    template:
      metadata: {labels: {app: web}}
      spec:
        containers:
        - {name: web, image: nginx:1.27, ports: [{containerPort: 80}]${containerExtra}}`;

describe('kubectl apply: List and multi-document files', () => {
  let server: ServerHandle;
  before(async () => {
    server = await startServer({ apiOnly: true });
    server.k(['create', 'namespace', 'lists']);
  });
  after(async () => {
    await server?.stop();
  });

  it('applies a List of ConfigMaps and a Deployment, then re-applies a changed List', () => {
    const first = server.k(['apply', '-f', '-'], { input: list(configMap('one', 'a: "1"'), configMap('two', 'b: "2"'), deployment('2')) });
    assert.match(first, /configmap\/one created/);
    assert.match(first, /configmap\/two created/);
    assert.match(first, /deployment\.apps\/web created/);

    const second = server.k(['apply', '-f', '-'], { input: list(configMap('one', 'a: "1"'), configMap('two', 'b: "3"'), deployment('3')) });
    assert.match(second, /configmap\/one unchanged/);
    assert.match(second, /configmap\/two configured/);
    assert.match(second, /deployment\.apps\/web configured/);
    assert.equal(server.k(['get', 'configmap', 'two', '-n', 'lists', '-o', 'jsonpath={.data.b}']), '3');
    assert.equal(server.k(['get', 'deployment', 'web', '-n', 'lists', '-o', 'jsonpath={.spec.replicas}']), '3');
  });

  it('rejects unknown fields and wrong types in List items with kubectl\'s validation message', () => {
    const unknown = server.kubectl(['apply', '--validate=strict', '-f', '-'], { input: list(configMap('three', 'c: "3"', '\n  bogus: 1')) });
    assert.notEqual(unknown.status, 0);
    assert.match(unknown.stderr, /error validating data: ValidationError\(ConfigMap\): unknown field "bogus" in io\.k8s\.api\.core\.v1\.ConfigMap/);
    assert.match(unknown.stderr, /turn validation off with --validate=false/);
    assert.equal(server.kubectl(['get', 'configmap', 'three', '-n', 'lists']).status, 1, 'nothing is created when validation fails');

    const nested = server.kubectl(['apply', '-f', '-'], { input: list(deployment('"three"', ', bogusField: 1')) });
    assert.notEqual(nested.status, 0);
    assert.match(nested.stderr, /ValidationError\(Deployment\.spec\.replicas\): invalid type for io\.k8s\.api\.apps\.v1\.DeploymentSpec\.replicas: got "string", expected "integer"/);
    assert.match(nested.stderr, /ValidationError\(Deployment\.spec\.template\.spec\.containers\[0\]\): unknown field "bogusField" in io\.k8s\.api\.core\.v1\.Container/);

    const ignored = server.kubectl(['apply', '--validate=false', '-f', '-'], { input: list(configMap('three', 'c: "3"', '\n  bogus: 1')) });
    assert.equal(ignored.status, 0, ignored.stderr);
  });

  it('applies a multi-document file; an unknown field there is refused by the server (fieldValidation=Strict)', () => {
    const docs = [
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: four, namespace: lists}\ndata: {d: "4"}',
      'apiVersion: v1\nkind: Secret\nmetadata: {name: five, namespace: lists}\nstringData: {e: "5"}',
    ].join('\n---\n');
    const out = server.k(['apply', '-f', '-'], { input: docs });
    assert.match(out, /configmap\/four created/);
    assert.match(out, /secret\/five created/);

    const bad = server.kubectl(['apply', '-f', '-'], { input: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: six, namespace: lists}\nbogus: 1\n' });
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /strict decoding error: unknown field "bogus"/);
  });

  it('works with every kubectl minor installed next to the dispatcher (1.27–1.33)', (t) => {
    const dir = dirname(realpathSync(KUBECTL));
    const versions = ['1.27', '1.28', '1.29', '1.30', '1.31', '1.32', '1.33'].filter((v) => existsSync(join(dir, `kubectl.${v}`)));
    if (versions.length === 0) return t.skip('no versioned kubectl binaries next to the dispatcher');
    for (const v of versions) {
      const run = (args: string[], input: string) => spawnSync(join(dir, `kubectl.${v}`), ['--kubeconfig', server.kubeconfig, '--cache-dir', join(server.dataDir, `kube-cache-${v}`), ...args], { input, encoding: 'utf8', timeout: 60_000 });
      const name = `v${v.replace('.', '-')}`;
      const ok = run(['apply', '-f', '-'], list(configMap(name, 'v: "1"')));
      assert.equal(ok.status, 0, `kubectl ${v}: ${ok.stderr}`);
      assert.match(ok.stdout, new RegExp(`configmap/${name} created`));
      const bad = run(['apply', '-f', '-'], list(configMap(`${name}-bad`, 'v: "1"', '\n  bogus: 1')));
      assert.match(bad.stderr, /unknown field "bogus" in io\.k8s\.api\.core\.v1\.ConfigMap/, `kubectl ${v}`);
    }
  });
});
