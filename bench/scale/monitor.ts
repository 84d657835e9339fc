// Readings taken while a scale or idle case runs: the server's (and etcd's)
// resident memory once a second, the machine's available memory (a run that
// would push the shared machine into swap or the OOM killer is stopped
// first), and a timed LIST that streams the body without keeping it.
import { readFileSync } from 'node:fs';
import http2 from 'node:http2';
import { performance } from 'node:perf_hooks';
import type { Client } from '../lib/http2-client.ts';
import { memoryOf } from '../lib/server.ts';

/** MemAvailable of the machine, MiB. */
export function machineAvailableMiB(): number {
  const m = /^MemAvailable:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** VmRSS/VmHWM of a process, or NaN when it is gone. */
export function memoryOrNaN(pid: number | undefined): { rssMiB: number; hwmMiB: number } {
  if (pid === undefined) return { rssMiB: NaN, hwmMiB: NaN };
  try {
    return memoryOf(pid);
  } catch {
    return { rssMiB: NaN, hwmMiB: NaN };
  }
}

export class MemorySampler {
  readonly #serverPid: number;
  readonly #etcdPid: number | undefined;
  readonly #timer: NodeJS.Timeout;
  serverRssMiB = NaN;
  serverPeakMiB = NaN;
  etcdRssMiB = NaN;
  etcdPeakMiB = NaN;
  /** Lowest MemAvailable seen. */
  machineMinAvailableMiB = Infinity;

  constructor(serverPid: number, etcdPid: number | undefined, intervalMs = 1000) {
    this.#serverPid = serverPid;
    this.#etcdPid = etcdPid;
    this.sample();
    this.#timer = setInterval(() => this.sample(), intervalMs);
  }

  sample(): void {
    const server = memoryOrNaN(this.#serverPid);
    if (Number.isFinite(server.rssMiB)) {
      this.serverRssMiB = server.rssMiB;
      this.serverPeakMiB = server.hwmMiB;
    }
    const etcd = memoryOrNaN(this.#etcdPid);
    if (Number.isFinite(etcd.rssMiB)) {
      this.etcdRssMiB = etcd.rssMiB;
      this.etcdPeakMiB = etcd.hwmMiB;
    }
    this.machineMinAvailableMiB = Math.min(this.machineMinAvailableMiB, machineAvailableMiB());
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}

export interface TimedGet {
  status: number;
  ms: number;
  bytes: number;
  /** The body when it was at most `keepBytes` long. */
  body?: string;
  error?: string;
}

/** A GET timed to its body's last byte; the body is counted, and kept only when small. */
export function timedGet(client: Client, path: string, timeoutMs: number, keepBytes: number): Promise<TimedGet> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const stream = client.session().request({ ':method': 'GET', ':path': path, accept: 'application/json', ...client.authHeaders() });
    let status = 0;
    let bytes = 0;
    let chunks: Buffer[] | undefined = [];
    let done = false;
    const finish = (error?: string) => {
      if (done) return;
      done = true;
      const body = chunks ? Buffer.concat(chunks).toString('utf8') : undefined;
      resolve({ status, ms: performance.now() - t0, bytes, body, error });
    };
    stream.setTimeout(timeoutMs, () => {
      stream.close(http2.constants.NGHTTP2_CANCEL);
      finish(`no complete answer in ${timeoutMs / 1000}s`);
    });
    stream.on('response', (headers) => { status = Number(headers[':status']); });
    stream.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (chunks && bytes <= keepBytes) chunks.push(chunk);
      else chunks = undefined;
    });
    stream.on('end', () => finish());
    stream.on('error', (error) => finish(error.message));
  });
}
