// The JSON lines of one scale case, against Kubernetes' published scalability
// thresholds and SLOs.
import type { CpuUse } from '../lib/server.ts';
import type { BackendKind } from './backends.ts';
import type { Breaches } from './breaches.ts';
import type { ScaleBenchOptions } from './density.ts';
import type { MemorySampler } from './monitor.ts';
import type { PodCensus } from './pod-census.ts';
import type { Probe } from './probe.ts';
import { serverHasWatchCacheFlag } from './lists.ts';
import { compared, line, p50, p99, type Line } from './report.ts';

export interface ListResult {
  name: string;
  ms: number[];
  failures: number;
  bytes?: number;
  items?: number;
}

export interface ScaleResult {
  caseName: string;
  kind: BackendKind;
  breaches: Breaches;
  lists: ListResult[];
  serverReadyMs?: number;
  nodesReadyMs?: number;
  /** Restarted quiet servers (watch cache on/off): start → ready line, by label. */
  restartReadyMs?: Record<string, number>;
  /** performance.now() of the first ReplicaSet create. */
  t0?: number;
  fillMs?: number;
  /** The workload's pods at the end of the fill phase (the watch goes on during the LISTs). */
  reached?: { created: number; bound: number; running: number };
  cpu?: CpuUse & { etcd?: number };
  census?: PodCensus;
  probe?: Probe;
  memory?: MemorySampler;
}

const THRESHOLDS = {
  nodes: 5000, pods: 150_000,
  source: 'https://github.com/kubernetes/community/blob/master/sig-scalability/configs-and-limits/thresholds.md',
};
const SLO_SOURCE = 'https://github.com/kubernetes/community/blob/master/sig-scalability/slos/api_call_latency.md';
const MUTATING_SLO = { name: `Kubernetes SLO: mutating API call latency p99 <= 1 s (${SLO_SOURCE})`, value: 1000 };
const LIST_SLO = { name: `Kubernetes SLO: cluster-scoped LIST latency p99 <= 30 s (${SLO_SOURCE})`, value: 30_000 };

export function scaleLines(r: ScaleResult, o: ScaleBenchOptions): Line[] {
  const kase = r.caseName;
  const lines: Line[] = [];
  const scale = { nodes: o.nodes, pods: o.pods, thresholds: THRESHOLDS };
  const s = (ms: number | undefined) => (ms === undefined ? NaN : ms / 1000);
  lines.push(line(kase, 'server_ready', s(r.serverReadyMs), 's (start → ready line, nodes registered)', { nodes: o.nodes }));
  lines.push(line(kase, 'nodes_ready', s(r.nodesReadyMs), 's (start → every node Ready)', { nodes: o.nodes }));
  for (const [label, ms] of Object.entries(r.restartReadyMs ?? {})) {
    lines.push(line(`${kase}/${label.replace(/\/$/, '')}`, 'server_ready', s(ms), 's (restart on the case\'s data: start → ready line)', { watch_cache: label.includes('-on') }));
  }
  const c = r.census;
  if (c && r.t0 !== undefined) {
    const since = (at: number | undefined) => (at === undefined ? NaN : (at - r.t0!) / 1000);
    const reached = r.reached ?? c;
    for (const what of ['created', 'bound', 'running'] as const) {
      lines.push(line(kase, `pods_${what}`, reached[what], 'pods (at the end of the fill phase)', { ...scale, fill_s: s(r.fillMs) }));
    }
    lines.push(line(kase, 'time_to_all_created', since(c.allCreatedAt), 's (first ReplicaSet create → last pod ADDED; null: not reached)', scale));
    lines.push(line(kase, 'time_to_all_bound', since(c.allBoundAt), 's (first ReplicaSet create → last pod bound; null: not reached)', scale));
    lines.push(line(kase, 'time_to_all_running', since(c.allRunningAt), 's (first ReplicaSet create → last pod Running; null: not reached)', scale));
    const boundSeconds = since(c.allBoundAt) || s(r.fillMs);
    lines.push(line(kase, 'bind_rate', reached.bound / boundSeconds, 'pods/s (bound ÷ time to all bound, or to the end of the fill phase)', scale));
    lines.push(line(kase, 'pod_watch_restarts', c.restarts, 'restarts (0 is right)', { relists: c.relists, events: c.events, problems: c.problems }));
  }
  const p = r.probe;
  if (p) {
    const ms = 'ms (lower is better; ratio = value/SLO, ≤ 1 passes)';
    const byVerb = (verb?: string) => p.samples.filter((x) => !verb || x.verb === verb).map((x) => x.answered - x.issued);
    const errors = Object.fromEntries(p.errors);
    for (const verb of ['create', 'patch', undefined]) {
      const samples = byVerb(verb);
      const kaseVerb = `${kase}/mutating${verb ? `/${verb}/pods` : ''}`;
      const extra = { samples: samples.length, rate_per_s: o.probeRate, errors, skipped_ticks: p.skipped };
      lines.push(compared(kaseVerb, 'latency_p50', p50(samples), ms, MUTATING_SLO, extra));
      lines.push(compared(kaseVerb, 'latency_p99', p99(samples), ms, MUTATING_SLO, extra));
    }
    const lagExtra = { samples: p.lagMs.length, missing_events: p.missingEvents, note: 'probe call answered → its event on the all-pods watch' };
    lines.push(line(`${kase}/watch`, 'lag_p50', p50(p.lagMs), 'ms (lower is better)', lagExtra));
    lines.push(line(`${kase}/watch`, 'lag_p99', p99(p.lagMs), 'ms (lower is better)', lagExtra));
  }
  for (const l of r.lists) {
    const cache = l.name.includes('watch-cache-on') ? 'on' : l.name.includes('watch-cache-off') ? 'off'
      : serverHasWatchCacheFlag() ? 'server default, during the case' : 'not in this build';
    const extra = { reps: l.ms.length, failures: l.failures, bytes: l.bytes, items: l.items, latency_p50_ms: p50(l.ms), watch_cache: cache };
    lines.push(compared(`${kase}/${l.name}`, 'latency_max', l.failures ? NaN : Math.max(...l.ms), 'ms (lower is better; ratio = value/SLO, ≤ 1 passes; null: failed)', LIST_SLO, extra));
  }
  const m = r.memory;
  if (m) {
    lines.push(line(kase, 'server_rss_peak', m.serverPeakMiB, 'MiB (VmHWM)'));
    lines.push(line(kase, 'server_rss_end', m.serverRssMiB, 'MiB (VmRSS at the end)'));
    if (r.kind === 'etcd') lines.push(line(kase, 'etcd_rss_peak', m.etcdPeakMiB, 'MiB (VmHWM of the etcd process)'));
    lines.push(line(kase, 'machine_min_available', m.machineMinAvailableMiB, 'MiB (lowest MemAvailable seen)'));
  }
  if (r.cpu) {
    lines.push(line(kase, 'server_cpu_cores', r.cpu.server, 'cores (mean over the fill phase)', { bench_cpu_cores: r.cpu.client, machine_cpu_cores: r.cpu.machine, etcd_cpu_cores: r.cpu.etcd }));
  }
  const breaches = r.breaches.all();
  lines.push(line(kase, 'breaches', breaches.length, 'kinds of trouble (0: nothing broke)', {
    first: breaches[0] ?? null, all: breaches,
  }));
  return lines;
}
