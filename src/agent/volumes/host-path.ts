// hostPath volumes: the host path itself is what containers bind, after
// kubelet's type check (DirectoryOrCreate and FileOrCreate create what is
// missing; the other types only check; "" checks nothing).
import { lstat, mkdir, open, stat } from 'node:fs/promises';
import { dirname } from 'node:path';

async function statOrUndefined(path: string) {
  try {
    return await stat(path);
  } catch {
    return undefined;
  }
}

async function existsAtAll(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch {
    return false;
  }
}

/** Throws with kubelet's message when `path` is not of `type`. */
export async function checkHostPathType(path: string, type: string | undefined): Promise<void> {
  if (!type) return;
  const failed = (what: string) => new Error(`hostPath type check failed: ${path} is not ${what}`);
  switch (type) {
    case 'DirectoryOrCreate':
      // kubelet creates missing directories with 0755.
      if (!(await existsAtAll(path))) {
        await mkdir(path, { recursive: true, mode: 0o755 });
        return;
      }
    // falls through
    case 'Directory':
      if (!(await statOrUndefined(path))?.isDirectory()) throw failed('a directory');
      return;
    case 'FileOrCreate':
      if (!(await existsAtAll(path))) {
        await mkdir(dirname(path), { recursive: true, mode: 0o755 });
        await (await open(path, 'a', 0o644)).close();
        return;
      }
    // falls through
    case 'File':
      if (!(await statOrUndefined(path))?.isFile()) throw failed('a file');
      return;
    case 'Socket':
      if (!(await statOrUndefined(path))?.isSocket()) throw failed('a socket file');
      return;
    case 'CharDevice':
      if (!(await statOrUndefined(path))?.isCharacterDevice()) throw failed('a character device');
      return;
    case 'BlockDevice':
      if (!(await statOrUndefined(path))?.isBlockDevice()) throw failed('a block device');
      return;
    default:
      throw new Error(`${type} is an invalid volume type`);
  }
}
