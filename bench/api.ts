// `npm run bench:api`: the API server against the raw store it sits on.
//
// One run measures, for ConfigMaps in a namespace:
//   - through a real `skiff server` (HTTP/2 over TLS, admin client certificate,
//     node:http2 client sessions with CONCURRENCY requests in flight): creates/s,
//     gets/s with their p50/p99 latencies, LIST latency with 1k and 10k objects in
//     the namespace, watch delivery (a create's acknowledgement → its event on an
//     open watch), and the server's RSS idle, after 10k objects and at peak;
//   - the raw sqlite store (openSqliteStore, in this process) doing the same
//     writes (the same JSON values under /registry/core/configmaps/NS/NAME),
//     gets, prefix lists and watch delivery: the baseline of every API figure.
//
// Prints one JSON line per measurement on stdout (ARCHITECTURE.md §10), progress
// on stderr. Environment:
//   BENCH_SCALE        multiplies every count (default 1: 10k creates, 10k gets,
//                      1k watch events); e.g. 0.05 for a smoke run
//   BENCH_CONCURRENCY  requests in flight for creates/gets (default 32)
//   BENCH_SESSIONS     HTTP/2 client sessions the requests are spread over (default 1)
//   BENCH_AUTH        cert (default: the admin client certificate, as the
//                      kubeconfig gives kubectl) or token (the admin bearer token)
//   BENCH_TIMEOUT_S    bound on the whole run (default 180); exceeding it fails the run
//   BENCH_SERVER_CPU_PROF  a directory: run the server with --cpu-prof into it
//
// Network: loopback only (the server binds 127.0.0.1). Every loop is bounded in
// count and by the run's deadline. The server and the temp dir are removed on
// every exit path (success, failure, SIGINT/SIGTERM).
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Store } from '../src/storage/interface.ts';
import { openSqliteStore } from '../src/storage/sqlite/sqlite-store.ts';
import { cleanupSync, installSignalHandlers, trackDir } from './lib/cleanup.ts';
import { Deadline, envNumber, machineDescription } from './lib/env.ts';
import { Client } from './lib/http2-client.ts';
import { memoryOf, startServer, stopServer, withCpu, type CpuUse, type MemoryStatus } from './lib/server.ts';
import { percentile, round } from './lib/stats.ts';

// ---------------------------------------------------------------- parameters

const SCALE = envNumber('BENCH_SCALE', 1);
const scaled = (n: number, min: number) => Math.max(min, Math.round(n * SCALE));
/** Objects created (and then listed) in the big namespace. */
const N_CREATES = scaled(10_000, 20);
const N_GETS = scaled(10_000, 20);
/** Sequential creates on a watched namespace; they also fill the small namespace for its LIST. */
const N_WATCH = scaled(1_000, 10);
const LIST_REPS_SMALL = 20;
const LIST_REPS_BIG = 10;
const CONCURRENCY = Math.round(envNumber('BENCH_CONCURRENCY', 32));
const SESSIONS = Math.round(envNumber('BENCH_SESSIONS', 1));
const AUTH_TEXT = process.env.BENCH_AUTH || 'cert';
if (AUTH_TEXT !== 'cert' && AUTH_TEXT !== 'token') throw new Error(`BENCH_AUTH=${AUTH_TEXT}: use cert or token`);
const AUTH: 'cert' | 'token' = AUTH_TEXT;
const DEADLINE = new Deadline(envNumber('BENCH_TIMEOUT_S', 180));
const TIMEOUT_MS = DEADLINE.ms;

const NS_BIG = 'bench-big';
const NS_SMALL = 'bench-small';
const BASELINE_NAME = 'raw sqlite store';
const TARGET_CREATE_RATIO = 0.25;
const TARGET_IDLE_RSS_MB = 150;

const checkDeadline = (what: string) => DEADLINE.check(what);

/** With BENCH_SERVER_CPU_PROF, progress lines carry the monotonic clock (µs) the .cpuprofile's timestamps use, to cut it into phases. */
const log = (message: string) => process.stderr.write(
  `bench:api ${process.env.BENCH_SERVER_CPU_PROF ? `[${process.hrtime.bigint() / 1000n}us] ` : ''}${message}\n`,
);

// ---------------------------------------------------------------- workload

const cmName = (i: number) => `cm-${String(i).padStart(6, '0')}`;

/** A small, realistic ConfigMap (~600 bytes of JSON). */
function configMap(namespace: string, i: number) {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: cmName(i),
      namespace,
      labels: { 'app.kubernetes.io/name': 'bench', 'app.kubernetes.io/component': 'backend', shard: String(i % 16) },
      annotations: { 'bench.skiff.dev/generation': 'v1' },
    },
    data: {
      LOG_LEVEL: 'info',
      FEATURE_FLAGS: 'checkout-v2,new-search,dark-mode',
      DATABASE_URL: `postgres://app@db-${i % 4}.${namespace}.svc.cluster.local:5432/app`,
      'app.properties': 'server.port=8080\nserver.shutdown=graceful\ncache.ttl=300s\nretry.max=5\nretry.backoff=200ms\n',
    },
  };
}

/** What the API server stores for configMap(): the object plus the server-set metadata. */
function storedValue(namespace: string, i: number): string {
  const object = configMap(namespace, i);
  const metadata = { ...object.metadata, uid: randomUUID(), creationTimestamp: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'), generation: 1 };
  return JSON.stringify({ ...object, metadata });
}

const rawKey = (namespace: string, name: string) => `/registry/core/configmaps/${namespace}/${name}`;

/** A fixed permutation of 0..n-1 (the get order), the same for both sides. */
function shuffledIndexes(n: number, count: number): number[] {
  let seed = 0x2545f491;
  const next = () => {
    seed ^= seed << 13; seed >>>= 0;
    seed ^= seed >>> 17;
    seed ^= seed << 5; seed >>>= 0;
    return seed;
  };
  return Array.from({ length: count }, () => next() % n);
}

// ---------------------------------------------------------------- statistics

interface Throughput {
  perSecond: number;
  latenciesMs: number[];
}

/** Runs fn(0..count-1) with `concurrency` calls in flight; each call's latency is recorded. */
async function runPool(count: number, concurrency: number, what: string, fn: (i: number) => Promise<void>): Promise<Throughput> {
  const latenciesMs: number[] = new Array(count);
  let next = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < count) {
      checkDeadline(what);
      const i = next++;
      const t0 = performance.now();
      await fn(i);
      latenciesMs[i] = performance.now() - t0;
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  const seconds = (performance.now() - started) / 1000;
  return { perSecond: count / seconds, latenciesMs };
}

/** Sequential repetitions of fn; returns each one's latency. `check` (not timed) verifies each result. */
async function repeat<T>(reps: number, what: string, fn: () => Promise<T>, check: (result: T) => void): Promise<number[]> {
  const out: number[] = [];
  for (let r = 0; r < reps; r++) {
    checkDeadline(what);
    const t0 = performance.now();
    const result = await fn();
    out.push(performance.now() - t0);
    check(result);
  }
  return out;
}

interface WatchDelivery {
  /** max(0, event arrival − create acknowledgement), per event. */
  afterAckMs: number[];
  /** event arrival − create request issued, per event. */
  endToEndMs: number[];
  /** Events that arrived before their create's acknowledgement. */
  beforeAck: number;
  /** Each create's own latency (one request in flight). */
  createMs: number[];
}

/** One sequential create at a time; `arrivals` is filled by the watch reader. */
async function measureWatch(
  count: number,
  create: (i: number) => Promise<void>,
  arrivals: Map<string, number>,
): Promise<WatchDelivery> {
  const issued: number[] = [];
  const acked: number[] = [];
  for (let i = 0; i < count; i++) {
    checkDeadline('watch delivery');
    issued.push(performance.now());
    await create(i);
    acked.push(performance.now());
  }
  // Wait (bounded) for the stragglers.
  const waitUntil = Math.min(DEADLINE.at, Date.now() + 10_000);
  while (arrivals.size < count && Date.now() < waitUntil) await new Promise((r) => setTimeout(r, 5));
  if (arrivals.size < count) throw new Error(`watch delivered ${arrivals.size} of ${count} events in time`);
  const result: WatchDelivery = { afterAckMs: [], endToEndMs: [], beforeAck: 0, createMs: acked.map((t, i) => t - issued[i]!) };
  for (let i = 0; i < count; i++) {
    const at = arrivals.get(cmName(i))!;
    if (at < acked[i]!) result.beforeAck++;
    result.afterAckMs.push(Math.max(0, at - acked[i]!));
    result.endToEndMs.push(at - issued[i]!);
  }
  return result;
}

interface SideResults {
  create: Throughput;
  get: Throughput;
  listSmallMs: number[];
  listBigMs: number[];
  watch: WatchDelivery;
}

// ---------------------------------------------------------------- raw store side

async function benchRawStore(dir: string): Promise<SideResults> {
  mkdirSync(dir, { recursive: true });
  // Same options as `skiff server` (schema.ts pragmas, default compaction).
  const store: Store = openSqliteStore({ path: join(dir, 'state.db') });
  try {
    log(`raw: ${N_CREATES} creates`);
    const create = await runPool(N_CREATES, CONCURRENCY, 'raw creates', async (i) => {
      await store.create(rawKey(NS_BIG, cmName(i)), storedValue(NS_BIG, i));
    });

    log(`raw: ${N_GETS} gets`);
    const order = shuffledIndexes(N_CREATES, N_GETS);
    const get = await runPool(N_GETS, CONCURRENCY, 'raw gets', async (i) => {
      const kv = await store.get(rawKey(NS_BIG, cmName(order[i]!)));
      if (!kv) throw new Error(`raw get ${cmName(order[i]!)}: missing`);
    });

    log(`raw: watch delivery over ${N_WATCH} creates`);
    const arrivals = new Map<string, number>();
    const prefix = rawKey(NS_SMALL, '');
    const watch = store.watch({ prefix, fromRevision: await store.currentRevision() });
    const reader = (async () => {
      for await (const event of watch.events) arrivals.set(event.kv.key.slice(prefix.length), performance.now());
    })();
    let watchResult: WatchDelivery;
    try {
      watchResult = await measureWatch(N_WATCH, async (i) => {
        await store.create(rawKey(NS_SMALL, cmName(i)), storedValue(NS_SMALL, i));
      }, arrivals);
    } finally {
      watch.stop();
      await reader;
    }

    log('raw: lists');
    const list = (namespace: string) => () => store.list({ prefix: rawKey(namespace, '') });
    const expect = (namespace: string, n: number) => (result: { items: unknown[] }) => {
      if (result.items.length !== n) throw new Error(`raw list ${namespace}: ${result.items.length} items, expected ${n}`);
    };
    const listSmallMs = await repeat(LIST_REPS_SMALL, 'raw lists', list(NS_SMALL), expect(NS_SMALL, N_WATCH));
    const listBigMs = await repeat(LIST_REPS_BIG, 'raw lists', list(NS_BIG), expect(NS_BIG, N_CREATES));
    return { create, get, listSmallMs, listBigMs, watch: watchResult };
  } finally {
    await store.close();
  }
}

// ---------------------------------------------------------------- API server side

/** Opens a watch on a namespace's ConfigMaps and records each ADDED event's arrival time by name. */
async function watchConfigMaps(client: Client, namespace: string, arrivals: Map<string, number>): Promise<() => void> {
  const stream = await client.openLineStream(
    `/api/v1/namespaces/${namespace}/configmaps?watch=1&timeoutSeconds=${Math.ceil(TIMEOUT_MS / 1000)}`,
    (line, at) => {
      const event = JSON.parse(line) as { type: string; object: { metadata?: { name?: string } } };
      if (event.type === 'ADDED' && event.object.metadata?.name) arrivals.set(event.object.metadata.name, at);
    },
  );
  return () => stream.stop();
}

interface ApiResults extends SideResults {
  createCpu: CpuUse;
  getCpu: CpuUse;
  idle: MemoryStatus;
  afterCreates: MemoryStatus;
  end: MemoryStatus;
}

async function benchApiServer(dataDir: string): Promise<ApiResults> {
  log('api: starting skiff server');
  const server = await startServer({ dataDir, cpuProfDir: process.env.BENCH_SERVER_CPU_PROF || undefined });
  const pid = server.process.pid!;
  const tlsDir = join(dataDir, 'tls');
  // Let start-up work (bootstrap, GC of start-up garbage) settle before the idle reading.
  await new Promise((r) => setTimeout(r, 2000));
  const idle = memoryOf(pid);
  log(`api: server pid ${pid} on port ${server.port}, idle RSS ${idle.rssMiB.toFixed(1)} MiB`);

  const client = new Client({ port: server.port, tlsDir, sessions: SESSIONS, auth: AUTH, log });
  try {
    for (const ns of [NS_BIG, NS_SMALL]) {
      await client.expect('POST', '/api/v1/namespaces', 201, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    }
    // Warm up the connection(s) and the server's code paths a little (not counted).
    for (let i = 0; i < 20; i++) await client.expect('GET', `/api/v1/namespaces/${NS_BIG}`, 200);

    log(`api: ${N_CREATES} creates, ${CONCURRENCY} in flight over ${SESSIONS} session(s)`);
    const cmPath = (ns: string) => `/api/v1/namespaces/${ns}/configmaps`;
    const create = await withCpu(pid, () => runPool(N_CREATES, CONCURRENCY, 'api creates', async (i) => {
      await client.expect('POST', cmPath(NS_BIG), 201, configMap(NS_BIG, i));
    }));
    log(`api: creates: server used ${create.cpu.server.toFixed(2)} cores, this client ${create.cpu.client.toFixed(2)}`);
    const afterCreates = memoryOf(pid);

    log(`api: ${N_GETS} gets`);
    const order = shuffledIndexes(N_CREATES, N_GETS);
    const get = await withCpu(pid, () => runPool(N_GETS, CONCURRENCY, 'api gets', async (i) => {
      await client.expect('GET', `${cmPath(NS_BIG)}/${cmName(order[i]!)}`, 200);
    }));
    log(`api: gets: server used ${get.cpu.server.toFixed(2)} cores, this client ${get.cpu.client.toFixed(2)}`);

    log(`api: watch delivery over ${N_WATCH} creates`);
    const arrivals = new Map<string, number>();
    const stopWatch = await watchConfigMaps(client, NS_SMALL, arrivals);
    let watch: WatchDelivery;
    try {
      watch = await measureWatch(N_WATCH, async (i) => {
        await client.expect('POST', cmPath(NS_SMALL), 201, configMap(NS_SMALL, i));
      }, arrivals);
    } finally {
      stopWatch();
    }

    log('api: lists');
    // A LIST's latency ends at the body's last byte; parsing it to check the count is not timed.
    const list = (ns: string) => () => client.expect('GET', cmPath(ns), 200);
    const expect = (ns: string, n: number) => (body: string) => {
      const count = (JSON.parse(body) as { items: unknown[] }).items.length;
      if (count !== n) throw new Error(`api list ${ns}: ${count} items, expected ${n}`);
    };
    const listSmallMs = await repeat(LIST_REPS_SMALL, 'api lists', list(NS_SMALL), expect(NS_SMALL, N_WATCH));
    const listBigMs = await repeat(LIST_REPS_BIG, 'api lists', list(NS_BIG), expect(NS_BIG, N_CREATES));
    const end = memoryOf(pid);
    return { create, get, createCpu: create.cpu, getCpu: get.cpu, listSmallMs, listBigMs, watch, idle, afterCreates, end };
  } finally {
    client.close();
    await stopServer(server);
  }
}

// ---------------------------------------------------------------- output

interface Line {
  bench: 'api';
  case: string;
  metric: string;
  value: number;
  unit: string;
  baseline?: { name: string; value: number };
  ratio?: number | null;
  [extra: string]: unknown;
}

function compare(kase: string, metric: string, unit: string, api: number, raw: number, extra: Record<string, unknown> = {}): Line {
  return {
    bench: 'api', case: kase, metric, value: round(api), unit,
    baseline: { name: BASELINE_NAME, value: round(raw) },
    ratio: raw > 0 ? round(api / raw) : null,
    ...extra,
  };
}

function latencyLines(kase: string, api: number[], raw: number[], extra: Record<string, unknown> = {}): Line[] {
  const unit = 'ms (lower is better; ratio = api/raw)';
  return [
    compare(kase, 'latency_p50', unit, percentile(api, 50), percentile(raw, 50), { samples: api.length, ...extra }),
    compare(kase, 'latency_p99', unit, percentile(api, 99), percentile(raw, 99), { samples: api.length, ...extra }),
  ];
}

function report(api: ApiResults, raw: SideResults): Line[] {
  const lines: Line[] = [];
  const rateUnit = '1/s';
  const createRatio = api.create.perSecond / raw.create.perSecond;
  lines.push(compare('create/configmaps', 'requests_per_second', rateUnit, api.create.perSecond, raw.create.perSecond, {
    concurrency: CONCURRENCY, samples: N_CREATES, server_cpu_cores: round(api.createCpu.server), client_cpu_cores: round(api.createCpu.client),
    target: { ratio: `>= ${TARGET_CREATE_RATIO}`, met: createRatio >= TARGET_CREATE_RATIO },
  }));
  lines.push(...latencyLines('create/configmaps', api.create.latenciesMs, raw.create.latenciesMs, { concurrency: CONCURRENCY }));
  lines.push(...latencyLines('create/configmaps/one-in-flight', api.watch.createMs, raw.watch.createMs, { concurrency: 1 }));
  lines.push(compare('get/configmaps', 'requests_per_second', rateUnit, api.get.perSecond, raw.get.perSecond, {
    concurrency: CONCURRENCY, samples: N_GETS, server_cpu_cores: round(api.getCpu.server), client_cpu_cores: round(api.getCpu.client),
  }));
  lines.push(...latencyLines('get/configmaps', api.get.latenciesMs, raw.get.latenciesMs, { concurrency: CONCURRENCY }));
  lines.push(...latencyLines(`list/configmaps/${N_WATCH}-in-namespace`, api.listSmallMs, raw.listSmallMs));
  lines.push(...latencyLines(`list/configmaps/${N_CREATES}-in-namespace`, api.listBigMs, raw.listBigMs));
  const watchUnit = 'ms (lower is better; ratio = api/raw)';
  lines.push(compare('watch/configmaps/delivery-after-ack', 'latency_p50', watchUnit, percentile(api.watch.afterAckMs, 50), percentile(raw.watch.afterAckMs, 50),
    { samples: N_WATCH, events_before_ack: api.watch.beforeAck, baseline_events_before_ack: raw.watch.beforeAck }));
  lines.push(compare('watch/configmaps/delivery-after-ack', 'latency_p99', watchUnit, percentile(api.watch.afterAckMs, 99), percentile(raw.watch.afterAckMs, 99),
    { samples: N_WATCH, events_before_ack: api.watch.beforeAck, baseline_events_before_ack: raw.watch.beforeAck }));
  lines.push(...latencyLines('watch/configmaps/create-to-event', api.watch.endToEndMs, raw.watch.endToEndMs));
  lines.push({
    bench: 'api', case: 'rss/idle', metric: 'server_rss', value: round(api.idle.rssMiB), unit: 'MiB (lower is better)',
    target: { value: `< ${TARGET_IDLE_RSS_MB}`, met: api.idle.rssMiB < TARGET_IDLE_RSS_MB },
  });
  lines.push({ bench: 'api', case: `rss/after-${N_CREATES}-objects`, metric: 'server_rss', value: round(api.afterCreates.rssMiB), unit: 'MiB (lower is better)' });
  lines.push({ bench: 'api', case: 'rss/end-of-run', metric: 'server_rss', value: round(api.end.rssMiB), unit: 'MiB (lower is better)' });
  lines.push({ bench: 'api', case: 'rss/end-of-run', metric: 'server_rss_peak', value: round(api.end.hwmMiB), unit: 'MiB (lower is better)' });
  return lines;
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  installSignalHandlers(log);
  const tempRoot = mkdtempSync(join(tmpdir(), 'skiff-bench-api-'));
  trackDir(tempRoot);
  const started = performance.now();
  log(`machine: ${machineDescription()}`);
  log(`scale ${SCALE}: ${N_CREATES} creates, ${N_GETS} gets, ${N_WATCH} watch events, lists of ${N_WATCH} and ${N_CREATES}; bound ${TIMEOUT_MS / 1000}s`);
  try {
    const raw = await benchRawStore(join(tempRoot, 'raw'));
    const api = await benchApiServer(join(tempRoot, 'server'));
    for (const line of report(api, raw)) process.stdout.write(JSON.stringify(line) + '\n');
    const createRatio = api.create.perSecond / raw.create.perSecond;
    log(`targets: API creates at ${(createRatio * 100).toFixed(1)}% of the raw store (target >= ${TARGET_CREATE_RATIO * 100}%): ${createRatio >= TARGET_CREATE_RATIO ? 'met' : 'NOT met'}`);
    log(`targets: idle RSS ${api.idle.rssMiB.toFixed(1)} MiB (target < ${TARGET_IDLE_RSS_MB} MB): ${api.idle.rssMiB < TARGET_IDLE_RSS_MB ? 'met' : 'NOT met'}`);
    log(`done in ${((performance.now() - started) / 1000).toFixed(1)}s`);
  } finally {
    cleanupSync();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    log(`failed: ${(error as Error).stack ?? String(error)}`);
    cleanupSync();
    process.exit(1);
  },
);
