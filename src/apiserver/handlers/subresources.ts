// Subresources with handlers of their own (everything but status, which the
// generic handlers serve): one row each, so adding one is one line here.
import { handleBinding } from './binding.ts';
import type { RequestContext } from './context.ts';
import { handleEviction } from './eviction.ts';
import { handleNamespaceFinalize } from './finalize.ts';
import { handlePodAttach, handlePodExec } from './pod-exec.ts';
import { handlePodLog } from './pod-log.ts';
import { handlePodPortForward } from './pod-portforward.ts';
import { handleNodeProxy, handlePodProxy, handleServiceProxy } from './proxy.ts';
import { handleScale } from './scale.ts';
import { handleTokenRequest } from './token-request.ts';

interface SubresourceRoute {
  /** The API group of the parent resource ('' for core). */
  group: string;
  /** The parent resource; '*' for any that has the subresource (scale). */
  resource: string;
  subresource: string;
  /** Request verbs served (the rest are 405). */
  verbs: readonly string[];
  handle(ctx: RequestContext): Promise<void>;
}

/** Every method a proxy passes on (GET with ?watch=true parses as watch). */
const PROXY_VERBS = ['get', 'watch', 'create', 'update', 'patch', 'delete', 'options'];

const routes: readonly SubresourceRoute[] = [
  { group: '', resource: 'pods', subresource: 'binding', verbs: ['create'], handle: handleBinding },
  { group: '', resource: 'pods', subresource: 'eviction', verbs: ['create'], handle: handleEviction },
  { group: '', resource: 'pods', subresource: 'log', verbs: ['get'], handle: handlePodLog },
  { group: '', resource: 'pods', subresource: 'exec', verbs: ['get', 'create'], handle: handlePodExec },
  { group: '', resource: 'pods', subresource: 'attach', verbs: ['get', 'create'], handle: handlePodAttach },
  { group: '', resource: 'pods', subresource: 'portforward', verbs: ['get', 'create'], handle: handlePodPortForward },
  { group: '', resource: 'pods', subresource: 'proxy', verbs: PROXY_VERBS, handle: handlePodProxy },
  { group: '', resource: 'services', subresource: 'proxy', verbs: PROXY_VERBS, handle: handleServiceProxy },
  { group: '', resource: 'nodes', subresource: 'proxy', verbs: PROXY_VERBS, handle: handleNodeProxy },
  { group: '*', resource: '*', subresource: 'scale', verbs: ['get', 'update', 'patch'], handle: handleScale },
  { group: '', resource: 'namespaces', subresource: 'finalize', verbs: ['update'], handle: handleNamespaceFinalize },
  { group: '', resource: 'serviceaccounts', subresource: 'token', verbs: ['create'], handle: handleTokenRequest },
];

/** The route serving the request's subresource, if one does. */
export function subresourceRoute(ctx: RequestContext): SubresourceRoute | undefined {
  const { info, resource } = ctx;
  return routes.find((r) => r.subresource === info.subresource
    && (r.group === '*' || r.group === resource.group)
    && (r.resource === '*' || r.resource === resource.plural));
}
