// The serviceaccount controller (kube-controller-manager's "serviceaccount"):
// every active namespace has a ServiceAccount named "default", created when
// the namespace appears and re-created when someone deletes it. Pods need it:
// ServiceAccount admission refuses pods whose account does not exist.
//
// Keys are namespace names. sync(namespace): a missing or terminating
// namespace needs nothing; otherwise create each missing account.
import type { Informer } from '../../client/informer.ts';
import { isAlreadyExists, isNotFound, resources, type KubeObject } from '../../client/interface.ts';
import { Controller, type ControllerOptions } from '../framework/controller.ts';

export const serviceAccountsResource = { group: '', version: 'v1', resource: 'serviceaccounts' } as const;
/** The accounts every namespace gets (upstream's --service-account-names default). */
export const DEFAULT_SERVICE_ACCOUNTS = ['default'] as const;

interface Namespace extends KubeObject {
  status?: { phase?: string };
}

export class ServiceAccountsController extends Controller {
  readonly name = 'serviceaccount';
  protected readonly component = 'service-account-controller';
  private readonly namespaces: Informer<Namespace>;
  private readonly accounts: Informer<KubeObject>;

  constructor(options: ControllerOptions) {
    super(options);
    this.namespaces = this.watch<Namespace>(resources.namespaces, {
      onAdd: (ns) => this.enqueue(ns.metadata.name!),
      onUpdate: (_old, ns) => this.enqueue(ns.metadata.name!),
    });
    this.accounts = this.watch<KubeObject>(serviceAccountsResource, {
      onDelete: (sa) => this.enqueue(sa.metadata.namespace!),
    });
  }

  protected async sync(namespace: string): Promise<void> {
    const ns = this.namespaces.lister.get(undefined, namespace);
    if (!ns || !isActive(ns)) return;
    for (const name of DEFAULT_SERVICE_ACCOUNTS) {
      if (this.accounts.lister.get(namespace, name)) continue;
      try {
        await this.client.create({ ...serviceAccountsResource, namespace }, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name } });
      } catch (error) {
        // Already there (our cache was behind), or the namespace went away or started terminating meanwhile.
        if (isAlreadyExists(error) || isNotFound(error) || isForbidden(error)) continue;
        throw error;
      }
    }
  }
}

/** Active, or not yet given a phase; not Terminating and not marked for deletion. */
export function isActive(ns: Namespace): boolean {
  return !ns.metadata.deletionTimestamp && (ns.status?.phase ?? 'Active') === 'Active';
}

export const isForbidden = (error: unknown) => (error as { code?: number })?.code === 403;
