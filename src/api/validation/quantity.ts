// Just enough of resource.Quantity to validate: parse "500m", "1Gi", "1e3",
// "0.5" exactly (as a BigInt fraction) so that requests can be compared with
// limits without floating-point surprises. Canonical re-printing is not done
// here; messages show the text the user wrote.

export interface Quantity {
  /** value = num / den, den > 0 */
  num: bigint;
  den: bigint;
}

export const QUANTITY_FORMAT_ERROR = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";

const pattern = /^([+-]?)([0-9]*)(?:\.([0-9]*))?(.*)$/;

const decimalSuffix: Record<string, number> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const binarySuffix: Record<string, number> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };

/** Parses a quantity (string or JSON number); undefined when malformed. */
export function parseQuantity(input: unknown): Quantity | undefined {
  if (typeof input === 'number') {
    if (!Number.isFinite(input)) return undefined;
    input = String(input);
  }
  if (typeof input !== 'string') return undefined;
  const text = input.trim();
  const m = pattern.exec(text);
  if (!m || text.length === 0) return undefined;
  const [, sign, whole = '', frac = '', suffix = ''] = m;
  if (whole.length === 0 && frac.length === 0) return undefined;
  let num = BigInt((whole || '0') + frac);
  let den = 10n ** BigInt(frac.length);
  if (sign === '-') num = -num;

  if (suffix in decimalSuffix) {
    const e = decimalSuffix[suffix]!;
    if (e >= 0) num *= 10n ** BigInt(e);
    else den *= 10n ** BigInt(-e);
  } else if (suffix in binarySuffix) {
    num *= 2n ** BigInt(binarySuffix[suffix]!);
  } else {
    const exp = /^[eE]([-+]?[0-9]+)$/.exec(suffix);
    if (!exp) return undefined;
    const e = Number(exp[1]);
    if (Math.abs(e) > 1000) return undefined;
    if (e >= 0) num *= 10n ** BigInt(e);
    else den *= 10n ** BigInt(-e);
  }
  return { num, den };
}

/** -1, 0 or 1. */
export function compareQuantities(a: Quantity, b: Quantity): number {
  const l = a.num * b.den;
  const r = b.num * a.den;
  return l < r ? -1 : l > r ? 1 : 0;
}

export const isNegative = (q: Quantity): boolean => q.num < 0n;
export const isZero = (q: Quantity): boolean => q.num === 0n;
/** True when the value is a whole number (integer resources such as pods, GPUs). */
export const isWhole = (q: Quantity): boolean => q.num % q.den === 0n;
