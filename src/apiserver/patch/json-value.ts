// Small helpers over parsed JSON values shared by the patch appliers.

export type JsonObject = Record<string, unknown>;

/** A JSON object (not an array, not null). */
export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** JSON kind of a value, the way Go's decoder would type it (all numbers alike). */
export type JsonKind = 'object' | 'array' | 'string' | 'number' | 'boolean' | 'null';
export function kindOf(value: unknown): JsonKind {
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) return 'array';
  const t = typeof value;
  if (t === 'string' || t === 'number' || t === 'boolean') return t;
  return 'object';
}

/** Structural equality of two JSON values (object key order ignored). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    return a.every((v, i) => jsonEqual(v, b[i]));
  }
  if (isObject(a)) {
    if (!isObject(b)) return false;
    const keys = Object.keys(a);
    if (keys.length !== Object.keys(b).length) return false;
    return keys.every((k) => Object.hasOwn(b, k) && jsonEqual(a[k], b[k]));
  }
  return false;
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

/**
 * Set an own member. Plain assignment of "__proto__" (a legal JSON key that
 * JSON.parse keeps as an own property) would swap the object's prototype
 * instead, so define it.
 */
export function setMember(target: JsonObject, key: string, value: unknown): void {
  if (key === '__proto__') {
    Object.defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true });
  } else {
    target[key] = value;
  }
}

/** An own member, or undefined (never something inherited such as "__proto__" or "constructor"). */
export function getMember(target: JsonObject, key: string): unknown {
  return Object.hasOwn(target, key) ? target[key] : undefined;
}
