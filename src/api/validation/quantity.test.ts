import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareQuantities, isWhole, parseQuantity } from './quantity.ts';

const q = (s: string | number) => {
  const v = parseQuantity(s);
  assert.ok(v, `parses ${s}`);
  return v;
};

test('quantities parse exactly and compare across suffixes', () => {
  assert.equal(compareQuantities(q('500m'), q('0.5')), 0);
  assert.equal(compareQuantities(q('1'), q('1000m')), 0);
  assert.equal(compareQuantities(q('1Gi'), q('1073741824')), 0);
  assert.equal(compareQuantities(q('1G'), q('1Gi')), -1);
  assert.equal(compareQuantities(q('1e3'), q('1k')), 0);
  assert.equal(compareQuantities(q(2), q('1500m')), 1);
  assert.equal(compareQuantities(q('-1'), q('0')), -1);
  assert.ok(isWhole(q('2')));
  assert.ok(!isWhole(q('1500m')));
  for (const bad of ['', 'abc', '1 GB', '1Gb', '1.2.3', '--1']) assert.equal(parseQuantity(bad), undefined, bad);
});
