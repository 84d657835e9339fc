import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { ContainerRuntime, ContainerStatus } from '../../runtime/types.ts';
import { hostEvictionStats } from './stats.ts';

describe('eviction stats from the host', () => {
  const root = mkdtempSync(join(tmpdir(), 'skiff-eviction-stats-'));
  after(() => rmSync(root, { recursive: true, force: true }));

  it('reads each container\'s working set and the pod\'s processes from its cgroups, and its log and pod files', async () => {
    const uid = '0b6c2f7e-1111-2222-3333-444455556666';
    const cgroupRoot = join(root, 'cgroup');
    const dataDir = join(root, 'data');
    const podCgroup = `pod${uid}-abcdef012345`;
    mkdirSync(join(cgroupRoot, 'memory', 'skiff', podCgroup, 'c1'), { recursive: true });
    writeFileSync(join(cgroupRoot, 'memory', 'skiff', podCgroup, 'c1', 'memory.usage_in_bytes'), '10485760\n');
    writeFileSync(join(cgroupRoot, 'memory', 'skiff', podCgroup, 'c1', 'memory.stat'), 'cache 0\ntotal_inactive_file 2097152\n');
    mkdirSync(join(cgroupRoot, 'pids', 'skiff', podCgroup), { recursive: true });
    writeFileSync(join(cgroupRoot, 'pids', 'skiff', podCgroup, 'pids.current'), '7\n');
    const pod = { metadata: { uid, name: 'web', namespace: 'default' } };
    mkdirSync(join(dataDir, 'pods', `default_web_${uid}`, 'app'), { recursive: true });
    writeFileSync(join(dataDir, 'pods', `default_web_${uid}`, 'app', '0.log'), Buffer.alloc(64 * 1024, 'x'));
    mkdirSync(join(dataDir, 'pods', uid), { recursive: true });
    writeFileSync(join(dataDir, 'pods', uid, 'etc-hosts'), '127.0.0.1 localhost\n');
    const containers = [{ id: 'c1', state: 'running', name: 'app', labels: { 'io.kubernetes.pod.uid': uid, 'io.kubernetes.container.name': 'app' } }] as unknown as ContainerStatus[];
    const runtime = { listContainers: async () => containers } as unknown as ContainerRuntime;
    const stats = hostEvictionStats({ dataDir, runtime, cgroupRoot });
    const usage = (await stats.pods([pod])).get(uid)!;
    assert.equal(usage.memoryBytes, 8 * 1024 * 1024);
    assert.equal(usage.processes, 7);
    assert.equal(usage.containers[0]!.name, 'app');
    assert.ok(usage.containers[0]!.storageBytes >= 64 * 1024);
    assert.ok(usage.storageBytes > usage.containers[0]!.storageBytes, 'the pod directory counts too');
    const node = await stats.node();
    assert.ok(node['nodefs.available']!.capacity > 0);
    assert.ok(node['memory.available']!.available > 0, 'MemAvailable when the (fake) root cgroup has no memory files');
  });
});
