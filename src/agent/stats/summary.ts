// The kubelet's Summary API (`/stats/summary`, stats/v1alpha1) for CPU and
// memory: cumulative CPU (usageCoreNanoSeconds) plus a rate (usageNanoCores)
// over the recent sample ring, and memory usage / working set / RSS. Fields
// the agent does not measure (filesystems, network, swap) are left out, as
// the kubelet leaves out what its stats provider lacks.
import type { CgroupUsage } from './cgroup.ts';
import { baselineFor, cpuNanoCores, type StatsSample } from './collector.ts';

/** Rates are computed over at least this much time when the ring has it (cAdvisor housekeeps every 10–15 s). */
const MIN_RATE_WINDOW_MS = 10_000;

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

function cpuStats(time: string, now: { cpuUsageNs: number; timestampMs: number }, before?: { cpuUsageNs: number; timestampMs: number }) {
  const rate = before ? cpuNanoCores(before, now) : undefined;
  return { time, usageCoreNanoSeconds: now.cpuUsageNs, ...(rate !== undefined ? { usageNanoCores: rate } : {}) };
}

function memoryStats(time: string, usage: Pick<CgroupUsage, 'memoryUsageBytes' | 'memoryWorkingSetBytes'> & Partial<CgroupUsage>) {
  return {
    time,
    usageBytes: usage.memoryUsageBytes,
    workingSetBytes: usage.memoryWorkingSetBytes,
    ...(usage.memoryRssBytes !== undefined ? { rssBytes: usage.memoryRssBytes } : {}),
  };
}

export function renderSummary(options: { nodeName: string; latest: StatsSample; history: readonly StatsSample[] }): unknown {
  const { latest, nodeName } = options;
  const base = baselineFor(options.history, latest, MIN_RATE_WINDOW_MS);
  const time = iso(latest.timestampMs);
  const at = (cpuUsageNs: number, sample: StatsSample) => ({ cpuUsageNs, timestampMs: sample.timestampMs });
  const node = latest.node;
  const basePod = (uid: string) => base?.pods.find((p) => p.uid === uid);
  return {
    node: {
      nodeName,
      ...(node.cpuUsageNs !== undefined ? { cpu: cpuStats(time, at(node.cpuUsageNs, latest), base?.node.cpuUsageNs !== undefined ? at(base.node.cpuUsageNs, base) : undefined) } : {}),
      ...(node.memoryWorkingSetBytes !== undefined ? { memory: memoryStats(time, { memoryUsageBytes: node.memoryUsageBytes ?? node.memoryWorkingSetBytes, memoryWorkingSetBytes: node.memoryWorkingSetBytes }) } : {}),
    },
    pods: latest.pods.map((pod) => {
      const before = basePod(pod.uid);
      const started = Math.min(...pod.containers.map((c) => c.startedAt).filter((t) => t > 0));
      return {
        podRef: { name: pod.name, namespace: pod.namespace, uid: pod.uid },
        ...(Number.isFinite(started) ? { startTime: iso(started) } : {}),
        containers: pod.containers.map((c) => {
          const old = before?.containers.find((x) => x.id === c.id);
          return {
            name: c.name,
            startTime: iso(c.startedAt),
            cpu: cpuStats(time, at(c.usage.cpuUsageNs, latest), old ? at(old.usage.cpuUsageNs, base!) : undefined),
            memory: memoryStats(time, c.usage),
          };
        }),
        ...(pod.usage
          ? {
              cpu: cpuStats(time, at(pod.usage.cpuUsageNs, latest), before?.usage ? at(before.usage.cpuUsageNs, base!) : undefined),
              memory: memoryStats(time, pod.usage),
            }
          : {}),
      };
    }),
  };
}
