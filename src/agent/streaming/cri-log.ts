// The CRI container log format, one record per line:
//   2026-11-22T03:04:05.123456789Z stdout F text of a whole line
//   2026-11-22T03:04:05.123456790Z stderr P first part of a long line…
// `P` records are fragments of one logical line that the runtime split; the
// `F` record ends it. This file parses records and finds where the last N
// logical lines of a file start (kubectl logs --tail).
import type { FileHandle } from 'node:fs/promises';

export interface CriRecord {
  /** The timestamp as written (RFC 3339 with up to nanoseconds). */
  timestamp: string;
  /** Milliseconds since the epoch (sub-millisecond digits dropped). */
  timeMs: number;
  stream: 'stdout' | 'stderr';
  /** True for a `P` fragment: the logical line continues in a later record. */
  partial: boolean;
  /** The text, without the record's terminating newline. */
  text: Buffer;
}

const TIMESTAMP = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/;

/** One record, from a line without its trailing '\n'; undefined when it is not CRI format. */
export function parseCriRecord(line: Buffer): CriRecord | undefined {
  const first = line.indexOf(0x20);
  if (first < 0) return undefined;
  const timestamp = line.toString('latin1', 0, first);
  const match = TIMESTAMP.exec(timestamp);
  if (!match) return undefined;
  const timeMs = Date.parse(`${match[1]}.${(match[2] ?? '').padEnd(3, '0').slice(0, 3)}${match[3]}`);
  if (Number.isNaN(timeMs)) return undefined;
  const second = line.indexOf(0x20, first + 1);
  if (second < 0) return undefined;
  const stream = line.toString('latin1', first + 1, second);
  if (stream !== 'stdout' && stream !== 'stderr') return undefined;
  // The tag field may carry more tags after ':' (forward compatibility); the first decides.
  let third = line.indexOf(0x20, second + 1);
  if (third < 0) third = line.length; // an empty `F` line may end right after its tag
  const tag = line.toString('latin1', second + 1, third).split(':')[0];
  if (tag !== 'P' && tag !== 'F') return undefined;
  return { timestamp, timeMs, stream, partial: tag === 'P', text: line.subarray(Math.min(third + 1, line.length)) };
}

/** kubelet's output form of a timestamp: always nine fractional digits (RFC3339NanoFixed). */
export function fixedNanoTimestamp(timestamp: string): string {
  const match = TIMESTAMP.exec(timestamp);
  if (!match) return timestamp;
  return `${match[1]}.${(match[2] ?? '').padEnd(9, '0')}${match[3]}`;
}

/** Whether a raw line (no trailing '\n') ends a logical line: an `F` record, or anything unparseable. */
function endsLogicalLine(line: Buffer): boolean {
  const record = parseCriRecord(line);
  return record === undefined || !record.partial;
}

const TAIL_CHUNK = 64 * 1024;

/**
 * The byte offset where the last `lines` logical lines of the file start
 * (0: the whole file). A logical line starts at the file's start or right after
 * an `F` record (a run of `P` records belongs to the line its `F` closes; an
 * unfinished run at the end is the last line). Bytes after the last newline are
 * a record still being written and count for nothing. Reads backwards in
 * chunks, so tailing a large file stays cheap.
 */
export async function findTailStart(file: FileHandle, lines: number): Promise<number> {
  const { size } = await file.stat();
  if (lines <= 0) return size;
  let dataEnd = -1; // offset just after the last newline
  // The first line of the chunk read before (the one after this one), without
  // its newline: the line may have started in the chunk about to be read.
  let carry = Buffer.alloc(0);
  let position = size;
  let starts = 0;
  const isStart = (end: number, line: Buffer): boolean => end < dataEnd && endsLogicalLine(line) && ++starts === lines;
  while (position > 0) {
    const length = Math.min(TAIL_CHUNK, position);
    position -= length;
    const chunk = Buffer.alloc(length);
    await file.read(chunk, 0, length, position);
    const data = carry.length > 0 ? Buffer.concat([chunk, carry]) : chunk;
    // Index in `data` of the newline ending the line looked at (for the carried line, just past the data).
    let lineEnd = data.length;
    if (dataEnd < 0) {
      lineEnd = data.lastIndexOf(0x0a);
      if (lineEnd < 0) {
        carry = data;
        continue;
      }
      dataEnd = position + lineEnd + 1;
    }
    for (;;) {
      const newline = lineEnd === 0 ? -1 : data.lastIndexOf(0x0a, lineEnd - 1);
      if (newline < 0) break;
      const end = position + lineEnd + 1;
      if (isStart(end, data.subarray(newline + 1, lineEnd))) return end;
      lineEnd = newline;
    }
    carry = data.subarray(0, lineEnd);
  }
  // The file's first line.
  if (dataEnd > 0 && isStart(carry.length + 1, carry)) return carry.length + 1;
  return 0;
}
