// Shared by InterPodAffinity's Filter and Score: counts per topology pair
// (topologyKey, value), and term matching that looks namespace labels up
// only for terms with a namespaceSelector.
import type { Snapshot } from '../../framework/interface.ts';
import type { NodeInfo } from '../../framework/node-info.ts';
import type { AffinityTerm, PodInfo } from '../../framework/pod-info.ts';

/** A label's value, or undefined when absent (labels are plain objects: "constructor" is a valid key). */
export function labelValue(labels: Readonly<Record<string, string>>, key: string): string | undefined {
  return Object.hasOwn(labels, key) ? labels[key] : undefined;
}

/**
 * topologyKey → value → count, with zero entries dropped (so `pairs` says
 * whether anything matched at all). Copy-on-write, because preemption
 * clones the cycle state for every candidate node and most victims change
 * nothing here.
 */
export class TopologyCounts {
  #byKey = new Map<string, Map<string, number>>();
  #pairs = 0;
  #shared = false;

  /** Number of (key, value) pairs with a non-zero count. */
  get pairs(): number {
    return this.#pairs;
  }

  get(key: string, value: string): number {
    return this.#byKey.get(key)?.get(value) ?? 0;
  }

  /** True when any label of the node names a pair with a positive count. */
  anyPositive(labels: Readonly<Record<string, string>>): boolean {
    if (this.#pairs === 0) return false;
    for (const [key, values] of this.#byKey) {
      const v = labelValue(labels, key);
      if (v !== undefined && (values.get(v) ?? 0) > 0) return true;
    }
    return false;
  }

  add(key: string, value: string, delta: number): void {
    if (delta === 0) return;
    if (this.#shared) {
      const copy = new Map<string, Map<string, number>>();
      for (const [k, m] of this.#byKey) copy.set(k, new Map(m));
      this.#byKey = copy;
      this.#shared = false;
    }
    let values = this.#byKey.get(key);
    if (!values) this.#byKey.set(key, (values = new Map()));
    const old = values.get(value) ?? 0;
    const next = old + delta;
    if (next === 0) {
      values.delete(value);
      if (values.size === 0) this.#byKey.delete(key);
      this.#pairs--;
    } else {
      values.set(value, next);
      if (old === 0) this.#pairs++;
    }
  }

  /** Adds `delta` for every term whose topology key the node has. */
  addForTerms(terms: readonly AffinityTerm[], labels: Readonly<Record<string, string>>, delta: number): void {
    for (const t of terms) {
      const v = labelValue(labels, t.topologyKey);
      if (v !== undefined) this.add(t.topologyKey, v, delta);
    }
  }

  clone(): TopologyCounts {
    this.#shared = true;
    const c = new TopologyCounts();
    c.#byKey = this.#byKey;
    c.#pairs = this.#pairs;
    c.#shared = true;
    return c;
  }
}

/** Namespace labels, looked up only when a term has a namespaceSelector. */
export type NamespaceLabels = (namespace: string) => Readonly<Record<string, string>> | undefined;

export function namespaceLabelsOf(snapshot: Snapshot | undefined): NamespaceLabels {
  return snapshot ? (ns) => snapshot.namespaceLabels(ns) : () => undefined;
}

/** True when `term` selects `pod` (namespaces, else namespaceSelector on the pod's namespace, then labels). */
export function termSelects(term: AffinityTerm, pod: PodInfo, nsLabels: NamespaceLabels): boolean {
  if (!term.namespaces.has(pod.namespace)) {
    if (term.namespaceSelector.matchesNothing || !term.namespaceSelector.matches(nsLabels(pod.namespace) ?? {})) return false;
  }
  return term.selector.matches(pod.labels);
}

/** True when every term selects `pod` (false for no terms, as upstream). */
export function allTermsSelect(terms: readonly AffinityTerm[], pod: PodInfo, nsLabels: NamespaceLabels): boolean {
  if (terms.length === 0) return false;
  for (const t of terms) if (!termSelects(t, pod, nsLabels)) return false;
  return true;
}

/**
 * A memo key for "pods these terms select", or undefined when the answer
 * also depends on namespace labels (which change without the node changing).
 */
export function termsKey(kind: string, terms: readonly AffinityTerm[]): string | undefined {
  const parts: string[] = [kind];
  for (const t of terms) {
    if (!t.namespaceSelector.matchesNothing) return undefined;
    parts.push([...t.namespaces].sort().join(','), t.selector.matchesNothing ? '\u0002' : t.selector.toString());
  }
  return parts.join('\u0001');
}

/** Counts the pods on `ni` that `matches` (the fallback when a memo key is impossible). */
export function countOn(ni: NodeInfo, matches: (p: PodInfo) => boolean): number {
  let n = 0;
  for (const p of ni.pods) if (matches(p)) n++;
  return n;
}
