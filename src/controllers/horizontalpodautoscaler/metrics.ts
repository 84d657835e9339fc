// Where the controller reads pod usage: the resource metrics API
// (metrics.k8s.io/v1beta1 PodMetrics), through the ordinary API client —
// upstream's resource metrics client. Tests pass a fake source.
import type { ApiClient, KubeObject } from '../../client/interface.ts';
import { milliValue, type PodMetrics } from './replica-calculator.ts';

export interface ContainerUsage {
  name: string;
  usage: Record<string, string>;
}

export interface PodUsage {
  timestampMs: number;
  windowMs: number;
  containers: ContainerUsage[];
}

export interface MetricsSource {
  /** PodMetrics of the pods matching `selector` in `namespace`, by pod name. */
  podUsage(namespace: string, selector: string): Promise<Map<string, PodUsage>>;
}

interface PodMetricsObject extends KubeObject {
  timestamp?: string;
  window?: string;
  containers?: ContainerUsage[];
}

/** Go duration text ("15s", "1m0.5s", "150ms") in milliseconds. */
export function parseDurationMs(text: string | undefined): number {
  if (!text) return 0;
  let total = 0;
  for (const m of text.matchAll(/([\d.]+)(h|ms|m|s|us|µs|ns)/g)) {
    const n = Number(m[1]);
    total += m[2] === 'h' ? n * 3_600_000 : m[2] === 'm' ? n * 60_000 : m[2] === 's' ? n * 1000 : m[2] === 'ms' ? n : m[2] === 'ns' ? n / 1e6 : n / 1000;
  }
  return total;
}

export function apiMetricsSource(client: ApiClient): MetricsSource {
  return {
    async podUsage(namespace, selector) {
      const list = await client.list<PodMetricsObject>({ group: 'metrics.k8s.io', version: 'v1beta1', resource: 'pods', namespace }, { labelSelector: selector });
      const out = new Map<string, PodUsage>();
      for (const item of list.items) {
        out.set(item.metadata.name!, { timestampMs: Date.parse(item.timestamp ?? '') || 0, windowMs: parseDurationMs(item.window), containers: item.containers ?? [] });
      }
      return out;
    },
  };
}

/**
 * One resource's usage per pod in milli-units (all containers summed, or the
 * named container only); a pod lacking the resource in any container counted
 * (or lacking the named container) is left out, as upstream leaves it out.
 */
export function resourceMetrics(usage: Map<string, PodUsage>, resource: string, container?: string): PodMetrics {
  const out: PodMetrics = new Map();
  for (const [pod, u] of usage) {
    const containers = container ? u.containers.filter((c) => c.name === container) : u.containers;
    if (containers.length === 0) continue;
    let value = 0;
    let complete = true;
    for (const c of containers) {
      const v = milliValue(c.usage[resource]);
      if (v === undefined) complete = false;
      else value += v;
    }
    if (complete) out.set(pod, { value, timestampMs: u.timestampMs, windowMs: u.windowMs });
  }
  return out;
}
