import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { checkHostPathType } from './host-path.ts';

const root = mkdtempSync(join(tmpdir(), 'skiff-hostpath-'));
const socketPath = join(root, 'sock');
let server: Server;
before(async () => {
  mkdirSync(join(root, 'dir'));
  writeFileSync(join(root, 'file'), 'x');
  server = createServer();
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
});
after(async () => {
  await new Promise((resolve) => server.close(resolve));
  rmSync(root, { recursive: true, force: true });
});

describe('hostPath type checks', () => {
  it('accepts what matches', async () => {
    await checkHostPathType(join(root, 'dir'), 'Directory');
    await checkHostPathType(join(root, 'file'), 'File');
    await checkHostPathType(socketPath, 'Socket');
    await checkHostPathType('/dev/null', 'CharDevice');
    await checkHostPathType(join(root, 'missing'), '');
    await checkHostPathType(join(root, 'missing'), undefined);
  });

  it("fails with kubelet's messages", async () => {
    const file = join(root, 'file');
    await assert.rejects(checkHostPathType(file, 'Directory'), { message: `hostPath type check failed: ${file} is not a directory` });
    await assert.rejects(checkHostPathType(join(root, 'dir'), 'File'), { message: `hostPath type check failed: ${join(root, 'dir')} is not a file` });
    await assert.rejects(checkHostPathType(file, 'Socket'), { message: `hostPath type check failed: ${file} is not a socket file` });
    await assert.rejects(checkHostPathType(file, 'CharDevice'), { message: `hostPath type check failed: ${file} is not a character device` });
    await assert.rejects(checkHostPathType('/dev/null', 'BlockDevice'), { message: 'hostPath type check failed: /dev/null is not a block device' });
    await assert.rejects(checkHostPathType(join(root, 'nope'), 'Directory'), /is not a directory/);
    await assert.rejects(checkHostPathType(file, 'Weird'), { message: 'Weird is an invalid volume type' });
  });

  it('creates what the *OrCreate types ask for, and checks what exists', async () => {
    const dir = join(root, 'made', 'deep');
    await checkHostPathType(dir, 'DirectoryOrCreate');
    assert.equal(statSync(dir).mode & 0o777, 0o755);
    const file = join(root, 'madefile', 'f');
    await checkHostPathType(file, 'FileOrCreate');
    assert.ok(statSync(file).isFile());
    await assert.rejects(checkHostPathType(join(root, 'file'), 'DirectoryOrCreate'), /is not a directory/);
    await assert.rejects(checkHostPathType(join(root, 'dir'), 'FileOrCreate'), /is not a file/);
    assert.ok(existsSync(join(root, 'dir')));
  });
});
