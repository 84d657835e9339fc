// Label selectors: the string grammar (`a=b,c in (x,y),!d`), the API object
// form (`{matchLabels, matchExpressions}`), matching and the canonical string.
// Behaviour and error texts follow Kubernetes' apimachinery `labels` package;
// requirements are kept sorted by key so equal selectors print equally.
import { SelectorError } from './errors.ts';
import { aggregate, invalidValue, isLabelKey, isLabelValue } from './label-syntax.ts';

/** Operators with upstream's spelling (selection.Operator). */
export type LabelOperator = 'in' | 'notin' | '=' | '==' | '!=' | 'exists' | '!' | 'gt' | 'lt';

export interface LabelRequirement {
  readonly key: string;
  readonly operator: LabelOperator;
  /** As given; `toString()` sorts them, matching does not care. */
  readonly values: readonly string[];
}

/** metav1.LabelSelector as it appears in API objects. */
export interface LabelSelectorObject {
  matchLabels?: Record<string, string> | null;
  matchExpressions?: Array<{ key: string; operator: string; values?: string[] | null }> | null;
}

export type Labels = Readonly<Record<string, string>> | null | undefined;

const binaryOperators: LabelOperator[] = ['in', 'notin', '=', '==', '!=', 'gt', 'lt'];
const allOperators: LabelOperator[] = [...binaryOperators, 'exists', '!'];

/** A conjunction of requirements. Immutable. */
export class LabelSelector {
  readonly requirements: readonly LabelRequirement[];
  /** Set only on the selector that matches nothing (an absent API selector). */
  readonly matchesNothing: boolean;

  constructor(requirements: readonly LabelRequirement[] = [], options: { nothing?: boolean } = {}) {
    // Array sort is stable, so requirements on one key keep their order.
    this.requirements = Object.freeze([...requirements].sort((a, b) => compare(a.key, b.key)));
    this.matchesNothing = options.nothing === true;
  }

  matches(labels: Labels): boolean {
    if (this.matchesNothing) return false;
    return this.requirements.every((r) => requirementMatches(r, labels ?? {}));
  }

  /** True when the selector does not restrict anything (the nothing-selector is not empty). */
  isEmpty(): boolean {
    return !this.matchesNothing && this.requirements.length === 0;
  }

  /** Canonical form: requirements by key, set values sorted, joined by ",". */
  toString(): string {
    return this.requirements.map(requirementToString).join(',');
  }

  /** The single value `key` must have, if the selector pins one (for index lookups). */
  requiresExactMatch(key: string): string | undefined {
    const r = this.requirements.find((req) => req.key === key);
    if (!r || r.values.length !== 1) return undefined;
    return r.operator === '=' || r.operator === '==' || r.operator === 'in' ? r.values[0] : undefined;
  }

  /** A new selector with more requirements (ANDed). */
  add(...requirements: LabelRequirement[]): LabelSelector {
    if (this.matchesNothing) return this;
    return new LabelSelector([...this.requirements, ...requirements]);
  }
}

/** The selector that matches everything. */
export const everything = new LabelSelector();
/** The selector that matches nothing. */
export const nothing = new LabelSelector([], { nothing: true });

export function matches(selector: LabelSelector, labels: Labels): boolean {
  return selector.matches(labels);
}

export function isEmpty(selector: LabelSelector): boolean {
  return selector.isEmpty();
}

/** Go's string ordering (bytes); equal to code-unit order for the ASCII that labels use. */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function requirementMatches(r: LabelRequirement, labels: Readonly<Record<string, string>>): boolean {
  const has = Object.hasOwn(labels, r.key);
  const value = has ? labels[r.key]! : undefined;
  switch (r.operator) {
    case 'in':
    case '=':
    case '==':
      return has && r.values.includes(value!);
    case 'notin':
    case '!=':
      return !has || !r.values.includes(value!);
    case 'exists':
      return has;
    case '!':
      return !has;
    case 'gt':
    case 'lt': {
      if (!has || r.values.length !== 1) return false;
      const actual = parseInt64(value!);
      const bound = parseInt64(r.values[0]!);
      if (actual === undefined || bound === undefined) return false;
      return r.operator === 'gt' ? actual > bound : actual < bound;
    }
  }
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** Go's strconv.ParseInt(s, 10, 64): optional sign, decimal digits, in range. */
function parseInt64(text: string): bigint | undefined {
  if (!/^[+-]?[0-9]+$/.test(text)) return undefined;
  const n = BigInt(text.startsWith('+') ? text.slice(1) : text);
  return n < INT64_MIN || n > INT64_MAX ? undefined : n;
}

function requirementToString(r: LabelRequirement): string {
  const prefix = r.operator === '!' ? `!${r.key}` : r.key;
  if (r.operator === 'exists' || r.operator === '!') return prefix;
  const values = r.values.length === 1 ? r.values[0]! : [...r.values].sort(compare).join(',');
  switch (r.operator) {
    case 'in':
      return `${prefix} in (${values})`;
    case 'notin':
      return `${prefix} notin (${values})`;
    case 'gt':
      return `${prefix}>${values}`;
    case 'lt':
      return `${prefix}<${values}`;
    default:
      return `${prefix}${r.operator}${values}`;
  }
}

/**
 * Validates and builds one requirement (upstream NewRequirement). Throws
 * SelectorError listing every problem found.
 */
export function newRequirement(key: string, operator: LabelOperator, values: readonly string[]): LabelRequirement {
  const errs: string[] = [];
  const keyErrs = isLabelKey(key);
  if (keyErrs.length) errs.push(invalidValue('key', key, keyErrs.join('; ')));
  // Upstream renders an empty value list as JSON null (a nil Go slice).
  const shown = values.length ? values : null;
  switch (operator) {
    case 'in':
    case 'notin':
      if (values.length === 0) errs.push(invalidValue('values', shown, "for 'in', 'notin' operators, values set can't be empty"));
      break;
    case '=':
    case '==':
    case '!=':
      if (values.length !== 1) errs.push(invalidValue('values', shown, 'exact-match compatibility requires one single value'));
      break;
    case 'exists':
    case '!':
      if (values.length !== 0) errs.push(invalidValue('values', shown, 'values set must be empty for exists and does not exist'));
      break;
    case 'gt':
    case 'lt':
      if (values.length !== 1) errs.push(invalidValue('values', shown, "for 'Gt', 'Lt' operators, exactly one value is required"));
      values.forEach((v, i) => {
        if (parseInt64(v) === undefined) {
          errs.push(invalidValue(`values[${i}]`, v, "for 'Gt', 'Lt' operators, the value must be an integer"));
        }
      });
      break;
    default:
      errs.push(
        `operator: Unsupported value: ${JSON.stringify(operator)}: supported values: ${allOperators.map((o) => JSON.stringify(o)).join(', ')}`,
      );
  }
  values.forEach((v, i) => {
    const valueErrs = isLabelValue(v);
    if (valueErrs.length) errs.push(invalidValue(`values[${i}][${key}]`, v, valueErrs.join('; ')));
  });
  if (errs.length) throw new SelectorError(aggregate(errs));
  return Object.freeze({ key, operator, values: Object.freeze([...values]) });
}

/**
 * The API object form (Deployment.spec.selector and friends). An absent
 * selector matches nothing; an empty one matches everything (as upstream).
 */
export function selectorFromLabelSelector(obj: LabelSelectorObject | null | undefined): LabelSelector {
  if (obj == null) return nothing;
  const matchLabels = obj.matchLabels ?? {};
  const expressions = obj.matchExpressions ?? [];
  if (Object.keys(matchLabels).length + expressions.length === 0) return everything;
  const reqs: LabelRequirement[] = [];
  for (const [k, v] of Object.entries(matchLabels)) reqs.push(newRequirement(k, '=', [v]));
  for (const expr of expressions) {
    const op = apiOperators[expr.operator];
    if (!op) throw new SelectorError(`${JSON.stringify(expr.operator)} is not a valid label selector operator`);
    reqs.push(newRequirement(expr.key, op, expr.values ?? []));
  }
  return new LabelSelector(reqs);
}

const apiOperators: Record<string, LabelOperator | undefined> = {
  In: 'in',
  NotIn: 'notin',
  Exists: 'exists',
  DoesNotExist: '!',
};

/** A selector requiring exactly these labels (no validation, like upstream SelectorFromSet). */
export function selectorFromSet(set: Labels): LabelSelector {
  return new LabelSelector(Object.entries(set ?? {}).map(([key, v]) => ({ key, operator: '=' as const, values: [v] })));
}

// ---- the string grammar -------------------------------------------------------------

type TokenKind =
  | 'error' | 'end' | 'closePar' | 'comma' | 'doesNotExist' | 'doubleEquals' | 'equals'
  | 'greaterThan' | 'identifier' | 'in' | 'lessThan' | 'notEquals' | 'notIn' | 'openPar';

interface Token {
  kind: TokenKind;
  literal: string;
}

const literalTokens: Record<string, TokenKind> = {
  ')': 'closePar', ',': 'comma', '!': 'doesNotExist', '==': 'doubleEquals', '=': 'equals',
  '>': 'greaterThan', in: 'in', '<': 'lessThan', '!=': 'notEquals', notin: 'notIn', '(': 'openPar',
};

const isWhitespace = (ch: string) => ch === ' ' || ch === '\t' || ch === '\r' || ch === '\n';
const isSpecial = (ch: string) => '=!(),><'.includes(ch);

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let pos = 0;
  for (;;) {
    while (pos < text.length && isWhitespace(text[pos]!)) pos++;
    if (pos >= text.length) {
      tokens.push({ kind: 'end', literal: '' });
      return tokens;
    }
    if (isSpecial(text[pos]!)) {
      // Longest operator made of special characters: "!=" rather than "!" then "=".
      let buffer = '';
      let best: Token | undefined;
      while (pos < text.length && isSpecial(text[pos]!)) {
        buffer += text[pos];
        const kind = literalTokens[buffer];
        if (kind) best = { kind, literal: buffer };
        else if (best) break;
        pos++;
      }
      tokens.push(best ?? { kind: 'error', literal: `error expected: keyword found '${buffer}'` });
      continue;
    }
    const start = pos;
    while (pos < text.length && !isSpecial(text[pos]!) && !isWhitespace(text[pos]!)) pos++;
    const word = text.slice(start, pos);
    const kind = literalTokens[word];
    tokens.push({ kind: kind ?? 'identifier', literal: word });
  }
}

/** Reads tokens; in a value position the keywords "in"/"notin" are plain identifiers. */
class TokenStream {
  readonly #tokens: Token[];
  #pos = 0;
  constructor(tokens: Token[]) {
    this.#tokens = tokens;
  }
  peek(values = true): Token {
    return asContext(this.#tokens[this.#pos]!, values);
  }
  next(values = true): Token {
    const tok = this.#tokens[this.#pos]!;
    if (this.#pos < this.#tokens.length - 1) this.#pos++;
    return asContext(tok, values);
  }
}

function asContext(tok: Token, values: boolean): Token {
  return values && (tok.kind === 'in' || tok.kind === 'notIn') ? { kind: 'identifier', literal: tok.literal } : tok;
}

/** Internal parse failure; parseLabelSelector adds upstream's prefixes. */
class ParseFailure extends Error {}

/**
 * Parses the string form (`kubectl -l`). Whitespace around tokens is ignored;
 * an empty string selects everything. Throws SelectorError with upstream text.
 */
export function parseLabelSelector(text: string): LabelSelector {
  const stream = new TokenStream(tokenize(text));
  const reqs: LabelRequirement[] = [];
  for (;;) {
    const tok = stream.peek();
    if (tok.kind === 'end') break;
    if (tok.kind !== 'identifier' && tok.kind !== 'doesNotExist') {
      throw new SelectorError(`found '${tok.literal}', expected: !, identifier, or 'end of string'`);
    }
    try {
      reqs.push(parseRequirement(stream));
    } catch (err) {
      if (err instanceof ParseFailure || err instanceof SelectorError) {
        throw new SelectorError(`unable to parse requirement: ${err.message}`);
      }
      throw err;
    }
    const after = stream.next();
    if (after.kind === 'end') break;
    if (after.kind !== 'comma') throw new SelectorError(`found '${after.literal}', expected: ',' or 'end of string'`);
    const following = stream.peek();
    if (following.kind !== 'identifier' && following.kind !== 'doesNotExist') {
      throw new SelectorError(`found '${following.literal}', expected: identifier after ','`);
    }
  }
  return new LabelSelector(reqs);
}

function parseRequirement(stream: TokenStream): LabelRequirement {
  let tok = stream.next();
  let operator: LabelOperator | undefined;
  if (tok.kind === 'doesNotExist') {
    operator = '!';
    tok = stream.next();
  }
  if (tok.kind !== 'identifier') throw new ParseFailure(`found '${tok.literal}', expected: identifier`);
  const key = tok.literal;
  const keyErrs = isLabelKey(key);
  // The parser validates with no field path, which upstream prints as "<nil>".
  if (keyErrs.length) throw new ParseFailure(invalidValue('<nil>', key, keyErrs.join('; ')));
  const ahead = stream.peek().kind;
  if (operator === undefined && (ahead === 'end' || ahead === 'comma')) operator = 'exists';
  // "!key" is complete here even if an operator follows; the caller then reports it.
  if (operator === 'exists' || operator === '!') return newRequirement(key, operator, []);

  const opTok = stream.next(false);
  const op = binaryOperatorFor[opTok.kind];
  if (!op) throw new ParseFailure(`found '${opTok.literal}', expected: ${binaryOperators.join(', ')}`);
  const values = op === 'in' || op === 'notin' ? parseValueSet(stream) : parseExactValue(stream);
  // Upstream collects values in a set: unique and sorted.
  return newRequirement(key, op, [...new Set(values)].sort(compare));
}

const binaryOperatorFor: Partial<Record<TokenKind, LabelOperator>> = {
  in: 'in', equals: '=', doubleEquals: '==', greaterThan: 'gt', lessThan: 'lt', notIn: 'notin', notEquals: '!=',
};

function parseValueSet(stream: TokenStream): string[] {
  const open = stream.next();
  if (open.kind !== 'openPar') throw new ParseFailure(`found '${open.literal}' expected: '('`);
  const first = stream.peek();
  if (first.kind === 'closePar') {
    stream.next();
    return ['']; // "()" means the empty value
  }
  if (first.kind !== 'identifier' && first.kind !== 'comma') {
    throw new ParseFailure(`found '${first.literal}', expected: ',', ')' or identifier`);
  }
  const values = parseIdentifierList(stream);
  if (stream.next().kind !== 'closePar') throw new ParseFailure(`found '${first.literal}', expected: ')'`);
  return values;
}

/** Comma-separated, possibly empty identifiers: "(a,,b)" and "(,a)" include the empty value. */
function parseIdentifierList(stream: TokenStream): string[] {
  const values: string[] = [];
  for (;;) {
    const tok = stream.next();
    if (tok.kind === 'identifier') {
      values.push(tok.literal);
      const ahead = stream.peek();
      if (ahead.kind === 'comma') continue;
      if (ahead.kind === 'closePar') return values;
      throw new ParseFailure(`found '${ahead.literal}', expected: ',' or ')'`);
    }
    if (tok.kind === 'comma') {
      if (values.length === 0) values.push('');
      const ahead = stream.peek().kind;
      if (ahead === 'closePar') {
        values.push('');
        return values;
      }
      if (ahead === 'comma') values.push('');
      continue;
    }
    throw new ParseFailure(`found '${tok.literal}', expected: ',', or identifier`);
  }
}

function parseExactValue(stream: TokenStream): string[] {
  const ahead = stream.peek().kind;
  if (ahead === 'end' || ahead === 'comma') return [''];
  const tok = stream.next();
  if (tok.kind === 'identifier') return [tok.literal];
  throw new ParseFailure(`found '${tok.literal}', expected: identifier`);
}
