// Forwarding names outside the cluster to upstream resolvers (CoreDNS's
// `forward . /etc/resolv.conf`): the client's query bytes go out unchanged
// over the transport the client used, on a fresh socket each, to each
// upstream in turn until one answers.
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { connect, isIP } from 'node:net';

export interface Upstream {
  host: string;
  port: number;
}

/** The `nameserver` lines of a resolv.conf (port 53); none when the file is missing. */
export function readResolvConf(path = '/etc/resolv.conf'): Upstream[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return [];
  }
  const upstreams: Upstream[] = [];
  for (const line of text.split('\n')) {
    const [keyword, address] = line.trim().split(/\s+/);
    // A scoped IPv6 address (fe80::1%eth0) keeps its zone for the socket.
    if (keyword === 'nameserver' && address && isIP(address.split('%')[0])) upstreams.push({ host: address, port: 53 });
  }
  return upstreams;
}

export interface ForwardOptions {
  upstreams: Upstream[];
  query: Buffer;
  transport: 'udp' | 'tcp';
  timeoutMs: number;
}

/** The first upstream answer (whole DNS message), or undefined when none answered. */
export async function forwardQuery(options: ForwardOptions): Promise<Buffer | undefined> {
  for (const upstream of options.upstreams) {
    const send = options.transport === 'tcp' ? queryOverTcp : queryOverUdp;
    const reply = await send(upstream, options.query, options.timeoutMs).catch(() => undefined);
    // A reply must answer this query (same id), or it is someone else's.
    if (reply && reply.length >= 12 && reply.readUInt16BE(0) === options.query.readUInt16BE(0)) return reply;
  }
  return undefined;
}

function queryOverUdp(upstream: Upstream, query: Buffer, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = createSocket(isIP(upstream.host.split('%')[0]) === 6 ? 'udp6' : 'udp4');
    const timer = setTimeout(() => finish(new Error(`upstream ${upstream.host}:${upstream.port} timed out`)), timeoutMs);
    const finish = (error: Error | undefined, reply?: Buffer) => {
      clearTimeout(timer);
      socket.close();
      if (error) reject(error);
      else resolve(reply!);
    };
    socket.on('error', (error) => finish(error));
    socket.on('message', (reply) => finish(undefined, reply));
    socket.send(query, upstream.port, upstream.host);
  });
}

function queryOverTcp(upstream: Upstream, query: Buffer, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: upstream.host, port: upstream.port });
    let received = Buffer.alloc(0);
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`upstream ${upstream.host}:${upstream.port} timed out`)));
    socket.on('error', reject);
    socket.on('close', () => reject(new Error('upstream closed the connection')));
    socket.on('data', (chunk) => {
      received = Buffer.concat([received, chunk]);
      if (received.length < 2) return;
      const length = received.readUInt16BE(0);
      if (received.length < 2 + length) return;
      resolve(received.subarray(2, 2 + length));
      socket.destroy();
    });
    const framed = Buffer.alloc(2 + query.length);
    framed.writeUInt16BE(query.length, 0);
    query.copy(framed, 2);
    socket.write(framed);
  });
}
