// The JSON lines of bench:pod-startup (ARCHITECTURE.md §10): per phase the
// create → Running / Ready percentiles with the bare runtime's matching
// percentile as baseline and the ratio, the SLO verdicts, the status' own
// timestamps, and what the node cost; then the baseline itself.
import { percentile, round } from '../lib/stats.ts';
import type { CpuUse } from '../lib/server.ts';
import type { PodTimes } from './pods.ts';
import type { RuncSample } from './runc-baseline.ts';
import type { NodeUsage } from './usage.ts';

/** The target for p99 create → Ready, and upstream's SLO. */
export const TARGET_P99_MS = 1000;
export const UPSTREAM_SLO_P99_MS = 5000;
const PERCENTILES = [50, 90, 99] as const;

export interface PhaseResult {
  kase: string;
  pods: PodTimes[];
  /** Server and machine CPU from the first create until the last pod was Ready. */
  cpu: CpuUse;
  startingSeconds: number;
  /** CPU seconds of the node's own processes while the phase's pods started (usage.ts cpuSecondsWithChildren). */
  nodeCpuSeconds: number;
  /** Server and machine CPU while the pods just ran (nothing created or deleted). */
  idleCpu: CpuUse;
  idleSeconds: number;
  usage: NodeUsage;
  /** From the delete-collection request until the watch saw the last pod go (undefined: not all went). */
  deleteAllMs?: number;
}

const BENCH = 'pod-startup';
const defined = (xs: (number | undefined)[]) => xs.filter((x): x is number => x !== undefined);

/** Whole-second RFC 3339 stamps → seconds between them. */
const secondsBetween = (from: string, to: string) => (Date.parse(to) - Date.parse(from)) / 1000;

export function phaseLines(phase: PhaseResult, runc: RuncSample[]): object[] {
  const { kase, pods } = phase;
  const ready = defined(pods.map((p) => (p.readyAt === undefined ? undefined : p.readyAt - p.sentAt)));
  const running = defined(pods.map((p) => (p.runningAt === undefined ? undefined : p.runningAt - p.sentAt)));
  const post = defined(pods.map((p) => (p.createdAt === undefined ? undefined : p.createdAt - p.sentAt)));
  const statusSeconds = defined(pods.map((p) => (p.creationTimestamp && p.readyTransitionTime ? secondsBetween(p.creationTimestamp, p.readyTransitionTime) : undefined)));
  const runMs = runc.map((s) => s.runMs);
  const notReady = pods.length - ready.length;
  const lines: object[] = [];
  const latency = (metric: string, samples: number[], what: string) => {
    for (const p of PERCENTILES) {
      const value = percentile(samples, p);
      const base = percentile(runMs, p);
      lines.push({
        bench: BENCH, case: kase, metric: `${metric}_p${p}`, value: round(value), unit: `ms (lower is better; ${what})`,
        samples: samples.length, baseline: { name: `runc run -d, p${p} of ${runMs.length}`, value: round(base) }, ratio: round(value / base),
      });
    }
  };
  latency('create_to_ready', ready, 'POST sent → watch sees Ready=True');
  latency('create_to_running', running, 'POST sent → watch sees phase Running');
  const p99 = notReady === 0 ? percentile(ready, 99) : Infinity;
  lines.push({
    bench: BENCH, case: kase, metric: 'slo_p99_create_to_ready', value: Number.isFinite(p99) ? round(p99) : null, unit: 'ms',
    target_ms: TARGET_P99_MS, pass: p99 <= TARGET_P99_MS, upstream_slo_ms: UPSTREAM_SLO_P99_MS, upstream_pass: p99 <= UPSTREAM_SLO_P99_MS,
    pods: pods.length, not_ready: notReady,
  });
  lines.push({
    bench: BENCH, case: kase, metric: 'status_ready_transition_minus_creation', unit: 's (whole-second timestamps of the server)',
    value: round(percentile(statusSeconds, 50)), p90: round(percentile(statusSeconds, 90)), p99: round(percentile(statusSeconds, 99)),
    max: statusSeconds.length ? Math.max(...statusSeconds) : null, samples: statusSeconds.length,
  });
  // Where the time goes: the scheduler's binding, then the agent (sandbox, container, status write).
  const scheduled = defined(pods.map((p) => (p.scheduledAt === undefined ? undefined : p.scheduledAt - p.sentAt)));
  const agent = defined(pods.map((p) => (p.scheduledAt === undefined || p.readyAt === undefined ? undefined : p.readyAt - p.scheduledAt)));
  lines.push({
    bench: BENCH, case: kase, metric: 'create_to_scheduled_p50', value: round(percentile(scheduled, 50)), unit: 'ms (POST sent → watch sees spec.nodeName)',
    p90: round(percentile(scheduled, 90)), p99: round(percentile(scheduled, 99)),
  });
  lines.push({
    bench: BENCH, case: kase, metric: 'scheduled_to_ready_p50', value: round(percentile(agent, 50)), unit: 'ms (watch sees spec.nodeName → watch sees Ready=True: the agent\'s part)',
    p90: round(percentile(agent, 90)), p99: round(percentile(agent, 99)),
    baseline: { name: `runc run -d, p50 of ${runMs.length}`, value: round(percentile(runMs, 50)) }, ratio: round(percentile(agent, 50) / percentile(runMs, 50)),
  });
  lines.push({
    bench: BENCH, case: kase, metric: 'post_latency_p50', value: round(percentile(post, 50)), unit: 'ms (the create POST\'s round trip)',
    p99: round(percentile(post, 99)),
  });
  const { usage } = phase;
  lines.push({
    bench: BENCH, case: kase, metric: 'server_rss', value: round(usage.serverRssMiB), unit: `MiB with ${pods.length} pods running (API server, scheduler, controllers and the agent: one process)`,
    peak: round(usage.serverPeakRssMiB),
  });
  lines.push({
    bench: BENCH, case: kase, metric: 'shims_rss', value: round(usage.shims.rssMiB), unit: 'MiB (sum of VmRSS of the runtime\'s Python shims: one per sandbox holder, one per container)',
    shims: usage.shims.count, pss: round(usage.shims.pssMiB), per_pod_rss: round(usage.shims.rssMiB / Math.max(1, pods.length)),
    per_pod_pss: round(usage.shims.pssMiB / Math.max(1, pods.length)), cpu_seconds_total: round(usage.shims.cpuSeconds),
  });
  lines.push({
    bench: BENCH, case: kase, metric: 'server_cpu_cores_starting', value: round(phase.cpu.server), unit: 'cores (first create → last Ready)',
    machine_cpu_cores: round(phase.cpu.machine),
    server_cpu_seconds_per_pod: round((phase.cpu.server * phase.startingSeconds) / pods.length),
  });
  const perPod = phase.nodeCpuSeconds / pods.length;
  const perRunc = runc.reduce((sum, s) => sum + s.cpuSeconds, 0) / runc.length;
  lines.push({
    bench: BENCH, case: kase, metric: 'node_cpu_seconds_per_pod', value: round(perPod),
    unit: 's (first create → last Ready: the server with the ip/mount/runc it ran, plus the new shims with their runc create; per pod)',
    baseline: { name: 'the same for one runc floor sample (ip netns add, mount, runc run -d)', value: round(perRunc) }, ratio: round(perPod / perRunc),
  });
  lines.push({
    bench: BENCH, case: kase, metric: 'server_cpu_cores_idle', value: round(phase.idleCpu.server), unit: `cores (${pods.length} pods running, ${phase.idleSeconds}s with nothing changing)`,
    machine_cpu_cores: round(phase.idleCpu.machine),
  });
  lines.push({
    bench: BENCH, case: kase, metric: 'delete_all', value: phase.deleteAllMs === undefined ? null : round(phase.deleteAllMs / 1000),
    unit: 's (deletecollection → the watch saw every pod go; grace period 1 s)',
  });
  return lines;
}

export function baselineLines(runc: RuncSample[]): object[] {
  const lines: object[] = [];
  for (const [metric, values, unit] of [
    ['runc_run_d', runc.map((s) => s.runMs), 'ms (runc run -d of sleep over the image\'s overlay)'],
    ['runc_floor', runc.map((s) => s.floorMs), 'ms (ip netns add + overlay mount + runc run -d)'],
  ] as const) {
    for (const p of PERCENTILES) {
      lines.push({ bench: BENCH, case: 'Baseline/runc', metric: `${metric}_p${p}`, value: round(percentile(values, p)), unit, samples: values.length });
    }
  }
  return lines;
}
