// `npm run bench:controllers`: the Deployment and ReplicaSet controllers at
// scale, timed and counted by the API requests they make (fewer is better).
//
// A `skiff server --controllers '' --simulated-nodes 100:16,64Gi,110` child
// process holds the API, the scheduler and 100 hollow nodes (bound pods are
// reported Running and Ready; deleted pods are finished by their node). The
// controller manager runs in THIS process — startControllerManager({ controllers:
// 'replicaset,deployment' }) — over an HTTP/2 REST client wrapped to count every
// call per verb (get/list/watch/create/update/patch/delete) and per resource.
// The benchmark's own requests (the Deployment's create and update, the status
// polls) go through a second client and are not counted.
//
// Phases (sizes at BENCH_SCALE=1):
//   create   Deployment of 1000 replicas (10m CPU / 16Mi each) created → status
//            observedGeneration >= generation, updatedReplicas == availableReplicas
//            == replicas == 1000.
//   rollout  its image changed (strategy RollingUpdate, maxSurge 25% /
//            maxUnavailable 25%, the defaults) → observedGeneration >= generation,
//            updatedReplicas == replicas == availableReplicas == 1000, every old
//            ReplicaSet at spec.replicas == status.replicas == 0.
// The Deployment is polled (GET) every 100 ms; a phase's time ends at the first
// poll that sees it done.
//
// Baseline: the "ideal" request count — the writes upstream cannot do without:
//   create   N pod creates + 1 ReplicaSet create;
//   rollout  N pod creates + N pod deletes + 1 ReplicaSet create + the scale
//            updates of the fastest 25%/25% rollout (ceil(N/surge) up-scales of the
//            new ReplicaSet + ceil(N/unavailable) down-scales of the old one = 8).
// No status writes, reads, lists or watches are in it; ratio = actual/ideal (all
// verbs), and writes_ratio = actual writes/ideal.
//
// Prints one JSON line per measurement on stdout (ARCHITECTURE.md §10),
// progress on stderr. Environment:
//   BENCH_SCALE        multiplies replicas and nodes (default 1: 1000 replicas, 100
//                      nodes); 0.05 = smoke run (50 replicas, 5 nodes), under a minute
//   BENCH_WORKERS      workers per controller (default: the manager's own, 5)
//   BENCH_TIMEOUT_S    bound on the whole run (default 600); exceeding it fails the run
//   BENCH_SERVER_CPU_PROF  a directory: run the server with --cpu-prof into it
//
// Network: loopback only (the server binds 127.0.0.1). Every loop is bounded in
// count and by the run's deadline; a phase that makes no progress for 120 s
// fails. The controller manager, its clients, the server and the temp dir are
// removed on every exit path (success, failure, SIGINT/SIGTERM).
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { ApiClient, KubeObject, ResourceRef } from '../src/client/interface.ts';
import { createRestClient, type RestClient } from '../src/client/rest-client.ts';
import { startControllerManager, type ControllerManager } from '../src/controllers/manager.ts';
import { cleanupSync, installSignalHandlers, trackDir } from './lib/cleanup.ts';
import { Deadline, envNumber, machineDescription, sleep } from './lib/env.ts';
import { startCpuMeter, startServer, stopServer, type CpuUse, type Server } from './lib/server.ts';
import { Counts, countingClient, diff, total, VERBS, WRITE_VERBS, type Snapshot } from './lib/counting-client.ts';
import { round } from './lib/stats.ts';

// ---------------------------------------------------------------- parameters

const SCALE = envNumber('BENCH_SCALE', 1);
const scaled = (n: number, min: number) => Math.max(min, Math.round(n * SCALE));
const REPLICAS = scaled(1000, 4);
const NODES = scaled(100, 1);
const NODE_SHAPE = '16,64Gi,110';
const WORKERS = process.env.BENCH_WORKERS ? Math.round(envNumber('BENCH_WORKERS', 5)) : undefined;
const DEADLINE = new Deadline(envNumber('BENCH_TIMEOUT_S', 600));
const POLL_MS = 100;
/** A phase fails when the Deployment's status has not changed for this long. */
const STALL_MS = 120_000;

const NAMESPACE = 'bench-controllers';
const NAME = 'web';
const IMAGE_1 = 'registry.k8s.io/pause:3.9';
const IMAGE_2 = 'registry.k8s.io/pause:3.10';

const log = (message: string) => process.stderr.write(`bench:controllers ${message}\n`);

const deployments: ResourceRef = { group: 'apps', version: 'v1', resource: 'deployments', namespace: NAMESPACE };
const replicaSets: ResourceRef = { group: 'apps', version: 'v1', resource: 'replicasets', namespace: NAMESPACE };

// ---------------------------------------------------------------- workload

function deployment(replicas: number, image: string) {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: NAME, namespace: NAMESPACE },
    spec: {
      replicas,
      selector: { matchLabels: { app: NAME } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
      template: {
        metadata: { labels: { app: NAME } },
        spec: {
          terminationGracePeriodSeconds: 30,
          containers: [{ name: 'app', image, resources: { requests: { cpu: '10m', memory: '16Mi' } } }],
        },
      },
    },
  };
}

interface DeploymentStatus {
  observedGeneration?: number;
  replicas?: number;
  updatedReplicas?: number;
  readyReplicas?: number;
  availableReplicas?: number;
  unavailableReplicas?: number;
}
type Deployment = KubeObject & { spec: { replicas: number }; status?: DeploymentStatus };
type ReplicaSet = KubeObject & { spec: { replicas?: number }; status?: { replicas?: number; availableReplicas?: number } };

const statusText = (d: Deployment) => {
  const s = d.status ?? {};
  return `gen ${d.metadata?.generation}/${s.observedGeneration ?? '-'} replicas ${s.replicas ?? 0} updated ${s.updatedReplicas ?? 0} ready ${s.readyReplicas ?? 0} available ${s.availableReplicas ?? 0}`;
};

function deploymentDone(d: Deployment): boolean {
  const s = d.status ?? {};
  return (s.observedGeneration ?? 0) >= (d.metadata?.generation ?? 1)
    && s.replicas === REPLICAS && s.updatedReplicas === REPLICAS && s.availableReplicas === REPLICAS;
}

/**
 * Polls the Deployment every POLL_MS until done(d) (and, when given, oldGone())
 * holds; returns the milliseconds since `t0`. Fails at the deadline or after
 * STALL_MS without any status change.
 */
async function waitFor(client: ApiClient, what: string, t0: number, oldGone?: (d: Deployment) => Promise<boolean>): Promise<{ ms: number; minAvailable: number }> {
  let minAvailable = Infinity;
  let lastText = '';
  let lastChange = performance.now();
  let lastLog = 0;
  for (let polls = 0; polls < 1_000_000; polls++) {
    DEADLINE.check(what);
    const d = await client.get<Deployment>({ ...deployments, name: NAME });
    const now = performance.now();
    const text = statusText(d);
    minAvailable = Math.min(minAvailable, d.status?.availableReplicas ?? 0);
    if (text !== lastText) {
      lastText = text;
      lastChange = now;
    }
    if (deploymentDone(d) && (!oldGone || await oldGone(d))) {
      log(`${what}: done after ${((now - t0) / 1000).toFixed(2)}s: ${text}`);
      return { ms: now - t0, minAvailable };
    }
    if (now - lastChange > STALL_MS) throw new Error(`${what}: no progress for ${STALL_MS / 1000}s: ${text}`);
    if (now - lastLog > 5000) {
      lastLog = now;
      log(`${what}: ${((now - t0) / 1000).toFixed(1)}s: ${text}`);
    }
    await sleep(POLL_MS);
  }
  throw new Error(`${what}: poll limit reached`);
}

/** Old ReplicaSets (not the Deployment's current template) all at spec 0 and status 0. */
async function oldReplicaSetsGone(client: ApiClient): Promise<boolean> {
  const list = await client.list<ReplicaSet>(replicaSets);
  const rev = (rs: ReplicaSet) => Number(rs.metadata?.annotations?.['deployment.kubernetes.io/revision'] ?? 0);
  const newest = Math.max(...list.items.map(rev));
  return list.items.filter((rs) => rev(rs) !== newest).every((rs) => (rs.spec.replicas ?? 0) === 0 && (rs.status?.replicas ?? 0) === 0);
}

// ---------------------------------------------------------------- cluster

async function waitForNodes(client: ApiClient): Promise<void> {
  const started = performance.now();
  for (let i = 0; i < 100_000; i++) {
    DEADLINE.check('waiting for nodes');
    const list = await client.list<KubeObject & { status?: { conditions?: { type: string; status: string }[] } }>({ group: '', version: 'v1', resource: 'nodes' });
    const ready = list.items.filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).length;
    if (ready >= NODES) {
      log(`${ready} nodes Ready after ${((performance.now() - started) / 1000).toFixed(1)}s`);
      return;
    }
    if (performance.now() - started > 120_000) throw new Error(`only ${ready} of ${NODES} nodes Ready after 120s`);
    await sleep(200);
  }
}

// ---------------------------------------------------------------- output

interface PhaseResult {
  name: 'create' | 'rollout';
  ms: number;
  counts: Snapshot;
  ideal: number;
  idealText: string;
  cpu: CpuUse;
  /** The lowest status.availableReplicas a poll saw (rollout only; maxUnavailable 25% allows down to 75%). */
  minAvailable?: number;
}

function phaseLines(p: PhaseResult): object[] {
  const kase = `Deployment/${REPLICAS}Replicas/${NODES}Nodes/${p.name}`;
  const all = total(p.counts);
  const writes = total(p.counts, WRITE_VERBS);
  /** Event writes (the per-pod "Created pod"/"Deleted pod" Events), counted apart too. */
  const events = [...p.counts.byKey].filter(([k]) => / events$/.test(k)).reduce((sum, [, n]) => sum + n, 0);
  const perVerb = Object.fromEntries(VERBS.map((v) => [v, p.counts.byVerb.get(v)!]));
  const byResource = Object.fromEntries([...p.counts.byKey].sort((a, b) => b[1] - a[1]));
  const baseline = { name: `ideal request count (${p.idealText})`, value: p.ideal };
  return [
    {
      bench: 'controllers', case: kase, metric: 'duration', value: round(p.ms / 1000), unit: 's (lower is better)',
      ...(p.minAvailable === undefined ? {} : { min_available_replicas_seen: p.minAvailable, min_available_allowed: REPLICAS - Math.floor(REPLICAS * 0.25) }),
      server_cpu_cores: round(p.cpu.server), controllers_cpu_cores: round(p.cpu.client), other_cpu_cores: round(Math.max(0, p.cpu.machine - p.cpu.server - p.cpu.client)),
    },
    {
      bench: 'controllers', case: kase, metric: 'api_requests', value: all, unit: 'requests (lower is better; ratio = actual/ideal)',
      baseline, ratio: round(all / p.ideal), per_verb: perVerb, by_resource: byResource,
      errors: p.counts.errors, errors_by_resource: Object.fromEntries(p.counts.errorsByKey),
    },
    {
      bench: 'controllers', case: kase, metric: 'api_requests_excluding_events', value: all - events, unit: 'requests (lower is better; ratio = actual/ideal)',
      baseline, ratio: round((all - events) / p.ideal),
    },
    {
      bench: 'controllers', case: kase, metric: 'api_writes', value: writes, unit: 'requests (lower is better; ratio = actual/ideal)',
      baseline, ratio: round(writes / p.ideal),
    },
    {
      bench: 'controllers', case: kase, metric: 'api_requests_per_pod', value: round(all / REPLICAS), unit: 'requests/pod (lower is better)',
    },
  ];
}

// ---------------------------------------------------------------- main

async function run(tempRoot: string): Promise<PhaseResult[]> {
  const dataDir = join(tempRoot, 'server');
  mkdirSync(dataDir, { recursive: true });
  log(`starting skiff server with ${NODES} simulated nodes`);
  let server: Server | undefined;
  let benchClient: RestClient | undefined;
  let cmClient: RestClient | undefined;
  let manager: ControllerManager | undefined;
  try {
    server = await startServer({
      dataDir,
      cpuProfDir: process.env.BENCH_SERVER_CPU_PROF || undefined,
      readyTimeoutMs: Math.min(DEADLINE.left(), 120_000),
      extraArgs: ['--controllers', '', '--simulated-nodes', `${NODES}:${NODE_SHAPE}`],
    });
    const pid = server.process.pid!;
    const tlsDir = join(dataDir, 'tls');
    const connection = {
      server: `https://127.0.0.1:${server.port}`,
      caCert: readFileSync(join(tlsDir, 'ca.crt'), 'utf8'),
      token: readFileSync(join(tlsDir, 'admin.token'), 'utf8').trim(),
    };
    log(`server pid ${pid} on port ${server.port}`);
    benchClient = createRestClient({ ...connection, userAgent: 'bench-controllers' });
    await waitForNodes(benchClient);
    await benchClient.create({ group: '', version: 'v1', resource: 'namespaces' }, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } });
    // Pods need their ServiceAccount; the server runs no serviceaccount controller here.
    await benchClient.create({ group: '', version: 'v1', resource: 'serviceaccounts', namespace: NAMESPACE }, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default' } });

    const counts = new Counts();
    cmClient = createRestClient({ ...connection, userAgent: 'bench-controllers/controller-manager' });
    manager = await startControllerManager({
      client: countingClient(cmClient, counts), controllers: 'replicaset,deployment', workers: WORKERS,
      logger: { info: () => {}, warn: (m) => log(`controller manager: ${m}`) },
    });
    // Let the informers list and start watching (their start-up requests are not in either phase).
    await sleep(1000);
    const startup = counts.snapshot();
    log(`controller manager started (${manager.controllers.join(', ')}); start-up requests: ${total(startup)} ${JSON.stringify(Object.fromEntries(startup.byKey))}`);

    const phases: PhaseResult[] = [];

    // Phase 1: create → fully available.
    log(`create: Deployment of ${REPLICAS} replicas`);
    let before = counts.snapshot();
    let cpu = startCpuMeter(pid);
    let t0 = performance.now();
    await benchClient.create(deployments, deployment(REPLICAS, IMAGE_1));
    const { ms } = await waitFor(benchClient, 'create', t0);
    phases.push({ name: 'create', ms, counts: diff(counts.snapshot(), before), ideal: REPLICAS + 1, idealText: `${REPLICAS} pod creates + 1 ReplicaSet create`, cpu: cpu.read() });

    // Let the tail of status writes settle so they do not leak into the rollout's count.
    await sleep(2000);

    // Phase 2: rolling update.
    log(`rollout: image ${IMAGE_1} → ${IMAGE_2}`);
    const steps = 2 * Math.ceil(REPLICAS / Math.max(1, Math.ceil(REPLICAS * 0.25)));
    before = counts.snapshot();
    cpu = startCpuMeter(pid);
    t0 = performance.now();
    await benchClient.patch({ ...deployments, name: NAME }, 'merge', { spec: { template: { spec: { containers: [{ name: 'app', image: IMAGE_2, resources: { requests: { cpu: '10m', memory: '16Mi' } } }] } } } });
    const rollout = await waitFor(benchClient, 'rollout', t0, () => oldReplicaSetsGone(benchClient!));
    phases.push({
      name: 'rollout', ms: rollout.ms, minAvailable: rollout.minAvailable, counts: diff(counts.snapshot(), before), ideal: 2 * REPLICAS + 1 + steps,
      idealText: `${REPLICAS} pod creates + ${REPLICAS} pod deletes + 1 ReplicaSet create + ${steps} scale updates`, cpu: cpu.read(),
    });
    return phases;
  } finally {
    await manager?.stop().catch((e: unknown) => log(`stopping the controller manager: ${String(e)}`));
    await cmClient?.close().catch(() => {});
    await benchClient?.close().catch(() => {});
    if (server) await stopServer(server);
  }
}

async function main(): Promise<void> {
  installSignalHandlers(log);
  const tempRoot = mkdtempSync(join(tmpdir(), 'skiff-bench-controllers-'));
  trackDir(tempRoot);
  const started = performance.now();
  log(`machine: ${machineDescription()}`);
  log(`scale ${SCALE}: ${REPLICAS} replicas on ${NODES} nodes (${NODE_SHAPE}); bound ${DEADLINE.ms / 1000}s`);
  try {
    const phases = await run(tempRoot);
    for (const p of phases) for (const line of phaseLines(p)) process.stdout.write(JSON.stringify(line) + '\n');
    log(`done in ${((performance.now() - started) / 1000).toFixed(1)}s`);
  } finally {
    cleanupSync();
  }
}

// A deadline that passes while a request hangs still ends the run.
const hardStop = setTimeout(() => {
  log(`failed: the run's bound of ${DEADLINE.ms / 1000}s (BENCH_TIMEOUT_S) passed`);
  cleanupSync();
  process.exit(1);
}, DEADLINE.ms + 15_000);
hardStop.unref();

main().then(
  () => process.exit(0),
  (error: unknown) => {
    log(`failed: ${(error as Error).stack ?? String(error)}`);
    cleanupSync();
    process.exit(1);
  },
);
