// One watch on all pods (like an informer): counts the workload's pods that
// exist, are bound and are Running, stamps when each count reached its target,
// and hands the probe namespace's events to the probe (watch lag). When the
// server ends the watch early it resumes from the last resourceVersion; after
// an ERROR event (e.g. 410 Expired) it lists again (paged) and re-watches —
// every restart is counted, since each one is a sign of trouble at scale.
import { performance } from 'node:perf_hooks';
import type { Client } from '../lib/http2-client.ts';

export interface PodEvent {
  type: string;
  object: {
    metadata: { name: string; namespace: string; resourceVersion?: string; annotations?: Record<string, string> };
    spec?: { nodeName?: string };
    status?: { phase?: string };
  };
}

export interface CensusOptions {
  client: Client;
  /** The namespace whose pods are counted. */
  workloadNamespace: string;
  /** The pods expected there (for the "all bound/running" times). */
  target: number;
  /** Events of pods in this namespace go to onProbeEvent. */
  probeNamespace: string;
  onProbeEvent: (event: PodEvent, at: number) => void;
  log: (message: string) => void;
  /** HTTP/2 receive window of the watch (bytes): large, so this reader is not what slows delivery. */
  windowBytes?: number;
}

/** A pod's progress: 0 pending, 1 bound, 2 Running. */
const State = { Pending: 0, Bound: 1, Running: 2 } as const;
type State = typeof State[keyof typeof State];

export class PodCensus {
  readonly #o: CensusOptions;
  readonly #pods = new Map<string, State>();
  #stream: { stop(): void } | undefined;
  #stopped = false;
  #resourceVersion = '';
  #restarting: Promise<void> | undefined;
  created = 0;
  bound = 0;
  running = 0;
  events = 0;
  restarts = 0;
  relists = 0;
  /** performance.now() when the counts reached the target. */
  allCreatedAt: number | undefined;
  allBoundAt: number | undefined;
  allRunningAt: number | undefined;
  /** What made the watch restart, for the report. */
  readonly problems: string[] = [];

  constructor(options: CensusOptions) {
    this.#o = options;
  }

  async start(): Promise<void> {
    await this.#open();
  }

  stop(): void {
    this.#stopped = true;
    this.#stream?.stop();
  }

  async #open(): Promise<void> {
    const rv = this.#resourceVersion ? `&resourceVersion=${this.#resourceVersion}` : '';
    this.#stream = await this.#o.client.openLineStream(`/api/v1/pods?watch=1&timeoutSeconds=86400${rv}`,
      (text, at) => this.#onLine(text, at),
      (error) => this.#restart(`the pod watch ended early${error ? `: ${error.message}` : ''}`, false),
      { windowBytes: this.#o.windowBytes ?? 16 * 2 ** 20 });
  }

  #restart(problem: string, relist: boolean): void {
    if (this.#stopped || this.#restarting) return;
    this.restarts++;
    if (this.problems.length < 10) this.problems.push(problem);
    this.#o.log(`census: ${problem}; ${relist ? 'listing again' : `resuming from resourceVersion ${this.#resourceVersion}`}`);
    this.#stream?.stop();
    this.#restarting = (async () => {
      for (let attempt = 1; !this.#stopped; attempt++) {
        try {
          if (relist) await this.#relist();
          await this.#open();
          return;
        } catch (error) {
          this.#o.log(`census: re-watch attempt ${attempt} failed: ${(error as Error).message}`);
          relist = true;
          await new Promise((resolve) => setTimeout(resolve, Math.min(5000, 500 * attempt)));
        }
      }
    })().finally(() => { this.#restarting = undefined; });
  }

  /** A paged LIST of all pods (500 a page, as client-go's pager), then the counts again from it. */
  async #relist(): Promise<void> {
    this.relists++;
    this.#pods.clear();
    this.created = this.bound = this.running = 0;
    let token = '';
    for (let page = 0; page < 100_000; page++) {
      const body = await this.#o.client.expect('GET', `/api/v1/pods?limit=500${token ? `&continue=${encodeURIComponent(token)}` : ''}`, 200, undefined, { timeoutMs: 60_000 });
      const list = JSON.parse(body) as { metadata: { resourceVersion: string; continue?: string }; items: PodEvent['object'][] };
      const at = performance.now();
      for (const pod of list.items) this.#apply('ADDED', pod, at, false);
      this.#resourceVersion = list.metadata.resourceVersion;
      if (!list.metadata.continue) return;
      token = list.metadata.continue;
    }
  }

  #onLine(text: string, at: number): void {
    this.events++;
    const event = JSON.parse(text) as PodEvent;
    if (event.type === 'ERROR') {
      this.#restart(`the pod watch sent an error: ${text.slice(0, 200)}`, true);
      return;
    }
    if (event.type === 'BOOKMARK') {
      if (event.object.metadata.resourceVersion) this.#resourceVersion = event.object.metadata.resourceVersion;
      return;
    }
    this.#apply(event.type, event.object, at, true);
    if (event.object.metadata.resourceVersion) this.#resourceVersion = event.object.metadata.resourceVersion;
    if (event.object.metadata.namespace === this.#o.probeNamespace) this.#o.onProbeEvent(event, at);
  }

  #apply(type: string, pod: PodEvent['object'], at: number, live: boolean): void {
    if (pod.metadata.namespace !== this.#o.workloadNamespace) return;
    const key = pod.metadata.name;
    const before = this.#pods.get(key);
    if (type === 'DELETED') {
      if (before === undefined) return;
      this.#pods.delete(key);
      this.created--;
      if (before >= State.Bound) this.bound--;
      if (before === State.Running) this.running--;
      return;
    }
    const now: State = pod.status?.phase === 'Running' ? State.Running : pod.spec?.nodeName ? State.Bound : State.Pending;
    this.#pods.set(key, now);
    if (before === undefined) this.created++;
    if ((before ?? State.Pending) < State.Bound && now >= State.Bound) this.bound++;
    if (before !== State.Running && now === State.Running) this.running++;
    if (before === State.Running && now !== State.Running) this.running--;
    const target = this.#o.target;
    const stamp = live ? at : performance.now();
    if (this.allCreatedAt === undefined && this.created >= target) this.allCreatedAt = stamp;
    if (this.allBoundAt === undefined && this.bound >= target) this.allBoundAt = stamp;
    if (this.allRunningAt === undefined && this.running >= target) this.allRunningAt = stamp;
  }
}
