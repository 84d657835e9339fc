// The cluster a scheduler benchmark runs against: a real `skiff server` with
// hollow nodes (--simulated-nodes; no scheduler of its own), a client for the
// benchmark's own requests, and one watch on all pods that records when each
// pod was first seen bound (the event's arrival time) and where.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Deadline } from '../lib/env.ts';
import { sleep } from '../lib/env.ts';
import { Client } from '../lib/http2-client.ts';
import { startServer, stopServer, type Server } from '../lib/server.ts';

export const ZONE_LABEL = 'topology.kubernetes.io/zone';
export const NAMESPACES = ['sched-0', 'sched-1'] as const;
/** Receive window of the benchmark's pod watch (BENCH_WATCH_WINDOW bytes; 0 = Node's default 64 KiB). */
const WATCH_WINDOW_BYTES = Number(process.env.BENCH_WATCH_WINDOW ?? 0) || undefined;

export interface NodeShape {
  count: number;
  cpu: string;
  memory: string;
  pods: number;
}

export interface Cluster {
  server: Server;
  /** https://127.0.0.1:PORT */
  url: string;
  caCert: string;
  token: string;
  /** The benchmark's own requests (creates, deletes, labels): HTTP/2 with the admin token. */
  client: Client;
  watcher: PodWatcher;
  /** Node name → zone label ('' when unlabelled). */
  zones: Map<string, string>;
  nodeNames: string[];
}

export interface ClusterOptions {
  dataDir: string;
  nodes: NodeShape;
  /** Label the nodes zone-0 … zone-(n-1), round-robin (0: no zone labels). */
  zones: number;
  sessions: number;
  deadline: Deadline;
  log: (message: string) => void;
  cpuProfDir?: string;
  /** Removed by the server's watchdog should this process die without cleaning up (the run's temp root). */
  orphanCleanupDir?: string;
}

export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  const { nodes, deadline, log } = options;
  mkdirSync(options.dataDir, { recursive: true });
  const started = performance.now();
  const server = await startServer({
    dataDir: options.dataDir,
    cpuProfDir: options.cpuProfDir,
    readyTimeoutMs: Math.min(deadline.left(), 120_000),
    orphanCleanupDir: options.orphanCleanupDir,
    // A /8 pod network leaves every hollow node a full /24 however many there are.
    // No controller manager (`--controllers ''`), as in scheduler_perf: these pods have no owners,
    // and its pod informer would only add watch traffic (BENCH_CONTROLLERS=1 keeps it).
    extraArgs: [
      '--disable-scheduler', '--simulated-nodes', `${nodes.count}:${nodes.cpu},${nodes.memory},${nodes.pods}`, '--cluster-cidr', '10.0.0.0/8',
      ...(process.env.BENCH_CONTROLLERS === '1' ? [] : ['--controllers', '']),
    ],
  });
  const tlsDir = join(options.dataDir, 'tls');
  const client = new Client({ port: server.port, tlsDir, sessions: options.sessions, auth: 'token', log });
  let watcher: PodWatcher | undefined;
  try {
    const list = JSON.parse(await client.expect('GET', '/api/v1/nodes', 200, undefined, { timeoutMs: 60_000 })) as { items: { metadata: { name: string } }[] };
    const nodeNames = list.items.map((n) => n.metadata.name).sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
    if (nodeNames.length !== nodes.count) throw new Error(`${nodeNames.length} nodes registered, expected ${nodes.count}`);
    const zones = new Map<string, string>(nodeNames.map((n) => [n, '']));
    if (options.zones > 0) {
      await pool(nodeNames.length, 32, deadline, 'labelling nodes', async (i) => {
        const zone = `zone-${i % options.zones}`;
        await client.expect('PATCH', `/api/v1/nodes/${nodeNames[i]}`, 200, { metadata: { labels: { [ZONE_LABEL]: zone } } }, { contentType: 'application/merge-patch+json' });
        zones.set(nodeNames[i]!, zone);
      });
    }
    for (const name of NAMESPACES) {
      await client.expect('POST', '/api/v1/namespaces', 201, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
      // Pods need their ServiceAccount; without a controller manager nothing else makes it (409: the controller was first).
      const account = await client.request('POST', `/api/v1/namespaces/${name}/serviceaccounts`, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default' } });
      if (account.status !== 201 && account.status !== 409) throw new Error(`creating ServiceAccount ${name}/default: HTTP ${account.status}: ${account.body.slice(0, 300)}`);
    }
    watcher = new PodWatcher(client, log);
    await watcher.start(Math.ceil(deadline.left() / 1000) + 60);
    log(`cluster: ${nodes.count} nodes of ${nodes.cpu} cpu/${nodes.memory}/${nodes.pods} pods${options.zones ? ` in ${options.zones} zones` : ''} ready in ${((performance.now() - started) / 1000).toFixed(1)}s (server pid ${server.process.pid})`);
    return {
      server, url: `https://127.0.0.1:${server.port}`, caCert: readFileSync(join(tlsDir, 'ca.crt'), 'utf8'),
      token: readFileSync(join(tlsDir, 'admin.token'), 'utf8').trim(), client, watcher, zones, nodeNames,
    };
  } catch (error) {
    watcher?.stop();
    client.close();
    await stopServer(server);
    throw error;
  }
}

export async function stopCluster(cluster: Cluster): Promise<void> {
  cluster.watcher.stop();
  cluster.client.close();
  await stopServer(cluster.server);
}

/** Runs fn(0..count-1) with `concurrency` calls in flight, checking the deadline before each. */
export async function pool(count: number, concurrency: number, deadline: Deadline, what: string, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failed: unknown;
  const worker = async () => {
    while (next < count && failed === undefined) {
      deadline.check(what);
      const i = next++;
      try {
        await fn(i);
      } catch (error) {
        failed ??= error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  if (failed !== undefined) throw failed;
}

export interface PodToCreate {
  namespace: string;
  name: string;
  /** The pod as JSON text. */
  body: string;
}

export interface Creates {
  /** performance.now() when each create was issued / acknowledged (201), by index. */
  issued: Float64Array;
  acked: Float64Array;
}

/** POSTs every pod, `concurrency` in flight; each must be answered 201. */
export async function createPods(client: Client, pods: readonly PodToCreate[], concurrency: number, deadline: Deadline): Promise<Creates> {
  const issued = new Float64Array(pods.length);
  const acked = new Float64Array(pods.length);
  await pool(pods.length, concurrency, deadline, 'creating pods', async (i) => {
    const pod = pods[i]!;
    issued[i] = performance.now();
    const r = await client.request('POST', `/api/v1/namespaces/${pod.namespace}/pods`, pod.body);
    acked[i] = performance.now();
    if (r.status !== 201) throw new Error(`creating pod ${pod.namespace}/${pod.name}: HTTP ${r.status}: ${r.body.slice(0, 300)}`);
  });
  return { issued, acked };
}

/**
 * Deletes every pod and event in the benchmark's namespaces, grace period 0,
 * and waits until the watch has seen every pod go and a LIST confirms none
 * remain. The objects are deleted one by one, 32 requests in flight, then a
 * deletecollection per namespace sweeps up whatever is left: skiff's
 * deletecollection deletes sequentially, one store transaction per object
 * (~15 s for 11k pods here), while concurrent DELETEs share group commits.
 */
export async function deleteAllPods(cluster: Cluster, deadline: Deadline, log: (message: string) => void): Promise<void> {
  const started = performance.now();
  const body = JSON.stringify({ kind: 'DeleteOptions', apiVersion: 'v1', gracePeriodSeconds: 0 });
  const timeoutMs = Math.max(1000, Math.min(deadline.left(), 300_000));
  const { client, watcher } = cluster;
  /** DELETE, repeated on 409 (the object changed under the server's own get → delete). */
  const remove = async (path: string) => {
    for (let attempt = 1; ; attempt++) {
      deadline.check('deleting pods');
      const r = await client.request('DELETE', path, body, { timeoutMs });
      if (r.status === 200 || r.status === 404) return;
      if (r.status !== 409 || attempt >= 100) throw new Error(`DELETE ${path}: HTTP ${r.status} (attempt ${attempt}): ${r.body.slice(0, 300)}`);
      watcher.deleteConflicts++;
      await sleep(20);
    }
  };
  const pods = [...watcher.live];
  await pool(pods.length, 32, deadline, 'deleting pods', (i) => {
    const [ns, name] = pods[i]!.split('/');
    return remove(`/api/v1/namespaces/${ns}/pods/${name}`);
  });
  for (const ns of NAMESPACES) {
    const events = (JSON.parse(await client.expect('GET', `/api/v1/namespaces/${ns}/events`, 200, undefined, { timeoutMs })) as { items: { metadata: { name: string } }[] }).items;
    await pool(events.length, 32, deadline, 'deleting events', (i) => remove(`/api/v1/namespaces/${ns}/events/${events[i]!.metadata.name}`));
    // skiff's deletecollection stops at the first object that changed since its
    // LIST (409: it deletes with the listed resourceVersion and does not retry),
    // so `remove` repeats it until it gets through.
    await remove(`/api/v1/namespaces/${ns}/pods`);
    await remove(`/api/v1/namespaces/${ns}/events`);
  }
  const until = Math.min(deadline.at, Date.now() + 120_000);
  while (watcher.live.size > 0) {
    watcher.check();
    if (Date.now() > until) throw new Error(`${watcher.live.size} pods still exist 120 s after their deletion`);
    await sleep(50);
  }
  for (const ns of NAMESPACES) {
    const left = (JSON.parse(await client.expect('GET', `/api/v1/namespaces/${ns}/pods?limit=1`, 200)) as { items: unknown[] }).items.length;
    if (left > 0) throw new Error(`namespace ${ns} still lists pods after the deletion`);
  }
  log(`cleanup: ${pods.length} pods deleted in ${((performance.now() - started) / 1000).toFixed(1)}s${watcher.deleteConflicts ? ` (${watcher.deleteConflicts} delete conflicts retried so far)` : ''}`);
}

interface WatchedPod {
  metadata: { namespace: string; name: string };
  spec?: { nodeName?: string };
}

/** Pods whose binding a phase waits for, with when (event arrival) and where each was bound. */
export class Tracker {
  readonly pending: Set<string>;
  readonly total: number;
  readonly boundAt = new Map<string, number>();
  /** When the watch first showed each pod (its ADDED event). */
  readonly seenAt = new Map<string, number>();
  lastBound = 0;

  constructor(keys: readonly string[]) {
    this.pending = new Set(keys);
    this.total = this.pending.size;
  }
}

/**
 * One watch on all pods. Keeps the set of pods that exist, each pod's node once
 * bound, and feeds the trackers. The arrival time is taken when the chunk
 * holding the event is read, before it is parsed.
 */
export class PodWatcher {
  readonly live = new Set<string>();
  readonly nodeOf = new Map<string, string>();
  readonly #trackers = new Set<Tracker>();
  readonly #client: Client;
  readonly #log: (message: string) => void;
  #stream: { stop(): void } | undefined;
  #failure: Error | undefined;
  events = 0;
  /** DELETE answers 409 the cleanup retried (see deleteAllPods). */
  deleteConflicts = 0;

  constructor(client: Client, log: (message: string) => void) {
    this.#client = client;
    this.#log = log;
  }

  async start(timeoutSeconds: number): Promise<void> {
    this.#stream = await this.#client.openLineStream(`/api/v1/pods?watch=1&timeoutSeconds=${timeoutSeconds}`, (line, at) => this.#onLine(line, at), (error) => {
      this.#failure = new Error(`the pod watch ended early${error ? `: ${error.message}` : ''}`);
      this.#log(this.#failure.message);
    }, { windowBytes: WATCH_WINDOW_BYTES });
  }

  stop(): void {
    this.#stream?.stop();
    this.#stream = undefined;
  }

  /** Throws if the watch broke (the figures would be wrong). */
  check(): void {
    if (this.#failure) throw this.#failure;
  }

  track(keys: readonly string[]): Tracker {
    const tracker = new Tracker(keys);
    this.#trackers.add(tracker);
    return tracker;
  }

  /** Waits until every pod of `tracker` is bound; fails when none got bound for `stallMs`, or at the deadline. */
  async wait(tracker: Tracker, deadline: Deadline, stallMs: number, describe: () => string): Promise<void> {
    try {
      let seen = tracker.pending.size;
      let progressAt = Date.now();
      while (tracker.pending.size > 0) {
        this.check();
        deadline.check(`waiting for ${tracker.pending.size} of ${tracker.total} pods to be bound (${describe()})`);
        if (tracker.pending.size !== seen) {
          seen = tracker.pending.size;
          progressAt = Date.now();
        } else if (Date.now() - progressAt > stallMs) {
          throw new Error(`${tracker.pending.size} of ${tracker.total} pods were not bound, none for ${stallMs / 1000}s (${describe()}); e.g. ${[...tracker.pending].slice(0, 3).join(', ')}`);
        }
        await sleep(20);
      }
    } finally {
      this.#trackers.delete(tracker);
    }
  }

  #onLine(line: string, at: number): void {
    this.events++;
    const event = JSON.parse(line) as { type: string; object: WatchedPod };
    if (event.type !== 'ADDED' && event.type !== 'MODIFIED' && event.type !== 'DELETED') {
      if (event.type === 'ERROR') this.#failure = new Error(`the pod watch sent an error: ${line.slice(0, 300)}`);
      return;
    }
    const key = `${event.object.metadata.namespace}/${event.object.metadata.name}`;
    if (event.type === 'DELETED') {
      this.live.delete(key);
      this.nodeOf.delete(key);
      return;
    }
    if (event.type === 'ADDED') {
      for (const tracker of this.#trackers) if (tracker.pending.has(key) && !tracker.seenAt.has(key)) tracker.seenAt.set(key, at);
    }
    this.live.add(key);
    const node = event.object.spec?.nodeName;
    if (!node || this.nodeOf.has(key)) return;
    this.nodeOf.set(key, node);
    for (const tracker of this.#trackers) {
      if (!tracker.pending.delete(key)) continue;
      tracker.boundAt.set(key, at);
      if (at > tracker.lastBound) tracker.lastBound = at;
    }
  }
}
