// kubectl-free port-forward over WebSocket channels (what the Python client
// and other libraries speak; kubelet's websocket port-forward). The ports are
// in the URL (`port` query parameters, fixed for the connection); port i has
// channel 2i for data and 2i+1 for errors. The node's first message on each
// channel is the port number (2 bytes, little-endian); after that the data
// channel carries the bytes both ways and the error channel the failure text.
// Each port gets one pod connection; when all of them are closed the
// WebSocket is closed.
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import { decodeFrame, encodeFrame, type ChannelProtocol } from './channel-protocol.ts';
import { forwardingError, PodConnection } from './port-forward.ts';
import type { PodTarget } from './types.ts';

export type PortForwardWebSocketProtocol = Pick<ChannelProtocol, 'name' | 'base64'>;

/** kubelet's protocols (binary, base64) and the name the Python client's docs use; '' is a client that offers none. */
const PROTOCOLS: readonly PortForwardWebSocketProtocol[] = [
  { name: 'v4.channel.k8s.io', base64: false },
  { name: 'portforward.k8s.io', base64: false },
  { name: 'v4.base64.channel.k8s.io', base64: true },
];
export const PORT_FORWARD_WEBSOCKET_PROTOCOLS: readonly string[] = PROTOCOLS.map((p) => p.name);

/** The protocol to speak; a client that offers none gets binary channels (kubelet's "" protocol). */
export function negotiatePortForwardProtocol(offered: readonly string[]): PortForwardWebSocketProtocol | undefined {
  if (offered.length === 0) return { name: '', base64: false };
  const names = new Set(offered.map((p) => p.trim()));
  return PROTOCOLS.find((p) => names.has(p.name));
}

export interface ServeWebSocketPortForwardOptions {
  socket: WebSocket;
  protocol: PortForwardWebSocketProtocol;
  ports: number[];
  target: PodTarget;
  dial: (port: number) => Promise<Duplex>;
}

/** Resolves when every port's pod connection is over and the WebSocket closed. */
export async function serveWebSocketPortForward(options: ServeWebSocketPortForwardOptions): Promise<void> {
  const { socket, ports, target } = options;
  // Frames are built as version 4 channel frames: no close signal exists in this protocol.
  const framing: ChannelProtocol = { name: options.protocol.name, base64: options.protocol.base64, version: 4 };
  const closed = new Promise<void>((resolve) => {
    if (socket.readyState !== socket.OPEN) resolve();
    socket.once('close', () => resolve());
  });
  socket.on('error', () => undefined); // a broken connection shows up as 'close'

  const send = (channel: number, payload: Buffer, done?: () => void): void => {
    if (socket.readyState !== socket.OPEN) return done?.();
    const frame = encodeFrame(framing, channel, payload);
    socket.send(frame.data, { binary: frame.binary }, () => done?.());
  };

  const connections = ports.map(() => new PodConnection());
  socket.on('message', (data, isBinary) => {
    const frame = decodeFrame(framing, toBuffer(data), isBinary);
    if (!frame || frame.kind !== 'data') return;
    // Client bytes on an error channel, or on a channel of no port, mean nothing here.
    if (frame.channel % 2 === 0) connections[frame.channel / 2]?.write(frame.payload);
  });

  ports.forEach((port, i) => {
    const prefix = Buffer.alloc(2);
    prefix.writeUInt16LE(port);
    send(2 * i, prefix);
    send(2 * i + 1, prefix);
  });

  const forwarded = ports.map(async (port, i) => {
    let pod: Duplex;
    try {
      pod = await options.dial(port);
    } catch (error) {
      send(2 * i + 1, Buffer.from(forwardingError(target, port, error)));
      return;
    }
    await connections[i]!.attach(pod, {
      write: (chunk, done) => send(2 * i, chunk, done),
      end: () => undefined, // no half-close exists on a channel: the WebSocket closes when all ports are done
      bufferedAmount: () => socket.bufferedAmount,
    });
  });

  await Promise.race([Promise.all(forwarded), closed]);
  for (const connection of connections) connection.destroy();
  if (socket.readyState === socket.OPEN) socket.close(1000);
  await closed;
}

function toBuffer(data: Buffer | ArrayBuffer | Buffer[]): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}
