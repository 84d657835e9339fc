// A small in-process Distribution API server on loopback for unit tests: it
// serves images built from tar buffers, counts requests, can demand bearer
// (with its own token endpoint) or basic auth, and can serve a corrupted blob.
// Interop with a real registry is the integration test's job.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { sha256Digest } from '../digest.ts';
import { MEDIA } from '../oci.ts';

export interface FakeImage {
  manifestDigest: string;
  indexDigest?: string;
  configDigest: string;
  layerDigests: string[];
}

export interface FakeRegistry {
  host: string;
  /** Every request line served, e.g. `GET /v2/app/blobs/sha256:…`. */
  requests: string[];
  addImage(options: { repository: string; tag: string; layers: Buffer[]; index?: boolean; cmd?: string[] }): FakeImage;
  /** Serves wrong bytes for this digest from now on. */
  corrupt(digest: string): void;
  close(): Promise<void>;
}

export async function startFakeRegistry(options: { auth?: 'bearer' | 'basic'; username?: string; password?: string } = {}): Promise<FakeRegistry> {
  const blobs = new Map<string, Buffer>();
  const manifests = new Map<string, { body: Buffer; mediaType: string }>();
  const corrupted = new Set<string>();
  const requests: string[] = [];
  const validBasic = `Basic ${Buffer.from(`${options.username}:${options.password}`).toString('base64')}`;
  const token = 'fake-token-123';
  let host = '';

  const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };

  const authorized = (req: IncomingMessage): boolean => {
    if (!options.auth) return true;
    return options.auth === 'basic' ? req.headers.authorization === validBasic : req.headers.authorization === `Bearer ${token}`;
  };

  const server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    const url = new URL(req.url ?? '/', `http://${host}`);
    if (url.pathname === '/token') {
      // Anonymous tokens are refused: this registry is private.
      if (req.headers.authorization !== validBasic) return json(res, 401, { errors: [{ code: 'UNAUTHORIZED', message: 'bad credentials' }] });
      return json(res, 200, { token, expires_in: 300 });
    }
    if (!authorized(req)) {
      const challenge = options.auth === 'basic'
        ? 'Basic realm="fake"'
        : `Bearer realm="http://${host}/token",service="fake",scope="repository:${url.pathname.split('/')[2]}:pull"`;
      return json(res, 401, { errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] }, { 'www-authenticate': challenge });
    }
    const m = /^\/v2\/(.+)\/(manifests|blobs)\/([^/]+)$/.exec(url.pathname);
    if (!m) return json(res, 404, { errors: [{ code: 'NOT_FOUND', message: 'not found' }] });
    const [, repository, kind, ref] = m;
    if (kind === 'manifests') {
      const found = manifests.get(`${repository}@${ref}`);
      if (!found) return json(res, 404, { errors: [{ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown' }] });
      if (!(req.headers.accept ?? '').includes(found.mediaType)) return json(res, 404, { errors: [{ code: 'MANIFEST_UNKNOWN', message: 'OCI manifest found, but accept header does not support OCI manifests' }] });
      res.writeHead(200, { 'content-type': found.mediaType, 'docker-content-digest': sha256Digest(found.body) });
      return res.end(found.body);
    }
    const blob = blobs.get(ref);
    if (!blob) return json(res, 404, { errors: [{ code: 'BLOB_UNKNOWN', message: 'blob unknown to registry' }] });
    const body = corrupted.has(ref) ? Buffer.from(blob).fill(0x41, 0, Math.min(16, blob.length)) : blob;
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(body.length) });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  host = `127.0.0.1:${(server.address() as AddressInfo).port}`;

  const putBlob = (bytes: Buffer) => {
    const digest = sha256Digest(bytes);
    blobs.set(digest, bytes);
    return digest;
  };
  const putManifest = (repository: string, refs: string[], body: Buffer, mediaType: string) => {
    for (const ref of [...refs, sha256Digest(body)]) manifests.set(`${repository}@${ref}`, { body, mediaType });
    return sha256Digest(body);
  };

  return {
    host,
    requests,
    addImage({ repository, tag, layers, index, cmd }) {
      const config = Buffer.from(JSON.stringify({
        architecture: 'amd64', os: 'linux', config: { Cmd: cmd ?? ['/bin/sh'] },
        rootfs: { type: 'layers', diff_ids: layers.map((l) => sha256Digest(l)) },
      }));
      const configDigest = putBlob(config);
      const compressed = layers.map((l) => gzipSync(l));
      const layerDigests = compressed.map(putBlob);
      const manifest = Buffer.from(JSON.stringify({
        schemaVersion: 2, mediaType: MEDIA.ociManifest,
        config: { mediaType: MEDIA.ociConfig, digest: configDigest, size: config.length },
        layers: compressed.map((c, i) => ({ mediaType: `${MEDIA.ociLayer}+gzip`, digest: layerDigests[i], size: c.length })),
      }));
      const manifestDigest = putManifest(repository, index ? [] : [tag], manifest, MEDIA.ociManifest);
      if (!index) return { manifestDigest, configDigest, layerDigests };
      const other = putManifest(repository, [], Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA.ociManifest, config: { mediaType: MEDIA.ociConfig, digest: configDigest, size: config.length }, layers: [] })), MEDIA.ociManifest);
      const indexBody = Buffer.from(JSON.stringify({
        schemaVersion: 2, mediaType: MEDIA.ociIndex,
        manifests: [
          { mediaType: MEDIA.ociManifest, digest: other, size: 10, platform: { os: 'linux', architecture: 'arm64' } },
          { mediaType: MEDIA.ociManifest, digest: manifestDigest, size: manifest.length, platform: { os: 'linux', architecture: 'amd64' } },
        ],
      }));
      const indexDigest = putManifest(repository, [tag], indexBody, MEDIA.ociIndex);
      return { manifestDigest, indexDigest, configDigest, layerDigests };
    },
    corrupt(digest) {
      corrupted.add(digest);
    },
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
