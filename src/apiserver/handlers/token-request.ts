// POST /api/v1/namespaces/NS/serviceaccounts/NAME/token: the TokenRequest API
// (authentication.k8s.io/v1), as `kubectl create token` and kubelets use it.
// Issues a signed service-account JWT, optionally bound to a Pod, Secret or
// Node that must exist (with the given uid, when one is given); answers the
// request with status.token and status.expirationTimestamp. Nothing is stored.
import type { ResourceInfo } from '../../api/registry.ts';
import type { ServiceAccountTokens } from '../auth/service-account-tokens.ts';
import { errors } from '../errors.ts';
import { sendJson } from '../http/respond.ts';
import type { KubeObject } from '../registry/resource-store.ts';
import type { RequestContext } from './context.ts';
import { readObject } from './input.ts';

const TOKEN_REQUEST = { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', group: 'authentication.k8s.io' };
const DEFAULT_EXPIRATION_SECONDS = 3600;
const MIN_EXPIRATION_SECONDS = 600;
const MAX_EXPIRATION_SECONDS = 2 ** 32;
/** What admission puts in kube-api-access volumes: such pod-bound tokens live a year and warn after the nominal hour. */
const WARN_ONLY_EXPIRATION_SECONDS = 3607;
const EXTENDED_EXPIRATION_SECONDS = 365 * 24 * 60 * 60;

interface BoundObjectRef {
  kind?: string;
  apiVersion?: string;
  name?: string;
  uid?: string;
}

interface TokenRequestSpec {
  audiences?: string[] | null;
  expirationSeconds?: number | null;
  boundObjectRef?: BoundObjectRef | null;
}

interface Bound {
  pod?: KubeObject;
  secret?: KubeObject;
  node?: { name: string; uid?: string };
}

export async function handleTokenRequest(ctx: RequestContext): Promise<void> {
  const tokens = ctx.parts.serviceAccountTokens;
  if (!tokens) throw errors.pageNotFound(ctx.req.url ?? '');
  const namespace = ctx.info.namespace!;
  const name = ctx.info.name!;
  const request = await readObject(ctx, TOKEN_REQUEST);
  const meta = request.metadata;
  if (meta.name && meta.name !== name) throw invalid(name, 'metadata.name', meta.name, 'must match the service account name if specified');
  if (meta.namespace && meta.namespace !== namespace) throw invalid(name, 'metadata.namespace', meta.namespace, 'must match the service account namespace if specified');

  const serviceAccount = await ctx.parts.store.get(ctx.resource, namespace, name);
  const spec = { ...((request.spec ?? {}) as TokenRequestSpec) };
  const audiences = spec.audiences?.length ? spec.audiences : [...tokens.apiAudiences];
  const expirationSeconds = spec.expirationSeconds ?? DEFAULT_EXPIRATION_SECONDS;
  validateExpiration(expirationSeconds);
  const now = new Date();

  const ref = spec.boundObjectRef ?? undefined;
  const bound = ref ? await resolveBoundObject(ctx, { serviceAccountName: name, namespace, ref }) : {};

  // Tokens kubelets request for kube-api-access volumes keep working for a year
  // (warning after the hour), so clusters with older clients do not break; upstream
  // does the same with --service-account-extend-token-expiration (on by default).
  const extend = bound.pod !== undefined && expirationSeconds === WARN_ONLY_EXPIRATION_SECONDS && tokens.isApiAudience(audiences);
  const issued = issueToken(tokens, { serviceAccount, bound, audiences, expirationSeconds, extend });

  sendJson(ctx.res, 201, {
    kind: TOKEN_REQUEST.kind,
    apiVersion: TOKEN_REQUEST.apiVersion,
    metadata: { name, namespace, creationTimestamp: rfc3339(now) },
    spec: { audiences, expirationSeconds, ...(ref ? { boundObjectRef: ref } : {}) },
    status: { token: issued, expirationTimestamp: rfc3339(new Date(now.getTime() + expirationSeconds * 1000)) },
  });
}

function issueToken(tokens: ServiceAccountTokens, options: { serviceAccount: KubeObject; bound: Bound; audiences: string[]; expirationSeconds: number; extend: boolean }): string {
  const { serviceAccount, bound, audiences, expirationSeconds, extend } = options;
  return tokens.issue({
    serviceAccount, ...bound, audiences,
    expirationSeconds: extend ? EXTENDED_EXPIRATION_SECONDS : expirationSeconds,
    ...(extend ? { warnAfterSeconds: expirationSeconds } : {}),
  }).token;
}

function validateExpiration(seconds: unknown): void {
  if (typeof seconds !== 'number' || !Number.isInteger(seconds)) {
    throw invalid('', 'spec.expirationSeconds', seconds, 'must be an integer');
  }
  if (seconds < MIN_EXPIRATION_SECONDS) throw invalid('', 'spec.expirationSeconds', seconds, 'may not specify a duration less than 10 minutes');
  if (seconds > MAX_EXPIRATION_SECONDS) throw invalid('', 'spec.expirationSeconds', seconds, 'may not specify a duration larger than 2^32 seconds');
}

async function resolveBoundObject(ctx: RequestContext, options: { serviceAccountName: string; namespace: string; ref: BoundObjectRef }): Promise<Bound> {
  const { ref, namespace, serviceAccountName } = options;
  const [group, version] = splitApiVersion(ref.apiVersion ?? '');
  const kind = ref.kind ?? '';
  const lookup = (plural: string): ResourceInfo => ctx.parts.registry.lookup('', 'v1', plural)!;
  const get = (plural: string, ns: string | undefined) => ctx.parts.store.get(lookup(plural), ns, ref.name ?? '');
  let bound: Bound;
  let uid: string | undefined;
  if (group === '' && kind === 'Pod') {
    const pod = await get('pods', namespace);
    if ((pod.spec as { serviceAccountName?: string } | undefined)?.serviceAccountName !== serviceAccountName) {
      throw errors.badRequest(`cannot bind token for serviceaccount "${serviceAccountName}" to pod running with different serviceaccount name.`);
    }
    uid = pod.metadata.uid;
    bound = { pod, node: await nodeOf(ctx, pod) };
  } else if (group === '' && kind === 'Secret') {
    const secret = await get('secrets', namespace);
    uid = secret.metadata.uid;
    bound = { secret };
  } else if (group === '' && kind === 'Node') {
    const node = await get('nodes', undefined);
    uid = node.metadata.uid;
    bound = { node: { name: node.metadata.name!, uid } };
  } else {
    throw errors.badRequest(`cannot bind token to object of type ${group}/${version}, Kind=${kind}`);
  }
  if (ref.uid && ref.uid !== uid) {
    throw errors.conflict({ group, resource: kind }, ref.name ?? '', `the UID in the bound object reference (${ref.uid}) does not match the UID in record. The object might have been deleted and then recreated`);
  }
  return bound;
}

/** The node a bound pod runs on, named in the token; its uid only when the Node exists. */
async function nodeOf(ctx: RequestContext, pod: KubeObject): Promise<Bound['node']> {
  const nodeName = (pod.spec as { nodeName?: string } | undefined)?.nodeName;
  if (!nodeName) return undefined;
  try {
    const node = await ctx.parts.store.get(ctx.parts.registry.lookup('', 'v1', 'nodes')!, undefined, nodeName);
    return { name: nodeName, uid: node.metadata.uid };
  } catch {
    return { name: nodeName };
  }
}

function splitApiVersion(apiVersion: string): [string, string] {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? ['', apiVersion] : [apiVersion.slice(0, slash), apiVersion.slice(slash + 1)];
}

function invalid(name: string, field: string, value: unknown, message: string) {
  const shown = typeof value === 'string' ? JSON.stringify(value) : String(value);
  return errors.invalid({ kind: TOKEN_REQUEST.kind, group: TOKEN_REQUEST.group, name, causes: [{ reason: 'FieldValueInvalid', field, message: `Invalid value: ${shown}: ${message}` }] });
}

function rfc3339(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
