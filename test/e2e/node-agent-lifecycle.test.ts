// The real node agent end to end (issue 6), container lifecycle: a
// crash-looping container in CrashLoopBackOff with growing delays, an
// OOMKilled container, a liveness probe restarting a container, a readiness
// probe gating Ready, and graceful termination running a preStop hook before
// SIGTERM. All cases run at once on one node (node-harness.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { busyboxPod, containerStatus, isReady, isRoot, useNodeCluster, type Json } from './node-harness.ts';

const seconds = (from: string, to: string) => (Date.parse(to) - Date.parse(from)) / 1000;

describe('container lifecycle on the real node agent', { skip: isRoot ? false : 'needs root (netns, runc, mounts)', concurrency: true }, () => {
  const cluster = useNodeCluster();

  it('backs a crash-looping container off with growing delays (CrashLoopBackOff)', async () => {
    const c = cluster();
    await c.apply(busyboxPod({ name: 'crasher', image: c.image, command: ['sh', '-c', 'echo "crash at $(date +%s)"; exit 3'] }));
    // Each attempt, as lastState shows it once it ended; and the back-off messages seen meanwhile.
    const attempts = new Map<number, { startedAt: string; finishedAt: string; exitCode: number; reason: string }>();
    const messages = new Set<string>();
    await c.waitForPod('crasher', 'to have crashed a fourth time', (pod) => {
      const s = containerStatus(pod, 'main');
      const last = s?.lastState?.terminated;
      // While backing off, lastState is the attempt that just ended (restartCount of them came before it).
      if (last && s.state?.waiting) attempts.set(s.restartCount, last);
      if (s?.state?.waiting?.reason === 'CrashLoopBackOff') messages.add(s.state.waiting.message);
      return attempts.has(3);
    }, { timeoutMs: 90_000 });
    for (const attempt of attempts.values()) {
      assert.equal(attempt.exitCode, 3);
      assert.equal(attempt.reason, 'Error');
    }
    // The first restart is immediate; then 10 s, then 20 s (timestamps have whole seconds).
    const delay = (n: number) => seconds(attempts.get(n - 1)!.finishedAt, attempts.get(n)!.startedAt);
    assert.ok(delay(2) >= 9 && delay(2) <= 14, `second delay ${delay(2)} s, expected ~10 s`);
    assert.ok(delay(3) >= 19 && delay(3) <= 25, `third delay ${delay(3)} s, expected ~20 s`);
    assert.ok([...messages].some((m) => /^back-off 10s restarting failed container=main pod=crasher_default\(/.test(m)), [...messages].join('\n'));
    assert.ok([...messages].some((m) => m.startsWith('back-off 20s ')), [...messages].join('\n'));
    const out = await c.k(['get', 'pod', 'crasher']);
    assert.match(out, /crasher\s+0\/1\s+(CrashLoopBackOff|Error)\s+[34]/);
    assert.match(await c.k(['logs', 'crasher', '--previous']), /^crash at \d+\n$/);
    const exec = await c.kubectl(['exec', 'crasher', '--', 'true']);
    assert.equal(exec.code, 1);
    assert.match(exec.stderr, /container not found \("main"\)/, 'the node\'s reason, not "SPDY is not supported"');
    const events = await c.k(['get', 'events', '--field-selector', 'involvedObject.name=crasher,reason=BackOff']);
    assert.match(events, /Back-off restarting failed container main in pod crasher_default/);
    await c.k(['delete', 'pod', 'crasher', '--wait=false']);
  });

  it('reports a container killed by its memory limit as OOMKilled', async () => {
    const c = cluster();
    // `tail` keeps everything after the last newline: 64 MiB of zeros into a 16 MiB limit.
    await c.apply(busyboxPod({
      name: 'oom', image: c.image, command: ['sh', '-c', 'head -c 64m /dev/zero | tail'],
      container: { resources: { limits: { memory: '16Mi' } } }, spec: { restartPolicy: 'Never' },
    }));
    const pod = await c.waitForPod('oom', 'Failed', (p) => p.status.phase === 'Failed', { timeoutMs: 60_000 });
    const terminated = containerStatus(pod, 'main').state.terminated;
    assert.equal(terminated.reason, 'OOMKilled');
    assert.equal(terminated.exitCode, 137);
    assert.equal(pod.status.qosClass, 'Burstable');
    assert.match(await c.k(['get', 'pod', 'oom']), /oom\s+0\/1\s+OOMKilled\s+0/);
  });

  it('restarts a container whose liveness probe fails', async () => {
    const c = cluster();
    await c.apply(busyboxPod({
      name: 'liveness', image: c.image, command: ['sh', '-c', 'touch /tmp/healthy; sleep 3; rm /tmp/healthy; exec sleep 600'],
      container: { livenessProbe: { exec: { command: ['cat', '/tmp/healthy'] }, periodSeconds: 1, failureThreshold: 2 } },
    }));
    const pod = await c.waitForPod('liveness', 'restarted', (p) => containerStatus(p, 'main')?.restartCount >= 1 && !!containerStatus(p, 'main').state.running, { timeoutMs: 60_000 });
    const s = containerStatus(pod, 'main');
    assert.ok(s.lastState.terminated, 'the killed attempt is in lastState');
    assert.equal(s.lastState.terminated.exitCode, 137, 'sleep as PID 1 ignores SIGTERM: SIGKILL after the grace period');
    const events = await c.k(['get', 'events', '--field-selector', 'involvedObject.name=liveness']);
    assert.match(events, /Unhealthy\s+pod\/liveness\s+Liveness probe failed: cat: can't open '\/tmp\/healthy': No such file or directory/);
    assert.match(events, /Killing\s+pod\/liveness\s+Container main failed liveness probe, will be restarted/);
    await c.k(['delete', 'pod', 'liveness', '--wait=false']);
  });

  it('gates Ready on the readiness probe', async () => {
    const c = cluster();
    await c.apply(busyboxPod({
      name: 'readiness', image: c.image, command: ['sleep', '600'],
      container: { readinessProbe: { exec: { command: ['cat', '/tmp/ready'] }, periodSeconds: 1 } },
    }));
    const notReady = await c.waitForPod('readiness', 'running, not ready', (p) => !!containerStatus(p, 'main')?.state?.running);
    await new Promise((resolve) => setTimeout(resolve, 3000)); // a few failed probes
    const still = await c.get(['pod', 'readiness']);
    for (const pod of [notReady, still]) {
      assert.equal(isReady(pod), false);
      assert.equal(containerStatus(pod, 'main').ready, false);
    }
    assert.equal(containerStatus(still, 'main').restartCount, 0, 'readiness failures never restart');
    await c.k(['exec', 'readiness', '--', 'touch', '/tmp/ready']);
    await c.waitForPod('readiness', 'Ready', isReady, { timeoutMs: 30_000 });
    await c.k(['exec', 'readiness', '--', 'rm', '/tmp/ready']);
    const unready = await c.waitForPod('readiness', 'not Ready again', (p) => !isReady(p), { timeoutMs: 30_000 });
    assert.equal(unready.status.conditions.find((x: Json) => x.type === 'ContainersReady').status, 'False');
    await c.k(['delete', 'pod', 'readiness', '--wait=false']);
  });

  it('runs the preStop hook, then SIGTERM, when a pod is deleted', async () => {
    const c = cluster();
    await c.apply(busyboxPod({
      name: 'graceful', image: c.image,
      // PID 1 gets only the signals it handles: the trap reports SIGTERM and exits.
      command: ['sh', '-c', 'trap "echo got SIGTERM; exit 0" TERM; echo started; while true; do sleep 0.2; done'],
      container: { lifecycle: { preStop: { exec: { command: ['sh', '-c', 'echo preStop ran > /proc/1/fd/1; sleep 1'] } } } },
      spec: { terminationGracePeriodSeconds: 20 },
    }));
    await c.waitForPod('graceful', 'Ready', isReady);
    const follower = c.spawnKubectl(['logs', '-f', 'graceful']);
    let log = '';
    follower.stdout!.on('data', (d) => (log += d));
    const followed = new Promise<void>((resolve) => follower.once('close', () => resolve()));
    const timer = setTimeout(() => follower.kill('SIGKILL'), 40_000);
    await c.waitFor('the log to start', async () => log.includes('started\n'));
    const started = Date.now();
    await c.k(['delete', 'pod', 'graceful', '--wait=true', '--timeout=60s'], { timeoutMs: 70_000 });
    const tookMs = Date.now() - started;
    await followed;
    clearTimeout(timer);
    assert.equal(log, 'started\npreStop ran\ngot SIGTERM\n');
    assert.ok(tookMs < 15_000, `the container exited on SIGTERM instead of waiting out the grace period (${tookMs} ms)`);
    assert.equal((await c.kubectl(['get', 'pod', 'graceful'])).code, 1, 'the pod is gone');
  });
});
