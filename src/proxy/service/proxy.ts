// The service proxy (kube-proxy, nftables mode) of one node: informers on
// Services and EndpointSlices; every change schedules a sync that renders the
// desired `ip <table>` table (model.ts → render.ts, re-rendering only the
// services that changed: incremental.ts) and applies it in one `nft -f -`
// transaction, so a packet always sees either the old rules or the new ones,
// and no other table is ever touched. The first sync (and any after a failure)
// replaces the table whole; later ones apply only the difference from the
// table applied last (delta.ts), so a change costs what it touches.
//
// Syncs are debounced (a burst of changes is one sync, at most `debounceMs`
// after the first) and spaced by `minSyncIntervalMs`; a failed apply is
// retried with backoff. Every `resyncMs` the table is checked and put back
// whole if someone removed it. When the proxy stops, its rules stay (as
// upstream's): `skiff cleanup` removes them.
import { createInformer, type Informer } from '../../client/informer.ts';
import type { ApiClient } from '../../client/interface.ts';
import type { EndpointSlice, Service, ServicePortModel } from './model.ts';
import { defaultNftRunner, type NftRunner } from './nft.ts';
import { IncrementalRenderer } from './incremental.ts';
import { DEFAULT_TABLE } from './render.ts';
import { findConntrack, staleUdpFlows, type ConntrackRunner } from './conntrack.ts';

export interface ServiceProxyLogger {
  info(message: string): void;
  warn(message: string): void;
}

export interface ServiceProxyOptions {
  client: ApiClient;
  nodeName: string;
  /** Node addresses NodePorts answer on. */
  nodeIps: string[];
  /** The cluster's pod CIDR (masquerade decisions); unknown: masquerade all ClusterIP traffic. */
  clusterCidr?: string;
  /** nftables table (family ip); default `skiff`. */
  tableName?: string;
  nft?: NftRunner;
  /** Deletes stale UDP conntrack entries; default `conntrack` when installed, else none. */
  conntrack?: ConntrackRunner | null;
  logger?: ServiceProxyLogger;
  /** Delay from the first change to the sync (default 20 ms). */
  debounceMs?: number;
  /** Least time between the starts of two syncs (default 100 ms). */
  minSyncIntervalMs?: number;
  /** How often the table is checked (and restored) without a change (default 30 s; 0: never). */
  resyncMs?: number;
  /** How long start waits for the informers' first lists before returning (default 10 s). */
  initialSyncTimeoutMs?: number;
}

export interface SyncStats {
  /** When the sync finished (ISO time). */
  at: string;
  durationMs: number;
  /** Time spent in nft (0 when nothing changed). */
  applyMs: number;
  /** False when the rendered ruleset equalled the applied one. */
  applied: boolean;
  /** `full`: the whole table replaced; `partial`: only what changed since the last sync. */
  mode: 'full' | 'partial';
  servicePorts: number;
  rules: number;
  chains: number;
  elements: number;
  /** Bytes of nft input (0 when nothing was applied). */
  bytes: number;
  error?: string;
}

export interface ServiceProxy {
  /** Syncs now (after any sync in progress) and returns its stats; rejects when nft failed. */
  sync(): Promise<SyncStats>;
  /** Stops informers and timers; the rules stay. */
  stop(): Promise<void>;
  readonly lastSync: SyncStats | undefined;
  /** Syncs done so far (applied or not). */
  readonly syncCount: number;
}

const consoleLogger: ServiceProxyLogger = {
  info: (message) => console.error(`service-proxy: ${message}`),
  warn: (message) => console.error(`service-proxy: warning: ${message}`),
};

export async function startServiceProxy(options: ServiceProxyOptions): Promise<ServiceProxy> {
  const proxy = new NftServiceProxy(options);
  await proxy.start(options.initialSyncTimeoutMs ?? 10_000);
  return proxy;
}

class NftServiceProxy implements ServiceProxy {
  private readonly o: ServiceProxyOptions;
  private readonly nft: NftRunner;
  private readonly log: ServiceProxyLogger;
  private readonly table: string;
  private readonly services: Informer<Service>;
  private readonly slices: Informer<EndpointSlice>;
  private timer: NodeJS.Timeout | undefined;
  private resyncTimer: NodeJS.Timeout | undefined;
  /** Syncs run one after another on this chain. */
  private queue: Promise<unknown> = Promise.resolve();
  private busy = false;
  private dirty = false;
  private stopped = false;
  private ready = false;
  private failures = 0;
  private lastStart = 0;
  /** The desired table, re-rendered per changed service. */
  private readonly renderer: IncrementalRenderer;
  /** The table in the kernel is not known to be the one rendered last: the next sync replaces it whole. */
  private needFull = true;
  /** Ports of services changed since the last applied sync, as they were applied (stale UDP flows), by id. */
  private pendingBefore = new Map<string, ServicePortModel>();
  private pendingAfter = new Map<string, ServicePortModel | undefined>();
  private stats: SyncStats | undefined;
  private count = 0;
  /** Resolved on first need (undefined: not looked for yet; null: none). */
  private conntrack: ConntrackRunner | null | undefined;

  constructor(options: ServiceProxyOptions) {
    this.o = options;
    this.nft = options.nft ?? defaultNftRunner;
    this.log = options.logger ?? consoleLogger;
    this.table = options.tableName ?? DEFAULT_TABLE;
    this.renderer = new IncrementalRenderer({ tableName: this.table, nodeIps: options.nodeIps, clusterCidr: options.clusterCidr, nodeName: options.nodeName });
    const logger = { warn: (m: string) => this.log.warn(m) };
    this.services = createInformer<Service>({ client: options.client, logger, ref: { group: '', version: 'v1', resource: 'services' } });
    this.slices = createInformer<EndpointSlice>({ client: options.client, logger, ref: { group: 'discovery.k8s.io', version: 'v1', resource: 'endpointslices' } });
    const onChange = { onAdd: () => this.schedule(), onUpdate: (old: unknown, obj: unknown) => old !== obj && this.schedule(), onDelete: () => this.schedule() };
    this.services.addEventHandler(onChange);
    this.slices.addEventHandler(onChange);
  }

  get lastSync(): SyncStats | undefined {
    return this.stats;
  }

  get syncCount(): number {
    return this.count;
  }

  async start(timeoutMs: number): Promise<void> {
    this.services.start();
    this.slices.start();
    // Never sync before both caches listed: a half-known cluster would reject traffic of services it has not seen.
    const synced = Promise.all([this.services.waitForSync(), this.slices.waitForSync()]).then(([a, b]) => {
      if (!a || !b || this.stopped) return false;
      this.ready = true;
      return true;
    });
    let timer: NodeJS.Timeout | undefined;
    const inTime = await Promise.race([synced, new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)))]);
    clearTimeout(timer);
    if (inTime) {
      await this.sync().catch(() => undefined); // logged; retried by the backoff
    } else {
      this.log.warn(`Services/EndpointSlices not listed within ${timeoutMs} ms; rules follow once they are`);
      void synced.then((ok) => ok && this.schedule());
    }
    const every = this.o.resyncMs ?? 30_000;
    if (every > 0) {
      this.resyncTimer = setInterval(() => void this.verifyTable(), every);
      this.resyncTimer.unref();
    }
  }

  sync(): Promise<SyncStats> {
    const run = this.queue.then(() => this.runSync());
    this.queue = run.catch(() => undefined);
    return run;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.resyncTimer);
    this.services.stop();
    this.slices.stop();
    await this.queue;
  }

  /** A change happened: sync soon, once (however many changes arrive meanwhile). */
  private schedule(delayMs?: number): void {
    if (this.stopped || !this.ready) return;
    this.dirty = true;
    if (this.timer || this.busy) return; // the pending or running sync picks the change up (see runSync)
    const debounce = this.o.debounceMs ?? 20;
    const spacing = this.lastStart + (this.o.minSyncIntervalMs ?? 100) - Date.now();
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.sync().catch(() => undefined);
    }, delayMs ?? Math.max(debounce, spacing));
  }

  private async runSync(): Promise<SyncStats> {
    if (this.stopped && this.count > 0) return this.stats!;
    this.busy = true;
    this.dirty = false;
    this.lastStart = Date.now();
    const started = performance.now();
    let applyMs = 0;
    const update = this.renderer.update(this.services.lister.list(), this.slices.lister.list());
    for (const conflict of update.conflicts) this.log.warn(`two services claim ${conflict}; the first keeps it`);
    for (const port of update.before) if (!this.pendingBefore.has(port.id)) this.pendingBefore.set(port.id, port);
    for (const port of update.before) this.pendingAfter.set(port.id, undefined);
    for (const port of update.after) this.pendingAfter.set(port.id, port);
    // Against what was rendered (and applied) last: only the difference (one transaction as well); the whole
    // table first, after a failure, or when the table vanished.
    const delta = this.needFull ? undefined : update.delta();
    const input = delta ?? update.fullText();
    const stats: SyncStats = {
      at: '', durationMs: 0, applyMs: 0, applied: false, mode: delta === undefined ? 'full' : 'partial',
      servicePorts: update.servicePorts, rules: update.rules, chains: update.chains, elements: update.elements, bytes: Buffer.byteLength(input),
    };
    try {
      if (input !== '') {
        const applyStart = performance.now();
        await this.nft(['-f', '-'], input);
        applyMs = performance.now() - applyStart;
        stats.applied = true;
      }
      this.needFull = false;
      const previous = [...this.pendingBefore.values()];
      const current = [...this.pendingAfter.values()].filter((port) => port !== undefined);
      this.pendingBefore = new Map();
      this.pendingAfter = new Map();
      await this.flushStaleUdp(previous, current);
      this.failures = 0;
    } catch (error) {
      this.needFull = true;
      stats.error = (error as Error).message;
      this.failures++;
      this.log.warn(`sync failed (${this.failures} in a row): ${stats.error}`);
    } finally {
      stats.applyMs = Math.round(applyMs * 10) / 10;
      stats.durationMs = Math.round((performance.now() - started) * 10) / 10;
      stats.at = new Date().toISOString();
      this.stats = stats;
      this.count++;
      this.busy = false;
      if (stats.error) this.schedule(Math.min(30_000, 500 * 2 ** Math.min(this.failures - 1, 6)));
      else if (this.dirty) this.schedule();
    }
    if (stats.error) throw new Error(stats.error);
    return stats;
  }

  /** Puts the table back if it vanished (someone ran `nft flush ruleset`, `skiff cleanup` …). */
  private async verifyTable(): Promise<void> {
    if (this.stopped || !this.ready || this.busy || this.needFull) return;
    try {
      await this.nft(['list', 'chain', 'ip', this.table, 'nat-prerouting']);
    } catch {
      this.log.warn(`table ip ${this.table} is gone or changed; applying it again`);
      this.needFull = true;
      this.schedule();
    }
  }

  private async flushStaleUdp(previous: ServicePortModel[], current: ServicePortModel[]): Promise<void> {
    if (this.conntrack === undefined) this.conntrack = this.o.conntrack === undefined ? findConntrack(this.log) : this.o.conntrack;
    const runner = this.conntrack;
    if (!runner) return;
    for (const argv of staleUdpFlows(previous, current)) {
      await runner(argv).catch((error) => this.log.warn(`conntrack ${argv.join(' ')}: ${(error as Error).message}`));
    }
  }
}
