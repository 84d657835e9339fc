// The pod side of all hollow nodes: ONE list+watch of pods for the whole
// simulation (never one per node, so ten thousand nodes cost one stream),
// keeping only pods bound to our nodes. Each change enqueues the pod's key;
// workers (bounded by the shared write limiter) read the newest cached pod
// and take one step: start a pending pod (status Running, IP, Ready) or
// finish a deletion (delete with grace 0, as a kubelet does once containers
// are gone). Level-triggered: after a restart or a 410 the relist replays
// everything, and the same pod always leads to the same step.
import { withoutManagedFields } from '../../client/informer.ts';
import { ApiStatusError, isConflict, isNotFound, resources, type ApiClient, type KubeObject, type WatchStream } from '../../client/interface.ts';
import { parseCidr, PodIpPool } from './ipam.ts';
import { KeyedQueue, type Limiter } from './limiter.ts';
import { decidePodAction, isTerminal, lostReadiness, podIpOf, podNodeName, rfc3339, runningConditions, runningPodStatus, usesHostNetwork } from './pod-status.ts';
import type { RegisteredNode } from './register.ts';

export interface PodSimulatorOptions {
  client: ApiClient;
  limiter: Limiter;
  nodes: RegisteredNode[];
  now: () => Date;
  warn: (message: string) => void;
  /** Page size of the (re)list; bounds one response however many pods exist. */
  listPageSize?: number;
  /** Least time between two watch starts, so a server that ends every watch at once is not hammered. Default 1 s. */
  minWatchSpacingMs?: number;
}

export interface PodStats {
  started: number;
  deleted: number;
  conflicts: number;
  failures: number;
  relists: number;
  /** Pods bound to our nodes that we currently know. */
  known: number;
  /** Pods waiting because their node's pod range is full. */
  waitingForIp: number;
}

interface NodeRuntime {
  hostIp: string;
  pool: PodIpPool;
  /** Keys of pods waiting for an address on this node. */
  waiting: Set<string>;
}

const keyOf = (pod: KubeObject) => `${pod.metadata.namespace}/${pod.metadata.name}`;
const sleep = (ms: number, signal: AbortSignal) => new Promise<void>((resolve) => {
  const timer = setTimeout(resolve, ms);
  signal.addEventListener('abort', () => { clearTimeout(timer); resolve(); }, { once: true });
});

export class PodSimulator {
  private readonly options: PodSimulatorOptions;
  private readonly nodes = new Map<string, NodeRuntime>();
  private readonly cache = new Map<string, KubeObject>();
  /** Pods we reported Running (by uid), so a stale cached copy never starts one twice. */
  private readonly started = new Set<string>();
  /**
   * Pods whose final delete we sent: uid → the resourceVersion we sent it for.
   * Sent again only when the pod changed since (a finalizer removed), as a
   * kubelet retries until the pod is gone — once per change, never in a loop.
   */
  private readonly deleting = new Map<string, string | undefined>();
  /** Pods of a node whose heartbeats just resumed: their readiness is re-reported once. */
  private readonly recheckReady = new Set<string>();
  private readonly queue: KeyedQueue;
  private readonly abort = new AbortController();
  private watch: WatchStream | undefined;
  private loop: Promise<void> | undefined;
  private resourceVersion = '';
  private firstSync: { promise: Promise<void>; resolve: () => void };
  readonly stats = { started: 0, deleted: 0, conflicts: 0, failures: 0, relists: 0 };

  constructor(options: PodSimulatorOptions) {
    this.options = options;
    for (const node of options.nodes) {
      this.nodes.set(node.identity.name, { hostIp: node.identity.internalIp, pool: new PodIpPool(parseCidr(node.podCidr)), waiting: new Set() });
    }
    this.queue = new KeyedQueue({
      limiter: options.limiter,
      handler: (key) => this.sync(key),
      onError: (key, error) => {
        this.stats.failures++;
        options.warn(`pod ${key}: ${(error as Error)?.message ?? error}`);
      },
    });
    let resolve!: () => void;
    this.firstSync = { promise: new Promise<void>((r) => { resolve = r; }), resolve };
  }

  start(): void {
    this.loop = this.run();
  }

  /** Resolves once the first list has been read and everything it queued is done. */
  async synced(): Promise<void> {
    await this.firstSync.promise;
    await this.queue.idle();
  }

  /** Resolves when no pod work is queued or running. */
  idle(): Promise<void> {
    return this.queue.idle();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    this.watch?.stop();
    this.queue.stop();
    await this.loop;
    // Writes already sent finish, so the caller may close the client next.
    await this.queue.idle();
  }

  /**
   * A node's heartbeats resumed: like a kubelet's status sync after it
   * reconnects, report Ready again for its running pods that were marked
   * not ready while it was silent.
   */
  nodeResumed(nodeName: string): void {
    for (const [key, pod] of this.cache) {
      if (podNodeName(pod) !== nodeName) continue;
      this.recheckReady.add(key);
      this.queue.add(key);
    }
  }

  podStats(): PodStats {
    let waitingForIp = 0;
    for (const node of this.nodes.values()) waitingForIp += node.waiting.size;
    return { ...this.stats, known: this.cache.size, waitingForIp };
  }

  /** List, then watch from the list's version; relist when the watch cannot resume. */
  private async run(): Promise<void> {
    const signal = this.abort.signal;
    let failures = 0;
    let needList = true;
    let lastWatch = -Infinity;
    const spacing = this.options.minWatchSpacingMs ?? 1000;
    while (!signal.aborted) {
      try {
        const wait = lastWatch + spacing - performance.now();
        if (wait > 0) await sleep(wait, signal);
        if (signal.aborted) break;
        lastWatch = performance.now();
        if (needList) {
          await this.relist();
          needList = false;
          this.firstSync.resolve();
        }
        needList = await this.watchOnce();
        failures = 0;
      } catch (error) {
        if (signal.aborted) break;
        needList = true;
        // A watch refused as too old (410 at setup rather than as an event) is routine: just relist.
        if (error instanceof ApiStatusError && error.code === 410) continue;
        failures++;
        this.options.warn(`pod watch: ${(error as Error)?.message ?? error}; relisting`);
        await sleep(Math.min(10_000, 100 * 2 ** Math.min(failures, 7)), signal);
      }
    }
  }

  private async relist(): Promise<void> {
    this.stats.relists++;
    const seen = new Set<string>();
    let continueToken: string | undefined;
    let version = '';
    do {
      const page = await this.options.client.list(resources.pods, { limit: this.options.listPageSize ?? 1000, continue: continueToken });
      // Every page carries the first page's snapshot version upstream; watching from
      // the first one can only replay changes (harmless), never miss them.
      if (!version) version = page.metadata.resourceVersion ?? '';
      for (const pod of page.items) {
        if (!this.isOurs(pod)) continue;
        seen.add(keyOf(pod));
        this.upsert(pod);
      }
      continueToken = page.metadata.continue || undefined;
    } while (continueToken && !this.abort.signal.aborted);
    // Pods deleted while we were not watching.
    for (const [key, pod] of this.cache) if (!seen.has(key)) this.forget(pod);
    this.resourceVersion = version;
  }

  /** One watch stream until it ends; true when a relist is needed (410 / ERROR). */
  private async watchOnce(): Promise<boolean> {
    const stream = this.options.client.watch(resources.pods, { resourceVersion: this.resourceVersion, allowWatchBookmarks: true });
    this.watch = stream;
    if (this.abort.signal.aborted) stream.stop();
    try {
      for await (const event of stream) {
        const object = event.object;
        const version = object?.metadata?.resourceVersion;
        switch (event.type) {
          case 'BOOKMARK':
            break;
          case 'ERROR': {
            const status = object as unknown as { code?: number; message?: string };
            if (status.code !== 410) this.options.warn(`pod watch error: ${status.message ?? JSON.stringify(status)}`);
            return true;
          }
          case 'DELETED': {
            const cached = this.cache.get(keyOf(object));
            if (cached && cached.metadata.uid === object.metadata.uid) this.forget(cached);
            break;
          }
          default:
            this.upsert(object);
        }
        if (version) this.resourceVersion = version;
      }
    } finally {
      this.watch = undefined;
    }
    // The server ended the stream (timeout): resume from where we are.
    return false;
  }

  private isOurs(pod: KubeObject): boolean {
    const nodeName = podNodeName(pod);
    return nodeName !== undefined && this.nodes.has(nodeName);
  }

  /** Take in the newest copy of a pod and queue it. */
  private upsert(received: KubeObject): void {
    // The cache holds every pod of every hollow node: without managedFields (never read here) a pod is half the size.
    const pod = withoutManagedFields(received);
    const key = keyOf(pod);
    const cached = this.cache.get(key);
    if (cached && cached.metadata.uid !== pod.metadata.uid) this.forget(cached);
    if (!this.isOurs(pod)) return;
    this.cache.set(key, pod);
    const node = this.nodes.get(podNodeName(pod)!)!;
    const uid = pod.metadata.uid!;
    const ip = podIpOf(pod);
    if (isTerminal(pod)) {
      // A finished pod's sandbox is gone: its address may be reused (the status keeps showing it, as upstream).
      this.releaseIp(node, uid);
    } else if (ip && !usesHostNetwork(pod) && !node.pool.holds(uid)) {
      // Running from before a restart: keep its address out of the pool.
      node.pool.adopt(uid, ip);
    }
    this.queue.add(key);
  }

  /** The pod is gone (deleted, or moved out of our view): drop all state about it. */
  private forget(pod: KubeObject): void {
    const key = keyOf(pod);
    const uid = pod.metadata.uid!;
    this.cache.delete(key);
    this.started.delete(uid);
    this.deleting.delete(uid);
    this.recheckReady.delete(key);
    this.queue.forget(key);
    const node = this.nodes.get(podNodeName(pod) ?? '');
    if (node) {
      node.waiting.delete(key);
      this.releaseIp(node, uid);
    }
  }

  private releaseIp(node: NodeRuntime, uid: string): void {
    if (!node.pool.release(uid)) return;
    // One address freed: let one waiting pod try again.
    const next = node.waiting.values().next();
    if (!next.done) {
      node.waiting.delete(next.value);
      this.queue.add(next.value);
    }
  }

  private async sync(key: string): Promise<void> {
    const pod = this.cache.get(key);
    if (!pod) return;
    const action = decidePodAction(pod);
    if (action.kind === 'finish-deletion') await this.finishDeletion(pod);
    else if (action.kind === 'start') await this.startPod(key, pod);
    else if (this.recheckReady.delete(key) && lostReadiness(pod)) await this.restoreReady(key, pod);
  }

  private async restoreReady(key: string, pod: KubeObject): Promise<void> {
    const ref = { ...resources.pods, namespace: pod.metadata.namespace, name: pod.metadata.name, subresource: 'status' };
    try {
      await this.options.client.patch(ref, 'merge', {
        metadata: { resourceVersion: pod.metadata.resourceVersion },
        status: { conditions: runningConditions(pod, rfc3339(this.options.now())) },
      });
    } catch (error) {
      if (isNotFound(error)) return;
      if (!isConflict(error)) throw error;
      this.stats.conflicts++;
      this.recheckReady.add(key);
      await this.reread(key, pod);
    }
  }

  private async finishDeletion(pod: KubeObject): Promise<void> {
    const uid = pod.metadata.uid!;
    const version = pod.metadata.resourceVersion;
    if (this.deleting.has(uid) && this.deleting.get(uid) === version) return;
    this.deleting.set(uid, version);
    try {
      await this.options.client.delete(
        { ...resources.pods, namespace: pod.metadata.namespace, name: pod.metadata.name },
        { gracePeriodSeconds: 0, preconditions: { uid } },
      );
      this.stats.deleted++;
    } catch (error) {
      // Gone already, or a new pod of the same name (uid precondition): nothing left to do.
      if (isNotFound(error) || isConflict(error)) return;
      this.deleting.delete(uid);
      throw error;
    }
  }

  private async startPod(key: string, pod: KubeObject): Promise<void> {
    const uid = pod.metadata.uid!;
    if (this.started.has(uid)) return;
    const node = this.nodes.get(podNodeName(pod)!)!;
    const podIp = usesHostNetwork(pod) ? node.hostIp : node.pool.allocate(uid);
    if (!podIp) {
      if (!node.waiting.has(key)) {
        node.waiting.add(key);
        this.options.warn(`pod ${key} waits: no free address in the pod range of node ${podNodeName(pod)} (${node.pool.capacity} addresses)`);
      }
      return;
    }
    node.waiting.delete(key);
    const status = runningPodStatus({ pod, podIp, hostIp: node.hostIp, now: this.options.now() });
    const ref = { ...resources.pods, namespace: pod.metadata.namespace, name: pod.metadata.name, subresource: 'status' };
    try {
      // The cached resourceVersion makes this conditional: if the pod changed since, we re-read and decide again.
      const updated = await this.options.client.patch(ref, 'merge', { metadata: { resourceVersion: pod.metadata.resourceVersion }, status });
      this.started.add(uid);
      this.stats.started++;
      // The watch brings the same object; taking it now saves a round of stale decisions.
      if (this.cache.get(key) === pod) this.cache.set(key, withoutManagedFields(updated));
    } catch (error) {
      if (isNotFound(error)) {
        this.forget(pod);
        return;
      }
      if (!isConflict(error)) throw error;
      this.stats.conflicts++;
      await this.reread(key, pod);
    }
  }

  /** After a conflict: fetch the pod and queue it again (or drop it when gone). */
  private async reread(key: string, stale: KubeObject): Promise<void> {
    try {
      const fresh = await this.options.client.get({ ...resources.pods, namespace: stale.metadata.namespace, name: stale.metadata.name });
      // A newer copy from the watch may have arrived meanwhile; either is newer than `stale`.
      if (this.cache.get(key) === stale) this.upsert(fresh);
      else this.queue.add(key);
    } catch (error) {
      if (error instanceof ApiStatusError && isNotFound(error)) this.forget(stale);
      else throw error;
    }
  }
}
