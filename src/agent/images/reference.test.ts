import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { familiarReference, InvalidReferenceError, isLoopbackHost, normalizeReference, parseReference } from './reference.ts';

describe('image references', () => {
  it('fills in Docker Hub and library/ for short names', () => {
    assert.deepEqual(parseReference('busybox'), { domain: 'docker.io', path: 'library/busybox', tag: undefined, digest: undefined });
    assert.equal(normalizeReference('busybox'), 'docker.io/library/busybox:latest');
    assert.equal(normalizeReference('rancher/k3s:v1.30'), 'docker.io/rancher/k3s:v1.30');
    assert.equal(normalizeReference('index.docker.io/library/nginx:1'), 'docker.io/library/nginx:1');
    assert.equal(normalizeReference('docker.io/nginx'), 'docker.io/library/nginx:latest');
  });

  it('recognises registry hosts by a dot, a port or localhost', () => {
    assert.equal(normalizeReference('127.0.0.1:5000/busybox'), '127.0.0.1:5000/busybox:latest');
    assert.equal(normalizeReference('localhost/a/b:1'), 'localhost/a/b:1');
    assert.equal(normalizeReference('ghcr.io/owner/img:v2'), 'ghcr.io/owner/img:v2');
    assert.equal(normalizeReference('[::1]:5000/x:1'), '[::1]:5000/x:1');
    // A first component without dot or port is a path, not a host.
    assert.equal(normalizeReference('myorg/app'), 'docker.io/myorg/app:latest');
  });

  it('keeps digests and does not add latest to a digest-only reference', () => {
    const digest = `sha256:${'a'.repeat(64)}`;
    assert.equal(normalizeReference(`busybox@${digest}`), `docker.io/library/busybox@${digest}`);
    assert.equal(normalizeReference(`busybox:1.36@${digest}`), `docker.io/library/busybox:1.36@${digest}`);
  });

  it('rejects what Docker rejects', () => {
    for (const bad of ['', 'Busybox', 'busybox:', 'a//b', '-a', 'busybox@sha256:abc', 'busybox:bad tag', ' busybox', 'a:b:c']) {
      assert.throws(() => parseReference(bad), InvalidReferenceError, bad);
    }
    // As in Docker, an upper-case first component is a registry host.
    assert.equal(parseReference('UPPER/x').domain, 'UPPER');
  });

  it('prints the familiar short form', () => {
    assert.equal(familiarReference(parseReference('docker.io/library/busybox:1')), 'busybox:1');
    assert.equal(familiarReference(parseReference('rancher/k3s:v1')), 'rancher/k3s:v1');
    assert.equal(familiarReference(parseReference('127.0.0.1:5000/b:1')), '127.0.0.1:5000/b:1');
  });

  it('knows loopback hosts', () => {
    for (const h of ['127.0.0.1:5000', '127.5.6.7', 'localhost:80', '[::1]:5000', 'localhost']) assert.ok(isLoopbackHost(h), h);
    for (const h of ['docker.io', '10.0.0.1:5000', '128.0.0.1', 'localhost.example.com']) assert.ok(!isLoopbackHost(h), h);
  });
});
