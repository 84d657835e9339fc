// The physical floor: the bare runtime starting the same container. Each
// sample is a fresh network namespace (`ip netns add`, nothing in it but lo),
// a fresh overlay (the image's own layer dirs from the node's store as
// lowerdirs, a new upper), `runc spec`'s default config running
// `/bin/sleep 3600`, and `runc run -d` timed from spawn to exit (runc returns
// once the container's process runs). The container is removed again right
// after, untimed, so samples do not pile up.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { cpuSecondsWithChildren } from './usage.ts';

export interface RuncSample {
  /** `runc run -d` alone. */
  runMs: number;
  /** netns + overlay mount + `runc run -d`: what any node must do at the least. */
  floorMs: number;
  /** CPU seconds of the floor's commands (ip, mount, runc; 10 ms ticks), not of `runc init` that became the container. */
  cpuSeconds: number;
}

export interface RuncBaselineOptions {
  /** Scratch dir (bundles, runc --root); the caller removes it. */
  workDir: string;
  /** The image's layer dirs, topmost first (ImageService.layersFor). */
  lowerdirs: string[];
  /** Prefix of the namespaces made here (the caller sweeps leftovers by it). */
  netnsPrefix: string;
  log: (message: string) => void;
}

interface Live {
  id: string;
  netns?: string;
  rootfs?: string;
  started?: boolean;
}

/**
 * Runs a command to completion; rejects with its stderr unless it exits 0.
 * `detached`: the command leaves a process behind holding its stdio (`runc
 * run -d` hands its own to the container), so it gets none, and its exit —
 * not the end of its output — ends the wait.
 */
function exec(argv: string[], options: { timeoutMs?: number; detached?: boolean } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: options.detached ? 'ignore' : ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d) => (stdout += d));
    child.stderr?.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once(options.detached ? 'exit' : 'close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(stdout);
      else reject(new Error(`${argv.join(' ')}: ${code ?? signal}: ${stderr.trim()}`));
    });
  });
}

export class RuncBaseline {
  readonly #options: RuncBaselineOptions;
  readonly #ociRoot: string;
  readonly #specDir: string;
  #template: Record<string, any> | undefined;
  readonly #live = new Map<string, Live>();
  #next = 0;

  constructor(options: RuncBaselineOptions) {
    this.#options = options;
    this.#ociRoot = join(options.workDir, 'oci-root');
    mkdirSync(this.#ociRoot, { recursive: true });
    this.#specDir = join(options.workDir, 'spec');
    mkdirSync(this.#specDir, { recursive: true });
  }

  /** `runc spec`'s default config (made once), to patch per sample. */
  async #spec(): Promise<Record<string, any>> {
    if (!this.#template) {
      await exec(['runc', 'spec', '--bundle', this.#specDir]);
      this.#template = JSON.parse(readFileSync(join(this.#specDir, 'config.json'), 'utf8')) as Record<string, any>;
    }
    return structuredClone(this.#template);
  }

  /** One timed start; the container is removed before this returns. */
  async sample(): Promise<RuncSample> {
    const index = this.#next++;
    const id = `bench-runc-${process.pid}-${index}`;
    const live: Live = { id };
    this.#live.set(id, live);
    const dir = join(this.#options.workDir, `c${index}`);
    const rootfs = join(dir, 'rootfs');
    for (const sub of ['upper', 'work', 'rootfs']) mkdirSync(join(dir, sub), { recursive: true });
    const spec = await this.#spec();
    const netns = `${this.#options.netnsPrefix}${index}`;
    spec.process.terminal = false;
    spec.process.args = ['/bin/sleep', '3600'];
    spec.root = { path: rootfs, readonly: false };
    spec.hostname = `runc-${index}`;
    spec.linux.namespaces = spec.linux.namespaces.map((ns: { type: string }) => (ns.type === 'network' ? { type: 'network', path: `/var/run/netns/${netns}` } : ns));
    writeFileSync(join(dir, 'config.json'), JSON.stringify(spec));

    try {
      const cpu0 = cpuSecondsWithChildren('self');
      const t0 = performance.now();
      live.netns = netns;
      await exec(['ip', 'netns', 'add', netns]);
      live.rootfs = rootfs;
      await exec(['mount', '-t', 'overlay', 'overlay', '-o',
        `lowerdir=${this.#options.lowerdirs.join(':')},upperdir=${join(dir, 'upper')},workdir=${join(dir, 'work')}`, rootfs]);
      const t1 = performance.now();
      live.started = true;
      const runcLog = join(dir, 'runc.log');
      await exec(['runc', '--root', this.#ociRoot, '--log', runcLog, 'run', '-d', '--bundle', dir, id], { detached: true }).catch((error: Error) => {
        throw new Error(`${error.message}${existsSync(runcLog) ? readFileSync(runcLog, 'utf8').trim() : ''}`);
      });
      const t2 = performance.now();
      return { runMs: t2 - t1, floorMs: t2 - t0, cpuSeconds: cpuSecondsWithChildren('self') - cpu0 };
    } finally {
      await this.#remove(live);
    }
  }

  /** Undoes each step that succeeded; a step that fails stays recorded for close() to retry. */
  async #remove(live: Live): Promise<void> {
    const problems: string[] = [];
    const attempt = async (argv: string[]) => exec(argv).then(() => true, (error: Error) => (problems.push(error.message), false));
    if (live.started && await attempt(['runc', '--root', this.#ociRoot, 'delete', '--force', live.id])) live.started = false;
    if (live.rootfs && await attempt(['umount', live.rootfs])) live.rootfs = undefined;
    if (live.netns && await attempt(['ip', 'netns', 'delete', live.netns])) live.netns = undefined;
    if (problems.length) this.#options.log(`runc baseline: removing ${live.id}: ${problems.join('; ')}`);
    else this.#live.delete(live.id);
  }

  /** Removes whatever a failed or interrupted sample left (idempotent). */
  async close(): Promise<void> {
    for (const live of [...this.#live.values()]) await this.#remove(live);
    // Never rm -rf through a rootfs that is still mounted.
    if (this.#live.size === 0) rmSync(this.#options.workDir, { recursive: true, force: true });
  }
}
