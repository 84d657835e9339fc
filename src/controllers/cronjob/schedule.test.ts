import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseSchedule } from './schedule.ts';

/** The next `count` activations after `from`, as ISO strings. */
function nexts(spec: string, from: string, count = 3, timeZone?: string): string[] {
  const schedule = parseSchedule(spec, timeZone);
  const out: string[] = [];
  let t = new Date(from);
  for (let i = 0; i < count; i++) {
    const next = schedule.next(t);
    if (!next) break;
    out.push(next.toISOString());
    t = next;
  }
  return out;
}

describe('cron schedules', () => {
  it('steps, ranges, lists and names', () => {
    assert.deepEqual(nexts('*/15 * * * *', '2025-01-01T10:07:30Z'), ['2025-01-01T10:15:00.000Z', '2025-01-01T10:30:00.000Z', '2025-01-01T10:45:00.000Z']);
    assert.deepEqual(nexts('5,50 9-10 * * *', '2025-01-01T09:30:00Z', 4),
      ['2025-01-01T09:50:00.000Z', '2025-01-01T10:05:00.000Z', '2025-01-01T10:50:00.000Z', '2025-01-02T09:05:00.000Z']);
    assert.deepEqual(nexts('0 12 * JAN,feb MON-wed', '2025-01-30T13:00:00Z', 3),
      ['2025-02-03T12:00:00.000Z', '2025-02-04T12:00:00.000Z', '2025-02-05T12:00:00.000Z']);
    // "N/step" means from N to the end of the range.
    assert.deepEqual(nexts('50/5 * * * *', '2025-01-01T00:00:00Z', 3), ['2025-01-01T00:50:00.000Z', '2025-01-01T00:55:00.000Z', '2025-01-01T01:50:00.000Z']);
    assert.deepEqual(nexts('0 0 1-10/3 * *', '2025-01-01T00:00:00Z', 3), ['2025-01-04T00:00:00.000Z', '2025-01-07T00:00:00.000Z', '2025-01-10T00:00:00.000Z']);
  });

  it('always moves strictly forward, from whole minutes', () => {
    assert.equal(parseSchedule('* * * * *').next(new Date('2025-01-01T10:00:00Z'))!.toISOString(), '2025-01-01T10:01:00.000Z');
    assert.equal(parseSchedule('* * * * *').next(new Date('2025-01-01T10:00:59.999Z'))!.toISOString(), '2025-01-01T10:01:00.000Z');
  });

  it('macros', () => {
    const from = '2025-05-15T10:30:00Z';
    assert.deepEqual(nexts('@hourly', from, 1), ['2025-05-15T11:00:00.000Z']);
    assert.deepEqual(nexts('@daily', from, 1), ['2025-05-16T00:00:00.000Z']);
    assert.deepEqual(nexts('@midnight', from, 1), ['2025-05-16T00:00:00.000Z']);
    assert.deepEqual(nexts('@weekly', from, 1), ['2025-05-18T00:00:00.000Z']);
    assert.deepEqual(nexts('@monthly', from, 1), ['2025-06-01T00:00:00.000Z']);
    assert.deepEqual(nexts('@yearly', from, 1), ['2026-01-01T00:00:00.000Z']);
    assert.deepEqual(nexts('@annually', from, 1), ['2026-01-01T00:00:00.000Z']);
    assert.deepEqual(nexts('@every 90s', '2025-05-15T10:30:00.400Z', 2), ['2025-05-15T10:31:30.000Z', '2025-05-15T10:33:00.000Z']);
  });

  it('day of month OR day of week when both are restricted, AND when one is a star', () => {
    // The 13th, or any Friday.
    assert.deepEqual(nexts('0 0 13 * 5', '2025-06-01T00:00:00Z', 3), ['2025-06-06T00:00:00.000Z', '2025-06-13T00:00:00.000Z', '2025-06-20T00:00:00.000Z']);
    // Every Friday (day of month is a star).
    assert.deepEqual(nexts('0 0 * * 5', '2025-06-01T00:00:00Z', 2), ['2025-06-06T00:00:00.000Z', '2025-06-13T00:00:00.000Z']);
    // "*/1" still counts as a star; "*/2" restricts, so it is OR again.
    assert.deepEqual(nexts('0 0 */1 * 5', '2025-06-01T00:00:00Z', 1), ['2025-06-06T00:00:00.000Z']);
    assert.deepEqual(nexts('0 0 */2 * 5', '2025-06-01T00:00:00Z', 3), ['2025-06-03T00:00:00.000Z', '2025-06-05T00:00:00.000Z', '2025-06-06T00:00:00.000Z']);
    // February 30th never comes.
    assert.equal(parseSchedule('0 0 30 2 *').next(new Date('2025-01-01T00:00:00Z')), undefined);
    // February 29th comes in leap years.
    assert.deepEqual(nexts('0 0 29 2 *', '2025-01-01T00:00:00Z', 1), ['2028-02-29T00:00:00.000Z']);
  });

  it('evaluates in the time zone, through daylight-saving changes', () => {
    // 09:00 in Berlin is 08:00Z in winter and 07:00Z in summer (DST from 2025-03-30).
    assert.deepEqual(nexts('0 9 * * *', '2025-03-28T12:00:00Z', 3, 'Europe/Berlin'),
      ['2025-03-29T08:00:00.000Z', '2025-03-30T07:00:00.000Z', '2025-03-31T07:00:00.000Z']);
    // 02:30 does not exist in New York on 2025-03-09: skipped that day.
    assert.deepEqual(nexts('30 2 * * *', '2025-03-08T12:00:00Z', 2, 'America/New_York'), ['2025-03-10T06:30:00.000Z', '2025-03-11T06:30:00.000Z']);
    // 01:30 happens twice on 2025-11-02: fired once, at the first (EDT, 05:30Z).
    assert.deepEqual(nexts('30 1 * * *', '2025-11-01T12:00:00Z', 2, 'America/New_York'), ['2025-11-02T05:30:00.000Z', '2025-11-03T06:30:00.000Z']);
    // Half-hour offsets.
    assert.deepEqual(nexts('0 0 * * *', '2025-01-01T00:00:00Z', 1, 'Asia/Kolkata'), ['2025-01-01T18:30:00.000Z']);
    // TZ= in the schedule wins over the default zone.
    assert.deepEqual(nexts('TZ=Asia/Tokyo 0 9 * * *', '2025-01-01T00:00:00Z', 1), ['2025-01-02T00:00:00.000Z']);
    assert.deepEqual(nexts('CRON_TZ=Asia/Tokyo 0 9 * * *', '2025-01-01T00:00:00Z', 1, 'Europe/Berlin'), ['2025-01-02T00:00:00.000Z']);
  });

  it('rejects bad schedules and zones with the parser\'s messages', () => {
    assert.throws(() => parseSchedule('* * * *'), /expected exactly 5 fields, found 4/);
    assert.throws(() => parseSchedule('61 * * * *'), /end of range \(61\) above maximum \(59\)/);
    assert.throws(() => parseSchedule('@fortnightly'), /unrecognized descriptor/);
    assert.throws(() => parseSchedule('* * * * *', 'Mars/Olympus'), /unknown time zone Mars\/Olympus/);
    assert.throws(() => parseSchedule('*/0 * * * *'), /step/);
  });
});
