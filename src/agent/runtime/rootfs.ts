// Container root filesystems: an overlayfs mount of the image's layers (the
// lowerdirs, topmost first) with one writable upper + work dir per container.
// 'plain' images (layers without overlay whiteout markers) are flattened once
// per image into ROOT/images/<id>/rootfs, which then serves as the single
// lowerdir, so containers still get their own upper and share the image copy.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { flattenLayers } from '../images/flatten.ts';
import type { LayerInfo } from '../images/store.ts';
import type { ContainerConfig } from './types.ts';

const run = promisify(execFile);

/** Mount points currently mounted (from /proc/self/mountinfo), for idempotent unmounts. */
export function mountedPaths(): Set<string> {
  const out = new Set<string>();
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const field = line.split(' ')[4];
    if (field) out.add(field.replace(/\\(\d{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8))));
  }
  return out;
}

const flattening = new Map<string, Promise<string>>();

/** One flattened copy per image; the marker file makes a half-done copy (crash) start over. */
async function flattenedImage(options: { image: ContainerConfig['image']; dir: string }): Promise<string> {
  const rootfs = join(options.dir, 'rootfs');
  if (existsSync(join(options.dir, 'complete'))) return rootfs;
  let pending = flattening.get(options.dir);
  if (!pending) {
    pending = (async () => {
      const staging = join(options.dir, `staging-${process.pid}`);
      rmSync(staging, { recursive: true, force: true });
      const layers = options.image.layers.map((dir) => {
        const info = JSON.parse(readFileSync(join(dirname(dir), 'layer.json'), 'utf8')) as LayerInfo;
        return { ...info, dir };
      });
      await flattenLayers({ layers, target: staging });
      rmSync(rootfs, { recursive: true, force: true });
      renameSync(staging, rootfs);
      writeFileSync(join(options.dir, 'complete'), '');
      return rootfs;
    })().finally(() => flattening.delete(options.dir));
    flattening.set(options.dir, pending);
  }
  return pending;
}

export async function mountRootfs(options: { image: ContainerConfig['image']; containerDir: string; imageDir: string }): Promise<string> {
  const { containerDir } = options;
  const lower = options.image.layerFormat === 'plain'
    ? [await flattenedImage({ image: options.image, dir: options.imageDir })]
    : options.image.layers;
  if (lower.length === 0) throw new Error(`image ${options.image.reference} has no layers`);
  const target = join(containerDir, 'bundle', 'rootfs');
  const upper = join(containerDir, 'upper');
  const work = join(containerDir, 'work');
  for (const dir of [target, upper, work]) mkdirSync(dir, { recursive: true });
  const data = `lowerdir=${lower.join(':')},upperdir=${upper},workdir=${work}`;
  if (data.length > 4000) throw new Error(`image ${options.image.reference}: ${lower.length} layers exceed the overlay mount option size`);
  await run('mount', ['-t', 'overlay', 'overlay', '-o', data, target]);
  return target;
}

/** Unmounts (lazily if busy) when mounted; never fails on an absent mount. */
export async function unmount(path: string): Promise<void> {
  if (!mountedPaths().has(path)) return;
  try {
    await run('umount', [path]);
  } catch {
    await run('umount', ['-l', path]);
  }
}
