// Compact JSON Web Signatures with RS256 (RFC 7515/7519), the one form
// Kubernetes service-account tokens take: base64url(header) "."
// base64url(claims) "." base64url(RSASSA-PKCS1-v1_5 SHA-256 signature).
// Only what skiff issues is accepted back: alg RS256, no "crit", no "none".
import { createHash, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';

export type JwtClaims = Record<string, unknown>;

/** Upstream's key id: base64url(SHA-256(DER SubjectPublicKeyInfo)), so `kid` is stable for a key. */
export function keyIdOf(publicKey: KeyObject): string {
  const der = publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('base64url');
}

export function signJwt(options: { privateKey: KeyObject; keyId: string; claims: JwtClaims }): string {
  const header = encodeSegment({ alg: 'RS256', kid: options.keyId });
  const payload = encodeSegment(options.claims);
  const signature = sign('sha256', Buffer.from(`${header}.${payload}`), options.privateKey);
  return `${header}.${payload}.${signature.toString('base64url')}`;
}

/** Whether `token` has the shape of a compact JWS (three base64url segments); says nothing of its validity. */
export function looksLikeJwt(token: string): boolean {
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(token);
}

/**
 * The claims of `token` when its signature verifies with `publicKey`;
 * undefined for anything else (malformed, other algorithm, other key).
 * Time and audience checks are the caller's.
 */
export function verifyJwt(options: { publicKey: KeyObject; token: string }): JwtClaims | undefined {
  const { token } = options;
  if (!looksLikeJwt(token)) return undefined;
  const [headerPart, payloadPart, signaturePart] = token.split('.') as [string, string, string];
  const header = decodeSegment(headerPart);
  if (header === undefined || header.alg !== 'RS256' || header.crit !== undefined) return undefined;
  const signature = Buffer.from(signaturePart, 'base64url');
  if (!verify('sha256', Buffer.from(`${headerPart}.${payloadPart}`), options.publicKey, signature)) return undefined;
  return decodeSegment(payloadPart);
}

export function publicKeyOf(privateKey: KeyObject): KeyObject {
  return createPublicKey(privateKey);
}

function encodeSegment(value: JwtClaims): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

function decodeSegment(segment: string): JwtClaims | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as JwtClaims) : undefined;
  } catch {
    return undefined;
  }
}
