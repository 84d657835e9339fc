// Decoding the body of POST pods/NAME/eviction: a policy/v1 (or the older
// policy/v1beta1, the same message) Eviction, as JSON, YAML or a Kubernetes
// protobuf envelope (kubectl drain sends protobuf through client-go).
import { decodeKubernetesProtobuf, decodeProtobufMessage, hasKubernetesProtobufMagic, KUBERNETES_PROTOBUF_CONTENT_TYPE } from '../../api/protobuf/index.ts';
import { ApiError, errors } from '../errors.ts';
import { decodeStructured, mediaType, readBody } from '../http/body.ts';
import type { RequestContext } from './context.ts';

export const EVICTION_VERSIONS = ['policy/v1', 'policy/v1beta1'];

export interface EvictionDeleteOptions {
  gracePeriodSeconds?: number;
  preconditions?: { uid?: string; resourceVersion?: string };
  propagationPolicy?: string;
  dryRun?: string[];
  [field: string]: unknown;
}

export interface Eviction {
  apiVersion: string;
  kind: 'Eviction';
  metadata: { name?: string; namespace?: string; [field: string]: unknown };
  deleteOptions?: EvictionDeleteOptions;
}

/** policy/v1beta1 has no protobuf facts of its own; its Eviction message is policy/v1's. */
function decodeProtobufEviction(body: Buffer): Record<string, unknown> {
  try {
    return decodeKubernetesProtobuf(body).object;
  } catch (error) {
    if (!hasKubernetesProtobufMagic(body)) throw error;
    const envelope = decodeProtobufMessage('k8s.io.apimachinery.pkg.runtime.Unknown', body.subarray(4)) as {
      typeMeta?: { apiVersion?: string; kind?: string }; raw?: string; contentType?: string;
    };
    if (envelope.typeMeta?.apiVersion !== 'policy/v1beta1' || envelope.typeMeta.kind !== 'Eviction' || envelope.contentType) throw error;
    const object = decodeProtobufMessage('k8s.io.api.policy.v1.Eviction', Buffer.from(envelope.raw ?? '', 'base64'));
    return { apiVersion: 'policy/v1beta1', kind: 'Eviction', ...object };
  }
}

/** Read the Eviction and check it against the URL (name, namespace). */
export async function readEviction(ctx: RequestContext): Promise<Eviction> {
  const body = await readBody(ctx.req);
  const type = mediaType(ctx.req.headers['content-type']) || 'application/json';
  let object: Record<string, unknown>;
  if (type === KUBERNETES_PROTOBUF_CONTENT_TYPE) {
    try {
      object = decodeProtobufEviction(body);
    } catch (error) {
      throw errors.badRequest(`unable to decode protobuf body: ${(error as Error).message}`);
    }
  } else if (type === 'application/json' || type === 'application/yaml' || type === '*/*') {
    const value = decodeStructured(body, type === 'application/yaml' ? type : 'application/json');
    if (!value || typeof value !== 'object' || Array.isArray(value)) throw errors.badRequest('the body of an eviction must be an Eviction object');
    object = value as Record<string, unknown>;
  } else {
    throw errors.unsupportedMediaType(type);
  }
  if (object.kind !== undefined && object.kind !== '' && object.kind !== 'Eviction') {
    throw errors.badRequest(`the kind in the data (${String(object.kind)}) does not match the expected kind (Eviction)`);
  }
  const apiVersion = typeof object.apiVersion === 'string' && object.apiVersion ? object.apiVersion : 'policy/v1';
  if (!EVICTION_VERSIONS.includes(apiVersion)) {
    throw errors.badRequest(`the API version in the data (${apiVersion}) does not match the expected API version (policy/v1)`);
  }
  const metadata = (object.metadata ?? {}) as Eviction['metadata'];
  if (typeof metadata !== 'object' || Array.isArray(metadata)) throw errors.badRequest('metadata must be an object');
  if (metadata.namespace && metadata.namespace !== ctx.info.namespace) {
    throw errors.badRequest('the namespace of the provided object does not match the namespace sent on the request');
  }
  if (metadata.name !== ctx.info.name) throw errors.badRequest('name in URL does not match name in Eviction object');
  const deleteOptions = object.deleteOptions;
  if (deleteOptions != null && (typeof deleteOptions !== 'object' || Array.isArray(deleteOptions))) throw errors.badRequest('deleteOptions must be an object');
  return { apiVersion, kind: 'Eviction', metadata, ...(deleteOptions ? { deleteOptions: deleteOptions as EvictionDeleteOptions } : {}) };
}

const sameList = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((v, i) => v === b[i]);

/**
 * The delete options of the eviction with the request's dryRun folded in:
 * either one may carry it; both must agree when both do (upstream's propagateDryRun).
 */
export function effectiveDeleteOptions(eviction: Eviction, query: URLSearchParams): EvictionDeleteOptions {
  const requested = query.getAll('dryRun');
  for (const value of requested) {
    if (value !== 'All') throw errors.badRequest(`dryRun: Unsupported value: "${value}": supported values: "All"`);
  }
  const options: EvictionDeleteOptions = structuredClone(eviction.deleteOptions ?? {});
  const own = options.dryRun ?? [];
  if (own.length === 0) {
    if (requested.length) options.dryRun = requested;
    return options;
  }
  if (requested.length && !sameList(own, requested)) {
    // A plain error upstream, which its API server renders as a 500 of reason Unknown.
    throw new ApiError({ code: 500, reason: 'Unknown', message: `Non-matching dry-run options in request and content: [${requested.join(' ')}] and [${own.join(' ')}]` });
  }
  return options;
}

export const isDryRunOptions = (options: EvictionDeleteOptions) => (options.dryRun ?? []).includes('All');
