// Column builders and formatting shared by the per-group printers.
import { selectorFromLabelSelector, type LabelSelectorObject } from '../selectors/label-selector.ts';
import type { Column, Obj } from './types.ts';
import { translateTimestampSince } from './time.ts';

export const str = (v: unknown): string => (v == null ? '' : String(v));
export const int = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
export const orNone = (v: unknown): string => (v == null || v === '' ? '<none>' : String(v));

export const nameColumn: Column = {
  name: 'Name',
  format: 'name',
  description: 'Name of the object, unique within its namespace (or the cluster).',
  cell: (o) => str(o?.metadata?.name),
};

export const ageColumn: Column = {
  name: 'Age',
  description: 'Time since the object was created.',
  cell: (o, ctx) => translateTimestampSince(o?.metadata?.creationTimestamp, ctx.now),
};

/** Upstream's default table columns (rest.NewDefaultTableConvertor): name and RFC 3339 creation time. */
export const createdAtColumns: Column[] = [
  nameColumn,
  {
    name: 'Created At',
    type: 'date',
    description: 'When the object was created (UTC).',
    cell: (o) => {
      const ms = Date.parse(str(o?.metadata?.creationTimestamp));
      // Go's zero time, as upstream prints for an object without a timestamp.
      return Number.isNaN(ms) ? '0001-01-01T00:00:00Z' : new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
    },
  },
];

/** "k1=v1,k2=v2" sorted by key, "<none>" when empty (labels.FormatLabels). */
export function formatLabels(labels: Record<string, string> | null | undefined): string {
  const keys = Object.keys(labels ?? {}).sort();
  if (keys.length === 0) return '<none>';
  return keys.map((k) => `${k}=${labels![k]}`).join(',');
}

/** A metav1.LabelSelector in canonical string form; "<none>" if it selects all or nothing. */
export function formatLabelSelector(selector: LabelSelectorObject | null | undefined): string {
  try {
    return selectorFromLabelSelector(selector).toString() || '<none>';
  } catch {
    return '<error>';
  }
}

/** Comma-joined container names and images. */
export function layoutContainerCells(containers: Obj[] | undefined): { names: string; images: string } {
  const list = Array.isArray(containers) ? containers : [];
  return { names: list.map((c) => str(c?.name)).join(','), images: list.map((c) => str(c?.image)).join(',') };
}

/** The wide-only CONTAINERS and IMAGES columns of workload kinds, reading the pod template. */
export function containerColumns(template: (o: Obj) => Obj): Column[] {
  return [
    {
      name: 'Containers',
      priority: 1,
      description: 'Names of the containers in the pod template.',
      cell: (o) => layoutContainerCells(template(o)?.spec?.containers).names,
    },
    {
      name: 'Images',
      priority: 1,
      description: 'Images of the containers in the pod template.',
      cell: (o) => layoutContainerCells(template(o)?.spec?.containers).images,
    },
  ];
}

/** "a,b,c + 2 more..." with at most `max` items shown; `empty` when there are none. */
export function listWithMore(items: string[], max: number, empty: string): string {
  if (items.length === 0) return empty;
  const shown = items.slice(0, max).join(',');
  return items.length > max ? `${shown} + ${items.length - max} more...` : shown;
}

/** Sorted unique load-balancer IPs/hostnames, clipped to 16 characters unless wide. */
export function loadBalancerStatus(ingress: Obj[] | undefined, wide: boolean): string {
  const set = new Set<string>();
  for (const entry of Array.isArray(ingress) ? ingress : []) {
    if (entry?.ip) set.add(String(entry.ip));
    else if (entry?.hostname) set.add(String(entry.hostname));
  }
  const joined = [...set].sort().join(',');
  return !wide && joined.length > 16 ? `${joined.slice(0, 13)}...` : joined;
}

/** "RWO,ROX,RWX,RWOP" in upstream's fixed order, whatever order the object lists them in. */
export function accessModesString(modes: unknown): string {
  const have = new Set(Array.isArray(modes) ? modes : []);
  const names: Array<[string, string]> = [
    ['ReadWriteOnce', 'RWO'], ['ReadOnlyMany', 'ROX'], ['ReadWriteMany', 'RWX'], ['ReadWriteOncePod', 'RWOP'],
  ];
  return names.filter(([mode]) => have.has(mode)).map(([, short]) => short).join(',');
}

/** The kind of condition lookup most printers need: status of the first condition of a type. */
export function conditionStatus(conditions: unknown, type: string): string | undefined {
  if (!Array.isArray(conditions)) return undefined;
  return conditions.find((c) => c?.type === type)?.status;
}
