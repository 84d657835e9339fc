// Service-account tokens: the JWTs the TokenRequest API issues (and the
// kubelet puts in kube-api-access volumes), and their authentication.
//
// Claims as upstream's: iss, sub (system:serviceaccount:NS:NAME), aud, exp,
// iat, nbf, jti, and the private "kubernetes.io" claim naming the namespace,
// the ServiceAccount and the object the token is bound to (pod, secret or
// node, each with its uid). A token authenticates while its signature, time
// window (one minute of leeway, as go-jose's) and audience are valid AND the
// ServiceAccount and bound object still exist with the uids it names: deleting
// the pod revokes its tokens.
//
// Object lookups are cached for a short while (positive answers only): a pod
// that calls the API in a loop costs one store read per object per TTL, and a
// revocation takes effect within that TTL.
import { createPrivateKey, randomUUID, type KeyObject } from 'node:crypto';
import type { KubeObject } from '../registry/resource-store.ts';
import { AUTHENTICATED_GROUP, type UserInfo } from './authenticate.ts';
import { keyIdOf, publicKeyOf, signJwt, verifyJwt, type JwtClaims } from './jwt.ts';

/** kube-apiserver's --service-account-issuer as k3s and kubeadm set it; also the API audience. */
export const SERVICE_ACCOUNT_ISSUER = 'https://kubernetes.default.svc.cluster.local';
export const SERVICE_ACCOUNTS_GROUP = 'system:serviceaccounts';
const LEEWAY_SECONDS = 60;
const DEFAULT_CACHE_TTL_MS = 2_000;
const MAX_CACHE_ENTRIES = 10_000;

/** The objects a token may name: looked up by the authenticator (undefined when missing). */
export type BoundResource = 'serviceaccounts' | 'pods' | 'secrets' | 'nodes';
export type ObjectLookup = (ref: { resource: BoundResource; namespace?: string; name: string }) => Promise<KubeObject | undefined>;

export interface ServiceAccountTokensOptions {
  /** PEM private key (RSA) from the cluster PKI. */
  signingKey: string;
  lookup: ObjectLookup;
  issuer?: string;
  /** Audiences the API server accepts; tokens issued without audiences get these. Default [issuer]. */
  apiAudiences?: string[];
  /** Milliseconds clock (fakeable in tests). */
  now?: () => number;
  cacheTtlMs?: number;
}

export interface IssueRequest {
  serviceAccount: KubeObject;
  /** At most one of pod and secret; node alone for a node-bound token, or beside a pod (the node it runs on). */
  pod?: KubeObject;
  secret?: KubeObject;
  node?: { name: string; uid?: string };
  audiences: string[];
  /** Lifetime written into exp. */
  expirationSeconds: number;
  /** kubernetes.io.warnafter: when the token's nominal lifetime ends (an extended kubelet token). */
  warnAfterSeconds?: number;
}

interface ObjectRef {
  name: string;
  uid: string;
}

/** The private claim, keys in the order upstream's tokens carry them (alphabetical). */
interface KubernetesClaims {
  namespace: string;
  node?: ObjectRef;
  pod?: ObjectRef;
  secret?: ObjectRef;
  serviceaccount: ObjectRef;
  warnafter?: number;
}

export const serviceAccountUsername = (namespace: string, name: string) => `system:serviceaccount:${namespace}:${name}`;

export class ServiceAccountTokens {
  readonly issuer: string;
  readonly apiAudiences: readonly string[];
  private readonly privateKey: KeyObject;
  private readonly publicKey: KeyObject;
  private readonly keyId: string;
  private readonly lookup: ObjectLookup;
  private readonly now: () => number;
  private readonly cacheTtlMs: number;
  private readonly cache = new Map<string, { object: KubeObject; expires: number }>();

  constructor(options: ServiceAccountTokensOptions) {
    this.privateKey = createPrivateKey(options.signingKey);
    this.publicKey = publicKeyOf(this.privateKey);
    this.keyId = keyIdOf(this.publicKey);
    this.issuer = options.issuer ?? SERVICE_ACCOUNT_ISSUER;
    this.apiAudiences = options.apiAudiences ?? [this.issuer];
    this.lookup = options.lookup;
    this.now = options.now ?? Date.now;
    this.cacheTtlMs = options.cacheTtlMs ?? DEFAULT_CACHE_TTL_MS;
  }

  /** Sign a token; the caller has checked that the objects exist and belong together. */
  issue(request: IssueRequest): { token: string; claims: JwtClaims } {
    const now = Math.floor(this.now() / 1000);
    const sa = request.serviceAccount.metadata;
    const kubernetes: KubernetesClaims = { namespace: sa.namespace!, serviceaccount: refOf(request.serviceAccount) };
    if (request.node) kubernetes.node = { name: request.node.name, uid: request.node.uid ?? '' };
    if (request.pod) kubernetes.pod = refOf(request.pod);
    else if (request.secret) kubernetes.secret = refOf(request.secret);
    if (request.warnAfterSeconds !== undefined) kubernetes.warnafter = now + request.warnAfterSeconds;
    const claims: JwtClaims = {
      aud: request.audiences,
      exp: now + request.expirationSeconds,
      iat: now,
      iss: this.issuer,
      jti: randomUUID(),
      'kubernetes.io': sortedKeys(kubernetes),
      nbf: now,
      sub: serviceAccountUsername(sa.namespace!, sa.name!),
    };
    return { token: signJwt({ privateKey: this.privateKey, keyId: this.keyId, claims }), claims };
  }

  /** Whether the API accepts a token with these audiences (upstream: any in common). */
  isApiAudience(audiences: readonly string[]): boolean {
    return audiences.some((a) => this.apiAudiences.includes(a));
  }

  /** The user a bearer token stands for, or undefined when it is not a valid service-account token. */
  async authenticate(token: string): Promise<UserInfo | undefined> {
    const claims = verifyJwt({ publicKey: this.publicKey, token });
    if (!claims || claims.iss !== this.issuer) return undefined;
    if (!this.isApiAudience(audiencesOf(claims.aud))) return undefined;
    if (!this.inTimeWindow(claims)) return undefined;
    const k8s = parseKubernetesClaims(claims['kubernetes.io']);
    if (!k8s) return undefined;
    const { namespace } = k8s;
    const [sa, pod, secret, node] = await Promise.all([
      this.find('serviceaccounts', namespace, k8s.serviceaccount.name),
      k8s.pod ? this.find('pods', namespace, k8s.pod.name) : undefined,
      k8s.secret ? this.find('secrets', namespace, k8s.secret.name) : undefined,
      // A pod-bound token's node claim is informational; only a node-bound token is checked against the node.
      k8s.node && !k8s.pod ? this.find('nodes', undefined, k8s.node.name) : undefined,
    ]);
    if (!this.stillValid(sa, k8s.serviceaccount)) return undefined;
    if (k8s.pod && !this.stillValid(pod, k8s.pod)) return undefined;
    if (k8s.secret && !this.stillValid(secret, k8s.secret)) return undefined;
    if (k8s.node && !k8s.pod && !this.stillValid(node, k8s.node)) return undefined;

    const extra: Record<string, string[]> = {};
    if (typeof claims.jti === 'string' && claims.jti) extra['authentication.kubernetes.io/credential-id'] = [`JTI=${claims.jti}`];
    if (k8s.node) {
      extra['authentication.kubernetes.io/node-name'] = [k8s.node.name];
      if (k8s.node.uid) extra['authentication.kubernetes.io/node-uid'] = [k8s.node.uid];
    }
    if (k8s.pod) {
      extra['authentication.kubernetes.io/pod-name'] = [k8s.pod.name];
      extra['authentication.kubernetes.io/pod-uid'] = [k8s.pod.uid];
    }
    return {
      username: serviceAccountUsername(namespace, k8s.serviceaccount.name),
      uid: k8s.serviceaccount.uid,
      groups: [SERVICE_ACCOUNTS_GROUP, `${SERVICE_ACCOUNTS_GROUP}:${namespace}`, AUTHENTICATED_GROUP],
      extra,
    };
  }

  private inTimeWindow(claims: JwtClaims): boolean {
    const now = this.now() / 1000;
    const { exp, nbf, iat } = claims;
    if (typeof exp !== 'number' || now - LEEWAY_SECONDS > exp) return false;
    if (nbf !== undefined && (typeof nbf !== 'number' || now + LEEWAY_SECONDS < nbf)) return false;
    if (iat !== undefined && (typeof iat !== 'number' || now + LEEWAY_SECONDS < iat)) return false;
    return true;
  }

  /** The object exists with the claimed uid, and was not deleted (more than the leeway) ago. */
  private stillValid(object: KubeObject | undefined, ref: ObjectRef): boolean {
    if (!object || object.metadata.uid !== ref.uid) return false;
    const deletion = object.metadata.deletionTimestamp;
    return !deletion || Date.parse(deletion) >= this.now() - LEEWAY_SECONDS * 1000;
  }

  private async find(resource: BoundResource, namespace: string | undefined, name: string): Promise<KubeObject | undefined> {
    const key = `${resource}/${namespace ?? ''}/${name}`;
    const now = this.now();
    const hit = this.cache.get(key);
    if (hit && hit.expires > now) return hit.object;
    const object = await this.lookup({ resource, namespace, name });
    if (!object) {
      this.cache.delete(key);
      return undefined;
    }
    if (this.cache.size >= MAX_CACHE_ENTRIES) this.evict(now);
    this.cache.set(key, { object, expires: now + this.cacheTtlMs });
    return object;
  }

  private evict(now: number): void {
    for (const [key, entry] of this.cache) if (entry.expires <= now) this.cache.delete(key);
    if (this.cache.size >= MAX_CACHE_ENTRIES) this.cache.clear();
  }
}

function refOf(object: KubeObject): ObjectRef {
  return { name: object.metadata.name!, uid: object.metadata.uid ?? '' };
}

function sortedKeys<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : 1))) as T;
}

function audiencesOf(aud: unknown): string[] {
  if (typeof aud === 'string') return [aud];
  return Array.isArray(aud) ? aud.filter((a): a is string => typeof a === 'string') : [];
}

function parseRef(value: unknown): ObjectRef | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { name, uid } = value as Record<string, unknown>;
  return typeof name === 'string' && name && typeof uid === 'string' ? { name, uid } : undefined;
}

function parseKubernetesClaims(value: unknown): KubernetesClaims | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const raw = value as Record<string, unknown>;
  const serviceaccount = parseRef(raw.serviceaccount);
  if (typeof raw.namespace !== 'string' || !raw.namespace || !serviceaccount) return undefined;
  const claims: KubernetesClaims = { namespace: raw.namespace, serviceaccount };
  for (const kind of ['pod', 'secret', 'node'] as const) {
    if (raw[kind] === undefined) continue;
    const ref = parseRef(raw[kind]);
    if (!ref) return undefined;
    claims[kind] = ref;
  }
  return claims;
}
