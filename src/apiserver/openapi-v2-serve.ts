// GET /openapi/v2 as kube-apiserver answers it: JSON or the gnostic protobuf
// document chosen by Accept (406 when neither is acceptable), `Vary: Accept`, one
// ETag for both encodings, and 304 for a matching If-None-Match or an unchanged
// If-Modified-Since. kubectl asks for protobuf and cannot read JSON there.
import type { ServerRequest } from './http/body.ts';
import type { ServerReply } from './http/respond.ts';
import type { OpenApi, OpenApiV2Format } from './openapi.ts';

/** Accept subtypes (type `application`) in upstream's order of preference for wildcards. */
const FORMATS: { subtype: string; format: OpenApiV2Format }[] = [
  { subtype: 'json', format: 'json' },
  { subtype: 'com.github.proto-openapi.spec.v2@v1.0+protobuf', format: 'protobuf' },
  { subtype: 'com.github.proto-openapi.spec.v2.v1.0+protobuf', format: 'protobuf' },
];

export interface ServeOpenApiV2Options {
  openapi: OpenApi;
  req: ServerRequest;
  res: ServerReply;
}

export function serveOpenApiV2({ openapi, req, res }: ServeOpenApiV2Options): void {
  res.setHeader('vary', 'Accept');
  const format = negotiateOpenApiV2(req.headers.accept);
  if (!format) {
    res.writeHead(406, { 'content-length': 0 });
    res.end();
    return;
  }
  const { body, contentType, etag, lastModified } = openapi.v2Body(format);
  const headers = { 'content-type': contentType, etag, 'last-modified': lastModified.toUTCString(), 'cache-control': 'no-cache, private' };
  if (notModified(req, etag, lastModified)) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  res.writeHead(200, { ...headers, 'content-length': typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength });
  res.end(req.method === 'HEAD' ? undefined : body);
}

/**
 * The v2 format an Accept header asks for, or undefined (406): clauses by quality,
 * then concrete types before wildcards; the first clause a format matches wins,
 * and a wildcard means JSON. No Accept header means anything.
 */
export function negotiateOpenApiV2(accept: string | undefined): OpenApiV2Format | undefined {
  const clauses = (accept?.trim() ? accept : '*/*').split(',').map((raw, index) => {
    const [range, ...params] = raw.split(';').map((s) => s.trim());
    const [type, subtype = '*'] = range.toLowerCase().split('/');
    const q = params.map((p) => /^q=([\d.]+)$/i.exec(p)).find(Boolean);
    return { type: type || '*', subtype, q: q ? Number(q[1]) : 1, index };
  }).filter((c) => c.q > 0);
  const specificity = (c: { type: string; subtype: string }) => (c.type === '*' ? 0 : c.subtype === '*' ? 1 : 2);
  clauses.sort((a, b) => b.q - a.q || specificity(b) - specificity(a) || a.index - b.index);
  for (const clause of clauses) {
    if (clause.type !== 'application' && clause.type !== '*') continue;
    const match = FORMATS.find((f) => clause.subtype === '*' || clause.subtype === f.subtype);
    if (match) return match.format;
  }
  return undefined;
}

/** If-None-Match wins over If-Modified-Since, as in Go's http.ServeContent (weak comparison, `*` matches). */
function notModified(req: ServerRequest, etag: string, lastModified: Date): boolean {
  const ifNoneMatch = req.headers['if-none-match'];
  if (ifNoneMatch) {
    return ifNoneMatch.split(',').map((t) => t.trim().replace(/^W\//, '')).some((t) => t === '*' || t === etag);
  }
  const since = Date.parse(String(req.headers['if-modified-since'] ?? ''));
  return !Number.isNaN(since) && Math.floor(lastModified.getTime() / 1000) <= Math.floor(since / 1000);
}
