// JSON forms of the apimachinery types whose protobuf shape differs from their JSON
// shape: meta/v1 Time and MicroTime (seconds + nanos ⇄ RFC 3339 text) and meta/v1
// Duration (nanoseconds ⇄ Go duration text such as "1m30s"). Pure functions; they
// throw plain Errors that decode/encode wrap with the field path.

const NANOS_PER_SECOND = 1_000_000_000n;

/** Seconds and nanoseconds since the Unix epoch, normalised so 0 ≤ nanos < 1e9 (as Go's time.Unix does). */
export interface Timestamp {
  seconds: bigint;
  nanos: number;
}

/** Go refuses to write years outside 0000–9999 in JSON; so do we. */
const MIN_SECONDS = -62167219200n; // 0000-01-01T00:00:00Z
const MAX_SECONDS = 253402300799n; // 9999-12-31T23:59:59Z

function normalise({ seconds, nanos }: Timestamp): Timestamp {
  const total = seconds * NANOS_PER_SECOND + BigInt(nanos);
  let s = total / NANOS_PER_SECOND;
  let n = total % NANOS_PER_SECOND;
  if (n < 0n) { n += NANOS_PER_SECOND; s -= 1n; }
  return { seconds: s, nanos: Number(n) };
}

/**
 * RFC 3339 in UTC, as metav1.Time (seconds precision: "2024-01-02T03:04:05Z") or
 * metav1.MicroTime (micro precision: "2024-01-02T03:04:05.000006Z").
 */
export function formatTimestamp(ts: Timestamp, precision: 'seconds' | 'micros'): string {
  const { seconds, nanos } = normalise(ts);
  if (seconds < MIN_SECONDS || seconds > MAX_SECONDS) throw new Error(`time ${seconds}s is outside the years 0000–9999`);
  const date = new Date(Number(seconds) * 1000);
  const iso = date.toISOString().slice(0, 19); // years 0000–9999 are always 4 digits here
  if (precision === 'seconds') return `${iso}Z`;
  return `${iso}.${Math.floor(nanos / 1000).toString().padStart(6, '0')}Z`;
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

/** Parses RFC 3339 text (any offset, optional fraction) into seconds + nanos. */
export function parseTimestamp(text: string): Timestamp {
  const m = RFC3339.exec(text);
  if (!m) throw new Error(`${JSON.stringify(text)} is not an RFC 3339 time`);
  const [, y, mo, d, h, mi, s, frac, , sign, oh, om] = m;
  const month = Number(mo), day = Number(d), hour = Number(h), minute = Number(mi), second = Number(s);
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59) {
    throw new Error(`${JSON.stringify(text)} is not a valid time`);
  }
  const utc = new Date(0);
  utc.setUTCFullYear(Number(y), month - 1, day);
  utc.setUTCHours(hour, minute, second, 0);
  if (utc.getUTCDate() !== day) throw new Error(`${JSON.stringify(text)} is not a valid date`);
  let seconds = BigInt(utc.getTime() / 1000);
  if (sign) seconds -= BigInt((sign === '-' ? -1 : 1) * (Number(oh) * 3600 + Number(om) * 60));
  const nanos = frac ? Number(frac.padEnd(9, '0')) : 0;
  return { seconds, nanos };
}

/** Go's time.Duration.String: "0s", "1.5s", "1m0s", "2h3m4.005s", "300ms", "1µs", "12ns", "-5s". */
export function formatDuration(nanoseconds: bigint): string {
  if (nanoseconds === 0n) return '0s';
  const negative = nanoseconds < 0n;
  const u = negative ? -nanoseconds : nanoseconds;
  let text: string;
  if (u < NANOS_PER_SECOND) {
    if (u < 1_000n) text = `${u}ns`;
    else if (u < 1_000_000n) text = `${withFraction(u, 3)}µs`;
    else text = `${withFraction(u, 6)}ms`;
  } else {
    const seconds = u / NANOS_PER_SECOND;
    const secondsText = `${withFraction(u % (60n * NANOS_PER_SECOND), 9)}s`;
    const minutes = seconds / 60n;
    if (minutes === 0n) text = secondsText;
    else if (minutes < 60n) text = `${minutes}m${secondsText}`;
    else text = `${minutes / 60n}h${minutes % 60n}m${secondsText}`;
  }
  return negative ? `-${text}` : text;
}

/** `value / 10^digits` with the fraction's trailing zeros removed (Go's fmtFrac + fmtInt). */
function withFraction(value: bigint, digits: number): string {
  const scale = 10n ** BigInt(digits);
  const fraction = (value % scale).toString().padStart(digits, '0').replace(/0+$/, '');
  return fraction ? `${value / scale}.${fraction}` : `${value / scale}`;
}

const UNIT_NANOS: Record<string, bigint> = {
  ns: 1n, us: 1_000n, 'µs': 1_000n, 'μs': 1_000n, ms: 1_000_000n,
  s: NANOS_PER_SECOND, m: 60n * NANOS_PER_SECOND, h: 3600n * NANOS_PER_SECOND,
};
const MAX_INT64 = (1n << 63n) - 1n;

/** Go's time.ParseDuration: "1h2m3.5s", "-300ms", "0". */
export function parseDuration(text: string): bigint {
  let rest = text;
  let negative = false;
  if (rest.startsWith('-') || rest.startsWith('+')) { negative = rest[0] === '-'; rest = rest.slice(1); }
  if (rest === '0') return 0n;
  if (rest === '') throw new Error(`invalid duration ${JSON.stringify(text)}`);
  let total = 0n;
  const part = /^(\d*)(?:\.(\d*))?(ns|us|µs|μs|ms|s|m|h)/;
  while (rest) {
    const m = part.exec(rest);
    if (!m || (m[1] === '' && !m[2])) throw new Error(`invalid duration ${JSON.stringify(text)}`);
    const unit = UNIT_NANOS[m[3]];
    total += BigInt(m[1] || '0') * unit;
    if (m[2]) total += (BigInt(m[2]) * unit) / 10n ** BigInt(m[2].length);
    if (total > MAX_INT64 + (negative ? 1n : 0n)) throw new Error(`duration ${JSON.stringify(text)} is out of range`);
    rest = rest.slice(m[0].length);
  }
  return negative ? -total : total;
}
