// The datastore under a benchmark case: the embedded sqlite (nothing to start)
// or a real one-member etcd (Debian's /usr/bin/etcd via the storage launcher)
// whose data lives under the run's temp root. Gives the `skiff server`
// arguments for it, opens the raw store in this process (the baseline), and
// knows the etcd pid for memory readings and for emergency cleanup.
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { trackDir } from '../lib/cleanup.ts';
import type { Store } from '../../src/storage/interface.ts';
import { openEtcdStore } from '../../src/storage/etcd/etcd-store.ts';
import { startEtcd, type EtcdCluster } from '../../src/storage/etcd/launcher.ts';
import { openSqliteStore } from '../../src/storage/sqlite/sqlite-store.ts';

export const BACKEND_KINDS = ['sqlite', 'etcd'] as const;
export type BackendKind = typeof BACKEND_KINDS[number];

export interface Backend {
  kind: BackendKind;
  /** Arguments that point `skiff server` at this datastore. */
  serverArgs: string[];
  /** The datastore's own process (etcd), if it has one. */
  pid?: number;
  /** The store used directly, in this process: the raw baseline. */
  openRaw(): Promise<Store>;
  stop(): Promise<void>;
}

/** etcd pids still running: killed synchronously by killDatastoresSync on SIGINT/SIGTERM or a crash. */
const livePids = new Set<number>();

export async function startBackend(kind: BackendKind, dir: string): Promise<Backend> {
  mkdirSync(dir, { recursive: true });
  if (kind === 'sqlite') {
    return {
      kind,
      serverArgs: [],
      // The same file layout and options `skiff server` uses (src/cli/datastore.ts).
      openRaw: async () => {
        mkdirSync(join(dir, 'raw'), { recursive: true });
        return openSqliteStore({ path: join(dir, 'raw', 'state.db') });
      },
      stop: async () => {},
    };
  }
  // By default on the run's temp root (the same disk as sqlite), not the launcher's default
  // /dev/shm: both backends then pay for durable writes alike. SKIFF_BENCH_ETCD_DIR moves it.
  const etcd: EtcdCluster = await startEtcd({ baseDir: process.env.SKIFF_BENCH_ETCD_DIR || dir, readyTimeoutMs: 30_000 });
  const member = etcd.members[0]!;
  trackDir(dirname(member.dataDir)); // the launcher's temp dir: removed by cleanupSync on SIGINT/SIGTERM too
  const pid = findPidByArgument(member.dataDir);
  if (pid !== undefined) {
    livePids.add(pid);
    startEtcdWatchdog(pid, member.dataDir);
  }
  return {
    kind,
    serverArgs: ['--datastore-endpoint', etcd.endpoints.join(',')],
    pid,
    openRaw: () => openEtcdStore({ endpoints: etcd.endpoints }),
    stop: async () => {
      await etcd.stop();
      if (pid !== undefined) livePids.delete(pid);
    },
  };
}

/** SIGKILLs every etcd this run started and waits (≤ 2 s) until they are gone: safe in a signal handler. */
export function killDatastoresSync(): void {
  for (const pid of livePids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch { /* already gone */ }
  }
  const until = Date.now() + 2000;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  while ([...livePids].some(alive) && Date.now() < until) Atomics.wait(pause, 0, 0, 20);
  livePids.clear();
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** The process whose command line has `argument` as one of its words (the launcher does not expose etcd's pid). */
function findPidByArgument(argument: string): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const words = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (words.includes(argument)) return Number(entry);
    } catch { /* exited meanwhile */ }
  }
  return undefined;
}

/**
 * Like the server's watchdog (bench/lib/server.ts): if this process dies
 * without stopping etcd (SIGKILL), a detached shell kills it — after checking
 * by its command line that the pid still is that etcd — and removes its data.
 */
function startEtcdWatchdog(etcdPid: number, dataDir: string): void {
  if (dataDir.includes("'")) throw new Error(`path ${dataDir} has a quote`);
  const script = [
    `E=${etcdPid}; B=${process.pid}`,
    `alive() { kill -0 "$E" 2>/dev/null && grep -qF -- '${dataDir}' "/proc/$E/cmdline" 2>/dev/null; }`,
    'while alive; do',
    '  if ! kill -0 "$B" 2>/dev/null; then',
    `    kill -9 "$E" 2>/dev/null; sleep 1; rm -rf -- '${dataDir}'; exit 0`,
    '  fi',
    '  sleep 1',
    'done',
  ].join('\n');
  spawn('/bin/sh', ['-c', script], { detached: true, stdio: 'ignore' }).unref();
}
