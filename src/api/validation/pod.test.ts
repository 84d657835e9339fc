import { test } from 'node:test';
import assert from 'node:assert/strict';
import { errorsOf, errorsOfUpdate } from './testing.ts';

const LABEL_MSG = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";

test('a typical pod is valid', () => {
  assert.deepEqual(errorsOf(`
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: default, labels: {app: web}}
spec:
  serviceAccountName: web
  initContainers:
  - {name: migrate, image: "app:1.2", command: [./migrate]}
  - {name: proxy, image: envoy, restartPolicy: Always, readinessProbe: {tcpSocket: {port: 9901}}}
  containers:
  - name: app
    image: registry.example.com/app:1.2
    ports: [{containerPort: 8080, name: http}]
    env:
    - {name: POD_NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
    - {name: DB_PASSWORD, valueFrom: {secretKeyRef: {name: db, key: password}}}
    envFrom: [{configMapRef: {name: app-config}}]
    resources: {requests: {cpu: 250m, memory: 64Mi}, limits: {cpu: "1", memory: 256Mi}}
    livenessProbe: {httpGet: {path: /healthz, port: http}, initialDelaySeconds: 5}
    readinessProbe: {exec: {command: [cat, /tmp/ready]}}
    volumeMounts: [{name: data, mountPath: /data}, {name: config, mountPath: /etc/app, readOnly: true}]
  volumes:
  - {name: data, emptyDir: {sizeLimit: 1Gi}}
  - {name: config, configMap: {name: app-config, items: [{key: app.yaml, path: app.yaml}]}}
  tolerations: [{key: node.kubernetes.io/not-ready, operator: Exists, effect: NoExecute, tolerationSeconds: 300}]
  nodeSelector: {kubernetes.io/os: linux}
`), []);
});

test('containers: names, images, ports, env, mounts and resources', () => {
  assert.deepEqual(errorsOf(`
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: default}
spec:
  restartPolicy: Sometimes
  initContainers:
  - {name: app, image: busybox}
  containers:
  - name: app
    image: ""
    ports: [{containerPort: 70000, protocol: tcp}, {containerPort: 80, name: http}, {containerPort: 81, name: http}]
    env: [{name: "A=B", value: x}, {name: ""}]
    resources: {requests: {cpu: "2", memory: 1Gi}, limits: {cpu: "1"}}
    volumeMounts: [{name: missing, mountPath: /data}]
  - name: App
    image: " nginx"
`), [
    'spec.containers[0].image: Required value',
    'spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive',
    'spec.containers[0].ports[0].protocol: Unsupported value: "tcp": supported values: "SCTP", "TCP", "UDP"',
    'spec.containers[0].ports[2].name: Duplicate value: "http"',
    `spec.containers[0].env[0].name: Invalid value: "A=B": a valid environment variable name must consist only of printable ASCII characters other than '='`,
    'spec.containers[0].env[1].name: Required value',
    'spec.containers[0].volumeMounts[0].name: Not found: "missing"',
    'spec.containers[0].resources.requests: Invalid value: "2": must be less than or equal to cpu limit of 1',
    `spec.containers[1].name: Invalid value: "App": ${LABEL_MSG}`,
    'spec.initContainers[0].name: Duplicate value: "app"',
    'spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"',
    'spec.containers[1].image: Invalid value: " nginx": must not have leading or trailing whitespace',
  ]);
});

test('containers are required', () => {
  assert.deepEqual(errorsOf(`{apiVersion: v1, kind: Pod, metadata: {name: p, namespace: default}, spec: {}}`), ['spec.containers: Required value']);
});

test('probes, init containers and env sources', () => {
  assert.deepEqual(errorsOf(`
apiVersion: v1
kind: Pod
metadata: {name: p, namespace: default}
spec:
  initContainers:
  - {name: init, image: busybox, livenessProbe: {exec: {command: [true]}}}
  containers:
  - name: c
    image: busybox
    livenessProbe: {successThreshold: 2, httpGet: {port: 8080}, tcpSocket: {port: 8080}}
    readinessProbe: {}
    env:
    - {name: A, valueFrom: {}}
    - {name: B, valueFrom: {fieldRef: {fieldPath: status.phase}}}
    - {name: C, value: x, valueFrom: {configMapKeyRef: {name: cfg, key: c}}}
`), [
    // Common container checks (env) come before probes, as upstream orders them.
    'spec.containers[0].env[0].valueFrom: Invalid value: "": must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`',
    'spec.containers[0].env[1].valueFrom.fieldRef.fieldPath: Unsupported value: "status.phase": supported values: "metadata.name", "metadata.namespace", "metadata.uid", "spec.nodeName", "spec.serviceAccountName", "status.hostIP", "status.hostIPs", "status.podIP", "status.podIPs"',
    'spec.containers[0].env[2].valueFrom: Invalid value: "": may not be specified when `value` is not empty',
    'spec.containers[0].livenessProbe.tcpSocket: Forbidden: may not specify more than 1 handler type',
    'spec.containers[0].livenessProbe.successThreshold: Invalid value: 2: must be 1',
    'spec.containers[0].readinessProbe: Required value: must specify a handler type',
    'spec.initContainers[0].livenessProbe: Forbidden: may not be set for init containers without restartPolicy=Always',
  ]);
});

test('volumes: names, sources and modes', () => {
  assert.deepEqual(errorsOf(`
apiVersion: v1
kind: Pod
metadata: {name: p, namespace: default}
spec:
  containers: [{name: c, image: busybox, volumeMounts: [{name: a, mountPath: /a}, {name: a, mountPath: /a}]}]
  volumes:
  - {name: a, emptyDir: {}}
  - {name: a, emptyDir: {}}
  - {name: Bad_Name, configMap: {name: x, defaultMode: 1000}}
  - {name: both, secret: {secretName: s}, configMap: {name: c}}
  - {name: items, secret: {secretName: s, items: [{key: k, path: ../etc/passwd}]}}
`), [
    'spec.volumes[1].name: Duplicate value: "a"',
    'spec.volumes[2].configMap.defaultMode: Invalid value: 1000: must be a number between 0 and 0777 (octal), both inclusive',
    `spec.volumes[2].name: Invalid value: "Bad_Name": ${LABEL_MSG}`,
    'spec.volumes[3].configMap: Forbidden: may not specify more than 1 volume type',
    `spec.volumes[4].secret.items[0].path: Invalid value: "../etc/passwd": must not contain '..'`,
    'spec.containers[0].volumeMounts[1].mountPath: Invalid value: "/a": must be unique',
  ]);
});

test('scheduling fields: tolerations, affinity, topology spread', () => {
  assert.deepEqual(errorsOf(`
apiVersion: v1
kind: Pod
metadata: {name: p, namespace: default}
spec:
  containers: [{name: c, image: busybox}]
  tolerations:
  - {operator: Equal, value: x}
  - {key: k, operator: Exists, value: v}
  - {key: k, effect: NoSchedule, tolerationSeconds: 10}
  affinity:
    nodeAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
        nodeSelectorTerms:
        - matchExpressions: [{key: zone, operator: In}]
  topologySpreadConstraints:
  - {maxSkew: 0, topologyKey: zone, whenUnsatisfiable: Maybe}
`), [
    'spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].values: Required value: must be specified when `operator` is \'In\' or \'NotIn\'',
    'spec.topologySpreadConstraints[0].maxSkew: Invalid value: 0: must be greater than zero',
    'spec.topologySpreadConstraints[0].whenUnsatisfiable: Unsupported value: "Maybe": supported values: "DoNotSchedule", "ScheduleAnyway"',
    'spec.tolerations[0].operator: Invalid value: "Equal": operator must be Exists when `key` is empty, which means "match all values and all keys"',
    "spec.tolerations[1].operator: Invalid value: \"v\": value must be empty when `operator` is 'Exists'",
    "spec.tolerations[2].effect: Invalid value: \"NoSchedule\": effect must be 'NoExecute' when `tolerationSeconds` is set",
  ]);
});

const running = `
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: default}
spec:
  tolerations: [{key: a, operator: Exists, effect: NoSchedule}]
  containers: [{name: web, image: nginx:1.26}]
`;

test('pod updates: images, deadlines and added tolerations only', () => {
  assert.deepEqual(errorsOfUpdate(running, (p) => {
    p.spec.containers[0].image = 'nginx:1.27';
    p.spec.tolerations.push({ key: 'b', operator: 'Exists' });
    p.spec.activeDeadlineSeconds = 100;
    p.metadata.labels = { version: 'new' };
  }), []);
  assert.deepEqual(errorsOfUpdate(running, (p) => p.spec.containers.push({ name: 'side', image: 'busybox' })), [
    'spec.containers: Forbidden: pod updates may not add or remove containers',
  ]);
  assert.deepEqual(errorsOfUpdate(running, (p) => (p.spec.tolerations = [])), [
    'spec.tolerations: Forbidden: existing toleration can not be modified except its tolerationSeconds',
  ]);
  const [forbidden] = errorsOfUpdate(running, (p) => (p.spec.containers[0].env = [{ name: 'A', value: 'b' }]));
  assert.match(forbidden!, /^spec: Forbidden: pod updates may not change fields other than `spec.containers\[\*\].image`,`spec.initContainers\[\*\].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` \(only additions to existing tolerations\),`spec.terminationGracePeriodSeconds` \(allow it to be set to 1 if it was previously negative\)\n/);
  assert.match(forbidden!, /spec\.containers\[0\]\.env/);
});
