import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { resources } from '../../client/interface.ts';
import { condition, startKubeletHarness, statusOfPod, waitFor, type KubeletHarness } from './testing/harness.ts';

const app = (extra: Record<string, unknown> = {}) => ({ name: 'app', image: 'busybox', ...extra });

describe('kubelet: container lifecycle', () => {
  let h: KubeletHarness;
  before(async () => {
    h = await startKubeletHarness({
      runtime: {
        behaviour: (config) => {
          const argv = config.argv.join(' ');
          const exit = /\bexit (\d+)/.exec(argv);
          const message = /message=(\S+)/.exec(argv);
          if (argv.includes('log-and-fail')) return { exitAfterMs: 20, exitCode: 2, log: ['first line', 'last words'] };
          if (exit) return { exitAfterMs: argv.includes('slow') ? 300 : 20, exitCode: Number(exit[1]), terminationMessage: message?.[1] };
          if (argv.includes('stubborn')) return { ignoreSigterm: true };
          return {};
        },
      },
    });
  });
  after(async () => { await h?.close(); });

  it('restartPolicy Always: a crashing container goes into CrashLoopBackOff with growing restarts', async () => {
    await h.createPod({ name: 'crash', spec: { containers: [app({ command: ['sh', '-c', 'exit 1'] })] } });
    const pod = await waitFor('CrashLoopBackOff', async () => {
      const p = await h.getPod('crash');
      const cs = statusOfPod(p).containerStatuses?.[0];
      return cs?.state?.waiting?.reason === 'CrashLoopBackOff' && cs.restartCount >= 2 ? p : undefined;
    });
    const cs = statusOfPod(pod).containerStatuses![0];
    assert.match(cs.state.waiting.message, /^back-off \d+s restarting failed container=app pod=crash_default\(.+\)$/);
    assert.equal(cs.lastState.terminated.exitCode, 1);
    assert.equal(cs.lastState.terminated.reason, 'Error');
    assert.equal(statusOfPod(pod).phase, 'Running');
    assert.equal(condition(pod, 'Ready')?.status, 'False');
    assert.equal(condition(pod, 'Ready')?.reason, 'ContainersNotReady');
    const backoff = await waitFor('BackOff event', async () => (await h.events('crash')).find((e) => e.reason === 'BackOff'));
    assert.match(String(backoff.message), /^Back-off restarting failed container app in pod crash_default\(/);
  });

  it('restartPolicy Never / OnFailure: terminal phases, termination messages, resources released', async () => {
    await h.createPod({ name: 'ok', spec: { restartPolicy: 'Never', containers: [app({ command: ['sh', '-c', 'exit 0 message=done'] })] } });
    await h.createPod({ name: 'bad', spec: { restartPolicy: 'Never', containers: [app({ command: ['sh', '-c', 'exit 3'] })] } });
    await h.createPod({ name: 'retry', spec: { restartPolicy: 'OnFailure', containers: [app({ command: ['log-and-fail'], terminationMessagePolicy: 'FallbackToLogsOnError' })] } });
    const ok = await waitFor('ok Succeeded', async () => { const p = await h.getPod('ok'); return statusOfPod(p).phase === 'Succeeded' ? p : undefined; });
    const term = statusOfPod(ok).containerStatuses![0].state.terminated;
    assert.equal(term.reason, 'Completed');
    assert.equal(term.exitCode, 0);
    assert.equal(term.message, 'done');
    assert.equal(condition(ok, 'Ready')?.reason, 'PodCompleted');
    const bad = await waitFor('bad Failed', async () => { const p = await h.getPod('bad'); return statusOfPod(p).phase === 'Failed' ? p : undefined; });
    assert.equal(statusOfPod(bad).containerStatuses![0].state.terminated.exitCode, 3);
    assert.equal(statusOfPod(bad).containerStatuses![0].restartCount, 0);
    await waitFor('network of ok released', () => h.network.calls.includes('tearDown ok'));
    const retry = await waitFor('retry restarted', async () => {
      const p = await h.getPod('retry');
      return statusOfPod(p).containerStatuses?.[0]?.restartCount >= 1 ? p : undefined;
    });
    const last = statusOfPod(retry).containerStatuses![0].lastState.terminated;
    assert.equal(last.message, 'first line\nlast words\n');
  });

  it('init containers run in order, each to completion, before the app; sidecars stay', async () => {
    await h.createPod({
      name: 'init',
      spec: {
        initContainers: [
          { name: 'first', image: 'busybox', command: ['sh', '-c', 'slow exit 0'] },
          { name: 'proxy', image: 'busybox', command: ['serve'], restartPolicy: 'Always' },
          { name: 'second', image: 'busybox', command: ['sh', '-c', 'exit 0'] },
        ],
        containers: [app({ command: ['sleep', '1000'] })],
      },
    });
    const pending = await waitFor('init pending', async () => {
      const p = await h.getPod('init');
      return statusOfPod(p).containerStatuses?.[0]?.state?.waiting ? p : undefined;
    });
    assert.equal(statusOfPod(pending).containerStatuses![0].state.waiting.reason, 'PodInitializing');
    assert.equal(condition(pending, 'Initialized')?.status, 'False');
    assert.equal(condition(pending, 'Initialized')?.reason, 'ContainersNotInitialized');
    const ready = await waitFor('init ready', async () => { const p = await h.getPod('init'); return condition(p, 'Ready')?.status === 'True' ? p : undefined; });
    const order = [...h.runtime.containers.values()]
      .filter((c) => c.config.labels?.['io.kubernetes.pod.uid'] === ready.metadata.uid)
      .sort((a, b) => a.status.startedAt - b.status.startedAt)
      .map((c) => c.config.name);
    assert.deepEqual(order, ['first', 'proxy', 'second', 'app']);
    const first = h.runtime.byName('first')[0]!.status;
    const second = h.runtime.byName('second')[0]!.status;
    assert.ok(second.startedAt >= first.finishedAt, 'the second init container starts after the first finished');
    const init = statusOfPod(ready).initContainerStatuses!;
    assert.equal(init[0].state.terminated.reason, 'Completed');
    assert.ok(init[1].state.running, 'the sidecar keeps running');
    assert.equal(init[1].ready, true);
    assert.equal(condition(ready, 'Initialized')?.status, 'True');
  });

  it('a failed init container fails a restartPolicy Never pod', async () => {
    await h.createPod({ name: 'init-fail', spec: { restartPolicy: 'Never', initContainers: [{ name: 'setup', image: 'busybox', command: ['sh', '-c', 'exit 7'] }], containers: [app()] } });
    const pod = await waitFor('Failed', async () => { const p = await h.getPod('init-fail'); return statusOfPod(p).phase === 'Failed' ? p : undefined; });
    assert.equal(statusOfPod(pod).initContainerStatuses![0].state.terminated.exitCode, 7);
    assert.equal(h.runtime.byName('app').filter((c) => c.config.labels?.['io.kubernetes.pod.uid'] === pod.metadata.uid).length, 0);
  });

  it('graceful deletion: preStop hook, SIGTERM with the grace period, final DELETE, everything removed', async () => {
    const created = await h.createPod({
      name: 'graceful',
      spec: { terminationGracePeriodSeconds: 7, containers: [app({ command: ['sleep', '1000'], lifecycle: { preStop: { exec: { command: ['sh', '-c', 'echo bye'] } } } })] },
    });
    await waitFor('running', async () => statusOfPod(await h.getPod('graceful')).phase === 'Running');
    await h.client.delete({ ...resources.pods, namespace: 'default', name: 'graceful' });
    await waitFor('pod gone', async () => {
      try {
        await h.getPod('graceful');
        return false;
      } catch (error) {
        return (error as { code?: number }).code === 404;
      }
    });
    assert.ok(h.runtime.calls.includes('execSync app sh -c echo bye'), 'preStop ran');
    const stop = h.runtime.stops.find((s) => h.runtime.containers.get(s.id) === undefined && s.name === 'app' && s.timeoutSeconds > 2);
    assert.ok(stop && stop.timeoutSeconds <= 7, `stopped with the grace period: ${JSON.stringify(h.runtime.stops)}`);
    await waitFor('runtime cleaned', () => ![...h.runtime.containers.values()].some((c) => c.config.labels?.['io.kubernetes.pod.uid'] === created.metadata.uid));
    assert.ok(![...h.runtime.sandboxes.values()].some((s) => s.podUid === created.metadata.uid));
    assert.ok(h.network.calls.includes('tearDown graceful'));
    assert.ok(h.volumes.tornDown.includes(created.metadata.uid!));
    const killing = (await h.events('graceful')).find((e) => e.reason === 'Killing');
    assert.equal(killing?.message, 'Stopping container app');
  });
});
