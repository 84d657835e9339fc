// Reading and decoding request bodies: size limit (413 above 3 MiB, as
// upstream), JSON / YAML / protobuf, nesting-depth guard. Every failure is an
// ApiError; nothing here can crash the server.
import type { IncomingMessage } from 'node:http';
import { parse as parseYaml } from 'yaml';
import { errors } from '../errors.ts';

export const MAX_BODY_BYTES = 3 * 1024 * 1024;
/** Deeper than any real object; stops stack-exhaustion attacks on the walkers downstream. */
const MAX_DEPTH = 100;

/** HTTP/1.1 and HTTP/2 compatibility requests, handled as one type. */
export type ServerRequest = IncomingMessage;

export async function readBody(req: ServerRequest, limit = MAX_BODY_BYTES): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) {
    req.resume();
    throw errors.tooLarge();
  }
  // Event listeners rather than `for await`: async iteration costs tens of
  // microseconds per request, a large share of a small create.
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners('data');
        req.resume();
        reject(errors.tooLarge());
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** The media type without parameters, lower-cased. */
export function mediaType(header: string | undefined): string {
  return (header ?? '').split(';')[0].trim().toLowerCase();
}

export function checkDepth(value: unknown, depth = 0): void {
  if (depth > MAX_DEPTH) throw errors.badRequest(`the object is nested more than ${MAX_DEPTH} levels deep`);
  if (value && typeof value === 'object') {
    for (const child of Array.isArray(value) ? value : Object.values(value)) {
      if (child && typeof child === 'object') checkDepth(child, depth + 1);
    }
  }
}

/** Decode a JSON or YAML document (YAML is a superset; JSON is tried first for speed). */
export function decodeStructured(body: Buffer, type: string): unknown {
  const text = body.toString('utf8');
  let value: unknown;
  if (type === 'application/yaml' || type === 'application/apply-patch+yaml') {
    try {
      value = parseYaml(text, { maxAliasCount: 100 });
    } catch (error) {
      throw errors.badRequest(`error converting YAML to JSON: ${(error as Error).message.split('\n')[0]}`);
    }
  } else {
    if (text.length > 0 && text.trimStart()[0] !== '{' && text.trimStart()[0] !== '[' && !looksLikeScalar(text)) {
      throw errors.badRequest(`couldn't get version/kind; json parse error: invalid character '${text.trimStart()[0]}' looking for beginning of value`);
    }
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw errors.badRequest(`couldn't get version/kind; json parse error: ${(error as Error).message}`);
    }
  }
  checkDepth(value);
  return value;
}

const looksLikeScalar = (text: string) => /^\s*(null|true|false|-?\d|")/.test(text);

/** Parse a JSON body that must be an object (create/update bodies, DeleteOptions). */
export function decodeObjectBody(body: Buffer, contentType: string): Record<string, unknown> {
  const value = decodeStructured(body, contentType);
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    throw errors.badRequest('the request body must be a JSON or YAML object');
  }
  return value as Record<string, unknown>;
}
