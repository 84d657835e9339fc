import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { strictDecodingMessage, unknownFieldWarning, validateAgainstSchema } from './schema.ts';
import { formatFieldError } from './errors.ts';

const check = (group: string, version: string, kind: string, yaml: string) =>
  validateAgainstSchema({ group, version, kind, object: parse(yaml) });

test('a correct Deployment has no findings', () => {
  const r = check('apps', 'v1', 'Deployment', `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
  annotations: {note: x}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  strategy: {type: RollingUpdate, rollingUpdate: {maxSurge: 1, maxUnavailable: "0%"}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: nginx:1.27
        ports: [{containerPort: 80, name: http}]
        resources:
          requests: {cpu: 100m, memory: 64Mi}
          limits: {cpu: 1, memory: 1Gi}
        livenessProbe: {httpGet: {path: /, port: http}}
        env: [{name: A, valueFrom: {fieldRef: {fieldPath: metadata.name}}}]
`);
  assert.deepEqual(r, { errors: [], unknownFields: [] });
});

test('unknown fields are reported with their full path and list indexes', () => {
  const r = check('apps', 'v1', 'Deployment', `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, lables: {a: b}}
spec:
  replica: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: nginx
      - name: side
        imagee: busybox
        ports: [{containerPort: 1, prot: TCP}]
`);
  assert.deepEqual(r.unknownFields, [
    'metadata.lables',
    'spec.replica',
    'spec.template.spec.containers[1].imagee',
    'spec.template.spec.containers[1].ports[0].prot',
  ]);
  assert.equal(strictDecodingMessage(['spec.foo', 'spec.bar']), 'strict decoding error: unknown field "spec.foo", unknown field "spec.bar"');
  assert.equal(unknownFieldWarning('spec.foo'), 'unknown field "spec.foo"');
});

test('type mismatches use kube-openapi wording', () => {
  const r = check('apps', 'v1', 'Deployment', `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: three
  paused: "yes"
  selector: {matchLabels: {app: 1}}
  template:
    spec:
      containers: {name: web}
`);
  assert.deepEqual(r.errors.map(formatFieldError), [
    'spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string"',
    'spec.paused: Invalid value: "string": spec.paused in body must be of type boolean: "string"',
    'spec.selector.matchLabels.app: Invalid value: "integer": spec.selector.matchLabels.app in body must be of type string: "integer"',
    'spec.template.spec.containers: Invalid value: "object": spec.template.spec.containers in body must be of type array: "object"',
  ]);
});

test('formats: int32, IntOrString, Quantity, byte, date-time; null is always fine', () => {
  const r = check('', 'v1', 'Pod', `
apiVersion: v1
kind: Pod
metadata: {name: p, creationTimestamp: null, deletionTimestamp: yesterday}
spec:
  terminationGracePeriodSeconds: 30
  activeDeadlineSeconds: null
  containers:
  - name: c
    image: i
    ports: [{containerPort: 3000000000}]
    livenessProbe: {tcpSocket: {port: 1.5}}
    readinessProbe: {httpGet: {port: http}}
    resources: {limits: {cpu: 2, memory: 1 GB}}
`);
  assert.deepEqual(r.errors.map(formatFieldError), [
    'metadata.deletionTimestamp: Invalid value: "yesterday": metadata.deletionTimestamp in body must be of type date-time: "yesterday"',
    'spec.containers[0].ports[0].containerPort: Invalid value: 3000000000: spec.containers[0].ports[0].containerPort in body must be of type int32: "3000000000"',
    'spec.containers[0].livenessProbe.tcpSocket.port: Invalid value: "number": spec.containers[0].livenessProbe.tcpSocket.port in body must be of type integer,string: "number"',
    `spec.containers[0].resources.limits.memory: Invalid value: "1 GB": quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'`,
  ]);
  const s = check('', 'v1', 'Secret', `{apiVersion: v1, kind: Secret, metadata: {name: s}, data: {ok: aGk=, bad: "not base64!"}}`);
  assert.deepEqual(s.errors.map(formatFieldError), ['data.bad: Invalid value: "not base64!": data.bad in body must be of type byte: "not base64!"']);
});

test('free-form fields and unknown kinds are not checked', () => {
  const crd = check('apiextensions.k8s.io', 'v1', 'CustomResourceDefinition', `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  names: {plural: widgets, kind: Widget}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec: {type: object, x-kubernetes-preserve-unknown-fields: true, default: {size: 1}}
`);
  assert.deepEqual(crd, { errors: [], unknownFields: [] });
  const cr = check('example.com', 'v1', 'Widget', `{spec: {anything: [1, 2]}}`);
  assert.deepEqual(cr, { errors: [], unknownFields: [] });
  const managed = check('', 'v1', 'ConfigMap', `
apiVersion: v1
kind: ConfigMap
metadata:
  name: c
  managedFields:
  - manager: kubectl
    operation: Apply
    fieldsType: FieldsV1
    fieldsV1: {"f:data": {"f:a": {}}}
data: {a: b}
`);
  assert.deepEqual(managed, { errors: [], unknownFields: [] });
});
