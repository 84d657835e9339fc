// Content digests: every blob (manifest, config, layer) is checked against the
// digest that named it before anything is stored or used.
import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';

const SHA256 = /^sha256:[a-f0-9]{64}$/;

export class DigestMismatchError extends Error {
  override name = 'DigestMismatchError';
}

/** Throws unless `digest` is a sha256 digest (the only algorithm registries use in practice). */
export function assertSupportedDigest(digest: string): void {
  if (!SHA256.test(digest)) throw new Error(`unsupported digest ${JSON.stringify(digest)}: only sha256 is supported`);
}

export function sha256Digest(bytes: Uint8Array | string): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

export function digestHex(digest: string): string {
  assertSupportedDigest(digest);
  return digest.slice('sha256:'.length);
}

/** Checks bytes against the descriptor that named them (digest and, when known, size). */
export function verifyBytes(options: { bytes: Uint8Array; digest: string; size?: number; what: string }): void {
  const { bytes, digest, size, what } = options;
  assertSupportedDigest(digest);
  if (size !== undefined && bytes.length !== size) throw new DigestMismatchError(`${what} ${digest}: size ${bytes.length} does not match the expected ${size}`);
  const actual = sha256Digest(bytes);
  if (actual !== digest) throw new DigestMismatchError(`${what}: digest mismatch: expected ${digest}, got ${actual}`);
}

/** A pass-through stream that hashes and counts what flows through it. */
export class HashingStream extends Transform {
  private readonly hash: Hash = createHash('sha256');
  bytes = 0;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    callback(null, chunk);
  }

  /** Valid once the stream has ended. */
  digest(): string {
    return `sha256:${this.hash.copy().digest('hex')}`;
  }
}
