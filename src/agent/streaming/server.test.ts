import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { APISERVER_KUBELET_CLIENT_USER, startStreamingServer, type RunningStreamingServer } from './server.ts';
import { FakeStreamingBackend, testCertificateAuthority } from './testing.ts';

interface Credentials { cert: string; key: string }

describe('streaming server', () => {
  let dir: string;
  let server: RunningStreamingServer;
  let backend: FakeStreamingBackend;
  let apiserver: Credentials;
  let stranger: Credentials;
  let foreign: Credentials;
  const target = { namespace: 'default', pod: 'web', container: 'app' };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'skiff-streaming-'));
    const ca = await testCertificateAuthority();
    const otherCa = await testCertificateAuthority();
    apiserver = await ca.issueClient({ commonName: APISERVER_KUBELET_CLIENT_USER });
    stranger = await ca.issueClient({ commonName: 'system:node:other' });
    foreign = await otherCa.issueClient({ commonName: APISERVER_KUBELET_CLIENT_USER });
    backend = new FakeStreamingBackend({ cwd: dir });
    const logPath = join(dir, 'app.log');
    writeFileSync(logPath, '2026-11-22T03:04:05.000000001Z stdout F hello\n2026-11-22T03:04:06.000000001Z stderr F world\n');
    backend.set(target, { logPath, running: false });
    server = await startStreamingServer({ backend, address: '127.0.0.1', port: 0, clientCa: ca.caCert, certDir: join(dir, 'pki'), log: () => undefined });
  });
  after(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function get(path: string, credentials?: Credentials): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: server.port, path, rejectUnauthorized: false, ...credentials }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      });
      req.on('error', reject);
      req.end();
    });
  }

  it('serves container logs to the API server', async () => {
    const res = await get('/containerLogs/default/web/app?timestamps=true&tailLines=1', apiserver);
    assert.equal(res.status, 200);
    assert.equal(res.body, '2026-11-22T03:04:06.000000001Z world\n');
  });

  it('refuses callers without a cluster certificate, and other identities', async () => {
    const anonymous = await get('/containerLogs/default/web/app');
    assert.equal(anonymous.status, 401);
    assert.equal(JSON.parse(anonymous.body).reason, 'Unauthorized');
    assert.equal((await get('/containerLogs/default/web/app', foreign)).status, 401);
    const forbidden = await get('/containerLogs/default/web/app', stranger);
    assert.equal(forbidden.status, 403);
    assert.match(JSON.parse(forbidden.body).message, /user=system:node:other/);
  });

  it('answers errors as Status objects', async () => {
    const missing = await get('/containerLogs/default/nope/app', apiserver);
    assert.equal(missing.status, 404);
    assert.match(JSON.parse(missing.body).message, /container "app" in pod "nope" not found/);
    const previous = await get('/containerLogs/default/web/app?previous=true', apiserver);
    assert.equal(previous.status, 400);
    assert.equal(JSON.parse(previous.body).message, 'previous terminated container "app" in pod "web" not found');
    const invalid = await get('/containerLogs/default/web/app?tailLines=-1', apiserver);
    assert.equal(invalid.status, 400);
    assert.equal((await get('/nowhere', apiserver)).status, 404);
    assert.equal((await get('/exec/default/web/app?command=true&stdout=1', apiserver)).status, 400);
  });

  function connect(path: string, protocols: string[], credentials: Credentials = apiserver): WebSocket {
    return new WebSocket(`wss://127.0.0.1:${server.port}${path}`, protocols, { ...credentials, rejectUnauthorized: false });
  }

  /** Collects a session's output per channel until the server closes. */
  function collect(ws: WebSocket): Promise<{ channels: Map<number, string>; closeCode: number }> {
    const channels = new Map<number, string>();
    return new Promise((resolve, reject) => {
      ws.on('message', (data: Buffer) => channels.set(data[0], (channels.get(data[0]) ?? '') + data.subarray(1).toString()));
      ws.on('close', (code) => resolve({ channels, closeCode: code }));
      ws.on('error', reject);
    });
  }

  it('runs exec over v5: output, exit status, and a normal close', async () => {
    backend.set(target, { running: true });
    const ws = connect('/exec/default/web/app?command=sh&command=-c&command=echo%20out;%20echo%20err%20>%262;%20exit%203&stdout=1&stderr=1', ['v5.channel.k8s.io']);
    const result = await collect(ws);
    assert.equal(ws.protocol, 'v5.channel.k8s.io');
    assert.equal(result.channels.get(1), 'out\n');
    assert.equal(result.channels.get(2), 'err\n');
    const status = JSON.parse(result.channels.get(3)!);
    assert.equal(status.reason, 'NonZeroExitCode');
    assert.deepEqual(status.details.causes, [{ reason: 'ExitCode', message: '3' }]);
    assert.equal(result.closeCode, 1000);
    assert.deepEqual(backend.calls.at(-1)?.options, { argv: ['sh', '-c', 'echo out; echo err >&2; exit 3'], stdin: false, tty: false });
  });

  it('passes stdin through and ends it on the v5 close signal', async () => {
    backend.set(target, { running: true });
    const ws = connect('/exec/default/web/app?command=cat&stdin=true&stdout=true', ['v5.channel.k8s.io']);
    const result = collect(ws);
    await new Promise((resolve) => ws.once('open', resolve));
    ws.send(Buffer.from([0, ...Buffer.from('typed text\n')]));
    ws.send(Buffer.from([255, 0]));
    const { channels } = await result;
    assert.equal(channels.get(1), 'typed text\n');
    assert.deepEqual(JSON.parse(channels.get(3)!), { metadata: {}, status: 'Success' });
  });

  it('speaks v4 and forwards resizes of a terminal', async () => {
    backend.set(target, { running: true });
    const ws = connect('/exec/default/web/app?command=sh&command=-c&command=sleep%200.3;%20echo%20done&stdout=1&tty=1', ['v4.channel.k8s.io']);
    const result = collect(ws);
    await new Promise((resolve) => ws.once('open', resolve));
    ws.send(Buffer.concat([Buffer.from([4]), Buffer.from('{"Width":120,"Height":40}\n')]));
    const { channels } = await result;
    assert.equal(ws.protocol, 'v4.channel.k8s.io');
    assert.equal(channels.get(1), 'done\n');
    assert.deepEqual(backend.resizes.at(-1), { width: 120, height: 40 });
    assert.equal(JSON.parse(channels.get(3)!).status, 'Success');
  });

  it('refuses an exec that asks for no stream, or into a missing container, before upgrading', async () => {
    const none = connect('/exec/default/web/app?command=true', ['v5.channel.k8s.io']);
    const refused = await new Promise<number>((resolve) => none.on('unexpected-response', (_req, res) => resolve(res.statusCode!)));
    assert.equal(refused, 400);
    const missing = connect('/exec/default/ghost/app?command=true&stdout=1', ['v5.channel.k8s.io']);
    assert.equal(await new Promise<number>((resolve) => missing.on('unexpected-response', (_req, res) => resolve(res.statusCode!))), 404);
    const stranger_ = connect('/exec/default/web/app?command=true&stdout=1', ['v5.channel.k8s.io'], stranger);
    assert.equal(await new Promise<number>((resolve) => stranger_.on('unexpected-response', (_req, res) => resolve(res.statusCode!))), 403);
  });

  it('tells a client falling back to SPDY why its exec cannot run, and refuses unknown upgrades and SPDY protocols', async () => {
    const spdy = (path: string, upgrade = 'SPDY/3.1', version = 'v4.channel.k8s.io') => new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request({
        host: '127.0.0.1', port: server.port, path, rejectUnauthorized: false, ...apiserver,
        headers: { connection: 'Upgrade', upgrade, 'x-stream-protocol-version': version },
      }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      });
      req.on('error', reject);
      req.end();
    });
    const missing = await spdy('/exec/default/ghost/app?command=true&stdout=1');
    assert.equal(missing.status, 404);
    assert.match(JSON.parse(missing.body).message, /container "app" in pod "ghost" not found/);
    backend.set(target, { running: false });
    const stopped = await spdy('/exec/default/web/app?command=true&stdout=1');
    assert.equal(stopped.status, 400);
    assert.match(JSON.parse(stopped.body).message, /is not running/);
    backend.set(target, { running: true });
    const unknown = await spdy('/exec/default/web/app?command=true&stdout=1', 'h2c');
    assert.equal(unknown.status, 400);
    assert.match(JSON.parse(unknown.body).message, /h2c is not supported by this node/);
    const unversioned = await spdy('/exec/default/web/app?command=true&stdout=1', 'SPDY/3.1', 'v9.channel.k8s.io');
    assert.equal(unversioned.status, 403);
    assert.match(JSON.parse(unversioned.body).message, /unable to negotiate protocol/);
  });

  it('refuses a port-forward before upgrading: unknown pod, unknown protocol, bad ports', async () => {
    const upgrade = (path: string, headers: Record<string, string>) => new Promise<{ status: number; body: string; accepted?: string }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: server.port, path, rejectUnauthorized: false, ...apiserver, headers: { connection: 'Upgrade', ...headers } }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode!, body, accepted: res.headers['x-accepted-stream-protocol-versions'] as string | undefined }));
      });
      req.on('error', reject);
      req.end();
    });
    const ghost = await upgrade('/portForward/default/ghost', { upgrade: 'SPDY/3.1', 'x-stream-protocol-version': 'portforward.k8s.io' });
    assert.equal(ghost.status, 404);
    assert.equal(JSON.parse(ghost.body).message, 'pod does not exist');
    const wrong = await upgrade('/portForward/default/web', { upgrade: 'SPDY/3.1', 'x-stream-protocol-version': 'v4.channel.k8s.io' });
    assert.equal(wrong.status, 403);
    assert.equal(wrong.accepted, 'portforward.k8s.io');
    const noPorts = await upgrade('/portForward/default/web', { upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==', 'sec-websocket-protocol': 'v4.channel.k8s.io' });
    assert.equal(noPorts.status, 400);
    assert.equal(JSON.parse(noPorts.body).message, 'query parameter "port" is required');
  });

  it('kills the exec\'d process when the client goes away', async () => {
    backend.set(target, { running: true });
    const ws = connect('/exec/default/web/app?command=sleep&command=30&stdout=1', ['v5.channel.k8s.io']);
    await new Promise((resolve) => ws.once('open', resolve));
    const sleeper = backend.processes.at(-1)!;
    assert.deepEqual(sleeper.spawnargs, ['sleep', '30']);
    ws.terminate();
    await waitFor(() => sleeper.exitCode !== null || sleeper.signalCode !== null);
    assert.equal(sleeper.signalCode, 'SIGKILL');
    assert.equal((await get('/healthz', apiserver)).body, 'ok');
  });
});

async function waitFor(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
