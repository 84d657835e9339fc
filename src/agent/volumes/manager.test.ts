// The VolumeManager against a real in-process API server and a temp dir
// (tmpfs mounts need root; every mount is undone in `after`).
import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startInProcessServer, type InProcessServer } from '../../../test/support/in-process-server.ts';
import type { ApiClient, KubeObject, ResourceRef } from '../../client/interface.ts';
import { createRestClient } from '../../client/rest-client.ts';
import { HostVolumeManager } from './manager.ts';
import { isMountPoint, mountPointsUnder, unmount } from './mounts.ts';
import { VolumeError } from './types.ts';

const NS = 'vol';
const core = (resource: string, extra: Partial<ResourceRef> = {}): ResourceRef => ({ group: '', version: 'v1', resource, ...extra });
const isRoot = process.getuid?.() === 0;

let server: InProcessServer;
let client: ApiClient;
let root: string;
let tokenRequests = 0;
let clock = new Date();
const managers: HostVolumeManager[] = [];
const podUids: string[] = [];

function manager(options: { localPathRoots?: string[] } = {}): HostVolumeManager {
  const m = new HostVolumeManager({ client, podsDir: join(root, 'pods'), nodeName: 'node-1', now: () => clock, ...options });
  managers.push(m);
  return m;
}

let podCount = 0;
async function createPod(spec: Record<string, unknown>, metadata: Record<string, unknown> = {}): Promise<KubeObject> {
  const pod = await client.create<KubeObject>(core('pods', { namespace: NS }), {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name: `p${podCount++}`, ...metadata },
    spec: { automountServiceAccountToken: false, containers: [{ name: 'app', image: 'busybox', resources: { limits: { cpu: '500m', memory: '64Mi' } } }], ...spec },
  });
  podUids.push(pod.metadata.uid!);
  return pod;
}

const text = (path: string) => readFileSync(path, 'utf8');
const mode = (path: string) => statSync(path).mode & 0o7777;

before(async () => {
  server = await startInProcessServer();
  const real = createRestClient({ server: server.url, caCert: server.caCert, token: server.token });
  // Count TokenRequests (the refresh test needs to see them).
  client = new Proxy(real, {
    get(target, prop, receiver) {
      if (prop === 'create') {
        return (ref: ResourceRef, body: unknown, options?: unknown) => {
          if (ref.subresource === 'token') tokenRequests++;
          return target.create(ref, body, options as never);
        };
      }
      return Reflect.get(target, prop, receiver);
    },
  });
  root = mkdtempSync(join(tmpdir(), 'skiff-volumes-'));
  await client.create(core('namespaces'), { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
  await client.create(core('serviceaccounts', { namespace: NS }), { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default' } }).catch(() => {});
  await client.create(core('nodes'), { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-1' } });
  await client.patch(core('nodes', { name: 'node-1', subresource: 'status' }), 'merge', { status: { allocatable: { cpu: '4', memory: '8Gi' } } });
});

after(async () => {
  for (const m of managers) for (const uid of podUids) await m.tearDownPodVolumes(uid).catch(() => {});
  for (const mountPoint of await mountPointsUnder(root)) await unmount(mountPoint);
  rmSync(root, { recursive: true, force: true });
  await client.close();
  await server.close();
});

describe('volume manager', () => {
  it('writes configMap items with modes and shows updates through the same path', async () => {
    await client.create(core('configmaps', { namespace: NS }), { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg' }, data: { a: 'one', b: 'two' }, binaryData: { bin: Buffer.from([0, 1]).toString('base64') } });
    const pod = await createPod({
      volumes: [
        { name: 'all', configMap: { name: 'cfg', defaultMode: 0o600 } },
        { name: 'some', configMap: { name: 'cfg', items: [{ key: 'a', path: 'dir/a.txt', mode: 0o400 }] } },
      ],
    });
    const m = manager();
    const volumes = await m.setUpPodVolumes(pod);
    const all = volumes.get('all')!;
    assert.equal(all.readOnly, true);
    assert.equal(all.hostPath, join(root, 'pods', pod.metadata.uid!, 'volumes', 'kubernetes.io~configmap', 'all'));
    assert.equal(text(join(all.hostPath, 'a')), 'one');
    assert.deepEqual([...readFileSync(join(all.hostPath, 'bin'))], [0, 1]);
    assert.equal(mode(join(all.hostPath, 'a')), 0o600);
    const some = volumes.get('some')!.hostPath;
    assert.equal(text(join(some, 'dir', 'a.txt')), 'one');
    assert.equal(mode(join(some, 'dir', 'a.txt')), 0o400);
    assert.equal(existsSync(join(some, 'b')), false);

    const oldData = readlinkSync(join(all.hostPath, '..data'));
    await client.patch(core('configmaps', { namespace: NS, name: 'cfg' }), 'merge', { data: { a: 'changed', b: null } });
    await m.setUpPodVolumes(pod);
    assert.equal(text(join(all.hostPath, 'a')), 'changed');
    assert.equal(existsSync(join(all.hostPath, 'b')), false);
    assert.equal(existsSync(join(all.hostPath, oldData)), false);
  });

  it('fails on a missing required configMap or secret with kubelet\'s message, and tolerates optional ones', async () => {
    const m = manager();
    const missing = await createPod({ volumes: [{ name: 'x', configMap: { name: 'nope' } }] });
    await assert.rejects(m.setUpPodVolumes(missing), (error: unknown) => {
      assert.ok(error instanceof VolumeError);
      assert.equal(error.reason, 'FailedMount');
      assert.equal(error.message, 'MountVolume.SetUp failed for volume "x" : configmap "nope" not found');
      return true;
    });
    const missingSecret = await createPod({ volumes: [{ name: 's', secret: { secretName: 'nope' } }] });
    await assert.rejects(m.setUpPodVolumes(missingSecret), { message: 'MountVolume.SetUp failed for volume "s" : secret "nope" not found' });
    const optional = await createPod({ volumes: [{ name: 'x', configMap: { name: 'nope', optional: true } }, { name: 's', secret: { secretName: 'nope', optional: true } }] });
    const volumes = await m.setUpPodVolumes(optional);
    assert.ok(existsSync(join(volumes.get('x')!.hostPath, '..data')));
  });

  it('puts secrets on tmpfs with decoded data and modes', { skip: !isRoot && 'needs root for tmpfs' }, async () => {
    await client.create(core('secrets', { namespace: NS }), { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'sec' }, data: { password: Buffer.from('hunter2').toString('base64') } });
    const pod = await createPod({ volumes: [{ name: 'sec', secret: { secretName: 'sec', defaultMode: 0o400, items: [{ key: 'password', path: 'pw' }] } }] });
    const m = manager();
    const dir = (await m.setUpPodVolumes(pod)).get('sec')!.hostPath;
    assert.ok(dir.includes('kubernetes.io~secret'));
    assert.equal(await isMountPoint(dir), true);
    assert.equal(text(join(dir, 'pw')), 'hunter2');
    assert.equal(mode(join(dir, 'pw')), 0o400);
    await assert.rejects(
      m.setUpPodVolumes(await createPod({ volumes: [{ name: 'sec', secret: { secretName: 'sec', items: [{ key: 'nokey', path: 'x' }] } }] })),
      { message: 'MountVolume.SetUp failed for volume "sec" : references non-existent secret key: nokey' },
    );
    await m.tearDownPodVolumes(pod.metadata.uid!);
    assert.equal(await isMountPoint(dir), false);
    assert.equal(existsSync(join(root, 'pods', pod.metadata.uid!, 'volumes')), false);
  });

  it('projects downward API fields and resources, refreshed when the pod changes', async () => {
    const pod = await createPod({
      volumes: [{
        name: 'info', downwardAPI: {
          items: [
            { path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } },
            { path: 'name', fieldRef: { fieldPath: 'metadata.name' } },
            { path: 'cpu', resourceFieldRef: { containerName: 'app', resource: 'limits.cpu', divisor: '1m' } },
            { path: 'mem', resourceFieldRef: { containerName: 'app', resource: 'requests.memory', divisor: '1Mi' } },
          ],
        },
      }],
    }, { labels: { app: 'web' } });
    const m = manager();
    const dir = (await m.setUpPodVolumes(pod)).get('info')!.hostPath;
    assert.ok(dir.includes('kubernetes.io~downward-api'));
    assert.equal(text(join(dir, 'labels')), 'app="web"');
    assert.equal(text(join(dir, 'name')), pod.metadata.name);
    assert.equal(text(join(dir, 'cpu')), '500');
    assert.equal(text(join(dir, 'mem')), '64');
    const relabelled = await client.patch<KubeObject>(core('pods', { namespace: NS, name: pod.metadata.name }), 'merge', { metadata: { labels: { app: 'web', tier: 'front' } } });
    await m.setUpPodVolumes(relabelled);
    assert.equal(text(join(dir, 'labels')), 'app="web"\ntier="front"');
  });

  it('makes the kube-api-access projected volume (token from TokenRequest, CA, namespace) and refreshes the token at 80% of its life', { skip: !isRoot && 'needs root for tmpfs' }, async () => {
    await client.create(core('configmaps', { namespace: NS }), { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'kube-root-ca.crt' }, data: { 'ca.crt': server.caCert } }).catch(() => {});
    const pod = await createPod({ automountServiceAccountToken: true });
    const volume = (pod.spec as { volumes: { name: string; projected?: unknown }[] }).volumes.find((v) => v.name.startsWith('kube-api-access-'));
    assert.ok(volume, 'admission injected the kube-api-access volume');
    const m = manager();
    clock = new Date();
    const before = tokenRequests;
    const dir = (await m.setUpPodVolumes(pod)).get(volume.name)!.hostPath;
    assert.ok(dir.includes('kubernetes.io~projected'));
    assert.equal(await isMountPoint(dir), true);
    const token = text(join(dir, 'token'));
    assert.equal(token.split('.').length, 3);
    const claims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
    assert.equal(claims['kubernetes.io'].pod.uid, pod.metadata.uid);
    assert.equal(text(join(dir, 'ca.crt')), server.caCert);
    assert.equal(text(join(dir, 'namespace')), NS);
    assert.equal(mode(join(dir, 'token')), 0o644);
    assert.equal(tokenRequests, before + 1);

    await m.setUpPodVolumes(pod);
    assert.equal(tokenRequests, before + 1, 'a fresh token is reused');
    // 3607 s tokens: past 80% of the lifetime a new one is requested.
    clock = new Date(clock.getTime() + 0.81 * 3607 * 1000);
    await m.setUpPodVolumes(pod);
    assert.equal(tokenRequests, before + 2);
  });

  it('makes emptyDirs on disk and on a sized tmpfs', { skip: !isRoot && 'needs root for tmpfs' }, async () => {
    const pod = await createPod({ volumes: [{ name: 'scratch', emptyDir: {} }, { name: 'mem', emptyDir: { medium: 'Memory', sizeLimit: '1Mi' } }] });
    const m = manager();
    const volumes = await m.setUpPodVolumes(pod);
    const scratch = volumes.get('scratch')!.hostPath;
    assert.ok(scratch.endsWith('kubernetes.io~empty-dir/scratch'));
    assert.equal(mode(scratch), 0o777);
    assert.equal(volumes.get('scratch')!.readOnly, false);
    const mem = volumes.get('mem')!.hostPath;
    assert.equal(await isMountPoint(mem), true);
    const line = (await readFile('/proc/self/mountinfo', 'utf8')).split('\n').find((l) => l.split(' ')[4] === mem)!;
    assert.match(line, /tmpfs .*size=1024k/);
    await m.setUpPodVolumes(pod); // idempotent: no second mount
    assert.equal((await mountPointsUnder(mem)).length, 1);
    await m.tearDownPodVolumes(pod.metadata.uid!);
    assert.deepEqual(await mountPointsUnder(join(root, 'pods', pod.metadata.uid!)), []);
    assert.equal(existsSync(scratch), false);
  });

  it('checks hostPath types and reports failures as SetUp failures', async () => {
    const file = join(root, 'a-file');
    await writeFile(file, 'x');
    const m = manager();
    const ok = await createPod({ volumes: [{ name: 'h', hostPath: { path: file, type: 'File' } }] });
    assert.deepEqual((await m.setUpPodVolumes(ok)).get('h'), { hostPath: file, readOnly: false });
    const bad = await createPod({ volumes: [{ name: 'h', hostPath: { path: file, type: 'Directory' } }] });
    await assert.rejects(m.setUpPodVolumes(bad), { message: `MountVolume.SetUp failed for volume "h" : hostPath type check failed: ${file} is not a directory` });
  });

  it('applies fsGroup: group ownership, group read bits, setgid directories', { skip: !isRoot && 'needs root to chown' }, async () => {
    await client.create(core('configmaps', { namespace: NS }), { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'fsg' }, data: { k: 'v' } });
    const pod = await createPod({ securityContext: { fsGroup: 2345 }, volumes: [{ name: 'c', configMap: { name: 'fsg', defaultMode: 0o400 } }, { name: 'e', emptyDir: {} }] });
    const m = manager();
    const volumes = await m.setUpPodVolumes(pod);
    const c = volumes.get('c')!.hostPath;
    assert.equal(statSync(join(c, 'k')).gid, 2345);
    assert.equal(mode(join(c, 'k')), 0o440);
    assert.equal(lstatSync(join(c, 'k')).gid, 2345, 'the per-key symlink too');
    assert.ok(mode(c) & 0o2000, 'setgid on the volume dir');
    const e = volumes.get('e')!.hostPath;
    assert.equal(statSync(e).gid, 2345);
    assert.equal(mode(e), 0o2777);
  });

  it('resolves claims to their bound PV, and removes local-path dirs once their PV is gone', async () => {
    const storage = join(root, 'storage');
    const m = manager({ localPathRoots: [storage] });
    await client.create(core('persistentvolumeclaims', { namespace: NS }), {
      apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'data' },
      spec: { accessModes: ['ReadWriteOnce'], storageClassName: 'manual', resources: { requests: { storage: '1Gi' } } },
    });
    const pending = await createPod({ volumes: [{ name: 'd', persistentVolumeClaim: { claimName: 'data' } }] });
    await assert.rejects(m.setUpPodVolumes(pending), { message: `Unable to attach or mount volumes: unmounted volumes=[d], failed to process volumes=[d]: error processing PVC ${NS}/data: PVC is not bound` });

    const claim = await client.get<KubeObject>(core('persistentvolumeclaims', { namespace: NS, name: 'data' }));
    const pvPath = join(storage, 'pvc-1');
    await client.create(core('persistentvolumes'), {
      apiVersion: 'v1', kind: 'PersistentVolume', metadata: { name: 'pvc-1', annotations: { 'pv.kubernetes.io/provisioned-by': 'rancher.io/local-path' } },
      spec: {
        capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce'], storageClassName: 'manual', persistentVolumeReclaimPolicy: 'Delete',
        hostPath: { path: pvPath, type: 'DirectoryOrCreate' }, claimRef: { namespace: NS, name: 'data', uid: claim.metadata.uid },
      },
    });
    await client.update(core('persistentvolumeclaims', { namespace: NS, name: 'data' }), { ...claim, spec: { ...(claim.spec as object), volumeName: 'pvc-1' } });
    await client.patch(core('persistentvolumeclaims', { namespace: NS, name: 'data', subresource: 'status' }), 'merge', { status: { phase: 'Bound' } });

    const volumes = await m.setUpPodVolumes(pending);
    assert.deepEqual(volumes.get('d'), { hostPath: pvPath, readOnly: false });
    assert.equal(mode(pvPath), 0o777);
    await writeFile(join(pvPath, 'keep'), 'data');

    // A stray directory under the root that no PV names is removed; the live one stays.
    await mkdir(join(storage, 'pvc-orphan'));
    assert.deepEqual(await m.reclaimLocalPathVolumes(), [join(storage, 'pvc-orphan')]);
    assert.equal(text(join(pvPath, 'keep')), 'data');

    // Teardown never touches PV data; once the PV is deleted the directory goes.
    await m.tearDownPodVolumes(pending.metadata.uid!);
    assert.equal(text(join(pvPath, 'keep')), 'data');
    await client.delete(core('persistentvolumes', { name: 'pvc-1' }));
    assert.deepEqual(await m.reclaimLocalPathVolumes(), [pvPath]);
    assert.equal(existsSync(pvPath), false);
  });
});
