// Resource lists (name → quantity) and the set operations quota needs, as
// upstream's quota helpers: add, subtract, mask, compare with hard limits,
// and the "name=value,…" text of its messages.
import { addAmounts, amountOrZero, compareAmounts, formatAmount, subtractAmounts, zero, type Amount } from './quantity.ts';

export type Usage = Map<string, Amount>;
/** A ResourceList as stored in JSON. */
export type ResourceListJson = Record<string, string | number>;

export function usageFromJson(list: ResourceListJson | null | undefined): Usage {
  const out: Usage = new Map();
  for (const [name, value] of Object.entries(list ?? {})) out.set(name, amountOrZero(value));
  return out;
}

/** Canonical JSON, keys sorted (as Go maps serialise). */
export function usageToJson(usage: Usage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of [...usage.keys()].sort()) out[name] = formatAmount(usage.get(name)!);
  return out;
}

export function addUsage(a: Usage, b: Usage): Usage {
  const out: Usage = new Map(a);
  for (const [name, value] of b) {
    const current = out.get(name);
    out.set(name, current ? addAmounts(current, value) : value);
  }
  return out;
}

/** a - b for the names in a, never below zero (SubtractWithNonNegativeResult). */
export function subtractNonNegative(a: Usage, b: Usage): Usage {
  const out: Usage = new Map();
  for (const [name, value] of a) {
    const other = b.get(name);
    let result = other ? subtractAmounts(value, other) : value;
    if (result.nanos < 0n) result = zero(result.format);
    out.set(name, result);
  }
  return out;
}

/** Only the names in `names`. */
export function maskUsage(usage: Usage, names: Iterable<string>): Usage {
  const out: Usage = new Map();
  for (const name of names) {
    const value = usage.get(name);
    if (value) out.set(name, value);
  }
  return out;
}

export function removeZeros(usage: Usage): Usage {
  return new Map([...usage].filter(([, value]) => value.nanos !== 0n));
}

export function negativeNames(usage: Usage): string[] {
  return [...usage].filter(([, value]) => value.nanos < 0n).map(([name]) => name).sort();
}

/** Whether every value in `a` is ≤ its counterpart in `b` (a name missing from b passes); the names that are not. */
export function lessThanOrEqual(a: Usage, b: Usage): { allowed: boolean; exceeded: string[] } {
  const exceeded: string[] = [];
  for (const [name, value] of a) {
    const limit = b.get(name);
    if (limit && compareAmounts(value, limit) > 0) exceeded.push(name);
  }
  return { allowed: exceeded.length === 0, exceeded };
}

/** Same names with equal values (formats aside). */
export function usageEquals(a: Usage, b: Usage): boolean {
  if (a.size !== b.size) return false;
  for (const [name, value] of a) {
    const other = b.get(name);
    if (!other || compareAmounts(value, other) !== 0) return false;
  }
  return true;
}

/** "pods=1,requests.cpu=500m": upstream's prettyPrint, sorted by name. */
export function prettyPrint(usage: Usage): string {
  return [...usage.keys()].sort().map((name) => `${name}=${formatAmount(usage.get(name)!)}`).join(',');
}

export const prettyPrintNames = (names: Iterable<string>): string => [...new Set(names)].sort().join(',');
