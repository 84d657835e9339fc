import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { decodeHealthCheckResponse, encodeHealthCheckRequest, grpcProbe } from './grpc.ts';
import { httpProbe } from './http.ts';
import { tcpProbe } from './tcp.ts';

/** A port nothing listens on: bound, then closed. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('httpGet probes', () => {
  let server: http.Server;
  let port = 0;
  const seen: http.IncomingHttpHeaders[] = [];
  before(async () => {
    server = http.createServer((req, res) => {
      seen.push(req.headers);
      if (req.url === '/healthz') return res.end('ok');
      if (req.url === '/moved') { res.writeHead(302, { location: '/healthz' }); return res.end(); }
      if (req.url === '/slow') return setTimeout(() => res.end('late'), 1500);
      res.writeHead(500);
      res.end('broken');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(() => { server.closeAllConnections(); server.close(); });

  it('2xx/3xx succeed (redirects on the same host followed), others fail with the status code', async () => {
    assert.deepEqual(await httpProbe({ scheme: 'HTTP', host: '127.0.0.1', port, path: '/healthz', timeoutMs: 1000, headers: [{ name: 'X-Probe', value: 'yes' }] }), { result: 'success', output: 'ok' });
    assert.equal(seen.at(-1)!['user-agent'], 'kube-probe/1.36');
    assert.equal(seen.at(-1)!['x-probe'], 'yes');
    assert.equal((await httpProbe({ scheme: 'HTTP', host: '127.0.0.1', port, path: '/moved', timeoutMs: 1000 })).result, 'success');
    assert.deepEqual(await httpProbe({ scheme: 'HTTP', host: '127.0.0.1', port, path: '/bad', timeoutMs: 1000 }), { result: 'failure', output: 'HTTP probe failed with statuscode: 500' });
  });

  it('timeouts and refused connections fail with Go-style messages', async () => {
    const slow = await httpProbe({ scheme: 'HTTP', host: '127.0.0.1', port, path: '/slow', timeoutMs: 200 });
    assert.equal(slow.output, `Get "http://127.0.0.1:${port}/slow": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`);
    const closed = await closedPort();
    const refused = await httpProbe({ scheme: 'HTTP', host: '127.0.0.1', port: closed, path: '/', timeoutMs: 1000 });
    assert.equal(refused.output, `Get "http://127.0.0.1:${closed}/": dial tcp 127.0.0.1:${closed}: connect: connection refused`);
  });
});

describe('tcpSocket probes', () => {
  it('succeeds when a connection opens, fails when refused', async () => {
    const server = net.createServer((s) => s.end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    assert.equal((await tcpProbe({ host: '127.0.0.1', port, timeoutMs: 1000 })).result, 'success');
    server.close();
    const closed = await closedPort();
    assert.deepEqual(await tcpProbe({ host: '127.0.0.1', port: closed, timeoutMs: 1000 }), { result: 'failure', output: `dial tcp 127.0.0.1:${closed}: connect: connection refused` });
  });
});

describe('grpc probes (grpc.health.v1 over node:http2)', () => {
  let server: http2.Http2Server;
  let port = 0;
  const services = new Map([['', 1], ['db', 2]]);
  before(async () => {
    server = http2.createServer();
    server.on('stream', (stream, headers) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        if (headers[':path'] !== '/grpc.health.v1.Health/Check') {
          stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '12', 'grpc-message': 'unknown service' }, { endStream: true });
          return;
        }
        const body = Buffer.concat(chunks);
        const service = body.length > 7 ? body.subarray(7).toString('utf8') : '';
        const status = services.get(service) ?? 3;
        const message = Buffer.from([0x08, status]);
        const frame = Buffer.concat([Buffer.from([0, 0, 0, 0, message.length]), message]);
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
        stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
        stream.end(frame);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(() => server.close());

  it('encodes requests and decodes responses', () => {
    assert.deepEqual([...encodeHealthCheckRequest('db')], [0, 0, 0, 0, 4, 0x0a, 2, 0x64, 0x62]);
    assert.deepEqual([...encodeHealthCheckRequest('')], [0, 0, 0, 0, 0]);
    assert.equal(decodeHealthCheckResponse(Buffer.from([0, 0, 0, 0, 2, 0x08, 2])), 2);
  });

  it('SERVING succeeds; NOT_SERVING and refused connections fail with upstream messages', async () => {
    assert.deepEqual(await grpcProbe({ host: '127.0.0.1', port, timeoutMs: 2000 }), { result: 'success', output: 'service healthy' });
    assert.deepEqual(await grpcProbe({ host: '127.0.0.1', port, service: 'db', timeoutMs: 2000 }), { result: 'failure', output: 'service unhealthy (responded with "NOT_SERVING")' });
    const closed = await closedPort();
    const refused = await grpcProbe({ host: '127.0.0.1', port: closed, timeoutMs: 2000 });
    assert.equal(refused.result, 'failure');
    assert.equal(refused.output, `error: failed to connect service at "127.0.0.1:${closed}": dial tcp 127.0.0.1:${closed}: connect: connection refused`);
  });
});
