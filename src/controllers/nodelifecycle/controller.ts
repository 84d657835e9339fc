// The node lifecycle controller (kube-controller-manager's "nodelifecycle").
//
// - Health: every --node-monitor-period it checks each node's signs of life
//   (Lease renewals in kube-node-lease, Ready heartbeats; health.ts). A node
//   silent for --node-monitor-grace-period gets Ready (and the pressure
//   conditions) Unknown, an event, and its pods' Ready condition False.
// - NoExecute: an unhealthy node is queued for the unreachable / not-ready
//   NoExecute taint, paced per zone (evictions.ts); the taint-eviction
//   controller then evicts pods that do not tolerate it. A healthy node has
//   those taints removed.
// - TaintNodesByCondition: on every node change, the NoSchedule taints
//   mirror the conditions and spec.unschedulable (taints.ts).
//
// One queue carries four kinds of keys: "node:NAME" (NoSchedule taints),
// "pod:NS/NAME" (a pod newly bound to an unready node), and the periodic
// "monitor" and "noexecute" passes, which requeue themselves.
import { splitKey } from '../../client/cache.ts';
import type { Informer } from '../../client/informer.ts';
import { isNotFound, resources, type KubeObject } from '../../client/interface.ts';
import { Controller, type ControllerOptions } from '../framework/controller.ts';
import type { Pod } from '../framework/types.ts';
import { ZoneEvictions } from './evictions.ts';
import { checkNodeHealth, type NodeHealth } from './health.ts';
import { markPodsNotReady } from './pod-ready.ts';
import { forEachLimited } from './parallel.ts';
import { NODE_EVICTION_PERIOD_MS, nodeLifecycleSettings, type NodeLifecycleSettings } from './options.ts';
import { PodsByNode } from './pods-by-node.ts';
import { noScheduleTaintDiff, swapNodeTaints } from './taints.ts';
import { EXCLUDE_DISRUPTION_LABEL, leasesResource, NODE_LEASE_NAMESPACE, zoneKey, type LeaseObject, type NodeCondition, type NodeObject } from './types.ts';

const MONITOR_KEY = 'monitor';
const NOEXECUTE_KEY = 'noexecute';
/** Nodes whose health is updated at once (upstream's nodeUpdateWorkerSize). */
const HEALTH_PARALLELISM = 8;
/** Attempts at one node's status write per pass (upstream's NodeHealthUpdateRetry). */
const HEALTH_UPDATE_ATTEMPTS = 5;

const nodeRef = (node: NodeObject): KubeObject => ({ apiVersion: 'v1', kind: 'Node', metadata: { name: node.metadata.name, uid: node.metadata.uid } });

export class NodeLifecycleController extends Controller {
  readonly name = 'nodelifecycle';
  protected readonly component = 'node-controller';
  private readonly settings: NodeLifecycleSettings;
  private readonly nodes: Informer<NodeObject>;
  private readonly leases: Informer<LeaseObject>;
  private readonly pods: Informer<Pod>;
  private readonly podsByNode = new PodsByNode();
  private readonly health = new Map<string, NodeHealth>();
  private readonly knownNodes = new Map<string, NodeObject>();
  /** Nodes whose pods could not all be marked not ready: tried again next pass. */
  private readonly nodesToRetry = new Set<string>();
  private readonly evictions: ZoneEvictions;

  constructor(options: ControllerOptions) {
    super(options);
    this.settings = nodeLifecycleSettings(options.tuning);
    this.evictions = new ZoneEvictions({
      client: this.client,
      settings: this.settings,
      getNode: (name) => this.nodes.lister.get(undefined, name),
      now: this.now,
      logger: this.logger,
      resetProbeTimes: () => {
        const now = this.now().getTime();
        for (const [name, h] of this.health) this.health.set(name, { ...h, probeTimestamp: now, readyTransitionTimestamp: now });
      },
      wake: () => this.enqueue(NOEXECUTE_KEY),
    });
    const index = this.podsByNode.handler;
    this.pods = this.watch<Pod>(resources.pods, {
      onAdd: (pod, initial) => {
        index.onAdd!(pod, initial);
        if (pod.spec?.nodeName) this.enqueue(`pod:${pod.metadata.namespace}/${pod.metadata.name}`);
      },
      onUpdate: (old, pod) => {
        index.onUpdate!(old, pod);
        if (pod.spec?.nodeName && pod.spec.nodeName !== old.spec?.nodeName) this.enqueue(`pod:${pod.metadata.namespace}/${pod.metadata.name}`);
      },
      onDelete: (pod, unknown) => index.onDelete!(pod, unknown),
    });
    this.podsByNode.bind(this.pods.lister);
    this.nodes = this.watch<NodeObject>(resources.nodes, {
      onAdd: (node) => this.enqueue(`node:${node.metadata.name}`),
      onUpdate: (_old, node) => this.enqueue(`node:${node.metadata.name}`),
      onDelete: (node) => this.nodesToRetry.delete(node.metadata.name!),
    });
    this.leases = this.watch<LeaseObject>(leasesResource, {});
    // Waits in the queue until the caches are synced and the workers start.
    this.enqueue(MONITOR_KEY);
  }

  protected async sync(key: string): Promise<void> {
    if (key === MONITOR_KEY) {
      try {
        await this.monitorNodeHealth();
      } catch (error) {
        this.logger.warn(`node-lifecycle: monitoring node health: ${(error as Error)?.message ?? error}`);
      } finally {
        this.enqueueAfter(MONITOR_KEY, this.settings.monitorPeriodMs);
      }
    } else if (key === NOEXECUTE_KEY) {
      if (await this.evictions.taintPass()) this.enqueueAfter(NOEXECUTE_KEY, NODE_EVICTION_PERIOD_MS);
    } else if (key.startsWith('node:')) {
      await this.syncNoScheduleTaints(key.slice('node:'.length));
    } else if (key.startsWith('pod:')) {
      await this.syncPod(key.slice('pod:'.length));
    }
  }

  /** TaintNodesByCondition: make the node's NoSchedule condition/unschedulable taints match. */
  private async syncNoScheduleTaints(name: string): Promise<void> {
    const node = this.nodes.lister.get(undefined, name);
    if (!node) return;
    const { add, remove } = noScheduleTaintDiff(node);
    if (add.length || remove.length) await swapNodeTaints({ client: this.client, node, add, remove, now: this.now });
  }

  /** A pod bound to a node that is not ready is not ready either (the node's pass may have run before it was bound). */
  private async syncPod(key: string): Promise<void> {
    const [namespace, name] = splitKey(key);
    const pod = this.pods.lister.get(namespace, name);
    const nodeName = pod?.spec?.nodeName;
    if (!pod || !nodeName) return;
    const ready = this.health.get(nodeName)?.readyCondition;
    if (!ready || !this.nodes.lister.get(undefined, nodeName)) return;
    if (ready.status !== 'True') await markPodsNotReady({ client: this.client, recorder: this.recorder, pods: [pod], nodeName, now: this.now });
  }

  private async monitorNodeHealth(): Promise<void> {
    const nodes = this.nodes.lister.list();
    const seen = new Set<string>();
    for (const node of nodes) {
      const name = node.metadata.name!;
      seen.add(name);
      if (this.knownNodes.has(name)) {
        this.evictions.ensureZone(node);
        continue;
      }
      this.recorder.record({ object: nodeRef(node), type: 'Normal', reason: 'RegisteredNode', message: `Node ${name} event: Registered Node ${name} in Controller` });
      this.knownNodes.set(name, node);
      this.evictions.ensureZone(node);
      await this.evictions.nodeReachable(node).catch((error) => this.logger.warn(`node-lifecycle: node ${name}: ${(error as Error)?.message ?? error}`));
    }
    for (const [name, node] of this.knownNodes) {
      if (seen.has(name)) continue;
      this.recorder.record({ object: nodeRef(node), type: 'Normal', reason: 'RemovingNode', message: `Node ${name} event: Removing Node ${name} from Controller` });
      this.knownNodes.delete(name);
      this.health.delete(name);
      this.nodesToRetry.delete(name);
    }

    const readyByZone = new Map<string, (string | undefined)[]>();
    await forEachLimited(nodes, HEALTH_PARALLELISM, async (cached) => {
      const outcome = await this.updateNodeHealth(cached);
      if (!outcome) return;
      const { node, observedReady, currentReady } = outcome;
      if (node.metadata.labels?.[EXCLUDE_DISRUPTION_LABEL] === undefined) {
        const zone = zoneKey(node);
        if (!readyByZone.has(zone)) readyByZone.set(zone, []);
        readyByZone.get(zone)!.push(currentReady?.status);
      }
      if (currentReady) await this.afterHealthCheck(node, observedReady, currentReady);
    });
    await this.evictions.handleDisruption(readyByZone, nodes);
  }

  /** Check one node's health and write Unknown conditions when it went silent; re-read and retry on conflicts. */
  private async updateNodeHealth(cached: NodeObject): Promise<{ node: NodeObject; observedReady: NodeCondition; currentReady: NodeCondition | undefined } | undefined> {
    let node = cached;
    const name = node.metadata.name!;
    for (let attempt = 1; ; attempt++) {
      const check = checkNodeHealth({
        node,
        lease: this.leases.lister.get(NODE_LEASE_NAMESPACE, name),
        previous: this.health.get(name),
        now: this.now().getTime(),
        gracePeriodMs: this.settings.gracePeriodMs,
        startupGracePeriodMs: this.settings.startupGracePeriodMs,
      });
      try {
        if (check.newConditions) {
          this.logger.info(`node-lifecycle: node ${name} stopped posting status; marking its conditions Unknown`);
          const next = structuredClone(node) as NodeObject;
          next.status = { ...next.status, conditions: check.newConditions };
          node = await this.client.update<NodeObject>({ ...resources.nodes, name, subresource: 'status' }, next);
        }
        this.health.set(name, check.health);
        return { node, observedReady: check.observedReady, currentReady: check.currentReady };
      } catch (error) {
        if (isNotFound(error)) return undefined;
        if (attempt >= HEALTH_UPDATE_ATTEMPTS) {
          this.logger.warn(`node-lifecycle: updating health of node ${name}: ${(error as Error)?.message ?? error}; no pods will be evicted this pass`);
          return undefined;
        }
      }
      try {
        node = await this.client.get<NodeObject>({ ...resources.nodes, name });
      } catch (error) {
        if (!isNotFound(error)) this.logger.warn(`node-lifecycle: re-reading node ${name}: ${(error as Error)?.message ?? error}`);
        return undefined;
      }
    }
  }

  /** Taints by the Ready status seen before this pass, and pods marked not ready when the node just became so. */
  private async afterHealthCheck(node: NodeObject, observedReady: NodeCondition, currentReady: NodeCondition): Promise<void> {
    const name = node.metadata.name!;
    try {
      if (observedReady.status === 'False' || observedReady.status === 'Unknown') await this.evictions.nodeUnhealthy(node, observedReady.status);
      else if (observedReady.status === 'True') await this.evictions.nodeReachable(node);
    } catch (error) {
      this.logger.warn(`node-lifecycle: taints of node ${name}: ${(error as Error)?.message ?? error}; trying again next pass`);
    }
    const becameUnready = currentReady.status !== 'True' && observedReady.status === 'True';
    if (becameUnready) {
      this.recorder.record({ object: nodeRef(node), type: 'Normal', reason: 'NodeNotReady', message: `Node ${name} status is now: NodeNotReady` });
    }
    if (becameUnready || (this.nodesToRetry.has(name) && observedReady.status !== 'True')) {
      try {
        await markPodsNotReady({ client: this.client, recorder: this.recorder, pods: this.podsByNode.podsOn(name), nodeName: name, now: this.now });
      } catch (error) {
        this.logger.warn(`node-lifecycle: marking pods on node ${name} not ready: ${(error as Error)?.message ?? error}; trying again next pass`);
        this.nodesToRetry.add(name);
        return;
      }
    }
    this.nodesToRetry.delete(name);
  }
}
