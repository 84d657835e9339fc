// Finishes namespace deletion: a namespace marked for deletion (Terminating)
// has every namespaced object in it deleted (objects with finalizers are
// marked and waited for), then its `kubernetes` finalizer is removed and it
// disappears, so `kubectl delete namespace x` returns. Level-triggered: each
// sweep looks at every terminating namespace, so a restart or a missed
// trigger changes nothing. (The namespace controller with upstream's status
// conditions replaces this when the controller manager exists.)
import type { ServerParts } from './handlers/context.ts';
import { nowTimestamp, type KubeObject } from './registry/resource-store.ts';

export interface NamespaceFinalizerOptions {
  parts: ServerParts;
  intervalMs?: number;
}

export class NamespaceFinalizer {
  private readonly parts: ServerParts;
  private readonly intervalMs: number;
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private again = false;

  constructor(options: NamespaceFinalizerOptions) {
    this.parts = options.parts;
    this.intervalMs = options.intervalMs ?? 5000;
  }

  start(): void {
    this.timer = setInterval(() => this.trigger(), this.intervalMs);
    this.timer.unref();
    this.trigger();
  }

  /** Run a sweep soon (coalesced with one already running). */
  trigger(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.sweep()
      .catch((error) => console.error(`namespace finalizer: ${(error as Error).message}`))
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          setTimeout(() => this.trigger(), 200).unref();
        }
      });
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  private async sweep(): Promise<void> {
    const nsInfo = this.parts.registry.lookup('', 'v1', 'namespaces')!;
    const { items } = await this.parts.store.list(nsInfo, {});
    for (const ns of items) {
      if (!ns.metadata.deletionTimestamp) continue;
      const remaining = await this.deleteContent(ns.metadata.name!);
      if (remaining > 0) {
        this.again = true;
        continue;
      }
      await this.finalize(ns);
    }
  }

  /** Delete what is in the namespace; returns how many objects are still there. */
  private async deleteContent(namespace: string): Promise<number> {
    const { registry, store, strategy } = this.parts;
    let remaining = 0;
    const seen = new Set<string>();
    for (const resource of registry.resources) {
      if (!resource.namespaced || seen.has(resource.storageResource)) continue;
      seen.add(resource.storageResource);
      const { items } = await store.list(resource, { namespace });
      for (const object of items) {
        remaining++;
        try {
          if (object.metadata.finalizers?.length) {
            if (!object.metadata.deletionTimestamp) {
              const marked: KubeObject = structuredClone(object);
              marked.metadata.deletionTimestamp = nowTimestamp();
              marked.metadata.deletionGracePeriodSeconds = 0;
              await store.update(resource, marked, Number(object.metadata.resourceVersion));
            }
          } else {
            await store.delete(resource, namespace, object.metadata.name!, Number(object.metadata.resourceVersion));
            strategy.afterDelete(resource, object);
            remaining--;
          }
        } catch {
          // Changed or gone meanwhile: the next sweep looks again.
        }
      }
    }
    return remaining;
  }

  private async finalize(ns: KubeObject): Promise<void> {
    const nsInfo = this.parts.registry.lookup('', 'v1', 'namespaces')!;
    const spec = (ns.spec ?? {}) as { finalizers?: string[] };
    const next: KubeObject = structuredClone(ns);
    (next.spec as { finalizers?: string[] }) = { ...spec, finalizers: (spec.finalizers ?? []).filter((f) => f !== 'kubernetes') };
    try {
      if (next.metadata.finalizers?.length || (next.spec as { finalizers: string[] }).finalizers.length) {
        await this.parts.store.update(nsInfo, next, Number(ns.metadata.resourceVersion));
      } else {
        await this.parts.store.delete(nsInfo, undefined, ns.metadata.name!, Number(ns.metadata.resourceVersion));
      }
    } catch {
      // Raced with another write; the next sweep retries.
    }
  }
}
