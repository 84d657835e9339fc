// The API server's watch cache (storage/cacher) set up for Kubernetes objects:
// one cache per resource type (key prefix /registry/<group>/<plural>/), an
// index of pods by spec.nodeName (what node agents select their pods by) and
// of every object by its labels, and the index hint a LIST or WATCH request's
// selectors give.
import type { KindRegistry, ResourceInfo } from '../../api/registry.ts';
import { parseFieldSelector, parseLabelSelector, type FieldSelector, type LabelSelector } from '../../api/selectors/index.ts';
import { Counter, Gauge, type Registry as PromRegistry } from 'prom-client';
import { createCachedStore, type CachedStore, type CachedStoreOptions, type CacheStats } from '../../storage/cacher/cached-store.ts';
import type { Indexer } from '../../storage/cacher/resource-cache.ts';
import type { IndexHint, KeyValue, Store } from '../../storage/interface.ts';

export const NODE_NAME_INDEX = 'spec.nodeName';
export const LABEL_INDEX = 'labels';

/** What the indexes read of a stored object: its labels and, for pods, spec.nodeName. */
interface Indexed {
  labels?: Record<string, string>;
  nodeName?: string;
}

/**
 * One parse per stored value, however many indexes read it. Only the indexed
 * fields are kept: the cache and its event window hold a KeyValue per object
 * and per recent event, and keeping the whole parsed object beside its JSON
 * (a pod with managedFields is ~10 KB parsed) was the largest per-pod cost of
 * the server's heap.
 */
const parsed = new WeakMap<KeyValue, Indexed>();
function parse(kv: KeyValue): Indexed {
  let value = parsed.get(kv);
  if (!value) {
    value = {};
    try {
      const object = JSON.parse(kv.value) as { metadata?: { labels?: Record<string, string> }; spec?: { nodeName?: string } };
      if (object.metadata?.labels) value.labels = object.metadata.labels;
      if (typeof object.spec?.nodeName === 'string') value.nodeName = object.spec.nodeName;
    } catch {
      // unparseable: indexed under nothing
    }
    parsed.set(kv, value);
  }
  return value;
}

const labelIndexer: Indexer = {
  name: LABEL_INDEX,
  values: (kv) => Object.entries(parse(kv).labels ?? {}).map(([key, value]) => `${key}=${value}`),
};
const nodeNameIndexer: Indexer = {
  name: NODE_NAME_INDEX,
  values: (kv) => {
    // Unscheduled pods are indexed under "" (the scheduler watches spec.nodeName=).
    return [parse(kv).nodeName ?? ''];
  },
};

const podsPrefix = (registry: KindRegistry) => `/registry/${registry.lookup('', 'v1', 'pods')!.storageResource}/`;

/**
 * Wraps `store` in the watch cache; closing the cache leaves `store` open (its
 * owner closes it). `tuning` overrides the cache's sizes and timeouts (tests).
 */
export function createApiWatchCache(store: Store, registry: KindRegistry, tuning: Partial<CachedStoreOptions> = {}): Promise<CachedStore> {
  const prefixes = new Set(registry.resources.map((resource) => `/registry/${resource.storageResource}/`));
  const pods = podsPrefix(registry);
  return createCachedStore(store, {
    resourcePrefixOf: (prefix) => {
      // /registry/<group>/<plural>/ or, for a resource stored per version, /registry/<group>/<plural>/<version>/.
      const parts = prefix.split('/', 6);
      for (const length of [5, 4]) {
        if (parts.length <= length) continue;
        const candidate = parts.slice(0, length).join('/') + '/';
        if (prefixes.has(candidate)) return candidate;
      }
      return undefined;
    },
    indexersFor: (prefix) => (prefix === pods ? [nodeNameIndexer, labelIndexer] : [labelIndexer]),
    preload: [pods],
    closeBackend: false,
    ...tuning,
  });
}

/**
 * The index a request's selectors pin, if any: `spec.nodeName=X` on pods
 * first (a node agent's "my pods"), else a label that must equal one value.
 * Only a hint: the request still filters with its full selectors.
 */
export function indexHintFor(resource: ResourceInfo, labels: LabelSelector | undefined, fields: FieldSelector | undefined): IndexHint | undefined {
  if (fields && !fields.matchesNothing && resource.group === '' && resource.plural === 'pods') {
    const node = fields.requiresExactMatch(NODE_NAME_INDEX);
    if (node !== undefined) return { name: NODE_NAME_INDEX, value: node };
  }
  if (labels && !labels.matchesNothing) {
    for (const requirement of labels.requirements) {
      const value = labels.requiresExactMatch(requirement.key);
      if (value !== undefined) return { name: LABEL_INDEX, value: `${requirement.key}=${value}` };
    }
  }
  return undefined;
}

/** The index hint of a LIST or WATCH request's query (bad selectors give none: the filter reports them). */
export function indexHintForQuery(resource: ResourceInfo, query: URLSearchParams): IndexHint | undefined {
  const labelText = query.get('labelSelector') ?? '';
  const fieldText = query.get('fieldSelector') ?? '';
  if (!labelText.trim() && !fieldText.trim()) return undefined;
  try {
    return indexHintFor(resource, labelText.trim() ? parseLabelSelector(labelText) : undefined, fieldText.trim() ? parseFieldSelector(fieldText) : undefined);
  } catch {
    return undefined;
  }
}

/**
 * The watch cache's state on /metrics, per resource ("pods", "deployments.apps"),
 * with upstream's names where upstream has the metric.
 */
export function registerWatchCacheMetrics(metrics: PromRegistry, cache: CachedStore, registry: KindRegistry): void {
  const names = new Map(registry.resources.map((r) => [`/registry/${r.storageResource}/`, r.group ? `${r.plural}.${r.group}` : r.plural]));
  const resourceOf = (prefix: string) => names.get(prefix) ?? prefix;
  const perResource = (name: string, help: string, value: (r: CacheStats['resources'][number]) => number, type: 'gauge' | 'counter') => {
    const Metric = type === 'gauge' ? Gauge : Counter;
    new Metric({
      name, help, labelNames: ['resource'], registers: [metrics],
      collect(this: Gauge<'resource'> | Counter<'resource'>) {
        this.reset();
        for (const r of cache.stats().resources) {
          if (this instanceof Gauge) this.set({ resource: resourceOf(r.prefix) }, value(r));
          else this.inc({ resource: resourceOf(r.prefix) }, value(r));
        }
      },
    });
  };
  perResource('apiserver_watch_cache_resource_version', 'Current resource version of the watch cache, by resource.', () => cache.stats().revision, 'gauge');
  perResource('watch_cache_capacity', 'Events held in the watch cache window, by resource.', (r) => r.windowSize, 'gauge');
  perResource('apiserver_watch_cache_objects', 'Objects held in the watch cache, by resource.', (r) => r.objects, 'gauge');
  perResource('apiserver_watch_cache_watchers', 'Watchers served by the watch cache, by resource.', (r) => r.watchers, 'gauge');
  perResource('apiserver_watch_cache_events_dispatched_total', 'Events dispatched by the watch cache, by resource.', (r) => r.eventsDispatched, 'counter');
  perResource('apiserver_terminated_watchers_total', 'Watchers ended because they could not keep up, by resource.', (r) => r.terminatedWatchers, 'counter');
  new Counter({
    name: 'apiserver_watch_cache_lists_total', help: 'Lists of cached resources, by where they were answered (cache or storage).',
    labelNames: ['source'], registers: [metrics],
    collect(this: Counter<'source'>) {
      this.reset();
      const { lists } = cache.stats();
      this.inc({ source: 'cache' }, lists.fromCache);
      this.inc({ source: 'storage' }, lists.fromBackend);
    },
  });
}
