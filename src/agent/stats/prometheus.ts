// The agent's metrics endpoints in the Prometheus text format (0.0.4):
//   /metrics/resource — the kubelet's resource metrics, the small set
//     metrics-server scrapes (node_/pod_/container_ CPU seconds and memory
//     working set, container_start_time_seconds, resource_scrape_error),
//     each sample stamped with the time it was read (milliseconds);
//   /metrics/cadvisor — cAdvisor's names for external monitoring, one series
//     per cgroup (`id` the cgroup path; the root `/` is the node), labelled
//     with container, pod and namespace as the kubelet labels them.
import type { CgroupUsage } from './cgroup.ts';
import type { StatsSample } from './collector.ts';

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

type Labels = Record<string, string>;

/** Label values escaped as the exposition format requires (backslash, quote, newline). */
function formatLabels(labels: Labels): string {
  const entries = Object.entries(labels);
  if (entries.length === 0) return '';
  return `{${entries.map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`).join(',')}}`;
}

/** Go's strconv.FormatFloat(v, 'g', -1, 64) is what Prometheus clients print; plain JS numbers parse the same. */
function formatValue(value: number): string {
  return Number.isInteger(value) && Math.abs(value) >= 1e21 ? value.toExponential() : String(value);
}

class Exposition {
  private readonly lines: string[] = [];
  family(options: { name: string; help: string; type: 'counter' | 'gauge'; samples: { labels?: Labels; value: number; timestampMs?: number }[] }): void {
    this.lines.push(`# HELP ${options.name} ${options.help}`, `# TYPE ${options.name} ${options.type}`);
    for (const s of options.samples) {
      this.lines.push(`${options.name}${formatLabels(s.labels ?? {})} ${formatValue(s.value)}${s.timestampMs !== undefined ? ` ${s.timestampMs}` : ''}`);
    }
  }
  text(): string {
    return `${this.lines.join('\n')}\n`;
  }
}

const seconds = (ns: number) => ns / 1e9;

export function renderResourceMetrics(sample: StatsSample): string {
  const out = new Exposition();
  const t = sample.timestampMs;
  const containers = sample.pods.flatMap((pod) => pod.containers.map((c) => ({ pod, c, labels: { container: c.name, namespace: pod.namespace, pod: pod.name } })));
  const pods = sample.pods.filter((p) => p.usage).map((pod) => ({ usage: pod.usage!, labels: { namespace: pod.namespace, pod: pod.name } }));
  out.family({ name: 'container_cpu_usage_seconds_total', help: '[STABLE] Cumulative cpu time consumed by the container in core-seconds', type: 'counter',
    samples: containers.map(({ c, labels }) => ({ labels, value: seconds(c.usage.cpuUsageNs), timestampMs: t })) });
  out.family({ name: 'container_memory_working_set_bytes', help: '[STABLE] Current working set of the container in bytes', type: 'gauge',
    samples: containers.map(({ c, labels }) => ({ labels, value: c.usage.memoryWorkingSetBytes, timestampMs: t })) });
  out.family({ name: 'container_start_time_seconds', help: '[STABLE] Start time of the container since unix epoch in seconds', type: 'gauge',
    samples: containers.filter(({ c }) => c.startedAt > 0).map(({ c, labels }) => ({ labels, value: c.startedAt / 1000, timestampMs: c.startedAt })) });
  out.family({ name: 'node_cpu_usage_seconds_total', help: '[STABLE] Cumulative cpu time consumed by the node in core-seconds', type: 'counter',
    samples: sample.node.cpuUsageNs === undefined ? [] : [{ value: seconds(sample.node.cpuUsageNs), timestampMs: t }] });
  out.family({ name: 'node_memory_working_set_bytes', help: '[STABLE] Current working set of the node in bytes', type: 'gauge',
    samples: sample.node.memoryWorkingSetBytes === undefined ? [] : [{ value: sample.node.memoryWorkingSetBytes, timestampMs: t }] });
  out.family({ name: 'pod_cpu_usage_seconds_total', help: '[STABLE] Cumulative cpu time consumed by the pod in core-seconds', type: 'counter',
    samples: pods.map((p) => ({ labels: p.labels, value: seconds(p.usage.cpuUsageNs), timestampMs: t })) });
  out.family({ name: 'pod_memory_working_set_bytes', help: '[STABLE] Current working set of the pod in bytes', type: 'gauge',
    samples: pods.map((p) => ({ labels: p.labels, value: p.usage.memoryWorkingSetBytes, timestampMs: t })) });
  out.family({ name: 'resource_scrape_error', help: '[STABLE] 1 if there was an error while getting container metrics, 0 otherwise', type: 'gauge',
    samples: [{ value: sample.errors > 0 ? 1 : 0 }] });
  return out.text();
}

/** cAdvisor's per-cgroup series (the subset of its names that cgroup CPU and memory files give). */
export function renderCadvisorMetrics(sample: StatsSample): string {
  const series: { labels: Labels; usage: CgroupUsage }[] = [];
  const node = sample.node;
  if (node.cpuUsageNs !== undefined && node.memoryWorkingSetBytes !== undefined) {
    series.push({
      labels: { container: '', id: '/', image: '', name: '', namespace: '', pod: '' },
      usage: { cpuUsageNs: node.cpuUsageNs, memoryWorkingSetBytes: node.memoryWorkingSetBytes, memoryUsageBytes: node.memoryUsageBytes ?? node.memoryWorkingSetBytes, memoryRssBytes: 0, memoryCacheBytes: 0 },
    });
  }
  for (const pod of sample.pods) {
    if (pod.usage) series.push({ labels: { container: '', id: pod.cgroupsPath, image: '', name: '', namespace: pod.namespace, pod: pod.name }, usage: pod.usage });
    for (const c of pod.containers) {
      series.push({ labels: { container: c.name, id: `${pod.cgroupsPath}/${c.id}`, image: '', name: c.id, namespace: pod.namespace, pod: pod.name }, usage: c.usage });
    }
  }
  const t = sample.timestampMs;
  const out = new Exposition();
  const family = (name: string, help: string, type: 'counter' | 'gauge', value: (u: CgroupUsage) => number) =>
    out.family({ name, help, type, samples: series.map((s) => ({ labels: s.labels, value: value(s.usage), timestampMs: t })) });
  family('container_cpu_usage_seconds_total', 'Cumulative cpu time consumed in seconds.', 'counter', (u) => seconds(u.cpuUsageNs));
  family('container_memory_usage_bytes', 'Current memory usage in bytes, including all memory regardless of when it was accessed', 'gauge', (u) => u.memoryUsageBytes);
  family('container_memory_working_set_bytes', 'Current working set in bytes.', 'gauge', (u) => u.memoryWorkingSetBytes);
  family('container_memory_rss', 'Size of RSS in bytes.', 'gauge', (u) => u.memoryRssBytes);
  family('container_memory_cache', 'Number of bytes of page cache memory.', 'gauge', (u) => u.memoryCacheBytes);
  out.family({ name: 'container_last_seen', help: 'Last time a container was seen by the exporter', type: 'gauge', samples: series.map((s) => ({ labels: s.labels, value: Math.floor(t / 1000), timestampMs: t })) });
  return out.text();
}
