// Part 2, "scale": N simulated nodes and P pods on one `skiff server` with its
// scheduler and controller manager, per datastore. The pods come from
// ReplicaSets of up to 1000 replicas each (as upstream's density tests create
// them in bulk through controllers), all created at once. Meanwhile: a pod
// watch counts created/bound/Running (pod-census.ts), a side client makes
// mutating calls at a bounded rate (probe.ts: the ≤ 1 s p99 SLO and the watch
// lag), and memory is read once a second. The fill phase ends when every pod
// runs, or at the case's share of the deadline, or when something breaks
// (stall, crash, machine memory low) — whatever was reached is reported.
// Then LIST of all pods, with and without resourceVersion=0 (SLO ≤ 30 s).
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Deadline } from '../lib/env.ts';
import { sleep } from '../lib/env.ts';
import { Client } from '../lib/http2-client.ts';
import { cpuSecondsOf, startCpuMeter, startServer, stopServer, type Server } from '../lib/server.ts';
import { startBackend, type BackendKind } from './backends.ts';
import { Breaches } from './breaches.ts';
import { listsAfterRestarts, measureLists, serverHasWatchCacheFlag } from './lists.ts';
import { MemorySampler, machineAvailableMiB } from './monitor.ts';
import { PodCensus } from './pod-census.ts';
import { Probe } from './probe.ts';
import { log, seconds, type Line } from './report.ts';
import { scaleLines, type ScaleResult } from './scale-report.ts';

export interface ScaleBenchOptions {
  backends: readonly BackendKind[];
  nodes: number;
  pods: number;
  replicasPerSet: number;
  /** The side client's mutating calls per second. */
  probeRate: number;
  listReps: number;
  listTimeoutMs: number;
  /** The fill phase stops when no pod got created, bound or Running for this long. */
  stallMs: number;
  deadline: Deadline;
  tempRoot: string;
  /** Extra `skiff server` arguments for every case, and a label for them in the case name. */
  variant?: { label: string; args: string[] };
}

export const WORKLOAD_NAMESPACE = 'bench-scale';
const PROBE_NAMESPACE = 'bench-probe';
const MUTATING_SLO_MS = 1000;
/** No published SLO for watch latency; past this the informers of a cluster are noticeably stale. */
const WATCH_LAG_LIMIT_MS = 5000;
/** Stop before the shared machine runs short of memory. */
const MIN_MACHINE_AVAILABLE_MIB = 1536;
const WINDOW_MS = 10_000;

export async function runScaleBench(options: ScaleBenchOptions): Promise<Line[]> {
  const lines: Line[] = [];
  for (let i = 0; i < options.backends.length; i++) {
    const budgetMs = (options.deadline.left() - 5000) / (options.backends.length - i);
    const kind = options.backends[i]!;
    if (budgetMs < 30_000) {
      log(`scale/${kind}: skipped, ${seconds(budgetMs)}s of the run's bound left`);
      continue;
    }
    lines.push(...scaleLines(await runCase(kind, budgetMs, options), options));
  }
  return lines;
}

async function runCase(kind: BackendKind, budgetMs: number, o: ScaleBenchOptions): Promise<ScaleResult> {
  const caseName = `scale/${kind}${o.variant ? `/${o.variant.label}` : ''}/${o.nodes}nodes-${o.pods}pods`;
  const caseEnd = Date.now() + budgetMs;
  // Time kept for the LISTs: on the case's server, and through two restarted servers when there is a watch cache.
  const listRounds = serverHasWatchCacheFlag() ? 3 : 1;
  const listReserveMs = Math.min(listRounds * (2 * o.listReps * o.listTimeoutMs + 10_000) + (listRounds - 1) * 120_000, 0.35 * budgetMs);
  const fillEnd = caseEnd - listReserveMs - 15_000;
  const breaches = new Breaches((message) => log(`${caseName}: ${message}`));
  const result: ScaleResult = { caseName, kind, breaches, lists: [] };
  log(`${caseName}: budget ${seconds(budgetMs)}s (fill phase until ${seconds(fillEnd - Date.now())}s from now)`);
  const backend = await startBackend(kind, join(o.tempRoot, `scale-${kind}`));
  let server: Server | undefined;
  const clients: Client[] = [];
  let census: PodCensus | undefined;
  let probe: Probe | undefined;
  let sampler: MemorySampler | undefined;
  let stoppedOnPurpose = false;
  try {
    const started = performance.now();
    const dataDir = join(o.tempRoot, `scale-${kind}-server`);
    server = await startServer({
      dataDir, orphanCleanupDir: o.tempRoot, readyTimeoutMs: Math.max(10_000, Math.min(fillEnd - Date.now(), 900_000)),
      // A /8 pod network leaves every hollow node a /24 however many there are.
      extraArgs: [...backend.serverArgs, '--simulated-nodes', String(o.nodes), '--cluster-cidr', '10.0.0.0/8', ...(o.variant?.args ?? [])],
    });
    result.serverReadyMs = performance.now() - started;
    const pid = server.process.pid!;
    sampler = new MemorySampler(pid, backend.pid);
    const tlsDir = join(dataDir, 'tls');
    const client = new Client({ port: server.port, tlsDir, auth: 'token', sessions: 2, log, requestTimeoutMs: 60_000 });
    const probeClient = new Client({ port: server.port, tlsDir, auth: 'token', log });
    clients.push(client, probeClient);
    result.nodesReadyMs = await waitForNodes(client, o.nodes, fillEnd) + result.serverReadyMs;
    log(`${caseName}: server ready in ${seconds(result.serverReadyMs)}s, ${o.nodes} nodes Ready after ${seconds(result.nodesReadyMs)}s`);
    for (const ns of [WORKLOAD_NAMESPACE, PROBE_NAMESPACE]) await createNamespace(client, ns, fillEnd);

    const slots = o.nodes * 110;
    if (o.pods > slots) breaches.add('capacity', `${o.pods} pods > ${slots} pod slots on ${o.nodes} nodes of 110: the rest stays Pending`);
    probe = new Probe({ client: probeClient, namespace: PROBE_NAMESPACE, rate: o.probeRate });
    const probeRef = probe;
    census = new PodCensus({
      client, workloadNamespace: WORKLOAD_NAMESPACE, target: o.pods, probeNamespace: PROBE_NAMESPACE,
      onProbeEvent: (event, at) => probeRef.onWatchEvent(event, at), log: (m) => log(`${caseName}: ${m}`),
    });
    await census.start();
    const cpu = startCpuMeter(pid);
    const etcdCpu0 = backend.pid ? cpuSecondsOf(backend.pid) : 0;
    probe.start();
    breaches.t0 = performance.now();
    result.t0 = breaches.t0;
    await createReplicaSets(client, o, fillEnd);
    log(`${caseName}: ${Math.ceil(o.pods / o.replicasPerSet)} ReplicaSets created in ${seconds(performance.now() - breaches.t0)}s`);
    await fill({ caseName, o, server, census, probe, sampler, breaches, fillEnd });
    result.fillMs = performance.now() - breaches.t0;
    result.reached = { created: census.created, bound: census.bound, running: census.running };
    await probe.stop();
    if (!serverAlive(server)) return result; // reported below; its /proc entry (CPU) is gone with it
    result.cpu = { ...cpu.read(), etcd: backend.pid ? (cpuSecondsOf(backend.pid) - etcdCpu0) / (result.fillMs / 1000) : undefined };
    const listOptions = { reps: o.listReps, timeoutMs: o.listTimeoutMs, until: caseEnd - 10_000, breaches };
    result.lists = await measureLists(client, listOptions);
    census.stop();
    sampler.sample();
    if (listRounds > 1) {
      stoppedOnPurpose = true;
      await stopServer(server);
      const restarts = await listsAfterRestarts({ ...listOptions, dataDir, serverArgs: backend.serverArgs, orphanCleanupDir: o.tempRoot });
      result.lists.push(...restarts.lists);
      result.restartReadyMs = restarts.readyMs;
    }
  } catch (error) {
    breaches.add('error', briefly((error as Error).message));
  } finally {
    census?.stop();
    await probe?.stop();
    sampler?.sample();
    sampler?.stop();
    result.census = census;
    result.probe = probe;
    result.memory = sampler;
    if (server && !serverAlive(server) && !stoppedOnPurpose) breaches.add('server exited', `code ${server.process.exitCode ?? server.process.signalCode}; last output: ${server.output.slice(-5).join(' | ')}`);
    for (const c of clients) c.close();
    if (server) await stopServer(server);
    await backend.stop();
  }
  return result;
}

/** An error's first line and the lines that name an error (a server's output can be long). */
function briefly(message: string): string {
  const [first, ...rest] = message.split('\n');
  return [first, ...rest.filter((l) => /error/i.test(l)).slice(0, 3)].join(' | ');
}

const serverAlive = (server: Server) => server.process.exitCode === null && server.process.signalCode === null;

interface FillContext {
  caseName: string;
  o: ScaleBenchOptions;
  server: Server;
  census: PodCensus;
  probe: Probe;
  sampler: MemorySampler;
  breaches: Breaches;
  fillEnd: number;
}

/** Waits until every pod runs, checking once a second what could end the phase first, and every 10 s the SLOs. */
async function fill(c: FillContext): Promise<void> {
  const { census, probe, breaches, o } = c;
  let progress = '';
  let progressAt = Date.now();
  let windowStart = performance.now();
  let samplesSeen = 0;
  let lagSeen = 0;
  let restartsSeen = 0;
  for (;;) {
    await sleep(1000);
    const now = performance.now();
    const counts = `${census.created} created, ${census.bound} bound, ${census.running} Running of ${o.pods}`;
    if (census.running >= o.pods) {
      log(`${c.caseName}: all ${o.pods} pods Running after ${seconds(now - breaches.t0)}s`);
      return;
    }
    if (!serverAlive(c.server)) return; // reported by the caller
    if (Date.now() > c.fillEnd) {
      breaches.add('deadline', `the case's share of the run's bound ended with ${counts}`);
      return;
    }
    const available = machineAvailableMiB();
    if (available < MIN_MACHINE_AVAILABLE_MIB) {
      breaches.add('machine memory', `MemAvailable ${available.toFixed(0)} MiB < ${MIN_MACHINE_AVAILABLE_MIB} MiB (server RSS ${c.sampler.serverRssMiB.toFixed(0)} MiB, etcd ${c.sampler.etcdRssMiB.toFixed(0)} MiB); stopped with ${counts}`);
      return;
    }
    if (counts !== progress) {
      progress = counts;
      progressAt = Date.now();
    } else if (Date.now() - progressAt > o.stallMs) {
      breaches.add('stall', `no pod created, bound or started for ${o.stallMs / 1000}s; stopped with ${counts}`);
      return;
    }
    if (now - windowStart < WINDOW_MS) continue;
    // The last window's SLO figures.
    const window = probe.samples.slice(samplesSeen).map((s) => s.answered - s.issued);
    samplesSeen = probe.samples.length;
    const lags = probe.lagMs.slice(lagSeen);
    lagSeen = probe.lagMs.length;
    const p99 = (xs: number[]) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.ceil(0.99 * xs.length) - 1]! : 0);
    if (p99(window) > MUTATING_SLO_MS) breaches.add('mutating API p99 > 1 s', `p99 ${p99(window).toFixed(0)} ms over ${window.length} calls in the 10 s window (${counts})`);
    if (p99(lags) > WATCH_LAG_LIMIT_MS) breaches.add('watch lag p99 > 5 s', `p99 ${p99(lags).toFixed(0)} ms over ${lags.length} events in the 10 s window (${counts})`);
    if (probe.firstError) breaches.add('mutating API errors', probe.firstError);
    if (probe.skipped > 0) breaches.add('probe calls skipped', `${probe.skipped} ticks found 16 calls still in flight`);
    if (census.restarts > restartsSeen) {
      restartsSeen = census.restarts;
      breaches.add('pod watch broken', census.problems.at(-1) ?? 'restarted');
    }
    log(`${c.caseName}: ${seconds(now - breaches.t0)}s: ${counts}; mutating p99 ${p99(window).toFixed(0)} ms, watch lag p99 ${p99(lags).toFixed(0)} ms; server RSS ${c.sampler.serverRssMiB.toFixed(0)} MiB${Number.isFinite(c.sampler.etcdRssMiB) ? `, etcd ${c.sampler.etcdRssMiB.toFixed(0)} MiB` : ''}`);
    windowStart = now;
  }
}

async function waitForNodes(client: Client, count: number, until: number): Promise<number> {
  const started = performance.now();
  for (;;) {
    const r = await client.request('GET', '/api/v1/nodes', undefined, { timeoutMs: 120_000 });
    if (r.status === 200) {
      const nodes = (JSON.parse(r.body) as { items: { status?: { conditions?: { type: string; status: string }[] } }[] }).items;
      const ready = nodes.filter((n) => n.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True')).length;
      if (ready >= count) return performance.now() - started;
      if (Date.now() > until) throw new Error(`only ${ready} of ${count} nodes Ready by the case's deadline`);
    } else if (Date.now() > until) {
      throw new Error(`GET /api/v1/nodes: HTTP ${r.status}`);
    }
    await sleep(1000);
  }
}

/** The namespace, and its default ServiceAccount (the controller makes it; pods are refused without it). */
async function createNamespace(client: Client, name: string, until: number): Promise<void> {
  await client.expect('POST', '/api/v1/namespaces', 201, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  while ((await client.request('GET', `/api/v1/namespaces/${name}/serviceaccounts/default`)).status !== 200) {
    if (Date.now() > until) throw new Error(`namespace ${name} got no default ServiceAccount`);
    await sleep(200);
  }
}

async function createReplicaSets(client: Client, o: ScaleBenchOptions, until: number): Promise<void> {
  const sets = Math.ceil(o.pods / o.replicasPerSet);
  for (let i = 0; i < sets; i++) {
    if (Date.now() > until) throw new Error(`creating ReplicaSets: only ${i} of ${sets} by the deadline`);
    const replicas = Math.min(o.replicasPerSet, o.pods - i * o.replicasPerSet);
    const labels = { app: 'bench-scale', set: `rs-${i}` };
    await client.expect('POST', `/apis/apps/v1/namespaces/${WORKLOAD_NAMESPACE}/replicasets`, 201, {
      apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: `rs-${i}` },
      spec: {
        replicas, selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: { containers: [{ name: 'app', image: 'registry.k8s.io/pause:3.9', resources: { requests: { cpu: '10m', memory: '16Mi' } } }] },
        },
      },
    });
  }
}
