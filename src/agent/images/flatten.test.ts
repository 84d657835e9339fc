import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { flattenLayers } from './flatten.ts';
import type { LayerInfo } from './store.ts';
import { buildTar, type TarEntry } from './testing/tar-builder.ts';
import { canWriteOverlayWhiteouts, unpackLayer } from './unpack.ts';

describe('flattenLayers', () => {
  let dir: string;
  let n = 0;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'skiff-flatten-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  async function layer(entries: TarEntry[], overlayWhiteouts: boolean): Promise<LayerInfo & { dir: string }> {
    const blobPath = join(dir, `blob-${n}`);
    const target = join(dir, `layer-${n++}`);
    writeFileSync(blobPath, buildTar(entries));
    const result = await unpackLayer({ blobPath, target, overlayWhiteouts });
    return { ...result, format: overlayWhiteouts ? 'overlay' : 'plain', dir: target };
  }

  const formats = [false, ...(process.getuid?.() === 0 ? [true] : [])];
  for (const overlay of formats) {
    it(`applies whiteouts and opaque directories (${overlay ? 'overlay' : 'plain'} layers)`, async (t) => {
      if (overlay && !(await canWriteOverlayWhiteouts(dir))) return t.skip('no trusted.* xattrs here');
      const outside = join(dir, `outside-${n}`);
      mkdirSync(outside);
      writeFileSync(join(outside, 'precious'), 'keep me');
      const bottom = await layer([
        { path: 'etc/motd', content: 'old' },
        { path: 'etc/keep', content: 'k' },
        { path: 'cache/a', content: 'a' },
        { path: 'bin/sh', type: 'symlink', linkpath: '/bin/busybox' },
        { path: 'escape', type: 'symlink', linkpath: outside },
      ], overlay);
      const top = await layer([
        { path: 'etc/.wh.motd', content: '' },
        { path: 'cache/.wh..wh..opq', content: '' },
        { path: 'cache/b', content: 'b' },
        { path: 'escape/.wh.precious', content: '' },
        { path: 'app', content: 'v2' },
      ], overlay);
      const target = join(dir, `flat-${n++}`);
      await flattenLayers({ layers: [top, bottom], target });
      assert.ok(!existsSync(join(target, 'etc/motd')));
      assert.equal(readFileSync(join(target, 'etc/keep'), 'utf8'), 'k');
      assert.ok(!existsSync(join(target, 'cache/a')));
      assert.equal(readFileSync(join(target, 'cache/b'), 'utf8'), 'b');
      assert.equal(readFileSync(join(target, 'app'), 'utf8'), 'v2');
      assert.equal(readlinkSync(join(target, 'bin/sh')), '/bin/busybox');
      // A whiteout below a symlink of a lower layer deletes nothing outside the tree.
      assert.equal(readFileSync(join(outside, 'precious'), 'utf8'), 'keep me');
    });
  }
});
