import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compatiblePlatforms, formatPlatform, type ImageIndex, MEDIA, manifestKind, selectManifest } from './oci.ts';

const entry = (digit: string, platform?: { os: string; architecture: string; variant?: string }, mediaType: string = MEDIA.ociManifest) =>
  ({ mediaType, digest: `sha256:${digit.repeat(64)}`, size: 1, platform });

describe('platform selection', () => {
  const index: ImageIndex = {
    schemaVersion: 2,
    manifests: [
      entry('0', { os: 'unknown', architecture: 'unknown' }), // buildx attestation manifest
      entry('1', { os: 'linux', architecture: 'arm', variant: 'v7' }),
      entry('2', { os: 'linux', architecture: 'arm64', variant: 'v8' }),
      entry('3', { os: 'linux', architecture: '386' }),
      entry('4', { os: 'linux', architecture: 'amd64' }),
      entry('5', { os: 'windows', architecture: 'amd64' }),
    ],
  };

  it('picks linux/amd64 exactly', () => {
    assert.equal(selectManifest(index, { os: 'linux', architecture: 'amd64' })?.digest, `sha256:${'4'.repeat(64)}`);
  });

  it('treats aliases and default variants as equal (arm64/v8 is arm64, x86_64 is amd64)', () => {
    assert.equal(selectManifest(index, { os: 'linux', architecture: 'aarch64' })?.digest, `sha256:${'2'.repeat(64)}`);
    assert.equal(selectManifest(index, { os: 'linux', architecture: 'x86_64' })?.digest, `sha256:${'4'.repeat(64)}`);
  });

  it('falls back along the compatibility vector: amd64 runs 386, arm64 runs arm/v7', () => {
    const only386: ImageIndex = { schemaVersion: 2, manifests: [entry('1', { os: 'linux', architecture: 'arm', variant: 'v7' }), entry('3', { os: 'linux', architecture: '386' })] };
    assert.equal(selectManifest(only386, { os: 'linux', architecture: 'amd64' })?.digest, `sha256:${'3'.repeat(64)}`);
    assert.equal(selectManifest(only386, { os: 'linux', architecture: 'arm64' })?.digest, `sha256:${'1'.repeat(64)}`);
    assert.deepEqual(compatiblePlatforms({ os: 'linux', architecture: 'amd64', variant: 'v3' }).map(formatPlatform), ['linux/amd64/v3', 'linux/amd64/v2', 'linux/amd64', 'linux/386']);
  });

  it('does not run a newer amd64 variant, another OS, or an attestation', () => {
    const v3only: ImageIndex = { schemaVersion: 2, manifests: [entry('6', { os: 'linux', architecture: 'amd64', variant: 'v3' }), entry('5', { os: 'windows', architecture: 'amd64' }), entry('0', { os: 'unknown', architecture: 'unknown' })] };
    assert.equal(selectManifest(v3only, { os: 'linux', architecture: 'amd64' }), undefined);
  });

  it('takes a platform-less manifest entry when nothing names a platform', () => {
    const single: ImageIndex = { schemaVersion: 2, manifests: [entry('7')] };
    assert.equal(selectManifest(single, { os: 'linux', architecture: 'amd64' })?.digest, `sha256:${'7'.repeat(64)}`);
  });

  it('tells an index from a manifest by media type or shape', () => {
    assert.equal(manifestKind({ mediaType: MEDIA.dockerManifestList }), 'index');
    assert.equal(manifestKind({}, MEDIA.dockerManifest), 'manifest');
    assert.equal(manifestKind({ manifests: [] }), 'index');
    assert.throws(() => manifestKind({ mediaType: 'application/vnd.docker.distribution.manifest.v1+prettyjws' }), /unsupported manifest/);
  });
});
