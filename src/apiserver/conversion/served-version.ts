// Versions served by conversion from one storage version. Upstream stores
// each resource once (its storage version) and converts to and from every
// version it serves. This server otherwise keeps versions apart (see
// api/registry.ts); for the resources listed here a request to the other
// version is handled as a request to the storage version, with conversion at
// the edges, so no generic handler needs to know:
//   - the body of a create/update (JSON, YAML or protobuf) is decoded and
//     converted here and handed on as JSON of the storage version;
//   - every JSON the handler answers — an object, a list, a Status, each
//     watch event line — has the objects of the storage version converted
//     back; Tables are printed from the storage version (same columns).
// Patches are applied to the stored form: a patch that names only fields the
// two versions share (replicas bounds, the target) works through either;
// one that names a field only the served version has does not convert
// (known gap). autoscaling/v1 HorizontalPodAutoscalers (what `kubectl
// autoscale` of kubectl ≤ 1.32 creates) are served this way from v2.
import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { decodeKubernetesProtobuf } from '../../api/protobuf/index.ts';
import type { KindRegistry, ResourceInfo } from '../../api/registry.ts';
import { errors } from '../errors.ts';
import { decodeObjectBody, mediaType, readBody, type ServerRequest } from '../http/body.ts';
import type { ServerReply } from '../http/respond.ts';
import type { RequestInfo } from '../request-info.ts';
import { hpaV1ToV2, hpaV2ToV1 } from './hpa.ts';

type Obj = Record<string, any>;

interface Conversion {
  group: string;
  served: string;
  stored: string;
  plural: string;
  kind: string;
  toStored(object: Obj): Obj;
  toServed(object: Obj): Obj;
}

const CONVERSIONS: readonly Conversion[] = [
  { group: 'autoscaling', served: 'v1', stored: 'v2', plural: 'horizontalpodautoscalers', kind: 'HorizontalPodAutoscaler', toStored: hpaV1ToV2, toServed: hpaV2ToV1 },
];

const PROTOBUF = 'application/vnd.kubernetes.protobuf';

export interface ConvertedRequest {
  resource: ResourceInfo;
  req: ServerRequest;
  res: ServerReply;
}

/** For a request to a converted version: the storage version's resource and the converting request and reply; else undefined. */
export async function convertServedVersion(options: { registry: KindRegistry; info: RequestInfo; req: ServerRequest; res: ServerReply }): Promise<ConvertedRequest | undefined> {
  const { info } = options;
  const conversion = CONVERSIONS.find((c) => c.group === info.group && c.served === info.version && c.plural === info.resource);
  if (!conversion) return undefined;
  const resource = options.registry.lookup(conversion.group, conversion.stored, conversion.plural);
  if (!resource) return undefined;
  const method = (options.req.method ?? 'GET').toUpperCase();
  const req = method === 'POST' || method === 'PUT' ? await convertBody(options.req, conversion) : options.req;
  return { resource, req, res: convertingReply(options.res, conversion) };
}

async function convertBody(req: ServerRequest, conversion: Conversion): Promise<ServerRequest> {
  const body = await readBody(req);
  const type = mediaType(req.headers['content-type']) || 'application/json';
  let object: Obj;
  if (type === PROTOBUF) {
    try {
      object = decodeKubernetesProtobuf(body).object;
    } catch (error) {
      throw errors.badRequest(`unable to decode protobuf body: ${(error as Error).message}`);
    }
  } else {
    object = decodeObjectBody(body, type === 'application/yaml' ? type : 'application/json');
  }
  const servedApiVersion = `${conversion.group}/${conversion.served}`;
  if (object.apiVersion !== undefined && object.apiVersion !== servedApiVersion) {
    throw errors.badRequest(`the API version in the data (${String(object.apiVersion)}) does not match the expected API version (${servedApiVersion})`);
  }
  const text = JSON.stringify(conversion.toStored({ ...object, apiVersion: servedApiVersion }));
  const stream = Readable.from([Buffer.from(text)]) as unknown as Obj;
  // The handlers read the body, headers, method, URL and socket of the request.
  const headers = { ...req.headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)) };
  for (const field of ['method', 'url', 'socket', 'httpVersion', 'stream'] as const) stream[field] = (req as Obj)[field];
  stream.headers = headers;
  return stream as IncomingMessage;
}

/** Objects (and lists, and watch events) of the stored version in `value` converted to the served one. */
function convertValue(value: unknown, conversion: Conversion): unknown {
  if (!value || typeof value !== 'object') return value;
  const v = value as Obj;
  const storedApiVersion = `${conversion.group}/${conversion.stored}`;
  if (v.kind === conversion.kind && v.apiVersion === storedApiVersion) return conversion.toServed(v);
  if (v.kind === `${conversion.kind}List` && v.apiVersion === storedApiVersion) {
    const served = `${conversion.group}/${conversion.served}`;
    const items = (v.items ?? []).map((item: Obj) => {
      const converted = conversion.toServed({ ...item, apiVersion: storedApiVersion, kind: conversion.kind });
      // List items carry apiVersion and kind only where the stored ones did.
      if (!('apiVersion' in item)) delete converted.apiVersion;
      if (!('kind' in item)) delete converted.kind;
      return converted;
    });
    return { ...v, apiVersion: served, items };
  }
  if (typeof v.type === 'string' && v.object && Object.keys(v).length === 2) return { type: v.type, object: convertValue(v.object, conversion) };
  return value;
}

function convertText(text: string, conversion: Conversion): string {
  try {
    return JSON.stringify(convertValue(JSON.parse(text), conversion));
  } catch {
    return text;
  }
}

/**
 * The reply with its JSON converted: a whole body (`writeHead` with a
 * content-length, then `end`) is converted at `end` and its length fixed;
 * a streamed body (watch) is converted line by line.
 */
function convertingReply(res: ServerReply, conversion: Conversion): ServerReply {
  let held: { code: number; headers: Obj } | undefined;
  let partial = '';
  const overrides: Obj = {
    writeHead(code: number, ...rest: unknown[]) {
      const headers = (rest.find((r) => r && typeof r === 'object') ?? {}) as Obj;
      if (headers['content-length'] !== undefined && String(headers['content-type'] ?? '').startsWith('application/json')) {
        held = { code, headers };
        return proxy;
      }
      res.writeHead(code, headers);
      return proxy;
    },
    write(chunk: string | Buffer, ...rest: unknown[]) {
      const lines = (partial + String(chunk)).split('\n');
      partial = lines.pop() ?? '';
      const text = lines.map((line) => (line ? convertText(line, conversion) : line)).join('\n');
      return res.write(lines.length ? `${text}\n` : '', ...(rest as []));
    },
    end(chunk?: string | Buffer, ...rest: unknown[]) {
      if (held) {
        const text = chunk === undefined ? '' : convertText(String(chunk), conversion);
        res.writeHead(held.code, { ...held.headers, 'content-length': Buffer.byteLength(text) });
        held = undefined;
        return res.end(text, ...(rest as []));
      }
      const tail = partial + (chunk === undefined ? '' : String(chunk));
      partial = '';
      return res.end(tail ? convertText(tail, conversion) : undefined, ...(rest as []));
    },
  };
  const proxy: ServerReply = new Proxy(res, {
    get(target, property) {
      if (typeof property === 'string' && property in overrides) return overrides[property];
      const value = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
    set(target, property, value) {
      return Reflect.set(target, property, value, target);
    },
  });
  return proxy;
}
