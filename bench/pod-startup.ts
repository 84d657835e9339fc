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
// process is killed without a chance to (bench/lib/test-host-run.ts).
import { join } from 'node:path';
import { runCommand } from '../src/agent/network/iproute.ts';
import { installSignalHandlers } from './lib/cleanup.ts';
import { repoRoot } from './lib/server.ts';
import { nodeBenchProblems, runInsideTestHost } from './lib/test-host-run.ts';

const log = (message: string) => process.stderr.write(`bench:pod-startup ${message}\n`);

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

async function main(): Promise<number> {
  const missing = nodeBenchProblems(['runc', 'umoci', 'python3', 'ip', 'nsenter']);
  if (missing.length) {
    log(`cannot run: ${missing.join('; ')}`);
    return 2;
  }
  installSignalHandlers(log);
  const { code } = await runInsideTestHost({
    prefix: 'skb-',
    script: join(repoRoot, 'bench/pod-startup/run.ts'),
    dataDir: (host) => join(host.tempDir, 'node'),
    env: (host) => ({ BENCH_POD_STARTUP_HOST_DIR: host.tempDir, BENCH_POD_STARTUP_NODE_IP: host.nodeIp, BENCH_POD_STARTUP_NETNS_PREFIX: `${host.name}-r` }),
    onDestroy: (host) => sweepBaselineNetns(`${host.name}-r`),
    stdout: 'inherit',
    log,
  });
  return code;
}

process.exitCode = await main();
