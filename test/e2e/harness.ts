// Starts a real `skiff server` (bin/skiff, the pinned Node) on a free loopback
// port with a temporary data dir, and runs the real /usr/bin/kubectl against
// it. Everything it starts is stopped and removed in `stop()`.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { startE2eDatastore } from './etcd-datastore.ts';

export const repoRoot = new URL('../..', import.meta.url).pathname.replace(/\/$/, '');
export const KUBECTL = '/usr/bin/kubectl';

export interface ServerHandle {
  port: number;
  dataDir: string;
  kubeconfig: string;
  process: ChildProcess;
  output: string[];
  /** Run kubectl; returns stdout, stderr and exit code (never throws on a non-zero exit). */
  kubectl(args: string[], options?: { input?: string; env?: Record<string, string> }): KubectlResult;
  /** Run kubectl and throw with its stderr unless it exits 0. Returns stdout. */
  k(args: string[], options?: { input?: string; env?: Record<string, string> }): string;
  /** Kill the server (SIGKILL when `hard`) without removing the data dir. */
  kill(hard?: boolean): Promise<void>;
  stop(): Promise<void>;
}

export interface KubectlResult {
  stdout: string;
  stderr: string;
  status: number;
}

export interface StartOptions {
  /** Reuse a data dir (restart tests); default a new temp dir. */
  dataDir?: string;
  extraArgs?: string[];
  /** Keep the same port across a restart. */
  port?: number;
  /**
   * The API server alone (no scheduler, no controllers): for tests of API
   * semantics that must not see controllers write to the objects they create.
   */
  apiOnly?: boolean;
}

export async function startServer(options: StartOptions = {}): Promise<ServerHandle> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'skiff-e2e-'));
  const kubeconfig = join(dataDir, 'kubeconfig.yaml');
  const cacheDir = join(dataDir, 'kube-cache');
  // SKIFF_E2E_DATASTORE=etcd: this server gets its own etcd (unless the test picks a datastore).
  const datastore = options.extraArgs?.includes('--datastore-endpoint') ? undefined : await startE2eDatastore(dataDir);
  const child = spawn(join(repoRoot, 'bin/skiff'), [
    'server', '--data-dir', dataDir, '--https-listen-port', String(options.port ?? 0),
    '--bind-address', '127.0.0.1', '--node-ip', '127.0.0.1', '--disable-agent',
    ...(options.apiOnly ? ['--disable-scheduler', '--controllers', ''] : []), ...(datastore?.args ?? []), ...(options.extraArgs ?? []),
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  child.stderr!.on('data', (d) => output.push(String(d)));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server not ready in 30s:\n${output.join('')}`)), 30_000);
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      output.push(line + '\n');
      const m = /ready: https:\/\/127\.0\.0\.1:(\d+)/.exec(line);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}:\n${output.join('')}`));
    });
  }).catch(async (error: unknown) => {
    await datastore?.stop();
    throw error;
  });

  const kubectl = (args: string[], opts: { input?: string; env?: Record<string, string> } = {}): KubectlResult => {
    const result = spawnSync(KUBECTL, ['--kubeconfig', kubeconfig, '--cache-dir', cacheDir, ...args], {
      input: opts.input, encoding: 'utf8', timeout: 60_000,
      env: { ...process.env, KUBECONFIG: kubeconfig, ...opts.env },
    });
    return { stdout: result.stdout ?? '', stderr: result.stderr ?? '', status: result.status ?? -1 };
  };
  const kill = async (hard = false) => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill(hard ? 'SIGKILL' : 'SIGTERM');
      await exited;
    }
    await datastore?.stop();
  };
  return {
    port, dataDir, kubeconfig, process: child, output, kubectl, kill,
    k(args, opts) {
      const r = kubectl(args, opts);
      if (r.status !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${r.status}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
      return r.stdout;
    },
    async stop() {
      await kill();
      if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Poll until `check` returns a truthy value (bounded). */
export async function eventually<T>(check: () => T | Promise<T>, options: { timeoutMs?: number; intervalMs?: number } = {}): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 10_000);
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`condition not met in time${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 100));
  }
}

export function hasPython3Kubernetes(): boolean {
  return spawnSync('/usr/bin/python3', ['-c', 'import kubernetes'], { encoding: 'utf8' }).status === 0;
}

export interface KubectlRunOptions {
  kubeconfig: string;
  cacheDir: string;
  /** Another kubectl binary than the dispatcher (e.g. one fixed version). */
  binary?: string;
  input?: string;
  timeoutMs?: number;
  onStdout?: (soFar: string) => void;
}

/**
 * kubectl without blocking this process: for tests whose fake node answers
 * from this process's event loop. Every child still running is kept in
 * `children`, so `after()` can kill them.
 */
export function kubectlAsync(args: string[], options: KubectlRunOptions, children?: Set<ChildProcess>): Promise<KubectlResult> {
  const child = spawn(options.binary ?? KUBECTL, ['--kubeconfig', options.kubeconfig, '--cache-dir', options.cacheDir, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  children?.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => {
    stdout += d;
    options.onStdout?.(stdout);
  });
  child.stderr.on('data', (d) => (stderr += d));
  // kubectl commands that never read stdin may exit before this write lands (EPIPE).
  child.stdin.on('error', () => undefined);
  child.stdin.end(options.input ?? '');
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
  return new Promise((resolve) => child.on('close', (code) => {
    clearTimeout(timer);
    children?.delete(child);
    resolve({ stdout, stderr, status: code ?? -1 });
  }));
}
