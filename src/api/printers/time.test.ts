import { test } from 'node:test';
import assert from 'node:assert/strict';
import { humanDuration, translateTimestampSince } from './time.ts';

const s = 1000;
const m = 60 * s;
const h = 60 * m;
const d = 24 * h;

test('humanDuration follows kubectl', () => {
  const cases: Array<[number, string]> = [
    [-3 * s, '<invalid>'],
    [-1500, '0s'],
    [0, '0s'],
    [5 * s, '5s'],
    [119 * s, '119s'],
    [2 * m, '2m'],
    [3 * m + 2 * s, '3m2s'],
    [9 * m + 59 * s, '9m59s'],
    [10 * m + 30 * s, '10m'],
    [179 * m, '179m'],
    [3 * h, '3h'],
    [3 * h + 5 * m, '3h5m'],
    [8 * h + 5 * m, '8h'],
    [47 * h, '47h'],
    [2 * d + 3 * h, '2d3h'],
    [3 * d, '3d'],
    [8 * d + 5 * h, '8d'],
    [400 * d, '400d'],
    [3 * 365 * d + 45 * d, '3y45d'],
    [2 * 365 * d, '2y'],
    [9 * 365 * d + 100 * d, '9y'],
  ];
  for (const [ms, text] of cases) assert.equal(humanDuration(ms), text, String(ms));
});

test('translateTimestampSince', () => {
  const now = Date.parse('2025-01-01T12:00:00Z');
  assert.equal(translateTimestampSince('2025-01-01T11:55:00Z', now), '5m');
  assert.equal(translateTimestampSince('2025-01-01T11:59:59.123456Z', new Date(now)), '0s');
  assert.equal(translateTimestampSince(undefined, now), '<unknown>');
  assert.equal(translateTimestampSince('', now), '<unknown>');
  assert.equal(translateTimestampSince('garbage', now), '<unknown>');
});
