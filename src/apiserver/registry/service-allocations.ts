// Service-specific server behaviour: ClusterIP and NodePort allocation on
// create, carrying allocated values over on update (a PUT without clusterIP
// keeps the one it has, as upstream does), release on delete.
import { ClusterIpAllocator, NodePortAllocator } from './allocators.ts';
import type { KubeObject } from './resource-store.ts';

interface ServiceSpec {
  type?: string;
  clusterIP?: string;
  clusterIPs?: string[];
  ports?: { nodePort?: number; port?: number }[];
  ipFamilies?: string[];
  ipFamilyPolicy?: string;
  allocateLoadBalancerNodePorts?: boolean;
}

const spec = (svc: KubeObject) => (svc.spec ??= {}) as ServiceSpec;
const wantsNodePorts = (s: ServiceSpec) => s.type === 'NodePort' || s.type === 'LoadBalancer';
/** Upstream: a LoadBalancer with allocateLoadBalancerNodePorts=false keeps the node ports it is given but gets no new ones. */
const allocatesNodePorts = (s: ServiceSpec) => s.type === 'NodePort' || (s.type === 'LoadBalancer' && s.allocateLoadBalancerNodePorts !== false);

export class ServiceAllocations {
  readonly clusterIps: ClusterIpAllocator;
  readonly nodePorts: NodePortAllocator;

  constructor(options: { serviceCidr: string; nodePortRange?: string }) {
    this.clusterIps = new ClusterIpAllocator(options.serviceCidr);
    this.nodePorts = new NodePortAllocator(options.nodePortRange);
  }

  /** Mark what existing Services hold (at start-up). */
  rebuild(services: KubeObject[]): void {
    for (const svc of services) {
      const s = spec(svc);
      for (const ip of s.clusterIPs ?? (s.clusterIP ? [s.clusterIP] : [])) this.clusterIps.markUsed(ip);
      for (const p of s.ports ?? []) if (p.nodePort) this.nodePorts.markUsed(p.nodePort);
    }
  }

  /** Allocate on create. Everything taken is released again if a later step fails. */
  allocate(svc: KubeObject): void {
    const s = spec(svc);
    const taken: { ip?: string; ports: number[] } = { ports: [] };
    try {
      if (s.type !== 'ExternalName' && s.clusterIP !== 'None') {
        const requested = s.clusterIP || s.clusterIPs?.[0];
        if (requested) this.clusterIps.reserve(requested, 'spec.clusterIPs');
        const ip = requested || this.clusterIps.allocate();
        taken.ip = ip;
        s.clusterIP = ip;
        s.clusterIPs = [ip];
      } else if (s.clusterIP === 'None') {
        s.clusterIPs = ['None'];
      }
      if (wantsNodePorts(s)) {
        (s.ports ?? []).forEach((p, i) => {
          if (p.nodePort) this.nodePorts.reserve(p.nodePort, `spec.ports[${i}].nodePort`);
          else if (allocatesNodePorts(s)) p.nodePort = this.nodePorts.allocate();
          if (p.nodePort) taken.ports.push(p.nodePort);
        });
      }
      if (s.type === 'ExternalName') {
        delete s.ipFamilies;
        delete s.ipFamilyPolicy;
      }
    } catch (error) {
      if (taken.ip) this.clusterIps.release(taken.ip);
      for (const port of taken.ports) this.nodePorts.release(port);
      throw error;
    }
  }

  release(svc: KubeObject): void {
    const s = spec(svc);
    for (const ip of s.clusterIPs ?? (s.clusterIP ? [s.clusterIP] : [])) this.clusterIps.release(ip);
    for (const p of s.ports ?? []) if (p.nodePort) this.nodePorts.release(p.nodePort);
  }

  /** On update: keep allocated values the new object leaves out; allocate newly needed node ports. */
  carryOver(next: KubeObject, old: KubeObject): void {
    const n = spec(next);
    const o = spec(old);
    if (!n.clusterIP && o.clusterIP) n.clusterIP = o.clusterIP;
    if (!n.clusterIPs?.length && o.clusterIPs?.length) n.clusterIPs = o.clusterIPs;
    const oldPorts = new Map((o.ports ?? []).filter((p) => p.nodePort).map((p) => [p.port, p.nodePort!]));
    const kept = new Set<number>();
    if (wantsNodePorts(n)) {
      for (const [i, p] of (n.ports ?? []).entries()) {
        if (!p.nodePort && p.port !== undefined && oldPorts.has(p.port)) p.nodePort = oldPorts.get(p.port);
        if (!p.nodePort && !allocatesNodePorts(n)) continue;
        if (!p.nodePort) p.nodePort = this.nodePorts.allocate();
        else if (![...oldPorts.values()].includes(p.nodePort)) this.nodePorts.reserve(p.nodePort, `spec.ports[${i}].nodePort`);
        kept.add(p.nodePort);
      }
    } else {
      for (const p of n.ports ?? []) delete p.nodePort;
    }
    for (const port of oldPorts.values()) if (!kept.has(port)) this.nodePorts.release(port);
  }
}
