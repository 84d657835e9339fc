// A loopback TCP proxy for tests that need to break a client's connection at
// a chosen moment (the traffic is TLS, so breaking it below TLS is the only
// way to fake a network failure against the real server).
import { createServer, connect, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * pass: forward both ways.
 * cut-on-next-request: the next bytes the client sends (a request) are
 *   swallowed and the connection is killed, so the request is "sent" but never
 *   answered; then back to pass.
 * blackhole: swallow whatever the client sends (the server never answers).
 */
export type ProxyMode = 'pass' | 'cut-on-next-request' | 'blackhole';

export interface TcpProxy {
  /** https://127.0.0.1:PORT */
  url: string;
  mode: ProxyMode;
  /** Connections accepted so far. */
  connections(): number;
  /** Kill every open connection now (a network failure as the client sees it). */
  dropConnections(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(target: string): Promise<TcpProxy> {
  const { hostname, port } = new URL(target);
  const sockets = new Set<Socket>();
  let accepted = 0;
  const proxy: TcpProxy = {
    url: '',
    mode: 'pass',
    connections: () => accepted,
    dropConnections() {
      for (const s of sockets) s.destroy();
    },
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
  const server = createServer((client) => {
    accepted++;
    const upstream = connect(Number(port), hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {});
    }
    client.on('data', (chunk) => {
      if (proxy.mode === 'cut-on-next-request') {
        proxy.mode = 'pass';
        client.destroy();
        upstream.destroy();
        return;
      }
      if (proxy.mode === 'blackhole') return;
      upstream.write(chunk);
    });
    upstream.on('data', (chunk) => client.write(chunk));
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  proxy.url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return proxy;
}
