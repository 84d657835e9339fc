import { test } from 'node:test';
import assert from 'node:assert/strict';
import { errorsOf, errorsOfUpdate } from './testing.ts';
import { validateObject } from './index.ts';
import { formatFieldError } from './errors.ts';

const SUBDOMAIN_MSG = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";

test('names: subdomain for most kinds, DNS-1035 label for Services, DNS-1123 label for Namespaces', () => {
  assert.deepEqual(errorsOf(`{apiVersion: v1, kind: ConfigMap, metadata: {name: My_Config, namespace: default}}`), [
    `metadata.name: Invalid value: "My_Config": ${SUBDOMAIN_MSG}`,
  ]);
  assert.deepEqual(errorsOf(`{apiVersion: v1, kind: Service, metadata: {name: 1web, namespace: default}, spec: {selector: {a: b}, ports: [{port: 80}]}}`), [
    `metadata.name: Invalid value: "1web": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')`,
  ]);
  assert.deepEqual(errorsOf(`{apiVersion: v1, kind: Namespace, metadata: {name: team.a}}`), ['metadata.name: Invalid value: "team.a": must not contain dots']);
  // Pods may use dotted names.
  assert.deepEqual(errorsOf(`{apiVersion: v1, kind: Pod, metadata: {name: web.v1, namespace: default}, spec: {containers: [{name: c, image: nginx}]}}`), []);
  // RBAC names are path segments (system:… names are common).
  assert.deepEqual(errorsOf(`{apiVersion: rbac.authorization.k8s.io/v1, kind: ClusterRole, metadata: {name: "system:controller:foo"}, rules: []}`), []);
  assert.deepEqual(errorsOf(`{apiVersion: rbac.authorization.k8s.io/v1, kind: ClusterRole, metadata: {name: "a/b"}, rules: []}`), [
    `metadata.name: Invalid value: "a/b": may not contain '/'`,
  ]);
  const long = 'a'.repeat(254);
  assert.deepEqual(errorsOf(`{apiVersion: v1, kind: ConfigMap, metadata: {name: ${long}, namespace: default}}`), [
    `metadata.name: Invalid value: "${long}": must be no more than 253 bytes`,
  ]);
});

test('name or generateName is required; generateName may end in a dash', () => {
  assert.deepEqual(errorsOf(`{apiVersion: v1, kind: ConfigMap, metadata: {namespace: default}}`), ['metadata.name: Required value: name or generateName is required']);
  assert.deepEqual(errorsOf(`{apiVersion: v1, kind: ConfigMap, metadata: {generateName: cfg-, name: cfg-x7k2p, namespace: default}}`), []);
});

test('namespace: required for namespaced kinds, forbidden for cluster-scoped ones', () => {
  assert.deepEqual(errorsOf(`{apiVersion: v1, kind: ConfigMap, metadata: {name: c}}`), ['metadata.namespace: Required value']);
  assert.deepEqual(errorsOf(`{apiVersion: v1, kind: Namespace, metadata: {name: dev, namespace: default}}`), ['metadata.namespace: Forbidden: not allowed on this type']);
  assert.deepEqual(errorsOf(`{apiVersion: storage.k8s.io/v1, kind: StorageClass, metadata: {name: fast}, provisioner: example.com/disk}`), []);
});

test('labels, annotations and finalizers', () => {
  assert.deepEqual(errorsOf(`
apiVersion: v1
kind: ConfigMap
metadata:
  name: c
  namespace: default
  labels: {"app/x/y": ok, tier: -bad-, "example.com/team": a}
  annotations: {"Example.com/Note": fine}
  finalizers: [foo, example.com/cleanup]
`), [
    "metadata.labels: Invalid value: \"app/x/y\": a valid label key must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
    "metadata.labels: Invalid value: \"-bad-\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
    'metadata.finalizers[0]: Invalid value: "foo": name is neither a standard finalizer name nor is it fully qualified',
  ]);
  const big = JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'default', annotations: { a: 'x'.repeat(256 * 1024) } } });
  assert.deepEqual(errorsOf(big), ['metadata.annotations: Too long: may not be more than 262144 bytes']);
});

test('owner references', () => {
  assert.deepEqual(errorsOf(`
apiVersion: v1
kind: ConfigMap
metadata:
  name: c
  namespace: default
  ownerReferences:
  - {apiVersion: apps/v1, kind: Deployment, name: a, uid: u1, controller: true}
  - {apiVersion: apps/v1, kind: Deployment, name: b, uid: "", controller: true}
`), [
    'metadata.ownerReferences.uid: Invalid value: "": must not be empty',
    'metadata.ownerReferences: Invalid value: [{"apiVersion":"apps/v1","kind":"Deployment","name":"a","uid":"u1","controller":true},{"apiVersion":"apps/v1","kind":"Deployment","name":"b","uid":"","controller":true}]: Only one reference can have Controller set to true. Found "true" in references for Deployment/a and Deployment/b',
  ]);
});

test('name and namespace are immutable on update', () => {
  assert.deepEqual(errorsOfUpdate(`{apiVersion: v1, kind: ConfigMap, metadata: {name: c, namespace: default}}`, (c) => {
    c.metadata.name = 'd';
  }), ['metadata.name: Invalid value: "d": field is immutable']);
});

test('reviews carry no metadata to check; custom resources get the generic metadata rules', () => {
  assert.deepEqual(validateObject({
    group: 'authorization.k8s.io', version: 'v1', kind: 'SelfSubjectAccessReview',
    object: { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', metadata: {}, spec: { resourceAttributes: { verb: 'get', resource: 'pods' } } },
  }), []);
  const widget = { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'Big_Widget' } };
  assert.deepEqual(validateObject({ group: 'example.com', version: 'v1', kind: 'Widget', object: widget, namespaced: false }).map(formatFieldError), [
    `metadata.name: Invalid value: "Big_Widget": ${SUBDOMAIN_MSG}`,
  ]);
});
