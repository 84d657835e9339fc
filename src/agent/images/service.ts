// ImageService: the one object the agent (and `skiff images`) uses. It owns
// the store under DATA/images, pulls through the registry client, applies
// imagePullPolicy, coalesces concurrent pulls, hands the runtime the unpacked
// layers, and frees disk by kubelet's image GC rules.
import { statfs } from 'node:fs/promises';
import { importArchive } from './archive.ts';
import type { RegistryCredentials } from './credentials.ts';
import { invalidImageName, ImagePullError, neverPull, pullFailed } from './errors.ts';
import { installImage, type InstallContext, Singleflight } from './install.ts';
import { hostPlatform, type Platform } from './oci.ts';
import { defaultPullPolicy, type PullPolicy, shouldPull } from './policy.ts';
import { resolveOnRegistry } from './pull.ts';
import { formatReference, type ImageReference, parseReference, withDefaultTag } from './reference.ts';
import { EMPTY_REGISTRIES_CONFIG, type RegistriesConfig } from './registries-config.ts';
import { RegistryClient } from './registry-client.ts';
import { type ImageRecord, ImageStore, type LayerInfo } from './store.ts';
import { canWriteOverlayWhiteouts } from './unpack.ts';
import { join } from 'node:path';

export interface ImageServiceOptions {
  /** The agent's data dir; images live in DATA/images. */
  dataDir: string;
  registriesConfig?: RegistriesConfig;
  /** Which manifest of an index to run (default: this host, e.g. linux/amd64). */
  platform?: Platform;
  userAgent?: string;
}

export interface DiskStats {
  capacityBytes: number;
  availableBytes: number;
}

export interface GarbageCollectOptions {
  /** True for images a container (running or not yet removed) uses: never removed. */
  inUse: (image: ImageRecord) => boolean;
  /** kubelet's imageGCHighThresholdPercent: collect when disk usage reaches it. */
  highThresholdPercent?: number;
  /** kubelet's imageGCLowThresholdPercent: free space until usage is below it. */
  lowThresholdPercent?: number;
  /** kubelet's imageMinimumGCAge: images pulled or used more recently stay. */
  minAgeMs?: number;
  /** The filesystem's numbers (default: statfs of the image store). */
  diskStats?: () => Promise<DiskStats>;
}

export class ImageService {
  readonly store: ImageStore;
  private readonly ctx: InstallContext;
  private readonly client: RegistryClient;
  private readonly registriesConfig: RegistriesConfig;
  private readonly pulls = new Singleflight<ImageRecord>();

  private constructor(options: { store: ImageStore; overlayWhiteouts: boolean; config: ImageServiceOptions }) {
    this.store = options.store;
    this.client = new RegistryClient({ userAgent: options.config.userAgent });
    this.registriesConfig = options.config.registriesConfig ?? EMPTY_REGISTRIES_CONFIG;
    this.ctx = {
      store: this.store,
      platform: options.config.platform ?? hostPlatform(),
      overlayWhiteouts: options.overlayWhiteouts,
      blobs: new Singleflight(),
      layers: new Singleflight(),
      pinned: new Map(),
    };
  }

  static async open(options: ImageServiceOptions): Promise<ImageService> {
    const store = new ImageStore({ root: join(options.dataDir, 'images') });
    const overlayWhiteouts = await canWriteOverlayWhiteouts(await store.tempDir('probe'));
    return new ImageService({ store, overlayWhiteouts, config: options });
  }

  /** `overlay` when layers carry overlayfs whiteout markers (stack them), else `plain` (flatten them). */
  get layerFormat(): 'overlay' | 'plain' {
    return this.ctx.overlayWhiteouts ? 'overlay' : 'plain';
  }

  close(): void {
    this.client.close();
  }

  /**
   * What kubelet does before starting a container: honour the pull policy
   * (default by tag when not given), pull if needed, and return the image.
   * Throws ImagePullError (ErrImagePull, ErrImageNeverPull, InvalidImageName).
   */
  async ensureImage(options: { image: string; pullPolicy?: PullPolicy; credentials?: RegistryCredentials[] }): Promise<ImageRecord> {
    const reference = this.parse(options.image);
    const key = formatReference(reference);
    const policy = options.pullPolicy ?? defaultPullPolicy(options.image);
    const present = this.complete(this.store.getRecord(key));
    let record: ImageRecord;
    if (shouldPull({ policy, present: present !== undefined })) {
      record = await this.pullReference({ image: options.image, reference, credentials: options.credentials });
    } else if (present) {
      record = present;
    } else {
      throw neverPull(options.image);
    }
    return this.touch(record);
  }

  /** Pulls unconditionally (as `Always` does). */
  async pull(options: { image: string; credentials?: RegistryCredentials[] }): Promise<ImageRecord> {
    return this.pullReference({ image: options.image, reference: this.parse(options.image), credentials: options.credentials });
  }

  private parse(image: string): ImageReference {
    try {
      return withDefaultTag(parseReference(image));
    } catch (cause) {
      throw invalidImageName({ image, cause });
    }
  }

  /** A record whose layers are all unpacked (a half-removed image counts as absent). */
  private complete(record: ImageRecord | undefined): ImageRecord | undefined {
    if (!record) return undefined;
    return record.layers.every((l) => this.store.layerInfo(l.diffId)) ? record : undefined;
  }

  private pullReference(options: { image: string; reference: ImageReference; credentials?: RegistryCredentials[] }): Promise<ImageRecord> {
    const name = formatReference(options.reference);
    // Concurrent pulls of one image with the same credentials share one download.
    const key = `${name}|${JSON.stringify(options.credentials ?? [])}`;
    return this.pulls.do(key, async () => {
      try {
        const resolved = await resolveOnRegistry({ client: this.client, config: this.registriesConfig, reference: options.reference, credentials: options.credentials });
        return await installImage(this.ctx, { reference: options.reference, source: resolved.source, top: resolved.top });
      } catch (cause) {
        if (cause instanceof ImagePullError) throw cause;
        throw pullFailed({ image: options.image, reference: name, cause });
      }
    });
  }

  private touch(record: ImageRecord): ImageRecord {
    const touched = { ...record, lastUsedAt: new Date().toISOString() };
    this.store.putRecord(touched);
    return touched;
  }

  list(): ImageRecord[] {
    return this.store.listRecords();
  }

  /** The record for an image as written in a pod spec (`busybox`, `host:5000/x:1`), if stored. */
  get(image: string): ImageRecord | undefined {
    return this.store.getRecord(formatReference(this.parse(image)));
  }

  /** Removes the image's record, then any blob or layer no other image shares. False when absent. */
  async remove(image: string): Promise<boolean> {
    const removed = this.store.deleteRecord(formatReference(this.parse(image)));
    if (removed) await this.store.prune({ keep: this.ctx.pinned.keys() });
    return removed;
  }

  /** The unpacked layer directories to stack as overlayfs lowerdirs, topmost first. */
  layersFor(image: string | ImageRecord): string[] {
    return this.layerInfosFor(image).map((info) => this.store.layerFs(info.diffId));
  }

  /** Each layer's directory and whiteouts, topmost first (for flattening where overlayfs cannot be used). */
  layerInfosFor(image: string | ImageRecord): (LayerInfo & { dir: string })[] {
    const record = typeof image === 'string' ? this.get(image) : image;
    if (!record) throw new Error(`image "${typeof image === 'string' ? image : ''}" is not present`);
    return record.layers.map((layer) => {
      const info = this.store.layerInfo(layer.diffId);
      if (!info) throw new Error(`layer ${layer.diffId} of image "${record.reference}" is not unpacked`);
      return { ...info, dir: this.store.layerFs(layer.diffId) };
    }).reverse();
  }

  /** `skiff images import`: an OCI layout tar or a `docker save` archive. */
  async importArchive(options: { file: string; name?: string }): Promise<ImageRecord[]> {
    return importArchive(this.ctx, options);
  }

  /**
   * kubelet's image GC: when disk usage reaches the high threshold, remove
   * unused images, least recently used first, until usage is below the low
   * threshold.
   */
  async garbageCollect(options: GarbageCollectOptions): Promise<{ freedBytes: number; removed: string[] }> {
    const high = options.highThresholdPercent ?? 85;
    const low = options.lowThresholdPercent ?? 80;
    const minAgeMs = options.minAgeMs ?? 120_000;
    const disk = await (options.diskStats ?? (() => diskStatsOf(this.store.root)))();
    const usagePercent = 100 - Math.floor((disk.availableBytes * 100) / disk.capacityBytes);
    if (usagePercent < high) return { freedBytes: 0, removed: [] };
    const toFree = Math.floor((disk.capacityBytes * (100 - low)) / 100) - disk.availableBytes;
    const now = Date.now();
    const candidates = this.list()
      .filter((r) => !options.inUse(r))
      .filter((r) => now - Math.max(Date.parse(r.lastUsedAt), Date.parse(r.pulledAt)) >= minAgeMs)
      .sort((a, b) => Date.parse(a.lastUsedAt) - Date.parse(b.lastUsedAt) || Date.parse(a.pulledAt) - Date.parse(b.pulledAt));
    let freedBytes = 0;
    const removed: string[] = [];
    for (const record of candidates) {
      if (freedBytes >= toFree) break;
      this.store.deleteRecord(record.reference);
      removed.push(record.reference);
      freedBytes += await this.store.prune({ keep: this.ctx.pinned.keys() });
    }
    return { freedBytes, removed };
  }
}

async function diskStatsOf(path: string): Promise<DiskStats> {
  const s = await statfs(path);
  return { capacityBytes: s.blocks * s.bsize, availableBytes: s.bavail * s.bsize };
}
