// Client-side `kubectl apply`: create from a multi-document file, re-apply
// (unchanged), apply a changed file (configured) and check the strategic
// merge result field by field, including fields another writer added.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startServer, type ServerHandle } from './harness.ts';

const v1 = `
apiVersion: v1
kind: Namespace
metadata:
  name: store
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: app-config
  namespace: store
  labels: {app: shop, stage: beta}
data:
  greeting: hello
  color: blue
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  namespace: store
  labels: {app: api}
spec:
  replicas: 2
  selector:
    matchLabels: {app: api}
  template:
    metadata:
      labels: {app: api}
    spec:
      containers:
      - name: api
        image: registry.local/api:1.0
        env:
        - {name: MODE, value: prod}
        - {name: OLD, value: remove-me}
        ports:
        - {containerPort: 8080, name: http}
      - name: cache
        image: redis:7
---
apiVersion: v1
kind: Service
metadata:
  name: api
  namespace: store
spec:
  selector: {app: api}
  ports:
  - {name: http, port: 80, targetPort: http}
`;

const v2 = v1
  .replace('greeting: hello', 'greeting: bonjour')
  .replace('  labels: {app: shop, stage: beta}', '  labels: {app: shop}')
  .replace('replicas: 2', 'replicas: 4')
  .replace('image: registry.local/api:1.0', 'image: registry.local/api:2.0')
  .replace("        - {name: OLD, value: remove-me}\n", "        - {name: NEW, value: added}\n")
  .replace('      - name: cache\n        image: redis:7\n', '');

describe('kubectl apply (client-side)', () => {
  let server: ServerHandle;
  before(async () => {
    server = await startServer({ apiOnly: true });
  });
  after(async () => server?.stop());

  it('creates every document, then reports unchanged', () => {
    const created = server.k(['apply', '-f', '-'], { input: v1 });
    assert.match(created, /namespace\/store created/);
    assert.match(created, /configmap\/app-config created/);
    assert.match(created, /deployment.apps\/api created/);
    assert.match(created, /service\/api created/);
    const again = server.k(['apply', '-f', '-'], { input: v1 });
    for (const line of again.trim().split('\n')) assert.match(line, /unchanged$/, line);
  });

  it('configures changed objects with a strategic merge', () => {
    // Another writer adds a label and an annotation apply does not own: they must survive.
    server.k(['annotate', 'deployment', 'api', '-n', 'store', 'team=payments']);
    const before = JSON.parse(server.k(['get', 'deploy', 'api', '-n', 'store', '-o', 'json']));
    const out = server.k(['apply', '-f', '-'], { input: v2 });
    assert.match(out, /configmap\/app-config configured/);
    assert.match(out, /deployment.apps\/api configured/);
    assert.match(out, /namespace\/store unchanged/);
    assert.match(out, /service\/api unchanged/);

    const cm = JSON.parse(server.k(['get', 'cm', 'app-config', '-n', 'store', '-o', 'json']));
    assert.deepEqual(cm.data, { greeting: 'bonjour', color: 'blue' });
    assert.deepEqual(cm.metadata.labels, { app: 'shop' });

    const deploy = JSON.parse(server.k(['get', 'deploy', 'api', '-n', 'store', '-o', 'json']));
    assert.equal(deploy.spec.replicas, 4);
    assert.equal(deploy.metadata.annotations.team, 'payments');
    assert.equal(deploy.metadata.generation, before.metadata.generation + 1);
    const containers = deploy.spec.template.spec.containers;
    assert.deepEqual(containers.map((c: { name: string }) => c.name), ['api']);
    assert.equal(containers[0].image, 'registry.local/api:2.0');
    assert.deepEqual(containers[0].env, [{ name: 'MODE', value: 'prod' }, { name: 'NEW', value: 'added' }]);
    assert.deepEqual(containers[0].ports, [{ containerPort: 8080, name: 'http', protocol: 'TCP' }]);
    // Server-side defaults are kept through the merge.
    assert.equal(containers[0].terminationMessagePath, '/dev/termination-log');
    assert.equal(deploy.spec.template.spec.restartPolicy, 'Always');
    const lastApplied = JSON.parse(deploy.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration']);
    assert.equal(lastApplied.spec.replicas, 4);
  });

  it('rejects invalid objects with the upstream Invalid status and writes nothing', () => {
    const bad = v1.replace('matchLabels: {app: api}', 'matchLabels: {app: other}').replace('name: api\n  namespace: store\n  labels', 'name: api-bad\n  namespace: store\n  labels');
    const result = server.kubectl(['apply', '-f', '-'], { input: bad });
    assert.notEqual(result.status, 0);
    assert.match(result.stderr, /The Deployment "api-bad" is invalid: spec.template.metadata.labels: Invalid value: .*`selector` does not match template `labels`/);
    assert.notEqual(server.kubectl(['get', 'deploy', 'api-bad', '-n', 'store']).status, 0);
    const unknown = server.kubectl(['apply', '-f', '-'], { input: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: typo, namespace: store}\ndatta: {a: b}\n' });
    assert.notEqual(unknown.status, 0);
    assert.match(unknown.stderr, /unknown field "datta"/);
  });
});
