// Streams a container's CRI log file the way kubelet answers
// /containerLogs: optionally from the last N lines, skipping records older than
// `since`, with or without timestamps, cut at `limitBytes`, and with `follow`
// waiting for more until the container stops — across log rotation (the file
// renamed away and a new one created at the same path).
import { watch, type FSWatcher } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { findTailStart, fixedNanoTimestamp, parseCriRecord } from './cri-log.ts';

export interface LogReadOptions {
  /** Only the last N logical lines of the current file; absent: all. */
  tailLines?: number;
  /** Stop after this many bytes of output (a line may be cut); absent: no limit. */
  limitBytes?: number;
  /** Skip records older than this (milliseconds since the epoch). */
  sinceMs?: number;
  follow: boolean;
  /** Prefix each line with its RFC 3339 timestamp (nine fractional digits) and a space. */
  timestamps: boolean;
}

export interface ReadContainerLogOptions {
  path: string;
  options: LogReadOptions;
  /** Receives output; resolves when the consumer can take more (backpressure). */
  write(chunk: Buffer): Promise<void>;
  /** Follow ends when this says false and the file is drained. */
  isRunning(): Promise<boolean>;
  /** Aborting ends the read at once (the client went away). */
  signal?: AbortSignal;
  /** How often a follower looks again when no change notification came (default 250 ms). */
  pollIntervalMs?: number;
}

const READ_CHUNK = 64 * 1024;
const NEWLINE = Buffer.from('\n');

/** Reads until done (not following, container stopped, byte limit, or aborted). */
export async function readContainerLog(options: ReadContainerLogOptions): Promise<void> {
  const reader = new LogReader(options);
  try {
    await reader.run();
  } finally {
    await reader.close();
  }
}

class LogReader {
  private readonly o: ReadContainerLogOptions;
  private file: FileHandle | undefined;
  private watcher: FSWatcher | undefined;
  private wake: (() => void) | undefined;
  private position = 0;
  private pending = Buffer.alloc(0);
  private remainingBytes: number;
  private remainingLines: number;
  /** Streams whose current logical line has begun (timestamps go only at a line's start). */
  private readonly midLine = { stdout: false, stderr: false };
  private done = false;

  constructor(options: ReadContainerLogOptions) {
    this.o = options;
    this.remainingBytes = options.options.limitBytes ?? Infinity;
    // kubelet counts lines only when not following: then it stops after the tail.
    this.remainingLines = options.options.tailLines !== undefined && !options.options.follow ? options.options.tailLines : Infinity;
  }

  async run(): Promise<void> {
    const { options } = this.o;
    this.file = await open(this.o.path, 'r');
    if (options.tailLines !== undefined) this.position = await findTailStart(this.file, options.tailLines);
    if (this.remainingLines === 0) return;
    for (;;) {
      if (this.done || this.o.signal?.aborted) return;
      const got = await this.readSome();
      if (got > 0) continue;
      if (this.done) return;
      if (!options.follow) {
        // kubelet writes a last line that lacks its newline, as it is.
        if (this.pending.length > 0) await this.emitLine(this.pending);
        return;
      }
      if (await this.switchIfRotated()) continue;
      if (!(await this.o.isRunning())) {
        // Drain what the container wrote between the last read and its exit.
        while (!this.done && (await this.readSome()) > 0);
        return;
      }
      await this.waitForChange();
    }
  }

  async close(): Promise<void> {
    this.watcher?.close();
    this.watcher = undefined;
    await this.file?.close().catch(() => undefined);
    this.file = undefined;
  }

  /** Reads one chunk and emits its complete lines; returns the bytes read. */
  private async readSome(): Promise<number> {
    const buffer = Buffer.alloc(READ_CHUNK);
    const { bytesRead } = await this.file!.read(buffer, 0, READ_CHUNK, this.position);
    if (bytesRead === 0) return 0;
    this.position += bytesRead;
    let data = buffer.subarray(0, bytesRead);
    if (this.pending.length > 0) data = Buffer.concat([this.pending, data]);
    let start = 0;
    for (;;) {
      const newline = data.indexOf(0x0a, start);
      if (newline < 0) break;
      await this.emitLine(data.subarray(start, newline));
      start = newline + 1;
      if (this.done) return bytesRead;
    }
    // Copy: `data` may be a view of a large buffer that would otherwise stay alive.
    this.pending = Buffer.from(data.subarray(start));
    return bytesRead;
  }

  private async emitLine(line: Buffer): Promise<void> {
    const record = parseCriRecord(line);
    if (!record) return; // kubelet skips lines it cannot parse
    const { options } = this.o;
    const lineStart = !this.midLine[record.stream];
    this.midLine[record.stream] = record.partial;
    if (!record.partial) this.countLine();
    if (options.sinceMs !== undefined && record.timeMs < options.sinceMs) return;
    const parts: Buffer[] = [];
    if (options.timestamps && lineStart) parts.push(Buffer.from(`${fixedNanoTimestamp(record.timestamp)} `));
    parts.push(record.text);
    if (!record.partial) parts.push(NEWLINE);
    let out = Buffer.concat(parts);
    if (out.length >= this.remainingBytes) {
      out = out.subarray(0, this.remainingBytes);
      this.done = true;
    }
    this.remainingBytes -= out.length;
    if (out.length > 0) await this.o.write(out);
  }

  private countLine(): void {
    this.remainingLines -= 1;
    if (this.remainingLines <= 0) this.done = true;
  }

  /**
   * After rotation the path names a new file: finish nothing more from the old
   * one (it was drained: we are at its end) and continue at the new file's start.
   */
  private async switchIfRotated(): Promise<boolean> {
    let current;
    try {
      current = await stat(this.o.path);
    } catch {
      return false; // renamed away, the new file not created yet: wait for it
    }
    const open_ = await this.file!.stat();
    if (current.ino === open_.ino && current.dev === open_.dev) {
      // Truncated in place (copytruncate): start over at the top.
      if (current.size < this.position) {
        this.position = 0;
        this.pending = Buffer.alloc(0);
        return true;
      }
      return false;
    }
    if (this.pending.length > 0) await this.emitLine(this.pending);
    this.pending = Buffer.alloc(0);
    await this.close();
    this.file = await open(this.o.path, 'r');
    this.position = 0;
    return true;
  }

  /** Until the file changes, a poll interval passes, or the read is aborted. */
  private async waitForChange(): Promise<void> {
    if (!this.watcher) {
      try {
        this.watcher = watch(this.o.path, { persistent: false }, () => this.wake?.());
        this.watcher.on('error', () => {
          this.watcher?.close();
          this.watcher = undefined;
        });
      } catch {
        // No watch (path gone for a moment): polling alone still works.
      }
    }
    const signal = this.o.signal;
    await new Promise<void>((resolve) => {
      const finish = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', finish);
        this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(finish, this.o.pollIntervalMs ?? 250);
      signal?.addEventListener('abort', finish);
      this.wake = finish;
    });
  }
}
