// The Node status the kubelet reports, from the machine: capacity, and
// allocatable = capacity minus what kubelet's defaults hold back (no
// kube/system reservations; the hard eviction thresholds memory.available
// 100Mi and nodefs.available 10%), pressure conditions from those same
// thresholds, addresses, nodeInfo, the images on the node. Pure.
import type { ImageRecord } from '../images/store.ts';
import { KUBELET_VERSION, nodeConditions, type NodePressure } from '../shared/node-lease.ts';
import type { MachineInfo } from './machine.ts';

export const MAX_PODS = 110;
const EVICTION_MEMORY_BYTES = 100 * 1024 * 1024;
const EVICTION_NODEFS_PERCENT = 10;
/** upstream's nodeStatusMaxImages. */
const MAX_IMAGES = 50;

/** resource.Quantity's canonical text of a byte count: the largest binary suffix that divides it. */
export function formatBytes(bytes: number): string {
  const suffixes = ['', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei'];
  let value = BigInt(Math.max(0, Math.floor(bytes)));
  let i = 0;
  while (i < suffixes.length - 1 && value !== 0n && value % 1024n === 0n) {
    value /= 1024n;
    i++;
  }
  return `${value}${suffixes[i]}`;
}

export function capacityOf(machine: MachineInfo): Record<string, string> {
  return {
    cpu: String(machine.cpus),
    'ephemeral-storage': formatBytes(machine.storageBytes),
    'hugepages-1Gi': '0',
    'hugepages-2Mi': '0',
    memory: formatBytes(machine.memoryBytes),
    pods: String(MAX_PODS),
  };
}

export function allocatableOf(machine: MachineInfo): Record<string, string> {
  const storageReserved = Math.ceil((machine.storageBytes * EVICTION_NODEFS_PERCENT) / 100);
  return {
    ...capacityOf(machine),
    'ephemeral-storage': formatBytes(machine.storageBytes - storageReserved),
    memory: formatBytes(Math.max(0, machine.memoryBytes - EVICTION_MEMORY_BYTES)),
  };
}

export function pressureOf(machine: MachineInfo): NodePressure {
  return {
    memory: machine.memoryAvailableBytes < EVICTION_MEMORY_BYTES,
    disk: machine.storageAvailableBytes * 100 < machine.storageBytes * EVICTION_NODEFS_PERCENT,
    pid: false,
  };
}

/** The node's images, largest first, as kubelet lists them (repo digest and tag as names). */
export function nodeImages(images: readonly ImageRecord[]): { names: string[]; sizeBytes: number }[] {
  return [...images]
    .sort((a, b) => (b.size + b.unpackedSize) - (a.size + a.unpackedSize))
    .slice(0, MAX_IMAGES)
    .map((r) => ({ names: [`${r.repository}@${r.digest}`, r.reference], sizeBytes: r.unpackedSize || r.size }));
}

export interface NodeStatusInput {
  machine: MachineInfo;
  nodeName: string;
  hostIp: string;
  runtimeVersion: string;
  kubeletPort: number;
  images: readonly ImageRecord[];
  now: string;
  previousConditions?: unknown;
}

export function nodeStatus(input: NodeStatusInput): Record<string, unknown> {
  const { machine } = input;
  return {
    capacity: capacityOf(machine),
    allocatable: allocatableOf(machine),
    conditions: nodeConditions(input.now, input.previousConditions, pressureOf(machine)),
    addresses: [
      { type: 'InternalIP', address: input.hostIp },
      { type: 'Hostname', address: input.nodeName },
    ],
    daemonEndpoints: { kubeletEndpoint: { Port: input.kubeletPort } },
    nodeInfo: {
      machineID: machine.machineId,
      systemUUID: machine.systemUuid,
      bootID: machine.bootId,
      kernelVersion: machine.kernelVersion,
      osImage: machine.osImage,
      containerRuntimeVersion: input.runtimeVersion,
      kubeletVersion: KUBELET_VERSION,
      operatingSystem: 'linux',
      architecture: machine.architecture,
    },
    images: nodeImages(input.images),
  };
}

/** The status without heartbeat times: what "changed" means for the 10 s check. */
export function statusFingerprint(status: Record<string, unknown>): string {
  const conditions = ((status.conditions ?? []) as Record<string, unknown>[]).map(({ lastHeartbeatTime: _h, ...rest }) => rest);
  return JSON.stringify({ ...status, conditions });
}
