// kubelet's atomic writer layout for configMap, secret, downwardAPI and
// projected volumes. Inside the volume directory:
//
//   ..2024_05_01_12_00_00.123456/   the current payload (a timestamped data dir)
//   ..data -> ..2024_05_01_12_00_00.123456
//   key -> ..data/key                one symlink per top-level payload name
//
// An update writes a new timestamped dir, points a `..data_tmp` symlink at it
// and renames that over `..data` (rename is atomic), so a container reading
// `key` through its bind mount sees either the old or the new payload, never
// a mix; then the old data dir and the names no longer in the payload go.
import { randomInt } from 'node:crypto';
import { lstat, mkdir, readdir, readFile, readlink, rename, rm, stat, symlink, writeFile, chmod } from 'node:fs/promises';
import { dirname, join, posix } from 'node:path';
import type { Payload } from './types-internal.ts';

export const DATA_DIR_LINK = '..data';
const DATA_DIR_TMP_LINK = '..data_tmp';

export interface AtomicWriteOptions {
  /** The volume directory (exists). */
  targetDir: string;
  payload: Payload;
  now: () => Date;
}

/** Check payload paths as kubelet does: relative, no `..` element, not starting with `..`. */
export function validatePayloadPath(path: string): string | undefined {
  if (path === '') return 'invalid path: must not be empty';
  if (path.startsWith('/')) return `invalid path: must be relative path: ${path}`;
  if (path.length > 4096) return `invalid path: must be less than or equal to 4096 characters`;
  if (path.split('/').some((item) => item === '..')) return `invalid path: must not contain '..': ${path}`;
  if (path.startsWith('..')) return `invalid path: must not start with '..': ${path}`;
  return undefined;
}

function cleanPayload(payload: Payload): Payload {
  const clean: Payload = new Map();
  for (const [path, file] of payload) {
    const problem = validatePayloadPath(path);
    if (problem) throw new Error(problem);
    clean.set(posix.normalize(path), file);
  }
  return clean;
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** `..2006_01_02_15_04_05.<random digits>`, as kubelet names its data dirs. */
function dataDirName(now: Date): string {
  const stamp = `${now.getFullYear()}_${pad(now.getMonth() + 1)}_${pad(now.getDate())}_${pad(now.getHours())}_${pad(now.getMinutes())}_${pad(now.getSeconds())}`;
  return `..${stamp}.${randomInt(1_000_000_000)}`;
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch {
    return false;
  }
}

/** Files (relative paths) below `dir`. */
async function listFiles(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(...(await listFiles(join(dir, entry.name), rel)));
    else out.push(rel);
  }
  return out;
}

/** Whether the current data dir already holds exactly this payload (kubelet compares paths and bytes, not modes). */
async function samePayload(dataDir: string, payload: Payload): Promise<boolean> {
  const present = await listFiles(dataDir);
  if (present.length !== payload.size) return false;
  for (const path of present) {
    const wanted = payload.get(path);
    if (!wanted) return false;
    if (!wanted.data.equals(await readFile(join(dataDir, path)))) return false;
  }
  return true;
}

const topLevelNames = (paths: Iterable<string>) => new Set([...paths].map((p) => p.split('/')[0]));

/**
 * Make the volume directory hold `payload`. Returns false when it already did
 * (nothing written). Throws on an invalid path.
 */
export async function writeAtomically(options: AtomicWriteOptions): Promise<boolean> {
  const { targetDir } = options;
  const payload = cleanPayload(options.payload);
  const dataLink = join(targetDir, DATA_DIR_LINK);
  const oldDataDirName = (await exists(dataLink)) ? await readlink(dataLink) : undefined;
  const oldDataDir = oldDataDirName ? join(targetDir, oldDataDirName) : undefined;
  const oldNames = oldDataDir && (await exists(oldDataDir)) ? topLevelNames(await listFiles(oldDataDir)) : new Set<string>();

  if (oldDataDir && (await exists(oldDataDir)) && (await samePayload(oldDataDir, payload))) {
    await createUserVisibleLinks(targetDir, payload);
    return false;
  }

  const newDataDirName = dataDirName(options.now());
  const newDataDir = join(targetDir, newDataDirName);
  await mkdir(newDataDir, { mode: 0o755 });
  await chmod(newDataDir, 0o755);
  for (const [path, file] of payload) {
    const full = join(newDataDir, path);
    await mkdir(dirname(full), { recursive: true, mode: 0o755 });
    await writeFile(full, file.data, { mode: file.mode });
    await chmod(full, file.mode);
  }

  const tmpLink = join(targetDir, DATA_DIR_TMP_LINK);
  await rm(tmpLink, { force: true });
  await symlink(newDataDirName, tmpLink);
  await rename(tmpLink, dataLink);

  await createUserVisibleLinks(targetDir, payload);
  const newNames = topLevelNames(payload.keys());
  for (const name of oldNames) {
    if (!newNames.has(name)) await rm(join(targetDir, name), { force: true });
  }
  if (oldDataDir) await rm(oldDataDir, { recursive: true, force: true });
  return true;
}

async function createUserVisibleLinks(targetDir: string, payload: Payload): Promise<void> {
  for (const name of topLevelNames(payload.keys())) {
    const link = join(targetDir, name);
    if (await exists(link)) continue;
    await symlink(join(DATA_DIR_LINK, name), link);
  }
}

/** The current data directory of an atomically written volume, if any. */
export async function currentDataDir(targetDir: string): Promise<string | undefined> {
  try {
    const name = await readlink(join(targetDir, DATA_DIR_LINK));
    const dir = join(targetDir, name);
    return (await stat(dir)).isDirectory() ? dir : undefined;
  } catch {
    return undefined;
  }
}
