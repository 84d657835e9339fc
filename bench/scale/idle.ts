// Part 3, "idle": the control plane at rest with a workload. A `skiff server`
// with one simulated node per 100 pods (hollow nodes run in the server process,
// as a k3s server runs its own kubelet; no containers are started, so the figures
// are the control plane's alone) and a Deployment of 100 pods, all Running;
// after a settling pause, RSS and CPU are sampled once a second for 60 s with
// nothing changing. Baseline: k3s's published resource profile.
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Deadline } from '../lib/env.ts';
import { sleep } from '../lib/env.ts';
import { Client } from '../lib/http2-client.ts';
import { cpuSecondsOf, startServer, stopServer } from '../lib/server.ts';
import { percentile } from '../lib/stats.ts';
import { startBackend, type BackendKind } from './backends.ts';
import { memoryOrNaN } from './monitor.ts';
import { compared, line, log, seconds, type Line } from './report.ts';

export interface IdleBenchOptions {
  backends: readonly BackendKind[];
  pods: number;
  /** How long the idle server is sampled. */
  sampleSeconds: number;
  settleSeconds: number;
  deadline: Deadline;
  tempRoot: string;
}

const NAMESPACE = 'bench-idle';
const CPU_WINDOW_S = 5;
const K3S_DOC = 'https://docs.k3s.io/reference/resource-profiling';
/** "K3s server with a workload", Intel 8375C: 6 % of a core; 1596 M with Kine/SQLite, 1606 M with embedded etcd (k3s v1.26.5). */
const K3S = {
  sqlite: { rssMiB: 1596, name: `k3s v1.26.5 server with a workload, Kine/SQLite: 1596 M (${K3S_DOC})` },
  etcd: { rssMiB: 1606, name: `k3s v1.26.5 server with a workload, embedded etcd: 1606 M (${K3S_DOC})` },
  cpu: { cores: 0.06, name: `k3s v1.26.5 server with a workload: 6% of a core, p95 of steady state (${K3S_DOC})` },
  /** The same doc's earlier profile (k3s 1.19, Xeon 8124M): 768 M / 896 M and 10 % of a core. */
  earlier: { sqliteMiB: 768, etcdMiB: 896, cores: 0.10 },
};

export async function runIdleBench(o: IdleBenchOptions): Promise<Line[]> {
  const lines: Line[] = [];
  for (const kind of o.backends) {
    o.deadline.check(`idle/${kind}`);
    lines.push(...await idleCase(kind, o));
  }
  return lines;
}

async function idleCase(kind: BackendKind, o: IdleBenchOptions): Promise<Line[]> {
  const kase = `idle/${kind}/${o.pods}pods`;
  const backend = await startBackend(kind, join(o.tempRoot, `idle-${kind}`));
  try {
    const dataDir = join(o.tempRoot, `idle-${kind}-server`);
    const server = await startServer({ dataDir, extraArgs: [...backend.serverArgs, '--simulated-nodes', String(Math.ceil(o.pods / 100))], orphanCleanupDir: o.tempRoot, readyTimeoutMs: 60_000 });
    const client = new Client({ port: server.port, tlsDir: join(dataDir, 'tls'), auth: 'token', log });
    try {
      const pid = server.process.pid!;
      const started = performance.now();
      await startWorkload(client, o);
      log(`${kase}: ${o.pods} pods Running after ${seconds(performance.now() - started)}s; settling ${o.settleSeconds}s, then sampling ${o.sampleSeconds}s`);
      await sleep(o.settleSeconds * 1000);
      // RSS every second; CPU over 5 s windows (/proc counts 10 ms ticks: a 1 s window could only say 0, 0.01, 0.02 …).
      const rss: number[] = [];
      const etcdRss: number[] = [];
      const cores: number[] = [];
      const etcdCores: number[] = [];
      const cpuStart = cpuSecondsOf(pid);
      const etcdStart = backend.pid ? cpuSecondsOf(backend.pid) : 0;
      const tStart = performance.now();
      let window = { t: tStart, cpu: cpuStart, etcd: etcdStart };
      for (let i = 1; i <= o.sampleSeconds; i++) {
        o.deadline.check(`${kase} sampling`);
        await sleep(1000);
        rss.push(memoryOrNaN(pid).rssMiB);
        if (backend.pid) etcdRss.push(memoryOrNaN(backend.pid).rssMiB);
        if (i % CPU_WINDOW_S !== 0) continue;
        const now = { t: performance.now(), cpu: cpuSecondsOf(pid), etcd: backend.pid ? cpuSecondsOf(backend.pid) : 0 };
        cores.push((now.cpu - window.cpu) / ((now.t - window.t) / 1000));
        etcdCores.push((now.etcd - window.etcd) / ((now.t - window.t) / 1000));
        window = now;
      }
      const t = window.t;
      const cpu0 = window.cpu;
      const meanCores = (cpu0 - cpuStart) / ((t - tStart) / 1000);
      const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
      const extra = { samples: rss.length, seconds: o.sampleSeconds, note: 'skiff server incl. scheduler, controllers and the simulated node; no containers', earlier_k3s_profile: K3S.earlier };
      const k3sRss = kind === 'etcd' ? K3S.etcd : K3S.sqlite;
      const lines = [
        compared(kase, 'server_rss_mean', mean(rss), 'MiB (lower is better; ratio = skiff/k3s)', { name: k3sRss.name, value: k3sRss.rssMiB }, { ...extra, max: Math.max(...rss) }),
        compared(kase, 'server_cpu_p95', percentile(cores, 95), 'cores (lower is better; ratio = skiff/k3s)', { name: K3S.cpu.name, value: K3S.cpu.cores }, { ...extra, mean: meanCores, cpu_window_s: CPU_WINDOW_S }),
      ];
      if (kind === 'etcd') {
        const total = rss.map((x, i) => x + (etcdRss[i] ?? 0));
        lines.push(compared(kase, 'server_plus_etcd_rss_mean', mean(total), 'MiB (skiff server + the etcd process; ratio = skiff/k3s)', { name: k3sRss.name, value: k3sRss.rssMiB }, { ...extra, etcd_rss_mean: mean(etcdRss) }));
        lines.push(line(kase, 'etcd_cpu_p95', percentile(etcdCores, 95), 'cores', { mean: mean(etcdCores) }));
      }
      log(`${kase}: server RSS ${mean(rss).toFixed(0)} MiB, CPU mean ${meanCores.toFixed(3)} / p95 ${percentile(cores, 95).toFixed(3)} cores`);
      return lines;
    } finally {
      client.close();
      await stopServer(server);
    }
  } finally {
    await backend.stop();
  }
}

/** A Deployment of `pods` replicas, then polls until every pod of it is Running. */
async function startWorkload(client: Client, o: IdleBenchOptions): Promise<void> {
  await client.expect('POST', '/api/v1/namespaces', 201, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } });
  const labels = { app: 'idle' };
  await client.expect('POST', `/apis/apps/v1/namespaces/${NAMESPACE}/deployments`, 201, {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'idle' },
    spec: {
      replicas: o.pods, selector: { matchLabels: labels },
      template: { metadata: { labels }, spec: { containers: [{ name: 'app', image: 'registry.k8s.io/pause:3.9', resources: { requests: { cpu: '10m', memory: '16Mi' } } }] } },
    },
  });
  const until = Math.min(o.deadline.at, Date.now() + 180_000);
  for (;;) {
    const list = JSON.parse(await client.expect('GET', `/api/v1/namespaces/${NAMESPACE}/pods`, 200)) as { items: { status?: { phase?: string } }[] };
    const running = list.items.filter((p) => p.status?.phase === 'Running').length;
    if (running >= o.pods) return;
    if (Date.now() > until) throw new Error(`idle: only ${running} of ${o.pods} pods Running in time`);
    await sleep(1000);
  }
}
