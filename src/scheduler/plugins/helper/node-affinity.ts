// Node selectors as the API defines them (component-helpers nodeaffinity):
// terms are ORed; inside a term, matchExpressions (on labels) and
// matchFields (on metadata.name) are ANDed; an empty term matches nothing;
// a term that does not parse matches nothing but does not stop the others.
// Shared by NodeAffinity and, later, PodTopologySpread (nodeAffinityPolicy).
import { newRequirement, selectorFromSet, LabelSelector, type LabelOperator } from '../../../api/selectors/index.ts';
import type { NodeSelectorRequirement, NodeSelectorTerm, Pod, PreferredSchedulingTerm } from '../../framework/types.ts';

const labelOperators: Record<string, LabelOperator | undefined> = {
  In: 'in', NotIn: 'notin', Exists: 'exists', DoesNotExist: '!', Gt: 'gt', Lt: 'lt',
};

interface FieldRequirement {
  key: string;
  equal: boolean;
  value: string;
}

interface ParsedTerm {
  labels: LabelSelector | undefined;
  fields: FieldRequirement[] | undefined;
  /** Set when the term did not parse; it then matches nothing. */
  error: string | undefined;
}

function parseTerm(term: NodeSelectorTerm): ParsedTerm {
  try {
    const expressions = term.matchExpressions ?? [];
    const labels = expressions.length
      ? new LabelSelector(expressions.map((e) => {
        const op = labelOperators[e.operator];
        if (!op) throw new Error(`${JSON.stringify(e.operator)} is not a valid node selector operator`);
        return newRequirement(e.key, op, e.values ?? []);
      }))
      : undefined;
    const fieldReqs = term.matchFields ?? [];
    const fields = fieldReqs.length ? fieldReqs.map(parseField) : undefined;
    return { labels, fields, error: undefined };
  } catch (err) {
    return { labels: undefined, fields: undefined, error: err instanceof Error ? err.message : String(err) };
  }
}

function parseField(r: NodeSelectorRequirement): FieldRequirement {
  const values = r.values ?? [];
  if (values.length !== 1) throw new Error(`unexpected number of value (${values.length}) for node field selector operator ${JSON.stringify(r.operator)}`);
  if (r.operator !== 'In' && r.operator !== 'NotIn') throw new Error(`${JSON.stringify(r.operator)} is not a valid node field selector operator`);
  return { key: r.key, equal: r.operator === 'In', value: values[0]! };
}

function termMatches(t: ParsedTerm, labels: Readonly<Record<string, string>>, nodeName: string): boolean {
  if (t.error !== undefined) return false;
  if (t.labels && !t.labels.matches(labels)) return false;
  if (t.fields) {
    for (const f of t.fields) {
      const actual = f.key === 'metadata.name' ? nodeName : '';
      if ((actual === f.value) !== f.equal) return false;
    }
  }
  return true;
}

const isEmptyTerm = (t: NodeSelectorTerm) => !(t.matchExpressions?.length || t.matchFields?.length);

/** A required node selector (nodeSelectorTerms). */
export class NodeSelector {
  readonly #terms: ParsedTerm[];

  constructor(terms: readonly NodeSelectorTerm[]) {
    this.#terms = terms.filter((t) => !isEmptyTerm(t)).map(parseTerm);
  }

  match(labels: Readonly<Record<string, string>>, nodeName: string): boolean {
    for (const t of this.#terms) if (termMatches(t, labels, nodeName)) return true;
    return false;
  }
}

/** Preferred terms: a node scores the sum of the weights of the terms it matches. */
export class PreferredSchedulingTerms {
  readonly #terms: Array<{ term: ParsedTerm; weight: number }>;

  constructor(terms: readonly PreferredSchedulingTerm[]) {
    this.#terms = terms
      .filter((t) => t.weight !== 0 && !isEmptyTerm(t.preference ?? {}))
      .map((t) => ({ term: parseTerm(t.preference), weight: t.weight }));
  }

  get size(): number {
    return this.#terms.length;
  }

  score(labels: Readonly<Record<string, string>>, nodeName: string): number {
    let sum = 0;
    for (const { term, weight } of this.#terms) if (termMatches(term, labels, nodeName)) sum += weight;
    return sum;
  }
}

/** spec.nodeSelector AND spec.affinity.nodeAffinity.required…: what a node must satisfy. */
export class RequiredNodeAffinity {
  readonly #labelSelector: LabelSelector | undefined;
  readonly #nodeSelector: NodeSelector | undefined;

  constructor(pod: Pod) {
    const spec = pod.spec ?? {};
    const ns = spec.nodeSelector;
    this.#labelSelector = ns && Object.keys(ns).length ? selectorFromSet(ns) : undefined;
    const required = spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
    this.#nodeSelector = required ? new NodeSelector(required.nodeSelectorTerms ?? []) : undefined;
  }

  match(labels: Readonly<Record<string, string>>, nodeName: string): boolean {
    if (this.#labelSelector && !this.#labelSelector.matches(labels)) return false;
    return this.#nodeSelector ? this.#nodeSelector.match(labels, nodeName) : true;
  }
}
