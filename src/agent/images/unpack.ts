// Unpacks one layer blob (gzip, zstd or plain tar, told apart by magic bytes)
// into a directory the runtime can stack as an overlayfs lowerdir, and
// computes its diffID on the way.
//
// Extraction uses the `tar` package with its path checks (no `..`, no
// absolute paths, nothing written through a symlink). Entries it cannot or
// should not write directly are held back and created afterwards with our
// own checks:
// - symlinks: their targets are kept exactly as in the image (`/bin/busybox`,
//   `../../lib/x`) — they are resolved inside the container's root, never
//   here — and creating them last means no hardlink or file of this layer can
//   be written through one;
// - device nodes and FIFOs (root only), via mknod;
// - OCI whiteouts: `.wh.NAME` deletes NAME from lower layers and
//   `.wh..wh..opq` hides a directory's lower contents. In `overlay` format they
//   become overlayfs markers (a 0/0 character device; the
//   `trusted.overlay.opaque=y` xattr). Either way they are listed in the
//   layer's info, so layers can also be flattened without overlayfs.
import { execFile } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { chmod, lchown, lstat, lutimes, mkdir, open, rm, symlink, link } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { promisify } from 'node:util';
import { createGunzip, createZstdDecompress } from 'node:zlib';
import { Unpack, type ReadEntry } from 'tar';
import { HashingStream } from './digest.ts';

const run = promisify(execFile);

const WHITEOUT_PREFIX = '.wh.';
const OPAQUE_MARKER = '.wh..wh..opq';

export class UnsafeLayerError extends Error {
  override name = 'UnsafeLayerError';
}

export interface UnpackResult {
  diffId: string;
  /** Bytes of the uncompressed tar (a good estimate of the unpacked size). */
  size: number;
  whiteouts: string[];
  opaqueDirs: string[];
}

interface HeldEntry {
  type: string;
  linkpath: string;
  mode: number;
  uid?: number;
  gid?: number;
  mtime?: Date;
  devmajor: number;
  devminor: number;
}

/** The stream a blob decompresses through, chosen by its first bytes. */
async function decompressorFor(blobPath: string): Promise<NodeJS.ReadWriteStream | undefined> {
  const handle = await open(blobPath, 'r');
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(4), 0, 4, 0);
    if (bytesRead >= 2 && buffer[0] === 0x1f && buffer[1] === 0x8b) return createGunzip();
    if (bytesRead === 4 && buffer.readUInt32LE(0) === 0xfd2fb528) return createZstdDecompress();
    return undefined;
  } finally {
    await handle.close();
  }
}

/** `./a/b/` → `a/b`; throws for paths that climb out. */
function cleanPath(raw: string): string {
  const normalized = posix.normalize(raw.replace(/^\/+/, '')).replace(/\/+$/, '');
  if (normalized === '..' || normalized.startsWith('../')) throw new UnsafeLayerError(`layer entry ${JSON.stringify(raw)} escapes the layer`);
  return normalized === '.' ? '' : normalized;
}

/** Makes every parent of `rel` under `root` a real directory (never a symlink), creating missing ones. */
async function realParent(root: string, rel: string): Promise<string> {
  let current = root;
  for (const part of posix.dirname(rel).split('/').filter((p) => p !== '' && p !== '.')) {
    current = join(current, part);
    const st = await lstat(current).catch(() => undefined);
    if (!st) await mkdir(current, { mode: 0o755 });
    else if (!st.isDirectory()) throw new UnsafeLayerError(`layer entry ${JSON.stringify(rel)} would be created through ${st.isSymbolicLink() ? 'a symbolic link' : 'a non-directory'}`);
  }
  return join(root, rel);
}

/** Runs `sh -c script` over many paths in a few processes (argv, so any file name is safe). */
async function forEachPath(script: string, paths: string[]): Promise<void> {
  for (let i = 0; i < paths.length; i += 256) {
    await run('sh', ['-c', `for p in "$@"; do ${script} || exit 1; done`, 'sh', ...paths.slice(i, i + 256)]);
  }
}

export async function unpackLayer(options: { blobPath: string; target: string; overlayWhiteouts: boolean }): Promise<UnpackResult> {
  const { blobPath, target, overlayWhiteouts } = options;
  await mkdir(target, { recursive: true, mode: 0o755 });
  const isRoot = process.getuid?.() === 0;
  const held = new Map<string, HeldEntry>();
  const whiteouts = new Set<string>();
  const opaqueDirs = new Set<string>();
  /** Modes the tar package would not leave exact: directories it forces to u+rwx, and bits umask or chown clear. */
  const modeFixes = new Map<string, number>();
  let failure: Error | undefined;

  const filter = (rawPath: string, entry: ReadEntry | unknown): boolean => {
    const e = entry as ReadEntry;
    let path: string;
    try {
      path = cleanPath(rawPath);
    } catch (err) {
      failure ??= err as Error;
      return false;
    }
    const base = posix.basename(path);
    if (base === OPAQUE_MARKER) {
      opaqueDirs.add(posix.dirname(path) === '.' ? '' : posix.dirname(path));
      return false;
    }
    if (base.startsWith(WHITEOUT_PREFIX)) {
      whiteouts.add(posix.join(posix.dirname(path), base.slice(WHITEOUT_PREFIX.length)));
      return false;
    }
    const hold = e.type === 'SymbolicLink' || e.type === 'CharacterDevice' || e.type === 'BlockDevice' || e.type === 'FIFO' ||
      // A hardlink to something held back must wait for it.
      (e.type === 'Link' && held.has(posix.normalize((e.linkpath ?? '').replace(/^\/+/, ''))));
    if (hold) {
      held.set(path, {
        type: e.type, linkpath: e.linkpath ?? '', mode: (e.mode ?? 0o644) & 0o7777, uid: e.uid, gid: e.gid, mtime: e.mtime,
        devmajor: e.header?.devmaj ?? 0, devminor: e.header?.devmin ?? 0,
      });
      return false;
    }
    // Nothing may be written below a symlink of this layer (tar refuses the same).
    for (let dir = posix.dirname(path); dir !== '.'; dir = posix.dirname(dir)) {
      if (held.get(dir)?.type === 'SymbolicLink') {
        failure ??= new UnsafeLayerError(`layer entry ${JSON.stringify(path)} would be written through the symbolic link ${JSON.stringify(dir)}`);
        return false;
      }
    }
    // A later entry for the same path wins, as in tar.
    held.delete(path);
    const mode = (e.mode ?? 0) & 0o7777;
    if (e.type === 'Directory' ? (mode & 0o700) !== 0o700 || (mode & 0o7022) !== 0 : e.type === 'File' && (mode & 0o7022) !== 0) modeFixes.set(path, mode);
    else modeFixes.delete(path);
    return true;
  };

  const unpack = new Unpack({
    cwd: target,
    filter,
    preserveOwner: isRoot,
    maxDepth: 4096,
    onwarn: (code: string, message: string | Error) => {
      // TAR_ENTRY_INFO is "stripped a leading /", harmless; anything else means an entry was refused.
      if (code !== 'TAR_ENTRY_INFO') failure ??= new UnsafeLayerError(`layer refused: ${code}: ${message instanceof Error ? message.message : message}`);
    },
  });
  const hashing = new HashingStream();
  const decompress = await decompressorFor(blobPath);
  const source = createReadStream(blobPath);
  // The tar package's streams are not Node streams (no destroy()), so the last hop is piped by hand.
  await new Promise<void>((resolve, reject) => {
    const fail = (err: Error) => {
      source.destroy();
      reject(err);
    };
    source.on('error', fail);
    decompress?.on('error', fail);
    hashing.on('error', fail);
    unpack.on('error', fail);
    unpack.on('close', () => resolve());
    if (decompress) source.pipe(decompress).pipe(hashing);
    else source.pipe(hashing);
    hashing.pipe(unpack as unknown as NodeJS.WritableStream);
  });
  if (failure) throw failure;

  for (const [path, entry] of held) await createHeld({ target, path, entry, isRoot });
  const whiteoutList = [...whiteouts].sort();
  const opaqueList = [...opaqueDirs].sort();
  if (overlayWhiteouts) await writeOverlayMarkers({ target, whiteouts: whiteoutList, opaqueDirs: opaqueList });
  for (const [path, mode] of modeFixes) await chmod(join(target, path), mode).catch(() => undefined);
  return { diffId: hashing.digest(), size: hashing.bytes, whiteouts: whiteoutList, opaqueDirs: opaqueList };
}

async function createHeld(options: { target: string; path: string; entry: HeldEntry; isRoot: boolean }): Promise<void> {
  const { target, path, entry, isRoot } = options;
  if (path === '') throw new UnsafeLayerError(`layer replaces its root with a ${entry.type}`);
  const full = await realParent(target, path);
  const existing = await lstat(full).catch(() => undefined);
  if (existing) await rm(full, { recursive: true, force: true });
  if (entry.type === 'SymbolicLink') {
    await symlink(entry.linkpath, full);
  } else if (entry.type === 'Link') {
    const source = join(target, cleanPath(entry.linkpath));
    await realParent(target, cleanPath(entry.linkpath));
    await link(source, full);
    return;
  } else {
    // Device nodes need root; an unprivileged unpack skips them as rootless runtimes do.
    if (!isRoot) return;
    const kind = entry.type === 'FIFO' ? ['p'] : [entry.type === 'CharacterDevice' ? 'c' : 'b', String(entry.devmajor), String(entry.devminor)];
    await run('mknod', ['-m', (entry.mode & 0o7777).toString(8), '--', full, ...kind]);
  }
  if (isRoot && entry.uid !== undefined && entry.gid !== undefined) await lchown(full, entry.uid, entry.gid);
  if (entry.mtime) await lutimes(full, entry.mtime, entry.mtime).catch(() => undefined);
}

async function writeOverlayMarkers(options: { target: string; whiteouts: string[]; opaqueDirs: string[] }): Promise<void> {
  const { target } = options;
  const devices: string[] = [];
  for (const path of options.whiteouts) {
    const full = await realParent(target, path);
    // Undefined by the spec when the same layer also has the path; keep the layer's own entry.
    if (!(await lstat(full).catch(() => undefined))) devices.push(full);
  }
  await forEachPath('mknod -- "$p" c 0 0', devices);
  const dirs: string[] = [];
  for (const dir of options.opaqueDirs) {
    const full = dir === '' ? target : await realParent(target, `${dir}/x`).then(() => join(target, dir));
    await mkdir(full, { recursive: true, mode: 0o755 });
    dirs.push(full);
  }
  await forEachPath('setfattr -n trusted.overlay.opaque -v y -- "$p"', dirs);
}

/**
 * Whether this machine can write overlayfs whiteout markers here (root,
 * mknod and trusted.* xattrs on the store's filesystem). Checked once per
 * store: when it cannot, layers keep their whiteouts as a list and the
 * runtime flattens them instead of stacking.
 */
export async function canWriteOverlayWhiteouts(scratchDir: string): Promise<boolean> {
  if (process.getuid?.() !== 0) return false;
  const probe = join(scratchDir, 'whiteout-probe');
  try {
    await mkdir(join(probe, 'dir'), { recursive: true });
    await run('mknod', ['--', join(probe, 'wh'), 'c', '0', '0']);
    await run('setfattr', ['-n', 'trusted.overlay.opaque', '-v', 'y', '--', join(probe, 'dir')]);
    const { stdout } = await run('getfattr', ['--only-values', '-n', 'trusted.overlay.opaque', '--', join(probe, 'dir')]);
    return stdout === 'y';
  } catch {
    return false;
  } finally {
    await rm(probe, { recursive: true, force: true });
  }
}

