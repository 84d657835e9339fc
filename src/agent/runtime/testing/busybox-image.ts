// A one-layer busybox "image" for runtime tests: a layer directory as
// agent/images would unpack it (busybox-static plus applet symlinks, /etc
// with passwd/group, /tmp), handed to the runtime as an overlay lowerdir.
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ContainerConfig } from '../types.ts';

/**
 * Fills `fs` with a minimal busybox root: /bin/busybox (busybox-static) with a
 * symlink per applet, /etc/passwd and /etc/group (root, app 1000, nobody), /tmp.
 * Also used by test/support/busybox-image.ts for registry images.
 */
export function populateBusyboxRoot(options: { fs: string; busybox?: string }): void {
  const { fs } = options;
  for (const sub of ['bin', 'etc', 'tmp', 'root', 'home/app']) mkdirSync(join(fs, sub), { recursive: true });
  copyFileSync(options.busybox ?? '/bin/busybox', join(fs, 'bin/busybox'));
  chmodSync(join(fs, 'bin/busybox'), 0o755);
  const applets = execFileSync(join(fs, 'bin/busybox'), ['--list'], { encoding: 'utf8' }).split('\n').filter((a) => a && a !== 'busybox');
  for (const applet of applets) symlinkSync('busybox', join(fs, 'bin', applet));
  chmodSync(join(fs, 'tmp'), 0o1777);
  writeFileSync(join(fs, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n');
  writeFileSync(join(fs, 'etc/group'), 'root:x:0:\napp:x:1000:\nnogroup:x:65534:\n');
}

export function buildBusyboxImage(options: { dir: string; busybox?: string }): ContainerConfig['image'] {
  const fs = join(options.dir, 'layer', 'fs');
  populateBusyboxRoot({ fs, busybox: options.busybox });
  writeFileSync(join(options.dir, 'layer', 'layer.json'), JSON.stringify({ diffId: 'sha256:test', size: 0, whiteouts: [], opaqueDirs: [] }));
  return { reference: 'test.local/busybox:latest', imageId: 'sha256:' + '0'.repeat(64), layers: [fs], layerFormat: 'overlay' };
}
