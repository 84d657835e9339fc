import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { applyDefaults, generateJobSelector } from './index.ts';

const defaulted = (group: string, kind: string, yaml: string) => {
  const obj = parse(yaml);
  applyDefaults({ group, version: 'v1', kind, object: obj });
  return obj;
};

test('Deployment defaults', () => {
  const d = defaulted('apps', 'Deployment', `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: nginx:1.27}]
`);
  assert.equal(d.spec.replicas, 1);
  assert.deepEqual(d.spec.strategy, { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' } });
  assert.equal(d.spec.revisionHistoryLimit, 10);
  assert.equal(d.spec.progressDeadlineSeconds, 600);
  assert.equal(d.spec.template.spec.restartPolicy, 'Always');
  assert.equal(d.spec.template.spec.containers[0].imagePullPolicy, 'IfNotPresent');
});

test('a Recreate Deployment gets no rollingUpdate; explicit replicas 0 stays', () => {
  const d = defaulted('apps', 'Deployment', `
apiVersion: apps/v1
kind: Deployment
metadata: {name: db}
spec:
  replicas: 0
  strategy: {type: Recreate}
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: db, image: postgres:16}]}
`);
  assert.equal(d.spec.replicas, 0);
  assert.deepEqual(d.spec.strategy, { type: 'Recreate' });
});

test('ReplicaSet, DaemonSet and StatefulSet defaults', () => {
  const rs = defaulted('apps', 'ReplicaSet', `{apiVersion: apps/v1, kind: ReplicaSet, metadata: {name: r}, spec: {selector: {matchLabels: {a: b}}, template: {metadata: {labels: {a: b}}, spec: {containers: [{name: c, image: i}]}}}}`);
  assert.equal(rs.spec.replicas, 1);

  const ds = defaulted('apps', 'DaemonSet', `
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec: {containers: [{name: agent, image: agent:2}]}
`);
  assert.deepEqual(ds.spec.updateStrategy, { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } });
  assert.equal(ds.spec.revisionHistoryLimit, 10);

  const sts = defaulted('apps', 'StatefulSet', `
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: db
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: db, image: postgres:16}]}
  volumeClaimTemplates:
  - metadata: {name: data}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: 1Gi}}
`);
  assert.equal(sts.spec.replicas, 1);
  assert.equal(sts.spec.podManagementPolicy, 'OrderedReady');
  assert.deepEqual(sts.spec.updateStrategy, { type: 'RollingUpdate', rollingUpdate: { partition: 0 } });
  assert.equal(sts.spec.revisionHistoryLimit, 10);
  assert.deepEqual(sts.spec.persistentVolumeClaimRetentionPolicy, { whenDeleted: 'Retain', whenScaled: 'Retain' });
  assert.equal(sts.spec.volumeClaimTemplates[0].spec.volumeMode, 'Filesystem');
  assert.deepEqual(sts.spec.volumeClaimTemplates[0].status, { phase: 'Pending' });
});

test('Job defaults and the generated selector', () => {
  const job = defaulted('batch', 'Job', `
apiVersion: batch/v1
kind: Job
metadata: {name: pi, namespace: default}
spec:
  template:
    spec:
      containers: [{name: pi, image: perl:5.34, command: [perl, -e, print 1]}]
      restartPolicy: Never
`);
  assert.equal(job.spec.completions, 1);
  assert.equal(job.spec.parallelism, 1);
  assert.equal(job.spec.backoffLimit, 6);
  assert.equal(job.spec.completionMode, 'NonIndexed');
  assert.equal(job.spec.suspend, false);
  assert.equal(job.spec.manualSelector, false);
  assert.equal(job.spec.podReplacementPolicy, 'TerminatingOrFailed');
  assert.equal(job.spec.selector, undefined, 'the selector needs the uid');

  job.metadata.uid = '6f1b7f0e-0000-4000-8000-000000000001';
  generateJobSelector(job);
  const labels = {
    'batch.kubernetes.io/controller-uid': job.metadata.uid,
    'batch.kubernetes.io/job-name': 'pi',
    'controller-uid': job.metadata.uid,
    'job-name': 'pi',
  };
  assert.deepEqual(job.spec.selector, { matchLabels: { 'batch.kubernetes.io/controller-uid': job.metadata.uid } });
  assert.deepEqual(job.spec.template.metadata.labels, labels);
  assert.deepEqual(job.metadata.labels, labels);
});

test('Job completions/parallelism and per-index rules', () => {
  const parallel = defaulted('batch', 'Job', `{apiVersion: batch/v1, kind: Job, metadata: {name: w}, spec: {parallelism: 3, template: {spec: {restartPolicy: OnFailure, containers: [{name: w, image: w}]}}}}`);
  assert.equal(parallel.spec.parallelism, 3);
  assert.equal(parallel.spec.completions, undefined, 'a work queue job has no completion count');

  const indexed = defaulted('batch', 'Job', `
apiVersion: batch/v1
kind: Job
metadata: {name: idx, labels: {team: a}}
spec:
  completions: 5
  completionMode: Indexed
  backoffLimitPerIndex: 1
  podFailurePolicy:
    rules:
    - action: Ignore
      onPodConditions: [{type: DisruptionTarget}]
  template:
    metadata: {labels: {app: idx}}
    spec: {restartPolicy: Never, containers: [{name: w, image: w}]}
`);
  assert.equal(indexed.spec.parallelism, 1);
  assert.equal(indexed.spec.backoffLimit, 2147483647);
  assert.equal(indexed.spec.podReplacementPolicy, 'Failed');
  assert.equal(indexed.spec.podFailurePolicy.rules[0].onPodConditions[0].status, 'True');
  indexed.metadata.uid = 'u1';
  generateJobSelector(indexed);
  assert.deepEqual(indexed.metadata.labels, { team: 'a' }, 'existing job labels are kept');
  assert.equal(indexed.spec.template.metadata.labels.app, 'idx');
});

test('manualSelector jobs keep their selector', () => {
  const job = defaulted('batch', 'Job', `
apiVersion: batch/v1
kind: Job
metadata: {name: m, uid: u2}
spec:
  manualSelector: true
  selector: {matchLabels: {run: m}}
  template:
    metadata: {labels: {run: m}}
    spec: {restartPolicy: Never, containers: [{name: m, image: m}]}
`);
  generateJobSelector(job);
  assert.deepEqual(job.spec.selector, { matchLabels: { run: 'm' } });
  assert.deepEqual(job.spec.template.metadata.labels, { run: 'm' });
});

test('CronJob defaults, including its job template', () => {
  const cj = defaulted('batch', 'CronJob', `
apiVersion: batch/v1
kind: CronJob
metadata: {name: hello}
spec:
  schedule: "*/5 * * * *"
  jobTemplate:
    spec:
      template:
        spec:
          containers: [{name: hello, image: busybox:1.36, command: [date]}]
          restartPolicy: OnFailure
`);
  assert.equal(cj.spec.concurrencyPolicy, 'Allow');
  assert.equal(cj.spec.suspend, false);
  assert.equal(cj.spec.successfulJobsHistoryLimit, 3);
  assert.equal(cj.spec.failedJobsHistoryLimit, 1);
  assert.equal(cj.spec.jobTemplate.spec.backoffLimit, undefined, 'Job defaults apply to Jobs, not templates');
  assert.equal(cj.spec.jobTemplate.spec.template.spec.dnsPolicy, 'ClusterFirst');
});

test('ReplicationController takes selector and labels from its template', () => {
  const obj = parse(`
apiVersion: v1
kind: ReplicationController
metadata: {name: rc}
spec:
  template:
    metadata: {labels: {app: legacy}}
    spec: {containers: [{name: c, image: nginx}]}
`);
  applyDefaults({ group: '', version: 'v1', kind: 'ReplicationController', object: obj });
  assert.deepEqual(obj.spec.selector, { app: 'legacy' });
  assert.deepEqual(obj.metadata.labels, { app: 'legacy' });
  assert.equal(obj.spec.replicas, 1);
});
