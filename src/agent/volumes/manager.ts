// The node's VolumeManager: every volume of a pod made ready as a host path
// the runtime bind-mounts. Layout as kubelet's:
//   PODS/<uid>/volumes/kubernetes.io~empty-dir/<name>      (tmpfs when medium: Memory)
//   PODS/<uid>/volumes/kubernetes.io~configmap/<name>      atomic writer layout
//   PODS/<uid>/volumes/kubernetes.io~secret/<name>         tmpfs + atomic writer
//   PODS/<uid>/volumes/kubernetes.io~downward-api/<name>   atomic writer
//   PODS/<uid>/volumes/kubernetes.io~projected/<name>      tmpfs + atomic writer
// hostPath and persistentVolumeClaim volumes are the host paths themselves.
// setUpPodVolumes is idempotent and re-reads ConfigMaps, Secrets, tokens and
// pod metadata on every call, so running containers see updates.
import { chmod, mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { ApiClient, KubeObject } from '../../client/interface.ts';
import { parseQuantity } from '../../api/validation/quantity.ts';
import { writeAtomically } from './atomic-writer.ts';
import { applyFsGroup } from './fs-group.ts';
import { checkHostPathType } from './host-path.ts';
import { DEFAULT_LOCAL_PATH_ROOT, LocalPathReclaimer } from './local-path.ts';
import { mountPointsUnder, mountTmpfs, unmount } from './mounts.ts';
import { downwardPayload, fetchSource, keyPayload, projectedPayload, type DownwardContext } from './payloads.ts';
import { ClaimNotReadyError, resolveClaim } from './persistent.ts';
import { ServiceAccountTokens } from './tokens.ts';
import { DEFAULT_FILE_MODE, type Payload, type Pod, type PodVolume } from './types-internal.ts';
import { VolumeError, type MountedVolume, type VolumeManager } from './types.ts';

export interface HostVolumeManagerOptions {
  client: ApiClient;
  /** DATA/pods: each pod's volumes go under <podsDir>/<uid>/volumes. */
  podsDir: string;
  nodeName: string;
  now?: () => Date;
  /** Where local-path volumes of this node live (default /var/lib/skiff/storage); swept for orphans. */
  localPathRoots?: string[];
}

/** What one volume's setup needs besides the volume itself. */
interface SetUpContext extends DownwardContext {
  volumesDir: string;
  fsGroup?: number;
  fsGroupChangePolicy?: string;
  /** PV host paths this pod uses. */
  persistentPaths: Set<string>;
}

const EMPTY_DIR_MODE = 0o777;

export class HostVolumeManager implements VolumeManager {
  private readonly client: ApiClient;
  private readonly podsDir: string;
  private readonly nodeName: string;
  private readonly now: () => Date;
  private readonly tokens: ServiceAccountTokens;
  private readonly reclaimer: LocalPathReclaimer;
  /** Pod uid → host paths of its persistent volumes (never swept while listed). */
  private readonly persistentInUse = new Map<string, Set<string>>();
  /** One setup or teardown per pod at a time: two atomic writes into one volume must not interleave. */
  private readonly podLocks = new Map<string, Promise<unknown>>();

  constructor(options: HostVolumeManagerOptions) {
    this.client = options.client;
    this.podsDir = options.podsDir;
    this.nodeName = options.nodeName;
    this.now = options.now ?? (() => new Date());
    this.tokens = new ServiceAccountTokens({ client: this.client, now: this.now });
    this.reclaimer = new LocalPathReclaimer({
      client: this.client,
      roots: options.localPathRoots ?? [DEFAULT_LOCAL_PATH_ROOT],
      inUse: () => new Set([...this.persistentInUse.values()].flatMap((paths) => [...paths])),
    });
  }

  setUpPodVolumes(pod: KubeObject): Promise<Map<string, MountedVolume>> {
    return this.exclusive(pod.metadata.uid!, () => this.setUp(pod as Pod));
  }

  tearDownPodVolumes(podUid: string): Promise<void> {
    return this.exclusive(podUid, () => this.tearDown(podUid));
  }

  /**
   * Remove the directories of local-path volumes whose PersistentVolume is
   * gone (reclaim policy Delete). The kubelet calls this in its housekeeping;
   * teardown calls it too.
   */
  reclaimLocalPathVolumes(): Promise<string[]> {
    return this.reclaimer.sweep();
  }

  podVolumesDir(podUid: string): string {
    return join(this.podsDir, podUid, 'volumes');
  }

  private async exclusive<T>(podUid: string, work: () => Promise<T>): Promise<T> {
    const previous = this.podLocks.get(podUid) ?? Promise.resolve();
    const next = previous.catch(() => {}).then(work);
    this.podLocks.set(podUid, next);
    try {
      return await next;
    } finally {
      if (this.podLocks.get(podUid) === next) this.podLocks.delete(podUid);
    }
  }

  private async setUp(pod: Pod): Promise<Map<string, MountedVolume>> {
    const uid = pod.metadata.uid!;
    let allocatable: Promise<Record<string, string | number>> | undefined;
    const context: SetUpContext = {
      pod,
      volumesDir: this.podVolumesDir(uid),
      fsGroup: pod.spec?.securityContext?.fsGroup,
      fsGroupChangePolicy: pod.spec?.securityContext?.fsGroupChangePolicy,
      persistentPaths: new Set(),
      nodeAllocatable: () => (allocatable ??= this.nodeAllocatable()),
    };
    const mounted = new Map<string, MountedVolume>();
    let firstError: VolumeError | undefined;
    // Every volume is attempted (those that can be made are ready for the next sync); the first failure is reported.
    for (const volume of pod.spec?.volumes ?? []) {
      try {
        mounted.set(volume.name, await this.setUpVolume(context, volume));
      } catch (error) {
        firstError ??= this.describeFailure(pod, volume, error);
      }
    }
    this.persistentInUse.set(uid, new Set([...(this.persistentInUse.get(uid) ?? []), ...context.persistentPaths]));
    if (firstError) throw firstError;
    return mounted;
  }

  /** kubelet's FailedMount texts: claims fail before SetUp ("Unable to attach or mount volumes"), the rest in SetUp. */
  private describeFailure(pod: Pod, volume: PodVolume, error: unknown): VolumeError {
    if (error instanceof VolumeError) return error;
    const message = (error as Error)?.message ?? String(error);
    if (error instanceof ClaimNotReadyError) {
      const claimName = volume.persistentVolumeClaim?.claimName ?? `${pod.metadata.name}-${volume.name}`;
      return new VolumeError(`Unable to attach or mount volumes: unmounted volumes=[${volume.name}], failed to process volumes=[${volume.name}]: error processing PVC ${pod.metadata.namespace}/${claimName}: ${message}`);
    }
    return new VolumeError(`MountVolume.SetUp failed for volume "${volume.name}" : ${message}`);
  }

  private async setUpVolume(context: SetUpContext, volume: PodVolume): Promise<MountedVolume> {
    const namespace = context.pod.metadata.namespace!;
    if (volume.emptyDir) return this.setUpEmptyDir(context, volume);
    if (volume.hostPath) {
      await checkHostPathType(volume.hostPath.path, volume.hostPath.type);
      return { hostPath: volume.hostPath.path, readOnly: false };
    }
    if (volume.configMap) {
      const source = volume.configMap;
      const optional = source.optional === true;
      const object = await fetchSource({ client: this.client, kind: 'configmap', namespace, name: source.name ?? '', optional });
      const payload = keyPayload({ kind: 'configmap', object, items: source.items, defaultMode: source.defaultMode ?? DEFAULT_FILE_MODE, optional });
      return this.writeVolume({ context, plugin: 'configmap', name: volume.name, payload, memory: false });
    }
    if (volume.secret) {
      const source = volume.secret;
      const optional = source.optional === true;
      const object = await fetchSource({ client: this.client, kind: 'secret', namespace, name: source.secretName ?? '', optional });
      const payload = keyPayload({ kind: 'secret', object, items: source.items, defaultMode: source.defaultMode ?? DEFAULT_FILE_MODE, optional });
      return this.writeVolume({ context, plugin: 'secret', name: volume.name, payload, memory: true });
    }
    if (volume.downwardAPI) {
      const payload = await downwardPayload({ context, items: volume.downwardAPI.items ?? [], defaultMode: volume.downwardAPI.defaultMode ?? DEFAULT_FILE_MODE });
      return this.writeVolume({ context, plugin: 'downward-api', name: volume.name, payload, memory: false });
    }
    if (volume.projected) {
      const payload = await projectedPayload({
        context: { ...context, client: this.client, tokens: this.tokens, hasFsGroup: context.fsGroup !== undefined },
        sources: volume.projected.sources ?? [],
        defaultMode: volume.projected.defaultMode ?? DEFAULT_FILE_MODE,
      });
      return this.writeVolume({ context, plugin: 'projected', name: volume.name, payload, memory: true });
    }
    if (volume.persistentVolumeClaim || volume.ephemeral) {
      // A generic ephemeral volume's claim is named <pod>-<volume> (made by the ephemeral-volume controller).
      const claimName = volume.persistentVolumeClaim?.claimName ?? `${context.pod.metadata.name}-${volume.name}`;
      const claim = await resolveClaim({ client: this.client, namespace, claimName });
      context.persistentPaths.add(claim.path);
      if (claim.localPath) this.reclaimer.noteVolumePath(claim.path);
      return { hostPath: claim.path, readOnly: volume.persistentVolumeClaim?.readOnly === true };
    }
    throw new Error('no volume plugin matched');
  }

  private async setUpEmptyDir(context: SetUpContext, volume: PodVolume): Promise<MountedVolume> {
    const dir = join(context.volumesDir, 'kubernetes.io~empty-dir', volume.name);
    const medium = volume.emptyDir?.medium ?? '';
    if (medium !== '' && medium !== 'Memory') throw new Error(`emptyDir medium ${medium} is not supported by skiff`);
    const created = !(await isDirectory(dir));
    if (created) {
      await mkdir(dir, { recursive: true, mode: EMPTY_DIR_MODE });
      await chmod(dir, EMPTY_DIR_MODE);
    }
    if (medium === 'Memory') await mountTmpfs({ dir, sizeBytes: bytesOf(volume.emptyDir?.sizeLimit) });
    // Ownership is set once, when the volume is made: later the pod's own files are its business.
    if (created && context.fsGroup !== undefined) await applyFsGroup({ dir, gid: context.fsGroup, readOnly: false, changePolicy: context.fsGroupChangePolicy });
    return { hostPath: dir, readOnly: false };
  }

  private async writeVolume(options: { context: SetUpContext; plugin: string; name: string; payload: Payload; memory: boolean }): Promise<MountedVolume> {
    const { context, payload } = options;
    const dir = join(context.volumesDir, `kubernetes.io~${options.plugin}`, options.name);
    await mkdir(dir, { recursive: true, mode: 0o750 });
    if (options.memory) await mountTmpfs({ dir });
    const written = await writeAtomically({ targetDir: dir, payload, now: this.now });
    if (written && context.fsGroup !== undefined) await applyFsGroup({ dir, gid: context.fsGroup, readOnly: true });
    return { hostPath: dir, readOnly: true };
  }

  private async tearDown(podUid: string): Promise<void> {
    const volumesDir = this.podVolumesDir(podUid);
    for (const mountPoint of await mountPointsUnder(volumesDir)) await unmount(mountPoint);
    const left = await mountPointsUnder(volumesDir);
    // Never delete through a mount: what is mounted there is not ours to remove.
    if (left.length) throw new Error(`volumes of pod ${podUid}: still mounted after unmount: ${left.join(', ')}`);
    await rm(volumesDir, { recursive: true, force: true });
    this.tokens.forgetPod(podUid);
    this.persistentInUse.delete(podUid);
    try {
      await this.reclaimer.sweep();
    } catch {
      // Best effort here: the kubelet's housekeeping sweeps again.
    }
  }

  private async nodeAllocatable(): Promise<Record<string, string | number>> {
    const node = await this.client.get<KubeObject & { status?: { allocatable?: Record<string, string> } }>({ group: '', version: 'v1', resource: 'nodes', name: this.nodeName });
    return node.status?.allocatable ?? {};
  }
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

/** A sizeLimit in whole bytes (rounded up), undefined when unset or zero. */
function bytesOf(limit: string | number | undefined): bigint | undefined {
  if (limit === undefined) return undefined;
  const q = parseQuantity(limit);
  if (!q || q.num <= 0n) return undefined;
  return (q.num + q.den - 1n) / q.den;
}

export function createVolumeManager(options: HostVolumeManagerOptions): HostVolumeManager {
  return new HostVolumeManager(options);
}
