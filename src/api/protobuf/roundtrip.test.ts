import { test } from 'node:test';
import assert from 'node:assert/strict';
import protobuf from 'protobufjs';
import {
  decodeKubernetesProtobuf, decodeProtobufMessage, encodeKubernetesProtobuf, encodeProtobufMessage, messageForKind,
  ProtobufEncodeError,
} from './index.ts';

/** encode → decode must give back exactly the object (strict: every field must be known). */
function roundTrip(object: Record<string, unknown>): Record<string, unknown> {
  const body = encodeKubernetesProtobuf(object, { strict: true });
  assert.deepEqual([...body.subarray(0, 4)], [0x6b, 0x38, 0x73, 0x00]);
  const decoded = decodeKubernetesProtobuf(body);
  assert.equal(decoded.apiVersion, object.apiVersion);
  assert.equal(decoded.kind, object.kind);
  assert.deepEqual(decoded.object, object);
  return decoded.object;
}

const meta = (name: string, extra: Record<string, unknown> = {}) => ({
  name, namespace: 'default', uid: '8b1c5b2e-0000-4000-8000-000000000001', resourceVersion: '42', generation: 3,
  creationTimestamp: '2024-01-02T03:04:05Z', labels: { app: name }, annotations: { note: '' }, ...extra,
});

test('Deployment: IntOrString, Quantity, Time, probes and volumes (inlined structs), pointer zeros', () => {
  roundTrip({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: meta('web', {
      ownerReferences: [{ apiVersion: 'v1', kind: 'Thing', name: 'owner', uid: 'u1', controller: false, blockOwnerDeletion: true }],
      finalizers: ['example.com/f'],
      managedFields: [{
        manager: 'kubectl', operation: 'Update', apiVersion: 'apps/v1', time: '2024-01-02T03:04:05Z',
        fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': { 'f:replicas': {} } },
      }],
    }),
    spec: {
      replicas: 0,
      selector: { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['a', ''] }] },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: {
          volumes: [{ name: 'cfg', configMap: { name: 'cfg', defaultMode: 420, items: [{ key: 'k', path: 'p' }] } }, { name: 'tmp', emptyDir: { sizeLimit: '1Gi' } }],
          containers: [{
            name: 'web',
            image: 'nginx:1.27',
            ports: [{ containerPort: 80, protocol: 'TCP' }],
            env: [{ name: 'A', value: 'b' }, { name: 'C', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'k', optional: true } } }],
            resources: { requests: { cpu: '100m', memory: '64Mi' }, limits: { cpu: '1' } },
            livenessProbe: { httpGet: { path: '/healthz', port: 'http', scheme: 'HTTP' }, initialDelaySeconds: 5, periodSeconds: 10 },
            readinessProbe: { tcpSocket: { port: 80 }, timeoutSeconds: 1 },
            securityContext: { runAsUser: 0, runAsNonRoot: false, allowPrivilegeEscalation: false },
          }],
          terminationGracePeriodSeconds: 0,
          automountServiceAccountToken: false,
        },
      },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: 1 } },
      revisionHistoryLimit: 10,
      progressDeadlineSeconds: 600,
    },
    status: {
      observedGeneration: 3, replicas: 2, readyReplicas: 2,
      conditions: [{ type: 'Available', status: 'True', lastUpdateTime: '2024-01-02T03:04:06Z', lastTransitionTime: '2024-01-02T03:04:06Z', reason: 'MinimumReplicasAvailable', message: 'ok' }],
    },
  });
});

test('Secret keeps binary data as base64 (and empty values in the map)', () => {
  const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i)).toString('base64');
  roundTrip({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, type: 'Opaque', data: { all, empty: '', k: 'dg==' }, immutable: false });
});

test('ConfigMap, Namespace', () => {
  roundTrip({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'n' }, data: { a: '1', b: '' }, binaryData: { bin: 'AAH//g==' }, immutable: true });
  roundTrip({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'ns', deletionTimestamp: '2030-12-31T23:59:59Z' }, spec: { finalizers: ['kubernetes'] }, status: { phase: 'Active' } });
});

test('Service with int and named targetPort', () => {
  roundTrip({
    apiVersion: 'v1', kind: 'Service', metadata: { name: 'svc' },
    spec: {
      type: 'ClusterIP', clusterIP: '10.0.0.10', clusterIPs: ['10.0.0.10'], ipFamilies: ['IPv4'], ipFamilyPolicy: 'SingleStack',
      selector: { app: 'web' }, sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 10800 } },
      ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }, { name: 'https', port: 443, targetPort: 'https', protocol: 'TCP', nodePort: 30443 }],
    },
    status: { loadBalancer: {} },
  });
});

test('Job and CronJob: pointer zeros survive, times and conditions', () => {
  roundTrip({
    apiVersion: 'batch/v1', kind: 'Job', metadata: meta('j'),
    spec: {
      backoffLimit: 0, completions: 1, parallelism: 1, ttlSecondsAfterFinished: 0, suspend: false, activeDeadlineSeconds: 3_000_000_000,
      podFailurePolicy: { rules: [{ action: 'FailJob', onExitCodes: { operator: 'In', values: [1, 2, -3] } }] },
      template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox', command: ['sh', '-c', 'exit 0'] }] } },
    },
    status: { startTime: '2024-01-02T03:04:05Z', completionTime: '2024-01-02T03:05:05Z', succeeded: 1, conditions: [{ type: 'Complete', status: 'True', lastProbeTime: '2024-01-02T03:05:05Z' }] },
  });
  roundTrip({
    apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'cj' },
    spec: { schedule: '*/5 * * * *', timeZone: 'Etc/UTC', suspend: true, jobTemplate: { spec: { template: { spec: { containers: [{ name: 'c', image: 'busybox' }] } } } } },
  });
});

test('Role, RoleBinding (apiGroups [""] keeps the empty string)', () => {
  roundTrip({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'r', namespace: 'n' }, rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] }] });
  roundTrip({
    apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'rb', namespace: 'n' },
    subjects: [{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'alice' }, { kind: 'ServiceAccount', name: 'sa', namespace: 'n' }],
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'r' },
  });
});

test('SelfSubjectAccessReview, SubjectAccessReview extra (map of list wrappers)', () => {
  roundTrip({
    apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', metadata: {},
    spec: { resourceAttributes: { namespace: 'default', verb: 'get', resource: 'pods' } },
    status: { allowed: true, denied: false, reason: 'RBAC: allowed' },
  });
  roundTrip({
    apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview', metadata: {},
    spec: { user: 'bob', groups: ['g'], extra: { scopes: ['a', 'b'], none: [] }, nonResourceAttributes: { path: '/logs', verb: 'get' } },
  });
});

test('DeleteOptions under meta.k8s.io/v1, v1 and a group version; gracePeriodSeconds 0 survives', () => {
  assert.equal(messageForKind('meta.k8s.io/v1', 'DeleteOptions'), 'k8s.io.apimachinery.pkg.apis.meta.v1.DeleteOptions');
  assert.equal(messageForKind('apps/v1', 'DeleteOptions'), 'k8s.io.apimachinery.pkg.apis.meta.v1.DeleteOptions');
  for (const apiVersion of ['meta.k8s.io/v1', 'v1', 'apps/v1']) {
    roundTrip({ apiVersion, kind: 'DeleteOptions', gracePeriodSeconds: 0, propagationPolicy: 'Background', preconditions: { uid: 'u', resourceVersion: '7' }, dryRun: ['All'], orphanDependents: false });
  }
});

test('kind lookup covers the groups kubectl create uses', () => {
  const cases: Array<[string, string, string]> = [
    ['v1', 'Namespace', 'k8s.io.api.core.v1.Namespace'],
    ['apps/v1', 'Deployment', 'k8s.io.api.apps.v1.Deployment'],
    ['batch/v1', 'CronJob', 'k8s.io.api.batch.v1.CronJob'],
    ['rbac.authorization.k8s.io/v1', 'ClusterRoleBinding', 'k8s.io.api.rbac.v1.ClusterRoleBinding'],
    ['networking.k8s.io/v1', 'Ingress', 'k8s.io.api.networking.v1.Ingress'],
    ['scheduling.k8s.io/v1', 'PriorityClass', 'k8s.io.api.scheduling.v1.PriorityClass'],
    ['policy/v1', 'PodDisruptionBudget', 'k8s.io.api.policy.v1.PodDisruptionBudget'],
    ['autoscaling/v2', 'HorizontalPodAutoscaler', 'k8s.io.api.autoscaling.v2.HorizontalPodAutoscaler'],
    ['coordination.k8s.io/v1', 'Lease', 'k8s.io.api.coordination.v1.Lease'],
    ['authentication.k8s.io/v1', 'TokenRequest', 'k8s.io.api.authentication.v1.TokenRequest'],
    ['discovery.k8s.io/v1', 'EndpointSlice', 'k8s.io.api.discovery.v1.EndpointSlice'],
    ['storage.k8s.io/v1', 'StorageClass', 'k8s.io.api.storage.v1.StorageClass'],
    ['certificates.k8s.io/v1', 'CertificateSigningRequest', 'k8s.io.api.certificates.v1.CertificateSigningRequest'],
    ['node.k8s.io/v1', 'RuntimeClass', 'k8s.io.api.node.v1.RuntimeClass'],
    ['events.k8s.io/v1', 'Event', 'k8s.io.api.events.v1.Event'],
    ['admissionregistration.k8s.io/v1', 'ValidatingWebhookConfiguration', 'k8s.io.api.admissionregistration.v1.ValidatingWebhookConfiguration'],
    ['v1', 'Status', 'k8s.io.apimachinery.pkg.apis.meta.v1.Status'],
  ];
  for (const [apiVersion, kind, message] of cases) assert.equal(messageForKind(apiVersion, kind), message, `${apiVersion} ${kind}`);
  assert.equal(messageForKind('apps/v1beta1', 'Deployment'), undefined);
  assert.equal(messageForKind('apiextensions.k8s.io/v1', 'CustomResourceDefinition'), undefined);
});

test('MicroTime (Lease, events/v1 Event) keeps microseconds; renamed proto fields use JSON names', () => {
  roundTrip({
    apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'l', namespace: 'kube-node-lease' },
    spec: { holderIdentity: 'node-1', leaseDurationSeconds: 40, renewTime: '2024-01-02T03:04:05.123456Z', acquireTime: '2024-01-02T03:04:05.000000Z', leaseTransitions: 0 },
  });
  roundTrip({
    apiVersion: 'events.k8s.io/v1', kind: 'Event', metadata: { name: 'e', namespace: 'default' },
    eventTime: '1999-12-31T23:59:59.999999Z', reportingController: 'skiff', reportingInstance: 'skiff-1', action: 'Scheduled', reason: 'Scheduled',
    regarding: { kind: 'Pod', name: 'p', namespace: 'default' }, note: 'hi', type: 'Normal',
  });
  // authentication/v1 BoundObjectReference.uID and networking/v1 IngressClassParametersReference.aPIGroup.
  roundTrip({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', metadata: { name: 'sa' }, spec: { audiences: ['api'], expirationSeconds: 600, boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'p', uid: 'u-1' } } });
  roundTrip({ apiVersion: 'networking.k8s.io/v1', kind: 'IngressClass', metadata: { name: 'ic' }, spec: { controller: 'x/y', parameters: { apiGroup: 'g', kind: 'K', name: 'n', scope: 'Cluster' } } });
});

test('RawExtension: ControllerRevision data as JSON, WatchEvent object as embedded protobuf', () => {
  roundTrip({ apiVersion: 'apps/v1', kind: 'ControllerRevision', metadata: { name: 'cr' }, data: { spec: { template: { x: [1, 'two', null] } } }, revision: 2 });
  const event = { apiVersion: 'meta.k8s.io/v1', kind: 'WatchEvent', type: 'ADDED', object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { a: 'b' } } };
  const body = encodeKubernetesProtobuf(event, { embeddedObjects: 'protobuf' });
  assert.ok(Buffer.from(body).includes(Buffer.from('k8s\0', 'latin1'), 4), 'the embedded object carries its own magic');
  assert.deepEqual(decodeKubernetesProtobuf(body).object, event);
});

test('wire details match what Go writes', () => {
  // IntOrString "25%" → {type: 1, intVal: 0, strVal: "25%"}; 1 → {type: 0, intVal: 1, strVal: ""}.
  const strategy = encodeProtobufMessage('k8s.io.api.apps.v1.RollingUpdateDeployment', { maxUnavailable: 1, maxSurge: '25%' });
  assert.equal(Buffer.from(strategy).toString('hex'), '0a0608001001' + '1a00' + '120908011000' + '1a03' + Buffer.from('25%').toString('hex'));
  // Map entries are sorted by key; int32 -1 is a 10-byte varint.
  const labels = encodeProtobufMessage('k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta', { labels: { b: '2', a: '1' } });
  assert.equal(Buffer.from(labels).toString('hex'), '5a060a0161120131' + '5a060a0162120132');
  const port = encodeProtobufMessage('k8s.io.api.core.v1.ContainerPort', { containerPort: -1 });
  assert.equal(Buffer.from(port).toString('hex'), '18ffffffffffffffffff01');
  assert.deepEqual(decodeProtobufMessage('k8s.io.api.core.v1.ContainerPort', port), { containerPort: -1 });
});

test('decoder follows protobuf rules: packed repeated ints, merged messages, unknown fields skipped, last scalar wins', () => {
  // PodFailurePolicyOnExitCodesRequirement: 1 containerName, 2 operator, 3 values (repeated int32).
  const req = protobuf.Writer.create();
  req.uint32((2 << 3) | 2).string('NotIn');
  req.uint32((3 << 3) | 2).fork().int32(1).int32(2).ldelim(); // packed
  req.uint32((3 << 3) | 0).int32(3); // unpacked
  req.uint32((99 << 3) | 0).int32(7); // unknown field
  req.uint32((2 << 3) | 2).string('In'); // last one wins
  assert.deepEqual(decodeProtobufMessage('k8s.io.api.batch.v1.PodFailurePolicyOnExitCodesRequirement', req.finish()), { operator: 'In', values: [1, 2, 3] });
  // Two occurrences of the same embedded message (Pod.metadata) merge.
  const pod = protobuf.Writer.create();
  pod.uint32((1 << 3) | 2).fork().uint32((1 << 3) | 2).string('a').uint32((11 << 3) | 2).fork().uint32((1 << 3) | 2).string('k').uint32((2 << 3) | 2).string('1').ldelim().ldelim();
  pod.uint32((1 << 3) | 2).fork().uint32((3 << 3) | 2).string('n').uint32((11 << 3) | 2).fork().uint32((1 << 3) | 2).string('j').ldelim().ldelim();
  assert.deepEqual(decodeProtobufMessage('k8s.io.api.core.v1.Pod', pod.finish()), { metadata: { name: 'a', namespace: 'n', labels: { k: '1', j: '' } } });
});

test('zero values: empty strings dropped unless required, ints and bools kept, empty Time is null', () => {
  const raw = protobuf.Writer.create();
  raw.uint32((1 << 3) | 2).fork() // metadata
    .uint32((1 << 3) | 2).string('x').uint32((2 << 3) | 2).string('').uint32((7 << 3) | 0).int64(0)
    .uint32((8 << 3) | 2).uint32(0) // creationTimestamp {}
    .ldelim();
  raw.uint32((2 << 3) | 2).fork() // spec: ContainerPort-free PodSpec fields
    .uint32((2 << 3) | 2).fork().uint32((1 << 3) | 2).string('').uint32((14 << 3) | 2).string('').uint32((16 << 3) | 0).bool(false).ldelim()
    .uint32((11 << 3) | 0).bool(false)
    .ldelim();
  const decoded = decodeProtobufMessage('k8s.io.api.core.v1.Pod', raw.finish());
  assert.deepEqual(decoded, {
    metadata: { name: 'x', generation: 0, creationTimestamp: null },
    // Container.name is required (no omitempty) so "" stays; imagePullPolicy "" goes.
    spec: { containers: [{ name: '', stdin: false }], hostNetwork: false },
  });
});

test('encoder rejects values of the wrong type and (when strict) unknown fields', () => {
  const bad: Array<[Record<string, unknown>, RegExp]> = [
    [{ apiVersion: 'apps/v1', kind: 'Deployment', spec: { replicas: '3' } }, /spec\.replicas: expected a 32-bit integer, got string "3"/],
    [{ apiVersion: 'apps/v1', kind: 'Deployment', spec: { replicas: 2 ** 31 } }, /32-bit/],
    [{ apiVersion: 'v1', kind: 'Secret', data: { a: 'not base64!' } }, /data\["a"\]: expected base64/],
    [{ apiVersion: 'v1', kind: 'Pod', metadata: { creationTimestamp: 'yesterday' } }, /RFC 3339/],
    [{ apiVersion: 'v1', kind: 'Pod', metadata: { labels: ['a'] } }, /metadata\.labels: expected an object/],
    [{ apiVersion: 'v1', kind: 'Pod', spec: { containers: {} } }, /expected an array/],
    [{ apiVersion: 'v1', kind: 'Pod', spec: { bogus: 1 } }, /unknown field\(s\) "bogus"/],
    [{ apiVersion: 'v1', kind: 'Nope' }, /no protobuf message known/],
    [{ kind: 'Pod' }, /apiVersion and kind/],
  ];
  for (const [object, message] of bad) assert.throws(() => encodeKubernetesProtobuf(object, { strict: true }), (err: unknown) => err instanceof ProtobufEncodeError && message.test(err.message), JSON.stringify(object));
  // Not strict: unknown fields are dropped.
  const body = encodeKubernetesProtobuf({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, bogus: true });
  assert.deepEqual(decodeKubernetesProtobuf(body).object, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' } });
});

test('encoding is deterministic and quantities may be numbers', () => {
  const a = encodeKubernetesProtobuf({ apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'q' }, spec: { hard: { pods: 10, cpu: '1' } } });
  const b = encodeKubernetesProtobuf({ kind: 'ResourceQuota', apiVersion: 'v1', spec: { hard: { cpu: '1', pods: '10' } }, metadata: { name: 'q' } });
  assert.deepEqual(a, b);
  assert.deepEqual(decodeKubernetesProtobuf(a).object.spec, { hard: { cpu: '1', pods: '10' } });
});
