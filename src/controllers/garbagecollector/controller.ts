// The garbage collector (kube-controller-manager's "garbagecollector"):
// metadata-only monitors of every deletable resource keep the owner graph
// (graph.ts); changes queue nodes; workers decide per node (collector.ts).
//
// Queue keys name a node by uid and say why it is there:
//   d/<uid>  attemptToDelete
//   v/<uid>  attemptToDelete of a virtual node (skipped once the object is observed)
//   o/<uid>  attemptToOrphan
// The framework's queue gives one worker per key, rate-limited retries of
// failed keys, and 20 workers (upstream's --concurrent-gc-syncs default).
import type { KubeObject } from '../../client/interface.ts';
import { Controller, StaleReadError, type ControllerOptions } from '../framework/controller.ts';
import { AbsentOwnerCache } from './absent-owners.ts';
import { Collector } from './collector.ts';
import { DependencyGraph, type GraphNode } from './graph.ts';
import { describeIdentity } from './identity.ts';
import { Monitors } from './monitors.ts';
import { ObjectOperations } from './operations.ts';
import { deletableResources, ResourceMapper, type GcResource } from './resources.ts';

export interface GarbageCollectorOptions extends ControllerOptions {
  /** Resources to watch (default: every deletable built-in resource but events). */
  resources?: GcResource[];
  /** Resolves references (default: the built-in kinds). */
  mapper?: ResourceMapper;
}

const DEFAULT_WORKERS = 20;

export class GarbageCollector extends Controller {
  readonly name = 'garbagecollector';
  protected readonly component = 'garbage-collector-controller';
  readonly graph: DependencyGraph;
  private readonly monitors: Monitors;
  private readonly mapper: ResourceMapper;
  private readonly collector: Collector;

  constructor(options: GarbageCollectorOptions) {
    super({ ...options, workers: options.workers ?? DEFAULT_WORKERS });
    this.mapper = options.mapper ?? new ResourceMapper();
    const absentOwners = new AbsentOwnerCache();
    this.graph = new DependencyGraph({
      absentOwners,
      effects: {
        attemptToDelete: (node) => this.queue.add(`${node.virtual ? 'v' : 'd'}/${node.identity.uid}`),
        attemptToOrphan: (node) => this.queue.add(`o/${node.identity.uid}`),
        invalidOwnerNamespace: (dependent, ownerUid) => this.reportInvalidOwnerNamespace(dependent, ownerUid),
      },
    });
    this.collector = new Collector({
      graph: this.graph,
      operations: new ObjectOperations({ client: this.client, mapper: this.mapper }),
      absentOwners,
      enqueueDelete: (node) => this.queue.add(`d/${node.identity.uid}`),
    });
    this.monitors = new Monitors({ client: this.client, graph: this.graph, logger: this.logger });
    this.monitors.sync(options.resources ?? deletableResources());
  }

  /**
   * Watch exactly these resources from now on (e.g. after custom resources
   * appeared or went). New kinds are resolvable in references at once.
   */
  syncResources(resources: readonly GcResource[]): void {
    for (const resource of resources) this.mapper.add(resource);
    this.monitors.sync(resources);
  }

  /** The graph is built from every monitor's first list before any worker acts on it. */
  override async run(): Promise<void> {
    this.monitors.start();
    if (!(await this.monitors.waitForSync())) return;
    return super.run();
  }

  override async stop(): Promise<void> {
    this.monitors.stop();
    return super.stop();
  }

  hasSynced(): boolean {
    return this.monitors.hasSynced();
  }

  protected async sync(key: string): Promise<void> {
    const kind = key.slice(0, 1);
    const node = this.graph.get(key.slice(2));
    if (!node) return;
    if (kind === 'o') {
      await this.collector.attemptToOrphan(node);
      return;
    }
    // A virtual node's check is moot once the object itself was observed.
    if (kind === 'v' && !node.virtual) return;
    const outcome = await this.collector.attemptToDelete(node);
    if (outcome !== 'done') return;
    // Exists, yet no watch has shown it: look again later, or a node added and removed
    // while a watch was down could stay in the graph forever.
    if (node.virtual) throw new StaleReadError(`${describeIdentity(node.identity)} has not been observed yet`);
  }

  private reportInvalidOwnerNamespace(dependent: GraphNode, ownerUid: string): void {
    const ref = dependent.owners.find((owner) => owner.uid === ownerUid);
    if (!ref) return;
    const { identity } = dependent;
    const object: KubeObject = {
      apiVersion: identity.apiVersion, kind: identity.kind,
      metadata: { name: identity.name, namespace: identity.namespace || undefined, uid: identity.uid },
    };
    const invalid = describeIdentity({ apiVersion: ref.apiVersion, kind: ref.kind, name: ref.name, uid: ref.uid, namespace: identity.namespace });
    this.recorder.record({
      object, type: 'Warning', reason: 'OwnerRefInvalidNamespace',
      message: `ownerRef ${invalid} does not exist in namespace "${identity.namespace}"`,
    });
  }
}
