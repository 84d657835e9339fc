// Starting a shim (shim/container_shim.py) and reading its one-line answer.
// The shim runs in its own session with no tie to the agent but the
// handshake pipe, which it swaps for /dev/null once the container is created:
// the agent can exit or restart and the shim keeps logging and waiting.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeJsonAtomic } from './state.ts';

const SHIM_DIR = join(import.meta.dirname, 'shim');

export function python(): string {
  return existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
}

export function shimScript(name: 'container_shim.py' | 'exec_tty.py'): string {
  return join(SHIM_DIR, name);
}

export interface ShimConfig {
  id: string;
  bundle: string;
  stateDir: string;
  /** argv prefix of the OCI runtime for `create` (incl. --root). */
  runtime: string[];
  logPath: string;
  tty?: boolean;
  stdin?: boolean;
  stdinOnce?: boolean;
  consoleSocket?: string;
  /** Unix socket for attach (a leading NUL: abstract namespace). */
  attachSocket?: string;
  /** memory.oom_control (v1) or memory.events (v2) of the container's cgroup. */
  oomControl?: string;
}

/** Starts the shim, which creates the container; resolves with the container's init pid and the shim's pid. */
export async function startShim(config: ShimConfig): Promise<{ pid: number; shimPid: number }> {
  const configPath = join(config.stateDir, 'shim.json');
  writeJsonAtomic(configPath, config);
  const child = spawn(python(), ['-I', '-S', shimScript('container_shim.py'), configPath], {
    cwd: config.stateDir,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const answer = await new Promise<string>((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('\n')) resolve(out.slice(0, out.indexOf('\n')));
    });
    child.stderr!.on('data', (chunk: Buffer) => { err += chunk.toString(); });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (!out.includes('\n')) reject(new Error(`container shim exited (${code}) before answering: ${err.trim() || readShimLog(config.stateDir)}`));
    });
  });
  child.stdout!.destroy();
  child.stderr!.destroy();
  child.unref();
  const parsed = JSON.parse(answer) as { ok: boolean; pid?: number; shimPid?: number; error?: string };
  if (!parsed.ok) throw new Error(parsed.error ?? 'container create failed');
  return { pid: parsed.pid!, shimPid: parsed.shimPid! };
}

function readShimLog(stateDir: string): string {
  try {
    return readFileSync(join(stateDir, 'shim.log'), 'utf8').trim();
  } catch {
    return '';
  }
}

/** True while `pid` is a live shim (not a recycled pid and not a zombie). */
export function shimAlive(pid: number): boolean {
  if (!pid) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    if (state === 'Z' || state === 'X') return false;
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('container_shim.py');
  } catch {
    return false;
  }
}
