// The shape every controller shares (ARCHITECTURE.md §4, after upstream's
// pkg/controller): informer handlers only turn events into keys and queue
// them; N workers take keys from one rate-limited queue (a key is never
// worked on by two workers at once) and call sync(key), which reads the
// informer caches, compares desired and observed state, and takes one step.
// A failed sync comes back with per-key backoff. Level-triggered: sync never
// depends on which event woke it, so a restart or a missed event is harmless.
import { createEventRecorder, type EventRecorder } from '../../client/events.ts';
import type { Informer, InformerEventHandler } from '../../client/informer.ts';
import { isConflict, type ApiClient, type KubeObject } from '../../client/interface.ts';
import { createWorkQueue, runWorkers, type WorkQueue } from '../../client/workqueue.ts';
import type { ResourceType, SharedInformers } from './informers.ts';
import { keyOf } from './types.ts';

export interface Logger {
  info(message: string): void;
  warn(message: string): void;
}

/** Warnings to stderr; routine information dropped (a controller manager must not chat). */
export const defaultLogger: Logger = {
  info() {},
  warn(message) {
    process.stderr.write(`${message}\n`);
  },
};

/**
 * A write refused because what it was computed from changed meanwhile (a
 * guarded patch whose `test` failed): like a conflict, routine; the sync is
 * retried from the newer cache.
 */
export class StaleReadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StaleReadError';
  }
}

export interface ControllerOptions {
  client: ApiClient;
  informers: SharedInformers;
  /** Parallel syncs (of different keys). Default 5, as upstream's --concurrent-*-syncs. */
  workers?: number;
  logger?: Logger;
  /** Milliseconds clock for conditions and availability (fakeable). */
  now?: () => Date;
  /** The cluster CA certificate (PEM) that root-ca-cert-publisher puts in every namespace. */
  rootCaCert?: string;
  /** kube-controller-manager's timing and rate flags; each controller applies upstream's defaults for what is unset. */
  tuning?: ControllerTuning;
}

/** Flags of kube-controller-manager that tune the node lifecycle, taint eviction and pod GC controllers. */
export interface ControllerTuning {
  /** --node-monitor-period: how often node health is checked (default 5 s). */
  nodeMonitorPeriodMs?: number;
  /** --node-monitor-grace-period: silence before a node is marked Unknown (default 50 s). */
  nodeMonitorGracePeriodMs?: number;
  /** --node-startup-grace-period: the same for a node that never posted status (default 60 s). */
  nodeStartupGracePeriodMs?: number;
  /** --node-eviction-rate: nodes per second tainted NoExecute per healthy zone (default 0.1). */
  nodeEvictionRate?: number;
  /** --secondary-node-eviction-rate: the rate in a partially disrupted zone of a large cluster (default 0.01). */
  secondaryNodeEvictionRate?: number;
  /** --large-cluster-size-threshold: zones up to this size stop evicting when partially disrupted (default 50). */
  largeClusterSizeThreshold?: number;
  /** --unhealthy-zone-threshold: share of not-ready nodes that makes a zone partially disrupted (default 0.55). */
  unhealthyZoneThreshold?: number;
  /** --terminated-pod-gc-threshold: terminated pods kept before the oldest are deleted (default 12500; 0 keeps all). */
  terminatedPodGcThreshold?: number;
  /** Pod GC pass period (upstream: fixed 20 s) and how long a missing node is quarantined (40 s); tests shorten them. */
  podGcPeriodMs?: number;
  podGcQuarantineMs?: number;
  /** --horizontal-pod-autoscaler-sync-period (default 15 s). */
  hpaSyncPeriodMs?: number;
  /** --horizontal-pod-autoscaler-tolerance (default 0.1). */
  hpaTolerance?: number;
  /** --horizontal-pod-autoscaler-downscale-stabilization (default 5 min; an HPA's behavior overrides it). */
  hpaDownscaleStabilizationMs?: number;
  /** --horizontal-pod-autoscaler-cpu-initialization-period (default 5 min). */
  hpaCpuInitializationPeriodMs?: number;
  /** --horizontal-pod-autoscaler-initial-readiness-delay (default 30 s). */
  hpaInitialReadinessDelayMs?: number;
}

/** What the manager sees of a controller. */
export interface RunningController {
  readonly name: string;
  /** Wait for the caches, then run the workers until stop(). */
  run(): Promise<void>;
  stop(): Promise<void>;
}

export abstract class Controller implements RunningController {
  abstract readonly name: string;
  protected readonly client: ApiClient;
  protected readonly informers: SharedInformers;
  protected readonly queue: WorkQueue<string> = createWorkQueue<string>();
  protected readonly logger: Logger;
  protected readonly now: () => Date;
  private readonly workers: number;
  private readonly disposers: (() => void)[] = [];
  private readonly watched: Informer<KubeObject>[] = [];
  private recorderInstance: EventRecorder | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private wakeOnStop: (() => void) | undefined;
  private readonly stopSignal = new Promise<void>((resolve) => { this.wakeOnStop = resolve; });

  constructor(options: ControllerOptions) {
    this.client = options.client;
    this.informers = options.informers;
    this.logger = options.logger ?? defaultLogger;
    this.now = options.now ?? (() => new Date());
    this.workers = options.workers ?? 5;
  }

  /** One step toward the desired state of the object named by `key` (`namespace/name`). Throw to retry with backoff. */
  protected abstract sync(key: string): Promise<void>;

  /** The component name on events ("replicaset-controller"). */
  protected abstract readonly component: string;

  protected get recorder(): EventRecorder {
    this.recorderInstance ??= createEventRecorder({ client: this.client, component: this.component, logger: this.logger });
    return this.recorderInstance;
  }

  /**
   * Declare an informer this controller reads, with its handlers. Call from
   * the constructor, after the fields the handlers use are set: an informer
   * that has already synced replays its cache to new handlers at once.
   */
  protected watch<T extends KubeObject>(ref: ResourceType, handler: InformerEventHandler<T>): Informer<T> {
    const informer = this.informers.informerFor<T>(ref);
    this.watched.push(informer as unknown as Informer<KubeObject>);
    this.disposers.push(informer.addEventHandler(handler));
    return informer;
  }

  protected enqueue(obj: KubeObject | string): void {
    this.queue.add(typeof obj === 'string' ? obj : keyOf(obj));
  }

  protected enqueueAfter(obj: KubeObject | string, ms: number): void {
    this.queue.addAfter(typeof obj === 'string' ? obj : keyOf(obj), ms);
  }

  protected enqueueRateLimited(obj: KubeObject | string): void {
    this.queue.addRateLimited(typeof obj === 'string' ? obj : keyOf(obj));
  }

  run(): Promise<void> {
    this.running ??= (async () => {
      // Acting on a half-filled cache would create what already exists.
      // stop() must not wait for caches that may never fill (an unreachable server).
      const synced = await Promise.race([Promise.all(this.watched.map((i) => i.waitForSync())), this.stopSignal.then(() => [false])]);
      if (this.stopped || !synced.every(Boolean)) return;
      await runWorkers(this.queue, this.workers, (key) => this.sync(key), {
        onError: (key, error) => {
          const message = `${this.name}: syncing ${key}: ${(error as Error)?.message ?? error}`;
          // A write raced with another writer (or our cache was behind): routine, the retry reads newer state.
          if (isConflict(error) || error instanceof StaleReadError) this.logger.info(message);
          else this.logger.warn(message);
        },
      });
    })();
    return this.running;
  }

  /** Stop taking keys, let running syncs finish, detach the handlers, flush events. */
  async stop(): Promise<void> {
    if (this.stopped) return this.running;
    this.stopped = true;
    this.wakeOnStop?.();
    for (const dispose of this.disposers.splice(0)) dispose();
    this.queue.shutDown();
    await this.running;
    await this.recorderInstance?.flush();
  }
}
