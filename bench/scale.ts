// `npm run bench:scale`: the store, the cluster at Kubernetes' scalability
// thresholds, and the idle control plane — each on sqlite and on etcd.
//
// Parts (SKIFF_BENCH_SCALE_PARTS, comma list; default all three, run in this order):
//   store  creates/s, gets/s and watch delivery (create issued → event received)
//          of 2000 ConfigMaps through a real `skiff server` (HTTP/2 + TLS, JSON),
//          beside the same calls on the raw store in this process (ratio api/raw).
//          bench/scale/store.ts
//   idle   `skiff server --simulated-nodes 1` with a Deployment of 100 pods Running,
//          then RSS and CPU sampled once a second for 60 s, beside k3s's published
//          resource profile. bench/scale/idle.ts
//   scale  `skiff server --simulated-nodes N` (scheduler and controllers on) and P
//          pods from ReplicaSets of 1000: time until all are bound and Running,
//          mutating API p99 (a side client's creates/patches at a bounded rate; SLO
//          ≤ 1 s), watch lag, LIST of all pods with and without resourceVersion=0
//          (SLO ≤ 30 s), server/etcd RSS and CPU, and what broke first.
//          bench/scale/density.ts
//
// Prints one JSON line per measurement on stdout (ARCHITECTURE.md §10), progress
// on stderr. Environment:
//   SKIFF_BENCH_SCALE_PARTS   store,idle,scale (default: all)
//   SKIFF_BENCH_BACKENDS      sqlite,etcd (default: both; etcd is /usr/bin/etcd, one
//                             member per case on a loopback port, data in the temp dir)
//   SKIFF_BENCH_ETCD_DIR      where etcd's data goes instead (e.g. /dev/shm: no fsync cost)
//   SKIFF_BENCH_NODES         simulated nodes of the scale part (default 5000)
//   SKIFF_BENCH_PODS          pods of the scale part (default 150000)
//   SKIFF_BENCH_REPLICAS_PER_SET  ReplicaSet size (default 1000)
//   SKIFF_BENCH_PROBE_RATE    the side client's mutating calls/s (default 10)
//   SKIFF_BENCH_STALL_S       the fill phase stops after this long without progress (default 120)
//   SKIFF_BENCH_LIST_REPS     LISTs of all pods per variant (default 3)
//   SKIFF_BENCH_LIST_TIMEOUT_S  bound on one LIST (default 60; the SLO is 30)
//   SKIFF_BENCH_STORE_OBJECTS, SKIFF_BENCH_STORE_CONCURRENCY  store part (default 2000, 32)
//   SKIFF_BENCH_IDLE_PODS, SKIFF_BENCH_IDLE_S, SKIFF_BENCH_IDLE_SETTLE_S  idle part (default 100, 60, 10)
//   BENCH_TIMEOUT_S           bound on the whole run (default 5400). The scale part
//                             splits what is left between its datastores; a case that
//                             runs out of time reports what it reached.
//
// Network: loopback only. Every loop is bounded in count and by the deadline.
// Servers, etcd members and the temp dir are removed on every exit path (SIGINT/
// SIGTERM included; if this process is SIGKILLed, detached watchdogs do it).
import { accessSync, constants, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { ETCD_BINARY } from '../src/storage/etcd/launcher.ts';
import { cleanupSync, trackDir } from './lib/cleanup.ts';
import { Deadline, envNumber, machineDescription } from './lib/env.ts';
import { BACKEND_KINDS, killDatastoresSync, type BackendKind } from './scale/backends.ts';
import { runScaleBench } from './scale/density.ts';
import { runIdleBench } from './scale/idle.ts';
import { emit, log, seconds, type Line } from './scale/report.ts';
import { runStoreBench } from './scale/store.ts';

const PARTS = ['store', 'idle', 'scale'] as const;

function listFromEnv<T extends string>(name: string, allowed: readonly T[]): T[] {
  const text = process.env[name];
  if (!text) return [...allowed];
  const items = text.split(',').map((x) => x.trim()).filter(Boolean);
  for (const item of items) if (!allowed.includes(item as T)) throw new Error(`${name}: unknown "${item}" (${allowed.join(', ')})`);
  return allowed.filter((a) => items.includes(a));
}

const whole = (name: string, fallback: number) => Math.round(envNumber(name, fallback));

const parts = listFromEnv('SKIFF_BENCH_SCALE_PARTS', PARTS);
const backends: BackendKind[] = listFromEnv('SKIFF_BENCH_BACKENDS', BACKEND_KINDS);
const DEADLINE = new Deadline(envNumber('BENCH_TIMEOUT_S', 5400));

function cleanupEverything(): void {
  killDatastoresSync(); // etcd first, so nothing writes into the dirs being removed
  cleanupSync();
}

async function main(): Promise<void> {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      log(`${signal}: cleaning up`);
      cleanupEverything();
      process.exit(130);
    });
  }
  if (backends.includes('etcd')) accessSync(ETCD_BINARY, constants.X_OK);
  const tempRoot = mkdtempSync(join(tmpdir(), 'skiff-bench-scale-'));
  trackDir(tempRoot);
  const started = performance.now();
  log(`machine: ${machineDescription()}`);
  log(`parts ${parts.join(',')} on ${backends.join(',')}; bound ${DEADLINE.ms / 1000}s`);
  const print = (lines: Line[]) => lines.forEach(emit);
  try {
    if (parts.includes('store')) {
      print(await runStoreBench({
        backends, objects: whole('SKIFF_BENCH_STORE_OBJECTS', 2000), concurrency: whole('SKIFF_BENCH_STORE_CONCURRENCY', 32),
        deadline: DEADLINE, tempRoot,
      }));
    }
    if (parts.includes('idle')) {
      print(await runIdleBench({
        backends, pods: whole('SKIFF_BENCH_IDLE_PODS', 100), sampleSeconds: whole('SKIFF_BENCH_IDLE_S', 60),
        settleSeconds: whole('SKIFF_BENCH_IDLE_SETTLE_S', 10), deadline: DEADLINE, tempRoot,
      }));
    }
    if (parts.includes('scale')) {
      print(await runScaleBench({
        backends, nodes: whole('SKIFF_BENCH_NODES', 5000), pods: whole('SKIFF_BENCH_PODS', 150_000),
        replicasPerSet: whole('SKIFF_BENCH_REPLICAS_PER_SET', 1000), probeRate: envNumber('SKIFF_BENCH_PROBE_RATE', 10),
        stallMs: envNumber('SKIFF_BENCH_STALL_S', 120) * 1000, listReps: whole('SKIFF_BENCH_LIST_REPS', 3),
        listTimeoutMs: envNumber('SKIFF_BENCH_LIST_TIMEOUT_S', 60) * 1000, deadline: DEADLINE, tempRoot,
      }));
    }
    log(`done in ${seconds(performance.now() - started)}s`);
  } finally {
    cleanupEverything();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    log(`failed: ${(error as Error).stack ?? String(error)}`);
    cleanupEverything();
    process.exit(1);
  },
);
