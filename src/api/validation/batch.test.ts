import { test } from 'node:test';
import assert from 'node:assert/strict';
import { errorsOf, errorsOfUpdate } from './testing.ts';
import { cronScheduleError } from './cron.ts';

const job = `
apiVersion: batch/v1
kind: Job
metadata: {name: pi, namespace: default}
spec:
  template:
    spec:
      containers: [{name: pi, image: "perl:5.34", command: [perl, -Mbignum=bpi, -wle, print bpi(2000)]}]
      restartPolicy: Never
`;

test('a typical Job (with its generated selector) is valid', () => {
  assert.deepEqual(errorsOf(job), []);
});

test('Job rules: restart policy, counts, completion mode', () => {
  assert.deepEqual(errorsOf(job.replace('restartPolicy: Never', 'restartPolicy: Always')), [
    'spec.template.spec.restartPolicy: Unsupported value: "Always": supported values: "OnFailure", "Never"',
  ]);
  assert.deepEqual(errorsOf(job.replace('spec:\n  template', 'spec:\n  parallelism: -1\n  completionMode: Indexed\n  template')), [
    'spec.parallelism: Invalid value: -1: must be greater than or equal to 0',
    'spec.completions: Required value: when completion mode is Indexed',
  ]);
  assert.deepEqual(errorsOf(job.replace('spec:\n  template', 'spec:\n  completionMode: Sometimes\n  template')), [
    'spec.completionMode: Unsupported value: "Sometimes": supported values: "NonIndexed", "Indexed"',
  ]);
});

test('generated selectors must not be overridden; manual selectors must match', () => {
  assert.deepEqual(errorsOf(job.replace('spec:\n  template', 'spec:\n  selector: {matchLabels: {app: other}}\n  template')), [
    'spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"app":"other", "batch.kubernetes.io/controller-uid":"00000000-0000-4000-8000-000000000001"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: `selector` not auto-generated',
    'spec.template.metadata.labels: Invalid value: map[string]string{"batch.kubernetes.io/controller-uid":"00000000-0000-4000-8000-000000000001", "batch.kubernetes.io/job-name":"pi", "controller-uid":"00000000-0000-4000-8000-000000000001", "job-name":"pi"}: `selector` does not match template `labels`',
  ]);
  const manual = `
apiVersion: batch/v1
kind: Job
metadata: {name: m, namespace: default}
spec:
  manualSelector: true
  selector: {matchLabels: {run: m}}
  template:
    metadata: {labels: {run: n}}
    spec: {restartPolicy: Never, containers: [{name: m, image: busybox}]}
`;
  assert.deepEqual(errorsOf(manual), [
    'spec.template.metadata.labels: Invalid value: map[string]string{"run":"n"}: `selector` does not match template `labels`',
  ]);
});

test('Job updates: selector, template and completions are immutable', () => {
  assert.deepEqual(errorsOfUpdate(job, (j) => (j.spec.parallelism = 2)), []);
  const errs = errorsOfUpdate(job, (j) => {
    j.spec.template.spec.containers[0].image = 'perl:5.36';
    j.spec.completions = 3;
  });
  assert.equal(errs.length, 2);
  assert.equal(errs[0], 'spec.completions: Invalid value: 3: field is immutable');
  assert.match(errs[1]!, /^spec\.template: Invalid value: .*: field is immutable$/);
  // A suspended job that never ran may change where its pods go.
  const suspended = job.replace('spec:\n  template', 'spec:\n  suspend: true\n  template');
  assert.deepEqual(errorsOfUpdate(suspended, (j) => (j.spec.template.spec.nodeSelector = { pool: 'gpu' })), []);
});

const cronJob = `
apiVersion: batch/v1
kind: CronJob
metadata: {name: hello, namespace: default}
spec:
  schedule: "*/5 * * * *"
  timeZone: Europe/Berlin
  jobTemplate:
    spec:
      template:
        spec:
          containers: [{name: hello, image: busybox:1.36, command: [date]}]
          restartPolicy: OnFailure
`;

test('CronJobs', () => {
  assert.deepEqual(errorsOf(cronJob), []);
  assert.deepEqual(errorsOf(`
apiVersion: batch/v1
kind: CronJob
metadata: {name: hello, namespace: default}
spec:
  schedule: "61 * * * *"
  timeZone: Mars/Olympus
  concurrencyPolicy: Sometimes
  jobTemplate:
    spec:
      selector: {matchLabels: {a: b}}
      template:
        spec:
          containers: [{name: c, image: busybox}]
`), [
    'spec.schedule: Invalid value: "61 * * * *": end of range (61) above maximum (59): 61',
    'spec.timeZone: Invalid value: "Mars/Olympus": unknown time zone Mars/Olympus',
    'spec.concurrencyPolicy: Unsupported value: "Sometimes": supported values: "Allow", "Forbid", "Replace"',
    'spec.jobTemplate.spec.template.spec.restartPolicy: Unsupported value: "Always": supported values: "OnFailure", "Never"',
    'spec.jobTemplate.spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"a":"b"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: `selector` will be auto-generated',
  ]);
  assert.deepEqual(errorsOf(cronJob.replace('  schedule: "*/5 * * * *"\n', '')), [
    'spec.schedule: Required value',
  ]);
  assert.deepEqual(errorsOf(cronJob.replace('schedule: "*/5 * * * *"', 'schedule: "TZ=UTC 0 * * * *"').replace('  timeZone: Europe/Berlin\n', '')), [
    'spec.schedule: Invalid value: "TZ=UTC 0 * * * *": cannot use TZ or CRON_TZ in schedule, use timeZone field instead',
  ]);
  const long = 'a'.repeat(53);
  assert.deepEqual(errorsOf(cronJob.replace('name: hello', `name: ${long}`)), [`metadata.name: Invalid value: "${long}": must be no more than 52 characters`]);
});

test('cron schedules as the controller parses them', () => {
  for (const ok of ['@hourly', '@daily', '@every 1h30m', '*/15 9-17 * * mon-fri', '0 0 1 jan,jul *', '0 0 31 2 *', '5 4 * * SUN', '? * * * *']) {
    assert.equal(cronScheduleError(ok), undefined, ok);
  }
  assert.equal(cronScheduleError('* * *'), 'expected exactly 5 fields, found 3: [* * *]');
  assert.equal(cronScheduleError('0 0 * * 7'), 'end of range (7) above maximum (6): 7');
  assert.equal(cronScheduleError('a * * * *'), 'failed to parse int from a: strconv.Atoi: parsing "a": invalid syntax');
  assert.equal(cronScheduleError('@fortnightly'), 'unrecognized descriptor: @fortnightly');
  assert.equal(cronScheduleError('5-1 * * * *'), 'beginning of range (5) beyond end of range (1): 5-1');
  assert.equal(cronScheduleError('*/0 * * * *'), 'step of range should be a positive number: */0');
  assert.equal(cronScheduleError('0 0 0 * *'), 'beginning of range (0) below minimum (1): 0');
});
