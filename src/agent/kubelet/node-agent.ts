// The kubelet's node side: register the Node (create, or adopt the one a
// previous run left: our labels win, what others set stays, podCIDR is only
// filled in), take a pod CIDR from the cluster CIDR when the Node has none
// (there is no node IPAM controller), renew the Lease every 10 s, and write
// the status when it changed (checked every 10 s) or every 5 minutes.
import { isNotFound, resources, type ApiClient, type KubeObject } from '../../client/interface.ts';
import { formatCidr, parseCidr, type Cidr } from '../shared/cidr.ts';
import { ensureLease, leaseRenewal, NODE_LEASE_NAMESPACE, rfc3339, type NodePressure } from '../shared/node-lease.ts';
import type { KubeletImages } from './context.ts';
import { readMachineInfo, type MachineInfo } from './machine.ts';
import { nodeStatus, statusFingerprint, type EvictionReservation } from './node-status.ts';

export interface NodeAgentOptions {
  client: ApiClient;
  nodeName: string;
  hostIp: string;
  dataDir: string;
  runtimeVersion: string;
  kubeletPort: number;
  images: KubeletImages;
  /** The node's pod range; default: the Node's own, else the first free /24 of clusterCidr. */
  podCidr?: string;
  clusterCidr?: string;
  labels?: Record<string, string>;
  now: () => Date;
  warn: (message: string) => void;
  leaseIntervalMs?: number;
  statusCheckMs?: number;
  statusReportMs?: number;
  /** Tests measure a fake machine. */
  machine?: () => Promise<MachineInfo>;
  /** The eviction manager's pressure conditions (default: the machine against the default thresholds). */
  pressure?: () => NodePressure;
  /** What the hard eviction thresholds hold back from allocatable. */
  reservation?: (machine: MachineInfo) => EvictionReservation;
}

const NODE_MASK = 24;

/** The first block of `mask` bits in the cluster CIDR that overlaps none of the used ranges. */
export function firstFreePodCidr(options: { clusterCidr: string; used: string[]; mask?: number }): string {
  const cluster = parseCidr(options.clusterCidr);
  const mask = Math.max(options.mask ?? NODE_MASK, cluster.prefix);
  const size = 2 ** (32 - mask);
  const used: Cidr[] = options.used.flatMap((u) => { try { return [parseCidr(u)]; } catch { return []; } });
  const overlaps = (base: number) => used.some((u) => base < u.base + 2 ** (32 - u.prefix) && u.base < base + size);
  for (let i = 0; i < 2 ** (mask - cluster.prefix); i++) {
    const base = cluster.base + i * size;
    if (!overlaps(base)) return formatCidr({ base, prefix: mask });
  }
  throw new Error(`no free /${mask} left in the cluster CIDR ${options.clusterCidr} for node pod ranges`);
}

export class NodeAgent {
  private readonly options: NodeAgentOptions;
  private timers: NodeJS.Timeout[] = [];
  private uid = '';
  private lastFingerprint = '';
  private lastReportAt = 0;
  private busy = false;
  private stopped = false;
  machine: MachineInfo | undefined;
  podCidr = '';

  constructor(options: NodeAgentOptions) {
    this.options = options;
  }

  private measure(): Promise<MachineInfo> {
    return (this.options.machine ?? (() => readMachineInfo({ dataDir: this.options.dataDir })))();
  }

  private labels(machine: MachineInfo): Record<string, string> {
    return {
      ...this.options.labels,
      'kubernetes.io/hostname': this.options.nodeName,
      'kubernetes.io/os': 'linux',
      'kubernetes.io/arch': machine.architecture,
      'beta.kubernetes.io/os': 'linux',
      'beta.kubernetes.io/arch': machine.architecture,
    };
  }

  private status(machine: MachineInfo, previousConditions?: unknown): Record<string, unknown> {
    const o = this.options;
    return nodeStatus({ machine, nodeName: o.nodeName, hostIp: o.hostIp, runtimeVersion: o.runtimeVersion, kubeletPort: o.kubeletPort, images: o.images.list(), now: rfc3339(o.now()), previousConditions, pressure: o.pressure?.(), reservation: o.reservation?.(machine) });
  }

  /** Create or adopt the Node and its Lease; returns the Node as written. */
  async register(): Promise<KubeObject> {
    const { client, nodeName } = this.options;
    const machine = await this.measure();
    this.machine = machine;
    const ref = { ...resources.nodes, name: nodeName };
    let existing: KubeObject | undefined;
    try {
      existing = await client.get(ref);
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    const ownCidr = (existing?.spec as { podCIDR?: string } | undefined)?.podCIDR;
    this.podCidr = ownCidr || this.options.podCidr || await this.allocatePodCidr();
    let node: KubeObject;
    if (!existing) {
      node = await client.create(resources.nodes, {
        apiVersion: 'v1',
        kind: 'Node',
        metadata: { name: nodeName, labels: this.labels(machine), annotations: { 'volumes.kubernetes.io/controller-managed-attach-detach': 'true' } },
        spec: { podCIDR: this.podCidr, podCIDRs: [this.podCidr] },
        status: this.status(machine),
      });
    } else {
      const next = structuredClone(existing);
      next.metadata.labels = { ...existing.metadata.labels, ...this.labels(machine) };
      next.spec = { ...(existing.spec as object), ...(ownCidr ? {} : { podCIDR: this.podCidr, podCIDRs: [this.podCidr] }) };
      node = JSON.stringify([next.metadata.labels, next.spec]) === JSON.stringify([existing.metadata.labels, existing.spec]) ? existing : await client.update(ref, next);
    }
    this.uid = node.metadata.uid ?? '';
    const status = this.status(machine, (node.status as { conditions?: unknown } | undefined)?.conditions);
    node = await client.patch({ ...ref, subresource: 'status' }, 'merge', { status });
    this.lastFingerprint = statusFingerprint(status);
    this.lastReportAt = this.options.now().getTime();
    await ensureLease({ client, nodeName, nodeUid: this.uid, exists: false, now: this.options.now });
    return node;
  }

  private async allocatePodCidr(): Promise<string> {
    const nodes = await this.options.client.list(resources.nodes);
    const used = nodes.items.flatMap((n) => {
      const spec = (n.spec ?? {}) as { podCIDR?: string; podCIDRs?: string[] };
      return spec.podCIDRs ?? (spec.podCIDR ? [spec.podCIDR] : []);
    });
    return firstFreePodCidr({ clusterCidr: this.options.clusterCidr ?? '10.42.0.0/16', used });
  }

  start(): void {
    const o = this.options;
    this.timers.push(setInterval(() => void this.renewLease(), o.leaseIntervalMs ?? 10_000));
    this.timers.push(setInterval(() => void this.checkStatus(), o.statusCheckMs ?? 10_000));
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
  }

  private async renewLease(): Promise<void> {
    const { client, nodeName, now } = this.options;
    try {
      await client.patch({ ...resources.leases, namespace: NODE_LEASE_NAMESPACE, name: nodeName }, 'merge', leaseRenewal(nodeName, now()));
    } catch (error) {
      if (!isNotFound(error)) {
        this.options.warn(`renewing the node lease failed: ${(error as Error).message}`);
        return;
      }
      await ensureLease({ client, nodeName, nodeUid: this.uid, exists: false, now }).catch((e) => this.options.warn(`re-creating the node lease failed: ${(e as Error).message}`));
    }
  }

  /** Write the status when it changed, or when the report period passed. */
  async checkStatus(force = false): Promise<void> {
    if (this.busy || this.stopped) return;
    this.busy = true;
    const { client, nodeName, now } = this.options;
    const ref = { ...resources.nodes, name: nodeName };
    try {
      const machine = await this.measure();
      this.machine = machine;
      let node: KubeObject;
      try {
        node = await client.get(ref);
      } catch (error) {
        if (!isNotFound(error)) throw error;
        this.options.warn(`node ${nodeName} was deleted; registering it again`);
        await this.register();
        return;
      }
      const status = this.status(machine, (node.status as { conditions?: unknown } | undefined)?.conditions);
      const fingerprint = statusFingerprint(status);
      const due = now().getTime() - this.lastReportAt >= (this.options.statusReportMs ?? 300_000);
      if (!force && !due && fingerprint === this.lastFingerprint) return;
      await client.patch({ ...ref, subresource: 'status' }, 'merge', { metadata: { resourceVersion: node.metadata.resourceVersion }, status });
      this.lastFingerprint = fingerprint;
      this.lastReportAt = now().getTime();
    } catch (error) {
      this.options.warn(`updating the node status failed: ${(error as Error).message}`);
    } finally {
      this.busy = false;
    }
  }
}
