// The JSON lines bench:scale prints (ARCHITECTURE.md §10) and the progress log.
import { percentile, round } from '../lib/stats.ts';

export interface Line {
  bench: 'scale';
  case: string;
  metric: string;
  value: number | null;
  unit: string;
  baseline?: { name: string; value: number };
  ratio?: number | null;
  [extra: string]: unknown;
}

export const log = (message: string) => process.stderr.write(`bench:scale ${message}\n`);

export function emit(line: Line): void {
  process.stdout.write(JSON.stringify(line) + '\n');
}

/** A figure; NaN (no samples) becomes null so the line stays valid JSON. */
export const figure = (x: number): number | null => (Number.isFinite(x) ? round(x) : null);

/** Extra fields with their top-level numbers rounded like the value. */
const rounded = (extra: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(extra).map(([k, v]) => [k, typeof v === 'number' ? figure(v) : v]));

export function line(kase: string, metric: string, value: number, unit: string, extra: Record<string, unknown> = {}): Line {
  return { bench: 'scale', case: kase, metric, value: figure(value), unit, ...rounded(extra) };
}

/** A measurement beside its baseline; ratio = value / baseline. */
export function compared(
  kase: string, metric: string, value: number, unit: string, baseline: { name: string; value: number }, extra: Record<string, unknown> = {},
): Line {
  return {
    bench: 'scale', case: kase, metric, value: figure(value), unit,
    baseline: { name: baseline.name, value: figure(baseline.value) ?? NaN },
    ratio: Number.isFinite(value) && baseline.value > 0 ? round(value / baseline.value) : null,
    ...rounded(extra),
  };
}

export const p50 = (samples: readonly number[]) => percentile(samples, 50);
export const p99 = (samples: readonly number[]) => percentile(samples, 99);

export const seconds = (ms: number) => (ms / 1000).toFixed(1);
