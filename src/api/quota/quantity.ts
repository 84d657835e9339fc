// Quantities for quota and limit arithmetic: exact (BigInt nano-units, the
// precision resource.Quantity keeps), with the format the value was written
// in, so sums print the way upstream prints them ("1536Mi", "500m", "2").
// Parsing is api/validation/quantity.ts's; this adds arithmetic and the
// canonical text of resource.Quantity.String().
import { parseQuantity } from '../validation/quantity.ts';

export type QuantityFormat = 'DecimalSI' | 'BinarySI' | 'DecimalExponent';

export interface Amount {
  /** The value × 10^9, rounded up (values finer than 1n round up, as upstream's parser does). */
  nanos: bigint;
  format: QuantityFormat;
}

const NANO = 1_000_000_000n;

const ceilDiv = (num: bigint, den: bigint): bigint => {
  const q = num / den;
  return num % den !== 0n && (num > 0n) === (den > 0n) ? q + 1n : q;
};

function formatOf(text: string): QuantityFormat {
  if (/[KMGTPE]i$/.test(text)) return 'BinarySI';
  if (/[eE][-+]?[0-9]+$/.test(text)) return 'DecimalExponent';
  return 'DecimalSI';
}

/** A quantity from its JSON form (string or number); undefined when malformed. */
export function amountOf(input: unknown): Amount | undefined {
  const q = parseQuantity(input);
  if (!q) return undefined;
  return { nanos: ceilDiv(q.num * NANO, q.den), format: typeof input === 'string' ? formatOf(input.trim()) : 'DecimalSI' };
}

/** Like amountOf, zero for what does not parse (validation refuses those before they get here). */
export const amountOrZero = (input: unknown): Amount => amountOf(input) ?? zero();

export const zero = (format: QuantityFormat = 'DecimalSI'): Amount => ({ nanos: 0n, format });
export const whole = (n: number | bigint): Amount => ({ nanos: BigInt(n) * NANO, format: 'DecimalSI' });

/** a + b; the result keeps a's format unless a is zero (as Quantity.Add). */
export function addAmounts(a: Amount, b: Amount): Amount {
  return { nanos: a.nanos + b.nanos, format: a.nanos === 0n ? b.format : a.format };
}

export function subtractAmounts(a: Amount, b: Amount): Amount {
  return { nanos: a.nanos - b.nanos, format: a.nanos === 0n ? b.format : a.format };
}

export const compareAmounts = (a: Amount, b: Amount): number => (a.nanos < b.nanos ? -1 : a.nanos > b.nanos ? 1 : 0);
export const maxAmount = (a: Amount, b: Amount): Amount => (compareAmounts(b, a) > 0 ? b : a);

/** The value in thousandths, rounded up (Quantity.MilliValue). */
export const milliValue = (a: Amount): bigint => ceilDiv(a.nanos, 1_000_000n);
/** The value rounded up to a whole number (Quantity.Value). */
export const wholeValue = (a: Amount): bigint => ceilDiv(a.nanos, NANO);

/** The value rounded up to a whole number, keeping the format (Quantity.RoundUp(0)). */
export const roundUpToWhole = (a: Amount): Amount => ({ nanos: wholeValue(a) * NANO, format: a.format });

const decimalSuffixes: Record<number, string> = { [-9]: 'n', [-6]: 'u', [-3]: 'm', 0: '', 3: 'k', 6: 'M', 9: 'G', 12: 'T', 15: 'P', 18: 'E' };
const binarySuffixes = ['', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei'];

/** Canonical text, as resource.Quantity.String(): "0", "500m", "1536Mi", "2k", "1e3". */
export function formatAmount(a: Amount): string {
  if (a.nanos === 0n) return '0';
  let format = a.format;
  if (format === 'BinarySI') {
    const small = a.nanos > -1024n * NANO && a.nanos < 1024n * NANO;
    // Fractions and values below 1Ki print in decimal, never rounded.
    if (small || a.nanos % NANO !== 0n) format = 'DecimalSI';
  }
  if (format === 'BinarySI') {
    let value = a.nanos / NANO;
    let power = 0;
    while (power < binarySuffixes.length - 1 && value % 1024n === 0n) {
      value /= 1024n;
      power++;
    }
    return `${value}${binarySuffixes[power]}`;
  }
  let mantissa = a.nanos;
  let exponent = -9;
  while (mantissa % 10n === 0n) {
    mantissa /= 10n;
    exponent++;
  }
  // The exponent shown is a multiple of 3 (milli, kilo, …): move the rest into the mantissa.
  const rest = ((exponent % 3) + 3) % 3;
  mantissa *= 10n ** BigInt(rest);
  exponent -= rest;
  if (format === 'DecimalExponent') return exponent === 0 ? `${mantissa}` : `${mantissa}e${exponent}`;
  const suffix = decimalSuffixes[exponent];
  return suffix !== undefined ? `${mantissa}${suffix}` : `${mantissa}e${exponent}`;
}

/** Parse and re-print a quantity in canonical form (what upstream stores); the input when malformed. */
export function canonicalQuantity(input: unknown): string {
  const a = amountOf(input);
  return a ? formatAmount(a) : String(input);
}
