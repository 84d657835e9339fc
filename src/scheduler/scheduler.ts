// The scheduler loop: an API client that watches pods, nodes and namespaces,
// keeps the scheduler cache current, takes unscheduled pods from the queue one
// at a time, runs the profile's framework, and binds through the API. Binding
// is pipelined (the next pod's cycle runs while earlier bindings are in
// flight); the cache assumes a pod on its node so later cycles see it.
import { createEventRecorder, type EventRecorder } from '../client/events.ts';
import { createInformer, withoutManagedFields, type Informer } from '../client/informer.ts';
import { resources, type ApiClient, type KubeObject } from '../client/interface.ts';
import { SchedulerCache } from './cache/cache.ts';
import { defaultSchedulerConfiguration, type SchedulerConfiguration } from './config.ts';
import type { SpeedOptions } from './framework/equivalence.ts';
import { FAILED_SCHEDULING_EVENT, SCHEDULED_EVENT, podScheduledFalseCondition, scheduledMessage } from './framework/explain.ts';
import type { Binding } from './framework/interface.ts';
import { isSuccess, type PluginResult, type Status } from './framework/status.ts';
import { PodInfo } from './framework/pod-info.ts';
import type { Framework } from './framework/runtime.ts';
import type { Node, Pod } from './framework/types.ts';
import { buildFrameworks } from './profile.ts';
import { Nominations } from './nominations.ts';
import { ClusterData } from './cluster-data.ts';
import { DelayedClaimBinding } from './volume-binding.ts';
import { SchedulingQueue, type QueuedPodInfo } from './queue/scheduling-queue.ts';
import { podChangeMattersForScheduling, nodeChangeMattersForScheduling } from './events.ts';

export interface SchedulerOptions {
  client: ApiClient;
  /** Parsed --scheduler-config; the default profile when absent. */
  config?: SchedulerConfiguration;
  /** Borg's techniques, each switchable (benchmarks turn them off one by one). */
  speed?: Partial<SpeedOptions>;
  /** Bindings in flight while the loop goes on (pipelining); 1 = serial. */
  maxBindingsInFlight?: number;
  log?: (message: string) => void;
}

export interface SchedulerStats {
  attempts: number;
  scheduled: number;
  unschedulable: number;
  errors: number;
  bindingsInFlight: number;
}

export interface RunningScheduler {
  stats(): SchedulerStats;
  queueLengths(): ReturnType<SchedulingQueue<PodInfo>['lengths']>;
  stop(): Promise<void>;
}

const podKey = (pod: KubeObject) => `${pod.metadata.namespace}/${pod.metadata.name}`;

/** A Permit answer that stops the pod (Wait is fine: the binding cycle waits for it). */
const rejection = (result: PluginResult): Status | undefined => (result && !result.isSuccess() && !result.isWait() ? result : undefined);

export async function startScheduler(options: SchedulerOptions): Promise<RunningScheduler> {
  const scheduler = new Scheduler(options);
  await scheduler.start();
  return scheduler;
}

class Scheduler implements RunningScheduler {
  private readonly client: ApiClient;
  private readonly log: (message: string) => void;
  private readonly cache = new SchedulerCache();
  private readonly nominations = new Nominations();
  private readonly frameworks: Map<string, Framework>;
  private readonly queue: SchedulingQueue<PodInfo>;
  private readonly recorder: EventRecorder;
  private readonly informers: Informer<KubeObject>[] = [];
  private readonly pods: Informer<Pod & KubeObject>;
  private readonly delayedClaims: DelayedClaimBinding;
  private readonly maxBindingsInFlight: number;
  private readonly bindings = new Set<Promise<void>>();
  private readonly counters: SchedulerStats = { attempts: 0, scheduled: 0, unschedulable: 0, errors: 0, bindingsInFlight: 0 };
  private loop?: Promise<void>;
  private stopped = false;

  constructor(options: SchedulerOptions) {
    this.client = options.client;
    this.log = options.log ?? ((message) => console.error(`scheduler: ${message}`));
    this.maxBindingsInFlight = options.maxBindingsInFlight ?? 64;
    const data = new ClusterData(this.client);
    this.informers.push(...data.informers);
    this.delayedClaims = new DelayedClaimBinding(this.client);
    this.informers.push(...this.delayedClaims.informers);
    this.frameworks = buildFrameworks(options.config ?? defaultSchedulerConfiguration(), {
      speed: options.speed,
      nominator: this.nominations,
      bindPod: (binding) => this.bind(binding),
      data: data.providers,
    });
    const first = [...this.frameworks.values()][0];
    // Upstream requires one QueueSort for all profiles; the first profile's decides.
    this.queue = new SchedulingQueue<PodInfo>({ less: (a, b) => first.less(a, b) });
    this.recorder = createEventRecorder({ client: this.client, component: 'default-scheduler' });
    // The scheduler never reads managedFields: its caches of every pod and node are half the size without them.
    this.pods = createInformer<Pod & KubeObject>({ client: this.client, ref: resources.pods, transform: withoutManagedFields });
    const nodes = createInformer<Node & KubeObject>({ client: this.client, ref: resources.nodes, transform: withoutManagedFields });
    const namespaces = createInformer({ client: this.client, ref: resources.namespaces });
    this.informers.push(this.pods as Informer<KubeObject>, nodes as Informer<KubeObject>, namespaces);

    nodes.addEventHandler({
      onAdd: (node) => {
        this.cache.addNode(node);
        this.queue.moveAllToActive();
      },
      onUpdate: (old, node) => {
        this.cache.updateNode(node);
        if (nodeChangeMattersForScheduling(old, node)) this.queue.moveAllToActive();
      },
      onDelete: (node) => this.cache.removeNode(node),
    });
    namespaces.addEventHandler({
      onAdd: (ns) => this.cache.setNamespace(ns.metadata.name!, ns.metadata.labels ?? {}),
      onUpdate: (_old, ns) => this.cache.setNamespace(ns.metadata.name!, ns.metadata.labels ?? {}),
    });
    this.pods.addEventHandler({
      onAdd: (pod) => this.onPod(undefined, pod),
      onUpdate: (old, pod) => this.onPod(old, pod),
      onDelete: (pod) => this.onPodDeleted(pod),
    });
  }

  async start(): Promise<void> {
    for (const informer of this.informers) informer.start();
    for (const informer of this.informers) await informer.waitForSync();
    this.loop = this.run();
  }

  stats(): SchedulerStats {
    return { ...this.counters, bindingsInFlight: this.bindings.size };
  }

  queueLengths() {
    return this.queue.lengths();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.queue.close();
    for (const informer of this.informers) informer.stop();
    await this.loop;
    await Promise.allSettled([...this.bindings]);
    for (const fw of this.frameworks.values()) fw.stop();
    await this.recorder.flush();
  }

  // ---- informer events -----------------------------------------------------

  private isTerminal(pod: Pod): boolean {
    const phase = (pod.status as { phase?: string } | undefined)?.phase;
    return phase === 'Succeeded' || phase === 'Failed';
  }

  private responsibleFor(pod: Pod): boolean {
    const name = (pod.spec as { schedulerName?: string } | undefined)?.schedulerName ?? 'default-scheduler';
    return this.frameworks.has(name);
  }

  private onPod(old: (Pod & KubeObject) | undefined, pod: Pod & KubeObject): void {
    const key = podKey(pod);
    this.nominations.update(pod);
    const nodeName = pod.spec?.nodeName;
    if (nodeName) {
      this.queue.delete(key);
      // Finished pods no longer hold resources on their node.
      if (this.isTerminal(pod)) this.cache.removePod(pod);
      else if (old?.spec?.nodeName) this.cache.updatePod(old, pod);
      else this.cache.addPod(pod);
      if (old && this.isTerminal(pod) && !this.isTerminal(old)) this.queue.moveAllToActive();
      return;
    }
    if (pod.metadata.deletionTimestamp || this.isTerminal(pod) || !this.responsibleFor(pod)) {
      this.queue.delete(key);
      return;
    }
    // Our own status writes (the PodScheduled condition) must not re-trigger scheduling.
    if (old && !podChangeMattersForScheduling(old, pod)) return;
    this.queue.add(key, new PodInfo(pod));
  }

  private onPodDeleted(pod: Pod & KubeObject): void {
    this.nominations.remove(pod);
    this.queue.delete(podKey(pod));
    if (pod.spec?.nodeName) {
      this.cache.removePod(pod);
      // Freed resources may let waiting pods fit.
      this.queue.moveAllToActive();
    }
  }

  // ---- the loop ------------------------------------------------------------

  private async run(): Promise<void> {
    for (;;) {
      const info = await this.queue.pop();
      if (!info || this.stopped) return;
      try {
        await this.scheduleOne(info);
      } catch (error) {
        this.counters.errors++;
        this.log(`scheduling ${info.key}: ${(error as Error).message}`);
        this.queue.requeue(info, 'error');
      }
    }
  }

  private async scheduleOne(info: QueuedPodInfo<PodInfo>): Promise<void> {
    // The informer has the newest state: skip pods bound or deleted meanwhile.
    const [namespace, name] = info.key.split('/');
    const current = this.pods.lister.get(namespace, name);
    if (!current || current.spec?.nodeName || current.metadata.deletionTimestamp) {
      this.queue.done(info.key);
      return;
    }
    const podInfo = current === info.pod.pod ? info.pod : new PodInfo(current);
    const fw = this.frameworks.get(current.spec?.schedulerName ?? 'default-scheduler')!;
    this.counters.attempts++;
    const result = fw.schedule(podInfo, this.cache);
    if (result.node === undefined) {
      this.counters.unschedulable++;
      const preemption = result.postFilterResult;
      this.recordFailure(current, result.message, preemption?.nominatedNodeName);
      for (const victim of preemption?.victims ?? []) void this.evict(victim, current);
      // Pods nominated to that node with lower priority lose their nomination (upstream does the same).
      for (const pod of preemption?.lowerPriorityNominatedPods ?? []) this.clearNomination(pod);
      this.queue.requeue(info, result.status.code === 'Error' ? 'error' : 'unschedulable');
      return;
    }
    const nodeName = result.node;
    const assumed = this.cache.assumePod(result.podInfo, nodeName);
    const reserve = fw.runReservePluginsReserve(result.state, assumed, nodeName);
    const rejected = reserve ?? rejection(fw.runPermitPlugins(result.state, assumed, nodeName));
    if (rejected) {
      if (!reserve) fw.runReservePluginsUnreserve(result.state, assumed, nodeName);
      this.cache.forgetPod(assumed);
      this.recordFailure(current, rejected.message(), undefined);
      this.queue.requeue(info, 'unschedulable');
      return;
    }
    while (this.bindings.size >= this.maxBindingsInFlight) await Promise.race(this.bindings);
    const binding = fw.bindingCycle(result.state, assumed, nodeName).then((status) => {
      if (!isSuccess(status)) {
        this.cache.forgetPod(assumed);
        this.counters.errors++;
        this.recorder.record({ object: current, ...FAILED_SCHEDULING_EVENT, message: `Binding rejected: ${status!.message()}` });
        this.queue.requeue(info, 'error');
        return;
      }
      this.cache.finishBinding(assumed);
      this.counters.scheduled++;
      this.queue.done(info.key);
      this.recorder.record({ object: current, ...SCHEDULED_EVENT, message: scheduledMessage(namespace, name, nodeName) });
    });
    const tracked: Promise<void> = binding.finally(() => this.bindings.delete(tracked));
    this.bindings.add(tracked);
  }

  private async bind(binding: Binding): Promise<void> {
    // VolumeBinding's PreBind, the small part skiff has: tell provisioners the node of WaitForFirstConsumer claims.
    const pod = this.pods.lister.get(binding.metadata.namespace, binding.metadata.name!);
    if (pod) await this.delayedClaims.selectNode(pod, binding.target.name);
    await this.client.create({ ...resources.pods, namespace: binding.metadata.namespace, name: binding.metadata.name, subresource: 'binding' }, binding);
  }

  /**
   * FailedScheduling event, and PodScheduled=False (plus a nomination, or ''
   * to clear a stale one) on the pod when they changed.
   */
  private recordFailure(pod: Pod & KubeObject, message: string, nominatedNodeName: string | undefined): void {
    this.recorder.record({ object: pod, ...FAILED_SCHEDULING_EVENT, message });
    const status = (pod.status ?? {}) as { conditions?: { type: string; status: string; message?: string }[]; nominatedNodeName?: string };
    const existing = status.conditions?.find((c) => c.type === 'PodScheduled');
    const nominationChanged = nominatedNodeName !== undefined && (status.nominatedNodeName ?? '') !== nominatedNodeName;
    if (existing?.status === 'False' && existing.message === message && !nominationChanged) return;
    const condition = podScheduledFalseCondition({ message, now: new Date() });
    const nomination = nominationChanged ? { nominatedNodeName: nominatedNodeName || null } : {};
    this.patchStatus(pod, { conditions: [condition], ...nomination });
  }

  private clearNomination(pod: Pod): void {
    if (pod.status?.nominatedNodeName) this.patchStatus(pod as Pod & KubeObject, { nominatedNodeName: null });
  }

  /** Strategic merge of the pod's status (conditions merge by type). */
  private patchStatus(pod: Pod & KubeObject, status: Record<string, unknown>): void {
    this.client
      .patch({ ...resources.pods, namespace: pod.metadata.namespace, name: pod.metadata.name, subresource: 'status' }, 'strategic', { status })
      .catch((error) => this.log(`updating the status of ${podKey(pod)}: ${(error as Error).message}`));
  }

  /**
   * Preemption: mark the victim with the DisruptionTarget condition (so the
   * preemptor waits for it instead of preempting again), then delete it
   * gracefully; a victim already terminating is left to finish.
   */
  private async evict(victim: Pod, preemptor: Pod & KubeObject): Promise<void> {
    const target = victim as Pod & KubeObject;
    if (target.metadata.deletionTimestamp) return;
    const ref = { ...resources.pods, namespace: target.metadata.namespace, name: target.metadata.name };
    try {
      const condition = {
        type: 'DisruptionTarget', status: 'True', reason: 'PreemptionByScheduler',
        message: `default-scheduler: preempting to accommodate a higher priority pod`, lastTransitionTime: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
      };
      await this.client.patch({ ...ref, subresource: 'status' }, 'strategic', { status: { conditions: [condition] } });
      this.recorder.record({ object: target, type: 'Normal', reason: 'Preempted', message: `Preempted by pod ${preemptor.metadata.uid} on node ${victim.spec?.nodeName}` });
      await this.client.delete(ref, { preconditions: { uid: target.metadata.uid } });
    } catch (error) {
      this.log(`preempting ${podKey(target)}: ${(error as Error).message}`);
    }
  }
}
