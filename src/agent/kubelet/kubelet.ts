// The node agent: `startKubelet(options)` registers the Node, heartbeats,
// watches the pods bound to it (fieldSelector spec.nodeName=NODE) and runs
// one worker per pod that makes the runtime match the pod (sync-pod.ts). A
// relist of the runtime every second (kubelet's PLEG) wakes a pod's worker
// when one of its containers changes state; probe results do the same. On
// start, what a previous run left in the runtime is adopted (pods that
// still exist) or removed (pods that are gone). Stopping the kubelet leaves
// the containers running, as k3s does.
import { createEventRecorder } from '../../client/events.ts';
import { createInformer, type Informer } from '../../client/informer.ts';
import { resources, type ApiClient, type KubeObject } from '../../client/interface.ts';
import { PullBackoff } from '../images/policy.ts';
import type { PodNetwork } from '../network/types.ts';
import type { ContainerRuntime } from '../runtime/types.ts';
import type { VolumeManager } from '../volumes/types.ts';
import { CrashBackoff } from './backoff.ts';
import { coreResource, type ImageGarbageCollection, type KubeletContext, type KubeletImages, type PodRecord } from './context.ts';
import { EvictionManager } from './eviction/manager.ts';
import { hostEvictionStats, machineEvictionStats, type EvictionStats } from './eviction/stats.ts';
import { hardReservation, parseThresholds, type Threshold } from './eviction/thresholds.ts';
import { startHousekeeping } from './housekeeping.ts';
import { POD_NAME, POD_NAMESPACE, POD_UID } from './labels.ts';
import type { MachineInfo } from './machine.ts';
import { NodeAgent } from './node-agent.ts';
import { allocatableOf } from './node-status.ts';
import { statusOf } from './pod-types.ts';
import { PodWorkers } from './pod-workers.ts';
import { ProbeManager } from './probes/manager.ts';
import { serviceEnvVars, servicesForPod } from './service-env.ts';
import { statusChanged } from './status.ts';
import { syncPod } from './sync-pod.ts';

export interface KubeletOptions {
  client: ApiClient;
  nodeName: string;
  /** The node's address (InternalIP, hostIP of its pods). */
  nodeIp: string;
  dataDir: string;
  runtime: ContainerRuntime;
  /** The pod network, or how to make it once the node's pod CIDR is known. */
  network: PodNetwork | ((options: { podCidr: string }) => PodNetwork | Promise<PodNetwork>);
  volumes: VolumeManager;
  images: KubeletImages;
  /** The cluster DNS Service address(es) for ClusterFirst pods. */
  clusterDns?: string[];
  clusterDomain?: string;
  /** Port of the agent's streaming (logs/exec) server: daemonEndpoints.kubeletEndpoint.Port. */
  kubeletPort?: number;
  /** e.g. `runc://1.1.12`; default `<runtime.name>://unknown`. */
  runtimeVersion?: string;
  podCidr?: string;
  clusterCidr?: string;
  /** The node's resolv.conf (default /etc/resolv.conf; null: none). */
  hostResolvConfPath?: string | null;
  now?: () => Date;
  warn?: (message: string) => void;
  /** Runtime relist period (default 1 s). */
  relistMs?: number;
  /** Every pod is synced at least this often (default 60 s): volume contents and tokens are refreshed then. */
  resyncMs?: number;
  /** Periodic work beside the pod syncs (housekeeping.ts): image GC, the local-path volume sweep. */
  housekeeping?: {
    images?: ImageGarbageCollection;
    reclaimVolumes?: () => Promise<string[]>;
    imageGcPeriodMs?: number;
    volumeSweepPeriodMs?: number;
  };
  crashBackoff?: { initialMs?: number; maxMs?: number };
  pullBackoff?: { initialMs?: number; maxMs?: number };
  leaseIntervalMs?: number;
  statusCheckMs?: number;
  /** Tests: a fake machine instead of /proc and statfs. */
  machine?: () => Promise<MachineInfo>;
  /** The eviction manager (eviction/): kubelet's --eviction-* flags and what it measures. */
  eviction?: {
    /** --eviction-hard (default kubelet's: memory.available<100Mi,nodefs.available<10%,imagefs.available<15%,nodefs.inodesFree<5%). */
    hard?: string;
    soft?: string;
    softGracePeriod?: string;
    /** --eviction-pressure-transition-period (default 5 min). */
    pressureTransitionMs?: number;
    /** --eviction-max-pod-grace-period (default 0). */
    maxPodGracePeriodSeconds?: number;
    /** Default 10 s. */
    monitoringIntervalMs?: number;
    /** The image store's directory (imagefs); default the data dir. */
    imageDir?: string;
    /** Default: the host's numbers (hostEvictionStats), or the fake machine's when `machine` is given. */
    stats?: EvictionStats;
  };
}

export interface Kubelet {
  readonly nodeName: string;
  readonly podCidr: string;
  /** Resolves when no pod sync is running. */
  idle(): Promise<void>;
  /** The uid of the pod `namespace/name` this node runs now (for the streaming server). */
  podUid(namespace: string, name: string): string | undefined;
  /** Stop watching and syncing; containers keep running. */
  stop(): Promise<void>;
}

export async function startKubelet(options: KubeletOptions): Promise<Kubelet> {
  const { client, nodeName, runtime } = options;
  const now = options.now ?? (() => new Date());
  const warn = options.warn ?? ((message: string) => console.error(`kubelet: ${message}`));
  // Bad flags fail here, before anything is registered.
  const thresholds = parseThresholds({ ...options.eviction });
  let eviction: EvictionManager | undefined;
  const nodeAgent = new NodeAgent({
    pressure: () => eviction?.pressure() ?? { memory: false, disk: false, pid: false },
    reservation: (m) => hardReservation(thresholds, m),
    client, nodeName, hostIp: options.nodeIp, dataDir: options.dataDir,
    runtimeVersion: options.runtimeVersion ?? `${runtime.name}://unknown`,
    kubeletPort: options.kubeletPort ?? 10250,
    images: options.images, podCidr: options.podCidr, clusterCidr: options.clusterCidr,
    now, warn, leaseIntervalMs: options.leaseIntervalMs, statusCheckMs: options.statusCheckMs, machine: options.machine,
  });
  await nodeAgent.register();
  const machine = nodeAgent.machine!;
  const network = typeof options.network === 'function' ? await options.network({ podCidr: nodeAgent.podCidr }) : options.network;

  const recorder = createEventRecorder({ client, component: 'kubelet', host: nodeName, logger: { warn } });
  const records = new Map<string, PodRecord>();
  let workers!: PodWorkers;
  const probes = new ProbeManager({ runtime, recorder, onChange: (uid) => workers.update(uid) });
  const services: Informer<KubeObject> = createInformer({ client, ref: resources.services, logger: { warn } });
  const getOptional = async (resource: string, namespace: string, name: string) => {
    try {
      return await client.get({ ...coreResource(resource), namespace, name });
    } catch (error) {
      if ((error as { code?: number }).code === 404) return undefined;
      throw error;
    }
  };
  const ctx: KubeletContext = {
    client, recorder, runtime, network, volumes: options.volumes, images: options.images, probes,
    envSources: {
      configMap: (namespace, name) => getOptional('configmaps', namespace, name),
      secret: (namespace, name) => getOptional('secrets', namespace, name),
      serviceEnv: async (namespace, includeAll) => serviceEnvVars(servicesForPod({ namespace, enableServiceLinks: includeAll, all: services.lister.list() })),
    },
    node: { nodeName, hostIp: options.nodeIp, memoryCapacityBytes: machine.memoryBytes, allocatable: allocatableOf(machine, hardReservation(thresholds, machine)) },
    dataDir: options.dataDir,
    clusterDns: options.clusterDns ?? [],
    clusterDomain: options.clusterDomain ?? 'cluster.local',
    crashBackoff: new CrashBackoff({ ...options.crashBackoff }),
    pullBackoff: new PullBackoff({ ...options.pullBackoff }),
    now, warn,
    terminationMessages: new Map(),
    hostResolvConfPath: options.hostResolvConfPath,
  };
  const admittedPods = () => [...records.values()].filter((r) => r.admitted && !r.gone && !r.released && !['Succeeded', 'Failed'].includes(statusOf(r.pod).phase ?? ''));
  workers = new PodWorkers({
    sync: async (uid) => {
      const record = records.get(uid);
      if (!record) return { finished: true };
      const result = await syncPod({ ctx, admittedPods, admitUnderPressure: (pod) => eviction?.admit(pod) }, record);
      if (result.finished) records.delete(uid);
      return result;
    },
    onError: (uid, error) => {
      const pod = records.get(uid)?.pod;
      warn(`syncing pod ${pod ? `${pod.metadata.namespace}/${pod.metadata.name}` : uid}: ${(error as Error)?.message ?? error}`);
    },
  });

  const pods = createInformer<KubeObject>({
    client, ref: resources.pods, fieldSelector: `spec.nodeName=${nodeName}`, logger: { warn }, resyncMs: options.resyncMs ?? 60_000,
  });
  const track = (pod: KubeObject, resync = false) => {
    const uid = pod.metadata.uid;
    if (!uid) return;
    const record = records.get(uid);
    if (record) {
      const ownWrite = record.lastWritten !== undefined && !statusChanged(pod.status, JSON.parse(record.lastWritten.status)) && sameExceptStatus(record.pod, pod);
      record.pod = pod;
      // The watch bringing back our own status write is no reason to sync (kubelet syncs on pod changes, probes and runtime events)
      // — but the informer's periodic resync is: kubelet's sync period, which refreshes volume contents and tokens.
      if (ownWrite && !resync) return;
    } else {
      records.set(uid, { uid, pod, gone: false, waiting: new Map(), podIps: [], mountFailures: 0, released: false });
    }
    workers.update(uid);
  };
  pods.addEventHandler({
    onAdd: track,
    onUpdate: (old, pod) => track(pod, old === pod),
    onDelete: (pod) => {
      const record = pod.metadata.uid ? records.get(pod.metadata.uid) : undefined;
      if (!record) return;
      record.gone = true;
      workers.update(record.uid);
    },
  });
  services.start();
  pods.start();
  await Promise.all([services.waitForSync(), pods.waitForSync()]);
  await adoptLeftovers({ runtime, records, workers });

  const relist = startRelist({ runtime, records, workers, warn, periodMs: options.relistMs ?? 1000 });
  const housekeeping = startHousekeeping({ runtime, warn, ...options.housekeeping });
  eviction = startEviction({ options, thresholds, records, workers, admittedPods, warn, now });
  nodeAgent.start();

  let stopping: Promise<void> | undefined;
  return {
    nodeName,
    podCidr: nodeAgent.podCidr,
    idle: () => workers.idle(),
    podUid(namespace, name) {
      let found: PodRecord | undefined;
      for (const record of records.values()) {
        const { metadata } = record.pod;
        if (record.gone || metadata.namespace !== namespace || metadata.name !== name) continue;
        // Two records of one name: the old pod is still terminating; the newer one is meant.
        if (!found || String(metadata.creationTimestamp ?? '') > String(found.pod.metadata.creationTimestamp ?? '')) found = record;
      }
      return found?.uid;
    },
    stop() {
      stopping ??= (async () => {
        nodeAgent.stop();
        relist.stop();
        await eviction?.stop();
        await housekeeping.stop();
        pods.stop();
        services.stop();
        await workers.stop();
        probes.stop();
        await recorder.flush();
      })();
      return stopping;
    },
  };
}

/**
 * After a restart: sandboxes and containers of pods that no longer exist
 * get a "gone" record, so their worker stops and removes them. Those of
 * pods that still exist are simply found by the pods' own syncs.
 */
async function adoptLeftovers(options: { runtime: ContainerRuntime; records: Map<string, PodRecord>; workers: PodWorkers }): Promise<void> {
  const { runtime, records, workers } = options;
  const owners = new Map<string, { name: string; namespace: string }>();
  for (const s of await runtime.listPodSandboxes()) owners.set(s.podUid, { name: s.name, namespace: s.namespace });
  for (const c of await runtime.listContainers()) {
    const uid = c.labels[POD_UID];
    if (uid && !owners.has(uid)) owners.set(uid, { name: c.labels[POD_NAME] ?? '', namespace: c.labels[POD_NAMESPACE] ?? '' });
  }
  for (const [uid, owner] of owners) {
    if (records.has(uid)) continue;
    records.set(uid, {
      uid, pod: { apiVersion: 'v1', kind: 'Pod', metadata: { uid, name: owner.name, namespace: owner.namespace }, spec: {} },
      gone: true, waiting: new Map(), podIps: [], mountFailures: 0, released: false,
    });
    workers.update(uid);
  }
}

/** kubelet's PLEG: compare container states every period and wake the pods whose containers changed. */
function startRelist(options: { runtime: ContainerRuntime; records: Map<string, PodRecord>; workers: PodWorkers; warn: (m: string) => void; periodMs: number }): { stop(): void } {
  let last = new Map<string, string>();
  let busy = false;
  const timer = setInterval(async () => {
    if (busy) return;
    busy = true;
    try {
      const next = new Map<string, string>();
      const changed = new Set<string>();
      for (const c of await options.runtime.listContainers()) {
        const uid = c.labels[POD_UID];
        if (!uid) continue;
        next.set(c.id, `${uid}|${c.state}`);
        if (last.get(c.id) !== next.get(c.id)) changed.add(uid);
      }
      for (const [id, value] of last) if (!next.has(id)) changed.add(value.split('|')[0]!);
      last = next;
      for (const uid of changed) if (options.records.has(uid)) options.workers.update(uid);
    } catch (error) {
      options.warn(`relisting the runtime failed: ${(error as Error).message}`);
    } finally {
      busy = false;
    }
  }, options.periodMs);
  return { stop: () => clearInterval(timer) };
}

/** Nothing but status (and the resourceVersion) differs between the two versions of the pod. */
function sameExceptStatus(a: KubeObject, b: KubeObject): boolean {
  const strip = (p: KubeObject) => JSON.stringify({ ...p, status: undefined, metadata: { ...p.metadata, resourceVersion: undefined, managedFields: undefined } });
  return strip(a) === strip(b);
}

/**
 * The eviction manager on this kubelet's pods: it may evict the admitted,
 * unfinished pods; an eviction is handed to the pod's worker (sync-pod.ts
 * evictPod) and counts as done once that sync stopped the pod. Disk
 * pressure first removes the exited containers of finished pods and unused
 * images.
 */
function startEviction(deps: {
  options: KubeletOptions;
  thresholds: Threshold[];
  records: Map<string, PodRecord>;
  workers: PodWorkers;
  admittedPods: () => PodRecord[];
  warn: (message: string) => void;
  now: () => Date;
}): EvictionManager {
  const { options, records, workers } = deps;
  const { runtime } = options;
  const stats = options.eviction?.stats
    ?? (options.machine ? machineEvictionStats(options.machine) : hostEvictionStats({ dataDir: options.dataDir, imageDir: options.eviction?.imageDir, runtime }));
  const images = options.housekeeping?.images;
  const manager = new EvictionManager({
    thresholds: deps.thresholds, stats, now: deps.now, warn: deps.warn,
    pressureTransitionMs: options.eviction?.pressureTransitionMs,
    maxPodGracePeriodSeconds: options.eviction?.maxPodGracePeriodSeconds,
    activePods: () => deps.admittedPods().filter((r) => !r.eviction).map((r) => r.pod),
    evict: (pod, request) => new Promise<boolean>((resolve) => {
      const record = records.get(pod.metadata.uid ?? '');
      if (!record || record.gone || record.eviction) return resolve(false);
      record.eviction = { ...request, done: resolve };
      workers.update(record.uid);
    }),
    reclaim: {
      deadContainers: async () => {
        // Finished pods keep their exited containers for logs, until the disk is needed.
        for (const c of await runtime.listContainers()) {
          const record = records.get(c.labels[POD_UID] ?? '');
          if (c.state === 'exited' && record?.released) await runtime.removeContainer(c.id);
        }
      },
      unusedImages: images ? async () => {
        const used = new Set((await runtime.listContainers()).map((c) => c.imageId));
        await images.garbageCollect({ inUse: (image) => used.has(image.imageId) });
      } : undefined,
    },
  });
  manager.start(options.eviction?.monitoringIntervalMs ?? 10_000);
  return manager;
}
