// Copies an image's layers into one directory, applying whiteouts, for where
// overlayfs cannot stack them (no trusted.* xattrs, no overlay mounts): each
// layer from the bottom up first deletes what its whiteouts and opaque
// directories hide, then copies its own files over the result. Overlay
// markers (0/0 character devices) are never copied as files.
import { execFile } from 'node:child_process';
import { chmod, copyFile, lchown, lstat, lutimes, mkdir, readdir, readlink, rm, symlink } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { promisify } from 'node:util';
import type { LayerInfo } from './store.ts';

const run = promisify(execFile);

/** True when every parent of `rel` under `root` is a real directory: deleting there cannot leave the tree. */
async function parentsAreDirectories(root: string, rel: string): Promise<boolean> {
  let current = root;
  for (const part of posix.dirname(posix.normalize(rel)).split('/').filter((p) => p !== '' && p !== '.')) {
    if (part === '..') return false;
    current = join(current, part);
    const st = await lstat(current).catch(() => undefined);
    if (!st?.isDirectory()) return false;
  }
  return true;
}

async function copyTree(options: { from: string; to: string; isRoot: boolean }): Promise<void> {
  const { from, to, isRoot } = options;
  for (const name of await readdir(from)) {
    const source = join(from, name);
    const target = join(to, name);
    const st = await lstat(source);
    const existing = await lstat(target).catch(() => undefined);
    // A directory merges into a directory; anything else replaces what was there.
    if (existing && !(st.isDirectory() && existing.isDirectory())) await rm(target, { recursive: true, force: true });
    if (st.isCharacterDevice() && st.rdev === 0) continue;
    if (st.isDirectory()) {
      if (!existing?.isDirectory()) await mkdir(target);
      await copyTree({ from: source, to: target, isRoot });
    } else if (st.isSymbolicLink()) {
      await symlink(await readlink(source), target);
    } else if (st.isFile()) {
      await copyFile(source, target);
    } else if (isRoot) {
      const kind = st.isFIFO() ? ['p'] : [st.isCharacterDevice() ? 'c' : 'b', String((st.rdev >> 8) & 0xfff), String((st.rdev & 0xff) | ((st.rdev >> 12) & 0xfff00))];
      await run('mknod', ['--', target, ...kind]);
    } else {
      continue;
    }
    if (isRoot) await lchown(target, st.uid, st.gid);
    if (!st.isSymbolicLink()) await chmod(target, st.mode & 0o7777);
    await lutimes(target, st.atime, st.mtime).catch(() => undefined);
  }
}

/** Builds `target` (created if missing) from layers given topmost first, as layersFor/layerInfosFor return them. */
export async function flattenLayers(options: { layers: (LayerInfo & { dir: string })[]; target: string }): Promise<void> {
  const isRoot = process.getuid?.() === 0;
  await mkdir(options.target, { recursive: true });
  for (const layer of [...options.layers].reverse()) {
    for (const dir of layer.opaqueDirs) {
      if (!(await parentsAreDirectories(options.target, `${dir}/x`))) continue;
      const full = join(options.target, dir);
      for (const name of await readdir(full).catch(() => [] as string[])) await rm(join(full, name), { recursive: true, force: true });
    }
    for (const path of layer.whiteouts) {
      if (!(await parentsAreDirectories(options.target, path))) continue;
      await rm(join(options.target, path), { recursive: true, force: true });
    }
    await copyTree({ from: layer.dir, to: options.target, isRoot });
  }
}
