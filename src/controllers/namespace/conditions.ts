// The status conditions the namespace controller keeps on a terminating
// namespace, as upstream's namespace deleter: five condition types, each
// either True with a failure reason and message, or False with its "ok"
// reason and message. One ConditionUpdater collects what one deletion pass
// found; apply() merges it into the namespace status the way upstream does
// (the first stored condition of each type is updated in place, other types
// are kept, lastTransitionTime moves only when the status flips).

export interface NamespaceCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  lastTransitionTime?: string;
  reason?: string;
  message?: string;
}

export const DISCOVERY_FAILURE = 'NamespaceDeletionDiscoveryFailure';
export const GROUP_VERSION_PARSING_FAILURE = 'NamespaceDeletionGroupVersionParsingFailure';
export const CONTENT_FAILURE = 'NamespaceDeletionContentFailure';
export const CONTENT_REMAINING = 'NamespaceContentRemaining';
export const FINALIZERS_REMAINING = 'NamespaceFinalizersRemaining';

/** The condition types this controller owns, in the order they are first added. */
export const CONDITION_TYPES = [DISCOVERY_FAILURE, GROUP_VERSION_PARSING_FAILURE, CONTENT_FAILURE, CONTENT_REMAINING, FINALIZERS_REMAINING] as const;

const OK: Record<(typeof CONDITION_TYPES)[number], { reason: string; message: string }> = {
  [DISCOVERY_FAILURE]: { reason: 'ResourcesDiscovered', message: 'All resources successfully discovered' },
  [GROUP_VERSION_PARSING_FAILURE]: { reason: 'ParsedGroupVersions', message: 'All legacy kube types successfully parsed' },
  [CONTENT_FAILURE]: { reason: 'ContentDeleted', message: 'All content successfully deleted, may be waiting on finalization' },
  [CONTENT_REMAINING]: { reason: 'ContentRemoved', message: 'All content successfully removed' },
  [FINALIZERS_REMAINING]: { reason: 'ContentHasNoFinalizers', message: 'All content-preserving finalizers finished' },
};

/** What is left in the namespace after a pass: objects per resource ("pods." / "deployments.apps") and per finalizer. */
export interface ContentTotals {
  remainingByResource: Map<string, number>;
  remainingByFinalizer: Map<string, number>;
}

export class ConditionUpdater {
  private readonly now: () => string;
  private readonly failures: NamespaceCondition[] = [];
  private readonly contentErrors: string[] = [];

  constructor(options: { now: () => string }) {
    this.now = options.now;
  }

  discoveryFailed(message: string): void {
    this.fail(DISCOVERY_FAILURE, 'DiscoveryFailed', message);
  }

  groupVersionParsingFailed(message: string): void {
    this.fail(GROUP_VERSION_PARSING_FAILURE, 'GroupVersionParsingFailed', message);
  }

  contentDeletionFailed(message: string): void {
    this.contentErrors.push(message);
  }

  contentTotals(totals: ContentTotals): void {
    const described = (counts: Map<string, number>, describe: (key: string, n: number) => string) =>
      [...counts].filter(([, n]) => n > 0).map(([key, n]) => describe(key, n)).sort();
    const resources = described(totals.remainingByResource, (resource, n) => `${resource} has ${n} resource instances`);
    if (resources.length) this.fail(CONTENT_REMAINING, 'SomeResourcesRemain', `Some resources are remaining: ${resources.join(', ')}`);
    const finalizers = described(totals.remainingByFinalizer, (finalizer, n) => `${finalizer} in ${n} resource instances`);
    if (finalizers.length) {
      this.fail(FINALIZERS_REMAINING, 'SomeFinalizersRemain', `Some content in the namespace has finalizers remaining: ${finalizers.join(', ')}`);
    }
  }

  /** The conditions after this pass, merged into `current`; `changed` is false when nothing differs. */
  apply(current: readonly NamespaceCondition[] | undefined): { conditions: NamespaceCondition[]; changed: boolean } {
    const wanted = [...this.failures];
    if (this.contentErrors.length) {
      const messages = [...this.contentErrors].sort();
      wanted.push(this.condition(CONTENT_FAILURE, 'True', 'ContentDeletionFailed', `Failed to delete all resource types, ${messages.length} remaining: ${messages.join(', ')}`));
    }
    const conditions = (current ?? []).map((c) => ({ ...c }));
    let changed = false;
    for (const type of CONDITION_TYPES) {
      const next = wanted.find((c) => c.type === type) ?? this.condition(type, 'False', OK[type].reason, OK[type].message);
      const old = conditions.find((c) => c.type === type);
      if (!old) {
        conditions.push(next);
        changed = true;
      } else if (old.status !== next.status || old.reason !== next.reason || old.message !== next.message) {
        if (old.status !== next.status) old.lastTransitionTime = next.lastTransitionTime;
        old.status = next.status;
        old.reason = next.reason;
        old.message = next.message;
        changed = true;
      }
    }
    return { conditions, changed };
  }

  private fail(type: string, reason: string, message: string): void {
    this.failures.push(this.condition(type, 'True', reason, message));
  }

  private condition(type: string, status: NamespaceCondition['status'], reason: string, message: string): NamespaceCondition {
    return { type, status, lastTransitionTime: this.now(), reason, message };
  }
}
