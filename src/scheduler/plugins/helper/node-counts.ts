// Per-node pod counts that survive from one cycle to the next.
//
// PodTopologySpread and InterPodAffinity count, on every node, the pods that
// match a selector. Done naively that is O(all pods in the cluster) per
// cycle, even though between two cycles of a ReplicaSet's replicas only the
// node that got the previous replica changed. So counts are kept per
// "question" (a namespace plus a selector, as a string key) and per node
// slot, stamped with the NodeInfo generation they were computed at; a node
// whose generation moved is counted again, every other node costs a lookup.
// Copies made for what-if checks (slot -1) are always counted afresh.
import type { NodeInfo } from '../../framework/node-info.ts';
import type { PodInfo } from '../../framework/pod-info.ts';

class Column {
  gens = new Float64Array(0);
  counts = new Int32Array(0);

  ensure(slots: number): void {
    if (this.gens.length >= slots) return;
    const size = Math.max(slots, this.gens.length * 2, 16);
    const gens = new Float64Array(size);
    gens.set(this.gens);
    const counts = new Int32Array(size);
    counts.set(this.counts);
    this.gens = gens;
    this.counts = counts;
  }
}

export interface NodeCountsOptions {
  /** Questions remembered at once; the least recently asked is forgotten first. */
  maxKeys?: number;
}

/** Remembered per-node counts of pods matching a predicate, keyed by what the predicate asks. */
export class NodeCounts {
  readonly #columns = new Map<string, Column>();
  readonly #maxKeys: number;
  /** For tests and benchmarks: how often a node had to be counted. */
  readonly stats = { hits: 0, misses: 0 };

  constructor(options: NodeCountsOptions = {}) {
    this.#maxKeys = options.maxKeys ?? 256;
  }

  /**
   * A counter for one question. `key` must determine `matches` completely
   * (two calls with the same key must ask the same thing).
   */
  counter(key: string, slotCount: number, matches: (pod: PodInfo) => boolean): (ni: NodeInfo) => number {
    let col = this.#columns.get(key);
    if (col) {
      this.#columns.delete(key);
    } else {
      col = new Column();
      if (this.#columns.size >= this.#maxKeys) this.#columns.delete(this.#columns.keys().next().value!);
    }
    this.#columns.set(key, col);
    col.ensure(slotCount);
    const stats = this.stats;
    const count = (ni: NodeInfo) => {
      let n = 0;
      const pods = ni.pods;
      for (let i = 0; i < pods.length; i++) if (matches(pods[i]!)) n++;
      return n;
    };
    return (ni) => {
      const slot = ni.slot;
      if (slot < 0 || slot >= col.gens.length) return count(ni);
      if (col.gens[slot] === ni.generation) {
        stats.hits++;
        return col.counts[slot]!;
      }
      stats.misses++;
      const n = count(ni);
      col.gens[slot] = ni.generation;
      col.counts[slot] = n;
      return n;
    };
  }

  clear(): void {
    this.#columns.clear();
  }
}
