import assert from 'node:assert/strict';
import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { beforeEach, describe, it } from 'node:test';
import type { KubeObject } from '../registry/resource-store.ts';
import { createAuthenticator } from './authenticate.ts';
import { keyIdOf, looksLikeJwt, publicKeyOf, verifyJwt } from './jwt.ts';
import { SERVICE_ACCOUNT_ISSUER, ServiceAccountTokens, type BoundResource } from './service-account-tokens.ts';

const rsaPem = () => generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const signingKey = rsaPem();
const otherKey = rsaPem();

const object = (kind: string, name: string, uid: string, extra: Partial<KubeObject['metadata']> = {}): KubeObject => ({
  apiVersion: 'v1', kind, metadata: { name, namespace: kind === 'Node' ? undefined : 'team', uid, ...extra },
});

const decodeClaims = (token: string) => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString());

describe('service-account tokens', () => {
  let clock: number;
  let objects: Map<string, KubeObject>;
  let lookups: number;
  let tokens: ServiceAccountTokens;
  const sa = object('ServiceAccount', 'builder', 'sa-uid');
  const pod = object('Pod', 'web-1', 'pod-uid');

  beforeEach(() => {
    clock = Date.parse('2030-01-01T00:00:00Z');
    lookups = 0;
    objects = new Map([['serviceaccounts/team/builder', sa], ['pods/team/web-1', pod]]);
    tokens = new ServiceAccountTokens({
      signingKey,
      now: () => clock,
      cacheTtlMs: 1000,
      lookup: async ({ resource, namespace, name }: { resource: BoundResource; namespace?: string; name: string }) => {
        lookups++;
        return objects.get(`${resource}/${namespace ?? ''}/${name}`);
      },
    });
  });

  it('signs RS256 JWTs with the key id of the public key, and verifies only with that key', () => {
    const { token } = tokens.issue({ serviceAccount: sa, audiences: ['x'], expirationSeconds: 600 });
    assert.ok(looksLikeJwt(token));
    const header = JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString());
    const key = publicKeyOf(createPrivateKey(signingKey));
    assert.deepEqual(header, { alg: 'RS256', kid: keyIdOf(key) });
    assert.ok(verifyJwt({ publicKey: key, token }));
    assert.equal(verifyJwt({ publicKey: publicKeyOf(createPrivateKey(otherKey)), token }), undefined);
  });

  it('carries upstream claims: iss, sub, aud, exp/iat/nbf, jti, kubernetes.io with the bound pod and node', () => {
    const { token } = tokens.issue({ serviceAccount: sa, pod, node: { name: 'n1', uid: 'node-uid' }, audiences: ['api', 'vault'], expirationSeconds: 3600 });
    const claims = decodeClaims(token);
    const now = clock / 1000;
    assert.deepEqual(Object.keys(claims), ['aud', 'exp', 'iat', 'iss', 'jti', 'kubernetes.io', 'nbf', 'sub']);
    assert.equal(claims.iss, SERVICE_ACCOUNT_ISSUER);
    assert.equal(claims.sub, 'system:serviceaccount:team:builder');
    assert.deepEqual(claims.aud, ['api', 'vault']);
    assert.equal(claims.iat, now);
    assert.equal(claims.nbf, now);
    assert.equal(claims.exp, now + 3600);
    assert.match(claims.jti, /^[0-9a-f-]{36}$/);
    assert.deepEqual(claims['kubernetes.io'], {
      namespace: 'team',
      node: { name: 'n1', uid: 'node-uid' },
      pod: { name: 'web-1', uid: 'pod-uid' },
      serviceaccount: { name: 'builder', uid: 'sa-uid' },
    });
  });

  it('authenticates a valid token as the service account, with groups and extra', async () => {
    const { token, claims } = tokens.issue({ serviceAccount: sa, pod, audiences: [SERVICE_ACCOUNT_ISSUER], expirationSeconds: 3600 });
    assert.deepEqual(await tokens.authenticate(token), {
      username: 'system:serviceaccount:team:builder',
      uid: 'sa-uid',
      groups: ['system:serviceaccounts', 'system:serviceaccounts:team', 'system:authenticated'],
      extra: {
        'authentication.kubernetes.io/credential-id': [`JTI=${claims.jti}`],
        'authentication.kubernetes.io/pod-name': ['web-1'],
        'authentication.kubernetes.io/pod-uid': ['pod-uid'],
      },
    });
  });

  it('refuses tokens for other audiences, from other issuers or keys, and tampered ones', async () => {
    assert.equal(await tokens.authenticate(tokens.issue({ serviceAccount: sa, audiences: ['vault'], expirationSeconds: 3600 }).token), undefined);
    const { token } = tokens.issue({ serviceAccount: sa, audiences: [SERVICE_ACCOUNT_ISSUER], expirationSeconds: 3600 });
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const claims = decodeClaims(token);
    const forged = Buffer.from(JSON.stringify({ ...claims, sub: 'system:serviceaccount:kube-system:admin' })).toString('base64url');
    assert.equal(await tokens.authenticate(`${header}.${forged}.${signature}`), undefined, 'changed claims');
    const flipped = signature.slice(0, -2) + (signature.endsWith('A') ? 'B' : 'A') + signature.slice(-1);
    assert.equal(await tokens.authenticate(`${header}.${payload}.${flipped}`), undefined, 'changed signature');
    const other = new ServiceAccountTokens({ signingKey: otherKey, lookup: async () => sa, now: () => clock });
    assert.equal(await tokens.authenticate(other.issue({ serviceAccount: sa, audiences: [SERVICE_ACCOUNT_ISSUER], expirationSeconds: 3600 }).token), undefined, 'other key');
    const foreign = new ServiceAccountTokens({ signingKey, issuer: 'https://elsewhere', apiAudiences: [SERVICE_ACCOUNT_ISSUER], lookup: async () => sa, now: () => clock });
    assert.equal(await tokens.authenticate(foreign.issue({ serviceAccount: sa, audiences: [SERVICE_ACCOUNT_ISSUER], expirationSeconds: 3600 }).token), undefined, 'other issuer');
    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${payload}.${signature}`;
    assert.equal(await tokens.authenticate(none), undefined, 'alg none');
  });

  it('stops accepting a token after exp (plus one minute of leeway) and before nbf', async () => {
    const { token } = tokens.issue({ serviceAccount: sa, audiences: [SERVICE_ACCOUNT_ISSUER], expirationSeconds: 600 });
    clock += 600_000 + 59_000;
    assert.ok(await tokens.authenticate(token), 'within the leeway');
    clock += 2_000;
    assert.equal(await tokens.authenticate(token), undefined, 'expired');
    clock -= 600_000 + 61_000 + 120_000;
    assert.equal(await tokens.authenticate(token), undefined, 'not yet valid');
  });

  it('is revoked when the service account or bound pod is deleted or replaced (after the cache TTL)', async () => {
    const { token } = tokens.issue({ serviceAccount: sa, pod, audiences: [SERVICE_ACCOUNT_ISSUER], expirationSeconds: 3600 });
    assert.ok(await tokens.authenticate(token));
    objects.delete('pods/team/web-1');
    assert.ok(await tokens.authenticate(token), 'cached for the TTL');
    clock += 1001;
    assert.equal(await tokens.authenticate(token), undefined, 'pod deleted');
    objects.set('pods/team/web-1', object('Pod', 'web-1', 'new-uid'));
    assert.equal(await tokens.authenticate(token), undefined, 'pod re-created with another uid');
    clock += 1001;
    objects.set('pods/team/web-1', object('Pod', 'web-1', 'pod-uid', { deletionTimestamp: new Date(clock - 30_000).toISOString() }));
    assert.ok(await tokens.authenticate(token), 'pod deleted less than a minute ago');
    clock += 1001;
    objects.set('pods/team/web-1', object('Pod', 'web-1', 'pod-uid', { deletionTimestamp: new Date(clock - 120_000).toISOString() }));
    assert.equal(await tokens.authenticate(token), undefined, 'pod deleted more than a minute ago');
    objects.set('pods/team/web-1', pod);
    clock += 1001;
    assert.ok(await tokens.authenticate(token));
    objects.set('serviceaccounts/team/builder', object('ServiceAccount', 'builder', 'other-uid'));
    clock += 1001;
    assert.equal(await tokens.authenticate(token), undefined, 'service account re-created');
    objects.delete('serviceaccounts/team/builder');
    assert.equal(await tokens.authenticate(token), undefined, 'service account deleted');
  });

  it('checks a secret-bound token against the secret and a node-bound one against the node', async () => {
    const secret = object('Secret', 's1', 'secret-uid');
    const node = object('Node', 'n1', 'node-uid');
    const forSecret = tokens.issue({ serviceAccount: sa, secret, audiences: [SERVICE_ACCOUNT_ISSUER], expirationSeconds: 3600 }).token;
    const forNode = tokens.issue({ serviceAccount: sa, node: { name: 'n1', uid: 'node-uid' }, audiences: [SERVICE_ACCOUNT_ISSUER], expirationSeconds: 3600 }).token;
    assert.equal(await tokens.authenticate(forSecret), undefined);
    assert.equal(await tokens.authenticate(forNode), undefined);
    objects.set('secrets/team/s1', secret);
    objects.set('nodes//n1', node);
    assert.equal((await tokens.authenticate(forSecret))?.username, 'system:serviceaccount:team:builder');
    assert.deepEqual((await tokens.authenticate(forNode))?.extra?.['authentication.kubernetes.io/node-uid'], ['node-uid']);
  });

  it('caches lookups briefly, so repeated requests do not read the store each time', async () => {
    const { token } = tokens.issue({ serviceAccount: sa, pod, audiences: [SERVICE_ACCOUNT_ISSUER], expirationSeconds: 3600 });
    for (let i = 0; i < 50; i++) assert.ok(await tokens.authenticate(token));
    assert.equal(lookups, 2, 'one read each for the account and the pod');
    clock += 1001;
    await tokens.authenticate(token);
    assert.equal(lookups, 4);
  });

  it('plugs into the request authenticator after static tokens', async () => {
    const authenticate = createAuthenticator({ pki: { adminToken: 'admin' }, serviceAccountTokens: tokens });
    const { token } = tokens.issue({ serviceAccount: sa, audiences: [SERVICE_ACCOUNT_ISSUER], expirationSeconds: 3600 });
    assert.equal((await authenticate({ socket: undefined, headers: { authorization: `Bearer ${token}` } }))?.username, 'system:serviceaccount:team:builder');
    assert.equal(await authenticate({ socket: undefined, headers: { authorization: `Bearer ${token}x` } }), undefined);
    assert.equal((await authenticate({ socket: undefined, headers: { authorization: 'Bearer admin' } }))?.username, 'skiff-admin');
  });
});

