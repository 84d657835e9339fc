// Pods through the API at a fixed rate, and a watch that stamps when each is
// first seen Running and Ready — the client side of the pod-startup SLI
// (upstream's "create → Running and Ready, as observed by a watch").
import { performance } from 'node:perf_hooks';
import type { Client } from '../lib/http2-client.ts';
import { Deadline, sleep } from '../lib/env.ts';
import { BENCH_IMAGE } from './image.ts';

export interface PodTimes {
  name: string;
  /** performance.now() right before the POST was sent: the pod's "create" instant. */
  sentAt: number;
  /** When the POST's answer arrived. */
  createdAt?: number;
  /** First watch event with spec.nodeName set (the scheduler's binding). */
  scheduledAt?: number;
  /** First watch event with phase Running. */
  runningAt?: number;
  /** First watch event with condition Ready=True. */
  readyAt?: number;
  /** The pod's own metadata.creationTimestamp and its Ready condition's lastTransitionTime (RFC 3339, whole seconds). */
  creationTimestamp?: string;
  readyTransitionTime?: string;
}

interface WatchedPod {
  metadata: { name: string; creationTimestamp?: string };
  spec?: { nodeName?: string };
  status?: { phase?: string; conditions?: { type: string; status: string; lastTransitionTime?: string }[] };
}

/** The pod the SLI starts: busybox `sleep`, no probe, so Ready follows Running at once. */
export function podManifest(name: string): object {
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name, labels: { app: 'bench-pod-startup' } },
    spec: {
      // `sleep` as PID 1 ignores SIGTERM: a short grace keeps deletion quick.
      terminationGracePeriodSeconds: 1,
      containers: [{ name: 'sleep', image: BENCH_IMAGE, imagePullPolicy: 'IfNotPresent', command: ['/bin/sleep', '3600'] }],
    },
  };
}

/** One pod watch for the whole run; phases register the pods they create. */
export class PodWatch {
  readonly #pods = new Map<string, PodTimes>();
  readonly #present = new Set<string>();
  #stream: { stop(): void } | undefined;
  #failure: Error | undefined;

  static async open(options: { client: Client; namespace: string }): Promise<PodWatch> {
    const watch = new PodWatch();
    const base = `/api/v1/namespaces/${options.namespace}/pods`;
    const list = JSON.parse(await options.client.expect('GET', base, 200)) as { metadata: { resourceVersion: string }; items: WatchedPod[] };
    for (const pod of list.items) watch.#present.add(pod.metadata.name);
    watch.#stream = await options.client.openLineStream(
      `${base}?watch=1&resourceVersion=${list.metadata.resourceVersion}&allowWatchBookmarks=true`,
      (line, at) => watch.#onEvent(line, at),
      (error) => (watch.#failure = new Error(`the pod watch ended${error ? `: ${error.message}` : ''}`)),
      { windowBytes: 16 * 2 ** 20 },
    );
    return watch;
  }

  #onEvent(line: string, at: number): void {
    const event = JSON.parse(line) as { type: string; object: WatchedPod };
    if (event.type === 'BOOKMARK') return;
    if (event.type === 'ERROR') {
      this.#failure = new Error(`the pod watch sent an error: ${line.slice(0, 300)}`);
      return;
    }
    const pod = event.object;
    const name = pod.metadata.name;
    if (event.type === 'DELETED') {
      this.#present.delete(name);
      return;
    }
    this.#present.add(name);
    const times = this.#pods.get(name);
    if (!times) return;
    times.creationTimestamp ??= pod.metadata.creationTimestamp;
    if (times.scheduledAt === undefined && pod.spec?.nodeName) times.scheduledAt = at;
    if (times.runningAt === undefined && pod.status?.phase === 'Running') times.runningAt = at;
    const ready = pod.status?.conditions?.find((c) => c.type === 'Ready');
    if (times.readyAt === undefined && ready?.status === 'True') {
      times.readyAt = at;
      times.readyTransitionTime = ready.lastTransitionTime;
    }
  }

  track(times: PodTimes): void {
    this.#pods.set(times.name, times);
  }

  /** Pods the watch last saw existing (not yet DELETED). */
  get presentCount(): number {
    return this.#present.size;
  }

  check(): void {
    if (this.#failure) throw this.#failure;
  }

  stop(): void {
    this.#stream?.stop();
  }
}

export interface CreateAtRateOptions {
  client: Client;
  watch: PodWatch;
  namespace: string;
  /** Pod names are `${prefix}-${i}`. */
  prefix: string;
  count: number;
  perSecond: number;
  deadline: Deadline;
  log: (message: string) => void;
}

/** Sends `count` pod creates, one every 1/perSecond s on a fixed schedule (a slow answer never delays the next send). */
export async function createAtRate(options: CreateAtRateOptions): Promise<PodTimes[]> {
  const { client, watch, namespace, count, perSecond, deadline } = options;
  const t0 = performance.now();
  const all: PodTimes[] = [];
  const answers: Promise<void>[] = [];
  let failure: unknown;
  for (let i = 0; i < count; i++) {
    deadline.check('creating pods');
    watch.check();
    const wait = t0 + (i * 1000) / perSecond - performance.now();
    if (wait > 0) await sleep(wait);
    const times: PodTimes = { name: `${options.prefix}-${i}`, sentAt: 0 };
    watch.track(times);
    all.push(times);
    times.sentAt = performance.now();
    // Handled at once, so a failure is never an unhandled rejection while later creates are still paced.
    answers.push(client.expect('POST', `/api/v1/namespaces/${namespace}/pods`, 201, podManifest(times.name)).then(() => {
      times.createdAt = performance.now();
    }, (error: unknown) => {
      failure ??= error;
    }));
    if (failure) break;
    if ((i + 1) % Math.max(1, Math.round(perSecond * 10)) === 0) options.log(`${options.prefix}: ${i + 1}/${count} created`);
  }
  await Promise.all(answers);
  if (failure) throw failure;
  return all;
}

/** Polls (every 100 ms) until `done` holds (true) or `limitMs` passed (false); the run's deadline throws. */
export async function waitUntil(options: { what: string; limitMs: number; deadline: Deadline; watch: PodWatch; done: () => boolean; progress?: () => string; log: (m: string) => void }): Promise<boolean> {
  const t0 = performance.now();
  let lastLog = t0;
  while (!options.done()) {
    options.deadline.check(options.what);
    options.watch.check();
    if (performance.now() - t0 > options.limitMs) {
      options.log(`${options.what}: not done after ${options.limitMs / 1000}s${options.progress ? ` (${options.progress()})` : ''}`);
      return false;
    }
    if (performance.now() - lastLog > 5000) {
      lastLog = performance.now();
      options.log(`${options.what}: ${((lastLog - t0) / 1000).toFixed(0)}s${options.progress ? `, ${options.progress()}` : ''}`);
    }
    await sleep(100);
  }
  return true;
}
