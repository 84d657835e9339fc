// The image layer against a REAL registry (Debian's docker-registry) on
// loopback, holding an image built from busybox-static with umoci and pushed
// with skopeo (ARCHITECTURE.md §6): anonymous pulls, a registries.yaml mirror
// falling back past a dead endpoint, bearer-token and basic auth through a
// small proxy of our own in front of the registry, upstream's error for a
// missing tag, and `skiff images import|ls|rm` on archives skopeo writes.
// Every process and temp dir is removed at the end, pass or fail.
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { credentialsFromDockerConfigJson } from '../../src/agent/images/credentials.ts';
import { ImagePullError } from '../../src/agent/images/errors.ts';
import { parseRegistriesConfig } from '../../src/agent/images/registries-config.ts';
import { ImageService } from '../../src/agent/images/service.ts';
import { repoRoot } from './harness.ts';

const isRoot = process.getuid?.() === 0;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function waitForRegistry(url: string, log: () => string): Promise<void> {
  for (let i = 0; i < 150; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const req = request(url, (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      });
      req.on('error', () => resolve(false));
      req.end();
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`docker-registry did not answer at ${url} within 30s:\n${log()}`);
}

/** A proxy in front of the registry that demands bearer tokens (issued for alice's basic credentials) or basic auth. */
async function startAuthProxy(options: { registryPort: number; mode: 'bearer' | 'basic' }): Promise<{ server: Server; host: string; tokenRequests: string[] }> {
  const basic = `Basic ${Buffer.from('alice:s3cret').toString('base64')}`;
  const token = 'token-for-alice';
  const tokenRequests: string[] = [];
  let host = '';
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', `http://${host}`);
    if (url.pathname === '/token') {
      tokenRequests.push(url.search);
      if (req.headers.authorization !== basic) {
        res.writeHead(401, { 'content-type': 'application/json' });
        return res.end('{"errors":[{"code":"UNAUTHORIZED","message":"invalid credentials"}]}');
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ token, expires_in: 300 }));
    }
    const expected = options.mode === 'bearer' ? `Bearer ${token}` : basic;
    if (req.headers.authorization !== expected) {
      const challenge = options.mode === 'bearer'
        ? `Bearer realm="http://${host}/token",service="skiff-test",scope="repository:busybox:pull"`
        : 'Basic realm="skiff-test"';
      res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': challenge });
      return res.end('{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}');
    }
    const headers = { ...req.headers, host: `127.0.0.1:${options.registryPort}` };
    delete headers.authorization;
    const upstream = request({ host: '127.0.0.1', port: options.registryPort, path: req.url, method: req.method, headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { server, host, tokenRequests };
}

function skiff(args: string[]): { stdout: string; stderr: string; status: number } {
  const r = spawnSync(join(repoRoot, 'bin/skiff'), args, { encoding: 'utf8', timeout: 120_000 });
  return { stdout: r.stdout, stderr: r.stderr, status: r.status ?? -1 };
}

describe('images from a real registry', { skip: isRoot ? false : 'needs root (docker-registry, umoci unpack, device nodes)' }, () => {
  let work: string;
  let registry: ChildProcess | undefined;
  const registryLog: string[] = [];
  let port: number;
  const servers: Server[] = [];
  const services: ImageService[] = [];

  const openService = async (options: { registriesYaml?: string } = {}) => {
    const dataDir = mkdtempSync(join(work, 'data-'));
    const service = await ImageService.open({ dataDir, registriesConfig: options.registriesYaml ? parseRegistriesConfig(options.registriesYaml) : undefined });
    services.push(service);
    return service;
  };

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'skiff-registry-'));
    port = await freePort();
    const config = join(work, 'registry.yml');
    writeFileSync(config, [
      'version: 0.1',
      'log: { level: warn }',
      `storage: { filesystem: { rootdirectory: ${join(work, 'storage')} }, delete: { enabled: true } }`,
      `http: { addr: 127.0.0.1:${port} }`,
    ].join('\n'));
    registry = spawn('docker-registry', ['serve', config], { stdio: ['ignore', 'pipe', 'pipe'] });
    registry.stdout!.on('data', (d) => registryLog.push(String(d)));
    registry.stderr!.on('data', (d) => registryLog.push(String(d)));
    await waitForRegistry(`http://127.0.0.1:${port}/v2/`, () => registryLog.join(''));

    // Two layers: busybox with an /etc/motd, then one that adds /app and deletes /etc/motd (a whiteout).
    const layout = join(work, 'oci');
    const bundle = join(work, 'bundle');
    const run = (cmd: string, args: string[]) => execFileSync(cmd, args, { cwd: work, stdio: 'pipe' });
    run('umoci', ['init', '--layout', layout]);
    run('umoci', ['new', '--image', `${layout}:1`]);
    run('umoci', ['unpack', '--image', `${layout}:1`, bundle]);
    mkdirSync(join(bundle, 'rootfs/bin'), { recursive: true });
    mkdirSync(join(bundle, 'rootfs/etc'), { recursive: true });
    copyFileSync('/bin/busybox', join(bundle, 'rootfs/bin/busybox'));
    symlinkSync('/bin/busybox', join(bundle, 'rootfs/bin/sh'));
    writeFileSync(join(bundle, 'rootfs/etc/motd'), 'hello\n');
    run('umoci', ['repack', '--image', `${layout}:1`, bundle]);
    // repack diffs against the state at unpack time: unpack again for a second layer.
    const bundle2 = join(work, 'bundle2');
    run('umoci', ['unpack', '--image', `${layout}:1`, bundle2]);
    rmSync(join(bundle2, 'rootfs/etc/motd'));
    writeFileSync(join(bundle2, 'rootfs/app'), 'v1\n');
    run('umoci', ['repack', '--image', `${layout}:1`, bundle2]);
    run('umoci', ['config', '--image', `${layout}:1`, '--config.cmd', '/bin/sh', '--os', 'linux', '--architecture', 'amd64']);
    run('skopeo', ['copy', '--dest-tls-verify=false', `oci:${layout}:1`, `docker://127.0.0.1:${port}/busybox:1`]);
  });

  after(async () => {
    for (const s of services) s.close();
    for (const s of servers) {
      s.closeAllConnections();
      await new Promise<void>((resolve) => s.close(() => resolve()));
    }
    if (registry && registry.exitCode === null) {
      const exited = new Promise((resolve) => registry!.once('exit', resolve));
      registry.kill('SIGTERM');
      await exited;
    }
    if (work) {
      // Layers hold device nodes and root-owned files: remove as root did create them.
      rmSync(work, { recursive: true, force: true });
    }
  });

  it('pulls anonymously from a loopback registry over plain HTTP, and the layers make a working root', async (t) => {
    const service = await openService();
    const record = await service.ensureImage({ image: `127.0.0.1:${port}/busybox:1` });
    assert.equal(record.layers.length, 2);
    assert.deepEqual(record.config.config?.Cmd, ['/bin/sh']);
    const [topLayer, baseLayer] = service.layersFor(record);
    assert.equal(readFileSync(join(topLayer, 'app'), 'utf8'), 'v1\n');
    assert.deepEqual(readFileSync(join(baseLayer, 'bin/busybox')), readFileSync('/bin/busybox'));
    assert.deepEqual(service.layerInfosFor(record)[0].whiteouts, ['etc/motd']);
    if (service.layerFormat !== 'overlay') return t.skip('no overlayfs whiteouts on this filesystem');
    const mnt = join(work, 'mnt');
    mkdirSync(mnt);
    execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${service.layersFor(record).join(':')}`, mnt]);
    try {
      assert.ok(!existsSync(join(mnt, 'etc/motd')), 'the whiteout hides the lower file');
      assert.equal(execFileSync('chroot', [mnt, '/bin/sh', '-c', '/bin/busybox cat /app; test -e /etc/motd || echo gone'], { encoding: 'utf8' }), 'v1\ngone\n');
    } finally {
      execFileSync('umount', [mnt]);
    }
  });

  it('says what the registry said for a missing tag', async () => {
    const service = await openService();
    await assert.rejects(service.ensureImage({ image: `127.0.0.1:${port}/busybox:nope` }), (err: unknown) => {
      assert.ok(err instanceof ImagePullError);
      assert.equal(err.reason, 'ErrImagePull');
      assert.match(err.message, new RegExp(`^failed to pull and unpack image "127\\.0\\.0\\.1:${port}/busybox:nope": failed to resolve reference .*: 404 Not Found: MANIFEST_UNKNOWN`));
      return true;
    });
  });

  it('tries registries.yaml mirrors in order, past one that does not answer', async () => {
    const dead = await freePort();
    const service = await openService({ registriesYaml: `mirrors:\n  "127.0.0.1:${dead}":\n    endpoint: ["http://127.0.0.1:${dead}", "http://127.0.0.1:${port}"]\n` });
    const record = await service.ensureImage({ image: `127.0.0.1:${dead}/busybox:1` });
    assert.equal(record.reference, `127.0.0.1:${dead}/busybox:1`);
  });

  for (const mode of ['bearer', 'basic'] as const) {
    it(`pulls through ${mode} auth with credentials from a pull secret`, async () => {
      const proxy = await startAuthProxy({ registryPort: port, mode });
      servers.push(proxy.server);
      const service = await openService();
      const image = `${proxy.host}/busybox:1`;
      await assert.rejects(service.ensureImage({ image }), /pull access denied.*401 Unauthorized/);
      const secret = JSON.stringify({ auths: { [proxy.host]: { auth: Buffer.from('alice:s3cret').toString('base64') } } });
      const credentials = credentialsFromDockerConfigJson({ payload: secret, repository: `${proxy.host}/busybox` });
      const record = await service.ensureImage({ image, credentials });
      assert.equal(record.layers.length, 2);
      if (mode === 'bearer') assert.ok(proxy.tokenRequests.some((q) => q.includes('scope=repository%3Abusybox%3Apull') && q.includes('service=skiff-test')));
    });
  }

  it('imports OCI and docker archives with `skiff images import`, lists and removes them', () => {
    const dataDir = mkdtempSync(join(work, 'cli-'));
    const ociArchive = join(work, 'busybox-oci.tar');
    const dockerArchive = join(work, 'busybox-docker.tar');
    execFileSync('skopeo', ['copy', '--src-tls-verify=false', `docker://127.0.0.1:${port}/busybox:1`, `oci-archive:${ociArchive}:1`], { stdio: 'pipe' });
    execFileSync('skopeo', ['copy', '--src-tls-verify=false', `docker://127.0.0.1:${port}/busybox:1`, `docker-archive:${dockerArchive}:busybox:imported`], { stdio: 'pipe' });

    const tagOnly = skiff(['images', 'import', ociArchive, '--data-dir', dataDir]);
    assert.equal(tagOnly.status, 1);
    assert.match(tagOnly.stderr, /only by the tag "1": pass --name/);
    const oci = skiff(['images', 'import', ociArchive, '--name', 'example.com/team/busybox', '--data-dir', dataDir]);
    assert.equal(oci.status, 0, oci.stderr);
    assert.match(oci.stdout, /^imported example\.com\/team\/busybox:1 \(sha256:[a-f0-9]{64}\)$/m);
    const docker = skiff(['images', 'import', dockerArchive, '--data-dir', dataDir]);
    assert.equal(docker.status, 0, docker.stderr);
    assert.match(docker.stdout, /imported docker\.io\/library\/busybox:imported/);

    const ls = skiff(['images', 'ls', '--data-dir', dataDir]);
    assert.equal(ls.status, 0, ls.stderr);
    const lines = ls.stdout.trim().split('\n');
    assert.match(lines[0], /^IMAGE\s+TAG\s+IMAGE ID\s+SIZE$/);
    assert.match(ls.stdout, /docker\.io\/library\/busybox\s+imported\s+[a-f0-9]{13}\s+[\d.]+MB/);
    assert.match(ls.stdout, /example\.com\/team\/busybox\s+1\s+/);

    const rm = skiff(['images', 'rm', 'busybox:imported', '--data-dir', dataDir]);
    assert.equal(rm.status, 0, rm.stderr);
    assert.deepEqual(skiff(['images', 'ls', '-q', '--data-dir', dataDir]).stdout.trim().split('\n'), ['example.com/team/busybox:1']);
    const again = skiff(['images', 'rm', 'busybox:imported', '--data-dir', dataDir]);
    assert.equal(again.status, 1);
    assert.match(again.stderr, /no such image: busybox:imported/);
  });
});
