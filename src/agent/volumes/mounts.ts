// tmpfs mounts for memory-backed volumes (emptyDir medium Memory, secret,
// projected), and the mount table queries teardown needs. Mounts are made in
// the agent's mount namespace, which the runtime's containers bind from.
import { execFile } from 'node:child_process';
import { readFile, realpath } from 'node:fs/promises';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The mount points of this process's mount namespace (octal escapes of /proc/self/mountinfo decoded). */
export async function mountPoints(): Promise<string[]> {
  const text = await readFile('/proc/self/mountinfo', 'utf8');
  return text.split('\n').filter(Boolean).map((line) => line.split(' ')[4].replace(/\\([0-7]{3})/g, (_m, octal: string) => String.fromCharCode(parseInt(octal, 8))));
}

async function canonical(path: string): Promise<string> {
  try {
    return await realpath(path);
  } catch {
    return path;
  }
}

export async function isMountPoint(path: string): Promise<boolean> {
  const target = await canonical(path);
  return (await mountPoints()).includes(target);
}

/** Mount points at or below `dir`, deepest first (the order to unmount them in). */
export async function mountPointsUnder(dir: string): Promise<string[]> {
  const root = await canonical(dir);
  const found = (await mountPoints()).filter((p) => p === root || p.startsWith(`${root}/`));
  return [...new Set(found)].sort((a, b) => b.length - a.length);
}

/** Mount a tmpfs on `dir` unless one is there; `sizeBytes` caps it (kubelet: the emptyDir's sizeLimit). */
export async function mountTmpfs(options: { dir: string; sizeBytes?: bigint }): Promise<void> {
  if (await isMountPoint(options.dir)) return;
  const args = ['-t', 'tmpfs'];
  if (options.sizeBytes !== undefined && options.sizeBytes > 0n) args.push('-o', `size=${options.sizeBytes}`);
  await run('mount', [...args, 'tmpfs', options.dir]);
}

/** Unmount `path`; a busy mount is detached lazily (containers may still hold it while they stop). */
export async function unmount(path: string): Promise<void> {
  try {
    await run('umount', [path]);
  } catch {
    await run('umount', ['-l', path]);
  }
}
