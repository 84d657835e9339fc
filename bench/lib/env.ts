// Parameters from the environment and the run's overall deadline, shared by
// the benchmarks.
import { cpus, release, totalmem } from 'node:os';

/** A positive number from the environment, or `fallback` when unset. */
export function envNumber(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name}=${text} is not a positive number`);
  return value;
}

/** The bound on a whole run (BENCH_TIMEOUT_S): every loop checks it. */
export class Deadline {
  readonly ms: number;
  readonly at: number;

  constructor(seconds: number) {
    this.ms = seconds * 1000;
    this.at = Date.now() + this.ms;
  }

  /** Milliseconds left (never negative). */
  left(): number {
    return Math.max(0, this.at - Date.now());
  }

  passed(): boolean {
    return Date.now() > this.at;
  }

  check(what: string): void {
    if (this.passed()) throw new Error(`bench: ${what} passed the run's bound of ${this.ms / 1000}s (BENCH_TIMEOUT_S)`);
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The machine a run was measured on, for the progress log (docs/benchmarks.md quotes it). */
export function machineDescription(): string {
  return `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, Linux ${release()}, Node ${process.version}`;
}
