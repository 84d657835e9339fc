// Completion indexes of Indexed Jobs, kept as sorted, non-overlapping,
// non-adjacent intervals so that status.completedIndexes stays short for
// big Jobs: "1,3-5" means 1, 3, 4 and 5. Two neighbours are written
// "3,4" rather than "3-4", the form upstream writes and clients parse.
import { COMPLETION_INDEX_ANNOTATION } from './types.ts';
import type { Pod } from '../framework/types.ts';

export interface Interval {
  first: number;
  last: number;
}

export type Intervals = readonly Interval[];

/**
 * Parse "1,3-5": intervals starting at or beyond `completions` are dropped
 * and the last one is clipped (completions may have shrunk, for elastic
 * Jobs); garbage pieces are skipped, never fatal (the string is status a
 * user could edit).
 */
export function parseIndexes(text: string | undefined, completions: number): Interval[] {
  const result: Interval[] = [];
  if (!text) return result;
  for (const piece of text.split(',')) {
    const [a, b, extra] = piece.split('-');
    if (extra !== undefined || !/^\d+$/.test(a ?? '') || (b !== undefined && !/^\d+$/.test(b))) continue;
    const first = Number(a);
    if (first >= completions) break;
    const last = Math.min(b === undefined ? first : Number(b), completions - 1);
    if (last < first) continue;
    const previous = result.at(-1);
    if (previous && previous.last + 1 >= first) previous.last = Math.max(previous.last, last);
    else result.push({ first, last });
  }
  return result;
}

export function formatIndexes(intervals: Intervals): string {
  return intervals.map(({ first, last }) => (last === first ? `${first}` : last === first + 1 ? `${first},${last}` : `${first}-${last}`)).join(',');
}

/** The union of two interval lists. */
export function mergeIntervals(a: Intervals, b: Intervals): Interval[] {
  const all = [...a, ...b].sort((x, y) => x.first - y.first);
  const result: Interval[] = [];
  for (const { first, last } of all) {
    const previous = result.at(-1);
    if (previous && first <= previous.last + 1) previous.last = Math.max(previous.last, last);
    else result.push({ first, last });
  }
  return result;
}

export function withIndexes(intervals: Intervals, indexes: Iterable<number>): Interval[] {
  return mergeIntervals(intervals, [...indexes].map((i) => ({ first: i, last: i })));
}

export function countIndexes(intervals: Intervals | undefined): number {
  return (intervals ?? []).reduce((n, { first, last }) => n + last - first + 1, 0);
}

export function hasIndex(intervals: Intervals | undefined, index: number): boolean {
  if (!intervals) return false;
  let lo = 0;
  let hi = intervals.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (intervals[mid]!.last >= index) hi = mid;
    else lo = mid + 1;
  }
  return hi < intervals.length && intervals[hi]!.first <= index;
}

/** How many of `required` are in `have` (both sorted interval lists). */
export function overlapCount(required: Intervals, have: Intervals): number {
  let count = 0;
  let i = 0;
  let j = 0;
  while (i < required.length && j < have.length) {
    const overlap = Math.min(required[i]!.last, have[j]!.last) - Math.max(required[i]!.first, have[j]!.first) + 1;
    if (overlap > 0) count += overlap;
    if (have[j]!.last < required[i]!.last) j++;
    else if (have[j]!.last > required[i]!.last) i++;
    else {
      i++;
      j++;
    }
  }
  return count;
}

/** A pod's completion index, or undefined when it has none (or a malformed one). */
export function completionIndexOf(pod: Pod): number | undefined {
  const value = pod.metadata.annotations?.[COMPLETION_INDEX_ANNOTATION];
  if (value === undefined || !/^\d+$/.test(value)) return undefined;
  const index = Number(value);
  return Number.isSafeInteger(index) ? index : undefined;
}

/** A pod's index when it is valid for a Job of `completions` completions. */
export function validIndexOf(pod: Pod, completions: number): number | undefined {
  const index = completionIndexOf(pod);
  return index !== undefined && index < completions ? index : undefined;
}

/**
 * The first `count` indexes below `completions` that are neither taken nor
 * done: not in `busy` (succeeded, failed, or with a pod that still runs).
 */
export function firstPendingIndexes(busy: Intervals, count: number, completions: number): number[] {
  const result: number[] = [];
  let candidate = 0;
  for (const { first, last } of busy) {
    for (; candidate < completions && result.length < count && candidate < first; candidate++) result.push(candidate);
    if (candidate <= last) candidate = last + 1;
  }
  for (; candidate < completions && result.length < count; candidate++) result.push(candidate);
  return result;
}
