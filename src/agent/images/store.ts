// The content-addressed image store under DATA/images, shared by every pod:
//
//   blobs/sha256/<hex>       manifests, configs and compressed layers, by digest
//   layers/<hex>/fs          a layer unpacked once, keyed by its diffID (an overlayfs lowerdir)
//   layers/<hex>/layer.json  what unpacking found (size, whiteouts, opaque dirs)
//   records/<hash>.json      one image record per reference
//   tmp/<pid>/               downloads and unpacks in progress of one process
//                            (removed on open once that process is gone)
//
// A blob is written to tmp/, verified, then renamed into place, so a file in
// blobs/ always matches its name; layers are unpacked into tmp/ and renamed
// the same way. Records are written whole (temp file + rename), so another
// process (`skiff images ls` while an agent runs) never sees half a record.
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DigestMismatchError, digestHex, HashingStream, verifyBytes } from './digest.ts';
import type { ImageConfig } from './oci.ts';

export interface LayerRecord {
  /** Digest of the blob as stored (compressed or not). */
  digest: string;
  /** Digest of the uncompressed tar: names the unpacked directory. */
  diffId: string;
  size: number;
  mediaType: string;
}

export interface ImageRecord {
  /** Normalised reference, the record's key: `docker.io/library/busybox:latest`. */
  reference: string;
  /** `docker.io/library/busybox` */
  repository: string;
  tag?: string;
  /** What the reference resolved to (an index or a manifest): `repository@digest` is the repo digest. */
  digest: string;
  /** The platform's manifest (equals `digest` for single-platform images). */
  manifestDigest: string;
  /** The config's digest, as containerd reports an image id. */
  imageId: string;
  config: ImageConfig;
  /** Bottom layer first, as in the manifest. */
  layers: LayerRecord[];
  /** Bytes of content (manifests, config, layer blobs). */
  size: number;
  /** Bytes of the unpacked layers. */
  unpackedSize: number;
  pulledAt: string;
  lastUsedAt: string;
}

export interface LayerInfo {
  diffId: string;
  size: number;
  /** Paths (relative to the layer root) this layer deletes from the layers below. */
  whiteouts: string[];
  /** Directories whose lower contents this layer hides. */
  opaqueDirs: string[];
  /** `overlay`: whiteouts exist as overlayfs markers in fs/; `plain`: only listed here. */
  format: 'overlay' | 'plain';
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class ImageStore {
  readonly root: string;
  /** This process's scratch space (same filesystem as the store, so renames are atomic). */
  private readonly tmp: string;

  constructor(options: { root: string }) {
    this.root = options.root;
    for (const dir of ['blobs/sha256', 'layers', 'records', 'tmp']) mkdirSync(join(this.root, dir), { recursive: true, mode: 0o700 });
    // Leftovers of processes that died mid-pull; a live process (an agent while `skiff images` runs) keeps its own.
    for (const name of readdirSync(join(this.root, 'tmp'))) {
      if (!/^\d+$/.test(name) || !processAlive(Number(name))) rmSync(join(this.root, 'tmp', name), { recursive: true, force: true });
    }
    this.tmp = join(this.root, 'tmp', String(process.pid));
    mkdirSync(this.tmp, { recursive: true, mode: 0o700 });
  }

  blobPath(digest: string): string {
    return join(this.root, 'blobs/sha256', digestHex(digest));
  }

  hasBlob(digest: string): boolean {
    return existsSync(this.blobPath(digest));
  }

  blobSize(digest: string): number {
    return statSync(this.blobPath(digest)).size;
  }

  readBlob(digest: string): Buffer {
    return readFileSync(this.blobPath(digest));
  }

  /** Streams `source` into the store; it lands under its digest only if digest (and size, when given) match. */
  async writeBlob(options: { digest: string; size?: number; source: Readable; what: string }): Promise<void> {
    const { digest, size, source, what } = options;
    const target = this.blobPath(digest);
    const temp = join(this.tmp, `blob-${randomBytes(8).toString('hex')}`);
    const hashing = new HashingStream();
    try {
      await pipeline(source, hashing, createWriteStream(temp, { mode: 0o600 }));
      if (size !== undefined && hashing.bytes !== size) throw new DigestMismatchError(`${what} ${digest}: size ${hashing.bytes} does not match the expected ${size}`);
      if (hashing.digest() !== digest) throw new DigestMismatchError(`${what}: digest mismatch: expected ${digest}, got ${hashing.digest()}`);
      await rename(temp, target);
    } finally {
      await rm(temp, { force: true });
    }
  }

  /** Stores bytes already in memory (manifests, configs) after verifying them. */
  writeBlobBytes(options: { digest: string; size?: number; bytes: Uint8Array; what: string }): void {
    verifyBytes(options);
    if (this.hasBlob(options.digest)) return;
    const temp = join(this.tmp, `blob-${randomBytes(8).toString('hex')}`);
    writeFileSync(temp, options.bytes, { mode: 0o600 });
    renameSync(temp, this.blobPath(options.digest));
  }

  async tempDir(prefix: string): Promise<string> {
    return mkdtemp(join(this.tmp, `${prefix}-`));
  }

  layerRoot(diffId: string): string {
    return join(this.root, 'layers', digestHex(diffId));
  }

  /** The unpacked layer's root filesystem: what the runtime stacks as a lowerdir. */
  layerFs(diffId: string): string {
    return join(this.layerRoot(diffId), 'fs');
  }

  layerInfo(diffId: string): LayerInfo | undefined {
    try {
      return JSON.parse(readFileSync(join(this.layerRoot(diffId), 'layer.json'), 'utf8')) as LayerInfo;
    } catch {
      return undefined;
    }
  }

  /** Moves a finished unpack (a dir holding fs/) into place under its diffID. */
  async commitLayer(options: { staged: string; info: LayerInfo }): Promise<void> {
    writeFileSync(join(options.staged, 'layer.json'), JSON.stringify(options.info));
    const target = this.layerRoot(options.info.diffId);
    if (this.layerInfo(options.info.diffId)) {
      await rm(options.staged, { recursive: true, force: true });
      return;
    }
    await rm(target, { recursive: true, force: true });
    await rename(options.staged, target);
  }

  private recordPath(reference: string): string {
    return join(this.root, 'records', `${createHash('sha256').update(reference).digest('hex')}.json`);
  }

  getRecord(reference: string): ImageRecord | undefined {
    try {
      return JSON.parse(readFileSync(this.recordPath(reference), 'utf8')) as ImageRecord;
    } catch {
      return undefined;
    }
  }

  putRecord(record: ImageRecord): void {
    const temp = join(this.tmp, `record-${randomBytes(8).toString('hex')}`);
    writeFileSync(temp, JSON.stringify(record, null, 1), { mode: 0o600 });
    renameSync(temp, this.recordPath(record.reference));
  }

  deleteRecord(reference: string): boolean {
    const path = this.recordPath(reference);
    if (!existsSync(path)) return false;
    rmSync(path);
    return true;
  }

  listRecords(): ImageRecord[] {
    const records: ImageRecord[] = [];
    for (const name of readdirSync(join(this.root, 'records'))) {
      if (!name.endsWith('.json')) continue;
      try {
        records.push(JSON.parse(readFileSync(join(this.root, 'records', name), 'utf8')) as ImageRecord);
      } catch {
        // A record removed between readdir and read: nothing to list.
      }
    }
    return records.sort((a, b) => a.reference.localeCompare(b.reference));
  }

  /**
   * Deletes blobs and unpacked layers no record refers to (except `keep`,
   * digests of pulls in progress). Returns the bytes freed.
   */
  async prune(options: { keep?: Iterable<string> } = {}): Promise<number> {
    const wanted = new Set<string>(options.keep ?? []);
    for (const record of this.listRecords()) {
      for (const d of [record.digest, record.manifestDigest, record.imageId]) wanted.add(d);
      for (const layer of record.layers) wanted.add(layer.digest).add(layer.diffId);
    }
    let freed = 0;
    for (const hex of readdirSync(join(this.root, 'blobs/sha256'))) {
      if (wanted.has(`sha256:${hex}`)) continue;
      const path = join(this.root, 'blobs/sha256', hex);
      freed += statSync(path).size;
      await rm(path, { force: true });
    }
    for (const hex of readdirSync(join(this.root, 'layers'))) {
      if (wanted.has(`sha256:${hex}`)) continue;
      freed += this.layerInfo(`sha256:${hex}`)?.size ?? 0;
      await rm(join(this.root, 'layers', hex), { recursive: true, force: true });
    }
    return freed;
  }
}
