import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { errorsOf, errorsOfUpdate, prepare } from './testing.ts';
import { formatInvalidMessage } from './errors.ts';
import { validateObject } from './index.ts';

const deployment = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: default}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: nginx:1.27, ports: [{containerPort: 80}]}]
`;

test('a typical Deployment is valid', () => {
  assert.deepEqual(errorsOf(deployment), []);
});

test('the apps/v1 selector is required and must match the template (the classic 422)', () => {
  const obj = parse(`
apiVersion: apps/v1
kind: Deployment
metadata: {name: nginx, namespace: default}
spec:
  template:
    metadata: {labels: {app: nginx}}
    spec: {containers: [{name: nginx, image: nginx}]}
`);
  const { object } = prepare(obj);
  const errors = validateObject({ group: 'apps', version: 'v1', kind: 'Deployment', object });
  assert.equal(
    formatInvalidMessage('Deployment.apps', 'nginx', errors),
    'Deployment.apps "nginx" is invalid: [spec.selector: Required value, spec.template.metadata.labels: Invalid value: map[string]string{"app":"nginx"}: `selector` does not match template `labels`]',
  );
  assert.deepEqual(errorsOf(deployment.replace('labels: {app: web}', 'labels: {app: y}')), [
    'spec.template.metadata.labels: Invalid value: map[string]string{"app":"y"}: `selector` does not match template `labels`',
  ]);
  assert.deepEqual(errorsOf(deployment.replace('selector: {matchLabels: {app: web}}', 'selector: {}')), [
    'spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for deployment',
  ]);
  assert.deepEqual(errorsOf(deployment.replace('selector: {matchLabels: {app: web}}', 'selector: {matchExpressions: [{key: app, operator: Like, values: [web]}]}')), [
    'spec.selector.matchExpressions[0].operator: Invalid value: "Like": not a valid selector operator',
    'spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement{v1.LabelSelectorRequirement{Key:"app", Operator:"Like", Values:[]string{"web"}}}}: invalid label selector',
  ]);
});

test('Deployment replicas, strategy and template restart policy', () => {
  assert.deepEqual(errorsOf(`
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: default}
spec:
  replicas: -1
  strategy: {rollingUpdate: {maxSurge: 0, maxUnavailable: 0}}
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {restartPolicy: Never, containers: [{name: web, image: nginx}]}
`), [
    'spec.replicas: Invalid value: -1: must be greater than or equal to 0',
    'spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"',
    'spec.strategy.rollingUpdate.maxUnavailable: Invalid value: 0: may not be 0 when `maxSurge` is 0',
  ]);
  assert.deepEqual(errorsOf(deployment.replace('replicas: 3', 'strategy: {type: Recreate, rollingUpdate: {maxSurge: 1}}')), [
    "spec.strategy.rollingUpdate: Forbidden: may not be specified when strategy `type` is 'Recreate'",
  ]);
  assert.deepEqual(errorsOf(deployment.replace('replicas: 3', 'strategy: {rollingUpdate: {maxSurge: "1O%", maxUnavailable: "110%"}}')), [
    "spec.strategy.rollingUpdate.maxSurge: Invalid value: 1O%: a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')",
    'spec.strategy.rollingUpdate.maxUnavailable: Invalid value: 110%: must not be greater than 100%',
  ]);
  assert.deepEqual(errorsOf(deployment.replace('replicas: 3', 'minReadySeconds: 700')), [
    'spec.progressDeadlineSeconds: Invalid value: 600: must be greater than minReadySeconds',
  ]);
});

test('apps/v1 selectors are immutable; scaling and image changes are not', () => {
  assert.deepEqual(errorsOfUpdate(deployment, (d) => {
    d.spec.selector.matchLabels.app = 'web2';
    d.spec.template.metadata.labels.app = 'web2';
  }), ['spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"app":"web2"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable']);
  assert.deepEqual(errorsOfUpdate(deployment, (d) => {
    d.spec.replicas = 5;
    d.spec.template.spec.containers[0].image = 'nginx:1.28';
  }), []);
});

test('DaemonSets', () => {
  const ds = `
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: kube-system}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec: {containers: [{name: agent, image: agent:1}]}
`;
  assert.deepEqual(errorsOf(ds), []);
  assert.deepEqual(errorsOf(ds.replace('spec:\n  selector', 'spec:\n  updateStrategy: {rollingUpdate: {maxUnavailable: 1, maxSurge: 1}}\n  selector')), [
    'spec.updateStrategy.rollingUpdate.maxSurge: Invalid value: 1: may not be set when maxUnavailable is non-zero',
  ]);
  assert.deepEqual(errorsOf(ds.replace('spec:\n  selector', 'spec:\n  updateStrategy: {rollingUpdate: {maxUnavailable: 0}}\n  selector')), [
    'spec.updateStrategy.rollingUpdate.maxUnavailable: Required value: cannot be 0 when maxSurge is 0',
  ]);
});

const sts = `
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: default}
spec:
  serviceName: db
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: db, image: postgres:16}]}
  volumeClaimTemplates:
  - metadata: {name: data}
    spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
`;

test('StatefulSets and their update rules', () => {
  assert.deepEqual(errorsOf(sts), []);
  assert.deepEqual(errorsOf(sts.replace('serviceName: db', 'serviceName: db\n  podManagementPolicy: Random')), [
    "spec.podManagementPolicy: Invalid value: \"Random\": must be 'OrderedReady' or 'Parallel'",
  ]);
  assert.deepEqual(errorsOfUpdate(sts, (s) => {
    s.spec.replicas = 3;
    s.spec.template.spec.containers[0].image = 'postgres:17';
    s.spec.minReadySeconds = 5;
    s.spec.persistentVolumeClaimRetentionPolicy.whenScaled = 'Delete';
  }), []);
  assert.deepEqual(errorsOfUpdate(sts, (s) => (s.spec.volumeClaimTemplates[0].spec.resources.requests.storage = '2Gi')), [
    "spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
  ]);
});

test('StatefulSet: containers may mount a volumeClaimTemplate by name', () => {
    const sts = {
      apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'db', namespace: 'default' },
      spec: {
        serviceName: 'db', replicas: 1, selector: { matchLabels: { app: 'db' } }, podManagementPolicy: 'OrderedReady',
        updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 0 } },
        template: { metadata: { labels: { app: 'db' } }, spec: { restartPolicy: 'Always', dnsPolicy: 'ClusterFirst', containers: [{ name: 'db', image: 'postgres', imagePullPolicy: 'IfNotPresent', terminationMessagePolicy: 'File', volumeMounts: [{ name: 'data', mountPath: '/data' }] }] } },
        volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }],
      },
    };
    const errors = validateObject({ group: 'apps', version: 'v1', kind: 'StatefulSet', object: sts });
    assert.deepEqual(errors.filter((e) => e.field.includes('volumeMounts')), []);
});
