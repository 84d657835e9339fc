// JSON lines of bench:network's http part: per path, the rounds pooled
// (requests answered / seconds spent; percentiles over every request), and
// the ratios to direct pod-IP access measured in the same run.
import { percentile, round } from '../lib/stats.ts';
import type { HttpLoadResult } from './http-load.ts';

export type PathName = 'direct' | 'clusterip' | 'ingress';

const CASE: Record<PathName, string> = { direct: 'HTTP/direct pod IP', clusterip: 'HTTP/ClusterIP', ingress: 'HTTP/Ingress' };

/** Issue 8's reference for the ClusterIP path: kube-proxy's iptables data path reaches ≈96 % of direct pod-IP throughput. */
const KUBE_PROXY_BASELINE = { name: 'kube-proxy (iptables) ≈96 % of direct pod IP requests/s', value: 0.96 };

interface Pooled {
  rps: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
  /** Requests that took ≥ 1 s (a SYN retransmission's timeout): stalls, not slowness. */
  overOneSecond: number;
  requests: number;
  errors: number;
}

function pool(results: HttpLoadResult[]): Pooled {
  const latencies = results.flatMap((r) => r.latenciesMs);
  const seconds = results.reduce((sum, r) => sum + r.elapsedMs, 0) / 1000;
  return {
    rps: latencies.length / seconds, p50: percentile(latencies, 50), p99: percentile(latencies, 99),
    p999: percentile(latencies, 99.9), max: latencies.reduce((a, b) => Math.max(a, b), 0), overOneSecond: latencies.filter((ms) => ms >= 1000).length,
    requests: latencies.length, errors: results.reduce((sum, r) => sum + r.errors, 0),
  };
}

export function httpLines(results: Record<PathName, HttpLoadResult[]>, options: { concurrency: number }): object[] {
  const direct = pool(results.direct);
  if (direct.requests === 0) throw new Error('bench:network http: no direct request was answered');
  const common = { concurrency: options.concurrency, rounds: results.direct.length, connection: 'new TCP connection per request (busybox httpd has no keep-alive)' };
  return (['direct', 'clusterip', 'ingress'] as const).map((name) => {
    const p = pool(results[name]);
    const line = {
      bench: 'network', case: CASE[name], metric: 'requests_per_second', value: round(p.rps), unit: '1/s',
      p50_ms: round(p.p50), p99_ms: round(p.p99), p999_ms: round(p.p999), max_ms: round(p.max),
      requests: p.requests, over_1s: p.overOneSecond, errors: p.errors, ...common,
    };
    if (name === 'direct') return line;
    const vsDirect = { direct_value: round(direct.rps), direct_p99_ms: round(direct.p99), p99_ratio: round(p.p99 / direct.p99) };
    // ratio: this path's requests/s over direct's, both from this run; for ClusterIP it is set beside kube-proxy's ≈0.96.
    const baseline = name === 'clusterip' ? KUBE_PROXY_BASELINE : { name: 'direct pod IP, same run', value: round(direct.rps) };
    return { ...line, ...vsDirect, baseline, ratio: round(p.rps / direct.rps) };
  });
}
