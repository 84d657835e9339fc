// Pod securityContext.fsGroup on volume contents, as kubelet's
// SetVolumeOwnership does: every file and directory gets the group fsGroup;
// files gain group read (and write unless the volume is read-only: configMap,
// secret, downwardAPI, projected), directories also group execute and the
// setgid bit so new files inherit the group. Symlinks change group only.
// fsGroupChangePolicy OnRootMismatch skips the walk when the root already
// has the group and setgid.
import { chmod, lchown, lstat, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

const READ_WRITE_MASK = 0o660;
const READ_ONLY_MASK = 0o440;
const EXEC_MASK = 0o110;
const SETGID = 0o2000;

export interface FsGroupOptions {
  dir: string;
  gid: number;
  readOnly: boolean;
  /** "OnRootMismatch" or "Always" (the default). */
  changePolicy?: string;
}

export async function applyFsGroup(options: FsGroupOptions): Promise<void> {
  const { dir, gid, readOnly } = options;
  if (options.changePolicy === 'OnRootMismatch') {
    const root = await stat(dir);
    const mask = (readOnly ? READ_ONLY_MASK : READ_WRITE_MASK) | EXEC_MASK | SETGID;
    if (root.gid === gid && (root.mode & mask) === mask) return;
  }
  await walk(dir, gid, readOnly);
}

async function walk(path: string, gid: number, readOnly: boolean): Promise<void> {
  const info = await lstat(path);
  await lchown(path, -1, gid);
  if (info.isSymbolicLink()) return;
  let mask = readOnly ? READ_ONLY_MASK : READ_WRITE_MASK;
  if (info.isDirectory()) mask |= SETGID | EXEC_MASK;
  await chmod(path, (info.mode & 0o7777) | mask);
  if (!info.isDirectory()) return;
  for (const name of await readdir(path)) await walk(join(path, name), gid, readOnly);
}
