// What metrics-server does, inside the API server: scrape every real node's
// /metrics/resource (cumulative CPU seconds and memory working set, each
// sample stamped by the node), keep the last two scrapes per node, and turn
// them into usage: CPU as the rate between the two (nanocores) over their
// `window`, memory as the newest reading.
//
// Scrapes happen on demand with metrics-server's resolution as the floor: a
// request finds the scrapes fresh (younger than `resolutionMs`) or starts one
// round for all nodes (concurrent requests share it). While requests keep
// coming a background round runs every `resolutionMs` so the two kept scrapes
// are about one resolution apart; it stops after `idleStopMs` without
// requests, so an API server nobody asks for metrics scrapes nothing. A node
// seen for the first time gets a second scrape `firstWindowMs` later, so the
// first `kubectl top` has a rate instead of metrics-server's empty first 15 s.
import { parsePrometheusText } from './prometheus-text.ts';

export interface ScrapeTarget {
  nodeName: string;
  /** The body of the node's /metrics/resource. */
  fetch(): Promise<string>;
}

interface Point {
  cpuSeconds: number;
  memoryBytes: number;
  timestampMs: number;
  startTimeSeconds?: number;
}

interface NodeScrape {
  scrapedAtMs: number;
  node?: Point;
  /** `namespace/pod` → container name → point. */
  pods: Map<string, Map<string, Point>>;
}

export interface Usage {
  cpuNanoCores: number;
  memoryBytes: number;
}

export interface NodeUsage extends Usage {
  timestampMs: number;
  windowMs: number;
}

export interface PodUsage {
  timestampMs: number;
  windowMs: number;
  containers: ({ name: string } & Usage)[];
}

export interface NodeMetricsData {
  node?: NodeUsage;
  /** `namespace/pod` → usage. */
  pods: Map<string, PodUsage>;
}

export interface MetricsScraperOptions {
  targets(): Promise<ScrapeTarget[]>;
  /** metrics-server's --metric-resolution (default 15 s). */
  resolutionMs?: number;
  firstWindowMs?: number;
  idleStopMs?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  log?: (message: string) => void;
}

/** One scrape's text as points. */
export function readScrape(text: string, scrapedAtMs: number): NodeScrape {
  const scrape: NodeScrape = { scrapedAtMs, pods: new Map() };
  const containerPoint = (labels: Record<string, string>): Point | undefined => {
    const { namespace, pod, container } = labels;
    if (!namespace || !pod || !container) return undefined;
    const key = `${namespace}/${pod}`;
    let containers = scrape.pods.get(key);
    if (!containers) scrape.pods.set(key, (containers = new Map()));
    let point = containers.get(container);
    if (!point) containers.set(container, (point = { cpuSeconds: NaN, memoryBytes: NaN, timestampMs: scrapedAtMs }));
    return point;
  };
  for (const s of parsePrometheusText(text)) {
    switch (s.name) {
      case 'node_cpu_usage_seconds_total':
        scrape.node = { ...(scrape.node ?? { memoryBytes: NaN }), cpuSeconds: s.value, timestampMs: s.timestampMs ?? scrapedAtMs };
        break;
      case 'node_memory_working_set_bytes':
        scrape.node = { ...(scrape.node ?? { cpuSeconds: NaN, timestampMs: s.timestampMs ?? scrapedAtMs }), memoryBytes: s.value };
        break;
      case 'container_cpu_usage_seconds_total': {
        const p = containerPoint(s.labels);
        if (p) {
          p.cpuSeconds = s.value;
          p.timestampMs = s.timestampMs ?? scrapedAtMs;
        }
        break;
      }
      case 'container_memory_working_set_bytes': {
        const p = containerPoint(s.labels);
        if (p) p.memoryBytes = s.value;
        break;
      }
      case 'container_start_time_seconds': {
        const p = containerPoint(s.labels);
        if (p) p.startTimeSeconds = s.value;
        break;
      }
    }
  }
  return scrape;
}

/** CPU rate and memory from two points of the same counter; undefined when they cannot make one (restart, no time between). */
export function usageBetween(older: Point, newer: Point): (Usage & { windowMs: number }) | undefined {
  if (![older.cpuSeconds, newer.cpuSeconds, newer.memoryBytes].every(Number.isFinite)) return undefined;
  if (older.startTimeSeconds !== undefined && newer.startTimeSeconds !== undefined && older.startTimeSeconds !== newer.startTimeSeconds) return undefined;
  const windowMs = newer.timestampMs - older.timestampMs;
  const used = newer.cpuSeconds - older.cpuSeconds;
  if (windowMs <= 0 || used < 0) return undefined;
  return { cpuNanoCores: Math.round((used / (windowMs / 1000)) * 1e9), memoryBytes: newer.memoryBytes, windowMs };
}

/** Usage of a node and its pods from its two kept scrapes (a pod is left out unless every container it reported has a rate). */
export function usageFromScrapes(older: NodeScrape, newer: NodeScrape): NodeMetricsData {
  const out: NodeMetricsData = { pods: new Map() };
  if (older.node && newer.node) {
    const u = usageBetween(older.node, newer.node);
    if (u) out.node = { ...u, timestampMs: newer.node.timestampMs };
  }
  for (const [key, containers] of newer.pods) {
    const before = older.pods.get(key);
    if (!before) continue;
    const usages: PodUsage['containers'] = [];
    let windowMs = 0;
    let timestampMs = 0;
    for (const [name, point] of containers) {
      const old = before.get(name);
      const u = old && usageBetween(old, point);
      if (!u) break;
      usages.push({ name, cpuNanoCores: u.cpuNanoCores, memoryBytes: u.memoryBytes });
      windowMs = Math.max(windowMs, u.windowMs);
      timestampMs = Math.max(timestampMs, point.timestampMs);
    }
    if (usages.length === containers.size && usages.length > 0) out.pods.set(key, { timestampMs, windowMs, containers: usages });
  }
  return out;
}

export class MetricsScraper {
  private readonly o: MetricsScraperOptions;
  /** node name → its last two scrapes, oldest first. */
  private readonly scrapes = new Map<string, NodeScrape[]>();
  private lastRoundAt = -Infinity;
  private lastRequestAt = -Infinity;
  private pending: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(options: MetricsScraperOptions) {
    this.o = options;
  }

  private now(): number {
    return (this.o.now ?? Date.now)();
  }

  private get resolutionMs(): number {
    return this.o.resolutionMs ?? 15_000;
  }

  /** Usage per node name (nodes without two good scrapes have no entry). */
  async current(): Promise<Map<string, NodeMetricsData>> {
    this.lastRequestAt = this.now();
    this.keepScraping();
    if (this.now() - this.lastRoundAt >= this.resolutionMs) await this.round();
    // A node scraped for the first time just now: a second scrape shortly gives it a rate.
    const fresh = (kept: NodeScrape[]) => kept.length === 1 && this.now() - kept[0]!.scrapedAtMs < this.resolutionMs;
    if ([...this.scrapes.values()].some(fresh)) {
      await (this.o.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))))(this.o.firstWindowMs ?? 1000);
      await this.round();
    }
    const out = new Map<string, NodeMetricsData>();
    for (const [name, kept] of this.scrapes) if (kept.length === 2) out.set(name, usageFromScrapes(kept[0]!, kept[1]!));
    return out;
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private keepScraping(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      if (this.now() - this.lastRequestAt > (this.o.idleStopMs ?? 10 * 60_000)) {
        this.stop();
        return;
      }
      void this.round();
    }, this.resolutionMs);
    this.timer.unref();
  }

  /** Scrape every target once (rounds in flight are shared); a failing node keeps its old scrapes. */
  private round(): Promise<void> {
    this.pending ??= (async () => {
      try {
        const targets = await this.o.targets();
        const names = new Set(targets.map((t) => t.nodeName));
        for (const name of this.scrapes.keys()) if (!names.has(name)) this.scrapes.delete(name);
        await Promise.all(targets.map(async (target) => {
          try {
            const text = await target.fetch();
            const kept = this.scrapes.get(target.nodeName) ?? [];
            kept.push(readScrape(text, this.now()));
            this.scrapes.set(target.nodeName, kept.slice(-2));
          } catch (error) {
            this.o.log?.(`metrics: scraping node "${target.nodeName}": ${(error as Error).message}`);
          }
        }));
        this.lastRoundAt = this.now();
      } finally {
        this.pending = undefined;
      }
    })();
    return this.pending;
  }
}
