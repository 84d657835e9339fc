// Service-account tokens for projected volumes, from the TokenRequest API
// (POST /api/v1/namespaces/NS/serviceaccounts/SA/token) bound to the pod, and
// cached as kubelet's token manager does: a token is requested again once 80%
// of its lifetime has passed or it is older than 24 hours.
import type { ApiClient, KubeObject } from '../../client/interface.ts';
import type { Pod, ServiceAccountTokenProjection } from './types-internal.ts';

const MAX_TOKEN_AGE_MS = 24 * 60 * 60 * 1000;
const DEFAULT_EXPIRATION_SECONDS = 3600;

interface CachedToken {
  token: string;
  podUid: string;
  expiresAt: number;
  expirationSeconds: number;
}

interface TokenRequestAnswer extends KubeObject {
  spec?: { expirationSeconds?: number };
  status?: { token?: string; expirationTimestamp?: string };
}

export interface ServiceAccountTokensOptions {
  client: ApiClient;
  now: () => Date;
}

export class ServiceAccountTokens {
  private readonly client: ApiClient;
  private readonly now: () => Date;
  private readonly cache = new Map<string, CachedToken>();

  constructor(options: ServiceAccountTokensOptions) {
    this.client = options.client;
    this.now = options.now;
  }

  /** A valid token for the pod's service account and this projection's audience and lifetime. */
  async tokenFor(options: { pod: Pod; projection: ServiceAccountTokenProjection }): Promise<string> {
    const { pod, projection } = options;
    const namespace = pod.metadata.namespace!;
    const serviceAccount = pod.spec?.serviceAccountName || 'default';
    const expirationSeconds = projection.expirationSeconds ?? DEFAULT_EXPIRATION_SECONDS;
    const audiences = projection.audience ? [projection.audience] : [];
    const podUid = pod.metadata.uid ?? '';
    const key = JSON.stringify([namespace, serviceAccount, audiences, expirationSeconds, pod.metadata.name, podUid]);
    const cached = this.cache.get(key);
    if (cached && !this.requiresRefresh(cached)) return cached.token;

    const answer = await this.client.create<TokenRequestAnswer>(
      { group: '', version: 'v1', resource: 'serviceaccounts', namespace, name: serviceAccount, subresource: 'token' },
      {
        apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', metadata: {},
        spec: {
          ...(audiences.length ? { audiences } : {}),
          expirationSeconds,
          boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: pod.metadata.name, uid: podUid },
        },
      },
    );
    const token = answer.status?.token;
    const expiresAt = Date.parse(answer.status?.expirationTimestamp ?? '');
    if (!token || Number.isNaN(expiresAt)) throw new Error(`token request for service account "${serviceAccount}" answered without a token`);
    this.cache.set(key, { token, podUid, expiresAt, expirationSeconds: answer.spec?.expirationSeconds ?? expirationSeconds });
    return token;
  }

  /** kubelet's rule: refresh after 80% of the lifetime, or when older than 24 hours. */
  requiresRefresh(entry: { expiresAt: number; expirationSeconds: number }): boolean {
    const now = this.now().getTime();
    const lifetimeMs = entry.expirationSeconds * 1000;
    const issuedAt = entry.expiresAt - lifetimeMs;
    if (now > issuedAt + MAX_TOKEN_AGE_MS) return true;
    return now > entry.expiresAt - lifetimeMs * 0.2;
  }

  /** Forget the tokens of a pod that is gone. */
  forgetPod(podUid: string): void {
    for (const [key, entry] of this.cache) if (entry.podUid === podUid) this.cache.delete(key);
  }
}
