// A client for the OCI Distribution (Docker Registry v2) API: manifests and
// blobs of one repository on one endpoint, with the auth dance registries
// expect. A request without credentials that gets `401` with
// `WWW-Authenticate: Bearer realm=…,service=…,scope=…` fetches a token from
// the realm (anonymously, with basic credentials, or with an OAuth2 refresh
// token) and retries; `WWW-Authenticate: Basic` retries with the username and
// password. Tokens are cached until they expire. Redirects (blob downloads
// from a CDN) are followed without forwarding credentials to another host.
import { readFileSync } from 'node:fs';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { RegistryCredentials } from './credentials.ts';
import { MANIFEST_ACCEPT } from './oci.ts';
import type { RegistryEndpoint, RegistryTlsConfig } from './registries-config.ts';

export class RegistryError extends Error {
  override name = 'RegistryError';
  readonly status?: number;
  constructor(message: string, status?: number) {
    super(message);
    this.status = status;
  }
}

interface Challenge {
  scheme: 'bearer' | 'basic';
  params: Record<string, string>;
}

/** Parses `Bearer realm="…",service="…",scope="…"` (quoted values may hold commas). */
export function parseChallenge(header: string | undefined): Challenge | undefined {
  if (!header) return undefined;
  const m = /^\s*(\w+)\s*(.*)$/s.exec(header);
  if (!m) return undefined;
  const scheme = m[1].toLowerCase();
  if (scheme !== 'bearer' && scheme !== 'basic') return undefined;
  const params: Record<string, string> = {};
  for (const p of m[2].matchAll(/([\w-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g)) params[p[1].toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : p[3];
  return { scheme, params };
}

const MAX_DOCUMENT_BYTES = 8 << 20;
const MAX_REDIRECTS = 5;
const IDLE_TIMEOUT_MS = 60_000;

export interface RegistryResponse {
  status: number;
  headers: IncomingMessage['headers'];
  body: IncomingMessage;
  url: string;
}

async function readBody(res: IncomingMessage, limit: number, what: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of res) {
    total += (chunk as Buffer).length;
    if (total > limit) {
      res.destroy();
      throw new RegistryError(`${what} is larger than ${limit} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** `: CODE: message` from a registry's `{"errors":[…]}` body, or `''`. */
async function registryErrorDetail(res: IncomingMessage): Promise<string> {
  try {
    const body = await readBody(res, 64 << 10, 'error body');
    const parsed = JSON.parse(body.toString('utf8')) as { errors?: { code?: string; message?: string }[]; details?: string };
    const errors = (parsed.errors ?? []).map((e) => [e.code, e.message].filter(Boolean).join(': ')).filter(Boolean);
    return errors.length > 0 ? `: ${errors.join('; ')}` : '';
  } catch {
    return '';
  }
}

export async function unexpectedStatus(options: { method: string; res: RegistryResponse }): Promise<RegistryError> {
  const { method, res } = options;
  const detail = await registryErrorDetail(res.body);
  return new RegistryError(`unexpected status from ${method} request to ${res.url}: ${res.status} ${http.STATUS_CODES[res.status] ?? ''}${detail}`, res.status);
}

function credentialKey(c: RegistryCredentials | undefined): string {
  if (!c) return 'anonymous';
  return JSON.stringify([c.username ?? '', c.password ?? '', c.identityToken ?? '', c.registryToken ?? '']);
}

export class RegistryClient {
  private readonly userAgent: string;
  private readonly tokens = new Map<string, { authorization: string; expiresAt: number }>();
  private readonly agents = new Map<string, http.Agent>();

  constructor(options: { userAgent?: string } = {}) {
    this.userAgent = options.userAgent ?? 'skiff-agent/v1.36.0-skiff';
  }

  /** Closes idle keep-alive connections. */
  close(): void {
    for (const agent of this.agents.values()) agent.destroy();
    this.agents.clear();
  }

  private agentFor(url: URL, tls: RegistryTlsConfig | undefined): http.Agent {
    const key = `${url.protocol}${JSON.stringify(tls ?? {})}`;
    let agent = this.agents.get(key);
    if (!agent) {
      agent = url.protocol === 'https:'
        ? new https.Agent({
          keepAlive: true,
          ca: tls?.caFile ? readFileSync(tls.caFile) : undefined,
          cert: tls?.certFile ? readFileSync(tls.certFile) : undefined,
          key: tls?.keyFile ? readFileSync(tls.keyFile) : undefined,
          rejectUnauthorized: !tls?.insecureSkipVerify,
        })
        : new http.Agent({ keepAlive: true });
      this.agents.set(key, agent);
    }
    return agent;
  }

  /** One HTTP exchange, following redirects; the caller consumes or drains the body. */
  private async send(options: { url: string; method: string; headers: Record<string, string>; tls?: RegistryTlsConfig; body?: string }): Promise<RegistryResponse> {
    let url = new URL(options.url);
    const headers = { 'user-agent': this.userAgent, ...options.headers };
    const originHost = url.host;
    for (let hop = 0; ; hop++) {
      const res = await new Promise<IncomingMessage>((resolve, reject) => {
        const req = (url.protocol === 'https:' ? https : http).request(url, {
          method: options.method,
          headers: url.host === originHost ? headers : { 'user-agent': this.userAgent },
          agent: this.agentFor(url, url.host === originHost ? options.tls : undefined),
        }, resolve);
        req.setTimeout(IDLE_TIMEOUT_MS, () => req.destroy(new RegistryError(`${options.method} ${url.href}: no answer for ${IDLE_TIMEOUT_MS / 1000}s`)));
        req.on('error', reject);
        req.end(options.body);
      });
      const location = res.headers.location;
      if (res.statusCode && res.statusCode >= 300 && res.statusCode < 400 && location && hop < MAX_REDIRECTS) {
        res.resume();
        url = new URL(location, url);
        continue;
      }
      // Sockets idle between the headers and the body must not hold the body hostage either.
      res.socket?.setTimeout(IDLE_TIMEOUT_MS, () => res.destroy(new RegistryError(`${options.method} ${url.href}: body stalled`)));
      return { status: res.statusCode ?? 0, headers: res.headers, body: res, url: url.href };
    }
  }

  /**
   * GET `path` (under the endpoint's `/v2`) for `repository`, authorising as
   * the registry asks. Answers with the final response, whatever its status.
   */
  async get(options: { endpoint: RegistryEndpoint; repository: string; path: string; accept?: string; credentials?: RegistryCredentials }): Promise<RegistryResponse> {
    const { endpoint, repository, credentials } = options;
    const url = `${endpoint.apiBase}/${repository}/${options.path}`;
    const scope = `repository:${repository}:pull`;
    const cacheKey = `${endpoint.host}|${scope}|${credentialKey(credentials)}`;
    const headers: Record<string, string> = {};
    if (options.accept) headers.accept = options.accept;
    const cached = this.tokens.get(cacheKey);
    if (cached && cached.expiresAt > Date.now()) headers.authorization = cached.authorization;
    let res = await this.send({ url, method: 'GET', headers, tls: endpoint.tls });
    if (res.status !== 401) return res;
    const challenge = parseChallenge(res.headers['www-authenticate'] as string | undefined);
    if (!challenge) return res;
    res.body.resume();
    const authorization = await this.authorize({ challenge, endpoint, scope, credentials });
    this.tokens.set(cacheKey, authorization);
    res = await this.send({ url, method: 'GET', headers: { ...headers, authorization: authorization.authorization }, tls: endpoint.tls });
    return res;
  }

  private async authorize(options: { challenge: Challenge; endpoint: RegistryEndpoint; scope: string; credentials?: RegistryCredentials }): Promise<{ authorization: string; expiresAt: number }> {
    const { challenge, credentials } = options;
    const basic = credentials?.username !== undefined ? `Basic ${Buffer.from(`${credentials.username}:${credentials.password ?? ''}`).toString('base64')}` : undefined;
    if (challenge.scheme === 'basic') {
      if (!basic) throw new RegistryError(`pull access denied: ${options.endpoint.host} asks for basic credentials and none were given: 401 Unauthorized`, 401);
      return { authorization: basic, expiresAt: Infinity };
    }
    if (credentials?.registryToken) return { authorization: `Bearer ${credentials.registryToken}`, expiresAt: Infinity };
    const realm = challenge.params.realm;
    if (!realm) throw new RegistryError(`${options.endpoint.host} sent a bearer challenge without a realm`, 401);
    const tokenUrl = new URL(realm);
    const service = challenge.params.service;
    // The challenge's own scope wins (a registry may ask for more); ours is the fallback.
    const scope = challenge.params.scope ?? options.scope;
    const sameHost = tokenUrl.host === options.endpoint.host;
    let res: RegistryResponse;
    let what: string;
    if (credentials?.identityToken) {
      const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: credentials.identityToken, client_id: 'skiff', scope });
      if (service) form.set('service', service);
      what = 'failed to fetch oauth token';
      res = await this.send({ url: tokenUrl.href, method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, tls: sameHost ? options.endpoint.tls : undefined, body: form.toString() });
    } else {
      if (service) tokenUrl.searchParams.set('service', service);
      tokenUrl.searchParams.set('scope', scope);
      if (credentials?.username) tokenUrl.searchParams.set('account', credentials.username);
      what = basic ? 'failed to fetch token' : 'failed to fetch anonymous token';
      res = await this.send({ url: tokenUrl.href, method: 'GET', headers: basic ? { authorization: basic } : {}, tls: sameHost ? options.endpoint.tls : undefined });
    }
    if (res.status !== 200) {
      const err = await unexpectedStatus({ method: credentials?.identityToken ? 'POST' : 'GET', res });
      throw new RegistryError(`${what}: ${err.message}`, res.status);
    }
    const body = JSON.parse((await readBody(res.body, 1 << 20, 'token response')).toString('utf8')) as { token?: string; access_token?: string; expires_in?: number };
    const token = body.token ?? body.access_token;
    if (!token) throw new RegistryError(`${what}: the token server answered without a token`);
    // Renew a little early; registries default to 60 s when they say nothing.
    const lifetime = Math.max(10, (body.expires_in ?? 60) - 5) * 1000;
    return { authorization: `Bearer ${token}`, expiresAt: Date.now() + lifetime };
  }

  /** A manifest or index by tag or digest, with the Accept header registries need to serve OCI content. */
  async getManifest(options: { endpoint: RegistryEndpoint; repository: string; reference: string; credentials?: RegistryCredentials }): Promise<{ bytes: Buffer; mediaType?: string; digestHeader?: string }> {
    const res = await this.get({ ...options, path: `manifests/${options.reference}`, accept: MANIFEST_ACCEPT });
    if (res.status !== 200) throw await unexpectedStatus({ method: 'GET', res });
    const bytes = await readBody(res.body, MAX_DOCUMENT_BYTES, `manifest ${options.reference}`);
    const contentType = (res.headers['content-type'] ?? '').split(';')[0].trim() || undefined;
    return { bytes, mediaType: contentType, digestHeader: res.headers['docker-content-digest'] as string | undefined };
  }

  /** A blob's body as a stream (verified by the store as it is written). */
  async getBlob(options: { endpoint: RegistryEndpoint; repository: string; digest: string; credentials?: RegistryCredentials }): Promise<IncomingMessage> {
    const res = await this.get({ ...options, path: `blobs/${options.digest}` });
    if (res.status !== 200) throw await unexpectedStatus({ method: 'GET', res });
    return res.body;
  }
}
