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
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http2 from 'node:http2';
import { cpus, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import type { Store } from '../src/storage/interface.ts';
import { openSqliteStore } from '../src/storage/sqlite/sqlite-store.ts';

const repoRoot = new URL('..', import.meta.url).pathname.replace(/\/$/, '');

// ---------------------------------------------------------------- parameters

function envNumber(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name}=${text} is not a positive number`);
  return value;
}

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
const AUTH = process.env.BENCH_AUTH || 'cert';
if (AUTH !== 'cert' && AUTH !== 'token') throw new Error(`BENCH_AUTH=${AUTH}: use cert or token`);
const TIMEOUT_MS = envNumber('BENCH_TIMEOUT_S', 180) * 1000;
const REQUEST_TIMEOUT_MS = 30_000;
const DEADLINE = Date.now() + TIMEOUT_MS;

const NS_BIG = 'bench-big';
const NS_SMALL = 'bench-small';
const BASELINE_NAME = 'raw sqlite store';
const TARGET_CREATE_RATIO = 0.25;
const TARGET_IDLE_RSS_MB = 150;

function checkDeadline(what: string): void {
  if (Date.now() > DEADLINE) throw new Error(`bench: ${what} passed the run's bound of ${TIMEOUT_MS / 1000}s (BENCH_TIMEOUT_S)`);
}

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

function percentile(samples: number[], p: number): number {
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))]!;
}

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
  const waitUntil = Math.min(DEADLINE, Date.now() + 10_000);
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

interface Server {
  process: ChildProcess;
  port: number;
  dataDir: string;
  output: string[];
}

async function startServer(dataDir: string): Promise<Server> {
  const env = { ...process.env };
  const profDir = process.env.BENCH_SERVER_CPU_PROF;
  if (profDir) env.NODE_OPTIONS = `${env.NODE_OPTIONS ?? ''} --cpu-prof --cpu-prof-dir=${profDir}`.trim();
  const child = spawn(join(repoRoot, 'bin/skiff'), [
    'server', '--data-dir', dataDir, '--https-listen-port', '0',
    '--bind-address', '127.0.0.1', '--node-ip', '127.0.0.1', '--disable-agent',
  ], { stdio: ['ignore', 'pipe', 'pipe'], env });
  const output: string[] = [];
  const keep = (line: string) => {
    output.push(line);
    if (output.length > 200) output.shift();
  };
  createInterface({ input: child.stderr! }).on('line', keep);
  const server: Server = { process: child, port: 0, dataDir, output };
  activeServer = server;
  server.port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server not ready in 30s:\n${output.join('\n')}`)), 30_000);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      keep(line);
      const m = /ready: https:\/\/127\.0\.0\.1:(\d+)/.exec(line);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${code ?? signal}):\n${output.join('\n')}`));
    });
  });
  return server;
}

async function stopServer(server: Server): Promise<void> {
  const child = server.process;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

interface MemoryStatus {
  rssMiB: number;
  hwmMiB: number;
}

function memoryOf(pid: number): MemoryStatus {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string) => {
    const m = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status);
    if (!m) throw new Error(`/proc/${pid}/status has no ${name}`);
    return Number(m[1]) / 1024;
  };
  return { rssMiB: field('VmRSS'), hwmMiB: field('VmHWM') };
}

/** CPU seconds (user + system) the process used so far, from /proc/PID/stat. */
function cpuSecondsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}
const CLOCK_TICKS = 100; // USER_HZ; `getconf CLK_TCK` is 100 on Linux

/** Runs `phase` and reports how busy the server and this client process were meanwhile (1.0 = one core). */
async function withCpu<T>(serverPid: number, phase: () => Promise<T>): Promise<T & { cpu: CpuUse }> {
  const server0 = cpuSecondsOf(serverPid);
  const client0 = process.cpuUsage();
  const t0 = performance.now();
  const result = await phase();
  const seconds = (performance.now() - t0) / 1000;
  const client = process.cpuUsage(client0);
  return {
    ...result,
    cpu: {
      server: (cpuSecondsOf(serverPid) - server0) / seconds,
      client: (client.user + client.system) / 1e6 / seconds,
    },
  };
}

interface CpuUse {
  /** Cores' worth of CPU the server used during the phase. */
  server: number;
  /** Cores' worth of CPU this (client) process used during the phase. */
  client: number;
}

interface Response {
  status: number;
  body: string;
}

class Client {
  readonly sessions: http2.ClientHttp2Session[] = [];
  readonly #auth: http2.OutgoingHttpHeaders = {};
  #next = 0;

  constructor(port: number, tlsDir: string, count: number) {
    const ca = readFileSync(join(tlsDir, 'ca.crt'));
    const credentials = AUTH === 'cert'
      ? { cert: readFileSync(join(tlsDir, 'admin.crt')), key: readFileSync(join(tlsDir, 'admin.key')) }
      : {};
    if (AUTH === 'token') this.#auth.authorization = `Bearer ${readFileSync(join(tlsDir, 'admin.token'), 'utf8').trim()}`;
    for (let i = 0; i < count; i++) {
      const session = http2.connect(`https://127.0.0.1:${port}`, { ca, ...credentials });
      session.on('error', (error) => log(`http2 session error: ${error.message}`));
      this.sessions.push(session);
    }
  }

  session(): http2.ClientHttp2Session {
    const s = this.sessions[this.#next]!;
    this.#next = (this.#next + 1) % this.sessions.length;
    return s;
  }

  request(method: string, path: string, body?: unknown): Promise<Response> {
    const text = body === undefined ? undefined : JSON.stringify(body);
    const headers: http2.OutgoingHttpHeaders = { ':method': method, ':path': path, accept: 'application/json', ...this.#auth };
    if (text !== undefined) headers['content-type'] = 'application/json';
    return new Promise<Response>((resolve, reject) => {
      const stream = this.session().request(headers, { endStream: text === undefined });
      let status = 0;
      const chunks: Buffer[] = [];
      stream.setTimeout(REQUEST_TIMEOUT_MS, () => {
        stream.close(http2.constants.NGHTTP2_CANCEL);
        reject(new Error(`${method} ${path}: no answer in ${REQUEST_TIMEOUT_MS / 1000}s`));
      });
      stream.on('response', (h) => { status = Number(h[':status']); });
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => resolve({ status, body: Buffer.concat(chunks).toString('utf8') }));
      stream.on('error', reject);
      if (text !== undefined) stream.end(text);
    });
  }

  async expect(method: string, path: string, status: number, body?: unknown): Promise<string> {
    const r = await this.request(method, path, body);
    if (r.status !== status) throw new Error(`${method} ${path}: HTTP ${r.status}, expected ${status}: ${r.body.slice(0, 500)}`);
    return r.body;
  }

  /**
   * Opens a watch on a namespace's ConfigMaps (on its own session, like a
   * controller's informer) and records each event's arrival time by name.
   * Resolves once the server answered the watch's headers: the server registers
   * the store watch in the same step as it sends them.
   */
  async watch(port: number, tlsDir: string, namespace: string, arrivals: Map<string, number>): Promise<() => void> {
    const watcher = new Client(port, tlsDir, 1);
    const stream = watcher.session().request({
      ':method': 'GET', ':path': `/api/v1/namespaces/${namespace}/configmaps?watch=1&timeoutSeconds=${Math.ceil(TIMEOUT_MS / 1000)}`,
      accept: 'application/json', ...watcher.#auth,
    });
    let pending = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      const at = performance.now();
      pending += chunk;
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        if (!line.trim()) continue;
        const event = JSON.parse(line) as { type: string; object: { metadata?: { name?: string } } };
        if (event.type === 'ADDED' && event.object.metadata?.name) arrivals.set(event.object.metadata.name, at);
      }
    });
    stream.on('error', () => {});
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('watch: no response headers in 10s')), 10_000);
      stream.once('response', (h) => {
        clearTimeout(timer);
        if (h[':status'] !== 200) reject(new Error(`watch: HTTP ${h[':status']}`));
        else resolve();
      });
      stream.once('error', (e) => { clearTimeout(timer); reject(e); });
    });
    return () => {
      stream.close(http2.constants.NGHTTP2_CANCEL);
      watcher.close();
    };
  }

  close(): void {
    for (const s of this.sessions) s.destroy();
  }
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
  const server = await startServer(dataDir);
  const pid = server.process.pid!;
  const tlsDir = join(dataDir, 'tls');
  // Let start-up work (bootstrap, GC of start-up garbage) settle before the idle reading.
  await new Promise((r) => setTimeout(r, 2000));
  const idle = memoryOf(pid);
  log(`api: server pid ${pid} on port ${server.port}, idle RSS ${idle.rssMiB.toFixed(1)} MiB`);

  const client = new Client(server.port, tlsDir, SESSIONS);
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
    const stopWatch = await client.watch(server.port, tlsDir, NS_SMALL, arrivals);
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
    activeServer = undefined;
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

const round = (x: number) => Number(x.toPrecision(4));

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

let activeServer: Server | undefined;
let tempRoot: string | undefined;

function cleanupSync(): void {
  const child = activeServer?.process;
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  activeServer = undefined;
  if (tempRoot) rmSync(tempRoot, { recursive: true, force: true });
  tempRoot = undefined;
}

async function main(): Promise<void> {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      log(`${signal}: cleaning up`);
      cleanupSync();
      process.exit(130);
    });
  }
  tempRoot = mkdtempSync(join(tmpdir(), 'skiff-bench-api-'));
  const started = performance.now();
  log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, Linux ${release()}, Node ${process.version}`);
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
