// Fake pod network, volume manager and image service for the kubelet's tests.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { KubeObject } from '../../../client/interface.ts';
import { ImagePullError } from '../../images/errors.ts';
import type { ImageConfig } from '../../images/oci.ts';
import type { PullPolicy } from '../../images/policy.ts';
import { normalizeReference } from '../../images/reference.ts';
import type { ImageRecord } from '../../images/store.ts';
import type { PodNetwork, PodNetworkRef, PodNetworkStatus } from '../../network/types.ts';
import { VolumeError, type MountedVolume, type VolumeManager } from '../../volumes/types.ts';
import type { KubeletImages } from '../context.ts';

export class FakeNetwork implements PodNetwork {
  readonly pods = new Map<string, PodNetworkStatus>();
  readonly calls: string[] = [];
  private next = 2;
  private readonly prefix: string;

  constructor(options: { podCidr: string }) {
    this.prefix = options.podCidr.split('.').slice(0, 3).join('.');
  }

  async setUpPod(pod: PodNetworkRef): Promise<PodNetworkStatus> {
    this.calls.push(`setUp ${pod.name}`);
    let status = this.pods.get(pod.podUid);
    if (!status) {
      status = { netnsPath: `/var/run/netns/fake-${pod.podUid}`, ips: [`${this.prefix}.${this.next++}`] };
      this.pods.set(pod.podUid, status);
    }
    return status;
  }

  async tearDownPod(pod: PodNetworkRef): Promise<void> {
    this.calls.push(`tearDown ${pod.name}`);
    this.pods.delete(pod.podUid);
  }

  async podStatus(pod: PodNetworkRef): Promise<PodNetworkStatus | undefined> {
    return this.pods.get(pod.podUid);
  }
}

/** Every volume is an empty directory under `root`; `failing` volume names fail with FailedMount. */
export class FakeVolumes implements VolumeManager {
  readonly failing = new Set<string>();
  readonly tornDown: string[] = [];
  private readonly root: string;

  constructor(options: { root: string }) {
    this.root = options.root;
  }

  async setUpPodVolumes(pod: KubeObject): Promise<Map<string, MountedVolume>> {
    const out = new Map<string, MountedVolume>();
    for (const volume of ((pod.spec as { volumes?: { name: string; configMap?: unknown }[] }).volumes ?? [])) {
      if (this.failing.has(volume.name)) throw new VolumeError(`MountVolume.SetUp failed for volume "${volume.name}" : configmap "${volume.name}" not found`);
      const hostPath = join(this.root, pod.metadata.uid ?? '', volume.name);
      await mkdir(hostPath, { recursive: true });
      out.set(volume.name, { hostPath, readOnly: volume.configMap !== undefined });
    }
    return out;
  }

  async tearDownPodVolumes(podUid: string): Promise<void> {
    this.tornDown.push(podUid);
  }
}

/** Images that "exist in the registry" (`add`), pulled on demand; others fail as a 404 would. */
export class FakeImages implements KubeletImages {
  readonly layerFormat = 'overlay' as const;
  readonly pulls: string[] = [];
  private readonly registry = new Map<string, ImageConfig['config']>();
  private readonly stored = new Map<string, ImageRecord>();
  private readonly layerDir: string;
  /** Delay of each pull (ms). */
  pullDelayMs = 0;

  constructor(options: { layerDir: string }) {
    this.layerDir = options.layerDir;
  }

  /** An image the fake registry serves; `passwd` goes into its only layer's etc/passwd. */
  async add(image: string, config: ImageConfig['config'] = {}, passwd?: string): Promise<void> {
    this.registry.set(normalizeReference(image), config);
    if (passwd !== undefined) {
      await mkdir(join(this.layerDir, 'etc'), { recursive: true });
      await writeFile(join(this.layerDir, 'etc', 'passwd'), passwd);
    }
  }

  async ensureImage(options: { image: string; pullPolicy?: PullPolicy }): Promise<ImageRecord> {
    const key = normalizeReference(options.image);
    const present = this.stored.get(key);
    if (options.pullPolicy === 'Never' || (options.pullPolicy === 'IfNotPresent' && present)) {
      if (present) return present;
      throw new ImagePullError({ reason: 'ErrImageNeverPull', image: options.image, message: `Container image "${options.image}" is not present with pull policy of Never` });
    }
    this.pulls.push(key);
    if (this.pullDelayMs) await new Promise((resolve) => setTimeout(resolve, this.pullDelayMs));
    const config = this.registry.get(key);
    if (!config) {
      throw new ImagePullError({ reason: 'ErrImagePull', image: options.image, message: `failed to pull and unpack image "${key}": failed to resolve reference "${key}": ${key}: not found` });
    }
    const [repository] = key.split(':');
    const record: ImageRecord = {
      reference: key, repository: repository!, tag: key.split(':')[1], digest: `sha256:${'a'.repeat(64)}`, manifestDigest: `sha256:${'b'.repeat(64)}`,
      imageId: `sha256:${'c'.repeat(64)}`, config: { config, rootfs: { type: 'layers', diff_ids: [] } }, layers: [], size: 1234, unpackedSize: 4321,
      pulledAt: new Date().toISOString(), lastUsedAt: new Date().toISOString(),
    };
    this.stored.set(key, record);
    return record;
  }

  get(image: string): ImageRecord | undefined {
    return this.stored.get(normalizeReference(image));
  }

  list(): ImageRecord[] {
    return [...this.stored.values()];
  }

  layersFor(): string[] {
    return [this.layerDir];
  }
}
