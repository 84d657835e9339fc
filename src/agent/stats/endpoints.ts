// The stats paths of the agent's HTTPS server (kubelet's port): the streaming
// server authenticates the caller and hands these paths here.
import type { StatsSource } from './collector.ts';
import { PROMETHEUS_CONTENT_TYPE, renderCadvisorMetrics, renderResourceMetrics } from './prometheus.ts';
import { renderSummary } from './summary.ts';

export const STATS_PATHS = ['/metrics/resource', '/metrics/cadvisor', '/stats/summary'] as const;
export type StatsPath = (typeof STATS_PATHS)[number];

export function isStatsPath(pathname: string): pathname is StatsPath {
  return (STATS_PATHS as readonly string[]).includes(pathname.replace(/\/+$/, ''));
}

export interface StatsEndpoints {
  serve(path: StatsPath): Promise<{ contentType: string; body: string }>;
}

export function createStatsEndpoints(options: { stats: StatsSource; nodeName: string }): StatsEndpoints {
  return {
    async serve(path) {
      const sample = await options.stats.sample();
      switch (path.replace(/\/+$/, '') as StatsPath) {
        case '/metrics/resource': return { contentType: PROMETHEUS_CONTENT_TYPE, body: renderResourceMetrics(sample) };
        case '/metrics/cadvisor': return { contentType: PROMETHEUS_CONTENT_TYPE, body: renderCadvisorMetrics(sample) };
        case '/stats/summary': return { contentType: 'application/json', body: JSON.stringify(renderSummary({ nodeName: options.nodeName, latest: sample, history: options.stats.history() }), null, 2) };
      }
    },
  };
}
