// `npm run bench:pod-startup`: the Kubernetes pod-startup SLI on one real node.
//
// A real `skiff server` WITH its local agent (runc, bridge network, volumes)
// runs inside a test host — a network namespace this benchmark creates
// (test/support/test-host.ts, ARCHITECTURE.md §7) — on a fresh data dir into
// which a busybox-static image built with umoci was imported first, so no
// pod pulls anything. Phases (sizes at BENCH_SCALE=1):
//   warm-up   one pod, Ready, deleted: the node's one-time work (bridge, first
//             sandbox) is not in the figures.
//   slow      100 pods created at BENCH_POD_RATE_SLOW pods/s (default 1, the
//             SLI's rate: every pod starts on an otherwise idle node);
//   fast      100 more at BENCH_POD_RATE_FAST pods/s (default 10);
//             each a busybox `sleep` with no probe (Ready as soon as it runs).
//             Measured per pod: POST sent → the watch sees phase Running, and
//             → the watch sees Ready=True (p50/p90/p99), plus the status' own
//             Ready lastTransitionTime − creationTimestamp (whole seconds).
//             With the pods running: the server's RSS (API server, scheduler,
//             controllers and agent are one process), the shims' RSS/PSS, CPU
//             while starting and while idle. Then all are deleted (a phase of
//             100 plus the next would not fit the node's 110 pods).
// Baseline in the same run: `runc run -d` of the same `sleep` over the same
// image layers (fresh overlay, fresh netns), half before and half after the
// agent's phases; ratio = agent percentile / runc percentile.
// Target (issue 6): p99 create → Ready ≤ 1 s (upstream's SLO: 5 s).
//
// This file only makes the test host and runs bench/pod-startup/run.ts inside
// it; stdout carries its JSON lines (ARCHITECTURE.md §10), stderr its progress.
// Environment:
//   BENCH_SCALE           multiplies the pods per phase (default 1 → 100; 0.1 = smoke run)
//   BENCH_POD_RATE_SLOW   pods/s of the first phase (default 1)
//   BENCH_POD_RATE_FAST   pods/s of the second phase (default 10)
//   BENCH_TIMEOUT_S       bound on the whole run (default 900)
// Needs root, runc, umoci, busybox-static, python3.
//
// Cleanup on every exit path: the inside half deletes the pods, stops the
// server, runs `skiff cleanup --data-dir` and removes the baseline's
// containers; on SIGINT/SIGTERM this half forwards SIGTERM to it, and in
// every case destroys the test host afterwards (processes, pod namespaces,
// mounts, the netns, the temp dir). A watchdog shell does the same if this
// process is killed without a chance to.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { runCommand } from '../src/agent/network/iproute.ts';
import { createTestHost, type TestHost } from '../test/support/test-host.ts';
import { repoRoot } from './lib/server.ts';

const log = (message: string) => process.stderr.write(`bench:pod-startup ${message}\n`);
/** How long the inside half gets to clean up after SIGTERM before its process group is killed. */
const INSIDE_CLEANUP_MS = 60_000;

function problems(): string[] {
  const missing: string[] = [];
  if (process.getuid?.() !== 0) missing.push('it must run as root (network namespaces, runc, mounts)');
  for (const tool of ['runc', 'umoci', 'python3', 'ip', 'nsenter']) {
    if (!(process.env.PATH ?? '').split(':').some((dir) => existsSync(join(dir, tool)))) missing.push(`${tool} is not installed`);
  }
  if (!existsSync('/bin/busybox')) missing.push('/bin/busybox (busybox-static) is not installed');
  return missing;
}

/** Namespaces the baseline made (`<host>-r<i>`) that a killed run left: their processes killed, then removed. */
async function sweepBaselineNetns(prefix: string): Promise<void> {
  const names = (await runCommand(['ip', 'netns', 'list'])).split('\n').map((l) => l.split(' ')[0]!).filter((n) => n.startsWith(prefix));
  for (const name of names) {
    const pids = (await runCommand(['ip', 'netns', 'pids', name]).catch(() => '')).split('\n').map(Number).filter((p) => p > 0);
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    await runCommand(['ip', 'netns', 'delete', name]).catch((error: unknown) => log(`removing netns ${name}: ${(error as Error).message}`));
  }
}

/**
 * If this process dies without cleaning up (SIGKILL), a detached shell
 * SIGTERMs the inside half (which cleans up), then runs `skiff cleanup` in
 * the test host, removes its namespace and, when nothing is mounted under
 * it any more, its temp dir. It exits by itself once both are gone.
 */
function startWatchdog(host: TestHost, inside: ChildProcess, dataDir: string): void {
  for (const value of [host.tempDir, host.name, dataDir]) if (!/^[\w./+-]+$/.test(value)) throw new Error(`unexpected characters in ${value}`);
  const script = [
    `B=${process.pid}; C=${inside.pid}`,
    'while kill -0 "$B" 2>/dev/null; do',
    '  kill -0 "$C" 2>/dev/null || exit 0',
    '  sleep 1',
    'done',
    `kill -TERM -"$C" 2>/dev/null; i=0; while kill -0 "$C" 2>/dev/null && [ $i -lt ${INSIDE_CLEANUP_MS / 1000} ]; do sleep 1; i=$((i+1)); done`,
    'kill -KILL -"$C" 2>/dev/null',
    `nsenter --net=${host.netnsPath} -- ${join(repoRoot, 'bin/skiff')} cleanup --data-dir ${dataDir} >/dev/null 2>&1`,
    `for p in $(ip netns pids ${host.name} 2>/dev/null); do kill -9 $p; done`,
    `ip netns delete ${host.name} 2>/dev/null`,
    `grep -qF ' ${host.tempDir}/' /proc/self/mountinfo || rm -rf -- ${host.tempDir}`,
  ].join('\n');
  spawn('/bin/sh', ['-c', script], { detached: true, stdio: 'ignore' }).unref();
}

async function main(): Promise<number> {
  const missing = problems();
  if (missing.length) {
    log(`cannot run: ${missing.join('; ')}`);
    return 2;
  }
  const host = await createTestHost({ prefix: 'skb-' });
  const dataDir = join(host.tempDir, 'node');
  const netnsPrefix = `${host.name}-r`;
  // destroy() runs these first (last added first): the node's own cleanup inside the test host, then the baseline's leftovers.
  host.onDestroy(() => sweepBaselineNetns(netnsPrefix));
  host.onDestroy(async () => {
    if (!existsSync(dataDir)) return;
    const result = await host.run([join(repoRoot, 'bin/skiff'), 'cleanup', '--data-dir', dataDir], { timeoutMs: 120_000 });
    if (result.code !== 0) log(`skiff cleanup in the test host: ${result.stderr.trim()}`);
  });
  log(`test host ${host.name} (node ${host.nodeIp}), temp dir ${host.tempDir}`);

  let inside: ChildProcess | undefined;
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) return;
    signalled = true;
    log(`${signal}: asking the inside half to clean up`);
    if (inside?.pid && inside.exitCode === null && inside.signalCode === null) {
      inside.kill('SIGTERM');
      setTimeout(() => {
        try {
          process.kill(-inside!.pid!, 'SIGKILL');
        } catch {
          // gone
        }
      }, INSIDE_CLEANUP_MS).unref();
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    inside = host.spawn([process.execPath, '--disable-warning=ExperimentalWarning', join(repoRoot, 'bench/pod-startup/run.ts')], {
      env: { BENCH_POD_STARTUP_HOST_DIR: host.tempDir, BENCH_POD_STARTUP_NODE_IP: host.nodeIp, BENCH_POD_STARTUP_NETNS_PREFIX: netnsPrefix },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    startWatchdog(host, inside, dataDir);
    const code = await new Promise<number>((resolve) => {
      inside!.once('error', (error) => {
        log(`starting the inside half: ${error.message}`);
        resolve(1);
      });
      inside!.once('exit', (c, s) => resolve(c ?? (s ? 128 : 1)));
    });
    return signalled ? 130 : code;
  } finally {
    await host.destroy().catch((error: unknown) => log(`destroying the test host: ${(error as Error).message}`));
    log(`test host ${host.name} removed`);
  }
}

process.exitCode = await main();
