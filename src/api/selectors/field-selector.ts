// Field selectors: `a=b,c!=d` with `\` escaping of `\`, `,` and `=` in values,
// as in Kubernetes' apimachinery `fields` package. Which fields a kind offers
// (and how to read them from an object) lives in field-labels.ts.
import { SelectorError } from './errors.ts';

export type FieldOperator = '=' | '!=';

export interface FieldRequirement {
  readonly field: string;
  /** "==" parses to "=": upstream treats them alike and prints "=". */
  readonly operator: FieldOperator;
  readonly value: string;
}

/** Field name → value, as produced for one object by field-labels.ts. */
export type Fields = Readonly<Record<string, string>>;

/** A conjunction of field requirements. Immutable. */
export class FieldSelector {
  readonly requirements: readonly FieldRequirement[];
  readonly matchesNothing: boolean;

  constructor(requirements: readonly FieldRequirement[] = [], options: { nothing?: boolean } = {}) {
    this.requirements = Object.freeze([...requirements]);
    this.matchesNothing = options.nothing === true;
  }

  /** A missing field reads as "" (upstream Fields.Get). */
  matches(fields: Fields): boolean {
    if (this.matchesNothing) return false;
    return this.requirements.every((r) => {
      const actual = Object.hasOwn(fields, r.field) ? fields[r.field] : '';
      return r.operator === '=' ? actual === r.value : actual !== r.value;
    });
  }

  isEmpty(): boolean {
    return !this.matchesNothing && this.requirements.length === 0;
  }

  toString(): string {
    return this.requirements.map((r) => `${r.field}${r.operator}${escapeFieldValue(r.value)}`).join(',');
  }

  /** The value `field` must equal, if pinned (kubectl's `metadata.name=x` lookups use this). */
  requiresExactMatch(field: string): string | undefined {
    return this.requirements.find((r) => r.field === field && r.operator === '=')?.value;
  }
}

export const everythingFields = new FieldSelector();
export const nothingFields = new FieldSelector([], { nothing: true });

export function escapeFieldValue(value: string): string {
  return value.replace(/[\\,=]/g, (ch) => `\\${ch}`);
}

/** Reverses escapeFieldValue; a bare `,`/`=` or an unknown escape is an error. */
export function unescapeFieldValue(value: string): string {
  if (!/[\\,=]/.test(value)) return value;
  let out = '';
  let inSlash = false;
  for (const ch of value) {
    if (inSlash) {
      if (ch !== '\\' && ch !== ',' && ch !== '=') {
        throw new SelectorError(`invalid field selector: invalid escape sequence: \\${ch}`);
      }
      out += ch;
      inSlash = false;
    } else if (ch === '\\') {
      inSlash = true;
    } else if (ch === ',' || ch === '=') {
      // Upstream prints the rune with %v, i.e. as its number.
      throw new SelectorError(`invalid field selector: unescaped character in value: ${ch.codePointAt(0)}`);
    } else {
      out += ch;
    }
  }
  if (inSlash) throw new SelectorError('invalid field selector: invalid escape sequence: \\');
  return out;
}

/** Splits on commas that are not escaped. */
function splitTerms(text: string): string[] {
  if (text === '') return [];
  const terms: string[] = [];
  let start = 0;
  let inSlash = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (inSlash) inSlash = false;
    else if (ch === '\\') inSlash = true;
    else if (ch === ',') {
      terms.push(text.slice(start, i));
      start = i + 1;
    }
  }
  terms.push(text.slice(start));
  return terms;
}

// Checked in this order at each position, so "a!=b" is not read as "a!" "=" "b".
const termOperators = ['!=', '==', '='] as const;

function splitTerm(term: string): { field: string; op: (typeof termOperators)[number]; value: string } | undefined {
  for (let i = 0; i < term.length; i++) {
    for (const op of termOperators) {
      if (term.startsWith(op, i)) return { field: term.slice(0, i), op, value: term.slice(i + op.length) };
    }
  }
  return undefined;
}

/**
 * Parses `--field-selector` text. Terms are sorted (upstream does, so the
 * canonical string is stable); empty terms are skipped; no whitespace trimming.
 */
export function parseFieldSelector(text: string): FieldSelector {
  const parts = splitTerms(text).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const reqs: FieldRequirement[] = [];
  for (const part of parts) {
    if (part === '') continue;
    const term = splitTerm(part);
    if (!term) throw new SelectorError(`invalid selector: '${text}'; can't understand '${part}'`);
    reqs.push({ field: term.field, operator: term.op === '!=' ? '!=' : '=', value: unescapeFieldValue(term.value) });
  }
  return new FieldSelector(reqs);
}

/** A selector requiring each field to equal the given value. */
export function fieldSelectorFromSet(set: Fields): FieldSelector {
  return new FieldSelector(Object.entries(set).map(([field, value]) => ({ field, operator: '=' as const, value })));
}
