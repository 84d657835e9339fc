// Which pod goes first, and what it is told — upstream's rank functions and
// evictionMessage. Memory and disk: pods using more than they requested
// first, then lower priority first, then the larger use above the request
// first. PIDs: lower priority, then more processes. Critical pods (static
// or mirror pods, priority ≥ system-cluster-critical's 2000000000) are never
// chosen. QoS class plays no part, as upstream. Pure.
import type { KubeObject } from '../../../client/interface.ts';
import { formatBytes } from '../node-status.ts';
import { specOf, type ContainerSpec } from '../pod-types.ts';
import { podRequests, wholeValue } from '../resources.ts';
import type { Observations, PodUsage } from './stats.ts';
import { resourceOf, thresholdAmount, type Signal, type Threshold } from './thresholds.ts';

/** upstream's scheduling.SystemCriticalPriority. */
export const SYSTEM_CRITICAL_PRIORITY = 2_000_000_000;

export function isCriticalPod(pod: KubeObject): boolean {
  const annotations = pod.metadata.annotations ?? {};
  if (annotations['kubernetes.io/config.mirror'] !== undefined) return true;
  const source = annotations['kubernetes.io/config.source'];
  if (source !== undefined && source !== 'api') return true;
  return (specOf(pod).priority ?? 0) >= SYSTEM_CRITICAL_PRIORITY;
}

/** resource.Quantity's DecimalSI text of a count: the largest decimal suffix that divides it. */
export function formatCount(value: number): string {
  const suffixes = ['', 'k', 'M', 'G', 'T', 'P', 'E'];
  let n = BigInt(Math.max(0, Math.floor(value)));
  let i = 0;
  while (i < suffixes.length - 1 && n !== 0n && n % 1000n === 0n) {
    n /= 1000n;
    i++;
  }
  return `${n}${suffixes[i]}`;
}

/** How amounts of a signal are printed: bytes in binary units, counts (inodes, pids) in decimal ones. */
export function formatAmount(signal: Signal, value: number): string {
  return signal === 'pid.available' || signal.endsWith('inodesFree') ? formatCount(value) : formatBytes(value);
}

const priorityOf = (pod: KubeObject) => specOf(pod).priority ?? 0;

export interface RankInput {
  pods: readonly KubeObject[];
  usage: ReadonlyMap<string, PodUsage>;
}

/** The pods in eviction order for this signal; critical pods left out. */
export function rankForEviction(signal: Signal, input: RankInput): KubeObject[] {
  const usageOf = (pod: KubeObject) => input.usage.get(pod.metadata.uid ?? '');
  const resource = resourceOf(signal);
  const candidates = input.pods.filter((p) => !isCriticalPod(p));
  if (resource === 'pids') {
    return [...candidates].sort((a, b) => priorityOf(a) - priorityOf(b) || (usageOf(b)?.processes ?? 0) - (usageOf(a)?.processes ?? 0));
  }
  // Inodes are ranked by the bytes a pod writes: per-pod inode counts are not measured.
  const requestName = resource === 'memory' ? 'memory' : 'ephemeral-storage';
  const used = (pod: KubeObject) => (resource === 'memory' ? usageOf(pod)?.memoryBytes : usageOf(pod)?.storageBytes) ?? 0;
  const above = (pod: KubeObject) => used(pod) - (podRequests(specOf(pod)).get(requestName) ?? 0);
  return [...candidates].sort((a, b) =>
    Number(above(b) > 0) - Number(above(a) > 0)
    || priorityOf(a) - priorityOf(b)
    || above(b) - above(a));
}

/** upstream's evictionMessage: the starved resource, the threshold, and each container using more than it asked for. */
export function evictionMessage(options: { threshold: Threshold; observations: Observations; pod: KubeObject; usage: PodUsage | undefined }): string {
  const { threshold, pod } = options;
  const resource = resourceOf(threshold.signal);
  let message = `The node was low on resource: ${resource}. `;
  const observed = options.observations[threshold.signal];
  if (observed) {
    const amount = threshold.quantityText ?? formatAmount(threshold.signal, thresholdAmount(threshold, observed.capacity));
    message += `Threshold quantity: ${amount}, available: ${formatAmount(threshold.signal, observed.available)}. `;
  }
  if (resource !== 'memory' && resource !== 'ephemeral-storage') return message;
  const spec = specOf(pod);
  const all: ContainerSpec[] = [...(spec.initContainers ?? []), ...(spec.containers ?? [])];
  for (const c of options.usage?.containers ?? []) {
    const container = all.find((x) => x.name === c.name);
    if (!container) continue;
    const requestText = (container.resources?.requests as Record<string, unknown> | undefined)?.[resource];
    const request = wholeValue(requestText);
    const used = resource === 'memory' ? c.memoryBytes : c.storageBytes;
    if (used > request) message += `Container ${c.name} was using ${formatBytes(used)}, request is ${requestText === undefined ? '0' : String(requestText)}, has larger consumption of ${resource}. `;
  }
  return message;
}
