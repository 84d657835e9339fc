// What went wrong during a scale case, in order: each kind of trouble (an
// SLO missed in a window, a stall, the deadline, memory, a crash, a broken
// watch) is kept the first time it happens, with when; later repeats are
// only counted. The earliest is "what breaks first".
import { performance } from 'node:perf_hooks';

export interface Breach {
  kind: string;
  /** Seconds after the case's first workload create (negative: before it). */
  at_s: number;
  detail: string;
  /** How often this kind was seen. */
  count: number;
}

export class Breaches {
  readonly #byKind = new Map<string, Breach>();
  readonly #log: (message: string) => void;
  /** performance.now() of the first workload create (set once the workload starts). */
  t0 = performance.now();

  constructor(log: (message: string) => void) {
    this.#log = log;
  }

  add(kind: string, detail: string): void {
    const seen = this.#byKind.get(kind);
    if (seen) {
      seen.count++;
      return;
    }
    const breach = { kind, at_s: Number(((performance.now() - this.t0) / 1000).toFixed(1)), detail, count: 1 };
    this.#byKind.set(kind, breach);
    this.#log(`BREACH at ${breach.at_s}s: ${kind}: ${detail}`);
  }

  all(): Breach[] {
    return [...this.#byKind.values()].sort((a, b) => a.at_s - b.at_s);
  }
}
