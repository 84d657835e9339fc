// Part 1, "store": creates/s, gets/s and watch delivery of ConfigMaps through
// a real `skiff server` (HTTP/2 + TLS, JSON, admin client certificate) on each
// datastore, beside the same operations on that datastore's raw store used
// directly in this process (the baseline; ratio = api / raw). Each side gets a
// fresh datastore (a new sqlite file, a new etcd) so neither sees the other's data.
//
// Watch delivery is measured under load: a watch on the namespace (a store
// watch on the prefix, raw) is open while the creates run CONCURRENCY at a
// time; per object, create issued → its ADDED event received.
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Deadline } from '../lib/env.ts';
import { sleep } from '../lib/env.ts';
import { Client } from '../lib/http2-client.ts';
import { memoryOf, startServer, stopServer, withCpu } from '../lib/server.ts';
import { startBackend, type BackendKind } from './backends.ts';
import { compared, line, log, p50, p99, type Line } from './report.ts';

export interface StoreBenchOptions {
  backends: readonly BackendKind[];
  /** ConfigMaps created (and then read back) per side. */
  objects: number;
  concurrency: number;
  deadline: Deadline;
  /** Every datastore and data dir goes under here (the run's temp root). */
  tempRoot: string;
}

const NAMESPACE = 'bench-store';

interface SideResult {
  createPerSecond: number;
  createMs: number[];
  getPerSecond: number;
  getMs: number[];
  /** Create issued → ADDED event received, per object. */
  watchMs: number[];
  /** Create acknowledged → ADDED event received (0 when the event came first). */
  watchAfterAckMs: number[];
  serverCpuCores?: number;
  serverRssMiB?: number;
}

export async function runStoreBench(options: StoreBenchOptions): Promise<Line[]> {
  const lines: Line[] = [];
  for (const kind of options.backends) {
    options.deadline.check(`store/${kind}`);
    log(`store/${kind}: raw store, ${options.objects} creates and gets, ${options.concurrency} in flight`);
    const raw = await measureRaw(kind, options);
    log(`store/${kind}: raw ${raw.createPerSecond.toFixed(0)} creates/s, ${raw.getPerSecond.toFixed(0)} gets/s`);
    log(`store/${kind}: through skiff server`);
    const api = await measureApi(kind, options);
    log(`store/${kind}: api ${api.createPerSecond.toFixed(0)} creates/s, ${api.getPerSecond.toFixed(0)} gets/s`);
    lines.push(...storeLines(kind, options, api, raw));
  }
  return lines;
}

function storeLines(kind: BackendKind, options: StoreBenchOptions, api: SideResult, raw: SideResult): Line[] {
  const baselineName = `raw ${kind} store (src/storage/${kind}, in-process, same run)`;
  const kase = (what: string) => `store/${kind}/${what}`;
  const extra = { concurrency: options.concurrency, samples: options.objects };
  const ms = 'ms (lower is better; ratio = api/raw)';
  const rate = '1/s (higher is better; ratio = api/raw)';
  const vs = (value: number) => ({ name: baselineName, value });
  return [
    compared(kase('create/configmaps'), 'requests_per_second', api.createPerSecond, rate, vs(raw.createPerSecond),
      { ...extra, server_cpu_cores: api.serverCpuCores }),
    compared(kase('create/configmaps'), 'latency_p50', p50(api.createMs), ms, vs(p50(raw.createMs)), extra),
    compared(kase('create/configmaps'), 'latency_p99', p99(api.createMs), ms, vs(p99(raw.createMs)), extra),
    compared(kase('get/configmaps'), 'requests_per_second', api.getPerSecond, rate, vs(raw.getPerSecond), extra),
    compared(kase('get/configmaps'), 'latency_p50', p50(api.getMs), ms, vs(p50(raw.getMs)), extra),
    compared(kase('get/configmaps'), 'latency_p99', p99(api.getMs), ms, vs(p99(raw.getMs)), extra),
    compared(kase('watch/create-to-event'), 'latency_p50', p50(api.watchMs), ms, vs(p50(raw.watchMs)), extra),
    compared(kase('watch/create-to-event'), 'latency_p99', p99(api.watchMs), ms, vs(p99(raw.watchMs)), extra),
    compared(kase('watch/ack-to-event'), 'latency_p99', p99(api.watchAfterAckMs), ms, vs(p99(raw.watchAfterAckMs)), extra),
    line(kase('server'), 'server_rss', api.serverRssMiB ?? NaN, 'MiB (after the creates and gets)'),
  ];
}

// ---------------------------------------------------------------- workload

const name = (i: number) => `cm-${String(i).padStart(6, '0')}`;

/** A small, realistic ConfigMap (~500 bytes of JSON), as bench:api's. */
function configMap(i: number) {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: name(i), namespace: NAMESPACE, labels: { app: 'bench', shard: String(i % 16) } },
    data: {
      LOG_LEVEL: 'info',
      DATABASE_URL: `postgres://app@db-${i % 4}.${NAMESPACE}.svc.cluster.local:5432/app`,
      'app.properties': 'server.port=8080\nserver.shutdown=graceful\ncache.ttl=300s\nretry.max=5\n',
    },
  };
}

/** What the API server would store for configMap(i): the object plus server-set metadata. */
function storedValue(i: number): string {
  const object = configMap(i);
  const metadata = { ...object.metadata, uid: randomUUID(), creationTimestamp: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'), resourceVersion: '' };
  return JSON.stringify({ ...object, metadata });
}

const rawKey = (i: number) => `/registry/core/configmaps/${NAMESPACE}/${name(i)}`;

/** Runs fn(0..count-1), `concurrency` in flight; per-call latency and the overall rate. */
async function runPool(count: number, concurrency: number, deadline: Deadline, what: string, fn: (i: number) => Promise<void>) {
  const latenciesMs = new Array<number>(count);
  let next = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < count) {
      deadline.check(what);
      const i = next++;
      const t0 = performance.now();
      await fn(i);
      latenciesMs[i] = performance.now() - t0;
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return { perSecond: count / ((performance.now() - started) / 1000), latenciesMs };
}

/** Creates with a watch open: each create's issue/ack times and each event's arrival, by index. */
async function createsUnderWatch(count: number, concurrency: number, deadline: Deadline, what: string,
  arrivals: Map<number, number>, create: (i: number) => Promise<void>) {
  const issued = new Float64Array(count);
  const acked = new Float64Array(count);
  const result = await runPool(count, concurrency, deadline, what, async (i) => {
    issued[i] = performance.now();
    await create(i);
    acked[i] = performance.now();
  });
  const until = Math.min(deadline.at, Date.now() + 15_000);
  while (arrivals.size < count && Date.now() < until) await sleep(5);
  if (arrivals.size < count) throw new Error(`${what}: the watch delivered ${arrivals.size} of ${count} events in time`);
  const watchMs: number[] = [];
  const watchAfterAckMs: number[] = [];
  for (let i = 0; i < count; i++) {
    const at = arrivals.get(i)!;
    watchMs.push(at - issued[i]!);
    watchAfterAckMs.push(Math.max(0, at - acked[i]!));
  }
  return { ...result, watchMs, watchAfterAckMs };
}

const indexOfName = (text: string) => Number(text.slice(text.lastIndexOf('-') + 1));

// ---------------------------------------------------------------- raw side

async function measureRaw(kind: BackendKind, options: StoreBenchOptions): Promise<SideResult> {
  const backend = await startBackend(kind, join(options.tempRoot, `store-${kind}-raw`));
  try {
    const store = await backend.openRaw();
    try {
      const arrivals = new Map<number, number>();
      const prefix = `/registry/core/configmaps/${NAMESPACE}/`;
      const watch = store.watch({ prefix, fromRevision: await store.currentRevision() });
      const reader = (async () => {
        for await (const event of watch.events) if (event.type === 'create') arrivals.set(indexOfName(event.kv.key), performance.now());
      })();
      let creates;
      try {
        creates = await createsUnderWatch(options.objects, options.concurrency, options.deadline, `store/${kind}/raw creates`, arrivals,
          async (i) => { await store.create(rawKey(i), storedValue(i)); });
      } finally {
        watch.stop();
        await reader;
      }
      const gets = await runPool(options.objects, options.concurrency, options.deadline, `store/${kind}/raw gets`, async (i) => {
        if (!await store.get(rawKey(permuted(i, options.objects)))) throw new Error(`raw get ${name(i)}: missing`);
      });
      return {
        createPerSecond: creates.perSecond, createMs: creates.latenciesMs, getPerSecond: gets.perSecond, getMs: gets.latenciesMs,
        watchMs: creates.watchMs, watchAfterAckMs: creates.watchAfterAckMs,
      };
    } finally {
      await store.close();
    }
  } finally {
    await backend.stop();
  }
}

/** A fixed scatter of 0..n-1 (the get order), the same on both sides. */
const permuted = (i: number, n: number) => (i * 7919) % n;

// ---------------------------------------------------------------- API side

async function measureApi(kind: BackendKind, options: StoreBenchOptions): Promise<SideResult> {
  const backend = await startBackend(kind, join(options.tempRoot, `store-${kind}-api`));
  try {
    const dataDir = join(options.tempRoot, `store-${kind}-server`);
    const server = await startServer({ dataDir, extraArgs: backend.serverArgs, orphanCleanupDir: options.tempRoot, readyTimeoutMs: 60_000 });
    const client = new Client({ port: server.port, tlsDir: join(dataDir, 'tls'), auth: 'cert', log });
    try {
      await client.expect('POST', '/api/v1/namespaces', 201, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } });
      const path = `/api/v1/namespaces/${NAMESPACE}/configmaps`;
      for (let i = 0; i < 20; i++) await client.expect('GET', `/api/v1/namespaces/${NAMESPACE}`, 200); // warm-up, not counted
      const arrivals = new Map<number, number>();
      const stream = await client.openLineStream(`${path}?watch=1&timeoutSeconds=${Math.ceil(options.deadline.left() / 1000) + 60}`, (text, at) => {
        const event = JSON.parse(text) as { type: string; object: { metadata?: { name?: string } } };
        if (event.type === 'ADDED' && event.object.metadata?.name) arrivals.set(indexOfName(event.object.metadata.name), at);
      });
      let creates;
      try {
        creates = await withCpu(server.process.pid!, () => createsUnderWatch(options.objects, options.concurrency, options.deadline,
          `store/${kind}/api creates`, arrivals, async (i) => { await client.expect('POST', path, 201, configMap(i)); }));
      } finally {
        stream.stop();
      }
      const gets = await runPool(options.objects, options.concurrency, options.deadline, `store/${kind}/api gets`, async (i) => {
        await client.expect('GET', `${path}/${name(permuted(i, options.objects))}`, 200);
      });
      return {
        createPerSecond: creates.perSecond, createMs: creates.latenciesMs, getPerSecond: gets.perSecond, getMs: gets.latenciesMs,
        watchMs: creates.watchMs, watchAfterAckMs: creates.watchAfterAckMs,
        serverCpuCores: creates.cpu.server, serverRssMiB: memoryOf(server.process.pid!).rssMiB,
      };
    } finally {
      client.close();
      await stopServer(server);
    }
  } finally {
    await backend.stop();
  }
}
