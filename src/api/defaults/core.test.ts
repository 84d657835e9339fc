import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { applyDefaults, preserveServiceAllocations } from './index.ts';

const defaulted = (group: string, kind: string, yaml: string, version = 'v1') => {
  const obj = parse(yaml);
  applyDefaults({ group, version, kind, object: obj });
  return obj;
};

test('ClusterIP Service defaults', () => {
  const svc = defaulted('', 'Service', `
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports:
  - port: 80
  - name: metrics
    port: 9090
    targetPort: metrics
`);
  assert.deepEqual(svc.spec, {
    selector: { app: 'web' },
    ports: [{ port: 80, protocol: 'TCP', targetPort: 80 }, { name: 'metrics', port: 9090, targetPort: 'metrics', protocol: 'TCP' }],
    sessionAffinity: 'None',
    type: 'ClusterIP',
    internalTrafficPolicy: 'Cluster',
    ipFamilies: ['IPv4'],
    ipFamilyPolicy: 'SingleStack',
  });
  assert.equal(svc.spec.clusterIP, undefined, 'allocation is the server\'s job');
});

test('NodePort and LoadBalancer Services get external traffic defaults', () => {
  const np = defaulted('', 'Service', `{apiVersion: v1, kind: Service, metadata: {name: np}, spec: {type: NodePort, selector: {a: b}, ports: [{port: 80, nodePort: 30080}]}}`);
  assert.equal(np.spec.externalTrafficPolicy, 'Cluster');
  assert.equal(np.spec.allocateLoadBalancerNodePorts, undefined);
  const lb = defaulted('', 'Service', `{apiVersion: v1, kind: Service, metadata: {name: lb}, spec: {type: LoadBalancer, selector: {a: b}, ports: [{port: 443}]}}`);
  assert.equal(lb.spec.externalTrafficPolicy, 'Cluster');
  assert.equal(lb.spec.allocateLoadBalancerNodePorts, true);
  const affinity = defaulted('', 'Service', `{apiVersion: v1, kind: Service, metadata: {name: s}, spec: {sessionAffinity: ClientIP, ports: [{port: 1}]}}`);
  assert.deepEqual(affinity.spec.sessionAffinityConfig, { clientIP: { timeoutSeconds: 10800 } });
});

test('headless and ExternalName Services', () => {
  const headless = defaulted('', 'Service', `{apiVersion: v1, kind: Service, metadata: {name: db}, spec: {clusterIP: None, selector: {app: db}, ports: [{port: 5432}]}}`);
  assert.deepEqual(headless.spec.clusterIPs, ['None']);
  assert.equal(headless.spec.ipFamilyPolicy, 'SingleStack');
  const selectorless = defaulted('', 'Service', `{apiVersion: v1, kind: Service, metadata: {name: ext}, spec: {clusterIP: None}}`);
  assert.equal(selectorless.spec.ipFamilyPolicy, 'RequireDualStack');
  assert.deepEqual(selectorless.spec.ipFamilies, ['IPv4']);
  const en = defaulted('', 'Service', `{apiVersion: v1, kind: Service, metadata: {name: mail}, spec: {type: ExternalName, externalName: mail.example.com}}`);
  assert.equal(en.spec.ipFamilies, undefined);
  assert.equal(en.spec.ipFamilyPolicy, undefined);
  assert.equal(en.spec.internalTrafficPolicy, undefined);
});

test('updates keep allocated service fields the client left out', () => {
  const old = { spec: { type: 'NodePort', clusterIP: '10.96.0.10', clusterIPs: ['10.96.0.10'], ipFamilies: ['IPv4'], ipFamilyPolicy: 'SingleStack', ports: [{ port: 80, protocol: 'TCP', nodePort: 31000 }] } };
  const replacement = { spec: { type: 'NodePort', ports: [{ port: 80, protocol: 'TCP' }] } };
  preserveServiceAllocations({ object: replacement, oldObject: old });
  assert.equal((replacement.spec as any).clusterIP, '10.96.0.10');
  assert.deepEqual((replacement.spec as any).clusterIPs, ['10.96.0.10']);
  assert.equal((replacement.spec.ports[0] as any).nodePort, 31000);
});

test('Namespace, Secret, PVC and PV defaults', () => {
  const ns = defaulted('', 'Namespace', `{apiVersion: v1, kind: Namespace, metadata: {name: team-a}}`);
  assert.deepEqual(ns.metadata.labels, { 'kubernetes.io/metadata.name': 'team-a' });
  assert.deepEqual(ns.spec, { finalizers: ['kubernetes'] });
  assert.deepEqual(ns.status, { phase: 'Active' });
  // While a namespace is deleted its finalizer is removed; updates must not bring it back.
  const terminating = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'old' }, spec: { finalizers: [] }, status: { phase: 'Terminating' } };
  applyDefaults({ group: '', version: 'v1', kind: 'Namespace', object: terminating, operation: 'update' });
  assert.deepEqual(terminating.spec.finalizers, []);
  assert.equal(terminating.status.phase, 'Terminating');

  const secret = defaulted('', 'Secret', `
apiVersion: v1
kind: Secret
metadata: {name: db}
data: {user: YWRtaW4=}
stringData: {password: s3cret}
`);
  assert.equal(secret.type, 'Opaque');
  assert.deepEqual(secret.data, { user: 'YWRtaW4=', password: Buffer.from('s3cret').toString('base64') });
  assert.equal(secret.stringData, undefined);

  const pvc = defaulted('', 'PersistentVolumeClaim', `{apiVersion: v1, kind: PersistentVolumeClaim, metadata: {name: data}, spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}}`);
  assert.equal(pvc.spec.volumeMode, 'Filesystem');
  assert.deepEqual(pvc.status, { phase: 'Pending' });

  const pv = defaulted('', 'PersistentVolume', `{apiVersion: v1, kind: PersistentVolume, metadata: {name: pv1}, spec: {capacity: {storage: 1Gi}, accessModes: [ReadWriteOnce], hostPath: {path: /data}}}`);
  assert.equal(pv.spec.persistentVolumeReclaimPolicy, 'Retain');
  assert.equal(pv.spec.volumeMode, 'Filesystem');
  assert.equal(pv.spec.hostPath.type, '');
  assert.deepEqual(pv.status, { phase: 'Pending' });
});

test('defaults of other groups', () => {
  const sc = defaulted('storage.k8s.io', 'StorageClass', `{apiVersion: storage.k8s.io/v1, kind: StorageClass, metadata: {name: local}, provisioner: rancher.io/local-path}`);
  assert.equal(sc.reclaimPolicy, 'Delete');
  assert.equal(sc.volumeBindingMode, 'Immediate');

  const pc = defaulted('scheduling.k8s.io', 'PriorityClass', `{apiVersion: scheduling.k8s.io/v1, kind: PriorityClass, metadata: {name: high}, value: 1000}`);
  assert.equal(pc.preemptionPolicy, 'PreemptLowerPriority');

  const np = defaulted('networking.k8s.io', 'NetworkPolicy', `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny}
spec:
  podSelector: {}
  egress:
  - ports: [{port: 53}]
`);
  assert.deepEqual(np.spec.policyTypes, ['Ingress', 'Egress']);
  assert.equal(np.spec.egress[0].ports[0].protocol, 'TCP');

  const rb = defaulted('rbac.authorization.k8s.io', 'RoleBinding', `
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: read}
roleRef: {kind: Role, name: reader}
subjects:
- {kind: ServiceAccount, name: default, namespace: default}
- {kind: User, name: jane}
`);
  assert.equal(rb.roleRef.apiGroup, 'rbac.authorization.k8s.io');
  assert.equal(rb.subjects[0].apiGroup, '');
  assert.equal(rb.subjects[1].apiGroup, 'rbac.authorization.k8s.io');

  const hpa = defaulted('autoscaling', 'HorizontalPodAutoscaler', `
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: web}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  maxReplicas: 5
  behavior:
    scaleDown: {stabilizationWindowSeconds: 60}
`, 'v2');
  assert.equal(hpa.spec.minReplicas, 1);
  assert.deepEqual(hpa.spec.metrics, [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } } }]);
  assert.equal(hpa.spec.behavior.scaleDown.stabilizationWindowSeconds, 60);
  assert.equal(hpa.spec.behavior.scaleDown.selectPolicy, 'Max');
  assert.equal(hpa.spec.behavior.scaleUp.policies.length, 2);

  const slice = defaulted('discovery.k8s.io', 'EndpointSlice', `{apiVersion: discovery.k8s.io/v1, kind: EndpointSlice, metadata: {name: s}, addressType: IPv4, endpoints: [], ports: [{port: 80}]}`);
  assert.deepEqual(slice.ports, [{ port: 80, name: '', protocol: 'TCP' }]);

  const ing = defaulted('networking.k8s.io', 'Ingress', `{apiVersion: networking.k8s.io/v1, kind: Ingress, metadata: {name: i}, spec: {rules: [{http: {paths: [{path: /, backend: {service: {name: web, port: {number: 80}}}}]}}]}}`);
  assert.equal(ing.spec.rules[0].http.paths[0].pathType, undefined, 'pathType has no default');
});

test('unknown kinds and non-objects are left alone', () => {
  const cr = { apiVersion: 'example.com/v1', kind: 'Widget', spec: { size: 1 } };
  applyDefaults({ group: 'example.com', version: 'v1', kind: 'Widget', object: cr });
  assert.deepEqual(cr, { apiVersion: 'example.com/v1', kind: 'Widget', spec: { size: 1 } });
  applyDefaults({ group: '', version: 'v1', kind: 'Pod', object: null });
});
