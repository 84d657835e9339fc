// The load-balancer status controller (skiff's counterpart of k3s's
// servicelb and of upstream's service controller with a cloud provider):
// every Service of type LoadBalancer that is skiff's to serve (no
// spec.loadBalancerClass, or `skiff.dev/servicelb`) gets the addresses of
// the Ready, schedulable nodes in status.loadBalancer.ingress — the node
// agents' service proxy accepts the service port on those addresses — and
// every Ingress of skiff's class gets the same addresses (the ingress
// controller listens on every node). The lists follow the nodes as they come,
// go, or stop being Ready; a Service that stops being a LoadBalancer has its
// status cleared.
//
// Keys are `service:<ns>/<name>` and `ingress:<ns>/<name>`; a node change
// that moves the address set requeues every LoadBalancer Service and every
// Ingress. Status is written with a merge patch on the status subresource:
// it is computed from the nodes alone, so a concurrent change of the object
// cannot make it wrong.
import { splitKey } from '../../client/cache.ts';
import type { Informer } from '../../client/informer.ts';
import { isNotFound, resources } from '../../client/interface.ts';
import { Controller, type ControllerOptions } from '../framework/controller.ts';
import { keyOf } from '../framework/types.ts';
import {
  ingressIngress, isLbNode, isSkiffIngress, lbAddresses, nodeLbAddress, sameIngress, serviceIngress, wantsServiceLb,
  type LbIngress, type LbIngressClass, type LbIngressObject, type LbNode, type LbService,
} from './addresses.ts';

const ingresses = { group: 'networking.k8s.io', version: 'v1', resource: 'ingresses' } as const;
const ingressClasses = { group: 'networking.k8s.io', version: 'v1', resource: 'ingressclasses' } as const;
const SERVICE = 'service:';
const INGRESS = 'ingress:';

export class ServiceLbController extends Controller {
  readonly name = 'servicelb';
  protected readonly component = 'service-lb-controller';
  private readonly services: Informer<LbService>;
  private readonly nodes: Informer<LbNode>;
  private readonly ingresses: Informer<LbIngressObject>;
  private readonly classes: Informer<LbIngressClass>;

  constructor(options: ControllerOptions) {
    super(options);
    this.services = this.watch<LbService>(resources.services, {
      onAdd: (svc) => this.enqueue(SERVICE + keyOf(svc)),
      onUpdate: (_old, svc) => this.enqueue(SERVICE + keyOf(svc)),
    });
    this.ingresses = this.watch<LbIngressObject>(ingresses, {
      onAdd: (ing) => this.enqueue(INGRESS + keyOf(ing)),
      onUpdate: (_old, ing) => this.enqueue(INGRESS + keyOf(ing)),
    });
    this.classes = this.watch<LbIngressClass>(ingressClasses, {
      onAdd: () => this.enqueueIngresses(),
      onUpdate: () => this.enqueueIngresses(),
      onDelete: () => this.enqueueIngresses(),
    });
    this.nodes = this.watch<LbNode>(resources.nodes, {
      onAdd: (node) => this.onNodeChange(undefined, node),
      onUpdate: (old, node) => this.onNodeChange(old, node),
      onDelete: (node) => this.onNodeChange(node, undefined),
    });
  }

  // ---- handlers: only keys ---------------------------------------------------

  /** Heartbeats change nodes every few seconds: only a change of what a balancer sees requeues. */
  private onNodeChange(old: LbNode | undefined, node: LbNode | undefined): void {
    const seen = (n: LbNode | undefined) => (n && isLbNode(n) ? nodeLbAddress(n) ?? '' : undefined);
    if (seen(old) === seen(node)) return;
    for (const svc of this.services.lister.list()) if (svc.spec?.type === 'LoadBalancer') this.enqueue(SERVICE + keyOf(svc));
    this.enqueueIngresses();
  }

  private enqueueIngresses(): void {
    for (const ing of this.ingresses.lister.list()) this.enqueue(INGRESS + keyOf(ing));
  }

  // ---- sync --------------------------------------------------------------------

  protected async sync(key: string): Promise<void> {
    if (key.startsWith(SERVICE)) return this.syncService(key.slice(SERVICE.length));
    if (key.startsWith(INGRESS)) return this.syncIngress(key.slice(INGRESS.length));
  }

  private addresses(): string[] {
    return lbAddresses(this.nodes.lister.list());
  }

  private async syncService(key: string): Promise<void> {
    const [namespace, name] = splitKey(key);
    const service = this.services.lister.get(namespace, name);
    if (!service) return;
    const current = service.status?.loadBalancer?.ingress ?? [];
    const object = { ...service, apiVersion: 'v1', kind: 'Service' };
    const event = (reason: string, message: string) => this.recorder.record({ object, type: 'Normal', reason, message });
    if (wantsServiceLb(service)) {
      const desired = serviceIngress(this.addresses());
      if (sameIngress(current, desired)) return;
      const first = current.length === 0;
      if (first) event('EnsuringLoadBalancer', 'Ensuring load balancer');
      await this.patchStatus({ ...resources.services, namespace, name }, desired);
      if (first) event('EnsuredLoadBalancer', 'Ensured load balancer');
      else event('UpdatedLoadBalancer', 'Updated load balancer with new hosts');
      return;
    }
    // No longer a LoadBalancer (one of another class keeps what its controller wrote).
    if (service.spec?.type !== 'LoadBalancer' && current.length > 0) {
      event('DeletingLoadBalancer', 'Deleting load balancer');
      await this.patchStatus({ ...resources.services, namespace, name }, []);
      event('DeletedLoadBalancer', 'Deleted load balancer');
    }
  }

  private async syncIngress(key: string): Promise<void> {
    const [namespace, name] = splitKey(key);
    const ingress = this.ingresses.lister.get(namespace, name);
    if (!ingress || ingress.metadata.deletionTimestamp) return;
    if (!isSkiffIngress(ingress, this.classes.lister.list())) return;
    const desired = ingressIngress(this.addresses());
    if (sameIngress(ingress.status?.loadBalancer?.ingress, desired)) return;
    await this.patchStatus({ ...ingresses, namespace, name }, desired);
  }

  private async patchStatus(ref: { group: string; version: string; resource: string; namespace: string; name: string }, ingress: LbIngress[]): Promise<void> {
    try {
      await this.client.patch({ ...ref, subresource: 'status' }, 'merge', { status: { loadBalancer: { ingress: ingress.length ? ingress : null } } });
    } catch (error) {
      // Deleted meanwhile: nothing left to fill.
      if (!isNotFound(error)) throw error;
    }
  }
}
