// pods/exec and pods/attach (GET or POST with an HTTP/1.1 upgrade): pick the
// container, find the pod's node, and join the client's connection to the
// node agent's /exec or /attach endpoint. The upgrade itself (WebSocket with
// the vN.channel.k8s.io subprotocols) is negotiated end to end between client
// and agent: the API server forwards the request and then the bytes.
import type { Duplex } from 'node:stream';
import { errors } from '../errors.ts';
import type { KubeObject } from '../registry/resource-store.ts';
import { parseBool } from '../request-info.ts';
import type { RequestContext } from './context.ts';
import type { NodeLocation } from './node-proxy.ts';
import { resolveContainer } from './pod-containers.ts';
import { isUpgrade, takeUpgradeSocket } from './upgrade.ts';

/** Request headers that stay with the API server: credentials and hop-by-hop routing. */
const DROPPED_HEADERS = new Set(['host', 'authorization', 'proxy-authorization', 'cookie', 'content-length', 'transfer-encoding', 'keep-alive', 'te', 'trailer']);

export function handlePodExec(ctx: RequestContext): Promise<void> {
  return proxyStream(ctx, 'exec');
}

export function handlePodAttach(ctx: RequestContext): Promise<void> {
  return proxyStream(ctx, 'attach');
}

async function proxyStream(ctx: RequestContext, kind: 'exec' | 'attach'): Promise<void> {
  const { parts, query, info } = ctx;
  const pod = await parts.store.get(ctx.resource, info.namespace, info.name!);
  const container = resolveContainer(pod, query.get('container'));
  const nodeName = (pod.spec as { nodeName?: string } | undefined)?.nodeName;
  if (!nodeName) throw errors.badRequest(`pod ${pod.metadata.name} does not have a host assigned`);
  const path = nodePath(kind, pod, container, query);
  if (!parts.nodeProxy) throw errors.internal('this server has no credentials for node connections');
  const location = await parts.nodeProxy.locate(parts, nodeName);
  if (!isUpgrade(ctx.req)) throw errors.badRequest('Upgrade request required');
  const backend = await parts.nodeProxy.dial(location, path);
  const { socket, head } = takeUpgradeSocket(ctx.req);
  backend.write(requestHead(ctx, location, path));
  if (head.length > 0) backend.write(head);
  await splice(socket, backend);
}

/** The agent's URL for the request: kubelet's /exec|attach/{ns}/{pod}/{container} with "1" flags. */
function nodePath(kind: 'exec' | 'attach', pod: KubeObject, container: string, query: URLSearchParams): string {
  const params = new URLSearchParams();
  for (const flag of ['stdin', 'stdout', 'stderr', 'tty']) if (parseBool(query.get(flag))) params.set(flag, '1');
  if (kind === 'exec') for (const command of query.getAll('command')) params.append('command', command);
  const segments = [kind, pod.metadata.namespace ?? 'default', pod.metadata.name ?? '', container].map((s) => encodeURIComponent(s));
  return `/${segments.join('/')}?${params}`;
}

/** The request line and headers for the agent, keeping the client's upgrade negotiation intact. */
export function requestHead(ctx: RequestContext, location: NodeLocation, path: string): string {
  const host = location.host.includes(':') ? `[${location.host}]:${location.port}` : `${location.host}:${location.port}`;
  const lines = [`${ctx.req.method ?? 'GET'} ${path} HTTP/1.1`, `Host: ${host}`];
  const raw = ctx.req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i].toLowerCase();
    if (DROPPED_HEADERS.has(name) || name.startsWith('impersonate-') || /[\r\n]/.test(raw[i + 1])) continue;
    lines.push(`${raw[i]}: ${raw[i + 1]}`);
  }
  return lines.join('\r\n') + '\r\n\r\n';
}

const CLOSE_GRACE_MS = 5000;

/** Copies both ways until either side closes; then closes the other. */
export function splice(client: Duplex, backend: Duplex): Promise<void> {
  return new Promise((resolve) => {
    let open = 2;
    const closedOne = (other: Duplex) => () => {
      // end(), not destroy(): what one side sent last (the exit status, the
      // WebSocket close) may still sit in the other's write buffer. A peer
      // that does not close in return is dropped after a grace period.
      other.end();
      setTimeout(() => other.destroy(), CLOSE_GRACE_MS).unref();
      if (--open <= 0) resolve();
    };
    client.once('close', closedOne(backend));
    backend.once('close', closedOne(client));
    client.on('error', () => client.destroy());
    backend.on('error', () => backend.destroy());
    client.pipe(backend);
    backend.pipe(client);
  });
}
