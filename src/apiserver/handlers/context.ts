// What every resource handler gets: the parsed request, the resource it
// addresses, and the shared server parts.
import type { ResourceInfo, KindRegistry } from '../../api/registry.ts';
import type { AdmissionChain } from '../admission/chain.ts';
import type { UserInfo } from '../auth/authenticate.ts';
import type { ServiceAccountTokens } from '../auth/service-account-tokens.ts';
import type { NodeProxy } from './node-proxy.ts';
import type { ServerRequest } from '../http/body.ts';
import type { ServerReply } from '../http/respond.ts';
import type { RequestInfo } from '../request-info.ts';
import type { ResourceStore } from '../registry/resource-store.ts';
import type { Strategy } from '../registry/strategy.ts';

export interface ServerParts {
  registry: KindRegistry;
  store: ResourceStore;
  strategy: Strategy;
  admission: AdmissionChain;
  /** Issues and verifies service-account tokens (TokenRequest); absent, the token subresource answers 404. */
  serviceAccountTokens?: ServiceAccountTokens;
  /** Connections to node agents (pods/log, exec, attach); absent, those answer 500. */
  nodeProxy?: NodeProxy;
}

export interface RequestContext {
  req: ServerRequest;
  res: ServerReply;
  info: RequestInfo;
  query: URLSearchParams;
  resource: ResourceInfo;
  user: UserInfo;
  /** The User-Agent header: upstream derives the default field manager from it. */
  userAgent: string;
  parts: ServerParts;
}

export const groupResource = (r: ResourceInfo) => ({ group: r.group, resource: r.plural });

export function isDryRun(query: URLSearchParams): boolean {
  return query.getAll('dryRun').includes('All');
}
