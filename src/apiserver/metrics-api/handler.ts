// metrics.k8s.io/v1beta1 — NodeMetrics and PodMetrics, read-only, as
// metrics-server serves them (kubectl top, the HPA controller).
//
// Why a custom handler and not kinds in the registry: these objects are never
// stored; every read is computed from scrapes of the nodes. Putting them in
// the kind registry would make the generic REST handlers, OpenAPI, the
// namespace controller and the garbage collector treat them as stored
// resources. Upstream serves them from a separate server (metrics-server)
// behind an APIService; skiff answers the same paths in-process: discovery
// lists the group (see `METRICS_RESOURCES`, merged into discovery only), and
// the router hands `/apis/metrics.k8s.io/…` to `handleMetricsApi` before the
// registry lookup. Pods on simulated nodes have no metrics: like
// metrics-server for a pod it has no data for, they are left out of lists and
// a GET by name is 404.
import type { ResourceInfo } from '../../api/registry.ts';
import { parseFieldSelector, parseLabelSelector, SelectorError } from '../../api/selectors/index.ts';
import { errors } from '../errors.ts';
import type { ServerParts } from '../handlers/context.ts';
import type { NodeProxy } from '../handlers/node-proxy.ts';
import { sendJson, type ServerReply } from '../http/respond.ts';
import type { KubeObject } from '../registry/resource-store.ts';
import type { RequestInfo } from '../request-info.ts';
import { MetricsScraper, type NodeMetricsData, type ScrapeTarget } from './scraper.ts';

export const METRICS_GROUP = 'metrics.k8s.io';
const VERSION = 'v1beta1';
const API_VERSION = `${METRICS_GROUP}/${VERSION}`;

function metricsResource(kind: string, plural: string, namespaced: boolean): ResourceInfo {
  return {
    group: METRICS_GROUP, version: VERSION, kind, listKind: `${kind}List`, plural, singular: '', namespaced,
    verbs: ['get', 'list'], shortNames: [], categories: [], subresources: {}, apiVersion: API_VERSION, storageResource: '',
  };
}

/** The group's resources as discovery lists them (metrics-server's: `nodes` and `pods`, get and list). */
export const METRICS_RESOURCES: readonly ResourceInfo[] = [metricsResource('NodeMetrics', 'nodes', false), metricsResource('PodMetrics', 'pods', true)];

const SIMULATED_NODE_LABEL = 'skiff.dev/simulated';

/** Scrape targets: every node that is not simulated, through the API server's kubelet client. */
export function nodeScrapeTargets(parts: ServerParts, proxy: NodeProxy): () => Promise<ScrapeTarget[]> {
  return async () => {
    const nodes = (await parts.store.list(parts.registry.lookup('', 'v1', 'nodes')!, {})).items;
    return nodes.filter((n) => n.metadata.labels?.[SIMULATED_NODE_LABEL] !== 'true').map((node) => ({
      nodeName: node.metadata.name!,
      async fetch() {
        const location = await proxy.locate(parts, node.metadata.name!);
        const controller = new AbortController();
        const timer = setTimeout(() => controller.abort(), 10_000);
        try {
          const res = await proxy.get(location, '/metrics/resource', controller.signal);
          const chunks: Buffer[] = [];
          for await (const chunk of res) chunks.push(chunk as Buffer);
          if (res.statusCode !== 200) throw new Error(`/metrics/resource answered ${res.statusCode}`);
          return Buffer.concat(chunks).toString('utf8');
        } finally {
          clearTimeout(timer);
        }
      },
    }));
  };
}

/** Go's time.Duration.String() for whole milliseconds ("15s", "1.5s", "1m0.25s"). */
export function goDuration(ms: number): string {
  if (ms === 0) return '0s';
  const minutes = Math.floor(ms / 60_000);
  const seconds = (ms % 60_000) / 1000;
  const secondsText = `${Number(seconds.toFixed(3))}s`;
  return minutes > 0 ? `${minutes >= 60 ? `${Math.floor(minutes / 60)}h${minutes % 60}m` : `${minutes}m`}${secondsText}` : secondsText;
}

/** A CPU quantity from nanocores in canonical form ("250m", "123456n", "1"). */
export function cpuQuantity(nanoCores: number): string {
  const n = Math.max(0, Math.round(nanoCores));
  if (n % 1e9 === 0) return String(n / 1e9);
  if (n % 1e6 === 0) return `${n / 1e6}m`;
  if (n % 1e3 === 0) return `${n / 1e3}u`;
  return `${n}n`;
}

/** A memory quantity in bytes with the largest exact binary suffix ("12Mi", "1536"). */
export function memoryQuantity(bytes: number): string {
  let value = Math.max(0, Math.round(bytes));
  if (value === 0) return '0';
  const suffixes = ['', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei'];
  let i = 0;
  while (i < suffixes.length - 1 && value % 1024 === 0) {
    value /= 1024;
    i++;
  }
  return `${value}${suffixes[i]}`;
}

const rfc3339 = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

export interface MetricsApiOptions {
  parts: ServerParts;
  scraper: Pick<MetricsScraper, 'current'>;
  now?: () => number;
}

export class MetricsApi {
  private readonly o: MetricsApiOptions;
  constructor(options: MetricsApiOptions) {
    this.o = options;
  }

  async handle(options: { info: RequestInfo; query: URLSearchParams; res: ServerReply }): Promise<void> {
    const { info, query, res } = options;
    const resource = METRICS_RESOURCES.find((r) => r.plural === info.resource);
    if (info.version !== VERSION || !resource || info.subresource) throw errors.pageNotFound(info.path);
    if (info.verb !== 'get' && info.verb !== 'list') throw errors.methodNotAllowed();
    if (resource.namespaced === false && info.namespace) throw errors.pageNotFound(info.path);
    let labels, fields;
    try {
      labels = parseLabelSelector(query.get('labelSelector') ?? '');
      fields = parseFieldSelector(query.get('fieldSelector') ?? '');
    } catch (error) {
      if (error instanceof SelectorError) throw errors.badRequest(error.message);
      throw error;
    }
    const objects = (await this.o.parts.store.list(this.o.parts.registry.lookup('', 'v1', resource.plural)!, { namespace: info.namespace })).items
      .filter((o) => (info.name ? o.metadata.name === info.name : true))
      .filter((o) => labels.matches(o.metadata.labels ?? {}) && fields.matches({ 'metadata.name': o.metadata.name ?? '', 'metadata.namespace': o.metadata.namespace ?? '' }));
    const usage = objects.length > 0 ? await this.o.scraper.current() : new Map<string, NodeMetricsData>();
    const items = resource.kind === 'NodeMetrics' ? this.nodeItems(objects, usage) : this.podItems(objects, usage);
    if (info.name) {
      if (items.length === 0) throw errors.notFound({ group: METRICS_GROUP, resource: resource.kind === 'NodeMetrics' ? 'nodemetrics' : 'podmetrics' }, info.name);
      sendJson(res, 200, items[0]);
      return;
    }
    sendJson(res, 200, { kind: resource.listKind, apiVersion: API_VERSION, metadata: {}, items });
  }

  private metadata(object: KubeObject) {
    const m = object.metadata;
    return { name: m.name, ...(m.namespace ? { namespace: m.namespace } : {}), creationTimestamp: rfc3339((this.o.now ?? Date.now)()), ...(m.labels ? { labels: m.labels } : {}) };
  }

  private nodeItems(nodes: KubeObject[], usage: Map<string, NodeMetricsData>) {
    return nodes.flatMap((node) => {
      const u = usage.get(node.metadata.name!)?.node;
      if (!u) return [];
      return [{
        kind: 'NodeMetrics', apiVersion: API_VERSION, metadata: this.metadata(node),
        timestamp: rfc3339(u.timestampMs), window: goDuration(u.windowMs),
        usage: { cpu: cpuQuantity(u.cpuNanoCores), memory: memoryQuantity(u.memoryBytes) },
      }];
    });
  }

  private podItems(pods: KubeObject[], usage: Map<string, NodeMetricsData>) {
    return pods.flatMap((pod) => {
      const nodeName = (pod.spec as { nodeName?: string } | undefined)?.nodeName;
      const u = nodeName ? usage.get(nodeName)?.pods.get(`${pod.metadata.namespace}/${pod.metadata.name}`) : undefined;
      if (!u) return [];
      return [{
        kind: 'PodMetrics', apiVersion: API_VERSION, metadata: this.metadata(pod),
        timestamp: rfc3339(u.timestampMs), window: goDuration(u.windowMs),
        containers: u.containers.map((c) => ({ name: c.name, usage: { cpu: cpuQuantity(c.cpuNanoCores), memory: memoryQuantity(c.memoryBytes) } })),
      }];
    });
  }
}

/** The metrics API of a server: node scraping through its NodeProxy, on-demand with `resolutionMs` as the floor. */
export function createMetricsApi(options: { parts: ServerParts; resolutionMs?: number }): { api: MetricsApi; stop(): void } | undefined {
  const proxy = options.parts.nodeProxy;
  if (!proxy) return undefined;
  const scraper = new MetricsScraper({ targets: nodeScrapeTargets(options.parts, proxy), resolutionMs: options.resolutionMs, log: (m) => console.error(m) });
  return { api: new MetricsApi({ parts: options.parts, scraper }), stop: () => scraper.stop() };
}
