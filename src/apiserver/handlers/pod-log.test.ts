import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApiError } from '../errors.ts';
import type { KubeObject } from '../registry/resource-store.ts';
import { checkLogAvailable, resolveContainer } from './pod-containers.ts';
import { parsePodLogOptions } from './pod-log.ts';

const pod = (spec: Record<string, unknown>, status: Record<string, unknown> = {}): KubeObject =>
  ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default' }, spec, status }) as KubeObject;

function refusal(fn: () => unknown): { code: number; message: string } {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ApiError);
    return { code: error.code, message: error.message };
  }
  assert.fail('expected a refusal');
}

describe('pods/log options', () => {
  it('reads and forwards the options', () => {
    const options = parsePodLogOptions(new URLSearchParams('container=c&follow=true&tailLines=5&timestamps=1&sinceTime=2026-11-22T03:04:05.678Z'), 'p');
    assert.deepEqual(options, {
      container: 'c', follow: true, previous: false, timestamps: true, tailLines: 5, limitBytes: undefined, sinceSeconds: undefined,
      sinceTime: '2026-11-22T03:04:05Z',
    });
  });

  it('refuses what upstream refuses, as PodLogOptions is invalid', () => {
    assert.deepEqual(refusal(() => parsePodLogOptions(new URLSearchParams('tailLines=-1'), 'p')),
      { code: 422, message: 'PodLogOptions "p" is invalid: tailLines: Invalid value: -1: must be greater than or equal to 0' });
    assert.match(refusal(() => parsePodLogOptions(new URLSearchParams('limitBytes=0'), 'p')).message, /limitBytes: Invalid value: 0: must be greater than 0/);
    assert.match(refusal(() => parsePodLogOptions(new URLSearchParams('sinceSeconds=0'), 'p')).message, /sinceSeconds: Invalid value: 0: must be greater than 0/);
    assert.match(refusal(() => parsePodLogOptions(new URLSearchParams('sinceSeconds=5&sinceTime=2026-11-22T03:04:05Z'), 'p')).message, /at most one of `sinceTime` or `sinceSeconds` may be specified/);
    assert.equal(refusal(() => parsePodLogOptions(new URLSearchParams('tailLines=ten'), 'p')).code, 400);
  });
});

describe('the container of a request', () => {
  it('defaults to the only container and checks a named one', () => {
    assert.equal(resolveContainer(pod({ containers: [{ name: 'app' }] }), null), 'app');
    assert.equal(resolveContainer(pod({ initContainers: [{ name: 'init' }], containers: [{ name: 'app' }] }), 'init'), 'init');
    assert.deepEqual(refusal(() => resolveContainer(pod({ containers: [{ name: 'app' }] }), 'nope')), { code: 400, message: 'container nope is not valid for pod p' });
    assert.deepEqual(refusal(() => resolveContainer(pod({ initContainers: [{ name: 'i' }], containers: [{ name: 'a' }, { name: 'b' }] }), null)),
      { code: 400, message: 'a container name must be specified for pod p, choose one of: [i a b]' });
  });

  it('says why a log is not there yet', () => {
    const spec = { containers: [{ name: 'app' }] };
    assert.equal(refusal(() => checkLogAvailable(pod(spec, { phase: 'Pending' }), 'app', false)).message,
      'container "app" in pod "p" is waiting to start: ContainerCreating');
    assert.equal(refusal(() => checkLogAvailable(pod({ initContainers: [{ name: 'i' }], ...spec }, { phase: 'Pending' }), 'app', false)).message,
      'container "app" in pod "p" is waiting to start: PodInitializing');
    const pulling = pod(spec, { phase: 'Pending', containerStatuses: [{ name: 'app', state: { waiting: { reason: 'ImagePullBackOff' } } }] });
    assert.equal(refusal(() => checkLogAvailable(pulling, 'app', false)).message, 'container "app" in pod "p" is waiting to start: trying and failing to pull image');
    const crashLooping = pod(spec, { phase: 'Running', containerStatuses: [{ name: 'app', state: { waiting: { reason: 'CrashLoopBackOff' } }, lastState: { terminated: { exitCode: 1 } } }] });
    checkLogAvailable(crashLooping, 'app', false); // the last attempt's log is shown
    checkLogAvailable(crashLooping, 'app', true);
    const runningFirst = pod(spec, { phase: 'Running', containerStatuses: [{ name: 'app', state: { running: {} } }] });
    checkLogAvailable(runningFirst, 'app', false);
    assert.equal(refusal(() => checkLogAvailable(runningFirst, 'app', true)).message, 'previous terminated container "app" in pod "p" not found');
  });
});
