import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gzipSync, zstdCompressSync } from 'node:zlib';
import { sha256Digest } from './digest.ts';
import { buildTar, type TarEntry } from './testing/tar-builder.ts';
import { canWriteOverlayWhiteouts, UnsafeLayerError, unpackLayer } from './unpack.ts';

const isRoot = process.getuid?.() === 0;
const rootOnly = isRoot ? {} : { skip: 'needs root (device nodes, trusted.* xattrs, overlay mounts)' };

describe('unpackLayer', () => {
  let dir: string;
  let n = 0;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'skiff-unpack-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  async function unpack(tar: Buffer, overlayWhiteouts = false) {
    const blobPath = join(dir, `blob-${n}`);
    const target = join(dir, `layer-${n++}`);
    writeFileSync(blobPath, tar);
    const result = await unpackLayer({ blobPath, target, overlayWhiteouts });
    return { target, result };
  }

  const basic: TarEntry[] = [
    { path: 'bin/', type: 'dir' },
    { path: 'bin/busybox', content: 'ELF', mode: 0o755 },
    { path: 'bin/sh', type: 'symlink', linkpath: '/bin/busybox' },
    { path: 'bin/ash', type: 'link', linkpath: 'bin/busybox' },
    { path: 'etc/up', type: 'symlink', linkpath: '../../../../etc/passwd' },
    { path: 'etc/hostname', content: 'box\n' },
  ];

  it('unpacks plain, gzip and zstd layers alike, with the diffID of the tar', async () => {
    const tar = buildTar(basic);
    for (const blob of [tar, gzipSync(tar), zstdCompressSync(tar)]) {
      const { target, result } = await unpack(blob);
      assert.equal(result.diffId, sha256Digest(tar));
      assert.equal(readFileSync(join(target, 'bin/busybox'), 'utf8'), 'ELF');
      assert.equal(lstatSync(join(target, 'bin/busybox')).mode & 0o777, 0o755);
      // Symlink targets are kept exactly: they resolve inside the container, not here.
      assert.equal(readlinkSync(join(target, 'bin/sh')), '/bin/busybox');
      assert.equal(readlinkSync(join(target, 'etc/up')), '../../../../etc/passwd');
      assert.equal(lstatSync(join(target, 'bin/ash')).ino, lstatSync(join(target, 'bin/busybox')).ino);
    }
  });

  it('refuses entries that climb out of the layer', async () => {
    await assert.rejects(unpack(buildTar([{ path: '../escaped', content: 'x' }])), UnsafeLayerError);
    assert.ok(!existsSync(join(dir, 'escaped')));
    await assert.rejects(unpack(buildTar([{ path: 'a', type: 'link', linkpath: '../../etc/passwd' }])), UnsafeLayerError);
  });

  it('never writes through a symlink of the layer', async () => {
    const outside = join(dir, 'outside');
    mkdirSync(outside);
    await assert.rejects(unpack(buildTar([{ path: 'lnk', type: 'symlink', linkpath: outside }, { path: 'lnk/pwned', content: 'x' }])), UnsafeLayerError);
    assert.ok(!existsSync(join(outside, 'pwned')));
    await assert.rejects(unpack(buildTar([{ path: 'l2', type: 'symlink', linkpath: outside }, { path: 'l2/inner', type: 'symlink', linkpath: '/x' }])), UnsafeLayerError);
    assert.ok(!existsSync(join(outside, 'inner')));
  });

  it('lists whiteouts and opaque directories without markers in plain format', async () => {
    const { target, result } = await unpack(buildTar([
      { path: '.wh.gone', content: '' },
      { path: 'dir/', type: 'dir' },
      { path: 'dir/.wh..wh..opq', content: '' },
      { path: 'dir/new', content: 'n' },
      { path: 'sub/.wh.old', content: '' },
    ]));
    assert.deepEqual(result.whiteouts, ['gone', 'sub/old']);
    assert.deepEqual(result.opaqueDirs, ['dir']);
    assert.ok(!existsSync(join(target, '.wh.gone')));
    assert.ok(!existsSync(join(target, 'dir/.wh..wh..opq')));
  });

  it('keeps exact modes: setuid files and directories without owner write', rootOnly, async () => {
    const { target } = await unpack(buildTar([
      { path: 'ro/', type: 'dir', mode: 0o555 },
      { path: 'suid', content: 's', mode: 0o4755, uid: 1000, gid: 1000 },
      { path: 'gw', content: 'g', mode: 0o664 },
    ]));
    assert.equal(lstatSync(join(target, 'ro')).mode & 0o7777, 0o555);
    assert.equal(lstatSync(join(target, 'suid')).mode & 0o7777, 0o4755);
    assert.equal(lstatSync(join(target, 'suid')).uid, 1000);
    assert.equal(lstatSync(join(target, 'gw')).mode & 0o7777, 0o664);
  });

  it('creates device nodes and FIFOs as root', rootOnly, async () => {
    const { target } = await unpack(buildTar([
      { path: 'dev/null', type: 'char', devmajor: 1, devminor: 3, mode: 0o666 },
      { path: 'run/fifo', type: 'fifo', mode: 0o600 },
    ]));
    const st = lstatSync(join(target, 'dev/null'));
    assert.ok(st.isCharacterDevice());
    assert.equal(st.rdev, (1 << 8) | 3);
    assert.ok(lstatSync(join(target, 'run/fifo')).isFIFO());
  });

  it('writes overlayfs markers that a real overlay mount honours', rootOnly, async (t) => {
    if (!(await canWriteOverlayWhiteouts(dir))) return t.skip('this filesystem takes no trusted.* xattrs');
    const lower = await unpack(buildTar([
      { path: 'gone', content: 'old' },
      { path: 'dir/', type: 'dir' },
      { path: 'dir/hidden', content: 'h' },
      { path: 'keep', content: 'k' },
    ]), true);
    const upper = await unpack(buildTar([
      { path: '.wh.gone', content: '' },
      { path: 'dir/', type: 'dir' },
      { path: 'dir/.wh..wh..opq', content: '' },
      { path: 'dir/new', content: 'n' },
    ]), true);
    assert.ok(lstatSync(join(upper.target, 'gone')).isCharacterDevice());
    assert.equal(execFileSync('getfattr', ['--only-values', '-n', 'trusted.overlay.opaque', join(upper.target, 'dir')], { encoding: 'utf8' }), 'y');
    const mnt = join(dir, 'mnt');
    mkdirSync(mnt);
    try {
      execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${upper.target}:${lower.target}`, mnt]);
    } catch {
      return t.skip('overlay mounts are not allowed here');
    }
    try {
      assert.ok(!existsSync(join(mnt, 'gone')));
      assert.ok(!existsSync(join(mnt, 'dir/hidden')));
      assert.equal(readFileSync(join(mnt, 'dir/new'), 'utf8'), 'n');
      assert.equal(readFileSync(join(mnt, 'keep'), 'utf8'), 'k');
    } finally {
      execFileSync('umount', [mnt]);
    }
  });
});
