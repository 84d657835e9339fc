import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { findTailStart, fixedNanoTimestamp, parseCriRecord } from './cri-log.ts';
import { readContainerLog, type LogReadOptions } from './log-reader.ts';

const T = (second: number, nanos = '123456789') => `2026-11-22T03:04:${String(second).padStart(2, '0')}.${nanos}Z`;
const rec = (second: number, stream: 'stdout' | 'stderr', tag: 'P' | 'F', text: string) => `${T(second)} ${stream} ${tag} ${text}\n`;

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'skiff-logs-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

let fileCount = 0;
function logFile(content: string): string {
  const path = join(dir, `${fileCount++}.log`);
  writeFileSync(path, content);
  return path;
}

async function read(path: string, options: Partial<LogReadOptions> = {}, isRunning = async () => false): Promise<string> {
  const chunks: Buffer[] = [];
  await readContainerLog({
    path, isRunning, pollIntervalMs: 20,
    options: { follow: false, timestamps: false, ...options },
    write: async (chunk) => {
      chunks.push(chunk);
    },
  });
  return Buffer.concat(chunks).toString();
}

describe('CRI records', () => {
  it('parses stream, tag, timestamp and text', () => {
    const r = parseCriRecord(Buffer.from(`${T(5)} stderr P some text with spaces`))!;
    assert.equal(r.stream, 'stderr');
    assert.equal(r.partial, true);
    assert.equal(r.text.toString(), 'some text with spaces');
    assert.equal(r.timeMs, Date.parse('2026-11-22T03:04:05.123Z'));
    assert.equal(parseCriRecord(Buffer.from(`${T(5)} stdout F`))!.text.toString(), '');
    assert.equal(parseCriRecord(Buffer.from('not a log line')), undefined);
    assert.equal(parseCriRecord(Buffer.from(`${T(5)} stdin F x`)), undefined);
    assert.equal(parseCriRecord(Buffer.from(`${T(5)} stdout X x`)), undefined);
  });

  it('prints timestamps with nine fractional digits', () => {
    assert.equal(fixedNanoTimestamp('2026-11-22T03:04:05.5Z'), '2026-11-22T03:04:05.500000000Z');
    assert.equal(fixedNanoTimestamp('2026-11-22T03:04:05Z'), '2026-11-22T03:04:05.000000000Z');
    assert.equal(fixedNanoTimestamp('2026-11-22T03:04:05.123456789+02:00'), '2026-11-22T03:04:05.123456789+02:00');
  });
});

describe('reading a container log', () => {
  const content = rec(1, 'stdout', 'F', 'one') + rec(2, 'stderr', 'F', 'two')
    + rec(3, 'stdout', 'P', 'thr') + rec(3, 'stdout', 'P', 'e') + rec(4, 'stdout', 'F', 'e') + rec(5, 'stdout', 'F', 'four');

  it('joins partial records into one line and mixes both streams', async () => {
    assert.equal(await read(logFile(content)), 'one\ntwo\nthree\nfour\n');
  });

  it('prefixes each logical line once with its timestamp', async () => {
    assert.equal(await read(logFile(content), { timestamps: true }),
      `${T(1)} one\n${T(2)} two\n${T(3)} three\n${T(5)} four\n`);
  });

  it('tails logical lines, counting a split line once', async () => {
    const path = logFile(content);
    assert.equal(await read(path, { tailLines: 2 }), 'three\nfour\n');
    assert.equal(await read(path, { tailLines: 1 }), 'four\n');
    assert.equal(await read(path, { tailLines: 0 }), '');
    assert.equal(await read(path, { tailLines: 4 }), 'one\ntwo\nthree\nfour\n');
    assert.equal(await read(path, { tailLines: 40 }), 'one\ntwo\nthree\nfour\n');
  });

  it('skips records older than since', async () => {
    assert.equal(await read(logFile(content), { sinceMs: Date.parse(T(2)) }), 'two\nthree\nfour\n');
    assert.equal(await read(logFile(content), { sinceMs: Date.parse('2026-11-22T03:04:03.124Z') }), 'e\nfour\n');
  });

  it('cuts the output at limitBytes', async () => {
    assert.equal(await read(logFile(content), { limitBytes: 6 }), 'one\ntw');
  });

  it('skips lines it cannot parse and writes an unfinished last record', async () => {
    assert.equal(await read(logFile(`garbage\n${rec(1, 'stdout', 'F', 'ok')}${T(2)} stdout F no newline`)), 'ok\nno newline\n');
  });

  it('finds the tail start across chunk boundaries the same as a plain count', async () => {
    // ~300 KiB with long split lines, so lines straddle the reader's 64 KiB chunks.
    let text = '';
    const logical: string[] = [];
    for (let i = 0; i < 900; i++) {
      const body = `line-${i}-` + 'x'.repeat((i * 37) % 700);
      if (i % 7 === 0) {
        text += rec(i % 60, 'stdout', 'P', body.slice(0, 100)) + rec(i % 60, 'stdout', 'F', body.slice(100));
      } else {
        text += rec(i % 60, i % 2 ? 'stderr' : 'stdout', 'F', body);
      }
      logical.push(body);
    }
    const path = logFile(text);
    const file = await open(path, 'r');
    try {
      for (const n of [1, 2, 7, 100, 450, 899, 900, 5000]) {
        const start = await findTailStart(file, n);
        const expected = logical.slice(Math.max(0, logical.length - n)).map((l) => l + '\n').join('');
        assert.equal(await read(path, { tailLines: n }), expected, `tail ${n}`);
        assert.ok(start >= 0);
      }
    } finally {
      await file.close();
    }
  });

  it('follows new records until the container stops', async () => {
    const path = logFile(rec(1, 'stdout', 'F', 'first'));
    let running = true;
    const chunks: string[] = [];
    const done = readContainerLog({
      path, pollIntervalMs: 20, isRunning: async () => running,
      options: { follow: true, timestamps: false, tailLines: 1 },
      write: async (chunk) => {
        chunks.push(chunk.toString());
      },
    });
    await waitFor(() => chunks.join('') === 'first\n');
    appendFileSync(path, rec(2, 'stdout', 'P', 'sec'));
    appendFileSync(path, rec(2, 'stdout', 'F', 'ond'));
    await waitFor(() => chunks.join('') === 'first\nsecond\n');
    // Written just before the container stopped: still delivered.
    appendFileSync(path, rec(3, 'stderr', 'F', 'last words'));
    running = false;
    await done;
    assert.equal(chunks.join(''), 'first\nsecond\nlast words\n');
  });

  it('follows across rotation to the new file at the same path', async () => {
    const path = logFile(rec(1, 'stdout', 'F', 'before rotation'));
    let running = true;
    const chunks: string[] = [];
    const done = readContainerLog({
      path, pollIntervalMs: 20, isRunning: async () => running,
      options: { follow: true, timestamps: false },
      write: async (chunk) => {
        chunks.push(chunk.toString());
      },
    });
    await waitFor(() => chunks.join('') === 'before rotation\n');
    appendFileSync(path, rec(2, 'stdout', 'F', 'tail of the old file'));
    renameSync(path, `${path}.20261122-030405`);
    writeFileSync(path, rec(3, 'stdout', 'F', 'in the new file'));
    await waitFor(() => chunks.join('').endsWith('in the new file\n'));
    running = false;
    await done;
    assert.equal(chunks.join(''), 'before rotation\ntail of the old file\nin the new file\n');
  });

  it('stops following when aborted', async () => {
    const path = logFile(rec(1, 'stdout', 'F', 'x'));
    const controller = new AbortController();
    const done = readContainerLog({
      path, pollIntervalMs: 10_000, isRunning: async () => true, signal: controller.signal,
      options: { follow: true, timestamps: false },
      write: async () => undefined,
    });
    setTimeout(() => controller.abort(), 50);
    await done; // would hang for the poll interval if abort did not wake it
  });
});

async function waitFor(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
