// `npm run bench:gc`: how fast the namespace controller and the garbage
// collector remove things, and how many API requests they spend doing it.
//
// A `skiff server --controllers '' --simulated-nodes 100:16,64Gi,110` child
// process holds the API, the scheduler and 100 hollow nodes. The controller
// manager runs in THIS process — garbagecollector, namespace, deployment and
// replicaset — over a REST client that counts every call (the benchmark's own
// requests go through a second client and are not counted).
//
// Phases (sizes at BENCH_SCALE=1):
//   namespace   a namespace holding 10k objects (5000 ConfigMaps, 5000 Secrets)
//               is deleted → time until GET namespace answers 404.
//               Baseline, same run: the same content in a second namespace,
//               removed by the benchmark itself with one deletecollection per
//               kind (the least work the server can do for it) → time until
//               both lists are empty.
//   foreground  a Deployment of 1000 replicas (fully available) deleted with
//               propagationPolicy Foreground → time until the Deployment is gone
//               (404) and no pod is left.
//               Baseline: the ideal request count — 1000 pod deletes + 1
//               ReplicaSet delete + the 2 finalizer removals (ReplicaSet,
//               Deployment) upstream cannot do without.
//
// Prints one JSON line per measurement on stdout (ARCHITECTURE.md §10),
// progress on stderr. Environment:
//   BENCH_SCALE      multiplies objects, replicas and nodes (default 1); 0.05 = smoke run
//   BENCH_TIMEOUT_S  bound on the whole run (default 900)
//
// Network: loopback only. Every loop is bounded in count and by the run's
// deadline; the controller manager, clients, server and temp dir are removed
// on every exit path.
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { isNotFound, type ApiClient, type KubeObject, type ResourceRef } from '../src/client/interface.ts';
import { createRestClient, type RestClient } from '../src/client/rest-client.ts';
import { startControllerManager, type ControllerManager } from '../src/controllers/manager.ts';
import { cleanupSync, installSignalHandlers, trackDir } from './lib/cleanup.ts';
import { Counts, countingClient, diff, total, WRITE_VERBS, type Snapshot } from './lib/counting-client.ts';
import { Deadline, envNumber, machineDescription, sleep } from './lib/env.ts';
import { startCpuMeter, startServer, stopServer, type CpuUse, type Server } from './lib/server.ts';
import { round } from './lib/stats.ts';

const SCALE = envNumber('BENCH_SCALE', 1);
const scaled = (n: number, min: number) => Math.max(min, Math.round(n * SCALE));
const OBJECTS_PER_KIND = scaled(5000, 10);
const REPLICAS = scaled(1000, 4);
const NODES = scaled(100, 1);
const NODE_SHAPE = '16,64Gi,110';
const DEADLINE = new Deadline(envNumber('BENCH_TIMEOUT_S', 900));
const POLL_MS = 100;
/** Creates in flight while populating a namespace. */
const CREATE_CONCURRENCY = 32;

const log = (message: string) => process.stderr.write(`bench:gc ${message}\n`);

const namespaces: ResourceRef = { group: '', version: 'v1', resource: 'namespaces' };
const configMaps = (namespace: string): ResourceRef => ({ group: '', version: 'v1', resource: 'configmaps', namespace });
const secrets = (namespace: string): ResourceRef => ({ group: '', version: 'v1', resource: 'secrets', namespace });
const deployments = (namespace: string): ResourceRef => ({ group: 'apps', version: 'v1', resource: 'deployments', namespace });
const pods = (namespace: string): ResourceRef => ({ group: '', version: 'v1', resource: 'pods', namespace });

// ---------------------------------------------------------------- helpers

/** A phase that takes longer than this has failed (the run's deadline bounds it too). */
const PHASE_LIMIT_MS = 300_000;

/** Poll `done` every POLL_MS until it holds; returns the milliseconds since t0. */
async function until(what: string, t0: number, done: () => Promise<boolean>): Promise<number> {
  let lastLog = performance.now();
  for (let polls = 0; polls < 1_000_000; polls++) {
    DEADLINE.check(what);
    if (performance.now() - t0 > PHASE_LIMIT_MS) throw new Error(`${what}: not done after ${PHASE_LIMIT_MS / 1000}s`);
    if (await done()) {
      const ms = performance.now() - t0;
      log(`${what}: done after ${(ms / 1000).toFixed(2)}s`);
      return ms;
    }
    if (performance.now() - lastLog > 5000) {
      lastLog = performance.now();
      log(`${what}: ${((lastLog - t0) / 1000).toFixed(1)}s`);
    }
    await sleep(POLL_MS);
  }
  throw new Error(`${what}: poll limit reached`);
}

const gone = async (read: () => Promise<unknown>): Promise<boolean> => {
  try {
    await read();
    return false;
  } catch (error) {
    if (isNotFound(error)) return true;
    throw error;
  }
};

const isEmpty = async (client: ApiClient, ref: ResourceRef) => (await client.list(ref, { limit: 1 })).items.length === 0;

/** Create `count` objects with at most CREATE_CONCURRENCY in flight. */
async function createMany(client: ApiClient, count: number, make: (i: number) => { ref: ResourceRef; body: object }): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) {
      DEADLINE.check('populating');
      const { ref, body } = make(next++);
      await client.create(ref, body);
    }
  };
  await Promise.all(Array.from({ length: CREATE_CONCURRENCY }, worker));
}

/** A namespace with OBJECTS_PER_KIND ConfigMaps and as many Secrets. */
async function populate(client: ApiClient, namespace: string): Promise<void> {
  const started = performance.now();
  await client.create(namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } });
  await createMany(client, 2 * OBJECTS_PER_KIND, (i) => {
    const name = `o-${Math.floor(i / 2)}`;
    return i % 2 === 0
      ? { ref: configMaps(namespace), body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { key: `value-${i}` } } }
      : { ref: secrets(namespace), body: { apiVersion: 'v1', kind: 'Secret', metadata: { name }, stringData: { key: `value-${i}` } } };
  });
  log(`${namespace}: ${2 * OBJECTS_PER_KIND} objects created in ${((performance.now() - started) / 1000).toFixed(1)}s`);
}

function deployment(namespace: string) {
  return {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace },
    spec: {
      replicas: REPLICAS,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: { containers: [{ name: 'app', image: 'registry.k8s.io/pause:3.10', resources: { requests: { cpu: '10m', memory: '16Mi' } } }] },
      },
    },
  };
}

async function waitForNodes(client: ApiClient): Promise<void> {
  const t0 = performance.now();
  await until(`${NODES} nodes Ready`, t0, async () => {
    const list = await client.list<KubeObject & { status?: { conditions?: { type: string; status: string }[] } }>({ group: '', version: 'v1', resource: 'nodes' });
    return list.items.filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).length >= NODES;
  });
}

// ---------------------------------------------------------------- output

interface Measured {
  kase: string;
  ms: number;
  counts: Snapshot;
  cpu: CpuUse;
  baseline: { name: string; value: number; unit: 'ms' | 'requests' };
}

function lines(m: Measured): object[] {
  const all = total(m.counts);
  const requests = {
    bench: 'gc', case: m.kase, metric: 'api_requests', value: all, unit: 'requests (lower is better)',
    writes: total(m.counts, WRITE_VERBS), by_resource: Object.fromEntries([...m.counts.byKey].sort((a, b) => b[1] - a[1])),
    errors: m.counts.errors, errors_by_resource: Object.fromEntries(m.counts.errorsByKey),
  };
  const duration = {
    bench: 'gc', case: m.kase, metric: 'duration', value: round(m.ms / 1000), unit: 's (lower is better)',
    server_cpu_cores: round(m.cpu.server), controllers_cpu_cores: round(m.cpu.client),
  };
  if (m.baseline.unit === 'ms') {
    return [{ ...duration, baseline: { name: m.baseline.name, value: round(m.baseline.value / 1000) }, ratio: round(m.ms / m.baseline.value) }, requests];
  }
  return [duration, { ...requests, baseline: { name: m.baseline.name, value: m.baseline.value }, ratio: round(all / m.baseline.value) }];
}

// ---------------------------------------------------------------- phases

interface Clients {
  bench: ApiClient;
  counts: Counts;
  serverPid: number;
}

async function namespacePhase({ bench, counts, serverPid }: Clients): Promise<Measured> {
  const direct = 'bench-gc-direct';
  const viaController = 'bench-gc-namespace';
  await populate(bench, direct);
  await populate(bench, viaController);

  // Baseline: what deleting the content costs the server when asked directly.
  let t0 = performance.now();
  await Promise.all([bench.deleteCollection(configMaps(direct)), bench.deleteCollection(secrets(direct))]);
  const baselineMs = await until('direct deletecollection', t0, async () => await isEmpty(bench, configMaps(direct)) && await isEmpty(bench, secrets(direct)));

  const before = counts.snapshot();
  const cpu = startCpuMeter(serverPid);
  t0 = performance.now();
  await bench.delete({ ...namespaces, name: viaController });
  const ms = await until('namespace deletion', t0, () => gone(() => bench.get({ ...namespaces, name: viaController })));
  return {
    kase: `Namespace/${2 * OBJECTS_PER_KIND}Objects`, ms, counts: diff(counts.snapshot(), before), cpu: cpu.read(),
    baseline: { name: 'one deletecollection per kind, sent directly', value: baselineMs, unit: 'ms' },
  };
}

async function foregroundPhase({ bench, counts, serverPid }: Clients): Promise<Measured> {
  const namespace = 'bench-gc-foreground';
  await bench.create(namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } });
  // Pods need their ServiceAccount; no serviceaccount controller runs here.
  await bench.create({ group: '', version: 'v1', resource: 'serviceaccounts', namespace }, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default' } });
  let t0 = performance.now();
  await bench.create(deployments(namespace), deployment(namespace));
  await until(`Deployment of ${REPLICAS} available`, t0, async () => {
    const d = await bench.get<KubeObject & { status?: { availableReplicas?: number } }>({ ...deployments(namespace), name: 'web' });
    return d.status?.availableReplicas === REPLICAS;
  });
  await sleep(2000); // let the tail of status writes settle out of the count

  const before = counts.snapshot();
  const cpu = startCpuMeter(serverPid);
  t0 = performance.now();
  await bench.delete({ ...deployments(namespace), name: 'web' }, { propagationPolicy: 'Foreground' });
  const ms = await until('foreground deletion', t0, async () =>
    await gone(() => bench.get({ ...deployments(namespace), name: 'web' })) && await isEmpty(bench, pods(namespace)));
  return {
    kase: `Deployment/${REPLICAS}Replicas/${NODES}Nodes/foreground`, ms, counts: diff(counts.snapshot(), before), cpu: cpu.read(),
    baseline: { name: `ideal request count (${REPLICAS} pod deletes + 1 ReplicaSet delete + 2 finalizer removals)`, value: REPLICAS + 3, unit: 'requests' },
  };
}

// ---------------------------------------------------------------- main

async function run(tempRoot: string): Promise<Measured[]> {
  const dataDir = join(tempRoot, 'server');
  mkdirSync(dataDir, { recursive: true });
  let server: Server | undefined;
  let benchClient: RestClient | undefined;
  let cmClient: RestClient | undefined;
  let manager: ControllerManager | undefined;
  try {
    server = await startServer({
      dataDir, orphanCleanupDir: tempRoot,
      readyTimeoutMs: Math.min(DEADLINE.left(), 120_000),
      extraArgs: ['--controllers', '', '--simulated-nodes', `${NODES}:${NODE_SHAPE}`],
    });
    const tlsDir = join(dataDir, 'tls');
    const connection = {
      server: `https://127.0.0.1:${server.port}`,
      caCert: readFileSync(join(tlsDir, 'ca.crt'), 'utf8'),
      token: readFileSync(join(tlsDir, 'admin.token'), 'utf8').trim(),
    };
    benchClient = createRestClient({ ...connection, userAgent: 'bench-gc' });
    await waitForNodes(benchClient);
    const counts = new Counts();
    cmClient = createRestClient({ ...connection, userAgent: 'bench-gc/controller-manager' });
    manager = await startControllerManager({
      client: countingClient(cmClient, counts), controllers: 'garbagecollector,namespace,deployment,replicaset',
      logger: { info: () => {}, warn: (m) => log(`controller manager: ${m}`) },
    });
    await sleep(1000);
    const clients = { bench: benchClient, counts, serverPid: server.process.pid! };
    return [await namespacePhase(clients), await foregroundPhase(clients)];
  } finally {
    await manager?.stop().catch((e: unknown) => log(`stopping the controller manager: ${String(e)}`));
    await cmClient?.close().catch(() => {});
    await benchClient?.close().catch(() => {});
    if (server) await stopServer(server);
  }
}

async function main(): Promise<void> {
  installSignalHandlers(log);
  const tempRoot = mkdtempSync(join(tmpdir(), 'skiff-bench-gc-'));
  trackDir(tempRoot);
  const started = performance.now();
  log(`machine: ${machineDescription()}`);
  log(`scale ${SCALE}: ${2 * OBJECTS_PER_KIND} objects, ${REPLICAS} replicas on ${NODES} nodes; bound ${DEADLINE.ms / 1000}s`);
  try {
    for (const m of await run(tempRoot)) for (const line of lines(m)) process.stdout.write(JSON.stringify(line) + '\n');
    log(`done in ${((performance.now() - started) / 1000).toFixed(1)}s`);
  } finally {
    cleanupSync();
  }
}

await main();
