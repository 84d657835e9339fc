// A connection to localhost:PORT inside a pod's network namespace, for
// kubectl port-forward: upstream's runtimes dial the port from inside the
// pod's namespace, so a server bound to 127.0.0.1 in the pod is reachable.
// A socket's namespace is fixed when it is made and Node cannot setns(2), so
// a small helper (netns_dial.py) enters the namespace, connects, and copies
// the connection to and from its stdin/stdout; this side is a Duplex over
// those pipes. Pods on the host network are dialled directly.
import { spawn, type ChildProcess } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { Duplex } from 'node:stream';
import { python } from '../runtime/shim-client.ts';

const HELPER = join(import.meta.dirname, 'netns_dial.py');

/** Dials localhost:`port` in the namespace at `netnsPath` (undefined: this process's own). */
export async function dialInNetns(options: { netnsPath?: string; port: number }): Promise<Duplex> {
  const { netnsPath, port } = options;
  if (!netnsPath) return dialLocal(port);
  const child = spawn(python(), ['-I', '-S', HELPER, netnsPath, String(port)], { stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdin!.on('error', () => undefined); // the helper exited first
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
  const first = await new Promise<Buffer>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      child.stdout!.off('data', onData);
      child.stdout!.pause();
      resolve(chunk);
    };
    child.stdout!.on('data', onData);
    child.once('error', reject);
    child.stdout!.once('end', () => reject(new Error(stderr.trim() || 'the port-forward helper exited before connecting')));
  }).catch((error: Error) => {
    child.kill('SIGKILL');
    throw error;
  });
  if (first[0] !== 0x2b /* '+' */) {
    const rest = await readAll(child);
    throw new Error(Buffer.concat([first.subarray(1), rest]).toString().trim() || stderr.trim() || 'port-forward failed');
  }
  return new HelperConnection(child, first.subarray(1));
}

/**
 * The helper's pipes as one connection. Like a net.Socket without
 * allowHalfOpen: once the pod's side ends, ours ends too; 'close' comes when
 * the helper has exited (so nothing it still holds is lost).
 */
class HelperConnection extends Duplex {
  private readonly child: ChildProcess;
  private readonly exited: Promise<void>;

  constructor(child: ChildProcess, initial: Buffer) {
    super({ allowHalfOpen: false });
    this.child = child;
    this.exited = new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      else child.once('exit', () => resolve());
    });
    if (initial.length > 0) this.push(initial);
    const stdout = child.stdout!;
    stdout.on('data', (chunk: Buffer) => {
      if (!this.push(chunk)) stdout.pause();
    });
    stdout.once('end', () => this.push(null));
    stdout.on('error', (error) => this.destroy(error));
  }

  override _read(): void {
    this.child.stdout!.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.child.stdin!.destroyed) return callback();
    this.child.stdin!.write(chunk, () => callback());
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.child.stdin!.end();
    void this.exited.then(() => callback());
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    callback(error);
  }
}

function readAll(child: ChildProcess): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    child.stdout!.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.stdout!.once('close', () => resolve(Buffer.concat(chunks)));
    child.stdout!.resume();
  });
}

/** 127.0.0.1, then ::1 (the order upstream tries), in this process's namespace. */
async function dialLocal(port: number): Promise<Socket> {
  const attempt = (host: string) => new Promise<Socket>((resolve, reject) => {
    const socket = connect({ host, port });
    socket.once('connect', () => {
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', reject);
  });
  try {
    return await attempt('127.0.0.1');
  } catch (v4) {
    try {
      return await attempt('::1');
    } catch (v6) {
      const text = (error: unknown, label: string) => `${label}: connect: ${(error as NodeJS.ErrnoException).code === 'ECONNREFUSED' ? 'connection refused' : (error as Error).message}`;
      throw new Error(`failed to connect to localhost:${port} inside the host network namespace, IPv4: ${text(v4, `dial tcp4 127.0.0.1:${port}`)} IPv6 ${text(v6, `dial tcp6 [::1]:${port}`)}`);
    }
  }
}
