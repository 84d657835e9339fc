// The benchmark's image: busybox-static in one layer (/bin/busybox with sh and
// sleep links), built with umoci as an OCI image layout and packed as the tar
// `skiff images import` reads — no registry and no network involved.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';

/** The reference pods use. `.invalid` never resolves, so a pull could never leave the machine. */
export const BENCH_IMAGE_REPOSITORY = 'bench.invalid/busybox';
export const BENCH_IMAGE_TAG = 'bench';
export const BENCH_IMAGE = `${BENCH_IMAGE_REPOSITORY}:${BENCH_IMAGE_TAG}`;

/** Builds the image under `workDir` and returns the path of the OCI layout tar. */
export function buildBusyboxArchive(workDir: string): string {
  const layout = join(workDir, 'oci');
  const bundle = join(workDir, 'bundle');
  const archive = join(workDir, 'busybox.tar');
  const run = (cmd: string, args: string[]) => execFileSync(cmd, args, { cwd: workDir, stdio: 'pipe' });
  mkdirSync(workDir, { recursive: true });
  run('umoci', ['init', '--layout', layout]);
  run('umoci', ['new', '--image', `${layout}:${BENCH_IMAGE_TAG}`]);
  run('umoci', ['unpack', '--image', `${layout}:${BENCH_IMAGE_TAG}`, bundle]);
  const bin = join(bundle, 'rootfs/bin');
  mkdirSync(bin, { recursive: true });
  copyFileSync('/bin/busybox', join(bin, 'busybox'));
  for (const applet of ['sh', 'sleep']) symlinkSync('busybox', join(bin, applet));
  run('umoci', ['repack', '--image', `${layout}:${BENCH_IMAGE_TAG}`, bundle]);
  run('umoci', ['config', '--image', `${layout}:${BENCH_IMAGE_TAG}`, '--config.cmd', 'sleep', '--config.cmd', '3600']);
  run('tar', ['-C', layout, '-cf', archive, '.']);
  return archive;
}
