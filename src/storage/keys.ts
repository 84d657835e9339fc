// Key ordering shared by every backend.
//
// Keys sort by the bytes of their UTF-8 encoding, which is the order etcd and
// SQLite's BINARY collation use. JavaScript's `<` compares UTF-16 code units
// instead, which disagrees for characters above U+FFFF (surrogate pairs sort
// below U+E000..U+FFFF in UTF-16 but above them in UTF-8). Backends that sort
// in JavaScript (memory) must use `compareKeys` so that every backend returns
// lists in the same order.

/** UTF-8 byte order (equivalently: Unicode code point order). */
export function compareKeys(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    // Only when both are at or above the surrogate range can UTF-16 order
    // differ from code point order: move surrogates above U+E000..U+FFFF.
    if (x >= 0xd800 && y >= 0xd800) {
      x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
      y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
    }
    return x < y ? -1 : 1;
  }
  return a.length - b.length;
}

/**
 * The smallest string greater than every string that starts with `prefix`,
 * in UTF-8 byte order, or undefined when there is none (empty prefix, or a
 * prefix made only of U+10FFFF). Incrementing the last code point works
 * because UTF-8 preserves code point order and is prefix-free.
 */
export function prefixEnd(prefix: string): string | undefined {
  const points = Array.from(prefix);
  while (points.length > 0) {
    const last = points.pop()!.codePointAt(0)!;
    if (last === 0x10ffff) continue;
    // Skip the surrogate block: those code points cannot appear in valid text.
    const next = last === 0xd7ff ? 0xe000 : last + 1;
    return points.join('') + String.fromCodePoint(next);
  }
  return undefined;
}

/** Index of the first element of a sorted key array that is >= key. */
export function lowerBound(sorted: readonly string[], key: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareKeys(sorted[mid]!, key) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
