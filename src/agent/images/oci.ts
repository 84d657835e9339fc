// The OCI image-spec and Docker schema 2 documents the image layer reads:
// media types, descriptors, index/manifest/config shapes, and platform
// selection from an index as containerd does it.
import { arch } from 'node:process';

export const MEDIA = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
} as const;

/** What a registry must be told we accept, or it answers 404 for OCI content. */
export const MANIFEST_ACCEPT = [MEDIA.ociIndex, MEDIA.dockerManifestList, MEDIA.ociManifest, MEDIA.dockerManifest].join(', ');

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: Platform & { 'os.version'?: string };
  annotations?: Record<string, string>;
  urls?: string[];
}

export interface ImageIndex {
  schemaVersion: number;
  mediaType?: string;
  manifests: Descriptor[];
  annotations?: Record<string, string>;
}

export interface ImageManifest {
  schemaVersion: number;
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
}

/** The parts of an image config (OCI and Docker agree on them) the runtime needs. */
export interface ImageConfig {
  architecture?: string;
  os?: string;
  variant?: string;
  config?: {
    User?: string;
    Env?: string[];
    Entrypoint?: string[] | null;
    Cmd?: string[] | null;
    WorkingDir?: string;
    ExposedPorts?: Record<string, object>;
    Volumes?: Record<string, object>;
    Labels?: Record<string, string>;
    StopSignal?: string;
  };
  rootfs: { type: string; diff_ids: string[] };
}

export function isIndexMediaType(mediaType: string | undefined): boolean {
  return mediaType === MEDIA.ociIndex || mediaType === MEDIA.dockerManifestList;
}

export function isManifestMediaType(mediaType: string | undefined): boolean {
  return mediaType === MEDIA.ociManifest || mediaType === MEDIA.dockerManifest;
}

/** The media type of a manifest document: the header may be missing or generic, the body says. */
export function manifestKind(body: { mediaType?: string; manifests?: unknown; config?: unknown }, headerType?: string): 'index' | 'manifest' {
  const type = body.mediaType ?? headerType;
  if (isIndexMediaType(type)) return 'index';
  if (isManifestMediaType(type)) return 'manifest';
  if (Array.isArray(body.manifests)) return 'index';
  if (body.config && typeof body.config === 'object') return 'manifest';
  throw new Error(`unsupported manifest media type ${type ?? '(none)'}`);
}

/** Go's GOARCH spelling of this host: what images call amd64 and arm64. */
export function hostPlatform(): Platform {
  const architecture = ({ x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' } as Record<string, string>)[arch] ?? arch;
  return normalizePlatform({ os: 'linux', architecture });
}

/** containerd's Normalize: aliases of one architecture compare equal. */
export function normalizePlatform(p: Platform): Platform {
  let architecture = p.architecture.toLowerCase();
  let variant = p.variant?.toLowerCase() || undefined;
  switch (architecture) {
    case 'x86_64': case 'x86-64': case 'amd64':
      architecture = 'amd64';
      if (variant === 'v1') variant = undefined;
      break;
    case 'i386': architecture = '386'; variant = undefined; break;
    case 'aarch64': case 'arm64':
      architecture = 'arm64';
      if (variant === '8' || variant === 'v8') variant = undefined;
      break;
    case 'armhf': architecture = 'arm'; variant = 'v7'; break;
    case 'armel': architecture = 'arm'; variant = 'v6'; break;
    case 'arm':
      if (variant === undefined || variant === '7') variant = 'v7';
      else if (variant === '5' || variant === '6' || variant === '8') variant = `v${variant}`;
      break;
  }
  return { os: p.os.toLowerCase(), architecture, variant };
}

/**
 * The platforms a host can run, best first (containerd's platform vector):
 * amd64/v3 also runs v2, v1 and 386; arm64 also runs arm v8..v5; arm/v7 runs v6, v5.
 */
export function compatiblePlatforms(host: Platform): Platform[] {
  const p = normalizePlatform(host);
  const vector: Platform[] = [p];
  if (p.architecture === 'amd64') {
    const level = Number(p.variant?.slice(1) ?? '1');
    for (let v = level - 1; v >= 1; v--) vector.push({ os: p.os, architecture: 'amd64', variant: v === 1 ? undefined : `v${v}` });
    vector.push({ os: p.os, architecture: '386' });
  } else if (p.architecture === 'arm64') {
    for (let v = 8; v >= 5; v--) vector.push({ os: p.os, architecture: 'arm', variant: `v${v}` });
  } else if (p.architecture === 'arm') {
    for (let v = Number(p.variant?.slice(1) ?? '7') - 1; v >= 5; v--) vector.push({ os: p.os, architecture: 'arm', variant: `v${v}` });
  }
  return vector;
}

function samePlatform(a: Platform, b: Platform): boolean {
  const x = normalizePlatform(a);
  const y = normalizePlatform(b);
  return x.os === y.os && x.architecture === y.architecture && (x.variant ?? '') === (y.variant ?? '');
}

/** The index entry for `host`, best match first; undefined when nothing fits. */
export function selectManifest(index: ImageIndex, host: Platform = hostPlatform()): Descriptor | undefined {
  const candidates = index.manifests.filter((d) => isIndexMediaType(d.mediaType) || isManifestMediaType(d.mediaType) || d.mediaType === undefined);
  for (const want of compatiblePlatforms(host)) {
    // An entry without a platform (single-platform index, e.g. skopeo's) fits any host, after exact matches.
    const found = candidates.find((d) => d.platform && samePlatform(d.platform, want));
    if (found) return found;
  }
  return candidates.find((d) => !d.platform && isManifestMediaType(d.mediaType));
}

export function formatPlatform(p: Platform): string {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`;
}
