// Create-only "review" kinds that are answered, not stored: access reviews
// (`kubectl auth can-i`), SelfSubjectReview (`kubectl auth whoami`) and
// TokenReview. Authorization today: every authenticated user may do
// everything (RBAC enforcement comes with its own issue), so reviews say so.
import type { Authenticator, UserInfo } from '../auth/authenticate.ts';
import { sendJson } from '../http/respond.ts';
import type { RequestContext } from './context.ts';
import { readObject } from './input.ts';

const REVIEW_KINDS = new Set([
  'authorization.k8s.io/SelfSubjectAccessReview',
  'authorization.k8s.io/SubjectAccessReview',
  'authorization.k8s.io/LocalSubjectAccessReview',
  'authorization.k8s.io/SelfSubjectRulesReview',
  'authentication.k8s.io/SelfSubjectReview',
  'authentication.k8s.io/TokenReview',
]);

export function isReviewKind(ctx: RequestContext): boolean {
  return REVIEW_KINDS.has(`${ctx.resource.group}/${ctx.resource.kind}`);
}

export async function handleReview(ctx: RequestContext, authenticate: Authenticator): Promise<void> {
  const { resource } = ctx;
  const review = await readObject(ctx, { apiVersion: resource.apiVersion, kind: resource.kind });
  const spec = (review.spec ?? {}) as Record<string, unknown>;
  let status: Record<string, unknown>;
  switch (resource.kind) {
    case 'SelfSubjectReview':
      status = { userInfo: userInfoOf(ctx.user) };
      break;
    case 'TokenReview': {
      const user = await authenticate({ socket: undefined, headers: { authorization: `Bearer ${String(spec.token ?? '')}` } });
      status = user ? { authenticated: true, user: userInfoOf(user) } : { authenticated: false, error: 'invalid bearer token' };
      break;
    }
    case 'SelfSubjectRulesReview':
      status = {
        resourceRules: [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }],
        nonResourceRules: [{ verbs: ['*'], nonResourceURLs: ['*'] }],
        incomplete: false,
      };
      break;
    default:
      status = { allowed: true, reason: 'skiff: every authenticated user is authorized (RBAC is not enforced yet)' };
  }
  sendJson(ctx.res, 201, { ...review, metadata: { ...review.metadata, creationTimestamp: null }, status });
}

/** authentication.k8s.io/v1 UserInfo: uid and extra only when set. */
function userInfoOf(user: UserInfo): Record<string, unknown> {
  return {
    username: user.username,
    ...(user.uid ? { uid: user.uid } : {}),
    groups: user.groups,
    ...(user.extra && Object.keys(user.extra).length > 0 ? { extra: user.extra } : {}),
  };
}
