// The Node status the kubelet reports, from the machine: capacity, and
// allocatable = capacity minus what the hard eviction thresholds hold back
// (no kube/system reservations; kubelet's defaults memory.available 100Mi
// and nodefs.available 10%), the pressure conditions of the eviction
// manager (eviction/), addresses, nodeInfo, the images on the node. Pure.
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

/** What the hard eviction thresholds hold back of memory and the node filesystem. */
export interface EvictionReservation {
  memoryBytes: number;
  storageBytes: number;
}

/** kubelet's defaults: memory.available<100Mi, nodefs.available<10%. */
export function defaultReservation(machine: MachineInfo): EvictionReservation {
  return { memoryBytes: EVICTION_MEMORY_BYTES, storageBytes: Math.ceil((machine.storageBytes * EVICTION_NODEFS_PERCENT) / 100) };
}

export function allocatableOf(machine: MachineInfo, reservation: EvictionReservation = defaultReservation(machine)): Record<string, string> {
  return {
    ...capacityOf(machine),
    'ephemeral-storage': formatBytes(Math.max(0, machine.storageBytes - reservation.storageBytes)),
    memory: formatBytes(Math.max(0, machine.memoryBytes - reservation.memoryBytes)),
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
  /** The eviction manager's conditions; default: the machine against kubelet's default hard thresholds. */
  pressure?: NodePressure;
  reservation?: EvictionReservation;
}

export function nodeStatus(input: NodeStatusInput): Record<string, unknown> {
  const { machine } = input;
  return {
    capacity: capacityOf(machine),
    allocatable: allocatableOf(machine, input.reservation),
    conditions: nodeConditions(input.now, input.previousConditions, input.pressure ?? pressureOf(machine)),
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
