import { test } from 'node:test';
import assert from 'node:assert/strict';
import { printTable } from './index.ts';

const now = new Date('2025-01-01T12:00:00Z');
const ago = (ms: number) => new Date(now.getTime() - ms).toISOString();
const MIN = 60_000;

type Pod = Record<string, any>;

function pod(overrides: { spec?: Pod; status?: Pod; metadata?: Pod }): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', namespace: 'default', creationTimestamp: ago(10 * MIN), ...overrides.metadata },
    spec: { containers: [{ name: 'app', image: 'busybox' }], ...overrides.spec },
    status: { phase: 'Pending', ...overrides.status },
  };
}

/** NAME READY STATUS RESTARTS AGE of one pod. */
function row(p: Pod): unknown[] {
  return printTable({ group: '', kind: 'Pod', objects: [p], now }).rows[0]!.cells;
}

const running = (name = 'app', extra: Pod = {}) => ({ name, ready: true, restartCount: 0, state: { running: { startedAt: ago(MIN) } }, ...extra });

test('pod columns, narrow and wide', () => {
  const narrow = printTable({ group: '', kind: 'Pod', objects: [], now });
  assert.deepEqual(narrow.columnDefinitions.map((c) => c.name), ['Name', 'Ready', 'Status', 'Restarts', 'Age']);
  assert.deepEqual(narrow.columnDefinitions[0], {
    name: 'Name', type: 'string', format: 'name', description: narrow.columnDefinitions[0]!.description, priority: 0,
  });
  const wide = printTable({ group: '', kind: 'Pod', objects: [], now, wide: true });
  assert.deepEqual(wide.columnDefinitions.map((c) => `${c.name}:${c.priority}`), [
    'Name:0', 'Ready:0', 'Status:0', 'Restarts:0', 'Age:0', 'IP:1', 'Node:1', 'Nominated Node:1', 'Readiness Gates:1',
  ]);
});

test('running pod, with wide cells', () => {
  const p = pod({
    spec: { nodeName: 'node-a', readinessGates: [{ conditionType: 'example.com/gate' }] },
    status: {
      phase: 'Running',
      podIPs: [{ ip: '10.0.0.7' }],
      conditions: [{ type: 'Ready', status: 'True' }, { type: 'example.com/gate', status: 'True' }],
      containerStatuses: [running()],
    },
  });
  assert.deepEqual(row(p), ['p', '1/1', 'Running', '0', '10m']);
  const wide = printTable({ group: '', kind: 'Pod', objects: [p], now, wide: true }).rows[0]!;
  assert.deepEqual(wide.cells, ['p', '1/1', 'Running', '0', '10m', '10.0.0.7', 'node-a', '<none>', '1/1']);
  assert.equal(wide.object, p);
  assert.equal(wide.conditions, undefined);
});

test('pending pod without statuses, and missing creationTimestamp', () => {
  const p = pod({});
  delete p.metadata.creationTimestamp;
  assert.deepEqual(row(p), ['p', '0/1', 'Pending', '0', '<unknown>']);
  const wide = printTable({ group: '', kind: 'Pod', objects: [p], now, wide: true }).rows[0]!.cells;
  assert.deepEqual(wide.slice(5), ['<none>', '<none>', '<none>', '<none>']);
});

test('waiting reason wins: ContainerCreating, CrashLoopBackOff with restart age', () => {
  assert.deepEqual(
    row(pod({ status: { containerStatuses: [{ name: 'app', ready: false, restartCount: 0, state: { waiting: { reason: 'ContainerCreating' } } }] } })),
    ['p', '0/1', 'ContainerCreating', '0', '10m'],
  );
  const crashing = pod({
    status: {
      phase: 'Running',
      containerStatuses: [{
        name: 'app', ready: false, restartCount: 5,
        state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off' } },
        lastState: { terminated: { exitCode: 1, reason: 'Error', finishedAt: ago(2 * MIN) } },
      }],
    },
  });
  assert.deepEqual(row(crashing), ['p', '0/1', 'CrashLoopBackOff', '5 (2m ago)', '10m']);
});

test('terminated without reason shows exit code or signal', () => {
  const exited = (terminated: Pod) => row(pod({ status: { phase: 'Running', containerStatuses: [{ name: 'app', restartCount: 0, state: { terminated } }] } }));
  assert.equal(exited({ exitCode: 137 })[2], 'ExitCode:137');
  assert.equal(exited({ exitCode: 0, signal: 9 })[2], 'Signal:9');
  assert.equal(exited({ exitCode: 1, reason: 'OOMKilled' })[2], 'OOMKilled');
});

test('init containers: progress, waiting and failure', () => {
  const spec = { initContainers: [{ name: 'init-a' }, { name: 'init-b' }] };
  const init = (statuses: Pod[]) => row(pod({ spec, status: { phase: 'Pending', initContainerStatuses: statuses } }))[2];
  const done = { name: 'init-a', restartCount: 0, state: { terminated: { exitCode: 0, reason: 'Completed' } } };
  assert.equal(init([{ name: 'init-a', restartCount: 0, state: { running: {} } }, { name: 'init-b', state: { waiting: { reason: 'PodInitializing' } } }]), 'Init:0/2');
  assert.equal(init([done, { name: 'init-b', restartCount: 0, state: { running: {} } }]), 'Init:1/2');
  assert.equal(init([{ name: 'init-a', restartCount: 0, state: { waiting: { reason: 'ErrImagePull' } } }]), 'Init:ErrImagePull');
  assert.equal(init([{ name: 'init-a', restartCount: 2, state: { terminated: { exitCode: 1, reason: 'Error' } } }]), 'Init:Error');
  assert.equal(init([{ name: 'init-a', restartCount: 0, state: { terminated: { exitCode: 3 } } }]), 'Init:ExitCode:3');
  // exit code 0 counts as done whatever the signal: nothing left to initialize, the phase shows
  assert.equal(init([{ ...done, state: { terminated: { exitCode: 0, signal: 15 } } }]), 'Pending');
  // restarts of a failing init container are counted while initializing
  const failing = pod({
    spec,
    status: {
      initContainerStatuses: [{ name: 'init-a', restartCount: 3, state: { waiting: { reason: 'CrashLoopBackOff' } }, lastState: { terminated: { exitCode: 1, finishedAt: ago(30_000) } } }],
    },
  });
  assert.deepEqual(row(failing).slice(1, 4), ['0/1', 'Init:CrashLoopBackOff', '3 (30s ago)']);
});

test('init failure by signal', () => {
  const p = pod({ spec: { initContainers: [{ name: 'i' }] }, status: { initContainerStatuses: [{ name: 'i', restartCount: 0, state: { terminated: { exitCode: 2, signal: 15 } } }] } });
  assert.equal(row(p)[2], 'Init:Signal:15');
});

test('completed pod: status Completed and a Completed row condition', () => {
  const p = pod({
    status: {
      phase: 'Succeeded',
      containerStatuses: [{ name: 'app', ready: false, restartCount: 0, state: { terminated: { exitCode: 0, reason: 'Completed' } } }],
    },
  });
  const r = printTable({ group: '', kind: 'Pod', objects: [p], now }).rows[0]!;
  assert.deepEqual(r.cells, ['p', '0/1', 'Completed', '0', '10m']);
  assert.deepEqual(r.conditions, [{ type: 'Completed', status: 'True', reason: 'Succeeded', message: 'The pod has completed successfully.' }]);
  const failed = printTable({ group: '', kind: 'Pod', objects: [pod({ status: { phase: 'Failed', reason: 'Evicted' } })], now }).rows[0]!;
  assert.equal(failed.cells[2], 'Evicted');
  assert.equal(failed.conditions?.[0]?.reason, 'Failed');
});

test('one container completed while another runs: Running or NotReady', () => {
  const statuses = [
    running('a'),
    { name: 'b', ready: false, restartCount: 0, state: { terminated: { exitCode: 0, reason: 'Completed' } } },
  ];
  const spec = { containers: [{ name: 'a' }, { name: 'b' }] };
  assert.equal(row(pod({ spec, status: { phase: 'Running', containerStatuses: statuses, conditions: [{ type: 'Ready', status: 'True' }] } }))[2], 'Running');
  assert.deepEqual(row(pod({ spec, status: { phase: 'Running', containerStatuses: statuses } })).slice(1, 3), ['1/2', 'NotReady']);
});

test('terminating and unknown (node lost)', () => {
  const deleting = { deletionTimestamp: ago(5_000) };
  const base = { phase: 'Running', containerStatuses: [running()] };
  assert.equal(row(pod({ metadata: deleting, status: base }))[2], 'Terminating');
  assert.equal(row(pod({ metadata: deleting, status: { ...base, reason: 'NodeLost' } }))[2], 'Unknown');
  // a finished pod being deleted keeps its final status
  assert.equal(row(pod({ metadata: deleting, status: { phase: 'Succeeded', containerStatuses: [{ name: 'app', state: { terminated: { exitCode: 0, reason: 'Completed' } } }] } }))[2], 'Completed');
});

test('sidecar (restartable init container) counts in READY and RESTARTS', () => {
  const p = pod({
    spec: { initContainers: [{ name: 'proxy', restartPolicy: 'Always' }] },
    status: {
      phase: 'Running',
      conditions: [{ type: 'Initialized', status: 'True' }, { type: 'Ready', status: 'True' }],
      initContainerStatuses: [{ name: 'proxy', ready: true, started: true, restartCount: 1, state: { running: {} }, lastState: { terminated: { exitCode: 1, finishedAt: ago(4 * MIN) } } }],
      containerStatuses: [running('app', { restartCount: 1, lastState: { terminated: { exitCode: 1, finishedAt: ago(3 * MIN) } } })],
    },
  });
  assert.deepEqual(row(p), ['p', '2/2', 'Running', '2 (3m ago)', '10m']);
});

test('scheduling gated', () => {
  const p = pod({ status: { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'SchedulingGated' }] } });
  assert.equal(row(p)[2], 'SchedulingGated');
});
