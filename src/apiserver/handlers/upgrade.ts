// HTTP/1.1 upgrade requests (WebSocket, SPDY) reach the API server through
// the 'upgrade' event with a bare socket. They go through the ordinary router
// with a response object written onto that socket, so authentication, routing
// and error Status bodies are the same as for any request; a handler that
// upgrades (exec, attach) takes the socket over with `takeUpgradeSocket`.
import { ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ServerRequest } from '../http/body.ts';
import type { ServerReply } from '../http/respond.ts';

interface PendingUpgrade {
  socket: Duplex;
  head: Buffer;
  res: ServerResponse;
  taken: boolean;
}

const pending = new WeakMap<ServerRequest, PendingUpgrade>();

/** A response for an upgrade request, written onto its socket; the socket closes once it is sent. */
export function upgradeResponse(req: ServerRequest, socket: Duplex, head: Buffer): ServerReply {
  const res = new ServerResponse(req);
  res.assignSocket(socket as never);
  res.shouldKeepAlive = false;
  const entry: PendingUpgrade = { socket, head, res, taken: false };
  pending.set(req, entry);
  socket.on('error', () => socket.destroy());
  res.on('finish', () => {
    if (entry.taken) return;
    res.detachSocket(socket as never);
    socket.end();
  });
  return res;
}

/** Whether the request arrived as an HTTP/1.1 upgrade (only those can become streams). */
export function isUpgrade(req: ServerRequest): boolean {
  return pending.has(req);
}

/** Take the raw connection over (the response object is not used any more). */
export function takeUpgradeSocket(req: ServerRequest): { socket: Duplex; head: Buffer } {
  const entry = pending.get(req);
  if (!entry || entry.taken) throw new Error('not an upgrade request, or already taken');
  entry.taken = true;
  entry.res.detachSocket(entry.socket as never);
  // For the request metrics: the connection was switched, not answered.
  entry.res.statusCode = 101;
  return { socket: entry.socket, head: entry.head };
}
