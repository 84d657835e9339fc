import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDuration, formatTimestamp, parseDuration, parseTimestamp } from './wellknown.ts';

test('Time and MicroTime text', () => {
  assert.equal(formatTimestamp({ seconds: 1704164645n, nanos: 0 }, 'seconds'), '2024-01-02T03:04:05Z');
  assert.equal(formatTimestamp({ seconds: 1704164645n, nanos: 999_999_999 }, 'seconds'), '2024-01-02T03:04:05Z');
  assert.equal(formatTimestamp({ seconds: 1704164645n, nanos: 123_456_789 }, 'micros'), '2024-01-02T03:04:05.123456Z');
  assert.equal(formatTimestamp({ seconds: 0n, nanos: 0 }, 'micros'), '1970-01-01T00:00:00.000000Z');
  assert.equal(formatTimestamp({ seconds: 10n, nanos: -1 }, 'micros'), '1970-01-01T00:00:09.999999Z');
  assert.equal(formatTimestamp({ seconds: -62167219200n, nanos: 0 }, 'seconds'), '0000-01-01T00:00:00Z');
  assert.throws(() => formatTimestamp({ seconds: -62167219201n, nanos: 0 }, 'seconds'), /outside/);
  assert.throws(() => formatTimestamp({ seconds: 253402300800n, nanos: 0 }, 'seconds'), /outside/);
});

test('RFC 3339 parsing', () => {
  assert.deepEqual(parseTimestamp('2024-01-02T03:04:05Z'), { seconds: 1704164645n, nanos: 0 });
  assert.deepEqual(parseTimestamp('2024-01-02T05:04:05.5+02:00'), { seconds: 1704164645n, nanos: 500_000_000 });
  assert.deepEqual(parseTimestamp('0001-01-01T00:00:00Z'), { seconds: -62135596800n, nanos: 0 });
  for (const bad of ['2024-02-30T00:00:00Z', '2024-01-02', '2024-01-02T25:00:00Z', 'yesterday', '2024-01-02T03:04:05']) {
    assert.throws(() => parseTimestamp(bad), /time|date/, bad);
  }
});

test('Go duration text', () => {
  const cases: Array<[bigint, string]> = [
    [0n, '0s'], [1n, '1ns'], [1100n, '1.1µs'], [2_200_000n, '2.2ms'], [3_300_000_000n, '3.3s'],
    [245_000_000_000n, '4m5s'], [245_001_000_000n, '4m5.001s'], [18_367_001_000_000n, '5h6m7.001s'],
    [480_000_000_001n, '8m0.000000001s'], [3_600_000_000_000n, '1h0m0s'], [60_000_000_000n, '1m0s'], [-1_000_000_000n, '-1s'],
    [(1n << 63n) - 1n, '2562047h47m16.854775807s'], [-(1n << 63n), '-2562047h47m16.854775808s'],
  ];
  for (const [nanos, text] of cases) {
    assert.equal(formatDuration(nanos), text, String(nanos));
    assert.equal(parseDuration(text), nanos, text);
  }
  assert.equal(parseDuration('1h2m3.5s'), 3_723_500_000_000n);
  assert.equal(parseDuration('1us'), 1000n);
  assert.equal(parseDuration('.5s'), 500_000_000n);
  assert.equal(parseDuration('+0'), 0n);
  for (const bad of ['', '1', '1x', 's', '.s', '3000000h', '1h-2m']) assert.throws(() => parseDuration(bad), /duration/, bad);
});
