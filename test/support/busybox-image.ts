// A busybox image for end-to-end tests, built from the machine's
// busybox-static with umoci (ARCHITECTURE.md §6): one layer holding
// /bin/busybox with a symlink per applet, /etc/passwd and /etc/group, /tmp
// (the same root the runtime's tests use), and a real Docker registry
// (Debian's docker-registry) to push it to with skopeo. Both take a `spawn`
// so that they can run inside a test host's network namespace.
import { execFileSync, spawn as spawnProcess, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { populateBusyboxRoot } from '../../src/agent/runtime/testing/busybox-image.ts';

/**
 * Writes an OCI image layout at `layout` with the image under `tag`
 * (Cmd `/bin/sh`, linux/amd64). Needs root (umoci unpack/repack keep owners).
 */
export function buildBusyboxOciLayout(options: { workDir: string; layout: string; tag?: string }): void {
  const tag = options.tag ?? 'latest';
  const image = `${options.layout}:${tag}`;
  const bundle = join(options.workDir, 'busybox-bundle');
  const run = (argv: string[]) => execFileSync(argv[0], argv.slice(1), { cwd: options.workDir, stdio: 'pipe' });
  run(['umoci', 'init', '--layout', options.layout]);
  run(['umoci', 'new', '--image', image]);
  run(['umoci', 'unpack', '--image', image, bundle]);
  populateBusyboxRoot({ fs: join(bundle, 'rootfs') });
  run(['umoci', 'repack', '--image', image, bundle]);
  run(['umoci', 'config', '--image', image, '--config.cmd', '/bin/sh', '--config.env', 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', '--os', 'linux', '--architecture', 'amd64']);
}

export interface RunningRegistry {
  /** host:port, e.g. 127.0.0.1:5000 */
  host: string;
  process: ChildProcess;
  output: string[];
  stop(): Promise<void>;
}

/**
 * Starts `docker-registry serve` on 127.0.0.1:`port` with its storage under
 * `dir`; resolves once it listens. `spawn` starts the process (default: here;
 * a test host's spawn puts it in the test host's network namespace).
 */
export async function startRegistry(options: { dir: string; port: number; spawn?: (argv: string[]) => ChildProcess }): Promise<RunningRegistry> {
  mkdirSync(options.dir, { recursive: true });
  const config = join(options.dir, 'registry.yml');
  const host = `127.0.0.1:${options.port}`;
  writeFileSync(config, [
    'version: 0.1',
    'log: { level: info }',
    `storage: { filesystem: { rootdirectory: ${join(options.dir, 'storage')} }, delete: { enabled: true } }`,
    `http: { addr: "${host}" }`,
  ].join('\n'));
  const argv = ['docker-registry', 'serve', config];
  const child = options.spawn ? options.spawn(argv) : spawnProcess(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`docker-registry did not listen within 30 s:\n${output.join('')}`)), 30_000);
    const onData = (data: Buffer) => {
      output.push(String(data));
      if (output.join('').includes('listening on')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`docker-registry exited with ${code}:\n${output.join('')}`));
    });
  });
  return {
    host, process: child, output,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
