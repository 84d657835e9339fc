// Path elements: one step of a field path in a managed field set, as upstream
// (structured-merge-diff) names them in FieldsV1 keys:
//   f:<name>            a field of a struct or a key of a map
//   k:{"name":"nginx"}  an item of an associative list, by its key fields
//                       (sorted by name, values as JSON)
//   v:<json>            an item of a set (a list of scalars), by value
//   i:<index>           an item of an atomic list; never produced here
//                       (atomic lists are owned whole) but kept when read
// Each element carries its serialized text, which is canonical, so text
// equality is element equality and the text can key maps.
import { compareStrings, goJson, isObject } from './json.ts';

export type PathElement =
  | { readonly type: 'field'; readonly name: string; readonly text: string }
  | { readonly type: 'key'; readonly fields: ReadonlyArray<readonly [string, unknown]>; readonly text: string }
  | { readonly type: 'value'; readonly value: unknown; readonly text: string }
  | { readonly type: 'index'; readonly index: number; readonly text: string };

export type Path = readonly PathElement[];

export function fieldElement(name: string): PathElement {
  return { type: 'field', name, text: `f:${name}` };
}

/** A key element; `fields` in any order (they are sorted by name, as upstream stores them). */
export function keyElement(fields: ReadonlyArray<readonly [string, unknown]>): PathElement {
  const sorted = [...fields].sort((a, b) => compareStrings(a[0], b[0]));
  const object: Record<string, unknown> = {};
  for (const [name, value] of sorted) object[name] = value;
  return { type: 'key', fields: sorted, text: `k:${goJson(object)}` };
}

export function valueElement(value: unknown): PathElement {
  return { type: 'value', value, text: `v:${goJson(value)}` };
}

export function indexElement(index: number): PathElement {
  return { type: 'index', index, text: `i:${index}` };
}

/** Parse path elements from a list of field names ("spec", "replicas"). */
export function fieldPath(...names: string[]): Path {
  return names.map(fieldElement);
}

/**
 * Parse a FieldsV1 key. Returns undefined for element types this version does
 * not know (upstream drops those rather than keep what it cannot interpret);
 * throws for malformed keys.
 */
export function parsePathElement(text: string): PathElement | undefined {
  if (text.length < 2) throw new Error(`key must be 2 characters long: ${JSON.stringify(text)}`);
  if (text[1] !== ':') throw new Error(`missing colon: ${text}`);
  const body = text.slice(2);
  switch (text[0]) {
    case 'f':
      return fieldElement(body);
    case 'k': {
      const parsed: unknown = JSON.parse(body);
      if (!isObject(parsed)) throw new Error(`key element must be a JSON object: ${text}`);
      return keyElement(Object.entries(parsed));
    }
    case 'v':
      return valueElement(JSON.parse(body));
    case 'i': {
      if (!/^-?\d+$/.test(body)) throw new Error(`invalid index element: ${text}`);
      return indexElement(Number(body));
    }
    default:
      return undefined;
  }
}

const typeRank = { field: 0, key: 1, value: 2, index: 3 } as const;

/** Upstream's total order of path elements: fields, then keys, then values, then indexes. */
export function comparePathElements(a: PathElement, b: PathElement): number {
  if (a.type !== b.type) return typeRank[a.type] - typeRank[b.type];
  switch (a.type) {
    case 'field':
      return compareStrings(a.name, (b as typeof a).name);
    case 'key':
      return compareFieldLists(a.fields, (b as typeof a).fields);
    case 'value':
      return compareValues(a.value, (b as typeof a).value);
    case 'index': {
      const other = (b as typeof a).index;
      return a.index < other ? -1 : a.index > other ? 1 : 0;
    }
  }
}

function compareFieldLists(a: ReadonlyArray<readonly [string, unknown]>, b: ReadonlyArray<readonly [string, unknown]>): number {
  for (let i = 0; ; i++) {
    if (i >= a.length && i >= b.length) return 0;
    if (i >= a.length) return -1;
    if (i >= b.length) return 1;
    const byName = compareStrings(a[i][0], b[i][0]);
    if (byName !== 0) return byName;
    const byValue = compareValues(a[i][1], b[i][1]);
    if (byValue !== 0) return byValue;
  }
}

function valueRank(value: unknown): number {
  if (typeof value === 'number') return 0;
  if (typeof value === 'string') return 1;
  if (typeof value === 'boolean') return 2;
  if (Array.isArray(value)) return 3;
  if (isObject(value)) return 4;
  return 5; // null
}

/** Upstream's total order of values: numbers, strings, booleans, lists, maps, null. */
export function compareValues(a: unknown, b: unknown): number {
  const ra = valueRank(a);
  const rb = valueRank(b);
  if (ra !== rb) return ra - rb;
  if (typeof a === 'number') return a < (b as number) ? -1 : a > (b as number) ? 1 : 0;
  if (typeof a === 'string') return compareStrings(a, b as string);
  if (typeof a === 'boolean') return a === b ? 0 : a ? 1 : -1;
  if (Array.isArray(a)) {
    const other = b as unknown[];
    for (let i = 0; i < Math.min(a.length, other.length); i++) {
      const c = compareValues(a[i], other[i]);
      if (c !== 0) return c;
    }
    return a.length - other.length < 0 ? -1 : a.length === other.length ? 0 : 1;
  }
  if (isObject(a)) {
    const entries = (o: Record<string, unknown>) => Object.entries(o).sort((x, y) => compareStrings(x[0], y[0]));
    return compareFieldLists(entries(a), entries(b as Record<string, unknown>));
  }
  return 0;
}

/** The value as upstream prints it inside a path (`"nginx"`, `80`, `true`). */
function valueToString(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return `[${value.map(valueToString).join(',')}]`;
  if (isObject(value)) return Object.entries(value).map(([k, v]) => `${k}=${valueToString(v)}`).join('');
  return String(value);
}

/** One element as upstream prints it: `.replicas`, `[name="nginx"]`, `[="x"]`, `[3]`. */
export function pathElementString(pe: PathElement): string {
  switch (pe.type) {
    case 'field': return `.${pe.name}`;
    case 'key': return `[${pe.fields.map(([name, value]) => `${name}=${valueToString(value)}`).join(',')}]`;
    case 'value': return `[=${valueToString(pe.value)}]`;
    case 'index': return `[${pe.index}]`;
  }
}

/** A path as upstream prints it in conflict messages: `.spec.template.spec.containers[name="nginx"].image`. */
export function pathString(path: Path): string {
  return path.map(pathElementString).join('');
}
