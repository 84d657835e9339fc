import { test } from 'node:test';
import assert from 'node:assert/strict';
import { builtinKinds } from '../api/registry.ts';
import type { ServerRequest } from './http/body.ts';
import type { ServerReply } from './http/respond.ts';
import { OpenApi } from './openapi.ts';
import { negotiateOpenApiV2, serveOpenApiV2 } from './openapi-v2-serve.ts';

test('Accept: protobuf in either spelling, JSON for json and wildcards, nothing for other types', () => {
  assert.equal(negotiateOpenApiV2('application/com.github.proto-openapi.spec.v2@v1.0+protobuf'), 'protobuf');
  assert.equal(negotiateOpenApiV2('application/com.github.proto-openapi.spec.v2.v1.0+protobuf'), 'protobuf');
  assert.equal(negotiateOpenApiV2('application/json'), 'json');
  assert.equal(negotiateOpenApiV2(undefined), 'json');
  assert.equal(negotiateOpenApiV2('*/*'), 'json');
  assert.equal(negotiateOpenApiV2('application/*'), 'json');
  assert.equal(negotiateOpenApiV2('text/html'), undefined);
  assert.equal(negotiateOpenApiV2('application/json;q=0'), undefined);
});

test('Accept: quality first, then concrete types before wildcards', () => {
  assert.equal(negotiateOpenApiV2('application/com.github.proto-openapi.spec.v2@v1.0+protobuf;q=0.5, application/json'), 'json');
  assert.equal(negotiateOpenApiV2('*/*, application/com.github.proto-openapi.spec.v2@v1.0+protobuf'), 'protobuf');
  assert.equal(negotiateOpenApiV2('text/plain, application/com.github.proto-openapi.spec.v2.v1.0+protobuf;q=0.9'), 'protobuf');
});

interface Reply {
  status?: number;
  headers: Record<string, unknown>;
  body?: unknown;
}

function serve(openapi: OpenApi, headers: Record<string, string>): Reply {
  const reply: Reply = { headers: {} };
  const res = {
    setHeader: (name: string, value: unknown) => { reply.headers[name.toLowerCase()] = value; },
    writeHead: (status: number, more: Record<string, unknown> = {}) => { reply.status = status; Object.assign(reply.headers, more); },
    end: (body?: unknown) => { reply.body = body; },
  } as unknown as ServerReply;
  serveOpenApiV2({ openapi, req: { method: 'GET', headers } as unknown as ServerRequest, res });
  return reply;
}

test('responses: content type, Vary, one ETag for both encodings, 304 on a match, 406 otherwise', () => {
  const openapi = new OpenApi({ registry: builtinKinds() });
  const proto = serve(openapi, { accept: 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf' });
  assert.equal(proto.status, 200);
  assert.equal(proto.headers['content-type'], 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf');
  assert.equal(proto.headers.vary, 'Accept');
  assert.ok(proto.body instanceof Uint8Array);
  assert.equal(proto.headers['content-length'], (proto.body as Uint8Array).byteLength);

  const json = serve(openapi, { accept: 'application/json' });
  assert.equal(json.headers['content-type'], 'application/json');
  assert.equal(JSON.parse(json.body as string).swagger, '2.0');
  assert.equal(json.headers.etag, proto.headers.etag);

  const cached = serve(openapi, { accept: 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf', 'if-none-match': String(proto.headers.etag) });
  assert.equal(cached.status, 304);
  assert.equal(cached.body, undefined);
  assert.equal(serve(openapi, { 'if-none-match': '"stale"' }).status, 200);
  assert.equal(serve(openapi, { 'if-modified-since': new Date(Date.now() + 60_000).toUTCString() }).status, 304);

  const refused = serve(openapi, { accept: 'text/html' });
  assert.equal(refused.status, 406);
  assert.equal(refused.body, undefined);
});
