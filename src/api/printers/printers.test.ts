import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hasPrinter, printTable } from './index.ts';

const now = new Date('2025-01-01T12:00:00Z');
const ago = (ms: number) => new Date(now.getTime() - ms).toISOString();
const MIN = 60_000;
const meta = (name: string, extra: Record<string, unknown> = {}) => ({ name, creationTimestamp: ago(5 * MIN), ...extra });

/** Column names (wide) and the cells of the first object. */
function print(group: string, kind: string, obj: object, wide = true) {
  const table = printTable({ group, kind, objects: [obj], now, wide });
  return { columns: table.columnDefinitions.map((c) => c.name), cells: table.rows[0]!.cells, table };
}

test('nodes: status, roles, wide details', () => {
  const node = {
    metadata: meta('n1', { labels: { 'node-role.kubernetes.io/control-plane': '', 'kubernetes.io/role': 'worker' } }),
    spec: { unschedulable: true },
    status: {
      conditions: [{ type: 'MemoryPressure', status: 'False' }, { type: 'Ready', status: 'True' }],
      addresses: [{ type: 'Hostname', address: 'n1' }, { type: 'InternalIP', address: '192.0.2.10' }],
      nodeInfo: { kubeletVersion: 'v1.36.0', osImage: 'Debian', kernelVersion: '6.1', containerRuntimeVersion: 'runc://1.1' },
    },
  };
  const { columns, cells } = print('', 'Node', node);
  assert.deepEqual(columns, ['Name', 'Status', 'Roles', 'Age', 'Version', 'Internal-IP', 'External-IP', 'OS-Image', 'Kernel-Version', 'Container-Runtime']);
  assert.deepEqual(cells, ['n1', 'Ready,SchedulingDisabled', 'control-plane,worker', '5m', 'v1.36.0', '192.0.2.10', '<none>', 'Debian', '6.1', 'runc://1.1']);
  assert.deepEqual(print('', 'Node', { metadata: meta('n2'), status: {} }).cells.slice(1, 3), ['Unknown', '<none>']);
  assert.equal(print('', 'Node', { metadata: meta('n3'), status: { conditions: [{ type: 'Ready', status: 'Unknown' }] } }).cells[1], 'NotReady');
});

test('namespaces, configmaps, secrets, service accounts', () => {
  assert.deepEqual(print('', 'Namespace', { metadata: meta('prod'), status: { phase: 'Active' } }).cells, ['prod', 'Active', '5m']);
  assert.deepEqual(print('', 'ConfigMap', { metadata: meta('c'), data: { a: '1', b: '2' }, binaryData: { c: 'AA==' } }).cells, ['c', 3, '5m']);
  assert.deepEqual(print('', 'Secret', { metadata: meta('s'), type: 'Opaque', data: { a: 'eA==' } }).cells, ['s', 'Opaque', 1, '5m']);
  assert.deepEqual(print('', 'ServiceAccount', { metadata: meta('default') }).cells, ['default', 0, '5m']);
});

test('services: types, ports, external IPs, selector', () => {
  const svc = (spec: object, status: object = {}) => print('', 'Service', { metadata: meta('web'), spec, status });
  const cluster = svc({ type: 'ClusterIP', clusterIP: '10.96.0.10', clusterIPs: ['10.96.0.10'], ports: [{ port: 80, protocol: 'TCP' }, { port: 53, protocol: 'UDP' }], selector: { app: 'web', tier: 'fe' } });
  assert.deepEqual(cluster.columns, ['Name', 'Type', 'Cluster-IP', 'External-IP', 'Port(s)', 'Age', 'Selector']);
  assert.deepEqual(cluster.cells, ['web', 'ClusterIP', '10.96.0.10', '<none>', '80/TCP,53/UDP', '5m', 'app=web,tier=fe']);
  assert.equal(svc({ type: 'NodePort', clusterIPs: ['10.96.0.11'], ports: [{ port: 80, nodePort: 30080 }] }).cells[4], '80:30080/TCP');
  assert.equal(svc({ type: 'LoadBalancer', clusterIPs: ['10.96.0.12'] }).cells[3], '<pending>');
  assert.equal(svc({ type: 'LoadBalancer' }, { loadBalancer: { ingress: [{ ip: '203.0.113.9' }, { hostname: 'lb.example.com' }] } }).cells[3], '203.0.113.9,lb.example.com');
  const narrow = printTable({ group: '', kind: 'Service', now, objects: [{ metadata: meta('x'), spec: { type: 'LoadBalancer' }, status: { loadBalancer: { ingress: [{ hostname: 'a-very-long-hostname.example.com' }] } } }] });
  assert.equal(narrow.rows[0]!.cells[3], 'a-very-long-h...');
  assert.deepEqual(svc({ type: 'ExternalName', externalName: 'db.example.com' }).cells.slice(2, 5), ['<none>', 'db.example.com', '<none>']);
  assert.equal(svc({ type: 'ClusterIP', clusterIPs: ['None'] }).cells[2], 'None');
});

test('deployments, replica sets, stateful sets, daemon sets', () => {
  const template = { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'app', image: 'nginx:1' }, { name: 'log', image: 'busybox' }], nodeSelector: { disk: 'ssd' } } };
  const selector = { matchLabels: { app: 'web' } };
  const dep = print('apps', 'Deployment', { metadata: meta('web'), spec: { replicas: 3, selector, template }, status: { readyReplicas: 2, updatedReplicas: 3, availableReplicas: 2 } });
  assert.deepEqual(dep.columns, ['Name', 'Ready', 'Up-to-date', 'Available', 'Age', 'Containers', 'Images', 'Selector']);
  assert.deepEqual(dep.cells, ['web', '2/3', 3, 2, '5m', 'app,log', 'nginx:1,busybox', 'app=web']);
  assert.deepEqual(printTable({ group: 'apps', kind: 'Deployment', objects: [], now }).columnDefinitions.map((c) => c.name), ['Name', 'Ready', 'Up-to-date', 'Available', 'Age']);

  const rs = print('apps', 'ReplicaSet', { metadata: meta('web-abc'), spec: { replicas: 3, selector, template }, status: { replicas: 3, readyReplicas: 1 } });
  assert.deepEqual(rs.columns, ['Name', 'Desired', 'Current', 'Ready', 'Age', 'Containers', 'Images', 'Selector']);
  assert.deepEqual(rs.cells, ['web-abc', 3, 3, 1, '5m', 'app,log', 'nginx:1,busybox', 'app=web']);
  assert.equal(rs.table.columnDefinitions[1]!.type, 'integer');

  const sts = print('apps', 'StatefulSet', { metadata: meta('db'), spec: { replicas: 2, template }, status: { readyReplicas: 2 } });
  assert.deepEqual(sts.cells, ['db', '2/2', '5m', 'app,log', 'nginx:1,busybox']);

  const ds = print('apps', 'DaemonSet', { metadata: meta('agent'), spec: { selector: { matchExpressions: [{ key: 'app', operator: 'Exists' }] }, template }, status: { desiredNumberScheduled: 2, currentNumberScheduled: 2, numberReady: 1, updatedNumberScheduled: 2, numberAvailable: 1 } });
  assert.deepEqual(ds.columns, ['Name', 'Desired', 'Current', 'Ready', 'Up-to-date', 'Available', 'Node Selector', 'Age', 'Containers', 'Images', 'Selector']);
  assert.deepEqual(ds.cells, ['agent', 2, 2, 1, 2, 1, 'disk=ssd', '5m', 'app,log', 'nginx:1,busybox', 'app']);

  const rev = print('apps', 'ControllerRevision', { metadata: meta('db-7c9', { ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'db', controller: true }] }), revision: 4 });
  assert.deepEqual(rev.cells, ['db-7c9', 'statefulset.apps/db', 4, '5m']);
});

test('jobs and cron jobs', () => {
  const template = { spec: { containers: [{ name: 'work', image: 'busybox' }] } };
  const job = print('batch', 'Job', {
    metadata: meta('pi'),
    spec: { completions: 3, template, selector: { matchLabels: { 'batch.kubernetes.io/controller-uid': 'u' } } },
    status: { succeeded: 3, startTime: ago(4 * MIN), completionTime: ago(MIN), conditions: [{ type: 'Complete', status: 'True' }] },
  });
  assert.deepEqual(job.columns, ['Name', 'Status', 'Completions', 'Duration', 'Age', 'Containers', 'Images', 'Selector']);
  assert.deepEqual(job.cells, ['pi', 'Complete', '3/3', '3m', '5m', 'work', 'busybox', 'batch.kubernetes.io/controller-uid=u']);
  const running = print('batch', 'Job', { metadata: meta('q'), spec: { parallelism: 4, template }, status: { startTime: ago(90_000) } }, false);
  assert.deepEqual(running.cells, ['q', 'Running', '0/1 of 4', '90s', '5m']);
  assert.deepEqual(print('batch', 'Job', { metadata: meta('n'), spec: { template } }, false).cells.slice(1, 4), ['Running', '0/1', '']);
  assert.equal(print('batch', 'Job', { metadata: meta('f'), status: { conditions: [{ type: 'Failed', status: 'True' }] } }).cells[1], 'Failed');
  assert.equal(print('batch', 'Job', { metadata: meta('s'), status: { conditions: [{ type: 'Suspended', status: 'True' }] } }).cells[1], 'Suspended');

  const cron = print('batch', 'CronJob', {
    metadata: meta('nightly'),
    spec: { schedule: '0 3 * * *', suspend: false, jobTemplate: { spec: { template } } },
    status: { active: [{ name: 'nightly-1' }], lastScheduleTime: ago(2 * MIN) },
  });
  assert.deepEqual(cron.columns, ['Name', 'Schedule', 'Timezone', 'Suspend', 'Active', 'Last Schedule', 'Age', 'Containers', 'Images', 'Selector']);
  assert.deepEqual(cron.cells, ['nightly', '0 3 * * *', '<none>', 'False', 1, '2m', '5m', 'work', 'busybox', '<none>']);
});

test('events: narrow and wide, series and singleton counts', () => {
  const ev = {
    metadata: meta('web.17a'),
    involvedObject: { kind: 'Pod', name: 'web', namespace: 'default', fieldPath: 'spec.containers{app}' },
    reason: 'Pulled', message: '  Successfully pulled image  ', type: 'Normal',
    source: { component: 'kubelet', host: 'n1' },
    firstTimestamp: ago(10 * MIN), lastTimestamp: ago(MIN), count: 4,
  };
  const narrow = print('', 'Event', ev, false);
  assert.deepEqual(narrow.columns, ['Last Seen', 'Type', 'Reason', 'Object', 'Message']);
  assert.deepEqual(narrow.cells, ['60s', 'Normal', 'Pulled', 'pod/web', 'Successfully pulled image']);
  const wide = print('', 'Event', ev);
  assert.deepEqual(wide.columns, ['Last Seen', 'Type', 'Reason', 'Object', 'Subobject', 'Source', 'Message', 'First Seen', 'Count', 'Name']);
  assert.deepEqual(wide.cells, ['60s', 'Normal', 'Pulled', 'pod/web', 'spec.containers{app}', 'kubelet, n1', 'Successfully pulled image', '10m', 4, 'web.17a']);
  const newer = { metadata: meta('x'), involvedObject: { kind: 'Node' }, eventTime: ago(3 * MIN), reportingComponent: 'scheduler', type: 'Warning', reason: 'R', message: 'm' };
  assert.deepEqual(print('', 'Event', newer).cells, ['3m', 'Warning', 'R', 'node', '', 'scheduler', 'm', '3m', 1, 'x']);
  const series = { ...newer, series: { count: 7, lastObservedTime: ago(20_000) } };
  const seriesCells = print('', 'Event', series).cells;
  assert.deepEqual([seriesCells[0], seriesCells[8]], ['20s', 7]);
  // events.k8s.io/v1 names fields differently but prints the same
  const v1 = { metadata: meta('y'), regarding: { kind: 'Pod', name: 'web' }, note: 'hello', reason: 'R', type: 'Normal', reportingController: 'ctl', eventTime: ago(MIN) };
  assert.deepEqual(print('events.k8s.io', 'Event', v1, false).cells, ['60s', 'Normal', 'R', 'pod/web', 'hello']);
});

test('endpoints and endpoint slices', () => {
  const ep = { metadata: meta('web'), subsets: [{ addresses: [{ ip: '10.0.0.1' }, { ip: '10.0.0.2' }], ports: [{ port: 80 }, { port: 443 }] }] };
  assert.deepEqual(print('', 'Endpoints', ep).cells, ['web', '10.0.0.1:80,10.0.0.2:80,10.0.0.1:443 + 1 more...', '5m']);
  assert.equal(print('', 'Endpoints', { metadata: meta('e') }).cells[1], '<none>');
  assert.equal(print('', 'Endpoints', { metadata: meta('h'), subsets: [{ addresses: [{ ip: 'fd00::1' }] }] }).cells[1], 'fd00::1');
  assert.equal(print('', 'Endpoints', { metadata: meta('6'), subsets: [{ addresses: [{ ip: 'fd00::1' }], ports: [{ port: 8080 }] }] }).cells[1], '[fd00::1]:8080');
  const slice = { metadata: meta('web-x'), addressType: 'IPv4', ports: [{ port: 80 }, { name: 'http' }, {}, { port: 9 }], endpoints: [{ addresses: ['10.0.0.1'] }] };
  assert.deepEqual(print('discovery.k8s.io', 'EndpointSlice', slice).cells, ['web-x', 'IPv4', '80,http,* + 1 more...', '10.0.0.1', '5m']);
  assert.deepEqual(print('discovery.k8s.io', 'EndpointSlice', { metadata: meta('e'), addressType: 'IPv4' }).cells.slice(2, 4), ['<unset>', '<unset>']);
});

test('ingresses, ingress classes, network policies', () => {
  const ing = { metadata: meta('web'), spec: { ingressClassName: 'nginx', rules: [{ host: 'a.example' }, { host: 'b.example' }, {}, { host: 'c.example' }, { host: 'd.example' }], tls: [{}] }, status: { loadBalancer: { ingress: [{ ip: '192.0.2.1' }] } } };
  const out = print('networking.k8s.io', 'Ingress', ing);
  assert.deepEqual(out.columns, ['Name', 'Class', 'Hosts', 'Address', 'Ports', 'Age']);
  assert.deepEqual(out.cells, ['web', 'nginx', 'a.example,b.example,c.example + 2 more...', '192.0.2.1', '80, 443', '5m']);
  assert.deepEqual(print('networking.k8s.io', 'Ingress', { metadata: meta('x'), spec: {} }).cells.slice(1, 5), ['<none>', '*', '', '80']);
  assert.deepEqual(print('networking.k8s.io', 'IngressClass', { metadata: meta('nginx'), spec: { controller: 'k8s.io/ingress-nginx', parameters: { kind: 'Params', apiGroup: 'example.com', name: 'p' } } }).cells, ['nginx', 'k8s.io/ingress-nginx', 'Params.example.com/p', '5m']);
  assert.deepEqual(print('networking.k8s.io', 'NetworkPolicy', { metadata: meta('deny'), spec: { podSelector: {} } }).cells, ['deny', '<none>', '5m']);
  assert.equal(print('networking.k8s.io', 'NetworkPolicy', { metadata: meta('a'), spec: { podSelector: { matchLabels: { role: 'db' } } } }).cells[1], 'role=db');
});

test('volumes, claims and storage classes', () => {
  const pv = { metadata: meta('pv1'), spec: { capacity: { storage: '10Gi' }, accessModes: ['ReadWriteMany', 'ReadWriteOnce'], persistentVolumeReclaimPolicy: 'Retain', claimRef: { namespace: 'prod', name: 'data' }, storageClassName: 'fast', volumeMode: 'Filesystem' }, status: { phase: 'Bound' } };
  const out = print('', 'PersistentVolume', pv);
  assert.deepEqual(out.columns, ['Name', 'Capacity', 'Access Modes', 'Reclaim Policy', 'Status', 'Claim', 'StorageClass', 'VolumeAttributesClass', 'Reason', 'Age', 'VolumeMode']);
  assert.deepEqual(out.cells, ['pv1', '10Gi', 'RWO,RWX', 'Retain', 'Bound', 'prod/data', 'fast', '<unset>', '', '5m', 'Filesystem']);
  const pvc = { metadata: meta('data'), spec: { volumeName: 'pv1', storageClassName: 'fast' }, status: { phase: 'Bound', capacity: { storage: '10Gi' }, accessModes: ['ReadWriteOnce'] } };
  assert.deepEqual(print('', 'PersistentVolumeClaim', pvc).cells, ['data', 'Bound', 'pv1', '10Gi', 'RWO', 'fast', '<unset>', '5m', '<unset>']);
  assert.deepEqual(print('', 'PersistentVolumeClaim', { metadata: meta('p', { deletionTimestamp: ago(1) }), spec: {}, status: { phase: 'Pending' } }).cells.slice(1, 5), ['Terminating', '', '', '']);
  const sc = { metadata: meta('fast', { annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } }), provisioner: 'rancher.io/local-path' };
  assert.deepEqual(print('storage.k8s.io', 'StorageClass', sc).cells, ['fast (default)', 'rancher.io/local-path', 'Delete', 'Immediate', false, '5m']);
});

test('rbac: bindings show role and subjects; roles use the default table', () => {
  const rb = { metadata: meta('read'), roleRef: { kind: 'ClusterRole', name: 'view' }, subjects: [{ kind: 'User', name: 'alice' }, { kind: 'User', name: 'bob' }, { kind: 'Group', name: 'devs' }, { kind: 'ServiceAccount', namespace: 'ci', name: 'bot' }] };
  const out = print('rbac.authorization.k8s.io', 'RoleBinding', rb);
  assert.deepEqual(out.columns, ['Name', 'Role', 'Age', 'Users', 'Groups', 'ServiceAccounts']);
  assert.deepEqual(out.cells, ['read', 'ClusterRole/view', '5m', 'alice, bob', 'devs', 'ci/bot']);
  assert.deepEqual(print('rbac.authorization.k8s.io', 'ClusterRoleBinding', rb, false).cells, ['read', 'ClusterRole/view', '5m']);
  const role = print('rbac.authorization.k8s.io', 'ClusterRole', { metadata: { name: 'view', creationTimestamp: '2024-05-06T07:08:09Z' } });
  assert.deepEqual(role.columns, ['Name', 'Created At']);
  assert.deepEqual(role.cells, ['view', '2024-05-06T07:08:09Z']);
  assert.equal(role.table.columnDefinitions[1]!.type, 'date');
});

test('policy, scheduling, coordination, quotas, limit ranges, autoscaling', () => {
  assert.deepEqual(print('policy', 'PodDisruptionBudget', { metadata: meta('pdb'), spec: { minAvailable: '50%' }, status: { disruptionsAllowed: 1 } }).cells, ['pdb', '50%', 'N/A', 1, '5m']);
  assert.deepEqual(print('scheduling.k8s.io', 'PriorityClass', { metadata: meta('high'), value: 1000, preemptionPolicy: 'Never' }).cells, ['high', 1000, false, '5m', 'Never']);
  assert.deepEqual(print('coordination.k8s.io', 'Lease', { metadata: meta('kube-scheduler'), spec: { holderIdentity: 'node-a_1' } }).cells, ['kube-scheduler', 'node-a_1', '5m']);
  const quota = { metadata: meta('q'), status: { hard: { pods: '10', 'limits.cpu': '2', 'requests.cpu': '1' }, used: { pods: '3', 'requests.cpu': '500m' } } };
  assert.deepEqual(print('', 'ResourceQuota', quota).cells, ['q', 'pods: 3/10, requests.cpu: 500m/1', 'limits.cpu: 0/2', '5m']);
  assert.deepEqual(print('', 'LimitRange', { metadata: { name: 'lr' } }).cells, ['lr', '0001-01-01T00:00:00Z']);
  const hpa = {
    metadata: meta('web'),
    spec: { scaleTargetRef: { kind: 'Deployment', name: 'web' }, minReplicas: 1, maxReplicas: 5, metrics: [
      { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } } },
      { type: 'Resource', resource: { name: 'memory', target: { type: 'AverageValue', averageValue: '1Gi' } } },
      { type: 'Pods', pods: { target: { averageValue: '10' } } },
    ] },
    status: { currentReplicas: 2, currentMetrics: [{ type: 'Resource', resource: { name: 'cpu', current: { averageUtilization: 40 } } }] },
  };
  assert.deepEqual(print('autoscaling', 'HorizontalPodAutoscaler', hpa).cells, ['web', 'Deployment/web', 'cpu: 40%/80%, memory: <unknown>/1Gi + 1 more...', '1', 5, 2, '5m']);
  const v1 = { metadata: meta('old'), spec: { scaleTargetRef: { kind: 'Deployment', name: 'd' }, maxReplicas: 3, targetCPUUtilizationPercentage: 50 }, status: { currentReplicas: 1 } };
  assert.deepEqual(print('autoscaling', 'HorizontalPodAutoscaler', v1).cells.slice(2, 4), ['cpu: <unknown>/50%', '<unset>']);
});

test('replication controllers, CSRs, runtime classes, CRDs, API services', () => {
  const rc = { metadata: meta('rc'), spec: { replicas: 2, selector: { app: 'x' }, template: { spec: { containers: [{ name: 'c', image: 'i' }] } } }, status: { replicas: 2, readyReplicas: 2 } };
  assert.deepEqual(print('', 'ReplicationController', rc).cells, ['rc', 2, 2, 2, '5m', 'c', 'i', 'app=x']);
  const csr = { metadata: meta('csr-1'), spec: { signerName: 'kubernetes.io/kube-apiserver-client', username: 'alice', expirationSeconds: 86400 }, status: { conditions: [{ type: 'Approved' }], certificate: 'LS0t' } };
  const c = print('certificates.k8s.io', 'CertificateSigningRequest', csr);
  assert.deepEqual(c.columns, ['Name', 'Age', 'SignerName', 'Requestor', 'RequestedDuration', 'Condition']);
  assert.deepEqual(c.cells, ['csr-1', '5m', 'kubernetes.io/kube-apiserver-client', 'alice', '24h', 'Approved,Issued']);
  assert.deepEqual(print('node.k8s.io', 'RuntimeClass', { metadata: meta('crun'), handler: 'crun' }).cells, ['crun', 'crun', '5m']);
  assert.deepEqual(print('apiextensions.k8s.io', 'CustomResourceDefinition', { metadata: { name: 'widgets.example.com', creationTimestamp: '2025-01-01T00:00:00Z' } }).columns, ['Name', 'Created At']);
  const apisvc = { metadata: meta('v1beta1.metrics.k8s.io'), spec: { service: { namespace: 'kube-system', name: 'metrics' } }, status: { conditions: [{ type: 'Available', status: 'False', reason: 'MissingEndpoints' }] } };
  assert.deepEqual(print('apiregistration.k8s.io', 'APIService', apisvc).cells, ['v1beta1.metrics.k8s.io', 'kube-system/metrics', 'False (MissingEndpoints)', '5m']);
  assert.deepEqual(print('apiregistration.k8s.io', 'APIService', { metadata: meta('v1.') }).cells.slice(1, 3), ['Local', 'Unknown']);
});

test('unknown kinds fall back to NAME and AGE', () => {
  assert.equal(hasPrinter('example.com', 'Widget'), false);
  assert.equal(hasPrinter('core', 'Pod'), true);
  const out = printTable({ group: 'example.com', kind: 'Widget', objects: [{ metadata: meta('w1') }, { metadata: { name: 'w2' } }], now });
  assert.deepEqual(out.columnDefinitions.map((c) => [c.name, c.type, c.format, c.priority]), [['Name', 'string', 'name', 0], ['Age', 'string', '', 0]]);
  assert.deepEqual(out.rows.map((r) => r.cells), [['w1', '5m'], ['w2', '<unknown>']]);
  for (const def of out.columnDefinitions) assert.ok(def.description.length > 0);
});
