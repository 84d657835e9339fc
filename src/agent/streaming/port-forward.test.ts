import assert from 'node:assert/strict';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { WebSocket, WebSocketServer } from 'ws';
import { parsePort, parsePortQuery } from './port-forward.ts';
import { encodeDataFrame, encodeSynStream, FLAG_FIN, FrameReader, HeaderCompressor, type RawFrame } from './spdy-framer.ts';
import { serveSpdyPortForward } from './spdy-port-forward.ts';
import { negotiatePortForwardProtocol, serveWebSocketPortForward } from './websocket-port-forward.ts';

const target = { namespace: 'default', pod: 'web' };

/** A stand-in for the pod's port: echoes with a prefix, and answers "bye" when the client half-closes. */
function echoServer(): Promise<Server> {
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    socket.on('data', (d) => socket.write(`echo:${d}`));
    socket.on('end', () => socket.end('bye'));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

function dialer(ports: Map<number, number>) {
  return (port: number) => new Promise<Socket>((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: ports.get(port) ?? 1 });
    socket.once('connect', () => resolve(socket));
    socket.once('error', () => reject(new Error(`dial tcp4 127.0.0.1:${port}: connect: connection refused`)));
  });
}

describe('port-forward requests', () => {
  it('parses ports as kubelet does', () => {
    assert.equal(parsePort('8080'), 8080);
    assert.throws(() => parsePort('0'), /"0" is not a valid port/);
    assert.throws(() => parsePort('http'), /unable to parse "http" as a port/);
    assert.throws(() => parsePort('70000'), /unable to parse/);
    assert.deepEqual(parsePortQuery(new URLSearchParams('port=80&port=81,82')), [80, 81, 82]);
    assert.throws(() => parsePortQuery(new URLSearchParams('')), /query parameter "port" is required/);
  });

  it('negotiates the WebSocket channel protocols (none offered: binary)', () => {
    assert.deepEqual(negotiatePortForwardProtocol([]), { name: '', base64: false });
    assert.deepEqual(negotiatePortForwardProtocol(['v4.channel.k8s.io']), { name: 'v4.channel.k8s.io', base64: false });
    assert.deepEqual(negotiatePortForwardProtocol(['v4.base64.channel.k8s.io']), { name: 'v4.base64.channel.k8s.io', base64: true });
    assert.equal(negotiatePortForwardProtocol(['v5.channel.k8s.io']), undefined);
  });
});

describe('SPDY port-forward', () => {
  let pod: Server;
  let node: Server;
  before(async () => {
    pod = await echoServer();
    const ports = new Map([[80, (pod.address() as AddressInfo).port]]);
    node = createServer((socket) => void serveSpdyPortForward({ socket, head: Buffer.alloc(0), target: { ...target, podUid: 'u1' }, dial: dialer(ports) }));
    await new Promise<void>((resolve) => node.listen(0, '127.0.0.1', resolve));
  });
  after(() => {
    pod.close();
    node.close();
  });

  /** A SPDY client: opens streams, collects what arrives per stream. */
  async function client() {
    const socket = connect({ host: '127.0.0.1', port: (node.address() as AddressInfo).port });
    await new Promise((resolve) => socket.once('connect', resolve));
    const compressor = new HeaderCompressor();
    const reader = new FrameReader();
    const received = new Map<number, { data: string; fin: boolean }>();
    socket.on('data', (chunk: Buffer) => {
      for (const frame of reader.push(chunk) as RawFrame[]) {
        if (frame.control) continue;
        const entry = received.get(frame.streamId) ?? { data: '', fin: false };
        entry.data += frame.data.toString();
        if (frame.flags & FLAG_FIN) entry.fin = true;
        received.set(frame.streamId, entry);
      }
    });
    return {
      received,
      async open(id: number, headers: Record<string, string>) {
        const block = await compressor.compress(new Map(Object.entries(headers).map(([k, v]) => [k, [v]])));
        socket.write(encodeSynStream({ streamId: id, associatedStreamId: 0, priority: 0, headerBlock: block }));
      },
      send: (id: number, data: string, fin = false) => socket.write(encodeDataFrame({ streamId: id, data: Buffer.from(data), fin })),
      close() {
        compressor.close();
        socket.destroy();
      },
    };
  }

  async function until(check: () => boolean): Promise<void> {
    const deadline = Date.now() + 5000;
    while (!check()) {
      if (Date.now() > deadline) throw new Error('timed out');
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  it('pairs the error and data streams by request id, copies both ways, and finishes both streams when the pod closes', async () => {
    const c = await client();
    try {
      await c.open(1, { streamtype: 'error', port: '80', requestid: '0' });
      await c.open(3, { streamtype: 'data', port: '80', requestid: '0' });
      c.send(3, 'ping');
      await until(() => c.received.get(3)?.data === 'echo:ping');
      // The client half-closes; the pod still answers, then closes.
      c.send(3, '', true);
      await until(() => c.received.get(3)?.fin === true && c.received.get(1)?.fin === true);
      assert.equal(c.received.get(3)?.data, 'echo:pingbye');
      assert.equal(c.received.get(1)?.data ?? '', '');
    } finally {
      c.close();
    }
  });

  it('writes a failed dial on the error stream, and pairs streams of old clients by id', async () => {
    const c = await client();
    try {
      // No requestid header: error stream N pairs with data stream N+2.
      await c.open(5, { streamtype: 'error', port: '81' });
      await c.open(7, { streamtype: 'data', port: '81' });
      await until(() => c.received.get(5)?.fin === true);
      assert.equal(c.received.get(5)?.data, 'error forwarding port 81 to pod web_default, uid u1: dial tcp4 127.0.0.1:81: connect: connection refused');
      assert.equal(c.received.get(7)?.fin, true);
    } finally {
      c.close();
    }
  });
});

describe('WebSocket port-forward', () => {
  let pod: Server;
  let wss: WebSocketServer;
  let url: string;
  before(async () => {
    pod = await echoServer();
    const ports = new Map([[80, (pod.address() as AddressInfo).port]]);
    wss = new WebSocketServer({ port: 0, host: '127.0.0.1', handleProtocols: (offered) => negotiatePortForwardProtocol([...offered])?.name || false });
    wss.on('connection', (socket, req) => {
      const requested = new URL(req.url ?? '/', 'http://x').searchParams.getAll('port').map(Number);
      const protocol = negotiatePortForwardProtocol(socket.protocol ? [socket.protocol] : [])!;
      void serveWebSocketPortForward({ socket, protocol, ports: requested, target, dial: dialer(ports) });
    });
    await new Promise((resolve) => wss.once('listening', resolve));
    url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/`;
  });
  after(() => {
    pod.close();
    wss.close();
  });

  it('starts each channel with its port, carries data, reports a refused port, and closes when all ports are done', async () => {
    const ws = new WebSocket(`${url}?port=80&port=81`, ['v4.channel.k8s.io']);
    const messages: Array<{ channel: number; payload: string }> = [];
    ws.on('message', (data: Buffer) => messages.push({ channel: data[0]!, payload: data.subarray(1).toString('latin1') }));
    const closed = new Promise((resolve) => ws.once('close', resolve));
    await new Promise((resolve) => ws.once('open', resolve));
    ws.send(Buffer.concat([Buffer.from([0]), Buffer.from('GET')]));
    const port = (n: number) => String.fromCharCode(n & 0xff, n >> 8);
    const deadline = Date.now() + 5000;
    while (!messages.some((m) => m.channel === 0 && m.payload === 'echo:GET') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    // The pod keeps its connection: closing the WebSocket ends the session.
    ws.close();
    await closed;
    assert.deepEqual(messages.filter((m) => m.payload.length === 2), [
      { channel: 0, payload: port(80) }, { channel: 1, payload: port(80) }, { channel: 2, payload: port(81) }, { channel: 3, payload: port(81) },
    ]);
    assert.ok(messages.some((m) => m.channel === 0 && m.payload === 'echo:GET'));
    assert.ok(messages.some((m) => m.channel === 3 && /error forwarding port 81 to pod web_default, uid : dial tcp4 127\.0\.0\.1:81/.test(m.payload)));
  });

  it('speaks base64 text frames, and closes once the only port\'s connection is over', async () => {
    const ws = new WebSocket(`${url}?port=81`, ['v4.base64.channel.k8s.io']);
    const messages: string[] = [];
    ws.on('message', (data: Buffer) => messages.push(data.toString()));
    const code = await new Promise<number>((resolve) => ws.once('close', resolve));
    assert.equal(code, 1000);
    assert.equal(messages[0], '0' + Buffer.from([81, 0]).toString('base64'));
    assert.match(Buffer.from(messages.at(-1)!.slice(1), 'base64').toString(), /error forwarding port 81/);
  });
});
