// The outside half of a benchmark that needs a real node: a test host (a
// network namespace made here, test/support/test-host.ts, ARCHITECTURE.md §7)
// and one "inside half" — a Node script run inside it that starts `skiff
// server` with its local agent, measures, and cleans up after itself.
//
// Cleanup on every exit path: destroy() runs `skiff cleanup --data-dir` in the
// test host (plus the caller's own hooks), then kills what is left and removes
// the netns and the temp dir. On SIGINT/SIGTERM (through cleanup.ts'
// installSignalHandlers, which the caller must install) the inside half gets
// SIGTERM, up to INSIDE_CLEANUP_MS to clean up, then the test host is
// destroyed before the process exits. A detached watchdog shell does the same
// if this process is killed without a chance to.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { createTestHost, type TestHost } from '../../test/support/test-host.ts';
import { addSignalHook } from './cleanup.ts';
import { repoRoot } from './server.ts';

/** How long the inside half gets to clean up after SIGTERM before its process group is killed. */
const INSIDE_CLEANUP_MS = 60_000;

export interface InsideRunOptions {
  /** Prefix of the test host's netns name (e.g. `skb-`). */
  prefix: string;
  /** The inside half: a .ts file run with this Node inside the test host. */
  script: string;
  /** The node's data dir for the inside half, given the host (under host.tempDir). */
  dataDir: (host: TestHost) => string;
  /** Its environment, given the host. */
  env: (host: TestHost) => Record<string, string>;
  /** More work for destroy(), run after `skiff cleanup` (e.g. sweeping namespaces a baseline made). */
  onDestroy?: (host: TestHost) => Promise<void> | void;
  /** 'inherit': its stdout is ours; 'lines': collected and returned. */
  stdout: 'inherit' | 'lines';
  log: (message: string) => void;
}

export interface InsideRunResult {
  /** Its exit code; 130 when a signal ended the run. */
  code: number;
  /** Its stdout lines ('lines' mode only). */
  lines: string[];
}

/** Tools a node benchmark needs, and root: what is missing, in words (empty when it can run). */
export function nodeBenchProblems(tools: string[]): string[] {
  const missing: string[] = [];
  if (process.getuid?.() !== 0) missing.push('it must run as root (network namespaces, runc, mounts)');
  for (const tool of tools) {
    if (!(process.env.PATH ?? '').split(':').some((dir) => existsSync(join(dir, tool)))) missing.push(`${tool} is not installed`);
  }
  if (!existsSync('/bin/busybox')) missing.push('/bin/busybox (busybox-static) is not installed');
  return missing;
}

/**
 * If this process dies without cleaning up (SIGKILL), a detached shell
 * SIGTERMs the inside half (which cleans up), then runs `skiff cleanup` in
 * the test host, removes its namespace and, when nothing is mounted under
 * it any more, its temp dir. It exits by itself once both are gone.
 */
function startWatchdog(host: TestHost, inside: ChildProcess, dataDir: string): void {
  for (const value of [host.tempDir, host.name, dataDir]) if (!/^[\w./+-]+$/.test(value)) throw new Error(`unexpected characters in ${value}`);
  const script = [
    `B=${process.pid}; C=${inside.pid}`,
    'while kill -0 "$B" 2>/dev/null; do',
    '  kill -0 "$C" 2>/dev/null || exit 0',
    '  sleep 1',
    'done',
    `kill -TERM -"$C" 2>/dev/null; i=0; while kill -0 "$C" 2>/dev/null && [ $i -lt ${INSIDE_CLEANUP_MS / 1000} ]; do sleep 1; i=$((i+1)); done`,
    'kill -KILL -"$C" 2>/dev/null',
    `nsenter --net=${host.netnsPath} -- ${join(repoRoot, 'bin/skiff')} cleanup --data-dir ${dataDir} >/dev/null 2>&1`,
    `for p in $(ip netns pids ${host.name} 2>/dev/null); do kill -9 $p; done`,
    `ip netns delete ${host.name} 2>/dev/null`,
    `grep -qF ' ${host.tempDir}/' /proc/self/mountinfo || rm -rf -- ${host.tempDir}`,
  ].join('\n');
  spawn('/bin/sh', ['-c', script], { detached: true, stdio: 'ignore' }).unref();
}

export async function runInsideTestHost(options: InsideRunOptions): Promise<InsideRunResult> {
  const { log } = options;
  const host = await createTestHost({ prefix: options.prefix });
  const dataDir = options.dataDir(host);
  // destroy() runs these first (last added first): the node's own cleanup inside the test host, then the caller's.
  if (options.onDestroy) host.onDestroy(() => options.onDestroy!(host));
  host.onDestroy(async () => {
    if (!existsSync(dataDir)) return;
    const result = await host.run([join(repoRoot, 'bin/skiff'), 'cleanup', '--data-dir', dataDir], { timeoutMs: 120_000 });
    if (result.code !== 0) log(`skiff cleanup in the test host: ${result.stderr.trim()}`);
  });
  log(`test host ${host.name} (node ${host.nodeIp}), temp dir ${host.tempDir}`);

  let inside: ChildProcess | undefined;
  let signalled = false;
  let finished!: () => void;
  const done = new Promise<void>((resolve) => (finished = resolve));
  // On a signal: the inside half cleans up, this function's finally destroys the host, then the process may exit.
  const removeHook = addSignalHook(async () => {
    signalled = true;
    if (inside?.pid && inside.exitCode === null && inside.signalCode === null) {
      inside.kill('SIGTERM');
      setTimeout(() => {
        try {
          process.kill(-inside!.pid!, 'SIGKILL');
        } catch {
          // gone
        }
      }, INSIDE_CLEANUP_MS).unref();
    }
    await done;
  });
  const lines: string[] = [];
  try {
    inside = host.spawn([process.execPath, '--disable-warning=ExperimentalWarning', options.script], {
      env: options.env(host),
      stdio: ['ignore', options.stdout === 'inherit' ? 'inherit' : 'pipe', 'inherit'],
    });
    if (options.stdout === 'lines') createInterface({ input: inside.stdout! }).on('line', (line) => lines.push(line));
    startWatchdog(host, inside, dataDir);
    const code = await new Promise<number>((resolve) => {
      inside!.once('error', (error) => {
        log(`starting the inside half: ${error.message}`);
        resolve(1);
      });
      // 'close', not 'exit': the last stdout lines are read by then.
      inside!.once('close', (c, s) => resolve(c ?? (s ? 128 : 1)));
    });
    return { code: signalled ? 130 : code, lines };
  } finally {
    await host.destroy().catch((error: unknown) => log(`destroying the test host: ${(error as Error).message}`));
    log(`test host ${host.name} removed`);
    removeHook();
    finished();
  }
}
