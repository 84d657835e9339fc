import { test } from 'node:test';
import assert from 'node:assert/strict';
import { errorsOf, errorsOfUpdate } from './testing.ts';

test('typical Services are valid', () => {
  assert.deepEqual(errorsOf(`
apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec:
  selector: {app: web}
  ports:
  - {name: http, port: 80, targetPort: http}
  - {name: https, port: 443, targetPort: 8443}
`), []);
  assert.deepEqual(errorsOf(`{apiVersion: v1, kind: Service, metadata: {name: db, namespace: default}, spec: {clusterIP: None, selector: {app: db}}}`), [], 'headless services need no ports');
  assert.deepEqual(errorsOf(`{apiVersion: v1, kind: Service, metadata: {name: mail, namespace: default}, spec: {type: ExternalName, externalName: mail.example.com.}}`), []);
  assert.deepEqual(errorsOf(`{apiVersion: v1, kind: Service, metadata: {name: lb, namespace: default}, spec: {type: LoadBalancer, externalTrafficPolicy: Local, selector: {a: b}, ports: [{port: 443, nodePort: 30443}]}}`), []);
});

test('ports: required, names with several ports, ranges, node port range', () => {
  assert.deepEqual(errorsOf(`{apiVersion: v1, kind: Service, metadata: {name: web, namespace: default}, spec: {type: Fancy, selector: {app: web}}}`), [
    'spec.ports: Required value',
    'spec.type: Unsupported value: "Fancy": supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"',
  ]);
  assert.deepEqual(errorsOf(`
apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec:
  type: NodePort
  selector: {app: web}
  ports:
  - {port: 80, nodePort: 80}
  - {port: 0, name: metrics}
`), [
    'spec.ports[0].name: Required value',
    'spec.ports[1].port: Invalid value: 0: must be between 1 and 65535, inclusive',
    'spec.ports[1].targetPort: Invalid value: 0: must be between 1 and 65535, inclusive',
    'spec.ports[0].nodePort: Invalid value: 80: provided port is not in the valid range. The range of valid ports is 30000-32767',
  ]);
  assert.deepEqual(errorsOf(`{apiVersion: v1, kind: Service, metadata: {name: web, namespace: default}, spec: {selector: {a: b}, ports: [{port: 80, name: a}, {port: 80, name: a, protocol: UDP}]}}`), [
    'spec.ports[1].name: Duplicate value: "a"',
  ]);
  assert.deepEqual(errorsOf(`{apiVersion: v1, kind: Service, metadata: {name: web, namespace: default}, spec: {selector: {a: b}, ports: [{port: 80, name: a}, {port: 80, name: b}]}}`), [
    'spec.ports[1]: Duplicate value: core.ServicePort{Name:"", Protocol:"TCP", AppProtocol:(*string)(nil), Port:80, TargetPort:intstr.IntOrString{Type:0, IntVal:0, StrVal:""}, NodePort:0}',
  ]);
  assert.deepEqual(errorsOf(`{apiVersion: v1, kind: Service, metadata: {name: web, namespace: default}, spec: {selector: {a: b}, ports: [{port: 80, nodePort: 30080}]}}`), [
    "spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'",
  ]);
});

test('ExternalName and headless rules', () => {
  assert.deepEqual(errorsOf(`{apiVersion: v1, kind: Service, metadata: {name: mail, namespace: default}, spec: {type: ExternalName}}`), ['spec.externalName: Required value']);
  assert.deepEqual(errorsOf(`{apiVersion: v1, kind: Service, metadata: {name: np, namespace: default}, spec: {type: NodePort, clusterIP: None, ports: [{port: 80}]}}`), [
    "spec.clusterIPs[0]: Invalid value: \"None\": may not be set to 'None' for NodePort services",
  ]);
});

test('an allocated cluster IP never changes', () => {
  const svc = `{apiVersion: v1, kind: Service, metadata: {name: web, namespace: default}, spec: {selector: {app: web}, ports: [{port: 80}], clusterIP: 10.96.0.10}}`;
  assert.deepEqual(errorsOfUpdate(svc, (s) => {
    s.spec.clusterIP = '10.96.0.11';
    s.spec.clusterIPs = ['10.96.0.11'];
  }), ['spec.clusterIPs[0]: Invalid value: []string{"10.96.0.11"}: may not change once set']);
  assert.deepEqual(errorsOfUpdate(svc, (s) => (s.spec.ports[0].port = 8080)), []);
});
