import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compareKeys, lowerBound, prefixEnd } from './keys.ts';

const utf8Order = (a: string, b: string) => Math.sign(Buffer.compare(Buffer.from(a), Buffer.from(b)));

// Characters from every UTF-8 length class, around the surrogate block.
const ALPHABET = ['a', 'z', '/', '\u0000', '\u007f', 'é', '\u07ff', '\u0800', '中'];
ALPHABET.push('\ud7ff', '\ue000', '\uffff', '😀', '\u{10ffff}');

function randomKey(random: () => number): string {
  let key = '';
  const length = Math.floor(random() * 5);
  for (let i = 0; i < length; i++) key += ALPHABET[Math.floor(random() * ALPHABET.length)];
  return key;
}

/** Small deterministic PRNG so failures reproduce. */
function seeded(seed: number): () => number {
  return () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
}

describe('keys', () => {
  it('compareKeys agrees with UTF-8 byte order', () => {
    const random = seeded(42);
    for (let i = 0; i < 20000; i++) {
      const a = randomKey(random);
      const b = randomKey(random);
      assert.equal(Math.sign(compareKeys(a, b)), utf8Order(a, b), `${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
    }
  });

  it('prefixEnd bounds exactly the keys with the prefix', () => {
    const random = seeded(7);
    for (let i = 0; i < 20000; i++) {
      const prefix = randomKey(random);
      const key = randomKey(random);
      const end = prefixEnd(prefix);
      const inRange = compareKeys(key, prefix) >= 0 && (end === undefined || compareKeys(key, end) < 0);
      assert.equal(inRange, key.startsWith(prefix), `${JSON.stringify(key)} with prefix ${JSON.stringify(prefix)}`);
    }
    assert.equal(prefixEnd(''), undefined);
    assert.equal(prefixEnd('\u{10ffff}'), undefined);
    assert.equal(prefixEnd('/registry/pods/'), '/registry/pods0');
    assert.equal(prefixEnd('a\ud7ff'), 'a\ue000');
  });

  it('lowerBound finds the insertion point', () => {
    const sorted = ['/a', '/b', '/b/c', '/é'];
    assert.deepEqual(
      ['', '/a', '/aa', '/b/', '/z', '/é', '/😀'].map((key) => lowerBound(sorted, key)),
      [0, 0, 1, 2, 3, 3, 4],
    );
  });
});
