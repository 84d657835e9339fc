// exec and attach. `runc exec` inherits the container's process settings
// (user, env, cwd, capabilities) from its bundle; `--pid-file` gives us the
// exec'd process so a timeout or close() can SIGKILL it (killing runc itself
// would leave it running). With a TTY, runc detaches and passes the pty
// master over a unix socket, which shim/exec_tty.py receives and relays
// (fd 3 carries resizes), reaping the process as a subreaper for its exit code. attach speaks the container shim's framed socket protocol.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, type Writable } from 'node:stream';
import type { OciCli } from './oci-cli.ts';
import { python, shimScript } from './shim-client.ts';
import type { ExecOptions, StreamSession } from './types.ts';

export class ExecTimeoutError extends Error {
  constructor(seconds: number) {
    super(`command timed out after ${seconds}s`);
    this.name = 'ExecTimeoutError';
  }
}

const MAX_OUTPUT = 16 << 20;

function tempPath(kind: string): string {
  return join(tmpdir(), `skiff-${kind}-${randomBytes(8).toString('hex')}`);
}

function killExecProcess(pidFile: string): void {
  try {
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    if (pid > 0) process.kill(pid, 'SIGKILL');
  } catch {
    // not started yet or already gone
  }
}

function exitCodeOf(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  return signal ? 128 + (({ SIGKILL: 9, SIGTERM: 15, SIGINT: 2, SIGHUP: 1 } as Record<string, number>)[signal] ?? 1) : 1;
}

export function execSync(options: { cli: OciCli; containerId: string; options: ExecOptions }): Promise<{ exitCode: number; stdout: Buffer; stderr: Buffer }> {
  const pidFile = tempPath('exec-pid');
  const [cmd, ...prefix] = options.cli.argv();
  const child = spawn(cmd, [...prefix, 'exec', '--pid-file', pidFile, options.containerId, ...options.options.argv], { stdio: ['ignore', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  let size = 0;
  const collect = (into: Buffer[]) => (chunk: Buffer) => {
    if (size + chunk.length > MAX_OUTPUT) return;
    size += chunk.length;
    into.push(chunk);
  };
  child.stdout!.on('data', collect(out));
  child.stderr!.on('data', collect(err));
  const seconds = options.options.timeoutSeconds ?? 0;
  return new Promise((resolve, reject) => {
    let timedOut = false;
    const timer = seconds > 0 ? setTimeout(() => {
      timedOut = true;
      killExecProcess(pidFile);
    }, seconds * 1000) : undefined;
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      rmSync(pidFile, { force: true });
      if (timedOut) reject(new ExecTimeoutError(seconds));
      else resolve({ exitCode: exitCodeOf(code, signal), stdout: Buffer.concat(out), stderr: Buffer.concat(err) });
    });
  });
}

export async function execStreaming(options: { cli: OciCli; containerId: string; options: ExecOptions }): Promise<StreamSession> {
  const { cli, containerId } = options;
  const { argv, tty, stdin, timeoutSeconds } = options.options;
  const pidFile = tempPath('exec-pid');
  const [cmd, ...prefix] = cli.argv();
  let child;
  if (tty) {
    // runc hands out the pty master only when detaching; the helper binds the socket and reaps the process.
    const socketPath = `${tempPath('tty')}.sock`;
    const runtimeArgv = [cmd, ...prefix, 'exec', '--detach', '--tty', '--console-socket', socketPath, '--pid-file', pidFile, containerId, ...argv];
    child = spawn(python(), ['-I', '-S', shimScript('exec_tty.py'), socketPath, pidFile, JSON.stringify(runtimeArgv)], { stdio: ['pipe', 'pipe', 'pipe', 'pipe'] });
  } else {
    child = spawn(cmd, [...prefix, 'exec', '--pid-file', pidFile, containerId, ...argv], { stdio: [stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
  }
  const control = tty ? (child.stdio[3] as Writable) : undefined;
  control?.on('error', () => undefined);
  child.stdin?.on('error', () => undefined);
  const runtimeErrors: Buffer[] = [];
  let stderr: PassThrough | undefined;
  if (tty) child.stderr!.on('data', (c: Buffer) => runtimeErrors.push(c));
  else {
    stderr = new PassThrough();
    child.stderr!.pipe(stderr);
  }
  const timer = timeoutSeconds ? setTimeout(() => killExecProcess(pidFile), timeoutSeconds * 1000) : undefined;
  const exited = new Promise<number>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      rmSync(pidFile, { force: true });
      const message = Buffer.concat(runtimeErrors).toString().trim();
      if (tty && message && code !== 0) process.emitWarning(`exec tty: ${message}`);
      resolve(exitCodeOf(code, signal));
    });
  });
  return {
    stdin: stdin ? child.stdin! : undefined,
    stdout: child.stdout!,
    stderr,
    resize(size) {
      control?.write(`${Math.max(1, Math.floor(size.width))} ${Math.max(1, Math.floor(size.height))}\n`);
    },
    exited,
    close() {
      killExecProcess(pidFile);
    },
  };
}

function frame(kind: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header.writeUInt8(kind, 0);
  header.writeUInt32BE(payload.length, 1);
  return Buffer.concat([header, payload]);
}

/** Attach over the shim's socket: frames 0 stdin, 1 stdout, 2 stderr, 3 resize, 4 close stdin. */
export async function attachToShim(options: { socket: string; stdin: boolean; tty: boolean; exitCode: () => Promise<number> }): Promise<StreamSession> {
  const socket = connect(options.socket);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const stdout = new PassThrough();
  const stderr = options.tty ? undefined : new PassThrough();
  let buffer = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    buffer = Buffer.concat([buffer, chunk]);
    while (buffer.length >= 5) {
      const length = buffer.readUInt32BE(1);
      if (buffer.length < 5 + length) break;
      const kind = buffer[0];
      const payload = buffer.subarray(5, 5 + length);
      buffer = buffer.subarray(5 + length);
      (kind === 2 && stderr ? stderr : stdout).write(payload);
    }
  });
  let detached = false;
  const exited = new Promise<number>((resolve) => {
    socket.on('close', () => {
      stdout.end();
      stderr?.end();
      // The shim closes attach connections when the container exits; a detach resolves with 0.
      if (detached) resolve(0);
      else void options.exitCode().then(resolve, () => resolve(0));
    });
    socket.on('error', () => undefined);
  });
  let stdin: PassThrough | undefined;
  if (options.stdin) {
    stdin = new PassThrough();
    stdin.on('data', (chunk: Buffer) => socket.write(frame(0, chunk)));
    stdin.on('end', () => socket.write(frame(4, Buffer.alloc(0))));
  }
  return {
    stdin,
    stdout,
    stderr,
    resize(size) {
      socket.write(frame(3, Buffer.from(`${Math.floor(size.width)} ${Math.floor(size.height)}`)));
    },
    exited,
    close() {
      detached = true;
      socket.end();
    },
  };
}
