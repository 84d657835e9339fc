// The side client of the scale run: mutating API calls on small objects at a
// bounded rate while the cluster fills up — upstream's SLO is on exactly
// these (p99 of mutating calls ≤ 1 s). It alternates creating a pod and
// patching an annotation of the newest one created, in a namespace of its own, with
// a schedulerName no scheduler serves (they stay Pending and cost the
// scheduler nothing). The census's pod watch hands back their events: create
// or patch acknowledged → its event on the all-pods watch = the watch lag.
import { performance } from 'node:perf_hooks';
import type { Client } from '../lib/http2-client.ts';
import type { PodEvent } from './pod-census.ts';

export interface ProbeOptions {
  client: Client;
  namespace: string;
  /** Mutating calls per second (creates and patches alternate). */
  rate: number;
  /** Calls in flight at most; a tick that finds them all busy is skipped (and counted). */
  maxInFlight?: number;
  /** A call not answered in this time counts as an error with this latency. */
  timeoutMs?: number;
}

export interface Sample {
  verb: 'create' | 'patch';
  /** performance.now() when issued and when answered. */
  issued: number;
  answered: number;
  ok: boolean;
}

const SEQ_ANNOTATION = 'bench.skiff.dev/seq';
const UNSERVED_SCHEDULER = 'bench-scale-nobody';

export class Probe {
  readonly #o: ProbeOptions;
  readonly samples: Sample[] = [];
  /** Expected watch event key (`name` for a create, `name#seq` for a patch) → when the call was answered. */
  readonly #awaiting = new Map<string, number>();
  /** Acknowledged → event received, ms (0 when the event came first). */
  readonly lagMs: number[] = [];
  /** performance.now() of each lag sample (for per-window figures). */
  readonly lagAt: number[] = [];
  readonly #early = new Map<string, number>();
  readonly errors = new Map<string, number>();
  firstError: string | undefined;
  skipped = 0;
  #inFlight = 0;
  #seq = 0;
  /** Probe pods whose create was answered, oldest first. */
  readonly #created: string[] = [];
  #timer: NodeJS.Timeout | undefined;
  readonly #pending = new Set<Promise<void>>();

  constructor(options: ProbeOptions) {
    this.#o = options;
  }

  start(): void {
    this.#timer = setInterval(() => this.#tick(), 1000 / this.#o.rate);
  }

  /** Stops issuing and waits for the calls in flight. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await Promise.all([...this.#pending]);
  }

  /** Watch events still awaited (lost or not yet delivered). */
  get missingEvents(): number {
    return this.#awaiting.size;
  }

  onWatchEvent(event: PodEvent, at: number): void {
    const meta = event.object.metadata;
    const key = event.type === 'ADDED' ? meta.name : event.type === 'MODIFIED' && meta.annotations?.[SEQ_ANNOTATION] ? `${meta.name}#${meta.annotations[SEQ_ANNOTATION]}` : undefined;
    if (key === undefined) return;
    const answered = this.#awaiting.get(key);
    if (answered === undefined) {
      this.#early.set(key, at); // arrived before its call was answered
      return;
    }
    this.#awaiting.delete(key);
    this.#lag(Math.max(0, at - answered), at);
  }

  #lag(ms: number, at: number): void {
    this.lagMs.push(ms);
    this.lagAt.push(at);
  }

  #tick(): void {
    if (this.#inFlight >= (this.#o.maxInFlight ?? 16)) {
      this.skipped++;
      return;
    }
    const seq = this.#seq++;
    // Creates and patches alternate; a patch goes to the newest probe pod whose create was answered
    // (one still in flight would answer 404), so with none yet the tick creates.
    const target = this.#created.at(-1);
    const call = seq % 2 === 0 || target === undefined
      ? this.#call('create', `probe-${seq}`, 'POST', `/api/v1/namespaces/${this.#o.namespace}/pods`, JSON.stringify(probePod(`probe-${seq}`)), undefined)
      : this.#call('patch', `${target}#${seq}`, 'PATCH', `/api/v1/namespaces/${this.#o.namespace}/pods/${target}`,
        JSON.stringify({ metadata: { annotations: { [SEQ_ANNOTATION]: String(seq) } } }), 'application/merge-patch+json');
    this.#pending.add(call);
    void call.finally(() => this.#pending.delete(call));
  }

  async #call(verb: Sample['verb'], key: string, method: string, path: string, body: string, contentType: string | undefined): Promise<void> {
    this.#inFlight++;
    const issued = performance.now();
    let status = 0;
    let problem: string | undefined;
    try {
      const r = await this.#o.client.request(method, path, body, { timeoutMs: this.#o.timeoutMs ?? 30_000, contentType });
      status = r.status;
      if (status !== 200 && status !== 201) problem = `${verb} ${path}: HTTP ${status}: ${r.body.slice(0, 200)}`;
    } catch (error) {
      problem = `${verb} ${path}: ${(error as Error).message}`;
    } finally {
      this.#inFlight--;
    }
    const answered = performance.now();
    this.samples.push({ verb, issued, answered, ok: problem === undefined });
    if (problem !== undefined) {
      const kind = `${verb}: ${status ? `HTTP ${status}` : 'no answer'}`;
      this.errors.set(kind, (this.errors.get(kind) ?? 0) + 1);
      this.firstError ??= problem;
      return;
    }
    if (verb === 'create') this.#created.push(key);
    const early = this.#early.get(key);
    if (early !== undefined) {
      this.#early.delete(key);
      this.#lag(0, early);
    } else {
      this.#awaiting.set(key, answered);
    }
  }
}

function probePod(name: string) {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: { app: 'bench-scale-probe' } },
    spec: {
      schedulerName: UNSERVED_SCHEDULER,
      terminationGracePeriodSeconds: 0,
      containers: [{ name: 'app', image: 'registry.k8s.io/pause:3.9' }],
    },
  };
}
