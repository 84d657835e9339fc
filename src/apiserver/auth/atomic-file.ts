// Crash-safe file writes for secrets (keys, tokens, kubeconfigs).
//
// The data is written to a temporary file in the same directory (so the rename
// stays on one filesystem), flushed, and renamed over the target: a reader never
// sees a half-written key, and the file never exists with a looser mode than asked,
// because the temporary file is created with that mode (O_EXCL, no umask race on an
// existing file).

import { randomBytes } from "node:crypto";
import { mkdir, open, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

export interface WriteFileAtomicOptions {
  /** File mode of the result, e.g. 0o600 for secrets. */
  mode: number;
  /** When set, missing parent directories are created with this mode (mkdir -p). */
  parentMode?: number;
}

export async function writeFileAtomic(
  path: string,
  data: string,
  options: WriteFileAtomicOptions,
): Promise<void> {
  const dir = dirname(path);
  if (options.parentMode !== undefined) {
    await mkdir(dir, { recursive: true, mode: options.parentMode });
  }
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
  const handle = await open(tmp, "wx", options.mode);
  try {
    await handle.writeFile(data, "utf8");
    // The umask may have cleared bits of `mode` at creation; chmod sets it exactly.
    await handle.chmod(options.mode);
    await handle.sync();
  } catch (error) {
    await handle.close();
    await rm(tmp, { force: true });
    throw error;
  }
  await handle.close();
  try {
    await rename(tmp, path);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
}
