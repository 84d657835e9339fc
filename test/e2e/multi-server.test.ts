// Three `skiff server` processes on one real etcd serve one cluster: a write
// through one is seen by a watch on another; only one scheduler and one
// controller manager act at a time (Leases kube-system/kube-scheduler and
// kube-system/skiff-controller-manager); SIGKILL of the leader hands both
// Leases over within seconds, and a Deployment scaled meanwhile reaches
// exactly its replicas.
//
// The servers join as k3s servers join with a token: the later ones start
// with the first one's cluster identity (CA, service-account key, admin
// token) copied into their own DATA/tls, and issue their own serving and
// client certificates from that CA.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startEtcd, type EtcdCluster } from '../../src/storage/etcd/launcher.ts';
import { eventually, KUBECTL, startServer, type ServerHandle } from './harness.ts';

/** The files that make a cluster one cluster; everything else in DATA/tls each server issues itself. */
const CLUSTER_IDENTITY_FILES = ['ca.crt', 'ca.key', 'service-account.key', 'admin.token'];

const LEASES = { scheduler: 'kube-scheduler', controllerManager: 'skiff-controller-manager' } as const;

interface Lease {
  holderIdentity?: string;
  leaseTransitions?: number;
  renewTime?: string;
}

function readLease(server: ServerHandle, name: string): Lease | undefined {
  const r = server.kubectl(['get', 'lease', '-n', 'kube-system', name, '-o', 'json']);
  return r.status === 0 ? JSON.parse(r.stdout).spec : undefined;
}

function holders(server: ServerHandle): { scheduler?: string; controllerManager?: string } {
  return {
    scheduler: readLease(server, LEASES.scheduler)?.holderIdentity || undefined,
    controllerManager: readLease(server, LEASES.controllerManager)?.holderIdentity || undefined,
  };
}

function deploymentPods(server: ServerHandle, app: string): any[] {
  return JSON.parse(server.k(['get', 'pods', '-l', `app=${app}`, '-o', 'json'])).items;
}

describe('several skiff servers on one etcd', () => {
  let etcd: EtcdCluster;
  const servers: ServerHandle[] = [];
  const joinedDirs: string[] = [];
  const watches: ChildProcess[] = [];
  let first: ServerHandle; // started alone, so it leads both Leases; no simulated nodes (it is killed)
  let withNodes: ServerHandle; // runs the hollow nodes, stays up
  let third: ServerHandle;
  let firstHolders: { scheduler?: string; controllerManager?: string } = {};

  const joinServer = async (extraArgs: string[]): Promise<ServerHandle> => {
    const dataDir = mkdtempSync(join(tmpdir(), 'skiff-e2e-join-'));
    joinedDirs.push(dataDir);
    mkdirSync(join(dataDir, 'tls'), { mode: 0o700 });
    for (const file of CLUSTER_IDENTITY_FILES) copyFileSync(join(first.dataDir, 'tls', file), join(dataDir, 'tls', file));
    const server = await startServer({ dataDir, extraArgs: ['--datastore-endpoint', etcd.endpoints.join(','), ...extraArgs] });
    servers.push(server);
    return server;
  };

  before(async () => {
    etcd = await startEtcd();
    first = await startServer({ extraArgs: ['--datastore-endpoint', etcd.endpoints.join(',')] });
    servers.push(first);
    // Alone, the first server must win both Leases.
    await eventually(() => {
      firstHolders = holders(first);
      return firstHolders.scheduler && firstHolders.controllerManager;
    }, { timeoutMs: 30_000, intervalMs: 500 });
    withNodes = await joinServer(['--simulated-nodes', '3']);
    third = await joinServer([]);
  });

  after(async () => {
    for (const watch of watches) watch.kill('SIGKILL');
    for (const server of servers) await server.stop().catch(() => {});
    for (const dir of joinedDirs) rmSync(dir, { recursive: true, force: true });
    await etcd?.stop();
  });

  it('trusts one CA: a client of one server is a client of all', () => {
    for (const server of [withNodes, third]) {
      const out = first.k(['--server', `https://127.0.0.1:${server.port}`, 'get', 'namespace', 'kube-system', '-o', 'name']);
      assert.equal(out.trim(), 'namespace/kube-system');
    }
  });

  it('shows a write through one server to a watch on another', async () => {
    const watch = spawn(KUBECTL, ['--kubeconfig', third.kubeconfig, 'get', 'configmaps', '-n', 'default', '--watch', '-o', 'name'], { stdio: ['ignore', 'pipe', 'pipe'] });
    watches.push(watch);
    let output = '';
    watch.stdout!.on('data', (chunk) => (output += String(chunk)));
    watch.stderr!.on('data', (chunk) => (output += String(chunk)));
    // The watch is open once kubectl has listed (an empty list prints nothing): give it a marker first.
    third.k(['create', 'configmap', 'marker', '--from-literal=a=b']);
    await eventually(() => output.includes('configmap/marker'), { timeoutMs: 20_000 });
    withNodes.k(['create', 'configmap', 'from-another-server', '--from-literal=a=b']);
    await eventually(() => output.includes('configmap/from-another-server'), { timeoutMs: 20_000 });
    watch.kill('SIGKILL');
  });

  it('runs one scheduler and one controller manager at a time', async () => {
    const before = { scheduler: readLease(first, LEASES.scheduler), controllerManager: readLease(first, LEASES.controllerManager) };
    withNodes.k(['create', 'deployment', 'web', '--image=registry.example/web:1', '--replicas=4']);
    await eventually(() => {
      const pods = deploymentPods(third, 'web');
      return pods.length === 4 && pods.every((pod) => pod.status?.phase === 'Running');
    }, { timeoutMs: 60_000, intervalMs: 500 });
    // Two ReplicaSet controllers would race to more than 4; give a second one time to show itself.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    assert.equal(deploymentPods(third, 'web').length, 4);
    // Each pod was scheduled once: one Scheduled event, no scheduling failures from a rival binder.
    const events = JSON.parse(third.k(['get', 'events', '-n', 'default', '-o', 'json'])).items
      .filter((e: any) => e.involvedObject?.kind === 'Pod' && e.involvedObject?.name?.startsWith('web-'));
    for (const pod of deploymentPods(third, 'web')) {
      const scheduled = events.filter((e: any) => e.involvedObject.name === pod.metadata.name && e.reason === 'Scheduled');
      assert.equal(scheduled.reduce((n: number, e: any) => n + (e.count ?? e.series?.count ?? 1), 0), 1, `Scheduled events of ${pod.metadata.name}`);
    }
    assert.deepEqual(events.filter((e: any) => e.reason === 'FailedScheduling'), []);
    // The first server still holds both Leases, renewed, never handed over while the others compete.
    const now = { scheduler: readLease(third, LEASES.scheduler), controllerManager: readLease(third, LEASES.controllerManager) };
    for (const key of ['scheduler', 'controllerManager'] as const) {
      assert.equal(now[key]?.holderIdentity, firstHolders[key], `${key} holder`);
      assert.equal(now[key]?.leaseTransitions ?? 0, before[key]?.leaseTransitions ?? 0, `${key} transitions`);
      assert.notEqual(now[key]?.renewTime, before[key]?.renewTime, `${key} renewed`);
    }
  });

  it('hands over within seconds when the leader is killed, with no duplicate pods', async () => {
    const killedAt = Date.now();
    await first.kill(true);
    // Scaled before anyone has taken over: the new leaders must finish the job, once.
    withNodes.k(['scale', 'deployment', 'web', '--replicas=7']);
    await eventually(() => {
      const h = holders(withNodes);
      return h.scheduler && h.controllerManager && h.scheduler !== firstHolders.scheduler && h.controllerManager !== firstHolders.controllerManager;
    }, { timeoutMs: 45_000, intervalMs: 250 });
    const handoverMs = Date.now() - killedAt;
    assert.ok(handoverMs < 30_000, `handover took ${handoverMs} ms (lease 15 s)`);

    await eventually(() => {
      const pods = deploymentPods(third, 'web');
      return pods.length === 7 && pods.every((pod) => pod.status?.phase === 'Running');
    }, { timeoutMs: 60_000, intervalMs: 500 });
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const pods = deploymentPods(withNodes, 'web');
    assert.equal(pods.length, 7, pods.map((p) => p.metadata.name).join(' '));
    assert.equal(new Set(pods.map((p) => p.metadata.ownerReferences?.[0]?.name)).size, 1, 'one ReplicaSet');
    const deployment = JSON.parse(third.k(['get', 'deployment', 'web', '-o', 'json']));
    assert.equal(deployment.status.readyReplicas, 7);
  });
});
