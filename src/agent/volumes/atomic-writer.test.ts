import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { currentDataDir, DATA_DIR_LINK, validatePayloadPath, writeAtomically } from './atomic-writer.ts';
import type { Payload } from './types-internal.ts';

const root = mkdtempSync(join(tmpdir(), 'skiff-atomic-'));
after(() => rmSync(root, { recursive: true, force: true }));

let n = 0;
const freshDir = async () => {
  const dir = join(root, `v${n++}`);
  mkdirSync(dir);
  return dir;
};
const payload = (files: Record<string, string>, mode = 0o644): Payload => new Map(Object.entries(files).map(([k, v]) => [k, { data: Buffer.from(v), mode }]));
const now = () => new Date(2024, 4, 1, 12, 0, 0);

describe('atomic writer', () => {
  it('lays out a timestamped data dir, ..data and one link per top-level name', async () => {
    const dir = await freshDir();
    assert.equal(await writeAtomically({ targetDir: dir, payload: payload({ a: 'A', 'sub/b': 'B' }, 0o600), now }), true);
    const dataDir = readlinkSync(join(dir, DATA_DIR_LINK));
    assert.match(dataDir, /^\.\.2024_05_01_12_00_00\.\d+$/);
    assert.equal(readlinkSync(join(dir, 'a')), '..data/a');
    assert.equal(readlinkSync(join(dir, 'sub')), '..data/sub');
    assert.equal(readFileSync(join(dir, 'a'), 'utf8'), 'A');
    assert.equal(readFileSync(join(dir, 'sub', 'b'), 'utf8'), 'B');
    assert.equal(statSync(join(dir, 'a')).mode & 0o777, 0o600);
    assert.deepEqual(readdirSync(dir).sort(), [dataDir, '..data', 'a', 'sub'].sort());
  });

  it('updates through the same path, removes the old data dir and names no longer in the payload', async () => {
    const dir = await freshDir();
    await writeAtomically({ targetDir: dir, payload: payload({ a: 'one', gone: 'x' }), now });
    const before = await currentDataDir(dir);
    assert.equal(await writeAtomically({ targetDir: dir, payload: payload({ a: 'two', added: 'y' }), now }), true);
    const afterDir = await currentDataDir(dir);
    assert.notEqual(afterDir, before);
    assert.equal(existsSync(before!), false);
    assert.equal(readFileSync(join(dir, 'a'), 'utf8'), 'two');
    assert.equal(readFileSync(join(dir, 'added'), 'utf8'), 'y');
    assert.equal(existsSync(join(dir, 'gone')), false);
    assert.equal(readdirSync(dir).filter((name) => name.startsWith('..2')).length, 1);
  });

  it('writes nothing when the payload is unchanged', async () => {
    const dir = await freshDir();
    await writeAtomically({ targetDir: dir, payload: payload({ a: 'same' }), now });
    const before = await currentDataDir(dir);
    assert.equal(await writeAtomically({ targetDir: dir, payload: payload({ a: 'same' }), now }), false);
    assert.equal(await currentDataDir(dir), before);
  });

  it('handles an empty payload (an optional source that is missing)', async () => {
    const dir = await freshDir();
    await writeAtomically({ targetDir: dir, payload: payload({ a: 'A' }), now });
    await writeAtomically({ targetDir: dir, payload: new Map(), now });
    assert.equal(existsSync(join(dir, 'a')), false);
    assert.ok(await currentDataDir(dir));
  });

  it('refuses paths that escape or collide with the layout', async () => {
    assert.match(validatePayloadPath('/abs')!, /must be relative path/);
    assert.match(validatePayloadPath('a/../b')!, /must not contain '\.\.'/);
    assert.match(validatePayloadPath('..data')!, /must not start with '\.\.'/);
    assert.equal(validatePayloadPath('a/b..c'), undefined);
    const dir = await freshDir();
    await assert.rejects(writeAtomically({ targetDir: dir, payload: payload({ '../x': 'no' }), now }), /must not contain/);
  });
});
