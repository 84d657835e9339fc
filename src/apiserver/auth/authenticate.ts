// Request authentication: who is asking. Mirrors the Kubernetes union
// authenticator for the methods skiff supports — x509 client certificates
// (user = CN, groups = O), static bearer tokens, and service-account tokens
// (JWTs, see service-account-tokens.ts) — tried in that order. A request that
// none identifies is anonymous (undefined) and the server answers 401.
// Certificates and static tokens answer synchronously; a service-account
// token needs store lookups, so the answer may be a promise (callers await).
//
// Client certificates are verified by the TLS layer, not here: the HTTPS server
// must be created with `ca` = the cluster CA ONLY, `requestCert: true` and
// `rejectUnauthorized: false` (so token and anonymous clients still connect).
// `socket.authorized` then says whether the presented chain ends at the cluster CA.

import { createHash, timingSafeEqual } from "node:crypto";
import { looksLikeJwt } from "./jwt.ts";
import { ADMIN_USER, MASTERS_GROUP, type ClusterPki } from "./pki.ts";

export interface UserInfo {
  username: string;
  groups: string[];
  uid?: string;
  /** Extra attributes (service-account tokens: pod name/uid, credential id). */
  extra?: Record<string, string[]>;
}

/** The subset of tls.PeerCertificate this module reads. */
export interface PeerCertificateLike {
  subject?: Record<string, string | string[] | undefined>;
  ext_key_usage?: string[];
}

/** A TLSSocket, or the socket proxy of an Http2ServerRequest. */
export interface AuthSocketLike {
  authorized?: boolean;
  getPeerCertificate?: (detailed?: boolean) => PeerCertificateLike | object | null;
}

export interface AuthRequestLike {
  /**
   * Typed loosely because request sockets are typed `net.Socket | tls.TLSSocket`;
   * a plain socket simply never carries a verified certificate.
   */
  socket: AuthSocketLike | object | null | undefined;
  headers: Record<string, string | string[] | undefined>;
}

export type Authenticator = (req: AuthRequestLike) => UserInfo | undefined | Promise<UserInfo | undefined>;

export interface CreateAuthenticatorOptions {
  pki: Pick<ClusterPki, "adminToken">;
  /**
   * Further bearer tokens (e.g. node join tokens). Read on every request, so
   * entries added or removed later take effect at once.
   */
  tokens?: Map<string, UserInfo>;
  /** Verifies JWT bearer tokens that no static token matched. */
  serviceAccountTokens?: { authenticate(token: string): Promise<UserInfo | undefined> };
}

export const AUTHENTICATED_GROUP = "system:authenticated";
const CLIENT_AUTH_OID = "1.3.6.1.5.5.7.3.2";
const ANY_EXTENDED_KEY_USAGE_OID = "2.5.29.37.0";

export function createAuthenticator(options: CreateAuthenticatorOptions): Authenticator {
  const adminDigest = digest(options.pki.adminToken);
  const admin: UserInfo = { username: ADMIN_USER, groups: [MASTERS_GROUP, AUTHENTICATED_GROUP] };
  const tokens = options.tokens;

  const byToken = (token: string): UserInfo | undefined => {
    const presented = digest(token);
    // Comparing fixed-length digests keeps the time independent of where (and
    // whether) the presented token differs, and of the stored tokens' lengths.
    if (timingSafeEqual(presented, adminDigest)) return copyUser(admin);
    if (tokens === undefined) return undefined;
    let found: UserInfo | undefined;
    // Every entry is compared (no early exit, no Map lookup keyed by the secret)
    // so timing does not tell how many tokens were tried or which one matched.
    for (const [candidate, user] of tokens) {
      if (timingSafeEqual(presented, digest(candidate)) && found === undefined) found = user;
    }
    return found === undefined ? undefined : withAuthenticatedGroup(found);
  };

  const serviceAccountTokens = options.serviceAccountTokens;
  return (req) => {
    const fromCert = userFromClientCertificate(req.socket);
    if (fromCert !== undefined) return fromCert;
    const token = bearerToken(req.headers["authorization"]);
    if (token === undefined) return undefined;
    const user = byToken(token);
    if (user !== undefined || serviceAccountTokens === undefined || !looksLikeJwt(token)) return user;
    return serviceAccountTokens.authenticate(token);
  };
}

/**
 * A connection's certificate cannot change, and reading it costs tens of
 * microseconds per request: remember the answer per connection.
 */
const certificateUsers = new WeakMap<object, UserInfo | null>();

function userFromClientCertificate(raw: object | null | undefined): UserInfo | undefined {
  if (!raw) return undefined;
  const cached = certificateUsers.get(raw);
  if (cached !== undefined) return cached ?? undefined;
  const user = readCertificateUser(raw);
  certificateUsers.set(raw, user ?? null);
  return user;
}

function readCertificateUser(raw: object): UserInfo | undefined {
  const socket = raw as AuthSocketLike | null | undefined;
  // `authorized` is false when no certificate was sent or when its chain does not
  // end at the CA the server trusts; either way the certificate says nothing.
  if (socket?.authorized !== true || typeof socket.getPeerCertificate !== "function") return undefined;
  const cert = socket.getPeerCertificate(false) as PeerCertificateLike | null;
  if (cert === null || cert.subject === undefined) return undefined;
  // OpenSSL already refuses certificates without the TLS client purpose; checking
  // the extended key usage here as well keeps a serving certificate from ever
  // being used to log in, whatever the TLS configuration.
  const usages = cert.ext_key_usage;
  if (usages !== undefined && !usages.includes(CLIENT_AUTH_OID) && !usages.includes(ANY_EXTENDED_KEY_USAGE_OID)) {
    return undefined;
  }
  const commonNames = asList(cert.subject["CN"]);
  const username = commonNames[0];
  // Kubernetes refuses certificates without a common name rather than mapping
  // them to an empty user.
  if (username === undefined || username === "") return undefined;
  const groups = asList(cert.subject["O"]).filter((o) => o !== "");
  return withAuthenticatedGroup({ username, groups });
}

/** `Authorization: Bearer <token>`; the scheme is case-insensitive, as in Kubernetes. */
function bearerToken(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined) return undefined;
  const match = /^\s*bearer\s+(\S+)\s*$/i.exec(value);
  return match?.[1];
}

function digest(value: string): Buffer {
  return createHash("sha256").update(value, "utf8").digest();
}

function asList(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/** Every authenticated user is in system:authenticated (RBAC bindings rely on it). */
function withAuthenticatedGroup(user: UserInfo): UserInfo {
  const groups = user.groups.includes(AUTHENTICATED_GROUP) ? [...user.groups] : [...user.groups, AUTHENTICATED_GROUP];
  return user.uid === undefined ? { username: user.username, groups } : { username: user.username, groups, uid: user.uid };
}

function copyUser(user: UserInfo): UserInfo {
  return { username: user.username, groups: [...user.groups] };
}
