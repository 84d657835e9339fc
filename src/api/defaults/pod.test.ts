import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { applyDefaults, defaultPullPolicy, imageTag } from './index.ts';

const pod = (yaml: string) => {
  const obj = parse(yaml);
  applyDefaults({ group: '', version: 'v1', kind: 'Pod', object: obj });
  return obj;
};

test('a minimal pod gets the PodSpec, container and pod-only defaults', () => {
  const p = pod(`
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: default}
spec:
  containers:
  - name: nginx
    image: nginx
    ports: [{containerPort: 80}]
`);
  assert.deepEqual(p.spec, {
    containers: [{
      name: 'nginx',
      image: 'nginx',
      ports: [{ containerPort: 80, protocol: 'TCP' }],
      imagePullPolicy: 'Always',
      terminationMessagePath: '/dev/termination-log',
      terminationMessagePolicy: 'File',
    }],
    dnsPolicy: 'ClusterFirst',
    restartPolicy: 'Always',
    securityContext: {},
    terminationGracePeriodSeconds: 30,
    schedulerName: 'default-scheduler',
    enableServiceLinks: true,
  });
  // Admission (not defaulting) sets these.
  assert.equal(p.spec.priority, undefined);
  assert.equal(p.spec.preemptionPolicy, undefined);
  assert.equal(p.spec.tolerations, undefined);
});

test('image pull policy follows the tag', () => {
  assert.equal(defaultPullPolicy('nginx'), 'Always');
  assert.equal(defaultPullPolicy('nginx:latest'), 'Always');
  assert.equal(defaultPullPolicy('nginx:1.27'), 'IfNotPresent');
  assert.equal(defaultPullPolicy('registry.local:5000/team/app'), 'Always');
  assert.equal(defaultPullPolicy('registry.local:5000/team/app:v2'), 'IfNotPresent');
  assert.equal(defaultPullPolicy('busybox@sha256:' + 'a'.repeat(64)), 'IfNotPresent');
  assert.equal(defaultPullPolicy('Nginx'), 'IfNotPresent', 'unparsable references are not "latest"');
  assert.equal(imageTag('127.0.0.1:5000/app:1.0'), '1.0');
});

test('explicit values are kept', () => {
  const p = pod(`
apiVersion: v1
kind: Pod
metadata: {name: job}
spec:
  restartPolicy: Never
  dnsPolicy: Default
  terminationGracePeriodSeconds: 0
  enableServiceLinks: false
  containers:
  - {name: c, image: busybox:1.36, imagePullPolicy: Never, terminationMessagePolicy: FallbackToLogsOnError}
`);
  assert.equal(p.spec.restartPolicy, 'Never');
  assert.equal(p.spec.dnsPolicy, 'Default');
  assert.equal(p.spec.terminationGracePeriodSeconds, 0);
  assert.equal(p.spec.enableServiceLinks, false);
  assert.equal(p.spec.containers[0].imagePullPolicy, 'Never');
  assert.equal(p.spec.containers[0].terminationMessagePolicy, 'FallbackToLogsOnError');
});

test('probes, hooks and downward API env vars are completed', () => {
  const p = pod(`
apiVersion: v1
kind: Pod
metadata: {name: app}
spec:
  containers:
  - name: app
    image: app:1
    env:
    - name: NODE
      valueFrom: {fieldRef: {fieldPath: spec.nodeName}}
    livenessProbe:
      httpGet: {port: 8080}
    readinessProbe:
      tcpSocket: {port: 8080}
      periodSeconds: 5
    startupProbe:
      grpc: {port: 9000}
    lifecycle:
      preStop:
        httpGet: {path: /drain, port: 8080}
`);
  const c = p.spec.containers[0];
  assert.deepEqual(c.env[0].valueFrom.fieldRef, { fieldPath: 'spec.nodeName', apiVersion: 'v1' });
  assert.deepEqual(c.livenessProbe, {
    httpGet: { port: 8080, path: '/', scheme: 'HTTP' }, timeoutSeconds: 1, periodSeconds: 10, successThreshold: 1, failureThreshold: 3,
  });
  assert.equal(c.readinessProbe.periodSeconds, 5);
  assert.equal(c.readinessProbe.timeoutSeconds, 1);
  assert.deepEqual(c.startupProbe.grpc, { port: 9000, service: '' });
  assert.deepEqual(c.lifecycle.preStop.httpGet, { path: '/drain', port: 8080, scheme: 'HTTP' });
});

test('volumes get modes and sources', () => {
  const p = pod(`
apiVersion: v1
kind: Pod
metadata: {name: vols}
spec:
  containers: [{name: c, image: busybox}]
  volumes:
  - name: scratch
  - name: cfg
    configMap: {name: app-config}
  - name: creds
    secret: {secretName: app-secret, defaultMode: 256}
  - name: host
    hostPath: {path: /var/log}
  - name: info
    downwardAPI:
      items: [{path: labels, fieldRef: {fieldPath: metadata.labels}}]
  - name: token
    projected:
      sources: [{serviceAccountToken: {path: token}}]
`);
  const v = Object.fromEntries(p.spec.volumes.map((x: any) => [x.name, x]));
  assert.deepEqual(v.scratch, { name: 'scratch', emptyDir: {} });
  assert.equal(v.cfg.configMap.defaultMode, 420);
  assert.equal(v.creds.secret.defaultMode, 0o400);
  assert.equal(v.host.hostPath.type, '');
  assert.equal(v.info.downwardAPI.defaultMode, 420);
  assert.equal(v.info.downwardAPI.items[0].fieldRef.apiVersion, 'v1');
  assert.equal(v.token.projected.defaultMode, 420);
  assert.equal(v.token.projected.sources[0].serviceAccountToken.expirationSeconds, 3600);
});

test('pods (not templates) take requests from limits and host ports from container ports', () => {
  const p = pod(`
apiVersion: v1
kind: Pod
metadata: {name: hn}
spec:
  hostNetwork: true
  containers:
  - name: c
    image: busybox
    ports: [{containerPort: 9100}]
    resources:
      limits: {cpu: 500m, memory: 128Mi}
      requests: {cpu: 100m}
`);
  const c = p.spec.containers[0];
  assert.deepEqual(c.resources.requests, { cpu: '100m', memory: '128Mi' });
  assert.equal(c.ports[0].hostPort, 9100);

  const d = parse(`
apiVersion: apps/v1
kind: Deployment
metadata: {name: d}
spec:
  selector: {matchLabels: {app: d}}
  template:
    metadata: {labels: {app: d}}
    spec:
      hostNetwork: true
      containers:
      - name: c
        image: busybox
        ports: [{containerPort: 9100}]
        resources: {limits: {cpu: "1"}}
`);
  applyDefaults({ group: 'apps', version: 'v1', kind: 'Deployment', object: d });
  const tc = d.spec.template.spec.containers[0];
  assert.equal(tc.resources.requests, undefined);
  assert.equal(tc.ports[0].hostPort, undefined);
  assert.equal(d.spec.template.spec.enableServiceLinks, undefined);
});
