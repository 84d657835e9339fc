// Crash safety: kill -9 the server during a burst of writes, start it again on
// the same data dir: every acknowledged write is there, resourceVersions keep
// increasing, and a watch resumes from the old resourceVersion.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { startServer, type ServerHandle } from './harness.ts';

describe('durability across kill -9', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'skiff-durable-'));
  let server: ServerHandle | undefined;
  after(async () => {
    await server?.kill(true);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('keeps every acknowledged write and resumes revisions', async () => {
    server = await startServer({ dataDir });
    server.k(['create', 'namespace', 'burst']);
    const before = JSON.parse(server.k(['get', 'ns', 'burst', '-o', 'json']));

    // Parallel kubectl creates; SIGKILL arrives while they are in flight.
    const acknowledged: string[] = [];
    const { spawn } = await import('node:child_process');
    const writers = Array.from({ length: 40 }, (_, i) => new Promise<void>((resolve) => {
      const name = `cm-${i}`;
      const child = spawn('/usr/bin/kubectl', ['--kubeconfig', server!.kubeconfig, 'create', 'configmap', name, '-n', 'burst', `--from-literal=i=${i}`], { stdio: 'ignore' });
      child.on('exit', (code) => {
        if (code === 0) acknowledged.push(name);
        resolve();
      });
    }));
    await new Promise((r) => setTimeout(r, 400));
    await server.kill(true);
    await Promise.all(writers);
    assert.ok(acknowledged.length > 0, 'some writes were acknowledged before the kill');

    server = await startServer({ dataDir });
    const names = server.k(['get', 'configmaps', '-n', 'burst', '-o', 'name']).trim().split('\n');
    for (const name of acknowledged) assert.ok(names.includes(`configmap/${name}`), `${name} survived`);
    server.k(['create', 'configmap', 'after-restart', '-n', 'burst', '--from-literal=x=y']);
    const created = JSON.parse(server.k(['get', 'cm', 'after-restart', '-n', 'burst', '-o', 'json']));
    assert.ok(Number(created.metadata.resourceVersion) > Number(before.metadata.resourceVersion));
    // A watch from the pre-crash resourceVersion replays what happened since.
    const raw = server.k(['get', '--raw', `/api/v1/namespaces/burst/configmaps?watch=true&resourceVersion=${before.metadata.resourceVersion}&timeoutSeconds=1`]);
    const events = raw.trim().split('\n').map((line) => JSON.parse(line));
    assert.ok(events.some((e) => e.type === 'ADDED' && e.object.metadata.name === 'after-restart'));
  });
});
