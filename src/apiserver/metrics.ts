// Prometheus metrics of the API server (/metrics): request counts and
// latencies by verb, resource and code, named as upstream names them.
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class ApiMetrics {
  readonly registry = new Registry();
  private readonly requests: Counter<'verb' | 'group' | 'version' | 'resource' | 'subresource' | 'code'>;
  private readonly latency: Histogram<'verb' | 'group' | 'version' | 'resource' | 'subresource'>;

  constructor() {
    this.requests = new Counter({
      name: 'apiserver_request_total',
      help: 'Counter of apiserver requests broken out for each verb, group, version, resource, subresource and HTTP response code.',
      labelNames: ['verb', 'group', 'version', 'resource', 'subresource', 'code'],
      registers: [this.registry],
    });
    this.latency = new Histogram({
      name: 'apiserver_request_duration_seconds',
      help: 'Response latency distribution in seconds for each verb, group, version, resource and subresource.',
      labelNames: ['verb', 'group', 'version', 'resource', 'subresource'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [this.registry],
    });
    collectDefaultMetrics({ register: this.registry });
  }

  observe(labels: { verb: string; group: string; version: string; resource: string; subresource: string }, code: number, seconds: number): void {
    this.requests.inc({ ...labels, code: String(code) });
    // Watches last as long as the client keeps them; their duration says nothing about latency.
    if (labels.verb !== 'WATCH') this.latency.observe(labels, seconds);
  }

  async render(): Promise<{ contentType: string; text: string }> {
    return { contentType: this.registry.contentType, text: await this.registry.metrics() };
  }
}
