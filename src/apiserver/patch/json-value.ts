// Small helpers over parsed JSON values used by the patch appliers (the
// shared ones live in util/json.ts and are re-exported here).
export { getMember, isObject, jsonEqual, setMember, type JsonObject } from '../../util/json.ts';

/** JSON kind of a value, the way Go's decoder would type it (all numbers alike). */
export type JsonKind = 'object' | 'array' | 'string' | 'number' | 'boolean' | 'null';
export function kindOf(value: unknown): JsonKind {
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) return 'array';
  const t = typeof value;
  if (t === 'string' || t === 'number' || t === 'boolean') return t;
  return 'object';
}

/** Deep copy of a JSON value (the appliers work on copies so callers' objects never change). */
export function cloneJson<T>(value: T): T {
  return structuredClone(value);
}

/** Short JSON text of a value for error messages (bounded so huge objects do not flood logs). */
export function describe(value: unknown, limit = 200): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > limit ? `${text.slice(0, limit)}…` : text;
}
