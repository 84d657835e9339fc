// Leader election on a coordination.k8s.io/v1 Lease, as upstream's
// client-go leaderelection with a LeaseLock, so several `skiff server`
// processes can run the controller manager and the scheduler while only one
// of each acts.
//
// - A candidate takes the Lease when nobody holds it, or when the holder has
//   not renewed it for leaseDurationSeconds. "Not renewed" is judged by when
//   *we* last saw the Lease change (local clock), never by the holder's
//   timestamps, so clock skew between machines cannot cause two leaders.
// - Writes are updates with the read resourceVersion: two candidates racing
//   for an expired Lease cannot both win.
// - The leader renews every retry period; if it cannot renew for the renew
//   deadline it stops leading (its work must stop before the Lease can
//   expire for the others: renew deadline < lease duration).
// - Stopping releases the Lease (holder cleared, duration 1 s) so a
//   successor takes over at its next retry instead of after the full lease.
import { isNotFound, resources, type ApiClient, type KubeObject } from './interface.ts';

export interface LeaderElectionLogger {
  info(message: string): void;
  warn(message: string): void;
}

/** Warnings to stderr; routine information dropped. */
const defaultLogger: LeaderElectionLogger = {
  info() {},
  warn(message) {
    process.stderr.write(`${message}\n`);
  },
};

export interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

export interface LeaderElectorOptions {
  client: ApiClient;
  namespace: string;
  name: string;
  /** Unique per candidate: hostname plus a random id. */
  identity: string;
  /** How long a Lease holds without renewal. Default 15 s (whole seconds on the Lease). */
  leaseDurationMs?: number;
  /** A leader that could not renew for this long steps down. Default 10 s. */
  renewDeadlineMs?: number;
  /** Between attempts to acquire or renew. Default 2 s. */
  retryPeriodMs?: number;
  /** Called when this candidate becomes leader; awaited before renewing starts. */
  onStartedLeading: () => void | Promise<void>;
  /** Called when leadership ends (lost, or stop()); awaited before the Lease is released. */
  onStoppedLeading: () => void | Promise<void>;
  /** Clear the Lease on stop() so a successor need not wait for it to expire (default true, as upstream's ReleaseOnCancel). */
  releaseOnStop?: boolean;
  /** Called when the observed holder changes (including to us). */
  onNewLeader?: (identity: string) => void;
  logger?: LeaderElectionLogger;
}

export interface LeaderElector {
  start(): void;
  /** Stop leading (callbacks run) and release the Lease if held; then stop competing. */
  stop(): Promise<void>;
  isLeader(): boolean;
  /** The holder last observed. */
  leader(): string | undefined;
}

/** metav1.MicroTime: RFC 3339 with microseconds. */
const microTime = (ms: number) => new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

/** Upstream's wait.Jitter(period, 1.2): a random 0–120% on top, so candidates do not retry in step. */
const jitter = (ms: number) => ms + Math.random() * 1.2 * ms;

class LeaseElector implements LeaderElector {
  private readonly o: LeaderElectorOptions;
  private readonly logger: LeaderElectionLogger;
  private readonly leaseMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryMs: number;
  private observed: LeaseSpec | undefined;
  private observedRaw = '';
  private observedAt = 0;
  private leading = false;
  private stopped = false;
  private loop: Promise<void> | undefined;
  private sleeper: { timer: NodeJS.Timeout; wake: () => void } | undefined;

  constructor(options: LeaderElectorOptions) {
    this.o = options;
    this.logger = options.logger ?? defaultLogger;
    this.leaseMs = options.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
    this.retryMs = options.retryPeriodMs ?? 2_000;
    if (this.renewDeadlineMs >= this.leaseMs) throw new Error('leader election: the renew deadline must be shorter than the lease duration');
  }

  start(): void {
    this.loop ??= this.run().catch((error) => this.logger.warn(`leader election ${this.describe()}: stopped by ${(error as Error)?.stack ?? error}`));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake();
    await this.loop;
  }

  isLeader(): boolean {
    return this.leading;
  }

  leader(): string | undefined {
    return this.observed?.holderIdentity || undefined;
  }

  private describe(): string {
    return `${this.o.namespace}/${this.o.name}`;
  }

  private get ref() {
    return { ...resources.leases, namespace: this.o.namespace, name: this.o.name };
  }

  private sleep(ms: number): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = () => {
        this.sleeper = undefined;
        resolve();
      };
      this.sleeper = { timer: setTimeout(wake, ms), wake };
    });
  }

  private wake(): void {
    if (!this.sleeper) return;
    clearTimeout(this.sleeper.timer);
    this.sleeper.wake();
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      if (!(await this.tryAcquireOrRenew())) {
        await this.sleep(jitter(this.retryMs));
        continue;
      }
      this.leading = true;
      this.logger.info(`leader election ${this.describe()}: ${this.o.identity} is leading`);
      await this.call('onStartedLeading', this.o.onStartedLeading);
      let renewedAt = Date.now();
      while (!this.stopped) {
        await this.sleep(this.retryMs);
        if (this.stopped) break;
        if (await this.tryAcquireOrRenew()) renewedAt = Date.now();
        else if (this.leader() !== undefined && this.leader() !== this.o.identity) {
          this.logger.warn(`leader election ${this.describe()}: ${this.leader()} took the lease from ${this.o.identity}`);
          break;
        } else if (Date.now() - renewedAt >= this.renewDeadlineMs) {
          this.logger.warn(`leader election ${this.describe()}: ${this.o.identity} could not renew for ${this.renewDeadlineMs} ms, stepping down`);
          break;
        }
      }
      this.leading = false;
      await this.call('onStoppedLeading', this.o.onStoppedLeading);
      if (this.stopped && this.o.releaseOnStop !== false) await this.release();
    }
  }

  private async call(name: string, fn: () => void | Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (error) {
      this.logger.warn(`leader election ${this.describe()}: ${name} failed: ${(error as Error)?.message ?? error}`);
    }
  }

  private observe(spec: LeaseSpec | undefined): void {
    const raw = JSON.stringify(spec ?? {});
    if (raw === this.observedRaw) return;
    const previousHolder = this.observed?.holderIdentity;
    this.observed = spec;
    this.observedRaw = raw;
    this.observedAt = Date.now();
    const holder = spec?.holderIdentity;
    if (holder && holder !== previousHolder) this.o.onNewLeader?.(holder);
  }

  private newSpec(now: number, previous: LeaseSpec | undefined): LeaseSpec {
    const mine = previous?.holderIdentity === this.o.identity;
    return {
      holderIdentity: this.o.identity,
      leaseDurationSeconds: Math.max(1, Math.round(this.leaseMs / 1000)),
      acquireTime: mine && previous?.acquireTime ? previous.acquireTime : microTime(now),
      renewTime: microTime(now),
      leaseTransitions: (previous?.leaseTransitions ?? 0) + (mine || !previous ? 0 : 1),
    };
  }

  /** One attempt; false on any failure (the loop decides what a failure means). */
  private async tryAcquireOrRenew(): Promise<boolean> {
    const now = Date.now();
    let lease: KubeObject;
    try {
      lease = await this.o.client.get(this.ref);
    } catch (error) {
      if (!isNotFound(error)) {
        this.logger.warn(`leader election ${this.describe()}: reading the lease: ${(error as Error).message}`);
        return false;
      }
      try {
        const created = await this.o.client.create({ ...resources.leases, namespace: this.o.namespace }, {
          apiVersion: 'coordination.k8s.io/v1', kind: 'Lease',
          metadata: { name: this.o.name, namespace: this.o.namespace },
          spec: this.newSpec(now, undefined),
        });
        this.observe(created.spec as LeaseSpec);
        return true;
      } catch {
        return false; // another candidate created it first
      }
    }
    const spec = (lease.spec ?? {}) as LeaseSpec;
    this.observe(spec);
    const holder = spec.holderIdentity;
    const durationMs = (spec.leaseDurationSeconds ?? Math.round(this.leaseMs / 1000)) * 1000;
    if (holder && holder !== this.o.identity && this.observedAt + durationMs > now) return false;
    try {
      const updated = await this.o.client.update(this.ref, { ...lease, spec: this.newSpec(now, spec) });
      this.observe(updated.spec as LeaseSpec);
      return true;
    } catch {
      return false; // a conflict: someone else wrote it since we read it
    }
  }

  private async release(): Promise<void> {
    if (this.observed?.holderIdentity !== this.o.identity) return;
    try {
      const lease = await this.o.client.get(this.ref);
      if ((lease.spec as LeaseSpec | undefined)?.holderIdentity !== this.o.identity) return;
      const now = microTime(Date.now());
      const spec: LeaseSpec = {
        holderIdentity: '', leaseDurationSeconds: 1, acquireTime: now, renewTime: now,
        leaseTransitions: (lease.spec as LeaseSpec).leaseTransitions ?? 0,
      };
      await this.o.client.update(this.ref, { ...lease, spec });
      this.observe(spec);
    } catch (error) {
      this.logger.warn(`leader election ${this.describe()}: releasing the lease: ${(error as Error).message}`);
    }
  }
}

export function createLeaderElector(options: LeaderElectorOptions): LeaderElector {
  return new LeaseElector(options);
}
