// pods/portforward (GET or POST with an HTTP/1.1 upgrade): find the pod's
// node and join the client's connection to the agent's
// /portForward/{ns}/{pod} endpoint, as exec does (pod-exec.ts). Every
// transport passes through unchanged — SPDY/3.1 (kubectl ≤ 1.30 and the
// fallback), the WebSocket channel protocol (the Python client) and SPDY
// tunnelled in WebSocket (`SPDY/3.1+portforward.k8s.io`, kubectl ≥ 1.31): the
// agent speaks all three. Upstream's API server unwraps the tunnel and speaks
// plain SPDY to kubelet because kubelets only know SPDY; ours can take the
// tunnel itself, so the API server keeps one code path (the byte splice) and
// does no per-message work.
import { errors } from '../errors.ts';
import type { RequestContext } from './context.ts';
import { requestHead, splice } from './pod-exec.ts';
import { isUpgrade, takeUpgradeSocket } from './upgrade.ts';

export async function handlePodPortForward(ctx: RequestContext): Promise<void> {
  const { parts, query, info } = ctx;
  const pod = await parts.store.get(ctx.resource, info.namespace, info.name!);
  const ports = parsePorts(query);
  const nodeName = (pod.spec as { nodeName?: string } | undefined)?.nodeName;
  if (!nodeName) throw errors.badRequest(`pod ${pod.metadata.name} does not have a host assigned`);
  if (!parts.nodeProxy) throw errors.internal('this server has no credentials for node connections');
  const location = await parts.nodeProxy.locate(parts, nodeName);
  if (!isUpgrade(ctx.req)) throw errors.badRequest('Upgrade request required');
  // kubelet's URL: the ports (PodPortForwardOptions.ports) become `port` parameters.
  const params = new URLSearchParams();
  for (const port of ports) params.append('port', String(port));
  const segments = [pod.metadata.namespace ?? 'default', pod.metadata.name ?? ''].map((s) => encodeURIComponent(s));
  const path = `/portForward/${segments.join('/')}${ports.length ? `?${params}` : ''}`;
  const backend = await parts.nodeProxy.dial(location, path);
  const { socket, head } = takeUpgradeSocket(ctx.req);
  backend.write(requestHead(ctx, location, path));
  if (head.length > 0) backend.write(head);
  await splice(socket, backend);
}

/** The `ports` query parameters (repeated, or comma-separated as the Python client sends them). */
function parsePorts(query: URLSearchParams): number[] {
  return query.getAll('ports').flatMap((v) => v.split(',')).filter((v) => v.trim() !== '').map((value) => {
    const text = value.trim();
    const port = /^\d+$/.test(text) ? Number(text) : NaN;
    if (!(port >= 1 && port <= 65535)) throw errors.badRequest(`invalid port ${JSON.stringify(value)}: must be a number between 1 and 65535`);
    return port;
  });
}
