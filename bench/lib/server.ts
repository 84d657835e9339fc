// A real `skiff server` child process for benchmarks (loopback only, temp data
// dir chosen by the caller), and readings of its memory and CPU from /proc.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { trackChild } from './cleanup.ts';

export const repoRoot = new URL('../..', import.meta.url).pathname.replace(/\/$/, '');

export interface Server {
  process: ChildProcess;
  port: number;
  dataDir: string;
  /** The last 200 lines of its stdout/stderr (for error messages). */
  output: string[];
}

export interface StartServerOptions {
  dataDir: string;
  /** Arguments after the fixed loopback ones (e.g. --disable-scheduler). */
  extraArgs?: string[];
  /** A directory: run the server with --cpu-prof into it. */
  cpuProfDir?: string;
  /** How long to wait for the ready line (default 30 s). */
  readyTimeoutMs?: number;
  /** A directory the watchdog removes too if this process dies without cleaning up (its temp root). */
  orphanCleanupDir?: string;
}

/**
 * A detached shell that outlives this process only to clean up after it: if
 * the benchmark dies without stopping the server (SIGKILL, a crash no handler
 * sees), it kills the server — after checking by its command line that the pid
 * still is that server — and removes `dir`. It exits by itself within a
 * second once the server is gone.
 */
function startWatchdog(serverPid: number, dataDir: string, dir: string | undefined): void {
  for (const path of [dataDir, dir ?? '']) if (path.includes("'")) throw new Error(`path ${path} has a quote`);
  const script = [
    `S=${serverPid}; B=${process.pid}`,
    `alive() { kill -0 "$S" 2>/dev/null && grep -qF -- '${dataDir}' "/proc/$S/cmdline" 2>/dev/null; }`,
    'while alive; do',
    '  if ! kill -0 "$B" 2>/dev/null; then',
    `    kill -9 "$S" 2>/dev/null; sleep 1${dir ? `; rm -rf -- '${dir}'` : ''}; exit 0`,
    '  fi',
    '  sleep 1',
    'done',
  ].join('\n');
  const watchdog = spawn('/bin/sh', ['-c', script], { detached: true, stdio: 'ignore' });
  watchdog.unref();
}

export async function startServer(options: StartServerOptions): Promise<Server> {
  const env = { ...process.env };
  if (options.cpuProfDir) env.NODE_OPTIONS = `${env.NODE_OPTIONS ?? ''} --cpu-prof --cpu-prof-dir=${options.cpuProfDir}`.trim();
  const child = spawn(join(repoRoot, 'bin/skiff'), [
    'server', '--data-dir', options.dataDir, '--https-listen-port', '0',
    '--bind-address', '127.0.0.1', '--node-ip', '127.0.0.1', '--disable-agent', ...(options.extraArgs ?? []),
  ], { stdio: ['ignore', 'pipe', 'pipe'], env });
  trackChild(child);
  if (child.pid !== undefined) startWatchdog(child.pid, options.dataDir, options.orphanCleanupDir);
  const readyTimeoutMs = options.readyTimeoutMs ?? 30_000;
  const { port, output } = await waitForReadyLine(child, readyTimeoutMs);
  return { process: child, port, dataDir: options.dataDir, output };
}

/**
 * The port from a starting `skiff server`'s ready line; rejects when it exits
 * first or is not ready in time. `output` keeps its last 200 lines (for errors).
 */
export async function waitForReadyLine(child: ChildProcess, timeoutMs: number): Promise<{ port: number; output: string[] }> {
  const output: string[] = [];
  const keep = (line: string) => {
    output.push(line);
    if (output.length > 200) output.shift();
  };
  createInterface({ input: child.stderr! }).on('line', keep);
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server not ready in ${timeoutMs / 1000}s:\n${output.join('\n')}`)), timeoutMs);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      keep(line);
      const m = /ready: https:\/\/127\.0\.0\.1:(\d+)/.exec(line);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${code ?? signal}):\n${output.join('\n')}`));
    });
  });
  return { port, output };
}

/** SIGTERM (so a --cpu-prof profile is written), SIGKILL after 10 s. */
export async function stopServer(server: Server): Promise<void> {
  const child = server.process;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

export interface MemoryStatus {
  rssMiB: number;
  hwmMiB: number;
}

export function memoryOf(pid: number): MemoryStatus {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string) => {
    const m = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status);
    if (!m) throw new Error(`/proc/${pid}/status has no ${name}`);
    return Number(m[1]) / 1024;
  };
  return { rssMiB: field('VmRSS'), hwmMiB: field('VmHWM') };
}

const CLOCK_TICKS = 100; // USER_HZ; `getconf CLK_TCK` is 100 on Linux

/** CPU seconds (user + system) the process used so far, from /proc/PID/stat. */
export function cpuSecondsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

export interface CpuUse {
  /** Cores' worth of CPU the server used during the phase. */
  server: number;
  /** Cores' worth of CPU this (client) process used during the phase. */
  client: number;
  /** Cores' worth of CPU the whole machine used (all processes, from /proc/stat). */
  machine: number;
}

/** Busy CPU seconds of the whole machine so far (every state but idle and iowait). */
export function machineBusySeconds(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
  const [, user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).map(Number);
  return (user! + nice! + system! + irq! + softirq! + steal!) / CLOCK_TICKS;
}

/** Runs `phase` and reports how busy the server and this process were meanwhile (1.0 = one core). */
export async function withCpu<T extends object>(serverPid: number, phase: () => Promise<T>): Promise<T & { cpu: CpuUse }> {
  const meter = startCpuMeter(serverPid);
  const result = await phase();
  return { ...result, cpu: meter.read() };
}

/** Starts measuring; read() gives the cores used since. */
export function startCpuMeter(serverPid: number): { read(): CpuUse } {
  const server0 = cpuSecondsOf(serverPid);
  const client0 = process.cpuUsage();
  const machine0 = machineBusySeconds();
  const t0 = performance.now();
  return {
    read() {
      const seconds = (performance.now() - t0) / 1000;
      const client = process.cpuUsage(client0);
      return {
        server: (cpuSecondsOf(serverPid) - server0) / seconds,
        client: (client.user + client.system) / 1e6 / seconds,
        machine: (machineBusySeconds() - machine0) / seconds,
      };
    },
  };
}
