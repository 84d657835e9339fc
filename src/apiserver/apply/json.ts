// Small JSON helpers for server-side apply: the value model (parsed JSON,
// `undefined` meaning "absent" and `null` meaning "present but null", the
// distinction upstream's typed values keep too) and a Go-compatible encoder
// for the JSON that ends up inside FieldsV1 keys (`k:{...}`, `v:...`), whose
// bytes must match what upstream writes so that entries round-trip and
// compare equal across servers.

export { getMember as member, isObject, jsonEqual, setMember, type JsonObject } from '../../util/json.ts';
import { isObject } from '../../util/json.ts';

/**
 * JSON text of a value the way upstream's encoder (jsoniter in
 * standard-library mode) writes it: object keys sorted, `<`, `>`, `&`,
 * U+2028 and U+2029 escaped as \u00XX, control characters other than
 * \n \r \t as \u00XX with lowercase hex.
 */
export function goJson(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') return goJsonString(value);
  if (typeof value === 'number') return Number.isFinite(value) ? JSON.stringify(value) : 'null';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (Array.isArray(value)) return `[${value.map(goJson).join(',')}]`;
  if (isObject(value)) {
    const keys = Object.keys(value).sort(compareStrings);
    return `{${keys.map((k) => `${goJsonString(k)}:${goJson(value[k])}`).join(',')}}`;
  }
  return 'null';
}

export function goJsonString(text: string): string {
  let out = '"';
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) out += '\\"';
    else if (c === 0x5c) out += '\\\\';
    else if (c === 0x0a) out += '\\n';
    else if (c === 0x0d) out += '\\r';
    else if (c === 0x09) out += '\\t';
    else if (c < 0x20 || c === 0x3c || c === 0x3e || c === 0x26 || c === 0x2028 || c === 0x2029) {
      out += `\\u${c.toString(16).padStart(4, '0')}`;
    } else out += text[i];
  }
  return `${out}"`;
}

/**
 * Order of two strings by code point, which is the byte order of their UTF-8
 * forms — the order Go's strings.Compare gives (plain `<` compares UTF-16
 * code units and differs for characters beyond the BMP).
 */
export function compareStrings(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // Surrogates (0xD800–0xDFFF) encode code points above 0xFFFF, which sort
    // after every BMP character, including 0xE000–0xFFFF.
    const sx = x >= 0xd800 && x <= 0xdfff;
    const sy = y >= 0xd800 && y <= 0xdfff;
    if (sx !== sy) return sx ? 1 : -1;
    return x < y ? -1 : 1;
  }
  return a.length - b.length < 0 ? -1 : a.length === b.length ? 0 : 1;
}
