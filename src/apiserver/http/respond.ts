// Writing responses: JSON bodies, Status errors, warnings.
import type { ServerResponse } from 'node:http';
import { StorageUnavailableError } from '../../storage/interface.ts';
import { ApiError, errors } from '../errors.ts';

/**
 * HTTP/1.1 and HTTP/2 compatibility responses share this API; the server hands
 * both to handlers as this one type.
 */
export type ServerReply = ServerResponse;

export function sendJson(res: ServerReply, code: number, body: unknown, contentType = 'application/json'): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(code, { 'content-type': contentType, 'content-length': Buffer.byteLength(text), 'cache-control': 'no-cache, private' });
  res.end(text);
}

export function sendText(res: ServerReply, code: number, text: string): void {
  res.writeHead(code, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-cache, private' });
  res.end(text);
}

/** Render any thrown value as a Status; unknown errors become 500 InternalError. */
export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  // The datastore (etcd) is down or slow: a Status the client may retry, as upstream's.
  if (error instanceof StorageUnavailableError) {
    return error.timeout
      ? new ApiError({ code: 504, reason: 'Timeout', message: `Timeout: the storage did not answer in time: ${error.message}`, details: { retryAfterSeconds: 1 } })
      : errors.serviceUnavailable(`the storage is unavailable: ${error.message}`);
  }
  return errors.internal(error instanceof Error ? error.message : String(error));
}

export function sendError(res: ServerReply, error: unknown): void {
  const apiError = toApiError(error);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, apiError.code, apiError.toStatus());
}

/** Add a `Warning: 299 - "…"` header (kubectl prints these as "Warning: …"). */
export function addWarning(res: ServerReply, message: string): void {
  const value = `299 - ${JSON.stringify(message)}`;
  const existing = res.getHeader('warning');
  const list = existing === undefined ? [] : Array.isArray(existing) ? existing.map(String) : [String(existing)];
  res.setHeader('warning', [...list, value]);
}
