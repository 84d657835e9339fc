import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ALL_CAPABILITIES, DEFAULT_CAPABILITIES, cgroupResources, containerSpec, effectiveCapabilities, sandboxSpec, type HostFacts } from './oci-spec.ts';
import type { ContainerConfig, PodSandboxConfig } from './types.ts';

const host: HostFacts = { oomScoreAdjFloor: -1000, swapAccounting: true };
const pod: PodSandboxConfig = {
  podUid: 'u', namespace: 'ns', name: 'p', attempt: 0, hostname: 'p', hostNetwork: false, hostPID: false, hostIPC: false,
  netnsPath: '/run/netns/x', etcHostsPath: '/data/hosts', resolvConfPath: '/data/resolv.conf',
};
const container: ContainerConfig = {
  name: 'c', attempt: 0, image: { reference: 'r', imageId: 'i', layers: ['/l'], layerFormat: 'overlay' }, argv: ['sh'], env: ['A=1'], mounts: [], logPath: '/log',
};
type Spec = {
  process: { user: { uid: number; gid: number }; env: string[]; capabilities: { bounding: string[] }; oomScoreAdj?: number; noNewPrivileges: boolean };
  root: { readonly: boolean };
  hostname?: string;
  mounts: { destination: string; source: string; options: string[] }[];
  linux: { namespaces: { type: string; path?: string }[]; seccomp?: unknown; maskedPaths?: string[]; resources: { memory?: unknown; cpu?: unknown } };
};
const build = (config: Partial<ContainerConfig>, sandbox: Partial<PodSandboxConfig> = {}) =>
  containerSpec({ config: { ...container, ...config }, sandbox: { config: { ...pod, ...sandbox }, pid: 42, hostnameFile: '/sb/hostname', shmPath: '/sb/shm' }, cgroupsPath: '/skiff/pod/c', host }) as unknown as Spec;

describe('OCI spec', () => {
  it('gives containerd\'s default capabilities, with ALL and named adds/drops applied in its order', () => {
    assert.deepEqual(effectiveCapabilities({}), DEFAULT_CAPABILITIES);
    assert.deepEqual(effectiveCapabilities({ drop: ['ALL'], add: ['NET_ADMIN'] }), ['CAP_NET_ADMIN']);
    assert.deepEqual(effectiveCapabilities({ add: ['ALL'], drop: ['SYS_ADMIN'] }), ALL_CAPABILITIES.filter((c) => c !== 'CAP_SYS_ADMIN'));
    assert.ok(!effectiveCapabilities({ drop: ['chown'] }).includes('CAP_CHOWN'));
    assert.deepEqual(effectiveCapabilities({ privileged: true, drop: ['ALL'] }), ALL_CAPABILITIES);
  });

  it('joins the holder\'s IPC and UTS namespaces and the pod netns; host namespaces are not entered', () => {
    assert.deepEqual(build({}).linux.namespaces, [
      { type: 'pid' }, { type: 'ipc', path: '/proc/42/ns/ipc' }, { type: 'uts', path: '/proc/42/ns/uts' }, { type: 'mount' }, { type: 'network', path: '/run/netns/x' },
    ]);
    assert.deepEqual(build({}, { hostNetwork: true, hostPID: true, hostIPC: true, netnsPath: undefined }).linux.namespaces, [{ type: 'mount' }]);
    const holder = sandboxSpec({ config: pod, busybox: '/bin/busybox', hostnameFile: '/h', cgroupsPath: '/skiff/pod/s', host }) as unknown as Spec;
    assert.equal(holder.hostname, 'p');
    assert.deepEqual(holder.linux.namespaces.map((n) => n.type), ['pid', 'ipc', 'uts', 'mount', 'network']);
  });

  it('mounts /etc files from the sandbox unless the container mounts its own, and binds volumes with their options', () => {
    const spec = build({ mounts: [{ containerPath: '/etc/hosts', hostPath: '/vol/hosts' }, { containerPath: '/data', hostPath: '/vol/d', readOnly: true, propagation: 'rslave' }] });
    const byDest = new Map(spec.mounts.map((m) => [m.destination, m]));
    assert.equal(byDest.get('/etc/hosts')?.source, '/vol/hosts');
    assert.equal(byDest.get('/etc/resolv.conf')?.source, '/data/resolv.conf');
    assert.equal(byDest.get('/etc/hostname')?.source, '/sb/hostname');
    assert.equal(byDest.get('/dev/shm')?.source, '/sb/shm');
    assert.deepEqual(byDest.get('/data')?.options, ['rbind', 'ro', 'rslave']);
    for (const dest of ['/proc', '/dev', '/dev/pts', '/dev/mqueue', '/sys']) assert.ok(byDest.has(dest), dest);
  });

  it('maps security and resources', () => {
    const spec = build({
      security: { runAsUser: 1000, runAsGroup: 2000, readOnlyRootFilesystem: true, noNewPrivileges: true, seccomp: 'RuntimeDefault' },
      resources: { memoryLimitBytes: 1 << 20, cpuShares: 512, cpuQuotaMicros: 50_000, cpuPeriodMicros: 100_000, oomScoreAdj: -997 },
    });
    assert.deepEqual(spec.process.user, { uid: 1000, gid: 2000, additionalGids: undefined });
    assert.equal(spec.root.readonly, true);
    assert.equal(spec.process.noNewPrivileges, true);
    assert.ok(spec.linux.seccomp);
    assert.deepEqual(spec.linux.resources.memory, { limit: 1 << 20, swap: 1 << 20 });
    assert.deepEqual(spec.linux.resources.cpu, { shares: 512, quota: 50_000, period: 100_000 });
    assert.equal(spec.process.oomScoreAdj, -997);
    assert.equal(spec.process.env[0].startsWith('PATH='), true);
    const privileged = build({ security: { privileged: true, seccomp: 'RuntimeDefault' } });
    assert.equal(privileged.linux.seccomp, undefined);
    assert.equal(privileged.linux.maskedPaths, undefined);
  });

  it('respects what the host allows: no oom_score_adj below our own without CAP_SYS_RESOURCE, no swap limit without accounting', () => {
    const limited = containerSpec({
      config: { ...container, resources: { oomScoreAdj: -997, memoryLimitBytes: 100 } },
      sandbox: { config: pod, pid: 1, hostnameFile: '/h' }, cgroupsPath: '/c', host: { oomScoreAdjFloor: 0, swapAccounting: false },
    }) as unknown as Spec;
    assert.equal(limited.process.oomScoreAdj, 0);
    assert.deepEqual(cgroupResources({ memoryLimitBytes: 100 }, { host: { oomScoreAdjFloor: 0, swapAccounting: false } }).memory, { limit: 100 });
    assert.deepEqual(limited.linux.resources.memory, { limit: 100 });
  });
});
