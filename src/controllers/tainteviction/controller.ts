// The taint eviction controller (kube-controller-manager's "taint-eviction",
// upstream's NoExecuteTaintManager): pods on a node with NoExecute taints
// they do not tolerate are deleted at once; pods that tolerate them for
// tolerationSeconds are deleted when that time is up, unless the taint goes
// away (or the pod does) first. Each deletion is announced with a
// TaintManagerEviction event and marked on the pod with a DisruptionTarget
// condition (reason DeletionByTaintManager).
//
// Keys: "node:NAME" when a node's NoExecute taints change (every pod on it is
// reconsidered), "pod:NS/NAME" when a pod's node or tolerations change.
// Timers are per pod, owned here and cleared on stop().
import { splitKey } from '../../client/cache.ts';
import type { Informer } from '../../client/informer.ts';
import { resources, type KubeObject } from '../../client/interface.ts';
import type { Taint, Toleration } from '../daemonset/nodes.ts';
import { Controller, type ControllerOptions } from '../framework/controller.ts';
import type { Pod } from '../framework/types.ts';
import { PodsByNode } from '../nodelifecycle/pods-by-node.ts';
import type { NodeObject } from '../nodelifecycle/types.ts';
import { addConditionAndDeletePod } from './evict.ts';
import { matchingTolerations, minTolerationMs, noExecuteTaints, tolerationsKey } from './tolerations.ts';

type Scheduled =
  | { state: 'scheduled'; uid: string; createdAt: number; fireAt: number; timer: NodeJS.Timeout }
  /** Deleted already: not scheduled again until cancelled (the pod went, or the taint did). */
  | { state: 'done'; uid: string };

const podTolerations = (pod: Pod) => (pod.spec?.tolerations ?? []) as Toleration[];
const podRef = (namespace: string, name: string): KubeObject => ({ apiVersion: 'v1', kind: 'Pod', metadata: { namespace, name } });

export class TaintEvictionController extends Controller {
  readonly name = 'taint-eviction';
  protected readonly component = 'taint-eviction-controller';
  private readonly nodes: Informer<NodeObject>;
  private readonly pods: Informer<Pod>;
  private readonly podsByNode = new PodsByNode();
  private readonly evictions = new Map<string, Scheduled>();
  private readonly inFlight = new Set<Promise<void>>();
  private closing = false;

  constructor(options: ControllerOptions) {
    super(options);
    const index = this.podsByNode.handler;
    const podKey = (pod: Pod) => `pod:${pod.metadata.namespace}/${pod.metadata.name}`;
    this.pods = this.watch<Pod>(resources.pods, {
      onAdd: (pod, initial) => {
        index.onAdd!(pod, initial);
        this.enqueue(podKey(pod));
      },
      onUpdate: (old, pod) => {
        index.onUpdate!(old, pod);
        if (old.spec?.nodeName !== pod.spec?.nodeName || tolerationsKey(podTolerations(old)) !== tolerationsKey(podTolerations(pod))) this.enqueue(podKey(pod));
      },
      onDelete: (pod, unknown) => {
        index.onDelete!(pod, unknown);
        this.enqueue(podKey(pod));
      },
    });
    this.podsByNode.bind(this.pods.lister);
    const nodeKey = (node: NodeObject) => `node:${node.metadata.name}`;
    this.nodes = this.watch<NodeObject>(resources.nodes, {
      onAdd: (node) => this.enqueue(nodeKey(node)),
      onUpdate: (old, node) => {
        if (JSON.stringify(noExecuteTaints(old.spec?.taints)) !== JSON.stringify(noExecuteTaints(node.spec?.taints))) this.enqueue(nodeKey(node));
      },
      onDelete: (node) => this.enqueue(nodeKey(node)),
    });
  }

  protected async sync(key: string): Promise<void> {
    if (key.startsWith('node:')) this.syncNode(key.slice('node:'.length));
    else if (key.startsWith('pod:')) this.syncPod(key.slice('pod:'.length));
  }

  private syncNode(nodeName: string): void {
    const node = this.nodes.lister.get(undefined, nodeName);
    // A deleted node's pods are pod GC's business.
    if (!node) return;
    const taints = noExecuteTaints(node.spec?.taints);
    const now = this.now().getTime();
    for (const pod of this.podsByNode.podsOn(nodeName)) this.processPod(pod, taints, now);
  }

  private syncPod(podKey: string): void {
    const [namespace, name] = splitKey(podKey);
    const pod = this.pods.lister.get(namespace, name);
    if (!pod) {
      this.cancel(podKey, { announce: true });
      return;
    }
    const nodeName = pod.spec?.nodeName;
    const node = nodeName ? this.nodes.lister.get(undefined, nodeName) : undefined;
    if (!node) return;
    this.processPod(pod, noExecuteTaints(node.spec?.taints), this.now().getTime());
  }

  /** Schedule, keep, or cancel the pod's eviction for the node's NoExecute taints (upstream's processPodOnNode). */
  private processPod(pod: Pod, taints: readonly Taint[], now: number): void {
    const key = `${pod.metadata.namespace}/${pod.metadata.name}`;
    const uid = pod.metadata.uid ?? '';
    const existing = this.evictions.get(key);
    // A new pod of the same name starts with a clean slate.
    if (existing && existing.uid !== uid) this.cancel(key, { announce: existing.state === 'scheduled' });
    if (taints.length === 0) {
      this.cancel(key, { announce: true });
      return;
    }
    const { allTolerated, used } = matchingTolerations(taints, podTolerations(pod));
    if (!allTolerated) {
      this.logger.info(`taint-eviction: pod ${key} does not tolerate the NoExecute taints of node ${pod.spec?.nodeName}`);
      if (this.evictions.get(key)?.state === 'scheduled') this.cancel(key, { announce: true });
      this.schedule(key, uid, now, now);
      return;
    }
    const tolerateMs = minTolerationMs(used);
    if (tolerateMs < 0) {
      this.cancel(key, { announce: true });
      return;
    }
    const current = this.evictions.get(key);
    if (current?.state === 'done') return;
    // The clock started when the pod was first seen to need eviction; a changed tolerationSeconds moves the deadline, not the start.
    const createdAt = current?.createdAt ?? now;
    if (current?.fireAt === createdAt + tolerateMs) return;
    if (current) clearTimeout(current.timer);
    this.evictions.delete(key);
    this.schedule(key, uid, createdAt, createdAt + tolerateMs);
  }

  private schedule(key: string, uid: string, createdAt: number, fireAt: number): void {
    if (this.closing || this.evictions.has(key)) return;
    const timer = setTimeout(() => this.fire(key, uid), Math.max(0, fireAt - this.now().getTime()));
    this.evictions.set(key, { state: 'scheduled', uid, createdAt, fireAt, timer });
  }

  /** Forget the pod's eviction; with `announce`, say so when one was pending (upstream's "Cancelling deletion" event). */
  private cancel(key: string, options: { announce: boolean }): void {
    const entry = this.evictions.get(key);
    if (!entry) return;
    this.evictions.delete(key);
    if (entry.state !== 'scheduled') return;
    clearTimeout(entry.timer);
    if (options.announce) {
      const [namespace, name] = splitKey(key);
      this.recorder.record({ object: podRef(namespace, name), type: 'Normal', reason: 'TaintManagerEviction', message: `Cancelling deletion of Pod ${key}` });
    }
  }

  private fire(key: string, uid: string): void {
    const entry = this.evictions.get(key);
    if (this.closing || entry?.state !== 'scheduled' || entry.uid !== uid) return;
    this.evictions.set(key, { state: 'done', uid });
    const [namespace, name] = splitKey(key);
    this.recorder.record({ object: podRef(namespace, name), type: 'Normal', reason: 'TaintManagerEviction', message: `Marking for deletion Pod ${key}` });
    const work = addConditionAndDeletePod({
      client: this.client, namespace, name, uid, now: this.now,
      condition: { type: 'DisruptionTarget', status: 'True', reason: 'DeletionByTaintManager', message: 'Taint manager: deleting due to NoExecute taint' },
    }).then(
      (deleted) => { if (deleted) this.logger.info(`taint-eviction: deleted pod ${key}`); },
      (error) => {
        this.logger.warn(`taint-eviction: deleting pod ${key}: ${(error as Error)?.message ?? error}`);
        // Not done after all: look at the pod again later.
        if (this.evictions.get(key)?.state === 'done') this.evictions.delete(key);
        if (!this.closing) this.enqueueRateLimited(`pod:${key}`);
      },
    ).finally(() => this.inFlight.delete(work));
    this.inFlight.add(work);
  }

  override async stop(): Promise<void> {
    this.closing = true;
    await super.stop();
    for (const entry of this.evictions.values()) if (entry.state === 'scheduled') clearTimeout(entry.timer);
    this.evictions.clear();
    await Promise.allSettled([...this.inFlight]);
  }
}
