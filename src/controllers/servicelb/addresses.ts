// What the load-balancer status controller decides, as pure functions: which
// Services and Ingresses are skiff's to fill, and which node addresses go
// into their status.loadBalancer.ingress.
import type { KubeObject } from '../../client/interface.ts';

/** spec.loadBalancerClass that names skiff's built-in load balancer (the same as leaving it out). */
export const SERVICE_LB_CLASS = 'skiff.dev/servicelb';
/** The IngressClass skiff's ingress controller serves (src/proxy/ingress uses the same names). */
export const INGRESS_CLASS_NAME = 'skiff';
export const INGRESS_CONTROLLER = 'skiff.dev/ingress-controller';
const DEFAULT_CLASS_ANNOTATION = 'ingressclass.kubernetes.io/is-default-class';
const LEGACY_CLASS_ANNOTATION = 'kubernetes.io/ingress.class';
/** Upstream's well-known label: a node carrying it (any value) takes no load-balancer traffic. */
export const EXCLUDE_FROM_LB_LABEL = 'node.kubernetes.io/exclude-from-external-load-balancers';

export interface LbIngress {
  ip?: string;
  hostname?: string;
  ipMode?: string;
  ports?: unknown[];
}

export interface LbService extends KubeObject {
  spec?: { type?: string; loadBalancerClass?: string };
  status?: { loadBalancer?: { ingress?: LbIngress[] } };
}

export interface LbNode extends KubeObject {
  spec?: { unschedulable?: boolean };
  status?: { addresses?: { type: string; address: string }[]; conditions?: { type: string; status: string }[] };
}

export interface LbIngressObject extends KubeObject {
  spec?: { ingressClassName?: string };
  status?: { loadBalancer?: { ingress?: LbIngress[] } };
}

export interface LbIngressClass extends KubeObject {
  spec?: { controller?: string };
}

/** A LoadBalancer Service skiff serves: no class, or skiff's. */
export function wantsServiceLb(service: LbService): boolean {
  if (service.spec?.type !== 'LoadBalancer') return false;
  const lbClass = service.spec.loadBalancerClass;
  return lbClass === undefined || lbClass === '' || lbClass === SERVICE_LB_CLASS;
}

/** Nodes that take load-balancer traffic: Ready, schedulable, not excluded by label (upstream's node predicates). */
export function isLbNode(node: LbNode): boolean {
  if (node.spec?.unschedulable || node.metadata.deletionTimestamp) return false;
  if (node.metadata.labels?.[EXCLUDE_FROM_LB_LABEL] !== undefined) return false;
  return node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/** A node's address for load balancers: its ExternalIP, else its InternalIP. */
export function nodeLbAddress(node: LbNode): string | undefined {
  const addresses = node.status?.addresses ?? [];
  return addresses.find((a) => a.type === 'ExternalIP')?.address ?? addresses.find((a) => a.type === 'InternalIP')?.address;
}

/** IPv4 before IPv6, each in numeric order. */
export function compareIps(a: string, b: string): number {
  const key = (ip: string) => (ip.includes(':')
    ? `6${ip}`
    : `4${ip.split('.').map((octet) => octet.padStart(3, '0')).join('.')}`);
  const [ka, kb] = [key(a), key(b)];
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/** The distinct, sorted addresses of the nodes that take load-balancer traffic. */
export function lbAddresses(nodes: LbNode[]): string[] {
  const set = new Set<string>();
  for (const node of nodes) {
    const address = isLbNode(node) ? nodeLbAddress(node) : undefined;
    if (address) set.add(address);
  }
  return [...set].sort(compareIps);
}

/** status.loadBalancer.ingress of a Service (`ipMode: VIP`: traffic arrives with the address as destination). */
export function serviceIngress(addresses: string[]): LbIngress[] {
  return addresses.map((ip) => ({ ip, ipMode: 'VIP' }));
}

/** status.loadBalancer.ingress of an Ingress (IngressLoadBalancerIngress has no ipMode). */
export function ingressIngress(addresses: string[]): LbIngress[] {
  return addresses.map((ip) => ({ ip }));
}

export function sameIngress(a: LbIngress[] | undefined, b: LbIngress[] | undefined): boolean {
  return JSON.stringify(a ?? []) === JSON.stringify(b ?? []);
}

/**
 * An Ingress skiff's controller serves: the legacy class annotation or
 * spec.ingressClassName naming `skiff` (or a class whose controller is
 * skiff's), or neither set while one of skiff's classes is the default.
 */
export function isSkiffIngress(ingress: LbIngressObject, classes: LbIngressClass[]): boolean {
  const ours = classes.filter((c) => c.spec?.controller === INGRESS_CONTROLLER);
  const names = new Set([INGRESS_CLASS_NAME, ...ours.map((c) => c.metadata.name!)]);
  const legacy = ingress.metadata.annotations?.[LEGACY_CLASS_ANNOTATION];
  if (legacy !== undefined) return names.has(legacy);
  const named = ingress.spec?.ingressClassName;
  if (named) return names.has(named);
  return ours.some((c) => c.metadata.annotations?.[DEFAULT_CLASS_ANNOTATION] === 'true');
}
