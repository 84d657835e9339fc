// Cron schedules as the CronJob controller reads them: the standard five
// fields (minute hour day-of-month month day-of-week) with `*`/`?`, ranges,
// steps, lists and month/weekday names, the macros @yearly (@annually),
// @monthly, @weekly, @daily (@midnight), @hourly and @every <duration>, an
// optional TZ=/CRON_TZ= prefix, and evaluation in an IANA time zone (via
// Intl, no tz database of our own).
//
// Semantics follow the robfig/cron parser upstream uses, notably: when
// both day fields are restricted, a day matches if EITHER matches; when
// one of them is `*` (or `?`, or `*/1`), both must match.
//
// Time zones: times are searched on the wall clock of the zone. A wall time
// that a daylight-saving jump skips does not happen, so a schedule naming
// it does not fire that day; a wall time that happens twice (clocks turned
// back) fires once, at its first occurrence.
import { cronScheduleError, isTimeZone } from '../../api/validation/cron.ts';

export interface Schedule {
  /** The first activation strictly after `after`; undefined when there is none in the next five years. */
  next(after: Date): Date | undefined;
}

interface Field {
  min: number;
  max: number;
  names?: Record<string, number>;
}

const MINUTE: Field = { min: 0, max: 59 };
const HOUR: Field = { min: 0, max: 23 };
const DOM: Field = { min: 1, max: 31 };
const MONTH: Field = { min: 1, max: 12, names: { jan: 1, feb: 2, mar: 3, apr: 4, may: 5, jun: 6, jul: 7, aug: 8, sep: 9, oct: 10, nov: 11, dec: 12 } };
const DOW: Field = { min: 0, max: 6, names: { sun: 0, mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6 } };

// The allowed values of one field, and whether it was written as "every value" (*, ? or */1).
interface Values {
  allowed: boolean[];
  star: boolean;
}

const MACROS: Record<string, string> = {
  '@yearly': '0 0 1 1 *', '@annually': '0 0 1 1 *', '@monthly': '0 0 1 * *', '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *', '@midnight': '0 0 * * *', '@hourly': '0 * * * *',
};

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

/**
 * Parse a schedule; `timeZone` (the CronJob's spec.timeZone) applies unless
 * the schedule names its own with TZ=. Throws with the parser's message
 * (the same text validation reports) on a bad schedule or zone.
 */
export function parseSchedule(spec: string, timeZone?: string): Schedule {
  const error = cronScheduleError(spec.trim());
  if (error) throw new Error(error);
  let rest = spec.trim();
  let zone = timeZone ?? 'UTC';
  const tz = /^(?:CRON_)?TZ=(\S+)\s*/.exec(rest);
  if (tz) {
    zone = tz[1]!;
    rest = rest.slice(tz[0].length);
  }
  if (!isTimeZone(zone)) throw new Error(`provided bad location ${zone}: unknown time zone ${zone}`);
  if (rest.startsWith('@every ')) return everySchedule(parseGoDuration(rest.slice('@every '.length)));
  const fields = (MACROS[rest] ?? rest).split(/\s+/);
  const [minute, hour, dom, month, dow] = [MINUTE, HOUR, DOM, MONTH, DOW].map((f, i) => parseField(fields[i]!, f));
  return new CronSchedule({ minute: minute!, hour: hour!, dom: dom!, month: month!, dow: dow!, zone: new Zone(zone) });
}

function parseField(text: string, field: Field): Values {
  const allowed = new Array<boolean>(field.max + 1).fill(false);
  let star = false;
  for (const part of text.split(',').filter(Boolean)) {
    const [range, stepText] = part.split('/');
    const step = stepText === undefined ? 1 : Number(stepText);
    let start: number;
    let end: number;
    if (range === '*' || range === '?') {
      start = field.min;
      end = field.max;
      // "*/2" restricts the field; "*" and "*/1" do not (robfig's star bit).
      if (step <= 1) star = true;
    } else {
      const [low, high] = range!.split('-');
      start = valueOf(low!, field);
      end = high === undefined ? (stepText === undefined ? start : field.max) : valueOf(high, field);
    }
    for (let v = start; v <= end; v += step) allowed[v] = true;
  }
  return { allowed, star };
}

const valueOf = (text: string, field: Field) => field.names?.[text.toLowerCase()] ?? Number(text);

/** Go's time.ParseDuration, for @every (validation already checked the syntax). */
function parseGoDuration(text: string): number {
  const units: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, 'μs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let ms = 0;
  for (const m of text.matchAll(/(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g)) ms += Number(m[1]) * units[m[2]!]!;
  return text.startsWith('-') ? -ms : ms;
}

/** robfig's ConstantDelaySchedule: whole seconds, at least one, counted from the previous activation. */
function everySchedule(delayMs: number): Schedule {
  const delay = Math.max(1000, Math.floor(delayMs / 1000) * 1000);
  return { next: (after) => new Date(Math.floor(after.getTime() / 1000) * 1000 + delay) };
}

/** Wall-clock arithmetic in one IANA zone. Wall times are ms since epoch "as if the zone were UTC". */
class Zone {
  readonly name: string;
  private readonly format: Intl.DateTimeFormat | undefined;

  constructor(name: string) {
    this.name = name;
    this.format = name === 'UTC' ? undefined : new Intl.DateTimeFormat('en-US', {
      timeZone: name, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric',
    });
  }

  /** The wall time at an instant. */
  wall(instant: number): number {
    if (!this.format) return instant;
    const p: Record<string, number> = {};
    for (const part of this.format.formatToParts(new Date(instant))) if (part.type !== 'literal') p[part.type] = Number(part.value);
    const seconds = Math.floor(instant / 1000) * 1000;
    return Date.UTC(p.year!, p.month! - 1, p.day!, p.hour!, p.minute!, p.second!) + (instant - seconds);
  }

  /** Every instant showing this wall time, earliest first: none in a skipped hour, two in a repeated one. */
  instants(wall: number): number[] {
    if (!this.format) return [wall];
    // The offsets in force a little before and after: a zone changes offset at most once in a day.
    const offsets = new Set([wall - 12 * 3_600_000, wall + 12 * 3_600_000].map((t) => this.wall(t) - t));
    return [...offsets].map((offset) => wall - offset).filter((t) => this.wall(t) === wall).sort((a, b) => a - b);
  }
}

interface CronFields {
  minute: Values;
  hour: Values;
  dom: Values;
  month: Values;
  dow: Values;
  zone: Zone;
}

class CronSchedule implements Schedule {
  private readonly f: CronFields;

  constructor(fields: CronFields) {
    this.f = fields;
  }

  next(after: Date): Date | undefined {
    const { zone } = this.f;
    const afterMs = after.getTime();
    // The next whole minute on the zone's clock.
    let t = Math.floor(zone.wall(afterMs) / MINUTE_MS) * MINUTE_MS + MINUTE_MS;
    const limit = new Date(t).getUTCFullYear() + 5;
    while (new Date(t).getUTCFullYear() <= limit) {
      const d = new Date(t);
      if (!this.f.month.allowed[d.getUTCMonth() + 1]) {
        t = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
      } else if (!this.dayMatches(d)) {
        t = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()) + DAY_MS;
      } else if (!this.f.hour.allowed[d.getUTCHours()]) {
        t = Math.floor(t / 3_600_000) * 3_600_000 + 3_600_000;
      } else if (!this.f.minute.allowed[d.getUTCMinutes()]) {
        t += MINUTE_MS;
      } else {
        const instant = zone.instants(t).find((i) => i > afterMs);
        if (instant !== undefined) return new Date(instant);
        t += MINUTE_MS;
      }
    }
    return undefined;
  }

  private dayMatches(d: Date): boolean {
    const { dom, dow } = this.f;
    const domMatch = dom.allowed[d.getUTCDate()] === true;
    const dowMatch = dow.allowed[d.getUTCDay()] === true;
    return dom.star || dow.star ? domMatch && dowMatch : domMatch || dowMatch;
  }
}
