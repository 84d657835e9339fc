// Turns a resolved top-level document (index or manifest) plus a place to get
// content from (a registry, an archive) into a stored, unpacked image record.
// Every document and blob is verified against its digest before it is stored
// or used; layers are unpacked once per diffID, and concurrent pulls of images
// that share blobs or layers download and unpack them once.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { DigestMismatchError, sha256Digest, verifyBytes } from './digest.ts';
import {
  type Descriptor, formatPlatform, type ImageConfig, type ImageIndex, type ImageManifest, manifestKind, type Platform, selectManifest,
} from './oci.ts';
import { formatReference, type ImageReference, repositoryName } from './reference.ts';
import type { ImageRecord, ImageStore, LayerInfo } from './store.ts';
import { unpackLayer } from './unpack.ts';

/** Where the content of one image comes from. */
export interface ContentSource {
  /** A manifest or index by digest (verified by the caller). */
  manifest(digest: string): Promise<{ bytes: Buffer; mediaType?: string }>;
  /** A blob's bytes as a stream (verified while stored). */
  blob(descriptor: Descriptor): Promise<Readable>;
}

/** Runs one task per key at a time; callers of a key in flight share its promise. */
export class Singleflight<T> {
  private readonly inflight = new Map<string, Promise<T>>();

  do(key: string, task: () => Promise<T>): Promise<T> {
    let running = this.inflight.get(key);
    if (!running) {
      running = task().finally(() => this.inflight.delete(key));
      this.inflight.set(key, running);
    }
    return running;
  }

  get size(): number {
    return this.inflight.size;
  }
}

export interface InstallContext {
  store: ImageStore;
  platform: Platform;
  overlayWhiteouts: boolean;
  blobs: Singleflight<void>;
  layers: Singleflight<LayerInfo>;
  /** Digests a pull in progress needs: image GC must not prune them before the record exists. */
  pinned: Map<string, number>;
}

const LAYER_CONCURRENCY = 3;
const MAX_NESTING = 4;

function pin(ctx: InstallContext, digest: string): void {
  ctx.pinned.set(digest, (ctx.pinned.get(digest) ?? 0) + 1);
}

function unpin(ctx: InstallContext, digest: string): void {
  const n = (ctx.pinned.get(digest) ?? 1) - 1;
  if (n <= 0) ctx.pinned.delete(digest);
  else ctx.pinned.set(digest, n);
}

async function readAll(stream: Readable, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stream) {
    total += (chunk as Buffer).length;
    if (total > limit) {
      stream.destroy();
      throw new Error(`blob is larger than ${limit} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

async function ensureBlob(ctx: InstallContext, source: ContentSource, descriptor: Descriptor): Promise<void> {
  await ctx.blobs.do(descriptor.digest, async () => {
    if (ctx.store.hasBlob(descriptor.digest)) return;
    const stream = await source.blob(descriptor);
    await ctx.store.writeBlob({ digest: descriptor.digest, size: descriptor.size, source: stream, what: 'layer' });
  });
}

async function ensureLayer(ctx: InstallContext, blobDigest: string, diffId: string): Promise<LayerInfo> {
  return ctx.layers.do(diffId, async () => {
    const existing = ctx.store.layerInfo(diffId);
    if (existing) return existing;
    const staged = await ctx.store.tempDir('layer');
    try {
      const result = await unpackLayer({ blobPath: ctx.store.blobPath(blobDigest), target: join(staged, 'fs'), overlayWhiteouts: ctx.overlayWhiteouts });
      if (result.diffId !== diffId) throw new DigestMismatchError(`layer ${blobDigest}: uncompressed digest mismatch: config says ${diffId}, got ${result.diffId}`);
      const info: LayerInfo = { ...result, format: ctx.overlayWhiteouts ? 'overlay' : 'plain' };
      await ctx.store.commitLayer({ staged, info });
      return info;
    } finally {
      await rm(staged, { recursive: true, force: true });
    }
  });
}

/** Walks from an index down to this platform's manifest, storing each verified document. */
async function resolveManifest(ctx: InstallContext, source: ContentSource, top: { digest: string; bytes: Buffer; mediaType?: string }, pinHere: (digest: string) => void): Promise<{ digest: string; manifest: ImageManifest; documentBytes: number }> {
  let current = top;
  let documentBytes = 0;
  for (let depth = 0; depth < MAX_NESTING; depth++) {
    verifyBytes({ bytes: current.bytes, digest: current.digest, what: 'manifest' });
    const body = JSON.parse(current.bytes.toString('utf8')) as ImageIndex & ImageManifest;
    const kind = manifestKind(body, current.mediaType);
    pinHere(current.digest);
    ctx.store.writeBlobBytes({ digest: current.digest, bytes: current.bytes, what: 'manifest' });
    documentBytes += current.bytes.length;
    if (kind === 'manifest') return { digest: current.digest, manifest: body, documentBytes };
    const chosen = selectManifest(body, ctx.platform);
    if (!chosen) throw new Error(`no match for platform ${formatPlatform(ctx.platform)} in manifest ${current.digest}: not found`);
    const fetched = ctx.store.hasBlob(chosen.digest) ? { bytes: ctx.store.readBlob(chosen.digest), mediaType: chosen.mediaType } : await source.manifest(chosen.digest);
    verifyBytes({ bytes: fetched.bytes, digest: chosen.digest, size: chosen.size, what: 'manifest' });
    current = { digest: chosen.digest, bytes: fetched.bytes, mediaType: fetched.mediaType ?? chosen.mediaType };
  }
  throw new Error(`manifest ${top.digest}: indexes nested more than ${MAX_NESTING} deep`);
}

/**
 * Stores and unpacks the image `top` names and writes its record under
 * `reference`. `top.digest` must be the digest the document was asked for
 * (or computed from it when asked for by tag).
 */
export async function installImage(ctx: InstallContext, options: { reference: ImageReference; source: ContentSource; top: { digest: string; bytes: Buffer; mediaType?: string } }): Promise<ImageRecord> {
  const { reference, source, top } = options;
  const pinnedHere: string[] = [];
  const pinHere = (d: string) => {
    pin(ctx, d);
    pinnedHere.push(d);
  };
  try {
    const { digest: manifestDigest, manifest, documentBytes } = await resolveManifest(ctx, source, top, pinHere);
    if (!manifest.config?.digest || !Array.isArray(manifest.layers)) throw new Error(`manifest ${manifestDigest} has no config or layers`);
    const configBytes = ctx.store.hasBlob(manifest.config.digest) ? ctx.store.readBlob(manifest.config.digest) : await readAll(await source.blob(manifest.config), 16 << 20);
    verifyBytes({ bytes: configBytes, digest: manifest.config.digest, size: manifest.config.size, what: 'config' });
    ctx.store.writeBlobBytes({ digest: manifest.config.digest, bytes: configBytes, what: 'config' });
    pinHere(manifest.config.digest);
    const config = JSON.parse(configBytes.toString('utf8')) as ImageConfig;
    const diffIds = config.rootfs?.diff_ids ?? [];
    if (diffIds.length !== manifest.layers.length) throw new Error(`config ${manifest.config.digest} lists ${diffIds.length} diff_ids for ${manifest.layers.length} layers`);
    manifest.layers.forEach((layer, i) => {
      pinHere(layer.digest);
      pinHere(diffIds[i]);
    });
    const infos: LayerInfo[] = new Array(manifest.layers.length);
    let next = 0;
    const worker = async () => {
      while (next < manifest.layers.length) {
        const i = next++;
        await ensureBlob(ctx, source, manifest.layers[i]);
        infos[i] = await ensureLayer(ctx, manifest.layers[i].digest, diffIds[i]);
      }
    };
    await Promise.all(Array.from({ length: Math.min(LAYER_CONCURRENCY, manifest.layers.length) }, worker));
    const now = new Date().toISOString();
    const record: ImageRecord = {
      reference: formatReference(reference),
      repository: repositoryName(reference),
      tag: reference.tag,
      digest: top.digest,
      manifestDigest,
      imageId: manifest.config.digest,
      config,
      layers: manifest.layers.map((layer, i) => ({ digest: layer.digest, diffId: diffIds[i], size: layer.size, mediaType: layer.mediaType })),
      size: documentBytes + configBytes.length + manifest.layers.reduce((sum, l) => sum + l.size, 0),
      unpackedSize: infos.reduce((sum, info) => sum + info.size, 0),
      pulledAt: now,
      lastUsedAt: ctx.store.getRecord(formatReference(reference))?.lastUsedAt ?? now,
    };
    ctx.store.putRecord(record);
    return record;
  } finally {
    for (const d of pinnedHere) unpin(ctx, d);
  }
}

/** The digest of a document fetched by tag, checked against what the registry claimed. */
export function documentDigest(options: { bytes: Buffer; claimed?: string; expected?: string }): string {
  if (options.expected) {
    verifyBytes({ bytes: options.bytes, digest: options.expected, what: 'manifest' });
    return options.expected;
  }
  const actual = sha256Digest(options.bytes);
  if (options.claimed && options.claimed.startsWith('sha256:') && options.claimed !== actual) {
    throw new DigestMismatchError(`manifest: digest mismatch: registry says ${options.claimed}, content is ${actual}`);
  }
  return actual;
}
