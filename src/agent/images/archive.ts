// `skiff images import FILE`: images from an archive instead of a registry,
// for air-gapped machines. Two shapes are read (plain or gzip-compressed):
// - an OCI image layout tar (`oci-layout`, `index.json`, `blobs/sha256/…`),
//   as `skopeo copy … oci-archive:` or `docker buildx --output type=oci` write;
//   images are named by the `io.containerd.image.name` annotation, or by
//   `org.opencontainers.image.ref.name` (a full reference, or a tag joined to
//   `--name`);
// - a `docker save` archive (`manifest.json` with Config, RepoTags, Layers).
// Everything then goes through the same verified install as a pull.
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { extract } from 'tar';
import { digestHex, HashingStream, sha256Digest } from './digest.ts';
import { type ContentSource, installImage, type InstallContext } from './install.ts';
import { type Descriptor, type ImageIndex, MEDIA } from './oci.ts';
import { parseReference, withDefaultTag } from './reference.ts';
import type { ImageRecord } from './store.ts';

async function fileDigest(path: string): Promise<{ digest: string; size: number }> {
  const hashing = new HashingStream();
  await pipeline(createReadStream(path), hashing, async (source) => {
    for await (const _ of source) { /* drain */ }
  });
  return { digest: hashing.digest(), size: hashing.bytes };
}

/** Content of an OCI layout on disk: every blob under its digest's path. */
function layoutSource(dir: string): ContentSource {
  const path = (digest: string) => join(dir, 'blobs', 'sha256', digestHex(digest));
  return {
    manifest: async (digest) => ({ bytes: readFileSync(path(digest)) }),
    blob: async (descriptor) => createReadStream(path(descriptor.digest)),
  };
}

function imageNameFor(options: { annotations?: Record<string, string>; name?: string; count: number }): string {
  const full = options.annotations?.['io.containerd.image.name'];
  if (full) return full;
  const refName = options.annotations?.['org.opencontainers.image.ref.name'];
  // A ref.name with a slash or colon is a whole reference; otherwise it is only a tag.
  if (refName && /[/:]/.test(refName)) return refName;
  if (options.name) {
    const base = parseReference(options.name);
    if (refName && base.tag === undefined && base.digest === undefined) return `${options.name}:${refName}`;
    if (options.count === 1 || !refName) return options.name;
  }
  throw new Error(refName
    ? `the archive names an image only by the tag "${refName}": pass --name REPOSITORY`
    : 'the archive has an image without a name: pass --name REFERENCE');
}

async function importOciLayout(ctx: InstallContext, dir: string, name: string | undefined): Promise<ImageRecord[]> {
  const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as ImageIndex;
  const source = layoutSource(dir);
  const records: ImageRecord[] = [];
  for (const entry of index.manifests ?? []) {
    const image = imageNameFor({ annotations: entry.annotations, name, count: index.manifests.length });
    const { bytes } = await source.manifest(entry.digest);
    records.push(await installImage(ctx, { reference: withDefaultTag(parseReference(image)), source, top: { digest: entry.digest, bytes, mediaType: entry.mediaType } }));
  }
  return records;
}

interface DockerSaveEntry {
  Config: string;
  RepoTags?: string[] | null;
  Layers: string[];
}

/** A docker save image as an OCI manifest of our own making (Docker does the same when loading). */
async function importDockerSave(ctx: InstallContext, dir: string, name: string | undefined): Promise<ImageRecord[]> {
  const entries = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as DockerSaveEntry[];
  const records: ImageRecord[] = [];
  for (const entry of entries) {
    const configBytes = readFileSync(join(dir, entry.Config));
    const files = new Map<string, string>();
    const layers: Descriptor[] = [];
    for (const layer of entry.Layers) {
      const file = join(dir, layer);
      const { digest, size } = await fileDigest(file);
      const head = readFileSync(file).subarray(0, 2);
      const gzip = head[0] === 0x1f && head[1] === 0x8b;
      layers.push({ mediaType: gzip ? `${MEDIA.ociLayer}+gzip` : MEDIA.ociLayer, digest, size });
      files.set(digest, file);
    }
    const configDigest = sha256Digest(configBytes);
    const manifestBytes = Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType: MEDIA.ociManifest,
      config: { mediaType: MEDIA.ociConfig, digest: configDigest, size: configBytes.length },
      layers,
    }));
    const source: ContentSource = {
      manifest: async (digest) => { throw new Error(`docker save archive has no manifest ${digest}`); },
      blob: async (descriptor) => descriptor.digest === configDigest
        ? createReadStream(join(dir, entry.Config))
        : createReadStream(files.get(descriptor.digest) ?? join(dir, 'missing')),
    };
    const names = entry.RepoTags && entry.RepoTags.length > 0 ? entry.RepoTags : name ? [name] : [];
    if (names.length === 0) throw new Error(`image ${configDigest} in the archive has no RepoTags: pass --name REFERENCE`);
    for (const image of names) {
      records.push(await installImage(ctx, { reference: withDefaultTag(parseReference(image)), source, top: { digest: sha256Digest(manifestBytes), bytes: manifestBytes, mediaType: MEDIA.ociManifest } }));
    }
  }
  return records;
}

export async function importArchive(ctx: InstallContext, options: { file: string; name?: string }): Promise<ImageRecord[]> {
  const dir = await ctx.store.tempDir('import');
  try {
    // The tar package refuses entries that climb out of dir; the archive holds plain files only.
    await extract({ file: options.file, cwd: dir, strict: true, preserveOwner: false });
    if (existsSync(join(dir, 'manifest.json'))) return await importDockerSave(ctx, dir, options.name);
    if (existsSync(join(dir, 'index.json'))) return await importOciLayout(ctx, dir, options.name);
    throw new Error(`${options.file} is neither an OCI image layout nor a docker save archive (no index.json or manifest.json)`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
