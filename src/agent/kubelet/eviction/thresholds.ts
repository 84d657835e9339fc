// Eviction thresholds as kubelet's flags spell them:
//   --eviction-hard=memory.available<100Mi,nodefs.available<10%
//   --eviction-soft=memory.available<500Mi --eviction-soft-grace-period=memory.available=1m30s
// A threshold is met when the signal's available amount is below a quantity
// or below a percentage of the signal's capacity. Pure.
import { wholeValue } from '../resources.ts';

export const SIGNALS = ['memory.available', 'nodefs.available', 'nodefs.inodesFree', 'imagefs.available', 'imagefs.inodesFree', 'pid.available'] as const;
export type Signal = (typeof SIGNALS)[number];

export interface Threshold {
  signal: Signal;
  /** An absolute amount (bytes, inodes, pids) … */
  quantity?: number;
  /** The quantity as the flag spelled it, for messages. */
  quantityText?: string;
  /** … or a fraction of the capacity (0.1 for 10%). */
  percentage?: number;
  /** 0 for hard thresholds: acted on as soon as observed. */
  gracePeriodMs: number;
  hard: boolean;
}

/** kubelet's default --eviction-hard (Linux). */
export const DEFAULT_EVICTION_HARD = 'memory.available<100Mi,nodefs.available<10%,imagefs.available<15%,nodefs.inodesFree<5%';
/** kubelet's --eviction-pressure-transition-period default. */
export const DEFAULT_PRESSURE_TRANSITION_MS = 5 * 60_000;

/** The node condition a signal's threshold sets, as upstream's signalToNodeCondition. */
export function conditionOf(signal: Signal): 'MemoryPressure' | 'DiskPressure' | 'PIDPressure' {
  if (signal === 'memory.available') return 'MemoryPressure';
  if (signal === 'pid.available') return 'PIDPressure';
  return 'DiskPressure';
}

/** The resource a signal is about, as eviction messages name it (upstream's signalToResource). */
export function resourceOf(signal: Signal): string {
  if (signal === 'memory.available') return 'memory';
  if (signal === 'pid.available') return 'pids';
  if (signal.endsWith('inodesFree')) return 'inodes';
  return 'ephemeral-storage';
}

/** Go's time.ParseDuration for the units kubelet's flags use ("1m30s", "90s", "5m", "1h"). */
export function parseDuration(text: string): number {
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  const trimmed = text.trim();
  if (trimmed === '0') return 0;
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/y;
  let total = 0;
  let at = 0;
  while (at < trimmed.length) {
    re.lastIndex = at;
    const m = re.exec(trimmed);
    if (!m) throw new Error(`invalid duration "${text}"`);
    total += Number(m[1]) * units[m[2]!]!;
    at = re.lastIndex;
  }
  if (!trimmed) throw new Error('invalid duration ""');
  return total;
}

/** `signal=value` pairs, comma separated (kubelet's mapStringString flags). */
function pairs(text: string, separator: RegExp, flag: string): [string, string, string][] {
  return text.split(',').map((s) => s.trim()).filter(Boolean).map((item) => {
    const m = separator.exec(item);
    if (!m) throw new Error(`${flag}: invalid item "${item}"`);
    return [item.slice(0, m.index).trim(), m[0], item.slice(m.index + m[0].length).trim()];
  });
}

function signalNamed(name: string, flag: string): Signal {
  if (!(SIGNALS as readonly string[]).includes(name)) throw new Error(`${flag}: unsupported eviction signal ${name} (supported: ${SIGNALS.join(', ')})`);
  return name as Signal;
}

function parseValue(text: string, signal: string, flag: string): Pick<Threshold, 'quantity' | 'percentage' | 'quantityText'> {
  if (text.endsWith('%')) {
    const percent = Number(text.slice(0, -1));
    if (!Number.isFinite(percent) || percent < 0 || percent > 100) throw new Error(`${flag}: invalid percentage ${text} for ${signal}`);
    return { percentage: percent / 100 };
  }
  if (!/^[0-9.]+[a-zA-Z]*$/.test(text)) throw new Error(`${flag}: invalid quantity ${text} for ${signal}`);
  return { quantity: wholeValue(text), quantityText: text };
}

/**
 * Parse --eviction-hard / --eviction-soft. Soft thresholds need a grace
 * period each (--eviction-soft-grace-period), as kubelet insists. A
 * threshold of 0 or 0% disables the signal (kubelet's way to turn a default off).
 */
export function parseThresholds(options: { hard?: string; soft?: string; softGracePeriod?: string }): Threshold[] {
  const out: Threshold[] = [];
  for (const [name, operator, value] of pairs(options.hard ?? DEFAULT_EVICTION_HARD, /<|>/, '--eviction-hard')) {
    if (operator !== '<') throw new Error(`--eviction-hard: only "<" is supported (${name}${operator}${value})`);
    const signal = signalNamed(name, '--eviction-hard');
    const parsed = parseValue(value, name, '--eviction-hard');
    if ((parsed.quantity ?? parsed.percentage) === 0) continue;
    out.push({ signal, ...parsed, gracePeriodMs: 0, hard: true });
  }
  const graces = new Map<string, number>();
  for (const [name, , value] of pairs(options.softGracePeriod ?? '', /=/, '--eviction-soft-grace-period')) {
    graces.set(signalNamed(name, '--eviction-soft-grace-period'), parseDuration(value));
  }
  for (const [name, operator, value] of pairs(options.soft ?? '', /<|>/, '--eviction-soft')) {
    if (operator !== '<') throw new Error(`--eviction-soft: only "<" is supported (${name}${operator}${value})`);
    const signal = signalNamed(name, '--eviction-soft');
    const grace = graces.get(signal);
    if (grace === undefined) throw new Error(`--eviction-soft: no grace period given for ${signal} (--eviction-soft-grace-period)`);
    const parsed = parseValue(value, name, '--eviction-soft');
    if ((parsed.quantity ?? parsed.percentage) === 0) continue;
    out.push({ signal, ...parsed, gracePeriodMs: grace, hard: false });
  }
  return out;
}

/** The threshold's amount for a signal of this capacity (upstream's GetThresholdQuantity). */
export function thresholdAmount(threshold: Threshold, capacity: number): number {
  if (threshold.quantity !== undefined) return threshold.quantity;
  return Math.floor(capacity * (threshold.percentage ?? 0));
}

/** The hard memory.available and nodefs.available amounts allocatable holds back. */
export function hardReservation(thresholds: readonly Threshold[], capacity: { memoryBytes: number; storageBytes: number }): { memoryBytes: number; storageBytes: number } {
  const amount = (signal: Signal, cap: number) => {
    const t = thresholds.find((x) => x.hard && x.signal === signal);
    return t ? (t.quantity ?? Math.ceil(cap * (t.percentage ?? 0))) : 0;
  };
  return { memoryBytes: amount('memory.available', capacity.memoryBytes), storageBytes: amount('nodefs.available', capacity.storageBytes) };
}
