// Field errors and their upstream text. Kubernetes reports every validation
// problem as a field.Error {type, field, badValue, detail} and prints it as
// `<field>: <Type text>[: <value>][: <detail>]`; kubectl, client libraries and
// people grep for these strings, so the formatting here follows apimachinery's
// ErrorBody/NewInvalid closely (including Go's %q / %#v renderings of values).

export type FieldErrorType =
  | 'FieldValueRequired'
  | 'FieldValueInvalid'
  | 'FieldValueDuplicate'
  | 'FieldValueNotSupported'
  | 'FieldValueForbidden'
  | 'FieldValueTooLong'
  | 'FieldValueTypeInvalid'
  | 'FieldValueNotFound';

export interface FieldError {
  type: FieldErrorType;
  /** Dotted path with list indexes and map keys: `spec.containers[0].ports[1].name`, `data[key]`. */
  field: string;
  /** Upstream's "detail": the explanation after the value. */
  message: string;
  badValue?: unknown;
}

const typeText: Record<FieldErrorType, string> = {
  FieldValueRequired: 'Required value',
  FieldValueInvalid: 'Invalid value',
  FieldValueDuplicate: 'Duplicate value',
  FieldValueNotSupported: 'Unsupported value',
  FieldValueForbidden: 'Forbidden',
  FieldValueTooLong: 'Too long',
  FieldValueTypeInvalid: 'Invalid value',
  FieldValueNotFound: 'Not found',
};

// ---- constructors (named after field.Required, field.Invalid, …) ----------------

export const required = (field: string, message = ''): FieldError => ({ type: 'FieldValueRequired', field, message });
export const invalid = (field: string, badValue: unknown, message: string): FieldError =>
  ({ type: 'FieldValueInvalid', field, message, badValue });
export const duplicate = (field: string, badValue: unknown): FieldError =>
  ({ type: 'FieldValueDuplicate', field, message: '', badValue });
export const forbidden = (field: string, message: string): FieldError => ({ type: 'FieldValueForbidden', field, message });
export const notFound = (field: string, badValue: unknown, message = ''): FieldError =>
  ({ type: 'FieldValueNotFound', field, message, badValue });
export const typeInvalid = (field: string, badValue: unknown, message: string): FieldError =>
  ({ type: 'FieldValueTypeInvalid', field, message, badValue });

/** `may not be more than N bytes`: the value itself is never printed. */
export const tooLong = (field: string, maxLength: number): FieldError => ({
  type: 'FieldValueTooLong',
  field,
  message: maxLength >= 0 ? `may not be more than ${maxLength} ${maxLength === 1 ? 'byte' : 'bytes'}` : 'value is too long',
});

/** Unsupported value; the supported list is printed quoted, in the order given. */
export function notSupported(field: string, badValue: unknown, supported: readonly string[]): FieldError {
  const message = supported.length ? `supported values: ${supported.map((v) => goQuote(v)).join(', ')}` : '';
  return { type: 'FieldValueNotSupported', field, message, badValue };
}

export const FIELD_IMMUTABLE = 'field is immutable';
export const IS_NEGATIVE = 'must be greater than or equal to 0';
export const NOT_POSITIVE = 'must be greater than zero';

export const immutable = (field: string, badValue: unknown): FieldError => invalid(field, badValue, FIELD_IMMUTABLE);

/** ValidateNonnegativeField. */
export function nonNegative(field: string, value: unknown): FieldError[] {
  return typeof value === 'number' && value < 0 ? [invalid(field, value, IS_NEGATIVE)] : [];
}

export function inclusiveRangeError(lo: number, hi: number): string {
  return `must be between ${lo} and ${hi}, inclusive`;
}

// ---- paths ---------------------------------------------------------------------

/** `parent.child`, or just `child` at the root. */
export const child = (parent: string, ...names: string[]): string =>
  names.reduce((p, n) => (p ? `${p}.${n}` : n), parent);
/** `parent[3]` */
export const index = (parent: string, i: number): string => `${parent}[${i}]`;
/** `parent[key]` (map keys are not quoted upstream). */
export const key = (parent: string, k: string): string => `${parent}[${k}]`;

// ---- Go value rendering --------------------------------------------------------

const goLiteralMark = Symbol('goLiteral');

/** A value whose text is already in Go's rendering (e.g. `v1.LabelSelector{…}`); printed as is. */
export interface GoLiteral {
  readonly [goLiteralMark]: string;
}

export function goLiteral(text: string): GoLiteral {
  return { [goLiteralMark]: text };
}

function isGoLiteral(v: unknown): v is GoLiteral {
  return typeof v === 'object' && v !== null && goLiteralMark in v;
}

/** Go's %q: double-quoted with Go escapes; printable Unicode kept as is. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\r') out += '\\r';
    else if (cp < 0x20 || cp === 0x7f) out += `\\x${cp.toString(16).padStart(2, '0')}`;
    else if (cp >= 0x80 && cp < 0xa0) out += `\\u00${cp.toString(16)}`;
    else out += ch;
  }
  return `${out}"`;
}

/** `map[string]string{"a":"b", "c":"d"}` (keys sorted, as Go prints maps); nil prints `(nil)`. */
export function goStringMap(m: unknown): string {
  if (m == null || typeof m !== 'object') return 'map[string]string(nil)';
  const entries = Object.keys(m).sort().map((k) => `${goQuote(k)}:${goQuote(String((m as Record<string, unknown>)[k]))}`);
  return `map[string]string{${entries.join(', ')}}`;
}

/** `[]string{"a", "b"}`, nil as `[]string(nil)`. */
export function goStringSlice(a: unknown): string {
  if (!Array.isArray(a)) return '[]string(nil)';
  return `[]string{${a.map((v) => goQuote(String(v))).join(', ')}}`;
}

/** A LabelSelector as upstream prints it (`v1.LabelSelector{MatchLabels:…, MatchExpressions:…}`; pointers are dereferenced). */
export function goLabelSelector(sel: any): GoLiteral {
  if (sel == null) return goLiteral('null');
  const exprs = Array.isArray(sel.matchExpressions)
    ? `[]v1.LabelSelectorRequirement{${sel.matchExpressions
        .map((e: any) => `v1.LabelSelectorRequirement{Key:${goQuote(String(e?.key ?? ''))}, Operator:${goQuote(String(e?.operator ?? ''))}, Values:${goStringSlice(e?.values)}}`)
        .join(', ')}}`
    : '[]v1.LabelSelectorRequirement(nil)';
  return goLiteral(`v1.LabelSelector{MatchLabels:${goStringMap(sel.matchLabels)}, MatchExpressions:${exprs}}`);
}

/** An IntOrString prints through its String() method: `25%` or `1`, unquoted. */
export function goIntOrString(v: unknown): GoLiteral {
  return goLiteral(v == null ? 'null' : String(v));
}

/** The value part of an error body, as apimachinery renders BadValue. */
export function formatValue(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (isGoLiteral(value)) return value[goLiteralMark];
  switch (typeof value) {
    case 'string':
      return goQuote(value);
    case 'number':
    case 'bigint':
    case 'boolean':
      return String(value);
    default:
      break;
  }
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return goStringSlice(value);
  if (typeof value === 'object' && Object.values(value as object).every((v) => typeof v === 'string')) {
    return goStringMap(value);
  }
  // Structs print with %#v upstream; JSON is the closest readable rendering we have.
  return JSON.stringify(value);
}

/** `Required value`, `Invalid value: "x": detail`, … (apimachinery's ErrorBody). */
export function errorBody(e: FieldError): string {
  let s: string;
  switch (e.type) {
    case 'FieldValueRequired':
    case 'FieldValueForbidden':
    case 'FieldValueTooLong':
      s = typeText[e.type];
      break;
    default:
      s = `${typeText[e.type]}: ${formatValue(e.badValue)}`;
  }
  if (e.message) s += `: ${e.message}`;
  return s;
}

/** `spec.replicas: Invalid value: -1: must be greater than or equal to 0` */
export function formatFieldError(e: FieldError): string {
  return `${e.field}: ${errorBody(e)}`;
}

/**
 * The 422 message upstream builds (NewInvalid): `Deployment.apps "x" is invalid: <one error>`
 * or `… is invalid: [a, b]`, duplicates removed. `kind` is the qualified kind
 * ("Deployment.apps", "Pod") or {group, kind}.
 */
export function formatInvalidMessage(kind: string | { group: string; kind: string }, name: string, errors: readonly FieldError[]): string {
  const qualified = typeof kind === 'string' ? kind : kind.group ? `${kind.kind}.${kind.group}` : kind.kind;
  const msgs = uniqueMessages(errors);
  if (msgs.length === 0) return `${qualified} ${goQuote(name)} is invalid`;
  const text = msgs.length === 1 ? msgs[0] : `[${msgs.join(', ')}]`;
  return `${qualified} ${goQuote(name)} is invalid: ${text}`;
}

/** Status details causes ({reason, message, field}), as NewInvalid fills them. */
export function statusCauses(errors: readonly FieldError[]): { reason: string; message: string; field: string }[] {
  return errors.map((e) => ({ reason: e.type, message: errorBody(e), field: e.field }));
}

function uniqueMessages(errors: readonly FieldError[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const e of errors) {
    const m = formatFieldError(e);
    if (!seen.has(m)) {
      seen.add(m);
      out.push(m);
    }
  }
  return out;
}
