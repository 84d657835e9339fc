// What a benchmark must undo on every exit path — child processes to kill,
// temp dirs to remove — and the SIGINT/SIGTERM handlers that do it.
import { rmSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';

const children = new Set<ChildProcess>();
const dirs = new Set<string>();
const signalHooks = new Set<() => Promise<void>>();

/** Kill `child` (SIGKILL) if the run ends while it is still running. */
export function trackChild(child: ChildProcess): void {
  children.add(child);
  child.once('exit', () => children.delete(child));
}

/** Remove `dir` (recursively) when the run ends. */
export function trackDir(dir: string): void {
  dirs.add(dir);
}

export function untrackDir(dir: string): void {
  dirs.delete(dir);
}

/** Synchronous, so it can run from a signal handler or right before process.exit. */
export function cleanupSync(): void {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  children.clear();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs.clear();
}

/**
 * Asynchronous cleanup a signal must wait for before the process exits (e.g.
 * destroying a test host); returns the function that removes it again.
 */
export function addSignalHook(hook: () => Promise<void>): () => void {
  signalHooks.add(hook);
  return () => signalHooks.delete(hook);
}

/** On SIGINT/SIGTERM: the signal hooks (awaited), then the synchronous cleanup, then exit 130. */
export function installSignalHandlers(log: (message: string) => void): void {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      log(`${signal}: cleaning up`);
      void Promise.allSettled([...signalHooks].map((hook) => hook())).finally(() => {
        cleanupSync();
        process.exit(130);
      });
    });
  }
}
