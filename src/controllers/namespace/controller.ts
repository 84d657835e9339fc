// The namespace controller (kube-controller-manager's "namespace"): a
// namespace marked for deletion (deletionTimestamp, phase Terminating) is
// emptied of every namespaced object, its status conditions say what is
// left and why, and once it is empty the `kubernetes` finalizer is removed
// from spec.finalizers through the namespaces/NAME/finalize subresource;
// the API server then removes the namespace (when no other finalizer is
// left), which is when `kubectl delete namespace` returns.
//
// sync(name): read the namespace live (several writers touch a terminating
// namespace; the cache may be behind), one content pass (content.ts), write
// the conditions, then either finalize, come back later (content remains:
// finalizers to finish, pods terminating gracefully), or fail for a
// rate-limited retry (discovery, parsing or deletion errors).
import type { Informer } from '../../client/informer.ts';
import { isConflict, isNotFound, resources, type KubeObject } from '../../client/interface.ts';
import { Controller, type ControllerOptions } from '../framework/controller.ts';
import type { NamespaceCondition } from './conditions.ts';
import { ContentDeleter } from './content.ts';
import { registryDiscovery, type DiscoverResources } from './discovery.ts';

/** The finalizer this controller owns in a namespace's spec.finalizers. */
export const KUBERNETES_FINALIZER = 'kubernetes';

export interface Namespace extends KubeObject {
  spec?: { finalizers?: string[] };
  status?: { phase?: string; conditions?: NamespaceCondition[] };
}

export interface NamespaceControllerOptions extends ControllerOptions {
  /** Where the deletable resources come from (default: the API kind registry). */
  discover?: DiscoverResources;
  /** First wait before looking again at content that remains (doubles per pass; default 250 ms). */
  remainingBackoffMs?: number;
}

/** Attempts at writing the finalize subresource when the namespace changes meanwhile. */
const FINALIZE_ATTEMPTS = 5;

export class NamespaceController extends Controller {
  readonly name = 'namespace';
  protected readonly component = 'namespace-controller';
  private readonly namespaces: Informer<Namespace>;
  private readonly deleter: ContentDeleter;
  private readonly remainingBackoffMs: number;
  /** Passes that found content remaining, per namespace: the wait before the next one grows with it. */
  private readonly remainingPasses = new Map<string, number>();

  constructor(options: NamespaceControllerOptions) {
    super(options);
    this.deleter = new ContentDeleter({ client: this.client, discover: options.discover ?? registryDiscovery(), now: this.now });
    this.remainingBackoffMs = options.remainingBackoffMs ?? 250;
    this.namespaces = this.watch<Namespace>(resources.namespaces, {
      onAdd: (ns) => this.enqueueIfDeleting(ns),
      onUpdate: (_old, ns) => this.enqueueIfDeleting(ns),
      onDelete: (ns) => this.remainingPasses.delete(ns.metadata.name!),
    });
  }

  private enqueueIfDeleting(ns: Namespace): void {
    if (ns.metadata.deletionTimestamp) this.enqueue(ns);
  }

  protected async sync(name: string): Promise<void> {
    // The cache filters out what is not being deleted without a request.
    if (!this.namespaces.lister.get(undefined, name)?.metadata.deletionTimestamp) return;
    let ns = await this.read(name);
    if (!ns?.metadata.deletionTimestamp) return this.done(name);
    ns = await this.ensureTerminating(ns);
    if (!ns) return this.done(name);
    // Finalized by this controller already; other finalizers are their owners' business.
    if (!(ns.spec?.finalizers ?? []).includes(KUBERNETES_FINALIZER)) return this.done(name);

    const pass = await this.deleter.deleteAllContent(name, new Date(ns.metadata.deletionTimestamp!));
    ns = await this.writeConditions(ns, pass.conditions.apply(ns.status?.conditions));
    if (pass.errors.length) throw new Error(`deleting the content of namespace ${name}: ${pass.errors.join('; ')}`);
    if (pass.estimateSeconds > 0) {
      this.comeBackLater(name, pass.estimateSeconds);
      return;
    }
    await this.finalize(ns);
    this.done(name);
  }

  private done(name: string): void {
    this.remainingPasses.delete(name);
  }

  /**
   * Content remains (finalizers, graceful pod termination): look again soon,
   * then less and less often, never later than upstream's estimate/2 + 1 s.
   */
  private comeBackLater(name: string, estimateSeconds: number): void {
    const passes = this.remainingPasses.get(name) ?? 0;
    this.remainingPasses.set(name, passes + 1);
    const upstreamMs = (Math.floor(estimateSeconds / 2) + 1) * 1000;
    this.enqueueAfter(name, Math.min(upstreamMs, this.remainingBackoffMs * 2 ** Math.min(passes, 16)));
  }

  private async read(name: string): Promise<Namespace | undefined> {
    try {
      return await this.client.get<Namespace>({ ...resources.namespaces, name });
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  /** Phase Terminating (the API server sets it when it marks the namespace; an older writer may not have). */
  private async ensureTerminating(ns: Namespace): Promise<Namespace | undefined> {
    if (ns.status?.phase === 'Terminating') return ns;
    try {
      return await this.client.update<Namespace>({ ...resources.namespaces, name: ns.metadata.name, subresource: 'status' }, { ...ns, status: { ...ns.status, phase: 'Terminating' } });
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  /** Write changed conditions; a failed write is not fatal (the next pass writes them again). */
  private async writeConditions(ns: Namespace, result: { conditions: NamespaceCondition[]; changed: boolean }): Promise<Namespace> {
    if (!result.changed) return ns;
    try {
      return await this.client.update<Namespace>(
        { ...resources.namespaces, name: ns.metadata.name, subresource: 'status' },
        { ...ns, status: { ...ns.status, conditions: result.conditions } },
      );
    } catch (error) {
      if (!isConflict(error) && !isNotFound(error)) this.logger.warn(`namespace: updating the conditions of ${ns.metadata.name}: ${(error as Error).message}`);
      return ns;
    }
  }

  /** Remove our finalizer through namespaces/NAME/finalize; a conflict re-reads the namespace (same uid only) and retries. */
  private async finalize(ns: Namespace): Promise<void> {
    let current: Namespace | undefined = ns;
    for (let attempt = 1; current; attempt++) {
      const finalizers = [...new Set((current.spec?.finalizers ?? []).filter((f) => f !== KUBERNETES_FINALIZER))].sort();
      try {
        await this.client.update({ ...resources.namespaces, name: current.metadata.name, subresource: 'finalize' }, { ...current, spec: { ...current.spec, finalizers } });
        return;
      } catch (error) {
        if (isNotFound(error)) return;
        if (!isConflict(error) || attempt >= FINALIZE_ATTEMPTS) throw error;
      }
      const latest = await this.read(ns.metadata.name!);
      if (latest && latest.metadata.uid !== ns.metadata.uid) throw new Error(`namespace ${ns.metadata.name}: uid changed while finalizing`);
      current = latest;
    }
  }
}
