// Semantic equality for immutability checks. Like apimachinery's
// Semantic.DeepEqual, an absent field, null, an empty list and an empty map
// are all "unset" and compare equal: clients often send `[]` where the stored
// object omitted the field.

const isUnset = (v: unknown): boolean =>
  v === undefined ||
  v === null ||
  (Array.isArray(v) && v.length === 0) ||
  (typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).every((k) => isUnset((v as any)[k])));

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (isUnset(a) && isUnset(b)) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((v, i) => deepEqual(v, bb[i]));
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  for (const k of new Set([...Object.keys(ao), ...Object.keys(bo)])) {
    if (!deepEqual(ao[k], bo[k])) return false;
  }
  return true;
}

/**
 * A short, readable list of what differs (upstream appends a go-cmp diff to
 * some Forbidden messages; this is our own rendering of the same idea).
 */
export function describeDiff(oldValue: unknown, newValue: unknown, path = ''): string {
  const lines: string[] = [];
  collect(oldValue, newValue, path, lines);
  return lines.slice(0, 20).join('\n');
}

function collect(a: unknown, b: unknown, path: string, lines: string[]): void {
  if (deepEqual(a, b)) return;
  const bothObjects = typeof a === 'object' && a !== null && typeof b === 'object' && b !== null;
  if (bothObjects && Array.isArray(a) === Array.isArray(b)) {
    if (Array.isArray(a)) {
      const bb = b as unknown[];
      for (let i = 0; i < Math.max(a.length, bb.length); i++) collect(a[i], bb[i], `${path}[${i}]`, lines);
    } else {
      const ao = a as Record<string, unknown>;
      const bo = b as Record<string, unknown>;
      for (const k of [...new Set([...Object.keys(ao), ...Object.keys(bo)])].sort()) {
        collect(ao[k], bo[k], path ? `${path}.${k}` : k, lines);
      }
    }
    return;
  }
  lines.push(`- ${path}: ${JSON.stringify(a ?? null)}`, `+ ${path}: ${JSON.stringify(b ?? null)}`);
}
