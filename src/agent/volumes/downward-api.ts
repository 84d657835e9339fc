// Downward API values for volumes: metadata fields (fieldRef) and container
// resources (resourceFieldRef, with divisor; unset limits fall back to the
// node's allocatable, as kubelet does).
import { parseQuantity, type Quantity } from '../../api/validation/quantity.ts';
import type { ContainerSpec, Pod, ResourceFieldSelector } from './types-internal.ts';

const goEscapes: Record<string, string> = { '\x07': '\\a', '\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\v': '\\v', '"': '\\"', '\\': '\\\\' };

/** Go's %q (strconv.Quote) for the label and annotation files. */
export function goQuote(value: string): string {
  let out = '"';
  for (const ch of value) {
    const code = ch.codePointAt(0)!;
    if (goEscapes[ch]) out += goEscapes[ch];
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else if (code >= 0x80 && code < 0xa0) out += `\\u${code.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

/** `key="value"` lines sorted by key, no trailing newline (kubelet's FormatMap). */
export function formatMap(map: Record<string, string> | undefined): string {
  return Object.keys(map ?? {}).sort().map((key) => `${key}=${goQuote(map![key])}`).join('\n');
}

const subscript = /^(metadata\.(?:labels|annotations))\['(.*)'\]$/;

/** The value of a metadata fieldRef; throws `unsupported fieldPath` for anything volumes cannot project. */
export function extractFieldPath(pod: Pod, fieldPath: string): string {
  const meta = pod.metadata;
  const sub = subscript.exec(fieldPath);
  if (sub) {
    const map = sub[1] === 'metadata.labels' ? meta.labels : meta.annotations;
    return map?.[sub[2]] ?? '';
  }
  switch (fieldPath) {
    case 'metadata.annotations': return formatMap(meta.annotations);
    case 'metadata.labels': return formatMap(meta.labels);
    case 'metadata.name': return meta.name ?? '';
    case 'metadata.namespace': return meta.namespace ?? '';
    case 'metadata.uid': return meta.uid ?? '';
    default: throw new Error(`unsupported fieldPath: ${fieldPath}`);
  }
}

const ceilDiv = (num: bigint, den: bigint) => (num % den === 0n ? num / den : num / den + (num > 0n ? 1n : 0n));

/** value / divisor rounded up, in the unit kubelet uses (milli for cpu, whole for the rest). */
function divide(value: Quantity, divisor: Quantity, milli: boolean): string {
  const scale = milli ? 1000n : 1n;
  // (value.num/value.den) / (divisor.num/divisor.den), each first rounded up to the unit as Go's MilliValue()/Value().
  const v = ceilDiv(value.num * scale, value.den);
  const d = ceilDiv(divisor.num * scale, divisor.den);
  if (d === 0n) throw new Error('divisor must be positive');
  return String(ceilDiv(v, d));
}

export interface ResourceLookup {
  pod: Pod;
  ref: ResourceFieldSelector;
  /** The node's status.allocatable, for limits the container does not set. */
  nodeAllocatable: Record<string, string | number>;
}

function findContainer(pod: Pod, name: string | undefined): ContainerSpec {
  const all = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])];
  const container = all.find((c) => c.name === name);
  if (!container) throw new Error(`failed to find container "${name ?? ''}" in pod ${pod.metadata.namespace}/${pod.metadata.name}`);
  return container;
}

/** A resourceFieldRef's value: limits.cpu, limits.memory, limits.ephemeral-storage and the requests.* ones. */
export function resourceFieldValue(lookup: ResourceLookup): string {
  const { pod, ref, nodeAllocatable } = lookup;
  const container = findContainer(pod, ref.containerName);
  const [kind, resource] = ref.resource.split('.', 2) as [string, string];
  if (!['limits', 'requests'].includes(kind) || !['cpu', 'memory', 'ephemeral-storage'].includes(resource ?? '')) {
    throw new Error(`unsupported container resource : ${ref.resource}`);
  }
  let raw = kind === 'limits' ? container.resources?.limits?.[resource] : container.resources?.requests?.[resource];
  if (raw === undefined && kind === 'limits') raw = nodeAllocatable[resource];
  const value = parseQuantity(raw ?? '0') ?? { num: 0n, den: 1n };
  const divisorQuantity = parseQuantity(ref.divisor ?? '1');
  const divisor = divisorQuantity && divisorQuantity.num !== 0n ? divisorQuantity : { num: 1n, den: 1n };
  return divide(value, divisor, resource === 'cpu');
}
