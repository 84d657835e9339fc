// LIST of all pods at the end of a scale case (SLO: ≤ 30 s for a
// cluster-scoped LIST), unpaged, each timed to its body's last byte: without
// a resourceVersion (a consistent read) and with resourceVersion=0 (any
// recent state may answer). When `skiff server` has --watch-cache, the same
// LISTs again on the case's data through a quiet server (no scheduler,
// controllers or nodes) restarted with the cache on and then off.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Client } from '../lib/http2-client.ts';
import { repoRoot, startServer, stopServer } from '../lib/server.ts';
import type { Breaches } from './breaches.ts';
import { timedGet } from './monitor.ts';
import { log, seconds } from './report.ts';
import type { ListResult } from './scale-report.ts';

export interface ListOptions {
  reps: number;
  timeoutMs: number;
  /** Date.now() by which everything must be done. */
  until: number;
  breaches: Breaches;
  /** Prefix of the result names (e.g. "restart/watch-cache-off/"). */
  label?: string;
}

const VARIANTS = [{ name: 'list/pods', query: '' }, { name: 'list/pods/rv0', query: '?resourceVersion=0' }];

export async function measureLists(client: Client, o: ListOptions): Promise<ListResult[]> {
  const results: ListResult[] = [];
  for (const variant of VARIANTS) {
    const name = `${o.label ?? ''}${variant.name}`;
    const result: ListResult = { name, ms: [], failures: 0 };
    results.push(result);
    for (let rep = 0; rep < o.reps; rep++) {
      const left = o.until - Date.now();
      if (left < 1000) break;
      const r = await timedGet(client, `/api/v1/pods${variant.query}`, Math.min(o.timeoutMs, left), 256 * 2 ** 20);
      if (r.error !== undefined || r.status !== 200) {
        result.failures++;
        o.breaches.add('LIST failed', `${name}: ${r.error ?? `HTTP ${r.status}: ${r.body?.slice(0, 200)}`} after ${seconds(r.ms)}s`);
        break;
      }
      result.ms.push(r.ms);
      result.bytes = r.bytes;
      if (r.body !== undefined) result.items = (JSON.parse(r.body) as { items: unknown[] }).items.length;
      if (r.ms > 30_000) o.breaches.add('LIST > 30 s', `${name} took ${seconds(r.ms)}s (${(r.bytes / 2 ** 20).toFixed(0)} MiB)`);
      log(`${name}: ${seconds(r.ms)}s, ${(r.bytes / 2 ** 20).toFixed(1)} MiB${result.items !== undefined ? `, ${result.items} items` : ''}`);
    }
  }
  return results;
}

let cacheFlag: boolean | undefined;

/** Whether this tree's `skiff server` has --watch-cache (the cache was being written alongside this benchmark). */
export function serverHasWatchCacheFlag(): boolean {
  cacheFlag ??= spawnSync(join(repoRoot, 'bin/skiff'), ['server', '--help'], { encoding: 'utf8', timeout: 30_000 }).stdout?.includes('--watch-cache') ?? false;
  return cacheFlag;
}

export interface RestartListOptions extends ListOptions {
  dataDir: string;
  serverArgs: string[];
  orphanCleanupDir: string;
}

/** Restarts a quiet server on the case's data with the watch cache on, then off, and LISTs through each. */
export async function listsAfterRestarts(o: RestartListOptions): Promise<{ lists: ListResult[]; readyMs: Record<string, number> }> {
  const lists: ListResult[] = [];
  const readyMs: Record<string, number> = {};
  for (const cache of ['true', 'false']) {
    const label = `restart/watch-cache-${cache === 'true' ? 'on' : 'off'}/`;
    if (o.until - Date.now() < 20_000) {
      log(`${label}list: skipped, no time left in the case`);
      break;
    }
    const started = performance.now();
    const server = await startServer({
      dataDir: o.dataDir, orphanCleanupDir: o.orphanCleanupDir, readyTimeoutMs: Math.max(5000, o.until - Date.now() - 10_000),
      extraArgs: [...o.serverArgs, '--disable-scheduler', '--controllers', '', '--watch-cache', cache],
    });
    readyMs[label] = performance.now() - started;
    log(`${label}server: ready in ${seconds(readyMs[label])}s`);
    const client = new Client({ port: server.port, tlsDir: join(o.dataDir, 'tls'), auth: 'token', log });
    try {
      lists.push(...await measureLists(client, { ...o, label }));
    } finally {
      client.close();
      await stopServer(server);
    }
  }
  return { lists, readyMs };
}
