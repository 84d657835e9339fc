// The resourcequota controller (kube-controller-manager's "resourcequota"):
// keeps every ResourceQuota's status exact. status.hard follows spec.hard;
// status.used is recomputed from the informer caches of the kinds the quota
// limits (pods, services, claims, object counts of any built-in kind).
//
// Admission charges quotas as objects are created; this controller is what
// gives usage back. A quota is recomputed when it is created or its
// spec.hard changes, when an object it counts is deleted or changes its
// usage (a pod finishing, a Service changing type, a claim growing), and in
// a periodic full resync (upstream's 5 minutes) that also releases what
// admission charged for writes that then failed. Status updates alone do not
// requeue a quota: admission writes them, and recomputing on each would race
// the writes admission has charged but not yet made.
import { builtinKinds } from '../../api/registry.ts';
import {
  calculateQuotaUsage, evaluatorsForNames, usageEquals, usageFromJson, usageToJson,
  type Evaluator, type QuotaObject, type ResourceQuotaLike,
} from '../../api/quota/index.ts';
import { splitKey } from '../../client/cache.ts';
import type { Informer } from '../../client/informer.ts';
import { isNotFound, type KubeObject } from '../../client/interface.ts';
import { Controller, type ControllerOptions } from '../framework/controller.ts';
import type { ResourceType } from '../framework/informers.ts';

export const resourceQuotasResource = { group: '', version: 'v1', resource: 'resourcequotas' } as const;

/** Upstream's --resource-quota-sync-period. */
export const DEFAULT_FULL_RESYNC_MS = 5 * 60_000;

export interface ResourceQuotaControllerOptions extends ControllerOptions {
  /** Recompute every quota this often (default 5 minutes; 0 turns it off). */
  fullResyncMs?: number;
}

type QuotaObjectK = ResourceQuotaLike & KubeObject;

/** The served version of a built-in group/resource, for its informer. */
function resourceTypeOf(group: string, resource: string): ResourceType | undefined {
  const registry = builtinKinds();
  const preferred = registry.groups().find((g) => g.name === group)?.preferred;
  const info = registry.resources.find((r) => r.group === group && r.plural === resource && (!preferred || r.version === preferred))
    ?? registry.resources.find((r) => r.group === group && r.plural === resource);
  return info && info.verbs.includes('watch') ? { group, version: info.version, resource } : undefined;
}

const sameHard = (a: ResourceQuotaLike, b: ResourceQuotaLike) => usageEquals(usageFromJson(a.spec?.hard), usageFromJson(b.spec?.hard));

export class ResourceQuotaController extends Controller {
  readonly name = 'resourcequota';
  protected readonly component = 'resourcequota-controller';
  private readonly quotas: Informer<QuotaObjectK>;
  /** Informers of the kinds some quota counts, made when a quota first needs one ("group/resource"). */
  private readonly monitors = new Map<string, Informer<KubeObject>>();
  private readonly resyncTimer: ReturnType<typeof setInterval> | undefined;

  constructor(options: ResourceQuotaControllerOptions) {
    super(options);
    this.quotas = this.watch<QuotaObjectK>(resourceQuotasResource, {
      onAdd: (quota) => this.enqueue(quota),
      onUpdate: (old, quota) => {
        // Only spec changes (or a status the controller has not filled yet) need a recount.
        if (!sameHard(old, quota) || !quota.status?.hard) this.enqueue(quota);
      },
    });
    const period = options.fullResyncMs ?? DEFAULT_FULL_RESYNC_MS;
    if (period > 0) {
      this.resyncTimer = setInterval(() => this.enqueueAll(), period);
      this.resyncTimer.unref?.();
    }
  }

  private enqueueAll(): void {
    for (const quota of this.quotas.lister.list()) this.enqueue(quota);
  }

  /** Quotas of the object's namespace that limit a resource of its kind. */
  private enqueueQuotasCounting(evaluator: Evaluator, object: KubeObject): void {
    for (const quota of this.quotas.lister.list(object.metadata.namespace)) {
      if (evaluator.matchingResources(Object.keys(quota.spec?.hard ?? {})).length) this.enqueue(quota);
    }
  }

  /** The informer for an evaluator's kind, started on first use; undefined for kinds that cannot be watched. */
  private monitorFor(evaluator: Evaluator): Informer<KubeObject> | undefined {
    const key = `${evaluator.group}/${evaluator.resource}`;
    let informer = this.monitors.get(key);
    if (informer) return informer;
    const type = resourceTypeOf(evaluator.group, evaluator.resource);
    if (!type) return undefined;
    informer = this.watch<KubeObject>(type, {
      // Creations were charged by admission; only what can lower (or move) usage needs a recount.
      onUpdate: (old, current) => {
        // Resyncs, and namespaces without quotas (most pod updates), cost nothing.
        if (old === current || this.quotas.lister.list(current.metadata.namespace).length === 0) return;
        const now = this.now();
        if (!usageEquals(evaluator.usage(old as QuotaObject, now), evaluator.usage(current as QuotaObject, now))) this.enqueueQuotasCounting(evaluator, current);
      },
      onDelete: (object) => this.enqueueQuotasCounting(evaluator, object),
    });
    this.monitors.set(key, informer);
    return informer;
  }

  override async stop(): Promise<void> {
    if (this.resyncTimer) clearInterval(this.resyncTimer);
    await super.stop();
  }

  protected async sync(key: string): Promise<void> {
    const [namespace, name] = splitKey(key);
    const quota = this.quotas.lister.get(namespace, name);
    if (!quota) return;
    const hardNames = Object.keys(quota.spec?.hard ?? {});
    const informers = new Map<string, Informer<KubeObject>>();
    for (const evaluator of evaluatorsForNames(hardNames)) {
      const informer = this.monitorFor(evaluator);
      if (informer) informers.set(`${evaluator.group}/${evaluator.resource}`, informer);
    }
    // A monitor made just now has not listed yet: counting from it would release usage that exists.
    const synced = await Promise.all([...informers.values()].map((i) => i.waitForSync()));
    if (!synced.every(Boolean)) return;
    const fresh = calculateQuotaUsage({
      quota,
      objectsOf: (group, resource) => (informers.get(`${group}/${resource}`)?.lister.list(namespace) ?? []) as QuotaObject[],
      now: this.now(),
    });
    // Kinds that cannot be watched keep what admission charged.
    const used = new Map([...usageFromJson(quota.status?.used)].filter(([n]) => hardNames.includes(n)));
    for (const [n, v] of fresh) used.set(n, v);
    const hard = usageFromJson(quota.spec?.hard);
    const hardChanged = !quota.status?.hard || !usageEquals(hard, usageFromJson(quota.status.hard));
    if (!hardChanged && quota.status?.used && usageEquals(used, usageFromJson(quota.status.used))) return;
    const next = { ...structuredClone(quota), status: { hard: usageToJson(hard), used: usageToJson(used) } };
    try {
      await this.client.update({ ...resourceQuotasResource, namespace, name, subresource: 'status' }, next);
    } catch (error) {
      if (isNotFound(error)) return;
      throw error;
    }
  }
}
