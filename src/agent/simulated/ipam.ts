// Addresses for hollow nodes and their pods. Nothing is ever sent to them:
// they only have to look like a real cluster's (unique per node, inside the
// node's podCIDR) so that Services, EndpointSlices and tests see sane data.
// IPv4 only, like the default --cluster-cidr.

import { formatCidr, formatIp, parseCidr, type Cidr } from '../shared/cidr.ts';

export { formatCidr, formatIp, parseCidr, type Cidr };

/** Smallest per-node block we hand out: .0 network, .1 gateway, a few pods, broadcast. */
const SMALLEST_NODE_MASK = 29;

/**
 * The per-node mask: `preferred` (/24, as upstream's node-cidr-mask-size) when
 * `count` such blocks fit in the cluster CIDR, else the largest block that
 * still gives every node its own range (a 1000-node simulation in a /16 gets
 * /26 blocks), so big simulations work with the default --cluster-cidr.
 */
export function nodeMaskSize(options: { clusterCidr: Cidr; count: number; preferred?: number }): number {
  const { clusterCidr, count } = options;
  const preferred = Math.max(options.preferred ?? 24, clusterCidr.prefix);
  const needed = clusterCidr.prefix + Math.ceil(Math.log2(Math.max(1, count)));
  const mask = Math.max(preferred, needed);
  if (mask > SMALLEST_NODE_MASK) {
    const most = 2 ** (SMALLEST_NODE_MASK - clusterCidr.prefix);
    throw new Error(`${count} simulated nodes do not fit in the cluster CIDR ${formatCidr(clusterCidr)} (at most ${most} nodes with a /${SMALLEST_NODE_MASK} each); use a larger --cluster-cidr`);
  }
  return mask;
}

/** Node `index`'s block of the cluster CIDR. */
export function nodePodCidr(options: { clusterCidr: Cidr; mask: number; index: number }): Cidr {
  const { clusterCidr, mask, index } = options;
  return { base: clusterCidr.base + index * 2 ** (32 - mask), prefix: mask };
}

/**
 * Node `index`'s InternalIP: 172.31.0.1, 172.31.0.2, … (private space that
 * this project never routes; the hollow node listens on nothing).
 */
export function nodeInternalIp(index: number): string {
  return formatIp(parseCidr('172.31.0.0/16').base + index + 1);
}

/**
 * Pod IPs of one node, like host-local IPAM: from .2 (after the bridge's
 * gateway) to the last address before broadcast, handed out round-robin
 * (a freed address is reused only after the rest of the range, so a new pod
 * rarely inherits the address of one just deleted), keyed by pod uid so
 * re-processing a pod returns the same address.
 */
export class PodIpPool {
  private readonly first: number;
  private readonly last: number;
  private cursor: number;
  private readonly byUid = new Map<string, number>();
  private readonly used = new Set<number>();

  constructor(range: Cidr) {
    const size = 2 ** (32 - range.prefix);
    this.first = range.base + 2;
    this.last = range.base + size - 2;
    this.cursor = this.first;
  }

  get capacity(): number {
    return Math.max(0, this.last - this.first + 1);
  }

  get inUse(): number {
    return this.used.size;
  }

  /** The pod's address; undefined when the range is exhausted. */
  allocate(uid: string): string | undefined {
    const held = this.byUid.get(uid);
    if (held !== undefined) return formatIp(held);
    if (this.used.size >= this.capacity) return undefined;
    while (this.used.has(this.cursor)) this.cursor = this.cursor >= this.last ? this.first : this.cursor + 1;
    const value = this.cursor;
    this.cursor = value >= this.last ? this.first : value + 1;
    this.byUid.set(uid, value);
    this.used.add(value);
    return formatIp(value);
  }

  /**
   * Record an address a pod already has (found after a restart). False when it
   * is outside this range or taken by another pod; the pod keeps it anyway,
   * as a kubelet would not renumber a running pod.
   */
  adopt(uid: string, ip: string): boolean {
    let value: number;
    try {
      value = parseCidr(`${ip}/32`).base;
    } catch {
      return false;
    }
    if (value < this.first || value > this.last || (this.used.has(value) && this.byUid.get(uid) !== value)) return false;
    this.release(uid);
    this.byUid.set(uid, value);
    this.used.add(value);
    return true;
  }

  release(uid: string): boolean {
    const value = this.byUid.get(uid);
    if (value === undefined) return false;
    this.byUid.delete(uid);
    this.used.delete(value);
    return true;
  }

  holds(uid: string): boolean {
    return this.byUid.has(uid);
  }
}
