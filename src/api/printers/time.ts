// kubectl's human-readable durations ("5s", "3m2s", "10m", "2d3h", "3y45d"):
// about two significant figures, finer for short durations.

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

/** Formats a duration in milliseconds the way Kubernetes' duration.HumanDuration does. */
export function humanDuration(ms: number): string {
  // Up to a second or two in the future counts as "now": clocks drift between machines.
  const seconds = Math.trunc(ms / SECOND);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 60 * 2) return `${seconds}s`;
  const minutes = Math.trunc(ms / MINUTE);
  if (minutes < 10) {
    const s = seconds % 60;
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`;
  }
  if (minutes < 60 * 3) return `${minutes}m`;
  const hours = Math.trunc(ms / HOUR);
  if (hours < 8) {
    const m = minutes % 60;
    return m === 0 ? `${hours}h` : `${hours}h${m}m`;
  }
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) {
    const h = hours % 24;
    const days = Math.trunc(hours / 24);
    return h === 0 ? `${days}d` : `${days}d${h}h`;
  }
  if (hours < 24 * 365 * 2) return `${Math.trunc(hours / 24)}d`;
  const years = Math.trunc(hours / 24 / 365);
  if (hours < 24 * 365 * 8) {
    const days = Math.trunc(hours / 24) % 365;
    return days === 0 ? `${years}y` : `${years}y${days}d`;
  }
  return `${years}y`;
}

/** Milliseconds since the epoch for an RFC 3339 timestamp, or undefined if absent/unparsable. */
export function parseTimestamp(value: unknown): number | undefined {
  if (typeof value !== 'string' || value === '') return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}

/** Age of a timestamp: "<unknown>" when it is missing, as kubectl prints it. */
export function translateTimestampSince(timestamp: unknown, now: Date | number = Date.now()): string {
  const ms = parseTimestamp(timestamp);
  if (ms === undefined) return '<unknown>';
  return humanDuration((typeof now === 'number' ? now : now.getTime()) - ms);
}
