// The TokenRequest subresource and service-account authentication through a
// real in-process API server over HTTPS.
import assert from 'node:assert/strict';
import { request } from 'node:https';
import { after, before, describe, it } from 'node:test';
import { startInProcessServer, type InProcessServer } from '../../../test/support/in-process-server.ts';

interface Reply {
  status: number;
  body: any;
}

describe('TokenRequest (serviceaccounts/token)', () => {
  let server: InProcessServer;

  const call = (method: string, path: string, options: { body?: unknown; token?: string } = {}): Promise<Reply> => new Promise((resolve, reject) => {
    const url = new URL(path, server.url);
    const req = request(url, {
      method, ca: server.caCert,
      headers: { authorization: `Bearer ${options.token ?? server.token}`, 'content-type': 'application/json', accept: 'application/json' },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        let body: unknown = text;
        try { body = JSON.parse(text); } catch { /* plain text */ }
        resolve({ status: res.statusCode ?? 0, body });
      });
    });
    req.on('error', reject);
    req.end(options.body === undefined ? undefined : JSON.stringify(options.body));
  });
  const tokenRequest = (spec: Record<string, unknown>, metadata: Record<string, unknown> = {}) => ({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', metadata, spec });
  const TOKEN = '/api/v1/namespaces/default/serviceaccounts/default/token';

  before(async () => {
    server = await startInProcessServer();
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } };
    assert.equal((await call('POST', '/api/v1/namespaces/default/pods', { body: pod })).status, 201);
    const robot = { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'robot' } };
    assert.equal((await call('POST', '/api/v1/namespaces/default/serviceaccounts', { body: robot })).status, 201);
  });
  after(async () => {
    await server?.close();
  });

  it('issues a token with the default lifetime and the API audience', async () => {
    const before = Date.now();
    const reply = await call('POST', TOKEN, { body: tokenRequest({}) });
    assert.equal(reply.status, 201, JSON.stringify(reply.body));
    assert.equal(reply.body.kind, 'TokenRequest');
    assert.deepEqual(reply.body.metadata.name, 'default');
    assert.deepEqual(reply.body.spec, { audiences: ['https://kubernetes.default.svc.cluster.local'], expirationSeconds: 3600 });
    const expires = Date.parse(reply.body.status.expirationTimestamp);
    assert.ok(Math.abs(expires - (before + 3600_000)) < 5_000, reply.body.status.expirationTimestamp);
    const claims = JSON.parse(Buffer.from(reply.body.status.token.split('.')[1], 'base64url').toString());
    assert.equal(claims.sub, 'system:serviceaccount:default:default');
    assert.equal(claims.exp - claims.iat, 3600);

    const whoami = await call('POST', '/apis/authentication.k8s.io/v1/selfsubjectreviews', { token: reply.body.status.token, body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' } });
    assert.equal(whoami.status, 201);
    assert.equal(whoami.body.status.userInfo.username, 'system:serviceaccount:default:default');
    assert.deepEqual(whoami.body.status.userInfo.groups, ['system:serviceaccounts', 'system:serviceaccounts:default', 'system:authenticated']);
  });

  it('refuses lifetimes under ten minutes, other names, unknown accounts and unbindable kinds', async () => {
    const short = await call('POST', TOKEN, { body: tokenRequest({ expirationSeconds: 60 }) });
    assert.equal(short.status, 422);
    assert.equal(short.body.message, 'TokenRequest.authentication.k8s.io "" is invalid: spec.expirationSeconds: Invalid value: 60: may not specify a duration less than 10 minutes');
    const renamed = await call('POST', TOKEN, { body: tokenRequest({}, { name: 'other' }) });
    assert.equal(renamed.status, 422);
    assert.match(renamed.body.message, /metadata.name: Invalid value: "other": must match the service account name if specified/);
    const missing = await call('POST', '/api/v1/namespaces/default/serviceaccounts/nobody/token', { body: tokenRequest({}) });
    assert.equal(missing.status, 404);
    assert.equal(missing.body.message, 'serviceaccounts "nobody" not found');
    const deployment = await call('POST', TOKEN, { body: tokenRequest({ boundObjectRef: { kind: 'Deployment', apiVersion: 'apps/v1', name: 'x' } }) });
    assert.equal(deployment.status, 400);
    assert.equal(deployment.body.message, 'cannot bind token to object of type apps/v1, Kind=Deployment');
  });

  it('binds a token to a pod that must exist, run as the account and have the given uid; deleting the pod revokes it', async () => {
    const pod = (await call('GET', '/api/v1/namespaces/default/pods/web')).body;
    const bound = (extra: Record<string, unknown> = {}) => tokenRequest({ audiences: ['https://kubernetes.default.svc.cluster.local', 'vault'], boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'web', ...extra } });
    const wrongUid = await call('POST', TOKEN, { body: bound({ uid: 'not-it' }) });
    assert.equal(wrongUid.status, 409);
    assert.match(wrongUid.body.message, /the UID in the bound object reference \(not-it\) does not match the UID in record/);
    const otherAccount = await call('POST', '/api/v1/namespaces/default/serviceaccounts/robot/token', { body: bound() });
    assert.equal(otherAccount.status, 400);
    assert.equal(otherAccount.body.message, 'cannot bind token for serviceaccount "robot" to pod running with different serviceaccount name.');
    const absent = await call('POST', TOKEN, { body: tokenRequest({ boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'absent' } }) });
    assert.equal(absent.status, 404);

    const reply = await call('POST', TOKEN, { body: bound({ uid: pod.metadata.uid }) });
    assert.equal(reply.status, 201, JSON.stringify(reply.body));
    const token = reply.body.status.token;
    const claims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
    assert.deepEqual(claims['kubernetes.io'].pod, { name: 'web', uid: pod.metadata.uid });
    assert.equal((await call('GET', '/api/v1/namespaces/default/pods/web', { token })).status, 200);

    assert.equal((await call('DELETE', '/api/v1/namespaces/default/pods/web?gracePeriodSeconds=0')).status, 200);
    // Lookups are cached for two seconds: the token stops working soon after, not at once.
    const deadline = Date.now() + 10_000;
    let status = 200;
    while (status === 200 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      status = (await call('GET', '/api/v1/namespaces/default/pods', { token })).status;
    }
    assert.equal(status, 401);
  });

  it('answers 401 to tokens that are not valid service-account tokens', async () => {
    const reply = await call('POST', TOKEN, { body: tokenRequest({}) });
    const token: string = reply.body.status.token;
    assert.equal((await call('GET', '/api/v1/namespaces', { token: token.slice(0, -4) + 'AAAA' })).status, 401);
    assert.equal((await call('GET', '/api/v1/namespaces', { token: 'a.b.c' })).status, 401);
    const forVault = await call('POST', TOKEN, { body: tokenRequest({ audiences: ['vault'] }) });
    assert.equal((await call('GET', '/api/v1/namespaces', { token: forVault.body.status.token })).status, 401);
  });
});
