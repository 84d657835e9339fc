// Test support: a real API server in this process, the real REST client,
// and a kubelet on fakes of the runtime, network, volumes and images. Not a
// test file itself: imported by the kubelet's tests.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startInProcessServer, type InProcessServer } from '../../../../test/support/in-process-server.ts';
import { resources, type ApiClient, type KubeObject } from '../../../client/interface.ts';
import { createRestClient } from '../../../client/rest-client.ts';
import { waitFor as waitUntil } from '../../../util/wait-for.ts';
import { startKubelet, type Kubelet, type KubeletOptions } from '../kubelet.ts';
import type { MachineInfo } from '../machine.ts';
import { FakeImages, FakeNetwork, FakeVolumes } from './fakes.ts';
import { FakeRuntime, type FakeRuntimeOptions } from './fake-runtime.ts';

export const GiB = 1024 ** 3;

export function fakeMachine(overrides: Partial<MachineInfo> = {}): MachineInfo {
  return {
    cpus: 4, memoryBytes: 8 * GiB, memoryAvailableBytes: 6 * GiB, storageBytes: 100 * GiB, storageAvailableBytes: 80 * GiB,
    kernelVersion: '6.1.0-test', osImage: 'Debian GNU/Linux 12 (bookworm)', machineId: 'm', systemUuid: 's', bootId: 'b', architecture: 'amd64',
    ...overrides,
  };
}

export interface KubeletHarness {
  server: InProcessServer;
  client: ApiClient;
  runtime: FakeRuntime;
  network: FakeNetwork;
  volumes: FakeVolumes;
  images: FakeImages;
  dataDir: string;
  kubelet: Kubelet;
  /** Start another kubelet on the same fakes (an agent restart). */
  restart(): Promise<void>;
  createPod(pod: { name: string; namespace?: string; spec: Record<string, unknown>; metadata?: Record<string, unknown> }): Promise<KubeObject>;
  getPod(name: string, namespace?: string): Promise<KubeObject>;
  events(name: string): Promise<KubeObject[]>;
  close(): Promise<void>;
}

export async function startKubeletHarness(options: { runtime?: FakeRuntimeOptions; kubelet?: Partial<KubeletOptions>; machine?: MachineInfo } = {}): Promise<KubeletHarness> {
  const server = await startInProcessServer();
  const client = createRestClient({ server: server.url, caCert: server.caCert, token: server.token });
  const dataDir = mkdtempSync(join(tmpdir(), 'skiff-kubelet-'));
  const runtime = new FakeRuntime(options.runtime);
  const network = new FakeNetwork({ podCidr: '10.42.0.0/24' });
  const volumes = new FakeVolumes({ root: join(dataDir, 'fake-volumes') });
  const images = new FakeImages({ layerDir: join(dataDir, 'fake-layer') });
  await images.add('busybox', { Cmd: ['sh'], Env: ['PATH=/bin'] });
  const machine = options.machine ?? fakeMachine();
  const resolv = join(dataDir, 'host-resolv.conf');
  writeFileSync(resolv, 'nameserver 192.0.2.53\n');
  const start = () => startKubelet({
    client, nodeName: 'node-1', nodeIp: '192.0.2.10', dataDir, runtime, network, volumes, images,
    clusterDns: ['10.43.0.10'], hostResolvConfPath: resolv, machine: async () => machine,
    crashBackoff: { initialMs: 400, maxMs: 3000 }, pullBackoff: { initialMs: 2000, maxMs: 4000 },
    relistMs: 100, ...options.kubelet,
  });
  const harness: KubeletHarness = {
    server, client, runtime, network, volumes, images, dataDir,
    kubelet: await start(),
    async restart() {
      await harness.kubelet.stop();
      harness.kubelet = await start();
    },
    async createPod(pod) {
      const namespace = pod.namespace ?? 'default';
      return client.create({ ...resources.pods, namespace }, {
        apiVersion: 'v1', kind: 'Pod', metadata: { name: pod.name, namespace, ...pod.metadata },
        spec: { nodeName: 'node-1', ...pod.spec },
      });
    },
    getPod: (name, namespace = 'default') => client.get({ ...resources.pods, namespace, name }),
    async events(name) {
      const list = await client.list({ ...resources.events, namespace: 'default' });
      return list.items.filter((e) => (e.involvedObject as { name?: string }).name === name);
    },
    async close() {
      await harness.kubelet.stop();
      runtime.close();
      await client.close();
      await server.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return harness;
}

/** waitFor with a longer default (pod workers take a few steps). */
export const waitFor = <T>(what: string, check: Parameters<typeof waitUntil<T>>[1], timeoutMs = 15_000): Promise<T> => waitUntil(what, check, timeoutMs, 50);

type Status = { phase?: string; conditions?: { type: string; status: string; reason?: string }[]; containerStatuses?: any[]; initContainerStatuses?: any[]; [k: string]: unknown };
export const statusOfPod = (pod: KubeObject) => (pod.status ?? {}) as Status;
export const condition = (pod: KubeObject, type: string) => statusOfPod(pod).conditions?.find((c) => c.type === type);
