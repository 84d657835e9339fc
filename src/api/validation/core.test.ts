import { test } from 'node:test';
import assert from 'node:assert/strict';
import { errorsOf, errorsOfUpdate } from './testing.ts';

test('ConfigMap keys and size', () => {
  assert.deepEqual(errorsOf(`{apiVersion: v1, kind: ConfigMap, metadata: {name: c, namespace: default}, data: {"bad key": x, .env: y, "..": z, app.yaml: w}}`), [
    `data[..]: Invalid value: "..": must not be '..'`,
    `data[bad key]: Invalid value: "bad key": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')`,
  ]);
  const big = JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'big', namespace: 'default' }, data: { a: 'x'.repeat(1024 * 1024 + 1) } });
  assert.deepEqual(errorsOf(big), ['[]: Too long: may not be more than 1048576 bytes']);
  assert.deepEqual(errorsOf(`{apiVersion: v1, kind: ConfigMap, metadata: {name: c, namespace: default}, data: {a: x}, binaryData: {a: eA==}}`), [
    'data[a]: Invalid value: "a": duplicate of key present in binaryData',
  ]);
});

test('immutable ConfigMaps and Secrets', () => {
  const cm = `{apiVersion: v1, kind: ConfigMap, metadata: {name: c, namespace: default}, immutable: true, data: {a: b}}`;
  assert.deepEqual(errorsOfUpdate(cm, (c) => (c.data.a = 'c')), ['data: Forbidden: field is immutable when `immutable` is set']);
  assert.deepEqual(errorsOfUpdate(cm, (c) => (c.immutable = false)), ['immutable: Forbidden: field is immutable when `immutable` is set']);
  assert.deepEqual(errorsOfUpdate(cm, (c) => (c.metadata.labels = { a: 'b' })), [], 'metadata stays mutable');
  const secret = `{apiVersion: v1, kind: Secret, metadata: {name: s, namespace: default}, immutable: true, stringData: {password: x}}`;
  assert.deepEqual(errorsOfUpdate(secret, (s) => (s.data.password = 'eQ==')), ['data: Forbidden: field is immutable when `immutable` is set']);
  assert.deepEqual(errorsOfUpdate(`{apiVersion: v1, kind: ConfigMap, metadata: {name: c, namespace: default}, data: {a: b}}`, (c) => (c.data.a = 'c')), []);
});

test('Secret types', () => {
  assert.deepEqual(errorsOf(`{apiVersion: v1, kind: Secret, metadata: {name: tls, namespace: default}, type: kubernetes.io/tls, data: {tls.crt: YQ==}}`), [
    'data[tls.key]: Required value',
  ]);
  assert.deepEqual(errorsOf(`{apiVersion: v1, kind: Secret, metadata: {name: reg, namespace: default}, type: kubernetes.io/dockerconfigjson, stringData: {.dockerconfigjson: '{"auths":{}}'}}`), []);
  assert.deepEqual(errorsOf(`{apiVersion: v1, kind: Secret, metadata: {name: reg, namespace: default}, type: kubernetes.io/dockerconfigjson, stringData: {.dockerconfigjson: 'nope'}}`), [
    'data[.dockerconfigjson]: Invalid value: "<secret contents redacted>": invalid JSON',
  ]);
  assert.deepEqual(errorsOfUpdate(`{apiVersion: v1, kind: Secret, metadata: {name: s, namespace: default}, stringData: {a: b}}`, (s) => (s.type = 'kubernetes.io/basic-auth')), [
    'type: Invalid value: "kubernetes.io/basic-auth": field is immutable',
    'data[%s][username]: Required value',
    'data[%s][password]: Required value',
  ]);
});

test('Namespaces', () => {
  assert.deepEqual(errorsOf(`{apiVersion: v1, kind: Namespace, metadata: {name: team-a}}`), []);
  assert.deepEqual(errorsOf(`{apiVersion: v1, kind: Namespace, metadata: {name: ok}, spec: {finalizers: [bar]}}`), [
    'spec.finalizers: Invalid value: "bar": name is neither a standard finalizer name nor is it fully qualified',
  ]);
});

const pvc = `{apiVersion: v1, kind: PersistentVolumeClaim, metadata: {name: data, namespace: default}, spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}}`;
const boundPVC = pvc.replace(/}}}}$/, '}}}, status: {phase: Bound, capacity: {storage: 1Gi}}}');

test('PersistentVolumeClaims', () => {
  assert.deepEqual(errorsOf(pvc), []);
  assert.deepEqual(errorsOf(`{apiVersion: v1, kind: PersistentVolumeClaim, metadata: {name: data, namespace: default}, spec: {accessModes: [ReadWriteSometimes], resources: {requests: {storage: "0"}}}}`), [
    'spec.accessModes: Unsupported value: "ReadWriteSometimes": supported values: "ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"',
    'spec.resources[storage]: Invalid value: "0": must be greater than zero',
  ]);
  assert.deepEqual(errorsOf(`{apiVersion: v1, kind: PersistentVolumeClaim, metadata: {name: data, namespace: default}, spec: {}}`), [
    'spec.accessModes: Required value: at least 1 access mode is required',
    'spec.resources[storage]: Required value',
  ]);
});

test('PVC specs are immutable except growing a bound claim', () => {
  assert.deepEqual(errorsOfUpdate(boundPVC, (p) => (p.spec.resources.requests.storage = '2Gi')), []);
  assert.deepEqual(errorsOfUpdate(boundPVC, (p) => (p.spec.resources.requests.storage = '512Mi')), [
    'spec.resources.requests.storage: Forbidden: field can not be less than status.capacity',
  ]);
  const [err] = errorsOfUpdate(pvc, (p) => (p.spec.accessModes = ['ReadWriteMany']));
  assert.match(err!, /^spec: Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims\n/);
  assert.deepEqual(errorsOfUpdate(pvc, (p) => (p.spec.volumeName = 'pv-1')), [], 'the binder sets volumeName once');
});

test('ReplicationControllers', () => {
  assert.deepEqual(errorsOf(`
apiVersion: v1
kind: ReplicationController
metadata: {name: rc, namespace: default}
spec:
  selector: {app: a}
  template:
    metadata: {labels: {app: b}}
    spec: {containers: [{name: c, image: nginx}]}
`), ['spec.template.metadata.labels: Invalid value: map[string]string{"app":"b"}: `selector` does not match template `labels`']);
});
