// registries.yaml and .dockerconfigjson: the two ways credentials and
// endpoints reach the image layer.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { credentialsFromDockerConfigJson } from './credentials.ts';
import { endpointsFor, parseRegistriesConfig } from './registries-config.ts';

const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('registries.yaml', () => {
  const config = parseRegistriesConfig(`
mirrors:
  docker.io:
    endpoint:
      - "http://127.0.0.1:5000"
      - "mirror.example.com/prefix"
  "*":
    endpoint: ["https://catchall.example.com"]
configs:
  mirror.example.com:
    auth: { username: u, password: p }
    tls: { ca_file: /ca.pem, cert_file: /c.pem, key_file: /k.pem, insecure_skip_verify: true }
  docker.io:
    auth: { auth: ${b64('hub:secret')} }
  catchall.example.com:
    auth: { identitytoken: refresh-me }
`);

  it('tries mirrors in order, then the default endpoint', () => {
    const endpoints = endpointsFor({ config, registry: 'docker.io' });
    assert.deepEqual(endpoints.map((e) => e.apiBase), [
      'http://127.0.0.1:5000/v2',
      'https://mirror.example.com/prefix/v2',
      'https://registry-1.docker.io/v2',
    ]);
    assert.deepEqual(endpoints[1].auth, { username: 'u', password: 'p' });
    assert.deepEqual(endpoints[1].tls, { caFile: '/ca.pem', certFile: '/c.pem', keyFile: '/k.pem', insecureSkipVerify: true });
    // configs keyed by the registry name apply to its default endpoint.
    assert.deepEqual(endpoints[2].auth, { username: 'hub', password: 'secret' });
    assert.equal(endpoints[0].auth, undefined);
  });

  it('uses the "*" mirror for registries without their own entry', () => {
    const endpoints = endpointsFor({ config, registry: 'ghcr.io' });
    assert.deepEqual(endpoints.map((e) => e.apiBase), ['https://catchall.example.com/v2', 'https://ghcr.io/v2']);
    assert.deepEqual(endpoints[0].auth, { identityToken: 'refresh-me' });
  });

  it('speaks plain HTTP to loopback registries without configuration', () => {
    assert.deepEqual(endpointsFor({ registry: '127.0.0.1:5000' }).map((e) => e.apiBase), ['http://127.0.0.1:5000/v2']);
    assert.deepEqual(endpointsFor({ registry: 'localhost:5000' }).map((e) => e.apiBase), ['http://localhost:5000/v2']);
    assert.deepEqual(endpointsFor({ registry: '[::1]:5000' }).map((e) => e.apiBase), ['http://[::1]:5000/v2']);
    assert.deepEqual(endpointsFor({ registry: 'quay.io' }).map((e) => e.apiBase), ['https://quay.io/v2']);
  });

  it('rejects malformed documents', () => {
    assert.throws(() => parseRegistriesConfig('mirrors: [1]'), /mirrors must be a mapping/);
    assert.throws(() => parseRegistriesConfig('mirrors: {a: {endpoint: 3}}'), /endpoint must be a list/);
    assert.deepEqual(parseRegistriesConfig(''), { mirrors: {}, configs: {} });
  });
});

describe('.dockerconfigjson', () => {
  const payload = JSON.stringify({
    auths: {
      'https://index.docker.io/v1/': { auth: b64('hubuser:hubpass') },
      'registry.example.com': { username: 'plain', password: 'pw' },
      'registry.example.com/team': { auth: b64('team:teampw') },
      '*.glob.example.com': { username: 'glob', password: 'g' },
      '127.0.0.1:5000': { auth: b64('local:pw:with:colons') },
    },
  });

  it('matches Docker Hub images to index.docker.io entries', () => {
    assert.deepEqual(credentialsFromDockerConfigJson({ payload, repository: 'docker.io/library/busybox' }), [{ username: 'hubuser', password: 'hubpass' }]);
  });

  it('prefers the most specific path of a host', () => {
    assert.deepEqual(credentialsFromDockerConfigJson({ payload, repository: 'registry.example.com/team/app' }), [
      { username: 'team', password: 'teampw' },
      { username: 'plain', password: 'pw' },
    ]);
    assert.deepEqual(credentialsFromDockerConfigJson({ payload, repository: 'registry.example.com/other/app' }), [{ username: 'plain', password: 'pw' }]);
  });

  it('matches host globs label by label and ports exactly', () => {
    assert.deepEqual(credentialsFromDockerConfigJson({ payload, repository: 'a.glob.example.com/x' }), [{ username: 'glob', password: 'g' }]);
    assert.deepEqual(credentialsFromDockerConfigJson({ payload, repository: 'a.b.glob.example.com/x' }), []);
    assert.deepEqual(credentialsFromDockerConfigJson({ payload, repository: '127.0.0.1:5000/busybox' }), [{ username: 'local', password: 'pw:with:colons' }]);
    assert.deepEqual(credentialsFromDockerConfigJson({ payload, repository: '127.0.0.1:5001/busybox' }), []);
  });

  it('reads the legacy .dockercfg shape and identity tokens', () => {
    const legacy = Buffer.from(JSON.stringify({ 'quay.io': { identitytoken: 'tok' } }));
    assert.deepEqual(credentialsFromDockerConfigJson({ payload: legacy, repository: 'quay.io/x/y' }), [{ identityToken: 'tok' }]);
  });
});
