// ImageService against an in-process registry on loopback: pull, platform
// selection, verification, coalescing, pull policy, removal and GC.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, beforeEach, describe, it } from 'node:test';
import { ImagePullError } from './errors.ts';
import { ImageService } from './service.ts';
import { buildTar } from './testing/tar-builder.ts';
import { type FakeRegistry, startFakeRegistry } from './testing/fake-registry.ts';

const base = buildTar([{ path: 'bin/', type: 'dir' }, { path: 'bin/sh', content: 'shell', mode: 0o755 }, { path: 'etc/motd', content: 'hi' }]);
const top = buildTar([{ path: 'app', content: 'v1' }, { path: 'etc/.wh.motd', content: '' }]);

describe('ImageService', () => {
  let dataDir: string;
  let registry: FakeRegistry;
  let service: ImageService;
  const blobGets = (digest: string) => registry.requests.filter((r) => r.endsWith(`/blobs/${digest}`)).length;

  beforeEach(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'skiff-images-'));
    registry = await startFakeRegistry();
    service = await ImageService.open({ dataDir, platform: { os: 'linux', architecture: 'amd64' } });
  });
  afterEach(async () => {
    service.close();
    await registry.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('pulls an index, picks linux/amd64 and unpacks its layers', async () => {
    const image = registry.addImage({ repository: 'team/app', tag: 'v1', layers: [base, top], index: true });
    const record = await service.ensureImage({ image: `${registry.host}/team/app:v1` });
    assert.equal(record.reference, `${registry.host}/team/app:v1`);
    assert.equal(record.digest, image.indexDigest);
    assert.equal(record.manifestDigest, image.manifestDigest);
    assert.equal(record.imageId, image.configDigest);
    assert.deepEqual(record.config.config?.Cmd, ['/bin/sh']);
    const layers = service.layersFor(`${registry.host}/team/app:v1`);
    assert.equal(layers.length, 2);
    assert.equal(readFileSync(join(layers[0], 'app'), 'utf8'), 'v1', 'topmost layer first');
    assert.equal(readFileSync(join(layers[1], 'bin/sh'), 'utf8'), 'shell');
    assert.deepEqual(service.layerInfosFor(record)[0].whiteouts, ['etc/motd']);
    // Every request for a manifest said what it accepts.
    assert.ok(registry.requests.some((r) => r.includes('/manifests/v1')));
  });

  it('refuses a blob whose digest does not match and stores nothing of it', async () => {
    const image = registry.addImage({ repository: 'bad', tag: '1', layers: [base] });
    registry.corrupt(image.layerDigests[0]);
    await assert.rejects(service.ensureImage({ image: `${registry.host}/bad:1` }), (err: unknown) => {
      assert.ok(err instanceof ImagePullError);
      assert.equal(err.reason, 'ErrImagePull');
      assert.match(err.message, new RegExp(`^failed to pull and unpack image "${registry.host}/bad:1": .*digest mismatch`));
      return true;
    });
    assert.ok(!existsSync(join(dataDir, 'images/blobs/sha256', image.layerDigests[0].slice(7))));
    assert.equal(service.list().length, 0);
  });

  it('reports a missing tag with the registry\'s 404 in upstream\'s words', async () => {
    await assert.rejects(service.ensureImage({ image: `${registry.host}/nope:1` }), (err: unknown) => {
      assert.ok(err instanceof ImagePullError);
      assert.match(err.message, /failed to pull and unpack image ".*\/nope:1": failed to resolve reference ".*\/nope:1": unexpected status from GET request to http:\/\/.*\/v2\/nope\/manifests\/1: 404 Not Found: MANIFEST_UNKNOWN: manifest unknown/);
      assert.match(err.eventMessage, /^Failed to pull image ".*\/nope:1": failed to pull and unpack image/);
      return true;
    });
  });

  it('coalesces concurrent pulls of one image, and shared layers of two', async () => {
    const a = registry.addImage({ repository: 'app', tag: 'a', layers: [base, top] });
    registry.addImage({ repository: 'app', tag: 'b', layers: [base], cmd: ['other'] });
    const pulls = [
      ...Array.from({ length: 5 }, () => service.ensureImage({ image: `${registry.host}/app:a` })),
      service.ensureImage({ image: `${registry.host}/app:b` }),
    ];
    await Promise.all(pulls);
    assert.equal(registry.requests.filter((r) => r.endsWith('/manifests/a')).length, 1);
    assert.equal(blobGets(a.layerDigests[0]), 1, 'the shared base layer is downloaded once');
    assert.equal(blobGets(a.layerDigests[1]), 1);
    assert.equal(readdirSync(join(dataDir, 'images/layers')).length, 2);
  });

  it('follows imagePullPolicy: IfNotPresent and Never use the store, Always and latest ask again', async () => {
    registry.addImage({ repository: 'pol', tag: '1', layers: [base] });
    registry.addImage({ repository: 'pol', tag: 'latest', layers: [base] });
    const manifestGets = (tag: string) => registry.requests.filter((r) => r.endsWith(`/pol/manifests/${tag}`)).length;
    await assert.rejects(service.ensureImage({ image: `${registry.host}/pol:1`, pullPolicy: 'Never' }), (err: ImagePullError) =>
      err.reason === 'ErrImageNeverPull' && err.message === `Container image "${registry.host}/pol:1" is not present with pull policy of Never`);
    await service.ensureImage({ image: `${registry.host}/pol:1` });
    await service.ensureImage({ image: `${registry.host}/pol:1` });
    await service.ensureImage({ image: `${registry.host}/pol:1`, pullPolicy: 'Never' });
    assert.equal(manifestGets('1'), 1);
    await service.ensureImage({ image: `${registry.host}/pol:1`, pullPolicy: 'Always' });
    assert.equal(manifestGets('1'), 2);
    await service.ensureImage({ image: `${registry.host}/pol` });
    await service.ensureImage({ image: `${registry.host}/pol` });
    assert.equal(manifestGets('latest'), 2, 'no tag means latest means Always');
    await assert.rejects(service.ensureImage({ image: 'Bad Name' }), (err: ImagePullError) => err.reason === 'InvalidImageName');
  });

  it('removes an image but keeps layers another image shares', async () => {
    registry.addImage({ repository: 'rm', tag: 'a', layers: [base, top] });
    registry.addImage({ repository: 'rm', tag: 'b', layers: [base] });
    await service.ensureImage({ image: `${registry.host}/rm:a` });
    const b = await service.ensureImage({ image: `${registry.host}/rm:b` });
    assert.equal(await service.remove(`${registry.host}/rm:a`), true);
    assert.equal(await service.remove(`${registry.host}/rm:a`), false);
    assert.deepEqual(readdirSync(join(dataDir, 'images/layers')), [b.layers[0].diffId.slice(7)]);
    assert.ok(existsSync(service.layersFor(b)[0]));
  });

  it('collects least recently used images above the high threshold, never one in use', async () => {
    for (const tag of ['old', 'used', 'new']) registry.addImage({ repository: 'gc', tag, layers: [buildTar([{ path: tag, content: tag.repeat(1000) }])] });
    for (const tag of ['old', 'used', 'new']) await service.ensureImage({ image: `${registry.host}/gc:${tag}` });
    const capacityBytes = 1_000_000;
    // 86% used: above 85, so free down to 80% (60 000 bytes); every image is far smaller, so all unused ones go.
    const stats = { capacityBytes, availableBytes: 140_000 };
    const below = await service.garbageCollect({ inUse: () => false, minAgeMs: 0, diskStats: async () => ({ capacityBytes, availableBytes: 160_000 }) });
    assert.deepEqual(below, { freedBytes: 0, removed: [] }, '84% is below the threshold');
    const result = await service.garbageCollect({ inUse: (r) => r.tag === 'used', minAgeMs: 0, diskStats: async () => stats });
    assert.deepEqual(result.removed, [`${registry.host}/gc:old`, `${registry.host}/gc:new`]);
    assert.ok(result.freedBytes > 0);
    assert.deepEqual(service.list().map((r) => r.tag), ['used']);
    // Images pulled moments ago are young: the default minimum age keeps them.
    registry.addImage({ repository: 'gc', tag: 'young', layers: [base] });
    await service.ensureImage({ image: `${registry.host}/gc:young` });
    assert.deepEqual((await service.garbageCollect({ inUse: () => false, diskStats: async () => stats })).removed, []);
  });
});

describe('ImageService with a private registry', () => {
  const dataDirs: string[] = [];
  after(() => {
    for (const d of dataDirs) rmSync(d, { recursive: true, force: true });
  });

  for (const auth of ['bearer', 'basic'] as const) {
    it(`pulls with ${auth} auth from credentials and fails without them`, async () => {
      const registry = await startFakeRegistry({ auth, username: 'alice', password: 's3cret' });
      const dataDir = mkdtempSync(join(tmpdir(), 'skiff-images-'));
      dataDirs.push(dataDir);
      const service = await ImageService.open({ dataDir });
      try {
        registry.addImage({ repository: 'private', tag: '1', layers: [base] });
        const image = `${registry.host}/private:1`;
        await assert.rejects(service.ensureImage({ image }), /pull access denied.*401 Unauthorized/);
        await assert.rejects(service.ensureImage({ image, credentials: [{ username: 'alice', password: 'wrong' }] }), /401 Unauthorized/);
        const record = await service.ensureImage({ image, credentials: [{ username: 'alice', password: 'wrong' }, { username: 'alice', password: 's3cret' }] });
        assert.equal(record.layers.length, 1);
        if (auth === 'bearer') assert.ok(registry.requests.some((r) => r.startsWith('GET /token?') && r.includes('scope=repository%3Aprivate%3Apull')));
      } finally {
        service.close();
        await registry.close();
      }
    });
  }
});
