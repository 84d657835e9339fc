// `kubectl apply --server-side`: creation, field ownership in managedFields,
// removal of fields the applier stops setting, conflicts with another
// manager (409) and --force-conflicts.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startServer, type ServerHandle } from './harness.ts';

const manifest = (replicas: number, extraEnv = true) => `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: ssa
  labels: {app: ssa}
spec:
  replicas: ${replicas}
  selector:
    matchLabels: {app: ssa}
  template:
    metadata:
      labels: {app: ssa}
    spec:
      containers:
      - name: app
        image: registry.local/app:1
        env:
        - {name: A, value: "1"}
${extraEnv ? '        - {name: B, value: "2"}\n' : ''}`;

describe('kubectl apply --server-side', () => {
  let server: ServerHandle;
  const deployment = () => JSON.parse(server.k(['get', 'deploy', 'ssa', '-o', 'json', '--show-managed-fields']));
  before(async () => {
    server = await startServer({ apiOnly: true });
  });
  after(async () => server?.stop());

  it('creates the object and records the applier as owner', () => {
    assert.match(server.k(['apply', '--server-side', '-f', '-'], { input: manifest(2) }), /deployment.apps\/ssa serverside-applied/);
    const d = deployment();
    assert.equal(d.spec.replicas, 2);
    const entry = d.metadata.managedFields.find((m: { manager: string }) => m.manager === 'kubectl');
    assert.equal(entry.operation, 'Apply');
    assert.equal(entry.fieldsType, 'FieldsV1');
    assert.ok(entry.fieldsV1['f:spec']['f:replicas'] !== undefined);
    assert.equal(d.spec.template.spec.containers[0].terminationMessagePath, '/dev/termination-log', 'defaults still applied');
  });

  it('removes fields the applier no longer sets', () => {
    server.k(['apply', '--server-side', '-f', '-'], { input: manifest(2, false) });
    assert.deepEqual(deployment().spec.template.spec.containers[0].env, [{ name: 'A', value: '1' }]);
  });

  it('refuses a conflicting apply unless forced', () => {
    server.k(['patch', 'deploy', 'ssa', '--type', 'merge', '-p', '{"spec":{"replicas":5}}', '--field-manager', 'autoscaler']);
    const conflict = server.kubectl(['apply', '--server-side', '-f', '-'], { input: manifest(3, false) });
    assert.notEqual(conflict.status, 0);
    assert.match(conflict.stderr, /conflict with "autoscaler"/);
    assert.match(conflict.stderr, /\.spec\.replicas/);
    assert.equal(deployment().spec.replicas, 5, 'nothing written on conflict');
    server.k(['apply', '--server-side', '--force-conflicts', '-f', '-'], { input: manifest(3, false) });
    const d = deployment();
    assert.equal(d.spec.replicas, 3);
    const autoscaler = d.metadata.managedFields.find((m: { manager: string }) => m.manager === 'autoscaler');
    assert.equal(autoscaler?.fieldsV1?.['f:spec']?.['f:replicas'], undefined, 'ownership moved to the applier');
  });

  it('records ordinary writers as Update managers', () => {
    server.k(['label', 'deploy', 'ssa', 'team=core']);
    const d = deployment();
    const label = d.metadata.managedFields.find((m: { manager: string; operation: string }) => m.manager === 'kubectl-label' && m.operation === 'Update');
    assert.ok(label, JSON.stringify(d.metadata.managedFields));
    assert.ok(label.fieldsV1['f:metadata']['f:labels']['f:team'] !== undefined);
  });
});
